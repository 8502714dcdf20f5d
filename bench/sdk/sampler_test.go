package sdkbench

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/sampling"
)

// BenchmarkSampler measures one root-span decision. lib=otel is
// OpenTelemetry's ParentBased(TraceIDRatioBased(0.1)); the vigil variants
// are the SDK's samplers at the same 10% where they take a probability.
func BenchmarkSampler(b *testing.B) {
	ids := make([]trace.TraceID, 1024)
	for i := range ids {
		ids[i] = trace.TraceID{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, byte(i * 7), byte(i * 13), byte(i * 31), byte(i >> 2), 9, 10, byte(i)}
	}
	for _, c := range []struct {
		lib string
		s   sdktrace.Sampler
	}{
		{"otel", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))},
		{"vigil", sampling.ParentBased(sampling.Probability(0.1))},
		{"vigil-probability", sampling.Probability(0.1)},
		{"vigil-peroperation", sampling.PerOperation(0.1, map[string]float64{"GET /api/orders": 0.1, "GET /health": 0})},
		{"vigil-ratelimited", sampling.RateLimited(100, nil)},
		{"vigil-adaptive", sampling.NewAdaptive(sampling.AdaptiveOptions{PerOperation: 10})},
	} {
		b.Run("lib="+c.lib, func(b *testing.B) {
			p := sdktrace.SamplingParameters{ParentContext: context.Background(), Name: "GET /api/orders"}
			i := 0
			run(b, false, func() {
				p.TraceID = ids[i&1023]
				c.s.ShouldSample(p)
				i++
			})
		})
	}
}
