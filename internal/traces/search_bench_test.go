package traces

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/telemetrydb"
)

func BenchmarkSearch(b *testing.B) {
	s := newStore(b, Options{Now: time.Now})
	for i := range 300 {
		if _, _, err := s.ConsumeTraces(context.Background(), benchBatch(999, uint64(i))); err != nil {
			b.Fatal(err)
		}
	}
	q := TraceQuery{Service: "bench", Tags: map[string]string{"http.route": "/api/v1/items/{id}"}, Limit: 20, StartMax: time.Now().Add(time.Minute).UnixNano()}
	if os.Getenv("EXPLAIN") != "" {
		w, a := tagCondition("http.route", "/api/v1/items/{id}")
		_ = s.db.Query(context.Background(), telemetrydb.TimeRange{}, "EXPLAIN ANALYZE SELECT trace_hi, trace_lo, max(start_ns) AS m FROM {{spans}} WHERE service = 'bench' AND "+w+" GROUP BY 1, 2 ORDER BY m DESC LIMIT 20", a, func(r *sql.Rows) error {
			for r.Next() {
				var k, v string
				r.Scan(&k, &v)
				b.Log(v)
			}
			return nil
		})
	}
	b.ResetTimer()
	for b.Loop() {
		keys, err := s.FindTraceIDs(context.Background(), q)
		if err != nil || len(keys) != 20 {
			b.Fatal(len(keys), err)
		}
	}
}

func BenchmarkGetTrace(b *testing.B) {
	s := newStore(b, Options{Now: time.Now})
	for i := range 300 {
		if _, _, err := s.ConsumeTraces(context.Background(), benchBatch(999, uint64(i))); err != nil {
			b.Fatal(err)
		}
	}
	ids := benchBatch(3, 150)
	id := ids.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
	b.ResetTimer()
	for b.Loop() {
		td, ok, err := s.GetTrace(context.Background(), id)
		if err != nil || !ok || td.SpanCount() != 3 {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkGetTraceAcrossPartitions: trace by ID as the store grows by
// partitions (each 20 requests of 999 spans). With the partitions' trace
// ID filters a lookup reads one partition, whatever their number.
func BenchmarkGetTraceAcrossPartitions(b *testing.B) {
	for _, parts := range []int{2, 16} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			var mu sync.Mutex
			now := time.Now()
			clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			s := newStore(b, Options{Now: clk, PartitionDuration: time.Hour})
			for p := range parts {
				for i := range 20 {
					if _, _, err := s.ConsumeTraces(context.Background(), benchBatch(999, uint64(p*20+i))); err != nil {
						b.Fatal(err)
					}
				}
				mu.Lock()
				now = now.Add(time.Hour)
				mu.Unlock()
			}
			id := benchBatch(3, uint64(parts*10)).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
			b.ResetTimer()
			for b.Loop() {
				td, ok, err := s.GetTrace(context.Background(), id)
				if err != nil || !ok || td.SpanCount() != 3 {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkCatalog: what the services/operations catalogue costs. "scan"
// is the full DISTINCT scan that used to reload it every 5 minutes (now
// run once, at open, per partition); "add" is keeping it as spans are
// committed, per span of a known operation (the common case).
func BenchmarkCatalog(b *testing.B) {
	s := newStore(b, Options{Now: time.Now})
	const batches = 300
	for i := range batches {
		if _, _, err := s.ConsumeTraces(context.Background(), benchBatch(999, uint64(i))); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if err := newCatalog().load(context.Background(), s.db); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(batches*999), "spans")
	})
	b.Run("add", func(b *testing.B) {
		td := benchBatch(999, 7)
		for b.Loop() {
			s.addToCatalog(td)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*999), "ns/span")
	})
}
