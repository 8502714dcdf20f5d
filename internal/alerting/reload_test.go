package alerting

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestApplyConfigBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	a, _ := e.start(t, testRules, amWebhook(s.srv.URL), Delivery{})
	before := a.router.cfg.Load()
	bad := filepath.Join(e.dir, "bad.yml")
	os.WriteFile(bad, []byte("groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: up ==\n"), 0o644)
	good := filepath.Join(e.dir, "rules.yml")
	f := func(c Config, want string) {
		t.Helper()
		err := a.ApplyConfig(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q", err, want)
		}
		if a.router.cfg.Load() != before {
			t.Fatal("routing config changed by a failed apply")
		}
		if n := len(a.Rules().RuleGroups()); n != 1 || a.Rules().RuleGroups()[0].File() != good {
			t.Fatalf("rule groups changed by a failed apply: %d", n)
		}
	}
	f(Config{RuleFiles: []string{good, bad}, Alertmanager: amConf(t, amWebhook(s.srv.URL))}, "parse error")
	withTmpl := amConf(t, amWebhook(s.srv.URL))
	os.WriteFile(filepath.Join(e.dir, "bad.tmpl"), []byte(`{{ define "x" }}{{ .Nope `), 0o644)
	withTmpl.Templates = []string{filepath.Join(e.dir, "bad.tmpl")}
	f(Config{RuleFiles: []string{good}, Alertmanager: withTmpl}, "template")
	// A good config applies.
	if err := a.ApplyConfig(Config{RuleFiles: []string{good}, EvaluationInterval: time.Second, Alertmanager: amConf(t, amWebhook(s.srv.URL))}); err != nil {
		t.Fatal(err)
	}
	if a.router.cfg.Load() == before {
		t.Fatal("good config not applied")
	}
}

func TestTimeMutedAndSilencedInLedger(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	conf := `route:
  receiver: hook
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 300ms
  routes:
    - matchers: [job="muted"]
      receiver: hook
      mute_time_intervals: [always]
time_intervals:
  - name: always
    time_intervals: [{times: [{start_time: "00:00", end_time: "24:00"}]}]
receivers:
  - name: hook
    webhook_configs: [{url: ` + s.srv.URL + `}]
`
	a, _ := e.start(t, outboxRules, conf, Delivery{})
	e.write("up_metric", 0, "job", "muted")
	var fp string
	waitFor(t, 10*time.Second, "time_muted in ledger", func() bool {
		evs, _ := a.ledger.query(t.Context(), LedgerQuery{Kind: KindTimeMuted})
		if len(evs) > 0 {
			fp = evs[0].Fingerprint
		}
		return len(evs) > 0
	})
	time.Sleep(500 * time.Millisecond)
	if len(s.messages()) != 0 {
		t.Fatalf("muted alert notified: %+v", s.messages())
	}
	if k := kinds(history(t, a, fp)); !strings.HasPrefix(k, "firing,time_muted") {
		t.Fatalf("ledger = %s", k)
	}
	// Recorded once, not at every group_interval.
	if k := kinds(history(t, a, fp)); strings.Count(k, "time_muted") != 1 {
		t.Fatalf("ledger = %s", k)
	}
}

func TestForStateRestoredAfterRestart(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	r := slowRule("1s")
	keepDown(t, e)
	a, stop := e.start(t, r, amWebhook(s.srv.URL), Delivery{})
	waitFor(t, 10*time.Second, "firing", func() bool { return len(s.messages()) == 1 })
	orig := activeAt(a)
	stop()
	time.Sleep(500 * time.Millisecond)
	a2, _ := e.start(t, r, amWebhook(s.srv.URL), Delivery{})
	// The rules manager restores after the group's second evaluation.
	waitFor(t, 5*time.Second, "ActiveAt restored from ALERTS_FOR_STATE", func() bool { return activeAt(a2).Unix() == orig.Unix() },
		func() string { return activeAt(a2).String() + " != " + orig.String() })
	time.Sleep(time.Second)
	// No re-page: the outbox holds one notification, written before the
	// restart. (The sink may see it twice if a delivery timed out on a
	// loaded machine and was retried: delivery is at least once.)
	evs, err := a2.ledger.query(t.Context(), LedgerQuery{Kind: KindEnqueued})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || len(s.messages()) == 0 {
		all, _ := a2.ledger.query(t.Context(), LedgerQuery{})
		t.Fatalf("%d notifications enqueued, %d delivered to the sink; want 1 (no re-page after restart); ledger: %s", len(evs), len(s.messages()), kinds(all))
	}
}

// TestForGracePeriod: a pending alert whose remaining `for` time at restart
// is under the grace period gets exactly the grace period from the restore
// (Prometheus's restoredActiveAt = restore + grace - for), which puts its
// ActiveAt before the restart. With the default 10m grace period, longer
// than the rule's `for`, the alert would start pending afresh instead.
func TestForGracePeriod(t *testing.T) {
	e := newEnv(t)
	e.forGracePeriod = 3 * time.Second
	s := newSink(t)
	r := slowRule("4s")
	keepDown(t, e)
	a, stop := e.start(t, r, amWebhook(s.srv.URL), Delivery{})
	waitFor(t, 10*time.Second, "pending", func() bool { return !activeAt(a).IsZero() })
	time.Sleep(1500 * time.Millisecond) // pending ~1.5s of 4s: 2.5s left < 3s grace
	stop()
	restart := time.Now()
	a2, _ := e.start(t, r, amWebhook(s.srv.URL), Delivery{})
	// Restored: ActiveAt = restore time + 3s - 4s, a second before the restore.
	waitFor(t, 5*time.Second, "ActiveAt moved back by the grace period", func() bool {
		at := activeAt(a2)
		return !at.IsZero() && at.Before(restart)
	}, func() string { return activeAt(a2).String() + " not before restart " + restart.String() })
}

// keepDown writes up_metric{job="x"} = 0 every 100ms until the test ends.
func keepDown(t *testing.T, e *env) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			e.write("up_metric", 0, "job", "x")
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// activeAt is the ActiveAt of the first active alert, or zero.
func activeAt(a *Service) time.Time {
	for _, ar := range a.Rules().AlertingRules() {
		for _, al := range ar.ActiveAlerts() {
			return al.ActiveAt
		}
	}
	return time.Time{}
}

// slowRule is a group evaluated every 200ms with one alert, Slow, on
// up_metric == 0 with the given for.
func slowRule(forDuration string) string {
	return `groups:
  - name: g
    interval: 200ms
    rules:
      - alert: Slow
        expr: up_metric == 0
        for: ` + forDuration + "\n"
}
