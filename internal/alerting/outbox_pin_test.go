package alerting

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigilhq/vigil/internal/outbox"
)

// These tests pin what the outbox does as seen through alerting (ledger,
// listing, self-metrics), so that moving it to its own package changes
// none of it.

// metricValue reads one sample from a's registry; labels as name=value pairs.
func metricValue(t *testing.T, a *Service, name string, lbls ...string) float64 {
	t.Helper()
	mfs, err := a.opts.Registerer.(*prometheus.Registry).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(lbls); i += 2 {
				if !hasLabel(m, lbls[i], lbls[i+1]) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestOutboxPinUnrecoverableAndMetrics(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	s.status.Store(400)
	a, _ := e.start(t, outboxRules, amWebhook(s.srv.URL), Delivery{MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, GiveUpAfter: time.Hour})
	e.write("up_metric", 0, "job", "x")
	var ns []Notification
	waitFor(t, 10*time.Second, "failed notification", func() bool {
		ns, _ = a.delivery.list(t.Context(), outbox.Failed, 0)
		return len(ns) == 1
	})
	n := ns[0]
	if n.Receiver != "hook" || n.Integration != "webhook[0]" || n.Attempts != 1 || !strings.HasPrefix(n.LastError, "unrecoverable: ") || len(n.Alerts) != 1 || n.GroupKey == "" {
		t.Fatalf("failed notification = %+v", n)
	}
	if !n.GiveUpAt.After(n.CreatedAt.Add(59*time.Minute)) || n.UpdatedAt.Before(n.CreatedAt) {
		t.Fatalf("times: %+v", n)
	}
	waitFor(t, 5*time.Second, "ledger", func() bool { return strings.HasSuffix(kinds(history(t, a, n.Alerts[0])), "enqueued,failed") },
		func() string { return kinds(history(t, a, n.Alerts[0])) })
	for _, ev := range history(t, a, n.Alerts[0]) {
		if ev.Kind == KindEnqueued || ev.Kind == KindFailed {
			if ev.NotificationID != n.ID || ev.Receiver != "hook" || ev.Integration != "webhook[0]" || ev.GroupKey != n.GroupKey || ev.AlertName != "Down" {
				t.Fatalf("ledger event = %+v", ev)
			}
		}
	}
	f := func(name string, want float64, lbls ...string) {
		t.Helper()
		waitFor(t, 5*time.Second, name, func() bool { return metricValue(t, a, name, lbls...) == want },
			func() string { return "got " + itoa(int64(metricValue(t, a, name, lbls...))) })
	}
	f("vigil_alerting_notifications_enqueued_total", 1, "integration", "webhook")
	f("vigil_alerting_notification_attempts_failed_total", 1, "integration", "webhook")
	f("vigil_alerting_notification_attempt_duration_seconds", 1, "integration", "webhook")
	f("vigil_alerting_outbox_depth", 0)

	// A retry by hand that succeeds counts as sent and ends in the ledger.
	s.status.Store(0)
	if err := a.delivery.retry(t.Context(), n.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "delivery", func() bool { return len(s.messages()) == 1 })
	f("vigil_alerting_notifications_sent_total", 1, "integration", "webhook")
	f("vigil_alerting_flush_to_delivery_seconds", 1, "integration", "webhook")
	waitFor(t, 5*time.Second, "ledger", func() bool { return strings.HasSuffix(kinds(history(t, a, n.Alerts[0])), "failed,retried,delivered") },
		func() string { return kinds(history(t, a, n.Alerts[0])) })
}

func TestOutboxPinDepthWhileDown(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	s.down.Store(true)
	a, _ := e.start(t, outboxRules, amWebhook(s.srv.URL), Delivery{MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, GiveUpAfter: time.Hour})
	e.write("up_metric", 0, "job", "x")
	waitFor(t, 10*time.Second, "attempts", func() bool { return s.calls.Load() >= 2 })
	if d := metricValue(t, a, "vigil_alerting_outbox_depth"); d != 1 {
		t.Fatalf("depth = %v, want 1", d)
	}
	waitFor(t, 5*time.Second, "oldest age", func() bool { return metricValue(t, a, "vigil_alerting_outbox_oldest_age_seconds") > 0 })
	ns, _ := a.delivery.list(t.Context(), outbox.Pending, 0)
	if len(ns) != 1 || !ns[0].NextAttemptAt.After(ns[0].CreatedAt) {
		t.Fatalf("pending = %+v", ns)
	}
	fp := ns[0].Alerts[0]
	waitFor(t, 5*time.Second, "attempt events", func() bool { return strings.Contains(kinds(history(t, a, fp)), "enqueued,attempt,attempt") })
	for _, ev := range history(t, a, fp) {
		if ev.Kind == KindAttempt && (!strings.Contains(ev.Detail, "503") || !strings.Contains(ev.Detail, "next attempt in")) {
			t.Fatalf("attempt event = %+v", ev)
		}
	}
}

func TestOutboxPinNothingToSend(t *testing.T) {
	// With send_resolved false, a group that resolved is recorded as
	// delivered without a request, and the ledger says why.
	e := newEnv(t)
	s := newSink(t)
	a, _ := e.start(t, outboxRules, strings.Replace(amWebhook(s.srv.URL), "send_resolved: true", "send_resolved: false", 1), Delivery{})
	e.write("up_metric", 0, "job", "x")
	waitFor(t, 10*time.Second, "firing", func() bool { return len(s.messages()) == 1 })
	e.write("up_metric", 1, "job", "x")
	fp := s.messages()[0].Alerts[0].Fingerprint
	waitFor(t, 10*time.Second, "nothing to send", func() bool {
		for _, ev := range history(t, a, fp) {
			if ev.Kind == KindDelivered && strings.Contains(ev.Detail, "nothing to send") {
				return true
			}
		}
		return false
	}, func() string { return kinds(history(t, a, fp)) })
	ns, _ := a.delivery.list(t.Context(), outbox.Delivered, 0)
	if len(ns) != 2 || ns[0].Attempts != 0 || ns[1].Attempts != 1 {
		t.Fatalf("delivered = %+v", ns)
	}
	if len(s.messages()) != 1 {
		t.Fatalf("resolved sent with send_resolved false: %+v", s.messages())
	}
}

func TestOutboxPinMissingIntegration(t *testing.T) {
	// A notification whose integration left the configuration fails with a
	// message naming it.
	e := newEnv(t)
	s := newSink(t)
	s.down.Store(true)
	a, _ := e.start(t, outboxRules, amWebhook(s.srv.URL), Delivery{MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, GiveUpAfter: time.Hour})
	e.write("up_metric", 0, "job", "x")
	waitFor(t, 10*time.Second, "attempt", func() bool { return s.calls.Load() >= 1 })
	if err := a.ApplyConfig(Config{RuleFiles: a.opts.Config.RuleFiles, EvaluationInterval: time.Hour, Alertmanager: amConf(t, "route:\n  receiver: hook\nreceivers:\n  - name: hook\n")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "failed", func() bool {
		ns, _ := a.delivery.list(context.Background(), outbox.Failed, 0)
		return len(ns) == 1 && strings.Contains(ns[0].LastError, `receiver "hook" has no integration webhook[0]`)
	})
}
