package sdkbench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelmetric "go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"

	vigil "github.com/vigilhq/vigil/sdk"
	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/logging"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/vigilhttp"
)

// BenchmarkRequest is one request through a realistic instrumented
// handler, the whole path as a service runs it: HTTP server middleware
// (a server span and the HTTP semantic-convention metrics), one child
// span, a counter with three labels, a histogram observation with an
// exemplar, one slog line, and both pipelines exporting OTLP/HTTP
// (protobuf) to a local sink, whose CPU time counts too. The request
// arrives with a sampled traceparent and is served in process
// (ServeHTTP with a minimal ResponseWriter), so the figure is the
// instrumentation's, not net/http's.
//
// Both sides must do the same work. In a loop that makes requests as fast
// as one CPU allows, a batch queue fills faster than a starved export
// goroutine drains it and the span processors drop (by default neither
// blocks), and a pipeline that drops looks cheaper. So both span
// pipelines block instead (OpenTelemetry's WithBlocking,
// export.Options.Block, which also covers Vigil's log queue), the sink
// counts the spans and log records it receives, and the benchmark fails
// unless every request's two spans and one record arrived (spans/op,
// logs/op). OpenTelemetry's log batch processor cannot block; it has kept
// up in every run so far, and the check would say if it did not.
//
//   - otel: OpenTelemetry Go as its documentation sets it up: otelhttp,
//     sdk/trace with the batch span processor, sdk/metric with a periodic
//     reader, sdk/log with the batch processor behind the otelslog bridge,
//     the otlp*http exporters.
//   - vigil: vigil.Start (tracing.Provider, sdk/metric, the logging
//     handler, OTLP over HTTP) with vigilhttp, the SDK's middleware.
//   - vigil-otelhttp: the same with otelhttp instead of vigilhttp.
func BenchmarkRequest(b *testing.B) {
	sink := newSink()
	defer sink.Close()
	for _, c := range []struct {
		lib string
		new func(b *testing.B, endpoint string) (http.Handler, func())
	}{
		{"otel", otelService},
		{"vigil", vigilService},
		{"vigil-otelhttp", vigilOtelhttpService},
	} {
		b.Run("lib="+c.lib, func(b *testing.B) {
			sink.reset()
			h, stop := c.new(b, sink.URL)
			tmpl := request()
			w := &response{h: http.Header{}}
			run(b, false, func() {
				r := *tmpl
				clear(w.h)
				w.status, w.n = 0, 0
				h.ServeHTTP(w, &r)
			})
			stop() // flushes what is queued, so the sink has seen every item kept
			if w.status != http.StatusOK || w.n == 0 {
				b.Fatalf("handler answered %d with %d bytes", w.status, w.n)
			}
			// Both sides must do the same work: a pipeline that dropped
			// items (a full queue) would look cheaper. Every request
			// makes two spans and one log record.
			spans, logs := float64(sink.spans.Load())/float64(b.N), float64(sink.logs.Load())/float64(b.N)
			b.ReportMetric(spans, "spans/op")
			b.ReportMetric(logs, "logs/op")
			if spans < 1.99 || logs < 0.99 {
				b.Errorf("the sink received %.3f spans and %.3f log records per request, want 2 and 1: the pipeline dropped items", spans, logs)
			}
		})
	}
}

// sink is a local OTLP/HTTP receiver: it reads each export into a reused
// buffer, counts the spans and log records in it, and answers an empty
// success.
type sink struct {
	*httptest.Server
	spans, logs atomic.Int64
}

func newSink() *sink {
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bufs.Get().(*bytes.Buffer)
		defer bufs.Put(buf)
		buf.Reset()
		_, _ = buf.ReadFrom(r.Body)
		body := buf.Bytes()
		switch r.URL.Path {
		case "/v1/traces":
			// ExportTraceServiceRequest: resource_spans(1) > scope_spans(2) > spans(2)
			s.spans.Add(int64(countNested(body, 1, 2, 2)))
		case "/v1/logs":
			// ExportLogsServiceRequest: resource_logs(1) > scope_logs(2) > log_records(2)
			s.logs.Add(int64(countNested(body, 1, 2, 2)))
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	return s
}

// bufs are the sink's request buffers, reused so that the sink, whose
// cost counts on both sides, stays small.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *sink) reset() { s.spans.Store(0); s.logs.Store(0) }

// countNested counts the messages at the end of a path of field numbers of
// embedded messages, walking the protobuf wire format without decoding.
func countNested(b []byte, path ...protowire.Number) int {
	n := 0
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return n
		}
		b = b[l:]
		if typ != protowire.BytesType {
			if l = protowire.ConsumeFieldValue(num, typ, b); l < 0 {
				return n
			}
			b = b[l:]
			continue
		}
		v, l := protowire.ConsumeBytes(b)
		if l < 0 {
			return n
		}
		b = b[l:]
		if num == path[0] {
			if len(path) == 1 {
				n++
			} else {
				n += countNested(v, path[1:]...)
			}
		}
	}
	return n
}

// request is the incoming request: GET /api/orders/42 from a client that
// sampled its trace.
func request() *http.Request {
	u, _ := url.Parse("/api/orders/42")
	r := &http.Request{
		Method: "GET", URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Host: "shop.example.com:8080", RemoteAddr: "10.0.0.7:51234", RequestURI: "/api/orders/42",
		Header: http.Header{
			"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			"User-Agent":  {"bench/1.0"},
			"Accept":      {"application/json"},
		},
		Body: http.NoBody,
	}
	return r.WithContext(context.Background())
}

// response is a minimal ResponseWriter, reused between requests.
type response struct {
	h         http.Header
	status, n int
}

func (w *response) Header() http.Header { return w.h }
func (w *response) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

var orderJSON = []byte(`{"id":42,"status":"shipped","items":3}`)

// app is the service's own code; only the instrument calls differ
// between the libraries.
type app struct {
	tracer  trace.Tracer
	count   func(ctx context.Context, method, route, code string)
	observe func(ctx context.Context, route string, seconds float64)
	log     *slog.Logger
	reg     *metric.Registry // vigil only
}

func (a *app) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		_, span := a.tracer.Start(ctx, "load order", trace.WithAttributes(attribute.String("db.system.name", "sqlite")))
		span.End()
		a.count(ctx, r.Method, "/api/orders/{id}", "200")
		a.observe(ctx, "/api/orders/{id}", 0.0042)
		a.log.InfoContext(ctx, "order loaded", "order_id", r.PathValue("id"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(orderJSON)
	})
	return mux
}

var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// vigilApp starts the SDK as a service does and returns the app's
// instruments on it.
func vigilApp(b *testing.B, endpoint string) (*app, func()) {
	reg := metric.New(metric.Options{})
	shutdown, err := vigil.Start(context.Background(), vigil.WithEndpoint(endpoint), vigil.WithRegistry(reg),
		vigil.WithServiceName("shop"), vigil.WithLogger(quietLogger()),
		vigil.WithBatch(export.Options{Block: true}))
	if err != nil {
		b.Fatal(err)
	}
	requests := reg.Counter("http_requests_total", "Requests.")
	latency := reg.Histogram("order_load_seconds", "Order loading.", metric.WithUnit("s"), metric.WithBuckets(latencyBuckets...))
	a := &app{
		tracer: otel.Tracer("shop"),
		count: func(_ context.Context, method, route, code string) {
			requests.With("method", method, "route", route, "code", code).Inc()
		},
		observe: func(ctx context.Context, route string, v float64) {
			latency.With("route", route).ObserveContext(ctx, v)
		},
		log: slog.New(logging.New(logging.Options{NoLocal: true, Registry: reg})),
		reg: reg,
	}
	return a, func() { _ = shutdown(context.Background()) }
}

func vigilService(b *testing.B, endpoint string) (http.Handler, func()) {
	a, stop := vigilApp(b, endpoint)
	return vigilhttp.NewHandler(a.mux(), "orders", vigilhttp.WithRegistry(a.reg)), stop
}

func vigilOtelhttpService(b *testing.B, endpoint string) (http.Handler, func()) {
	a, stop := vigilApp(b, endpoint)
	return otelhttp.NewHandler(a.mux(), "orders"), stop
}

// otelService is the same service on OpenTelemetry Go alone.
func otelService(b *testing.B, endpoint string) (http.Handler, func()) {
	ctx := context.Background()
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "shop")),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID(),
		resource.WithProcessExecutableName(), resource.WithProcessRuntimeName(), resource.WithProcessRuntimeVersion())
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(endpoint)
	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithInsecure())
	if err != nil {
		b.Fatal(err)
	}
	mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(u.Host), otlpmetrichttp.WithInsecure())
	if err != nil {
		b.Fatal(err)
	}
	lexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(u.Host), otlploghttp.WithInsecure())
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(texp, sdktrace.WithBlocking()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp)))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)))
	meter := mp.Meter("shop")
	requests, _ := meter.Int64Counter("http_requests_total")
	latency, _ := meter.Float64Histogram("order_load_seconds", otelmetric.WithUnit("s"), otelmetric.WithExplicitBucketBoundaries(latencyBuckets...))
	a := &app{
		tracer: tp.Tracer("shop"),
		count: func(ctx context.Context, method, route, code string) {
			requests.Add(ctx, 1, otelmetric.WithAttributes(attribute.String("method", method), attribute.String("route", route), attribute.String("code", code)))
		},
		observe: func(ctx context.Context, route string, v float64) {
			latency.Record(ctx, v, otelmetric.WithAttributes(attribute.String("route", route)))
		},
		log: slog.New(otelslog.NewHandler("shop", otelslog.WithLoggerProvider(lp))),
	}
	h := otelhttp.NewHandler(a.mux(), "orders", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
	return h, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
		_ = lp.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	}
}
