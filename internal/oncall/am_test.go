package oncall

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigilhq/vigil/internal/oncall/spec"
)

// fakeTeams is a Microsoft Teams incoming webhook: it keeps the message
// cards it is sent and answers with the status the test sets.
type fakeTeams struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []map[string]any
}

func newFakeTeams(t *testing.T) *fakeTeams {
	f := &fakeTeams{}
	f.status.Store(200)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		f.mu.Lock()
		f.got = append(f.got, m)
		f.mu.Unlock()
		w.WriteHeader(int(f.status.Load()))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTeams) cards() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.got...)
}

// A contact method of type alertmanager pages through Alertmanager's own
// integrations (Teams and a webhook here), one outbox message each on
// ChannelAlertmanager, with the acknowledge link in what they send; each
// delivery's outcome is on the timeline, and a 4xx is not retried while a
// 5xx is.
func TestAlertmanagerContactMethod(t *testing.T) {
	teams := newFakeTeams(t)
	e := newEnv(t)
	e.cfg.Objects.Users = append(e.cfg.Objects.Users, spec.User{Name: "dave", ContactMethods: []spec.ContactMethod{{
		Type: spec.Alertmanager,
		Config: map[string]any{
			"msteams_configs": []any{map[string]any{"webhook_url": teams.srv.URL + "/teams"}},
			"webhook_configs": []any{map[string]any{"url": e.hook.srv.URL + "/am-webhook"}},
		},
	}}})
	if err := e.o.ApplyConfig(context.Background(), e.cfg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := e.o.OpenManual(ctx, Manual{Title: "payments down", Assignee: "dave", Severity: "critical"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	e.run(t)
	var am []sent
	for _, m := range e.box.all(t) {
		if m.Channel == ChannelAlertmanager {
			am = append(am, m)
		}
	}
	if len(am) != 2 || am[0].N.Integration != "webhook" && am[0].N.Integration != "msteams" || am[0].Key == am[1].Key {
		t.Fatalf("alertmanager messages: %+v", am)
	}
	e.box.deliver(t, e.o)

	cards := teams.cards()
	if len(cards) != 1 || cards[0]["type"] != "MessageCard" {
		t.Fatalf("teams got %v", cards)
	}
	title, _ := cards[0]["title"].(string)
	text, _ := cards[0]["text"].(string)
	if !strings.Contains(title, "payments down") || !strings.Contains(text, "/vigil/api/v1/oncall/links/") || !strings.Contains(text, "ack_url") {
		t.Fatalf("teams card lacks the incident or its acknowledge link:\ntitle %q\ntext %q", title, text)
	}
	var hook map[string]any
	for _, c := range e.hook.calls {
		if c["_path"] == "/am-webhook" {
			hook = c
		}
	}
	if hook == nil || hook["version"] != "4" || !strings.Contains(toJSON(hook["commonAnnotations"]), "ack_url") || hook["receiver"] != "dave" {
		t.Fatalf("alertmanager webhook: %v", hook)
	}
	got := e.get(t, in.ID)
	if n := strings.Count(toJSON(got.Timeline), "alertmanager msteams[0]"); n < 2 {
		t.Fatalf("timeline lacks the teams notification and its delivery: %s", toJSON(got.Timeline))
	}
	if !strings.Contains(kinds(got), EvDelivered) {
		t.Fatalf("no delivery on the timeline: %s", kinds(got))
	}

	// A 4xx is final, a 5xx is retried.
	c := e.o.Consumers()[ChannelAlertmanager]
	var teamsMsg sent
	for _, m := range am {
		if m.N.Integration == "msteams" {
			teamsMsg = m
		}
	}
	payload, _ := json.Marshal(teamsMsg.N)
	teams.status.Store(400)
	if err := c.Deliver(ctx, payload); err == nil || !IsPermanent(err) {
		t.Fatalf("teams 400: %v, want a permanent error", err)
	}
	teams.status.Store(503)
	if err := c.Deliver(ctx, payload); err == nil || IsPermanent(err) {
		t.Fatalf("teams 503: %v, want a retryable error", err)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
