package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbesSection(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "blackbox.yml")
	if err := os.WriteFile(bb, []byte(`modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [200, 204]
      fail_if_body_not_matches_regexp: ["ok"]
  dns_example:
    prober: dns
    dns:
      query_name: example.com
      query_type: A
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "vigil.yaml")
	text := `probes:
  modules_file: blackbox.yml
  modules:
    tcp_banner:
      prober: tcp
      tcp:
        query_response:
          - expect: "^SSH-2.0-"
  interval: 15s
  targets:
    - target: http://127.0.0.1:8080/health
      labels: {team: payments}
      group: API
      conditions: ["[STATUS] == 200", "[BODY].status == UP"]
    - name: ssh
      target: 127.0.0.1:22
      module: tcp_banner
      interval: 1m
  status_page:
    title: Example status
    groups:
      - name: API
        probes: [http://127.0.0.1:8080/health, ssh]
    maintenance:
      - title: Upgrade
        start: 2026-12-01T22:00:00Z
        end: 2026-12-01T23:00:00Z
        groups: [API]
metrics: {}
`
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Probes
	if m := p.Parsed["http_2xx"]; m.Timeout != 5*time.Second || len(m.HTTP.ValidStatusCodes) != 2 || len(m.HTTP.FailIfBodyNotMatchesRegexp) != 1 {
		t.Fatalf("file module not loaded: %+v", m)
	}
	if m := p.Parsed["tcp_banner"]; m.Prober != "tcp" || len(m.TCP.QueryResponse) != 1 {
		t.Fatalf("inline module not loaded: %+v", m)
	}
	if _, ok := p.Parsed["icmp"]; !ok {
		t.Fatal("built-in modules missing")
	}
	t0 := p.Targets[0]
	if t0.Name != "http://127.0.0.1:8080/health" || t0.Module != "http_2xx" || t0.Interval.D() != 15*time.Second || t0.Job != "probes" {
		t.Fatalf("target defaults: %+v", t0)
	}
	if p.Targets[1].Interval.D() != time.Minute || p.StatusPage.UptimeDays != 90 {
		t.Fatalf("target/status defaults: %+v %+v", p.Targets[1], p.StatusPage)
	}
}

func TestProbesErrors(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "blackbox.yml")
	os.WriteFile(bb, []byte("modules:\n  x:\n    prober: http\n    htp: {}\n"), 0o644)
	f := func(text string, want ...string) {
		t.Helper()
		path := filepath.Join(dir, "vigil.yaml")
		os.WriteFile(path, []byte(text), 0o644)
		_, err := Load(path)
		if err == nil {
			t.Fatalf("no error for:\n%s", text)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("error %q lacks %q", err, w)
			}
		}
	}
	// Unknown module key, with the modules file's line.
	f("probes:\n  modules_file: blackbox.yml\n", "blackbox.yml:4", "field htp not found")
	// Inline: the config file's line.
	f("probes:\n  modules:\n    m:\n      prober: http\n      http:\n        fail_if_body_matches_regexp: ['(']\n", "vigil.yaml:6", "blackbox module")
	f("probes:\n  modules:\n    m:\n      prober: carrier\n", "vigil.yaml:", "carrier")
	f("probes:\n  targets:\n    - target: 'http://a'\n      conditions:\n        - '[STATUS] == 200'\n        - '[STATS] == 200'\n", "vigil.yaml:6", "probes.targets.0.conditions.1", "unknown placeholder")
	f("probes:\n  targets:\n    - target: 'localhost'\n      module: tcp_connect\n", "vigil.yaml:3", "want host:port")
	f("probes:\n  targets:\n    - target: 'http://[::1'\n", "vigil.yaml:3", "invalid URL")
	f("probes:\n  targets:\n    - target: 'a:1'\n      module: nope\n", "vigil.yaml:4", "unknown module \"nope\"")
	f("probes:\n  targets:\n    - target: 'a:1'\n      module: tcp_connect\n    - target: 'a:1'\n      module: tcp_connect\n", "defined twice")
	f("probes:\n  targets:\n    - target: 'http://a'\n      labels: {'0x': y}\n", "invalid label name")
	// Two probes of one target with nothing apart: one series for both.
	f("probes:\n  targets:\n    - {name: a, target: 'http://a'}\n    - {name: b, target: 'http://a', module: http_post_2xx}\n", "probes.targets.1", `probe "b" would write the same series as probe "a"`)
	f("probes:\n  targets:\n    - {name: a, target: 'http://a', labels: {x: '1'}}\n    - {name: b, target: 'http://b', labels: {instance: 'http://a', x: '1'}}\n", "same series")
	f("probes:\n  targets:\n    - {}\n", "target: missing")
	f("probes:\n  status_page:\n    groups:\n      - name: g\n        probes: [nope]\n", "vigil.yaml:5", "no probe named \"nope\"")
	f("probes:\n  status_page:\n    maintenance:\n      - title: x\n        start: 2026-12-01T22:00:00Z\n        end: 2026-12-01T21:00:00Z\n", "end after start")
	f("probes:\n  status_page:\n    logo: missing.png\n", "read logo")
	f("probes:\n  targets:\n    - target: 'http://a'\n      condtions: []\n", "vigil.yaml:4", "condtions")
}

// TestProbesSameTargetApart: one target probed twice is fine when a
// label or the job tells the series apart.
func TestProbesSameTargetApart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(path, []byte("probes:\n  targets:\n    - {name: a, target: 'http://a'}\n    - {name: b, target: 'http://a', labels: {module: post}}\n    - {name: c, target: 'http://a', job: other}\n"), 0o644)
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

// TestProbesBlackboxExample loads the exporter's own example.yml (every
// documented module option) through modules_file.
func TestProbesBlackboxExample(t *testing.T) {
	abs, _ := filepath.Abs(filepath.Join("testdata", "blackbox-example.yml"))
	c, err := Parse([]byte("probes:\n  modules_file: "+abs+"\n"), "vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Probes.Parsed
	if len(m) < 25 {
		t.Fatalf("%d modules", len(m))
	}
	f := func(name, prober string, ok bool) {
		t.Helper()
		got, found := m[name]
		if !found || got.Prober != prober || !ok {
			t.Fatalf("module %s: %+v", name, got)
		}
	}
	f("http_2xx_example", "http", m["http_2xx_example"].HTTP.Method == "GET" && len(m["http_2xx_example"].HTTP.FailIfBodyMatchesRegexp) == 1 && m["http_2xx_example"].HTTP.IPProtocol == "ip4")
	f("http_post_2xx", "http", m["http_post_2xx"].HTTP.Method == "POST" && m["http_post_2xx"].HTTP.Body != "")
	f("http_basic_auth_example", "http", m["http_basic_auth_example"].HTTP.HTTPClientConfig.BasicAuth != nil)
	f("http_json_cel_match", "http", m["http_json_cel_match"].HTTP.FailIfBodyJsonNotMatchesCEL != nil)
	f("http_2xx_oauth_client_credentials", "http", m["http_2xx_oauth_client_credentials"].HTTP.HTTPClientConfig.OAuth2 != nil)
	f("http_gzip", "http", m["http_gzip"].HTTP.Compression == "gzip")
	f("tls_connect", "tcp", m["tls_connect"].TCP.TLS)
	f("smtp_starttls", "tcp", len(m["smtp_starttls"].TCP.QueryResponse) > 2)
	f("icmp_example", "icmp", m["icmp_example"].ICMP.IPProtocol == "ip4" && m["icmp_example"].ICMP.SourceIPAddress == "127.0.0.1")
	f("dns_udp_example", "dns", m["dns_udp_example"].DNS.QueryName != "" && len(m["dns_udp_example"].DNS.ValidRcodes) > 0)
	f("dns_tcp_example", "dns", m["dns_tcp_example"].DNS.TransportProtocol == "tcp")
	f("unix_socket_ping", "unix", true)
}
