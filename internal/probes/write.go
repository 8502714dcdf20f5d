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

// write appends r's samples at the run's start time with t's labels, and
// staleness markers for the series the previous run wrote that this one
// did not (as Prometheus does when a scraped series disappears). It
// returns the series written.
func (m *Manager) write(ctx context.Context, t *Target, r *Result, prev []labels.Labels) ([]labels.Labels, error) {
	ts := r.Start.UnixMilli()
	app := m.opts.Appendable.AppenderV2(ctx)
	series := make([]labels.Labels, 0, len(r.Samples))
	seen := make(map[uint64]struct{}, len(r.Samples))
	var firstErr error
	b := labels.NewBuilder(labels.EmptyLabels())
	for _, s := range r.Samples {
		b.Reset(s.Labels)
		t.Labels.Range(func(l labels.Label) {
			if !s.Labels.Has(l.Name) {
				b.Set(l.Name, l.Value)
			}
		})
		ls := b.Labels()
		name := ls.Get(labels.MetricName)
		opts := storage.AppendV2Options{MetricFamilyName: name, Metadata: metadata.Metadata{Type: "gauge", Help: s.Help}}
		if _, err := app.Append(0, ls, 0, ts, s.Value, nil, nil, opts); err != nil && !isPartial(err) {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		seen[ls.Hash()] = struct{}{}
		series = append(series, ls)
	}
	stale := math.Float64frombits(value.StaleNaN)
	for _, ls := range prev {
		if _, ok := seen[ls.Hash()]; ok {
			continue
		}
		if _, err := app.Append(0, ls, 0, ts, stale, nil, nil, storage.AppendV2Options{}); err != nil && !isPartial(err) && firstErr == nil {
			firstErr = err
		}
	}
	if err := app.Commit(); err != nil {
		return nil, err
	}
	return series, firstErr
}

func isPartial(err error) bool {
	var pe *storage.AppendPartialError
	return errors.As(err, &pe)
}

// markStale writes staleness markers for a removed probe's series.
func (m *Manager) markStale(e *entry, now time.Time) {
	e.mu.Lock()
	prev := e.series
	e.series = nil
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
