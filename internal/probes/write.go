package probes

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
)

// cachedSeries is one series a probe writes: its full labels and the
// TSDB's reference (as Prometheus's scrape cache keeps them), so a run
// appends by reference without building labels or looking them up.
type cachedSeries struct {
	ls     labels.Labels
	family string // the metric name
	fam    int    // family's number (Manager.familyID)
	ref    storage.SeriesRef
	run    uint64 // the last run that wrote it
}

// seriesCache belongs to one entry and one Target: a new Target (a reload)
// starts a new cache.
type seriesCache struct {
	target *Target
	runs   uint64
	m      map[uint64]*cachedSeries
}

// Scheduled runs share one appender, committed when it holds batchRuns
// runs or batchDelay after its first: one TSDB commit (a WAL record and
// write, the head's commit bookkeeping) per batch instead of per run. A
// run's samples are queryable at most batchDelay after it ends.
const (
	batchRuns  = 64
	batchDelay = 250 * time.Millisecond
)

// batch is the appender scheduled runs share until it is committed.
type batch struct {
	app  storage.AppenderV2
	runs int // runs appended without error, whose commit failure counts
	// families (by Manager.familyID) that passed their metadata in this
	// batch: once per batch is enough for the metadata store (the TSDB
	// keeps none per series). A slice, not a map of names: the look-up is
	// per sample.
	families []bool
	timer    *time.Timer
}

// writeBatched appends r's samples to the current batch, committing it
// when full.
func (m *Manager) writeBatched(e *entry, t *Target, r *Result) {
	m.bmu.Lock()
	b := m.batch
	if b == nil {
		b = &batch{app: m.opts.Appendable.AppenderV2(context.Background())}
		m.batch = b
		b.timer = time.AfterFunc(m.batchDelay, func() { m.flushBatch(b) })
	}
	err := m.appendRun(b.app, e, t, r, func(fam int) bool {
		if fam < len(b.families) && b.families[fam] {
			return false
		}
		if fam >= len(b.families) {
			b.families = append(b.families, make([]bool, fam+1-len(b.families))...)
		}
		b.families[fam] = true
		return true
	})
	if err == nil {
		b.runs++
	}
	full := b.runs >= batchRuns
	if full {
		m.batch = nil
	}
	m.bmu.Unlock()
	if err != nil {
		m.metrics.appendFailed.Inc()
		m.log.Warn("write probe samples", "probe", t.Name, "err", err)
	}
	if full {
		b.timer.Stop()
		m.commitBatch(b)
	}
}

// flushBatch commits b if it is still the current batch; nil means
// whichever is current.
func (m *Manager) flushBatch(b *batch) {
	m.bmu.Lock()
	cur := m.batch
	if cur == nil || b != nil && cur != b {
		m.bmu.Unlock()
		return
	}
	m.batch = nil
	m.bmu.Unlock()
	cur.timer.Stop()
	m.commitBatch(cur)
}

func (m *Manager) commitBatch(b *batch) {
	if err := b.app.Commit(); err != nil {
		m.metrics.appendFailed.Add(float64(b.runs))
		m.log.Warn("write probe samples", "runs", b.runs, "err", err)
	}
}

// write appends r's samples with an appender of its own and commits
// (a run outside the schedule: run-now).
func (m *Manager) write(ctx context.Context, e *entry, t *Target, r *Result) error {
	m.flushBatch(nil) // e's earlier samples first: the TSDB takes them in order
	app := m.opts.Appendable.AppenderV2(ctx)
	err := m.appendRun(app, e, t, r, func(int) bool { return true })
	if cerr := app.Commit(); cerr != nil {
		return cerr
	}
	return err
}

// appendRun appends r's samples to app at the run's start time with t's
// labels, and staleness markers for the series the previous run wrote
// that this one did not (as Prometheus does when a scraped series
// disappears). meta says whether to pass a family's metadata.
func (m *Manager) appendRun(app storage.AppenderV2, e *entry, t *Target, r *Result, meta func(fam int) bool) error {
	e.mu.Lock()
	defer e.mu.Unlock() // one write per entry at a time; runs of an entry never overlap anyway
	c := e.cache
	if c == nil || c.target != t {
		old := c
		c = &seriesCache{target: t, m: make(map[uint64]*cachedSeries, len(r.Samples))}
		e.cache = c
		if old != nil {
			// Series of the old labels that the new ones do not replace
			// go stale below.
			for h, cs := range old.m {
				cs.run = 0
				c.m[h^staleKey] = cs
			}
		}
	}
	c.runs++
	ts := r.Start.UnixMilli()
	if ts <= e.lastTS {
		// Two runs in one millisecond (run-now next to a scheduled run):
		// the TSDB takes one sample per millisecond and series.
		ts = e.lastTS + 1
	}
	e.lastTS = ts
	var firstErr error
	var b *labels.Builder
	for _, s := range r.Samples {
		h := s.Labels.Hash()
		cs := c.m[h]
		if cs == nil {
			if b == nil {
				b = labels.NewBuilder(labels.EmptyLabels())
			}
			b.Reset(s.Labels)
			t.Labels.Range(func(l labels.Label) {
				if !s.Labels.Has(l.Name) {
					b.Set(l.Name, l.Value)
				}
			})
			cs = &cachedSeries{ls: b.Labels(), family: s.Labels.Get(labels.MetricName)}
			cs.fam = m.familyID(cs.family)
			if old, ok := c.m[h^staleKey]; ok && labels.Equal(old.ls, cs.ls) {
				cs.ref = old.ref // the same series as before the reload
				delete(c.m, h^staleKey)
			}
			c.m[h] = cs
		}
		var opts storage.AppendV2Options
		if meta(cs.fam) {
			opts = storage.AppendV2Options{MetricFamilyName: cs.family, Metadata: metadata.Metadata{Type: "gauge", Help: s.Help}}
		}
		ref, err := app.Append(cs.ref, cs.ls, 0, ts, s.Value, nil, nil, opts)
		if err != nil && !isPartial(err) {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		cs.ref, cs.run = ref, c.runs
	}
	stale := math.Float64frombits(value.StaleNaN)
	for h, cs := range c.m {
		if cs.run == c.runs {
			continue
		}
		if _, err := app.Append(cs.ref, cs.ls, 0, ts, stale, nil, nil, storage.AppendV2Options{}); err != nil && !isPartial(err) && firstErr == nil {
			firstErr = err
		}
		delete(c.m, h)
	}
	return firstErr
}

// familyID numbers metric families for the batches' metadata flags.
func (m *Manager) familyID(name string) int {
	m.famMu.Lock()
	defer m.famMu.Unlock()
	id, ok := m.famIDs[name]
	if !ok {
		if m.famIDs == nil {
			m.famIDs = map[string]int{}
		}
		id = len(m.famIDs)
		m.famIDs[name] = id
	}
	return id
}

// staleKey marks, in a new cache, the series of the old one still to be
// marked stale.
const staleKey = 0x9e3779b97f4a7c15

func isPartial(err error) bool {
	var pe *storage.AppendPartialError
	return errors.As(err, &pe)
}

// markStale writes staleness markers for a removed probe's series.
func (m *Manager) markStale(e *entry, now time.Time) {
	e.mu.Lock()
	var prev []labels.Labels
	if e.cache != nil {
		for _, cs := range e.cache.m {
			prev = append(prev, cs.ls)
		}
	}
	e.cache = nil
	e.mu.Unlock()
	if m.opts.Appendable == nil || len(prev) == 0 {
		return
	}
	app := m.opts.Appendable.AppenderV2(context.Background())
	stale := math.Float64frombits(value.StaleNaN)
	for _, ls := range prev {
		_, _ = app.Append(0, ls, 0, now.UnixMilli(), stale, nil, nil, storage.AppendV2Options{})
	}
	if err := app.Commit(); err != nil {
		m.log.Warn("write staleness markers", "err", err)
	}
}
