package logs

import (
	"math"
	"math/bits"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil/internal/logs/logql"
)

// The term index keeps, for each block of records (the records of one
// push request), the set of byte trigrams of their lines, ASCII letters
// folded to lower case, as a bitset in which each trigram sets two bits
// of one 64-bit word (a register-blocked bloom filter: two hash functions
// for the price of one memory access). A line filter's literal text
// (|= "needle", the literal parts of |~ "time.?out", case-insensitive
// ones too) names trigrams every matching line holds; a block whose bitset
// lacks them cannot hold a match, and its rows are not read.
//
// Trigrams rather than words because |= is a substring search: "needle"
// must find "haystack_needles" too, which a word index cannot promise.
// Every trigram of a line is kept: keeping only those at even offsets
// halves the cost at ingest, but then a six-letter word asks for two
// trigrams of either class, and when one of them is common (hex IDs hold
// most trigrams of a-f and digits) a false positive becomes as likely as
// for one trigram, 12%: too many blocks for a rare word to be fast.

const (
	// scratchBits is the size a block's bitset is built at before it is
	// folded to its final size: 32 KiB, within a core's L1 data cache
	// (64 KiB was 7% slower on this machine's 48 KiB L1). A block with
	// over 32,768 distinct trigrams keeps fewer than 8 bits for each.
	scratchBits = 1 << 18
	scratchLog  = 18
	// minBlockBits is the smallest folded bitset.
	minBlockBits = 512
	// bitsPerTrigram sizes a block's bitset: with two bits of a word a
	// trigram, 4.5 bits per distinct trigram make a false positive 13%
	// likely for one trigram, and about 0.03% for a six-letter word (four
	// trigrams, drawn independently). The one-bit layout needed 8 bits
	// each for 12%, and so twice the memory (docs/perf/logs.md).
	bitsPerTrigram = 4.5
)

// The layouts of a block's bitset, as log_blocks stores it (encodeBits).
const (
	// layoutOneBit, written by Vigil before 2026-12-04: a trigram sets bit
	// trigramHash(t) >> (32 - log2(bits)); folding ORs neighbouring bits.
	layoutOneBit = 1
	// layoutWordPair: a trigram sets two bits of word wordHash(t) >> (64 -
	// log2(words)), named by wordHash's bits 40-51; folding ORs
	// neighbouring words.
	layoutWordPair = 2
)

// foldTab maps a byte to what the index holds for it: ASCII letters in
// lower case, every other byte as is.
var foldTab = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

// trigramHash is Fibonacci hashing of a 24-bit trigram: a bitset of 2^k
// bits uses the top k bits, so folding a bitset in half ORs neighbouring
// bits.
func trigramHash(t uint32) uint32 { return t * 0x9E3779B1 }

// wordHash is Fibonacci hashing of a trigram to 64 bits, for the word-pair
// layout: its top bits name the word at any size, and bits 40-51 (which,
// as the top ones, depend on every bit of t) the two bits in it.
func wordHash(t uint32) uint64 { return uint64(t) * 0x9E3779B97F4A7C15 }

// wordBits is the two bits a trigram of hash h sets in its word.
func wordBits(h uint64) uint64 { return 1<<(h>>46&63) | 1<<(h>>40&63) }

// scratchWords is the scratch bitset's words, and scratchShift what a
// trigram's wordHash is shifted by to index them.
const (
	scratchWords = scratchBits / 64
	scratchShift = 64 - (scratchLog - 6)
)

// blockBuilder collects the trigrams of one block's lines. The zero value
// is ready to use; finish makes it reusable.
type blockBuilder struct {
	w            *[scratchBits / 64]uint64
	lines        int
	minTs, maxTs int64
}

func (b *blockBuilder) add(ts int64, line string) {
	if b.w == nil {
		b.w = new([scratchBits / 64]uint64)
	}
	if b.lines == 0 || ts < b.minTs {
		b.minTs = ts
	}
	if b.lines == 0 || ts > b.maxTs {
		b.maxTs = ts
	}
	b.lines++
	if len(line) < 3 {
		return
	}
	w := b.w
	// Eight bytes at a time, folded together, give the trigrams at six
	// offsets; the last few one byte at a time. (With the 32 KiB scratch,
	// BenchmarkBlockBuilder 171 -> 151 ns a line; docs/perf/logs.md.)
	i := 0
	for ; i+8 <= len(line); i += 6 {
		s := line[i : i+8]
		x := fold8(uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
			uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7]))
		h0 := wordHash(uint32(x>>40) & 0xFFFFFF)
		h1 := wordHash(uint32(x>>32) & 0xFFFFFF)
		h2 := wordHash(uint32(x>>24) & 0xFFFFFF)
		h3 := wordHash(uint32(x>>16) & 0xFFFFFF)
		h4 := wordHash(uint32(x>>8) & 0xFFFFFF)
		h5 := wordHash(uint32(x) & 0xFFFFFF)
		w[h0>>scratchShift] |= wordBits(h0)
		w[h1>>scratchShift] |= wordBits(h1)
		w[h2>>scratchShift] |= wordBits(h2)
		w[h3>>scratchShift] |= wordBits(h3)
		w[h4>>scratchShift] |= wordBits(h4)
		w[h5>>scratchShift] |= wordBits(h5)
	}
	addTrigrams(w[:], line[i:])
}

// addTrigrams sets the bits of s's trigrams in w (of scratchBits), one
// byte at a time.
func addTrigrams(w []uint64, s string) {
	if len(s) < 3 {
		return
	}
	t := uint32(foldTab[s[0]])<<8 | uint32(foldTab[s[1]])
	for _, c := range []byte(s[2:]) {
		t = (t<<8 | uint32(foldTab[c])) & 0xFFFFFF
		h := wordHash(t)
		w[h>>scratchShift] |= wordBits(h)
	}
}

// fold8 is foldTab applied to each byte of x: ASCII capitals (a byte
// without its top bit, from 'A' to 'Z') get the 0x20 bit.
func fold8(x uint64) uint64 {
	const hi, lo7 = 0x8080808080808080, 0x7F7F7F7F7F7F7F7F
	low := x & lo7
	geA := low + 0x3F3F3F3F3F3F3F3F // top bit set where low >= 'A' (0x41)
	gtZ := low + 0x2525252525252525 // top bit set where low > 'Z' (0x5A)
	upper := geA &^ gtZ &^ x & hi
	return x | upper>>2
}

// finish returns the block's bitset, folded to about bitsPerTrigram bits
// per distinct trigram, and resets b.
func (b *blockBuilder) finish() []uint64 {
	if b.w == nil {
		b.w = new([scratchBits / 64]uint64)
	}
	set := 0
	for _, x := range b.w {
		set += bits.OnesCount64(x)
	}
	// The number of distinct trigrams behind set bits of scratchBits, two
	// bits each.
	n := float64(scratchBits)
	if set < scratchBits {
		n = -float64(scratchBits) * math.Log(1-float64(set)/scratchBits) / 2
	}
	m := minBlockBits
	for m < scratchBits && float64(m) < n*bitsPerTrigram {
		m *= 2
	}
	w := b.w[:]
	for len(w) > m/64 {
		// Word j of the half is words 2j and 2j+1 of w.
		half := len(w) / 2
		for i := 0; i < half; i++ {
			w[i] = w[2*i] | w[2*i+1]
		}
		w = w[:half]
	}
	out := append([]uint64(nil), w...)
	clear(b.w[:])
	b.lines = 0
	return out
}

// hasTrigram says whether bitset w, of the given layout, may hold
// trigram t.
func hasTrigram(w []uint64, layout int, t uint32) bool {
	if layout == layoutOneBit {
		i := trigramHash(t) >> (32 - uint(bits.Len(uint(len(w)*64))-1))
		return w[i>>6]&(1<<(i&63)) != 0
	}
	h := wordHash(t)
	m := wordBits(h)
	return w[h>>(64-uint(bits.Len(uint(len(w)))-1))]&m == m
}

// termNeed is what one line filter asks of a block: any of the
// alternatives, each a set of trigrams (folded bytes, see foldTab) that
// must all be there.
type termNeed [][]uint32

// mayMatch says whether a block with bitset w, of the given layout, may
// hold a line every need keeps; a nil w (a block without an index) may
// always.
func mayMatch(w []uint64, layout int, needs []termNeed) bool {
	if w == nil {
		return true
	}
	for _, need := range needs {
		ok := false
		for _, alt := range need {
			all := true
			for _, h := range alt {
				if !hasTrigram(w, layout, h) {
					all = false
					break
				}
			}
			if all {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// lineFilterNeeds returns what a line filter pushed down to SQL asks of
// a block (all of the needs), or nil when it cannot rule a block out (a
// negative filter, a value shorter than three bytes, a regexp without
// literal text).
func lineFilterNeeds(f *logql.LineFilter) []termNeed {
	if f.IP || f.Op.Negative() {
		return nil
	}
	var any termNeed // one of the values
	for _, v := range f.Values {
		switch f.Op {
		case logql.LineContains:
			n := segmentNeed(v)
			if n == nil {
				return nil // this value can match anywhere
			}
			any = append(any, n...)
		case logql.LineRegexp:
			re, err := syntax.Parse(v, syntax.Perl)
			if err != nil {
				return nil
			}
			branches := []*syntax.Regexp{re}
			if re.Op == syntax.OpAlternate {
				branches = re.Sub
			}
			if len(f.Values) == 1 && len(branches) == 1 {
				var all []termNeed
				for _, l := range requiredLiterals(re) {
					all = append(all, literalNeeds(l.s, l.fold)...)
				}
				return all
			}
			// An alternative: the most selective text of each branch.
			for _, br := range branches {
				var best termNeed
				for _, l := range requiredLiterals(br) {
					for _, n := range literalNeeds(l.s, l.fold) {
						if best == nil || len(n[0]) > len(best[0]) {
							best = n
						}
					}
				}
				if best == nil {
					return nil
				}
				any = append(any, best...)
			}
		default:
			return nil
		}
	}
	return []termNeed{any}
}

// segmentNeed returns what text s, matched byte for byte (ASCII case
// aside), asks of a block: all its trigrams. Nil when s is shorter than
// three bytes.
func segmentNeed(s string) termNeed {
	if len(s) < 3 {
		return nil
	}
	hs := make([]uint32, 0, len(s)-2)
	for j := 0; j+3 <= len(s); j++ {
		hs = append(hs, uint32(foldTab[s[j]])<<16|uint32(foldTab[s[j+1]])<<8|uint32(foldTab[s[j+2]]))
	}
	return termNeed{hs}
}

// literal is text every match of a regexp contains; fold means in any
// case (Go's (?i), Unicode simple folding).
type literal struct {
	s    string
	fold bool
}

// requiredLiterals returns literal texts that every match of re holds
// (not necessarily all of them: what it cannot prove it leaves out).
func requiredLiterals(re *syntax.Regexp) []literal {
	switch re.Op {
	case syntax.OpLiteral:
		return []literal{{string(re.Rune), re.Flags&syntax.FoldCase != 0}}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Adjacent literals make one longer literal.
		var out []literal
		var run []rune
		fold := false
		flush := func() {
			if len(run) > 0 {
				out = append(out, literal{string(run), fold})
				run = nil
			}
		}
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				f := sub.Flags&syntax.FoldCase != 0
				if len(run) > 0 && f != fold {
					flush()
				}
				fold = f
				run = append(run, sub.Rune...)
				continue
			}
			flush()
			out = append(out, requiredLiterals(sub)...)
		}
		flush()
		return out
	}
	return nil
}

// literalNeeds returns what a regexp's literal text asks of a block: one
// need per run of bytes that every match spells the same way. A rune that
// a match may spell with other bytes (or another number of them) ends a
// run: U+FFFD (which also matches an invalid byte) and, when fold, every
// non-ASCII rune and the ASCII letters whose case folds reach beyond ASCII
// (k: U+212A, s: U+017F).
func literalNeeds(s string, fold bool) []termNeed {
	var out []termNeed
	seg := 0
	for i, r := range s {
		brk := r == utf8.RuneError
		if fold && !brk {
			brk = r >= utf8.RuneSelf || strings.ContainsRune("kKsS", r)
		}
		if brk {
			if n := segmentNeed(s[seg:i]); n != nil {
				out = append(out, n)
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			seg = i + size
		}
	}
	if n := segmentNeed(s[seg:]); n != nil {
		out = append(out, n)
	}
	return out
}
