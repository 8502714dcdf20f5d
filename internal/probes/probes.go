// Package probes runs synthetic probes: the Prometheus blackbox exporter's
// modules (http, tcp, dns, icmp, grpc, unix, websocket), run by the
// blackbox exporter's own prober package so that a blackbox.yml works as it
// is and every metric carries the exporter's names and labels, plus
// Gatus-style conditions on top (package condition).
//
// A Manager schedules each target at its interval, spread over the interval
// by a hash of its name, with a concurrency limit; a run that is still
// going when the next one is due makes that one skip (a probe never runs
// twice at once), and a run that starts late is counted. Each run's metrics
// are appended to the TSDB through a storage.AppendableV2 with the
// target's job and instance labels, as if Prometheus had scraped
// /probe?target=...&module=... at the run's start. The Manager also serves
// /probe exactly as the blackbox exporter does (debug=true included), the
// last result of every probe with the log of a failing run, and the public
// status page (package statuspage).
package probes

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bbconfig "github.com/prometheus/blackbox_exporter/config"
	"github.com/prometheus/blackbox_exporter/prober"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/vigilhq/vigil/internal/probes/condition"
)

// Options configure a Manager. The zero value is valid: probes run and
// keep their last results, but nothing is written.
type Options struct {
	// Appendable receives every run's samples; nil writes nothing.
	Appendable storage.AppendableV2
	// MaxConcurrent bounds the runs in flight (default 100).
	MaxConcurrent int
	// LateAfter is how long after its due time a run may start before it
	// counts as late (default: a tenth of the interval, at most 1s).
	LateAfter time.Duration
	Logger    *slog.Logger
	// Registerer receives the self-metrics (vigil_probe_*); nil keeps them
	// unregistered.
	Registerer prometheus.Registerer
	// Clock is the time source (default: the system clock).
	Clock Clock
}

// Target is one probe.
type Target struct {
	// Name identifies the probe (status page, API); unique.
	Name string
	// Target is what the blackbox exporter takes as ?target=: a URL for
	// http, host:port for tcp/grpc, a host (or host:port) for dns/icmp.
	Target string
	// ModuleName and Module are the blackbox module.
	ModuleName string
	Module     bbconfig.Module
	Interval   time.Duration
	// Timeout bounds one run (default: the module's timeout, else 10s, at
	// most Interval).
	Timeout time.Duration
	// Labels are added to every sample; they include job and instance.
	Labels labels.Labels
	// Group is the status page group ("" for none).
	Group string
	// Conditions are checked after the module's own checks.
	Conditions []*condition.Condition
}

// Config is everything a Manager runs.
type Config struct {
	// Modules serve /probe (the blackbox exporter's module list).
	Modules map[string]bbconfig.Module
	Targets []Target
}

// Manager runs probes. Create with New, then Run.
type Manager struct {
	opts     Options
	log      *slog.Logger
	metrics  *selfMetrics
	jobs     chan job // to the workers; unbuffered, so a send waits for a free worker
	inFlight atomic.Int64
	wake     chan struct{}
	history  *prober.ResultHistory

	mu      sync.Mutex
	cfg     Config
	entries map[string]*entry
	heap    entryHeap
	tick    time.Duration  // dispatchTick, or less for a short lateness bound
	wg      sync.WaitGroup // the workers

	bmu        sync.Mutex
	batch      *batch        // scheduled runs' uncommitted samples
	batchDelay time.Duration // batchDelay; tests lengthen it

	famMu  sync.Mutex
	famIDs map[string]int // metric family numbers (familyID)
}

// job is one due run handed to a worker.
type job struct {
	e   *entry
	t   *Target
	due time.Time
}

// New returns a Manager with no targets.
func New(opts Options) (*Manager, error) {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	m := &Manager{
		opts:    opts,
		log:     opts.Logger.With("component", "probes"),
		jobs:    make(chan job),
		wake:    make(chan struct{}, 1),
		entries: map[string]*entry{},
		history: &prober.ResultHistory{MaxResults: 100},

		batchDelay: batchDelay,
	}
	var err error
	if m.metrics, err = newSelfMetrics(opts.Registerer, m); err != nil {
		return nil, err
	}
	return m, nil
}

// ApplyConfig replaces the targets and modules. Probes whose settings did
// not change keep their schedule and last result; removed probes' series
// get staleness markers. It never fails on a valid configuration (the
// config package validated it); an invalid one is refused whole.
func (m *Manager) ApplyConfig(c Config) error {
	if err := m.Check(c); err != nil {
		return err
	}
	return m.apply(c)
}

// Check reports whether ApplyConfig would take c, changing nothing.
func (m *Manager) Check(c Config) error {
	seen := map[string]bool{}
	for _, t := range c.Targets {
		if t.Name == "" || seen[t.Name] {
			return fmt.Errorf("probe name %q is empty or not unique", t.Name)
		}
		if t.Interval <= 0 {
			return fmt.Errorf("probe %q: interval must be positive", t.Name)
		}
		if _, ok := prober.Probers[t.Module.Prober]; !ok {
			return fmt.Errorf("probe %q: unknown prober %q", t.Name, t.Module.Prober)
		}
		seen[t.Name] = true
	}
	return nil
}

func (m *Manager) apply(c Config) error {
	now := m.opts.Clock.Now()
	m.mu.Lock()
	old := m.entries
	m.entries = make(map[string]*entry, len(c.Targets))
	for _, e := range m.heap {
		e.idx = -1
	}
	m.heap = m.heap[:0]
	var removed []*entry
	m.tick = dispatchTick
	for i := range c.Targets {
		t := c.Targets[i]
		if t.Timeout <= 0 {
			t.Timeout = t.Module.Timeout
		}
		if t.Timeout <= 0 {
			t.Timeout = 10 * time.Second
		}
		t.Timeout = min(t.Timeout, t.Interval)
		m.tick = min(m.tick, m.lateAfter(t.Interval)/4)
		e := old[t.Name]
		if e == nil {
			e = &entry{}
		}
		e.mu.Lock()
		changed := e.target == nil || !sameSchedule(e.target, &t)
		e.target = &t
		e.mu.Unlock()
		if changed {
			e.next = firstRun(now, t.Name, t.Interval)
		}
		m.entries[t.Name] = e
		m.heap.push(e)
	}
	for name, e := range old {
		if _, ok := m.entries[name]; !ok {
			removed = append(removed, e)
		}
	}
	m.cfg = Config{Modules: c.Modules, Targets: slices.Clone(c.Targets)}
	m.mu.Unlock()
	if len(removed) > 0 {
		m.flushBatch(nil) // their last samples before the markers
	}
	for _, e := range removed {
		m.markStale(e, now)
	}
	m.poke()
	return nil
}

func sameSchedule(a, b *Target) bool {
	return a.Interval == b.Interval && a.Name == b.Name
}

// Modules returns the modules /probe serves.
func (m *Manager) Modules() map[string]bbconfig.Module {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.cfg.Modules)
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// dispatchTick is the least time the scheduler sleeps between dispatches
// (less if a probe's lateness bound is under 4 ticks): a run starts at
// most this long after its time, and runs due within one tick are
// dispatched in one wake-up.
const dispatchTick = 10 * time.Millisecond

// Run schedules probes until ctx is done, then waits for the runs in
// flight (each is bounded by its timeout) and returns.
//
// Runs go to MaxConcurrent long-lived workers rather than a goroutine
// each: a run needs a deep stack (the prober, net/http, the TSDB append),
// and a new goroutine grew and copied its stack every run, ~6% of the
// CPU at 10,000 probes every 30 s.
func (m *Manager) Run(ctx context.Context) error {
	for range m.opts.MaxConcurrent {
		m.wg.Add(1)
		go m.work(ctx)
	}
	defer m.flushBatch(nil) // after the workers
	defer m.wg.Wait()
	defer close(m.jobs)
	for {
		m.mu.Lock()
		var wait time.Duration = time.Hour
		now := m.opts.Clock.Now()
		var due []*entry
		for len(m.heap) > 0 && !m.heap[0].next.After(now) {
			due = append(due, m.heap[0])
			m.heap.popTop()
		}
		m.mu.Unlock()
		for _, e := range due {
			if err := m.dispatch(ctx, e); err != nil {
				return nil
			}
		}
		m.mu.Lock()
		if len(m.heap) > 0 {
			wait = m.heap[0].next.Sub(m.opts.Clock.Now())
		}
		tick := m.tick
		m.mu.Unlock()
		if len(due) > 0 && wait <= 0 {
			continue
		}
		if wait > 0 && wait < tick {
			// Runs due within a tick go together: with 10,000 probes
			// spread over 30 s a wake-up (a timer, a park and a wake of
			// this goroutine) per due time was ~330 a second.
			wait = tick
		}
		timer, stop := m.opts.Clock.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-m.wake:
			stop()
		case <-timer:
		}
	}
}

// dispatch starts e's due run (or counts it skipped) and reschedules e.
func (m *Manager) dispatch(ctx context.Context, e *entry) error {
	e.mu.Lock()
	t := e.target
	e.mu.Unlock()
	due := e.next
	now := m.opts.Clock.Now()
	next := due.Add(t.Interval)
	if !next.After(now) {
		// The scheduler fell a whole interval behind: those runs are lost.
		missed := now.Sub(due) / t.Interval
		m.metrics.late.Add(float64(missed))
		next = due.Add((missed + 1) * t.Interval)
	}
	m.reschedule(e, next)
	if !e.running.CompareAndSwap(false, true) {
		m.metrics.skipped.Inc()
		return nil
	}
	select {
	case m.jobs <- job{e: e, t: t, due: due}:
	case <-ctx.Done():
		e.running.Store(false)
		return ctx.Err()
	}
	return nil
}

// work runs the jobs it is handed until Run closes the channel.
func (m *Manager) work(ctx context.Context) {
	defer m.wg.Done()
	for j := range m.jobs {
		m.inFlight.Add(1)
		start := m.opts.Clock.Now()
		if start.Sub(j.due) > m.lateAfter(j.t.Interval) {
			m.metrics.late.Inc()
		}
		r := m.run(ctx, j.t, start)
		m.recordBatched(j.e, j.t, r)
		m.inFlight.Add(-1)
		j.e.running.Store(false)
	}
}

func (m *Manager) lateAfter(interval time.Duration) time.Duration {
	if m.opts.LateAfter > 0 {
		return m.opts.LateAfter
	}
	return min(interval/10, time.Second)
}

func (m *Manager) reschedule(e *entry, next time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries[e.name()] != e {
		return // removed by ApplyConfig meanwhile
	}
	e.next = next
	if e.idx >= 0 && e.idx < len(m.heap) && m.heap[e.idx] == e {
		heap.Fix(&m.heap, e.idx) // ApplyConfig put it back meanwhile
		return
	}
	m.heap.push(e)
}

// recordBatched keeps r as e's last result and appends its samples to
// the current batch.
func (m *Manager) recordBatched(e *entry, t *Target, r *Result) {
	defer m.metrics.observe(t, r)
	e.mu.Lock()
	e.last = r
	e.mu.Unlock()
	if m.opts.Appendable != nil {
		m.writeBatched(e, t, r)
	}
}

// record keeps r as e's last result and writes its samples at once.
func (m *Manager) record(ctx context.Context, e *entry, t *Target, r *Result) {
	defer m.metrics.observe(t, r)
	e.mu.Lock()
	e.last = r
	e.mu.Unlock()
	if m.opts.Appendable == nil {
		return
	}
	if err := m.write(ctx, e, t, r); err != nil {
		m.metrics.appendFailed.Inc()
		m.log.Warn("write probe samples", "probe", t.Name, "err", err)
	}
}

// Close waits for runs in flight. Run must have returned or be returning.
func (m *Manager) Close() error {
	m.wg.Wait()
	return nil
}
