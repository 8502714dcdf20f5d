package metric

import (
	"math"
	"slices"
	"sync"
)

// Exponential histogram scales, as OpenTelemetry bounds them.
const (
	expMaxScale = 20
	expMinScale = -10
)

// scaleFactors[s] is 2^s / ln 2, to turn ln(fraction) into a sub-bucket.
var scaleFactors = func() (f [expMaxScale + 1]float64) {
	for s := range f {
		f[s] = math.Ldexp(math.Log2E, s)
	}
	return f
}()

// ExpHistogram is a base-2 exponential histogram (OpenTelemetry's
// ExponentialHistogram): buckets are chosen automatically, the scale drops as
// the observed range widens so that at most MaxBuckets buckets are used.
type ExpHistogram struct {
	desc
	maxSize int
	fam     family[ExpHistogramSeries]
}

// ExpHistogramSeries is one labelled series. Observe takes a short lock: the
// bucket layout changes as values arrive, which atomics alone cannot do.
type ExpHistogramSeries struct {
	mu        sync.Mutex
	maxSize   int
	scale     int32
	count     uint64
	zeroCount uint64
	sum       float64
	min, max  float64
	pos, neg  expBuckets
}

type expBuckets struct {
	start  int32
	counts []uint64
}

// ExpHistogram returns the exponential histogram named name.
func (r *Registry) ExpHistogram(name, help string, opts ...Option) *ExpHistogram {
	o := r.opts(opts)
	if o.maxSize <= 0 {
		o.maxSize = 160
	}
	d := desc{name: name, help: help, unit: o.unit, kind: KindExpHistogram, intLabels: o.intLabels}
	return r.register(d, func() instrument {
		h := &ExpHistogram{desc: d, maxSize: o.maxSize}
		h.fam.init(name, o.limit, o.strict, func() *ExpHistogramSeries {
			return &ExpHistogramSeries{maxSize: h.maxSize, scale: expMaxScale}
		}, r)
		return h
	}).(*ExpHistogram)
}

// With returns the series for kv; see Counter.With.
func (h *ExpHistogram) With(kv ...string) *ExpHistogramSeries {
	s, err := h.fam.get(kv)
	if err != nil {
		if h.fam.strict && isLimit(err) {
			return &ExpHistogramSeries{maxSize: h.maxSize, scale: expMaxScale}
		}
		panic(err)
	}
	return s
}

// TryWith is With returning errors.
func (h *ExpHistogram) TryWith(kv ...string) (*ExpHistogramSeries, error) { return h.fam.get(kv) }

// Observe records v. NaN and infinities are ignored.
func (s *ExpHistogramSeries) Observe(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 || v < s.min {
		s.min = v
	}
	if s.count == 0 || v > s.max {
		s.max = v
	}
	s.count++
	s.sum += v
	if v == 0 {
		s.zeroCount++
		return
	}
	b := &s.pos
	if v < 0 {
		b = &s.neg
		v = -v
	}
	bin := expIndex(v, s.scale)
	if change := s.scaleChange(b, bin); change > 0 {
		s.scale -= change
		s.pos.downscale(change)
		s.neg.downscale(change)
		bin = expIndex(v, s.scale)
	}
	b.record(bin)
}

// expIndex is the bucket of v > 0 at scale: bucket i holds (base^i, base^(i+1)].
func expIndex(v float64, scale int32) int32 {
	frac, exp := math.Frexp(v)
	if scale <= 0 {
		corr := int32(1)
		if frac == 0.5 { // exact power of two belongs to the bucket below
			corr = 2
		}
		return (int32(exp) - corr) >> -scale
	}
	if frac == 0.5 {
		return int32(exp-1)<<scale - 1
	}
	return int32(exp)<<scale + int32(math.Log(frac)*scaleFactors[scale]) - 1
}

func (s *ExpHistogramSeries) scaleChange(b *expBuckets, bin int32) int32 {
	if len(b.counts) == 0 {
		return 0
	}
	low, high := int64(b.start), int64(b.start)+int64(len(b.counts))-1
	if int64(bin) < low {
		low = int64(bin)
	}
	if int64(bin) > high {
		high = int64(bin)
	}
	var change int32
	for high-low >= int64(s.maxSize) && s.scale-change > expMinScale {
		low >>= 1
		high >>= 1
		change++
	}
	return change
}

func (b *expBuckets) record(bin int32) {
	switch {
	case len(b.counts) == 0:
		b.start = bin
		b.counts = append(b.counts[:0], 1)
		return
	case bin < b.start:
		grow := int(b.start - bin)
		b.counts = append(make([]uint64, grow, grow+len(b.counts)), b.counts...)
		b.start = bin
	case int(bin-b.start) >= len(b.counts):
		b.counts = append(b.counts, make([]uint64, int(bin-b.start)-len(b.counts)+1)...)
	}
	b.counts[bin-b.start]++
}

func (b *expBuckets) downscale(change int32) {
	if len(b.counts) == 0 || change == 0 {
		return
	}
	newStart := b.start >> change
	newEnd := (b.start + int32(len(b.counts)) - 1) >> change
	out := make([]uint64, newEnd-newStart+1)
	for i, c := range b.counts {
		out[((b.start+int32(i))>>change)-newStart] += c
	}
	b.start, b.counts = newStart, out
}

// Count returns the number of observations.
func (s *ExpHistogramSeries) Count() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func (h *ExpHistogram) collect() []point {
	ss := h.fam.snapshot()
	pts := make([]point, len(ss))
	for i, se := range ss {
		s := se.s
		s.mu.Lock()
		pts[i] = point{labels: se.labels, value: s.sum, count: s.count, exp: &expPoint{
			scale: s.scale, zeroCount: s.zeroCount, min: s.min, max: s.max,
			posOffset: s.pos.start, pos: slices.Clone(s.pos.counts),
			negOffset: s.neg.start, neg: slices.Clone(s.neg.counts),
		}}
		s.mu.Unlock()
	}
	return pts
}
