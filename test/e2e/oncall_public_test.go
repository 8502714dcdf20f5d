package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const publicKey = "abcdefabcdefabcdefabcdefabcdef01"

func onCallPublicConfig(hook, target string) string {
	return fmt.Sprintf(`oncall:
  events_v2:
    - {routing_key: %s, escalation_policy: web, public: true}
  users:
    - name: alice
      contact_methods:
        - type: alertmanager
          config:
            webhook_configs: [{url: %q}]
  escalation_policies:
    - name: web
      steps: [{targets: [{user: alice}], delay: 1h}]
probes:
  interval: 1s
  targets:
    - {name: web, target: %q}
  status_page:
    title: Public incidents test
    groups: [{name: Web, probes: [web]}]
`, publicKey, hook+"/am", target)
}

type publicIncident struct {
	ID, Title, Status, Impact string
	Resolved                  *time.Time
	Updates                   []struct{ Status, Message string }
}

func statusIncidents(t *testing.T, v *Vigil) (open, past []publicIncident, raw string) {
	t.Helper()
	code, b := v.Get("/status/api/v1/summary")
	if code != 200 {
		t.Fatalf("/status/api/v1/summary: %d %s", code, b)
	}
	var s struct {
		Data struct {
			Incidents     []publicIncident `json:"incidents"`
			PastIncidents []publicIncident `json:"past_incidents"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary: %v %s", err, b)
	}
	return s.Data.Incidents, s.Data.PastIncidents, string(b)
}

// TestOnCallPublicIncidents: pages go out through an Alertmanager
// integration (a contact method of type alertmanager); an incident
// published through the CLI and
// its public update appear on /status, in /status/api/v1/summary and in
// the Atom feed under the public title; an internal incident does not;
// a public routing key publishes its incidents as they open; resolving
// adds the resolved update and moves the incident to the past incidents.
func TestOnCallPublicIncidents(t *testing.T) {
	hook := newALSink(t)
	target := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }), nil)
	v := StartVigil(t, StartOptions{Config: onCallPublicConfig(hook.srv.URL, target)})

	open := func(title string) int64 {
		t.Helper()
		code, _, b := v.Post("/vigil/api/v1/oncall/incidents", "application/json", []byte(fmt.Sprintf(`{"title":%q,"escalation_policy":"web","user":"alice"}`, title)))
		var env struct{ Data ocIncident }
		if code != 201 || json.Unmarshal(b, &env) != nil {
			t.Fatalf("open %q: %d %s", title, code, b)
		}
		return env.Data.ID
	}
	internal := open("db-7 disk 91% full on rack 4")
	pub := open("checkout-api 500s from pod checkout-7f9c")

	cli := func(args ...string) string {
		t.Helper()
		argv := []string{"incidents", args[0], "--url", "http://" + v.HTTP, "--user", "alice"}
		out, err := exec.Command(vigilBin, append(argv, args[1:]...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("vigil incidents %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := cli("publish", "--title", "Checkout errors", "--impact", "major", fmt.Sprint(pub), "We are investigating failed checkouts."); !strings.Contains(out, "on the status page") {
		t.Fatalf("publish: %s", out)
	}
	cli("update", "--status", "identified", fmt.Sprint(pub), "A bad deploy; rolling back.")

	// An Events API v2 trigger with the public routing key: public at once.
	code, _, b := v.Post("/vigil/api/v1/events/v2/enqueue", "application/json", []byte(`{"routing_key":"`+publicKey+`","event_action":"trigger","dedup_key":"search-1","payload":{"summary":"Search is slow","source":"search","severity":"warning"}}`))
	if code != 202 {
		t.Fatalf("events v2: %d %s", code, b)
	}

	var raw string
	Eventually(t, 20*time.Second, func() error {
		var openList []publicIncident
		openList, _, raw = statusIncidents(t, v)
		titles := map[string]publicIncident{}
		for _, in := range openList {
			titles[in.Title] = in
		}
		c, ok := titles["Checkout errors"]
		if !ok || c.Status != "identified" || c.Impact != "major" || len(c.Updates) != 2 || c.Updates[1].Message != "A bad deploy; rolling back." {
			return fmt.Errorf("checkout incident on the page: %+v", openList)
		}
		if s, ok := titles["Search is slow"]; !ok || s.Status != "investigating" {
			return fmt.Errorf("events v2 incident not public: %+v", openList)
		}
		return nil
	})
	for _, secret := range []string{"db-7", "checkout-7f9c", "alice"} {
		if strings.Contains(raw, secret) {
			t.Fatalf("the public summary shows %q (internal title or author):\n%s", secret, raw)
		}
	}
	code, page := v.Get("/status")
	if code != 200 || !strings.Contains(string(page), "Checkout errors") || !strings.Contains(string(page), "A bad deploy; rolling back.") || strings.Contains(string(page), "db-7") {
		t.Fatalf("/status: %d\n%s", code, page)
	}
	_, feed := v.Get("/status/feed.atom")
	if !strings.Contains(string(feed), "Checkout errors: Identified") || strings.Contains(string(feed), "db-7") {
		t.Fatalf("feed:\n%s", feed)
	}
	// The internal incident's timeline is untouched; the public one records
	// who published and updated it.
	if k := ocIncidentByID(t, v, internal).kinds(); strings.Contains(k, "publish") {
		t.Fatalf("internal incident timeline: %s", k)
	}
	if k := ocIncidentByID(t, v, pub).kinds(); !strings.Contains(k, "published public_update public_update") {
		t.Fatalf("public incident timeline: %s", k)
	}

	// alice's contact method is an Alertmanager webhook integration: each
	// page arrives as Alertmanager's webhook message, through the outbox.
	Eventually(t, 20*time.Second, func() error {
		for _, m := range hook.all() {
			if m["_path"] == "/am" && m["version"] == "4" && m["receiver"] == "alice" {
				return nil
			}
		}
		return fmt.Errorf("no Alertmanager webhook message: %v", hook.all())
	})
	if k := ocIncidentByID(t, v, pub).kinds(); !strings.Contains(k, "delivered") {
		t.Fatalf("the integration's delivery is not on the timeline: %s", k)
	}

	// Resolving adds the resolved update; the incident moves to the past.
	if code, _, b := v.Post(fmt.Sprintf("/vigil/api/v1/oncall/incidents/%d/resolve", pub), "application/json", []byte(`{"user":"alice"}`)); code != 200 {
		t.Fatalf("resolve: %d %s", code, b)
	}
	Eventually(t, 20*time.Second, func() error {
		openList, past, _ := statusIncidents(t, v)
		for _, in := range openList {
			if in.Title == "Checkout errors" {
				return fmt.Errorf("still open on the page")
			}
		}
		if len(past) != 1 || past[0].Title != "Checkout errors" || past[0].Resolved == nil || past[0].Updates[len(past[0].Updates)-1].Status != "resolved" {
			return fmt.Errorf("past incidents: %+v", past)
		}
		return nil
	})
}
