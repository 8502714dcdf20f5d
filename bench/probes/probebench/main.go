// Command probebench runs N HTTP probes every interval against a local
// HTTP server, first on bin/vigil (its probes), then on the blackbox
// exporter scraped by Prometheus (the same targets through /probe), one
// after the other, and reports process CPU per probe run and late runs.
//
//	probebench -vigil bin/vigil -prometheus prometheus -blackbox prometheus-blackbox-exporter -targets 10000 -interval 30s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	vigilBin   = flag.String("vigil", "bin/vigil", "vigil binary")
	promBin    = flag.String("prometheus", "prometheus", "Prometheus binary")
	bbBin      = flag.String("blackbox", "prometheus-blackbox-exporter", "blackbox exporter binary")
	nTargets   = flag.Int("targets", 10000, "probe targets")
	interval   = flag.Duration("interval", 30*time.Second, "probe interval")
	warmup     = flag.Duration("warmup", 45*time.Second, "time before measuring")
	measure    = flag.Duration("measure", 120*time.Second, "measured window")
	repeats    = flag.Int("repeats", 2, "measured runs per side (alternating)")
	sides      = flag.String("sides", "vigil,peer", "what to run")
	outDir     = flag.String("out", "bench/.out/probes", "output directory")
	concurrent = flag.Int("max-concurrent", 100, "vigil probes.max_concurrent")
	profile    = flag.String("cpuprofile", "", "write vigil's CPU profile over the measured window here")
	allocProf  = flag.String("allocprofile", "", "write vigil's allocation profile (the measured window's delta) here")
)

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// cpuSeconds is a process's user+system CPU time from /proc.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func rssMiB(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// metric sums the samples of name (with all label sets whose text contains
// match) on a /metrics page.
func metric(url, name, match string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name) || (len(l) > len(name) && l[len(name)] != '{' && l[len(name)] != ' ') {
			continue
		}
		if match != "" && !strings.Contains(l, match) {
			continue
		}
		f := strings.Fields(l)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

func waitHTTP(url string, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log.Fatalf("%s not ready within %v", url, d)
}

func start(name string, args []string, logf string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	f, err := os.Create(logf)
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		log.Fatalf("start %s: %v", name, err)
	}
	return cmd
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

type result struct {
	side              string
	cpu, runs         float64
	expected          float64
	late, skipped     float64
	failed            float64
	rss               float64
	load              string
	scrapeIntervalP99 float64
}

func (r result) perRun() float64 { return r.cpu / r.runs }

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func runVigil(dir, target string, i int) result {
	addr := freeAddr()
	var b strings.Builder
	fmt.Fprintf(&b, "probes:\n  interval: %s\n  max_concurrent: %d\n  targets:\n", *interval, *concurrent)
	for n := 0; n < *nTargets; n++ {
		fmt.Fprintf(&b, "    - target: %s/t/%d\n", target, n)
	}
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte(b.String()), 0o644)
	data := filepath.Join(dir, fmt.Sprintf("vigil-data-%d", i))
	cmd := start(*vigilBin, []string{"serve", "--config", cfg, "--data-dir", data, "--http-addr", addr, "--otlp-grpc-addr", freeAddr(), "--otlp-http-addr", freeAddr()}, filepath.Join(dir, fmt.Sprintf("vigil-%d.log", i)))
	defer stop(cmd)
	waitHTTP("http://"+addr+"/readyz", 2*time.Minute)
	time.Sleep(*warmup)
	m := "http://" + addr + "/metrics"
	c0, r0, l0, s0, f0 := cpuSeconds(cmd.Process.Pid), metric(m, "vigil_probe_runs_total", ""), metric(m, "vigil_probe_runs_late_total", ""), metric(m, "vigil_probe_runs_skipped_total", ""), metric(m, "vigil_probe_failures_total", "")
	fetch := func(path, file string) {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, path, int(measure.Seconds())))
		if err != nil {
			log.Printf("profile %s: %v", path, err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(f, resp.Body)
		f.Close()
	}
	done := make(chan struct{})
	go func() {
		if *allocProf != "" {
			fetch("allocs", *allocProf)
		}
		close(done)
	}()
	if *profile != "" {
		fetch("profile", *profile)
	} else {
		time.Sleep(*measure)
	}
	<-done
	r := result{side: "vigil", load: loadavg()}
	r.cpu = cpuSeconds(cmd.Process.Pid) - c0
	r.runs = metric(m, "vigil_probe_runs_total", "") - r0
	r.late = metric(m, "vigil_probe_runs_late_total", "") - l0
	r.skipped = metric(m, "vigil_probe_runs_skipped_total", "") - s0
	r.failed = metric(m, "vigil_probe_failures_total", "") - f0
	r.rss = rssMiB(cmd.Process.Pid)
	r.expected = float64(*nTargets) * measure.Seconds() / interval.Seconds()
	return r
}

func runPeer(dir, target string, i int) result {
	bbAddr, promAddr := freeAddr(), freeAddr()
	bbCfg := filepath.Join(dir, "blackbox.yml")
	os.WriteFile(bbCfg, []byte("modules:\n  http_2xx:\n    prober: http\n    timeout: 10s\n"), 0o644)
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n    params: {module: [http_2xx]}\n    static_configs:\n      - targets:\n", *interval)
	for n := 0; n < *nTargets; n++ {
		fmt.Fprintf(&b, "        - %s/t/%d\n", target, n)
	}
	fmt.Fprintf(&b, "    relabel_configs:\n      - {source_labels: [__address__], target_label: __param_target}\n      - {source_labels: [__param_target], target_label: instance}\n      - {target_label: __address__, replacement: %q}\n", bbAddr)
	promCfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(promCfg, []byte(b.String()), 0o644)
	bb := start(*bbBin, []string{"--config.file=" + bbCfg, "--web.listen-address=" + bbAddr}, filepath.Join(dir, fmt.Sprintf("blackbox-%d.log", i)))
	defer stop(bb)
	waitHTTP("http://"+bbAddr+"/-/healthy", time.Minute)
	prom := start(*promBin, []string{"--config.file=" + promCfg, "--storage.tsdb.path=" + filepath.Join(dir, fmt.Sprintf("prom-data-%d", i)), "--web.listen-address=" + promAddr}, filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", i)))
	defer stop(prom)
	waitHTTP("http://"+promAddr+"/-/ready", 2*time.Minute)
	time.Sleep(*warmup)
	m := "http://" + promAddr + "/metrics"
	scrapes := func() float64 { return metric(m, "prometheus_target_interval_length_seconds_count", "") }
	c0 := cpuSeconds(bb.Process.Pid) + cpuSeconds(prom.Process.Pid)
	s0 := scrapes()
	f0 := metric("http://"+promAddr+"/metrics", "prometheus_target_scrapes_exceeded_sample_limit_total", "")
	time.Sleep(*measure)
	r := result{side: "blackbox exporter + Prometheus", load: loadavg()}
	r.cpu = cpuSeconds(bb.Process.Pid) + cpuSeconds(prom.Process.Pid) - c0
	r.runs = scrapes() - s0
	r.failed = metric(m, "prometheus_target_scrapes_exceeded_sample_limit_total", "") - f0
	r.rss = rssMiB(bb.Process.Pid) + rssMiB(prom.Process.Pid)
	r.expected = float64(*nTargets) * measure.Seconds() / interval.Seconds()
	r.scrapeIntervalP99 = metric(m, "prometheus_target_interval_length_seconds", `quantile="0.99"`)
	// Late scrapes: Prometheus has no counter; missing scrapes show as
	// runs below expected, drifting ones in the interval's p99.
	r.late = max(0, r.expected-r.runs)
	return r
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	flag.Parse()
	os.MkdirAll(*outDir, 0o755)
	dir, err := os.MkdirTemp("", "probebench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The targets: one local server, N paths.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	target := "http://" + ln.Addr().String()

	var all []result
	for i := 0; i < *repeats; i++ {
		for _, side := range strings.Split(*sides, ",") {
			log.Printf("run %d: %s (%d targets every %s, warm-up %s, measure %s)", i+1, side, *nTargets, *interval, *warmup, *measure)
			var r result
			if side == "vigil" {
				r = runVigil(dir, target, i)
			} else {
				r = runPeer(dir, target, i)
			}
			log.Printf("  %s: %.0f runs (expected %.0f), CPU %.2f s = %.1f µs/run, late %.0f, skipped %.0f, failed %.0f, RSS %.0f MiB, load %s",
				r.side, r.runs, r.expected, r.cpu, r.perRun()*1e6, r.late, r.skipped, r.failed, r.rss, r.load)
			all = append(all, r)
		}
	}
	per := map[string][]float64{}
	var order []string
	for _, r := range all {
		if _, ok := per[r.side]; !ok {
			order = append(order, r.side)
		}
		per[r.side] = append(per[r.side], r.perRun()*1e6)
	}
	fmt.Printf("| run | side | probe runs (expected) | late | skipped | failed | CPU s | CPU µs/run | RSS MiB | load (1/5/15) |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for i, r := range all {
		extra := ""
		if r.scrapeIntervalP99 > 0 {
			extra = fmt.Sprintf(" (scrape interval p99 %.2f s)", r.scrapeIntervalP99)
		}
		fmt.Printf("| %d | %s | %.0f (%.0f)%s | %.0f | %.0f | %.0f | %.2f | %.1f | %.0f | %s |\n", i/len(strings.Split(*sides, ","))+1, r.side, r.runs, r.expected, extra, r.late, r.skipped, r.failed, r.cpu, r.perRun()*1e6, r.rss, r.load)
	}
	fmt.Println()
	for _, s := range order {
		xs := per[s]
		sort.Float64s(xs)
		fmt.Printf("- %s: median %.1f µs CPU per probe run (range %.1f–%.1f over %d runs)\n", s, median(xs), xs[0], xs[len(xs)-1], len(xs))
	}
	if v, p := per["vigil"], per["blackbox exporter + Prometheus"]; len(v) > 0 && len(p) > 0 {
		fmt.Printf("- ratio vigil / (blackbox exporter + Prometheus): %.2fx (medians)\n", median(v)/median(p))
	}
}
