package sdkbench

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/sampling"
	"github.com/vigilhq/vigil/sdk/tracing"
)

// Every comparison is a benchmark with sub-benchmarks lib=vigil, lib=otel
// (OpenTelemetry Go SDK v1.47) and lib=prom (client_golang), so that
// benchstat -col /lib prints them side by side. Labels are the same three
// in every library: method=GET, code=200, route=/api/orders.

var labelNames = []string{"method", "code", "route"}

func otelMeter() otelmetric.Meter {
	// A manual reader keeps the pipeline real without a background exporter.
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())).Meter("bench")
}

var otelAttrs = []attribute.KeyValue{
	attribute.String("method", "GET"), attribute.String("code", "200"), attribute.String("route", "/api/orders"),
}

func run(b *testing.B, parallel bool, f func()) {
	b.ReportAllocs()
	start := cpuTime()
	defer func() {
		if start > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f()
			}
		})
		return
	}
	for b.Loop() {
		f()
	}
}

func counterBound(b *testing.B, parallel bool) {
	b.Run("lib=vigil", func(b *testing.B) {
		c := metric.New(metric.Options{}).Counter("requests_total", "").With("method", "GET", "code", "200", "route", "/api/orders")
		run(b, parallel, c.Inc)
	})
	b.Run("lib=otel", func(b *testing.B) {
		c, _ := otelMeter().Int64Counter("requests")
		// A pre-built option slice, as OpenTelemetry's docs advise for hot
		// paths: passing the option alone would allocate the variadic slice.
		opts := []otelmetric.AddOption{otelmetric.WithAttributeSet(attribute.NewSet(otelAttrs...))}
		ctx := context.Background()
		run(b, parallel, func() { c.Add(ctx, 1, opts...) })
	})
	b.Run("lib=prom", func(b *testing.B) {
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, labelNames)
		c := vec.WithLabelValues("GET", "200", "/api/orders")
		run(b, parallel, c.Inc)
	})
}

func counterLabels(b *testing.B, parallel bool) {
	b.Run("lib=vigil", func(b *testing.B) {
		c := metric.New(metric.Options{}).Counter("requests_total", "")
		run(b, parallel, func() { c.With("method", "GET", "code", "200", "route", "/api/orders").Inc() })
	})
	b.Run("lib=otel", func(b *testing.B) {
		c, _ := otelMeter().Int64Counter("requests")
		ctx := context.Background()
		run(b, parallel, func() {
			c.Add(ctx, 1, otelmetric.WithAttributes(
				attribute.String("method", "GET"), attribute.String("code", "200"), attribute.String("route", "/api/orders")))
		})
	})
	b.Run("lib=prom", func(b *testing.B) {
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, labelNames)
		run(b, parallel, func() { vec.WithLabelValues("GET", "200", "/api/orders").Inc() })
	})
}

var buckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func histogramBound(b *testing.B, parallel bool) {
	b.Run("lib=vigil", func(b *testing.B) {
		h := metric.New(metric.Options{}).Histogram("latency_seconds", "", metric.WithBuckets(buckets...)).With("method", "GET", "code", "200", "route", "/api/orders")
		run(b, parallel, func() { h.Observe(0.042) })
	})
	b.Run("lib=otel", func(b *testing.B) {
		h, _ := otelMeter().Float64Histogram("latency", otelmetric.WithExplicitBucketBoundaries(buckets...))
		opts := []otelmetric.RecordOption{otelmetric.WithAttributeSet(attribute.NewSet(otelAttrs...))}
		ctx := context.Background()
		run(b, parallel, func() { h.Record(ctx, 0.042, opts...) })
	})
	b.Run("lib=prom", func(b *testing.B) {
		vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "latency_seconds", Help: "h", Buckets: buckets}, labelNames)
		h := vec.WithLabelValues("GET", "200", "/api/orders")
		run(b, parallel, func() { h.Observe(0.042) })
	})
}

func histogramLabels(b *testing.B, parallel bool) {
	b.Run("lib=vigil", func(b *testing.B) {
		h := metric.New(metric.Options{}).Histogram("latency_seconds", "", metric.WithBuckets(buckets...))
		run(b, parallel, func() { h.With("method", "GET", "code", "200", "route", "/api/orders").Observe(0.042) })
	})
	b.Run("lib=otel", func(b *testing.B) {
		h, _ := otelMeter().Float64Histogram("latency", otelmetric.WithExplicitBucketBoundaries(buckets...))
		ctx := context.Background()
		run(b, parallel, func() {
			h.Record(ctx, 0.042, otelmetric.WithAttributes(
				attribute.String("method", "GET"), attribute.String("code", "200"), attribute.String("route", "/api/orders")))
		})
	})
	b.Run("lib=prom", func(b *testing.B) {
		vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "latency_seconds", Help: "h", Buckets: buckets}, labelNames)
		run(b, parallel, func() { vec.WithLabelValues("GET", "200", "/api/orders").Observe(0.042) })
	})
}

func BenchmarkCounterBound(b *testing.B)             { counterBound(b, false) }
func BenchmarkCounterBoundParallel(b *testing.B)     { counterBound(b, true) }
func BenchmarkCounterLabels3(b *testing.B)           { counterLabels(b, false) }
func BenchmarkCounterLabels3Parallel(b *testing.B)   { counterLabels(b, true) }
func BenchmarkHistogramBound(b *testing.B)           { histogramBound(b, false) }
func BenchmarkHistogramBoundParallel(b *testing.B)   { histogramBound(b, true) }
func BenchmarkHistogramLabels3(b *testing.B)         { histogramLabels(b, false) }
func BenchmarkHistogramLabels3Parallel(b *testing.B) { histogramLabels(b, true) }

// discard is a span exporter that drops everything without converting it,
// so lib=otel measures the OpenTelemetry SDK alone, not an exporter.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// marshalClient is an OTLP trace client that marshals every upload, as
// otlptracehttp and otlptracegrpc do, and sends nothing: with it a pipeline
// pays for the whole OTLP conversion but not for a network.
type marshalClient struct{ n int }

func (*marshalClient) Start(context.Context) error { return nil }
func (*marshalClient) Stop(context.Context) error  { return nil }
func (c *marshalClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	c.n += len(b)
	return err
}

// discardClient is an OTLP trace client that drops uploads unmarshalled:
// lib=vigil-discard pays for its span-to-OTLP conversion but, like lib=otel's
// discard exporter, not for marshalling.
type discardClient struct{}

func (discardClient) Start(context.Context) error                                  { return nil }
func (discardClient) Stop(context.Context) error                                   { return nil }
func (discardClient) UploadTraces(context.Context, []*tracepb.ResourceSpans) error { return nil }

var spanAttrs = []attribute.KeyValue{
	attribute.String("http.request.method", "GET"), attribute.String("url.path", "/api/orders"),
	attribute.Int("http.response.status_code", 200), attribute.String("server.address", "shop.example.com"),
	attribute.String("user_agent.original", "bench/1.0"),
}

type tracerProvider interface {
	trace.TracerProvider
	Shutdown(context.Context) error
}

func spans(b *testing.B, tp tracerProvider, parallel, attrs bool) {
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("bench")
	ctx := context.Background()
	run(b, parallel, func() {
		_, s := tr.Start(ctx, "GET /api/orders")
		if attrs {
			s.SetAttributes(spanAttrs...)
		}
		s.End()
	})
}

func otlpExporter(b *testing.B) sdktrace.SpanExporter {
	exp, err := otlptrace.New(context.Background(), &marshalClient{})
	if err != nil {
		b.Fatal(err)
	}
	return exp
}

// spanStartEnd compares, at the same 100% sampling:
//   - otel: the OpenTelemetry SDK default (ParentBased(AlwaysSample) +
//     BatchSpanProcessor) with an exporter that discards spans unconverted;
//   - otel-otlp: the same with OpenTelemetry's OTLP exporter over
//     marshalClient, the SDK default as a service runs it;
//   - vigil: this SDK's default pipeline (tracing.Provider with the
//     consistent-probability sampler, which also writes ot=th:0, and its
//     OTLP conversion) over the same marshalClient;
//   - vigil-discard: the same with discardClient, to set against otel;
//   - vigil-sdktrace: WithOpenTelemetryTracer (OpenTelemetry's span object
//     with this SDK's sampler and export.SpanProcessor, discarding);
//
// and at 10% sampling vigil10 (tracing.Provider) and otel10
// (ParentBased(TraceIDRatioBased(0.1)), discarding).
func spanStartEnd(b *testing.B, parallel, attrs bool) {
	reg := func() export.Options { return export.Options{Registry: metric.New(metric.Options{})} }
	b.Run("lib=otel", func(b *testing.B) {
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{})), parallel, attrs)
	})
	b.Run("lib=otel-otlp", func(b *testing.B) {
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithBatcher(otlpExporter(b))), parallel, attrs)
	})
	b.Run("lib=vigil", func(b *testing.B) {
		spans(b, tracing.NewProvider(tracing.WithClient(&marshalClient{}), tracing.WithBatch(reg())), parallel, attrs)
	})
	b.Run("lib=vigil-discard", func(b *testing.B) {
		spans(b, tracing.NewProvider(tracing.WithClient(discardClient{}), tracing.WithBatch(reg())), parallel, attrs)
	})
	b.Run("lib=vigil-sdktrace", func(b *testing.B) {
		p := export.NewSpanProcessor(discard{}, reg())
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithSampler(sampling.ParentBased(sampling.Probability(1))), sdktrace.WithSpanProcessor(p)), parallel, attrs)
	})
	b.Run("lib=vigil10", func(b *testing.B) {
		spans(b, tracing.NewProvider(tracing.WithClient(&marshalClient{}), tracing.WithBatch(reg()),
			tracing.WithSampler(sampling.ParentBased(sampling.Probability(0.1)))), parallel, attrs)
	})
	b.Run("lib=otel10", func(b *testing.B) {
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))), sdktrace.WithBatcher(discard{})), parallel, attrs)
	})
}

func BenchmarkSpanStartEnd(b *testing.B)               { spanStartEnd(b, false, false) }
func BenchmarkSpanStartEndParallel(b *testing.B)       { spanStartEnd(b, true, false) }
func BenchmarkSpanStartEndAttrs5(b *testing.B)         { spanStartEnd(b, false, true) }
func BenchmarkSpanStartEndAttrs5Parallel(b *testing.B) { spanStartEnd(b, true, true) }
