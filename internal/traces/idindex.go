package traces

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// The trace-ID index keeps, for each block of spans (one request, see
// blocks.go), a bloom filter of the trace IDs of its spans, so that a
// trace looked up by ID reads only the blocks that may hold it, and of
// those only the rows of that trace, instead of first reading the whole
// trace_index for its time bounds (which, with random trace IDs as real
// clients send, DuckDB's zone maps cannot narrow).
//
// A block's filter has the fewest bits of the sizes 2^j and 3*2^(j-1),
// at least minIDBits, that give at least idBitsPerKey bits per trace ID
// (32-48), with idHashes positions per ID: 3e-7 to 2e-9 false positives
// per block, so a store of a million blocks reads a false one in one
// lookup in three or fewer. It is stored with the block's tag filter in
// span_blocks (column ids) and rebuilt from there when the store opens.
//
// In memory the filters are transposed: a group holds 64 blocks whose
// filters have the same size, as one word per bit position whose bit j is
// that position's bit of the group's j-th block. A lookup then reads, per
// group, the words of the ID's positions and ANDs them (stopping when
// nothing is left): a few words per 64 blocks, not a filter per block.

const (
	minIDBits    = 512
	idBitsPerKey = 32
	idHashes     = 16
	maxIDBits    = 1 << 24 // 2 MiB per block: past ~500k traces a request, more false positives
)

// idHash is the 64-bit hash of a trace ID whose positions the filters
// hold (SplitMix64's mixer, so IDs that differ in a few bits, as counters
// do, land far apart).
func idHash(k traceKey) uint64 {
	return mix64(k.hi ^ mix64(k.lo+0x9E3779B97F4A7C15))
}

func mix64(x uint64) uint64 {
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// idPositions appends the idHashes positions of h in a filter of m bits:
// two from each of idHashes/2 SplitMix64 outputs seeded with h (not
// double hashing, whose positions of one ID form a progression: with 16
// positions that gave 2-4 times the false positives), each 32 bits
// scaled to [0, m).
func idPositions(dst []uint32, h uint64, m int) []uint32 {
	for range idHashes / 2 {
		h += 0x9E3779B97F4A7C15
		z := mix64(h)
		dst = append(dst, uint32((z>>32)*uint64(m)>>32), uint32((z&0xFFFFFFFF)*uint64(m)>>32))
	}
	return dst
}

// idFilterBits is the size of the filter of n trace IDs.
func idFilterBits(n int) int {
	m := minIDBits
	for m < maxIDBits && m < n*idBitsPerKey {
		if m&(m-1) == 0 {
			m += m / 2 // 2^j to 3*2^(j-1)
		} else {
			m += m / 3 // to 2^(j+1)
		}
	}
	return m
}

// validIDBits says whether m is a size idFilterBits gives.
func validIDBits(m int) bool {
	for k := minIDBits; ; {
		switch {
		case k == m:
			return true
		case k >= maxIDBits:
			return false
		case k&(k-1) == 0:
			k += k / 2
		default:
			k += k / 3
		}
	}
}

// buildIDFilter returns the filter of the trace IDs of keys.
func buildIDFilter[V any](keys map[traceKey]V) []uint64 {
	m := idFilterBits(len(keys))
	w := make([]uint64, m/64)
	var pos [idHashes]uint32
	for k := range keys {
		for _, p := range idPositions(pos[:0], idHash(k), m) {
			w[p>>6] |= 1 << (p & 63)
		}
	}
	return w
}

// decodeIDBits reverses encodeBits for a trace-ID filter.
func decodeIDBits(b []byte) ([]uint64, error) {
	w, err := decodeWords(b)
	if err == nil && !validIDBits(len(w)*64) {
		return nil, fmt.Errorf("trace-ID filter of %d bits, not a size this Vigil writes", len(w)*64)
	}
	return w, err
}

// hasID says whether filter w may hold the ID of hash h.
func hasID(w []uint64, h uint64) bool {
	var pos [idHashes]uint32
	for _, p := range idPositions(pos[:0], h, len(w)*64) {
		if w[p>>6]&(1<<(p&63)) == 0 {
			return false
		}
	}
	return true
}

// idGroup is up to 64 blocks' trace-ID filters of 2^logm bits,
// transposed: bit j of words[p] is bit p of blocks[j]'s filter. Slots are
// filled in order and never reused; a removed block's slot is cleared in
// live (its bits stay, unread).
type idGroup struct {
	m      int // bits of each filter
	n      int // slots used
	live   uint64
	blocks [64]*spanBlock
	words  []uint64
}

// idIndex is the in-memory trace-ID index of a blockIndex, guarded by its
// mutex.
type idIndex struct {
	groups []*idGroup       // oldest first
	open   map[int]*idGroup // the group of each size being filled
	bytes  int64
	// missing counts the blocks held without a trace-ID filter (written
	// before this index, damaged, or dropped by the memory cap): while
	// any is, a lookup by ID cannot rule blocks out and reads trace_index
	// as before.
	missing int
	dropped int64 // filters dropped by the memory cap
}

// add puts b's filter w in the group of its size. Without a filter, b
// counts as missing.
func (x *idIndex) add(b *spanBlock, w []uint64) {
	if w == nil {
		b.idg = nil
		x.missing++
		return
	}
	m := len(w) * 64
	g := x.open[m]
	if g == nil || g.n == 64 {
		g = &idGroup{m: m, words: make([]uint64, m)}
		if x.open == nil {
			x.open = map[int]*idGroup{}
		}
		x.open[m] = g
		x.groups = append(x.groups, g)
		x.bytes += int64(len(g.words) * 8)
	}
	slot := g.n
	g.n++
	g.blocks[slot] = b
	g.live |= 1 << slot
	bit := uint64(1) << slot
	for i, v := range w {
		for v != 0 {
			g.words[i*64+bits.TrailingZeros64(v)] |= bit
			v &= v - 1
		}
	}
	b.idg, b.idSlot = g, uint8(slot)
}

// remove takes b out of the index.
func (x *idIndex) remove(b *spanBlock) {
	g := b.idg
	if g == nil {
		x.missing--
		return
	}
	g.live &^= 1 << b.idSlot
	g.blocks[b.idSlot] = nil
	b.idg = nil
	if g.live == 0 {
		x.dropGroup(g) // a new one is opened when needed
	}
}

// dropGroup forgets g's memory; its live blocks lose their filters.
func (x *idIndex) dropGroup(g *idGroup) {
	for i, gg := range x.groups {
		if gg == g {
			x.groups = append(x.groups[:i], x.groups[i+1:]...)
			break
		}
	}
	if x.open[g.m] == g {
		delete(x.open, g.m)
	}
	for live := g.live; live != 0; live &= live - 1 {
		b := g.blocks[bits.TrailingZeros64(live)]
		b.idg = nil
		x.missing++
		x.dropped++
	}
	x.bytes -= int64(len(g.words) * 8)
	g.words, g.live = nil, 0
}

// trimOldest drops the oldest group; false when there is none.
func (x *idIndex) trimOldest() bool {
	if len(x.groups) == 0 {
		return false
	}
	x.dropGroup(x.groups[0])
	return true
}

// candidates appends to out the blocks that may hold a span of the trace
// of hash h.
func (x *idIndex) candidates(out []*spanBlock, h uint64) []*spanBlock {
	type sized struct {
		m   int
		pos [idHashes]uint32
	}
	var cache []sized // the positions of h in each size met, few
	for _, g := range x.groups {
		var ps []uint32
		for i := range cache {
			if cache[i].m == g.m {
				ps = cache[i].pos[:]
				break
			}
		}
		if ps == nil {
			cache = append(cache, sized{m: g.m})
			c := &cache[len(cache)-1]
			idPositions(c.pos[:0], h, g.m)
			ps = c.pos[:]
		}
		m := g.live
		for _, p := range ps {
			if m &= g.words[p]; m == 0 {
				break
			}
		}
		for ; m != 0; m &= m - 1 {
			out = append(out, g.blocks[bits.TrailingZeros64(m)])
		}
	}
	return out
}

// idBlocks returns the blocks that may hold a span of one of keys,
// ordered by id; ok is false when some block has no trace-ID filter (then
// nothing can be ruled out).
func (ix *blockIndex) idBlocks(keys []traceKey) (out []*spanBlock, ok bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.ids.missing > 0 {
		return nil, false
	}
	for _, k := range keys {
		out = ix.ids.candidates(out, idHash(k))
	}
	slices.SortFunc(out, func(a, b *spanBlock) int { return cmp.Compare(a.id, b.id) })
	return slices.Compact(out), true
}

// idRanges merges blocks (ordered by id) into runs of consecutive ids
// with their time bounds.
func idRanges(bs []*spanBlock) []blockRange {
	var out []blockRange
	for _, b := range bs {
		if n := len(out); n > 0 && out[n-1].hi+1 >= b.id { // the next id, or the same in another partition
			r := &out[n-1]
			r.hi = b.id
			r.minTs, r.maxTs = min(r.minTs, b.minTs), max(r.maxTs, b.maxTs)
			continue
		}
		out = append(out, blockRange{lo: b.id, hi: b.id, minTs: b.minTs, maxTs: b.maxTs})
	}
	return out
}

// timeSpan is the union of the ranges' time bounds.
func timeSpan(rs []blockRange) (lo, hi int64) {
	lo, hi = math.MaxInt64, math.MinInt64
	for _, r := range rs {
		lo, hi = min(lo, r.minTs), max(hi, r.maxTs)
	}
	return lo, hi
}
