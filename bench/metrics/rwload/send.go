package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SendOptions configure one ingestion run against a target.
type SendOptions struct {
	Dir    string // corpus
	URL    string // remote write endpoint
	PID    int    // target process, for CPU time; 0: not measured
	Rounds int    // rounds to send (0: all of the corpus)
	// Window is the number of rounds after the first that are measured:
	// round 0 creates the series and is timed on its own; rounds
	// 1..Window run with every series active; the rest, if any, follow.
	Window int
	// Duration, when positive, ends the run after this long (each shard
	// stops before its next request): a sustained load of a fixed length
	// for as long as the corpus lasts.
	Duration time.Duration
}

// Phase is what one part of a run measured.
type Phase struct {
	Name     string  `json:"name"`
	Rounds   [2]int  `json:"rounds"` // [first, last]
	Requests int64   `json:"requests"`
	Samples  int64   `json:"samples"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"samples_per_second"`
	// CPU is the target's user+system CPU seconds in the phase.
	CPU           float64 `json:"cpu_seconds"`
	CPUPerMillion float64 `json:"cpu_seconds_per_million_samples"`
	SamplesPerCPU float64 `json:"samples_per_cpu_second"`
	Retries       int64   `json:"retries"`
	// Refused counts the answers 503 and 429 (the target asking to retry
	// later: retryable), Failed5xx other 5xx answers, ConnErrors requests
	// that got no answer; all are retried. Rejected counts the requests
	// given up on: a 4xx answer (not retryable) or retries exhausted.
	Refused    int64   `json:"refused_responses"`
	Failed5xx  int64   `json:"other_5xx_responses"`
	ConnErrors int64   `json:"connection_errors"`
	Rejected   int64   `json:"rejected_requests"`
	LoadgenCPU float64 `json:"loadgen_cpu_seconds"`
	// Load is the machine's 1-minute load average at the start and the
	// end of the phase: how much else was running.
	Load [2]float64 `json:"loadavg"`
}

// SendResult is a whole ingestion run.
type SendResult struct {
	URL    string  `json:"url"`
	Phases []Phase `json:"phases"`
	// PeakRSS is VmHWM of the target when the run ended.
	PeakRSS int64  `json:"peak_rss_bytes"`
	RSS     int64  `json:"rss_bytes"`
	Error   string `json:"error,omitempty"`
}

// send replays the corpus against opts.URL, one goroutine per shard as
// Prometheus's queue manager runs one per shard, each shard's requests in
// order. Requests that get 5xx or 429 are retried with backoff, as
// Prometheus does; other failures are counted and the run fails.
func send(ctx context.Context, opts SendOptions) (SendResult, error) {
	res := SendResult{URL: opts.URL}
	m, err := readMeta(opts.Dir)
	if err != nil {
		return res, fmt.Errorf("read corpus: %w", err)
	}
	if opts.Rounds <= 0 || opts.Rounds > m.Rounds {
		opts.Rounds = m.Rounds
	}
	if opts.Window <= 0 || opts.Window > opts.Rounds-1 {
		opts.Window = opts.Rounds - 1
	}
	readers := make([]*reader, m.Shards)
	pending := make([]*record, m.Shards)
	for i := range readers {
		if readers[i], err = openShard(opts.Dir, i); err != nil {
			return res, fmt.Errorf("open corpus: %w", err)
		}
		defer readers[i].Close()
	}
	client := &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: m.Shards,
			DisableCompression:  true,
		},
	}
	var deadline time.Time
	if opts.Duration > 0 {
		deadline = time.Now().Add(opts.Duration)
	}
	phases := []struct {
		name   string
		lo, hi int // rounds [lo, hi)
	}{
		{"create", 0, 1},
		{"steady", 1, 1 + opts.Window},
		{"rest", 1 + opts.Window, opts.Rounds},
	}
	for _, ph := range phases {
		if ph.lo >= ph.hi {
			continue
		}
		var reqs, samples, retries, rejected atomic.Int64
		tally := answers{deadline: deadline}
		cpu0, _ := cpuOf(opts.PID)
		load0 := loadAvg()
		self0 := selfCPU()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, m.Shards)
		for si := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := bytes.NewReader(nil)
				for {
					rec := pending[si]
					pending[si] = nil
					if rec == nil {
						r, err := readers[si].next()
						if errors.Is(err, io.EOF) {
							return
						}
						if err != nil {
							errs[si] = err
							return
						}
						rec = &r
					}
					if !deadline.IsZero() && time.Now().After(deadline) {
						return
					}
					if rec.round >= ph.hi {
						// Copy: the reader reuses its buffer.
						c := *rec
						c.body = append([]byte(nil), rec.body...)
						pending[si] = &c
						return
					}
					n, err := post(ctx, client, opts.URL, body, rec.body, &tally)
					retries.Add(int64(n))
					if errors.Is(err, errStopped) {
						return
					}
					if err != nil {
						rejected.Add(1)
						errs[si] = fmt.Errorf("shard %d round %d: %w", si, rec.round, err)
						return
					}
					reqs.Add(1)
					samples.Add(int64(rec.samples))
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpu1, _ := cpuOf(opts.PID)
		p := Phase{
			Name:       ph.name,
			Rounds:     [2]int{ph.lo, ph.hi - 1},
			Requests:   reqs.Load(),
			Samples:    samples.Load(),
			Seconds:    elapsed.Seconds(),
			CPU:        (cpu1 - cpu0).Seconds(),
			Retries:    retries.Load(),
			Refused:    tally.refused.Load(),
			Failed5xx:  tally.other5xx.Load(),
			ConnErrors: tally.conn.Load(),
			Rejected:   rejected.Load(),
			LoadgenCPU: (selfCPU() - self0).Seconds(),
			Load:       [2]float64{load0, loadAvg()},
		}
		p.Rate = float64(p.Samples) / p.Seconds
		if p.Samples > 0 && opts.PID > 0 {
			p.CPUPerMillion = p.CPU / float64(p.Samples) * 1e6
			if p.CPU > 0 {
				p.SamplesPerCPU = float64(p.Samples) / p.CPU
			}
		}
		res.Phases = append(res.Phases, p)
		if err := errors.Join(errs...); err != nil {
			res.Error = err.Error()
			return res, err
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			break
		}
	}
	if opts.PID > 0 {
		res.PeakRSS, res.RSS, _ = procMem(opts.PID)
	}
	return res, nil
}

func cpuOf(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, nil
	}
	return procCPU(pid)
}

// answers counts what the target answered, for post. Past deadline (when
// set) post stops retrying refusals and returns errStopped.
type answers struct {
	refused, other5xx, conn atomic.Int64
	deadline                time.Time
}

// errStopped: the run's -duration ended while a request was being refused;
// the request is left unacknowledged, which is not a failure.
var errStopped = errors.New("stopped at the end of -duration while refused")

// post sends one request as Prometheus's remote write client does and
// returns how many times it was retried. 503 and 429 (the target asking
// to be retried later, e.g. Vigil over its memory limit) are retried, as
// Prometheus retries recoverable errors, until the run's deadline (with
// none, at most 10 times), waiting Retry-After when the answer has one
// (at most 5 s) or the backoff; other 5xx answers
// and connection errors at most 10 times, with backoff; 4xx answers are
// not retried.
func post(ctx context.Context, c *http.Client, url string, rd *bytes.Reader, body []byte, tally *answers) (int, error) {
	backoff := 30 * time.Millisecond
	for try := 0; ; try++ {
		rd.Reset(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
		if err != nil {
			return try, err
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("User-Agent", "Prometheus/2.42.0")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		wait := backoff
		resp, err := c.Do(req)
		if err != nil {
			if ctx.Err() != nil || try >= 10 {
				return try, err
			}
			tally.conn.Add(1)
		} else {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2:
				return try, nil
			case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
				tally.refused.Add(1)
				if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
					wait = min(time.Duration(s)*time.Second, 5*time.Second)
				}
				switch {
				case !tally.deadline.IsZero() && time.Now().Add(wait).After(tally.deadline):
					return try, errStopped
				case tally.deadline.IsZero() && try >= 10:
					return try, fmt.Errorf("%s after %d retries: %s", resp.Status, try, bytes.TrimSpace(msg))
				}
			case resp.StatusCode/100 == 5:
				tally.other5xx.Add(1)
				if try >= 10 {
					return try, fmt.Errorf("%s after %d retries: %s", resp.Status, try, bytes.TrimSpace(msg))
				}
			default:
				return try, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
			}
		}
		select {
		case <-ctx.Done():
			return try, ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
