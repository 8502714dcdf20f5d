package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const onCallRules = `groups:
  - name: oncall
    interval: 1s
    rules:
      - alert: CheckoutDown
        expr: checkout_up == 0
        labels: {severity: critical}
        annotations: {summary: "checkout is down on {{ $labels.instance }}"}
`

func onCallConfig(rules, hook, pd, smtpAddr string) string {
	return fmt.Sprintf(`rule_files: [%q]
alerting:
  route:
    receiver: pager
    group_by: [alertname]
    group_wait: 1s
    group_interval: 1s
    repeat_interval: 1h
  receivers:
    - name: pager
oncall:
  smtp: {smarthost: %q, from: vigil@example.com, require_tls: false}
  receivers:
    - {name: pager, escalation_policy: checkout, team: shop}
  events_v2:
    - {routing_key: 0123456789abcdef0123456789abcdef, escalation_policy: checkout, team: shop}
  mirrors:
    - {type: pagerduty, routing_key: fedcba9876543210fedcba9876543210, url: %q}
  users:
    - name: alice
      email: alice@example.com
      contact_methods:
        - {type: email, address: alice@example.com}
        - {type: webhook, url: %q}
    - name: bob
      contact_methods: [{type: webhook, url: %q}]
    - name: carol
      contact_methods: [{type: webhook, url: %q}]
  teams:
    - {name: shop, members: [alice, bob, carol]}
  schedules:
    - name: primary
      time_zone: Europe/Berlin
      layers:
        - {start: "2026-01-05T09:00", shift: 1w, users: [alice]}
  escalation_policies:
    - name: checkout
      steps:
        - {targets: [{schedule: primary}], delay: 8s}
        - {targets: [{user: bob}], delay: 8s}
        - {targets: [{user: carol}], delay: 8s}
`, rules, smtpAddr, pd, hook+"/alice", hook+"/bob", hook+"/carol")
}

type ocIncident struct {
	ID         int64  `json:"id"`
	Key        string `json:"key"`
	State      string `json:"state"`
	Title      string `json:"title"`
	Severity   string `json:"severity"`
	Source     string `json:"source"`
	AckedBy    string `json:"acknowledged_by"`
	Escalation struct {
		Loop, Step int
	} `json:"escalation"`
	Timeline []struct {
		Kind, User, Channel, Detail string
	} `json:"timeline"`
}

func ocIncidents(t *testing.T, v *Vigil, query string) []ocIncident {
	t.Helper()
	var env struct {
		Data []ocIncident `json:"data"`
	}
	v.GetJSON("/vigil/api/v1/oncall/incidents?"+query, &env)
	return env.Data
}

func ocIncidentByID(t *testing.T, v *Vigil, id int64) ocIncident {
	t.Helper()
	var env struct {
		Data ocIncident `json:"data"`
	}
	v.GetJSON(fmt.Sprintf("/vigil/api/v1/oncall/incidents/%d", id), &env)
	return env.Data
}

func (in ocIncident) kinds() string {
	var k []string
	for _, e := range in.Timeline {
		k = append(k, e.Kind)
	}
	return strings.Join(k, " ")
}

func pathCount(s *alSink, path string) int {
	n := 0
	for _, m := range s.all() {
		if m["_path"] == path {
			n++
		}
	}
	return n
}

// TestOnCall: a rule over remote-written data fires, the alert group opens
// an incident, step 1 pages the schedule's on-call user (webhook and email),
// Vigil is killed with SIGKILL, step 2 pages the next user once after the
// restart, the signed link from the email acknowledges, no further step
// runs, the alert resolves and so does the incident; PagerDuty is mirrored,
// and the Events API v2 endpoint opens and closes incidents.
func TestOnCall(t *testing.T) {
	hook, pd := newALSink(t), newALSink(t)
	mail := newSMTPSink(t)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(onCallRules), 0o644); err != nil {
		t.Fatal(err)
	}
	v := StartVigil(t, StartOptions{Config: onCallConfig(rules, hook.srv.URL, pd.srv.URL+"/v2/enqueue", mail.addr)})

	writeNow(t, v, "checkout_up", 0, "instance", "shop-1")
	var in ocIncident
	Eventually(t, 30*time.Second, func() error {
		list := ocIncidents(t, v, "state=triggered")
		if len(list) != 1 {
			return fmt.Errorf("%d triggered incidents", len(list))
		}
		in = list[0]
		return nil
	})
	if in.Source != "alertmanager" || in.Severity != "critical" || !strings.Contains(in.Title, "CheckoutDown") {
		t.Fatalf("incident: %+v", in)
	}

	// Step 1: the schedule's on-call user, alice, by webhook and email.
	Eventually(t, 20*time.Second, func() error {
		if pathCount(hook, "/alice") == 0 || len(mail.messages()) == 0 {
			return fmt.Errorf("alice: %d webhooks, %d mails", pathCount(hook, "/alice"), len(mail.messages()))
		}
		return nil
	})
	step1 := time.Now()
	if pathCount(hook, "/bob") != 0 {
		t.Fatal("bob paged with step 1")
	}
	email := mail.messages()[0]
	if !strings.Contains(email, "alice@example.com") || !strings.Contains(email, "checkout is down on shop-1") || !strings.Contains(email, "/vigil/api/v1/alerts/") {
		t.Fatalf("email lacks recipient, summary or alert history link:\n%s", email)
	}
	ack := regexp.MustCompile(`Acknowledge: (\S+)`).FindStringSubmatch(email)
	if ack == nil {
		t.Fatalf("no acknowledge link in the email:\n%s", email)
	}

	// kill -9 between step 1 and step 2 (due 8s after step 1).
	v.Kill()
	if time.Since(step1) > 6*time.Second {
		t.Fatalf("step 1 observed too late to kill before step 2")
	}
	v.Restart()
	Eventually(t, 30*time.Second, func() error {
		if pathCount(hook, "/bob") == 0 {
			return fmt.Errorf("bob not paged after the restart")
		}
		return nil
	})

	// Acknowledge with the signed link from the email: GET shows a page,
	// POST acknowledges.
	// The link names web.external_url (localhost); reach the same port.
	link := regexp.MustCompile(`^http://[^/]+`).ReplaceAllString(ack[1], "http://"+v.HTTP)
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || ocIncidentByID(t, v, in.ID).State != "triggered" {
		t.Fatalf("GET link: %d, state %s", resp.StatusCode, ocIncidentByID(t, v, in.ID).State)
	}
	resp, err = http.Post(link, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST link: %d", resp.StatusCode)
	}
	got := ocIncidentByID(t, v, in.ID)
	if got.State != "acknowledged" || got.AckedBy != "alice" {
		t.Fatalf("after the link: %s by %q", got.State, got.AckedBy)
	}
	if resp, _ := http.Post(link, "application/x-www-form-urlencoded", nil); resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("second use of the link: %v", resp)
	}
	forged := link[:len(link)-3] + "AAA"
	if resp, _ := http.Post(forged, "application/x-www-form-urlencoded", nil); resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged link: %v", resp)
	}

	// No further steps: none pending, and carol is not paged after her
	// step's due time.
	Eventually(t, 10*time.Second, func() error {
		_, b := v.Get("/metrics")
		if !strings.Contains(string(b), "vigil_oncall_steps_pending 0") {
			return fmt.Errorf("steps still pending")
		}
		return nil
	})
	carolDue := step1.Add(16 * time.Second)
	Eventually(t, 20*time.Second, func() error {
		if time.Now().Before(carolDue.Add(2 * time.Second)) {
			return fmt.Errorf("waiting for step 3's due time")
		}
		return nil
	})
	if n := pathCount(hook, "/carol"); n != 0 {
		t.Fatalf("carol paged %d times after the acknowledgement", n)
	}
	if n := pathCount(hook, "/bob"); n != 1 {
		t.Fatalf("step 2 paged bob %d times, want once", n)
	}
	if n := pathCount(hook, "/alice"); n < 1 || n > 2 {
		t.Fatalf("alice's webhook delivered %d times (at least once, repeated at most once)", n)
	}

	// The alert resolves; the incident resolves.
	writeNow(t, v, "checkout_up", 1, "instance", "shop-1")
	Eventually(t, 60*time.Second, func() error {
		if x := ocIncidentByID(t, v, in.ID); x.State != "resolved" {
			return fmt.Errorf("incident %s; timeline %s; log:\n%s", x.State, x.kinds(), grepLines(v.Logs(), "level=ERROR"))
		}
		return nil
	})
	got = ocIncidentByID(t, v, in.ID)
	for _, want := range []string{"triggered", "alert_joined", "escalated", "notify", "delivered", "acknowledged", "alert_resolved", "resolved", "mirror"} {
		if !strings.Contains(" "+got.kinds()+" ", " "+want+" ") {
			t.Errorf("timeline lacks %s: %s", want, got.kinds())
		}
	}
	if strings.Count(got.kinds(), "escalated") != 2 {
		t.Errorf("timeline has %d escalations, want 2: %s", strings.Count(got.kinds(), "escalated"), got.kinds())
	}

	// PagerDuty mirror: trigger, acknowledge, resolve with one dedup_key.
	Eventually(t, 20*time.Second, func() error {
		var acts []string
		for _, m := range pd.all() {
			if m["dedup_key"] == fmt.Sprintf("vigil-incident-%d", in.ID) {
				acts = append(acts, m["event_action"].(string))
			}
		}
		if strings.Join(acts, ",") != "trigger,acknowledge,resolve" {
			return fmt.Errorf("pagerduty got %v", acts)
		}
		return nil
	})

	t.Run("events v2 inbound", func(t *testing.T) {
		send := func(body string) (int, map[string]any) {
			t.Helper()
			code, _, b := v.Post("/vigil/api/v1/events/v2/enqueue", "application/json", []byte(body))
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			return code, m
		}
		const rk = `"routing_key":"0123456789abcdef0123456789abcdef"`
		trig := `{` + rk + `,"event_action":"trigger","dedup_key":"db-7","payload":{"summary":"db-7 replication lag","source":"db-7","severity":"warning"}}`
		code, m := send(trig)
		if code != 202 || m["status"] != "success" || m["dedup_key"] != "db-7" || m["message"] != "Event processed" {
			t.Fatalf("trigger: %d %v", code, m)
		}
		if code, _ := send(trig); code != 202 {
			t.Fatalf("duplicate trigger: %d", code)
		}
		var ev []ocIncident
		for _, x := range ocIncidents(t, v, "") {
			if x.Source == "events_v2" {
				ev = append(ev, x)
			}
		}
		if len(ev) != 1 || ev[0].State != "triggered" || ev[0].Severity != "warning" {
			t.Fatalf("events v2 incidents after two triggers: %+v", ev)
		}
		if code, _ := send(`{` + rk + `,"event_action":"acknowledge","dedup_key":"db-7"}`); code != 202 || ocIncidentByID(t, v, ev[0].ID).State != "acknowledged" {
			t.Fatalf("acknowledge: %d", code)
		}
		if code, _ := send(`{` + rk + `,"event_action":"resolve","dedup_key":"db-7"}`); code != 202 || ocIncidentByID(t, v, ev[0].ID).State != "resolved" {
			t.Fatalf("resolve: %d", code)
		}
		code, m = send(`{` + rk + `,"event_action":"trigger","payload":{"summary":"x"}}`)
		errs, _ := m["errors"].([]any)
		if code != 400 || m["status"] != "invalid event" || len(errs) != 2 {
			t.Fatalf("bad trigger: %d %v", code, m)
		}
		if code, m := send(`{"routing_key":"unknown","event_action":"resolve","dedup_key":"x"}`); code != 400 {
			t.Fatalf("unknown routing key: %d %v", code, m)
		}
	})

	t.Run("cli", func(t *testing.T) {
		out, err := exec.Command(vigilBin, "incidents", "list", "--url", "http://"+v.HTTP, "--state", "resolved").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "CheckoutDown") || !strings.Contains(string(out), "db-7 replication lag") {
			t.Fatalf("vigil incidents list: %v\n%s", err, out)
		}
		out, err = exec.Command(vigilBin, "incidents", "note", "--url", "http://"+v.HTTP, "--user", "bob", fmt.Sprint(in.ID), "root", "cause:", "full", "disk").CombinedOutput()
		if err != nil || !strings.Contains(ocIncidentByID(t, v, in.ID).kinds(), "note") {
			t.Fatalf("vigil incidents note: %v\n%s", err, out)
		}
		out, err = exec.Command(vigilBin, "incidents", "ack", "--url", "http://"+v.HTTP, fmt.Sprint(in.ID)).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "is resolved") {
			t.Fatalf("ack of a resolved incident: %v\n%s", err, out)
		}
	})

	t.Run("schedule api", func(t *testing.T) {
		var now struct {
			Data struct{ User string } `json:"data"`
		}
		v.GetJSON("/vigil/api/v1/oncall/schedules/primary/oncall", &now)
		if now.Data.User != "alice" {
			t.Fatalf("on call now: %+v", now)
		}
		code, b := v.Get("/vigil/api/v1/oncall/schedules/primary/calendar.ics")
		if code != 200 || !strings.Contains(string(b), "BEGIN:VCALENDAR") || !strings.Contains(string(b), "On call: alice") {
			t.Fatalf("ics: %d %.300s", code, b)
		}
		code, _, b = v.Post("/vigil/api/v1/oncall/schedules", "application/json", []byte(`{"name":"night","time_zone":"Mars/Base","layers":[{"start":"2026-01-01","shift":"1d","users":["bob"]}]}`))
		if code != 400 || !strings.Contains(string(b), "unknown time zone") {
			t.Fatalf("bad schedule: %d %s", code, b)
		}
	})
}
