package alerting

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type selfMetrics struct {
	enqueued        *prometheus.CounterVec
	sent            *prometheus.CounterVec
	failed          *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	flushToDelivery *prometheus.HistogramVec
	ledgerErrors    prometheus.Counter
}

func newSelfMetrics(r prometheus.Registerer) *selfMetrics {
	m := &selfMetrics{
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_alerting_notifications_enqueued_total",
			Help: "Notifications written to the outbox, by integration.",
		}, []string{"integration"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_alerting_notifications_sent_total",
			Help: "Successful notification delivery attempts, by integration.",
		}, []string{"integration"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_alerting_notification_attempts_failed_total",
			Help: "Failed notification delivery attempts (retried or given up), by integration.",
		}, []string{"integration"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_alerting_notification_attempt_duration_seconds",
			Help:    "Duration of one notification delivery attempt.",
			Buckets: prometheus.DefBuckets,
		}, []string{"integration"}),
		flushToDelivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_alerting_flush_to_delivery_seconds",
			Help:    "Time from a group's flush (after group_wait/group_interval) to successful delivery.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}, []string{"integration"}),
		ledgerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_alerting_ledger_write_errors_total",
			Help: "Ledger events that could not be written.",
		}),
	}
	if r != nil {
		r.MustRegister(m.enqueued, m.sent, m.failed, m.attemptDuration, m.flushToDelivery, m.ledgerErrors)
	}
	return m
}

// outboxCollector reports the outbox depth and oldest age at scrape time.
type outboxCollector struct {
	d      *delivery
	depth  *prometheus.Desc
	oldest *prometheus.Desc
}

func newOutboxCollector(d *delivery) *outboxCollector {
	return &outboxCollector{
		d:      d,
		depth:  prometheus.NewDesc("vigil_alerting_outbox_depth", "Notifications waiting in the outbox for delivery.", nil, nil),
		oldest: prometheus.NewDesc("vigil_alerting_outbox_oldest_age_seconds", "Age of the oldest notification waiting in the outbox.", nil, nil),
	}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.oldest }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, age := c.d.depth(ctx)
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age.Seconds())
}
