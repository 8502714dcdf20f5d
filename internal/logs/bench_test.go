package logs

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchStreams builds a push of n lines over 20 services and 5 levels.
func benchStreams(n int, base int64) []Stream {
	levels := []string{"debug", "info", "warn", "error", "info"}
	var streams []Stream
	per := n / 20
	for svc := 0; svc < 20; svc++ {
		st := Stream{Labels: []Label{{"env", "prod"}, {"service_name", fmt.Sprintf("svc-%02d", svc)}}}
		for i := 0; i < per; i++ {
			lv := levels[i%5]
			var line string
			if i%2 == 0 {
				line = fmt.Sprintf(`{"level":%q,"msg":"handled request","method":"GET","path":"/api/v1/items/%d","status":%d,"duration_ms":%d,"user":"u%d","trace_id":"%032x"}`, lv, i%977, 200+(i%5)*100, i%300, i%1000, i)
			} else {
				line = fmt.Sprintf(`%s level=%s msg="cache lookup" key=item:%d hit=%t latency=%dus caller=cache/lru.go:%d`, time.Unix(0, base).UTC().Format(time.RFC3339Nano), lv, i, i%3 == 0, i%900, i%200)
			}
			st.Entries = append(st.Entries, Entry{Timestamp: base + int64(i)*1000, Line: line})
		}
		streams = append(streams, st)
	}
	return streams
}

func BenchmarkAppendStreams(b *testing.B) {
	s := openStore(b, Options{MemoryLimitBytes: 1 << 30, QueueRows: benchQueue, MaxBatchRows: benchBatch})
	const batch = 2000
	reqs := make([][]Stream, 16)
	for i := range reqs {
		reqs[i] = benchStreams(batch, time.Now().UnixNano()+int64(i)*int64(time.Second))
	}
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	workers := benchWorkers
	per := (b.N + workers - 1) / workers
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, _, err := s.AppendStreams(context.Background(), reqs[(w+i)%len(reqs)]); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	lines := float64(per * workers * batch)
	b.ReportMetric(lines/time.Since(start).Seconds(), "lines/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/lines, "cpu-µs/line")
}

var benchQueue, benchBatch, benchWorkers = 524288, 262144, 4

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBlockBuilder is the term index's cost at ingest: the trigrams
// of one 2000-line push request and the folded bitset, per line.
func BenchmarkBlockBuilder(b *testing.B) {
	var lines []string
	for _, st := range benchStreams(2000, time.Now().UnixNano()) {
		for _, e := range st.Entries {
			lines = append(lines, e.Line)
		}
	}
	var bb blockBuilder
	bytes := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, l := range lines {
			bb.add(int64(j), l)
		}
		bytes += len(bb.finish()) * 8
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
	b.ReportMetric(float64(bytes)/float64(b.N*len(lines)), "index-bytes/line")
}

// BenchmarkRareTerm is a line filter for a word in 1 line of 100,000,
// over 1M lines in 500 blocks, with and without the term index.
func BenchmarkRareTerm(b *testing.B) {
	s := openStore(b, Options{MemoryLimitBytes: 1 << 30})
	base := time.Now().Add(-time.Hour).UnixNano()
	const blocks, per = 500, 2000
	for i := 0; i < blocks; i++ {
		streams := benchStreams(per, base+int64(i*per)*1000)
		if i%50 == 7 {
			streams[3].Entries[11].Line += " needle"
		}
		if _, _, err := s.AppendStreams(context.Background(), streams); err != nil {
			b.Fatal(err)
		}
	}
	end := base + int64(blocks*per)*1000 + 1
	for _, c := range []struct {
		name    string
		noIndex bool
		expr    string
	}{
		{"rare/index", false, `{env="prod"} |= "needle"`},
		{"rare/scan", true, `{env="prod"} |= "needle"`},
		{"rare-ci/index", false, `{env="prod"} |~ "(?i)NEEDLE"`},
		{"rare-1stream/index", false, `{service_name="svc-03"} |= "needle"`},
		{"common/index", false, `{env="prod"} |= "cache lookup"`},
		{"common/scan", true, `{env="prod"} |= "cache lookup"`},
	} {
		b.Run(c.name, func(b *testing.B) {
			s.noIndex = c.noIndex
			defer func() { s.noIndex = false }()
			for i := 0; i < b.N; i++ {
				res, err := s.Query(context.Background(), Query{Expr: c.expr, Start: base, End: end, Limit: 100})
				if err != nil {
					b.Fatal(err)
				}
				if res.Stats.Entries == 0 {
					b.Fatal("no lines found")
				}
			}
		})
	}
}
