package probes

import (
	"github.com/prometheus/client_golang/prometheus"
)

// selfMetrics are the scheduler's own metrics on /metrics.
type selfMetrics struct {
	runs         *prometheus.CounterVec
	failures     *prometheus.CounterVec
	late         prometheus.Counter
	skipped      prometheus.Counter
	appendFailed prometheus.Counter
	duration     *prometheus.HistogramVec
	// unknownModule counts /probe requests naming no configured module.
	unknownModule prometheus.Counter
}

func newSelfMetrics(reg prometheus.Registerer, m *Manager) (*selfMetrics, error) {
	s := &selfMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_probe_runs_total", Help: "Probe runs, by prober.",
		}, []string{"prober"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_probe_failures_total", Help: "Failed probe runs, by prober and reason (timeout, dns_resolve, connect, tls, http_status, regexp, cel, dns_answer, query_response, permission, condition, other).",
		}, []string{"prober", "reason"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_probe_runs_late_total", Help: "Probe runs that started late (waiting for a concurrency slot or for the scheduler) or were lost because the scheduler fell a whole interval behind.",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_probe_runs_skipped_total", Help: "Probe runs skipped because the probe's previous run was still going (a probe never runs twice at once).",
		}),
		appendFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_probe_append_failures_total", Help: "Probe runs whose samples could not be written to the TSDB.",
		}),
		unknownModule: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_probe_module_unknown_total", Help: "/probe requests naming a module that is not configured.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_probe_run_duration_seconds", Help: "Duration of probe runs, by prober.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"prober"}),
	}
	if reg == nil {
		return s, nil
	}
	cs := []prometheus.Collector{s.runs, s.failures, s.late, s.skipped, s.appendFailed, s.duration, s.unknownModule,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_probe_targets", Help: "Configured probes."}, func() float64 {
			m.mu.Lock()
			defer m.mu.Unlock()
			return float64(len(m.entries))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_probe_runs_in_flight", Help: "Probe runs in flight."}, func() float64 {
			return float64(m.inFlight.Load())
		}),
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, d := range cs[:i] {
				reg.Unregister(d)
			}
			return nil, err
		}
	}
	return s, nil
}

func (s *selfMetrics) observe(t *Target, r *Result) {
	p := t.Module.Prober
	s.runs.WithLabelValues(p).Inc()
	s.duration.WithLabelValues(p).Observe(r.Duration.Seconds())
	if !r.Success {
		s.failures.WithLabelValues(p, r.Reason).Inc()
	}
}
