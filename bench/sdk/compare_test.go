package sdkbench

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/sampling"
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

// discard is a span exporter that drops everything, so the benchmark
// measures the SDK rather than an exporter.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

func spans(b *testing.B, tp *sdktrace.TracerProvider, parallel bool) {
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("bench")
	ctx := context.Background()
	run(b, parallel, func() {
		_, s := tr.Start(ctx, "GET /api/orders")
		s.End()
	})
}

// BenchmarkSpanStartEnd: lib=otel is the OpenTelemetry SDK default
// (ParentBased(AlwaysSample) + BatchSpanProcessor); lib=vigil is the SDK's
// default pipeline at the same 100% sampling (consistent-probability
// sampler, which also writes ot=th:0 into tracestate, + export.SpanProcessor);
// lib=vigil10 samples 10%, the typical production setting.
func spanStartEnd(b *testing.B, parallel bool) {
	b.Run("lib=otel", func(b *testing.B) {
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{})), parallel)
	})
	b.Run("lib=vigil", func(b *testing.B) {
		p := export.NewSpanProcessor(discard{}, export.Options{Registry: metric.New(metric.Options{})})
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithSampler(sampling.ParentBased(sampling.Probability(1))), sdktrace.WithSpanProcessor(p)), parallel)
	})
	b.Run("lib=vigil10", func(b *testing.B) {
		p := export.NewSpanProcessor(discard{}, export.Options{Registry: metric.New(metric.Options{})})
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithSampler(sampling.ParentBased(sampling.Probability(0.1))), sdktrace.WithSpanProcessor(p)), parallel)
	})
	b.Run("lib=otel10", func(b *testing.B) {
		spans(b, sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))), sdktrace.WithBatcher(discard{})), parallel)
	})
}

func BenchmarkSpanStartEnd(b *testing.B)         { spanStartEnd(b, false) }
func BenchmarkSpanStartEndParallel(b *testing.B) { spanStartEnd(b, true) }
