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

// TestOnCallWithAuth: with authentication on, on-call records who acted
// from the credentials, not from the body's "user": the signed-in user for
// a session, the token's owner for an API token (also through the CLI's
// --token); without credentials the API refuses.
func TestOnCallWithAuth(t *testing.T) {
	hook := newALSink(t)
	v := StartVigil(t, StartOptions{Env: []string{"VIGIL_ADMIN_PASSWORD=" + adminPassword}, Config: fmt.Sprintf(`auth: {mode: local}
oncall:
  users:
    - name: alice
      contact_methods: [{type: webhook, url: %q}]
  escalation_policies:
    - name: web
      steps: [{targets: [{user: alice}], delay: 1h}]
`, hook.srv.URL)})
	admin, csrf := adminSession(t, v.URL(""), nil)
	if code, _, b := admin.do("POST", "/vigil/api/v1/users", `{"name":"bob","role":"editor","password":"bob-password-123"}`, "X-CSRF-Token", csrf, "Content-Type", "application/json"); code/100 != 2 {
		t.Fatalf("create user bob: %d %s", code, b)
	}
	code, _, b := admin.do("POST", "/vigil/api/v1/tokens", `{"name":"bob-cli","scopes":["read","write"],"owner":"bob"}`, "X-CSRF-Token", csrf, "Content-Type", "application/json")
	var tok struct{ Data struct{ Token string } }
	if code != 201 || json.Unmarshal([]byte(b), &tok) != nil || tok.Data.Token == "" {
		t.Fatalf("token for bob: %d %s", code, b)
	}
	bearer := []string{"Authorization", "Bearer " + tok.Data.Token, "Content-Type", "application/json"}
	session := []string{"X-CSRF-Token", csrf, "Content-Type", "application/json"}

	// anon has no session cookie: only what a request's headers carry.
	anon := &authed{t: t, base: v.URL(""), client: &http.Client{Timeout: 30 * time.Second}}
	if code, _, _ := anon.do("POST", "/vigil/api/v1/oncall/incidents", `{"title":"x","escalation_policy":"web","user":"mallory"}`, "Content-Type", "application/json"); code != 401 {
		t.Fatalf("anonymous incident: %d, want 401", code)
	}

	// Opened and acknowledged in admin's session: "user" in the body is ignored.
	code, _, b = admin.do("POST", "/vigil/api/v1/oncall/incidents", `{"title":"payments down","escalation_policy":"web","user":"mallory"}`, session...)
	var in struct{ Data ocIncident }
	if code != 201 || json.Unmarshal([]byte(b), &in) != nil {
		t.Fatalf("open: %d %s", code, b)
	}
	id := in.Data.ID
	path := fmt.Sprintf("/vigil/api/v1/oncall/incidents/%d", id)
	if code, _, b := admin.do("POST", path+"/acknowledge", `{"user":"mallory"}`, session...); code != 200 || !strings.Contains(b, `"acknowledged_by":"admin"`) {
		t.Fatalf("acknowledge in a session: %d %s", code, b)
	}

	// A note through bob's token, and one through the CLI with it.
	if code, _, b := anon.do("POST", path+"/notes", `{"text":"rolling back","user":"mallory"}`, bearer...); code != 200 {
		t.Fatalf("note with a token: %d %s", code, b)
	}
	out, err := exec.Command(vigilBin, "incidents", "note", "--url", v.URL(""), "--token", tok.Data.Token, "--user", "mallory", fmt.Sprint(id), "rollback", "done").CombinedOutput()
	if err != nil {
		t.Fatalf("vigil incidents note --token: %v\n%s", err, out)
	}
	if code, _, b := anon.do("POST", path+"/publish", `{"message":"Card payments fail.","user":"mallory"}`, bearer...); code != 200 {
		t.Fatalf("publish with a token: %d %s", code, b)
	}

	code, _, b = anon.do("GET", path+"?ledger=false", "", bearer...)
	var got struct {
		Data struct {
			AckedBy  string `json:"acknowledged_by"`
			Timeline []struct{ Kind, Actor, Detail string }
		}
	}
	if code != 200 || json.Unmarshal([]byte(b), &got) != nil {
		t.Fatalf("get: %d %s", code, b)
	}
	actors := map[string][]string{}
	for _, e := range got.Data.Timeline {
		actors[e.Kind] = append(actors[e.Kind], e.Actor)
	}
	if strings.Contains(b, "mallory") {
		t.Errorf("the body's user was recorded: %s", b)
	}
	for kind, want := range map[string]string{"triggered": "admin", "acknowledged": "admin", "note": "bob,bob", "published": "bob", "public_update": "bob"} {
		if g := strings.Join(actors[kind], ","); g != want {
			t.Errorf("%s by %q, want %q", kind, g, want)
		}
	}

	// A read-only token sees alice's webhook URL as <secret>; bob's
	// write-scoped token sees it whole.
	code, _, b = admin.do("POST", "/vigil/api/v1/tokens", `{"name":"reader","scopes":["read"]}`, "X-CSRF-Token", csrf, "Content-Type", "application/json")
	var rtok struct{ Data struct{ Token string } }
	if code != 201 || json.Unmarshal([]byte(b), &rtok) != nil {
		t.Fatalf("read token: %d %s", code, b)
	}
	if code, _, b := anon.do("GET", "/vigil/api/v1/oncall/users/alice", "", "Authorization", "Bearer "+rtok.Data.Token); code != 200 || strings.Contains(b, hook.srv.URL) || !strings.Contains(b, `\u003csecret\u003e`) {
		t.Errorf("alice with a read token: %d %s", code, b)
	}
	if code, _, b := anon.do("GET", "/vigil/api/v1/oncall/users/alice", "", bearer...); code != 200 || !strings.Contains(b, hook.srv.URL) {
		t.Errorf("alice with a write token: %d %s", code, b)
	}
}
