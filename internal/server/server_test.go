package server

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/route"
	"github.com/vigilhq/vigil/internal/ui"
)

var update = flag.Bool("update", false, "rewrite docs/api.md from the route table")

// startServer runs a Server on loopback ports chosen by the kernel, with
// data in a temporary folder, until the test ends.
func startServer(t *testing.T, configText string) *Server {
	t.Helper()
	dir := t.TempDir()
	file := ""
	if configText != "" {
		file = filepath.Join(dir, "vigil.yaml")
		if err := os.WriteFile(file, []byte(configText), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Options{
		ConfigFile: file,
		Logger:     slog.New(slog.DiscardHandler),
		Override: func(c *config.Config) {
			c.DataDir = filepath.Join(dir, "data")
			c.HTTPAddr = "127.0.0.1:0"
			c.OTLP.GRPCAddr = "127.0.0.1:0"
			c.OTLP.HTTPAddr = "127.0.0.1:0"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !s.ready.Load() {
		select {
		case err := <-done:
			t.Fatalf("server stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready after 60s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRouteTable walks the real route table: every route has a scope, a
// handler and a doc line (buildMux refuses the rest), docs/api.md lists
// them all, and the index page links them with the address it was
// reached at.
func TestRouteTable(t *testing.T) {
	s := startServer(t, "")
	routes := s.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, r := range routes {
		if !r.Scope.Valid() || r.Doc == "" || r.Handler == nil {
			t.Errorf("route %s: scope %q, doc %q", r.MuxPattern(), r.Scope, r.Doc)
		}
		// Only what the security model lists may be public.
		if r.Scope == route.Public && !publicAllowed(r.Pattern) {
			t.Errorf("route %s is public", r.MuxPattern())
		}
	}

	t.Run("doc", func(t *testing.T) {
		path := filepath.Join("..", "..", "docs", "api.md")
		want := routesMarkdown(routes)
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("docs/api.md is not the route table (err %v); run go test ./internal/server -run TestRouteTable -update", err)
		}
	})

	t.Run("index", func(t *testing.T) {
		code, body := get(t, "http://"+s.HTTPAddr()+"/-/index")
		if code != 200 {
			t.Fatalf("index: %d", code)
		}
		for _, want := range []string{
			`<a href="http://` + s.HTTPAddr() + `/jaeger/api/services">`,
			`<a href="http://` + s.HTTPAddr() + `/alertmanager/api/v2/">`,
			`<a href="http://` + s.HTTPAddr() + `/metrics">`,
			"http://" + s.HTTPAddr() + "/jaeger</code>",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("index page lacks %s", want)
			}
		}
		if strings.Contains(body, "host:9797") {
			t.Error("index page names host:9797 instead of the real address")
		}
	})
}

func publicAllowed(pattern string) bool {
	// The web UI's shell and assets hold no data (internal/ui).
	if slices.Contains(ui.Pages, pattern) || pattern == "/assets/" {
		return true
	}
	for _, p := range []string{"/livez", "/readyz", "/-/healthy", "/-/ready", "/-/index",
		// On-call's signed links and Slack's actions carry their own
		// HMAC signatures (links.go, slack.go in internal/oncall).
		"/vigil/api/v1/oncall/links/{token}", "/vigil/api/v1/oncall/slack/actions",
		// auth: the login page and API, single sign-on's redirects, the first-start setup link
		"/login", "/login/oidc", "/login/oidc/callback", "/vigil/api/v1/login", "/setup"} {
		if pattern == p {
			return true
		}
	}
	// The status page (probes), with its JSON, badges, feed and logo.
	return pattern == "/status" || strings.HasPrefix(pattern, "/status/")
}

// TestRoutesByMethod checks that the Prometheus API split by scope still
// reaches Prometheus's router for every method it serves, and that the
// Loki 3 OTLP path is served.
func TestRoutesByMethod(t *testing.T) {
	s := startServer(t, "")
	base := "http://" + s.HTTPAddr()
	f := func(method, path, body, contentType string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
	}
	f("GET", "/api/v1/query?query=1", "", "", 200)
	f("POST", "/api/v1/query", "query=1", "application/x-www-form-urlencoded", 200)
	f("GET", "/api/v1/label/__name__/values", "", "", 200)
	f("POST", "/api/v1/unknown", "", "", 405)
	f("POST", "/otlp/v1/logs", "{}", "application/json", 200)
	f("POST", "/v1/logs", "{}", "application/json", 200)
	f("GET", "/alertmanager/api/v2/status", "", "", 200)
	f("PUT", "/alertmanager/api/v2/alerts", "[]", "application/json", 405)
	f("POST", "/alertmanager/api/v2/alerts", "[]", "application/json", 200)
	f("GET", "/livez", "", "", 200)
}

// TestExternalURL: web.external_url's path is the route prefix, and the
// links Vigil builds start with the external URL (issue 11 item 2).
func TestExternalURL(t *testing.T) {
	s := startServer(t, "web:\n  external_url: https://vigil.example.com:8443/obs/\n")
	base := "http://" + s.HTTPAddr()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f := func(path string, want int, location string) {
		t.Helper()
		resp, err := noRedirect.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Location") != location {
			t.Errorf("GET %s: %d %q, want %d %q", path, resp.StatusCode, resp.Header.Get("Location"), want, location)
		}
	}
	f("/obs/api/v1/query?query=1", 200, "")
	f("/obs/livez", 200, "")
	f("/readyz", 200, "")
	f("/api/v1/query?query=1", 404, "")
	f("/", 302, "/obs/")
	f("/obs", 302, "/obs/")
	if u := s.externalURL().String(); u != "https://vigil.example.com:8443/obs" {
		t.Errorf("externalURL %s", u)
	}
	_, body := get(t, base+"/obs/-/index")
	if !strings.Contains(body, `<a href="https://vigil.example.com:8443/obs/jaeger/api/services">`) {
		t.Errorf("index links do not use the external URL:\n%s", body)
	}
}

func TestExternalURLInvalid(t *testing.T) {
	for _, u := range []string{"vigil.example.com", "ftp://x/", "http://x/?a=1", "http:///path"} {
		if _, err := config.Parse([]byte("web:\n  external_url: "+u+"\n"), "v.yaml"); err == nil || !strings.Contains(err.Error(), "v.yaml:2: web.external_url") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// TestReloadTwoPhase: a reload whose alerting part is bad changes nothing,
// not even the components checked before it (issue 15 item 5).
func TestReloadTwoPhase(t *testing.T) {
	s := startServer(t, "metrics:\n  limits:\n    max_label_names_per_series: 10\n")
	threeLabels := labels.FromStrings("__name__", "m", "a", "1", "b", "2")
	limited := func() bool { return s.metrics.Appendable().PreCreation(threeLabels) != nil }
	if limited() {
		t.Fatal("a series with 3 labels is refused under a limit of 10")
	}
	// A notification template is parsed by the alerting feature, not by
	// the config loader: the reload gets as far as the reloaders.
	bad := filepath.Join(t.TempDir(), "bad.tmpl")
	if err := os.WriteFile(bad, []byte(`{{ define "x" }}{{ .Unclosed `), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(text string) {
		if err := os.WriteFile(s.opts.ConfigFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The limits reloader runs before the alerting one; with one phase it
	// applied the new limit before alerting failed.
	write("metrics:\n  limits:\n    max_label_names_per_series: 2\nalerting:\n  templates: [" + bad + "]\n  route: {receiver: r}\n  receivers: [{name: r}]\n")
	err := s.Reload()
	if err == nil || !strings.Contains(err.Error(), "alerting") {
		t.Fatalf("reload with a bad rule file: %v", err)
	}
	if limited() || s.Config().Metrics.Limits.MaxLabelNamesPerSeries != 10 {
		t.Fatal("a failed reload changed the metrics limits")
	}
	write("metrics:\n  limits:\n    max_label_names_per_series: 2\n")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if !limited() {
		t.Fatal("a good reload did not apply the new limit")
	}
}
