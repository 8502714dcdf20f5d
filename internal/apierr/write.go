package apierr

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// DefaultRetryAfter is what a retryable answer tells the client to wait
// when the error does not say.
const DefaultRetryAfter = time.Second

// Reply is what a client is told about an error: the part every protocol's
// envelope shares. Build it with Writer.Reply; a protocol package wraps
// Message in its own envelope (Jaeger's errors array, Prometheus's
// {"status":"error"}, OTLP's google.rpc.Status, Loki's plain text).
type Reply struct {
	// Status is the HTTP status.
	Status int
	// Code is the error's code.
	Code Code
	// Message is safe to show: for an internal error it names only the
	// error ID, never the cause (SQL, file paths, driver text).
	Message string
	// RetryAfter is set for retryable errors (Overloaded, Unavailable).
	RetryAfter time.Duration
	// ID identifies an internal error in the log; "" otherwise.
	ID string
}

// Header sets the headers the reply needs (Retry-After).
func (rep Reply) Header(h http.Header) {
	if rep.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(RetryAfterSeconds(rep.RetryAfter)))
	}
}

// RetryAfterSeconds is d as Retry-After's whole seconds, rounded up and at
// least 1.
func RetryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// Writer turns errors into replies and is the one place that logs internal
// errors, each with the ID its reply names, so that what a client reports
// can be found in the log. The zero Writer logs to slog's default logger.
type Writer struct {
	Logger *slog.Logger
}

// Reply builds the reply for err, logging it first when it is internal.
// r may be nil (gRPC); it adds the method and path to the log line.
func (w Writer) Reply(r *http.Request, err error) Reply {
	code := CodeOf(err)
	rep := Reply{Status: HTTPStatus(err), Code: code, Message: err.Error()}
	switch code {
	case Overloaded, Unavailable:
		rep.RetryAfter = RetryAfterOf(err)
		if rep.RetryAfter <= 0 {
			rep.RetryAfter = DefaultRetryAfter
		}
	case Internal:
		rep.ID = newID()
		rep.Message = "internal error (error ID " + rep.ID + "); the details are in Vigil's log"
		logger := w.Logger
		if logger == nil {
			logger = slog.Default()
		}
		attrs := []any{"error_id", rep.ID, "err", err}
		if r != nil {
			attrs = append(attrs, "method", r.Method, "path", r.URL.Path)
		}
		logger.Error("internal error", attrs...)
	}
	return rep
}

// Text answers err as plain text (Loki, remote write, most of net/http's
// own answers).
func (w Writer) Text(rw http.ResponseWriter, r *http.Request, err error) {
	rep := w.Reply(r, err)
	rep.Header(rw.Header())
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(rep.Status)
	_, _ = rw.Write([]byte(rep.Message + "\n"))
}

// JSON answers err with the JSON document envelope builds from the reply.
func (w Writer) JSON(rw http.ResponseWriter, r *http.Request, err error, envelope func(Reply) any) {
	rep := w.Reply(r, err)
	rep.Header(rw.Header())
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(rep.Status)
	_ = json.NewEncoder(rw).Encode(envelope(rep))
}

// GRPC returns err as a gRPC status: its code, the public message and,
// for retryable errors, a RetryInfo detail (OTLP's retry hint).
func (w Writer) GRPC(err error) *status.Status {
	rep := w.Reply(nil, err)
	st := status.New(GRPCCode(err), rep.Message)
	if rep.RetryAfter > 0 {
		if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(rep.RetryAfter)}); derr == nil {
			st = d
		}
	}
	return st
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
