package memlimit

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/internal/apierr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDivide(t *testing.T) {
	b, err := Divide(1<<30, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 1GiB: shares of 224MiB, DuckDB memory_limit 3/4 of that; Go's soft
	// limit is the high watermark (921.6MiB) less the two shares.
	if b.Traces != 168<<20 || b.Logs != 168<<20 || b.LogTerms != 56<<20 || b.TraceTags != 56<<20 || b.High != goOf(1<<30) ||
		b.Go != goOf(1<<30)-2*(224<<20) {
		t.Fatalf("1GiB: %+v", b)
	}
	// For every limit the automatic parts fit under the high watermark:
	// the stores' DuckDBs at what they may hold resident, plus Go's soft
	// limit (which is at least a quarter of the limit).
	for limit := int64(Min); limit <= MaxAuto; limit += 64 << 20 {
		b, err := Divide(limit, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if b.Traces < MinStore || b.Logs < MinStore || b.Go < limit/4 {
			t.Fatalf("%s: a part under its floor: %+v", Size(limit), b)
		}
		if sum := ResidentOf(b.Traces) + ResidentOf(b.Logs) + b.Go; sum > b.High && b.Go > limit/4 {
			t.Fatalf("%s: parts %s over the high watermark %s: %+v", Size(limit), Size(sum), Size(b.High), b)
		}
	}
	// A store's own limit wins; the smallest share is MinStore.
	b, err = Divide(256<<20, 100<<20, 0)
	if err != nil || b.Traces != 100<<20 || b.Logs != MinStore || b.Go != 256<<20/4 {
		t.Fatalf("256MiB with traces 100MiB: %+v %v", b, err)
	}
	for _, c := range []struct {
		limit, traces, logs int64
		want                string
	}{
		{100 << 20, 0, 0, "memory_limit must be at least 256MiB, got 100MiB"},
		{1 << 30, 600 << 20, 300 << 20, "leave 124MiB of memory_limit 1GiB"},
	} {
		if _, err := Divide(c.limit, c.traces, c.logs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Divide(%d, %d, %d) = %v, want %q", c.limit, c.traces, c.logs, err, c.want)
		}
	}
}

func TestAuto(t *testing.T) {
	for _, c := range []struct{ avail, want int64 }{
		{24 << 30, MaxAuto},    // a quarter, at most 4GiB
		{4 << 30, 1 << 30},     // a small machine: 1GiB
		{1 << 30, MinAuto},     // at least 512MiB...
		{600 << 20, 300 << 20}, // ...or half of a small container
	} {
		if got := autoOf(c.avail); got != c.want {
			t.Errorf("autoOf(%s) = %s, want %s", Size(c.avail), Size(got), Size(c.want))
		}
	}
	if l, src := Auto(); l < 256<<20 || src == "" {
		t.Errorf("Auto() = %d from %q", l, src)
	}
}

func TestResident(t *testing.T) {
	n, err := resident()
	if errors.Is(err, errNoStatm) {
		t.Skip("no /proc")
	}
	if err != nil || n < 1<<20 {
		t.Fatalf("resident() = %d, %v", n, err)
	}
}

// The governor refuses from the high watermark until under the low one,
// with a retryable error that names the limit, and counts refusals.
func TestGovernorHysteresis(t *testing.T) {
	var rss atomic.Int64
	rss.Store(100 << 20)
	reg := prometheus.NewRegistry()
	g, err := New(Options{Limit: 1000 << 20, Resident: func() (int64, error) { return rss.Load(), nil }, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	at := func(mib int64, want bool) {
		t.Helper()
		rss.Store(mib << 20)
		g.sample()
		if g.Refusing() != want {
			t.Fatalf("refusing = %v at %dMiB, want %v", g.Refusing(), mib, want)
		}
	}
	if err := g.Admit(); err != nil {
		t.Fatalf("under the limit: %v", err)
	}
	at(900, true) // 90%
	err = g.Admit()
	if !apierr.Retryable(err) || apierr.HTTPStatus(err) != 503 || apierr.RetryAfterOf(err) != time.Second ||
		!strings.Contains(err.Error(), "memory_limit 1000MiB") {
		t.Fatalf("over the limit: %v (status %d)", err, apierr.HTTPStatus(err))
	}
	at(870, true) // between the watermarks: still refusing
	at(840, false)
	if err := g.Admit(); err != nil {
		t.Fatalf("under the low watermark: %v", err)
	}
	if n := testutil.ToFloat64(g.refused); n != 1 {
		t.Fatalf("refused = %v, want 1", n)
	}
	if n, err := testutil.GatherAndCount(reg, "vigil_memory_limit_bytes", "vigil_memory_resident_bytes", "vigil_memory_refusing", "vigil_memory_refused_requests_total"); err != nil || n != 4 {
		t.Fatalf("metrics: %d %v", n, err)
	}
	var nilg *Governor
	if nilg.Admit() != nil || nilg.Refusing() {
		t.Fatal("a nil governor refuses")
	}
	if _, err := New(Options{Limit: 1, High: 0.5, Low: 0.7}); err == nil {
		t.Fatal("low above high accepted")
	}
}

func goOf(limit int64) int64 { h := DefaultHigh; return int64(float64(limit) * h) }

// Run reads the resident size every Interval until its context ends.
func TestGovernorRunSamples(t *testing.T) {
	reads := make(chan struct{}, 1)
	g, err := New(Options{Limit: 1000 << 20, Interval: time.Millisecond, Resident: func() (int64, error) {
		select {
		case reads <- struct{}{}:
		default:
		}
		return 950 << 20, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-reads // New's own first sample
	g.over.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	<-reads
	<-reads // a second read: sample() of the first has finished
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !g.Refusing() {
		t.Fatal("Run's samples did not make the governor refuse")
	}
}
