package metrics

import (
	"context"
	"runtime"
	"strconv"

	"encoding/json"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type apiAnswer struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

func apiServer(t *testing.T, opts Options, ao APIOptions) (*Store, func(method, path string, form url.Values) (int, apiAnswer)) {
	t.Helper()
	opts.Dir = t.TempDir()
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(http.StripPrefix("/api/v1", s.API(ao)))
	t.Cleanup(srv.Close)
	return s, func(method, path string, form url.Values) (int, apiAnswer) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/v1"+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var a apiAnswer
		if err := json.Unmarshal(b, &a); err != nil && len(b) > 0 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, a
	}
}

func sum(terms int) string { return strings.Repeat("1+", terms-1) + "1" }

// An expression over metrics.query.max_length is refused at once with 400
// naming the limit, on every API that parses PromQL (issue 10 item 6).
func TestQueryMaxLength(t *testing.T) {
	_, call := apiServer(t, Options{QueryMaxLength: 1000}, APIOptions{})
	long := sum(600) // 1199 bytes
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/query", url.Values{"query": {long}}},
		{"/query_range", url.Values{"query": {long}, "start": {"0"}, "end": {"60"}, "step": {"15"}}},
		{"/series", url.Values{"match[]": {"{a=\"" + strings.Repeat("x", 1000) + "\"}"}}},
	} {
		code, a := call("POST", c.path, c.form)
		if code != http.StatusBadRequest || a.ErrorType != "bad_data" || !strings.Contains(a.Error, "over the limit of 1000 bytes (metrics.query.max_length)") {
			t.Errorf("%s: %d %+v, want 400 naming metrics.query.max_length", c.path, code, a)
		}
	}
	if code, a := call("POST", "/query", url.Values{"query": {sum(400)}}); code != http.StatusOK {
		t.Fatalf("query under the limit: %d %+v", code, a)
	}
}

// Parsing runs under the query timeout: a query whose parsing alone takes
// longer than metrics.query.timeout gets a timeout (503) by the deadline,
// not an answer after the parse (issue 10 item 6).
func TestQueryTimeoutBoundsParsing(t *testing.T) {
	s, call := apiServer(t, Options{QueryMaxLength: -1, QueryTimeout: 50 * time.Millisecond}, APIOptions{})
	code, a := call("POST", "/query", url.Values{"query": {sum(15000)}}) // parses in about a second
	if code != http.StatusServiceUnavailable || a.ErrorType != "timeout" || !strings.Contains(a.Error, "parsing the query") {
		t.Fatalf("%d %+v, want 503 timeout while parsing", code, a)
	}
	// The abandoned parse finishes in the background and frees its slot.
	deadline := time.Now().Add(time.Minute)
	for s.apiEngine.building.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("abandoned parse still running after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metrics.query.enable_experimental_functions is Prometheus's
// --enable-feature=promql-experimental-functions (issue 10 item 9).
func TestExperimentalFunctions(t *testing.T) {
	queries := []string{
		`limitk(1, vector(1))`,
		`sort_by_label(vector(1), "a")`,
		`double_exponential_smoothing(vector(1)[5m:1m], 0.5, 0.5)`,
		`mad_over_time(vector(1)[5m:1m])`,
	}
	_, off := apiServer(t, Options{}, APIOptions{})
	_, on := apiServer(t, Options{ExperimentalPromQL: true}, APIOptions{})
	for _, q := range queries {
		if code, a := off("POST", "/query", url.Values{"query": {q}}); code != http.StatusBadRequest || !strings.Contains(a.Error, "metrics.query.enable_experimental_functions") {
			t.Errorf("off: %s: %d %+v, want 400 saying experimental", q, code, a)
		}
		if code, a := on("POST", "/query", url.Values{"query": {q}}); code != http.StatusOK {
			t.Errorf("on: %s: %d %+v", q, code, a)
		}
	}
}

// The admin APIs answer 503 while disabled, as Prometheus does, and work
// with metrics.enable_admin_api (issue 10 item 18).
func TestAdminAPI(t *testing.T) {
	_, off := apiServer(t, Options{}, APIOptions{})
	for _, p := range []string{"/admin/tsdb/delete_series?match[]=up", "/admin/tsdb/clean_tombstones", "/admin/tsdb/snapshot"} {
		if code, a := off("POST", p, nil); code != http.StatusServiceUnavailable || a.ErrorType != "unavailable" {
			t.Errorf("disabled %s: %d %+v, want 503 unavailable", p, code, a)
		}
	}
	_, on := apiServer(t, Options{AdminAPI: true}, APIOptions{})
	if code, a := on("POST", "/admin/tsdb/delete_series", url.Values{"match[]": {"up"}}); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("enabled delete_series: %d %+v", code, a)
	}
}

func TestFlagsFollowTheConfig(t *testing.T) {
	flags := map[string]string{"query.timeout": "2m"}
	_, call := apiServer(t, Options{}, APIOptions{Flags: func() map[string]string { return flags }})
	_, a := call("GET", "/status/flags", nil)
	var got map[string]string
	if err := json.Unmarshal(a.Data, &got); err != nil || got["query.timeout"] != "2m" {
		t.Fatalf("flags %s (%v)", a.Data, err)
	}
}

// A subquery whose steps times series go over metrics.query.max_samples
// is refused before the engine reserves memory for it, with the engine's
// own 422; the same query at a sane step runs (issue 10 item 7).
func TestSubqueryOverTheSampleLimitFailsAtOnce(t *testing.T) {
	s, call := apiServer(t, Options{QueryMaxSamples: 1_000_000}, APIOptions{})
	now := time.Now()
	app := s.Appendable().AppenderV2(context.Background())
	for i := range 5 {
		for ts := now.Add(-2 * time.Hour); ts.Before(now); ts = ts.Add(15 * time.Second) {
			if _, err := app.Append(0, labels.FromStrings("__name__", "m", "i", strconv.Itoa(i)), 0, ts.UnixMilli(), 1, nil, nil, storage.AOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	at := strconv.FormatInt(now.Unix(), 10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, a := call("POST", "/query", url.Values{"query": {"max_over_time(m[1h:10ms])"}, "time": {at}}) // 360,000 steps x 5 series
	runtime.ReadMemStats(&after)
	if code != http.StatusUnprocessableEntity || a.ErrorType != "execution" || !strings.Contains(a.Error, "too many samples") || !strings.Contains(a.Error, "metrics.query.max_samples=1000000") {
		t.Fatalf("%d %+v, want 422 too many samples naming the limit", code, a)
	}
	// The engine would have reserved 5 x 360,000 x 16 bytes = 29 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 10<<20 {
		t.Fatalf("the refused query allocated %d MB: it ran", alloc>>20)
	}
	if code, a := call("POST", "/query", url.Values{"query": {"max_over_time(m[1h:1s])"}, "time": {at}}); code != http.StatusOK {
		t.Fatalf("subquery within the limit: %d %+v", code, a)
	}
	// A subquery inside a function over a range, and without a step.
	if code, a := call("POST", "/query", url.Values{"query": {"max_over_time(rate(m[5m])[1h:10ms])"}, "time": {at}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("rate subquery: %d %+v, want 422", code, a)
	}
	if code, a := call("POST", "/query", url.Values{"query": {"max_over_time(m[1h:])"}, "time": {at}}); code != http.StatusOK {
		t.Fatalf("subquery with the default step: %d %+v", code, a)
	}
}

// After a query that came near the sample limit, the memory it held goes
// back to the operating system when it is closed, not minutes later
// (issue 10 item 7).
func TestLargeQueryHandsMemoryBack(t *testing.T) {
	s, _ := apiServer(t, Options{QueryMaxSamples: 20_000_000}, APIOptions{})
	now := time.Now()
	app := s.Appendable().AppenderV2(context.Background())
	for i := range 20 {
		for ts := now.Add(-2 * time.Hour); ts.Before(now); ts = ts.Add(15 * time.Second) {
			if _, err := app.Append(0, labels.FromStrings("__name__", "m", "i", strconv.Itoa(i)), 0, ts.UnixMilli(), 1, nil, nil, storage.AOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	// 20 series x 480,000 steps: 9.6M samples, 150 MB, a large query, run
	// as the API runs it.
	q, err := s.apiEngine.NewInstantQuery(context.Background(), s.Queryable(), nil, "count_over_time(m[2h:15ms])", now)
	if err != nil {
		t.Fatal(err)
	}
	if r := q.Exec(context.Background()); r.Err != nil {
		t.Fatal(r.Err)
	}
	q.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// The heap the process still holds from the OS: the query's garbage
	// and pooled buffers, unless it was handed back (measured: 336 MB
	// without, 25 MB with).
	if kept := ms.HeapSys - ms.HeapReleased; kept > 128<<20 {
		t.Fatalf("the process still holds %d MB of heap after the query was closed", kept>>20)
	}
}
