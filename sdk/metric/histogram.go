package metric

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// DefaultBuckets are Prometheus' default bounds, in seconds.
var DefaultBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// exemplarEvery is the least time between two exemplars of one bucket, so a
// sampled hot path does not allocate on every observation.
const exemplarEvery = 100 * time.Millisecond

// Histogram counts observations in explicit buckets.
type Histogram struct {
	desc
	bounds []float64
	fam    family[HistogramSeries]
}

// HistogramSeries is one labelled series of a Histogram.
type HistogramSeries struct {
	bounds    []float64
	linear    bool // few bounds: a linear scan beats binary search
	sum       atomic.Uint64
	counts    []atomic.Uint64
	exemplars []atomic.Pointer[Exemplar]
	// Once observations collide, each P records into its own cell: the
	// bucket counts, then the sum.
	cells atomic.Pointer[words]
}

// Histogram returns the histogram named name. Bounds come from WithBuckets
// (DefaultBuckets otherwise) and must be increasing.
func (r *Registry) Histogram(name, help string, opts ...Option) *Histogram {
	o := r.opts(opts)
	bounds := o.buckets
	if bounds == nil {
		bounds = DefaultBuckets
	}
	for i := range bounds {
		if math.IsNaN(bounds[i]) || i > 0 && bounds[i] <= bounds[i-1] {
			panic(fmt.Sprintf("metric: histogram %q: bounds must be increasing, got %v", name, bounds))
		}
	}
	if n := len(bounds); n > 0 && math.IsInf(bounds[n-1], 1) {
		bounds = bounds[:n-1] // +Inf is implicit
	}
	bounds = slices.Clone(bounds)
	d := desc{name: name, help: help, unit: o.unit, kind: KindHistogram, intLabels: o.intLabels}
	return r.register(d, func() instrument {
		h := &Histogram{desc: d, bounds: bounds}
		h.fam.init(name, o.limit, o.strict, h.newSeries, r)
		return h
	}).(*Histogram)
}

func (h *Histogram) newSeries() *HistogramSeries {
	return &HistogramSeries{
		bounds:    h.bounds,
		linear:    len(h.bounds) <= 16,
		counts:    make([]atomic.Uint64, len(h.bounds)+1),
		exemplars: make([]atomic.Pointer[Exemplar], len(h.bounds)+1),
	}
}

// With returns the series for kv; see Counter.With.
func (h *Histogram) With(kv ...string) *HistogramSeries {
	s, err := h.fam.get(kv)
	if err != nil {
		if h.fam.strict && isLimit(err) {
			return h.newSeries()
		}
		panic(err)
	}
	return s
}

// TryWith is With returning errors.
func (h *Histogram) TryWith(kv ...string) (*HistogramSeries, error) { return h.fam.get(kv) }

func (s *HistogramSeries) bucket(v float64) int {
	if s.linear {
		for i, b := range s.bounds {
			if v <= b {
				return i
			}
		}
		return len(s.bounds)
	}
	return sort.SearchFloat64s(s.bounds, v)
}

// Observe records v. NaN is ignored.
func (s *HistogramSeries) Observe(v float64) {
	if v != v {
		return
	}
	i := s.bucket(v)
	if s.cells.Load() != nil {
		s.recordCell(i, v)
		return
	}
	s.counts[i].Add(1)
	if addFloatContended(&s.sum, v) {
		s.split()
	}
}

func (s *HistogramSeries) split() { s.cells.CompareAndSwap(nil, newWords(len(s.counts)+1)) }

func (s *HistogramSeries) recordCell(i int, v float64) {
	w := s.cells.Load().cell()
	w[i].Add(1)
	addFloat(&w[len(s.counts)], v)
}

// ObserveContext records v and, when ctx carries a sampled span, keeps the
// observation as the bucket's exemplar (at most one new exemplar per bucket
// every 100ms).
func (s *HistogramSeries) ObserveContext(ctx context.Context, v float64) {
	if v != v {
		return
	}
	s.Observe(v)
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return
	}
	i := s.bucket(v)
	now := time.Now()
	if old := s.exemplars[i].Load(); old != nil && now.Sub(old.Time) < exemplarEvery {
		return
	}
	s.exemplars[i].Store(&Exemplar{Value: v, Time: now, TraceID: sc.TraceID(), SpanID: sc.SpanID()})
}

// Count returns the number of observations.
func (s *HistogramSeries) Count() uint64 {
	var n uint64
	for i := range s.counts {
		n += s.bucketCount(i)
	}
	return n
}

func (s *HistogramSeries) bucketCount(i int) uint64 {
	n := s.counts[i].Load()
	if c := s.cells.Load(); c != nil {
		n += c.sum(i)
	}
	return n
}

// Sum returns the sum of observations.
func (s *HistogramSeries) Sum() float64 {
	f := math.Float64frombits(s.sum.Load())
	if c := s.cells.Load(); c != nil {
		f += c.sumFloat(len(s.counts))
	}
	return f
}

func (h *Histogram) collect() []point {
	ss := h.fam.snapshot()
	pts := make([]point, len(ss))
	for i, se := range ss {
		s := se.s
		p := point{labels: se.labels, bounds: h.bounds, counts: make([]uint64, len(s.counts)), exemplars: make([]*Exemplar, len(s.counts))}
		for j := range s.counts {
			p.counts[j] = s.bucketCount(j)
			p.count += p.counts[j]
			p.exemplars[j] = s.exemplars[j].Load()
		}
		p.value = s.Sum()
		pts[i] = p
	}
	return pts
}
