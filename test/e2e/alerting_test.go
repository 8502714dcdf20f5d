package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"github.com/prometheus/prometheus/prompb"
)

// alSink is an HTTP endpoint that records JSON bodies and can fail on
// demand.
type alSink struct {
	mu     sync.Mutex
	bodies []map[string]any
	fail   atomic.Int32 // HTTP status to answer with; 0 = 200
	srv    *httptest.Server
}

func newALSink(t *testing.T) *alSink {
	s := &alSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := s.fail.Load(); c != 0 {
			http.Error(w, "sink failing on purpose", int(c))
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("sink %s: bad JSON %v: %s", r.URL.Path, err, b)
		}
		m["_path"] = r.URL.Path
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"success","ok":true}`))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *alSink) all() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

// webhook messages for alertname with status ("" = any).
func (s *alSink) webhooks(alertname, status string) []map[string]any {
	var out []map[string]any
	for _, m := range s.all() {
		gl, _ := m["groupLabels"].(map[string]any)
		if gl["alertname"] == alertname && (status == "" || m["status"] == status) {
			out = append(out, m)
		}
	}
	return out
}

// smtpSink is an SMTP server that keeps every message.
type smtpSink struct {
	mu   sync.Mutex
	msgs []string
	addr string
}

type smtpSession struct{ s *smtpSink }

func (x *smtpSession) Reset()                                      {}
func (x *smtpSession) Logout() error                               { return nil }
func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error { return nil }
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error   { return nil }
func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, string(b))
	x.s.mu.Unlock()
	return err
}

func newSMTPSink(t *testing.T) *smtpSink {
	s := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

const alertRules = `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: HighErrors
        expr: errors_total > 5
        for: 3s
        labels: {severity: page}
        annotations: {summary: "errors at {{ $value }} on {{ $labels.instance }}"}
      - alert: SlackAlert
        expr: slack_metric > 0
        labels: {channel: slack}
        annotations: {summary: "slack test"}
      - alert: EmailAlert
        expr: email_metric > 0
        labels: {channel: email}
      - alert: PagerAlert
        expr: pd_metric > 0
        labels: {channel: pagerduty, severity: critical}
        annotations: {summary: "pager test"}
      - alert: NodeDown
        expr: node_up == 0
      - alert: ServiceDown
        expr: service_up == 0
      - alert: Silenced
        expr: silence_metric > 0
      - alert: Outbox
        expr: outbox_metric > 0
        labels: {channel: flaky}
      - alert: Rejected
        expr: rejected_metric > 0
        labels: {channel: rejecting}
`

func alertConfig(rulesFile, hook, slack, pd, smtpAddr, flaky, rejecting string) string {
	return fmt.Sprintf(`global:
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  delivery: {min_backoff: 200ms, max_backoff: 1s, give_up_after: 10m}
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 500ms
    group_interval: 1s
    repeat_interval: 1h
    routes:
      - {matchers: [channel="slack"], receiver: slack}
      - {matchers: [channel="email"], receiver: email}
      - {matchers: [channel="pagerduty"], receiver: pd}
      - {matchers: [channel="flaky"], receiver: flaky}
      - {matchers: [channel="rejecting"], receiver: rejecting}
  inhibit_rules:
    - source_matchers: [alertname="NodeDown"]
      target_matchers: [alertname="ServiceDown"]
      equal: [node]
  receivers:
    - name: hook
      webhook_configs: [{url: %q, send_resolved: true}]
    - name: slack
      slack_configs: [{api_url: %q, channel: "#alerts", send_resolved: true}]
    - name: email
      email_configs: [{to: oncall@example.com, from: vigil@example.com, smarthost: %q, require_tls: false}]
    - name: pd
      pagerduty_configs: [{routing_key: 0123456789abcdef0123456789abcdef, url: %q}]
    - name: flaky
      webhook_configs: [{url: %q}]
    - name: rejecting
      webhook_configs: [{url: %q}]
`, rulesFile, hook, slack, smtpAddr, pd, flaky, rejecting)
}

type ledgerEvent struct {
	Kind           string `json:"kind"`
	Detail         string `json:"detail"`
	Receiver       string `json:"receiver"`
	NotificationID int64  `json:"notificationId"`
}

func ledgerOf(t *testing.T, v *Vigil, fp string) []ledgerEvent {
	var r struct {
		Data []ledgerEvent `json:"data"`
	}
	v.GetJSON("/vigil/api/v1/alerts/"+fp+"/history", &r)
	return r.Data
}

func ledgerKinds(evs []ledgerEvent) string {
	var k []string
	for _, e := range evs {
		k = append(k, e.Kind)
	}
	return strings.Join(k, ",")
}

// amAlert finds an alert by name through the Alertmanager API v2.
func amAlert(t *testing.T, v *Vigil, name string) (fp string, status map[string]any) {
	var alerts []map[string]any
	v.GetJSON("/alertmanager/api/v2/alerts?filter="+urlEscape(`alertname="`+name+`"`), &alerts)
	if len(alerts) == 0 {
		return "", nil
	}
	st, _ := alerts[0]["status"].(map[string]any)
	return alerts[0]["fingerprint"].(string), st
}

func writeNow(t *testing.T, v *Vigil, name string, val float64, lbls ...string) {
	t.Helper()
	code, body := v.RemoteWrite([]prompb.TimeSeries{Series(append([]string{"__name__", name}, lbls...), prompb.Sample{Timestamp: time.Now().UnixMilli(), Value: val})})
	if code/100 != 2 {
		t.Fatalf("remote write %s: %d %s", name, code, body)
	}
}

func TestAlerting(t *testing.T) {
	amtool := DebianTool(t, "amtool", "prometheus-alertmanager")
	hook, slack, pd, flaky, rejecting := newALSink(t), newALSink(t), newALSink(t), newALSink(t), newALSink(t)
	mail := newSMTPSink(t)
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(alertRules), 0o644); err != nil {
		t.Fatal(err)
	}
	flaky.fail.Store(503)
	rejecting.fail.Store(400)
	v := StartVigil(t, StartOptions{Config: alertConfig(rulesFile, hook.srv.URL+"/hook", slack.srv.URL+"/slack", pd.srv.URL+"/v2/enqueue", mail.addr, flaky.srv.URL+"/flaky", rejecting.srv.URL+"/rejecting")})
	amURL := "--alertmanager.url=http://" + v.HTTP + "/alertmanager"

	// A silence created with amtool before the alert exists.
	out, err := RunCmd(t, 30*time.Second, amtool, amURL, "silence", "add", "alertname=Silenced", "--comment=e2e", "--author=e2e", "--duration=1h")
	if err != nil {
		t.Fatalf("amtool silence add: %v\n%s", err, out)
	}
	// amtool warns first when versions differ; the ID is the last line.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	silenceID := strings.TrimSpace(lines[len(lines)-1])
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(silenceID) {
		t.Fatalf("amtool silence add printed %q, want a silence ID", out)
	}
	if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "silence", "query", "-q"); err != nil || !strings.Contains(out, silenceID) {
		t.Fatalf("amtool silence query: %v %q", err, out)
	}

	start := time.Now()
	writeNow(t, v, "errors_total", 10, "instance", "web:1")
	writeNow(t, v, "slack_metric", 1)
	writeNow(t, v, "email_metric", 1)
	writeNow(t, v, "pd_metric", 1)
	writeNow(t, v, "node_up", 0, "node", "n1")
	writeNow(t, v, "service_up", 0, "node", "n1")
	writeNow(t, v, "silence_metric", 1)
	writeNow(t, v, "outbox_metric", 1)
	writeNow(t, v, "rejected_metric", 1)

	t.Run("webhook fires after for", func(t *testing.T) {
		Eventually(t, 30*time.Second, func() error {
			if len(hook.webhooks("HighErrors", "firing")) == 0 {
				return fmt.Errorf("no firing webhook for HighErrors; got %d messages", len(hook.all()))
			}
			return nil
		})
		if el := time.Since(start); el < 3*time.Second {
			t.Fatalf("notified %s after the write, before for=3s", el)
		}
		m := hook.webhooks("HighErrors", "firing")[0]
		cl, _ := m["commonLabels"].(map[string]any)
		alerts, _ := m["alerts"].([]any)
		if m["version"] != "4" || m["receiver"] != "hook" || m["groupKey"] == "" || cl["severity"] != "page" || len(alerts) != 1 {
			t.Fatalf("webhook payload: %v", m)
		}
		a0 := alerts[0].(map[string]any)
		if a0["fingerprint"] == "" || a0["status"] != "firing" || a0["annotations"].(map[string]any)["summary"] != "errors at 10 on web:1" {
			t.Fatalf("webhook alert: %v", a0)
		}
	})

	t.Run("slack email pagerduty", func(t *testing.T) {
		Eventually(t, 20*time.Second, func() error {
			if len(slack.all()) == 0 {
				return fmt.Errorf("no slack message")
			}
			if len(pd.all()) == 0 {
				return fmt.Errorf("no pagerduty event")
			}
			if len(mail.messages()) == 0 {
				return fmt.Errorf("no email")
			}
			return nil
		})
		s := slack.all()[0]
		if s["channel"] != "#alerts" || s["attachments"] == nil {
			t.Fatalf("slack payload: %v", s)
		}
		p := pd.all()[0]
		payload, _ := p["payload"].(map[string]any)
		if p["_path"] != "/v2/enqueue" || p["routing_key"] != "0123456789abcdef0123456789abcdef" || p["event_action"] != "trigger" || p["dedup_key"] == "" || payload["severity"] != "critical" && payload["severity"] != "error" {
			t.Fatalf("pagerduty event: %v", p)
		}
		if !strings.Contains(payload["summary"].(string), "PagerAlert") {
			t.Fatalf("pagerduty summary: %v", payload["summary"])
		}
		m := mail.messages()[0]
		if !strings.Contains(m, "EmailAlert") || !strings.Contains(m, "oncall@example.com") {
			t.Fatalf("email: %.500s", m)
		}
	})

	t.Run("inhibition", func(t *testing.T) {
		Eventually(t, 20*time.Second, func() error {
			if len(hook.webhooks("NodeDown", "")) == 0 {
				return fmt.Errorf("NodeDown not notified")
			}
			return nil
		})
		var fp string
		Eventually(t, 10*time.Second, func() error {
			var st map[string]any
			fp, st = amAlert(t, v, "ServiceDown")
			if fp == "" || st["state"] != "suppressed" || len(st["inhibitedBy"].([]any)) == 0 {
				return fmt.Errorf("ServiceDown status %v", st)
			}
			if !strings.Contains(ledgerKinds(ledgerOf(t, v, fp)), "inhibited") {
				return fmt.Errorf("ledger %s", ledgerKinds(ledgerOf(t, v, fp)))
			}
			return nil
		})
		time.Sleep(2 * time.Second)
		if n := len(hook.webhooks("ServiceDown", "")); n != 0 {
			t.Fatalf("inhibited ServiceDown was notified %d times", n)
		}
	})

	t.Run("silence with amtool", func(t *testing.T) {
		var fp string
		Eventually(t, 10*time.Second, func() error {
			fp, _ = amAlert(t, v, "Silenced")
			if fp == "" || !strings.Contains(ledgerKinds(ledgerOf(t, v, fp)), "silenced") {
				return fmt.Errorf("no silenced ledger entry for %q", fp)
			}
			return nil
		})
		evs := ledgerOf(t, v, fp)
		found := false
		for _, e := range evs {
			found = found || (e.Kind == "silenced" && strings.Contains(e.Detail, silenceID))
		}
		if !found {
			t.Fatalf("ledger does not name the silence %s: %+v", silenceID, evs)
		}
		if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "alert", "query", "alertname=Silenced", "--silenced"); err != nil || !strings.Contains(out, "Silenced") {
			t.Fatalf("amtool alert query --silenced: %v %s", err, out)
		}
		if n := len(hook.webhooks("Silenced", "")); n != 0 {
			t.Fatalf("silenced alert notified %d times", n)
		}
		if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "silence", "expire", silenceID); err != nil {
			t.Fatalf("amtool silence expire: %v %s", err, out)
		}
		Eventually(t, 20*time.Second, func() error {
			if len(hook.webhooks("Silenced", "firing")) == 0 {
				return fmt.Errorf("not notified after the silence expired")
			}
			return nil
		})
		// The receiver has the webhook before Vigil has its answer and
		// writes "delivered" to the ledger: wait for that entry.
		Eventually(t, 10*time.Second, func() error {
			if k := ledgerKinds(ledgerOf(t, v, fp)); !regexp.MustCompile(`silenced.*routed.*enqueued.*delivered`).MatchString(k) {
				return fmt.Errorf("ledger after expiry: %s", k)
			}
			return nil
		})
	})

	t.Run("resolved", func(t *testing.T) {
		writeNow(t, v, "errors_total", 0, "instance", "web:1")
		Eventually(t, 20*time.Second, func() error {
			if len(hook.webhooks("HighErrors", "resolved")) == 0 {
				return fmt.Errorf("no resolved webhook")
			}
			return nil
		})
		fp, _ := amAlert(t, v, "HighErrors")
		if fp != "" {
			if k := ledgerKinds(ledgerOf(t, v, fp)); !regexp.MustCompile(`pending.*firing.*routed.*delivered.*resolved`).MatchString(k) {
				t.Fatalf("ledger: %s", k)
			}
		}
	})

	t.Run("alert posted with amtool (API v2 POST)", func(t *testing.T) {
		if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "alert", "add", "alertname=External", "source=amtool", "--annotation=summary=posted"); err != nil {
			t.Fatalf("amtool alert add: %v %s", err, out)
		}
		Eventually(t, 20*time.Second, func() error {
			if len(hook.webhooks("External", "firing")) == 0 {
				return fmt.Errorf("posted alert not notified")
			}
			return nil
		})
		fp, _ := amAlert(t, v, "External")
		Eventually(t, 10*time.Second, func() error { // "delivered" follows the webhook's answer
			if k := ledgerKinds(ledgerOf(t, v, fp)); !regexp.MustCompile(`^received,routed,enqueued,delivered`).MatchString(k) {
				return fmt.Errorf("ledger: %s", k)
			}
			return nil
		})
		var groups []map[string]any
		v.GetJSON("/alertmanager/api/v2/alerts/groups", &groups)
		if len(groups) < 3 {
			t.Fatalf("alerts/groups: %d groups", len(groups))
		}
		var receivers []map[string]any
		v.GetJSON("/alertmanager/api/v2/receivers", &receivers)
		if len(receivers) != 6 {
			t.Fatalf("receivers: %v", receivers)
		}
	})

	t.Run("prometheus rules and alerts API", func(t *testing.T) {
		var rules struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Name  string `json:"name"`
						State string `json:"state"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		v.GetJSON("/api/v1/rules", &rules)
		if len(rules.Data.Groups) != 1 || rules.Data.Groups[0].Name != "e2e" || len(rules.Data.Groups[0].Rules) != 9 {
			t.Fatalf("/api/v1/rules: %+v", rules)
		}
		var alerts struct {
			Data struct {
				Alerts []map[string]any `json:"alerts"`
			} `json:"data"`
		}
		v.GetJSON("/api/v1/alerts", &alerts)
		if len(alerts.Data.Alerts) < 5 {
			t.Fatalf("/api/v1/alerts: %+v", alerts)
		}
	})

	t.Run("failed notification and manual retry", func(t *testing.T) {
		type notif struct {
			ID        int64  `json:"id"`
			Receiver  string `json:"receiver"`
			Status    string `json:"status"`
			LastError string `json:"lastError"`
		}
		var failed []notif
		Eventually(t, 20*time.Second, func() error {
			var r struct{ Data []notif }
			v.GetJSON("/vigil/api/v1/notifications?status=failed", &r)
			failed = nil
			for _, n := range r.Data {
				if n.Receiver == "rejecting" {
					failed = append(failed, n)
				}
			}
			if len(failed) == 0 {
				return fmt.Errorf("no failed notification for the rejecting receiver: %+v", r.Data)
			}
			return nil
		})
		if !strings.Contains(failed[0].LastError, "400") {
			t.Fatalf("last error %q does not give the status", failed[0].LastError)
		}
		rejecting.fail.Store(0)
		code, _, body := v.Post(fmt.Sprintf("/vigil/api/v1/notifications/%d/retry", failed[0].ID), "", nil)
		if code != http.StatusAccepted {
			t.Fatalf("retry: %d %s", code, body)
		}
		Eventually(t, 10*time.Second, func() error {
			if len(rejecting.all()) != 1 {
				return fmt.Errorf("retried notification not delivered")
			}
			return nil
		})
		code, _, body = v.Post(fmt.Sprintf("/vigil/api/v1/notifications/%d/retry", failed[0].ID), "", nil)
		if code != http.StatusConflict {
			t.Fatalf("second retry of a delivered notification: %d %s", code, body)
		}
		if code, _, _ := v.Post("/vigil/api/v1/notifications/999999/retry", "", nil); code != http.StatusNotFound {
			t.Fatalf("retry of unknown id: %d", code)
		}
	})

	t.Run("endpoint down, kill -9, restart, delivered exactly once", func(t *testing.T) {
		fp := ""
		Eventually(t, 20*time.Second, func() error {
			fp, _ = amAlert(t, v, "Outbox")
			if fp == "" {
				return fmt.Errorf("no Outbox alert")
			}
			k := ledgerKinds(ledgerOf(t, v, fp))
			if strings.Count(k, "attempt") < 2 {
				return fmt.Errorf("ledger %s: want failed attempts", k)
			}
			return nil
		})
		v.Kill()
		flaky.fail.Store(0)
		v.Restart()
		Eventually(t, 30*time.Second, func() error {
			if n := len(flaky.all()); n != 1 {
				return fmt.Errorf("flaky sink got %d messages", n)
			}
			return nil
		})
		time.Sleep(4 * time.Second) // several group_intervals: nothing more may arrive
		if n := len(flaky.all()); n != 1 {
			t.Fatalf("flaky sink got %d messages after restart, want exactly 1", n)
		}
		if n := len(hook.webhooks("HighErrors", "firing")); n != 1 {
			t.Fatalf("HighErrors re-paged after restart: %d firing messages", n)
		}
		k := ledgerKinds(ledgerOf(t, v, fp))
		if !regexp.MustCompile(`enqueued.*attempt.*attempt.*delivered`).MatchString(k) {
			t.Fatalf("ledger after restart: %s", k)
		}
		// The silence expiry and other state survived: the silence is expired.
		out, err := RunCmd(t, 30*time.Second, amtool, amURL, "silence", "query", "--expired", "-q")
		if err != nil || !strings.Contains(out, silenceID) {
			t.Fatalf("expired silence lost after kill -9: %v %q", err, out)
		}
		var r struct {
			Data []map[string]any `json:"data"`
		}
		v.GetJSON(fmt.Sprintf("/vigil/api/v1/alerts/history?start=%d&kind=delivered", start.Unix()), &r)
		if len(r.Data) < 5 {
			t.Fatalf("time-range history: %d delivered events", len(r.Data))
		}
	})

	t.Run("self-metrics", func(t *testing.T) {
		// After the restart above: counters restarted from zero.
		_, b := v.Get("/metrics")
		m := string(b)
		for _, want := range []string{
			"prometheus_rule_evaluation_duration_seconds",
			"prometheus_rule_evaluation_failures_total",
			"prometheus_rule_group_iterations_missed_total",
			`alertmanager_alerts{state="active"}`,
			`vigil_alerting_notifications_sent_total{integration="webhook"}`,
			"vigil_alerting_flush_to_delivery_seconds",
			"vigil_alerting_outbox_depth",
			"vigil_alerting_outbox_oldest_age_seconds",
		} {
			if !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("reload", func(t *testing.T) {
		cfg := alertConfig(rulesFile, hook.srv.URL+"/hook", slack.srv.URL+"/slack", pd.srv.URL+"/v2/enqueue", mail.addr, flaky.srv.URL+"/flaky", rejecting.srv.URL+"/rejecting")
		receivers := func() int {
			var rs []map[string]any
			v.GetJSON("/alertmanager/api/v2/receivers", &rs)
			return len(rs)
		}
		// An undefined receiver: rejected with its line, nothing changes.
		v.WriteConfig(strings.Replace(cfg, "receiver: slack}", "receiver: nope}", 1))
		code, _, body := v.Post("/-/reload", "", nil)
		if code != 400 || !strings.Contains(string(body), `undefined receiver \"nope\"`) || !regexp.MustCompile(`vigil.yaml:1[0-9]`).Match(body) {
			t.Fatalf("bad reload: %d %s", code, body)
		}
		if n := receivers(); n != 6 {
			t.Fatalf("receivers after a failed reload: %d", n)
		}
		// A broken rule file: rejected, rules unchanged.
		os.WriteFile(rulesFile, []byte(alertRules+"      - alert: Broken\n        expr: up ==\n"), 0o644)
		v.WriteConfig(cfg)
		if code, _, body := v.Post("/-/reload", "", nil); code != 400 || !strings.Contains(string(body), "rules.yml") {
			t.Fatalf("reload with a broken rule file: %d %s", code, body)
		}
		os.WriteFile(rulesFile, []byte(alertRules), 0o644)
		// A valid change applies.
		v.WriteConfig(cfg + "    - name: extra\n      webhook_configs: [{url: " + hook.srv.URL + "/extra}]\n")
		if code, _, body := v.Post("/-/reload", "", nil); code != 200 {
			t.Fatalf("good reload: %d %s", code, body)
		}
		if n := receivers(); n != 7 {
			t.Fatalf("receivers after reload: %d, want 7", n)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for path, want := range map[string]int{
			"/vigil/api/v1/alerts/zz/history":              400,
			"/vigil/api/v1/notifications?status=weird":     400,
			"/vigil/api/v1/alerts/history?start=yesterday": 400,
		} {
			if code, body := v.Get(path); code != want {
				t.Errorf("GET %s: %d %s, want %d", path, code, body, want)
			}
		}
		code, _, body := v.Post("/alertmanager/api/v2/silences", "application/json", []byte(`{"matchers":[]}`))
		if (code != 400 && code != 422) || !strings.Contains(string(body), "required") {
			t.Errorf("bad silence: %d %s, want 400 or 422 (as Alertmanager) naming the missing field", code, body)
		}
	})
}
