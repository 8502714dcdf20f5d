package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TestMemoryLimit (issue 18 item 3): with a small memory_limit and heavy
// load on all three signals at once, the resident set size sampled every
// 100 ms stays within the limit (+10%), the load is refused with
// retryable answers (503 with Retry-After) rather than the kernel's OOM
// killer, and ingestion resumes once the load stops.
func TestMemoryLimit(t *testing.T) {
	limit := int64(512 << 20)
	if s := os.Getenv("VIGIL_E2E_MEMORY_LIMIT_MIB"); s != "" {
		n, _ := strconv.Atoi(s)
		limit = int64(n) << 20
	}
	v := StartVigil(t, StartOptions{Config: fmt.Sprintf("memory_limit: %dMiB\n", limit>>20)})
	pid := v.cmd.Process.Pid

	var maxRSS atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tk.C:
				if rss := residentOf(pid); rss > maxRSS.Load() {
					maxRSS.Store(rss)
				}
			}
		}
	}()

	type tally struct {
		mu       sync.Mutex
		codes    map[int]int
		memory   int // 503s that name the memory limit
		noRetry  int // refusals without Retry-After
		failures []string
	}
	tl := &tally{codes: map[int]int{}}
	record := func(resp *http.Response, err error) {
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if err != nil {
			tl.failures = append(tl.failures, err.Error())
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tl.codes[resp.StatusCode]++
		switch {
		case resp.StatusCode/100 == 2:
		case resp.StatusCode == 503 || resp.StatusCode == 429:
			if resp.Header.Get("Retry-After") == "" {
				tl.noRetry++
			}
			if strings.Contains(string(b), "memory_limit") {
				tl.memory++
			}
		default:
			if len(tl.failures) < 5 {
				tl.failures = append(tl.failures, fmt.Sprintf("%d %s", resp.StatusCode, b))
			}
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	loop := func(f func(i int) (*http.Request, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				req, err := f(i)
				if err != nil {
					record(nil, err)
					return
				}
				resp, err := client.Do(req.WithContext(ctx))
				if ctx.Err() != nil {
					if err == nil {
						resp.Body.Close()
					}
					return
				}
				record(resp, err)
			}
		}()
	}
	pad := strings.Repeat("x", 200)
	for w := range 2 {
		// Remote write: 2,000 series a request out of 10,000 per writer
		// (what the head keeps stays well under the limit: the pressure
		// is the requests and the stores' queues, which drain).
		loop(func(i int) (*http.Request, error) {
			now := time.Now().UnixMilli()
			wr := &prompb.WriteRequest{}
			for s := range 2000 {
				n := (i*2000 + s) % 10000
				wr.Timeseries = append(wr.Timeseries, Series([]string{"__name__", "memtest_load", "writer", strconv.Itoa(w), "series", strconv.Itoa(n), "pad", pad[:40]},
					prompb.Sample{Timestamp: now, Value: float64(i)}))
			}
			raw, err := wr.Marshal()
			if err != nil {
				return nil, err
			}
			req, _ := http.NewRequest("POST", v.URL("/api/v1/write"), bytes.NewReader(snappy.Encode(nil, raw)))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "snappy")
			req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
			return req, nil
		})
		// OTLP/HTTP traces: 1,000 spans with 8 attributes a request.
		loop(func(i int) (*http.Request, error) {
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("memtest-%d", w))
			ss := rs.ScopeSpans().AppendEmpty()
			now := time.Now()
			for s := range 1000 {
				sp := ss.Spans().AppendEmpty()
				sp.SetName(fmt.Sprintf("op-%d", s%20))
				var tid [16]byte
				copy(tid[:], fmt.Sprintf("%02d%06d%08d", w, i, s))
				sp.SetTraceID(pcommon.TraceID(tid))
				sp.SetSpanID(pcommon.SpanID([8]byte{byte(w), byte(i >> 8), byte(i), byte(s >> 8), byte(s), 1, 2, 3}))
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
				for a := range 8 {
					sp.Attributes().PutStr(fmt.Sprintf("attr.%d", a), fmt.Sprintf("%s-%d-%d", pad[:60], i, s))
				}
			}
			b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
			if err != nil {
				return nil, err
			}
			req, _ := http.NewRequest("POST", "http://"+v.OTLPHTTP+"/v1/traces", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/x-protobuf")
			return req, nil
		})
		// Loki push (JSON): 2,000 lines of ~250 bytes a request.
		loop(func(i int) (*http.Request, error) {
			var sb strings.Builder
			fmt.Fprintf(&sb, `{"streams":[{"stream":{"job":"memtest","writer":"%d"},"values":[`, w)
			ns := time.Now().UnixNano()
			for l := range 2000 {
				if l > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `["%d","level=info request=%d line=%d %s"]`, ns+int64(l), i, l, pad)
			}
			sb.WriteString(`]}]}`)
			req, _ := http.NewRequest("POST", v.URL("/loki/api/v1/push"), strings.NewReader(sb.String()))
			req.Header.Set("Content-Type", "application/json")
			return req, nil
		})
	}

	// Load until the governor has refused for a while (at least 10 s of
	// load; at most 90 s, which a loaded machine may need).
	start := time.Now()
	waitLoad := func() error {
		tl.mu.Lock()
		memory := tl.memory
		tl.mu.Unlock()
		if memory < 20 || time.Since(start) < 10*time.Second {
			return fmt.Errorf("%d refusals for memory after %s", memory, time.Since(start).Round(time.Second))
		}
		return nil
	}
	// Past 90 s the assertions below say what was missed.
	for tick := time.Tick(250 * time.Millisecond); waitLoad() != nil && time.Since(start) < 90*time.Second; {
		<-tick
	}
	cancel()
	wg.Wait()
	close(stopSampling)
	<-sampled

	tl.mu.Lock()
	defer tl.mu.Unlock()
	t.Logf("memory_limit %d MiB: peak RSS %d MiB over %s of load; answers %v; %d refused naming memory_limit",
		limit>>20, maxRSS.Load()>>20, time.Since(start).Round(time.Second), tl.codes, tl.memory)
	if len(tl.failures) > 0 {
		t.Errorf("non-retryable answers or errors: %q", tl.failures)
	}
	if tl.noRetry > 0 {
		t.Errorf("%d refusals without Retry-After", tl.noRetry)
	}
	if tl.memory == 0 {
		t.Errorf("the load was never refused for memory: the test did not reach the limit (peak RSS %d MiB)", maxRSS.Load()>>20)
	}
	if bound := limit + limit/10; maxRSS.Load() > bound {
		t.Errorf("peak RSS %d MiB is over memory_limit + 10%% (%d MiB)", maxRSS.Load()>>20, bound>>20)
	}
	if tl.codes[200]+tl.codes[204] == 0 {
		t.Errorf("nothing was accepted: %v", tl.codes)
	}

	// Once the load stops, ingestion resumes.
	Eventually(t, 60*time.Second, func() error {
		if code, body := v.RemoteWrite([]prompb.TimeSeries{Series([]string{"__name__", "memtest_after", "job", "x"}, prompb.Sample{Timestamp: time.Now().UnixMilli(), Value: 1})}); code/100 != 2 {
			return fmt.Errorf("remote write after the load: %d %s (RSS %d MiB; %s)", code, body, residentOf(pid)>>20, memoryMetrics(v))
		}
		return nil
	})
	if !strings.Contains(v.Logs(), "refusing ingestion") {
		t.Errorf("the log does not say ingestion was refused:\n%s", v.Logs())
	}
}

// residentOf reads a process's VmRSS in bytes (0 when it cannot).
func residentOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// memoryMetrics picks Vigil's memory figures from /metrics, to say where
// the memory is when a bound is missed.
func memoryMetrics(v *Vigil) string {
	_, b := v.Get("/metrics")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, p := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes", "go_memstats_sys_bytes", "vigil_telemetrydb_memory", "prometheus_tsdb_head_series ", "process_resident_memory_bytes"} {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "; ")
}
