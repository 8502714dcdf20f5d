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
// folded to lower case, as a bitset indexed by a hash of the trigram (a
// bloom filter with one hash function). A line filter's literal text
// (|= "needle", the literal parts of |~ "time.?out", case-insensitive
// ones too) names trigrams every matching line holds; a block whose bitset
// lacks one of them cannot hold a match, and its rows are not read.
//
// Trigrams rather than words because |= is a substring search: "needle"
// must find "haystack_needles" too, which a word index cannot promise.

const (
	// scratchBits is the size a block's bitset is built at before it is
	// folded to its final size: 64 KiB, which stays in the CPU cache.
	scratchBits = 1 << 19
	// minBlockBits is the smallest folded bitset.
	minBlockBits = 512
	// bitsPerTrigram sizes a block's bitset: 8 bits per distinct trigram
	// make a false positive 12% likely for one trigram, and about 0.02%
	// for a six-letter word (four trigrams), independently drawn.
	bitsPerTrigram = 8
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

// trigramHash mixes a 24-bit trigram into 32 bits (murmur3's finaliser):
// a bitset of any power-of-two size uses the low bits, so a bitset can be
// folded in half by OR-ing its halves.
func trigramHash(t uint32) uint32 {
	h := t * 0x9E3779B1
	h ^= h >> 16
	h *= 0x85EBCA6B
	h ^= h >> 13
	h *= 0xC2B2AE35
	h ^= h >> 16
	return h
}

// blockBuilder collects the trigrams of one block's lines. The zero value
// is ready to use; reset makes it reusable.
type blockBuilder struct {
	w            []uint64 // scratchBits bits
	lines        int
	minTs, maxTs int64
}

func (b *blockBuilder) add(ts int64, line string) {
	if b.w == nil {
		b.w = make([]uint64, scratchBits/64)
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
	w := b.w[:scratchBits/64]
	t := uint32(foldTab[line[0]])<<8 | uint32(foldTab[line[1]])
	for i := 2; i < len(line); i++ {
		t = (t<<8 | uint32(foldTab[line[i]])) & 0xFFFFFF
		h := trigramHash(t) & (scratchBits - 1)
		w[h>>6] |= 1 << (h & 63)
	}
}

// finish returns the block's bitset, folded to about bitsPerTrigram bits
// per distinct trigram, and resets b.
func (b *blockBuilder) finish() []uint64 {
	if b.w == nil {
		b.w = make([]uint64, scratchBits/64)
	}
	set := 0
	for _, x := range b.w {
		set += bits.OnesCount64(x)
	}
	// The number of distinct trigrams behind set bits of scratchBits.
	n := float64(scratchBits)
	if set < scratchBits {
		n = -float64(scratchBits) * math.Log(1-float64(set)/scratchBits)
	}
	m := minBlockBits
	for m < scratchBits && float64(m) < n*bitsPerTrigram {
		m *= 2
	}
	w := b.w
	for len(w) > m/64 {
		half := len(w) / 2
		for i := 0; i < half; i++ {
			w[i] |= w[i+half]
		}
		w = w[:half]
	}
	out := append([]uint64(nil), w...)
	clear(b.w)
	b.lines = 0
	return out
}

// hasTrigram says whether bitset w may hold the trigram of hash h.
func hasTrigram(w []uint64, h uint32) bool {
	i := h & uint32(len(w)*64-1)
	return w[i>>6]&(1<<(i&63)) != 0
}

// termNeed is what one line filter asks of a block: any of the
// alternatives, each a set of trigram hashes that must all be there.
type termNeed [][]uint32

// mayMatch says whether a block with bitset w may hold a line every need
// keeps; a nil w (a block without an index) may always.
func mayMatch(w []uint64, needs []termNeed) bool {
	if w == nil {
		return true
	}
	for _, need := range needs {
		ok := false
		for _, alt := range need {
			all := true
			for _, h := range alt {
				if !hasTrigram(w, h) {
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

// lineFilterNeed returns what a line filter pushed down to SQL asks of a
// block, or nil when it cannot rule a block out (a negative filter, a
// value shorter than three bytes, a regexp without literal text).
func lineFilterNeed(f *logql.LineFilter) termNeed {
	if f.IP || f.Op.Negative() {
		return nil
	}
	var need termNeed
	for _, v := range f.Values {
		var hs []uint32
		switch f.Op {
		case logql.LineContains:
			hs = literalTrigrams(v, false, false, nil)
		case logql.LineRegexp:
			re, err := syntax.Parse(v, syntax.Perl)
			if err != nil {
				return nil
			}
			alts := []*syntax.Regexp{re}
			if re.Op == syntax.OpAlternate {
				alts = re.Sub
			}
			for _, alt := range alts {
				var hs []uint32
				for _, l := range requiredLiterals(alt) {
					hs = literalTrigrams(l.s, l.fold, true, hs)
				}
				if len(hs) == 0 {
					return nil
				}
				need = append(need, hs)
			}
			continue
		default:
			return nil
		}
		if len(hs) == 0 {
			return nil // this alternative can match anywhere
		}
		need = append(need, hs)
	}
	return need
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

// literalTrigrams appends to hs the hashes of the trigrams of text s as
// the index holds them. For a regexp's literal (re), a rune that a match
// may spell with other bytes breaks the text: U+FFFD (which also matches
// an invalid byte) and, when fold, every non-ASCII rune and the ASCII
// letters whose case folds reach beyond ASCII (k: U+212A, s: U+017F).
func literalTrigrams(s string, fold, re bool, hs []uint32) []uint32 {
	if !re {
		return appendTrigrams(hs, s)
	}
	seg := 0
	for i, r := range s {
		brk := r == utf8.RuneError
		if fold && !brk {
			brk = r >= utf8.RuneSelf || strings.ContainsRune("kKsS", r)
		}
		if brk {
			hs = appendTrigrams(hs, s[seg:i])
			seg = i + utf8.RuneLen(r)
			if r == utf8.RuneError {
				seg = i + 1
				if i+3 <= len(s) && s[i:i+3] == "\uFFFD" {
					seg = i + 3
				}
			}
		}
	}
	return appendTrigrams(hs, s[seg:])
}

func appendTrigrams(hs []uint32, s string) []uint32 {
	if len(s) < 3 {
		return hs
	}
	t := uint32(foldTab[s[0]])<<8 | uint32(foldTab[s[1]])
	for i := 2; i < len(s); i++ {
		t = (t<<8 | uint32(foldTab[s[i]])) & 0xFFFFFF
		hs = append(hs, trigramHash(t))
	}
	return hs
}
