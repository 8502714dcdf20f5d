package traces

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchBatch is like a telemetrygen batch: n spans in traces of 3, about
// 10 attributes each.
func benchBatch(n int, seed uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	rs.Resource().Attributes().PutStr("host.name", "bench-host")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("telemetrygen")
	now := time.Now()
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		tr := seed*1_000_000 + uint64(i/3)
		var tid pcommon.TraceID
		for b := range 8 {
			tid[b] = byte(tr >> (8 * b))
			tid[8+b] = byte((tr * 0x9E3779B97F4A7C15) >> (8 * b))
		}
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), byte(seed), 1, 2, 3, 4, 5})
		if i%3 != 0 {
			sp.SetParentSpanID(pcommon.SpanID{byte(i - i%3), byte((i - i%3) >> 8), byte(seed), 1, 2, 3, 4, 5})
		}
		sp.SetName("okey-dokey-" + strconv.Itoa(i%3))
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(123 * time.Microsecond)))
		a := sp.Attributes()
		a.PutStr("net.peer.ip", "1.2.3.4")
		a.PutStr("peer.service", "telemetrygen-server")
		a.PutStr("http.method", "GET")
		a.PutStr("http.route", "/api/v1/items/{id}")
		a.PutInt("http.status_code", 200)
		a.PutStr("user_agent.original", "telemetrygen/0.161.0")
		a.PutStr("server.address", "example.com")
		a.PutInt("server.port", 443)
		a.PutStr("url.scheme", "https")
		a.PutStr("request.id", strconv.FormatUint(seed*100000+uint64(i), 16))
	}
	return td
}

func BenchmarkConsumeTraces(b *testing.B) {
	s := newStore(b, Options{})
	batches := make([]ptrace.Traces, 64)
	for i := range batches {
		batches[i] = benchBatch(1000, uint64(i))
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, err := s.ConsumeTraces(context.Background(), batches[i%len(batches)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N*1000), "cpu-µs/span")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkSpanRows(b *testing.B) {
	td := benchBatch(1000, 1)
	b.ReportAllocs()
	for b.Loop() {
		rs := td.ResourceSpans().At(0)
		res := newResourceRow(rs)
		sc := newScopeRow(rs.ScopeSpans().At(0))
		var buf []byte
		sps := rs.ScopeSpans().At(0).Spans()
		for k := 0; k < sps.Len(); k++ {
			_, buf = spanRow(sps.At(k), &res, &sc, buf)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkTagTokens is the tag index's cost at ingest: the tokens of
// 1000 spans and the folded filter.
func BenchmarkTagTokens(b *testing.B) {
	td := benchBatch(1000, 1)
	var tb tagBuilder
	b.ReportAllocs()
	for b.Loop() {
		rs := td.ResourceSpans().At(0)
		res := newResourceRow(rs)
		sc := newScopeRow(rs.ScopeSpans().At(0))
		tb.addResource(&res, rs.Resource())
		tb.addScope(&sc)
		sps := rs.ScopeSpans().At(0).Spans()
		for k := 0; k < sps.Len(); k++ {
			tb.addSpan(sps.At(k))
		}
		tb.finish()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
}
