package vigil_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	vigil "github.com/vigilhq/vigil/sdk"
	"github.com/vigilhq/vigil/sdk/logging"
	"github.com/vigilhq/vigil/sdk/metric"
)

// hungCollector accepts connections and never answers, as a collector
// whose process is stopped does.
func hungCollector(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// produce makes n spans, one log record and a metric.
func produce(reg *metric.Registry, n int) {
	for range n {
		_, span := otel.Tracer("test").Start(context.Background(), "op")
		span.End()
	}
	slog.New(logging.New(logging.Options{NoLocal: true, Registry: reg})).Info("hello")
	reg.Counter("work_total", "Work.").With().Inc()
}

// timedShutdown calls shutdown and fails the test when it takes longer
// than limit.
func timedShutdown(t *testing.T, ctx context.Context, shutdown vigil.ShutdownFunc, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = shutdown(ctx)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("shutdown still running after %v", limit)
	}
	return time.Since(start)
}

// The documented defer shutdown(context.Background()) returns within the
// default deadline even when the backend never answers.
func TestShutdownDefaultDeadline(t *testing.T) {
	reg := metric.New(metric.Options{})
	shutdown, err := vigil.Start(context.Background(), vigil.WithEndpoint("http://"+hungCollector(t)),
		vigil.WithRegistry(reg), vigil.WithLogger(slog.New(slog.NewTextHandler(&logBuf{}, nil))))
	if err != nil {
		t.Fatal(err)
	}
	produce(reg, 10)
	took := timedShutdown(t, context.Background(), shutdown, vigil.DefaultShutdownTimeout+3*time.Second)
	if took < vigil.DefaultShutdownTimeout*3/4 {
		t.Errorf("shutdown took %v: it cannot have waited for the backend", took)
	}
}

// A configured timeout and a caller's deadline bound shutdown too, over
// gRPC to a port that refuses connections and over HTTP to a collector
// that never answers.
func TestShutdownTimeouts(t *testing.T) {
	f := func(ctx context.Context, limit time.Duration, opts ...vigil.Option) {
		t.Helper()
		reg := metric.New(metric.Options{})
		opts = append(opts, vigil.WithRegistry(reg), vigil.WithLogger(slog.New(slog.NewTextHandler(&logBuf{}, nil))))
		shutdown, err := vigil.Start(context.Background(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		produce(reg, 10)
		timedShutdown(t, ctx, shutdown, limit)
	}
	f(context.Background(), 2500*time.Millisecond, vigil.WithShutdownTimeout(time.Second),
		vigil.WithProtocol(vigil.ProtocolGRPC), vigil.WithEndpoint(refusedAddr(t)), vigil.WithInsecure())
	f(context.Background(), 2500*time.Millisecond, vigil.WithShutdownTimeout(time.Second),
		vigil.WithEndpoint("http://"+hungCollector(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	f(ctx, 2*time.Second, vigil.WithEndpoint("http://"+hungCollector(t)))
}

// Failed span and log exports are logged (rate-limited), not only counted.
func TestFailedExportsAreLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/v1/metrics") {
			return
		}
		http.Error(w, "refused by the test", http.StatusBadRequest)
	}))
	defer srv.Close()
	reg := metric.New(metric.Options{})
	logs := &logBuf{}
	shutdown, err := vigil.Start(context.Background(), vigil.WithEndpoint(srv.URL), vigil.WithRegistry(reg),
		vigil.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	produce(reg, 3)
	if err := shutdown(context.Background()); err != nil {
		t.Logf("shutdown: %v", err)
	}
	out := logs.String()
	for _, signal := range []string{"spans", "logs"} {
		if !strings.Contains(out, "msg=\"export failed\" signal="+signal) {
			t.Errorf("no failed %s export logged in:\n%s", signal, out)
		}
	}
	if got := reg.Counter("vigil_sdk_spans_dropped_total", "").With("reason", "export_failed").Value(); got != 3 {
		t.Errorf("spans dropped as export_failed: %v, want 3", got)
	}
}

// Every span produced is accounted for after shutdown, exported or dropped
// by reason, when the deadline cuts the last exports short; the loss is
// logged.
func TestShutdownAccountsForEverySpan(t *testing.T) {
	reg := metric.New(metric.Options{})
	logs := &logBuf{}
	shutdown, err := vigil.Start(context.Background(), vigil.WithEndpoint("http://"+hungCollector(t)),
		vigil.WithRegistry(reg), vigil.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		vigil.WithShutdownTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000 // more than the queue holds
	produce(reg, n)
	timedShutdown(t, context.Background(), shutdown, 3*time.Second)
	dropped := reg.Counter("vigil_sdk_spans_dropped_total", "")
	var sum float64
	for _, reason := range []string{"queue_full", "export_failed", "shutdown"} {
		sum += dropped.With("reason", reason).Value()
	}
	exported := reg.Counter("vigil_sdk_spans_exported_total", "").With().Value()
	queued := reg.Gauge("vigil_sdk_spans_queue_length", "").With().Value()
	if exported+sum+queued != n || queued != 0 {
		t.Errorf("exported %v + dropped %v + queued %v != produced %d", exported, sum, queued, n)
	}
	if !strings.Contains(logs.String(), "items not exported") {
		t.Errorf("the loss at shutdown is not logged:\n%s", logs.String())
	}
}
