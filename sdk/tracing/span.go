package tracing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

type tracer struct {
	embedded.Tracer
	p       *Provider
	scope   instrumentation.Scope
	scopePB *commonpb.InstrumentationScope
}

var _ trace.Tracer = (*tracer)(nil)

// Start starts a span, a child of the span in ctx unless trace.WithNewRoot
// is given. The sampler decides whether it is recorded and exported; a
// dropped span is a non-recording span that still carries its context, so
// children and outgoing requests follow the decision.
func (t *tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if ctx == nil {
		ctx = context.Background()
	}
	var cfg trace.SpanConfig
	if len(opts) > 0 {
		cfg = trace.NewSpanStartConfig(opts...)
	}
	var psc trace.SpanContext
	if cfg.NewRoot() {
		ctx = trace.ContextWithSpanContext(ctx, psc)
	} else {
		psc = trace.SpanContextFromContext(ctx)
	}
	if t.p.shutdown.Load() {
		s := &nonRecording{sc: psc, p: t.p}
		return trace.ContextWithSpan(ctx, s), s
	}

	var scc trace.SpanContextConfig
	if psc.IsValid() {
		scc.TraceID = psc.TraceID()
	} else {
		scc.TraceID = newTraceID()
	}
	scc.SpanID = newSpanID()
	kind := cfg.SpanKind()
	if kind == trace.SpanKindUnspecified {
		kind = trace.SpanKindInternal
	}
	res := t.p.sampler.ShouldSample(sdktrace.SamplingParameters{
		ParentContext: ctx, TraceID: scc.TraceID, Name: name, Kind: kind,
		Attributes: cfg.Attributes(), Links: cfg.Links(),
	})
	scc.TraceState = res.Tracestate
	if res.Decision == sdktrace.RecordAndSample {
		scc.TraceFlags = psc.TraceFlags() | trace.FlagsSampled
	} else {
		scc.TraceFlags = psc.TraceFlags() &^ trace.FlagsSampled
	}
	sc := trace.NewSpanContext(scc)
	if res.Decision == sdktrace.Drop {
		s := &nonRecording{sc: sc, p: t.p}
		return trace.ContextWithSpan(ctx, s), s
	}

	s := &span{t: t, sc: sc, name: name, kind: uint8(kind), start: cfg.Timestamp()}
	if s.start.IsZero() {
		s.start = now()
	}
	if psc.IsValid() {
		s.parent, s.parentRemote = psc.SpanID(), psc.IsRemote()
	}
	if len(res.Attributes) > 0 || len(cfg.Attributes()) > 0 {
		s.setAttributes(res.Attributes)
		s.setAttributes(cfg.Attributes())
	}
	for _, l := range cfg.Links() {
		s.addLink(l)
	}
	return trace.ContextWithSpan(ctx, s), s
}

// newTraceID returns a random, valid trace ID. The runtime's ChaCha8
// generator behind math/rand/v2 is per-thread and needs no lock; consistent
// sampling reads its randomness from the low 56 bits.
func newTraceID() (id trace.TraceID) {
	for !id.IsValid() {
		putUint64(id[:8], rand.Uint64())
		putUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() (id trace.SpanID) {
	for !id.IsValid() {
		putUint64(id[:], rand.Uint64())
	}
	return id
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	b[0], b[1], b[2], b[3] = byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32)
	b[4], b[5], b[6], b[7] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// span is a recording span. Its fields change under mu until End; End
// hands the span itself (no snapshot copy) to the export queue, after which
// it is never written again, so the exporter reads it without the lock.
type span struct {
	embedded.Span
	t      *tracer
	sc     trace.SpanContext
	parent trace.SpanID

	mu     sync.Mutex
	name   string
	start  time.Time
	end    int64 // Unix ns
	attrs  []attribute.KeyValue
	status sdktrace.Status
	more   *spanMore // events and links, which most spans lack

	droppedAttrs int32
	kind         uint8 // trace.SpanKind
	parentRemote bool
	ended        bool
	attrsDirty   bool // attrs may hold a key twice
}

// spanMore holds the rarely used parts of a span, kept out of line to keep
// the span small.
type spanMore struct {
	events                      []sdktrace.Event
	links                       []sdktrace.Link
	droppedEvents, droppedLinks int
}

func (s *span) extra() *spanMore {
	if s.more == nil {
		s.more = &spanMore{}
	}
	return s.more
}

var _ trace.Span = (*span)(nil)

func (s *span) SpanContext() trace.SpanContext       { return s.sc }
func (s *span) TracerProvider() trace.TracerProvider { return s.t.p }
func (s *span) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

// End ends the span; later calls do nothing. Called while panicking (as
// `defer span.End()`), it records the panic as an exception event and lets
// the panic go on.
func (s *span) End(opts ...trace.SpanEndOption) {
	end := s.start.Add(time.Since(s.start)) // monotonic, as the OTel SDK does
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	var cfg trace.SpanConfig
	if len(opts) > 0 {
		cfg = trace.NewSpanEndConfig(opts...)
		if ts := cfg.Timestamp(); !ts.IsZero() {
			end = ts
		}
	}
	if r := recover(); r != nil {
		defer panic(r)
		attrs := []attribute.KeyValue{semconv.ExceptionType(typeStr(r)), semconv.ExceptionMessage(fmt.Sprint(r))}
		if cfg.StackTrace() {
			attrs = append(attrs, semconv.ExceptionStacktrace(stackTrace()))
		}
		s.addEvent(semconv.ExceptionEventName, time.Now(), attrs)
	}
	s.end = end.UnixNano()
	s.ended = true
	if s.attrsDirty {
		s.dedupAttrs()
	}
	s.mu.Unlock()
	if q := s.t.p.queue; q != nil && s.sc.IsSampled() {
		q.Enqueue(s)
	}
}

func (s *span) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.name = name
	}
}

// SetStatus sets the status: Ok is final, Error overrides Unset, and the
// description is kept only for Error, as the OpenTelemetry SDK does.
func (s *span) SetStatus(code codes.Code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.status.Code > code {
		return
	}
	st := sdktrace.Status{Code: code}
	if code == codes.Error {
		st.Description = description
	}
	s.status = st
}

func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	if len(kv) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.setAttributes(kv)
	}
}

// setAttributes adds kv under the span limits. Under the count limit
// attributes are appended and duplicates resolved at End (last value wins);
// at the limit, existing keys are still updated and new keys are dropped
// and counted.
func (s *span) setAttributes(kv []attribute.KeyValue) {
	limit := s.t.p.limits.AttributeCountLimit
	if limit == 0 {
		s.droppedAttrs += int32(len(kv))
		return
	}
	over := limit > 0 && len(s.attrs)+len(kv) > limit
	if over && s.attrsDirty {
		s.dedupAttrs()
	}
	if s.attrs == nil {
		n := len(kv)
		if limit > 0 {
			n = min(n, limit)
		}
		s.attrs = make([]attribute.KeyValue, 0, max(n, 4))
	}
	for _, a := range kv {
		if !a.Valid() {
			s.droppedAttrs++
			continue
		}
		a = s.truncate(a)
		if over {
			if i := s.indexAttr(a.Key); i >= 0 {
				s.attrs[i] = a
				continue
			}
			if len(s.attrs) >= limit {
				s.droppedAttrs++
				continue
			}
		} else if len(s.attrs) > 0 {
			s.attrsDirty = true
		}
		s.attrs = append(s.attrs, a)
	}
}

func (s *span) indexAttr(k attribute.Key) int {
	for i := range s.attrs {
		if s.attrs[i].Key == k {
			return i
		}
	}
	return -1
}

// dedupAttrs keeps the last value of each key, in the order keys were
// first set. Up to 32 attributes it compares keys pairwise and allocates
// nothing.
func (s *span) dedupAttrs() {
	s.attrsDirty = false
	n := len(s.attrs)
	if n < 2 {
		return
	}
	if n > 32 {
		s.dedupAttrsMap()
		return
	}
	out := 0
	for i := 0; i < n; i++ {
		a := s.attrs[i]
		seen := false
		for j := 0; j < out; j++ {
			if s.attrs[j].Key == a.Key {
				s.attrs[j] = a // a later value wins
				seen = true
				break
			}
		}
		if !seen {
			s.attrs[out] = a
			out++
		}
	}
	clear(s.attrs[out:])
	s.attrs = s.attrs[:out]
}

func (s *span) dedupAttrsMap() {
	at := make(map[attribute.Key]int, len(s.attrs))
	out := 0
	for _, a := range s.attrs {
		if j, ok := at[a.Key]; ok {
			s.attrs[j] = a
			continue
		}
		at[a.Key] = out
		s.attrs[out] = a
		out++
	}
	clear(s.attrs[out:])
	s.attrs = s.attrs[:out]
}

// truncate cuts string values to the length limit, in whole UTF-8
// characters.
func (s *span) truncate(a attribute.KeyValue) attribute.KeyValue {
	limit := s.t.p.limits.AttributeValueLengthLimit
	if limit < 0 {
		return a
	}
	switch a.Value.Type() {
	case attribute.STRING:
		if v := a.Value.AsString(); len(v) > limit {
			return a.Key.String(cut(v, limit))
		}
	case attribute.STRINGSLICE:
		vs := a.Value.AsStringSlice()
		changed := false
		for i, v := range vs {
			if len(v) > limit {
				vs[i], changed = cut(v, limit), true
			}
		}
		if changed {
			return a.Key.StringSlice(vs)
		}
	}
	return a
}

// cut returns the first limit characters of v.
func cut(v string, limit int) string {
	n := 0
	for i := range v {
		if n == limit {
			return v[:i]
		}
		n++
	}
	return v
}

func (s *span) AddEvent(name string, opts ...trace.EventOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	cfg := trace.NewEventConfig(opts...)
	ts := cfg.Timestamp()
	if ts.IsZero() {
		ts = now()
	}
	s.addEvent(name, ts, cfg.Attributes())
}

// addEvent appends an event; past the event limit the oldest is evicted
// and counted, as in the OpenTelemetry SDK.
func (s *span) addEvent(name string, ts time.Time, attrs []attribute.KeyValue) {
	l := s.t.p.limits
	m := s.extra()
	if l.EventCountLimit == 0 {
		m.droppedEvents++
		return
	}
	e := sdktrace.Event{Name: name, Time: ts, Attributes: slices.Clone(attrs)}
	if n := l.AttributePerEventCountLimit; n >= 0 && len(e.Attributes) > n {
		e.DroppedAttributeCount = len(e.Attributes) - n
		e.Attributes = e.Attributes[:n]
	}
	for i := range e.Attributes {
		e.Attributes[i] = s.truncate(e.Attributes[i])
	}
	if l.EventCountLimit > 0 && len(m.events) >= l.EventCountLimit {
		copy(m.events, m.events[1:])
		m.events = m.events[:len(m.events)-1]
		m.droppedEvents++
	}
	m.events = append(m.events, e)
}

// RecordError adds an "exception" event with the error's type and message
// (and a stack trace with trace.WithStackTrace(true)). It does not set the
// status: call SetStatus(codes.Error, ...) for that.
func (s *span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	cfg := trace.NewEventConfig(opts...)
	attrs := append(slices.Clip(cfg.Attributes()), semconv.ExceptionType(typeStr(err)), semconv.ExceptionMessage(err.Error()))
	if cfg.StackTrace() {
		attrs = append(attrs, semconv.ExceptionStacktrace(stackTrace()))
	}
	ts := cfg.Timestamp()
	if ts.IsZero() {
		ts = now()
	}
	s.addEvent(semconv.ExceptionEventName, ts, attrs)
}

func (s *span) AddLink(l trace.Link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.addLink(l)
	}
}

// addLink adds a link to a valid span context; past the limit the oldest
// link is evicted and counted.
func (s *span) addLink(l trace.Link) {
	if !l.SpanContext.IsValid() {
		return
	}
	lim := s.t.p.limits
	m := s.extra()
	if lim.LinkCountLimit == 0 {
		m.droppedLinks++
		return
	}
	sl := sdktrace.Link{SpanContext: l.SpanContext, Attributes: slices.Clone(l.Attributes)}
	if n := lim.AttributePerLinkCountLimit; n >= 0 && len(sl.Attributes) > n {
		sl.DroppedAttributeCount = len(sl.Attributes) - n
		sl.Attributes = sl.Attributes[:n]
	}
	if lim.LinkCountLimit > 0 && len(m.links) >= lim.LinkCountLimit {
		copy(m.links, m.links[1:])
		m.links = m.links[:len(m.links)-1]
		m.droppedLinks++
	}
	m.links = append(m.links, sl)
}

// typeStr names the type of an error or panic value as the OpenTelemetry
// SDK does: package path and name, or the type's string for built-ins.
func typeStr(v any) string {
	t := reflect.TypeOf(v)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

func stackTrace() string {
	buf := make([]byte, 2048)
	for {
		n := runtime.Stack(buf, false)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// nonRecording is the span of a trace the sampler dropped: it carries the
// span context for propagation and records nothing.
type nonRecording struct {
	embedded.Span
	sc trace.SpanContext
	p  *Provider
}

var _ trace.Span = (*nonRecording)(nil)

func (s *nonRecording) SpanContext() trace.SpanContext        { return s.sc }
func (s *nonRecording) TracerProvider() trace.TracerProvider  { return s.p }
func (*nonRecording) IsRecording() bool                       { return false }
func (*nonRecording) End(...trace.SpanEndOption)              {}
func (*nonRecording) AddEvent(string, ...trace.EventOption)   {}
func (*nonRecording) AddLink(trace.Link)                      {}
func (*nonRecording) RecordError(error, ...trace.EventOption) {}
func (*nonRecording) SetStatus(codes.Code, string)            {}
func (*nonRecording) SetName(string)                          {}
func (*nonRecording) SetAttributes(...attribute.KeyValue)     {}
