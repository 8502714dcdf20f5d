package traces

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func serve(t *testing.T, s *Store) *httptest.Server {
	t.Helper()
	mux := httptestMux(s)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// spanIn appends a span of service to td.
func spanIn(td ptrace.Traces, service string, trace pcommon.TraceID, id, parent byte, at time.Duration) ptrace.Span {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(trace)
	sp.SetSpanID(sid(id))
	if parent != 0 {
		sp.SetParentSpanID(sid(parent))
	}
	sp.SetName("op")
	sp.SetStartTimestamp(ts(at))
	sp.SetEndTimestamp(ts(at + time.Millisecond))
	return sp
}

// Same-service edges are dependencies too, as Jaeger counts them:
// frontend→frontend 2, frontend→backend 3, backend→backend 1 (issue 10
// item 15).
func TestDependenciesKeepSameServiceEdges(t *testing.T) {
	s := newStore(t, Options{})
	td := ptrace.NewTraces()
	tr := tid(7)
	spanIn(td, "frontend", tr, 1, 0, 0)
	spanIn(td, "frontend", tr, 2, 1, time.Millisecond)
	spanIn(td, "frontend", tr, 3, 1, time.Millisecond)
	spanIn(td, "backend", tr, 4, 2, 2*time.Millisecond)
	spanIn(td, "backend", tr, 5, 2, 2*time.Millisecond)
	spanIn(td, "backend", tr, 6, 3, 2*time.Millisecond)
	spanIn(td, "backend", tr, 7, 6, 3*time.Millisecond)
	if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	r := get(t, serve(t, s), fmt.Sprintf("/jaeger/api/dependencies?endTs=%d&lookback=%d", base.Add(time.Hour).UnixMilli(), (2*time.Hour).Milliseconds()), 200)
	want := []any{
		map[string]any{"parent": "backend", "child": "backend", "callCount": float64(1)},
		map[string]any{"parent": "frontend", "child": "backend", "callCount": float64(3)},
		map[string]any{"parent": "frontend", "child": "frontend", "callCount": float64(2)},
	}
	if diff := cmp.Diff(want, r.Data); diff != "" {
		t.Fatalf("dependencies (-want +got):\n%s", diff)
	}
}

// Span event fields keep Jaeger's order: "event" first, then the
// attributes as sent, not sorted (issue 10 item 17).
func TestEventFieldsKeepTheirOrder(t *testing.T) {
	s := newStore(t, Options{})
	td := ptrace.NewTraces()
	sp := spanIn(td, "shop", tid(8), 1, 0, 0)
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(0))
	ev.Attributes().PutStr("exception.type", "IOError")
	ev.Attributes().PutStr("exception.message", "disk")
	ev.Attributes().PutStr("code.lineno", "42")
	if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	r := get(t, serve(t, s), "/jaeger/api/traces/"+traceHex(tid(8)), 200)
	logs := r.Data.([]any)[0].(map[string]any)["spans"].([]any)[0].(map[string]any)["logs"].([]any)
	var keys []string
	for _, f := range logs[0].(map[string]any)["fields"].([]any) {
		keys = append(keys, f.(map[string]any)["key"].(string))
	}
	if want := []string{"event", "exception.type", "exception.message", "code.lineno"}; !cmp.Equal(keys, want) {
		t.Fatalf("event fields %v, want %v", keys, want)
	}
}

// A tag names a key inside a map attribute by its flattened name
// (issue 10 item 17).
func TestTagsMatchFlattenedMapKeys(t *testing.T) {
	s := newStore(t, Options{})
	td := ptrace.NewTraces()
	sp := spanIn(td, "shop", tid(9), 1, 0, 0)
	m := sp.Attributes().PutEmptyMap("tl.map")
	m.PutStr("k1", "v1")
	m.PutInt("k2", 5)
	m.PutStr("dotted.key", "x")
	sp.Attributes().PutStr("plain", "p")
	if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, s)
	f := func(tags string, want int) {
		t.Helper()
		q := url.Values{"service": {"shop"}, "tags": {tags}, "start": {fmt.Sprint(base.Add(-time.Hour).UnixMicro())}, "end": {fmt.Sprint(base.Add(time.Hour).UnixMicro())}}
		r := get(t, srv, "/jaeger/api/traces?"+q.Encode(), 200)
		if got := len(r.Data.([]any)); got != want {
			t.Errorf("tags=%s: %d traces, want %d", tags, got, want)
		}
	}
	f(`{"tl.map.k1":"v1"}`, 1)
	f(`{"tl.map.k2":"5"}`, 1)
	f(`{"tl.map.dotted.key":"x"}`, 1)
	f(`{"tl.map.k1":"v1","plain":"p"}`, 1)
	f(`{"tl.map.k1":"other"}`, 0)
	f(`{"tl.map.k3":"v1"}`, 0)
	f(`{"tl.k1":"v1"}`, 0)
}

// A 64-bit trace ID (16 digits, as Jaeger prints it) is the 128-bit one
// padded with zeros wherever the trace APIs take one (issue 10 item 12).
func TestShortTraceIDs(t *testing.T) {
	s := newStore(t, Options{})
	td := ptrace.NewTraces()
	short := pcommon.TraceID{8: 0x00, 9: 0xc0, 10: 0xff, 11: 0xee, 12: 0x12, 13: 0x34, 14: 0x56, 15: 0x78}
	spanIn(td, "shop", short, 1, 0, 0)
	if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, s)
	for _, id := range []string{"00c0ffee12345678", "000000000000000000c0ffee12345678"} {
		r := get(t, srv, "/jaeger/api/traces/"+id, 200)
		if got := r.Data.([]any)[0].(map[string]any)["traceID"]; got != "00c0ffee12345678" {
			t.Errorf("%s: traceID %v", id, got)
		}
		r = get(t, srv, "/jaeger/api/traces?traceID="+id, 200)
		if len(r.Data.([]any)) != 1 || len(r.Errors) != 0 {
			t.Errorf("search traceID=%s: %v %v", id, r.Data, r.Errors)
		}
		resp, err := srv.Client().Get(srv.URL + "/vigil/api/v1/traces/" + id)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("/vigil/api/v1/traces/%s: %v %v", id, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
}

func traceHex(id pcommon.TraceID) string { return fmt.Sprintf("%x", id[:]) }
