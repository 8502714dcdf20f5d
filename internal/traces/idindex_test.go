package traces

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The transposed groups answer exactly what the blocks' own filters do:
// over blocks of every filter size, the candidates for an ID are the
// blocks whose filter may hold it, and a block always holds its own IDs.
func TestIDIndexCandidatesMatchFilters(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x idIndex
	type blk struct {
		b    *spanBlock
		w    []uint64
		keys []traceKey
	}
	var all []blk
	for i := range 300 {
		n := 1 + r.IntN(40)
		if i%50 == 0 {
			n = 2000 + r.IntN(3000) // bigger filters, other groups
		}
		keys := map[traceKey]bool{}
		var list []traceKey
		for range n {
			k := traceKey{r.Uint64(), r.Uint64()}
			keys[k] = true
			list = append(list, k)
		}
		w := buildIDFilter(keys)
		b := &spanBlock{id: int64(i)}
		x.add(b, w)
		all = append(all, blk{b, w, list})
	}
	// Remove some, as forget and prune do.
	for i := 0; i < len(all); i += 7 {
		x.remove(all[i].b)
	}
	check := func(k traceKey) {
		got := x.candidates(nil, idHash(k))
		var want []*spanBlock
		for i, bl := range all {
			if i%7 != 0 && hasID(bl.w, idHash(k)) {
				want = append(want, bl.b)
			}
		}
		byID := func(a, b *spanBlock) int { return int(a.id - b.id) }
		slices.SortFunc(got, byID)
		if !slices.Equal(got, want) {
			t.Fatalf("key %v: %d candidates from the groups, %d from the filters", k, len(got), len(want))
		}
	}
	falsePos := 0
	for i, bl := range all {
		for _, k := range bl.keys[:min(3, len(bl.keys))] {
			check(k)
			if i%7 != 0 && !slices.Contains(x.candidates(nil, idHash(k)), bl.b) {
				t.Fatalf("block %d does not answer for its own ID", i)
			}
		}
	}
	for range 2000 {
		k := traceKey{r.Uint64(), r.Uint64()}
		check(k)
		falsePos += len(x.candidates(nil, idHash(k)))
	}
	// 2000 absent IDs over ~257 blocks: at 1e-5 per block, none expected.
	if falsePos > 3 {
		t.Errorf("%d false candidates for 2000 absent IDs over %d blocks", falsePos, len(all))
	}
	if x.missing != 0 || x.bytes == 0 {
		t.Errorf("missing %d, bytes %d", x.missing, x.bytes)
	}
}

// idGen draws requests of random trace IDs, some continuing a trace of an
// earlier request (so one trace spans several blocks), every span with
// its own start time (so both read paths order spans the same way).
type idGen struct {
	r      *rand.Rand
	stored []pcommon.TraceID
	spans  map[pcommon.TraceID]int
	at     time.Duration
	sid    uint64
}

func newIDGen(seed uint64) *idGen {
	return &idGen{r: rand.New(rand.NewPCG(seed, seed^0x51)), spans: map[pcommon.TraceID]int{}}
}

func (g *idGen) randomID() pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], g.r.Uint64())
	binary.BigEndian.PutUint64(id[8:], g.r.Uint64())
	return id
}

func (g *idGen) request() ptrace.Traces {
	td := ptrace.NewTraces()
	for range 1 + g.r.IntN(2) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc%d", g.r.IntN(3)))
		rs.Resource().Attributes().PutInt("pod", int64(g.r.IntN(5)))
		sps := rs.ScopeSpans().AppendEmpty().Spans()
		for range 1 + g.r.IntN(6) {
			id := g.randomID()
			if len(g.stored) > 0 && g.r.IntN(4) == 0 {
				id = g.stored[g.r.IntN(len(g.stored))]
			} else {
				g.stored = append(g.stored, id)
			}
			for range 1 + g.r.IntN(3) {
				sp := sps.AppendEmpty()
				g.sid++
				var s pcommon.SpanID
				binary.BigEndian.PutUint64(s[:], g.sid)
				sp.SetTraceID(id)
				sp.SetSpanID(s)
				sp.SetName(fmt.Sprintf("op%d", g.r.IntN(4)))
				g.at += time.Microsecond
				sp.SetStartTimestamp(ts(g.at))
				sp.SetEndTimestamp(ts(g.at + time.Millisecond))
				sp.Attributes().PutInt("n", int64(g.sid))
				g.spans[id]++
			}
		}
	}
	return td
}

// sameTrace looks id up with and without the trace-ID index and fails
// unless both give the same answer; it returns the spans found.
func sameTrace(t *testing.T, s *Store, id pcommon.TraceID) int {
	t.Helper()
	ctx := context.Background()
	with, ok1, err := s.GetTrace(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s.noIndex = true
	without, ok2, err := s.GetTrace(ctx, id)
	s.noIndex = false
	if err != nil {
		t.Fatal(err)
	}
	if ok1 != ok2 {
		t.Fatalf("trace %v: found %v with the index, %v without", id, ok1, ok2)
	}
	if !ok1 {
		return 0
	}
	if a, b := otlpJSON(t, with), otlpJSON(t, without); a != b {
		t.Fatalf("trace %v differs with the index:\n%s\nwithout:\n%s", id, a, b)
	}
	return with.SpanCount()
}

// Property: over random trace IDs, stored (some across blocks and
// partitions) and absent, a lookup by ID gives the same answer with the
// trace-ID index as without it, reading only a few blocks; and so does a
// fetch of many IDs at once (as a search does).
func TestIDIndexSameTraces(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			var mu sync.Mutex
			now := base.Add(time.Minute)
			clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			s := newStore(t, Options{Now: clk, PartitionDuration: time.Hour})
			g := newIDGen(seed)
			for i := range 150 {
				if i == 75 { // a second partition
					mu.Lock()
					now = now.Add(time.Hour)
					mu.Unlock()
				}
				if _, _, err := s.ConsumeTraces(context.Background(), g.request()); err != nil {
					t.Fatal(err)
				}
			}
			if s.db.Stats().Partitions < 2 {
				t.Fatalf("partitions = %d, want 2", s.db.Stats().Partitions)
			}
			blocks, _, _ := s.blocks.size()
			read := 0
			for i := range 200 {
				id := g.stored[g.r.IntN(len(g.stored))]
				absent := i%3 == 0
				if absent {
					id = g.randomID()
				}
				bs, ok := s.blocks.idBlocks([]traceKey{traceKeyOf(id)})
				if !ok {
					t.Fatal("the index is not used")
				}
				read += len(bs)
				n := sameTrace(t, s, id)
				if want := g.spans[id]; n != want {
					t.Fatalf("trace %v: %d spans, want %d", id, n, want)
				}
			}
			// A stored trace is in 1-3 blocks (a quarter of the traces are
			// continued); far fewer than the blocks held.
			if read > 200*3 || read < 100 {
				t.Errorf("%d blocks read for 200 lookups over %d blocks", read, blocks)
			}
			// Many IDs at once, as FindTraces fetches.
			var keys []traceKey
			for range 30 {
				keys = append(keys, traceKeyOf(g.stored[g.r.IntN(len(g.stored))]), traceKeyOf(g.randomID()))
			}
			with, err := s.fetch(context.Background(), keys)
			if err != nil {
				t.Fatal(err)
			}
			s.noIndex = true
			without, err := s.fetch(context.Background(), keys)
			s.noIndex = false
			if err != nil {
				t.Fatal(err)
			}
			if len(with) != len(without) || len(with) == 0 {
				t.Fatalf("fetch of %d IDs: %d traces with the index, %d without", len(keys), len(with), len(without))
			}
			for k, td := range without {
				if otlpJSON(t, with[k]) != otlpJSON(t, td) {
					t.Fatalf("fetch: trace %v differs", k)
				}
			}
		})
	}
}

func traceKeyOf(id pcommon.TraceID) traceKey {
	hi, lo := traceIDParts(id)
	return traceKey{hi, lo}
}

// idStore writes 12 requests of 5 traces of 2 spans to dir and closes it.
func idStore(t *testing.T, dir string, damage ...string) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, Now: func() time.Time { return base.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	for b := range 12 {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "shop")
		sps := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range 10 {
			sp := sps.AppendEmpty()
			sp.SetTraceID(pcommon.TraceID{0xd0, byte(b), 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, byte(i/2 + 1)})
			sp.SetSpanID(pcommon.SpanID{1, byte(b), 0, 0, 0, 0, 0, byte(i + 1)})
			sp.SetName("GET")
			sp.SetStartTimestamp(ts(time.Duration(b*100+i) * time.Microsecond))
		}
		if _, _, err := s.ConsumeTraces(ctx, td); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range damage {
		if err := s.db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A damaged trace-ID filter (bad checksum, wrong size, filters of one
// block that disagree) or a missing one (a block written before the
// index) makes lookups read trace_index as before, with a warning for the
// damage: never a wrong answer. Without damage the reopened index is
// used.
func TestIDIndexDamagedFallsBack(t *testing.T) {
	for _, c := range []struct {
		name    string
		damage  []string
		used    bool
		warning string
	}{
		{"intact", nil, true, ""},
		{"checksum", []string{"UPDATE p0.span_blocks SET ids = repeat('\\x00', 68)::BLOB WHERE blk = 3"}, false, "trace-ID index damaged"},
		{"size", []string{"UPDATE p0.span_blocks SET ids = '\\x00\\x01'::BLOB WHERE blk = 7"}, false, "trace-ID index damaged"},
		{"two rows", []string{"INSERT INTO p0.span_blocks SELECT blk, bits, ids || ids FROM p0.span_blocks WHERE blk = 2"}, false, "trace-ID index damaged"},
		{"written before", []string{"UPDATE p0.span_blocks SET ids = NULL WHERE blk < 6"}, false, ""},
		{"no row", []string{"DELETE FROM p0.span_blocks WHERE blk = 4"}, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			idStore(t, dir, c.damage...)
			var logged bytes.Buffer
			s, err := Open(context.Background(), Options{Dir: dir, MemoryLimitBytes: 256 << 20, Now: func() time.Time { return base.Add(time.Minute) },
				Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if c.warning != "" && !strings.Contains(logged.String(), c.warning) {
				t.Errorf("log %q, want a warning %q", logged.String(), c.warning)
			}
			if c.warning == "" && logged.Len() > 0 && strings.Contains(logged.String(), "trace-ID") {
				t.Errorf("log %q, want no trace-ID warning", logged.String())
			}
			for b := range 12 {
				for i := range 5 {
					id := pcommon.TraceID{0xd0, byte(b), 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, byte(i + 1)}
					_, ok := s.blocks.idBlocks([]traceKey{traceKeyOf(id)})
					if ok != c.used {
						t.Fatalf("index used: %v, want %v", ok, c.used)
					}
					if n := sameTrace(t, s, id); n != 2 {
						t.Fatalf("trace %d/%d: %d spans, want 2", b, i, n)
					}
				}
			}
			if n := sameTrace(t, s, pcommon.TraceID{0xd0, 99}); n != 0 {
				t.Fatalf("absent trace: %d spans", n)
			}
		})
	}
}

// The trace-ID filters count in the tag index's memory (its gauge and its
// cap, Budget.TraceTags): vigil_traces_id_index_bytes is their part;
// retention frees them; past the cap they are dropped, oldest first, and
// lookups read trace_index, with the same answers.
func TestIDIndexMemory(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newStore(t, Options{Registerer: reg})
	g := newIDGen(7)
	for range 70 {
		if _, _, err := s.ConsumeTraces(context.Background(), g.request()); err != nil {
			t.Fatal(err)
		}
	}
	_, total, ids := s.blocks.size()
	// 70 blocks of at most 12 traces: filters of 512 bits, 64 to a group.
	if want := int64(2 * 512 * 64 / 8); ids != want {
		t.Errorf("trace-ID filters hold %d bytes, want 2 groups of 64 filters of 512 bits, %d", ids, want)
	}
	if got := testutil.ToFloat64(s.m.idIndexBytes); got != float64(ids) {
		t.Errorf("vigil_traces_id_index_bytes = %v, want %d", got, ids)
	}
	if got := testutil.ToFloat64(s.m.indexBytes); got != float64(total) || total <= ids {
		t.Errorf("vigil_traces_tag_index_bytes = %v (total %d), want the tag and trace-ID filters, more than %d", got, total, ids)
	}
	s.blocks.prune(1 << 40) // every partition dropped
	if _, total, ids := s.blocks.size(); total != 0 || ids != 0 || s.blocks.ids.missing != 0 || len(s.blocks.ids.groups) != 0 {
		t.Errorf("after retention: %d bytes, %d of IDs, %d missing, %d groups; want none", total, ids, s.blocks.ids.missing, len(s.blocks.ids.groups))
	}

	// A cap smaller than the ID filters: they go, lookups still answer.
	capped := newStore(t, Options{TagIndexMaxBytes: 6000})
	g = newIDGen(8)
	for range 70 {
		if _, _, err := capped.ConsumeTraces(context.Background(), g.request()); err != nil {
			t.Fatal(err)
		}
	}
	if _, total, ids := capped.blocks.size(); total > 6000 || ids > 6000 {
		t.Errorf("capped index holds %d bytes (%d of IDs), cap 6000", total, ids)
	}
	if _, ok := capped.blocks.idBlocks([]traceKey{{1, 2}}); ok {
		t.Errorf("the index is used with filters dropped")
	}
	for _, id := range g.stored[:40] {
		if n := sameTrace(t, capped, id); n != g.spans[id] {
			t.Fatalf("capped: trace %v: %d spans, want %d", id, n, g.spans[id])
		}
	}
}

// BenchmarkIDCandidates is the in-memory part of a lookup by ID over the
// blocks of 10M and 50M benchmark spans (999 spans, 333 traces a block).
func BenchmarkIDCandidates(b *testing.B) {
	for _, blocks := range []int{10_000, 50_000} {
		b.Run(fmt.Sprint(blocks), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			var x idIndex
			keys := map[traceKey]bool{}
			var some []traceKey
			for i := range blocks {
				clear(keys)
				for range 333 {
					keys[traceKey{r.Uint64(), r.Uint64()}] = true
				}
				for k := range keys {
					some = append(some, k)
					break
				}
				x.add(&spanBlock{id: int64(i)}, buildIDFilter(keys))
			}
			b.ResetTimer()
			found := 0
			for i := 0; b.Loop(); i++ {
				found += len(x.candidates(nil, idHash(some[i%len(some)])))
			}
			if found < b.N {
				b.Fatalf("%d blocks found for %d stored IDs", found, b.N)
			}
			b.ReportMetric(float64(x.bytes)/float64(blocks), "bytes/block")
		})
	}
}
