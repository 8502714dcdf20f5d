package vigilhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// writer wraps the handler's ResponseWriter to learn the status code and
// the bytes written. It passes Flush and ReadFrom through (flushing and
// copying as the wrapped writer can), and Unwrap lets
// http.ResponseController reach the wrapped writer's other methods;
// hijackWriter adds Hijack when the wrapped writer has it.
type writer struct {
	http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
}

var (
	_ http.Flusher  = (*writer)(nil)
	_ io.ReaderFrom = (*writer)(nil)
	_ http.Hijacker = (*hijackWriter)(nil)
)

func (w *writer) WriteHeader(code int) {
	if !w.wroteHeader {
		// Informational responses (other than 101) precede the real one.
		if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
			w.ResponseWriter.WriteHeader(code)
			return
		}
		w.wroteHeader = true
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.ResponseWriter, r)
	}
	w.written += n
	return n, err
}

func (w *writer) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap is for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type hijackWriter struct{ writer }

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

// body counts the bytes of the request body the handler reads.
type body struct {
	io.ReadCloser
	read int64
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	return n, err
}
