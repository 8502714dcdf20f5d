package probes

import (
	"container/heap"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the scheduler's time source.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives after d, and a stop func.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// entry is one target's schedule and state. next and idx belong to the
// Manager's mu; target, last and series to the entry's mu.
type entry struct {
	next    time.Time
	idx     int
	running atomic.Bool

	mu     sync.Mutex
	target *Target
	last   *Result
	cache  *seriesCache // the series the last runs wrote
	lastTS int64        // the last run's sample timestamp (ms)
}

func (e *entry) name() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.target.Name
}

// firstRun spreads targets over their interval: each runs at a fixed
// offset (a hash of its name) into every interval, as Prometheus spreads
// scrapes, so 10,000 probes at 30s are ~333 a second, not 10,000 at once.
func firstRun(now time.Time, name string, interval time.Duration) time.Time {
	h := fnv.New64a()
	h.Write([]byte(name))
	offset := time.Duration(h.Sum64() % uint64(interval))
	base := now.Truncate(interval)
	next := base.Add(offset)
	if next.Before(now) {
		next = next.Add(interval)
	}
	return next
}

// entryHeap orders entries by next run.
type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h entryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *entryHeap) Push(x any)        { e := x.(*entry); e.idx = len(*h); *h = append(*h, e) }
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}
func (h *entryHeap) push(e *entry) { heap.Push(h, e) }
func (h *entryHeap) popTop() *entry {
	return heap.Pop(h).(*entry)
}
