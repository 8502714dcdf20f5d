package sampling

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// AdaptiveOptions configure NewAdaptive. The zero value means defaults.
type AdaptiveOptions struct {
	// PerOperation is the target of sampled traces per second for each span
	// name (default 1).
	PerOperation float64
	// Total, when positive, caps the sampled traces per second across all
	// operations: probabilities are scaled down together to fit.
	Total float64
	// Interval between re-computations (default 10s).
	Interval time.Duration
	// Initial probability of an operation not seen before (default 1).
	Initial float64
	// Min and Max bound every probability (defaults 1e-4 and 1).
	Min, Max float64
	// MaxIncrease bounds the growth of a probability in one interval, as a
	// factor (default 2). Decreases apply at once.
	MaxIncrease float64
	// MaxOperations bounds the number of span names tracked (default 1000);
	// further names share one "other" entry.
	MaxOperations int
	// Now returns monotonic nanoseconds; nil means the system clock.
	Now func() int64
}

// Adaptive keeps the sampled throughput of each operation near a target, in
// process, the way Jaeger's adaptive sampling does on its collector: every
// interval it measures each operation's traffic q and sets the probability
// to target/q, raising it by at most MaxIncrease per interval and lowering it
// at once, within [Min, Max]. Decisions use consistent thresholds.
//
// Re-computation happens inline in a decision shortly after an interval
// ends, so the sampler owns no goroutine and needs no Close.
type Adaptive struct {
	o     AdaptiveOptions
	now   func() int64
	next  atomic.Int64 // when to re-compute, ns
	last  int64        // previous re-computation, under mu
	mu    sync.Mutex
	ops   atomic.Pointer[nameTable[*opState]]
	other *opState
}

type opState struct {
	n    atomic.Uint64 // decisions this interval
	rule atomic.Pointer[rule]
	p    float64 // current probability, under Adaptive.mu
}

const otherOperation = "\x00other"

// NewAdaptive returns an adaptive sampler.
func NewAdaptive(o AdaptiveOptions) *Adaptive {
	if o.PerOperation <= 0 {
		o.PerOperation = 1
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Min <= 0 {
		o.Min = 1e-4
	}
	if o.Max <= 0 || o.Max > 1 {
		o.Max = 1
	}
	if o.Initial <= 0 {
		o.Initial = o.Max
	}
	o.Initial = math.Min(math.Max(o.Initial, o.Min), o.Max)
	if o.MaxIncrease <= 1 {
		o.MaxIncrease = 2
	}
	if o.MaxOperations <= 0 {
		o.MaxOperations = 1000
	}
	a := &Adaptive{o: o, now: o.Now}
	if a.now == nil {
		start := time.Now()
		a.now = func() int64 { return int64(time.Since(start)) + int64(time.Hour) }
	}
	a.other = a.newOp()
	a.ops.Store(newNameTable(map[string]*opState{}))
	a.last = a.now()
	a.next.Store(a.last + int64(o.Interval))
	return a
}

func (a *Adaptive) newOp() *opState {
	s := &opState{p: a.o.Initial}
	s.rule.Store(newRule(a.o.Initial))
	return s
}

func (a *Adaptive) op(name string) *opState {
	if s, ok := a.ops.Load().get(name); ok {
		return s
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.ops.Load()
	if s, ok := old.get(name); ok {
		return s
	}
	if old.n >= a.o.MaxOperations {
		return a.other
	}
	s := a.newOp()
	a.ops.Store(old.with(strings.Clone(name), s))
	return s
}

// ShouldSample implements sdktrace.Sampler.
func (a *Adaptive) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return a.ruleFor(p.Name).decide(&p, trace.SpanContextFromContext(p.ParentContext).TraceState())
}

// ruleFor counts a decision for operation name and returns its rule.
func (a *Adaptive) ruleFor(name string) *rule {
	s := a.op(name)
	// Read the clock on an operation's first decision of an interval and
	// every 16th after: an update is late by at most 15 decisions of one
	// operation, and most decisions skip the clock read.
	if n := s.n.Add(1); n&15 == 1 {
		if now := a.now(); now >= a.next.Load() {
			a.update(now)
		}
	}
	return s.rule.Load()
}

// update re-computes every operation's probability.
func (a *Adaptive) update(now int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now < a.next.Load() {
		return // another goroutine did it
	}
	secs := float64(now-a.last) / float64(time.Second)
	a.last = now
	a.next.Store(now + int64(a.o.Interval))

	type est struct {
		s *opState
		q float64
		p float64
	}
	var all []est
	add := func(s *opState) {
		q := float64(s.n.Swap(0)) / secs
		p := s.p
		if q > 0 {
			want := a.o.PerOperation / q
			if want > p {
				want = math.Min(want, p*a.o.MaxIncrease)
			}
			p = want
		}
		all = append(all, est{s, q, math.Min(math.Max(p, a.o.Min), a.o.Max)})
	}
	a.ops.Load().each(func(_ string, s *opState) { add(s) })
	add(a.other)
	if a.o.Total > 0 {
		var expected float64
		for _, e := range all {
			expected += e.q * e.p
		}
		if expected > a.o.Total {
			f := a.o.Total / expected
			for i := range all {
				all[i].p = math.Max(all[i].p*f, a.o.Min)
			}
		}
	}
	for _, e := range all {
		if e.p != e.s.p {
			e.s.p = e.p
			e.s.rule.Store(newRule(e.p))
		}
	}
}

// Probabilities returns each operation's current probability.
func (a *Adaptive) Probabilities() map[string]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]float64)
	a.ops.Load().each(func(k string, s *opState) { out[k] = s.p })
	return out
}

// Description implements sdktrace.Sampler.
func (a *Adaptive) Description() string {
	return fmt.Sprintf("Adaptive{perOperation:%g/s,total:%g/s,interval:%s}", a.o.PerOperation, a.o.Total, a.o.Interval)
}

var _ sdktrace.Sampler = (*Adaptive)(nil)
