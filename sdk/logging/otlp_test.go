package logging

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/logexport"
	"github.com/vigilhq/vigil/sdk/metric"
)

// sink collects OTLP/HTTP log requests by path.
type sink struct {
	mu   sync.Mutex
	reqs map[string][]*collectorlogs.ExportLogsServiceRequest
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m := &collectorlogs.ExportLogsServiceRequest{}
	if err := proto.Unmarshal(b, m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs[r.URL.Path] = append(s.reqs[r.URL.Path], m)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func (s *sink) records(path string) (*logspb.ResourceLogs, []*logspb.LogRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res *logspb.ResourceLogs
	var out []*logspb.LogRecord
	for _, req := range s.reqs[path] {
		for _, rl := range req.ResourceLogs {
			res = rl
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					out = append(out, lr)
				}
			}
		}
	}
	return res, out
}

type secret struct{ Name string }

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

// The lean path (and its fall-back through the log SDK) sends the OTLP
// that OpenTelemetry's otelslog bridge, log SDK and otlploghttp exporter
// send, record by record, for every kind of slog value and the cases the
// fast path leaves to the SDK (errors, groups, repeated keys, any values).
func TestMatchesOpenTelemetryPipeline(t *testing.T) {
	col := &sink{reqs: map[string][]*collectorlogs.ExportLogsServiceRequest{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", "shop"), attribute.Int("n", 3))

	oexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(u.Host), otlploghttp.WithInsecure(), otlploghttp.WithURLPath("/otel"))
	if err != nil {
		t.Fatal(err)
	}
	olp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(oexp)))
	theirs := slog.Handler(otelslog.NewHandler(ScopeName, otelslog.WithLoggerProvider(olp)))

	client := logexport.NewHTTP(logexport.Options{Endpoint: u.Host, URLPath: "/ours", Insecure: true})
	e, err := NewExporter(client, ExporterOptions{Resource: res, Batch: export.Options{Registry: metric.New(metric.Options{})}})
	if err != nil {
		t.Fatal(err)
	}
	ours := slog.Handler(New(Options{Exporter: e, NoLocal: true}))

	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	type call struct {
		ctx   context.Context
		level slog.Level
		msg   string
		args  []any
	}
	calls := []call{
		{ctx, slog.LevelInfo, "plain", nil},
		{spanCtx(), slog.LevelInfo, "kinds", []any{"s", "v", "i", 42, "f", 1.5, "b", true, "d", time.Second, "t", at, "u", uint64(7), "big", uint64(math.MaxUint64), "lv", valuer{}}},
		{ctx, slog.LevelWarn, "any", []any{"x", secret{"a"}, "xs", []int{1, 2}, "m", map[string]int{"k": 1}, "p", &secret{"b"}, "raw", []byte("bytes")}},
		{spanCtx(), slog.LevelError, "failed", []any{"err", errors.New("boom"), "k", "v"}},
		{ctx, slog.LevelInfo, "grouped", []any{slog.Group("req", "method", "GET", "n", 1), slog.Group("", "inline", 1)}},
		{ctx, slog.LevelInfo, "repeated", []any{"k", "1", "k", "2"}},
		{ctx, slog.LevelDebug - 2, "custom level", nil},
		{ctx, slog.Level(12), "beyond fatal", nil},
		{ctx, slog.LevelInfo, "", []any{"empty", ""}},
	}
	emit := func(h slog.Handler, c call) {
		r := slog.NewRecord(at, c.level, c.msg, 0)
		r.Add(c.args...)
		if err := h.Handle(c.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range calls {
		emit(theirs, c)
		emit(ours, c)
	}
	// Derived handlers: attributes and groups added up front.
	for _, derive := range []func(slog.Handler) slog.Handler{
		func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("svc", "x"), slog.Int("shard", 2)})
		},
		func(h slog.Handler) slog.Handler {
			return h.WithGroup("g").WithAttrs([]slog.Attr{slog.String("a", "b")})
		},
		func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.Any("e", errors.New("held"))}) },
	} {
		emit(derive(theirs), call{spanCtx(), slog.LevelInfo, "derived", []any{"k", 1}})
		emit(derive(ours), call{spanCtx(), slog.LevelInfo, "derived", []any{"k", 1}})
	}
	if err := olp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.LoggerProvider().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	wantRes, want := col.records("/otel")
	gotRes, got := col.records("/ours")
	if len(want) != len(calls)+3 || len(got) != len(want) {
		t.Fatalf("OpenTelemetry sent %d records, the lean path %d (of %d)", len(want), len(got), len(calls)+3)
	}
	if !proto.Equal(wantRes.Resource, gotRes.Resource) || wantRes.SchemaUrl != gotRes.SchemaUrl {
		t.Errorf("resource:\n%v\n%v", wantRes.Resource, gotRes.Resource)
	}
	for i := range want {
		w, g := normalize(want[i]), normalize(got[i])
		if !proto.Equal(w, g) {
			t.Errorf("record %d:\nOpenTelemetry %s\nlean path     %s", i, prototext.Format(w), prototext.Format(g))
		}
	}
}

// normalize drops the observed time (each SDK reads its own clock) and
// sorts map values' entries (Go maps iterate in random order).
func normalize(lr *logspb.LogRecord) *logspb.LogRecord {
	lr = proto.Clone(lr).(*logspb.LogRecord)
	lr.ObservedTimeUnixNano = 0
	for _, kv := range lr.Attributes {
		if l := kv.GetValue().GetKvlistValue(); l != nil {
			sort.Slice(l.Values, func(i, j int) bool { return l.Values[i].Key < l.Values[j].Key })
		}
	}
	return lr
}

type nopClient struct{}

func (nopClient) Start(context.Context) error                              { return nil }
func (nopClient) Stop(context.Context) error                               { return nil }
func (nopClient) UploadLogs(context.Context, []*logspb.ResourceLogs) error { return nil }

// The common records take the fast path: no log SDK record is built.
func TestFastPathTaken(t *testing.T) {
	e, err := NewExporter(nopClient{}, ExporterOptions{Batch: export.Options{Registry: metric.New(metric.Options{})}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	h := New(Options{Exporter: e, NoLocal: true})
	f := func(ok bool, args ...any) {
		t.Helper()
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)
		r.Add(args...)
		if got := h.fast(context.Background(), e, r); got != ok {
			t.Errorf("%v: fast path %v, want %v", args, got, ok)
		}
	}
	f(true)
	f(true, "s", "v", "n", 1, "d", time.Second, "lv", valuer{})
	f(false, "err", errors.New("x"))
	f(false, slog.Group("g", "a", 1))
	f(false, "k", 1, "k", 2)
	f(false, "x", secret{})
}
