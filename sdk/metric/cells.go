package metric

import (
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Contended series split into cells, as Java's LongAdder does: while one
// goroutine at a time updates a series, it is one atomic word (a bound
// counter Inc is one atomic add). Once concurrent updates are seen, the
// series grows a pair of cache lines per P (processor) and each update goes to its
// own P's cell, so cores stop taking the line from each other; reads add the
// cells up. Only series that are actually contended pay the memory.

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// pid returns the current P's id: a hint for choosing a cell, so the
// goroutine is not kept pinned while it updates.
func pid() int {
	id := procPin()
	procUnpin()
	return id
}

// numCells is the number of cells of a split series: GOMAXPROCS rounded up
// to a power of two, at most 64.
func numCells() int {
	n := 1
	for n < runtime.GOMAXPROCS(0) && n < 64 {
		n <<= 1
	}
	return n
}

// words is a 128-byte-aligned block of cells of stride words each.
type words struct {
	w      []atomic.Uint64
	mask   int
	stride int
}

func newWords(perCell int) *words {
	n := numCells()
	// Whole pairs of cache lines: CPUs prefetch lines in 128-byte pairs, so
	// two cells in one pair would still slow each other down.
	stride := (perCell + 15) &^ 15
	raw := make([]atomic.Uint64, n*stride+16)
	off := 0
	if r := uintptr(unsafe.Pointer(&raw[0])) % 128; r != 0 {
		off = int(128-r) / 8
	}
	return &words{w: raw[off : off+n*stride], mask: n - 1, stride: stride}
}

// cell returns the words of the current P's cell.
func (c *words) cell() []atomic.Uint64 {
	i := (pid() & c.mask) * c.stride
	return c.w[i : i+c.stride]
}

// sum adds word j of every cell.
func (c *words) sum(j int) uint64 {
	var n uint64
	for i := j; i < len(c.w); i += c.stride {
		n += c.w[i].Load()
	}
	return n
}

// sumFloat adds word j of every cell, as float64 bits.
func (c *words) sumFloat(j int) float64 {
	var f float64
	for i := j; i < len(c.w); i += c.stride {
		f += math.Float64frombits(c.w[i].Load())
	}
	return f
}

// addFloatContended adds v to the float64 bits in u and reports whether a
// concurrent update made it retry.
func addFloatContended(u *atomic.Uint64, v float64) (retried bool) {
	for {
		old := u.Load()
		if u.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return retried
		}
		retried = true
	}
}
