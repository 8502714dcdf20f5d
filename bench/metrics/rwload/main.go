// Command rwload is the metrics benchmark's load generator and probe. It
// builds a remote-write corpus the way a Prometheus server would send it
// (realistic label sets, 2,000 samples per request, several shards), replays
// it against a target while reading the target's CPU time and peak RSS from
// /proc, times PromQL range queries, and measures what the target keeps on
// disk. bench/metrics/run.sh drives it; docs/perf/metrics.md explains the
// figures.
//
//	rwload gen        -dir D [-series 100000 -shards 10 -batch 2000 -interval 15s -span 3h10m -align 2h]
//	rwload send       -dir D -url http://HOST/api/v1/write -pid PID [-rounds N -window W -duration D] -out F
//	rwload query      -dir D -url http://H1,http://H2 -pid P1,P2 [-passes 3 -reps 7] -out F1,F2
//	rwload wait-block -dir TSDB [-timeout 10m]
//	rwload vm-compact -url http://HOST -out F
//	rwload disk       -kind tsdb|vm -dir D [-vm-stats F] -out F
//	rwload proc       -pid PID -out F
//	rwload ports      -n 3
//	rwload report     -dir OUT
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rwload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a command: gen, send, query, wait-block, vm-compact, disk, proc, ports, report")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	dir := fs.String("dir", "", "corpus directory (gen, send, query), TSDB or VictoriaMetrics directory (wait-block, disk), results (report)")
	url := fs.String("url", "", "remote write URL (send) or base URL (query, vm-compact)")
	out := fs.String("out", "", "write the result as JSON to this file (default stdout)")
	switch cmd {
	case "gen":
		series := fs.Int("series", 100_000, "active series")
		shards := fs.Int("shards", 10, "concurrent shards (series are spread round-robin)")
		batch := fs.Int("batch", 2000, "samples per request (Prometheus's max_samples_per_send)")
		interval := fs.Duration("interval", 15*time.Second, "scrape interval")
		span := fs.Duration("span", 3*time.Hour+10*time.Minute, "time covered; over 3h makes a TSDB cut its first 2h block")
		seed := fs.Uint64("seed", 1, "random seed of the values")
		align := fs.Duration("align", 2*time.Hour, "start at a multiple of this (the corpus is rebuilt when the start moves)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *dir == "" {
			return errors.New("gen: -dir is required")
		}
		if *align <= 0 {
			return errors.New("gen: -align must be positive")
		}
		// By default start at a 2h boundary so that the first block is a
		// whole 2h block, and end no later than now. A shorter -align keeps
		// the samples near now: a TSDB that already holds samples at now
		// (Vigil's span metrics, say) refuses those over an hour older.
		start := time.Now().Add(-*span).Truncate(*align)
		want := Meta{
			Series: *series, Shards: *shards, BatchSize: *batch, IntervalMS: interval.Milliseconds(),
			StartMS: start.UnixMilli(), Rounds: int(*span / *interval), Seed: *seed,
		}
		m, err := generate(*dir, want)
		if err != nil {
			return err
		}
		return writeJSON(*out, stdout, m)
	case "send":
		pid := fs.Int("pid", 0, "target process id, for CPU time and peak RSS")
		rounds := fs.Int("rounds", 0, "rounds (scrape intervals) to send; 0: the whole corpus")
		window := fs.Int("window", 0, "rounds after the first to measure as the steady phase; 0: all")
		duration := fs.Duration("duration", 0, "stop after this long (0: when the rounds are sent)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		res, err := send(ctx, SendOptions{Dir: *dir, URL: *url, PID: *pid, Rounds: *rounds, Window: *window, Duration: *duration})
		if werr := writeJSON(*out, stdout, res); werr != nil && err == nil {
			err = werr
		}
		return err
	case "query":
		passes := fs.Int("passes", 3, "independent passes")
		reps := fs.Int("reps", 7, "repetitions of every query in a pass")
		pids := fs.String("pid", "", "target process ids, comma-separated like -url, for the CPU time of each query")
		if err := fs.Parse(args); err != nil {
			return err
		}
		// -url, -pid and -out take one comma-separated entry per target.
		urls, outs := strings.Split(*url, ","), strings.Split(*out, ",")
		var ps []string
		if *pids != "" {
			ps = strings.Split(*pids, ",")
		}
		if *url == "" || len(outs) != len(urls) || (len(ps) > 0 && len(ps) != len(urls)) {
			return errors.New("query: want as many comma-separated -out (and -pid) entries as -url entries")
		}
		opts := QueryOptions{Dir: *dir, Passes: *passes, Reps: *reps}
		for i, u := range urls {
			tg := QueryTarget{URL: u}
			if len(ps) > 0 {
				var err error
				if tg.PID, err = strconv.Atoi(ps[i]); err != nil {
					return fmt.Errorf("query: -pid %q: %w", ps[i], err)
				}
			}
			opts.Targets = append(opts.Targets, tg)
		}
		res, err := runQueries(ctx, opts)
		if err != nil {
			return err
		}
		var failed error
		for t := range res {
			if err := writeJSON(outs[t], stdout, res[t]); err != nil {
				return err
			}
			for _, q := range res[t] {
				if q.Error != "" && failed == nil {
					failed = fmt.Errorf("query %s on %s failed: %s", q.Name, urls[t], q.Error)
				}
			}
		}
		return failed
	case "wait-block":
		timeout := fs.Duration("timeout", 10*time.Minute, "give up after")
		if err := fs.Parse(args); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		return waitBlock(ctx, *dir)
	case "vm-compact":
		timeout := fs.Duration("timeout", 10*time.Minute, "give up after")
		if err := fs.Parse(args); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		start := time.Now()
		rows, err := vmCompact(ctx, *url)
		if err != nil {
			return err
		}
		rows["merge_seconds"] = time.Since(start).Seconds()
		return writeJSON(*out, stdout, rows)
	case "disk":
		kind := fs.String("kind", "tsdb", "tsdb (Prometheus, Vigil) or vm")
		vmStats := fs.String("vm-stats", "", "vm-compact output, for the number of samples")
		if err := fs.Parse(args); err != nil {
			return err
		}
		var d Disk
		var err error
		switch *kind {
		case "tsdb":
			d, err = tsdbDisk(*dir)
		case "vm":
			var rows map[string]float64
			b, rerr := os.ReadFile(*vmStats)
			if rerr != nil {
				return fmt.Errorf("disk -kind vm needs -vm-stats: %w", rerr)
			}
			if err := json.Unmarshal(b, &rows); err != nil {
				return fmt.Errorf("read %s: %w", *vmStats, err)
			}
			samples := rows[`vm_rows{type="storage/small"}`] + rows[`vm_rows{type="storage/big"}`]
			d, err = vmDisk(*dir, int64(samples))
		default:
			return fmt.Errorf("disk: -kind %q: want tsdb or vm", *kind)
		}
		if err != nil {
			return err
		}
		return writeJSON(*out, stdout, d)
	case "proc":
		pid := fs.Int("pid", 0, "process id")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cpu, err := procCPU(*pid)
		if err != nil {
			return err
		}
		hwm, rss, err := procMem(*pid)
		if err != nil {
			return err
		}
		return writeJSON(*out, stdout, ProcStat{CPU: cpu.Seconds(), PeakRSS: hwm, RSS: rss})
	case "ports":
		n := fs.Int("n", 1, "how many")
		if err := fs.Parse(args); err != nil {
			return err
		}
		// Hold all listeners until every port is chosen so they differ.
		var ports []string
		for i := 0; i < *n; i++ {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer ln.Close()
			ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		}
		_, err := fmt.Fprintln(stdout, strings.Join(ports, " "))
		return err
	case "report":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return report(*dir, stdout)
	}
	return fmt.Errorf("unknown command %q: want gen, send, query, wait-block, vm-compact, disk, proc, ports, report", cmd)
}

func writeJSON(path string, stdout io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
