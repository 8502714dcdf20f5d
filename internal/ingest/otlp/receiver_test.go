package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/vigilhq/vigil/internal/apierr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeTraces struct {
	mu       sync.Mutex
	spans    int
	rejected int64
	msg      string
	err      error
	block    chan struct{}
}

func (f *fakeTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) (int64, string, error) {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, "", f.err
	}
	f.spans += td.SpanCount()
	return f.rejected, f.msg, nil
}

type fakeMetrics struct{ points int }

func (f *fakeMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (int64, string, error) {
	f.points += md.DataPointCount()
	return 0, "", nil
}

func traces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName("op")
		s.SetTraceID([16]byte{1, byte(i + 1)})
		s.SetSpanID([8]byte{2, byte(i + 1)})
	}
	return td
}

func postBody(h http.Handler, path, ct string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestHTTPProtobufJSONGzip(t *testing.T) {
	ft := &fakeTraces{}
	r, err := New(Options{Traces: ft})
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := ptraceotlp.NewExportRequestFromTraces(traces(3)).MarshalProto()
	if w := postBody(r.Handler(), "/v1/traces", "application/x-protobuf", pb); w.Code != 200 || w.Header().Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("protobuf: %d %s", w.Code, w.Body)
	}
	js, _ := ptraceotlp.NewExportRequestFromTraces(traces(2)).MarshalJSON()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(js)
	_ = zw.Close()
	w := postBody(r.Handler(), "/v1/traces", "application/json", gz.Bytes(), "Content-Encoding", "gzip")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("json gzip: %d %s", w.Code, w.Body)
	}
	if ft.spans != 5 {
		t.Fatalf("spans %d", ft.spans)
	}
	// Metrics have no consumer: 404 with a message.
	if w := postBody(r.Handler(), "/v1/metrics", "application/x-protobuf", nil); w.Code != 404 {
		t.Fatalf("no consumer: %d", w.Code)
	}
}

func TestHTTPErrors(t *testing.T) {
	ft := &fakeTraces{}
	r, _ := New(Options{Traces: ft, MaxRequestBytes: 1024})
	h := r.Handler()
	f := func(ct string, body []byte, wantCode int, wantMsg string, hdr ...string) {
		t.Helper()
		w := postBody(h, "/v1/traces", ct, body, hdr...)
		if w.Code != wantCode || !strings.Contains(w.Body.String(), wantMsg) {
			t.Fatalf("%s %q: got %d %q, want %d %q", ct, body, w.Code, w.Body, wantCode, wantMsg)
		}
	}
	f("application/x-protobuf", []byte{0xff, 0xff}, 400, "malformed OTLP traces request (protobuf)")
	f("application/json", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`), 400, "malformed OTLP traces request (JSON)")
	f("application/json", []byte(``), 400, "empty body")
	f("text/plain", []byte(`x`), 400, "unsupported Content-Type")
	f("application/x-protobuf", []byte(`x`), 400, "Content-Encoding", "Content-Encoding", "br")
	f("application/x-protobuf", []byte(`not gzip`), 400, "invalid gzip", "Content-Encoding", "gzip")
	f("application/x-protobuf", make([]byte, 2000), 413, "otlp.max_request_bytes")
	if ft.spans != 0 {
		t.Fatal("bad requests stored data")
	}
	// A consumer error keeps its meaning.
	ft.err = &apierr.Error{Code: apierr.Overloaded, Message: "queue full", RetryAfter: 3 * time.Second}
	pb, _ := ptraceotlp.NewExportRequestFromTraces(traces(1)).MarshalProto()
	w := postBody(h, "/v1/traces", "application/x-protobuf", pb)
	if w.Code != 429 || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("overloaded: %d %v", w.Code, w.Header())
	}
	ft.err = apierr.New(apierr.Unavailable, "shutting down")
	if w := postBody(h, "/v1/traces", "application/x-protobuf", pb); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("unavailable: %d %v", w.Code, w.Header())
	}
}

func TestPartialSuccess(t *testing.T) {
	ft := &fakeTraces{rejected: 2, msg: "2 spans had no trace ID"}
	r, _ := New(Options{Traces: ft})
	js, _ := ptraceotlp.NewExportRequestFromTraces(traces(3)).MarshalJSON()
	w := postBody(r.Handler(), "/v1/traces", "application/json", js)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"rejectedSpans":"2"`) || !strings.Contains(w.Body.String(), "no trace ID") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestGRPCOverloadIsRetryable(t *testing.T) {
	ft := &fakeTraces{block: make(chan struct{})}
	fm := &fakeMetrics{}
	r, _ := New(Options{Traces: ft, Metrics: fm, MaxConcurrentRequests: 1, RetryAfter: 2 * time.Second})
	conn := serveGRPC(t, r)
	client := ptraceotlp.NewGRPCClient(conn)
	first := make(chan error)
	go func() {
		_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traces(1)))
		first <- err
	}()
	// Wait until the first request holds the only slot.
	for len(r.sem) == 0 {
		time.Sleep(time.Millisecond)
	}
	_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traces(1)))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("want RESOURCE_EXHAUSTED, got %v", err)
	}
	var ri *errdetails.RetryInfo
	for _, d := range st.Details() {
		if x, ok := d.(*errdetails.RetryInfo); ok {
			ri = x
		}
	}
	if ri == nil || ri.RetryDelay.AsDuration() != 2*time.Second {
		t.Fatalf("no RetryInfo: %v", st.Details())
	}
	close(ft.block)
	if err := <-first; err != nil {
		t.Fatalf("first request: %v", err)
	}
	mresp, err := pmetricotlp.NewGRPCClient(conn).Export(context.Background(), pmetricotlp.NewExportRequestFromMetrics(pmetric.NewMetrics()))
	if err != nil || mresp.PartialSuccess().RejectedDataPoints() != 0 {
		t.Fatalf("metrics: %v", err)
	}
}

func TestLogsUnimplementedOverGRPC(t *testing.T) {
	r, _ := New(Options{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.ServeGRPC(ctx, ln) }()
	conn, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	req := plogotlpRequest()
	_, err := req(conn)
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("want UNIMPLEMENTED, got %v", err)
	}
	cancel()
	<-done
}

func plogotlpRequest() func(*grpc.ClientConn) (any, error) {
	return func(c *grpc.ClientConn) (any, error) {
		return plogExport(c, plog.NewLogs())
	}
}

// FuzzHTTPDecode: any body, either encoding: never a panic or a 5xx, and a
// 200 only when the consumer got the data.
func FuzzHTTPDecode(f *testing.F) {
	js, _ := ptraceotlp.NewExportRequestFromTraces(traces(2)).MarshalJSON()
	pb, _ := ptraceotlp.NewExportRequestFromTraces(traces(2)).MarshalProto()
	f.Add(js, true)
	f.Add(pb, false)
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"a","value":{"kvlistValue":{}}}]}}]}`), true)
	f.Add([]byte(`{"resourceMetrics":[]}`), true)
	ft := &fakeTraces{}
	r, _ := New(Options{Traces: ft, Metrics: &fakeMetrics{}})
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		ct := "application/x-protobuf"
		if isJSON {
			ct = "application/json"
		}
		for _, p := range []string{"/v1/traces", "/v1/metrics"} {
			w := postBody(r.Handler(), p, ct, body)
			if w.Code >= 500 {
				t.Fatalf("%s: %d %s", p, w.Code, w.Body)
			}
			if w.Code != 200 && w.Code != 400 {
				t.Fatalf("%s: unexpected status %d", p, w.Code)
			}
		}
	})
}

// Admit's refusal (the memory governor's) answers before the body is read:
// 503 with Retry-After over HTTP, UNAVAILABLE with RetryInfo over gRPC,
// and nothing reaches the consumer.
func TestAdmitRefusal(t *testing.T) {
	ft := &fakeTraces{}
	var refuse atomic.Bool
	refuse.Store(true)
	admit := func() error {
		if refuse.Load() {
			return &apierr.Error{Code: apierr.Unavailable, Message: "memory limit: over 90% of memory_limit 512MiB; retry later", RetryAfter: 3 * time.Second}
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	r, _ := New(Options{Traces: ft, Admit: admit, Registerer: reg})
	body, _ := ptraceotlp.NewExportRequestFromTraces(traces(2)).MarshalProto()
	w := postBody(r.Handler(), "/v1/traces", "application/x-protobuf", body)
	if w.Code != 503 || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("HTTP: %d Retry-After %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	w = postBody(r.Handler(), "/v1/traces", "application/json", []byte(`{}`))
	if w.Code != 503 || !strings.Contains(w.Body.String(), "memory_limit 512MiB") || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("HTTP JSON: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}

	client := ptraceotlp.NewGRPCClient(serveGRPC(t, r))
	_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traces(1)))
	st := status.Convert(err)
	if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "memory limit") {
		t.Fatalf("gRPC: %v", err)
	}
	ft.mu.Lock()
	n := ft.spans
	ft.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d spans reached the consumer while refused", n)
	}
	if got := testutil.ToFloat64(r.requests.WithLabelValues("traces", "grpc", "overloaded")); got != 1 {
		t.Fatalf("overloaded gRPC requests counted %v", got)
	}
	refuse.Store(false)
	if _, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traces(1))); err != nil {
		t.Fatalf("admitted: %v", err)
	}
}
