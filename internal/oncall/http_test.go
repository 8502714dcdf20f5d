package oncall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/vigilhq/vigil/internal/oncall/spec"
)

func (e *env) server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, r := range e.o.Routes() {
		mux.Handle(r.MuxPattern(), r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Every bad request gets a 4xx naming the problem and changes nothing.
func TestAPIErrors(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t)
	f := func(method, path, body string, code int, want string) {
		t.Helper()
		got, b := call(t, srv, method, path, body)
		if got != code || !strings.Contains(b, want) {
			t.Errorf("%s %s %s: %d %s; want %d ...%s...", method, path, body, got, b, code, want)
		}
	}
	const p = "/vigil/api/v1/oncall"
	f("POST", p+"/users", `{"name":"dave","colour":"blue"}`, 400, `unknown field \"colour\"`)
	f("POST", p+"/users", `{"name":"dave"`, 400, "invalid JSON body")
	f("POST", p+"/users", ``, 400, "empty body")
	f("POST", p+"/users", `{"name":"alice"}`, 409, "config file")
	f("POST", p+"/users", `{"name":"bad name"}`, 400, "use letters")
	f("POST", p+"/users", `{"name":"dave","time_zone":"Mars/Olympus"}`, 400, "unknown time zone")
	f("POST", p+"/users", `{"name":"dave","contact_methods":[{"type":"fax"}]}`, 400, "unknown contact method")
	f("PUT", p+"/users/nobody", `{"name":"nobody"}`, 404, "not found")
	f("PUT", p+"/users/alice", `{"name":"bob"}`, 400, "renaming")
	f("DELETE", p+"/users/alice", ``, 409, "config file")
	f("DELETE", p+"/users/nobody", ``, 404, "not found")
	f("GET", p+"/users/nobody", ``, 404, "not found")
	f("POST", p+"/schedules", `{"name":"night","time_zone":"UTC","layers":[{"start":"2026-01-01","shift":"1d","users":["zed"]}]}`, 400, `unknown user \"zed\"`)
	f("POST", p+"/schedules", `{"name":"night","time_zone":"UTC","layers":[{"start":"2026-01-01","shift":"soon","users":["bob"]}]}`, 400, `invalid schedule: layers.0.shift: invalid shift length`)
	f("POST", p+"/schedules", `{"name":"night","time_zone":"UTC","layers":[{"start":"2026-01-01","shift":"1d","users":["bob"]}],"overrides":[{"user":"bob","start":"2026-01-01","end":"2026-01-02"}]}`, 400, "overrides are added through")
	f("POST", p+"/escalation_policies", `{"name":"p","steps":[{"targets":[{"schedule":"ghost"}]}]}`, 400, `unknown schedule \"ghost\"`)
	f("POST", p+"/escalation_policies", `{"name":"p","steps":[]}`, 400, "at least one step")
	f("POST", p+"/teams", `{"name":"t1","teams":["t1"]}`, 400, "cycle")
	f("GET", p+"/schedules/ghost/oncall", ``, 404, "not found")
	f("GET", p+"/schedules/primary/oncall?at=yesterday", ``, 400, "invalid at")
	f("GET", p+"/schedules/primary/shifts?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", ``, 400, "is not after start")
	f("GET", p+"/schedules/primary/shifts?start=2026-01-01T00:00:00Z&end=2028-01-01T00:00:00Z", ``, 400, "longer than the maximum")
	f("GET", p+"/schedules/primary/shifts?layer=1", ``, 400, `invalid layer \"1\": schedule \"primary\" has layers 0 to 0`)
	f("GET", p+"/schedules/primary/shifts?layer=top", ``, 400, "invalid layer")
	f("POST", p+"/schedules/primary/overrides", `{"user":"zed","start":"2026-03-11T00:00","end":"2026-03-12T00:00"}`, 400, `unknown user \"zed\"`)
	f("POST", p+"/schedules/primary/overrides", `{"user":"bob","start":"2026-03-12T00:00","end":"2026-03-11T00:00"}`, 400, "is not after start")
	f("POST", p+"/schedules/primary/overrides", `{"user":"bob","start":"tomorrow","end":"2026-03-11T00:00"}`, 400, "invalid time")
	f("DELETE", p+"/schedules/primary/overrides/999", ``, 404, "not found")
	f("GET", p+"/incidents?state=on_fire", ``, 400, "invalid state")
	f("GET", p+"/incidents?limit=0", ``, 400, "invalid limit")
	f("GET", p+"/incidents?since=noon", ``, 400, "invalid since")
	f("GET", p+"/incidents/abc", ``, 400, "invalid incident id")
	f("GET", p+"/incidents/12345", ``, 404, "not found")
	f("POST", p+"/incidents", `{"title":""}`, 400, "needs a title")
	f("POST", p+"/incidents", `{"title":"x"}`, 400, "escalation_policy or an assignee")
	f("POST", p+"/incidents", `{"title":"x","escalation_policy":"ghost"}`, 400, "unknown escalation policy")
	f("POST", p+"/incidents", `{"title":"x","escalation_policy":"default","severity":"meh"}`, 400, "severity")
	f("POST", p+"/incidents/12345/acknowledge", ``, 404, "not found")
	f("GET", p+"/report?start=x", ``, 400, "invalid start")
	f("POST", p+"/links/forged.token", ``, 403, "signature does not match")
	f("GET", p+"/links/nodot", ``, 403, "signature does not match")
	f("POST", p+"/slack/actions", `payload={}`, 401, "signing_secret is not configured")

	// A manual incident, then actions on it.
	code, b := call(t, srv, "POST", p+"/incidents", `{"title":"disk full","escalation_policy":"default","severity":"warning","user":"carol"}`)
	if code != 201 {
		t.Fatalf("open: %d %s", code, b)
	}
	var env struct {
		Data Incident `json:"data"`
	}
	_ = json.Unmarshal([]byte(b), &env)
	id := env.Data.ID
	ip := fmt.Sprintf("%s/incidents/%d", p, id)
	f("POST", ip+"/snooze", `{"duration":"1h"}`, 409, "only an acknowledged incident")
	f("POST", ip+"/reassign", `{}`, 400, "needs an assignee")
	f("POST", ip+"/notes", `{"text":""}`, 400, "needs text")
	f("POST", ip+"/acknowledge", `{"user":"bob"}`, 200, `"acknowledged_by":"bob"`)
	f("POST", ip+"/snooze", `{"duration":"forever"}`, 400, "invalid duration")
	f("POST", ip+"/snooze", `{"duration":"10s"}`, 400, "between 1m and 7d")
	f("POST", ip+"/notes", `{"text":"looking","user":"bob"}`, 200, `"kind":"note"`)
	f("POST", ip+"/resolve", `{"user":"bob"}`, 200, `"state":"resolved"`)
	f("POST", ip+"/acknowledge", ``, 409, "is resolved")
	f("POST", ip+"/reassign", `{"assignee":"alice"}`, 409, "is resolved")
	f("GET", p+"/incidents?state=resolved", ``, 200, `"disk full"`)
	f("GET", p+"/incidents?state=open", ``, 200, `"data":[]`)
	f("GET", p+"/report", ``, 200, `"incidents":1`)
	f("GET", p+"/now", ``, 200, `"schedule":"primary"`)
}

func TestEventsEndpoint(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t)
	const path = "/vigil/api/v1/events/v2/enqueue"
	code, b := call(t, srv, "POST", path, `{"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger","dedup_key":"k","payload":{"summary":"s","source":"x","severity":"critical"}}`)
	if code != 202 || !strings.Contains(b, `"status":"success"`) || !strings.Contains(b, `"dedup_key":"k"`) {
		t.Fatalf("%d %s", code, b)
	}
	code, b = call(t, srv, "POST", path, `{"event_action":"trigger"}`)
	if code != 400 || !strings.Contains(b, `"status":"invalid event"`) || !strings.Contains(b, "routing_key") {
		t.Fatalf("%d %s", code, b)
	}
	code, _ = call(t, srv, "POST", path, `{"routing_key":"x","event_action":"trigger","payload":{"summary":"`+strings.Repeat("a", MaxEventBytes)+`"}}`)
	if code != 413 {
		t.Fatalf("oversized event: %d", code)
	}
}

func TestSlackEndpoint(t *testing.T) {
	e := newEnv(t)
	e.cfg.Slack.SigningSecret = "s3cret"
	e.cfg.Objects.Users[1].ContactMethods = append(e.cfg.Objects.Users[1].ContactMethods, spec2SlackUser("U42"))
	if err := e.o.ApplyConfig(t.Context(), e.cfg); err != nil {
		t.Fatal(err)
	}
	in, err := e.o.OpenManual(t.Context(), Manual{Title: "x", Policy: "default"}, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := e.server(t)
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":"U42","username":"bobby"},"actions":[{"action_id":"vigil_acknowledge","value":"%d"}]}`, in.ID)
	body := "payload=" + url.QueryEscape(payload)
	ts := fmt.Sprint(e.clock.Now().Unix())
	code, b := call(t, srv, "POST", "/vigil/api/v1/oncall/slack/actions", body, "X-Slack-Request-Timestamp", ts, "X-Slack-Signature", slackSig("wrong", ts, []byte(body)))
	if code != 401 || e.get(t, in.ID).State != Triggered {
		t.Fatalf("forged Slack request: %d %s", code, b)
	}
	code, b = call(t, srv, "POST", "/vigil/api/v1/oncall/slack/actions", body, "X-Slack-Request-Timestamp", ts, "X-Slack-Signature", slackSig("s3cret", ts, []byte(body)))
	if code != 200 || !strings.Contains(b, "acknowledged by bob") {
		t.Fatalf("signed Slack request: %d %s", code, b)
	}
	if got := e.get(t, in.ID); got.State != Acknowledged || got.AckedBy != "bob" {
		t.Fatalf("%s by %s", got.State, got.AckedBy)
	}
	// The Slack message's buttons carry the incident and no URL when
	// interactive.
	n := e.o.render(in, nil, e.o.catalog().users["bob"], e.clock.Now())
	msg, _ := json.Marshal(e.o.slackMessage(&n))
	if !bytes.Contains(msg, []byte(`"action_id":"vigil_acknowledge"`)) || bytes.Contains(msg, []byte(`"url"`)) {
		t.Fatalf("slack message: %s", msg)
	}
}

func TestICSEndpoint(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t)
	code, b := call(t, srv, "GET", "/vigil/api/v1/oncall/schedules/primary/calendar.ics?start=2026-03-01T00:00:00Z&end=2026-04-01T00:00:00Z", "")
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	cal, err := goical.NewDecoder(strings.NewReader(b)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	shifts := e.o.catalog().schedules["primary"].Shifts(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	if len(cal.Events()) != len(shifts) || len(shifts) < 4 {
		t.Fatalf("%d events, %d shifts", len(cal.Events()), len(shifts))
	}
	for i, ev := range cal.Events() {
		st, _ := ev.DateTimeStart(time.UTC)
		if !st.Equal(shifts[i].Start) {
			t.Errorf("event %d starts %s, shift %s", i, st, shifts[i].Start)
		}
	}
}

// The shifts endpoint answers the final schedule, overrides on top, and
// with ?layer= one layer's own rotation under them.
func TestShiftsEndpoint(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t)
	const p = "/vigil/api/v1/oncall/schedules/primary"
	if code, b := call(t, srv, "POST", p+"/overrides", `{"user":"carol","start":"2026-03-11T00:00","end":"2026-03-12T00:00"}`, ""); code != 201 {
		t.Fatalf("override: %d %s", code, b)
	}
	get := func(q string) []struct {
		User       string
		Start, End time.Time
		Layer      int
	} {
		t.Helper()
		code, b := call(t, srv, "GET", p+"/shifts?start=2026-03-09T08:00:00Z&end=2026-03-16T08:00:00Z"+q, "")
		if code != 200 {
			t.Fatalf("shifts%s: %d %s", q, code, b)
		}
		var env struct {
			Data []struct {
				User       string
				Start, End time.Time
				Layer      int
			}
		}
		if err := json.Unmarshal([]byte(b), &env); err != nil {
			t.Fatal(err)
		}
		return env.Data
	}
	final, layer := get(""), get("&layer=0")
	// Weekly rotation handing off Mondays 09:00 Berlin (08:00 UTC): the
	// week of 9 March is bob's (alice's from 5 January), carol's override
	// on 11 March (Berlin) cuts it in three.
	if len(layer) != 1 || layer[0].User != "bob" || layer[0].Layer != 0 {
		t.Fatalf("layer 0: %+v", layer)
	}
	var users []string
	for _, s := range final {
		users = append(users, fmt.Sprintf("%s/%d", s.User, s.Layer))
	}
	if got := strings.Join(users, " "); got != "bob/0 carol/-1 bob/0" {
		t.Fatalf("final: %s", got)
	}
	if want := time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC); !final[1].Start.Equal(want) {
		t.Fatalf("override starts %s, want %s", final[1].Start, want)
	}
}

func spec2SlackUser(id string) spec.ContactMethod {
	return spec.ContactMethod{Type: spec.Slack, SlackUser: id}
}

// A caller without the write scope reads users with their contact methods'
// secrets replaced by "<secret>"; one with it reads them whole, so an
// edit (GET, change, PUT) keeps them.
func TestContactSecretsHiddenFromReaders(t *testing.T) {
	e := newEnv(t)
	e.o.opts.SeesSecrets = func(r *http.Request) bool { return r.Header.Get("X-Test-Writer") == "1" }
	srv := e.server(t)
	const p = "/vigil/api/v1/oncall/users"
	body := `{"name":"dave","email":"dave@example.com","contact_methods":[
		{"type":"email","address":"dave@example.com"},
		{"type":"pagerduty","routing_key":"0123456789abcdef0123456789abcdef"},
		{"type":"alertmanager","config":{"slack_configs":[{"api_url":"https://hooks.slack.com/services/T/B/SECRET","channel":"#ops","http_config":{"authorization":{"credentials":"tok"}}}]}}]}`
	if code, b := call(t, srv, "POST", p, body, "X-Test-Writer", "1"); code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	for _, path := range []string{p, p + "/dave", p + "/alice"} {
		_, b := call(t, srv, "GET", path, "")
		for _, secret := range []string{"SECRET", "0123456789abcdef", `"credentials":"tok"`, e.hook.srv.URL} {
			if strings.Contains(b, secret) {
				t.Errorf("reader GET %s shows %q: %s", path, secret, b)
			}
		}
		if path != p+"/alice" && (!strings.Contains(b, "dave@example.com") || !strings.Contains(b, "#ops") || !strings.Contains(b, `"\u003csecret\u003e"`)) {
			t.Errorf("reader GET %s: want the address and channel kept, secrets as <secret>: %s", path, b)
		}
	}
	_, b := call(t, srv, "GET", p+"/dave", "", "X-Test-Writer", "1")
	for _, secret := range []string{"hooks.slack.com/services/T/B/SECRET", "0123456789abcdef0123456789abcdef", `"credentials":"tok"`} {
		if !strings.Contains(b, secret) {
			t.Errorf("writer GET misses %q: %s", secret, b)
		}
	}
}
