package vigilhttp

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/tracing"
)

func provider(t *testing.T) (*tracing.Provider, *tracetest.InMemoryExporter, *metric.Registry) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	reg := metric.New(metric.Options{})
	tp := tracing.NewProvider(tracing.WithExporter(exp), tracing.WithBatch(export.Options{Registry: reg}))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp, reg
}

// Through a real server the wrapped writer still flushes, hijacks and
// copies with ReadFrom, and http.ResponseController reaches the
// connection.
func TestWriterKeepsInterfaces(t *testing.T) {
	tp, exp, reg := provider(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		io.Copy(w, strings.NewReader("bc")) // ReadFrom
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		buf.Flush()
	})
	srv := httptest.NewServer(NewHandler(mux, "t", WithTracerProvider(tp), WithRegistry(reg)))
	defer srv.Close()
	for path, want := range map[string]string{"/flush": "abc", "/hijack": "hi"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("%s: %q, want %q", path, b, want)
		}
	}
	srv.Client().CloseIdleConnections()
	_ = tp.ForceFlush(context.Background())
	var sizes []int64
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Attributes {
			if kv.Key == "http.response.body.size" {
				sizes = append(sizes, kv.Value.AsInt64())
			}
		}
	}
	if len(sizes) != 1 || sizes[0] != 3 {
		t.Errorf("response sizes %v, want [3] (flush writes 3 bytes; the hijacked response is not counted)", sizes)
	}
}

// Filters skip instrumentation; a public endpoint starts a new trace
// linked to the caller's; the request body is counted and restored; the
// name formatter and WithoutMetrics apply.
func TestOptions(t *testing.T) {
	tp, exp, reg := provider(t)
	h := NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
	}), "op",
		WithTracerProvider(tp), WithRegistry(reg), WithPropagators(propagation.TraceContext{}),
		WithFilter(func(r *http.Request) bool { return r.URL.Path != "/health" }),
		WithPublicEndpointFn(func(r *http.Request) bool { return r.URL.Path == "/public" }),
		WithSpanNameFormatter(func(op string, r *http.Request) string { return op + " " + r.URL.Path }),
		WithoutMetrics())
	send := func(path, body string) *http.Request {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		orig := r.Body
		h.ServeHTTP(httptest.NewRecorder(), r)
		if r.Body != orig {
			t.Errorf("%s: request body not restored", path)
		}
		return r
	}
	send("/health", "")
	send("/public", "12345")
	_ = tp.ForceFlush(context.Background())
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1 (health filtered)", len(spans))
	}
	s := spans[0]
	if s.Name != "op /public" || s.Parent.IsValid() || len(s.Links) != 1 || s.Links[0].SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("span %q parent %v links %v", s.Name, s.Parent, s.Links)
	}
	if s.SpanKind != trace.SpanKindServer {
		t.Errorf("kind %v", s.SpanKind)
	}
	found := false
	for _, kv := range s.Attributes {
		found = found || kv.Key == "http.request.body.size" && kv.Value.AsInt64() == 5
	}
	if !found {
		t.Errorf("no request body size 5 in %v", s.Attributes)
	}
	var out strings.Builder
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out.WriteString(rec.Body.String())
	if strings.Contains(out.String(), "http_server_request_duration") {
		t.Error("WithoutMetrics still records")
	}
}

// The metrics reach Prometheus text with the conventions' names mapped.
func TestPrometheusNames(t *testing.T) {
	tp, _, reg := provider(t)
	h := NewHandler(http.NotFoundHandler(), "op", WithTracerProvider(tp), WithRegistry(reg))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://example.com:8080/x", nil))
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(strings.NewReader(rec.Body.String()))
	found := false
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "http_server_request_duration_count{") && strings.Contains(l, `http_response_status_code="404"`) && strings.Contains(l, `server_port="8080"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no duration count for the 404 in:\n%s", rec.Body.String())
	}
}
