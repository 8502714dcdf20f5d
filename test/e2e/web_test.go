package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestExternalURL: with web.external_url set, every link in a
// notification starts with it (webhook externalURL and generatorURL,
// Slack title_link, PagerDuty client_url) and the routes are served under
// its path (issue 11 item 2).
func TestExternalURL(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string][]map[string]any{}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		bodies[r.URL.Path] = append(bodies[r.URL.Path], m)
		mu.Unlock()
		_, _ = w.Write([]byte("ok")) // Slack wants "ok"
	}))
	defer sink.Close()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("groups:\n  - name: g\n    rules:\n      - alert: Always\n        expr: vector(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const ext = "https://vigil.example.com/obs"
	v := StartVigil(t, StartOptions{Config: fmt.Sprintf(`web:
  external_url: %s/
global:
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  route:
    receiver: all
    group_wait: 200ms
  receivers:
    - name: all
      webhook_configs: [{url: %q}]
      slack_configs: [{api_url: %q, channel: "#a"}]
      pagerduty_configs: [{routing_key: 0123456789abcdef0123456789abcdef, url: %q}]
`, ext, rules, sink.URL+"/hook", sink.URL+"/slack", sink.URL+"/pd")})

	// Routes live under the prefix.
	if code, _ := v.Get("/obs/api/v1/query?query=1"); code != 200 {
		t.Fatalf("/obs/api/v1/query: %d", code)
	}
	if code, _ := v.Get("/api/v1/query?query=1"); code != 404 {
		t.Fatalf("/api/v1/query without the prefix: %d, want 404", code)
	}

	first := func(path string) map[string]any {
		mu.Lock()
		defer mu.Unlock()
		if len(bodies[path]) == 0 {
			return nil
		}
		return bodies[path][0]
	}
	Eventually(t, 60*time.Second, func() error {
		for _, p := range []string{"/hook", "/slack", "/pd"} {
			if first(p) == nil {
				return fmt.Errorf("no notification at %s yet", p)
			}
		}
		return nil
	})
	hook := first("/hook")
	if hook["externalURL"] != ext {
		t.Errorf("webhook externalURL %v, want %s", hook["externalURL"], ext)
	}
	alerts, _ := hook["alerts"].([]any)
	if len(alerts) == 0 {
		t.Fatalf("webhook without alerts: %v", hook)
	}
	if g, _ := alerts[0].(map[string]any)["generatorURL"].(string); !strings.HasPrefix(g, ext+"/graph?") {
		t.Errorf("generatorURL %q, want it under %s/graph", g, ext)
	}
	atts, _ := first("/slack")["attachments"].([]any)
	if len(atts) == 0 {
		t.Fatalf("slack payload without attachments: %v", first("/slack"))
	}
	if tl, _ := atts[0].(map[string]any)["title_link"].(string); !strings.HasPrefix(tl, ext+"/") {
		t.Errorf("slack title_link %q, want it under %s", tl, ext)
	}
	pd := first("/pd")
	if cu, _ := pd["client_url"].(string); !strings.HasPrefix(cu, ext+"/") {
		t.Errorf("pagerduty client_url %q, want it under %s", cu, ext)
	}
}
