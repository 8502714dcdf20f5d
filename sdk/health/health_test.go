package health

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/sdk/metric"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHealth() *Checks { return New(Options{Registry: metric.New(metric.Options{})}) }

func fixed(s Status) Check {
	return func(context.Context) Result { return Result{Status: s, Output: s.String()} }
}

func TestAggregation(t *testing.T) {
	type c struct {
		s        Status
		critical bool
	}
	f := func(name string, want Status, wantCode int, checks ...c) {
		t.Helper()
		h := newHealth()
		for i, ch := range checks {
			var opts []Option
			if !ch.critical {
				opts = append(opts, NonCritical())
			}
			if err := h.Register(string(rune('a'+i)), fixed(ch.s), opts...); err != nil {
				t.Fatal(err)
			}
		}
		if got := h.Run(context.Background(), Filter{}).Status; got != want {
			t.Errorf("%s: status %v, want %v", name, got, want)
		}
		rec := httptest.NewRecorder()
		h.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		var body response
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != wantCode || body.Status != want.String() || rec.Header().Get("Content-Type") != ContentType {
			t.Errorf("%s: HTTP %d %q %q, want %d %q", name, rec.Code, body.Status, rec.Header().Get("Content-Type"), wantCode, want)
		}
	}
	f("no checks", Up, 200)
	f("critical up", Up, 200, c{Up, true})
	f("non-critical up", Up, 200, c{Up, false})
	f("critical down", Down, 503, c{Down, true}, c{Up, true})
	f("non-critical down", Warn, 200, c{Down, false}, c{Up, true})
	f("critical warn", Warn, 200, c{Warn, true})
	f("non-critical warn", Warn, 200, c{Warn, false})
	f("critical down beats warn", Down, 503, c{Warn, true}, c{Down, false}, c{Down, true})
	f("all non-critical down", Warn, 200, c{Down, false}, c{Down, false})
}

func TestDuplicateName(t *testing.T) {
	h := newHealth()
	if err := h.Register("db", fixed(Up)); err != nil {
		t.Fatal(err)
	}
	if err := h.Register("db", fixed(Up)); !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), `"db"`) {
		t.Fatalf("err = %v", err)
	}
}

func sleeper(d time.Duration) Check {
	return func(ctx context.Context) Result {
		select {
		case <-time.After(d):
			return Result{Status: Up}
		case <-ctx.Done():
			return Result{Status: Down, Output: "interrupted"}
		}
	}
}

// TestTimeoutsRunConcurrently: three checks sleeping 10s with a 1s timeout
// make the assessment take about 1s, not 30s.
func TestTimeoutsRunConcurrently(t *testing.T) {
	h := newHealth()
	for _, n := range []string{"slow1", "slow2", "slow3"} {
		h.Register(n, sleeper(10*time.Second), Timeout(time.Second))
	}
	h.Register("fast", fixed(Up))
	start := time.Now()
	rep := h.Run(context.Background(), Filter{})
	took := time.Since(start)
	if took < 900*time.Millisecond || took > 1500*time.Millisecond {
		t.Fatalf("assessment took %v, want about 1s", took)
	}
	if rep.Status != Down {
		t.Fatalf("status %v", rep.Status)
	}
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Name, "slow") && (c.Status != Down || c.Output != "timed out after 1s") {
			t.Errorf("%s: %v %q", c.Name, c.Status, c.Output)
		}
	}
}

func TestCacheAndListeners(t *testing.T) {
	now := time.Unix(1000, 0)
	h := New(Options{Registry: metric.New(metric.Options{}), Now: func() time.Time { return now }})
	var runs atomic.Int32
	var status atomic.Int32
	h.Register("dep", func(context.Context) Result {
		runs.Add(1)
		return Result{Status: Status(status.Load())}
	}, CacheFor(10*time.Second))
	var mu sync.Mutex
	var changes []string
	h.OnChange(func(name string, old, new Status) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, name+":"+old.String()+"->"+new.String())
	})
	h.Run(context.Background(), Filter{})
	status.Store(int32(Down))
	rep := h.Run(context.Background(), Filter{})
	if runs.Load() != 1 || !rep.Checks[0].Cached || rep.Status != Up {
		t.Fatalf("cached run: runs %d cached %v status %v", runs.Load(), rep.Checks[0].Cached, rep.Status)
	}
	now = now.Add(11 * time.Second)
	rep = h.Run(context.Background(), Filter{})
	if runs.Load() != 2 || rep.Status != Down {
		t.Fatalf("after cache expiry: runs %d status %v", runs.Load(), rep.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 1 || changes[0] != "dep:pass->fail" {
		t.Fatalf("changes %v", changes)
	}
}

func TestEndpointsTagsGateAndJSON(t *testing.T) {
	h := newHealth()
	open, err := h.Gate("startup")
	if err != nil {
		t.Fatal(err)
	}
	h.Register("db", func(context.Context) Result {
		return Result{Status: Up, ComponentType: "datastore", Observations: []Observation{{Measure: "responseTime", Value: 1.5, Unit: "ms"}}}
	}, Tags(TagReady))
	h.Register("cache", fixed(Down), NonCritical(), Tags(TagReady))
	h.Register("goroutines", fixed(Up), Tags(TagLive))
	mux := http.NewServeMux()
	h.Mount(mux)
	get := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v: %s", path, err, rec.Body)
		}
		return rec.Code, m
	}
	if code, m := get("/readyz"); code != 503 || m["status"] != "fail" {
		t.Fatalf("readyz before gate: %d %v", code, m)
	}
	if code, m := get("/livez"); code != 200 || m["status"] != "pass" {
		t.Fatalf("livez: %d %v", code, m)
	}
	open()
	code, m := get("/readyz?verbose")
	if code != 200 || m["status"] != "warn" {
		t.Fatalf("readyz after gate: %d %v", code, m)
	}
	checks := m["checks"].(map[string]any)
	db := checks["db:responseTime"].([]any)[0].(map[string]any)
	if db["observedValue"] != 1.5 || db["observedUnit"] != "ms" || db["componentType"] != "datastore" || db["status"] != "pass" || db["time"] == "" {
		t.Fatalf("db entry %v", db)
	}
	if _, ok := checks["goroutines"]; ok {
		t.Fatal("live-only check in readyz")
	}
	code, m = get("/healthz?exclude=cache")
	if code != 200 || m["status"] != "pass" || m["checks"] != nil {
		t.Fatalf("healthz excluding cache, not verbose: %d %v", code, m)
	}
	code, m = get("/healthz")
	if fails := m["checks"].(map[string]any); len(fails) != 1 || fails["cache"] == nil {
		t.Fatalf("non-verbose should list only the failing check: %v", m)
	}
}

func TestTopLevelFields(t *testing.T) {
	h := New(Options{Registry: metric.New(metric.Options{}), ServiceID: "shop-1", Version: "1", ReleaseID: "1.2.3", Description: "the shop"})
	rec := httptest.NewRecorder()
	h.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	for _, want := range []string{`"serviceId": "shop-1"`, `"version": "1"`, `"releaseId": "1.2.3"`, `"description": "the shop"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("body lacks %s:\n%s", want, rec.Body)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := metric.New(metric.Options{})
	h := New(Options{Registry: reg})
	h.Register("a", fixed(Down))
	h.Register("b", fixed(Warn))
	h.Run(context.Background(), Filter{})
	if got := reg.Gauge("health_check_status", "").With("check", "a").Value(); got != 0 {
		t.Errorf("a = %v", got)
	}
	if got := reg.Gauge("health_check_status", "").With("check", "b").Value(); got != 0.5 {
		t.Errorf("b = %v", got)
	}
	if got := reg.Histogram("health_check_duration_seconds", "").With("check", "a").Count(); got != 1 {
		t.Errorf("duration count %d", got)
	}
}

func TestPanickingCheck(t *testing.T) {
	h := newHealth()
	h.Register("bad", func(context.Context) Result { panic("boom") })
	rep := h.Run(context.Background(), Filter{})
	if rep.Status != Down || !strings.Contains(rep.Checks[0].Output, "boom") {
		t.Fatalf("%+v", rep)
	}
}

// fakeDriver is a database/sql driver whose Ping fails while pingErr is set.
type fakeDriver struct{ pingErr atomic.Pointer[error] }
type fakeConn struct{ d *fakeDriver }

func (d *fakeDriver) Open(string) (driver.Conn, error) { return fakeConn{d}, nil }
func (c fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (c fakeConn) Close() error                        { return nil }
func (c fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }
func (c fakeConn) Ping(context.Context) error {
	if e := c.d.pingErr.Load(); e != nil {
		return *e
	}
	return nil
}

func TestSQLCheck(t *testing.T) {
	d := &fakeDriver{}
	sql.Register("fakehealth", d)
	db, err := sql.Open("fakehealth", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := SQL(db, "")(context.Background())
	if r.Status != Up || r.ComponentType != "datastore" || r.Observations[0].Measure != "responseTime" {
		t.Fatalf("%+v", r)
	}
	e := errors.New("connection refused")
	d.pingErr.Store(&e)
	if r := SQL(db, "")(context.Background()); r.Status != Down || r.Output != "connection refused" {
		t.Fatalf("%+v", r)
	}
}

func TestHTTPTCPDNSChecks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if r := HTTP(srv.URL+"/ok", srv.Client())(ctx); r.Status != Up {
		t.Errorf("http ok: %+v", r)
	}
	if r := HTTP(srv.URL+"/bad", srv.Client())(ctx); r.Status != Down || !strings.Contains(r.Output, "500") {
		t.Errorf("http 500: %+v", r)
	}
	addr := srv.Listener.Addr().String()
	if r := TCP(addr)(ctx); r.Status != Up {
		t.Errorf("tcp: %+v", r)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	if r := TCP(closed)(ctx); r.Status != Down {
		t.Errorf("tcp closed port: %+v", r)
	}
	if r := DNS("localhost", nil)(ctx); r.Status != Up {
		t.Errorf("dns localhost: %+v", r)
	}
	failing := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS here")
	}}
	if r := DNS("vigil-test.invalid", failing)(ctx); r.Status != Down {
		t.Errorf("dns failure: %+v", r)
	}
}

func TestBreakerCheck(t *testing.T) {
	h := newHealth()
	cb, err := NewBreaker[int](h, gobreaker.Settings{
		Name:        "payments",
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 2 },
		Timeout:     time.Hour,
	}, NonCritical())
	if err != nil {
		t.Fatal(err)
	}
	if rep := h.Run(context.Background(), Filter{}); rep.Status != Up {
		t.Fatalf("closed: %v", rep.Status)
	}
	for range 2 {
		cb.Execute(func() (int, error) { return 0, errors.New("down") })
	}
	rep := h.Run(context.Background(), Filter{})
	if rep.Status != Warn || rep.Checks[0].Status != Down || !strings.Contains(rep.Checks[0].Output, "open") {
		t.Fatalf("open breaker, non-critical: %+v", rep)
	}
	// the same breaker registered as critical makes the service Down
	h2 := newHealth()
	h2.Register("payments", Breaker(cb))
	if rep := h2.Run(context.Background(), Filter{}); rep.Status != Down {
		t.Fatalf("open breaker, critical: %v", rep.Status)
	}
}
