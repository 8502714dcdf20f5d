package tracing

import (
	"testing"
	"time"
)

func TestNowFollowsTimeNow(t *testing.T) {
	for range 1000 {
		before := time.Now()
		got := now()
		after := time.Now()
		if got.Before(before.Add(-time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
			t.Fatalf("now() = %v, outside [%v, %v]", got, before, after)
		}
	}
	// A stale base is replaced.
	old := time.Now().Add(-2 * time.Second)
	base.Store(&old)
	if d := time.Since(now()); d < 0 || d > 100*time.Millisecond {
		t.Fatalf("now() after a stale base is %v off", d)
	}
	if time.Since(*base.Load()) > time.Second {
		t.Fatal("base not refreshed")
	}
}
