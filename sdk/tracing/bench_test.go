package tracing

import (
	"context"
	"go.opentelemetry.io/otel/attribute"
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

// The comparison with the OpenTelemetry SDK is in bench/sdk; these are
// quick checks of this package alone.

var kvs = []attribute.KeyValue{
	attribute.String("http.request.method", "GET"),
	attribute.String("url.path", "/api/orders"),
	attribute.Int("http.response.status_code", 200),
	attribute.String("server.address", "shop.example.com"),
	attribute.Bool("retry", false),
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
