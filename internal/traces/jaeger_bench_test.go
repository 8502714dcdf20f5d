package traces

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// bigTrace is the UI benchmark's trace (bench/ui): 10,000 spans in a tree
// of up to 9 children each, over 5 services, one int attribute each, every
// 97th an error.
func bigTrace(n int) (ptrace.Traces, pcommon.TraceID) {
	td := ptrace.NewTraces()
	tid := pcommon.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	t0 := time.Now().Add(-time.Minute)
	ss := make([]ptrace.SpanSlice, 5)
	for s := range ss {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc-"+strconv.Itoa(s))
		sc := rs.ScopeSpans().AppendEmpty()
		sc.Scope().SetName("bench")
		ss[s] = sc.Spans()
	}
	sid := func(i int) pcommon.SpanID {
		var b pcommon.SpanID
		for k := range 8 {
			b[7-k] = byte(i >> (8 * k))
		}
		return b
	}
	for i := range n {
		sp := ss[i%5].AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(sid(i + 1))
		if i > 0 {
			sp.SetParentSpanID(sid((i-1)/9 + 1))
		}
		sp.SetName("op-" + strconv.Itoa(i%37))
		sp.SetKind(ptrace.SpanKindServer)
		start := t0.Add(time.Duration(i) * time.Microsecond)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond + time.Duration((i*7919)%50_000_000))))
		sp.Attributes().PutInt("i", int64(i))
		if i%97 == 0 {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td, tid
}

// BenchmarkJaegerTrace: GET /api/traces/{id} of a 10,000-span trace, the
// request the UI's trace view makes; "fetch" is the store's part,
// "convert" toJaeger, "encode" the JSON.
func BenchmarkJaegerTrace(b *testing.B) {
	s := newStore(b, Options{Now: time.Now})
	td, tid := bigTrace(10_000)
	if _, _, err := s.ConsumeTraces(context.Background(), td); err != nil {
		b.Fatal(err)
	}
	got, ok, err := s.GetTrace(context.Background(), tid)
	if err != nil || !ok || got.SpanCount() != 10_000 {
		b.Fatal(ok, err, got.SpanCount())
	}
	b.Run("fetch", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.GetTrace(context.Background(), tid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("convert", func(b *testing.B) {
		for b.Loop() {
			toJaeger(got)
		}
	})
	jt := toJaeger(got)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			writeJSON(httptest.NewRecorder(), 200, jResponse{Data: []jTrace{jt}})
		}
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/traces/{id}", s.serveTrace)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + "/api/traces/" + tid.String()
	b.Run("http", func(b *testing.B) {
		for b.Loop() {
			r, err := http.Get(url)
			if err != nil || r.StatusCode != 200 {
				b.Fatal(err, r.StatusCode)
			}
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
	})
}
