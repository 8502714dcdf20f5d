package logexport

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func batch(body string) []*logspb.ResourceLogs {
	return []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
		{Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: body}}},
	}}}}}
}

func bodyOf(t *testing.T, r *http.Request) string {
	t.Helper()
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Error(err)
			return ""
		}
		rd = zr
	}
	b, _ := io.ReadAll(rd)
	var m collectorlogs.ExportLogsServiceRequest
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Error(err)
		return ""
	}
	return m.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body.GetStringValue()
}

var fastRetry = Retry{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 2 * time.Second}

// The client posts protobuf (gzip when asked) with the headers, retries
// 503 (honouring Retry-After), and gives up on a 400 at once.
func TestHTTP(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/otlp/v1/logs" || r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("Authorization") != "Bearer t" {
			t.Errorf("request %s %v", r.URL.Path, r.Header)
		}
		body := bodyOf(t, r)
		switch {
		case body == "bad":
			http.Error(w, "malformed", http.StatusBadRequest)
			return
		case body == "retry" && n == 2:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "later", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		resp, _ := proto.Marshal(&collectorlogs.ExportLogsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	for _, gz := range []string{"", "gzip"} {
		calls.Store(0)
		got = nil
		c := NewHTTP(Options{Endpoint: u.Host, URLPath: "/otlp/v1/logs", Insecure: true, Compression: gz,
			Headers: map[string]string{"Authorization": "Bearer t"}, Retry: fastRetry})
		ctx := context.Background()
		if err := c.UploadLogs(ctx, batch("one")); err != nil {
			t.Fatal(err)
		}
		if err := c.UploadLogs(ctx, batch("retry")); err != nil {
			t.Fatal(err)
		}
		err := c.UploadLogs(ctx, batch("bad"))
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("bad request: %v", err)
		}
		if n := calls.Load(); n != 4 {
			t.Errorf("%d calls, want 4 (one, retry twice, bad once)", n)
		}
		if strings.Join(got, ",") != "one,retry" {
			t.Errorf("received %v", got)
		}
		c.Stop(ctx)
	}
}

// A collector that never answers costs the export its timeout, no more.
func TestHTTPTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	defer func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	}()
	c := NewHTTP(Options{Endpoint: ln.Addr().String(), Insecure: true, Timeout: 200 * time.Millisecond, Retry: fastRetry})
	defer c.Stop(context.Background())
	start := time.Now()
	err = c.UploadLogs(context.Background(), batch("x"))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base/")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=x%20y")
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "")
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")
	o, err := Options{}.FromEnv(false)
	if err != nil {
		t.Fatal(err)
	}
	if o.Endpoint != "collector:4318" || o.URLPath != "/base/v1/logs" || !o.Insecure || o.Headers["b"] != "x y" ||
		o.Compression != "gzip" || o.Timeout != 2500*time.Millisecond || o.Retry.MaxElapsedTime != time.Minute {
		t.Errorf("%+v", o)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "https://logs.example.com/custom")
	o, err = Options{}.FromEnv(false)
	if err != nil || o.Endpoint != "logs.example.com" || o.URLPath != "/custom" || o.Insecure {
		t.Errorf("%+v %v", o, err)
	}
	o, err = Options{Endpoint: "opt:1", URLPath: "/p", Insecure: true, Headers: map[string]string{"c": "3"}}.FromEnv(false)
	if err != nil || o.Endpoint != "opt:1" || o.URLPath != "/p" || o.Headers["c"] != "3" || o.Headers["a"] != "" {
		t.Errorf("options must win: %+v %v", o, err)
	}
	for name, v := range map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "soon", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, v)
			t.Setenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "")
			if _, err := (Options{}).FromEnv(false); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: %v", name, v, err)
			}
		})
	}
}

type logsService struct {
	collectorlogs.UnimplementedLogsServiceServer
	mu    sync.Mutex
	calls int
	got   []string
	auth  []string
}

func (s *logsService) Export(ctx context.Context, req *collectorlogs.ExportLogsServiceRequest) (*collectorlogs.ExportLogsServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	md, _ := metadata.FromIncomingContext(ctx)
	s.auth = append(s.auth, md.Get("authorization")...)
	body := req.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body.GetStringValue()
	switch {
	case body == "bad":
		return nil, status.Error(codes.InvalidArgument, "malformed")
	case body == "busy" && s.calls%2 == 0:
		st, _ := status.New(codes.ResourceExhausted, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(0)})
		return nil, st.Err()
	case body == "unavailable" && s.calls%2 == 0:
		return nil, status.Error(codes.Unavailable, "restarting")
	}
	s.got = append(s.got, body)
	return &collectorlogs.ExportLogsServiceResponse{}, nil
}

func TestGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	svc := &logsService{}
	collectorlogs.RegisterLogsServiceServer(srv, svc)
	go srv.Serve(ln)
	defer srv.Stop()
	c, err := NewGRPC(Options{Endpoint: ln.Addr().String(), Insecure: true, Headers: map[string]string{"authorization": "Bearer g"}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	ctx := context.Background()
	for _, b := range []string{"one", "busy", "unavailable"} {
		if err := c.UploadLogs(ctx, batch(b)); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	if err := c.UploadLogs(ctx, batch("bad")); err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Errorf("bad: %v", err)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if strings.Join(svc.got, ",") != "one,busy,unavailable" || svc.calls != 6 || svc.auth[0] != "Bearer g" {
		t.Errorf("got %v in %d calls, auth %v", svc.got, svc.calls, svc.auth)
	}
}
