package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAlertingSection(t *testing.T) {
	c, err := Parse([]byte(`
alerting:
  delivery:
    give_up_after: 2h
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 1s
  receivers:
    - name: hook
      webhook_configs:
        - url: http://127.0.0.1:1/hook
`), "vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerting
	if a.AM == nil || a.AM.Route.Receiver != "hook" || len(a.AM.Receivers) != 1 {
		t.Fatalf("AM config not loaded: %+v", a.AM)
	}
	if a.Delivery.GiveUpAfter.D() != 2*time.Hour || a.Delivery.MinBackoff.D() != time.Second {
		t.Fatalf("delivery = %+v", a.Delivery)
	}
	if strings.Contains(a.AMText, "delivery") {
		t.Fatalf("delivery key handed to Alertmanager: %s", a.AMText)
	}
}

func TestAlertingRules(t *testing.T) {
	c, err := Parse([]byte(`
alerting:
  rules:
    for_grace_period: 2m
    resend_delay: 30s
  route: {receiver: a}
  receivers: [{name: a}]
`), "vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Rules{ForOutageTolerance: Duration(time.Hour), ForGracePeriod: Duration(2 * time.Minute), ResendDelay: Duration(30 * time.Second)}
	if c.Alerting.Rules != want {
		t.Fatalf("rules = %+v, want %+v", c.Alerting.Rules, want)
	}
	if strings.Contains(c.Alerting.AMText, "rules") {
		t.Fatalf("rules key handed to Alertmanager: %s", c.Alerting.AMText)
	}
	d, err := Parse(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if def := (Rules{Duration(time.Hour), Duration(10 * time.Minute), Duration(time.Minute)}); d.Alerting.Rules != def {
		t.Fatalf("default rules = %+v, want Prometheus's flag defaults %+v", d.Alerting.Rules, def)
	}
}

func TestAlertingDefault(t *testing.T) {
	c, err := Parse(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Alerting.AM == nil || c.Alerting.AM.Route.Receiver != "default" {
		t.Fatalf("default AM config = %+v", c.Alerting.AM)
	}
}

func TestAlertingErrors(t *testing.T) {
	f := func(text string, wantLine int, wantMsg string) {
		t.Helper()
		_, err := Parse([]byte(text), "v.yaml")
		if err == nil {
			t.Fatalf("no error for\n%s", text)
		}
		es, ok := err.(Errors)
		if !ok {
			t.Fatalf("err %T %v", err, err)
		}
		for _, e := range es {
			if e.Line == wantLine && strings.Contains(e.Error(), wantMsg) {
				return
			}
		}
		t.Fatalf("errors %v; want line %d containing %q", err, wantLine, wantMsg)
	}
	f(`
alerting:
  route:
    receiver: nope
  receivers:
    - name: hook
`, 4, `undefined receiver "nope"`)
	f(`
alerting:
  route:
    receiver: hook
    group_wiat: 1s
  receivers:
    - name: hook
`, 5, "group_wiat")
	f(`
alerting:
  delivery:
    min_backoff: 10m
    max_backoff: 1m
  route: {receiver: a}
  receivers: [{name: a}]
`, 4, "greater than max_backoff")
	f(`
alerting:
  delivery:
    giveup: 1h
  route: {receiver: a}
  receivers: [{name: a}]
`, 4, "unknown key")
	f(`
alerting:
  rules:
    for_grace: 1m
  route: {receiver: a}
  receivers: [{name: a}]
`, 4, "alerting.rules.for_grace: unknown key")
	f(`
alerting:
  rules:
    resend_delay: soon
  route: {receiver: a}
  receivers: [{name: a}]
`, 4, "invalid duration")
	f(`
alerting:
  receivers: [{name: a}]
`, 3, "no route")
	f(`
alerting: 3
`, 2, "must be a mapping")
}

func TestRuleFiles(t *testing.T) {
	dir := t.TempDir()
	good := "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 1m\n"
	bad := "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n"
	os.WriteFile(filepath.Join(dir, "good.rules.yml"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.rules.yml"), []byte(bad), 0o644)
	cfgPath := filepath.Join(dir, "vigil.yaml")
	// Parse (and so check-config, serve and reload) validates rule files.
	_, perr := Parse([]byte("rule_files: ['*.rules.yml']\n"), cfgPath)
	if perr == nil || !strings.Contains(perr.Error(), "bad.rules.yml:5") {
		t.Fatalf("Parse accepted a bad rule file: %v", perr)
	}
	c, err := Parse([]byte("rule_files: ['good.rules.yml']\n"), cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	c.RuleFiles = []string{"*.rules.yml"}
	files, err := c.RuleFilePaths()
	if err != nil || len(files) != 2 {
		t.Fatalf("files = %v, %v", files, err)
	}
	errs := c.ValidateRules()
	if len(errs) != 1 || errs[0].Line != 5 || !strings.HasSuffix(errs[0].File, "bad.rules.yml") || !strings.Contains(errs[0].Msg, "parse error") {
		t.Fatalf("errs = %v", errs)
	}
	if es := CheckRules([]byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels:\n      x: '{{ $labels. }}'\n"), "t.yml"); len(es) == 0 {
		t.Fatal("bad label template accepted")
	}
	if es := CheckRules([]byte("groups:\n- name: g\n  rulez: []\n"), "t.yml"); len(es) == 0 || es[0].Line != 3 {
		t.Fatalf("unknown field: %v", es)
	}
}

func FuzzAlertmanagerConfig(f *testing.F) {
	f.Add([]byte(DefaultAlertmanagerConfig))
	f.Add([]byte("route: {receiver: a, routes: [{matchers: ['x=~\"a|b\"'], receiver: a}]}\nreceivers: [{name: a, webhook_configs: [{url: 'http://x'}]}]\ninhibit_rules: [{source_matchers: [a=b], target_matchers: [c=d], equal: [e]}]\n"))
	f.Add([]byte("delivery: {give_up_after: 1h}\nroute: {receiver: a}\nreceivers: [{name: a}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := LoadAlertmanagerConfig(b)
		if err == nil && (x.AM == nil || x.AM.Route == nil) {
			t.Fatal("no error and no config")
		}
	})
}

func FuzzRules(f *testing.F) {
	f.Add([]byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations: {s: '{{ $value | humanize }}'}\n"))
	f.Add([]byte("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(up)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = CheckRules(b, "f.yml")
	})
}
