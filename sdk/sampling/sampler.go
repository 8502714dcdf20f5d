package sampling

import (
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys set on sampled spans.
const (
	// RateKey is the probability at which the span was sampled.
	RateKey = attribute.Key("sampling.rate")
	// PriorityKey is set to 1 on spans kept by a non-probabilistic rule
	// (the rate limiter), whose probability is not known.
	PriorityKey = attribute.Key("sampling.priority")
)

// invalidOT counts tracestate ot values that failed to parse and were
// dropped; propagation exports it.
var invalidOT atomic.Uint64

// InvalidOTCount returns how many malformed ot tracestate values samplers
// have dropped since the process started.
func InvalidOTCount() uint64 { return invalidOT.Load() }

// rule is a precomputed probabilistic decision: a threshold with its
// tracestate encoding and span attributes, built once so a decision does not
// format strings.
type rule struct {
	t     Threshold
	th    string           // "th:..." ot value when the parent has no ot entry
	ts    trace.TraceState // "ot=th:...", for the common empty parent tracestate
	attrs []attribute.KeyValue
}

func newRule(p float64) *rule {
	t := ProbabilityToThreshold(p)
	r := &rule{t: t}
	if t < MaxThreshold {
		r.th = "th:" + t.String()
		r.ts, _ = trace.TraceState{}.Insert("ot", r.th)
		// Probability 1 is the default reading of a span without the
		// attribute; leaving it out saves the span an attribute allocation.
		if t != AlwaysSample {
			r.attrs = []attribute.KeyValue{RateKey.Float64(t.Probability())}
		}
	}
	return r
}

// ruler is a sampler of this package whose decision is a rule chosen by span
// name.
type ruler interface{ ruleFor(name string) *rule }

// decide makes the consistent probabilistic decision of rule r.
func (r *rule) decide(p *sdktrace.SamplingParameters, ts trace.TraceState) sdktrace.SamplingResult {
	var otv string
	var ot OT
	if ts.Len() > 0 { // a root span's is empty: no call, no copy of an OT
		ts, otv, ot = parseOT(ts)
	}
	rnd := TraceIDRandomness(p.TraceID)
	if ot.HasRV {
		rnd = ot.RV
	}
	if r.t >= MaxThreshold || !r.t.ShouldSample(rnd) {
		if ot.HasTH { // th describes sampled traces only
			ot.HasTH = false
			ts = setOT(ts, ot)
		}
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	if ts.Len() == 0 {
		ts = r.ts // TraceState is immutable: sharing one is safe
	} else if otv == "" {
		if nts, err := ts.Insert("ot", r.th); err == nil {
			ts = nts
		}
	} else {
		ot.TH, ot.HasTH = r.t, true
		ts = setOT(ts, ot)
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Attributes: r.attrs, Tracestate: ts}
}

// parseOT reads the ot entry of ts. When part of it is invalid, the part
// is counted and left out: the tracestate returned holds the valid rest,
// and otv is its ot value ("" when there is none).
func parseOT(ts trace.TraceState) (_ trace.TraceState, otv string, ot OT) {
	otv = ts.Get("ot")
	if otv == "" {
		return ts, "", OT{}
	}
	ot, err := ParseOT(otv)
	if err != nil {
		invalidOT.Add(1)
		ts = setOT(ts, ot)
		otv = ts.Get("ot")
	}
	return ts, otv, ot
}

func setOT(ts trace.TraceState, ot OT) trace.TraceState {
	s := ot.String()
	if s == "" {
		return ts.Delete("ot")
	}
	if nts, err := ts.Insert("ot", s); err == nil {
		return nts
	}
	return ts.Delete("ot")
}

// Probability samples each trace with probability p, consistently with
// OpenTelemetry's probability sampling (see the package doc).
func Probability(p float64) sdktrace.Sampler {
	return &probability{r: newRule(p), p: p}
}

type probability struct {
	r *rule
	p float64
}

func (s *probability) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return s.r.decide(&p, trace.SpanContextFromContext(p.ParentContext).TraceState())
}

func (s *probability) ruleFor(string) *rule { return s.r }

func (s *probability) Description() string {
	return fmt.Sprintf("ConsistentProbability{%g,th:%s}", s.p, s.r.t)
}

// PerOperation samples by span name: each name in rates with its own
// probability, other names with def.
func PerOperation(def float64, rates map[string]float64) sdktrace.Sampler {
	rules := make(map[string]*rule, len(rates))
	for name, p := range rates {
		rules[name] = newRule(p)
	}
	return &perOperation{def: newRule(def), rules: newNameTable(rules), defP: def}
}

type perOperation struct {
	def   *rule
	defP  float64
	rules *nameTable[*rule]
}

func (s *perOperation) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return s.ruleFor(p.Name).decide(&p, trace.SpanContextFromContext(p.ParentContext).TraceState())
}

func (s *perOperation) ruleFor(name string) *rule {
	if r, ok := s.rules.get(name); ok {
		return r
	}
	return s.def
}

func (s *perOperation) Description() string {
	return fmt.Sprintf("PerOperation{default:%g,operations:%d}", s.defP, s.rules.n)
}

// ParentOption configures ParentBased.
type ParentOption func(*parentBased)

// WithRemoteParentSampled sets the sampler for spans whose remote parent was sampled.
func WithRemoteParentSampled(s sdktrace.Sampler) ParentOption {
	return func(p *parentBased) { p.remoteSampled = s }
}

// WithRemoteParentNotSampled sets the sampler for spans whose remote parent was not sampled.
func WithRemoteParentNotSampled(s sdktrace.Sampler) ParentOption {
	return func(p *parentBased) { p.remoteNotSampled = s }
}

// WithLocalParentSampled sets the sampler for spans whose local parent was sampled.
func WithLocalParentSampled(s sdktrace.Sampler) ParentOption {
	return func(p *parentBased) { p.localSampled = s }
}

// WithLocalParentNotSampled sets the sampler for spans whose local parent was not sampled.
func WithLocalParentNotSampled(s sdktrace.Sampler) ParentOption {
	return func(p *parentBased) { p.localNotSampled = s }
}

// ParentBased uses root for spans without a parent and follows the parent's
// decision otherwise (unless an option says which sampler to use). Following
// a sampled parent keeps its tracestate, erasing a th that the trace's
// randomness contradicts, as the specification requires.
func ParentBased(root sdktrace.Sampler, opts ...ParentOption) sdktrace.Sampler {
	p := &parentBased{root: root}
	for _, o := range opts {
		o(p)
	}
	return p
}

type parentBased struct {
	root, remoteSampled, remoteNotSampled, localSampled, localNotSampled sdktrace.Sampler
}

func (s *parentBased) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	if !psc.IsValid() {
		// This package's root samplers hand over their rule, so the
		// parameters are not copied again into a second ShouldSample.
		if r, ok := s.root.(ruler); ok {
			// An invalid parent may still carry a tracestate (an ot=rv
			// randomness, say): the root decision reads it.
			return r.ruleFor(p.Name).decide(&p, psc.TraceState())
		}
		return s.root.ShouldSample(p)
	}
	var next sdktrace.Sampler
	switch {
	case psc.IsRemote() && psc.IsSampled():
		next = s.remoteSampled
	case psc.IsRemote():
		next = s.remoteNotSampled
	case psc.IsSampled():
		next = s.localSampled
	default:
		next = s.localNotSampled
	}
	if next != nil {
		return next.ShouldSample(p)
	}
	if !psc.IsSampled() {
		// th describes sampled spans only: an unsampled child passes on
		// the rest of ot (rv above all) without it.
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: eraseTH(psc.TraceState())}
	}
	ts, _, ot := parseOT(psc.TraceState())
	if ot.HasTH {
		rnd := TraceIDRandomness(p.TraceID)
		if ot.HasRV {
			rnd = ot.RV
		}
		if !ot.TH.ShouldSample(rnd) {
			ot.HasTH = false
			ts = setOT(ts, ot)
		}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
}

func (s *parentBased) Description() string {
	return "ParentBased{root:" + s.root.Description() + "}"
}
