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
	"unicode/utf8"

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
	if len(opts) == 0 {
		return t.start(ctx, name, StartOptions{}, false)
	}
	cfg := trace.NewSpanStartConfig(opts...)
	return t.start(ctx, name, StartOptions{
		Kind: cfg.SpanKind(), Attributes: cfg.Attributes(), Links: cfg.Links(),
		NewRoot: cfg.NewRoot(), Timestamp: cfg.Timestamp(),
	}, true)
}

// StartOptions are span start options held as values, for Start.
type StartOptions struct {
	Kind       trace.SpanKind
	Attributes []attribute.KeyValue
	Links      []trace.Link
	NewRoot    bool
	Timestamp  time.Time
}

// Start starts a span on tr with the options o. On a tracer of this
// package it costs no trace.SpanStartOption values and copies the
// attributes once, into the span (with room for a few more set later);
// on any other tracer it calls tr.Start with the equivalent options.
// o.Attributes is not kept: the caller may reuse it.
func Start(ctx context.Context, tr trace.Tracer, name string, o StartOptions) (context.Context, trace.Span) {
	if t, ok := tr.(*tracer); ok {
		// A new StartOptions holding copies, not o: o's slices reach the
		// sampler (an interface call), so handing o on would make the
		// caller's attribute array, often on its stack, escape to the heap
		// (1 KB for vigilhttp's 16 attributes, every request).
		// (Escape analysis sees o as one: any pointer taken from it, even
		// the Timestamp's location, counts as all of it, so the timestamp
		// is rebuilt from its nanoseconds.)
		so := StartOptions{Kind: o.Kind, NewRoot: o.NewRoot}
		if !o.Timestamp.IsZero() {
			so.Timestamp = time.Unix(0, o.Timestamp.UnixNano())
		}
		if len(o.Attributes) > 0 {
			so.Attributes = append(make([]attribute.KeyValue, 0, len(o.Attributes)+4), o.Attributes...)
		}
		if len(o.Links) > 0 {
			so.Links = append([]trace.Link(nil), o.Links...)
		}
		return t.start(ctx, name, so, true)
	}
	// append to nil, not slices.Clone, whose result may alias its argument
	// (so that the argument escapes as well).
	opts := []trace.SpanStartOption{trace.WithSpanKind(o.Kind)}
	if len(o.Attributes) > 0 {
		opts = append(opts, trace.WithAttributes(append([]attribute.KeyValue(nil), o.Attributes...)...))
	}
	if len(o.Links) > 0 {
		opts = append(opts, trace.WithLinks(append([]trace.Link(nil), o.Links...)...))
	}
	if o.NewRoot {
		opts = append(opts, trace.WithNewRoot())
	}
	if !o.Timestamp.IsZero() {
		opts = append(opts, trace.WithTimestamp(time.Unix(0, o.Timestamp.UnixNano())))
	}
	return tr.Start(ctx, name, opts...)
}

// SetAttributes sets kv on span, without the variadic copy of
// span.SetAttributes on a span of this package. kv is not kept.
func SetAttributes(sp trace.Span, kv []attribute.KeyValue) {
	if len(kv) == 0 {
		return
	}
	if s, ok := sp.(*span); ok {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.ended {
			s.setAttributes(kv)
		}
		return
	}
	sp.SetAttributes(slices.Clone(kv)...)
}

// start starts a span. With own, o.Attributes belongs to the span, which
// may keep the slice as its attribute list.
func (t *tracer) start(ctx context.Context, name string, o StartOptions, own bool) (context.Context, trace.Span) {
	if ctx == nil {
		ctx = context.Background()
	}
	var psc trace.SpanContext
	if o.NewRoot {
		ctx = trace.ContextWithSpanContext(ctx, psc)
	} else {
		psc = trace.SpanContextFromContext(ctx)
	}
	if t.p.shutdown.Load() {
		s := &nonRecording{sc: psc, p: t.p}
		return trace.ContextWithSpan(ctx, s), s
	}

	var scc trace.SpanContextConfig
	// A parent's trace ID carries the trace on even when its span ID is
	// not valid, as in the OpenTelemetry SDK.
	if psc.TraceID().IsValid() {
		scc.TraceID = psc.TraceID()
	} else {
		scc.TraceID = newTraceID()
	}
	scc.SpanID = newSpanID()
	res := t.p.sampler.ShouldSample(sdktrace.SamplingParameters{
		ParentContext: ctx, TraceID: scc.TraceID, Name: name, Kind: o.Kind,
		Attributes: o.Attributes, Links: o.Links,
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

	s := &span{t: t, sc: sc, name: name, kind: uint8(trace.ValidateSpanKind(o.Kind)), start: o.Timestamp}
	if s.start.IsZero() {
		s.start = now()
	}
	s.parent, s.parentRemote = psc.SpanID(), psc.IsRemote()
	switch {
	case own && len(res.Attributes) == 0 && s.adoptAttributes(o.Attributes):
	case len(res.Attributes) > 0 || len(o.Attributes) > 0:
		s.setAttributes(res.Attributes)
		s.setAttributes(o.Attributes)
	}
	for _, l := range o.Links {
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
		a = s.normalize(a)
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

// adoptAttributes makes kv the span's attribute list, normalized in
// place, when it is within the count limit and every attribute is valid;
// otherwise it reports false and changes nothing.
func (s *span) adoptAttributes(kv []attribute.KeyValue) bool {
	if limit := s.t.p.limits.AttributeCountLimit; limit >= 0 && len(kv) > limit {
		return false
	}
	for i := range kv {
		if !kv[i].Valid() {
			return false
		}
	}
	for i := range kv {
		kv[i] = s.normalize(kv[i])
	}
	s.attrs = kv
	s.attrsDirty = len(kv) > 1
	return true
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

// normalize applies the value limits as the OpenTelemetry SDK does: in
// SLICE and MAP values, duplicate map keys keep their last value and
// collections deeper than the depth limit become empty; then strings and
// byte slices, at any depth, are cut to the length limit.
func (s *span) normalize(a attribute.KeyValue) attribute.KeyValue {
	l := &s.t.p.limits
	switch a.Value.Type() {
	case attribute.SLICE, attribute.MAP:
		a.Value = dedupDepth(a.Value, l.AttributeValueDepthLimit)
	}
	if l.AttributeValueLengthLimit >= 0 {
		a.Value = truncateValue(a.Value, l.AttributeValueLengthLimit)
	}
	return a
}

// dedupDepth keeps the last value of each map key and empties collections
// at depth 0 (the value itself is at depth; a negative depth means no
// limit).
func dedupDepth(v attribute.Value, depth int) attribute.Value {
	switch v.Type() {
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.BYTESLICE:
		if depth == 0 {
			return attribute.Value{}
		}
	case attribute.SLICE:
		if depth == 0 {
			return attribute.Value{}
		}
		xs := slices.Clone(v.AsSlice())
		for i := range xs {
			xs[i] = dedupDepth(xs[i], depth-1)
		}
		return attribute.SliceValue(xs...)
	case attribute.MAP:
		if depth == 0 {
			return attribute.Value{}
		}
		kvs := v.AsMap() // sorted by key, stably: the last of a run was set last
		out := make([]attribute.KeyValue, 0, len(kvs))
		for i := 0; i < len(kvs); {
			j := i + 1
			for j < len(kvs) && kvs[j].Key == kvs[i].Key {
				j++
			}
			kv := kvs[j-1]
			kv.Value = dedupDepth(kv.Value, depth-1)
			out = append(out, kv)
			i = j
		}
		return attribute.MapValue(out...)
	}
	return v
}

// truncateValue cuts strings (in characters) and byte slices (in bytes) to
// limit, inside slices and maps too.
func truncateValue(v attribute.Value, limit int) attribute.Value {
	switch v.Type() {
	case attribute.STRING:
		if x := v.AsString(); len(x) > limit {
			return attribute.StringValue(cut(x, limit))
		}
	case attribute.BYTESLICE:
		if x := v.AsString(); len(x) > limit {
			return attribute.ByteSliceValue([]byte(x[:limit]))
		}
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		changed := false
		for i, x := range xs {
			if len(x) > limit {
				xs[i], changed = cut(x, limit), true
			}
		}
		if changed {
			return attribute.StringSliceValue(xs)
		}
	case attribute.SLICE:
		xs := slices.Clone(v.AsSlice())
		for i := range xs {
			xs[i] = truncateValue(xs[i], limit)
		}
		return attribute.SliceValue(xs...)
	case attribute.MAP:
		kvs := slices.Clone(v.AsMap())
		for i := range kvs {
			kvs[i].Value = truncateValue(kvs[i].Value, limit)
		}
		return attribute.MapValue(kvs...)
	}
	return v
}

// cut returns the first limit characters of v, as the OpenTelemetry SDK
// truncates: bytes that are not UTF-8 are dropped, a valid U+FFFD counts
// as a character.
func cut(v string, limit int) string {
	if len(v) <= limit {
		return v
	}
	var b []byte // set once an invalid byte is dropped
	n := 0
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			if b == nil {
				b = append(make([]byte, 0, len(v)), v[:i]...)
			}
			i++
			continue
		}
		if n == limit {
			if b == nil {
				return v[:i]
			}
			return string(b)
		}
		n++
		if b != nil {
			b = append(b, v[i:i+size]...)
		}
		i += size
	}
	if b == nil {
		return v
	}
	return string(b)
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
	e := sdktrace.Event{Name: name, Time: ts}
	e.Attributes, e.DroppedAttributeCount = limitAttrs(attrs, l.AttributePerEventCountLimit)
	var evicted bool
	if m.events, evicted = appendBounded(m.events, e, l.EventCountLimit); evicted {
		m.droppedEvents++
	}
}

// limitAttrs returns a copy of at most limit of attrs (all if limit is
// negative) and how many it left out.
func limitAttrs(attrs []attribute.KeyValue, limit int) ([]attribute.KeyValue, int) {
	if limit >= 0 && len(attrs) > limit {
		return slices.Clone(attrs[:limit]), len(attrs) - limit
	}
	return slices.Clone(attrs), 0
}

// appendBounded appends x to xs; at a positive limit the oldest element is
// evicted first, and it reports whether one was.
func appendBounded[T any](xs []T, x T, limit int) ([]T, bool) {
	if limit > 0 && len(xs) >= limit {
		copy(xs, xs[1:])
		xs[len(xs)-1] = x
		return xs, true
	}
	return append(xs, x), false
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

// addLink adds a link; past the limit the oldest link is evicted and
// counted. A link to an invalid span context is kept only if it carries
// attributes or a tracestate, as in the OpenTelemetry SDK.
func (s *span) addLink(l trace.Link) {
	if !l.SpanContext.IsValid() && len(l.Attributes) == 0 && l.SpanContext.TraceState().Len() == 0 {
		return
	}
	lim := s.t.p.limits
	m := s.extra()
	if lim.LinkCountLimit == 0 {
		m.droppedLinks++
		return
	}
	sl := sdktrace.Link{SpanContext: l.SpanContext}
	sl.Attributes, sl.DroppedAttributeCount = limitAttrs(l.Attributes, lim.AttributePerLinkCountLimit)
	var evicted bool
	if m.links, evicted = appendBounded(m.links, sl, lim.LinkCountLimit); evicted {
		m.droppedLinks++
	}
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
