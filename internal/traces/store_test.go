package traces

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/route"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var base = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func ts(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(base.Add(d)) }

func tid(b byte) pcommon.TraceID {
	return pcommon.TraceID{0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, b}
}

func sid(b byte) pcommon.SpanID { return pcommon.SpanID{0xb0, 1, 2, 3, 4, 5, 6, b} }

// richTraces has one trace (frontend → backend) using every OTLP field.
func richTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "frontend")
	ra.PutStr("host.name", "web-1")
	ra.PutInt("process.pid", 4242)
	rs.Resource().SetDroppedAttributesCount(1)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl("https://scope.example/1")
	ss.Scope().SetName("io.opentelemetry.http")
	ss.Scope().SetVersion("1.2.3")
	ss.Scope().Attributes().PutBool("scope.flag", true)
	ss.Scope().SetDroppedAttributesCount(2)

	root := ss.Spans().AppendEmpty()
	root.SetTraceID(tid(1))
	root.SetSpanID(sid(1))
	root.SetName("GET /checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(ts(0))
	root.SetEndTimestamp(ts(250 * time.Millisecond))
	root.TraceState().FromRaw("vigil=t61rcWkgMzE,ot=th:8")
	root.SetFlags(0x101)
	root.Status().SetCode(ptrace.StatusCodeError)
	root.Status().SetMessage("payment failed")
	a := root.Attributes()
	a.PutStr("http.method", "GET")
	a.PutInt("http.status_code", 500)
	a.PutDouble("ratio", 0.25)
	a.PutBool("retry", false)
	a.PutInt("big", math.MaxInt64)
	a.PutEmptyBytes("blob").FromRaw([]byte{0, 1, 2, 0xff})
	sl := a.PutEmptySlice("list")
	sl.AppendEmpty().SetStr("x")
	sl.AppendEmpty().SetInt(7)
	sl.AppendEmpty().SetEmptyMap().PutStr("deep", "yes")
	m := a.PutEmptyMap("map")
	m.PutStr("k", "v\n\"quoted\" \x01 ünïcode")
	m.PutEmptySlice("empty")
	a.PutEmpty("nothing")
	root.SetDroppedAttributesCount(3)
	ev := root.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(100 * time.Millisecond))
	ev.Attributes().PutStr("exception.type", "PaymentError")
	ev.SetDroppedAttributesCount(4)
	ev2 := root.Events().AppendEmpty()
	ev2.SetTimestamp(ts(120 * time.Millisecond))
	ev2.Attributes().PutStr("note", "unnamed event")
	root.SetDroppedEventsCount(5)
	l := root.Links().AppendEmpty()
	l.SetTraceID(tid(9))
	l.SetSpanID(sid(9))
	l.TraceState().FromRaw("a=b")
	l.Attributes().PutStr("link.kind", "batch")
	l.SetDroppedAttributesCount(6)
	l.SetFlags(1)
	root.SetDroppedLinksCount(7)

	rs2 := td.ResourceSpans().AppendEmpty()
	rs2.Resource().Attributes().PutStr("service.name", "backend")
	ss2 := rs2.ScopeSpans().AppendEmpty()
	child := ss2.Spans().AppendEmpty()
	child.SetTraceID(tid(1))
	child.SetSpanID(sid(2))
	child.SetParentSpanID(sid(1))
	child.SetName("charge")
	child.SetKind(ptrace.SpanKindClient)
	child.SetStartTimestamp(ts(10 * time.Millisecond))
	child.SetEndTimestamp(ts(200 * time.Millisecond))
	child.Status().SetCode(ptrace.StatusCodeOk)
	child.Attributes().PutStr("http.method", "POST")
	cl := child.Links().AppendEmpty() // a link to the parent marks the reference type
	cl.SetTraceID(tid(1))
	cl.SetSpanID(sid(1))
	cl.Attributes().PutStr("opentracing.ref_type", "follows_from")
	return td
}

func newStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return base.Add(time.Minute) }
	}
	opts.MemoryLimitBytes = 256 << 20
	opts.Threads = 2
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func otlpJSON(t *testing.T, td ptrace.Traces) string {
	t.Helper()
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(v, "", " ")
	return string(out)
}

func TestRoundTripKeepsEveryField(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, Options{Dir: dir})
	in := richTraces()
	want := otlpJSON(t, in)
	rejected, msg, err := s.ConsumeTraces(context.Background(), in)
	if err != nil || rejected != 0 || msg != "" {
		t.Fatalf("ConsumeTraces = %d, %q, %v", rejected, msg, err)
	}
	got, found, err := s.GetTrace(context.Background(), tid(1))
	if err != nil || !found {
		t.Fatalf("GetTrace: found=%v err=%v", found, err)
	}
	if diff := cmp.Diff(want, otlpJSON(t, got)); diff != "" {
		t.Fatalf("round trip changed the trace (-sent +stored):\n%s", diff)
	}
	// And after a restart.
	s.Close()
	s = newStore(t, Options{Dir: dir})
	got, found, err = s.GetTrace(context.Background(), tid(1))
	if err != nil || !found {
		t.Fatalf("GetTrace after reopen: found=%v err=%v", found, err)
	}
	if diff := cmp.Diff(want, otlpJSON(t, got)); diff != "" {
		t.Fatalf("after reopen (-sent +stored):\n%s", diff)
	}
	if got := s.Services(); !cmp.Equal(got, []string{"backend", "frontend"}) {
		t.Fatalf("services after reopen = %v", got)
	}
	if _, found, _ := s.GetTrace(context.Background(), tid(2)); found {
		t.Fatal("unknown trace found")
	}
}

func TestRejectsSpansWithoutIDs(t *testing.T) {
	s := newStore(t, Options{})
	td := richTraces()
	sps := td.ResourceSpans().At(1).ScopeSpans().At(0).Spans()
	bad := sps.AppendEmpty()
	bad.SetSpanID(sid(5)) // no trace ID
	bad2 := sps.AppendEmpty()
	bad2.SetTraceID(tid(1)) // no span ID
	rejected, msg, err := s.ConsumeTraces(context.Background(), td)
	if err != nil {
		t.Fatal(err)
	}
	if rejected != 2 || !strings.Contains(msg, "1 with an all-zero trace_id, 1 with an all-zero span_id") {
		t.Fatalf("rejected=%d msg=%q", rejected, msg)
	}
	got, _, _ := s.GetTrace(context.Background(), tid(1))
	if got.SpanCount() != 2 {
		t.Fatalf("stored %d spans, want the 2 valid ones", got.SpanCount())
	}
	// Nothing valid at all: nothing stored, all rejected.
	only := ptrace.NewTraces()
	only.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	rejected, _, err = s.ConsumeTraces(context.Background(), only)
	if err != nil || rejected != 1 {
		t.Fatalf("all invalid: rejected=%d err=%v", rejected, err)
	}
}

func TestAttrCodecRoundTrip(t *testing.T) {
	m := pcommon.NewMap()
	m.PutDouble("nan", math.NaN())
	m.PutDouble("inf", math.Inf(1))
	m.PutDouble("ninf", math.Inf(-1))
	m.PutDouble("tiny", 5e-324)
	m.PutInt("min", math.MinInt64)
	m.PutStr("bad utf8", "a\xffb")
	enc := string(appendAttrs(nil, m))
	got := pcommon.NewMap()
	if err := decodeAttrs(enc, got); err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	if v, _ := got.Get("nan"); !math.IsNaN(v.Double()) {
		t.Fatal("NaN lost")
	}
	if v, _ := got.Get("inf"); !math.IsInf(v.Double(), 1) {
		t.Fatal("+Inf lost")
	}
	if v, _ := got.Get("ninf"); !math.IsInf(v.Double(), -1) {
		t.Fatal("-Inf lost")
	}
	if v, _ := got.Get("tiny"); v.Double() != 5e-324 {
		t.Fatal("denormal lost")
	}
	if v, _ := got.Get("min"); v.Int() != math.MinInt64 {
		t.Fatal("MinInt64 lost")
	}
	if v, _ := got.Get("bad utf8"); v.Str() != "a\uFFFDb" {
		t.Fatalf("invalid UTF-8 stored as %q", v.Str())
	}
	for _, bad := range []string{`{`, `[1]`, `[["k"]]`, `[["k",{"i":"x"}]]`, `[["k",{"d":"nope"}]]`, `[["k",{"q":1}]]`, `[["k",{"b":"!!"}]]`, `[["k",{"i":1,"d":2}]]`} {
		if err := decodeAttrs(bad, pcommon.NewMap()); err == nil {
			t.Errorf("decodeAttrs(%s) accepted", bad)
		}
	}
}

func get(t *testing.T, srv *httptest.Server, path string, wantStatus int) jResponse {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, body, wantStatus)
	}
	var r jResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return r
}

func jaegerServer(t *testing.T) (*Store, *httptest.Server) {
	s := newStore(t, Options{})
	if _, _, err := s.ConsumeTraces(context.Background(), richTraces()); err != nil {
		t.Fatal(err)
	}
	// A second, fast and successful trace of the frontend.
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "frontend")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(tid(2))
	sp.SetSpanID(sid(3))
	sp.SetName("GET /home")
	sp.SetKind(ptrace.SpanKindServer)
	sp.SetStartTimestamp(ts(30 * time.Second))
	sp.SetEndTimestamp(ts(30*time.Second + 5*time.Millisecond))
	sp.Attributes().PutInt("http.status_code", 200)
	if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	mux := route.NewMux(s.Routes())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return s, srv
}

func httptestMux(s *Store) *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.MuxPattern(), rt.Handler)
	}
	return mux
}

func traceIDsOf(t *testing.T, r jResponse) []string {
	t.Helper()
	b, _ := json.Marshal(r.Data)
	var traces []jTrace
	if err := json.Unmarshal(b, &traces); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range traces {
		ids = append(ids, tr.TraceID)
	}
	return ids
}

func TestJaegerAPI(t *testing.T) {
	_, srv := jaegerServer(t)
	r := get(t, srv, "/jaeger/api/services", 200)
	if !cmp.Equal(r.Data, []any{"backend", "frontend"}) || r.Total != 2 {
		t.Fatalf("services = %v total %d", r.Data, r.Total)
	}
	r = get(t, srv, "/jaeger/api/services/frontend/operations", 200)
	if !cmp.Equal(r.Data, []any{"GET /checkout", "GET /home"}) {
		t.Fatalf("operations = %v", r.Data)
	}
	r = get(t, srv, "/jaeger/api/operations?service=backend&spanKind=client", 200)
	if !cmp.Equal(r.Data, []any{map[string]any{"name": "charge", "spanKind": "client"}}) {
		t.Fatalf("operations?spanKind = %v", r.Data)
	}
	r = get(t, srv, "/jaeger/api/operations?service=backend&spanKind=server", 200)
	if !cmp.Equal(r.Data, []any{}) {
		t.Fatalf("no server operations expected, got %v", r.Data)
	}

	startUS := base.Add(-time.Hour).UnixMicro()
	endUS := base.Add(time.Hour).UnixMicro()
	search := func(params string) []string {
		return traceIDsOf(t, get(t, srv, fmt.Sprintf("/jaeger/api/traces?start=%d&end=%d&%s", startUS, endUS, params), 200))
	}
	long := "a00102030405060708090a0b0c0d0e01"
	short := "a00102030405060708090a0b0c0d0e02"
	f := func(params string, want ...string) {
		t.Helper()
		if got := search(params); !cmp.Equal(got, want, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })) {
			t.Errorf("search %s = %v, want %v", params, got, want)
		}
	}
	f("service=frontend", short, long) // newest first
	f("service=frontend&limit=1", short)
	f("service=frontend&operation=GET+%2Fcheckout", long)
	f("service=frontend&minDuration=100ms", long)
	f("service=frontend&maxDuration=10ms", short)
	f("service=frontend&minDuration=1ms&maxDuration=10ms", short)
	f("service=frontend&tags="+url.QueryEscape(`{"http.status_code":"500"}`), long)
	f("service=frontend&tags="+url.QueryEscape(`{"http.status_code":500}`), long)
	f("service=frontend&tags="+url.QueryEscape(`{"error":"true"}`), long)
	f("service=frontend&tags="+url.QueryEscape(`{"host.name":"web-1","http.method":"GET"}`), long) // resource + span
	f("service=frontend&tags="+url.QueryEscape(`{"exception.type":"PaymentError"}`), long)         // event field
	f("service=frontend&tags="+url.QueryEscape(`{"event":"exception"}`), long)
	f("service=frontend&tags=" + url.QueryEscape(`{"http.method":"POST"}`)) // that span is the backend's
	f("service=backend&tags="+url.QueryEscape(`{"http.method":"POST"}`), long)
	f("service=frontend&tag=http.status_code:200", short)
	f("service=nobody")
	f(fmt.Sprintf("traceID=%s&traceID=%s", long, short), long, short)

	// Out of the time range.
	r = get(t, srv, fmt.Sprintf("/jaeger/api/traces?service=frontend&start=%d&end=%d", base.Add(time.Hour).UnixMicro(), base.Add(2*time.Hour).UnixMicro()), 200)
	if ids := traceIDsOf(t, r); len(ids) != 0 {
		t.Fatalf("out of range search found %v", ids)
	}
	r = get(t, srv, "/jaeger/api/traces?traceID="+long+"&traceID=ffff", 200)
	if len(r.Errors) != 1 || r.Errors[0].TraceID != "000000000000ffff" || r.Errors[0].Code != 404 {
		t.Fatalf("missing trace error = %+v", r.Errors)
	}

	r = get(t, srv, "/jaeger/api/traces/"+long, 200)
	if ids := traceIDsOf(t, r); !cmp.Equal(ids, []string{long}) {
		t.Fatalf("trace by id = %v", ids)
	}
	get(t, srv, "/jaeger/api/traces/"+long+"?start=1&end=2", 200) // hints do not hide the trace
	r = get(t, srv, "/jaeger/api/traces/00000000000000000000000000000bad", 404)
	if len(r.Errors) != 1 || r.Errors[0].Msg != "trace not found" {
		t.Fatalf("not found = %+v", r.Errors)
	}

	r = get(t, srv, fmt.Sprintf("/jaeger/api/dependencies?endTs=%d&lookback=%d", base.Add(time.Hour).UnixMilli(), (2*time.Hour).Milliseconds()), 200)
	if !cmp.Equal(r.Data, []any{map[string]any{"parent": "frontend", "child": "backend", "callCount": float64(1)}}) {
		t.Fatalf("dependencies = %v", r.Data)
	}

	for _, bad := range []struct{ path, msg string }{
		{"/jaeger/api/traces", "parameter 'service' is required"},
		{"/jaeger/api/traces?service=a&minDuration=fast", `invalid minDuration "fast"`},
		{"/jaeger/api/traces?service=a&maxDuration=-1s", "must not be negative"},
		{"/jaeger/api/traces?service=a&minDuration=2s&maxDuration=1s", "greater than maxDuration"},
		{"/jaeger/api/traces?service=a&limit=x", `invalid limit "x"`},
		{"/jaeger/api/traces?service=a&start=yesterday", `invalid start "yesterday"`},
		{"/jaeger/api/traces?service=a&start=20&end=10", "is after end"},
		{"/jaeger/api/traces?service=a&tags=%7Bnope", "invalid tags"},
		{"/jaeger/api/traces?service=a&tag=novalue", "want key:value"},
		{"/jaeger/api/traces?traceID=xyz", `invalid trace ID "xyz"`},
		{"/jaeger/api/traces/not-hex", `invalid trace ID "not-hex"`},
		{"/jaeger/api/traces/" + strings.Repeat("a", 33), "want 16 or 32 hex digits"},
		{"/jaeger/api/operations", "parameter 'service' is required"},
		{"/jaeger/api/operations?service=a&spanKind=weird", `invalid spanKind "weird"`},
		{"/jaeger/api/dependencies?endTs=soon", `invalid endTs "soon"`},
		{"/jaeger/api/dependencies?lookback=0", `invalid lookback "0"`},
	} {
		r := get(t, srv, bad.path, 400)
		if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Msg, bad.msg) || r.Errors[0].Code != 400 {
			t.Errorf("GET %s: errors %+v, want one containing %q", bad.path, r.Errors, bad.msg)
		}
	}
}

// TestJaegerTraceShape pins the JSON of a trace against a golden file
// checked field by field against Jaeger's translator (see docs/traces.md).
func TestJaegerTraceShape(t *testing.T) {
	_, srv := jaegerServer(t)
	resp, err := http.Get(srv.URL + "/jaeger/api/traces/a00102030405060708090a0b0c0d0e01")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	golden := filepath.Join("testdata", "jaeger_trace.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), string(got)); diff != "" {
		t.Fatalf("Jaeger JSON changed (-golden +got), rerun with -update if intended:\n%s", diff)
	}
}

func TestOTLPJSONEndpoint(t *testing.T) {
	_, srv := jaegerServer(t)
	resp, err := http.Get(srv.URL + "/vigil/api/v1/traces/a00102030405060708090a0b0c0d0e01")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(body)
	if err != nil {
		t.Fatalf("not OTLP JSON: %v\n%s", err, body)
	}
	if diff := cmp.Diff(otlpJSON(t, richTraces()), otlpJSON(t, td)); diff != "" {
		t.Fatalf("OTLP JSON differs:\n%s", diff)
	}
}

func TestTagNeedles(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("http.method", "GET")
	m.PutInt("code", 500)
	m.PutBool("ok", true)
	m.PutDouble("ratio", 0.25)
	sl := m.PutEmptySlice("list")
	sl.AppendEmpty().SetStr("k")
	sl.AppendEmpty().SetStr("v")
	m.PutEmptyMap("nested").PutStr("inner", "x")
	stored := string(appendAttrs(nil, m))
	f := func(k, v string, want bool) {
		t.Helper()
		got := false
		for _, n := range tagNeedles(k, v) {
			got = got || strings.Contains(stored, n)
		}
		if got != want {
			t.Errorf("tag %s=%s matches %v, want %v (stored %s)", k, v, got, want, stored)
		}
	}
	f("http.method", "GET", true)
	f("http.method", "GE", false)
	f("http.method", "get", false)
	f("code", "500", true)
	f("code", "50", false)
	f("ok", "true", true)
	f("ok", "false", false)
	f("ratio", "0.25", true)
	f("k", "v", false)    // an array value ["k","v"] is not a tag k=v
	f("inner", "x", true) // nested keys match as if flattened
	f("list", "k", false)
}

func TestJaegerWarnsMissingParent(t *testing.T) {
	td := richTraces()
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		v, _ := rs.Resource().Attributes().Get("service.name")
		return v.Str() == "frontend" // drop the root: charge's parent is missing
	})
	jt := toJaeger(td)
	if len(jt.Spans) != 1 || !cmp.Equal(jt.Spans[0].Warnings, []string{"invalid parent span IDs=b001020304050601; skipping clock skew adjustment"}) {
		t.Fatalf("warnings = %v", jt.Spans[0].Warnings)
	}
	if w := toJaeger(richTraces()).Spans[1].Warnings; w != nil {
		t.Fatalf("complete trace has warnings %v", w)
	}
}

// TestFailedNewLeavesNoCollectors: when New fails after registering some
// self-metrics, it unregisters them, so a retry with the same registry
// works.
func TestFailedNewLeavesNoCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	// Taken: span metrics' second collector cannot register.
	taken := prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_traces_span_metrics_write_errors_total", Help: "Span metric samples the TSDB refused (series limits, ...)."})
	reg.MustRegister(taken)
	opts := Options{Dir: t.TempDir(), Registerer: reg, MemoryLimitBytes: 256 << 20, Threads: 2}
	if _, err := Open(context.Background(), opts); err == nil {
		t.Fatal("New succeeded with a conflicting collector")
	}
	if !reg.Unregister(taken) {
		t.Fatal("could not unregister the conflicting collector")
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("retry: %v (collectors of the failed New left registered?)", err)
	}
	s.Close()
}

// A trace whose spans arrive an hour apart lies in two partitions; its
// ID is in both partitions' filters, so it is read whole.
func TestTraceAcrossPartitions(t *testing.T) {
	var mu sync.Mutex
	now := base.Add(time.Minute)
	clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newStore(t, Options{Now: clk, PartitionDuration: time.Hour})
	tr := tid(42)
	for i := range 3 {
		td := ptrace.NewTraces()
		spanIn(td, "svc", tr, byte(i+1), byte(i), time.Duration(i)*time.Millisecond)
		if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
		other := ptrace.NewTraces()
		spanIn(other, "svc", tid(byte(100+i)), 1, 0, 0)
		if _, _, err := s.ConsumeTraces(context.Background(), other); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = now.Add(time.Hour)
		mu.Unlock()
	}
	if n := s.db.Stats().Partitions; n < 3 {
		t.Fatalf("partitions = %d, want 3", n)
	}
	td, ok, err := s.GetTrace(context.Background(), tr)
	if err != nil || !ok || td.SpanCount() != 3 {
		t.Fatalf("trace across partitions: ok=%v err=%v spans=%d, want 3", ok, err, td.SpanCount())
	}
	if _, ok, err := s.GetTrace(context.Background(), tid(250)); err != nil || ok {
		t.Fatalf("absent trace: ok=%v err=%v", ok, err)
	}
}
