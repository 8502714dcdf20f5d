// Command albench measures alerting: N alerting rules in G groups evaluated
// every interval over S series, on bin/vigil and on Prometheus +
// Alertmanager (one after the other, same rules, same data, same route).
// It reports missed iterations, rule-group evaluation time, process CPU per
// evaluation cycle, and the time from a rule's evaluation to the webhook
// delivery (minus group_wait), p50/p99.
//
// Every cycle it raises bench_value{instance="0"} in a few groups (all rules
// of those groups fire, one alert each) and lowers the previous cycle's.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

var (
	vigilBin  = flag.String("vigil", "bin/vigil", "vigil binary")
	promBin   = flag.String("prometheus", "prometheus", "Prometheus binary ('' to skip)")
	amBin     = flag.String("alertmanager", "prometheus-alertmanager", "Alertmanager binary")
	outDir    = flag.String("out", "bench/.out/alerting", "output directory")
	groups    = flag.Int("groups", 1000, "rule groups")
	perGroup  = flag.Int("rules-per-group", 10, "alerting rules per group")
	perSeries = flag.Int("series-per-group", 100, "series per group (series = groups x this)")
	interval  = flag.Duration("interval", 15*time.Second, "evaluation and write interval")
	cycles    = flag.Int("cycles", 8, "measured evaluation cycles per target")
	warmup    = flag.Int("warmup-cycles", 3, "cycles before measuring")
	fireN     = flag.Int("fire-groups", 10, "groups whose rules fire each cycle")
	groupWait = flag.Duration("group-wait", time.Second, "route group_wait (subtracted from latency)")
	targets   = flag.String("targets", "vigil,prometheus", "what to run")
)

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		log.Fatal(err)
	}
	rulesFile := filepath.Join(*outDir, "rules.yml")
	if err := os.WriteFile(rulesFile, genRules(), 0o644); err != nil {
		log.Fatal(err)
	}
	var results []result
	for _, t := range strings.Split(*targets, ",") {
		var r result
		var err error
		switch t {
		case "vigil":
			r, err = runVigil(rulesFile)
		case "prometheus":
			if *promBin == "" {
				continue
			}
			r, err = runPrometheus(rulesFile)
		default:
			log.Fatalf("unknown target %q", t)
		}
		if err != nil {
			log.Fatalf("%s: %v", t, err)
		}
		results = append(results, r)
	}
	report(results)
}

func genRules() []byte {
	var b bytes.Buffer
	b.WriteString("groups:\n")
	for g := range *groups {
		fmt.Fprintf(&b, "  - name: g%d\n    rules:\n", g)
		for r := range *perGroup {
			fmt.Fprintf(&b, "      - alert: BenchRule%d\n        expr: bench_value{group=\"%d\"} > %d\n        labels: {severity: page}\n        annotations: {summary: \"{{ $labels.instance }} at {{ $value }}\"}\n", r, g, r)
		}
	}
	return b.Bytes()
}

func routeYAML(hook string) string {
	return fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, group]
  group_wait: %s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs: [{url: %q, send_resolved: false}]
`, model(*groupWait), hook)
}

func model(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + "ms" }

// --- webhook sink ----------------------------------------------------------

type sink struct {
	mu   sync.Mutex
	lats []time.Duration
	seen map[string]bool
	dups int // the same alert (fingerprint, startsAt) notified again
	srv  *http.Server
	addr string
}

func newSink() *sink {
	s := &sink{seen: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var m struct {
			Alerts []struct {
				Status      string    `json:"status"`
				StartsAt    time.Time `json:"startsAt"`
				Fingerprint string    `json:"fingerprint"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		s.mu.Lock()
		for _, a := range m.Alerts {
			if a.Status == "firing" {
				key := a.Fingerprint + a.StartsAt.String()
				if s.seen[key] {
					s.dups++
					continue
				}
				s.seen[key] = true
				s.lats = append(s.lats, now.Sub(a.StartsAt)-*groupWait)
			}
		}
		s.mu.Unlock()
	})}
	go s.srv.Serve(ln)
	return s
}

func (s *sink) reset() {
	s.mu.Lock()
	s.lats, s.dups = nil, 0
	clear(s.seen)
	s.mu.Unlock()
}

// --- load --------------------------------------------------------------------

func writeAll(ctx context.Context, url string, firing map[int]bool) error {
	now := time.Now().UnixMilli()
	const batch = 10000
	var ts []prompb.TimeSeries
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	sem := make(chan struct{}, 4)
	flush := func(ts []prompb.TimeSeries) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := send(ctx, url, ts); err != nil {
				errs <- err
			}
		}()
	}
	for g := range *groups {
		for i := range *perSeries {
			v := 0.0
			if i == 0 && firing[g] {
				v = 100
			}
			ts = append(ts, prompb.TimeSeries{
				Labels:  []prompb.Label{{Name: "__name__", Value: "bench_value"}, {Name: "group", Value: strconv.Itoa(g)}, {Name: "instance", Value: strconv.Itoa(i)}},
				Samples: []prompb.Sample{{Timestamp: now, Value: v}},
			})
			if len(ts) == batch {
				flush(ts)
				ts = nil
			}
		}
	}
	if len(ts) > 0 {
		flush(ts)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func send(ctx context.Context, url string, ts []prompb.TimeSeries) error {
	raw, err := (&prompb.WriteRequest{Timeseries: ts}).Marshal()
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("remote write: %s: %s", resp.Status, b)
	}
	return nil
}

// --- processes -----------------------------------------------------------------

type proc struct {
	name string
	cmd  *exec.Cmd
	url  string // base URL for /metrics
}

func start(name, bin string, args []string, logFile, readyURL string) (*proc, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s not ready; see %s", name, logFile)
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}

// --- measurement -------------------------------------------------------------------

type result struct {
	name            string
	cycles          int
	alerts          int
	p50, p99, max   time.Duration
	missed          float64
	evalSecPerCycle float64 // sum of rule group evaluation time per cycle
	cpuSecPerCycle  float64
	failures        float64
	expectedAlerts  int
	dups            int
	// flushToDelivery is Vigil's mean time from a group's flush (after
	// group_wait) to the webhook's answer: the outbox's share.
	flushToDelivery time.Duration
	loadavg         string
}

// measure drives the load for warmup+cycles intervals. ruleProcs hold the
// rule evaluator's /metrics; cpuProcs all processes whose CPU counts.
func measure(name, writeURL string, s *sink, ruleMetrics string, cpuMetrics []string) (result, error) {
	ctx := context.Background()
	r := result{name: name, cycles: *cycles}
	cpu := func() float64 {
		var sum float64
		for _, u := range cpuMetrics {
			m, err := scrape(u)
			if err == nil {
				sum += m["process_cpu_seconds_total"]
			}
		}
		return sum
	}
	var m0 map[string]float64
	var cpu0 float64
	total := *warmup + *cycles
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for c := 0; c < total; c++ {
		firing := map[int]bool{}
		if c >= *warmup {
			for g := 0; g < *fireN; g++ {
				firing[((c-*warmup)**fireN+g)%*groups] = true
			}
		}
		t0 := time.Now()
		if err := writeAll(ctx, writeURL, firing); err != nil {
			return r, err
		}
		log.Printf("%s: cycle %d/%d: wrote %d series in %s", name, c+1, total, *groups**perSeries, time.Since(t0).Round(time.Millisecond))
		if c == *warmup {
			// Measure from the first write that fires anything.
			s.reset()
			var err error
			if m0, err = scrape(ruleMetrics); err != nil {
				return r, err
			}
			cpu0 = cpu()
		}
		<-tick.C
	}
	// Let the last cycle's evaluation and notifications happen.
	time.Sleep(2**interval + *groupWait)
	cpu1 := cpu()
	m1, err := scrape(ruleMetrics)
	if err != nil {
		return r, err
	}
	if c := m1["vigil_alerting_flush_to_delivery_seconds_count"] - m0["vigil_alerting_flush_to_delivery_seconds_count"]; c > 0 {
		r.flushToDelivery = time.Duration((m1["vigil_alerting_flush_to_delivery_seconds_sum"] - m0["vigil_alerting_flush_to_delivery_seconds_sum"]) / c * float64(time.Second))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.loadavg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	elapsedCycles := float64(*cycles) + 2
	r.missed = m1["prometheus_rule_group_iterations_missed_total"] - m0["prometheus_rule_group_iterations_missed_total"]
	r.failures = m1["prometheus_rule_evaluation_failures_total"] - m0["prometheus_rule_evaluation_failures_total"]
	r.evalSecPerCycle = m1["prometheus_rule_group_last_duration_seconds"]
	r.cpuSecPerCycle = (cpu1 - cpu0) / elapsedCycles
	s.mu.Lock()
	lats := slices.Clone(s.lats)
	s.mu.Unlock()
	slices.Sort(lats)
	r.alerts = len(lats)
	r.dups = s.dups
	r.expectedAlerts = *cycles * *fireN * *perGroup
	if n := len(lats); n > 0 {
		r.p50 = lats[n/2]
		r.p99 = lats[min(n-1, int(math.Ceil(float64(n)*0.99))-1)]
		r.max = lats[n-1]
	}
	return r, nil
}

func runVigil(rulesFile string) (result, error) {
	s := newSink()
	defer s.srv.Close()
	dir := filepath.Join(*outDir, "vigil")
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	addr := freeAddr()
	cfg := fmt.Sprintf("global:\n  evaluation_interval: %s\nscrape_configs: []\nrule_files: [%q]\nalerting:\n%s", model(*interval), rulesFile, indent(routeYAML("http://"+s.addr+"/")))
	cfgFile := filepath.Join(dir, "vigil.yml")
	os.WriteFile(cfgFile, []byte(cfg), 0o644)
	p, err := start("vigil", *vigilBin, []string{"serve", "--config", cfgFile, "--data-dir", filepath.Join(dir, "data"), "--http-addr", addr,
		"--otlp-grpc-addr", freeAddr(), "--otlp-http-addr", freeAddr()}, filepath.Join(dir, "vigil.log"), "http://"+addr+"/readyz")
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	return measure("vigil", "http://"+addr+"/api/v1/write", s, "http://"+addr+"/metrics", []string{"http://" + addr + "/metrics"})
}

func runPrometheus(rulesFile string) (result, error) {
	s := newSink()
	defer s.srv.Close()
	dir := filepath.Join(*outDir, "prometheus")
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	amAddr := freeAddr()
	amCfg := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(amCfg, []byte(routeYAML("http://"+s.addr+"/")), 0o644)
	am, err := start("alertmanager", *amBin, []string{"--config.file=" + amCfg, "--storage.path=" + filepath.Join(dir, "am"),
		"--web.listen-address=" + amAddr, "--cluster.listen-address="}, filepath.Join(dir, "alertmanager.log"), "http://"+amAddr+"/-/ready")
	if err != nil {
		return result{}, err
	}
	defer am.stop()
	promAddr := freeAddr()
	promCfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(promCfg, []byte(fmt.Sprintf("global:\n  evaluation_interval: %s\nrule_files: [%q]\nalerting:\n  alertmanagers:\n    - static_configs: [{targets: [%q]}]\n", model(*interval), rulesFile, amAddr)), 0o644)
	p, err := start("prometheus", *promBin, []string{"--config.file=" + promCfg, "--storage.tsdb.path=" + filepath.Join(dir, "tsdb"),
		"--web.listen-address=" + promAddr, "--web.enable-remote-write-receiver"}, filepath.Join(dir, "prometheus.log"), "http://"+promAddr+"/-/ready")
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	return measure("prometheus+alertmanager", "http://"+promAddr+"/api/v1/write", s, "http://"+promAddr+"/metrics",
		[]string{"http://" + promAddr + "/metrics", "http://" + amAddr + "/metrics"})
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func report(rs []result) {
	fmt.Printf("\n%d alerting rules in %d groups over %d series, evaluated every %s; %d measured cycles, %d groups (%d alerts) fire per cycle; group_wait %s subtracted.\n\n",
		*groups**perGroup, *groups, *groups**perSeries, *interval, *cycles, *fireN, *fireN**perGroup, *groupWait)
	fmt.Println("| target | missed iterations | eval failures | rule eval time per cycle (s, sum of groups) | CPU per cycle (s) | alerts delivered / expected | repeated notifications | eval→webhook p50 | p99 | max |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Printf("| %s | %.0f | %.0f | %.3f | %.3f | %d / %d | %d | %s | %s | %s |\n", r.name, r.missed, r.failures, r.evalSecPerCycle, r.cpuSecPerCycle,
			r.alerts, r.expectedAlerts, r.dups, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.max.Round(time.Millisecond))
	}
	for _, r := range rs {
		fmt.Printf("\n%s: load average at the end %s", r.name, r.loadavg)
		if r.flushToDelivery > 0 {
			fmt.Printf("; mean flush→delivery (outbox and webhook) %s", r.flushToDelivery.Round(time.Millisecond))
		}
	}
	fmt.Println()
	if len(rs) == 2 && rs[1].cpuSecPerCycle > 0 {
		fmt.Printf("\nCPU per cycle, vigil / prometheus+alertmanager: %.2fx; rule eval time ratio: %.2fx\n",
			rs[0].cpuSecPerCycle/rs[1].cpuSecPerCycle, rs[0].evalSecPerCycle/max(rs[1].evalSecPerCycle, 1e-9))
	}
}
