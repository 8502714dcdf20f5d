package logging

import (
	"bytes"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigilhq/vigil/sdk/internal/otlpconv"
)

// TestWireMatchesConverter encodes the same entries both ways, through the
// converter's messages and proto.Marshal and through the encoder, and
// wants the same bytes, with and without a resource.
func TestWireMatchesConverter(t *testing.T) {
	long := strings.Repeat("y", 200)
	other := &scope{pb: &commonpb.InstrumentationScope{Name: "lib", Version: "1", Attributes: otlpconv.KeyValues([]attribute.KeyValue{attribute.String("a", "b")})}, schemaURL: "https://x/1"}
	empty := &scope{}
	tid, sid := trace.TraceID{1, 2, 3}, trace.SpanID{4, 5}
	entries := []entry{
		{time: 1, observed: 2, severity: otellog.SeverityInfo, sevText: "INFO", body: attribute.StringValue("plain"), scope: ownScope},
		{observed: 5, severity: otellog.Severity(30), sevText: "bad\xff", body: attribute.StringValue(long), scope: other,
			attrs: []attribute.KeyValue{attribute.String("s", long), attribute.Int("i", -1), attribute.Float64("f", 0), attribute.Bool("b", false),
				attribute.StringSlice("ss", []string{"a", long}), attribute.Map("m", attribute.String("k", "v"))},
			dropped: 3, traceID: tid, spanID: sid, flags: trace.FlagsSampled, eventName: "ev"},
		{time: 7, body: attribute.Value{}, scope: empty},
		{time: 8, severity: otellog.SeverityError, body: attribute.MapValue(attribute.Int("n", 1)), scope: ownScope, traceID: tid},
		{time: 9, body: attribute.StringValue(""), scope: other},
	}
	for i := range 40 {
		entries = append(entries, entry{time: int64(i), body: attribute.StringValue(long[:i]), scope: ownScope,
			attrs: []attribute.KeyValue{attribute.Int("i", i)}})
	}
	full := resource.NewSchemaless(attribute.String("service.name", "shop"))
	for _, res := range []*resource.Resource{full, resource.Empty()} {
		e := &Exporter{res: res, resPB: &resourcepb.Resource{Attributes: otlpconv.KeyValues(res.Attributes())}}
		if res.Len() == 0 {
			e.resPB = nil
		}
		var c converter
		want, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{c.resourceLogs(e, entries)}})
		if err != nil {
			t.Fatal(err)
		}
		var w encoder
		for range 2 { // the second time with the buffers reused
			rl := &logspb.ResourceLogs{}
			rl.ProtoReflect().SetUnknown(protoreflect.RawFields(w.resourceLogs(e, entries)))
			got, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{rl}})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				var g, wd logspb.LogsData
				_ = proto.Unmarshal(got, &g)
				_ = proto.Unmarshal(want, &wd)
				t.Fatalf("resource %v: encoder differs (%d vs %d bytes)\n got: %v\nwant: %v", res.Len(), len(got), len(want), prototext.Format(&g), prototext.Format(&wd))
			}
		}
	}
}
