package logql

import (
	"fmt"
	"math"
	"sort"
)

// UnwrapRule says whether a range function takes | unwrap.
type UnwrapRule int

// Unwrap rules.
const (
	UnwrapNever    UnwrapRule = iota // count_over_time({...}[1m])
	UnwrapOptional                   // rate: of lines, or of unwrapped values
	UnwrapRequired                   // sum_over_time({...} | unwrap x [1m])
)

// RangeFunction is everything Vigil knows about one range aggregation
// function: how it parses, which evaluation strategies may run it and how it
// computes a window. The parser resolves a RangeAggr's function once
// (RangeAggr.Func), and the engine reads the rules from there, as PromQL's
// parser/functions.go keeps every function's signature in one table.
type RangeFunction struct {
	Name   string
	Unwrap UnwrapRule
	// CheckParam, when set, means the function takes a number before the
	// log range (quantile_over_time's φ) and validates it.
	CheckParam func(float64) error
	// LineBytes: without unwrap, a line contributes its length in bytes as
	// its sample (else 1).
	LineBytes bool
	// Counts, when set, computes the function from a window's line count and
	// line-byte sum, so that a query whose pipeline runs entirely in SQL (and
	// that does not unwrap) is answered from per-bucket counts.
	Counts func(count, bytes, seconds float64) float64
	// Pooled: summing the function over series equals the function over
	// the samples of all the series pooled, so sum by (x) (f(...)) may
	// group while it collects samples.
	Pooled bool
	// Absent: the result is 1 where the input has no sample, with the
	// labels of the selector's equality matchers.
	Absent bool
	// Eval computes the function over a window's sample values, oldest
	// first, over a range of seconds; ok false leaves the step empty.
	Eval func(param float64, vs []float64, seconds float64) (v float64, ok bool)
}

// RangeFunctions are the range aggregation functions by name.
var RangeFunctions = map[string]*RangeFunction{}

func init() {
	count := func(_ float64, vs []float64, _ float64) (float64, bool) { return float64(len(vs)), true }
	total := func(_ float64, vs []float64, _ float64) (float64, bool) { return sum(vs), true }
	perSecond := func(_ float64, vs []float64, secs float64) (float64, bool) { return sum(vs) / secs, true }
	for _, f := range []*RangeFunction{
		{Name: "count_over_time", Counts: func(c, _, _ float64) float64 { return c }, Pooled: true, Eval: count},
		{Name: "bytes_over_time", LineBytes: true, Counts: func(_, b, _ float64) float64 { return b }, Pooled: true, Eval: total},
		{Name: "bytes_rate", LineBytes: true, Counts: func(_, b, s float64) float64 { return b / s }, Pooled: true, Eval: perSecond},
		{Name: "absent_over_time", Counts: func(c, _, _ float64) float64 { return c }, Absent: true, Eval: count},
		// rate of lines, or (unwrapped) the sum of the values per second.
		{Name: "rate", Unwrap: UnwrapOptional, Counts: func(c, _, s float64) float64 { return c / s }, Pooled: true, Eval: perSecond},
		{Name: "rate_counter", Unwrap: UnwrapRequired, Eval: rateCounter},
		{Name: "sum_over_time", Unwrap: UnwrapRequired, Pooled: true, Eval: total},
		{Name: "avg_over_time", Unwrap: UnwrapRequired, Eval: func(_ float64, vs []float64, _ float64) (float64, bool) {
			return sum(vs) / float64(len(vs)), true
		}},
		{Name: "min_over_time", Unwrap: UnwrapRequired, Eval: func(_ float64, vs []float64, _ float64) (float64, bool) {
			m := vs[0]
			for _, v := range vs {
				m = math.Min(m, v)
			}
			return m, true
		}},
		{Name: "max_over_time", Unwrap: UnwrapRequired, Eval: func(_ float64, vs []float64, _ float64) (float64, bool) {
			m := vs[0]
			for _, v := range vs {
				m = math.Max(m, v)
			}
			return m, true
		}},
		{Name: "first_over_time", Unwrap: UnwrapRequired, Eval: func(_ float64, vs []float64, _ float64) (float64, bool) { return vs[0], true }},
		{Name: "last_over_time", Unwrap: UnwrapRequired, Eval: func(_ float64, vs []float64, _ float64) (float64, bool) { return vs[len(vs)-1], true }},
		{Name: "stdvar_over_time", Unwrap: UnwrapRequired, Eval: func(_ float64, vs []float64, _ float64) (float64, bool) { return stdvar(vs), true }},
		{Name: "stddev_over_time", Unwrap: UnwrapRequired, Eval: func(_ float64, vs []float64, _ float64) (float64, bool) {
			return math.Sqrt(stdvar(vs)), true
		}},
		{Name: "quantile_over_time", Unwrap: UnwrapRequired, CheckParam: func(q float64) error {
			if q < 0 || q > 1 {
				return fmt.Errorf("quantile must be between 0 and 1, got %v", q)
			}
			return nil
		}, Eval: func(q float64, vs []float64, _ float64) (float64, bool) { return quantile(q, vs), true }},
	} {
		RangeFunctions[f.Name] = f
	}
}

// rateCounter is Prometheus' rate over unwrapped counter values: increases
// summed, a decrease counted as a reset.
func rateCounter(_ float64, vs []float64, secs float64) (float64, bool) {
	if len(vs) < 2 {
		return 0, false
	}
	inc := 0.0
	for i := 1; i < len(vs); i++ {
		d := vs[i] - vs[i-1]
		if d < 0 {
			d = vs[i]
		}
		inc += d
	}
	return inc / secs, true
}

func sum(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}

// stdvar is the population variance.
func stdvar(vs []float64) float64 {
	mean := sum(vs) / float64(len(vs))
	var acc float64
	for _, v := range vs {
		acc += (v - mean) * (v - mean)
	}
	return acc / float64(len(vs))
}

// quantile is Prometheus' quantile: linear interpolation between ranks.
func quantile(q float64, vs []float64) float64 {
	c := append([]float64(nil), vs...)
	sort.Float64s(c)
	n := float64(len(c))
	rank := q * (n - 1)
	lo := math.Max(0, math.Floor(rank))
	hi := math.Min(n-1, lo+1)
	w := rank - lo
	return c[int(lo)]*(1-w) + c[int(hi)]*w
}
