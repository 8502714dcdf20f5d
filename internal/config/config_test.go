package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c := Default()
	if c.HTTPAddr != DefaultHTTPAddr || c.OTLP.GRPCAddr != DefaultOTLPGRPCAddr || c.OTLP.HTTPAddr != DefaultOTLPHTTPAddr || c.DataDir != DefaultDataDir {
		t.Fatalf("defaults: %+v", c)
	}
	if !c.SelfScrape || c.Scrape == nil {
		t.Fatal("no config must mean self-scrape")
	}
	if c.Metrics.Retention.MaxAge.D() != 15*24*time.Hour || c.Metrics.Query.Timeout.D() != 2*time.Minute {
		t.Fatalf("metrics defaults: %+v", c.Metrics)
	}
	// memory_limit: automatic, divided by memlimit's rule.
	b, err := c.MemoryBudget()
	if err != nil || b.Limit < 256<<20 || b.Traces != b.Logs || b.Traces < 64<<20 || b.Traces > b.Limit/4 {
		t.Fatalf("automatic memory budget: %+v %v", b, err)
	}
	c2, err := Parse([]byte("memory_limit: 2GiB\ntraces:\n  memory_limit: 100MiB\n"), "v.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c2.MemoryBudget(); b.Limit != 2<<30 || b.Traces != 100<<20 || b.Logs != (2<<30-128<<20)/4*3/4 {
		t.Fatalf("2GiB with traces 100MiB: %+v", b)
	}
}

func TestParseErrorsNameFileLineField(t *testing.T) {
	f := func(text string, want ...string) {
		t.Helper()
		_, err := Parse([]byte(text), "v.yaml")
		if err == nil {
			t.Fatalf("%q: no error", text)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", text, err, w)
			}
		}
	}
	f("nope: 1\n", "v.yaml:1", "field nope not found")
	f("metrics:\n  limits:\n    max_series_per_metric: many\n", "v.yaml:3", "cannot unmarshal")
	f("http_addr: x\n", "v.yaml:1: http_addr: invalid listen address")
	f("otlp:\n  grpc_addr: 1.2.3.4\n", "v.yaml:2: otlp.grpc_addr")
	f("metrics:\n  retention:\n    max_age: 5q\n", "v.yaml:3", "invalid duration")
	f("metrics:\n  retention:\n    max_size: lots\n", "v.yaml:3", "invalid size")
	f("metrics:\n  retention:\n    max_age: 10m\n", "v.yaml:3: metrics.retention.max_age: must be at least 1h")
	f("metrics:\n  query:\n    max_concurrent: -1\n", "metrics.query.max_concurrent")
	f("metrics:\n  otlp:\n    translation_strategy: Foo\n", "v.yaml:3: metrics.otlp.translation_strategy", "UnderscoreEscapingWithSuffixes")
	f("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['x:1']}]\n    unknown_key: 1\n", "v.yaml:4", "unknown_key")
	f("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "multiple scrape configs with job name")
	f("memory_limit: 100MiB\n", "v.yaml:1: memory_limit: memory_limit must be at least 256MiB, got 100MiB")
	f("memory_limit: 1GiB\ntraces:\n  memory_limit: 600MiB\nlogs:\n  memory_limit: 300MiB\n", "v.yaml:1: memory_limit", "leave 124MiB of memory_limit 1GiB")
	f("traces:\n  memory_limit: 10MiB\n", "v.yaml:2: traces.memory_limit: must be at least 64MiB")
	f("- a\n- b\n", "mapping")
	f("a: [\n", "v.yaml")
	// Several errors are all reported, in line order.
	_, err := Parse([]byte("http_addr: x\nmetrics:\n  query:\n    max_concurrent: -1\n"), "v.yaml")
	if es, ok := err.(Errors); !ok || len(es) != 2 || es[0].Line != 1 || es[1].Line != 4 {
		t.Fatalf("want 2 errors on lines 1 and 4, got %#v", err)
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("VIGIL_TEST_ADDR", "127.0.0.1:1234")
	c, err := Parse([]byte("http_addr: ${VIGIL_TEST_ADDR}\ndata_dir: /tmp/$$x\n"), "v.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:1234" || c.DataDir != "/tmp/$x" {
		t.Fatalf("expansion: %q %q", c.HTTPAddr, c.DataDir)
	}
	_, err = Parse([]byte("data_dir: x\nhttp_addr: ${VIGIL_TEST_UNSET_VAR}\n"), "v.yaml")
	if err == nil || !strings.Contains(err.Error(), "v.yaml:2") || !strings.Contains(err.Error(), "VIGIL_TEST_UNSET_VAR is not set") {
		t.Fatalf("unset var: %v", err)
	}
	_, err = Parse([]byte("http_addr: ${bad-name}\n"), "v.yaml")
	if err == nil || !strings.Contains(err.Error(), "invalid variable reference") {
		t.Fatalf("bad var name: %v", err)
	}
}

// TestEnvExpansionInValues: ${VAR} is substituted in parsed values, so a
// value holding YAML syntax stays one value (issue 15 item 6).
func TestEnvExpansionInValues(t *testing.T) {
	t.Setenv("VIGIL_TEST_HASH", "/tmp/a #b")
	t.Setenv("VIGIL_TEST_COLON", "x: y")
	t.Setenv("VIGIL_TEST_QUOTE", `it's "q"`)
	t.Setenv("VIGIL_TEST_PORT", "9797")
	t.Setenv("VIGIL_TEST_TARGET", "localhost:9100")
	f := func(text string, check func(*Config) error) {
		t.Helper()
		c, err := Parse([]byte(text), "v.yaml")
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if err := check(c); err != nil {
			t.Errorf("%s: %v", text, err)
		}
	}
	dataDir := func(want string) func(*Config) error {
		return func(c *Config) error {
			if c.DataDir != want {
				return fmt.Errorf("data_dir %q, want %q", c.DataDir, want)
			}
			return nil
		}
	}
	f("data_dir: ${VIGIL_TEST_HASH}\n", dataDir("/tmp/a #b"))
	f("data_dir: ${VIGIL_TEST_COLON} # a comment with ${UNSET_IN_COMMENT}\n", dataDir("x: y"))
	f("data_dir: '${VIGIL_TEST_QUOTE}'\n", dataDir(`it's "q"`))
	f("data_dir: \"pre ${VIGIL_TEST_QUOTE} post\"\n", dataDir(`pre it's "q" post`))
	f("data_dir: /a/$$b/${VIGIL_TEST_PORT}\n", dataDir("/a/$b/9797"))
	f("http_addr: 127.0.0.1:${VIGIL_TEST_PORT}\n", func(c *Config) error {
		if c.HTTPAddr != "127.0.0.1:9797" {
			return fmt.Errorf("http_addr %q", c.HTTPAddr)
		}
		return nil
	})
	// Typed values stay typed.
	f("metrics:\n  limits:\n    max_active_series: ${VIGIL_TEST_PORT}\n", func(c *Config) error {
		if c.Metrics.Limits.MaxActiveSeries != 9797 {
			return fmt.Errorf("max_active_series %d", c.Metrics.Limits.MaxActiveSeries)
		}
		return nil
	})
	// Flow style, which is not YAML before expansion, still works.
	f("scrape_configs: [{job_name: n, static_configs: [{targets: [${VIGIL_TEST_TARGET}]}]}]\n", func(c *Config) error {
		if got := c.Scrape.ScrapeConfigs[0].ServiceDiscoveryConfigs; len(got) != 1 {
			return fmt.Errorf("service discovery %v", got)
		}
		return nil
	})
	// Keys are not expanded; the error keeps its line.
	_, err := Parse([]byte("data_dir: x\n${VIGIL_TEST_PORT}: 1\n"), "v.yaml")
	if err == nil || !strings.Contains(err.Error(), "v.yaml:2") {
		t.Errorf("key with a reference: %v", err)
	}
	// An error in a later line keeps the file's line number.
	_, err = Parse([]byte("data_dir: ${VIGIL_TEST_HASH}\nhttp_addr: ${VIGIL_TEST_UNSET_VAR}\n"), "v.yaml")
	if err == nil || !strings.Contains(err.Error(), "v.yaml:2") {
		t.Errorf("unset var: %v", err)
	}
	// Block scalars are expanded in place.
	t.Setenv("VIGIL_TEST_WORD", "hello # not a comment")
	c, err := Parse([]byte("data_dir: |\n  ${VIGIL_TEST_WORD}\nhttp_addr: 127.0.0.1:1\n"), "v.yaml")
	if err != nil || c.DataDir != "hello # not a comment\n" || c.HTTPAddr != "127.0.0.1:1" {
		t.Errorf("block scalar: %+v %v", c, err)
	}
}

func TestScrapeConfigKeepsPrometheusSemantics(t *testing.T) {
	c, err := Parse([]byte(`
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['localhost:9100']}]
  - job_name: fast
    scrape_interval: 1s
    honor_labels: true
    file_sd_configs: [{files: ['/tmp/*.json']}]
`), "v.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.SelfScrape {
		t.Fatal("explicit scrape_configs must turn self-scrape off")
	}
	scs, err := c.Scrape.GetScrapeConfigs()
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 2 || scs[0].ScrapeInterval.String() != "5s" || scs[1].ScrapeInterval.String() != "1s" || !scs[1].HonorLabels {
		t.Fatalf("scrape configs: %+v", scs)
	}
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(p, []byte("data_dir: /var/lib/vigil\nmetrics:\n  limits:\n    max_series_per_metric: 10\n  retention:\n    max_size: 10GiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Limits.MaxSeriesPerMetric != 10 || c.Metrics.Retention.MaxSize != 10<<30 || c.File != p {
		t.Fatalf("%+v", c.Metrics)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	p := filepath.Join("..", "..", "docs", "vigil.example.yaml")
	if _, err := os.Stat(p); err != nil {
		t.Skip("docs/vigil.example.yaml not present")
	}
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.invalid/x")
	t.Setenv("PAGERDUTY_ROUTING_KEY", "key")
	if _, err := Load(p); err != nil {
		t.Fatalf("docs/vigil.example.yaml: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "http_addr: 127.0.0.1:1\n", "metrics:\n  limits:\n    max_series_per_metric: 3\n",
		"scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['x:1']}]\n",
		"data_dir: ${HOME}\n", "a: [\n", "- 1\n", "metrics: {retention: {max_age: 1d, max_size: 1GiB}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, "fuzz.yaml")
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
