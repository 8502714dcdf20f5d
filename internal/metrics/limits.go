package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunks"

	"github.com/vigilhq/vigil/internal/apierr"
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

// Limiter enforces the series limits inside the TSDB head: it is the
// head's SeriesLifecycleCallback, so it is asked only when a series is about
// to be created (never for samples of existing series) and its counts follow
// the head exactly, series leaving the head at garbage collection included.
// It is also the storage.AppendableV2 writers use.
//
// Concurrent creators of different new series may overshoot a limit by at
// most the number of appenders racing at that instant: the check and the
// count are separate hooks of the head.
type Limiter struct {
	db        *tsdb.DB
	limits    atomic.Pointer[Limits]
	enforcing atomic.Bool // false during WAL replay: replayed series are admitted

	mu        sync.Mutex // guards perMetric
	perMetric map[string]int
	total     atomic.Int64

	rejected *prometheus.CounterVec
	received *prometheus.CounterVec

	// health turns commits that fail for lack of disk space or an I/O
	// error into retryable errors naming no file (nil: errors pass as
	// they are).
	health *apierr.WriteHealth
	// meta keeps the metadata appended samples carry (nil: dropped).
	meta *metadataStore
}

var _ tsdb.SeriesLifecycleCallback = (*Limiter)(nil)

// NewLimiter returns a limiter; pass it as the TSDB's
// SeriesLifecycleCallback, then call attach with the opened DB.
func NewLimiter(l Limits, reg prometheus.Registerer) (*Limiter, error) {
	lm := &Limiter{perMetric: map[string]int{}}
	lm.limits.Store(&l)
	lm.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_samples_rejected_total",
		Help: "Samples rejected before storage, by reason (series limits, invalid input, out of order, ...).",
	}, []string{"reason"})
	for _, r := range []string{ReasonSeriesPerMetric, ReasonActiveSeries, ReasonLabelNames} {
		lm.rejected.WithLabelValues(r)
	}
	lm.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_samples_received_total",
		Help: "Samples (floats and histograms) received, by protocol.",
	}, []string{"protocol"})
	// Exported at zero from the start, so rate() sees the first samples.
	for _, p := range []string{"remote_write", "remote_write_2", "otlp"} {
		lm.received.WithLabelValues(p)
	}
	if reg != nil {
		if err := reg.Register(lm.rejected); err != nil {
			return nil, fmt.Errorf("register limiter metrics: %w", err)
		}
		if err := reg.Register(lm.received); err != nil {
			return nil, fmt.Errorf("register limiter metrics: %w", err)
		}
		if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_active_series",
			Help: "Series in the TSDB head, as counted by the series limiter.",
		}, func() float64 { return float64(lm.total.Load()) })); err != nil {
			return nil, fmt.Errorf("register limiter metrics: %w", err)
		}
	}
	return lm, nil
}

// attach starts enforcing on db, after its WAL replay.
func (l *Limiter) attach(db *tsdb.DB) {
	l.db = db
	l.enforcing.Store(true)
}

// Rejected counts a rejection for reasons decided outside the limiter
// (invalid labels, out-of-order, ...).
func (l *Limiter) Rejected(reason string, n int) {
	l.rejected.WithLabelValues(reason).Add(float64(n))
}

// Received counts n samples received over protocol in
// vigil_samples_received_total, which every receiver shares.
func (l *Limiter) Received(protocol string, n int) {
	l.received.WithLabelValues(protocol).Add(float64(n))
}

// SetLimits replaces the limits.
func (l *Limiter) SetLimits(lim Limits) { l.limits.Store(&lim) }

// PreCreation implements tsdb.SeriesLifecycleCallback: it refuses a new
// series past a limit.
func (l *Limiter) PreCreation(ls labels.Labels) error {
	if !l.enforcing.Load() {
		return nil
	}
	lim := l.limits.Load()
	name := ls.Get(labels.MetricName)
	if lim.MaxLabelNamesPerSeries > 0 && ls.Len() > lim.MaxLabelNamesPerSeries {
		l.rejected.WithLabelValues(ReasonLabelNames).Inc()
		return &LimitError{Reason: ReasonLabelNames, Metric: name, Limit: lim.MaxLabelNamesPerSeries, Current: ls.Len()}
	}
	if total := int(l.total.Load()); lim.MaxActiveSeries > 0 && total >= lim.MaxActiveSeries {
		l.rejected.WithLabelValues(ReasonActiveSeries).Inc()
		return &LimitError{Reason: ReasonActiveSeries, Metric: name, Limit: lim.MaxActiveSeries, Current: total}
	}
	if lim.MaxSeriesPerMetric > 0 {
		l.mu.Lock()
		cur := l.perMetric[name]
		l.mu.Unlock()
		if cur >= lim.MaxSeriesPerMetric {
			l.rejected.WithLabelValues(ReasonSeriesPerMetric).Inc()
			return &LimitError{Reason: ReasonSeriesPerMetric, Metric: name, Limit: lim.MaxSeriesPerMetric, Current: cur}
		}
	}
	return nil
}

// PostCreation implements tsdb.SeriesLifecycleCallback.
func (l *Limiter) PostCreation(ls labels.Labels) {
	name := ls.Get(labels.MetricName)
	l.mu.Lock()
	l.perMetric[name]++
	l.mu.Unlock()
	l.total.Add(1)
}

// PostDeletion implements tsdb.SeriesLifecycleCallback: series garbage
// collected from the head free their slots.
func (l *Limiter) PostDeletion(deleted map[chunks.HeadSeriesRef]labels.Labels) {
	l.mu.Lock()
	for _, ls := range deleted {
		name := ls.Get(labels.MetricName)
		if n := l.perMetric[name] - 1; n > 0 {
			l.perMetric[name] = n
		} else {
			delete(l.perMetric, name)
		}
	}
	l.mu.Unlock()
	l.total.Add(-int64(len(deleted)))
}

// AppenderV2 implements storage.AppendableV2.
func (l *Limiter) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &limitAppender{l: l, app: l.db.AppenderV2(ctx).(storage.ExemplarAppenderV2)}
}

var (
	_ storage.AppendableV2       = (*Limiter)(nil)
	_ storage.ExemplarAppenderV2 = (*limitAppender)(nil)
	_ storage.GetRef             = (*limitAppender)(nil)
)

// GetRef looks a series up in the head (see storage.GetRef).
func (a *limitAppender) GetRef(lset labels.Labels, hash uint64) (storage.SeriesRef, labels.Labels) {
	if g, ok := a.app.(storage.GetRef); ok {
		return g.GetRef(lset, hash)
	}
	return 0, labels.EmptyLabels()
}

type limitAppender struct {
	l   *Limiter
	app storage.ExemplarAppenderV2
	// soft: a rejected series is recorded and Append returns (0, nil), for
	// callers (the OTLP translator) that stop at the first error.
	soft     bool
	rejected []error

	// The last metadata recorded: writers append a family's series one
	// after the other, so most samples skip the metadata store's lock.
	lastFamily string
	lastMeta   metadata.Metadata
}

// softAppender returns an appender that records limit rejections instead of
// returning them.
func (l *Limiter) softAppender(ctx context.Context) *limitAppender {
	return &limitAppender{l: l, app: l.db.AppenderV2(ctx).(storage.ExemplarAppenderV2), soft: true}
}

func (a *limitAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	r, err := a.app.Append(ref, ls, st, t, v, h, fh, opts)
	if err == nil && a.l.meta != nil && (opts.Metadata.Help != "" || opts.Metadata.Type != "" && opts.Metadata.Type != model.MetricTypeUnknown) {
		a.observeMetadata(ls, opts)
	}
	if err != nil && a.soft {
		var le *LimitError
		if errors.As(err, &le) {
			a.rejected = append(a.rejected, err)
			return 0, nil
		}
	}
	return r, err
}

// observeMetadata records the metadata of an appended sample under its
// family: the one the writer names (OTLP does), else the series' name less
// a classic histogram's or summary's suffix.
func (a *limitAppender) observeMetadata(ls labels.Labels, opts storage.AppendV2Options) {
	family := opts.MetricFamilyName
	if family == "" {
		family = familyName(ls.Get(labels.MetricName), opts.Metadata.Type)
	}
	if family == a.lastFamily && opts.Metadata == a.lastMeta {
		return
	}
	family = strings.Clone(family) // the writer may reuse its bytes
	a.l.meta.Observe(family, opts.Metadata)
	a.lastFamily, a.lastMeta = family, opts.Metadata
}

// familyName is the metric family of a series named name whose metadata
// has type typ: the name less the suffix of a classic histogram's or
// summary's series (Prometheus keys metadata by family, and the _bucket,
// _sum and _count series all carry their family's).
func familyName(name string, typ model.MetricType) string {
	switch typ {
	case model.MetricTypeHistogram, model.MetricTypeGaugeHistogram, model.MetricTypeSummary:
		for _, suf := range []string{"_bucket", "_sum", "_count", "_created", "_gcount", "_gsum"} {
			if f, ok := strings.CutSuffix(name, suf); ok && f != "" {
				return f
			}
		}
	}
	return name
}

func (a *limitAppender) AppendExemplars(ref storage.SeriesRef, ls labels.Labels, es []exemplar.Exemplar) (storage.SeriesRef, error) {
	return a.app.AppendExemplars(ref, ls, es)
}

// Commit commits; a failed commit (the WAL could not be written) is
// classified by the store's write health.
func (a *limitAppender) Commit() error {
	err := a.app.Commit()
	if a.l.health != nil {
		return a.l.health.Result(err)
	}
	return err
}

func (a *limitAppender) Rollback() error { return a.app.Rollback() }
