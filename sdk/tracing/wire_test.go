package tracing

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
)

// TestWireMatchesConverter encodes the same batches both ways, through
// the converter's messages and proto.Marshal and through the encoder, and
// wants the same bytes: the workload's every feature, long values (whose
// lengths take two bytes), invalid UTF-8, many spans.
func TestWireMatchesConverter(t *testing.T) {
	p := NewProvider(WithResource(res)) // no client: the test's queue below
	var mu sync.Mutex
	batches := 0
	p.queue = export.NewBatcher("spans", export.Options{Registry: metric.New(metric.Options{})}, func(_ context.Context, spans []*span) error {
		var c converter
		want, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{c.resourceSpans(p, spans)}})
		if err != nil {
			t.Error(err)
			return nil
		}
		var e encoder
		for range 2 { // the second time with the buffers reused
			rs := &tracepb.ResourceSpans{}
			rs.ProtoReflect().SetUnknown(protoreflect.RawFields(e.resourceSpans(p, spans)))
			got, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{rs}})
			if err != nil {
				t.Error(err)
				return nil
			}
			if !bytes.Equal(got, want) {
				var g, w tracepb.TracesData
				_ = proto.Unmarshal(got, &g)
				_ = proto.Unmarshal(want, &w)
				t.Errorf("encoder differs from the converter (%d vs %d bytes)\n got: %v\nwant: %v", len(got), len(want), prototext.Format(&g), prototext.Format(&w))
				return nil
			}
		}
		mu.Lock()
		batches++
		mu.Unlock()
		return nil
	})
	workload(p)
	tr := p.Tracer("many")
	long := string(bytes.Repeat([]byte("x"), 300))
	for i := range 50 {
		_, s := tr.Start(context.Background(), "span-"+long[:i], trace.WithAttributes(
			attribute.String("long", long), attribute.String("bad", "a\xffb"), attribute.String("", ""),
			attribute.Int("i", -i), attribute.Float64("zero", 0), attribute.Bool("no", false),
			attribute.StringSlice("empty", nil), attribute.Int64Slice("big", make([]int64, 40))))
		if i%3 == 0 {
			s.SetStatus(codes.Error, "bad \xff status")
		}
		if i%5 == 0 {
			s.SetStatus(codes.Ok, "")
		}
		s.AddEvent("e\xff", trace.WithAttributes(attribute.String("long", long)))
		s.End()
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if batches == 0 {
		t.Fatal("no batch compared")
	}
}

// With WithProtobufClient the client receives what WithClient sends.
func TestProtobufClientMatchesOpenTelemetrySDK(t *testing.T) {
	c := &captureClient{}
	p := NewProvider(WithProtobufClient(c), WithResource(res), WithBatch(export.Options{Registry: metric.New(metric.Options{})}))
	workload(p)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ref, rc := newTestProvider(t, WithResource(res))
	workload(ref)
	if err := ref.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, want := normalize(c.data(t)), normalize(rc.data(t))
	if len(got) != len(want) || len(got) != 4 {
		t.Fatalf("spans: %d, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("span %q differs\n got: %v\nwant: %v", want[i].Name, prototext.Format(got[i]), prototext.Format(want[i]))
		}
	}
}
