package oncall

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/internal/oncall/spec"
	"github.com/vigilhq/vigil/internal/state"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeOutbox keeps messages in a table of the same database, written in
// the caller's transaction as the real outbox does.
type fakeOutbox struct{ db *state.DB }

func newFakeOutbox(t *testing.T, db *state.DB) *fakeOutbox {
	t.Helper()
	if err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE IF NOT EXISTS fake_outbox (id INTEGER PRIMARY KEY, key TEXT, channel TEXT, payload TEXT, delivered INTEGER DEFAULT 0)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return &fakeOutbox{db: db}
}

func (f *fakeOutbox) Enqueue(ctx context.Context, tx *sql.Tx, m Message) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO fake_outbox (key, channel, payload) VALUES (?, ?, ?)`, m.Key, m.Channel, string(m.Payload))
	return err
}

type sent struct {
	Key, Channel string
	N            notification
}

func (f *fakeOutbox) all(t *testing.T) []sent {
	t.Helper()
	rows, err := f.db.QueryContext(context.Background(), `SELECT key, channel, payload FROM fake_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []sent
	for rows.Next() {
		var s sent
		var p string
		if err := rows.Scan(&s.Key, &s.Channel, &p); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(p), &s.N)
		out = append(out, s)
	}
	return out
}

// deliver runs the deliverers on undelivered messages.
func (f *fakeOutbox) deliver(t *testing.T, o *OnCall) {
	t.Helper()
	rows, err := f.db.QueryContext(context.Background(), `SELECT id, channel, payload FROM fake_outbox WHERE delivered = 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		id      int64
		ch, pay string
	}
	var ms []msg
	for rows.Next() {
		var m msg
		if err := rows.Scan(&m.id, &m.ch, &m.pay); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	rows.Close()
	for _, m := range ms {
		c := o.Consumers()[m.ch]
		err := c.Deliver(context.Background(), []byte(m.pay))
		if err != nil {
			t.Logf("deliver %s: %v", m.ch, err)
		}
		if c.Record != nil {
			out := Outcome{Payload: []byte(m.pay), Delivered: err == nil, Final: true, Attempts: 1, Detail: "delivered on attempt 1"}
			if err := f.db.Tx(context.Background(), func(tx *sql.Tx) error { return c.Record(context.Background(), tx, out) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.db.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE fake_outbox SET delivered = 1 WHERE id = ?`, m.id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

type env struct {
	o     *OnCall
	db    *state.DB
	clock *clock
	box   *fakeOutbox
	hook  *hookSink
	path  string
	cfg   Config
}

type hookSink struct {
	mu    sync.Mutex
	srv   *httptest.Server
	calls []map[string]any
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		if m == nil {
			m = map[string]any{}
		}
		m["_path"] = r.URL.Path
		m["_auth"] = r.Header.Get("Authorization")
		h.mu.Lock()
		h.calls = append(h.calls, m)
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) n() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.calls) }

func testObjects(hook string) spec.Objects {
	return spec.Objects{
		Users: []spec.User{
			{Name: "alice", TimeZone: "Europe/Berlin", ContactMethods: []spec.ContactMethod{{Type: spec.Webhook, URL: hook + "/alice"}}},
			{Name: "bob", ContactMethods: []spec.ContactMethod{{Type: spec.Webhook, URL: hook + "/bob"}}},
			{Name: "carol"}, // no contact method
		},
		Teams: []spec.Team{{Name: "ops", Members: []string{"alice", "bob"}}},
		Schedules: []spec.Schedule{{Name: "primary", TimeZone: "Europe/Berlin", Layers: []spec.Layer{
			{Start: "2026-01-05T09:00", Shift: "1w", Users: []string{"alice", "bob"}},
		}}},
		Policies: []spec.Policy{{Name: "default", Repeat: 1, Steps: []spec.Step{
			{Targets: []spec.Target{{Schedule: "primary"}}, Delay: "5m"},
			{Targets: []spec.Target{{User: "bob"}, {User: "carol"}}, Delay: "10m"},
		}}},
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}, path: filepath.Join(t.TempDir(), "state.db")}
	e.hook = newHookSink(t)
	e.cfg = Config{
		Objects: testObjects(e.hook.srv.URL), ExternalURL: "http://vigil.test", AutoResolve: true, ReopenWindow: time.Hour,
		Receivers: []Receiver{{Name: "pager", Policy: "default", Team: "ops"}},
		EventsV2:  []RoutingKey{{Key: "0123456789abcdef0123456789abcdef", Policy: "default", Team: "ops"}},
	}
	e.open(t)
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	db, err := state.Open(context.Background(), e.path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	e.box = newFakeOutbox(t, db)
	o, err := New(Options{DB: db, Outbox: e.box, Now: e.clock.Now, Config: e.cfg})
	if err != nil {
		t.Fatal(err)
	}
	e.o = o
	t.Cleanup(func() { db.Close() })
}

// restart drops the component without any shutdown, as kill -9 does,
// and opens a new one on the same database.
func (e *env) restart(t *testing.T) {
	t.Helper()
	e.db.Close()
	e.open(t)
}

func (e *env) run(t *testing.T) int {
	t.Helper()
	n, err := e.o.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func kinds(in *Incident) string {
	var k []string
	for _, e := range in.Timeline {
		k = append(k, e.Kind)
	}
	return strings.Join(k, " ")
}

func (e *env) get(t *testing.T, id int64) *Incident {
	t.Helper()
	in, err := e.o.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func group(status string, alerts ...string) GroupMessage {
	g := GroupMessage{Receiver: "pager", GroupKey: `{}:{alertname="HighLatency"}`, Status: status,
		GroupLabels: map[string]string{"alertname": "HighLatency"}, CommonLabels: map[string]string{"alertname": "HighLatency", "severity": "critical"}}
	for _, a := range alerts {
		st, inst, _ := strings.Cut(a, ":")
		g.Alerts = append(g.Alerts, GroupAlert{Status: st, Labels: map[string]string{"alertname": "HighLatency", "instance": inst},
			Fingerprint: "fp-" + inst, StartsAt: time.Date(2026, 3, 10, 11, 55, 0, 0, time.UTC), GeneratorURL: "http://vigil.test/graph?g0.expr=x"})
	}
	return g
}

func TestEscalationUntilAcknowledged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.o.IngestGroup(ctx, group("firing", "firing:a")); err != nil {
		t.Fatal(err)
	}
	list, _ := e.o.List(ctx, Filter{})
	if len(list) != 1 || list[0].State != Triggered || list[0].Severity != "critical" || list[0].Team != "ops" {
		t.Fatalf("incidents = %+v", list)
	}
	id := list[0].ID
	// Step 1 at once: the schedule's on-call person (2026-03-10 is in
	// week 9 from 2026-01-05: bob... week index 9 -> users[1]).
	if n := e.run(t); n != 1 {
		t.Fatalf("ran %d steps, want 1", n)
	}
	who, _ := e.o.OnCallAt("primary", e.clock.Now())
	msgs := e.box.all(t)
	if len(msgs) != 1 || msgs[0].N.User != who || msgs[0].Channel != ChannelWebhook {
		t.Fatalf("step 1 sent %+v, want one webhook to %s", msgs, who)
	}
	if !strings.Contains(msgs[0].N.Text, "HighLatency") || !strings.Contains(msgs[0].N.AckURL, "/vigil/api/v1/oncall/links/") || !strings.Contains(msgs[0].N.Text, "/vigil/api/v1/alerts/fp-a/history") {
		t.Fatalf("notification text lacks alert, links: %s", msgs[0].N.Text)
	}
	// Nothing before the delay.
	e.clock.Add(4 * time.Minute)
	if n := e.run(t); n != 0 {
		t.Fatalf("ran %d steps before the delay", n)
	}
	// A crash here: the next step is a row, it survives.
	e.restart(t)
	e.clock.Add(time.Minute)
	if n := e.run(t); n != 1 {
		t.Fatalf("after restart ran %d steps, want step 2", n)
	}
	if n := e.run(t); n != 0 {
		t.Fatalf("step 2 ran twice")
	}
	msgs = e.box.all(t)
	if len(msgs) != 2 || msgs[1].N.User != "bob" {
		t.Fatalf("step 2 sent %+v", msgs)
	}
	in := e.get(t, id)
	if !strings.Contains(kinds(in), "unreachable") {
		t.Fatalf("carol without contact methods not on the timeline: %s", kinds(in))
	}
	// Acknowledge through bob's link: escalation stops.
	tok := strings.TrimPrefix(msgs[1].N.AckURL, "http://vigil.test/vigil/api/v1/oncall/links/")
	if _, _, err := e.o.useLink(ctx, tok); err != nil {
		t.Fatal(err)
	}
	in = e.get(t, id)
	if in.State != Acknowledged || in.AckedBy != "bob" || in.AckedAt == nil {
		t.Fatalf("after ack: %s by %q", in.State, in.AckedBy)
	}
	e.clock.Add(time.Hour)
	if n := e.run(t); n != 0 {
		t.Fatalf("%d steps ran after the acknowledgement", n)
	}
	if _, _, err := e.o.useLink(ctx, tok); err != ErrLinkUsed {
		t.Fatalf("second use: %v, want ErrLinkUsed", err)
	}
	// Alerts resolve: the incident resolves.
	if err := e.o.IngestGroup(ctx, group("resolved", "resolved:a")); err != nil {
		t.Fatal(err)
	}
	in = e.get(t, id)
	if in.State != Resolved || in.ResolvedBy != "alertmanager" {
		t.Fatalf("after alerts resolved: %s", in.State)
	}
	want := "triggered alert_joined escalated notify escalated notify unreachable acknowledged alert_resolved resolved"
	if got := kinds(in); got != want {
		t.Fatalf("timeline:\n%s\nwant\n%s", got, want)
	}
	// Webhook delivery is recorded on the timeline.
	e.box.deliver(t, e.o)
	if e.hook.n() != 2 || !strings.Contains(kinds(e.get(t, id)), "delivered") {
		t.Fatalf("webhooks %d, timeline %s", e.hook.n(), kinds(e.get(t, id)))
	}
	// The group fires again within the reopen window: same incident.
	e.clock.Add(10 * time.Minute)
	if err := e.o.IngestGroup(ctx, group("firing", "firing:a")); err != nil {
		t.Fatal(err)
	}
	list, _ = e.o.List(ctx, Filter{})
	if len(list) != 1 || list[0].State != Triggered {
		t.Fatalf("reopen: %+v", list)
	}
	if !strings.Contains(kinds(e.get(t, id)), "reopened") {
		t.Fatalf("no reopen on the timeline")
	}
	// Resolved and fired again after the window: a new incident.
	if _, err := e.o.Resolve(ctx, id, "alice"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour)
	if err := e.o.IngestGroup(ctx, group("firing", "firing:b")); err != nil {
		t.Fatal(err)
	}
	list, _ = e.o.List(ctx, Filter{})
	if len(list) != 2 || list[0].ID == id {
		t.Fatalf("after window: %d incidents", len(list))
	}
}

func TestPolicyExhausted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in, err := e.o.OpenManual(ctx, Manual{Title: "disk full", Policy: "default"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// 2 steps x 2 passes, then the end.
	for i := 0; i < 4; i++ {
		if n := e.run(t); n != 1 {
			t.Fatalf("pass %d: %d steps", i, n)
		}
		e.clock.Add(10 * time.Minute)
	}
	if n := e.run(t); n != 1 {
		t.Fatalf("end step: %d", n)
	}
	got := e.get(t, in.ID)
	if !strings.HasSuffix(kinds(got), "exhausted") || got.Escalation.Loop != 1 || got.Escalation.Step != 1 {
		t.Fatalf("timeline %s, escalation %+v", kinds(got), got.Escalation)
	}
	e.clock.Add(time.Hour)
	if n := e.run(t); n != 0 {
		t.Fatalf("steps after the end: %d", n)
	}
}

func TestSnoozeAndReassign(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in, _ := e.o.OpenManual(ctx, Manual{Title: "x", Policy: "default"}, "")
	e.run(t)
	if _, err := e.o.Snooze(ctx, in.ID, time.Hour, "bob"); err == nil {
		t.Fatal("snoozed a triggered incident")
	}
	if _, err := e.o.Acknowledge(ctx, in.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.o.Snooze(ctx, in.ID, 30*time.Minute, "bob"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(29 * time.Minute)
	if e.run(t) != 0 {
		t.Fatal("snooze ended early")
	}
	e.clock.Add(time.Minute)
	e.run(t) // unsnooze
	e.run(t) // step 1 again
	got := e.get(t, in.ID)
	if got.State != Triggered || !strings.Contains(kinds(got), "snoozed unsnoozed escalated") {
		t.Fatalf("%s: %s", got.State, kinds(got))
	}
	if _, err := e.o.Reassign(ctx, in.ID, "nobody", "bob"); err == nil {
		t.Fatal("reassigned to an unknown user")
	}
	n0 := len(e.box.all(t))
	if _, err := e.o.Reassign(ctx, in.ID, "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	msgs := e.box.all(t)
	if len(msgs) != n0+1 || msgs[len(msgs)-1].N.User != "alice" {
		t.Fatalf("reassign did not notify alice: %+v", msgs[n0:])
	}
	if e.get(t, in.ID).Assignee != "alice" {
		t.Fatal("assignee not set")
	}
	if _, err := e.o.AddNote(ctx, in.ID, "  ", "bob"); err == nil {
		t.Fatal("empty note accepted")
	}
}

func TestLinks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in, _ := e.o.OpenManual(ctx, Manual{Title: "x", Policy: "default"}, "")
	good := e.o.signLink(linkClaims{Incident: in.ID, Action: "resolve", User: "bob", Expires: e.clock.Now().Add(time.Hour).Unix(), Nonce: "n1"})
	f := func(tok string, want error) {
		t.Helper()
		if _, err := e.o.parseLink(tok, e.clock.Now()); err != want {
			t.Errorf("parseLink(%.20s...) = %v, want %v", tok, err, want)
		}
	}
	f(good, nil)
	body, sig, _ := strings.Cut(good, ".")
	f(body+"."+sig[:len(sig)-2]+"AA", ErrLinkForged)
	f("x"+good, ErrLinkForged)
	f("nodot", ErrLinkForged)
	f("", ErrLinkForged)
	other := &OnCall{}
	k := []byte("another key of 32 bytes.........")
	other.secret.Store(&k)
	f(other.signLink(linkClaims{Incident: in.ID, Action: "resolve", User: "bob", Expires: e.clock.Now().Add(time.Hour).Unix()}), ErrLinkForged)
	f(e.o.signLink(linkClaims{Incident: in.ID, Action: "delete", User: "bob", Expires: e.clock.Now().Add(time.Hour).Unix()}), ErrLinkForged)
	f(e.o.signLink(linkClaims{Incident: in.ID, Action: "resolve", User: "bob", Expires: e.clock.Now().Unix()}), ErrLinkExpired)
	// The key survives a restart (kept in the database).
	e.restart(t)
	f(good, nil)
	if _, _, err := e.o.useLink(ctx, good); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, in.ID); got.State != Resolved || got.ResolvedBy != "bob" {
		t.Fatalf("%s by %s", got.State, got.ResolvedBy)
	}
}

func TestEventsV2(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ev := func(body string) (string, []string, error) {
		t.Helper()
		evt, errs := ParseEvent([]byte(body))
		if len(errs) > 0 {
			return "", errs, nil
		}
		k, err := e.o.ApplyEvent(ctx, evt)
		return k, nil, err
	}
	const rk = `"routing_key":"0123456789abcdef0123456789abcdef"`
	k, errs, err := ev(`{` + rk + `,"event_action":"trigger","dedup_key":"db-1","payload":{"summary":"db down","source":"db1","severity":"error"}}`)
	if err != nil || errs != nil || k != "db-1" {
		t.Fatalf("trigger: %q %v %v", k, errs, err)
	}
	if _, _, err := ev(`{` + rk + `,"event_action":"trigger","dedup_key":"db-1","payload":{"summary":"db still down","source":"db1","severity":"error"}}`); err != nil {
		t.Fatal(err)
	}
	list, _ := e.o.List(ctx, Filter{})
	if len(list) != 1 || list[0].Severity != "error" || list[0].Source != SourceEventsV2 {
		t.Fatalf("duplicate trigger: %+v", list)
	}
	if _, _, err := ev(`{` + rk + `,"event_action":"acknowledge","dedup_key":"db-1"}`); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, list[0].ID); got.State != Acknowledged || !strings.Contains(kinds(got), "event_joined") {
		t.Fatalf("%s %s", got.State, kinds(got))
	}
	if _, _, err := ev(`{` + rk + `,"event_action":"resolve","dedup_key":"db-1"}`); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, list[0].ID); got.State != Resolved {
		t.Fatal(got.State)
	}
	// Trigger without dedup_key: one is made and returned.
	k, _, err = ev(`{` + rk + `,"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}`)
	if err != nil || len(k) != 32 {
		t.Fatalf("generated dedup key %q, %v", k, err)
	}
	bad := func(body, want string) {
		t.Helper()
		_, errs, err := ev(body)
		msg := strings.Join(errs, "; ")
		if err != nil {
			msg = err.Error()
		}
		if !strings.Contains(msg, want) {
			t.Errorf("%s: got %q, want %q", body, msg, want)
		}
	}
	bad(`{`, "Event object is invalid")
	bad(`{"event_action":"trigger"}`, "'routing_key' is missing")
	bad(`{`+rk+`,"event_action":"explode"}`, "'event_action' is invalid")
	bad(`{`+rk+`,"event_action":"trigger","payload":{"source":"x","severity":"info"}}`, "'payload.summary' is missing")
	bad(`{`+rk+`,"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"fatal"}}`, "'payload.severity' is invalid")
	bad(`{`+rk+`,"event_action":"trigger","payload":{"summary":"`+strings.Repeat("x", 1025)+`","source":"x","severity":"info"}}`, "at most 1024")
	bad(`{`+rk+`,"event_action":"resolve"}`, "'dedup_key' is missing")
	bad(`{`+rk+`,"event_action":"trigger","dedup_key":"`+strings.Repeat("k", 256)+`","payload":{"summary":"s","source":"x","severity":"info"}}`, "at most 255")
	bad(`{"routing_key":"nope","event_action":"resolve","dedup_key":"x"}`, "not configured")
}

func TestSlackSignature(t *testing.T) {
	now := time.Unix(1_790_000_000, 0)
	body := []byte("payload=" + `%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%2C%22username%22%3A%22bob%22%7D%2C%22actions%22%3A%5B%7B%22action_id%22%3A%22vigil_acknowledge%22%2C%22value%22%3A%227%22%7D%5D%7D`)
	sign := func(secret, ts string, b []byte) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", slackSig(secret, ts, b))
		return h
	}
	ts := fmt.Sprint(now.Unix())
	if err := verifySlack("s3cret", sign("s3cret", ts, body), body, now); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Header{
		"wrong secret": sign("other", ts, body),
		"old":          sign("s3cret", fmt.Sprint(now.Add(-6*time.Minute).Unix()), body),
		"no signature": {"X-Slack-Request-Timestamp": {ts}},
		"changed body": sign("s3cret", ts, append([]byte("x"), body...)),
	} {
		if err := verifySlack("s3cret", h, body, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	act, id, uid, name, err := ParseSlackAction(body)
	if err != nil || act != "acknowledge" || id != 7 || uid != "U1" || name != "bob" {
		t.Fatalf("%q %d %q %q %v", act, id, uid, name, err)
	}
}

func TestConfigAndAPIObjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// An API user survives a reload; a config object cannot be changed
	// through the API.
	if err := e.o.putObject(ctx, KindUser, "dave", spec.User{Name: "dave", Email: "dave@example.com"}, true); err != nil {
		t.Fatal(err)
	}
	if err := e.o.putObject(ctx, KindUser, "alice", spec.User{Name: "alice"}, false); err == nil || !strings.Contains(err.Error(), "config file") {
		t.Fatalf("changed a config user: %v", err)
	}
	if err := e.o.putObject(ctx, KindPolicy, "p2", spec.Policy{Name: "p2", Steps: []spec.Step{{Targets: []spec.Target{{User: "zed"}}}}}, true); err == nil || !strings.Contains(err.Error(), `unknown user "zed"`) {
		t.Fatalf("policy with unknown user: %v", err)
	}
	if err := e.o.ApplyConfig(ctx, e.cfg); err != nil {
		t.Fatal(err)
	}
	if e.o.catalog().users["dave"] == nil {
		t.Fatal("API user lost on reload")
	}
	// A reload that removes a user an API object needs is refused and
	// changes nothing.
	if err := e.o.putObject(ctx, KindTeam, "night", spec.Team{Name: "night", Members: []string{"carol"}}, true); err != nil {
		t.Fatal(err)
	}
	bad := e.cfg
	bad.Objects.Users = bad.Objects.Users[:2]
	if _, err := e.o.Prepare(ctx, bad); err == nil || !strings.Contains(err.Error(), `unknown user "carol"`) {
		t.Fatalf("prepare dropping carol: %v", err)
	}
	commit, err := e.o.Prepare(ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	if err := e.o.ApplyConfig(ctx, bad); err == nil || !strings.Contains(err.Error(), `unknown user "carol"`) {
		t.Fatalf("reload dropping carol: %v", err)
	}
	if e.o.catalog().users["carol"] == nil {
		t.Fatal("failed reload changed the catalog")
	}
	e.restart(t)
	if e.o.catalog().users["carol"] == nil || e.o.catalog().teams["night"] == nil {
		t.Fatal("failed reload changed the database")
	}
	// Overrides: overlapping is refused.
	st := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)
	if _, err := e.o.addOverride(ctx, "primary", "carol", st, st.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.o.addOverride(ctx, "primary", "dave", st.Add(time.Hour), st.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Fatalf("overlapping override: %v", err)
	}
	if who, _ := e.o.OnCallAt("primary", st.Add(time.Hour)); who != "carol" {
		t.Fatalf("override not in force: %q", who)
	}
}

func slackSig(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}
