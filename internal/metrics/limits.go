package metrics

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/index"
)

// Limits bound the number of series. 0 means no limit.
type Limits struct {
	MaxSeriesPerMetric     int
	MaxActiveSeries        int
	MaxLabelNamesPerSeries int
}

// Rejection reasons, the "reason" label of vigil_samples_rejected_total.
const (
	ReasonSeriesPerMetric = "series_per_metric_limit"
	ReasonActiveSeries    = "active_series_limit"
	ReasonLabelNames      = "label_names_limit"
)

// LimitError says which limit rejected a new series. It matches
// storage.ErrOutOfBounds with errors.Is, so Prometheus's scrape loop and
// write paths skip the sample and go on with the others.
type LimitError struct {
	Reason  string
	Metric  string
	Limit   int
	Current int
}

func (e *LimitError) Error() string {
	switch e.Reason {
	case ReasonSeriesPerMetric:
		return fmt.Sprintf("series limit reached for metric %q: limit max_series_per_metric=%d, current series %d; new series of this metric are rejected until old ones leave the head", e.Metric, e.Limit, e.Current)
	case ReasonActiveSeries:
		return fmt.Sprintf("active series limit reached: limit max_active_series=%d, current series %d; new series (here of metric %q) are rejected", e.Limit, e.Current, e.Metric)
	default:
		return fmt.Sprintf("series of metric %q has %d labels, over the limit max_label_names_per_series=%d", e.Metric, e.Current, e.Limit)
	}
}

// LimitReason lets other packages recognise a limit rejection without
// importing this one.
func (e *LimitError) LimitReason() string { return e.Reason }

// Is makes a LimitError match storage.ErrOutOfBounds.
func (e *LimitError) Is(target error) bool { return target == storage.ErrOutOfBounds }

const limiterShards = 64

type limiterShard struct {
	mu     sync.Mutex
	series map[uint64]struct{}
}

// Limiter is a storage.AppendableV2 that admits a new series only within
// the limits. It tracks the head's series by label hash; Run re-reads the
// head periodically, so series that left the head free their slots.
type Limiter struct {
	db     *tsdb.DB
	limits atomic.Pointer[Limits]

	shards    [limiterShards]limiterShard
	mu        sync.Mutex // guards perMetric
	perMetric map[string]int
	total     atomic.Int64

	rejected *prometheus.CounterVec
}

// NewLimiter returns a limiter over db, primed with the head's series.
func NewLimiter(db *tsdb.DB, l Limits, reg prometheus.Registerer) (*Limiter, error) {
	lm := &Limiter{db: db, perMetric: map[string]int{}}
	lm.limits.Store(&l)
	for i := range lm.shards {
		lm.shards[i].series = map[uint64]struct{}{}
	}
	lm.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_samples_rejected_total",
		Help: "Samples rejected before storage, by reason (series limits, invalid input, out of order, ...).",
	}, []string{"reason"})
	for _, r := range []string{ReasonSeriesPerMetric, ReasonActiveSeries, ReasonLabelNames} {
		lm.rejected.WithLabelValues(r)
	}
	if reg != nil {
		if err := reg.Register(lm.rejected); err != nil {
			return nil, fmt.Errorf("register limiter metrics: %w", err)
		}
		if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_active_series",
			Help: "Series in the TSDB head, as counted by the series limiter.",
		}, func() float64 { return float64(lm.total.Load()) })); err != nil {
			return nil, fmt.Errorf("register limiter metrics: %w", err)
		}
	}
	if err := lm.resync(); err != nil {
		return nil, err
	}
	return lm, nil
}

// Rejected counts a rejection for reasons decided outside the limiter
// (invalid labels, out-of-order, ...).
func (l *Limiter) Rejected(reason string, n int) {
	l.rejected.WithLabelValues(reason).Add(float64(n))
}

// SetLimits replaces the limits.
func (l *Limiter) SetLimits(lim Limits) { l.limits.Store(&lim) }

// Run resyncs with the head every minute until ctx is done.
func (l *Limiter) Run(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = l.resync()
		}
	}
}

// resync rebuilds the series set from the head's index.
func (l *Limiter) resync() error {
	ir, err := l.db.Head().Index()
	if err != nil {
		return fmt.Errorf("read head index: %w", err)
	}
	defer ir.Close()
	ctx := context.Background()
	k, v := index.AllPostingsKey()
	p, err := ir.Postings(ctx, k, v)
	if err != nil {
		return fmt.Errorf("read head postings: %w", err)
	}
	var shards [limiterShards]map[uint64]struct{}
	for i := range shards {
		shards[i] = map[uint64]struct{}{}
	}
	perMetric := map[string]int{}
	var b labels.ScratchBuilder
	var total int64
	for p.Next() {
		if err := ir.Series(p.At(), &b, nil); err != nil {
			continue
		}
		ls := b.Labels()
		h := ls.Hash()
		shards[h%limiterShards][h] = struct{}{}
		perMetric[ls.Get(labels.MetricName)]++
		total++
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("iterate head postings: %w", err)
	}
	// Series added between reading the index and now are kept: merge, so a
	// concurrent writer's new series is not forgotten.
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.series = shards[i]
		s.mu.Unlock()
	}
	l.mu.Lock()
	l.perMetric = perMetric
	l.mu.Unlock()
	l.total.Store(total)
	return nil
}

// admit checks a series not known to be in the head and records it.
func (l *Limiter) admit(ls labels.Labels) error {
	h := ls.Hash()
	s := &l.shards[h%limiterShards]
	s.mu.Lock()
	_, ok := s.series[h]
	s.mu.Unlock()
	if ok {
		return nil
	}
	lim := l.limits.Load()
	name := ls.Get(labels.MetricName)
	if lim.MaxLabelNamesPerSeries > 0 && ls.Len() > lim.MaxLabelNamesPerSeries {
		l.rejected.WithLabelValues(ReasonLabelNames).Inc()
		return &LimitError{Reason: ReasonLabelNames, Metric: name, Limit: lim.MaxLabelNamesPerSeries, Current: ls.Len()}
	}
	l.mu.Lock()
	cur := l.perMetric[name]
	if lim.MaxSeriesPerMetric > 0 && cur >= lim.MaxSeriesPerMetric {
		l.mu.Unlock()
		l.rejected.WithLabelValues(ReasonSeriesPerMetric).Inc()
		return &LimitError{Reason: ReasonSeriesPerMetric, Metric: name, Limit: lim.MaxSeriesPerMetric, Current: cur}
	}
	if total := int(l.total.Load()); lim.MaxActiveSeries > 0 && total >= lim.MaxActiveSeries {
		l.mu.Unlock()
		l.rejected.WithLabelValues(ReasonActiveSeries).Inc()
		return &LimitError{Reason: ReasonActiveSeries, Metric: name, Limit: lim.MaxActiveSeries, Current: total}
	}
	l.perMetric[name] = cur + 1
	l.mu.Unlock()
	s.mu.Lock()
	if _, ok := s.series[h]; ok {
		// Another writer admitted it meanwhile.
		s.mu.Unlock()
		l.mu.Lock()
		l.perMetric[name]--
		l.mu.Unlock()
		return nil
	}
	s.series[h] = struct{}{}
	s.mu.Unlock()
	l.total.Add(1)
	return nil
}

// AppenderV2 implements storage.AppendableV2.
func (l *Limiter) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &limitAppender{l: l, app: l.db.AppenderV2(ctx).(storage.ExemplarAppenderV2)}
}

var (
	_ storage.AppendableV2       = (*Limiter)(nil)
	_ storage.ExemplarAppenderV2 = (*limitAppender)(nil)
)

type limitAppender struct {
	l   *Limiter
	app storage.ExemplarAppenderV2
	// soft: a rejected series is recorded and Append returns (0, nil), for
	// callers (the OTLP translator) that stop at the first error.
	soft     bool
	rejected []error
}

// softAppender returns an appender that records limit rejections instead of
// returning them.
func (l *Limiter) softAppender(ctx context.Context) *limitAppender {
	return &limitAppender{l: l, app: l.db.AppenderV2(ctx).(storage.ExemplarAppenderV2), soft: true}
}

func (a *limitAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	if ref == 0 {
		if err := a.l.admit(ls); err != nil {
			if a.soft {
				a.rejected = append(a.rejected, err)
				return 0, nil
			}
			return 0, err
		}
	}
	return a.app.Append(ref, ls, st, t, v, h, fh, opts)
}

func (a *limitAppender) AppendExemplars(ref storage.SeriesRef, ls labels.Labels, es []exemplar.Exemplar) (storage.SeriesRef, error) {
	return a.app.AppendExemplars(ref, ls, es)
}

func (a *limitAppender) Commit() error   { return a.app.Commit() }
func (a *limitAppender) Rollback() error { return a.app.Rollback() }
