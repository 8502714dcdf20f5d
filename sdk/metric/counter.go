package metric

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// Counter is a monotonic sum. Use With to select a series.
type Counter struct {
	desc
	fam family[CounterSeries]
}

// CounterSeries is one labelled series of a Counter. Its methods are safe for
// concurrent use and do not allocate.
type CounterSeries struct {
	n     uint64         // integer part, atomic (plain so that Inc inlines)
	f     atomic.Uint64  // float64 bits of the fractional adds
	cells unsafe.Pointer // *words: per-P integer parts, once contended
	_     [40]byte       // keep hot series on their own cache line
}

// Counter returns the counter named name, registering it on first use.
func (r *Registry) Counter(name, help string, opts ...Option) *Counter {
	o := r.opts(opts)
	d := desc{name: name, help: help, unit: o.unit, kind: KindCounter, intLabels: o.intLabels}
	return r.register(d, func() instrument {
		c := &Counter{desc: d}
		c.fam.init(name, o.limit, o.strict, func() *CounterSeries { return new(CounterSeries) }, r)
		return c
	}).(*Counter)
}

// With returns the series for the label name/value pairs kv. It panics if kv
// is not a list of pairs with valid names; past the cardinality limit it
// returns the overflow series (or, with WithLimitError, a discarding series).
func (c *Counter) With(kv ...string) *CounterSeries {
	s, err := c.fam.get(kv)
	if err != nil {
		if c.fam.strict && isLimit(err) {
			return discardCounter
		}
		panic(err)
	}
	return s
}

// TryWith is With returning errors instead of panicking or discarding.
func (c *Counter) TryWith(kv ...string) (*CounterSeries, error) { return c.fam.get(kv) }

// Inc adds one.
//
// Written to stay inlinable: one atomic add while the series has no cells
// (once in 256 adds, the slow path also probes for contention); with cells,
// the slow path adds to the current P's cell.
func (s *CounterSeries) Inc() {
	if atomic.LoadPointer(&s.cells) == nil && uint8(atomic.LoadUint64(&s.n)) != probeMark {
		atomic.AddUint64(&s.n, 1)
		return
	}
	s.slow(1)
}

// Add adds n; a negative n is ignored because a counter only goes up.
func (s *CounterSeries) Add(n int64) {
	if n <= 0 {
		return
	}
	if atomic.LoadPointer(&s.cells) == nil && uint8(atomic.LoadUint64(&s.n)) != probeMark {
		atomic.AddUint64(&s.n, uint64(n))
		return
	}
	s.slow(uint64(n))
}

// probeMark: an add that finds this low byte in the integer part probes
// for contention (about one add in 256).
const probeMark = 0xff

// slow adds n to the current P's cell if the series is split; otherwise
// it adds n to the series and, if another goroutine is adding too, splits
// it.
func (s *CounterSeries) slow(n uint64) {
	if c := (*words)(atomic.LoadPointer(&s.cells)); c != nil {
		c.cell()[0].Add(n)
		return
	}
	// Add with compare-and-swap: a retry means another goroutine added in
	// between, and the series splits.
	for {
		old := atomic.LoadUint64(&s.n)
		if atomic.CompareAndSwapUint64(&s.n, old, old+n) {
			return
		}
		atomic.CompareAndSwapPointer(&s.cells, nil, unsafe.Pointer(newWords(1)))
	}
}

// AddFloat adds v; negative, NaN and infinite values are ignored.
func (s *CounterSeries) AddFloat(v float64) {
	if !(v > 0) || math.IsInf(v, 1) {
		return
	}
	addFloat(&s.f, v)
}

// Value returns the current total.
func (s *CounterSeries) Value() float64 {
	return float64(s.intValue()) + math.Float64frombits(s.f.Load())
}

func (s *CounterSeries) intValue() uint64 {
	n := atomic.LoadUint64(&s.n)
	if c := (*words)(atomic.LoadPointer(&s.cells)); c != nil {
		n += c.sum(0)
	}
	return n
}

var discardCounter = new(CounterSeries)

func (c *Counter) collect() []point {
	ss := c.fam.snapshot()
	pts := make([]point, len(ss))
	for i, s := range ss {
		pts[i] = point{labels: s.labels, value: s.s.Value(), isInt: s.s.f.Load() == 0, intValue: int64(s.s.intValue())}
	}
	return pts
}

func addFloat(u *atomic.Uint64, v float64) {
	for {
		old := u.Load()
		if u.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// UpDownCounter is a sum that may go down, such as items in a queue.
type UpDownCounter struct {
	desc
	fam family[UpDownCounterSeries]
}

// UpDownCounterSeries is one labelled series of an UpDownCounter.
type UpDownCounterSeries struct {
	n atomic.Int64
	_ [56]byte
}

// UpDownCounter returns the up-down counter named name.
func (r *Registry) UpDownCounter(name, help string, opts ...Option) *UpDownCounter {
	o := r.opts(opts)
	d := desc{name: name, help: help, unit: o.unit, kind: KindUpDownCounter, intLabels: o.intLabels}
	return r.register(d, func() instrument {
		c := &UpDownCounter{desc: d}
		c.fam.init(name, o.limit, o.strict, func() *UpDownCounterSeries { return new(UpDownCounterSeries) }, r)
		return c
	}).(*UpDownCounter)
}

// With returns the series for kv; see Counter.With.
func (c *UpDownCounter) With(kv ...string) *UpDownCounterSeries {
	s, err := c.fam.get(kv)
	if err != nil {
		if c.fam.strict && isLimit(err) {
			return new(UpDownCounterSeries)
		}
		panic(err)
	}
	return s
}

// TryWith is With returning errors.
func (c *UpDownCounter) TryWith(kv ...string) (*UpDownCounterSeries, error) { return c.fam.get(kv) }

// Add adds n (which may be negative).
func (s *UpDownCounterSeries) Add(n int64) { s.n.Add(n) }

// Value returns the current value.
func (s *UpDownCounterSeries) Value() int64 { return s.n.Load() }

func (c *UpDownCounter) collect() []point {
	ss := c.fam.snapshot()
	pts := make([]point, len(ss))
	for i, s := range ss {
		v := s.s.n.Load()
		pts[i] = point{labels: s.labels, value: float64(v), isInt: true, intValue: v}
	}
	return pts
}

// Gauge is a value that is set, such as a temperature or a pool size.
type Gauge struct {
	desc
	fam family[GaugeSeries]
}

// GaugeSeries is one labelled series of a Gauge.
type GaugeSeries struct {
	bits atomic.Uint64
	_    [56]byte
}

// Gauge returns the gauge named name.
func (r *Registry) Gauge(name, help string, opts ...Option) *Gauge {
	o := r.opts(opts)
	d := desc{name: name, help: help, unit: o.unit, kind: KindGauge, intLabels: o.intLabels}
	return r.register(d, func() instrument {
		g := &Gauge{desc: d}
		g.fam.init(name, o.limit, o.strict, func() *GaugeSeries { return new(GaugeSeries) }, r)
		return g
	}).(*Gauge)
}

// With returns the series for kv; see Counter.With.
func (g *Gauge) With(kv ...string) *GaugeSeries {
	s, err := g.fam.get(kv)
	if err != nil {
		if g.fam.strict && isLimit(err) {
			return new(GaugeSeries)
		}
		panic(err)
	}
	return s
}

// TryWith is With returning errors.
func (g *Gauge) TryWith(kv ...string) (*GaugeSeries, error) { return g.fam.get(kv) }

// Set sets the value.
func (s *GaugeSeries) Set(v float64) { s.bits.Store(math.Float64bits(v)) }

// Add adds v (which may be negative).
func (s *GaugeSeries) Add(v float64) { addFloat(&s.bits, v) }

// Value returns the current value.
func (s *GaugeSeries) Value() float64 { return math.Float64frombits(s.bits.Load()) }

func (g *Gauge) collect() []point {
	ss := g.fam.snapshot()
	pts := make([]point, len(ss))
	for i, s := range ss {
		pts[i] = point{labels: s.labels, value: s.s.Value()}
	}
	return pts
}
