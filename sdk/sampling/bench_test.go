package sampling

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func benchSampler(b *testing.B, s sdktrace.Sampler) {
	ids := make([]trace.TraceID, 1024)
	for i := range ids {
		ids[i] = trace.TraceID{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, byte(i * 7), byte(i * 13), byte(i * 31), byte(i >> 2), 9, 10, byte(i)}
	}
	p := sdktrace.SamplingParameters{ParentContext: context.Background(), Name: "GET /api/orders"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.TraceID = ids[i&1023]
		s.ShouldSample(p)
		i++
	}
}

func BenchmarkSamplerProbability(b *testing.B) { benchSampler(b, Probability(0.1)) }
func BenchmarkSamplerParentBasedRoot(b *testing.B) {
	benchSampler(b, ParentBased(Probability(0.1)))
}
func BenchmarkSamplerPerOperation(b *testing.B) {
	benchSampler(b, PerOperation(0.1, map[string]float64{"GET /api/orders": 0.2, "GET /health": 0.001}))
}
func BenchmarkSamplerRateLimited(b *testing.B) { benchSampler(b, RateLimited(100, nil)) }
func BenchmarkSamplerAdaptive(b *testing.B) {
	benchSampler(b, NewAdaptive(AdaptiveOptions{PerOperation: 10}))
}
func BenchmarkSamplerOTelTraceIDRatio(b *testing.B) {
	benchSampler(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)))
}
