package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// benchQuery is one PromQL range query of the benchmark.
type benchQuery struct {
	Name  string
	Expr  string
	Range time.Duration // ending at the last scrape of the corpus
	Step  time.Duration
}

// queries are what dashboards and alerts over node_exporter and HTTP
// services ask: rates, aggregations, a histogram quantile, topk, ratios. All
// but the last cover the last hour at 15 s (Prometheus and Vigil answer them
// from the head); the last covers 3 hours at 1 m, reaching into the
// compacted block.
var queries = []benchQuery{
	{"cpu_by_mode", `sum by (mode) (rate(node_cpu_seconds_total[5m]))`, time.Hour, 15 * time.Second},
	{"cpu_busy_top5", `topk(5, sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m])))`, time.Hour, 15 * time.Second},
	{"p99_by_handler", `histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))`, time.Hour, 15 * time.Second},
	{"error_ratio_by_job", `sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m]))`, time.Hour, 15 * time.Second},
	{"rps_one_handler", `rate(http_requests_total{handler="/api/checkout",code="200"}[5m])`, time.Hour, 15 * time.Second},
	{"net_rx_top10", `topk(10, rate(node_network_receive_bytes_total{device!="lo"}[5m]))`, time.Hour, 15 * time.Second},
	{"mem_avail_ratio", `sum by (cluster) (node_memory_MemAvailable_bytes) / sum by (cluster) (node_memory_MemTotal_bytes)`, time.Hour, 15 * time.Second},
	{"fs_almost_full", `count by (cluster) (node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.6)`, time.Hour, 15 * time.Second},
	{"load_one_cluster", `avg_over_time(node_load1{cluster="eu-west-1a"}[5m])`, time.Hour, 15 * time.Second},
	{"rps_by_cluster_3h", `sum by (cluster) (rate(http_request_duration_seconds_count[5m]))`, 3 * time.Hour, time.Minute},
}

// QueryOptions configure a latency run.
type QueryOptions struct {
	Dir string // corpus, for the time range
	// Targets are queried in turn, query by query, so that noise from the
	// rest of the machine falls on all of them alike.
	Targets []QueryTarget
	Passes  int // independent passes, each with Reps of every query
	Reps    int
}

// QueryTarget is one server under test.
type QueryTarget struct {
	URL string // base URL; /api/v1/query_range is appended
	PID int    // process, for the CPU time of each query; 0: not measured
}

// QueryResult is the latency of one query.
type QueryResult struct {
	Name   string `json:"name"`
	Expr   string `json:"expr"`
	Range  string `json:"range"`
	Step   string `json:"step"`
	Series int    `json:"series"`
	Points int    `json:"points"`
	// P50 and P99 are the medians over the passes of each pass's
	// percentile, in seconds; Pass* are the per-pass figures.
	P50     float64   `json:"p50_seconds"`
	P99     float64   `json:"p99_seconds"`
	PassP50 []float64 `json:"pass_p50_seconds"`
	PassP99 []float64 `json:"pass_p99_seconds"`
	// CPU is the target's CPU seconds per execution (user+system from
	// /proc, all threads), the median over the passes of each pass's mean.
	// Unlike latency it hardly depends on what else runs on the machine.
	CPU     float64   `json:"cpu_seconds"`
	PassCPU []float64 `json:"pass_cpu_seconds"`
	Samples int       `json:"timings"`
	Error   string    `json:"error,omitempty"`
}

// runQueries runs every query once per target to warm up, then Passes
// times Reps rounds of all queries; each query goes to every target in
// turn (the first target rotates) before the next query. It returns the
// results by target.
func runQueries(ctx context.Context, opts QueryOptions) ([][]QueryResult, error) {
	m, err := readMeta(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	end := time.UnixMilli(m.EndMS())
	client := &http.Client{Timeout: 2 * time.Minute}
	nt := len(opts.Targets)
	out := make([][]QueryResult, nt)
	timings := make([][][][]float64, nt) // target, query, pass, rep
	cpu := make([][][]time.Duration, nt) // target, query, pass
	for t, tg := range opts.Targets {
		out[t] = make([]QueryResult, len(queries))
		timings[t] = make([][][]float64, len(queries))
		cpu[t] = make([][]time.Duration, len(queries))
		for i, q := range queries {
			out[t][i] = QueryResult{Name: q.Name, Expr: q.Expr, Range: q.Range.String(), Step: q.Step.String()}
			timings[t][i] = make([][]float64, opts.Passes)
			cpu[t][i] = make([]time.Duration, opts.Passes)
			series, points, _, err := rangeQuery(ctx, client, tg.URL, q, end)
			if err != nil {
				out[t][i].Error = err.Error()
				continue
			}
			out[t][i].Series, out[t][i].Points = series, points
		}
	}
	turn := 0
	for p := 0; p < opts.Passes; p++ {
		for r := 0; r < opts.Reps; r++ {
			for i, q := range queries {
				turn++
				for k := 0; k < nt; k++ {
					t := (turn + k) % nt
					if out[t][i].Error != "" {
						continue
					}
					pid := opts.Targets[t].PID
					c0, _ := cpuOf(pid)
					_, _, d, err := rangeQuery(ctx, client, opts.Targets[t].URL, q, end)
					if err != nil {
						out[t][i].Error = err.Error()
						continue
					}
					c1, _ := cpuOf(pid)
					cpu[t][i][p] += c1 - c0
					timings[t][i][p] = append(timings[t][i][p], d.Seconds())
				}
			}
		}
	}
	for t := range out {
		for i := range out[t] {
			res := &out[t][i]
			for p, ts := range timings[t][i] {
				if len(ts) == 0 {
					continue
				}
				if opts.Targets[t].PID > 0 {
					res.PassCPU = append(res.PassCPU, cpu[t][i][p].Seconds()/float64(len(ts)))
				}
				res.PassP50 = append(res.PassP50, percentile(ts, 50))
				res.PassP99 = append(res.PassP99, percentile(ts, 99))
				res.Samples += len(ts)
			}
			res.P50 = median(res.PassP50)
			res.P99 = median(res.PassP99)
			if len(res.PassCPU) > 0 {
				res.CPU = median(res.PassCPU)
			}
		}
	}
	return out, nil
}

// rangeQuery runs q and returns the number of series and points in the
// answer and the time from sending the request to reading the whole body.
func rangeQuery(ctx context.Context, c *http.Client, base string, q benchQuery, end time.Time) (int, int, time.Duration, error) {
	v := url.Values{}
	v.Set("query", q.Expr)
	v.Set("start", strconv.FormatInt(end.Add(-q.Range).Unix(), 10))
	v.Set("end", strconv.FormatInt(end.Unix(), 10))
	v.Set("step", strconv.FormatFloat(q.Step.Seconds(), 'f', -1, 64))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query_range?"+v.Encode(), nil)
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("query %s: %w", q.Name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("query %s: read answer: %w", q.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, 0, fmt.Errorf("query %s: %s: %.300s", q.Name, resp.Status, body)
	}
	var ans struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Values []json.RawMessage `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return 0, 0, 0, fmt.Errorf("query %s: decode answer: %w", q.Name, err)
	}
	points := 0
	for _, r := range ans.Data.Result {
		points += len(r.Values)
	}
	return len(ans.Data.Result), points, d, nil
}

// percentile is the nearest-rank percentile of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
