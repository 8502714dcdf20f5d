package telemetrydb

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/apierr"
)

type metrics struct {
	reg            prometheus.Registerer
	rawReg         prometheus.Registerer
	health         *apierr.WriteHealth
	collectors     []prometheus.Collector
	rejected       prometheus.Counter
	commits        prometheus.Counter
	commitFailures prometheus.Counter
	commitRows     prometheus.Histogram
	commitSeconds  prometheus.Histogram
	dropped        *prometheus.CounterVec
	diskBytes      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, db *DB) *metrics {
	m := &metrics{
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_telemetrydb_queue_rejections_total",
			Help: "Append calls refused because the write queue was full.",
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_telemetrydb_commits_total",
			Help: "Group commits that succeeded.",
		}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_telemetrydb_commit_failures_total",
			Help: "Group commits that failed and were rolled back.",
		}),
		commitRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vigil_telemetrydb_commit_rows",
			Help:    "Rows per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vigil_telemetrydb_commit_duration_seconds",
			Help:    "Time to append and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_telemetrydb_partitions_dropped_total",
			Help: "Partitions deleted by retention, by reason (age, size).",
		}, []string{"reason"}),
		diskBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_telemetrydb_disk_bytes",
			Help: "Bytes on disk in partition files and their WALs (updated by retention runs).",
		}),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_telemetrydb_queue_rows",
		Help: "Rows queued or being committed.",
	}, func() float64 { return float64(db.q.rowsNow()) })
	parts := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_telemetrydb_partitions",
		Help: "Partitions attached.",
	}, func() float64 {
		db.partsMu.RLock()
		defer db.partsMu.RUnlock()
		return float64(len(db.parts))
	})
	// The limits retention enforces, so a dashboard (the UI's home page)
	// can show the size against its cap, as Prometheus's
	// prometheus_tsdb_retention_limit_{bytes,seconds} do for the TSDB.
	limitBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_telemetrydb_retention_limit_bytes",
		Help: "Size cap retention enforces on the store (retention.max_size); 0 means none.",
	}, func() float64 { return float64(db.opts.MaxBytes) })
	limitSeconds := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_telemetrydb_retention_limit_seconds",
		Help: "Age after which retention drops data (retention.max_age); 0 means kept forever.",
	}, func() float64 { return db.opts.MaxAge.Seconds() })
	m.collectors = []prometheus.Collector{m.rejected, m.commits, m.commitFailures, m.commitRows, m.commitSeconds, m.dropped, m.diskBytes, queue, parts, limitBytes, limitSeconds}
	if reg != nil {
		m.reg = prometheus.WrapRegistererWith(prometheus.Labels{"domain": db.opts.Domain}, reg)
		for _, c := range m.collectors {
			if err := m.reg.Register(c); err != nil {
				db.log.Warn("register metric", "err", err)
			}
		}
		m.rawReg, m.health = reg, db.health
		if err := db.health.Register(reg); err != nil {
			db.log.Warn("register metric", "err", err)
		}
	}
	return m
}

func (db *DB) updateDiskMetric() { db.metrics.diskBytes.Set(float64(db.diskBytes())) }

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.health.Unregister(m.rawReg)
}
