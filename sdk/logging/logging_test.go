package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/metric"
)

type memExporter struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (e *memExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rs {
		e.records = append(e.records, r.Clone())
	}
	return nil
}
func (e *memExporter) Shutdown(context.Context) error   { return nil }
func (e *memExporter) ForceFlush(context.Context) error { return nil }

func spanCtx() context.Context {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
}

func TestBothOutputsWithTraceContext(t *testing.T) {
	exp := &memExporter{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	var buf bytes.Buffer
	h := New(Options{
		Local:          slog.NewJSONHandler(&buf, nil),
		LoggerProvider: lp,
		Attrs:          []slog.Attr{slog.String("service.name", "shop")},
	})
	log := slog.New(h).With("component", "cart")
	log.InfoContext(spanCtx(), "order placed", "order_id", 42)

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("local output %q: %v", buf.String(), err)
	}
	for k, want := range map[string]any{"msg": "order placed", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "service.name": "shop", "component": "cart", "order_id": float64(42)} {
		if got[k] != want {
			t.Errorf("local %s = %v, want %v", k, got[k], want)
		}
	}
	if len(exp.records) != 1 {
		t.Fatalf("OTLP records %d, want 1", len(exp.records))
	}
	r := exp.records[0]
	if r.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || r.SpanID().String() != "00f067aa0ba902b7" || r.Body().AsString() != "order placed" {
		t.Fatalf("OTLP record trace %s span %s body %v", r.TraceID(), r.SpanID(), r.Body())
	}
	if r.InstrumentationScope().Name != ScopeName {
		t.Errorf("scope %q", r.InstrumentationScope().Name)
	}
}

func TestRuntimeLevel(t *testing.T) {
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	log := slog.New(NewText(&buf, Options{Level: lv, NoOTLP: true}))
	log.Debug("hidden")
	srv := httptest.NewServer(LevelHandler(lv))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(`{"level":"debug"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("set level: %v %v", err, resp)
	}
	resp.Body.Close()
	log.Debug("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Fatalf("output %q", buf.String())
	}
	rec := httptest.NewRecorder()
	LevelHandler(lv).ServeHTTP(rec, httptest.NewRequest("PUT", "/?level=nonsense", nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "nonsense") {
		t.Fatalf("bad level: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	LevelHandler(lv).ServeHTTP(rec, httptest.NewRequest("PUT", "/?level=warn", nil))
	if lv.Level() != slog.LevelWarn || !strings.Contains(rec.Body.String(), `"WARN"`) {
		t.Fatalf("level %v body %s", lv.Level(), rec.Body)
	}
	rec = httptest.NewRecorder()
	LevelHandler(lv).ServeHTTP(rec, httptest.NewRequest("DELETE", "/", nil))
	if rec.Code != 405 {
		t.Fatalf("DELETE: %d", rec.Code)
	}
}

func TestRepeatSuppression(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	reg := metric.New(metric.Options{})
	log := slog.New(NewText(&buf, Options{NoOTLP: true, Registry: reg, Repeat: RepeatLimit{Burst: 2, Window: time.Second, Now: func() time.Time { return now }}}))
	for range 5 {
		log.Error("db down")
	}
	log.Error("other")
	now = now.Add(time.Second)
	log.Error("db down")
	if n := strings.Count(buf.String(), "db down"); n != 3 {
		t.Fatalf("db down written %d times, want 2 + 1 after the window:\n%s", n, buf.String())
	}
	if got := reg.Counter("vigil_sdk_logs_suppressed_total", "").With().Value(); got != 3 {
		t.Fatalf("suppressed %v, want 3", got)
	}
}

// TestSlogConformance runs the standard library's handler test suite on
// the local output.
func TestSlogConformance(t *testing.T) {
	var buf bytes.Buffer
	newHandler := func(t *testing.T) slog.Handler {
		buf.Reset()
		return New(Options{Local: slog.NewJSONHandler(&buf, nil), NoOTLP: true})
	}
	result := func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	slogtest.Run(t, newHandler, result)
}
