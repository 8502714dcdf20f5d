package propagation

import (
	"context"
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/metric"
)

const (
	traceparentHeader = "traceparent"
	tracestateHeader  = "tracestate"

	maxTracestateMembers = 32
	maxTracestateLen     = 512
	// truncation removes members longer than this first (W3C trace context, 3.3.1.5).
	longMemberLen = 128
)

// Reasons a header is rejected, as the reason label of the invalid counter.
const (
	ReasonVersion      = "bad_version"
	ReasonLength       = "bad_length"
	ReasonHex          = "bad_hex"
	ReasonZeroTraceID  = "zero_trace_id"
	ReasonZeroSpanID   = "zero_span_id"
	ReasonFormat       = "bad_format"
	ReasonFlags        = "bad_flags"
	ReasonTooManyItems = "too_many_members"
	ReasonTruncated    = "truncated"
	ReasonMember       = "bad_member"
	ReasonNotExtracted = "not_extracted"
	ReasonMultiple     = "multiple_headers" // more than one traceparent line
	ReasonDuplicateKey = "duplicate_key"    // tracestate repeats a key: the first is kept
)

// TraceContext is a strict W3C trace context propagator that counts what it
// rejects.
type TraceContext struct {
	invalid *metric.Counter
}

// NewTraceContext returns a W3C trace context propagator counting invalid
// headers in reg (metric.Default() when nil).
func NewTraceContext(reg *metric.Registry) *TraceContext {
	return &TraceContext{invalid: invalidCounter(reg)}
}

func invalidCounter(reg *metric.Registry) *metric.Counter {
	if reg == nil {
		reg = metric.Default()
	}
	return reg.Counter("vigil_sdk_propagation_invalid_total",
		"Incoming propagation headers ignored or repaired because they were invalid, by header and reason.")
}

var _ propagation.TextMapPropagator = (*TraceContext)(nil)

// Inject writes traceparent and tracestate for the span context in ctx.
func (tc *TraceContext) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	var buf [55]byte
	copy(buf[:], "00-")
	tid, sid := sc.TraceID(), sc.SpanID()
	hex.Encode(buf[3:35], tid[:])
	buf[35] = '-'
	hex.Encode(buf[36:52], sid[:])
	buf[52] = '-'
	flags := [1]byte{byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))}
	hex.Encode(buf[53:55], flags[:])
	if ts := sc.TraceState().String(); ts != "" {
		carrier.Set(tracestateHeader, ts)
	}
	carrier.Set(traceparentHeader, string(buf[:]))
}

// Extract reads traceparent and tracestate. An invalid traceparent leaves
// ctx unchanged; so does more than one traceparent header line, which W3C
// Trace Context declares invalid. Several tracestate lines are one list,
// combined in order. Carriers that implement propagation.ValuesGetter
// (propagation.HeaderCarrier does) show every line; others only one.
func (tc *TraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	var h string
	var states []string
	if hc, ok := carrier.(propagation.HeaderCarrier); ok {
		// http.Header keys are canonical: index the map directly rather
		// than canonicalize "traceparent" (an allocation) on every request.
		parents := hc["Traceparent"]
		switch len(parents) {
		case 0:
			return ctx
		case 1:
			h = parents[0]
		default:
			tc.invalid.With("header", traceparentHeader, "reason", ReasonMultiple).Inc()
			return ctx
		}
		states = hc["Tracestate"]
	} else if vg, ok := carrier.(propagation.ValuesGetter); ok {
		parents := vg.Values(traceparentHeader)
		switch len(parents) {
		case 0:
			return ctx
		case 1:
			h = parents[0]
		default:
			tc.invalid.With("header", traceparentHeader, "reason", ReasonMultiple).Inc()
			return ctx
		}
		states = vg.Values(tracestateHeader)
	} else {
		h = carrier.Get(traceparentHeader)
		if s := carrier.Get(tracestateHeader); s != "" {
			states = []string{s}
		}
	}
	if h == "" {
		return ctx
	}
	sc, reason := ParseTraceparent(h)
	if reason != "" {
		tc.invalid.With("header", traceparentHeader, "reason", reason).Inc()
		return ctx
	}
	var tsh string
	switch len(states) {
	case 0:
	case 1:
		tsh = states[0]
	default:
		tsh = strings.Join(states, ",")
	}
	if tsh != "" {
		ts, reason := ParseTracestate(tsh)
		if reason != "" {
			tc.invalid.With("header", tracestateHeader, "reason", reason).Inc()
		}
		sc = sc.WithTraceState(ts)
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Fields returns the headers the propagator uses.
func (tc *TraceContext) Fields() []string { return []string{traceparentHeader, tracestateHeader} }

// ParseTraceparent parses a W3C traceparent header, ignoring spaces and
// tabs around it. On failure it returns the reason (one of the Reason
// constants) and an invalid span context.
func ParseTraceparent(h string) (trace.SpanContext, string) {
	h = strings.Trim(h, " \t")
	if len(h) < 2 {
		return trace.SpanContext{}, ReasonLength
	}
	var ver [1]byte
	if !lowerHex(h[:2]) {
		return trace.SpanContext{}, ReasonHex
	}
	hex.Decode(ver[:], []byte(h[:2]))
	switch {
	case ver[0] == 0xff:
		return trace.SpanContext{}, ReasonVersion
	case ver[0] == 0 && len(h) != 55:
		return trace.SpanContext{}, ReasonLength
	case len(h) < 55:
		return trace.SpanContext{}, ReasonLength
	case len(h) > 55 && h[55] != '-':
		// a future version may append fields, each after a dash
		return trace.SpanContext{}, ReasonFormat
	}
	if h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return trace.SpanContext{}, ReasonFormat
	}
	tidHex, sidHex, flagsHex := h[3:35], h[36:52], h[53:55]
	if !lowerHex(tidHex) || !lowerHex(sidHex) || !lowerHex(flagsHex) {
		return trace.SpanContext{}, ReasonHex
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	hex.Decode(tid[:], []byte(tidHex))
	hex.Decode(sid[:], []byte(sidHex))
	hex.Decode(flags[:], []byte(flagsHex))
	if !tid.IsValid() {
		return trace.SpanContext{}, ReasonZeroTraceID
	}
	if !sid.IsValid() {
		return trace.SpanContext{}, ReasonZeroSpanID
	}
	if ver[0] == 0 && flags[0] > 3 {
		// version 00 defines sampled and random only; OpenTelemetry rejects
		// the reserved bits, and so do we, so both SDKs agree.
		return trace.SpanContext{}, ReasonFlags
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom), Remote: true,
	})
	return sc, ""
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
