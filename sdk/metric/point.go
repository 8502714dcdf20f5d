package metric

import (
	"errors"
	"time"
)

// point is one series' value at collection time.
type point struct {
	labels   []Label
	value    float64 // counters, gauges; sum for histograms
	isInt    bool
	intValue int64

	// explicit histograms
	bounds    []float64
	counts    []uint64 // per bucket, not cumulative; len(bounds)+1
	count     uint64
	exemplars []*Exemplar // per bucket, nil where none

	// exponential histograms
	exp *expPoint
}

type expPoint struct {
	scale     int32
	zeroCount uint64
	posOffset int32
	pos       []uint64
	negOffset int32
	neg       []uint64
	min, max  float64
}

// Exemplar is a sample observation linked to the trace that produced it.
type Exemplar struct {
	Value   float64
	Time    time.Time
	TraceID [16]byte
	SpanID  [8]byte
}

func isLimit(err error) bool { return errors.Is(err, ErrCardinalityLimit) }
