package sampling

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Limiter admits at most N events in any one-second window (any window
// [t, t+1s), not only aligned ones). It is a token bucket kept as a single
// atomic "theoretical arrival time" (GCRA), so Allow is one clock read and one
// compare-and-swap, safe under concurrency.
//
// A bucket of burst B refilled at rate R admits at most B + R - 1 events in a
// second, so the limiter uses B = max(1, N/10) and R = N + 1 - B: bursts of up
// to a tenth of the limit pass, and the sustained rate under overload is
// R = 0.9N + 1.
type Limiter struct {
	interval int64 // ns between tokens
	tau      int64 // burst * interval
	tat      atomic.Int64
	now      func() int64
}

// NewLimiter returns a limiter of perSecond events per second. now returns
// monotonic nanoseconds; nil means the system clock.
func NewLimiter(perSecond float64, now func() int64) *Limiter {
	if now == nil {
		start := time.Now()
		now = func() int64 { return int64(time.Since(start)) + int64(time.Hour) }
	}
	burst := math.Max(1, math.Floor(perSecond/10))
	rate := perSecond + 1 - burst
	l := &Limiter{now: now}
	if perSecond <= 0 {
		l.interval = -1
		return l
	}
	l.interval = int64(float64(time.Second) / rate)
	l.tau = int64(burst) * l.interval
	return l
}

// Allow reports whether one more event fits.
func (l *Limiter) Allow() bool {
	if l.interval < 0 {
		return false
	}
	now := l.now()
	for {
		tat := l.tat.Load()
		next := max(tat, now) + l.interval
		if next-now > l.tau {
			return false
		}
		if l.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
}

// RateLimited keeps at most perSecond new traces per second. If inner is
// not nil, only spans that inner samples are considered, and inner's
// decision (with its tracestate threshold) is kept when the limiter admits
// the span. With inner nil, admitted spans carry sampling.priority=1 and no
// threshold, since their probability is not known.
func RateLimited(perSecond float64, inner sdktrace.Sampler) sdktrace.Sampler {
	return &rateLimited{l: NewLimiter(perSecond, nil), inner: inner, perSecond: perSecond}
}

// RateLimitedWithLimiter is RateLimited with a caller-supplied limiter (for
// tests with a fake clock, or to share one budget among samplers).
func RateLimitedWithLimiter(l *Limiter, inner sdktrace.Sampler) sdktrace.Sampler {
	return &rateLimited{l: l, inner: inner, perSecond: math.NaN()}
}

type rateLimited struct {
	l         *Limiter
	inner     sdktrace.Sampler
	perSecond float64
}

var priorityAttrs = []attribute.KeyValue{PriorityKey.Int(1)}

func (s *rateLimited) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	ts := trace.SpanContextFromContext(p.ParentContext).TraceState()
	if s.inner != nil {
		res := s.inner.ShouldSample(p)
		if res.Decision != sdktrace.RecordAndSample || s.l.Allow() {
			return res
		}
		ts = res.Tracestate
	} else if s.l.Allow() {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Attributes: priorityAttrs, Tracestate: eraseTH(ts)}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: eraseTH(ts)}
}

// eraseTH removes the threshold from tracestate: the decision was not made
// by a threshold, so a th would misstate the span's probability.
func eraseTH(ts trace.TraceState) trace.TraceState {
	if ts.Len() == 0 { // no call, no copy of an OT, for the common case
		return ts
	}
	ts, _, ot := parseOT(ts)
	if !ot.HasTH {
		return ts
	}
	ot.HasTH = false
	return setOT(ts, ot)
}

func (s *rateLimited) Description() string {
	if s.inner != nil {
		return fmt.Sprintf("RateLimited{%g/s,%s}", s.perSecond, s.inner.Description())
	}
	return fmt.Sprintf("RateLimited{%g/s}", s.perSecond)
}
