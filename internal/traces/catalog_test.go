package traces

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// clock is a settable clock for partition rotation and retention.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// spansOf returns one span per service/operation pair.
func spansOf(n int, pairs ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	for i := 0; i+1 < len(pairs); i += 2 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", pairs[i])
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(tid(byte(n*16 + i)))
		sp.SetSpanID(sid(byte(i + 1)))
		sp.SetName(pairs[i+1])
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(ts(time.Duration(n) * time.Minute))
		sp.SetEndTimestamp(ts(time.Duration(n)*time.Minute + time.Millisecond))
	}
	return td
}

// TestCatalogKeptWithoutScans (issue 18 item 7): a new service is listed
// by /jaeger/api/services as soon as its spans are stored, and services
// whose spans were all in dropped partitions leave the catalog when the
// partitions go, without a reload; after a restart too, where the catalog
// is loaded once with the partition of each operation.
func TestCatalogKeptWithoutScans(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: base}
	opts := Options{Dir: dir, Now: clk.Now, PartitionDuration: time.Hour, MaxAge: 90 * time.Minute}
	s := newStore(t, opts)
	ctx := context.Background()
	consume := func(s *Store, n int, pairs ...string) {
		t.Helper()
		if rej, msg, err := s.ConsumeTraces(ctx, spansOf(n, pairs...)); err != nil || rej != 0 {
			t.Fatalf("ConsumeTraces: %d %q %v", rej, msg, err)
		}
	}
	services := func(s *Store) []string {
		t.Helper()
		srv := httptest.NewServer(httptestMux(s))
		defer srv.Close()
		var out []string
		for _, v := range get(t, srv, "/jaeger/api/services", 200).Data.([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	waitServices := func(s *Store, want ...string) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for {
			got := services(s)
			if cmp.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("services = %v within a second, want %v", got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	dropped := func(s *Store, want int) {
		t.Helper()
		n, err := s.db.EnforceRetention(ctx)
		if err != nil || n != want {
			t.Fatalf("EnforceRetention dropped %d (%v), want %d", n, err, want)
		}
	}

	// Partition 0: old and both; 1: both and new; 2: new.
	consume(s, 0, "old", "a", "both", "x")
	waitServices(s, "both", "old")
	clk.set(base.Add(61 * time.Minute))
	consume(s, 1, "both", "x", "new", "b")
	waitServices(s, "both", "new", "old")
	clk.set(base.Add(122 * time.Minute))
	consume(s, 2, "new", "b")
	if got := s.db.Stats().Partitions; got != 3 {
		t.Fatalf("%d partitions, want 3", got)
	}

	// Partition 0 goes: "old" had spans only there.
	clk.set(base.Add(155 * time.Minute))
	dropped(s, 1)
	waitServices(s, "both", "new")
	if ops := s.Operations("both", ""); len(ops) != 1 || ops[0].Name != "x" {
		t.Fatalf("operations of both = %v", ops)
	}
	if ops := s.Operations("old", ""); len(ops) != 0 {
		t.Fatalf("operations of old = %v after its partition was dropped", ops)
	}

	// After a restart the catalog knows which partition holds what:
	// dropping partition 1 removes "both", not "new".
	s.Close()
	s = newStore(t, opts)
	waitServices(s, "both", "new")
	clk.set(base.Add(215 * time.Minute))
	dropped(s, 1)
	waitServices(s, "new")
	consume(s, 3, "later", "c")
	waitServices(s, "later", "new")
}
