package sampling

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traceIDWithRandomness returns a trace ID whose low 56 bits are r.
func traceIDWithRandomness(r uint64) trace.TraceID {
	var id trace.TraceID
	id[0] = 0x4b
	for i := 15; i >= 9; i-- {
		id[i] = byte(r)
		r >>= 8
	}
	return id
}

// Uppercase hex digits are accepted, as the OpenTelemetry Collector's
// pkg/sampling accepts them; an rv is passed on exactly as received.
func TestParseOTUppercase(t *testing.T) {
	ot, err := ParseOT("th:C;rv:0123456789ABCD")
	if err != nil || !ot.HasTH || ot.TH != 0xc0000000000000 || !ot.HasRV || ot.RV != 0x0123456789abcd {
		t.Fatalf("ParseOT = %+v, %v", ot, err)
	}
	if got := ot.String(); got != "th:c;rv:0123456789ABCD" {
		t.Errorf("String = %q, want the rv unchanged", got)
	}
	for _, s := range []string{"C", "Fd70A4", "0"} {
		if _, err := ParseThreshold(s); err != nil {
			t.Errorf("ParseThreshold(%q): %v", s, err)
		}
	}
}

// One invalid sub-key or value leaves out that field only: a valid
// explicit randomness survives an invalid threshold and the other way round.
func TestParseOTFieldByField(t *testing.T) {
	f := func(in, want string, hasTH, hasRV bool) {
		t.Helper()
		ot, err := ParseOT(in)
		if err == nil {
			t.Errorf("ParseOT(%q): no error", in)
		}
		if got := ot.String(); got != want || ot.HasTH != hasTH || ot.HasRV != hasRV {
			t.Errorf("ParseOT(%q) = %q (th %v, rv %v), want %q (th %v, rv %v)", in, got, ot.HasTH, ot.HasRV, want, hasTH, hasRV)
		}
	}
	f("th:xyz;rv:0123456789abcd", "rv:0123456789abcd", false, true)
	f("th:123456789abcdef;rv:0123456789abcd;k:v", "rv:0123456789abcd;k:v", false, true)
	f("rv:0123;th:c", "th:c", true, false)
	f("th:c;Bad:1;rv:0123456789abcd", "th:c;rv:0123456789abcd", true, true)
	f("th:c;k:v!;x:y", "th:c;x:y", true, false)
	f("rv:0123456789abcd;rv:ffffffffffffff", "rv:0123456789abcd", false, true)
}

// The samplers pass a valid rv on when another part of ot is invalid, and
// decide with it.
func TestSamplersKeepValidPartsOfOT(t *testing.T) {
	id := traceIDWithRandomness(0) // the trace ID alone would fail any threshold but 0
	before := InvalidOTCount()

	// A sampled remote parent whose th is invalid: the child follows it and
	// keeps rv.
	res := ParentBased(Probability(0.5)).ShouldSample(withParent(id, true, true, "ot=th:zz;rv:ffffffffffffff,other=1"))
	if res.Decision != sdktrace.RecordAndSample || res.Tracestate.String() != "ot=rv:ffffffffffffff,other=1" {
		t.Errorf("parent-based: %v %q", res.Decision, res.Tracestate)
	}
	// A root decision reads rv (uppercase) and keeps it as it came.
	p := withParent(id, false, true, "ot=rv:FFFFFFFFFFFFFF;x:y;Bad:2")
	res = Probability(0.5).ShouldSample(p)
	if res.Decision != sdktrace.RecordAndSample || res.Tracestate.String() != "ot=th:8;rv:FFFFFFFFFFFFFF;x:y" {
		t.Errorf("probability: %v %q", res.Decision, res.Tracestate)
	}
	if got := InvalidOTCount() - before; got != 2 {
		t.Errorf("invalid ot count grew by %d, want 2", got)
	}
}

// An unsampled decision erases th and keeps the rest of ot, whether the
// child follows an unsampled parent or a root rule drops it.
func TestUnsampledErasesTH(t *testing.T) {
	id := traceIDWithRandomness(0x10)
	f := func(s sdktrace.Sampler, p sdktrace.SamplingParameters, want string) {
		t.Helper()
		res := s.ShouldSample(p)
		if res.Decision != sdktrace.Drop {
			t.Fatalf("%s: %v, want a drop", s.Description(), res.Decision)
		}
		if got := res.Tracestate.String(); got != want {
			t.Errorf("%s: tracestate %q, want %q", s.Description(), got, want)
		}
	}
	pb := ParentBased(Probability(1))
	f(pb, withParent(id, false, true, "ot=th:c"), "")
	f(pb, withParent(id, false, false, "ot=th:c"), "")
	f(pb, withParent(id, false, true, "ot=th:c;rv:0123456789abcd;k:v,b=2"), "ot=rv:0123456789abcd;k:v,b=2")
	f(pb, withParent(id, false, true, "a=1"), "a=1")
	f(Probability(0.25), withParent(id, true, true, "ot=th:0;k:v"), "ot=k:v")
}
