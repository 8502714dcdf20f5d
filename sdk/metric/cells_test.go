package metric

import (
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestCountersStayExactWhenSplit: concurrent adds, before and after a
// series splits into per-P cells, all count.
func TestCountersStayExactWhenSplit(t *testing.T) {
	for _, split := range []bool{false, true} {
		c := New(Options{}).Counter("hits_total", "").With("k", "v")
		if split {
			atomic.StorePointer(&c.cells, unsafe.Pointer(newWords(1)))
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i := range 20000 {
					if i%2 == 0 {
						c.Inc()
					} else {
						c.Add(2)
					}
				}
			})
		}
		wg.Wait()
		if got := c.Value(); got != 8*(10000+20000) {
			t.Errorf("split=%v: value %v, want %d", split, got, 8*30000)
		}
	}
}

// TestContentionSplitsSeries: hammering one series from several goroutines
// turns on its cells; a series used by one goroutine never splits.
func TestContentionSplitsSeries(t *testing.T) {
	r := New(Options{})
	lone := r.Counter("lone_total", "").With()
	for range 100000 {
		lone.Inc()
	}
	if atomic.LoadPointer(&lone.cells) != nil {
		t.Error("an uncontended series split")
	}
	hot := r.Counter("hot_total", "").With()
	h := r.Histogram("hot_seconds", "").With()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for range 1000 {
					hot.Inc()
					h.Observe(0.02)
				}
			}
		})
	}
	for i := 0; i < 1000 && (atomic.LoadPointer(&hot.cells) == nil || h.cells.Load() == nil); i++ {
		waitABit()
	}
	close(stop)
	wg.Wait()
	if atomic.LoadPointer(&hot.cells) == nil || h.cells.Load() == nil {
		t.Skip("no contention seen (a single CPU?)")
	}
	if n := h.Count(); float64(n) != hot.Value() {
		t.Errorf("histogram count %d, counter %v: both saw every update", n, hot.Value())
	}
}

func TestHistogramExactWhenSplit(t *testing.T) {
	for _, split := range []bool{false, true} {
		r := New(Options{})
		h := r.Histogram("lat_seconds", "", WithBuckets(1, 2, 3)).With()
		if split {
			h.cells.Store(newWords(len(h.counts) + 1))
		}
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				for i := range 3000 {
					h.Observe(float64((g + i) % 4)) // 0,1,2,3 in turn
				}
			})
		}
		wg.Wait()
		if h.Count() != 18000 || h.Sum() != 6*3000*1.5 {
			t.Errorf("split=%v: count %d sum %v", split, h.Count(), h.Sum())
		}
		for i, want := range []uint64{9000, 4500, 4500, 0} { // le=1 holds 0 and 1
			if got := h.bucketCount(i); got != want {
				t.Errorf("split=%v: bucket %d = %d, want %d", split, i, got, want)
			}
		}
		pts := r.Histogram("lat_seconds", "").collect()
		if len(pts) != 1 || pts[0].count != 18000 || pts[0].value != 27000 {
			t.Errorf("split=%v: collected %+v", split, pts)
		}
	}
}

func TestCellsAreCacheLineAligned(t *testing.T) {
	for n := 1; n < 20; n++ {
		w := newWords(n)
		if uintptr(unsafe.Pointer(&w.w[0]))%128 != 0 || w.stride%16 != 0 || w.stride < n || len(w.w) != (w.mask+1)*w.stride {
			t.Fatalf("perCell %d: misaligned or short: stride %d len %d", n, w.stride, len(w.w))
		}
	}
}

func waitABit() {
	ch := make(chan struct{})
	go func() { close(ch) }()
	<-ch
	for range 1000 {
		_ = pid()
	}
}
