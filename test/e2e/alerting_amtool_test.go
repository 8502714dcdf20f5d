package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAmtoolCompat (issue 11 item 5): amtool 0.25 loads the configuration
// dump (`config routes`; webhook URLs hidden as "<secret>" failed with
// `unsupported scheme ""`), the status reports a version amtool can
// compare (the Alertmanager release, not Vigil's commit) with Vigil's in
// the branch, and notifications carry a full User-Agent.
func TestAmtoolCompat(t *testing.T) {
	amtool := DebianTool(t, "amtool", "prometheus-alertmanager")
	var mu sync.Mutex
	var agents []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		agents = append(agents, r.UserAgent())
		mu.Unlock()
	}))
	defer hook.Close()
	v := StartVigil(t, StartOptions{Config: fmt.Sprintf(`alerting:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 100ms
    routes:
      - {matchers: [team="db"], receiver: db}
  receivers:
    - name: hook
      webhook_configs: [{url: %q}]
    - name: db
      webhook_configs: [{url: %q}]
`, hook.URL+"/secret-token-in-path", hook.URL+"/db")})
	amURL := "--alertmanager.url=http://" + v.HTTP + "/alertmanager"

	out, err := RunCmd(t, 30*time.Second, amtool, amURL, "config", "routes")
	if err != nil || !strings.Contains(out, "hook") || !strings.Contains(out, "db") || !strings.Contains(out, `team="db"`) {
		t.Fatalf("amtool config routes: %v\n%s", err, out)
	}
	out, err = RunCmd(t, 30*time.Second, amtool, amURL, "config", "routes", "test", "team=db")
	if err != nil || strings.TrimSpace(lastLine(out)) != "db" {
		t.Fatalf("amtool config routes test team=db: %v\n%s", err, out)
	}
	out, err = RunCmd(t, 30*time.Second, amtool, amURL, "config", "show")
	if err != nil || strings.Contains(out, "secret-token-in-path") {
		t.Fatalf("amtool config show: %v (the webhook URL must stay hidden)\n%s", err, out)
	}

	var st struct {
		VersionInfo map[string]string `json:"versionInfo"`
	}
	v.GetJSON("/alertmanager/api/v2/status", &st)
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(st.VersionInfo["version"]) || !strings.HasPrefix(st.VersionInfo["branch"], "vigil-") {
		t.Fatalf("status versionInfo = %v, want the Alertmanager release as version and Vigil's in the branch", st.VersionInfo)
	}
	// amtool's warning, if its release differs, names two releases.
	out, _ = RunCmd(t, 30*time.Second, amtool, amURL, "alert", "query")
	if strings.Contains(out, "Warning") && !regexp.MustCompile(`alertmanager version \(\d+\.\d+\.\d+\)`).MatchString(out) {
		t.Fatalf("amtool warns about a version it cannot compare:\n%s", out)
	}

	if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "alert", "add", "alertname=UA"); err != nil {
		t.Fatalf("amtool alert add: %v %s", err, out)
	}
	Eventually(t, 20*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(agents) == 0 {
			return fmt.Errorf("no notification")
		}
		return nil
	})
	mu.Lock()
	ua := agents[0]
	mu.Unlock()
	if !regexp.MustCompile(`^Alertmanager/\d+\.\d+\.\d+ Vigil/\S+$`).MatchString(ua) {
		t.Fatalf("User-Agent = %q, want Alertmanager/<release> Vigil/<version>", ua)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestAlertingRuleFileErrors (issue 11 item 3): vigil check-rules names the
// line of a duplicate group, a bad template and a bad duration, once each.
func TestAlertingRuleFileErrors(t *testing.T) {
	dir := t.TempDir()
	const rule = "      - alert: X\n        expr: up == 0\n"
	files := map[string]string{
		"dup.yml":  "groups:\n  - name: a\n    rules:\n" + rule + "  - name: a\n    rules:\n" + rule,
		"tmpl.yml": "groups:\n  - name: a\n    rules:\n" + rule + "        annotations:\n          summary: \"{{ .Labels.foo \"\n",
		"dur.yml":  "groups:\n  - name: a\n    rules:\n" + rule + "        for: 5x\n",
	}
	want := map[string]string{"dup.yml": ":6: ", "tmpl.yml": ":7: ", "dur.yml": ":6: "}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := RunCmd(t, 30*time.Second, vigilBin, "check-rules", p)
		if err == nil || !strings.Contains(out, p+want[name]) || strings.Count(strings.TrimSpace(out), "\n") > 1 {
			t.Errorf("vigil check-rules %s: %v\n%s(want one error at %s)", name, err, out, want[name])
		}
	}
}
