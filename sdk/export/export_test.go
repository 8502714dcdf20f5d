package export

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/sdk/metric"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dropped(reg *metric.Registry, signal, reason string) float64 {
	return reg.Counter("vigil_sdk_"+signal+"_dropped_total", "").With("reason", reason).Value()
}

// blockingExporter blocks each export until release is closed.
type blockingExporter struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	n       int
	err     error
}

func (e *blockingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case e.started <- struct{}{}:
	default:
	}
	<-e.release
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n += len(spans)
	return e.err
}
func (e *blockingExporter) Shutdown(context.Context) error { return nil }

func TestSpanQueueFullIsCounted(t *testing.T) {
	reg := metric.New(metric.Options{})
	exp := &blockingExporter{started: make(chan struct{}, 1), release: make(chan struct{})}
	p := NewSpanProcessor(exp, Options{QueueSize: 2, BatchSize: 1, Interval: time.Hour, Registry: reg})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	tr := tp.Tracer("t")
	_, s := tr.Start(context.Background(), "first")
	s.End()
	<-exp.started // the exporter holds span 1; the queue is empty
	for range 5 {
		_, s := tr.Start(context.Background(), "more")
		s.End()
	}
	if got := dropped(reg, "spans", ReasonQueueFull); got != 3 {
		t.Fatalf("dropped %v, want 3 (queue of 2)", got)
	}
	close(exp.release)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exp.n != 3 {
		t.Fatalf("exported %d, want 3", exp.n)
	}
	if got := reg.Counter("vigil_sdk_spans_exported_total", "").With().Value(); got != 3 {
		t.Fatalf("exported counter %v", got)
	}
	// after shutdown, ends are counted as dropped
	_, s = tr.Start(context.Background(), "late")
	s.End()
	p.OnEnd(s.(sdktrace.ReadOnlySpan))
	if got := dropped(reg, "spans", ReasonShutdown); got != 1 {
		t.Fatalf("shutdown drops %v, want 1", got)
	}
}

func TestSpanExportFailureIsCounted(t *testing.T) {
	reg := metric.New(metric.Options{})
	exp := &blockingExporter{started: make(chan struct{}, 1), release: make(chan struct{}), err: errors.New("backend down")}
	close(exp.release)
	p := NewSpanProcessor(exp, Options{Interval: time.Hour, Registry: reg})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	for range 4 {
		_, s := tp.Tracer("t").Start(context.Background(), "x")
		s.End()
	}
	if err := p.ForceFlush(context.Background()); err == nil {
		t.Fatal("ForceFlush hid the export error")
	}
	if got := dropped(reg, "spans", ReasonExportFailed); got != 4 {
		t.Fatalf("export_failed %v, want 4", got)
	}
	tp.Shutdown(context.Background())
}

func TestSpanShutdownFlushesAndSkipsUnsampled(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewSpanProcessor(exp, Options{Interval: time.Hour, Registry: metric.New(metric.Options{})})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	_, s := tp.Tracer("t").Start(context.Background(), "kept")
	s.End()
	tp2 := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(p))
	_, s = tp2.Tracer("t").Start(context.Background(), "never")
	s.End()
	p.b.Shutdown(context.Background()) // flushes; the in-memory exporter's Shutdown would clear it
	if got := exp.GetSpans(); len(got) != 1 || got[0].Name != "kept" {
		t.Fatalf("exported %v", got.Snapshots())
	}
}

func TestShutdownRespectsDeadline(t *testing.T) {
	exp := &blockingExporter{started: make(chan struct{}, 1), release: make(chan struct{})}
	p := NewSpanProcessor(exp, Options{Interval: time.Hour, Registry: metric.New(metric.Options{})})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	close(exp.release) // let the goroutine finish so goleak passes
	<-p.b.done
}

type logExporter struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (e *logExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records = append(e.records, rs...)
	return nil
}
func (e *logExporter) Shutdown(context.Context) error   { return nil }
func (e *logExporter) ForceFlush(context.Context) error { return nil }

func TestLogProcessor(t *testing.T) {
	reg := metric.New(metric.Options{})
	exp := &logExporter{}
	p := NewLogProcessor(exp, Options{QueueSize: 4, Interval: time.Hour, Registry: reg})
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p))
	l := lp.Logger("t")
	for i := range 3 {
		var r log.Record
		r.SetBody(attribute.Int64Value(int64(i)))
		l.Emit(context.Background(), r)
	}
	if err := lp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exp.mu.Lock()
	if len(exp.records) != 3 || exp.records[2].Body().AsInt64() != 2 {
		t.Fatalf("records %d", len(exp.records))
	}
	exp.mu.Unlock()
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var r log.Record
	l.Emit(context.Background(), r)
	p.OnEmit(context.Background(), new(sdklog.Record))
	if got := dropped(reg, "logs", ReasonShutdown); got != 1 {
		t.Fatalf("logs dropped after shutdown %v, want 1", got)
	}
}
