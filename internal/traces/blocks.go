package traces

import (
	"context"
	"database/sql"
	bin "encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// spanBlock is a run of spans written together (one request), with the
// bloom filter of their tokens (see tagindex.go). The spans carry the
// block's id in the spans.blk column and are stored contiguously, so a
// filter on blk reads only their part of the table; the filter is stored
// in the span_blocks table of the same partition, in the same commit.
type spanBlock struct {
	id           int64 // nullBlock: the spans written before the index
	part         int64 // the partition holding them, or one after it; math.MaxInt64 until committed
	minTs, maxTs int64 // of start_ns
	bits         []uint64
	// idg holds the block's trace-ID filter (see idindex.go), in slot
	// idSlot; nil: the block has none.
	idg    *idGroup
	idSlot uint8
}

// nullBlock stands for the spans without a block (blk IS NULL), written
// by a Vigil without the tag index.
const nullBlock = -1

// maxBlockRanges caps the UNION ALL branches of one query: past it the
// search reads the whole window (an index that keeps this many runs saves
// little over a scan).
const maxBlockRanges = 256

// blockIndex holds every block's filter in memory. Safe for concurrent
// use.
type blockIndex struct {
	mu     sync.RWMutex
	blocks []*spanBlock // by id, nullBlock ones first
	next   int64
	bytes  int64 // of the filters
	// maxBytes caps bytes (0: no cap): past it the oldest blocks'
	// filters are dropped, and their spans are read by every search, as
	// when a block has no index.
	maxBytes int64
	trimmed  int   // blocks[:trimmed] were looked at by trim
	dropped  int64 // filters dropped by the cap
	// ids is the trace-ID index; its filters count in bytes.
	ids idIndex
}

// trim drops the oldest filters until the index is within maxBytes:
// the trace-ID filters only when they alone are over it (64 blocks at a
// time), then the tag filters. The caller holds mu.
func (ix *blockIndex) trim() {
	if ix.maxBytes <= 0 {
		return
	}
	for ix.ids.bytes > ix.maxBytes {
		before := ix.ids.bytes
		if !ix.ids.trimOldest() {
			break
		}
		ix.bytes -= before - ix.ids.bytes
	}
	if ix.trimmed > len(ix.blocks) {
		ix.trimmed = len(ix.blocks)
	}
	for ix.bytes > ix.maxBytes && ix.trimmed < len(ix.blocks) {
		b := ix.blocks[ix.trimmed]
		if b.part == math.MaxInt64 {
			break // not committed yet: the newest; the next register tries again
		}
		ix.trimmed++
		if b.bits != nil {
			ix.bytes -= int64(len(b.bits) * 8)
			b.bits = nil
			ix.dropped++
		}
	}
}

// register assigns the next id to b and adds it with its trace-ID filter
// ids. It must happen before b's spans are committed, so no search or
// lookup can miss them.
func (ix *blockIndex) register(b *spanBlock, ids []uint64) {
	ix.mu.Lock()
	b.id = ix.next
	ix.next++
	b.part = math.MaxInt64
	ix.blocks = append(ix.blocks, b)
	ix.bytes += int64(len(b.bits) * 8)
	ix.addIDs(b, ids)
	ix.trim()
	ix.mu.Unlock()
}

// addIDs adds b's trace-ID filter (nil: none) to the ID index. The caller
// holds mu.
func (ix *blockIndex) addIDs(b *spanBlock, ids []uint64) {
	before := ix.ids.bytes
	ix.ids.add(b, ids)
	ix.bytes += ix.ids.bytes - before
}

// removeIDs takes b out of the ID index. The caller holds mu.
func (ix *blockIndex) removeIDs(b *spanBlock) {
	before := ix.ids.bytes
	ix.ids.remove(b)
	ix.bytes -= before - ix.ids.bytes
}

// committed records the partition b's spans went to (at most part).
func (ix *blockIndex) committed(b *spanBlock, part int64) {
	ix.mu.Lock()
	b.part = part
	ix.mu.Unlock()
}

// forget removes b (its spans were not stored).
func (ix *blockIndex) forget(b *spanBlock) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	i := sort.Search(len(ix.blocks), func(i int) bool { return ix.blocks[i].id >= b.id })
	if i < len(ix.blocks) && ix.blocks[i] == b {
		ix.blocks = append(ix.blocks[:i], ix.blocks[i+1:]...)
		ix.bytes -= int64(len(b.bits) * 8)
		ix.removeIDs(b)
		if i < ix.trimmed {
			ix.trimmed--
		}
	}
}

// prune drops the blocks of partitions older than oldest (retention
// dropped them).
func (ix *blockIndex) prune(oldest int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	kept := ix.blocks[:0]
	trimmed := 0
	for i, b := range ix.blocks {
		if b.part >= oldest {
			kept = append(kept, b)
			if i < ix.trimmed {
				trimmed++
			}
		} else {
			ix.bytes -= int64(len(b.bits) * 8)
			ix.removeIDs(b)
		}
	}
	ix.trimmed = trimmed
	clear(ix.blocks[len(kept):])
	ix.blocks = kept
}

// size returns the blocks held and the bytes of their filters, the
// trace-ID filters (idBytes) included.
func (ix *blockIndex) size() (blocks int, bytes, idBytes int64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.blocks), ix.bytes, ix.ids.bytes
}

// blockRange is a run of block ids [lo, hi] whose spans a search reads,
// with their time bounds.
type blockRange struct {
	lo, hi       int64
	minTs, maxTs int64
}

// ranges returns the runs of blocks with spans starting in [from, to]
// that may hold a span every need keeps; ok is false when the index would
// not save reading (no needs, or most blocks may match), and the search
// should read the whole range.
func (ix *blockIndex) ranges(from, to int64, needs []tagNeed) (out []blockRange, ok bool) {
	if len(needs) == 0 {
		return nil, false
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	inTime, kept := 0, 0
	open := false // the last range may grow
	for _, b := range ix.blocks {
		if b.maxTs < from || b.minTs > to {
			continue // the time filter drops its rows
		}
		inTime++
		if !mayMatchTags(b.bits, needs) {
			open = false
			continue
		}
		kept++
		if n := len(out); open && b.id != nullBlock && out[n-1].lo != nullBlock {
			r := &out[n-1]
			r.hi = b.id
			r.minTs, r.maxTs = min(r.minTs, b.minTs), max(r.maxTs, b.maxTs)
			continue
		}
		if b.id == nullBlock && len(out) > 0 && out[0].lo == nullBlock {
			r := &out[0]
			r.minTs, r.maxTs = min(r.minTs, b.minTs), max(r.maxTs, b.maxTs)
			continue
		}
		out = append(out, blockRange{lo: b.id, hi: b.id, minTs: b.minTs, maxTs: b.maxTs})
		open = b.id != nullBlock
	}
	if kept*2 > inTime || len(out) > maxBlockRanges {
		return nil, false
	}
	return out, true
}

// blockSource returns what a search reads instead of {{spans}} for the
// blocks in rs: one UNION ALL branch per run, each over the partitions
// its times overlap.
func blockSource(rs []blockRange) string {
	if len(rs) == 0 {
		return "(SELECT * FROM {{spans}} WHERE false)"
	}
	var b strings.Builder
	b.WriteString("(")
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT * FROM {{spans:%d:%d}} WHERE ", r.minTs, r.maxTs)
		switch {
		case r.lo == nullBlock:
			b.WriteString("blk IS NULL")
		case r.lo == r.hi:
			b.WriteString("blk = " + strconv.FormatInt(r.lo, 10))
		default:
			fmt.Fprintf(&b, "blk BETWEEN %d AND %d", r.lo, r.hi)
		}
	}
	b.WriteString(")")
	return b.String()
}

// encodeBits is a filter as stored in span_blocks.bits: the words in
// little-endian order, then their CRC-32, so a damaged index is noticed.
func encodeBits(w []uint64) []byte {
	out := make([]byte, 0, len(w)*8+4)
	for _, x := range w {
		out = bin.LittleEndian.AppendUint64(out, x)
	}
	return bin.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
}

// decodeBits reverses encodeBits, saying what is wrong with a damaged one.
func decodeBits(b []byte) ([]uint64, error) {
	n := len(b) - 4
	if n < minTagBits/8 || n%8 != 0 || (n/8)&(n/8-1) != 0 {
		return nil, fmt.Errorf("filter of %d bytes, want a power of two of at least %d bytes and a checksum", len(b), minTagBits/8)
	}
	return decodeWords(b)
}

// decodeWords reverses encodeBits for any number of words.
func decodeWords(b []byte) ([]uint64, error) {
	n := len(b) - 4
	if n < 8 || n%8 != 0 {
		return nil, fmt.Errorf("filter of %d bytes, want words and a checksum", len(b))
	}
	if crc32.ChecksumIEEE(b[:n]) != bin.LittleEndian.Uint32(b[n:]) {
		return nil, fmt.Errorf("filter checksum mismatch")
	}
	w := make([]uint64, n/8)
	for i := range w {
		w[i] = bin.LittleEndian.Uint64(b[i*8:])
	}
	return w, nil
}

// loadBlocks reads every partition's blocks: which blocks its spans name
// (the truth: a block missing from span_blocks, or with a damaged filter,
// is read by every search, with a warning here) and their filters.
func (s *Store) loadBlocks(ctx context.Context) error {
	type key struct{ part, id int64 }
	found := map[key]*spanBlock{}
	// The trace-ID filters, kept apart until the blocks are sorted.
	type idState struct {
		w   []uint64
		bad bool // damaged or missing in one of the block's rows
	}
	idf := map[*spanBlock]*idState{}
	err := s.db.QueryEach(ctx, "SELECT coalesce(blk, -1), min(start_ns), max(start_ns) FROM {{spans}} GROUP BY ALL", nil, func(seq int64, rows *sql.Rows) error {
		for rows.Next() {
			b := &spanBlock{part: seq}
			if err := rows.Scan(&b.id, &b.minTs, &b.maxTs); err != nil {
				return err
			}
			found[key{seq, b.id}] = b
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read span blocks: %w", err)
	}
	type problem struct {
		n     int
		first string
	}
	// bad: the partitions with blocks whose tag filter is missing or
	// damaged; badIDs: likewise for the trace-ID filter.
	bad, badIDs := map[int64]*problem{}, map[int64]*problem{}
	noteIn := func(in map[int64]*problem) func(part int64, msg string) {
		return func(part int64, msg string) {
			p := in[part]
			if p == nil {
				p = &problem{first: msg}
				in[part] = p
			}
			p.n++
		}
	}
	note, noteID := noteIn(bad), noteIn(badIDs)
	err = s.db.QueryEach(ctx, "SELECT blk, bits, ids FROM {{span_blocks}}", nil, func(seq int64, rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var raw, rawIDs []byte
			if err := rows.Scan(&id, &raw, &rawIDs); err != nil {
				return err
			}
			b := found[key{seq, id}]
			if b == nil {
				continue // a block whose spans were not stored
			}
			st := idf[b]
			if st == nil {
				st = &idState{}
				idf[b] = st
			}
			switch iw, err := decodeIDBits(rawIDs); {
			case st.bad:
			case rawIDs == nil:
				st.bad, st.w = true, nil // written before the trace-ID index
			case err != nil:
				noteID(seq, fmt.Sprintf("block %d: trace-ID filter: %v", id, err))
				st.bad, st.w = true, nil
			case st.w == nil:
				st.w = iw
			case len(st.w) == len(iw):
				for i := range iw {
					st.w[i] |= iw[i]
				}
			default:
				noteID(seq, fmt.Sprintf("block %d: trace-ID filters of different sizes", id))
				st.bad, st.w = true, nil
			}
			w, err := decodeBits(raw)
			switch {
			case err != nil:
				note(seq, fmt.Sprintf("block %d: %v", id, err))
				b.bits, b.id = nil, -id-2 // damaged: never trust another row for it
			case b.id < nullBlock:
				// already found damaged
			case b.bits == nil:
				b.bits = w
			case len(b.bits) == len(w):
				for i := range w {
					b.bits[i] |= w[i]
				}
			default:
				note(seq, fmt.Sprintf("block %d: filters of different sizes", id))
				b.bits, b.id = nil, -id-2
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read span tag index: %w", err)
	}
	var blocks []*spanBlock
	ix := &s.blocks
	for _, b := range found {
		switch {
		case b.id < nullBlock:
			b.id = -b.id - 2 // damaged, noted above
		case b.id == nullBlock:
			note(b.part, "spans written before the tag index")
		case b.bits == nil:
			note(b.part, fmt.Sprintf("block %d has no index", b.id))
		}
		ix.next = max(ix.next, b.id+1)
		ix.bytes += int64(len(b.bits) * 8)
		blocks = append(blocks, b)
	}
	sort.Slice(blocks, func(i, j int) bool {
		if blocks[i].id != blocks[j].id {
			return blocks[i].id < blocks[j].id
		}
		return blocks[i].part < blocks[j].part
	})
	ix.blocks = blocks
	ix.ids = idIndex{}
	noIDs := 0
	for _, b := range blocks {
		st := idf[b]
		if st == nil || st.bad {
			noIDs++
			ix.addIDs(b, nil)
			continue
		}
		ix.addIDs(b, st.w)
	}
	ix.trimmed = 0
	ix.trim()
	if ix.dropped > 0 {
		s.log.Info("span tag index over its memory cap: the oldest blocks are read by every search", "dropped_blocks", ix.dropped, "cap_bytes", ix.maxBytes)
	}
	for part, p := range bad {
		s.log.Warn("span tag index incomplete: these spans are read by every search", "partition", part, "blocks", p.n, "first", p.first)
	}
	for part, p := range badIDs {
		s.log.Warn("trace-ID index damaged: trace lookups read trace_index, as without the index, until these spans are dropped", "partition", part, "blocks", p.n, "first", p.first)
	}
	if noIDs > 0 {
		s.log.Info("trace-ID index incomplete: trace lookups read trace_index until the spans written without it are dropped", "blocks", noIDs, "damaged", len(badIDs) > 0)
	}
	return nil
}
