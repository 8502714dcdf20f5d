package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The results directory that bench/metrics/run.sh fills:
//
//	corpus-ingest.json, corpus-disk.json   the corpora's Meta
//	<target>/tput-<n>/send.json           100k-series ingestion runs
//	<target>/disk/send.json               the 3h10m backfill
//	<target>/disk/vm.json                 VictoriaMetrics' forced merge
//	<target>/disk/queries.json            query latencies
//	<target>/disk/proc.json               peak RSS after the queries
//	<target>/disk/disk.json               bytes on disk

// targets in the order of the table; the first is the subject.
var targets = []struct{ dir, title string }{
	{"vigil", "Vigil"},
	{"prometheus", "Prometheus 2.42"},
	{"victoriametrics", "VictoriaMetrics v1.151.0"},
}

// baseTarget is the optional second Vigil binary (BENCH_VIGIL_BASE): the
// same figures before a change, for a before/after table.
var baseTarget = struct{ dir, title string }{"vigil-base", "Vigil before (BENCH_VIGIL_BASE)"}

type targetResults struct {
	tput    []SendResult
	disk    *Disk
	backfil *SendResult
	queries []QueryResult
	proc    *ProcStat
}

// ProcStat is a process's CPU time and memory at one moment.
type ProcStat struct {
	CPU     float64 `json:"cpu_seconds"`
	PeakRSS int64   `json:"peak_rss_bytes"`
	RSS     int64   `json:"rss_bytes"`
}

func readJSON(path string, v any) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

func loadResults(dir string) map[string]*targetResults {
	out := map[string]*targetResults{}
	for _, t := range append(targets[:len(targets):len(targets)], baseTarget) {
		r := &targetResults{}
		runs, _ := filepath.Glob(filepath.Join(dir, t.dir, "tput-*", "send.json"))
		sort.Strings(runs)
		for _, p := range runs {
			var s SendResult
			if readJSON(p, &s) && s.Error == "" && len(s.Phases) >= 2 {
				r.tput = append(r.tput, s)
			}
		}
		var d Disk
		if readJSON(filepath.Join(dir, t.dir, "disk", "disk.json"), &d) {
			r.disk = &d
		}
		var b SendResult
		if readJSON(filepath.Join(dir, t.dir, "disk", "send.json"), &b) && b.Error == "" {
			r.backfil = &b
		}
		var q []QueryResult
		if readJSON(filepath.Join(dir, t.dir, "disk", "queries.json"), &q) {
			r.queries = q
		}
		var p ProcStat
		if readJSON(filepath.Join(dir, t.dir, "disk", "proc.json"), &p) {
			r.proc = &p
		}
		out[t.dir] = r
	}
	return out
}

// stat is the median of a figure over runs, with its range.
type stat struct {
	med, lo, hi float64
	n           int
}

func statOf(xs []float64) stat {
	if len(xs) == 0 {
		return stat{med: math.NaN(), lo: math.NaN(), hi: math.NaN()}
	}
	s := stat{med: median(xs), lo: xs[0], hi: xs[0], n: len(xs)}
	for _, x := range xs {
		s.lo, s.hi = math.Min(s.lo, x), math.Max(s.hi, x)
	}
	return s
}

func steady(rs []SendResult, f func(Phase) float64) stat {
	var xs []float64
	for _, r := range rs {
		for _, p := range r.Phases {
			if p.Name == "steady" {
				xs = append(xs, f(p))
			}
		}
	}
	return statOf(xs)
}

func phaseStat(rs []SendResult, name string, f func(Phase) float64) stat {
	var xs []float64
	for _, r := range rs {
		for _, p := range r.Phases {
			if p.Name == name {
				xs = append(xs, f(p))
			}
		}
	}
	return statOf(xs)
}

// report writes the Markdown tables of a results directory.
func report(dir string, w io.Writer) error {
	res := loadResults(dir)
	var ingest, disk Meta
	readJSON(filepath.Join(dir, "corpus-ingest.json"), &ingest)
	readJSON(filepath.Join(dir, "corpus-disk.json"), &disk)

	type row struct {
		name   string
		unit   func(float64) string
		values func(*targetResults) stat
	}
	num := func(f string) func(float64) string {
		return func(x float64) string {
			if math.IsNaN(x) {
				return "—"
			}
			return fmt.Sprintf(f, x)
		}
	}
	mib := func(x float64) string {
		if math.IsNaN(x) {
			return "—"
		}
		return fmt.Sprintf("%.0f MiB", x/(1<<20))
	}
	one := func(x float64) stat { return stat{med: x, lo: x, hi: x, n: 1} }
	nan := stat{med: math.NaN(), lo: math.NaN(), hi: math.NaN()}
	rows := []row{
		{"samples/s at 100k active series", num("%.0f"), func(r *targetResults) stat {
			return steady(r.tput, func(p Phase) float64 { return p.Rate })
		}},
		{"CPU seconds per million samples", num("%.2f"), func(r *targetResults) stat {
			return steady(r.tput, func(p Phase) float64 { return p.CPUPerMillion })
		}},
		{"samples per CPU-second", num("%.0f"), func(r *targetResults) stat {
			return steady(r.tput, func(p Phase) float64 { return p.SamplesPerCPU })
		}},
		{"first 100k new series: seconds", num("%.2f"), func(r *targetResults) stat {
			return phaseStat(r.tput, "create", func(p Phase) float64 { return p.Seconds })
		}},
		{"peak RSS, 100k-series ingestion", mib, func(r *targetResults) stat {
			var xs []float64
			for _, s := range r.tput {
				xs = append(xs, float64(s.PeakRSS))
			}
			return statOf(xs)
		}},
		{"peak RSS, 3h10m backfill + queries", mib, func(r *targetResults) stat {
			if r.proc == nil {
				return nan
			}
			return one(float64(r.proc.PeakRSS))
		}},
		{"bytes on disk per sample (compacted)", num("%.3f"), func(r *targetResults) stat {
			if r.disk == nil {
				return nan
			}
			return one(r.disk.BytesPerSample)
		}},
		{"backfill samples/s (disk data set)", num("%.0f"), func(r *targetResults) stat {
			if r.backfil == nil {
				return nan
			}
			return steady([]SendResult{*r.backfil}, func(p Phase) float64 { return p.Rate })
		}},
	}
	fmt.Fprintf(w, "Ingestion: %d series, %d samples per request, %d shards, %.1f labels per series; steady phase of %d rounds (%d samples) after the first round that creates the series; %d runs per target (median, [min–max]).\n\n",
		ingest.Series, ingest.BatchSize, ingest.Shards, ingest.Labels, ingest.Rounds-1, int64(ingest.Rounds-1)*int64(ingest.Series), len(res[targets[0].dir].tput))
	fmt.Fprintf(w, "Disk and queries: %d series over %d rounds at %ds (%d samples), one run per target.\n\n",
		disk.Series, disk.Rounds, disk.IntervalMS/1000, disk.Samples)
	fmt.Fprintf(w, "| | %s | %s | %s | Vigil/Prometheus | Vigil/VictoriaMetrics |\n|---|---|---|---|---|---|\n",
		targets[0].title, targets[1].title, targets[2].title)
	for _, r := range rows {
		var cells []string
		var st []stat
		for _, t := range targets {
			s := r.values(res[t.dir])
			st = append(st, s)
			c := r.unit(s.med)
			if s.n > 1 {
				c += fmt.Sprintf(" [%s–%s]", r.unit(s.lo), r.unit(s.hi))
			}
			cells = append(cells, c)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.name, strings.Join(cells, " | "), ratio(st[0].med, st[1].med), ratio(st[0].med, st[2].med))
	}
	if base := res[baseTarget.dir]; len(base.tput) > 0 {
		fmt.Fprintf(w, "\nBefore and after (%s, interleaved with the targets above in the same run):\n\n", baseTarget.title)
		fmt.Fprintf(w, "| | %s | %s | after/before | before/Prometheus | before/VictoriaMetrics |\n|---|---|---|---|---|---|\n", targets[0].title, baseTarget.title)
		for _, r := range rows[:5] { // the ingestion rows
			a, b := r.values(res[targets[0].dir]), r.values(base)
			p, m := r.values(res[targets[1].dir]), r.values(res[targets[2].dir])
			cell := func(s stat) string {
				c := r.unit(s.med)
				if s.n > 1 {
					c += fmt.Sprintf(" [%s–%s]", r.unit(s.lo), r.unit(s.hi))
				}
				return c
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.name, cell(a), cell(b), ratio(a.med, b.med), ratio(b.med, p.med), ratio(b.med, m.med))
		}
	}

	fmt.Fprintf(w, "\nRange queries (milliseconds; p50 and p99 are each the median over %s passes of that pass's percentile):\n\n", passesOf(res))
	fmt.Fprintf(w, "| query | range/step | series V/P/VM | p50 Vigil | p50 Prom | p50 VM | p99 Vigil | p99 Prom | p99 VM | p50 V/P | p50 V/VM | p99 V/P | p99 V/VM |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	v, p, m := res["vigil"].queries, res["prometheus"].queries, res["victoriametrics"].queries
	var lr [4][]float64 // log ratios: p50 V/P, p50 V/VM, p99 V/P, p99 V/VM
	for i, q := range queries {
		get := func(qs []QueryResult) QueryResult {
			if i < len(qs) && qs[i].Error == "" {
				return qs[i]
			}
			return QueryResult{P50: math.NaN(), P99: math.NaN(), Series: -1}
		}
		a, b, c := get(v), get(p), get(m)
		ms := func(x float64) string {
			if math.IsNaN(x) {
				return "—"
			}
			return fmt.Sprintf("%.1f", x*1000)
		}
		fmt.Fprintf(w, "| %s `%s` | %s/%s | %d/%d/%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			q.Name, q.Expr, shortDur(q.Range.String()), shortDur(q.Step.String()), a.Series, b.Series, c.Series,
			ms(a.P50), ms(b.P50), ms(c.P50), ms(a.P99), ms(b.P99), ms(c.P99),
			ratio(a.P50, b.P50), ratio(a.P50, c.P50), ratio(a.P99, b.P99), ratio(a.P99, c.P99))
		for k, pair := range [][2]float64{{a.P50, b.P50}, {a.P50, c.P50}, {a.P99, b.P99}, {a.P99, c.P99}} {
			if pair[0] > 0 && pair[1] > 0 {
				lr[k] = append(lr[k], math.Log(pair[0]/pair[1]))
			}
		}
	}
	geo := func(xs []float64) string {
		if len(xs) == 0 {
			return "—"
		}
		var s float64
		for _, x := range xs {
			s += x
		}
		return fmt.Sprintf("%.2fx", math.Exp(s/float64(len(xs))))
	}
	fmt.Fprintf(w, "| **geometric mean** | | | | | | | | | %s | %s | %s | %s |\n", geo(lr[0]), geo(lr[1]), geo(lr[2]), geo(lr[3]))

	fmt.Fprintf(w, "\nCPU time of the target per query execution (milliseconds, user+system from /proc in 10 ms ticks; median over the passes of each pass's mean; geometric mean over the queries above 5 ms):\n\n")
	fmt.Fprintf(w, "| query | Vigil | Prometheus | VictoriaMetrics | V/P | V/VM |\n|---|---|---|---|---|---|\n")
	var cr [2][]float64
	for i, q := range queries {
		get := func(qs []QueryResult) float64 {
			if i < len(qs) && qs[i].Error == "" && len(qs[i].PassCPU) > 0 {
				return qs[i].CPU
			}
			return math.NaN()
		}
		a, b, c := get(v), get(p), get(m)
		// /proc counts CPU time in 10 ms ticks: below a few ms per
		// query, over 7 repetitions, the figure is mostly rounding.
		const floor = 0.005
		ms := func(x float64) string {
			switch {
			case math.IsNaN(x):
				return "—"
			case x < floor:
				return "<5"
			}
			return fmt.Sprintf("%.1f", x*1000)
		}
		for _, x := range []*float64{&a, &b, &c} {
			if *x < floor {
				*x = math.NaN()
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", q.Name, ms(get(v)), ms(get(p)), ms(get(m)), ratio(a, b), ratio(a, c))
		if a > 0 && b > 0 {
			cr[0] = append(cr[0], math.Log(a/b))
		}
		if a > 0 && c > 0 {
			cr[1] = append(cr[1], math.Log(a/c))
		}
	}
	fmt.Fprintf(w, "| **geometric mean** | | | | %s | %s |\n", geo(cr[0]), geo(cr[1]))
	return nil
}

func passesOf(res map[string]*targetResults) string {
	for _, q := range res["vigil"].queries {
		return fmt.Sprint(len(q.PassP50))
	}
	return "?"
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func shortDur(s string) string {
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	return s
}
