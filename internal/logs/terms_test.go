package logs

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// Every trigram of every line of a block is found in its folded bitset,
// whatever the bitset's final size.
func TestBlockBitsHoldTheirLines(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 10, 300, 5000} {
		var b blockBuilder
		var lines []string
		for i := 0; i < n; i++ {
			l := randomLine(r)
			lines = append(lines, l)
			b.add(int64(i), l)
		}
		w := b.finish()
		if len(w)*64 < minBlockBits || len(w)&(len(w)-1) != 0 {
			t.Fatalf("%d lines: bitset of %d words, want a power of two of at least %d bits", n, len(w), minBlockBits)
		}
		for _, l := range lines {
			// The line, and every text of three bytes or more in it, in
			// any ASCII case, may be in the block.
			for k := 0; k < 5; k++ {
				i := r.IntN(len(l))
				j := min(len(l), i+3+r.IntN(8))
				sub := l[i:j]
				if r.IntN(2) == 0 {
					sub = asciiUpper(sub)
				}
				if n := segmentNeed(sub); n != nil && !mayMatch(w, layoutWordPair, []termNeed{n}) {
					t.Fatalf("%d lines: %q (from %q) ruled out", len(lines), sub, l)
				}
			}
			if n := segmentNeed(l); n != nil && !mayMatch(w, layoutWordPair, []termNeed{n}) {
				t.Fatalf("%d lines: %q ruled out", len(lines), l)
			}
		}
		// The scratch space is clean for the next block.
		if w2 := b.finish(); len(w2)*64 != minBlockBits {
			t.Fatalf("empty block after reuse: %d bits, want %d", len(w2)*64, minBlockBits)
		}
	}
	// A block of 2000 varied lines stays small and still rules out a
	// word it does not hold.
	var b blockBuilder
	for i := 0; i < 2000; i++ {
		b.add(int64(i), randomLine(r))
	}
	w := b.finish()
	if len(w)*8 > 64<<10 {
		t.Errorf("2000 lines: %d bytes of bitset, want at most 64 KiB", len(w)*8)
	}
	if mayMatch(w, layoutWordPair, []termNeed{segmentNeed("zyxwvq")}) {
		t.Errorf("2000 lines: a word they do not hold is not ruled out")
	}
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestRequiredLiterals(t *testing.T) {
	f := func(re string, want ...literal) {
		t.Helper()
		p, err := syntax.Parse(re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		got := requiredLiterals(p)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(literal{})); diff != "" {
			t.Errorf("requiredLiterals(%q): -want +got\n%s", re, diff)
		}
	}
	f("needle", literal{"needle", false})
	f("(?i)needle", literal{"NEEDLE", true}) // Go spells folded literals in upper case
	f("time.?out", literal{"time", false}, literal{"out", false})
	f("a(bc)+d*", literal{"a", false}, literal{"bc", false})
	f("(foo){2,}x?", literal{"foo", false})
	f("x*")
	f("[ab]cd", literal{"cd", false})
	f("ab(?i)cd", literal{"ab", false}, literal{"CD", true})
	f("^err(or)?$", literal{"err", false})
}

func TestLineFilterNeeds(t *testing.T) {
	// f checks the needs of a query's first line filter: how many, and
	// how many alternatives each has.
	f := func(q string, alts ...int) {
		t.Helper()
		var got []int
		for _, n := range plan(nil, 0, 1, mustStages(t, q)).needs {
			got = append(got, len(n))
		}
		if diff := cmp.Diff(alts, got); diff != "" {
			t.Errorf("%s: alternatives per need -want +got\n%s", q, diff)
		}
	}
	f(`{a="b"} |= "needle"`, 1)
	f(`{a="b"} |= "needle" or "haystack"`, 2)
	f(`{a="b"} |= "ne"`)            // too short
	f(`{a="b"} |= "needle" or "x"`) // "x" may be anywhere
	f(`{a="b"} != "needle"`)        // negative
	f(`{a="b"} |~ "needle|hay.*stack"`, 2)
	f(`{a="b"} |~ "time.?out.*error"`, 1, 1, 1) // "time", "out", "error"
	f(`{a="b"} |~ "n.e.e.d"`)
	f(`{a="b"} |~ "(?i)ßtraße"`, 1) // "tra"
	f(`{a="b"} |~ "(?i)ßtäße"`)     // every ASCII run is short
	f(`{a="b"} |~ "(?i)kelvin"`, 1) // "elvin": k is not safe
	f(`{a="b"} |~ "(?i)kelvin|st"`)
	f(`{a="b"} |> "<_> needle"`)    // patterns stay in Go
	f(`{a="b"} | json |= "needle"`) // after a parser: not pushed down
	f(`{a="b"} |= "needle" |= "hay"`, 1, 1)
}

func mustStages(t *testing.T, q string) []logql.Stage {
	t.Helper()
	e, err := logql.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	return e.(*logql.LogExpr).Stages
}

// vocabulary of the property test: case variants, Unicode folds (the
// Kelvin sign folds to k, the long s to s), prefixes and suffixes of one
// another, U+FFFD; a quote, a backslash and a question mark, which the
// indexed query writes into its SQL as literals.
var termWords = []string{
	"needle", "Needle", "NEEDLE", "needles", "haystack", "hay", "stack",
	"time", "timeout", "time-out", "TimeOut", "out", "error", "err", "ERROR",
	"\u212Aelvin", "kelvin", "Kelvin", "\u017Ftop", "stop", "STOP",
	"straße", "STRASSE", "Straße", "naïve", "NAÏVE", "\ufffd",
	"a", "ab", "abc", "x", "42", "4242", "user=alice", "user=bob",
	"it's", "it''s", `c:\\path`, "what?", "wha",
}

func randomLine(r *rand.Rand) string {
	n := 1 + r.IntN(8)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = termWords[r.IntN(len(termWords))]
		if r.IntN(4) == 0 {
			parts[i] += termWords[r.IntN(len(termWords))] // glued: substrings across words
		}
	}
	return strings.Join(parts, []string{" ", "", "_", "\t"}[r.IntN(4)])
}

func randomFilter(r *rand.Rand) string {
	w := func() string { return termWords[r.IntN(len(termWords))] }
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	reQ := func(s string) string { return q(regexp.QuoteMeta(s)) }
	switch r.IntN(9) {
	case 0:
		return "|= " + q(w())
	case 1:
		return "|= " + q(w()) + " or " + q(w())
	case 2:
		return "|~ " + q("(?i)"+regexp.QuoteMeta(w()))
	case 3:
		return "|~ " + q(regexp.QuoteMeta(w())+".*"+regexp.QuoteMeta(w()))
	case 4:
		return "|~ " + q(regexp.QuoteMeta(w())+"|"+regexp.QuoteMeta(w()))
	case 5:
		return "!= " + q(w())
	case 6:
		return "|~ " + q("(?i)("+regexp.QuoteMeta(w())+")+ ?"+regexp.QuoteMeta(w()))
	case 7:
		return "|~ " + reQ(w())
	default:
		return "|= " + q(w()+" "+w())
	}
}

// termStore writes blocks of random lines (one push request each) to
// three streams over ten minutes.
func termStore(t *testing.T, r *rand.Rand, opts Options, blocks int) *Store {
	s := openStore(t, opts)
	ctx := context.Background()
	for b := 0; b < blocks; b++ {
		streams := []Stream{
			{Labels: []Label{{"app", "a"}, {"env", "prod"}}},
			{Labels: []Label{{"app", "b"}, {"env", "prod"}}},
			{Labels: []Label{{"app", "c"}, {"env", "dev"}}},
		}
		n := 1 + r.IntN(6)
		for i := 0; i < n; i++ {
			st := &streams[r.IntN(len(streams))]
			st.Entries = append(st.Entries, Entry{Timestamp: t0 + int64(r.IntN(600))*int64(time.Second) + int64(b), Line: randomLine(r)})
		}
		if _, _, err := s.AppendStreams(ctx, streams); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// sameRows runs q with and without the term index and fails when the
// answers differ; it returns the number of entries or samples found.
func sameRows(t *testing.T, s *Store, q Query) int {
	t.Helper()
	ctx := context.Background()
	s.noIndex = true
	want, err := s.Query(ctx, q)
	s.noIndex = false
	if err != nil {
		t.Fatalf("%s: %v", q.Expr, err)
	}
	got, err := s.Query(ctx, q)
	if err != nil {
		t.Fatalf("%s with the index: %v", q.Expr, err)
	}
	if diff := cmp.Diff(want.Streams, got.Streams); diff != "" {
		t.Fatalf("%s: the index changes the lines (-scan +index):\n%s", q.Expr, diff)
	}
	if diff := cmp.Diff(want.Series, got.Series); diff != "" {
		t.Fatalf("%s: the index changes the series (-scan +index):\n%s", q.Expr, diff)
	}
	n := 0
	for _, st := range want.Streams {
		n += len(st.Entries)
	}
	for _, se := range want.Series {
		n += len(se.Samples)
	}
	return n
}

// Queries return the same rows with and without the term index, over
// random data and random line filters (substring, case-insensitive and
// other regexps, alternatives, negations, chains of them).
func TestTermIndexSameRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := termStore(t, r, Options{}, 200)
	end := t0 + int64(10*time.Minute)
	nonEmpty, used := 0, 0
	for i := 0; i < 300; i++ {
		// {app=~".+"} keeps every stream: the indexed query then checks
		// stream IDs in Go instead of SQL.
		sel := []string{`{env="prod"}`, `{app="c"}`, `{app=~"a|c"}`, `{app=~".+"}`}[r.IntN(4)]
		pipe := randomFilter(r)
		if r.IntN(3) == 0 {
			pipe += " " + randomFilter(r)
		}
		expr := sel + " " + pipe
		if r.IntN(5) == 0 {
			// Conditions on the columns a lean source gives as NULL.
			expr += []string{` | trace_id = ""`, ` | span_id != ""`}[r.IntN(2)]
		}
		f := plan(nil, t0, end, mustStages(t, expr))
		if _, ok := s.blocks.ranges(t0, end+1, f.needs); ok {
			used++
		}
		q := Query{Expr: expr, Start: t0, End: end + 1, Limit: 1000, Direction: Direction(r.IntN(2))}
		if r.IntN(4) == 0 {
			q.Limit = 3 // stops early, in windows
		}
		if r.IntN(3) == 0 {
			// A range that cuts blocks: their branches keep the time bounds.
			q.Start = t0 + int64(r.IntN(300))*int64(time.Second)
			q.End = q.Start + int64(1+r.IntN(300))*int64(time.Second)
		}
		if r.IntN(3) == 0 {
			q.Expr = fmt.Sprintf("sum by (app) (count_over_time(%s [1m]))", expr)
			q.Step = time.Minute
		}
		run := func() {
			if sameRows(t, s, q) > 0 {
				nonEmpty++
			}
		}
		if r.IntN(4) == 0 {
			withEveryColumn(s, run) // not the lean source
		} else {
			run()
		}
	}
	if nonEmpty < 100 || used < 30 {
		t.Fatalf("only %d of 300 queries found something and %d used the index: the test proves little", nonEmpty, used)
	}
}

// A rare word skips the blocks that cannot hold it.
func TestTermIndexSkipsBlocks(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	for b := 0; b < 50; b++ {
		st := Stream{Labels: []Label{{"app", "a"}}}
		for i := 0; i < 100; i++ {
			line := fmt.Sprintf("request %d of block %d took %dms", i, b, i*b)
			if b == 17 && i == 3 {
				line += " NeedLe"
			}
			st.Entries = append(st.Entries, Entry{Timestamp: t0 + int64(b*100+i), Line: line})
		}
		if _, _, err := s.AppendStreams(ctx, []Stream{st}); err != nil {
			t.Fatal(err)
		}
	}
	for _, expr := range []string{`{app="a"} |= "NeedLe"`, `{app="a"} |~ "(?i)needle"`, `{app="a"} |~ "Need.e|NeedLe"`} {
		f := plan(nil, t0, t0+5000, mustStages(t, expr))
		rs, ok := s.blocks.ranges(t0, t0+5000, f.needs)
		has17 := slices.ContainsFunc(rs, func(r blockRange) bool { return r.lo <= 17 && 17 <= r.hi })
		// "Need.e" asks for two trigrams only: a false positive is about
		// 1% likely in each of the 49 other blocks.
		if !ok || !has17 || len(rs) > 3 {
			t.Errorf("%s: ranges %v (used %v), want block 17 and at most two false positives", expr, rs, ok)
		}
		if n := sameRows(t, s, Query{Expr: expr, Start: t0, End: t0 + 5000, Limit: 100}); n != 1 {
			t.Errorf("%s: %d lines, want 1", expr, n)
		}
	}
	// A word in every block reads the whole table.
	f := plan(nil, t0, t0+5000, mustStages(t, `{app="a"} |= "request"`))
	if _, ok := s.blocks.ranges(t0, t0+5000, f.needs); ok {
		t.Errorf("a common word uses the index")
	}
}

// A damaged or missing index entry, and records written before the index,
// are read by every query, with a warning when the store opens: never a
// wrong answer.
func TestTermIndexDamagedFallsBack(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, RejectOldSamplesMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 10; b++ {
		st := Stream{Labels: []Label{{"app", "a"}}}
		for i := 0; i < 20; i++ {
			st.Entries = append(st.Entries, Entry{Timestamp: t0 + int64(b*100+i), Line: fmt.Sprintf("line %d of block %d", i, b)})
		}
		st.Entries[5].Line += fmt.Sprintf(" needle%d", b)
		if _, _, err := s.AppendStreams(ctx, []Stream{st}); err != nil {
			t.Fatal(err)
		}
	}
	// Blocks 0..9; partition p0 (the first).
	for _, stmt := range []string{
		"UPDATE p0.log_blocks SET bits = '\\x00\\x01\\x02'::BLOB WHERE blk = 2",   // wrong size
		"UPDATE p0.log_blocks SET bits = repeat('\\x00', 68)::BLOB WHERE blk = 3", // bad checksum
		"DELETE FROM p0.log_blocks WHERE blk = 4",                                 // missing
		"UPDATE p0.logs SET blk = NULL WHERE blk = 5",                             // before the index
	} {
		if err := s.db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	s, err = Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, RejectOldSamplesMaxAge: -1,
		Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := logged.String()
	if !strings.Contains(out, "log term index incomplete") || !strings.Contains(out, "blocks=4") {
		t.Errorf("warning: got %q, want one naming 4 blocks read by every query", out)
	}
	for b := 0; b < 10; b++ {
		if n := sameRows(t, s, Query{Expr: fmt.Sprintf(`{app="a"} |= "needle%d"`, b), Start: t0, End: t0 + 2000, Limit: 100}); n != 1 {
			t.Errorf("needle%d: %d lines, want 1", b, n)
		}
	}
}

// Bitsets written by an older Vigil, one bit a trigram, are still read
// as such beside the word-pair ones: each block is skipped or read as its
// own bitset says, and no needle is missed.
func TestTermIndexReadsOneBitBitsets(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, RejectOldSamplesMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	var old []string // blocks 0, 2, 4, ...: rewritten as an older Vigil wrote them
	// Words that share no trigram with each other or the lines.
	words := []string{"quokka", "zephyr", "jackal", "wombat", "vixens", "axolotl", "gazump", "bisque", "kiwano", "yuccas"}
	for b := 0; b < 10; b++ {
		st := Stream{Labels: []Label{{"app", "a"}}}
		const logBits = 12
		w := make([]uint64, 1<<logBits/64)
		for i := 0; i < 20; i++ {
			line := fmt.Sprintf("line %d of block %d", i, b)
			if i == 5 {
				line += " " + words[b]
			}
			st.Entries = append(st.Entries, Entry{Timestamp: t0 + int64(b*100+i), Line: line})
			for j := 0; j+3 <= len(line); j++ {
				h := trigramHash(uint32(foldTab[line[j]])<<16|uint32(foldTab[line[j+1]])<<8|uint32(foldTab[line[j+2]])) >> (32 - logBits)
				w[h>>6] |= 1 << (h & 63)
			}
		}
		if _, _, err := s.AppendStreams(ctx, []Stream{st}); err != nil {
			t.Fatal(err)
		}
		if b%2 == 0 {
			old = append(old, fmt.Sprintf("UPDATE p0.log_blocks SET bits = unhex('%x') WHERE blk = %d", encodeBits(w, layoutOneBit), b))
		}
	}
	for _, stmt := range old {
		if err := s.db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	s, err = Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, RejectOldSamplesMaxAge: -1,
		Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if logged.Len() > 0 {
		t.Errorf("warnings: %s", logged.String())
	}
	for _, b := range s.blocks.blocks {
		if want := 1 + int(b.id%2); b.layout != want || len(b.bits) == 0 {
			t.Errorf("block %d: %d words of layout %d, want %d", b.id, len(b.bits), b.layout, want)
		}
	}
	for b := 0; b < 10; b++ {
		expr := fmt.Sprintf(`{app="a"} |= "%s"`, words[b])
		rs, ok := s.blocks.ranges(t0, t0+2000, plan(nil, t0, t0+2000, mustStages(t, expr)).needs)
		if !ok || len(rs) != 1 || rs[0].lo != int64(b) {
			t.Errorf("%s: ranges %v (used %v), want block %d alone", expr, rs, ok, b)
		}
		if n := sameRows(t, s, Query{Expr: expr, Start: t0, End: t0 + 2000, Limit: 100}); n != 1 {
			t.Errorf("%s: %d lines, want 1", expr, n)
		}
	}
}

// FuzzDecodeBits: a stored bitset either decodes to what encodes back to
// the same bytes, or is refused; never a panic.
func FuzzDecodeBits(f *testing.F) {
	f.Add(encodeBits(make([]uint64, minBlockBits/64), 1))
	f.Add(encodeBits(make([]uint64, minBlockBits/64), layoutWordPair))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		w, layout, err := decodeBits(raw)
		if err != nil {
			return
		}
		if got := encodeBits(w, layout); !bytes.Equal(got, raw) {
			t.Fatalf("%x decodes to %d words of layout %d, which encode to %x", raw, len(w), layout, got)
		}
	})
}

// Case-insensitive filters find every spelling Go's (?i) matches, in
// blocks of one line each, so that a block wrongly ruled out is missed.
func TestTermIndexCaseFolds(t *testing.T) {
	s := openStore(t, Options{})
	lines := []string{
		"\u212Aelvin", "a\u212Aelvin", "KELVIN", "\u017Ftopped", "a\u017Ftopped", "STOPPED",
		"straße", "xSTRAßE", "NAÏVE", "naïve", "xnaïve", "time-out", "timeXout",
	}
	for i, l := range lines {
		// Filler lines, so a bitset is not all ones.
		st := Stream{Labels: []Label{{"app", "a"}}, Entries: []Entry{{Timestamp: t0 + int64(i*10), Line: l}}}
		for j := 1; j < 5; j++ {
			st.Entries = append(st.Entries, Entry{Timestamp: t0 + int64(i*10+j), Line: fmt.Sprintf("filler %d", j)})
		}
		if _, _, err := s.AppendStreams(context.Background(), []Stream{st}); err != nil {
			t.Fatal(err)
		}
	}
	f := func(expr string, want int) {
		t.Helper()
		if n := sameRows(t, s, Query{Expr: expr, Start: t0, End: t0 + 1000, Limit: 100}); n != want {
			t.Errorf("%s: %d lines, want %d", expr, n, want)
		}
	}
	f(`{app="a"} |~ "(?i)kelvin"`, 3)
	f(`{app="a"} |~ "(?i)aKELVIN"`, 1)
	f(`{app="a"} |~ "(?i)stopped"`, 3)
	f(`{app="a"} |~ "(?i)astopped"`, 1)
	f(`{app="a"} |~ "(?i)straße"`, 2)
	f(`{app="a"} |~ "(?i)naïve"`, 3)
	f(`{app="a"} |~ "(?i)xnaïve"`, 1)
	f(`{app="a"} |~ "time.out"`, 2)
	f(`{app="a"} |= "KELVIN"`, 1)
	f(`{app="a"} |~ "KELVIN|tim(e-|eX)out"`, 3)
}

// The term index's memory cap: past it the oldest blocks lose their
// bitsets (those blocks are then read by every filtered query), the
// newest keep theirs, answers do not change, and a reopened store keeps
// to the cap too.
func TestTermIndexMemoryCap(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	write := func(s *Store, from, to int) {
		for b := from; b < to; b++ {
			st := Stream{Labels: []Label{{"app", "a"}}}
			for i := 0; i < 20; i++ {
				line := fmt.Sprintf("request %d of block %d", i, b)
				if i == 3 {
					line += fmt.Sprintf(" word%dz", b)
				}
				st.Entries = append(st.Entries, Entry{Timestamp: t0 + int64(b*100+i), Line: line})
			}
			if _, _, err := s.AppendStreams(ctx, []Stream{st}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, RejectOldSamplesMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	write(s, 0, 1)
	_, one := s.blocks.size()
	s.Close()
	if one == 0 {
		t.Fatal("a block has no bitset")
	}
	cap := 5*one + one/2 // room for five blocks' bitsets
	open := func() *Store {
		s, err := Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, RejectOldSamplesMaxAge: -1, TermIndexMaxBytes: cap})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s = open()
	write(s, 1, 20)
	check := func(s *Store) {
		t.Helper()
		if _, b := s.blocks.size(); b > cap {
			t.Fatalf("term index %d bytes, cap %d", b, cap)
		}
		for _, b := range []int{0, 7, 19} {
			expr := fmt.Sprintf(`{app="a"} |= "word%dz"`, b)
			if n := sameRows(t, s, Query{Expr: expr, Start: t0, End: t0 + 3000, Limit: 100}); n != 1 {
				t.Errorf("%s: %d lines, want 1", expr, n)
			}
		}
		// Over the newest blocks, still indexed, a word skips the others.
		f := plan(nil, t0+1500, t0+2000, mustStages(t, `{app="a"} |= "word19z"`))
		rs, ok := s.blocks.ranges(t0+1500, t0+2000, f.needs)
		if !ok || len(rs) == 0 || rs[len(rs)-1].hi != 19 {
			t.Errorf("the newest block's word: ranges %v (used %v)", rs, ok)
		}
	}
	check(s)
	s.Close()
	check(open())
}

func TestInlineArgs(t *testing.T) {
	f := func(where string, args []any, want string, wantOK bool) {
		t.Helper()
		got, ok := inlineArgs(where, args)
		if ok != wantOK || got != want {
			t.Errorf("inlineArgs(%q, %v) = %q, %v; want %q, %v", where, args, got, ok, want, wantOK)
		}
	}
	f("ts >= ? AND ts < ?", []any{int64(-5), int64(7)}, "ts >= -5 AND ts < 7", true)
	f("contains(line, ?)", []any{`it's \n what?`}, `contains(line, 'it''s \n what?')`, true)
	f("contains(line, ?) AND level = ?", []any{"?", int64(2)}, "contains(line, '?') AND level = 2", true)
	f("contains(line, ?)", []any{"a\x00b"}, "", false)
	f("contains(line, ?)", []any{"\xff"}, "", false)
	f("x = ?", []any{1.5}, "", false)
	f("x = ? AND y = ?", []any{int64(1)}, "", false)
	f("x = ?", []any{int64(1), int64(2)}, "", false)
	f("true", nil, "true", true)
}

// FuzzBlockBuilderAdd: the eight-byte loop sets the bits the byte loop
// sets, for any bytes (capitals, bytes over 0x7F, every length).
func FuzzBlockBuilderAdd(f *testing.F) {
	for _, s := range []string{"", "ab", "abc", "Hello, World! 0123", "ZZAA@[`{\x80\xc1\xda\xff", "request 4321 served in 12ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var b blockBuilder
		b.add(0, line)
		want := make([]uint64, scratchBits/64)
		addTrigrams(want, line) // the whole line one byte at a time
		if !slices.Equal(b.w[:], want) {
			t.Fatalf("%q: the eight-byte loop sets other bits than the byte loop", line)
		}
	})
}

func TestFold8(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			x := uint64(0x41_7a_80_5b_40_5a_61_ff) // neighbours of every kind
			x = x&^(0xFF<<(8*pos)) | uint64(c)<<(8*pos)
			got := fold8(x)
			for k := 0; k < 8; k++ {
				in, out := byte(x>>(8*k)), byte(got>>(8*k))
				if out != foldTab[in] {
					t.Fatalf("fold8(%#x): byte %d %#x -> %#x, want %#x", x, k, in, out, foldTab[in])
				}
			}
		}
	}
}

// A request of more than maxBlockLines records is cut into blocks of
// equal size, each with its own bitset: a rare word reads only its own.
func TestTermIndexCutsLargeRequests(t *testing.T) {
	s := openStore(t, Options{})
	st := Stream{Labels: []Label{{"app", "a"}}}
	for i := 0; i < 3000; i++ {
		line := fmt.Sprintf("request %d took %dms", i, i%97)
		if i == 2500 {
			line += " zebra"
		}
		st.Entries = append(st.Entries, Entry{Timestamp: t0 + int64(i), Line: line})
	}
	if _, _, err := s.AppendStreams(context.Background(), []Stream{st}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.blocks.size(); n != 3 {
		t.Fatalf("%d blocks for a request of 3000 records, want 3", n)
	}
	var blks []int64
	err := s.db.Query(context.Background(), telemetrydb.TimeRange{}, "SELECT blk, count(*), min(ts), max(ts) FROM {{logs}} GROUP BY blk ORDER BY blk", nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var blk, n, lo, hi int64
			if err := rows.Scan(&blk, &n, &lo, &hi); err != nil {
				return err
			}
			if n != 1000 || hi-lo != 999 {
				t.Errorf("block %d: %d records from %d to %d, want 1000 consecutive", blk, n, lo-t0, hi-t0)
			}
			blks = append(blks, blk)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	expr := `{app="a"} |= "zebra"`
	f := plan(nil, t0, t0+3000, mustStages(t, expr))
	rs, ok := s.blocks.ranges(t0, t0+3000, f.needs)
	if !ok || len(rs) != 1 || rs[0].lo != blks[2] || rs[0].hi != blks[2] {
		t.Fatalf("ranges %v (used %v), want the third block (%v) alone", rs, ok, blks)
	}
	if n := sameRows(t, s, Query{Expr: expr, Start: t0, End: t0 + 3000, Limit: 10}); n != 1 {
		t.Fatalf("%d lines, want 1", n)
	}
}
