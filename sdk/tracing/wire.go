package tracing

import (
	"context"

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

// Field numbers of the OTLP trace messages (opentelemetry/proto/trace/v1).
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
)

func (e *encoder) resourceSpans(p *Provider, spans []*span) []byte {
	if e.scope == nil { // the first batch
		e.res, _ = proto.Marshal(p.resPB)
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
		b, at = otlpconv.BeginLen(b)
		b = e.span(b, s)
		e.scopes[k] = otlpconv.EndLen(b, at)
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
		b, at = otlpconv.BeginLen(b)
		b = protowire.AppendTag(b, ssScope, protowire.BytesType)
		b = protowire.AppendBytes(b, sc)
		b = append(b, e.scopes[k]...)
		b = otlpconv.AppendString(b, ssSchemaURL, t.scope.SchemaURL)
		b = otlpconv.EndLen(b, at)
	}
	b = otlpconv.AppendString(b, rsSchemaURL, p.res.SchemaURL())
	e.out = b
	return b
}

func (e *encoder) span(b []byte, s *span) []byte {
	tid, sid := s.sc.TraceID(), s.sc.SpanID()
	b = protowire.AppendTag(b, spTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, tid[:])
	b = protowire.AppendTag(b, spSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, sid[:])
	b = otlpconv.AppendString(b, spTraceState, e.ts.traceState(s.sc.TraceState()))
	if s.parent.IsValid() {
		b = protowire.AppendTag(b, spParentSpanID, protowire.BytesType)
		b = protowire.AppendBytes(b, s.parent[:])
	}
	b = otlpconv.AppendString(b, spName, otlpconv.ValidUTF8(s.name))
	b = otlpconv.AppendVarint(b, spKind, uint64(s.kind))
	b = otlpconv.AppendFixed64(b, spStart, unixNano(s.start))
	b = otlpconv.AppendFixed64(b, spEnd, uint64(max(0, s.end)))
	b = otlpconv.AppendKeyValues(b, spAttributes, s.attrs)
	b = otlpconv.AppendVarint(b, spDroppedAttributes, uint64(max(0, s.droppedAttrs)))
	if m := s.more; m != nil {
		for _, ev := range m.events {
			b = protowire.AppendTag(b, spEvents, protowire.BytesType)
			var at int
			b, at = otlpconv.BeginLen(b)
			b = otlpconv.AppendFixed64(b, evTime, unixNano(ev.Time))
			b = otlpconv.AppendString(b, evName, otlpconv.ValidUTF8(ev.Name))
			b = otlpconv.AppendKeyValues(b, evAttributes, ev.Attributes)
			b = otlpconv.AppendVarint(b, evDropped, uint64(clamp(ev.DroppedAttributeCount)))
			b = otlpconv.EndLen(b, at)
		}
		b = otlpconv.AppendVarint(b, spDroppedEvents, uint64(clamp(m.droppedEvents)))
		for _, l := range m.links {
			b = appendLink(b, l)
		}
		b = otlpconv.AppendVarint(b, spDroppedLinks, uint64(clamp(m.droppedLinks)))
	}
	// The converter always sets a status, so the message is there even
	// when empty.
	b = protowire.AppendTag(b, spStatus, protowire.BytesType)
	var at int
	b, at = otlpconv.BeginLen(b)
	switch s.status.Code {
	case codes.Ok:
		b = otlpconv.AppendVarint(b, stCode, uint64(tracepb.Status_STATUS_CODE_OK))
	case codes.Error:
		b = otlpconv.AppendString(b, stMessage, otlpconv.ValidUTF8(s.status.Description))
		b = otlpconv.AppendVarint(b, stCode, uint64(tracepb.Status_STATUS_CODE_ERROR))
	}
	b = otlpconv.EndLen(b, at)
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
	b, at = otlpconv.BeginLen(b)
	b = protowire.AppendTag(b, lkTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, ltid[:])
	b = protowire.AppendTag(b, lkSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, lsid[:])
	b = otlpconv.AppendString(b, lkTraceState, l.SpanContext.TraceState().String())
	b = otlpconv.AppendKeyValues(b, lkAttributes, l.Attributes)
	b = otlpconv.AppendVarint(b, lkDropped, uint64(clamp(l.DroppedAttributeCount)))
	if f := spanFlags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()); f != 0 {
		b = protowire.AppendTag(b, lkFlags, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, f)
	}
	return otlpconv.EndLen(b, at)
}
