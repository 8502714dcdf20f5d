// Command memwatch samples a process's resident set size for the memory
// benchmark (bench/memory/run.sh): VmRSS every -interval (100 ms), the
// peak of those samples and the kernel's own peak (VmHWM), the process's
// CPU time, and, for Vigil, its /metrics every second, keeping the scrape
// taken at the highest resident size so that a peak can be attributed
// (Go heap, the TSDB head, the stores' queues, the rest: DuckDB).
//
//	memwatch -pid PID [-interval 100ms] [-metrics http://HOST/metrics] -out F.json [-series F.csv] [-scrapes F.csv]
//
// It runs until SIGTERM or SIGINT, or until the process exits (then
// "exited" is true), and writes one JSON object.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// kept are the metrics copied from the scrape at the peak.
var kept = []string{
	"process_resident_memory_bytes",
	"go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes",
	"go_memstats_sys_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_next_gc_bytes",
	"vigil_memory_limit_bytes", "vigil_memory_resident_bytes", "vigil_memory_refusing", "vigil_memory_refused_requests_total",
	"prometheus_tsdb_head_series", "prometheus_tsdb_head_chunks",
	"vigil_telemetrydb_queue_rows", "vigil_logs_term_index_bytes", "vigil_logs_active_streams",
	"vigil_samples_rejected_total", "vigil_traces_spans_rejected_total", "vigil_logs_records_rejected_total",
}

// Result is memwatch's output.
type Result struct {
	PID      int     `json:"pid"`
	Interval string  `json:"interval"`
	Samples  int     `json:"samples"`
	Seconds  float64 `json:"seconds"`
	// PeakRSS is the largest VmRSS sampled; HWM is VmHWM at the last
	// sample (the kernel's peak, which no sampling misses).
	PeakRSS int64   `json:"peak_rss_bytes"`
	PeakAt  float64 `json:"peak_at_seconds"`
	HWM     int64   `json:"vmhwm_bytes"`
	LastRSS int64   `json:"last_rss_bytes"`
	// CPU is the process's user+system seconds while watched.
	CPU    float64 `json:"cpu_seconds"`
	Exited bool    `json:"exited"`
	// AtPeak is the /metrics scrape taken at the highest resident size
	// (scrapes are every second; their own RSS is in rss_bytes).
	AtPeak map[string]float64 `json:"metrics_at_peak,omitempty"`
	// Max is each kept metric's largest value over the scrapes.
	Max         map[string]float64 `json:"metrics_max,omitempty"`
	ScrapeError string             `json:"scrape_error,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memwatch:", err)
		os.Exit(1)
	}
}

func run() error {
	pid := flag.Int("pid", 0, "process id")
	interval := flag.Duration("interval", 100*time.Millisecond, "sampling interval")
	metricsURL := flag.String("metrics", "", "a Prometheus /metrics URL to scrape every second (Vigil's)")
	out := flag.String("out", "", "write the JSON result here (default stdout)")
	seriesPath := flag.String("series", "", "write every sample here as CSV: seconds,rss_bytes")
	scrapesPath := flag.String("scrapes", "", "write every scrape here as CSV: seconds, rss and the kept metrics")
	flag.Parse()
	if *pid <= 0 {
		return errors.New("-pid is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	var csv *bufio.Writer
	if *seriesPath != "" {
		f, err := os.Create(*seriesPath)
		if err != nil {
			return err
		}
		defer f.Close()
		csv = bufio.NewWriter(f)
		defer csv.Flush()
		fmt.Fprintln(csv, "seconds,rss_bytes")
	}
	var scsv *bufio.Writer
	if *scrapesPath != "" && *metricsURL != "" {
		f, err := os.Create(*scrapesPath)
		if err != nil {
			return err
		}
		defer f.Close()
		scsv = bufio.NewWriter(f)
		defer scsv.Flush()
		fmt.Fprintf(scsv, "seconds,rss_bytes,%s\n", strings.Join(kept, ","))
	}
	res := Result{PID: *pid, Interval: interval.String(), Max: map[string]float64{}}
	cpu0, _ := cpuOf(*pid)
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	scrapeRSS := int64(-1)
	var lastScrape time.Time
	tk := time.NewTicker(*interval)
	defer tk.Stop()
	cpu := cpu0
	for {
		st, err := readStatus(*pid)
		if err != nil {
			res.Exited = true
			break
		}
		if c, err := cpuOf(*pid); err == nil {
			cpu = c
		}
		el := time.Since(start).Seconds()
		res.Samples++
		res.LastRSS, res.HWM = st.RSS, st.HWM
		if st.RSS > res.PeakRSS {
			res.PeakRSS, res.PeakAt = st.RSS, el
		}
		if csv != nil {
			fmt.Fprintf(csv, "%.1f,%d\n", el, st.RSS)
		}
		if *metricsURL != "" && time.Since(lastScrape) >= time.Second {
			lastScrape = time.Now()
			m, err := scrape(client, *metricsURL)
			if err != nil {
				res.ScrapeError = err.Error()
			} else {
				for k, v := range m {
					res.Max[k] = max(res.Max[k], v)
				}
				if scsv != nil {
					fmt.Fprintf(scsv, "%.1f,%d", el, st.RSS)
					for _, k := range kept {
						fmt.Fprintf(scsv, ",%g", m[k])
					}
					fmt.Fprintln(scsv)
				}
				if st.RSS > scrapeRSS {
					scrapeRSS = st.RSS
					m["rss_bytes"] = float64(st.RSS)
					m["at_seconds"] = el
					res.AtPeak = m
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-tk.C:
			continue
		}
		break
	}
	res.Seconds = time.Since(start).Seconds()
	res.CPU = (cpu - cpu0).Seconds()
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// status holds the figures of /proc/PID/status memwatch reads.
type status struct{ RSS, HWM int64 }

func readStatus(pid int) (status, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return status{}, err
	}
	st, err := parseStatus(b)
	if err != nil {
		return st, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return st, nil
}

// parseStatus reads VmRSS and VmHWM (in kB) from /proc/PID/status text.
// A zombie has neither: that is an error, as is a malformed value.
func parseStatus(b []byte) (status, error) {
	var st status
	var seen int
	for _, line := range bytes.Split(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || (string(k) != "VmRSS" && string(k) != "VmHWM") {
			continue
		}
		f := strings.Fields(string(v))
		if len(f) != 2 || f[1] != "kB" {
			return st, fmt.Errorf("%s: want \"N kB\", got %q", k, bytes.TrimSpace(v))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 || n > 1<<40 {
			return st, fmt.Errorf("%s: bad size %q", k, f[0])
		}
		if string(k) == "VmRSS" {
			st.RSS = n << 10
		} else {
			st.HWM = n << 10
		}
		seen++
	}
	if seen < 2 {
		return st, errors.New("no VmRSS and VmHWM (the process has exited)")
	}
	return st, nil
}

// cpuOf is the process's user+system CPU time from /proc/PID/stat.
func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("stat: bad utime/stime")
	}
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100
}

// scrape reads the kept metrics from a text exposition (unlabelled
// series; a labelled one is summed over its labels).
func scrape(c *http.Client, url string) (map[string]float64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(io.LimitReader(resp.Body, 64<<20))
}

func parseMetrics(r io.Reader) (map[string]float64, error) {
	want := map[string]bool{}
	for _, k := range kept {
		want[k] = true
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
			if j := strings.LastIndexByte(line, '}'); j >= 0 {
				rest = line[j+1:]
			}
		}
		if !want[name] {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("metrics: %s has no value", name)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %s: bad value %q", name, f[0])
		}
		m[name] += v
	}
	return m, sc.Err()
}
