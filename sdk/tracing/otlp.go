package tracing

import (
	"context"
	"math"
	"reflect"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/vigilhq/vigil/sdk/internal/otlpconv"
)

// upload converts a batch to one OTLP ResourceSpans and sends it. The
// batcher calls it from its one goroutine, so the converter's slabs are
// reused from batch to batch: the OTLP clients marshal the messages before
// UploadTraces returns and keep no reference to them.
func (p *Provider) upload(ctx context.Context, spans []*span) error {
	p.conv.reset()
	return p.client.UploadTraces(ctx, []*tracepb.ResourceSpans{p.conv.resourceSpans(p, spans)})
}

// resourceSpans converts ended spans, grouped by tracer (instrumentation
// scope). Messages are carved from slabs, so a batch costs a handful of
// allocations rather than several per span and attribute.
func (c *converter) resourceSpans(p *Provider, spans []*span) *tracepb.ResourceSpans {
	ids := c.ids[:0]
	if cap(ids) < len(spans)*32 {
		ids = make([]byte, 0, len(spans)*32)
	}
	var scopes []*tracepb.ScopeSpans
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
			ss := &tracepb.ScopeSpans{Scope: s.t.scopePB, SchemaUrl: s.t.scope.SchemaURL}
			if k == 0 {
				ss.Spans = make([]*tracepb.Span, 0, len(spans))
			}
			scopes = append(scopes, ss)
		}
		pb := c.spans.Next()
		tid, sid := s.sc.TraceID(), s.sc.SpanID()
		start := len(ids)
		ids = append(append(ids, tid[:]...), sid[:]...)
		pb.TraceId, pb.SpanId = ids[start:start+16:start+16], ids[start+16:start+24:start+24]
		if s.parent.IsValid() {
			ids = append(ids, s.parent[:]...)
			pb.ParentSpanId = ids[start+24 : start+32 : start+32]
		}
		pb.TraceState = c.traceState(s.sc.TraceState())
		pb.Flags = spanFlags(s.sc.TraceFlags(), s.parentRemote)
		pb.Name = otlpconv.ValidUTF8(s.name)
		pb.Kind = tracepb.Span_SpanKind(s.kind) // the API's kinds are OTLP's numbers
		pb.StartTimeUnixNano = unixNano(s.start)
		pb.EndTimeUnixNano = uint64(max(0, s.end))
		pb.Attributes = c.keyValues(s.attrs)
		pb.DroppedAttributesCount = uint32(max(0, s.droppedAttrs))
		if m := s.more; m != nil {
			c.eventsAndLinks(pb, m)
		}
		st := c.statuses.Next()
		switch s.status.Code {
		case codes.Ok:
			st.Code = tracepb.Status_STATUS_CODE_OK
		case codes.Error:
			st.Code, st.Message = tracepb.Status_STATUS_CODE_ERROR, otlpconv.ValidUTF8(s.status.Description)
		}
		pb.Status = st
		scopes[k].Spans = append(scopes[k].Spans, pb)
	}
	c.ids = ids
	return &tracepb.ResourceSpans{Resource: p.resPB, ScopeSpans: scopes, SchemaUrl: p.res.SchemaURL()}
}

func (c *converter) eventsAndLinks(pb *tracepb.Span, m *spanMore) {
	{
		if len(m.events) > 0 {
			pb.Events = make([]*tracepb.Span_Event, len(m.events))
			for j, e := range m.events {
				pb.Events[j] = &tracepb.Span_Event{
					Name: otlpconv.ValidUTF8(e.Name), TimeUnixNano: unixNano(e.Time),
					Attributes: c.keyValues(e.Attributes), DroppedAttributesCount: clamp(e.DroppedAttributeCount),
				}
			}
		}
		pb.DroppedEventsCount = clamp(m.droppedEvents)
		if len(m.links) > 0 {
			pb.Links = make([]*tracepb.Span_Link, len(m.links))
			for j, l := range m.links {
				ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
				pb.Links[j] = &tracepb.Span_Link{
					TraceId: append([]byte(nil), ltid[:]...), SpanId: append([]byte(nil), lsid[:]...),
					TraceState: l.SpanContext.TraceState().String(),
					Attributes: c.keyValues(l.Attributes), DroppedAttributesCount: clamp(l.DroppedAttributeCount),
					Flags: spanFlags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()),
				}
			}
		}
		pb.DroppedLinksCount = clamp(m.droppedLinks)
	}
}

func spanFlags(f trace.TraceFlags, remote bool) uint32 {
	flags := uint32(f) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	if remote {
		flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	return flags
}

func unixNano(t time.Time) uint64 { return uint64(max(0, t.UnixNano())) }

func clamp(n int) uint32 { return uint32(min(max(n, 0), math.MaxUint32)) }

// converter turns spans and attributes into OTLP messages carved from
// slabs. The provider's converter belongs to the export goroutine.
type converter struct {
	ids []byte
	// The last tracestate converted and its string: spans of one sampler
	// share one TraceState value, which String would format again each time.
	lastTS    unsafe.Pointer
	lastTSLen int
	lastTSStr string
	spans     otlpconv.Slab[tracepb.Span]
	statuses  otlpconv.Slab[tracepb.Status]
	attrs     otlpconv.Attrs
}

// traceStateIsList: trace.TraceState is a struct holding one slice (its
// list of members), so its first word is the list's address. If a future
// version changes that layout, the cache is off.
var traceStateIsList = unsafe.Sizeof(trace.TraceState{}) == unsafe.Sizeof([]struct{}{}) &&
	reflect.TypeFor[trace.TraceState]().NumField() == 1 &&
	reflect.TypeFor[trace.TraceState]().Field(0).Type.Kind() == reflect.Slice

// traceState formats ts, reusing the previous result when ts is the same
// value. A TraceState is immutable (every change builds a new list), so
// the same list pointer and length mean the same content.
func (c *converter) traceState(ts trace.TraceState) string {
	if ts.Len() == 0 {
		return ""
	}
	if !traceStateIsList {
		return ts.String()
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(&ts)) // TraceState is struct{ list []member }
	if p != c.lastTS || ts.Len() != c.lastTSLen {
		c.lastTS, c.lastTSLen, c.lastTSStr = p, ts.Len(), ts.String()
	}
	return c.lastTSStr
}

func (c *converter) reset() {
	c.spans.Reset()
	c.statuses.Reset()
	c.attrs.Reset()
}

func (c *converter) keyValues(attrs []attribute.KeyValue) []*commonpb.KeyValue {
	return c.attrs.KeyValues(attrs)
}

// keyValues converts attributes outside a batch (resource, scope).
func keyValues(attrs []attribute.KeyValue) []*commonpb.KeyValue { return otlpconv.KeyValues(attrs) }

// exportSDK hands a batch to an OpenTelemetry span exporter.
func (p *Provider) exportSDK(ctx context.Context, spans []*span) error {
	ro := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		ro[i] = s.stub().Snapshot()
	}
	return p.exporter.ExportSpans(ctx, ro)
}

// stub describes an ended span in the OpenTelemetry SDK's terms.
func (s *span) stub() tracetest.SpanStub {
	var parent trace.SpanContext
	if s.parent.IsValid() {
		parent = trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: s.sc.TraceID(), SpanID: s.parent, Remote: s.parentRemote,
		})
	}
	stub := tracetest.SpanStub{
		Name: s.name, SpanContext: s.sc, Parent: parent, SpanKind: trace.SpanKind(s.kind),
		StartTime: s.start, EndTime: time.Unix(0, s.end),
		Attributes: s.attrs, Status: s.status, DroppedAttributes: int(s.droppedAttrs),
		Resource: s.t.p.res, InstrumentationScope: s.t.scope,
	}
	if m := s.more; m != nil {
		stub.Events, stub.Links = m.events, m.links
		stub.DroppedEvents, stub.DroppedLinks = m.droppedEvents, m.droppedLinks
	}
	return stub
}
