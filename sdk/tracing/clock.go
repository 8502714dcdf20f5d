package tracing

import (
	"sync/atomic"
	"time"
)

// base is a recent time.Now(), with its monotonic reading.
var base atomic.Pointer[time.Time]

func init() {
	t := time.Now()
	base.Store(&t)
}

// now returns the current time from one monotonic clock read instead of
// time.Now's two (wall and monotonic): the base's wall time plus the
// monotonic time elapsed since it. On Linux both clocks advance at the same
// (NTP-slewed) rate, so the result equals time.Now except after a step of
// the wall clock, which a base refreshed every second picks up.
func now() time.Time {
	b := base.Load()
	d := time.Since(*b)
	if d < 0 || d >= time.Second {
		t := time.Now()
		base.Store(&t)
		return t
	}
	return b.Add(d)
}
