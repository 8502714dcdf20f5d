package propagation

import (
	"context"
	"net/http"
	"strings"
	"testing"

	otelbaggage "go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/metric"
)

const (
	validTID = "4bf92f3577b34da6a3ce929d0e0e4736"
	validSID = "00f067aa0ba902b7"
	validTP  = "00-" + validTID + "-" + validSID + "-01"
)

func TestParseTraceparent(t *testing.T) {
	f := func(h, reason string) {
		t.Helper()
		sc, got := ParseTraceparent(h)
		if got != reason {
			t.Errorf("ParseTraceparent(%q) reason %q, want %q", h, got, reason)
		}
		if reason == "" {
			if sc.TraceID().String() != validTID || sc.SpanID().String() != validSID || !sc.IsRemote() {
				t.Errorf("ParseTraceparent(%q) = %v", h, sc)
			}
		} else if sc.IsValid() {
			t.Errorf("ParseTraceparent(%q) returned a valid context with reason %q", h, reason)
		}
	}
	f(validTP, "")
	f("00-"+validTID+"-"+validSID+"-00", "")
	f("01-"+validTID+"-"+validSID+"-01", "")                 // future version, same length
	f("cc-"+validTID+"-"+validSID+"-01-what-the-future", "") // future version may append fields
	f("cc-"+validTID+"-"+validSID+"-01what", ReasonFormat)
	f("00-"+validTID+"-"+validSID+"-01-", ReasonLength) // version 00 is exactly 55 chars
	f("ff-"+validTID+"-"+validSID+"-01", ReasonVersion)
	f("0g-"+validTID+"-"+validSID+"-01", ReasonHex)
	f("00-"+strings.ToUpper(validTID)+"-"+validSID+"-01", ReasonHex)
	f("00-"+validTID+"-"+validSID+"-0x", ReasonHex)
	f("00-"+validTID+"-"+validSID+"-07", ReasonFlags)
	f("01-"+validTID+"-"+validSID+"-07", "")
	f("00-00000000000000000000000000000000-"+validSID+"-01", ReasonZeroTraceID)
	f("00-"+validTID+"-0000000000000000-01", ReasonZeroSpanID)
	f("00_"+validTID+"-"+validSID+"-01", ReasonFormat)
	f("00-"+validTID+"_"+validSID+"-01", ReasonFormat)
	f("00-"+validTID+"-"+validSID, ReasonLength)
	f("", ReasonLength)
	f("0", ReasonLength)
}

func TestParseTracestate(t *testing.T) {
	ts, reason := ParseTracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,,")
	if reason != "" || ts.Len() != 2 || ts.Get("congo") != "t61rcWkgMzE" {
		t.Fatalf("valid: %q %q", ts, reason)
	}
	many := make([]string, 33)
	for i := range many {
		many[i] = "k" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "=v"
	}
	if ts, reason := ParseTracestate(strings.Join(many, ",")); reason != ReasonTooManyItems || ts.Len() != 0 {
		t.Fatalf("33 members: %q %q", ts, reason)
	}
	if ts, reason := ParseTracestate(strings.Join(many[:32], ",")); reason != "" || ts.Len() != 32 {
		t.Fatalf("32 members: %d %q", ts.Len(), reason)
	}
	if ts, reason := ParseTracestate("a=1,B=2"); reason != ReasonMember || ts.Len() != 0 {
		t.Fatalf("bad key: %q %q", ts, reason)
	}
	// 600 chars: the 200-char member goes first, then members from the end
	long := "big=" + strings.Repeat("x", 196)
	var parts []string
	parts = append(parts, "a=1", long)
	for i := range 10 {
		parts = append(parts, "m"+string(rune('a'+i))+"="+strings.Repeat("y", 36))
	}
	h := strings.Join(parts, ",")
	if len(h) <= 512 {
		t.Fatalf("test header only %d chars", len(h))
	}
	ts, reason = ParseTracestate(h + ",z=" + strings.Repeat("z", 100))
	if reason != ReasonTruncated || ts.Get("big") != "" || ts.Get("a") != "1" || len(ts.String()) > 512 || ts.Get("ma") == "" {
		t.Fatalf("truncation: %q (%d chars) %q", ts, len(ts.String()), reason)
	}
}

func TestTraceContextMatchesOTel(t *testing.T) {
	tc := NewTraceContext(metric.New(metric.Options{}))
	otel := propagation.TraceContext{}
	for _, h := range []string{validTP, "00-" + validTID + "-" + validSID + "-00", "00-" + validTID + "-" + validSID + "-03"} {
		c := propagation.MapCarrier{"traceparent": h, "tracestate": "a=1,b=2"}
		ours := trace.SpanContextFromContext(tc.Extract(context.Background(), c))
		theirs := trace.SpanContextFromContext(otel.Extract(context.Background(), c))
		if !ours.Equal(theirs) {
			t.Errorf("%q: ours %v, OTel %v", h, ours, theirs)
		}
		oc, tcar := propagation.MapCarrier{}, propagation.MapCarrier{}
		tc.Inject(trace.ContextWithSpanContext(context.Background(), ours), oc)
		otel.Inject(trace.ContextWithSpanContext(context.Background(), ours), tcar)
		if oc["traceparent"] != tcar["traceparent"] || oc["tracestate"] != tcar["tracestate"] {
			t.Errorf("inject: ours %v, OTel %v", oc, tcar)
		}
	}
}

func counterValue(reg *metric.Registry, header, reason string) float64 {
	return reg.Counter("vigil_sdk_propagation_invalid_total", "").With("header", header, "reason", reason).Value()
}

func TestInvalidHeadersStartNewTraceAndAreCounted(t *testing.T) {
	reg := metric.New(metric.Options{})
	p, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	c := propagation.MapCarrier{"traceparent": "00-" + strings.Repeat("0", 32) + "-" + validSID + "-01", "tracestate": "a=1"}
	ctx := p.Extract(context.Background(), c)
	if trace.SpanContextFromContext(ctx).IsValid() {
		t.Fatal("zero trace ID extracted")
	}
	if got := counterValue(reg, "traceparent", ReasonZeroTraceID); got != 1 {
		t.Fatalf("counted %v, want 1", got)
	}
	// valid traceparent with an invalid tracestate: keep the parent, drop tracestate
	c = propagation.MapCarrier{"traceparent": validTP, "tracestate": "a=1,,B=2"}
	sc := trace.SpanContextFromContext(p.Extract(context.Background(), c))
	if !sc.IsValid() || sc.TraceState().Len() != 0 {
		t.Fatalf("got %v tracestate %q", sc, sc.TraceState())
	}
	if got := counterValue(reg, "tracestate", ReasonMember); got != 1 {
		t.Fatalf("tracestate counted %v, want 1", got)
	}
}

func TestB3AndJaeger(t *testing.T) {
	reg := metric.New(metric.Options{})
	tid, _ := trace.TraceIDFromHex(validTID)
	sid, _ := trace.SpanIDFromHex(validSID)
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	f := func(name, header, bad string) {
		t.Helper()
		p, err := New(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		c := propagation.MapCarrier{}
		p.Inject(ctx, c)
		if c[header] == "" {
			t.Fatalf("%s: header %s not injected: %v", name, header, c)
		}
		got := trace.SpanContextFromContext(p.Extract(context.Background(), c))
		if got.TraceID() != tid || got.SpanID() != sid || !got.IsSampled() {
			t.Fatalf("%s: round trip %v", name, got)
		}
		before := counterValue(reg, header, ReasonNotExtracted)
		got = trace.SpanContextFromContext(p.Extract(context.Background(), propagation.MapCarrier{header: bad}))
		if got.IsValid() {
			t.Fatalf("%s: extracted %v from %q", name, got, bad)
		}
		if counterValue(reg, header, ReasonNotExtracted) != before+1 {
			t.Fatalf("%s: invalid header not counted", name)
		}
	}
	f("b3", "b3", "nothex-00f067aa0ba902b7-1")
	f("b3multi", "x-b3-traceid", "zz")
	f("jaeger", "uber-trace-id", "0:0:0:1")
	if _, err := New(reg, "xray"); err == nil || !strings.Contains(err.Error(), "xray") {
		t.Fatalf("unknown propagator: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("OTEL_PROPAGATORS", "b3,tracecontext")
	p, err := FromEnv(metric.New(metric.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Join(p.Fields(), ",")
	if !strings.Contains(fields, "b3") || !strings.Contains(fields, "traceparent") || strings.Contains(fields, "baggage") {
		t.Fatalf("fields %s", fields)
	}
}

func FuzzTraceparent(f *testing.F) {
	for _, s := range []string{validTP, "ff-" + validTID + "-" + validSID + "-01", "01-" + validTID + "-" + validSID + "-01-x", "", "00-"} {
		f.Add(s)
	}
	otel := propagation.TraceContext{}
	tc := NewTraceContext(metric.New(metric.Options{}))
	f.Fuzz(func(t *testing.T, h string) {
		sc, reason := ParseTraceparent(h)
		if reason != "" {
			if sc.IsValid() {
				t.Fatalf("%q: reason %q but valid context", h, reason)
			}
			return
		}
		if !sc.IsValid() {
			t.Fatalf("%q accepted but context invalid", h)
		}
		// what we accept, we re-emit canonically and parse back identically
		c := propagation.MapCarrier{}
		tc.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
		back, reason := ParseTraceparent(c["traceparent"])
		if reason != "" || !back.Equal(sc) {
			t.Fatalf("%q -> %q -> %v %q", h, c["traceparent"], back, reason)
		}
		// and OpenTelemetry's own propagator agrees on version 00 (spaces
		// and tabs around the value are ours to ignore: OpenTelemetry
		// rejects them, W3C says they are optional whitespace)
		if h = strings.Trim(h, " \t"); strings.HasPrefix(h, "00-") {
			theirs := trace.SpanContextFromContext(otel.Extract(context.Background(), propagation.MapCarrier{"traceparent": h}))
			if theirs.TraceID() != sc.TraceID() || theirs.SpanID() != sc.SpanID() || theirs.IsSampled() != sc.IsSampled() {
				t.Fatalf("%q: ours %v, OTel %v", h, sc, theirs)
			}
		}
	})
}

func FuzzTracestate(f *testing.F) {
	for _, s := range []string{"a=1,b=2", "a=1,,b=2", "x@y=z", strings.Repeat("a=1,", 40), "k=" + strings.Repeat("v", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		ts, _ := ParseTracestate(h)
		if ts.Len() > maxTracestateMembers {
			t.Fatalf("%d members", ts.Len())
		}
		if n := len(ts.String()); n > maxTracestateLen {
			t.Fatalf("%d chars", n)
		}
		back, reason := ParseTracestate(ts.String())
		if reason != "" || back.String() != ts.String() {
			t.Fatalf("re-parse %q: %q %q", ts.String(), back.String(), reason)
		}
	})
}

func FuzzB3AndJaegerExtract(f *testing.F) {
	f.Add("b3", validTID+"-"+validSID+"-1")
	f.Add("uber-trace-id", validTID+":"+validSID+":0:1")
	f.Add("x-b3-traceid", validTID)
	reg := metric.New(metric.Options{})
	p, err := New(reg, "tracecontext", "b3", "b3multi", "jaeger")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, value string) {
		ctx := p.Extract(context.Background(), propagation.MapCarrier{strings.ToLower(header): value, "x-b3-spanid": validSID})
		sc := trace.SpanContextFromContext(ctx)
		if sc.IsValid() && (!sc.TraceID().IsValid() || !sc.SpanID().IsValid()) {
			t.Fatalf("valid context with zero IDs: %v", sc)
		}
	})
}

// W3C Trace Context: more than one traceparent line is invalid; tracestate
// lines are one list; keys follow the Level 2 grammar; a repeated key keeps
// its first value.
func TestHeaderLines(t *testing.T) {
	reg := metric.New(metric.Options{})
	tc := NewTraceContext(reg)
	extract := func(h http.Header) trace.SpanContext {
		return trace.SpanContextFromContext(tc.Extract(context.Background(), propagation.HeaderCarrier(h)))
	}
	h := http.Header{}
	h.Add("traceparent", "00-"+validTID+"-"+validSID+"-01")
	h.Add("traceparent", "00-"+strings.Repeat("a", 32)+"-"+validSID+"-01")
	if sc := extract(h); sc.IsValid() {
		t.Errorf("two traceparent lines: extracted %v", sc)
	}
	if got := counterValue(reg, "traceparent", ReasonMultiple); got != 1 {
		t.Errorf("counted %v, want 1", got)
	}

	h = http.Header{}
	h.Set("traceparent", "\t"+validTP+" ")
	h.Add("tracestate", "bar=1,rojo=1")
	h.Add("tracestate", "")
	h.Add("tracestate", "congo=2,baz=3, foo@=4,t@"+strings.Repeat("v", 15)+"=5,bar=6")
	sc := extract(h)
	want := "bar=1,rojo=1,congo=2,baz=3,foo@=4,t@" + strings.Repeat("v", 15) + "=5"
	if !sc.IsValid() || sc.TraceState().String() != want {
		t.Errorf("got %v tracestate %q, want %q", sc.IsValid(), sc.TraceState().String(), want)
	}
	if got := counterValue(reg, "tracestate", ReasonDuplicateKey); got != 1 {
		t.Errorf("duplicate key counted %v, want 1", got)
	}
	// The state works with OpenTelemetry's TraceState methods.
	ts, err := sc.TraceState().Insert("ot", "th:0")
	if err != nil || ts.Get("foo@") != "4" || !strings.HasPrefix(ts.String(), "ot=th:0,bar=1,") || ts.Delete("bar").Len() != 6 {
		t.Errorf("Insert: %q %v", ts, err)
	}
	if !tsLayoutOK {
		t.Error("trace.TraceState's layout changed: Level 2 keys fall back to OpenTelemetry's grammar")
	}

	for _, bad := range []string{"@foo=1", "foo=bar=baz", "foo=,bar=3", "FOO=1", "foo.bar=1", strings.Repeat("z", 257) + "=1", "a=1 x=2"} {
		if ts, reason := ParseTracestate("ok=1," + bad); reason != ReasonMember || ts.Len() != 0 {
			t.Errorf("ParseTracestate(%q) = %q, %q; want it discarded", bad, ts, reason)
		}
	}
	if ts, reason := ParseTracestate("k= v," + strings.Repeat("z", 256) + "=1"); reason != "" || ts.Get("k") != " v" {
		t.Errorf("leading space in a value or a 256-char key: %q %q", ts, reason)
	}
}

func TestBaggageFromHeaders(t *testing.T) {
	p, err := New(metric.New(metric.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Traceparent", validTP)
	h.Set("Baggage", "user=alice,tier=gold")
	ctx := p.Extract(context.Background(), propagation.HeaderCarrier(h))
	if got := otelbaggage.FromContext(ctx).Member("tier").Value(); got != "gold" {
		t.Errorf("baggage tier = %q", got)
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		t.Error("no span context")
	}
	h.Del("Baggage")
	if otelbaggage.FromContext(p.Extract(context.Background(), propagation.HeaderCarrier(h))).Len() != 0 {
		t.Error("baggage without a header")
	}
}
