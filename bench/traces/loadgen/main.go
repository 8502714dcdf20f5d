// Command loadgen drives an OTLP/HTTP trace endpoint (Vigil or Jaeger) with
// pre-encoded protobuf batches, so the generator costs little CPU, and
// measures the Jaeger query API.
//
//	loadgen ingest -endpoint http://127.0.0.1:4318 -duration 60s -workers 8
//	loadgen rare   -endpoint http://127.0.0.1:4318 -state state.json
//	loadgen query  -api http://127.0.0.1:9797/jaeger -state state.json
//
// Spans look like telemetrygen's (a root and two children per trace, about
// 10 attributes each). Every request gets fresh trace IDs: the template's
// IDs carry a marker that is overwritten per request. By default (-random-ids,
// as real clients: W3C trace IDs are random) each ID is a hash of the
// request number and the trace's index in it, so IDs follow no order;
// -random-ids=false writes (request number | 1<<63, index), IDs that rise
// with the request number (the benchmark before 2026-12-03). The
// ingest run writes state.json (which trace IDs were acknowledged) for the
// query run, and prints a JSON summary. rare sends one trace whose root
// span alone carries the tag bench.rare=needle, for the rare-tag search.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
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
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// marker fills the high 8 bytes of every template trace ID; the low 8
// bytes hold the trace's index in the batch. Per request the marker is
// replaced by (request number | 1<<63).
var marker = [8]byte{0x56, 0x49, 0x47, 0x49, 0x4c, 0x42, 0x45, 0x4e} // "VIGILBEN"

const routes = 100 // http.route takes this many values: a search by one matches 1% of spans

// t0 is the template's start time; every timestamp is t0 plus a delta and
// is rewritten to now plus that delta per request.
const t0 = 1_700_000_000_123_456_789

type stamp struct{ off, delta int }

func template(spans int) ([]byte, []int, []stamp) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "loadgen")
	ra.PutStr("host.name", "bench-host")
	ra.PutStr("telemetry.sdk.language", "go")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("telemetrygen")
	now := time.Unix(0, t0)
	for i := range spans {
		sp := ss.Spans().AppendEmpty()
		var tid pcommon.TraceID
		copy(tid[:8], marker[:])
		binary.BigEndian.PutUint64(tid[8:], uint64(i/3))
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{1, byte(i >> 16), byte(i >> 8), byte(i), 5, 6, 7, 8})
		kind := ptrace.SpanKindClient
		if i%3 != 0 {
			root := i - i%3
			sp.SetParentSpanID(pcommon.SpanID{1, byte(root >> 16), byte(root >> 8), byte(root), 5, 6, 7, 8})
			kind = ptrace.SpanKindServer
			sp.SetName("okey-dokey-" + strconv.Itoa(i%3-1))
		} else {
			sp.SetName("lets-go")
		}
		sp.SetKind(kind)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(100+i%900) * time.Microsecond)))
		a := sp.Attributes()
		a.PutStr("net.peer.ip", "1.2.3.4")
		a.PutStr("peer.service", "telemetrygen-server")
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/api/items/"+strconv.Itoa(i%routes))
		a.PutInt("http.response.status_code", 200)
		a.PutStr("user_agent.original", "loadgen/1.0")
		a.PutStr("server.address", "shop.example.com")
		a.PutInt("server.port", 443)
		a.PutStr("url.scheme", "https")
		a.PutInt("request.size", int64(i*37%5000))
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	var offs []int
	for i := 0; ; {
		j := bytes.Index(body[i:], marker[:])
		if j < 0 {
			break
		}
		offs = append(offs, i+j)
		i += j + len(marker)
	}
	var stamps []stamp
	for delta := 0; delta < 1000; delta++ {
		d := delta * 1000
		if delta > 0 && delta < 100 {
			continue
		}
		var le [8]byte
		binary.LittleEndian.PutUint64(le[:], uint64(t0+d))
		for i := 0; ; {
			j := bytes.Index(body[i:], le[:])
			if j < 0 {
				break
			}
			stamps = append(stamps, stamp{i + j, d})
			i += j + 8
		}
	}
	return body, offs, stamps
}

type state struct {
	// Requests acknowledged, by request number: trace IDs are
	// traceID(n, 0..spans/3-1, RandomIDs).
	Acked         []uint64 `json:"acked"`
	SpansPerBatch int      `json:"spans_per_batch"`
	RandomIDs     bool     `json:"random_ids"`
	// RareTrace is the trace whose root span alone has bench.rare=needle
	// (written by rare; empty: none).
	RareTrace string `json:"rare_trace,omitempty"`
}

// rareMarker fills the high 8 bytes of the rare trace's ID.
var rareMarker = [8]byte{0x52, 0x41, 0x52, 0x45, 0x54, 0x41, 0x47, 0x31} // "RARETAG1"

// rare sends one trace of three spans like the template's, its root span
// with the tag bench.rare=needle that no other span has.
func rare(args []string) {
	fs := flag.NewFlagSet("rare", flag.ExitOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4318", "OTLP/HTTP base URL")
	statePath := fs.String("state", "", "record the rare trace's ID here")
	_ = fs.Parse(args)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "loadgen")
	rs.Resource().Attributes().PutStr("host.name", "bench-host")
	var tid pcommon.TraceID
	copy(tid[:8], rareMarker[:])
	binary.BigEndian.PutUint64(tid[8:], uint64(time.Now().UnixNano()))
	now := time.Now()
	sps := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range 3 {
		sp := sps.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{2, 0, 0, byte(i), 5, 6, 7, 8})
		sp.SetName("lets-go")
		if i > 0 {
			sp.SetParentSpanID(pcommon.SpanID{2, 0, 0, 0, 5, 6, 7, 8})
			sp.SetName("okey-dokey-" + strconv.Itoa(i-1))
		}
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		sp.Attributes().PutStr("http.route", "/api/items/"+strconv.Itoa(i))
		if i == 0 {
			sp.Attributes().PutStr("bench.rare", "needle")
		}
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	resp, err := http.Post(*endpoint+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		fmt.Fprintln(os.Stderr, "rare trace refused:", resp.Status)
		os.Exit(1)
	}
	if *statePath != "" {
		var st state
		if b, err := os.ReadFile(*statePath); err == nil {
			_ = json.Unmarshal(b, &st)
		}
		st.RareTrace = hex.EncodeToString(tid[:])
		b, _ := json.Marshal(st)
		if err := os.WriteFile(*statePath, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// traceIDParts is the ID of trace i of request req: (req|1<<63, i), or
// with random two hashes of both.
func traceIDParts(req uint64, i uint64, random bool) (hi, lo uint64) {
	if !random {
		return req | 1<<63, i
	}
	x := req<<24 ^ i
	return splitmix(2*x) | 1<<63, splitmix(2*x + 1) // 32 hex digits however printed
}

// splitmix is SplitMix64's output function: a bijection of the 64-bit
// integers that mixes every input bit into every output bit.
func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

func traceID(req uint64, i int, random bool) string {
	var b [16]byte
	hi, lo := traceIDParts(req, uint64(i), random)
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return hex.EncodeToString(b[:])
}

func ingest(args []string) {
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4318", "OTLP/HTTP base URL")
	duration := fs.Duration("duration", 60*time.Second, "how long to send")
	workers := fs.Int("workers", 8, "concurrent requests")
	spans := fs.Int("spans", 999, "spans per request (multiple of 3)")
	maxSpans := fs.Int64("max-spans", 0, "stop after this many acknowledged spans (0: run for -duration)")
	statePath := fs.String("state", "", "write acknowledged request numbers here")
	firstReq := fs.Uint64("first-request", 0, "first request number (to continue a previous run)")
	random := fs.Bool("random-ids", true, "random trace IDs, as real clients send (false: IDs rising with the request number)")
	_ = fs.Parse(args)

	body, offs, stamps := template(*spans)
	// The trace's index in the batch, the low half of each template ID.
	idx := make([]uint64, len(offs))
	for k, o := range offs {
		idx[k] = binary.BigEndian.Uint64(body[o+8:])
	}
	var next atomic.Uint64
	next.Store(*firstReq)
	// refused: 429/503 answers (retryable: the server asks to be retried
	// later); failed: other answers (not retryable); connErrors: no answer.
	var acked, refused, failed, connErrors atomic.Int64
	var mu sync.Mutex
	var ackedReqs []uint64
	var lat []time.Duration
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *workers}}
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(body))
			var myLat []time.Duration
			var mine []uint64
			for time.Now().Before(deadline) && (*maxSpans == 0 || acked.Load() < *maxSpans) {
				n := next.Add(1) - 1
				copy(buf, body)
				for k, o := range offs {
					hi, lo := traceIDParts(n, idx[k], *random)
					binary.BigEndian.PutUint64(buf[o:], hi)
					binary.BigEndian.PutUint64(buf[o+8:], lo)
				}
				now := time.Now().UnixNano()
				for _, st := range stamps {
					binary.LittleEndian.PutUint64(buf[st.off:], uint64(now+int64(st.delta)))
				}
				t0 := time.Now()
				resp, err := client.Post(*endpoint+"/v1/traces", "application/x-protobuf", bytes.NewReader(buf))
				if err != nil {
					connErrors.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 200:
					acked.Add(int64(*spans))
					myLat = append(myLat, time.Since(t0))
					mine = append(mine, n)
				case resp.StatusCode == 429 || resp.StatusCode == 503:
					refused.Add(1)
					time.Sleep(200 * time.Millisecond)
				default:
					failed.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, myLat...)
			ackedReqs = append(ackedReqs, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	out := map[string]any{
		"spans_acked":       acked.Load(),
		"seconds":           elapsed.Seconds(),
		"spans_per_second":  float64(acked.Load()) / elapsed.Seconds(),
		"requests_refused":  refused.Load(),
		"requests_failed":   failed.Load(),
		"connection_errors": connErrors.Load(),
		"request_p50_ms":    pct(lat, 0.5),
		"request_p99_ms":    pct(lat, 0.99),
		"next_request":      next.Load(),
	}
	if *statePath != "" {
		var st state
		if b, err := os.ReadFile(*statePath); err == nil {
			_ = json.Unmarshal(b, &st)
		}
		if len(st.Acked) > 0 && st.RandomIDs != *random {
			fmt.Fprintln(os.Stderr, "-random-ids differs from the run recorded in", *statePath)
			os.Exit(1)
		}
		st.Acked = append(st.Acked, ackedReqs...)
		st.SpansPerBatch = *spans
		st.RandomIDs = *random
		b, _ := json.Marshal(st)
		if err := os.WriteFile(*statePath, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	return float64(d[int(float64(len(d)-1)*p)].Microseconds()) / 1000
}

func query(args []string) {
	fs := flag.NewFlagSet("query", flag.ExitOnError)
	api := fs.String("api", "http://127.0.0.1:9797/jaeger", "Jaeger query API base (…/api/traces is appended)")
	statePath := fs.String("state", "state.json", "state written by ingest")
	n := fs.Int("n", 200, "queries of each kind")
	rareN := fs.Int("rare-n", 0, "rare-tag searches (default -n; none without a rare trace in the state)")
	_ = fs.Parse(args)
	if *rareN == 0 {
		*rareN = *n
	}
	b, err := os.ReadFile(*statePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || len(st.Acked) == 0 {
		fmt.Fprintln(os.Stderr, "no acknowledged requests in", *statePath)
		os.Exit(1)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	get := func(u string) (time.Duration, []byte, error) {
		t0 := time.Now()
		resp, err := client.Get(u)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return 0, nil, fmt.Errorf("GET %s: %d %.200s", u, resp.StatusCode, body)
		}
		return time.Since(t0), body, nil
	}
	var byID, search []time.Duration
	missing := 0
	for range *n {
		req := st.Acked[rand.IntN(len(st.Acked))]
		id := traceID(req, rand.IntN(st.SpansPerBatch/3), st.RandomIDs)
		d, body, err := get(*api + "/api/traces/" + id)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			missing++
			continue
		}
		var r struct {
			Data []struct {
				TraceID string            `json:"traceID"`
				Spans   []json.RawMessage `json:"spans"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &r) != nil || len(r.Data) != 1 || len(r.Data[0].Spans) != 3 || r.Data[0].TraceID != id {
			missing++
			if missing == 1 {
				fmt.Fprintf(os.Stderr, "trace by ID: want trace %s of 3 spans, got %.300s\n", id, body)
			}
		}
		byID = append(byID, d)
	}
	end := time.Now().Add(time.Minute)
	start := end.Add(-24 * time.Hour)
	for range *n {
		tags := url.QueryEscape(fmt.Sprintf(`{"http.route":"/api/items/%d"}`, rand.IntN(routes)))
		u := fmt.Sprintf("%s/api/traces?service=loadgen&tags=%s&limit=20&start=%d&end=%d", *api, tags, start.UnixMicro(), end.UnixMicro())
		d, body, err := get(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var r struct {
			Data []json.RawMessage `json:"data"`
		}
		if json.Unmarshal(body, &r) != nil || len(r.Data) == 0 {
			fmt.Fprintf(os.Stderr, "search found nothing: %.300s\n", body)
		}
		search = append(search, d)
	}
	// The rare tag: one span of all those stored, searched over the whole
	// day (the rare trace was sent first, so a newest-first scan reaches it
	// last).
	var rareSearch []time.Duration
	rareWrong := 0
	for i := 0; st.RareTrace != "" && i < *rareN; i++ {
		tags := url.QueryEscape(`{"bench.rare":"needle"}`)
		u := fmt.Sprintf("%s/api/traces?service=loadgen&tags=%s&limit=20&start=%d&end=%d", *api, tags, start.UnixMicro(), end.UnixMicro())
		d, body, err := get(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var r struct {
			Data []struct {
				TraceID string `json:"traceID"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &r) != nil || len(r.Data) != 1 || r.Data[0].TraceID != st.RareTrace {
			rareWrong++
			if rareWrong == 1 {
				fmt.Fprintf(os.Stderr, "rare-tag search: want only trace %s, got %.300s\n", st.RareTrace, body)
			}
		}
		rareSearch = append(rareSearch, d)
	}
	sort.Slice(byID, func(i, j int) bool { return byID[i] < byID[j] })
	sort.Slice(search, func(i, j int) bool { return search[i] < search[j] })
	sort.Slice(rareSearch, func(i, j int) bool { return rareSearch[i] < rareSearch[j] })
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"rare_search_p50_ms":    pct(rareSearch, 0.5),
		"rare_search_p99_ms":    pct(rareSearch, 0.99),
		"rare_search_incorrect": rareWrong,
		"rare_searches":         len(rareSearch),
		"trace_by_id_p50_ms":    pct(byID, 0.5),
		"trace_by_id_p99_ms":    pct(byID, 0.99),
		"trace_by_id_incorrect": missing,
		"random_ids":            st.RandomIDs,
		"search_p50_ms":         pct(search, 0.5),
		"search_p99_ms":         pct(search, 0.99),
		"queries":               *n,
	})
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen ingest|rare|query [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "ingest":
		ingest(os.Args[2:])
	case "rare":
		rare(os.Args[2:])
	case "query":
		query(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: loadgen ingest|rare|query [flags]")
		os.Exit(2)
	}
}
