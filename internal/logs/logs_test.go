package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/internal/route"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the start of the fixed data set: 2024-01-01T00:00:00Z.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.MemoryLimitBytes == 0 {
		opts.MemoryLimitBytes = 256 << 20
	}
	if opts.RejectOldSamplesMaxAge == 0 {
		opts.RejectOldSamplesMaxAge = -1 // the fixture is from 2024
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fixture writes the data set the golden queries run over: 10 minutes of
// JSON, logfmt and plain lines in four streams, plus OTLP records.
func fixture(t testing.TB, s *Store) {
	t.Helper()
	var streams []Stream
	api := Stream{Labels: []Label{{"app", "api"}, {"env", "prod"}}}
	dev := Stream{Labels: []Label{{"app", "api"}, {"env", "dev"}}}
	db := Stream{Labels: []Label{{"app", "db"}, {"level", "warn"}}}
	paths := []string{"/users", "/orders", "/health"}
	for i := 0; i < 60; i++ {
		ts := t0 + int64(i)*int64(10*time.Second)
		status := 200
		level := "info"
		if i%7 == 0 {
			status, level = 500, "error"
		}
		api.Entries = append(api.Entries, Entry{Timestamp: ts, Line: fmt.Sprintf(
			`{"level":%q,"msg":"request","method":"GET","path":%q,"status":%d,"latency":"%dms","size":"%dKB","user":{"id":%d,"name":"u%d"}}`,
			level, paths[i%3], status, 5+i*3, 1+i%4, i%5, i%5)})
		if i%2 == 0 {
			dev.Entries = append(dev.Entries, Entry{Timestamp: ts + 1, Line: fmt.Sprintf(
				`level=%s msg="db call" duration=%dms ip=10.0.%d.%d caller=store.go:%d`, []string{"debug", "info", "error"}[i%3], 100+i, i%3, i, i)})
		}
		if i%5 == 0 {
			db.Entries = append(db.Entries, Entry{Timestamp: ts + 2, Line: fmt.Sprintf(
				"2024-01-01 WARN slow query took %dms \x1b[31mtable=t%d\x1b[0m", 200+i, i%2),
				Metadata: []Label{{"trace_id", fmt.Sprintf("%032x", i)}, {"pod", "db-0"}}})
		}
	}
	streams = append(streams, api, dev, db)
	if _, _, err := s.AppendStreams(context.Background(), streams); err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "h1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("checkout/log")
	for i := 0; i < 12; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(t0 + int64(i)*int64(50*time.Second)))
		lr.SetObservedTimestamp(pcommon.Timestamp(t0 + int64(i)*int64(50*time.Second) + 1000))
		lr.Body().SetStr(fmt.Sprintf("order %d placed amount=%d.50", i, 10+i))
		lr.SetSeverityNumber(plog.SeverityNumber([]int32{9, 13, 17}[i%3]))
		lr.SetSeverityText([]string{"INFO", "WARN", "ERROR"}[i%3])
		lr.Attributes().PutStr("order.id", fmt.Sprint(1000+i))
		lr.Attributes().PutInt("items", int64(i%4))
		var tid [16]byte
		tid[15] = byte(i % 3)
		tid[0] = 0xab
		lr.SetTraceID(tid)
		lr.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, byte(i)})
	}
	// A structured body becomes a JSON line.
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(t0 + int64(9*time.Minute)))
	lr.Body().SetEmptyMap().PutStr("event", "refund")
	if rej, msg, err := s.ConsumeLogs(context.Background(), ld); err != nil || rej != 0 {
		t.Fatalf("ConsumeLogs: %d %q %v", rej, msg, err)
	}
}

var goldenQueries = []string{
	// stream selectors
	`{app="api", env="prod"}`,
	`{app=~"api|db", env!="prod"}`,
	`{app!~"a.*", app=~".+"}`,
	`{service_name="checkout"}`,
	// line filters
	`{app="api"} |= "orders" != "500"`,
	`{app="api"} |~ "status\":5\\d\\d" `,
	`{app=~".+"} !~ "(?i)info|debug" |= "e"`,
	`{app="api"} |= "/users" or "/health" |= "error"`,
	`{env="dev"} |= ip("10.0.1.0/24")`,
	`{app="db"} |> "<_> WARN <_>"`,
	// parsers
	`{env="prod"} | json | status >= 500`,
	`{env="prod"} | json p="path", uid="user.id" | uid == 3`,
	`{env="dev"} | logfmt | duration > 150ms and level="error"`,
	`{env="dev"} | logfmt --strict level, d="duration" | d < 110ms`,
	`{app="db"} | regexp "took (?P<took>\\d+)ms" | took > 240`,
	`{app="db"} | decolorize | pattern "<_> WARN slow query took <ms>ms table=<table>" | table="t1"`,
	`{env="prod"} | json | size >= 3KB`,
	`{env="prod"} | json | (status=500 or path="/health") | method="GET"`,
	`{service_name="checkout"} | unpack`,
	// formatting
	`{env="prod"} | json | line_format "{{.method}} {{.path}} -> {{.status}} {{ToUpper .level}}"`,
	`{env="dev"} | logfmt | label_format lvl=level, who="{{.caller}}@{{.ip}}" | line_format "{{.lvl}} {{.who}}" | drop caller, ip | keep lvl, who, app`,
	`{app="api"} | json | drop user_id, user_name, latency, size, msg, method`,
	// structured metadata and trace correlation
	`{app="db"} | trace_id="0000000000000000000000000000000a"`,
	`{service_name="checkout"} | detected_level="error"`,
	`{service_name="checkout"} | order_id=~"100[0-2]"`,
	`{service_name="checkout"} | severity_number >= 13 | line_format "{{.severity_text}} {{__line__}}"`,
	// range aggregations (SQL path)
	`count_over_time({app="api"}[1m])`,
	`rate({env="prod"} |= "orders" [2m])`,
	`bytes_over_time({app="db"}[5m])`,
	`bytes_rate({app="db"}[10m])`,
	`absent_over_time({app="nope"}[1m])`,
	`count_over_time({app="api"}[1m] offset 2m)`,
	// range aggregations (Go path)
	`count_over_time({env="prod"} | json | status=500 [3m])`,
	`sum_over_time({env="prod"} | json | unwrap status [10m])`,
	`avg_over_time({env="prod"} | json | unwrap duration(latency) [5m]) by (path)`,
	`max_over_time({env="dev"} | logfmt | unwrap duration_seconds(duration) | __error__="" [10m]) by (level)`,
	`min_over_time({env="prod"} | json | unwrap bytes(size) [10m])`,
	`quantile_over_time(0.9, {env="prod"} | json | unwrap latency_ms | __error__="" [10m])`,
	`quantile_over_time(0.5, {env="prod"} | json | label_format latency_ms="{{ trimSuffix \"ms\" .latency }}" | unwrap latency_ms [10m]) by (path)`,
	`first_over_time({env="dev"} | logfmt | unwrap duration(duration) [10m])`,
	`last_over_time({env="dev"} | logfmt | unwrap duration(duration) [10m])`,
	`stddev_over_time({env="prod"} | json | unwrap status [10m])`,
	`rate({env="prod"} | json | unwrap status [10m])`,
	// vector aggregations
	`sum by (level, detected_level) (count_over_time({app=~".+"} | drop __error__ [1m]))`,
	`sum by (service_name) (count_over_time({service_name=~".+"}[5m]))`,
	`sum(count_over_time({app=~".+"}[10m])) by (app)`,
	`avg without (env) (count_over_time({app="api"}[10m]))`,
	`max(rate({app=~".+"}[5m]))`,
	`min by (app) (count_over_time({app=~".+"}[10m]))`,
	`count(count_over_time({app=~".+"}[10m]))`,
	`topk(2, sum by (path) (count_over_time({env="prod"} | json [10m])))`,
	`bottomk(1, count_over_time({app=~".+"}[10m]))`,
	`stddev(count_over_time({app=~".+"}[10m]))`,
	`sort_desc(sum by (path) (count_over_time({env="prod"} | json [10m])))`,
	// binary operators
	`vector(1)+vector(1)`,
	`1 + 2 * 3`,
	`2 > bool 1`,
	`sum(count_over_time({app="api"}[10m])) / 2`,
	`sum by (env) (count_over_time({app="api"}[10m])) > 40`,
	`sum by (env) (count_over_time({app="api"}[10m])) > bool 40`,
	`sum by (env) (count_over_time({app="api"} |= "error" [10m])) / sum by (env) (count_over_time({app="api"}[10m]))`,
	`sum by (app) (count_over_time({app=~".+"}[10m])) - on (app) sum by (app) (count_over_time({app=~".+"} |= "e" [10m]))`,
	`count_over_time({app="nope"}[1m]) or vector(0)`,
	`sum by (app) (count_over_time({app=~".+"}[10m])) and sum by (app) (count_over_time({app="db"}[10m]))`,
	`sum by (app) (count_over_time({app=~".+"}[10m])) unless sum by (app) (count_over_time({app="db"}[10m]))`,
	`label_replace(sum by (app) (count_over_time({app=~".+"}[10m])), "svc", "s-$1", "app", "(.*)")`,
	`-sum(count_over_time({app="db"}[10m]))`,
	// issue 10 items 11 and 16
	`{app="db"} | decolorize |= "table=t1"`,
	`sum by (app) (count_over_time({app=~".+"} | json | __error__="" [10m]))`,
	`sum by (app) (count_over_time({app=~".+"} | json | drop __error__, __error_details__ [10m]))`,
}

// goldenRange runs every query as a range query (1 minute steps over the 10
// minutes) and, for metric queries, also as an instant query at the end.
func TestLogQLGolden(t *testing.T) {
	s := openStore(t, Options{})
	fixture(t, s)
	var out bytes.Buffer
	ctx := context.Background()
	for _, q := range goldenQueries {
		fmt.Fprintf(&out, "### %s\n", q)
		res, err := s.Query(ctx, Query{Expr: q, Start: t0, End: t0 + int64(10*time.Minute), Step: time.Minute, Limit: 30, Direction: Backward})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out.Write(stableJSON(t, res))
		out.WriteByte('\n')
		if res.Kind != "streams" {
			res, err := s.Query(ctx, Query{Expr: q, End: t0 + int64(10*time.Minute)})
			if err != nil {
				t.Fatalf("instant %s: %v", q, err)
			}
			out.WriteString("instant: ")
			out.Write(stableJSON(t, res))
			out.WriteByte('\n')
		}
	}
	checkGolden(t, "logql.golden", out.Bytes())
}

// stableJSON renders a result as the API does, without timing stats.
func stableJSON(t testing.TB, res *Result) []byte {
	t.Helper()
	res.Stats = QueryStats{}
	var v struct {
		Data struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(encodeResult(res), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v.Data)
	return b
}

func TestLokiAPI(t *testing.T) {
	s := openStore(t, Options{Now: func() time.Time { return time.Unix(0, t0+int64(10*time.Minute)) }})
	fixture(t, s)
	mux := route.NewMux(s.Routes())
	get := func(path string, params url.Values) (int, string) {
		r := httptest.NewRequest("GET", path+"?"+params.Encode(), nil)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	f := func(path string, params url.Values, wantCode int, wantBody ...string) {
		t.Helper()
		code, body := get(path, params)
		if code != wantCode {
			t.Fatalf("%s %v: status %d, want %d: %s", path, params, code, wantCode, body)
		}
		for _, w := range wantBody {
			if !strings.Contains(body, w) {
				t.Fatalf("%s %v: body %s\nwant containing %s", path, params, body, w)
			}
		}
	}
	f("/loki/api/v1/query", url.Values{"query": {"vector(1)+vector(1)"}}, 200,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1704067800,"2"]}]`)
	f("/loki/api/v1/query_range", url.Values{"query": {`{app="db"}`}, "limit": {"2"}, "direction": {"forward"}}, 200,
		`"resultType":"streams","result":[{"stream":{"app":"db","detected_level":"warn","level":"warn","pod":"db-0","trace_id":"00000000000000000000000000000000"},"values":[["1704067200000000002",`)
	f("/loki/api/v1/query_range", url.Values{"query": {`sum by (level) (count_over_time({app=~".+"}[5m]))`}, "step": {"300"}}, 200,
		`"resultType":"matrix","result":[{"metric":{},"values":[[1704067200,"1"],[1704067500,"45"]`, `{"metric":{"level":"warn"},"values":[[1704067500,"6"]`)
	f("/loki/api/v1/query", url.Values{"query": {`{app="api"} |= `}}, 400, "parse error at line 1, col 16: unexpected end of query, expected a quoted string after |=")
	f("/loki/api/v1/query", url.Values{"query": {`sum(`}}, 400, "col 5")
	f("/loki/api/v1/query_range", url.Values{"query": {`{app="api"}`}, "start": {"yesterday"}}, 400, "invalid start")
	f("/loki/api/v1/labels", nil, 200, `{"status":"success","data":["app","env","level","service_name"]}`)
	f("/loki/api/v1/label/app/values", nil, 200, `{"status":"success","data":["api","db"]}`)
	f("/loki/api/v1/label/env/values", url.Values{"query": {`{env="dev"}`}}, 200, `{"status":"success","data":["dev"]}`)
	f("/loki/api/v1/series", url.Values{"match[]": {`{app="api"}`}}, 200, `{"status":"success","data":[{"app":"api","env":"dev"},{"app":"api","env":"prod"}]}`)
	f("/loki/api/v1/index/stats", url.Values{"query": {`{app="api"}`}}, 200, `"entries":90`, `"streams":2`)
	f("/loki/api/v1/index/volume", url.Values{"query": {`{app=~".+"}`}}, 200, `"resultType":"vector"`, `{"metric":{"app":"api"},"value":[1704067800,"`)
	f("/loki/api/v1/detected_fields", url.Values{"query": {`{env="prod"}`}}, 200, `{"label":"path","type":"string","cardinality":3,"parsers":["json"],"jsonPath":["path"]}`)
	f("/loki/api/v1/detected_labels", nil, 200, `{"detectedLabels":[{"label":"app","cardinality":2},{"label":"env","cardinality":2},{"label":"level","cardinality":1},{"label":"service_name","cardinality":1}]}`)
	f("/vigil/api/v1/logs", url.Values{"trace_id": {"ab000000000000000000000000000001"}}, 200, `"line":"order 1 placed amount=11.50"`, `"span_id":"0102030405060701"`)
	f("/vigil/api/v1/logs", url.Values{"trace_id": {"xyz"}}, 400, "invalid trace_id")
}

// TestStreamLimit: past logs.limits.max_streams active streams a push is
// refused whole with 429, Retry-After and the limit, its value and the
// count; once streams go idle new ones are admitted again.
func TestStreamLimit(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, t0)}
	s := openStore(t, Options{MaxStreams: 2, StreamIdlePeriod: 30 * time.Minute, Now: clock.Now})
	push := func(apps ...string) (int64, error) {
		t.Helper()
		var streams []Stream
		for _, app := range apps {
			ts := clock.Now().UnixNano()
			streams = append(streams, Stream{Labels: []Label{{"app", app}}, Entries: []Entry{{Timestamp: ts, Line: "x"}, {Timestamp: ts + 1, Line: "y"}}})
		}
		rej, msg, err := s.AppendStreams(context.Background(), streams)
		if rej != 0 {
			t.Fatalf("push %v rejected %d: %s", apps, rej, msg)
		}
		return rej, err
	}
	count := func() float64 {
		t.Helper()
		res, err := s.Query(context.Background(), Query{Expr: `sum(count_over_time({app=~".+"}[1d]))`, End: clock.Now().UnixNano() + 10})
		if err != nil || len(res.Series) != 1 {
			t.Fatalf("count: %+v %v", res, err)
		}
		return res.Series[0].Samples[0].V
	}
	for _, app := range []string{"a", "b", "a"} {
		if _, err := push(app); err != nil {
			t.Fatalf("push %s: %v", app, err)
		}
	}
	// One new stream among known ones: nothing of the request is stored.
	clock.Add(10 * time.Minute)
	_, err := push("a", "c")
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.Overloaded || apierr.HTTPStatus(err) != 429 ||
		!strings.Contains(err.Error(), "the active stream limit (logs.limits.max_streams) is 2 and 2 streams are active") {
		t.Fatalf("third stream: %v, want 429 naming the limit", err)
	}
	// b was last pushed 10m ago: it goes idle in 20m.
	if ae.RetryAfter != 20*time.Minute {
		t.Fatalf("Retry-After %v, want 20m (when b goes idle)", ae.RetryAfter)
	}
	if n := count(); n != 6 {
		t.Fatalf("stored lines: %v, want 6 (nothing of the refused push)", n)
	}
	// After the idle period b no longer counts; a (pushed above) still does.
	clock.Add(21 * time.Minute)
	if _, err := push("c"); err != nil {
		t.Fatalf("push c after b went idle: %v", err)
	}
	if got := s.activeCount(); got != 2 {
		t.Fatalf("active streams %d, want 2 (a, c)", got)
	}
	// b comes back: it is new again and over the limit.
	if _, err := push("b"); apierr.CodeOf(err) != apierr.Overloaded {
		t.Fatalf("push b again: %v, want refused", err)
	}
	if n := count(); n != 8 {
		t.Fatalf("stored lines: %v, want 8", n)
	}
}

// TestLokiLimits: Loki's label and timestamp limits, each naming the
// stream and the limit; the rest of the push is stored.
func TestLokiLimits(t *testing.T) {
	now := time.Unix(0, t0)
	s := openStore(t, Options{Now: func() time.Time { return now }, RejectOldSamplesMaxAge: 7 * 24 * time.Hour})
	ts := now.UnixNano()
	f := func(st Stream, wantReason string) {
		t.Helper()
		ok := Stream{Labels: []Label{{"app", "ok"}}, Entries: []Entry{{Timestamp: ts, Line: "fine"}}}
		rej, msg, err := s.AppendStreams(context.Background(), []Stream{st, ok})
		if err != nil {
			t.Fatal(err)
		}
		if wantReason == "" {
			if rej != 0 {
				t.Fatalf("%v rejected: %s", st.Labels, msg)
			}
			return
		}
		if rej != int64(len(st.Entries)) || !strings.Contains(msg, wantReason) {
			t.Fatalf("rejected %d %q, want %d containing %q", rej, msg, len(st.Entries), wantReason)
		}
	}
	long := strings.Repeat("v", 2049)
	f(Stream{Labels: []Label{{"app", "x"}, {"job", long}}, Entries: []Entry{{Timestamp: ts, Line: "a"}}},
		`stream {app="x", job="vvvv`)
	f(Stream{Labels: []Label{{"job", long}}, Entries: []Entry{{Timestamp: ts, Line: "a"}}},
		`has a value of 2049 bytes for label "job", over the limit of 2048 (logs.limits.max_label_value_length)`)
	f(Stream{Labels: []Label{{"app", "x"}, {strings.Repeat("n", 1025), "v"}}, Entries: []Entry{{Timestamp: ts, Line: "a"}}},
		"has a label name of 1025 bytes (nnnn")
	f(Stream{Labels: []Label{{"app", "x"}, {strings.Repeat("n", 1025), "v"}}, Entries: []Entry{{Timestamp: ts, Line: "a"}}},
		"over the limit of 1024 (logs.limits.max_label_name_length)")
	var many []Label
	for i := 0; i < 16; i++ {
		many = append(many, Label{fmt.Sprintf("l%02d", i), "v"})
	}
	f(Stream{Labels: many, Entries: []Entry{{Timestamp: ts, Line: "a"}, {Timestamp: ts, Line: "b"}}},
		"has 16 labels, over the limit of 15 (logs.limits.max_label_names_per_series)")
	f(Stream{Labels: many[:15], Entries: []Entry{{Timestamp: ts, Line: "a"}}}, "")
	f(Stream{Labels: []Label{{"app", "old"}}, Entries: []Entry{{Timestamp: ts - int64(8*24*time.Hour), Line: "a"}}},
		`entry of stream {app="old"} has timestamp 2023-12-24T00:00:00Z, older than logs.limits.reject_old_samples_max_age (7d) allows: the oldest accepted is 2023-12-25T00:00:00Z`)
	f(Stream{Labels: []Label{{"app", "new"}}, Entries: []Entry{{Timestamp: ts + int64(11*time.Minute), Line: "a"}}},
		`entry of stream {app="new"} has timestamp 2024-01-01T00:11:00Z, further in the future than logs.limits.creation_grace_period (10m) allows`)
	f(Stream{Labels: []Label{{"app", "edge"}}, Entries: []Entry{{Timestamp: ts + int64(10*time.Minute), Line: "a"}, {Timestamp: ts - int64(7*24*time.Hour), Line: "b"}}}, "")
	// A stream none of whose entries is accepted takes no active slot.
	if got := s.activeCount(); got != 3 {
		t.Fatalf("active streams %d, want 3 (ok, l00.., edge)", got)
	}
	// OTLP takes the same limits.
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "otlp-old")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(ts - int64(30*24*time.Hour)))
	lr.Body().SetStr("old")
	rej, msg, err := s.ConsumeLogs(context.Background(), ld)
	if err != nil || rej != 1 || !strings.Contains(msg, `entry of stream {service_name="otlp-old"} has timestamp 2023-12-02T00:00:00Z, older than`) {
		t.Fatalf("old OTLP record: %d %q %v", rej, msg, err)
	}
	if got := s.activeCount(); got != 3 {
		t.Fatalf("active streams %d after the old OTLP record, want 3", got)
	}
	// Nothing of the refused streams is known.
	names, err := s.LabelValues(context.Background(), StreamQuery{Start: ts - int64(30*24*time.Hour), End: ts + int64(time.Hour)}, "job")
	if err != nil || len(names) != 0 {
		t.Fatalf("job values %v %v, want none", names, err)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRetentionKeepsStreamLabels drops the oldest partition by age and
// checks that streams first seen there are still readable, after a restart,
// from the data in the newer partition.
func TestRetentionKeepsStreamLabels(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Unix(0, t0)}
	opts := Options{Dir: dir, MaxAge: time.Hour, PartitionDuration: time.Minute, Now: clock.Now}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	push := func(ts int64, apps ...string) {
		t.Helper()
		var streams []Stream
		for _, a := range apps {
			streams = append(streams, Stream{Labels: []Label{{"app", a}}, Entries: []Entry{{Timestamp: ts, Line: "line of " + a}}})
		}
		if rej, msg, err := s.AppendStreams(context.Background(), streams); err != nil || rej != 0 {
			t.Fatalf("push: %d %q %v", rej, msg, err)
		}
	}
	push(t0, "a")
	clock.Add(2 * time.Minute)
	push(t0+int64(2*time.Minute), "a", "b") // lands in a new partition
	clock.Add(2 * time.Hour)
	dropped, err := s.db.EnforceRetention(context.Background())
	if err != nil || dropped != 1 {
		t.Fatalf("EnforceRetention dropped %d (%v), want 1", dropped, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Query(context.Background(), Query{Expr: `{app=~"a|b"}`, Start: t0 - 1, End: t0 + int64(time.Hour), Step: time.Second, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range res.Streams {
		for _, e := range st.Entries {
			got = append(got, st.Labels.Get("app")+"@"+strconv.FormatInt((e.Timestamp-t0)/int64(time.Minute), 10)+"m")
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "a@2m,b@2m" {
		t.Fatalf("after retention and restart: %v, want the two lines of the newer partition", got)
	}
}

// TestPipelineErrors: a metric query whose samples keep __error__ fails as
// in Loki, naming the error and how to skip it (issue 10 item 16).
func TestPipelineErrors(t *testing.T) {
	s := openStore(t, Options{})
	fixture(t, s)
	f := func(q, want string) {
		t.Helper()
		_, err := s.Query(context.Background(), Query{Expr: q, Start: t0, End: t0 + int64(10*time.Minute), Step: time.Minute})
		if want == "" {
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return
		}
		if err == nil || apierr.HTTPStatus(err) != 400 || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want 400 containing %q", q, err, want)
		}
	}
	f(`sum by (app) (count_over_time({app=~".+"} | json | __error__!="" [2m]))`, `pipeline error: 'JSONParserErr' for series: '{__error__="JSONParserErr"`)
	f(`sum by (app) (count_over_time({app=~".+"} | json | __error__!="" [2m]))`, `| __error__!="JSONParserErr"`)
	f(`count_over_time({app=~".+"} | json [2m])`, "pipeline error: 'JSONParserErr'")
	f(`count_over_time({app=~".+"} | json | __error__="" [2m])`, "")
	f(`sum_over_time({env="prod"} | json | unwrap nope [2m])`, "pipeline error: 'SampleExtractionErr'")
	f(`sum_over_time({env="prod"} | json | unwrap nope | __error__="" [2m])`, "")
	f(`sum_over_time({env="prod"} | json | unwrap msg [2m])`, "pipeline error: 'SampleExtractionErr'")
	f(`sum by (app) (count_over_time({env="prod"} | json | msg > 5 [2m]))`, "pipeline error: 'LabelFilterErr'")
}

// TestShortTraceIDs: a 64-bit trace ID (16 digits, as Jaeger shows it and
// Grafana's trace-to-logs link sends it) finds the records of the 128-bit
// ID it pads to, on /vigil/api/v1/logs and in | trace_id=, whichever form
// was pushed (issue 10 item 12).
func TestShortTraceIDs(t *testing.T) {
	now := time.Unix(0, t0+int64(time.Minute))
	s := openStore(t, Options{Now: func() time.Time { return now }})
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(t0))
	lr.Body().SetStr("otlp line")
	lr.SetTraceID([16]byte{8: 0x00, 9: 0xc0, 10: 0xff, 11: 0xee, 12: 0x12, 13: 0x34, 14: 0x56, 15: 0x78})
	if rej, msg, err := s.ConsumeLogs(context.Background(), ld); err != nil || rej != 0 {
		t.Fatal(rej, msg, err)
	}
	if rej, msg, err := s.AppendStreams(context.Background(), []Stream{{Labels: []Label{{"service_name", "shop"}}, Entries: []Entry{
		{Timestamp: t0 + 1, Line: "loki line, short ID", Metadata: []Label{{"trace_id", "00C0FFEE12345678"}}},
		{Timestamp: t0 + 2, Line: "other trace", Metadata: []Label{{"trace_id", "00c0ffee12345679"}}},
	}}}); err != nil || rej != 0 {
		t.Fatal(rej, msg, err)
	}
	h := apiHandler(s)
	get := func(path string, q url.Values) string {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path+"?"+q.Encode(), nil))
		if w.Code != 200 {
			t.Fatalf("%s %v: %d %s", path, q, w.Code, w.Body)
		}
		return w.Body.String()
	}
	for _, id := range []string{"00c0ffee12345678", "00C0FFEE12345678", "000000000000000000c0ffee12345678"} {
		body := get("/vigil/api/v1/logs", url.Values{"trace_id": {id}})
		if !strings.Contains(body, `"line":"otlp line"`) || !strings.Contains(body, `"line":"loki line, short ID"`) || strings.Contains(body, "other trace") {
			t.Fatalf("trace_id=%s: %s", id, body)
		}
		for _, q := range []string{`{service_name="shop"} | trace_id="` + id + `"`, `{service_name="shop"} | json | trace_id="` + id + `"`} {
			body = get("/loki/api/v1/query_range", url.Values{"query": {q}, "start": {fmt.Sprint(t0)}, "end": {fmt.Sprint(t0 + 10)}})
			if !strings.Contains(body, "otlp line") || !strings.Contains(body, "loki line, short ID") || strings.Contains(body, "other trace") {
				t.Fatalf("%s: %s", q, body)
			}
		}
	}
}
