package tracing

import (
	"context"
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigilhq/vigil/sdk/internal/otlpconv"
)

// uploadWire encodes a batch as the protobuf of one OTLP ResourceSpans
// and hands it to the client as that message's unknown fields, which
// protobuf marshalling copies as they are: the receiver gets the same
// bytes as from the converted messages, at a fraction of the cost (the
// reflection-driven marshalling of a span's messages cost more than
// building them). The encoder's buffers are reused from batch to batch;
// the client marshals before UploadTraces returns.
func (p *Provider) uploadWire(ctx context.Context, spans []*span) error {
	b := p.wire.resourceSpans(p, spans)
	rs := &p.wire.msg
	rs.Reset()
	rs.ProtoReflect().SetUnknown(protoreflect.RawFields(b))
	return p.client.UploadTraces(ctx, []*tracepb.ResourceSpans{rs})
}

// encoder writes ended spans in the protobuf wire format, field for field
// what the converter's messages marshal to. It belongs to the export
// goroutine.
type encoder struct {
	out    []byte
	scopes [][]byte // per tracer in the batch: its spans, each a ScopeSpans.spans field
	msg    tracepb.ResourceSpans
	res    []byte             // the provider's Resource, encoded once
	scope  map[*tracer][]byte // each tracer's InstrumentationScope, encoded once
	ts     converter          // for its tracestate cache
}

// Field numbers of the OTLP messages (opentelemetry/proto/trace/v1 and
// common/v1).
const (
	rsResource, rsScopeSpans, rsSchemaURL = 1, 2, 3
	ssScope, ssSpans, ssSchemaURL         = 1, 2, 3

	spTraceID, spSpanID, spTraceState, spParentSpanID, spName, spKind = 1, 2, 3, 4, 5, 6
	spStart, spEnd, spAttributes, spDroppedAttributes                 = 7, 8, 9, 10
	spEvents, spDroppedEvents, spLinks, spDroppedLinks, spStatus      = 11, 12, 13, 14, 15
	spFlags                                                           = 16

	evTime, evName, evAttributes, evDropped = 1, 2, 3, 4

	lkTraceID, lkSpanID, lkTraceState, lkAttributes, lkDropped, lkFlags = 1, 2, 3, 4, 5, 6

	stMessage, stCode = 2, 3

	kvKey, kvValue                                                = 1, 2
	avString, avBool, avInt, avDouble, avArray, avKvlist, avBytes = 1, 2, 3, 4, 5, 6, 7
	arrValues, kvlValues                                          = 1, 1
)

func (e *encoder) resourceSpans(p *Provider, spans []*span) []byte {
	if e.res == nil {
		e.res, _ = proto.Marshal(p.resPB)
		e.res = append(e.res, nil...) // non-nil: encoded once, even when empty
		e.scope = map[*tracer][]byte{}
	}
	for i := range e.scopes {
		e.scopes[i] = e.scopes[i][:0]
	}
	var tracers []*tracer
	for _, s := range spans {
		k := -1
		for j, t := range tracers {
			if t == s.t {
				k = j
				break
			}
		}
		if k < 0 {
			k = len(tracers)
			tracers = append(tracers, s.t)
			if k == len(e.scopes) {
				e.scopes = append(e.scopes, nil)
			}
		}
		b := protowire.AppendTag(e.scopes[k], ssSpans, protowire.BytesType)
		var at int
		b, at = beginLen(b)
		b = e.span(b, s)
		e.scopes[k] = endLen(b, at)
	}

	b := e.out[:0]
	b = protowire.AppendTag(b, rsResource, protowire.BytesType)
	b = protowire.AppendBytes(b, e.res)
	for k, t := range tracers {
		sc, ok := e.scope[t]
		if !ok {
			sc, _ = proto.Marshal(t.scopePB)
			e.scope[t] = sc
		}
		b = protowire.AppendTag(b, rsScopeSpans, protowire.BytesType)
		var at int
		b, at = beginLen(b)
		b = protowire.AppendTag(b, ssScope, protowire.BytesType)
		b = protowire.AppendBytes(b, sc)
		b = append(b, e.scopes[k]...)
		b = appendString(b, ssSchemaURL, t.scope.SchemaURL)
		b = endLen(b, at)
	}
	b = appendString(b, rsSchemaURL, p.res.SchemaURL())
	e.out = b
	return b
}

func (e *encoder) span(b []byte, s *span) []byte {
	tid, sid := s.sc.TraceID(), s.sc.SpanID()
	b = protowire.AppendTag(b, spTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, tid[:])
	b = protowire.AppendTag(b, spSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, sid[:])
	b = appendString(b, spTraceState, e.ts.traceState(s.sc.TraceState()))
	if s.parent.IsValid() {
		b = protowire.AppendTag(b, spParentSpanID, protowire.BytesType)
		b = protowire.AppendBytes(b, s.parent[:])
	}
	b = appendString(b, spName, otlpconv.ValidUTF8(s.name))
	b = appendVarint(b, spKind, uint64(s.kind))
	b = appendFixed64(b, spStart, unixNano(s.start))
	b = appendFixed64(b, spEnd, uint64(max(0, s.end)))
	b = appendKeyValues(b, spAttributes, s.attrs)
	b = appendVarint(b, spDroppedAttributes, uint64(max(0, s.droppedAttrs)))
	if m := s.more; m != nil {
		for _, ev := range m.events {
			b = protowire.AppendTag(b, spEvents, protowire.BytesType)
			var at int
			b, at = beginLen(b)
			b = appendFixed64(b, evTime, unixNano(ev.Time))
			b = appendString(b, evName, otlpconv.ValidUTF8(ev.Name))
			b = appendKeyValues(b, evAttributes, ev.Attributes)
			b = appendVarint(b, evDropped, uint64(clamp(ev.DroppedAttributeCount)))
			b = endLen(b, at)
		}
		b = appendVarint(b, spDroppedEvents, uint64(clamp(m.droppedEvents)))
		for _, l := range m.links {
			b = appendLink(b, l)
		}
		b = appendVarint(b, spDroppedLinks, uint64(clamp(m.droppedLinks)))
	}
	// The converter always sets a status, so the message is there even
	// when empty.
	b = protowire.AppendTag(b, spStatus, protowire.BytesType)
	var at int
	b, at = beginLen(b)
	switch s.status.Code {
	case codes.Ok:
		b = appendVarint(b, stCode, uint64(tracepb.Status_STATUS_CODE_OK))
	case codes.Error:
		b = appendString(b, stMessage, otlpconv.ValidUTF8(s.status.Description))
		b = appendVarint(b, stCode, uint64(tracepb.Status_STATUS_CODE_ERROR))
	}
	b = endLen(b, at)
	if f := spanFlags(s.sc.TraceFlags(), s.parentRemote); f != 0 {
		b = protowire.AppendTag(b, spFlags, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, f)
	}
	return b
}

func appendLink(b []byte, l sdktrace.Link) []byte {
	ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	b = protowire.AppendTag(b, spLinks, protowire.BytesType)
	var at int
	b, at = beginLen(b)
	b = protowire.AppendTag(b, lkTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, ltid[:])
	b = protowire.AppendTag(b, lkSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, lsid[:])
	b = appendString(b, lkTraceState, l.SpanContext.TraceState().String())
	b = appendKeyValues(b, lkAttributes, l.Attributes)
	b = appendVarint(b, lkDropped, uint64(clamp(l.DroppedAttributeCount)))
	if f := spanFlags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()); f != 0 {
		b = protowire.AppendTag(b, lkFlags, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, f)
	}
	return endLen(b, at)
}

// appendKeyValues writes each attribute as a KeyValue message in field.
func appendKeyValues(b []byte, field protowire.Number, kvs []attribute.KeyValue) []byte {
	for _, kv := range kvs {
		b = protowire.AppendTag(b, field, protowire.BytesType)
		var at int
		b, at = beginLen(b)
		b = appendString(b, kvKey, otlpconv.ValidUTF8(string(kv.Key)))
		b = protowire.AppendTag(b, kvValue, protowire.BytesType)
		var at2 int
		b, at2 = beginLen(b)
		b = appendAnyValue(b, kv.Value)
		b = endLen(b, at2)
		b = endLen(b, at)
	}
	return b
}

// appendAnyValue writes the content of an AnyValue as otlpconv.Attrs
// converts it. A oneof member is written even when it is its zero value.
func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.STRING:
		b = protowire.AppendTag(b, avString, protowire.BytesType)
		return protowire.AppendString(b, otlpconv.ValidUTF8(v.AsString()))
	case attribute.INT64:
		b = protowire.AppendTag(b, avInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, avDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.BOOL:
		b = protowire.AppendTag(b, avBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, avBytes, protowire.BytesType)
		return protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE:
		xs := v.AsBoolSlice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return appendAnyValue(b, attribute.BoolValue(xs[i])) })
	case attribute.INT64SLICE:
		xs := v.AsInt64Slice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return appendAnyValue(b, attribute.Int64Value(xs[i])) })
	case attribute.FLOAT64SLICE:
		xs := v.AsFloat64Slice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return appendAnyValue(b, attribute.Float64Value(xs[i])) })
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return appendAnyValue(b, attribute.StringValue(xs[i])) })
	case attribute.SLICE:
		xs := v.AsSlice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return appendAnyValue(b, xs[i]) })
	case attribute.MAP:
		b = protowire.AppendTag(b, avKvlist, protowire.BytesType)
		var at int
		b, at = beginLen(b)
		b = appendKeyValues(b, kvlValues, v.AsMap())
		return endLen(b, at)
	case attribute.EMPTY:
		return b
	default:
		b = protowire.AppendTag(b, avString, protowire.BytesType)
		return protowire.AppendString(b, "INVALID")
	}
}

func appendArray(b []byte, n int, elem func([]byte, int) []byte) []byte {
	b = protowire.AppendTag(b, avArray, protowire.BytesType)
	var at int
	b, at = beginLen(b)
	for i := range n {
		b = protowire.AppendTag(b, arrValues, protowire.BytesType)
		var at2 int
		b, at2 = beginLen(b)
		b = elem(b, i)
		b = endLen(b, at2)
	}
	return endLen(b, at)
}

// appendString, appendVarint and appendFixed64 write a proto3 scalar
// field, left out when it holds its zero value, as protobuf does.
func appendString(b []byte, field protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

// beginLen appends a one-byte placeholder for the length of a nested
// message and returns where the message starts; endLen writes the length,
// moving the message when it needs more than one byte (128 bytes or more).
func beginLen(b []byte) ([]byte, int) { return append(b, 0), len(b) + 1 }

var zeros [binaryMaxVarintLen64]byte

const binaryMaxVarintLen64 = 10

func endLen(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	b = append(b, zeros[:k-1]...)
	copy(b[start+k-1:], b[start:start+n])
	protowire.AppendVarint(b[:start-1], uint64(n)) // writes k bytes in place
	return b
}
