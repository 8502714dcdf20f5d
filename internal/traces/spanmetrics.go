package traces

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SpanMetricsOptions configure the RED metrics derived from spans.
type SpanMetricsOptions struct {
	// Appendable receives the series; nil turns span metrics off.
	Appendable storage.AppendableV2
	// Dimensions are extra attribute names that become labels (dots become
	// underscores), looked up on the span, then on its resource; a missing
	// attribute gives an empty label, as in the spanmetrics connector.
	Dimensions []string
	// Buckets are the duration histogram's upper bounds in seconds
	// (default: the spanmetrics connector's 2ms ... 15s).
	Buckets []float64
	// FlushInterval is how often series are written (default 15s).
	FlushInterval time.Duration
	// MaxSeries bounds the label combinations kept in memory; spans past
	// it are counted in vigil_traces_span_metrics_overflow_total and in a
	// series with otel_metric_overflow="true" (default 10000).
	MaxSeries int
}

// DefaultBuckets are the spanmetrics connector's default histogram bounds,
// in seconds.
var DefaultBuckets = []float64{0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15}

const (
	callsMetric    = "traces_span_metrics_calls_total"
	durationMetric = "traces_span_metrics_duration_seconds"
)

type redSeries struct {
	calls   labels.Labels // calls_total series
	buckets []labels.Labels
	sum     labels.Labels
	count   labels.Labels

	n      uint64
	counts []uint64 // per bucket, last is +Inf
	total  float64
	// exemplar per bucket: the latest span that fell into it, written once.
	// Labels are built at flush, not per span.
	ex      []rawExemplar
	exDirty []bool
}

type rawExemplar struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	value   float64
	tsMs    int64
}

func (e rawExemplar) exemplar() exemplar.Exemplar {
	return exemplar.Exemplar{
		Labels: labels.FromStrings("trace_id", hex.EncodeToString(e.traceID[:]), "span_id", hex.EncodeToString(e.spanID[:])),
		Value:  e.value,
		Ts:     e.tsMs,
		HasTs:  true,
	}
}

type spanMetrics struct {
	opts    SpanMetricsOptions
	log     *slog.Logger
	now     func() time.Time
	start   int64 // ms; the series' start timestamp
	dimKeys []string

	mu       sync.Mutex
	series   map[string]*redSeries
	keyBuf   []byte
	overflow prometheus.Counter
	flushErr prometheus.Counter
	reg      prometheus.Registerer
}

func newSpanMetrics(opts SpanMetricsOptions, reg prometheus.Registerer, log *slog.Logger, now func() time.Time) (*spanMetrics, error) {
	if len(opts.Buckets) == 0 {
		opts.Buckets = DefaultBuckets
	}
	if !sort.Float64sAreSorted(opts.Buckets) {
		return nil, errors.New("span metrics buckets must be in increasing order")
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 15 * time.Second
	}
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = 10_000
	}
	m := &spanMetrics{
		opts:   opts,
		log:    log,
		now:    now,
		start:  now().UnixMilli(),
		series: map[string]*redSeries{},
		overflow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_traces_span_metrics_overflow_total",
			Help: "Spans counted in the overflow series because span metrics reached max_series.",
		}),
		flushErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_traces_span_metrics_write_errors_total",
			Help: "Span metric samples the TSDB refused (series limits, ...).",
		}),
	}
	for _, d := range opts.Dimensions {
		m.dimKeys = append(m.dimKeys, promLabelName(d))
	}
	if reg != nil {
		cs := []prometheus.Collector{m.overflow, m.flushErr}
		for i, c := range cs {
			if err := reg.Register(c); err != nil {
				for _, done := range cs[:i] { // not c: its name belongs to another
					reg.Unregister(done)
				}
				return nil, fmt.Errorf("register span metrics: %w", err)
			}
		}
		m.reg = reg
	}
	return m, nil
}

func (m *spanMetrics) unregister() {
	if m.reg != nil {
		m.reg.Unregister(m.overflow)
		m.reg.Unregister(m.flushErr)
	}
}

// promLabelName turns an attribute name into a Prometheus label name.
func promLabelName(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func spanKindLabel(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindInternal:
		return "SPAN_KIND_INTERNAL"
	case ptrace.SpanKindServer:
		return "SPAN_KIND_SERVER"
	case ptrace.SpanKindClient:
		return "SPAN_KIND_CLIENT"
	case ptrace.SpanKindProducer:
		return "SPAN_KIND_PRODUCER"
	case ptrace.SpanKindConsumer:
		return "SPAN_KIND_CONSUMER"
	}
	return "SPAN_KIND_UNSPECIFIED"
}

func statusCodeLabel(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "STATUS_CODE_OK"
	case ptrace.StatusCodeError:
		return "STATUS_CODE_ERROR"
	}
	return "STATUS_CODE_UNSET"
}

// observe counts one stored span.
func (m *spanMetrics) observe(service string, res pcommon.Map, sp ptrace.Span) {
	if m.opts.Appendable == nil {
		return
	}
	kind, status := spanKindLabel(sp.Kind()), statusCodeLabel(sp.Status().Code())
	name := validUTF8(sp.Name())
	var dims []string
	if len(m.opts.Dimensions) > 0 {
		dims = make([]string, len(m.opts.Dimensions))
		for i, d := range m.opts.Dimensions {
			if v, ok := sp.Attributes().Get(d); ok {
				dims[i] = validUTF8(v.AsString())
			} else if v, ok := res.Get(d); ok {
				dims[i] = validUTF8(v.AsString())
			}
		}
	}
	secs := float64(int64(sp.EndTimestamp())-int64(sp.StartTimestamp())) / 1e9
	if secs < 0 {
		secs = 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.keyBuf[:0]
	for _, s := range []string{service, name, kind, status} {
		b = append(b, s...)
		b = append(b, 0)
	}
	for _, s := range dims {
		b = append(b, s...)
		b = append(b, 0)
	}
	m.keyBuf = b
	rs, ok := m.series[string(b)]
	if !ok {
		if len(m.series) >= m.opts.MaxSeries {
			m.overflow.Inc()
			rs, ok = m.series[overflowKey]
			if !ok {
				rs = m.newSeries([]string{"otel_metric_overflow", "true"})
				m.series[overflowKey] = rs
			}
		} else {
			base := []string{"service_name", service, "span_name", name, "span_kind", kind, "status_code", status}
			for i, d := range dims {
				base = append(base, m.dimKeys[i], d)
			}
			rs = m.newSeries(base)
			m.series[string(b)] = rs
		}
	}
	i := sort.SearchFloat64s(m.opts.Buckets, secs) // first bound >= secs (le)
	rs.n++
	rs.counts[i]++
	rs.total += secs
	rs.ex[i] = rawExemplar{traceID: sp.TraceID(), spanID: sp.SpanID(), value: secs, tsMs: int64(sp.EndTimestamp()) / 1e6}
	rs.exDirty[i] = true
}

// overflowKey cannot collide with a real key (those end in NUL).
const overflowKey = "\x00overflow"

func (m *spanMetrics) newSeries(base []string) *redSeries {
	with := func(name string, extra ...string) labels.Labels {
		kv := append([]string{"__name__", name}, base...)
		return labels.FromStrings(append(kv, extra...)...).WithoutEmpty()
	}
	n := len(m.opts.Buckets) + 1
	rs := &redSeries{
		calls:   with(callsMetric),
		sum:     with(durationMetric + "_sum"),
		count:   with(durationMetric + "_count"),
		counts:  make([]uint64, n),
		ex:      make([]rawExemplar, n),
		exDirty: make([]bool, n),
	}
	for _, le := range m.opts.Buckets {
		rs.buckets = append(rs.buckets, with(durationMetric+"_bucket", "le", strconv.FormatFloat(le, 'f', -1, 64)))
	}
	rs.buckets = append(rs.buckets, with(durationMetric+"_bucket", "le", "+Inf"))
	return rs
}

func (m *spanMetrics) run(ctx context.Context) {
	if m.opts.Appendable == nil {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(m.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.flush(ctx)
		}
	}
}

type sample struct {
	l  labels.Labels
	v  float64
	ex []exemplar.Exemplar
}

// flush writes every series' cumulative values at the current time.
func (m *spanMetrics) flush(ctx context.Context) {
	if m.opts.Appendable == nil {
		return
	}
	ts := m.now().UnixMilli()
	m.mu.Lock()
	samples := make([]sample, 0, len(m.series)*(len(m.opts.Buckets)+4))
	for _, rs := range m.series {
		samples = append(samples, sample{l: rs.calls, v: float64(rs.n)})
		var cum uint64
		for i, c := range rs.counts {
			cum += c
			s := sample{l: rs.buckets[i], v: float64(cum)}
			if rs.exDirty[i] {
				s.ex = []exemplar.Exemplar{rs.ex[i].exemplar()}
				rs.exDirty[i] = false
			}
			samples = append(samples, s)
		}
		samples = append(samples, sample{l: rs.sum, v: rs.total}, sample{l: rs.count, v: float64(rs.n)})
	}
	m.mu.Unlock()
	if len(samples) == 0 {
		return
	}
	app := m.opts.Appendable.AppenderV2(ctx)
	failed := 0
	var firstErr error
	for _, s := range samples {
		opts := storage.AppendV2Options{Exemplars: s.ex}
		if _, err := app.Append(0, s.l, m.start, ts, s.v, nil, nil, opts); err != nil {
			var pe *storage.AppendPartialError
			if errors.As(err, &pe) {
				continue // the sample is in; an exemplar was refused
			}
			failed++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if err := app.Commit(); err != nil {
		m.log.Error("write span metrics", "err", err)
		m.flushErr.Add(float64(len(samples)))
		return
	}
	if failed > 0 {
		m.flushErr.Add(float64(failed))
		m.log.Warn("span metrics samples refused", "count", failed, "err", firstErr)
	}
}
