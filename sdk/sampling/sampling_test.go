package sampling

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func traceID(rng *rand.Rand) trace.TraceID {
	var id trace.TraceID
	binary.BigEndian.PutUint64(id[:8], rng.Uint64())
	binary.BigEndian.PutUint64(id[8:], rng.Uint64())
	return id
}

func root(id trace.TraceID, name string) sdktrace.SamplingParameters {
	return sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id, Name: name}
}

func withParent(id trace.TraceID, sampled, remote bool, tracestate string) sdktrace.SamplingParameters {
	ts, err := trace.ParseTraceState(tracestate)
	if err != nil {
		panic(err)
	}
	flags := trace.TraceFlags(0)
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: trace.SpanID{1}, TraceFlags: flags, TraceState: ts, Remote: remote})
	return sdktrace.SamplingParameters{ParentContext: trace.ContextWithSpanContext(context.Background(), sc), TraceID: id, Name: "child"}
}

func TestThresholdEncoding(t *testing.T) {
	f := func(p float64, want string) {
		t.Helper()
		th := ProbabilityToThreshold(p)
		if got := th.String(); got != want {
			t.Errorf("p=%g: th %q, want %q", p, got, want)
		}
		back, err := ParseThreshold(want)
		if err != nil || back != th {
			t.Errorf("ParseThreshold(%q) = %x, %v; want %x", want, back, err, th)
		}
		if got := back.Probability(); math.Abs(got-p) > 1e-15 {
			t.Errorf("th %q: probability %g, want %g", want, got, p)
		}
	}
	f(1, "0")
	f(0.5, "8")
	f(0.25, "c")
	f(0.125, "e")
	f(1.0/16, "f")
	f(1.0/256, "ff")
	f(0.75, "4")
	// full-precision values of the OpenTelemetry Collector's pkg/sampling
	f(0.1, "e6666666666666")
	f(0.01, "fd70a3d70a3d71")
	f(0.001, "ffbe76c8b43958")
	if ProbabilityToThreshold(0) != MaxThreshold {
		t.Error("p=0 must be MaxThreshold")
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "G", "123456789abcdef", "-1", "+1", "0x1"} {
		if _, err := ParseThreshold(s); err == nil {
			t.Errorf("ParseThreshold(%q): no error", s)
		}
	}
	for _, s := range []string{"", "0123456789abc", "0123456789abcde", "0123456789abcg"} {
		if _, err := ParseRandomness(s); err == nil {
			t.Errorf("ParseRandomness(%q): no error", s)
		}
	}
	// Each of these has an invalid part; what is valid is kept.
	f := func(s, keep string) {
		t.Helper()
		ot, err := ParseOT(s)
		if err == nil {
			t.Errorf("ParseOT(%q): no error", s)
		}
		if got := ot.String(); got != keep {
			t.Errorf("ParseOT(%q) keeps %q, want %q", s, got, keep)
		}
	}
	f("th", "")
	f("th:", "")
	f("TH:8", "")
	f("th:8;th:c", "th:8")
	f("rv:123", "")
	f("k:v v", "")
	f(":x", "")
	f("9k:v", "")
	f("th:8;", "th:8")
	f(strings.Repeat("k:v;", 70)+"k:v", "k:v")
	// Over 256 characters: other sub-keys are left out from the end.
	var long, kept []string
	for i := range 30 {
		long = append(long, fmt.Sprintf("k%02d:vvvvvvv", i))
	}
	for i := 0; len(strings.Join(append([]string{"th:8"}, long[:i+1]...), ";")) <= 256; i++ {
		kept = long[:i+1]
	}
	f(strings.Join(append(long, "th:8"), ";"), strings.Join(append([]string{"th:8"}, kept...), ";"))

	ot, err := ParseOT("x1:a.b-c_D;rv:0123456789abcd;th:c")
	if err != nil || !ot.HasTH || ot.TH != 0xc0000000000000 || !ot.HasRV || ot.RV != 0x0123456789abcd || len(ot.Other) != 1 {
		t.Fatalf("ParseOT = %+v, %v", ot, err)
	}
	if got := ot.String(); got != "th:c;rv:0123456789abcd;x1:a.b-c_D" {
		t.Fatalf("String = %q", got)
	}
}

func FuzzParseOT(f *testing.F) {
	for _, s := range []string{"th:c", "rv:0123456789abcd;th:0", "th:8;x:y", "", ";", "th:ffffffffffffff", "a:b;c:d", "th:C;rv:0123456789ABCD", "th:zz;rv:0123456789abcd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ot, _ := ParseOT(s) // the valid parts, whatever else s holds
		enc := ot.String()
		ot2, err := ParseOT(enc)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", enc, s, err)
		}
		if ot2.String() != enc || ot2.TH != ot.TH || ot2.RV != ot.RV {
			t.Fatalf("round trip %q -> %q -> %q", s, enc, ot2.String())
		}
		if len(enc) > 256 {
			t.Fatalf("encoding %q exceeds 256 chars", enc)
		}
	})
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"0", "8", "c", "fffffffffffff", "00000000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			return
		}
		if th >= MaxThreshold {
			t.Fatalf("ParseThreshold(%q) = %x out of range", s, th)
		}
		back, err := ParseThreshold(th.String())
		if err != nil || back != th {
			t.Fatalf("%q -> %x -> %q -> %x, %v", s, th, th.String(), back, err)
		}
	})
}

// TestAchievedRate checks the sampled fraction over 200,000 seeded random
// trace IDs is within 5 standard deviations of p.
func TestAchievedRate(t *testing.T) {
	const n = 200_000
	for _, p := range []float64{1, 0.5, 0.1, 0.01, 0.001} {
		s := Probability(p)
		rng := rand.New(rand.NewPCG(42, uint64(p*1e6)))
		kept := 0
		for range n {
			if s.ShouldSample(root(traceID(rng), "op")).Decision == sdktrace.RecordAndSample {
				kept++
			}
		}
		got := float64(kept) / n
		tol := 5*math.Sqrt(p*(1-p)/n) + 1e-9
		if math.Abs(got-p) > tol {
			t.Errorf("p=%g: achieved %g, tolerance %g", p, got, tol)
		}
	}
}

// TestConsistency: a trace sampled at a lower probability is sampled at
// every higher one, and decisions depend on the trace ID only.
func TestConsistency(t *testing.T) {
	ps := []float64{0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.9, 1}
	samplers := make([]sdktrace.Sampler, len(ps))
	for i, p := range ps {
		samplers[i] = Probability(p)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 50_000 {
		id := traceID(rng)
		prev := false
		for i, s := range samplers {
			got := s.ShouldSample(root(id, "x")).Decision == sdktrace.RecordAndSample
			if prev && !got {
				t.Fatalf("trace %s sampled at p=%g but not at p=%g", id, ps[i-1], ps[i])
			}
			prev = got
			if again := s.ShouldSample(root(id, "y")).Decision == sdktrace.RecordAndSample; again != got {
				t.Fatalf("trace %s: decision changed between calls", id)
			}
		}
	}
}

func TestDecisionMatchesSpecification(t *testing.T) {
	// R = low 56 bits of the trace ID; sampled iff R >= T.
	id := trace.TraceID{15: 0}
	id[9] = 0x80 // R = 0x80000000000000 = T for p=0.5
	s := Probability(0.5)
	res := s.ShouldSample(root(id, "x"))
	if res.Decision != sdktrace.RecordAndSample {
		t.Fatal("R == T must be sampled")
	}
	if got := res.Tracestate.Get("ot"); got != "th:8" {
		t.Fatalf("tracestate ot = %q, want th:8", got)
	}
	if len(res.Attributes) != 1 || res.Attributes[0].Key != RateKey || res.Attributes[0].Value.AsFloat64() != 0.5 {
		t.Fatalf("attributes %v", res.Attributes)
	}
	id[9] = 0x7f
	for i := 10; i < 16; i++ {
		id[i] = 0xff
	}
	if s.ShouldSample(root(id, "x")).Decision != sdktrace.Drop {
		t.Fatal("R == T-1 must be dropped")
	}
	// An explicit rv overrides the trace ID, other entries are kept, th is set first.
	p := withParent(id, true, true, "ot=rv:c0000000000000;k:v,vendor=x")
	res = Probability(0.5).ShouldSample(p)
	if res.Decision != sdktrace.RecordAndSample {
		t.Fatal("rv c0.. >= th 8 must be sampled")
	}
	if got := res.Tracestate.String(); got != "ot=th:8;rv:c0000000000000;k:v,vendor=x" {
		t.Fatalf("tracestate %q", got)
	}
	// not sampled: th erased
	res = Probability(0.1).ShouldSample(withParent(id, true, true, "ot=th:0;rv:00000000000001"))
	if res.Decision != sdktrace.Drop || res.Tracestate.String() != "ot=rv:00000000000001" {
		t.Fatalf("drop: %v %q", res.Decision, res.Tracestate.String())
	}
}

func TestParentBased(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	s := ParentBased(Probability(0))
	id := traceID(rng)
	if s.ShouldSample(root(id, "r")).Decision != sdktrace.Drop {
		t.Fatal("root must use the root sampler")
	}
	if s.ShouldSample(withParent(id, true, true, "")).Decision != sdktrace.RecordAndSample {
		t.Fatal("sampled remote parent must keep the child")
	}
	if s.ShouldSample(withParent(id, false, false, "")).Decision != sdktrace.Drop {
		t.Fatal("unsampled parent must drop the child")
	}
	// th contradicted by randomness is erased: R = 0 < th 8
	low := trace.TraceID{0: 1} // valid, low 56 bits zero
	res := s.ShouldSample(withParent(low, true, true, "ot=th:8;x:1"))
	if res.Decision != sdktrace.RecordAndSample || res.Tracestate.String() != "ot=x:1" {
		t.Fatalf("inconsistent th: %v %q", res.Decision, res.Tracestate.String())
	}
	before := InvalidOTCount()
	res = s.ShouldSample(withParent(low, true, true, "ot=th:XYZ,v=1"))
	if res.Tracestate.String() != "v=1" || InvalidOTCount() != before+1 {
		t.Fatalf("invalid ot: %q, counted %d", res.Tracestate.String(), InvalidOTCount()-before)
	}
	// options pick other samplers per parent kind
	s = ParentBased(Probability(1), WithRemoteParentNotSampled(Probability(1)), WithLocalParentSampled(Probability(0)))
	if s.ShouldSample(withParent(id, false, true, "")).Decision != sdktrace.RecordAndSample {
		t.Fatal("WithRemoteParentNotSampled ignored")
	}
	if s.ShouldSample(withParent(id, true, false, "")).Decision != sdktrace.Drop {
		t.Fatal("WithLocalParentSampled ignored")
	}
}

func TestPerOperation(t *testing.T) {
	s := PerOperation(0.5, map[string]float64{"health": 0.01, "checkout": 1})
	rng := rand.New(rand.NewPCG(3, 3))
	count := map[string]int{}
	const n = 50_000
	for _, name := range []string{"health", "checkout", "other"} {
		for range n {
			if s.ShouldSample(root(traceID(rng), name)).Decision == sdktrace.RecordAndSample {
				count[name]++
			}
		}
	}
	f := func(name string, p float64) {
		got := float64(count[name]) / n
		if math.Abs(got-p) > 5*math.Sqrt(p*(1-p)/n)+1e-9 {
			t.Errorf("%s: achieved %g, want %g", name, got, p)
		}
	}
	f("health", 0.01)
	f("checkout", 1)
	f("other", 0.5)
}

// TestLimiterWindows drives the limiter with bursty arrivals at ten times
// its rate on a fake clock and checks every window [t, t+1s) starting at an
// admitted event: none holds more than N admitted events.
func TestLimiterWindows(t *testing.T) {
	for _, n := range []float64{1, 7, 100, 1000} {
		var now int64
		l := NewLimiter(n, func() int64 { return now })
		rng := rand.New(rand.NewPCG(9, uint64(n)))
		var admitted []int64
		end := int64(20 * time.Second)
		for now < end {
			// exponential gaps with mean 1/(10n), plus bursts
			gap := int64(rng.ExpFloat64() / (10 * n) * float64(time.Second))
			if rng.IntN(50) == 0 {
				gap = 0
			}
			now += gap
			if l.Allow() {
				admitted = append(admitted, now)
			}
		}
		j := 0
		for i := range admitted {
			for j < len(admitted) && admitted[j] < admitted[i]+int64(time.Second) {
				j++
			}
			if c := j - i; c > int(n) {
				t.Fatalf("n=%g: %d admitted in [%d, +1s)", n, c, admitted[i])
			}
		}
		rate := float64(len(admitted)) / 20
		if rate < 0.85*n {
			t.Errorf("n=%g: sustained %g/s under overload, want >= 0.85n", n, rate)
		}
	}
}

func TestLimiterConcurrent(t *testing.T) {
	var now atomic.Int64
	l := NewLimiter(50, now.Load)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10_000 {
				if l.Allow() {
					admitted.Add(1)
				}
				now.Add(int64(time.Microsecond))
			}
		})
	}
	wg.Wait()
	// 40,000 µs = 40ms of fake time: the burst (5) plus 46/s * 0.04s
	if got := admitted.Load(); got > 5+2 || got < 5 {
		t.Fatalf("admitted %d in 40ms at 50/s, want burst 5 (+ refill)", got)
	}
}

func TestRateLimitedSampler(t *testing.T) {
	var now int64
	s := RateLimitedWithLimiter(NewLimiter(10, func() int64 { return now }), nil)
	rng := rand.New(rand.NewPCG(5, 5))
	kept := 0
	for range 1000 {
		now += int64(time.Millisecond)
		res := s.ShouldSample(withParent(traceID(rng), false, false, "ot=th:8;rv:ffffffffffffff"))
		if res.Decision == sdktrace.RecordAndSample {
			kept++
			if res.Tracestate.Get("ot") != "rv:ffffffffffffff" {
				t.Fatalf("rate-limited span kept th: %q", res.Tracestate)
			}
			if len(res.Attributes) != 1 || res.Attributes[0].Key != PriorityKey {
				t.Fatalf("attributes %v", res.Attributes)
			}
		}
	}
	if kept > 10 || kept < 9 {
		t.Fatalf("kept %d in one second at 10/s", kept)
	}
	// with an inner sampler, inner drops are never admitted
	s = RateLimitedWithLimiter(NewLimiter(1000, func() int64 { return now }), Probability(0))
	if s.ShouldSample(root(traceID(rng), "x")).Decision != sdktrace.Drop {
		t.Fatal("inner drop admitted")
	}
}

// simulate feeds qps root decisions per second for secs seconds to the
// adaptive sampler and returns the sampled rate of the last second.
func simulate(a *Adaptive, now *int64, name string, qps, secs int, rng *rand.Rand) float64 {
	var kept int
	for sec := range secs {
		kept = 0
		step := int64(time.Second) / int64(qps)
		for range qps {
			*now += step
			if a.ShouldSample(root(traceID(rng), name)).Decision == sdktrace.RecordAndSample {
				kept++
			}
		}
		_ = sec
	}
	return float64(kept)
}

// TestAdaptiveConvergence: with a target of 10 traces/s, after a tenfold
// step of traffic (100 → 1000/s) the probability is right after 1 interval
// (decreases are immediate); after a tenfold drop it is right within 4
// intervals (increases at most x2 per interval, 2^4 > 10). "Right" means
// within 10% of target/q.
func TestAdaptiveConvergence(t *testing.T) {
	var now int64
	a := NewAdaptive(AdaptiveOptions{PerOperation: 10, Interval: time.Second, Min: 1e-4, Now: func() int64 { return now }})
	rng := rand.New(rand.NewPCG(11, 11))
	near := func(want float64) bool {
		got := a.Probabilities()["op"]
		return math.Abs(got-want) <= 0.1*want
	}
	simulate(a, &now, "op", 100, 3, rng)
	if !near(0.1) {
		t.Fatalf("at 100/s: p=%g, want 0.1", a.Probabilities()["op"])
	}
	simulate(a, &now, "op", 1000, 2, rng) // one interval to measure, one to apply
	if !near(0.01) {
		t.Fatalf("1 interval after step up to 1000/s: p=%g, want 0.01", a.Probabilities()["op"])
	}
	kept := simulate(a, &now, "op", 1000, 3, rng)
	if kept < 5 || kept > 20 {
		t.Errorf("sampled %v/s at 1000/s, target 10", kept)
	}
	intervals := 0
	for ; intervals < 10 && !near(0.1); intervals++ {
		simulate(a, &now, "op", 100, 1, rng)
	}
	if intervals > 5 { // 1 to measure the new traffic + 4 doublings
		t.Fatalf("step down took %d intervals, p=%g", intervals, a.Probabilities()["op"])
	}
}

func TestAdaptiveTotalAndBounds(t *testing.T) {
	var now int64
	a := NewAdaptive(AdaptiveOptions{PerOperation: 50, Total: 20, Interval: time.Second, Min: 0.05, Max: 0.5, Now: func() int64 { return now }})
	rng := rand.New(rand.NewPCG(12, 12))
	for range 5 {
		step := int64(time.Second) / 100
		for range 100 {
			now += step
			a.ShouldSample(root(traceID(rng), "a"))
			a.ShouldSample(root(traceID(rng), "b"))
		}
	}
	ps := a.Probabilities()
	// each op sees 100/s; per-op target 50 → 0.5 (= Max); total 20 → 0.1 each
	for _, op := range []string{"a", "b"} {
		if math.Abs(ps[op]-0.1) > 0.01 {
			t.Errorf("%s: p=%g, want 0.1 (total cap)", op, ps[op])
		}
	}
	// Min bound
	for range 3 {
		step := int64(time.Second) / 100000
		for range 100000 {
			now += step
			a.ShouldSample(root(traceID(rng), "a"))
		}
	}
	if got := a.Probabilities()["a"]; got != 0.05 {
		t.Errorf("p=%g, want Min 0.05", got)
	}
}

func TestAdaptiveMaxOperations(t *testing.T) {
	a := NewAdaptive(AdaptiveOptions{MaxOperations: 2})
	for _, n := range []string{"a", "b", "c", "d"} {
		a.ShouldSample(root(trace.TraceID{1}, n))
	}
	if got := len(a.Probabilities()); got != 2 {
		t.Fatalf("tracked %d operations, want 2", got)
	}
}

// TestParentBasedRootReadsParentTraceState: a parent context that is not
// valid but carries ot=rv (randomness) still decides the root: rv 0 is
// below every threshold but probability 1.
func TestParentBasedRootReadsParentTraceState(t *testing.T) {
	ts, err := trace.ParseTraceState("ot=rv:00000000000000")
	if err != nil {
		t.Fatal(err)
	}
	ctx := trace.ContextWithSpanContext(context.Background(), trace.SpanContext{}.WithTraceState(ts))
	id := trace.TraceID{15: 0xff, 14: 0xff, 13: 0xff, 12: 0xff, 11: 0xff, 10: 0xff, 9: 0xff} // high randomness
	for _, s := range []sdktrace.Sampler{Probability(0.5), ParentBased(Probability(0.5)), ParentBased(PerOperation(0.5, nil))} {
		res := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id, Name: "x"})
		if res.Decision != sdktrace.Drop {
			t.Errorf("%s: %v, want Drop (rv 0 from the parent's tracestate)", s.Description(), res.Decision)
		}
	}
}
