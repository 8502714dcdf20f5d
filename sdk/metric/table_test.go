package metric

import (
	"fmt"
	"sync"
	"testing"
)

// TestTableGrowthUnderConcurrentReads creates thousands of series while
// other goroutines look up existing ones, so that the lock-free table is
// replaced many times under readers (run with -race).
func TestTableGrowthUnderConcurrentReads(t *testing.T) {
	r := New(Options{CardinalityLimit: 5000})
	c := r.Counter("grow_total", "")
	hot := c.With("id", "hot")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if s := c.With("id", "hot"); s != hot {
					t.Error("lookup returned a different series for the same labels")
					return
				}
				s := c.With("id", "hot")
				s.Inc()
			}
		})
	}
	for i := range 4000 {
		c.With("id", fmt.Sprint(i), "kind", "x").Inc()
		c.With("kind", "x", "id", fmt.Sprint(i)).Inc() // second spelling, same series
	}
	close(stop)
	wg.Wait()
	for _, i := range []int{0, 1234, 3999} {
		if got := c.With("id", fmt.Sprint(i), "kind", "x").Value(); got != 2 {
			t.Fatalf("series %d = %v, want 2", i, got)
		}
	}
	if n := len(c.fam.snapshot()); n != 4001 {
		t.Fatalf("%d series, want 4001", n)
	}
}

// TestHashSeparatesStrings: the boundary between label strings matters.
func TestHashSeparatesStrings(t *testing.T) {
	pairs := [][2][]string{
		{{"ab", "c"}, {"a", "bc"}},
		{{"", "x"}, {"x", ""}},
		{{"abcdefgh", "i"}, {"abcdefghi", ""}},
		{{"a"}, {"a", ""}},
	}
	for _, p := range pairs {
		if hashKV(p[0]) == hashKV(p[1]) {
			t.Errorf("hash(%q) == hash(%q)", p[0], p[1])
		}
	}
	r := New(Options{})
	c := r.Counter("sep_total", "")
	c.With("k", "ab", "l", "c").Inc()
	if c.With("k", "a", "l", "bc").Value() != 0 {
		t.Fatal("different label values share a series")
	}
}
