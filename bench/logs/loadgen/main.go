// Command loadgen drives the logs benchmark: it pushes pre-encoded Loki
// batches (snappy protobuf) of realistic lines, loads a data set spread over
// a time window, times queries and measures live-tail delay, against Vigil
// or VictoriaLogs (which accepts Loki push at /insert/loki/api/v1/push).
//
//	loadgen push  -url URL -workers 4 -duration 30s            # sustained throughput
//	loadgen load  -url URL -total 10000000 -spread 24h         # a data set for queries
//	loadgen query -url URL -n 7 -q 'LogQL or LogsQL' [-step 5m] [-kind loki|vlogs]
//	loadgen tail  -url BASE -push URL -kind loki|vlogs -n 20
//
// Every command prints one JSON object with its figures.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen push|load|query|tail [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "push", "load":
		err = push(os.Args[1], os.Args[2:])
	case "query":
		err = query(os.Args[2:])
	case "tail":
		err = tail(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

var (
	services = func() []string {
		s := make([]string, 20)
		for i := range s {
			s[i] = fmt.Sprintf("svc-%02d", i)
		}
		return s
	}()
	levels  = []string{"debug", "info", "info", "info", "warn", "error"}
	paths   = []string{"/api/v1/orders", "/api/v1/users", "/api/v1/items", "/healthz", "/api/v1/cart/checkout", "/static/app.js"}
	methods = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	words   = strings.Fields("cache miss for key session user retry backoff upstream timeout connection reset refused pool exhausted slow query rows scanned index lookup queue depth flush compaction shard rebalance lease renewed token expired")
)

// line returns a realistic line of 100-300 bytes: JSON for even services,
// logfmt-ish text for odd ones; every needleEvery-th line carries "needle".
func line(r *rand.Rand, svc int, ts time.Time, seq int64, needleEvery int64) string {
	lv := levels[r.IntN(len(levels))]
	var b strings.Builder
	msgWords := 3 + r.IntN(12)
	var msg strings.Builder
	for i := 0; i < msgWords; i++ {
		if i > 0 {
			msg.WriteByte(' ')
		}
		msg.WriteString(words[r.IntN(len(words))])
	}
	if needleEvery > 0 && seq%needleEvery == 0 {
		msg.WriteString(" needle")
	}
	if svc%2 == 0 {
		fmt.Fprintf(&b, `{"ts":%q,"level":%q,"msg":%q,"method":%q,"path":%q,"status":%d,"duration_ms":%d,"trace_id":"%016x%016x"}`,
			ts.UTC().Format(time.RFC3339Nano), lv, msg.String(), methods[r.IntN(len(methods))], paths[r.IntN(len(paths))],
			[]int{200, 200, 200, 201, 404, 500}[r.IntN(6)], r.IntN(2000), r.Uint64(), r.Uint64())
	} else {
		fmt.Fprintf(&b, `%s %s [%s] %s req_id=%08x user=u%d elapsed=%dms`,
			ts.UTC().Format("2006-01-02T15:04:05.000Z"), strings.ToUpper(lv), services[svc], msg.String(), r.Uint32(), r.IntN(5000), r.IntN(900))
	}
	return b.String()
}

// batch encodes a snappy logproto.PushRequest of n lines over the 20
// services, with timestamps from base spaced by gap.
func batch(r *rand.Rand, n int, base time.Time, gap time.Duration, seq *int64, needleEvery int64) ([]byte, int) {
	per := make([][]byte, len(services))
	for i := 0; i < n; i++ {
		svc := i % len(services)
		ts := base.Add(time.Duration(i) * gap)
		s := atomic.AddInt64(seq, 1)
		l := line(r, svc, ts, s, needleEvery)
		var tsb, eb []byte
		tsb = protowire.AppendTag(tsb, 1, protowire.VarintType)
		tsb = protowire.AppendVarint(tsb, uint64(ts.Unix()))
		tsb = protowire.AppendTag(tsb, 2, protowire.VarintType)
		tsb = protowire.AppendVarint(tsb, uint64(ts.Nanosecond()))
		eb = protowire.AppendTag(eb, 1, protowire.BytesType)
		eb = protowire.AppendBytes(eb, tsb)
		eb = protowire.AppendTag(eb, 2, protowire.BytesType)
		eb = protowire.AppendString(eb, l)
		per[svc] = protowire.AppendTag(per[svc], 2, protowire.BytesType)
		per[svc] = protowire.AppendBytes(per[svc], eb)
	}
	var out []byte
	for svc, entries := range per {
		if len(entries) == 0 {
			continue
		}
		var sb []byte
		sb = protowire.AppendTag(sb, 1, protowire.BytesType)
		sb = protowire.AppendString(sb, fmt.Sprintf(`{env="prod", service_name=%q}`, services[svc]))
		sb = append(sb, entries...)
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, sb)
	}
	return snappy.Encode(nil, out), n
}

func push(mode string, args []string) error {
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	u := fs.String("url", "", "push URL")
	workers := fs.Int("workers", 4, "concurrent pushers")
	dur := fs.Duration("duration", 30*time.Second, "push: how long to push")
	size := fs.Int("batch", 2000, "lines per request")
	pre := fs.Int("batches", 64, "push: pre-encoded batches to cycle through")
	total := fs.Int64("total", 10_000_000, "load: lines to load")
	spread := fs.Duration("spread", 24*time.Hour, "load: the time window the lines cover, ending now")
	needle := fs.Int64("needle-every", 100000, "put the word needle in every n-th line")
	warmup := fs.Duration("warmup", 5*time.Second, "push: the start-up part, reported apart from the steady state after it")
	fs.Parse(args)
	if *u == "" {
		return fmt.Errorf("-url is required")
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *workers * 2}}
	var seq int64
	// refused: 429/503 answers (retryable: the server asks to be retried
	// later); failed: other answers (not retryable); connErrors: no answer
	// (retried).
	var sent, refused, failed, connErrors atomic.Int64
	// stopAt (push): a request still refused then is given up, unacknowledged.
	var stopAt time.Time
	var perSecond []int64 // push: lines acknowledged in each second
	stopSampling := func() {}
	do := func(body []byte, n int) {
		for attempt := 0; ; attempt++ {
			req, _ := http.NewRequest("POST", *u, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-protobuf")
			resp, err := client.Do(req)
			if err != nil {
				connErrors.Add(1)
				if !stopAt.IsZero() && time.Now().After(stopAt) {
					return
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2:
				sent.Add(int64(n))
				return
			case resp.StatusCode == 429 || resp.StatusCode == 503:
				refused.Add(1)
				if !stopAt.IsZero() && time.Now().After(stopAt) {
					return
				}
				time.Sleep(50 * time.Millisecond)
			default:
				failed.Add(1)
				return
			}
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	if mode == "push" {
		r := rand.New(rand.NewPCG(1, 2))
		bodies := make([][]byte, *pre)
		bytesTotal := 0
		for i := range bodies {
			bodies[i], _ = batch(r, *size, time.Now().Add(-time.Minute), time.Microsecond, &seq, *needle)
			bytesTotal += len(bodies[i])
		}
		start = time.Now()
		deadline := start.Add(*dur)
		stopAt = deadline
		stopSampling = sampleEachSecond(&sent, &perSecond)
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; time.Now().Before(deadline); i++ {
					do(bodies[i%len(bodies)], *size)
				}
			}(w)
		}
	} else {
		nb := (*total + int64(*size) - 1) / int64(*size)
		gap := time.Duration(int64(*spread) / *total)
		begin := time.Now().Add(-*spread)
		var next atomic.Int64
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 7))
				for {
					i := next.Add(1) - 1
					if i >= nb {
						return
					}
					body, n := batch(r, *size, begin.Add(time.Duration(i*int64(*size))*gap), gap, &seq, *needle)
					do(body, n)
				}
			}(w)
		}
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	stopSampling()
	out := map[string]any{
		"mode": mode, "lines": sent.Load(), "seconds": el, "lines_per_second": float64(sent.Load()) / el,
		"refused_requests": refused.Load(), "failed_requests": failed.Load(), "connection_errors": connErrors.Load(),
		"workers": *workers, "batch": *size,
	}
	if mode == "push" {
		for k, v := range phases(perSecond, int(*warmup/time.Second)) {
			out[k] = v
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// sampleEachSecond appends to *out, every second, the lines acknowledged
// in that second, until the returned stop is called (which waits for it).
func sampleEachSecond(sent *atomic.Int64, out *[]int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := sent.Load()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n := sent.Load()
				*out = append(*out, n-last)
				last = n
			}
		}
	}()
	return func() { close(done); <-finished }
}

// phases splits the per-second counts into start-up (the first warm
// seconds) and steady state (the rest): the mean rate of the first, and the
// median, min and max of the second, with every interval listed.
func phases(perSecond []int64, warm int) map[string]any {
	out := map[string]any{"per_second": perSecond, "startup_seconds": warm}
	warm = min(warm, len(perSecond))
	if warm > 0 {
		var n int64
		for _, v := range perSecond[:warm] {
			n += v
		}
		out["startup_lines_per_second"] = float64(n) / float64(warm)
	}
	if steady := append([]int64(nil), perSecond[warm:]...); len(steady) > 0 {
		sort.Slice(steady, func(i, j int) bool { return steady[i] < steady[j] })
		med := float64(steady[len(steady)/2])
		if len(steady)%2 == 0 {
			med = float64(steady[len(steady)/2-1]+steady[len(steady)/2]) / 2
		}
		out["steady_median_lines_per_second"] = med
		out["steady_min_lines_per_second"] = steady[0]
		out["steady_max_lines_per_second"] = steady[len(steady)-1]
	}
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}

func query(args []string) error {
	fs := flag.NewFlagSet("query", flag.ExitOnError)
	u := fs.String("url", "", "query URL (Loki query_range or VictoriaLogs /select/logsql/...)")
	q := fs.String("q", "", "query")
	n := fs.Int("n", 7, "repetitions")
	spread := fs.Duration("spread", 24*time.Hour, "time range, ending now")
	step := fs.String("step", "", "step for metric queries")
	limit := fs.Int("limit", 100, "line limit for log queries")
	endAt := fs.String("end", "", "end of the time range, RFC 3339 (default now): the same range for data sets loaded at different times")
	fs.Parse(args)
	end := time.Now()
	if *endAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *endAt)
		if err != nil {
			return fmt.Errorf("-end: %w", err)
		}
		end = t
	}
	start := end.Add(-*spread)
	params := url.Values{"query": {*q}}
	if strings.Contains(*u, "/loki/") {
		params.Set("start", strconv.FormatInt(start.UnixNano(), 10))
		params.Set("end", strconv.FormatInt(end.UnixNano(), 10))
	} else {
		params.Set("start", start.UTC().Format(time.RFC3339Nano))
		params.Set("end", end.UTC().Format(time.RFC3339Nano))
	}
	if *step != "" {
		params.Set("step", *step)
	} else {
		params.Set("limit", strconv.Itoa(*limit))
	}
	var times []time.Duration
	var size int
	for i := 0; i < *n; i++ {
		t0 := time.Now()
		resp, err := http.Post(*u, "application/x-www-form-urlencoded", strings.NewReader(params.Encode()))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d %s", *q, resp.StatusCode, b)
		}
		times = append(times, time.Since(t0))
		size = len(b)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"query": *q, "n": *n, "p50_ms": percentile(times, 0.5).Seconds() * 1000, "p99_ms": percentile(times, 0.99).Seconds() * 1000, "response_bytes": size,
	})
}

// tail measures the delay between a push's acknowledgement being sent and
// the line arriving on a live-tail connection.
func tail(args []string) error {
	fs := flag.NewFlagSet("tail", flag.ExitOnError)
	base := fs.String("url", "", "base URL of the server")
	pushURL := fs.String("push", "", "Loki push URL")
	kind := fs.String("kind", "loki", "loki (websocket /loki/api/v1/tail) or vlogs (/select/logsql/tail)")
	n := fs.Int("n", 20, "samples")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	got := make(chan string, 1024)
	switch *kind {
	case "loki":
		c, _, err := websocket.Dial(ctx, strings.Replace(*base, "http", "ws", 1)+"/loki/api/v1/tail?limit=0&query="+url.QueryEscape(`{service_name="tailbench"}`), nil)
		if err != nil {
			return err
		}
		defer c.CloseNow()
		go func() {
			for {
				_, msg, err := c.Read(ctx)
				if err != nil {
					return
				}
				got <- string(msg)
			}
		}()
	default:
		// The response headers may come only with the first line: read in
		// the background.
		req, _ := http.NewRequestWithContext(ctx, "GET", *base+"/select/logsql/tail?query="+url.QueryEscape(`{service_name="tailbench"}`), nil)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				got <- sc.Text()
			}
		}()
	}
	time.Sleep(time.Second)
	var delays []time.Duration
	for i := 0; i < *n; i++ {
		token := fmt.Sprintf("tailtoken-%d-%d", i, time.Now().UnixNano())
		body, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{
			"stream": map[string]string{"service_name": "tailbench"},
			"values": [][]string{{strconv.FormatInt(time.Now().UnixNano(), 10), token}},
		}}})
		t0 := time.Now()
		// Every step is bounded by ctx (5 minutes in all) and 10 s each, so a
		// server that stops answering fails the phase instead of hanging it.
		pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
		req, _ := http.NewRequestWithContext(pctx, "POST", *pushURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			pcancel()
			return fmt.Errorf("push %s: %w", token, err)
		}
		resp.Body.Close()
		pcancel()
		deadline := time.NewTimer(10 * time.Second)
	wait:
		for {
			select {
			case m := <-got:
				if strings.Contains(m, token) {
					delays = append(delays, time.Since(t0))
					break wait
				}
			case <-deadline.C:
				return fmt.Errorf("line %s not seen on the tail within 10s", token)
			case <-ctx.Done():
				return fmt.Errorf("tail phase: %w after %d of %d samples", ctx.Err(), len(delays), *n)
			}
		}
		deadline.Stop()
		time.Sleep(200 * time.Millisecond)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"kind": *kind, "n": *n, "p50_ms": percentile(delays, 0.5).Seconds() * 1000, "p99_ms": percentile(delays, 0.99).Seconds() * 1000,
	})
}
