package probes

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bbconfig "github.com/prometheus/blackbox_exporter/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/teststorage"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/internal/probes/condition"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}

// fakeClock is a Clock whose time moves only by Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch, func() bool { return false }
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), c: ch})
	return ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, t := range c.timers {
			if t.c == ch {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				return true
			}
		}
		return false
	}
}

// armed is the number of timers waiting.
func (c *fakeClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.c <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

func httpModule(mod func(*bbconfig.Module)) bbconfig.Module {
	m := bbconfig.DefaultModule
	m.Prober = "http"
	m.Timeout = 5 * time.Second
	if mod != nil {
		mod(&m)
	}
	return m
}

func target(name, url string, mod bbconfig.Module, conds ...string) Target {
	cs, errs := condition.ParseAll(conds)
	if len(errs) > 0 {
		panic(errs[0])
	}
	return Target{Name: name, Target: url, ModuleName: "http_2xx", Module: mod, Interval: 10 * time.Second,
		Labels: labels.FromStrings("job", "probes", "instance", url), Conditions: cs}
}

func testServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"UP","items":[1,2,3]}`)
		case "/404":
			http.NotFound(w, r)
		case "/text":
			io.WriteString(w, "pong")
		default:
			io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sampleValue(r *Result, name string) (float64, bool) {
	for _, s := range r.Samples {
		if s.Labels.Get(labels.MetricName) == name {
			return s.Value, true
		}
	}
	return 0, false
}

func TestRunHTTP(t *testing.T) {
	srv := testServer(t)
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := func(tg Target, success bool, reason string, wantStatus float64, wantLog ...string) *Result {
		t.Helper()
		tg.Timeout = 5 * time.Second
		r := m.run(context.Background(), &tg, time.Now())
		if r.Success != success || r.Reason != reason {
			t.Fatalf("%s: success %v reason %q (%s), want %v %q\n%s", tg.Name, r.Success, r.Reason, r.Error, success, reason, r.Debug)
		}
		if v, _ := sampleValue(r, "probe_success"); (v == 1) != success {
			t.Fatalf("%s: probe_success = %v", tg.Name, v)
		}
		if v, ok := sampleValue(r, "probe_http_status_code"); !ok || v != wantStatus {
			t.Fatalf("%s: probe_http_status_code = %v, %v; want %v", tg.Name, v, ok, wantStatus)
		}
		for _, w := range wantLog {
			if !strings.Contains(r.Debug, w) {
				t.Fatalf("%s: debug output lacks %q:\n%s", tg.Name, w, r.Debug)
			}
		}
		if success && r.Debug != "" {
			t.Fatalf("%s: a successful run keeps no log", tg.Name)
		}
		return r
	}
	f(target("ok", srv.URL+"/", httpModule(nil)), true, "", 200)
	f(target("404", srv.URL+"/404", httpModule(nil)), false, "http_status", 404, "Logs for the probe:", "Invalid HTTP response status code", "Metrics that would have been returned:", "probe_http_status_code 404", "Module configuration:")
	f(target("404 allowed", srv.URL+"/404", httpModule(func(m *bbconfig.Module) { m.HTTP.ValidStatusCodes = []int{404} })), true, "", 404)
	r := f(target("json", srv.URL+"/json", httpModule(nil), "[STATUS] == 200", "[BODY].status == UP", "len([BODY].items) == 3", "[RESPONSE_TIME] < 5000", "[CONNECTED] == true", "[IP] == 127.0.0.1"), true, "", 200)
	if len(r.Conditions) != 6 {
		t.Fatalf("conditions: %+v", r.Conditions)
	}
	r = f(target("json down", srv.URL+"/json", httpModule(nil), "[STATUS] == 200", "[BODY].status == DOWN"), false, "condition", 200, `Condition failed`, `condition="[BODY].status == DOWN"`, `observed=UP`)
	if !r.Conditions[0].Success || r.Conditions[1].Success || r.Conditions[1].Condition != "[BODY].status == DOWN" {
		t.Fatalf("conditions: %+v", r.Conditions)
	}
	if r.Error != "condition [BODY].status == DOWN failed (observed UP)" {
		t.Fatalf("error: %q", r.Error)
	}
	// The module's own body regexp still applies alongside conditions.
	re, _ := bbconfig.NewRegexp("DOWN")
	f(target("regexp", srv.URL+"/json", httpModule(func(m *bbconfig.Module) { m.HTTP.FailIfBodyNotMatchesRegexp = []bbconfig.Regexp{re} })), false, "regexp", 200, "Body did not match regular expression")

	// Nothing listening.
	l := httptest.NewServer(http.NotFoundHandler())
	url := l.URL
	l.Close()
	r = f(target("down", url, httpModule(nil), "[CONNECTED] == true"), false, "connect", 0)
	if r.Conditions[0].Success {
		t.Fatal("[CONNECTED] held with nothing listening")
	}
}

func TestRunTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	m, _ := New(Options{})
	tg := target("slow", srv.URL, httpModule(nil))
	tg.Timeout = 200 * time.Millisecond
	r := m.run(context.Background(), &tg, time.Now())
	if r.Success || r.Reason != "timeout" {
		t.Fatalf("slow target: success %v reason %q (%s)", r.Success, r.Reason, r.Error)
	}
}

// querySamples returns every sample of the series matching name and job.
func querySamples(t *testing.T, q storage.Queryable, name string) map[string][]float64 {
	t.Helper()
	qr, err := q.Querier(0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	ss := qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name))
	out := map[string][]float64{}
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			_, v := it.At()
			out[s.Labels().Get("instance")] = append(out[s.Labels().Get("instance")], v)
		}
		if s.Labels().Get("job") != "probes" {
			t.Fatalf("series without the target's job: %v", s.Labels())
		}
	}
	return out
}

func TestScheduler(t *testing.T) {
	srv := testServer(t)
	var slowHits atomic.Int64
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		<-release
	}))
	defer slow.Close()
	var closeOnce sync.Once
	unblock := func() { closeOnce.Do(func() { close(release) }) }
	defer unblock()

	db := teststorage.New(t)
	defer db.Close()
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	m, err := New(Options{Appendable: db, Clock: clock, Registerer: reg, MaxConcurrent: 4})
	if err != nil {
		t.Fatal(err)
	}
	var targets []Target
	for i := range 5 {
		targets = append(targets, target(fmt.Sprintf("fast%d", i), fmt.Sprintf("%s/?i=%d", srv.URL, i), httpModule(nil)))
	}
	slowT := target("slow", slow.URL, httpModule(nil))
	slowT.Timeout = 25 * time.Second // longer than the interval: capped at it
	targets = append(targets, slowT)
	if err := m.ApplyConfig(Config{Targets: targets}); err != nil {
		t.Fatal(err)
	}
	// Runs are spread over the interval.
	offsets := map[time.Duration]bool{}
	for _, tg := range targets {
		next, _ := m.nextRun(tg.Name)
		if d := next.Sub(clock.Now()); d < 0 || d >= 10*time.Second {
			t.Fatalf("%s first runs in %v, want within the interval", tg.Name, d)
		} else {
			offsets[d] = true
		}
	}
	if len(offsets) < 4 {
		t.Fatalf("targets are not spread: %v", offsets)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()

	runs := func() float64 {
		return testutil.ToFloat64(m.metrics.runs.WithLabelValues("http"))
	}
	waitFor := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Time moves in steps shorter than the lateness bound, each once the
	// scheduler waits again.
	for step := 0; step < 3*20; step++ {
		waitFor("the scheduler to wait", func() bool { return clock.armed() == 1 })
		clock.Advance(500 * time.Millisecond)
	}
	waitFor("three rounds", func() bool { return runs() >= 15 })
	// Reloads while runs are dispatched keep each probe once in the heap.
	for step := 0; step < 20; step++ {
		if err := m.ApplyConfig(Config{Targets: targets}); err != nil {
			t.Fatal(err)
		}
		waitFor("the scheduler to wait", func() bool { return clock.armed() == 1 })
		clock.Advance(500 * time.Millisecond)
	}
	waitFor("the scheduler to wait", func() bool { return clock.armed() == 1 })
	m.mu.Lock()
	inHeap := len(m.heap)
	m.mu.Unlock()
	if inHeap != len(targets) {
		t.Fatalf("%d heap entries for %d probes", inHeap, len(targets))
	}
	// The slow probe ran once and is still running: its later turns were
	// skipped, and the fast ones were not delayed.
	if n := slowHits.Load(); n != 1 {
		t.Fatalf("slow target hit %d times, want 1 (never twice at once)", n)
	}
	if s := testutil.ToFloat64(m.metrics.skipped); s < 2 {
		t.Fatalf("skipped = %v, want >= 2", s)
	}
	if l := testutil.ToFloat64(m.metrics.late); l != 0 {
		t.Fatalf("late = %v, want 0", l)
	}
	unblock()
	waitFor("slow run to end", func() bool {
		return testutil.ToFloat64(m.metrics.failures.WithLabelValues("http", "timeout")) >= 1 || runs() >= 16
	})

	// Scheduled runs are committed in batches, within batchDelay.
	var got map[string][]float64
	written := func() bool {
		got = querySamples(t, db, "probe_success")
		for i := range 5 {
			if len(got[fmt.Sprintf("%s/?i=%d", srv.URL, i)]) < 3 {
				return false
			}
		}
		return true
	}
	waitFor("three rounds' samples", written)
	for i := range 5 {
		inst := fmt.Sprintf("%s/?i=%d", srv.URL, i)
		if vs := got[inst]; vs[0] != 1 {
			t.Fatalf("probe_success for %s = %v", inst, vs)
		}
	}
	// A removed probe's series are marked stale.
	if err := m.ApplyConfig(Config{Targets: targets[1:5]}); err != nil {
		t.Fatal(err)
	}
	vs := querySamples(t, db, "probe_success")[targets[0].Target]
	if last := vs[len(vs)-1]; !value.IsStaleNaN(last) {
		t.Fatalf("removed probe's last sample = %v, want a staleness marker", last)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestApplyConfigRefusesInvalid(t *testing.T) {
	m, _ := New(Options{})
	good := target("a", "http://x", httpModule(nil))
	if err := m.ApplyConfig(Config{Targets: []Target{good}}); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Module.Prober = "carrier-pigeon"
	for _, c := range []Config{{Targets: []Target{good, good}}, {Targets: []Target{bad}}} {
		if err := m.ApplyConfig(c); err == nil {
			t.Fatalf("ApplyConfig(%+v) succeeded", c)
		}
	}
	if s := m.States(); len(s) != 1 || s[0].Target.Name != "a" {
		t.Fatalf("a refused config changed the probes: %+v", s)
	}
}

// BenchmarkRunAndWrite is one scheduled run's work: the blackbox prober
// against a local server, conditions off, samples appended to a TSDB head
// (committed a batch at a time).
func BenchmarkRunAndWrite(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	db := teststorage.New(b)
	defer db.Close()
	m, err := New(Options{Appendable: db})
	if err != nil {
		b.Fatal(err)
	}
	tg := target("bench", srv.URL, httpModule(nil))
	tg.Timeout = 5 * time.Second
	e := &entry{target: &tg}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := m.run(ctx, &tg, time.Now())
		if !r.Success {
			b.Fatal(r.Error)
		}
		m.recordBatched(e, &tg, r)
	}
	m.flushBatch(nil)
}

// TestWriteAcrossReload: a reload that keeps a probe's labels keeps its
// series (no staleness marker); one that changes them marks the old series
// stale.
func TestWriteAcrossReload(t *testing.T) {
	srv := testServer(t)
	db := teststorage.New(t)
	defer db.Close()
	m, _ := New(Options{Appendable: db})
	tg := target("a", srv.URL+"/", httpModule(nil))
	runOnce := func() {
		t.Helper()
		if err := m.ApplyConfig(Config{Targets: []Target{tg}}); err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		e := m.entries["a"]
		m.mu.Unlock()
		e.mu.Lock()
		cur := e.target
		e.mu.Unlock()
		m.record(context.Background(), e, cur, m.run(context.Background(), cur, time.Now()))
	}
	runOnce()
	runOnce() // same labels, new Target after the reload
	vs := querySamples(t, db, "probe_success")[tg.Target]
	if len(vs) != 2 || value.IsStaleNaN(vs[0]) || value.IsStaleNaN(vs[1]) {
		t.Fatalf("same labels across a reload: %v", vs)
	}
	tg.Labels = labels.FromStrings("job", "probes", "instance", tg.Target, "team", "x")
	runOnce()
	qr, _ := db.Querier(0, math.MaxInt64)
	defer qr.Close()
	ss := qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "probe_success"))
	var got []string
	for ss.Next() {
		it := ss.At().Iterator(nil)
		var last float64
		n := 0
		for it.Next() == chunkenc.ValFloat {
			_, last = it.At()
			n++
		}
		got = append(got, fmt.Sprintf("%s n=%d stale=%v", ss.At().Labels().Get("team"), n, value.IsStaleNaN(last)))
	}
	if want := []string{" n=3 stale=true", "x n=1 stale=false"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a label change: %v, want %v", got, want)
	}
}

// countingAppendable counts commits.
type countingAppendable struct {
	storage.AppendableV2
	commits atomic.Int64
}

func (c *countingAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return countingAppender{c.AppendableV2.AppenderV2(ctx), c}
}

type countingAppender struct {
	storage.AppenderV2
	c *countingAppendable
}

func (a countingAppender) Commit() error { a.c.commits.Add(1); return a.AppenderV2.Commit() }

// TestBatchedWrites: scheduled runs share a commit, one per batchRuns
// runs, and a batch that does not fill is committed within batchDelay;
// a run-now is written at once, after the batch before it.
func TestBatchedWrites(t *testing.T) {
	srv := testServer(t)
	db := teststorage.New(t)
	defer db.Close()
	app := &countingAppendable{AppendableV2: db}
	m, err := New(Options{Appendable: app})
	if err != nil {
		t.Fatal(err)
	}
	// Long enough for the first batch to fill before its timer, even
	// under the race detector (a run takes milliseconds there).
	m.batchDelay = 2 * time.Second
	n := batchRuns + 3
	ctx := context.Background()
	var tgs []*Target
	for i := range n {
		tg := target(fmt.Sprintf("p%d", i), fmt.Sprintf("%s/?i=%d", srv.URL, i), httpModule(nil))
		tg.Timeout = 5 * time.Second
		tgs = append(tgs, &tg)
		m.recordBatched(&entry{target: &tg}, &tg, m.run(ctx, &tg, time.Now()))
	}
	if c := app.commits.Load(); c != 1 {
		t.Fatalf("%d commits after %d runs, want 1 (a full batch)", c, n)
	}
	if got := len(querySamples(t, db, "probe_success")); got != batchRuns {
		t.Fatalf("%d probes written after the first batch, want %d", got, batchRuns)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(querySamples(t, db, "probe_success")) != n {
		if time.Now().After(deadline) {
			t.Fatal("the last batch was not committed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c := app.commits.Load(); c != 2 {
		t.Fatalf("%d commits, want 2", c)
	}
	// A run-now commits the open batch, then its own run.
	e := &entry{target: tgs[0]}
	m.recordBatched(e, tgs[0], m.run(ctx, tgs[0], time.Now()))
	m.record(ctx, e, tgs[0], m.run(ctx, tgs[0], time.Now()))
	if c := app.commits.Load(); c != 4 {
		t.Fatalf("%d commits after a run-now, want 4", c)
	}
	if vs := querySamples(t, db, "probe_success")[tgs[0].Target]; len(vs) != 3 {
		t.Fatalf("probe_success for %s = %v, want 3 samples", tgs[0].Target, vs)
	}
	// Flush (the status page's, before it computes uptime) commits the
	// open batch at once, not batchDelay later.
	m.recordBatched(e, tgs[0], m.run(ctx, tgs[0], time.Now()))
	m.Flush()
	if c := app.commits.Load(); c != 5 {
		t.Fatalf("%d commits after Flush, want 5", c)
	}
	if vs := querySamples(t, db, "probe_success")[tgs[0].Target]; len(vs) != 4 {
		t.Fatalf("probe_success for %s after Flush = %v, want 4 samples", tgs[0].Target, vs)
	}
	m.Flush() // nothing open: no commit
	if c := app.commits.Load(); c != 5 {
		t.Fatalf("%d commits after an empty Flush, want 5", c)
	}
}
