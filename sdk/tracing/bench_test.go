package tracing

import (
	"context"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/sampling"
)

// marshalClient marshals each upload, as the real OTLP clients do, and
// sends nothing.
type marshalClient struct{ bytes int }

func (c *marshalClient) Start(context.Context) error { return nil }
func (c *marshalClient) Stop(context.Context) error  { return nil }
func (c *marshalClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	c.bytes += len(b)
	return err
}

func benchSpans(b *testing.B, p float64, attrs bool) {
	tp := NewProvider(WithClient(&marshalClient{}), WithSampler(sampling.ParentBased(sampling.Probability(p))),
		WithBatch(export.Options{Registry: metric.New(metric.Options{})}))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Start(ctx, "GET /api/orders")
		if attrs {
			s.SetAttributes(kvs...)
		}
		s.End()
	}
}

func BenchmarkSpanStartEnd(b *testing.B)      { benchSpans(b, 1, false) }
func BenchmarkSpanStartEnd10(b *testing.B)    { benchSpans(b, 0.1, false) }
func BenchmarkSpanStartEndAttrs(b *testing.B) { benchSpans(b, 1, true) }

func benchOTel(b *testing.B, attrs bool) {
	exp, _ := otlptrace.New(context.Background(), &marshalClient{})
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Start(ctx, "GET /api/orders")
		if attrs {
			s.SetAttributes(kvs...)
		}
		s.End()
	}
}

func BenchmarkOTelSpanStartEnd(b *testing.B)      { benchOTel(b, false) }
func BenchmarkOTelSpanStartEndAttrs(b *testing.B) { benchOTel(b, true) }
