package logs

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

type selfMetrics struct {
	reg           prometheus.Registerer
	collectors    []prometheus.Collector
	received      prometheus.Counter
	accepted      prometheus.Counter
	acceptedBytes prometheus.Counter
	rejected      *prometheus.CounterVec
	commitSeconds prometheus.Histogram
	queries       *prometheus.CounterVec
	querySeconds  *prometheus.HistogramVec
}

func newSelfMetrics(reg prometheus.Registerer, s *Store) (*selfMetrics, error) {
	m := &selfMetrics{
		reg: reg,
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_logs_records_received_total", Help: "Log records received (OTLP and Loki push).",
		}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_logs_records_accepted_total", Help: "Log records committed to the store.",
		}),
		acceptedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_logs_bytes_accepted_total", Help: "Bytes of log lines committed to the store.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_logs_records_rejected_total", Help: "Log records not stored, by reason.",
		}, []string{"reason"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_logs_commit_duration_seconds", Help: "Time from handing a request to the store to its durable commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_logs_queries_total", Help: "LogQL queries by kind (log, metric) and outcome.",
		}, []string{"kind", "outcome"}),
		querySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_logs_query_duration_seconds", Help: "LogQL query time by kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"kind"}),
	}
	m.collectors = []prometheus.Collector{m.received, m.accepted, m.acceptedBytes, m.rejected, m.commitSeconds, m.queries, m.querySeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_logs_term_index_bytes", Help: "Memory held by the term index of log lines (trigram bitsets of every block)."}, func() float64 {
			_, b := s.blocks.size()
			return float64(b)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_logs_streams", Help: "Log streams known to the store."}, func() float64 {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return float64(len(s.streams))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_logs_active_streams", Help: "Log streams pushed to within logs.limits.stream_idle_period (bounded by logs.limits.max_streams)."}, func() float64 {
			return float64(s.activeCount())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_logs_tail_subscribers", Help: "Open live-tail connections."}, func() float64 {
			return float64(s.tail.count())
		}),
	}
	if reg != nil {
		for i, c := range m.collectors {
			if err := reg.Register(c); err != nil {
				for _, r := range m.collectors[:i] {
					reg.Unregister(r)
				}
				return nil, fmt.Errorf("register logs metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *selfMetrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.reg = nil
}

// Log-derived metrics: logs_records_total and logs_bytes_total by
// service_name and level, cumulative since the process started.
type derivedKey struct{ service, level string }

type derivedVal struct{ records, bytes int64 }

type derivedCounts struct {
	mu    sync.Mutex
	m     map[derivedKey]derivedVal
	dirty bool
}

func newDerivedCounts() *derivedCounts { return &derivedCounts{m: map[derivedKey]derivedVal{}} }

func (d *derivedCounts) add(delta map[derivedKey]derivedVal) {
	d.mu.Lock()
	for k, v := range delta {
		cur := d.m[k]
		cur.records += v.records
		cur.bytes += v.bytes
		d.m[k] = cur
	}
	d.dirty = true
	d.mu.Unlock()
}

func (d *derivedCounts) snapshot() (map[derivedKey]derivedVal, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[derivedKey]derivedVal, len(d.m))
	for k, v := range d.m {
		out[k] = v
	}
	dirty := d.dirty
	d.dirty = false
	return out, dirty || len(out) > 0
}

// flushDerived writes the current counter values into the metrics store.
func (s *Store) flushDerived() {
	if s.opts.Appendable == nil {
		return
	}
	snap, ok := s.counts.snapshot()
	if !ok {
		return
	}
	ts := s.now().UnixMilli()
	app := s.opts.Appendable.AppenderV2(context.Background())
	for k, v := range snap {
		svc := k.service
		if svc == "" {
			svc = "unknown_service"
		}
		for _, x := range []struct {
			name string
			v    int64
		}{{"logs_records_total", v.records}, {"logs_bytes_total", v.bytes}} {
			ls := labels.FromStrings("__name__", x.name, "level", k.level, "service_name", svc)
			if _, err := app.Append(0, ls, 0, ts, float64(x.v), nil, nil, storage.AppendV2Options{MetricFamilyName: x.name}); err != nil {
				s.log.Warn("append log-derived metric", "metric", x.name, "err", err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		s.log.Warn("commit log-derived metrics", "err", err)
	}
}
