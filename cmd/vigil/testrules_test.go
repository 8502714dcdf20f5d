package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRuleCommands(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 2m\n")
	bad := write("bad.yml", "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up ==\n")
	test := write("test.yml", `rule_files: [good.yml]
tests:
  - interval: 1m
    input_series:
      - {series: 'up{job="a"}', values: '0x5'}
    alert_rule_test:
      - {eval_time: 3m, alertname: Down, exp_alerts: [{exp_labels: {job: a}}]}
`)
	f := func(args []string, wantCode int, wantOut string) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		code := 0
		if err != nil {
			code = exitCode(err)
		}
		if code != wantCode || !strings.Contains(out.String()+errOut.String(), wantOut) {
			t.Fatalf("%v: exit %d (%v), want %d with %q\nstdout: %s\nstderr: %s", args, code, err, wantCode, wantOut, out.String(), errOut.String())
		}
	}
	f([]string{"check-rules", good}, 0, "good.yml: OK")
	f([]string{"check-rules", good, bad}, 1, `bad.yml:5: group "g", rule 1 (Down): could not parse expression`)
	f([]string{"check-rules"}, 2, "usage")
	f([]string{"test-rules", test}, 0, "SUCCESS")
	f([]string{"test-rules"}, 2, "usage")
	f([]string{"test-rules", filepath.Join(dir, "missing.yml")}, 1, "FAILED")
}
