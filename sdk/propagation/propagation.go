package propagation

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/contrib/propagators/jaeger"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/metric"
)

// Names accepted by New, as OTEL_PROPAGATORS spells them.
const (
	TraceContextName = "tracecontext"
	BaggageName      = "baggage"
	B3Name           = "b3"      // single b3 header
	B3MultiName      = "b3multi" // X-B3-* headers
	JaegerName       = "jaeger"  // uber-trace-id
	NoneName         = "none"
)

// DefaultNames are the propagators used when none are configured.
var DefaultNames = []string{TraceContextName, BaggageName}

// New returns a composite propagator of the named propagators, in order.
// Invalid headers are counted in reg (metric.Default() when nil).
func New(reg *metric.Registry, names ...string) (propagation.TextMapPropagator, error) {
	if len(names) == 0 {
		names = DefaultNames
	}
	invalid := invalidCounter(reg)
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case TraceContextName:
			ps = append(ps, &TraceContext{invalid: invalid})
		case BaggageName:
			ps = append(ps, baggage{})
		case B3Name:
			ps = append(ps, counting{b3.New(b3.WithInjectEncoding(b3.B3SingleHeader)), "b3", invalid})
		case B3MultiName:
			ps = append(ps, counting{b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)), "x-b3-traceid", invalid})
		case JaegerName:
			ps = append(ps, counting{jaeger.Jaeger{}, "uber-trace-id", invalid})
		case NoneName, "":
		default:
			return nil, fmt.Errorf("unknown propagator %q: want one of tracecontext, baggage, b3, b3multi, jaeger, none", n)
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...), nil
}

// FromEnv returns New of the comma-separated names in OTEL_PROPAGATORS, or
// of DefaultNames when it is unset.
func FromEnv(reg *metric.Registry) (propagation.TextMapPropagator, error) {
	v := os.Getenv("OTEL_PROPAGATORS")
	if v == "" {
		return New(reg)
	}
	return New(reg, strings.Split(v, ",")...)
}

// counting wraps a propagator and counts extractions where its header was
// present but yielded no valid span context.
type counting struct {
	propagation.TextMapPropagator
	header  string
	invalid *metric.Counter
}

func (c counting) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if carrier.Get(c.header) == "" {
		return c.TextMapPropagator.Extract(ctx, carrier)
	}
	// Extract onto an empty context first: comparing with ctx would miss a
	// header that failed while an earlier propagator set the same IDs.
	if !trace.SpanContextFromContext(c.TextMapPropagator.Extract(context.Background(), carrier)).IsValid() {
		c.invalid.With("header", c.header, "reason", ReasonNotExtracted).Inc()
		return ctx
	}
	return c.TextMapPropagator.Extract(ctx, carrier)
}

// baggage is OpenTelemetry's W3C baggage propagator, skipping extraction
// from HTTP headers without a baggage header (most requests) before it
// canonicalizes the header name.
type baggage struct{ propagation.Baggage }

func (b baggage) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if hc, ok := carrier.(propagation.HeaderCarrier); ok && len(hc["Baggage"]) == 0 {
		return ctx
	}
	return b.Baggage.Extract(ctx, carrier)
}
