package alerting

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"
)

// A resolved alert gets no "inhibited/silenced/muted: not notified" entry
// when it is sent again (Prometheus re-sends resolved alerts for 15
// minutes) after its inhibiting alert fired again (issue 11 item 4).
func TestResolvedAlertGetsNoMuteEntries(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	conf := amWebhook(s.srv.URL) + `inhibit_rules:
  - source_matchers: [alertname="NodeDown"]
    target_matchers: [alertname="ServiceDown"]
    equal: [node]
`
	a, _ := e.start(t, outboxRules, conf, Delivery{})
	node := model.LabelSet{"alertname": "NodeDown", "node": "n1"}
	svc := model.LabelSet{"alertname": "ServiceDown", "node": "n1"}
	put := func(ls model.LabelSet, resolved bool) {
		t.Helper()
		now := time.Now()
		ma := model.Alert{Labels: ls, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour)}
		if resolved {
			ma.EndsAt = now.Add(-time.Second)
		}
		if err := a.router.put(t.Context(), alert.New(ma, now, false)); err != nil {
			t.Fatal(err)
		}
	}
	fp := svc.Fingerprint().String()
	has := func(kind string) func() bool {
		return func() bool { return strings.Contains(kinds(history(t, a, fp)), kind) }
	}
	put(node, false)
	waitFor(t, 10*time.Second, "NodeDown notified", func() bool { return len(s.messages()) >= 1 })
	put(svc, false)
	waitFor(t, 10*time.Second, "ServiceDown inhibited", has("inhibited"), func() string { return kinds(history(t, a, fp)) })
	// Both resolve; ServiceDown's resolution passes (its inhibitor is gone).
	put(node, true)
	put(svc, true)
	waitFor(t, 10*time.Second, "ServiceDown resolved and routed", func() bool {
		return strings.HasSuffix(kinds(history(t, a, fp)), "inhibited,routed")
	}, func() string { return kinds(history(t, a, fp)) })
	before := kinds(history(t, a, fp))
	notified := func(name, status string) int {
		n := 0
		for _, m := range s.messages() {
			if m.GroupLabels["alertname"] == name && m.Status == status {
				n++
			}
		}
		return n
	}
	waitFor(t, 10*time.Second, "NodeDown resolved notified", func() bool { return notified("NodeDown", "resolved") >= 1 })
	// NodeDown fires again; ServiceDown's resolved state is sent again.
	put(node, false)
	waitFor(t, 10*time.Second, "NodeDown notified again", func() bool { return notified("NodeDown", "firing") >= 2 })
	// Re-sent as Prometheus re-sends resolved alerts (here every 400ms,
	// past group_interval), then the group flushes with it when another
	// ServiceDown, not inhibited, is notified.
	for range 3 {
		put(svc, true)
		time.Sleep(400 * time.Millisecond) // the client's resend interval
	}
	put(model.LabelSet{"alertname": "ServiceDown", "node": "n2"}, false)
	waitFor(t, 10*time.Second, "ServiceDown n2 notified", func() bool {
		for _, m := range s.messages() {
			for _, al := range m.Alerts {
				if al.Labels["node"] == "n2" {
					return true
				}
			}
		}
		return false
	})
	if after := kinds(history(t, a, fp)); after != before {
		t.Fatalf("resolved ServiceDown got new ledger entries: %s -> %s", before, after)
	}
}
