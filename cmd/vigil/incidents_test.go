package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestIncidentsCLI(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+string(b)+" "+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/vigil/api/v1/oncall/incidents":
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": []map[string]any{{"id": 3, "state": "triggered", "title": "disk full", "created_at": "2026-03-10T12:00:00Z"}}})
		case strings.HasSuffix(r.URL.Path, "/9/acknowledge"):
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "error": "incident 9 is resolved; it cannot be acknowledged"})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"id": 3, "state": "acknowledged"}})
		}
	}))
	defer srv.Close()
	run1 := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"incidents"}, args...), &out, &errb)
		return out.String() + errb.String(), err
	}
	out, err := run1("list", "--url", srv.URL, "--state", "triggered", "--token", "tok")
	if err != nil || !strings.Contains(out, "disk full") || !strings.Contains(out, "triggered") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if !strings.Contains(got[0], "GET /vigil/api/v1/oncall/incidents?limit=50&state=triggered") || !strings.HasSuffix(got[0], "Bearer tok") {
		t.Fatalf("request %q", got[0])
	}
	if out, err := run1("ack", "--url", srv.URL, "--user", "alice", "3"); err != nil || out != "incident 3 acknowledged\n" {
		t.Fatalf("ack: %v %q", err, out)
	}
	if !strings.Contains(got[1], `POST /vigil/api/v1/oncall/incidents/3/acknowledge {"user":"alice"}`) {
		t.Fatalf("ack request %q", got[1])
	}
	if _, err := run1("ack", "--url", srv.URL, "9"); err == nil || !strings.Contains(err.Error(), "is resolved") {
		t.Fatalf("ack of resolved: %v", err)
	}
	if _, err := run1("note", "--url", srv.URL, "--user", "bob", "3", "restarted", "the", "db"); err != nil || !strings.Contains(got[3], `"text":"restarted the db"`) {
		t.Fatalf("note: %v %q", err, got[3])
	}
	for _, bad := range [][]string{{"ack"}, {"ack", "x"}, {"explode"}, {"list", "--url", "ftp://x"}, {"note", "3"}} {
		if _, err := run1(bad...); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// check-config reports on-call errors with file:line and field.
func TestCheckConfigOnCall(t *testing.T) {
	f := t.TempDir() + "/vigil.yaml"
	text := `alerting:
  route: {receiver: pager}
  receivers: [{name: pager}]
oncall:
  receivers: [{name: pager, escalation_policy: default}]
  users: [{name: alice}]
  schedules:
    - name: primary
      time_zone: Europe/Atlantis
      layers: [{start: "2026-01-05T09:00", shift: 1w, users: [alice, zed]}]
  escalation_policies:
    - name: default
      steps: [{targets: [{schedule: primary}, {team: nobody}]}]
`
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"check-config", f}, &out, &errb)
	if err == nil {
		t.Fatal("invalid on-call config accepted")
	}
	for _, want := range []string{
		f + `:9: oncall.schedules.0.time_zone: unknown time zone "Europe/Atlantis"`,
		f + `:13: oncall.escalation_policies.0.steps.0.targets.1.team: unknown team "nobody"`,
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, errb.String())
		}
	}
}
