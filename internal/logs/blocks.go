package logs

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

// block is a run of records written together (one push request), with
// the trigram bitset of their lines (see terms.go). The records carry the
// block's id in the logs.blk column and are stored contiguously, so a
// filter on blk reads only their part of the table; the bitset is stored
// in the log_blocks table of the same partition, in the same commit.
type block struct {
	id           int64 // nullBlock: the records written before the index
	part         int64 // the partition holding them, or one after it; math.MaxInt64 until committed
	minTs, maxTs int64
	bits         []uint64 // nil: no usable index, always read
	layout       int      // of bits: layoutWordPair, or layoutOneBit (written by an older Vigil)
}

// nullBlock stands for the records without a block (blk IS NULL), written
// by a Vigil without the term index.
const nullBlock = -1

// maxBlockRanges caps the UNION ALL branches of one query: past it the
// query reads the whole range (an index that keeps this many runs saves
// little over a scan).
const maxBlockRanges = 256

// blockIndex holds every block's bitset in memory. Safe for concurrent
// use.
type blockIndex struct {
	mu     sync.RWMutex
	blocks []*block // by id, nullBlock ones first
	next   int64
	bytes  int64 // of the bitsets
	// maxBytes caps bytes (0: no cap): past it the oldest blocks' bitsets
	// are dropped, and their records are read by every filtered query,
	// as when a block has no index.
	maxBytes int64
	trimmed  int   // blocks[:trimmed] were looked at by trim
	dropped  int64 // bitsets dropped by the cap
}

// trim drops the oldest bitsets until the index is within maxBytes. The
// caller holds mu.
func (ix *blockIndex) trim() {
	if ix.maxBytes <= 0 {
		return
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

// register assigns the next ids to bs, in order, and adds them. It must
// happen before their records are committed, so no query can miss them.
func (ix *blockIndex) register(bs ...*block) {
	ix.mu.Lock()
	for _, b := range bs {
		b.id = ix.next
		ix.next++
		b.part = math.MaxInt64
		ix.blocks = append(ix.blocks, b)
		ix.bytes += int64(len(b.bits) * 8)
	}
	ix.trim()
	ix.mu.Unlock()
}

// committed records the partition bs' records went to (at most part).
func (ix *blockIndex) committed(part int64, bs ...*block) {
	ix.mu.Lock()
	for _, b := range bs {
		b.part = part
	}
	ix.mu.Unlock()
}

// forget removes bs (their records were not stored).
func (ix *blockIndex) forget(bs ...*block) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, b := range bs {
		i := sort.Search(len(ix.blocks), func(i int) bool { return ix.blocks[i].id >= b.id })
		if i < len(ix.blocks) && ix.blocks[i] == b {
			ix.blocks = append(ix.blocks[:i], ix.blocks[i+1:]...)
			ix.bytes -= int64(len(b.bits) * 8)
			if i < ix.trimmed {
				ix.trimmed--
			}
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
		}
	}
	ix.trimmed = trimmed
	clear(ix.blocks[len(kept):])
	ix.blocks = kept
}

func (ix *blockIndex) size() (blocks int, bytes int64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.blocks), ix.bytes
}

// blockRange is a run of block ids [lo, hi] whose records a query reads,
// with their time bounds.
type blockRange struct {
	lo, hi       int64
	minTs, maxTs int64
}

// ranges returns the runs of blocks with records in [from, to) that may
// hold a line keeping needs; ok is false when the index would not save
// reading (no needs, or most blocks may match), and the query should
// read the whole range.
func (ix *blockIndex) ranges(from, to int64, needs []termNeed) (out []blockRange, ok bool) {
	if len(needs) == 0 {
		return nil, false
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	inTime, kept := 0, 0
	open := false // the last range may grow
	for _, b := range ix.blocks {
		if b.maxTs < from || b.minTs >= to {
			continue // the time filter drops its rows before reading lines
		}
		inTime++
		if !mayMatch(b.bits, b.layout, needs) {
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

// blockSource returns what a query reads instead of {{logs}} for the
// blocks in rs: one UNION ALL branch per run, each over the partitions its
// times overlap. With lean set (no partition holds a value in
// extraColumns, see columns.go) the branches read only the four columns
// such a record has, and the source gives the others as NULL: DuckDB
// binds and plans every column of every branch, and over 100 branches the
// seven it need not read cost 5-6 of the query's 58 ms (docs/perf/logs.md).
func blockSource(rs []blockRange, lean bool) string {
	if len(rs) == 0 {
		return "(SELECT * FROM {{logs}} WHERE false)"
	}
	cols := "*"
	var b strings.Builder
	b.WriteString("(")
	if lean {
		cols = leanBaseColumns
		b.WriteString("SELECT " + leanBaseColumns + ", " + leanNullColumns + " FROM (")
	}
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT %s FROM {{logs:%d:%d}} WHERE ", cols, r.minTs, r.maxTs)
		switch {
		case r.lo == nullBlock:
			b.WriteString("blk IS NULL")
		case r.lo == r.hi:
			b.WriteString("blk = " + strconv.FormatInt(r.lo, 10))
		default:
			fmt.Fprintf(&b, "blk BETWEEN %d AND %d", r.lo, r.hi)
		}
	}
	if lean {
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

// encodeBits is a bitset as stored in log_blocks.bits: the words in
// little-endian order, then the layout in a byte (but for layoutOneBit:
// an older Vigil's bitsets lack it), then the CRC-32 of what comes
// before, so a damaged index is noticed.
func encodeBits(w []uint64, layout int) []byte {
	out := make([]byte, 0, len(w)*8+5)
	for _, x := range w {
		out = bin.LittleEndian.AppendUint64(out, x)
	}
	if layout != layoutOneBit {
		out = append(out, byte(layout))
	}
	return bin.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
}

// decodeBits reverses encodeBits, saying what is wrong with a damaged one.
func decodeBits(b []byte) (w []uint64, layout int, err error) {
	n := len(b) - 4
	if n < 0 {
		return nil, 0, fmt.Errorf("bitset of %d bytes, shorter than its checksum", len(b))
	}
	if crc32.ChecksumIEEE(b[:n]) != bin.LittleEndian.Uint32(b[n:]) {
		return nil, 0, fmt.Errorf("bitset checksum mismatch")
	}
	layout = layoutOneBit
	if n%8 == 1 {
		n--
		layout = int(b[n])
		if layout != layoutWordPair {
			return nil, 0, fmt.Errorf("bitset of unknown layout %d", layout)
		}
	}
	if n < minBlockBits/8 || n%8 != 0 || (n/8)&(n/8-1) != 0 {
		return nil, 0, fmt.Errorf("bitset of %d bytes, want a power of two of at least %d bytes, its layout and a checksum", len(b), minBlockBits/8)
	}
	w = make([]uint64, n/8)
	for i := range w {
		w[i] = bin.LittleEndian.Uint64(b[i*8:])
	}
	return w, layout, nil
}

// loadBlocks reads every partition's blocks: which blocks its records
// name (the truth: a block missing from log_blocks, or with a damaged
// bitset, is read by every query, with a warning here) and their bitsets.
func (s *Store) loadBlocks(ctx context.Context) error {
	type key struct{ part, id int64 }
	found := map[key]*block{}
	err := s.db.QueryEach(ctx, "SELECT coalesce(blk, -1), min(ts), max(ts) FROM {{logs}} GROUP BY ALL", nil, func(seq int64, rows *sql.Rows) error {
		for rows.Next() {
			b := &block{part: seq}
			if err := rows.Scan(&b.id, &b.minTs, &b.maxTs); err != nil {
				return err
			}
			found[key{seq, b.id}] = b
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read log blocks: %w", err)
	}
	type problem struct {
		n     int
		first string
	}
	bad := map[int64]*problem{}
	note := func(part int64, msg string) {
		p := bad[part]
		if p == nil {
			p = &problem{first: msg}
			bad[part] = p
		}
		p.n++
	}
	err = s.db.QueryEach(ctx, "SELECT blk, bits FROM {{log_blocks}}", nil, func(seq int64, rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				return err
			}
			b := found[key{seq, id}]
			if b == nil {
				continue // a block whose records were not stored
			}
			w, layout, err := decodeBits(raw)
			switch {
			case err != nil:
				note(seq, fmt.Sprintf("block %d: %v", id, err))
				b.bits, b.id = nil, -id-2 // damaged: never trust another row for it
			case b.id < nullBlock:
				// already found damaged
			case b.bits == nil:
				b.bits, b.layout = w, layout
			case len(b.bits) == len(w) && b.layout == layout:
				for i := range w {
					b.bits[i] |= w[i]
				}
			default:
				note(seq, fmt.Sprintf("block %d: bitsets of different sizes or kinds", id))
				b.bits, b.id = nil, -id-2
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read log term index: %w", err)
	}
	var blocks []*block
	ix := &s.blocks
	for _, b := range found {
		switch {
		case b.id < nullBlock:
			b.id = -b.id - 2 // damaged, noted above
		case b.id == nullBlock:
			note(b.part, "records written before the term index")
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
	ix.trimmed = 0
	ix.trim()
	if ix.dropped > 0 {
		s.log.Info("log term index over its memory cap: the oldest blocks are read by every filtered query", "dropped_blocks", ix.dropped, "cap_bytes", ix.maxBytes)
	}
	for part, p := range bad {
		s.log.Warn("log term index incomplete: these records are read by every filtered query", "partition", part, "blocks", p.n, "first", p.first)
	}
	return nil
}
