package oncall

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type selfMetrics struct {
	opened        *prometheus.CounterVec
	tta, ttr      *prometheus.HistogramVec
	notifications *prometheus.CounterVec
	exhausted     *prometheus.CounterVec
	unreachable   *prometheus.CounterVec
	steps         *prometheus.CounterVec
	stepLag       prometheus.Histogram
}

// responseBuckets span a page answered in seconds to an incident open for
// a day.
var responseBuckets = []float64{10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400}

func newSelfMetrics(reg prometheus.Registerer, o *OnCall) *selfMetrics {
	m := &selfMetrics{
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_oncall_incidents_opened_total", Help: "Incidents opened, by team.",
		}, []string{"team"}),
		tta: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_oncall_time_to_acknowledge_seconds", Help: "Time from an incident's opening to its first acknowledgement, by team.", Buckets: responseBuckets,
		}, []string{"team"}),
		ttr: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_oncall_time_to_resolve_seconds", Help: "Time from an incident's opening to its resolution, by team.", Buckets: responseBuckets,
		}, []string{"team"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_oncall_notifications_total", Help: "On-call notifications by user, channel and outcome (enqueued, delivered, failed).",
		}, []string{"user", "channel", "outcome"}),
		exhausted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_oncall_escalations_exhausted_total", Help: "Escalations that ran their policy's last step without acknowledgement, by policy.",
		}, []string{"policy"}),
		unreachable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_oncall_unreachable_total", Help: "Pages that reached nobody, by reason (no_contact_method, nobody_on_call, no_policy, unknown_user).",
		}, []string{"reason"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_oncall_steps_executed_total", Help: "Escalation steps executed, by kind (escalate, assign, unsnooze).",
		}, []string{"kind"}),
		stepLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_oncall_step_lag_seconds", Help: "Delay between an escalation step's due time and its execution.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60},
		}),
	}
	for _, r := range []string{"no_contact_method", "nobody_on_call", "no_policy", "unknown_user"} {
		m.unreachable.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.opened, m.tta, m.ttr, m.notifications, m.exhausted, m.unreachable, m.steps, m.stepLag, &stateCollector{o: o})
	}
	return m
}

// stateCollector counts incidents by state and team at scrape time.
type stateCollector struct{ o *OnCall }

var incidentsDesc = prometheus.NewDesc("vigil_oncall_incidents", "Incidents by state and team.", []string{"state", "team"}, nil)
var pendingDesc = prometheus.NewDesc("vigil_oncall_steps_pending", "Escalation steps waiting for their due time.", nil, nil)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- incidentsDesc
	ch <- pendingDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seen := map[string]bool{}
	rows, err := c.o.db.QueryContext(ctx, `SELECT state, team, COUNT(*) FROM oncall_incidents GROUP BY state, team`)
	if err == nil {
		for rows.Next() {
			var st, team string
			var n float64
			if rows.Scan(&st, &team, &n) == nil {
				seen[st+"/"+team] = true
				ch <- prometheus.MustNewConstMetric(incidentsDesc, prometheus.GaugeValue, n, st, team)
			}
		}
		rows.Close()
	}
	for _, st := range []string{Triggered, Acknowledged, Resolved} {
		if !seen[st+"/"] {
			ch <- prometheus.MustNewConstMetric(incidentsDesc, prometheus.GaugeValue, 0, st, "")
		}
	}
	var n float64
	if c.o.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM oncall_steps WHERE state = 'pending'`).Scan(&n) == nil {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, n)
	}
}
