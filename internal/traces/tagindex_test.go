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
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// tagGen draws random spans and searches from a small vocabulary, so that
// searches find something and blocks differ in what they hold.
type tagGen struct {
	r    *rand.Rand
	req  uint64
	keys []string
	// kv are key=value pairs stored, as search text, for queries to draw.
	kv [][2]string
}

func newTagGen(seed uint64) *tagGen {
	return &tagGen{r: rand.New(rand.NewPCG(seed, seed^0x9e37)),
		keys: []string{"a", "b", "http.status_code", "m", "x.y", "event", "error", "peer"}}
}

func (g *tagGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// value puts a random scalar under k in m and returns its search text.
func (g *tagGen) value(m pcommon.Map, k string) string {
	switch g.r.IntN(6) {
	case 0:
		i := int64(g.r.IntN(40))
		m.PutInt(k, i)
		return fmt.Sprint(i)
	case 1:
		f := float64(g.r.IntN(20)) / 4
		m.PutDouble(k, f)
		return fmt.Sprint(f)
	case 2:
		b := g.r.IntN(2) == 0
		m.PutBool(k, b)
		return fmt.Sprint(b)
	default:
		s := fmt.Sprintf("v%d", g.r.IntN(60))
		if g.r.IntN(10) == 0 {
			s = "q\"uo\\te ü" + s
		}
		m.PutStr(k, s)
		return s
	}
}

func (g *tagGen) attrs(m pcommon.Map, top bool, depth int) {
	for range g.r.IntN(4) {
		k := g.pick(g.keys)
		switch n := g.r.IntN(8); {
		case n == 0 && depth < 2:
			inner := m.PutEmptyMap(k)
			g.attrs(inner, false, depth+1)
			if top {
				for ik, iv := range inner.All() {
					if iv.Type() != pcommon.ValueTypeMap && iv.Type() != pcommon.ValueTypeSlice {
						g.kv = append(g.kv, [2]string{k + "." + ik, iv.AsString()})
					}
				}
			}
		case n == 1 && depth < 2:
			sl := m.PutEmptySlice(k)
			sl.AppendEmpty().SetStr(fmt.Sprintf("v%d", g.r.IntN(60)))
			g.attrs(sl.AppendEmpty().SetEmptyMap(), false, depth+1)
		default:
			g.kv = append(g.kv, [2]string{k, g.value(m, k)})
		}
	}
}

// request returns a request of a few spans (one block).
func (g *tagGen) request(t0 time.Time) ptrace.Traces {
	g.req++
	td := ptrace.NewTraces()
	for range 1 + g.r.IntN(2) {
		rs := td.ResourceSpans().AppendEmpty()
		if g.r.IntN(8) > 0 {
			rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc%d", g.r.IntN(4)))
		}
		g.attrs(rs.Resource().Attributes(), false, 1)
		for range 1 + g.r.IntN(2) {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(fmt.Sprintf("scope%d", g.r.IntN(3)))
			for range 1 + g.r.IntN(5) {
				sp := ss.Spans().AppendEmpty()
				var id pcommon.TraceID
				binary.BigEndian.PutUint64(id[:8], g.req)
				binary.BigEndian.PutUint64(id[8:], uint64(1+g.r.IntN(3)))
				sp.SetTraceID(id)
				sp.SetSpanID(pcommon.SpanID{1, byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256)), 5, 6, 7, 8})
				sp.SetName(fmt.Sprintf("op%d", g.r.IntN(8)))
				sp.SetKind(ptrace.SpanKind(g.r.IntN(6)))
				sp.Status().SetCode(ptrace.StatusCode(g.r.IntN(3)))
				if g.r.IntN(3) == 0 {
					sp.Status().SetMessage(fmt.Sprintf("msg%d", g.r.IntN(10)))
				}
				st := t0.Add(time.Duration(g.r.IntN(1000)) * time.Microsecond)
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(st))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(st.Add(time.Millisecond)))
				g.attrs(sp.Attributes(), true, 0)
				if g.r.IntN(3) == 0 {
					e := sp.Events().AppendEmpty()
					name := fmt.Sprintf("ev%d", g.r.IntN(10))
					e.SetName(name)
					g.kv = append(g.kv, [2]string{"event", name})
					g.attrs(e.Attributes(), false, 1)
				}
			}
		}
	}
	return td
}

// query draws a search: sometimes a service or operation, one or two
// tags, mostly stored pairs, sometimes derived tags or pairs never stored.
func (g *tagGen) query(end int64) TraceQuery {
	q := TraceQuery{Tags: map[string]string{}, Limit: 10000, StartMax: end}
	if g.r.IntN(2) == 0 {
		q.Service = fmt.Sprintf("svc%d", g.r.IntN(5))
	}
	if g.r.IntN(4) == 0 {
		q.Operation = fmt.Sprintf("op%d", g.r.IntN(9))
	}
	derived := [][2]string{{"span.kind", "server"}, {"span.kind", "client"}, {"error", "true"},
		{"otel.status_code", "ERROR"}, {"otel.status_code", "OK"}, {"otel.status_description", "msg3"},
		{"otel.scope.name", "scope1"}, {"otel.scope.version", ""}, {"w3c.tracestate", ""},
		{"a", "never"}, {"http.status_code", "17.0"}, {"event", "ev4"}}
	for range 1 + g.r.IntN(2) {
		var kv [2]string
		if g.r.IntN(4) == 0 || len(g.kv) == 0 {
			kv = derived[g.r.IntN(len(derived))]
		} else {
			kv = g.kv[g.r.IntN(len(g.kv))]
		}
		q.Tags[kv[0]] = kv[1]
	}
	return q
}

func sortedKeys(ks []traceKey) []traceKey {
	ks = slices.Clone(ks)
	slices.SortFunc(ks, func(a, b traceKey) int {
		if a.hi != b.hi {
			return cmpUint(a.hi, b.hi)
		}
		return cmpUint(a.lo, b.lo)
	})
	return ks
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sameTraces runs q with and without the tag index and fails unless both
// find the same traces; it returns how many and whether the index could
// rule blocks out.
func sameTraces(t *testing.T, s *Store, q TraceQuery) (int, bool) {
	t.Helper()
	ctx := context.Background()
	with, err := s.FindTraceIDs(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	s.noIndex = true
	without, err := s.FindTraceIDs(ctx, q)
	s.noIndex = false
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sortedKeys(with), sortedKeys(without)) {
		t.Fatalf("query %+v: %d traces with the index, %d without", q, len(with), len(without))
	}
	_, used := s.blocks.ranges(0, 1<<62, queryNeeds(q))
	return len(with), used
}

// Property: over random spans (attributes of every scalar type, maps,
// arrays of maps, events, resources, statuses) and random searches, the
// tag index never changes the traces found (the requests 250 ms apart,
// so that a search walks several of its time windows).
func TestTagIndexSameTraces(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newStore(t, Options{})
			g := newTagGen(seed)
			for i := range 80 {
				if _, _, err := s.ConsumeTraces(context.Background(), g.request(base.Add(time.Duration(i)*250*time.Millisecond))); err != nil {
					t.Fatal(err)
				}
			}
			found, used := 0, 0
			for range 150 {
				n, u := sameTraces(t, s, g.query(base.Add(time.Hour).UnixNano()))
				if n > 0 {
					found++
				}
				if u {
					used++
				}
			}
			// The property must be able to fail: searches find traces,
			// and the index rules blocks out for many of them.
			if found < 30 || used < 30 {
				t.Fatalf("%d searches found traces, %d used the index; want at least 30 of 150 each", found, used)
			}
		})
	}
}

// rareStore has 200 blocks of 20 spans and one span tagged rare=needle
// (the int 7 as well in rare.n) in block 117.
func rareStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s := newStore(t, opts)
	for b := range 200 {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "shop")
		sps := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range 20 {
			sp := sps.AppendEmpty()
			var id pcommon.TraceID
			binary.BigEndian.PutUint64(id[:8], uint64(b+1))
			binary.BigEndian.PutUint64(id[8:], uint64(i/2+1))
			sp.SetTraceID(id)
			sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, byte(b), byte(i + 1)})
			sp.SetName("GET")
			st := ts(time.Duration(b)*time.Millisecond + time.Duration(i)*time.Microsecond)
			sp.SetStartTimestamp(st)
			sp.SetEndTimestamp(st + 1000)
			sp.Attributes().PutStr("http.route", fmt.Sprintf("/items/%d", i))
			sp.Attributes().PutInt("request.id", int64(b*20+i))
			if b == 117 && i == 5 {
				sp.Attributes().PutStr("rare", "needle")
				sp.Attributes().PutInt("rare.n", 7)
			}
		}
		if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// A tag on one span in 4000 reads its block (and at most a false
// positive or two); a tag in every block reads the whole range.
func TestTagIndexRareTag(t *testing.T) {
	s := rareStore(t, Options{})
	end := base.Add(time.Hour).UnixNano()
	for _, tags := range []map[string]string{{"rare": "needle"}, {"rare.n": "7"}, {"rare": "needle", "http.route": "/items/5"}} {
		q := TraceQuery{Service: "shop", Tags: tags, StartMax: end, Limit: 20}
		rs, ok := s.blocks.ranges(0, end, queryNeeds(q))
		if !ok || len(rs) > 3 {
			t.Errorf("%v: ranges %v (used %v), want block 117 and at most two false positives", tags, rs, ok)
		}
		if n, _ := sameTraces(t, s, q); n != 1 {
			t.Errorf("%v: %d traces, want 1", tags, n)
		}
	}
	q := TraceQuery{Service: "shop", Tags: map[string]string{"http.route": "/items/5"}, StartMax: end, Limit: 1000}
	if _, ok := s.blocks.ranges(0, end, queryNeeds(q)); ok {
		t.Errorf("a tag in every block uses the index")
	}
	if n, _ := sameTraces(t, s, q); n != 200 {
		t.Errorf("common tag: %d traces, want 200", n)
	}
	if n, _ := sameTraces(t, s, TraceQuery{Service: "other", Tags: map[string]string{"rare": "needle"}, StartMax: end}); n != 0 {
		t.Errorf("another service: %d traces, want 0", n)
	}
}

// A damaged or missing filter, and spans written before the index, are
// read by every search, with a warning when the store opens: never a
// wrong answer.
func TestTagIndexDamagedFallsBack(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, Now: func() time.Time { return base.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	for b := range 10 {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "shop")
		sps := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range 20 {
			sp := sps.AppendEmpty()
			sp.SetTraceID(pcommon.TraceID{1, byte(b), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i + 1)})
			sp.SetSpanID(pcommon.SpanID{1, byte(b), 0, 0, 0, 0, 0, byte(i + 1)})
			sp.SetName("GET")
			sp.SetStartTimestamp(ts(time.Duration(b*100+i) * time.Microsecond))
			sp.Attributes().PutStr("filler", fmt.Sprintf("f%d", i))
			if i == 5 {
				sp.Attributes().PutStr("needle", fmt.Sprint(b))
			}
		}
		if _, _, err := s.ConsumeTraces(ctx, td); err != nil {
			t.Fatal(err)
		}
	}
	// Blocks 0..9 in partition p0 (the first).
	for _, stmt := range []string{
		"UPDATE p0.span_blocks SET bits = '\\x00\\x01\\x02'::BLOB WHERE blk = 2",   // wrong size
		"UPDATE p0.span_blocks SET bits = repeat('\\x00', 68)::BLOB WHERE blk = 3", // bad checksum
		"DELETE FROM p0.span_blocks WHERE blk = 4",                                 // missing
		"UPDATE p0.spans SET blk = NULL WHERE blk = 5",                             // before the index
	} {
		if err := s.db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	s, err = Open(ctx, Options{Dir: dir, MemoryLimitBytes: 256 << 20, Now: func() time.Time { return base.Add(time.Minute) },
		Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := logged.String()
	if !strings.Contains(out, "span tag index incomplete") || !strings.Contains(out, "blocks=4") {
		t.Errorf("warning: got %q, want one naming 4 blocks read by every search", out)
	}
	end := base.Add(time.Hour).UnixNano()
	for b := range 10 {
		q := TraceQuery{Service: "shop", Tags: map[string]string{"needle": fmt.Sprint(b)}, StartMax: end}
		if n, _ := sameTraces(t, s, q); n != 1 {
			t.Errorf("needle %d: %d traces, want 1", b, n)
		}
		rs, ok := s.blocks.ranges(0, end, queryNeeds(q))
		read := map[int64]bool{}
		for _, r := range rs {
			for id := r.lo; id <= r.hi; id++ {
				read[id] = true
			}
		}
		if !ok || !read[2] || !read[3] || !read[4] || !read[nullBlock] || !read[int64(b)] && b != 5 { // block 5 is the null block now
			t.Errorf("needle %d: ranges %v (used %v), want its block and the damaged ones (2, 3, 4, null) read", b, rs, ok)
		}
	}
}

// The index's memory cap: past it the oldest blocks lose their filters
// (and are read by every search), answers do not change, and a reopened
// store keeps to the cap too.
func TestTagIndexMemoryCap(t *testing.T) {
	dir := t.TempDir()
	s := rareStore(t, Options{Dir: dir, TagIndexMaxBytes: 40 * 64})
	_, bytes, _ := s.blocks.size()
	if bytes > 40*64 {
		t.Errorf("index holds %d bytes, cap %d", bytes, 40*64)
	}
	end := base.Add(time.Hour).UnixNano()
	q := TraceQuery{Service: "shop", Tags: map[string]string{"rare": "needle"}, StartMax: end}
	if n, _ := sameTraces(t, s, q); n != 1 {
		t.Errorf("%d traces, want 1", n)
	}
	s.Close()
	s, err := Open(context.Background(), Options{Dir: dir, MemoryLimitBytes: 256 << 20, TagIndexMaxBytes: 40 * 64, Now: func() time.Time { return base.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, bytes, _ := s.blocks.size(); bytes > 40*64 || bytes == 0 {
		t.Errorf("reopened index holds %d bytes, want at most the cap %d and more than 0", bytes, 40*64)
	}
	if n, _ := sameTraces(t, s, q); n != 1 {
		t.Errorf("reopened: %d traces, want 1", n)
	}
}

// decodeBits reads what the store holds: any bytes give a filter or an
// error, never a panic, and a filter it accepts encodes back the same.
func FuzzDecodeBits(f *testing.F) {
	f.Add(encodeBits(make([]uint64, minTagBits/64)))
	f.Add([]byte{0, 1, 2})
	f.Add(bytes.Repeat([]byte{0}, 68))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := decodeBits(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeBits(w), b) {
			t.Fatalf("decode then encode of %x changed it", b)
		}
	})
}
