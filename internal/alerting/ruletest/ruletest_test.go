package ruletest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRun(t *testing.T) {
	f := func(file string, want int, wantOut string) {
		t.Helper()
		var out, errOut, junit bytes.Buffer
		got := Run(&out, &errOut, Options{JUnit: &junit}, filepath.Join("testdata", file))
		if got != want {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", file, got, want, out.String(), errOut.String())
		}
		if wantOut != "" && !strings.Contains(out.String()+errOut.String(), wantOut) {
			t.Fatalf("%s: output lacks %q:\n%s%s", file, wantOut, out.String(), errOut.String())
		}
		if !strings.Contains(junit.String(), "<testsuites") {
			t.Fatalf("no JUnit report: %s", junit.String())
		}
	}
	f("unittest.yml", 0, "SUCCESS")
	f("long-period.yml", 0, "SUCCESS")
	f("failing.yml", 1, "FAILED")
	f("bad-input-series.yml", 1, "FAILED")
	f("bad-promql.yml", 1, "FAILED")
	f("bad-rules-error-test.yml", 1, "FAILED")
}

func TestOwnFormat(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r.yml"), []byte(`groups:
  - name: g
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} down"}
`), 0o644)
	test := func(expSeverity string) string {
		return `rule_files: [r.yml]
evaluation_interval: 1m
tests:
  - name: down
    interval: 1m
    input_series:
      - series: 'up{instance="a", job="j"}'
        values: '1 0x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: InstanceDown
        exp_alerts: []
      - eval_time: 7m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: ` + expSeverity + `, instance: a, job: j}
            exp_annotations: {summary: "a down"}
    promql_expr_test:
      - expr: sum(up)
        eval_time: 2m
        exp_samples:
          - labels: '{}'
            value: 0
`
	}
	os.WriteFile(filepath.Join(dir, "pass.yml"), []byte(test("page")), 0o644)
	os.WriteFile(filepath.Join(dir, "fail.yml"), []byte(test("ticket")), 0o644)
	var out, errOut bytes.Buffer
	if code := Run(&out, &errOut, Options{}, filepath.Join(dir, "pass.yml")); code != 0 {
		t.Fatalf("pass.yml: %d\n%s", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := Run(&out, &errOut, Options{}, filepath.Join(dir, "fail.yml")); code != 1 || !strings.Contains(errOut.String(), "alertname: InstanceDown, time: 7m") {
		t.Fatalf("fail.yml: %d\n%s", code, errOut.String())
	}
	// --run filters groups.
	out.Reset()
	errOut.Reset()
	if code := Run(&out, &errOut, Options{Run: []string{"^nomatch$"}}, filepath.Join(dir, "fail.yml")); code != 0 {
		t.Fatalf("filtered run: %d\n%s", code, errOut.String())
	}
	if code := Run(&out, &errOut, Options{}, filepath.Join(dir, "missing.yml")); code != 1 {
		t.Fatalf("missing file: %d", code)
	}
}

// Each Run writes its --debug output, the data dump included, to its own
// stderr, also when runs overlap (the writer was a package variable that
// each Run reassigned, and the dump went to the process's stderr).
func TestDebugOutputPerRun(t *testing.T) {
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 4)
	for i := range outs {
		wg.Go(func() {
			Run(io.Discard, &outs[i], Options{Debug: true}, filepath.Join("testdata", "unittest.yml"))
		})
	}
	wg.Wait()
	want := outs[0].String()
	if !strings.Contains(want, "DEBUG: Starting test") || !strings.Contains(want, "DEBUG: Dump of all data") || !strings.Contains(want, "{__name__=") {
		t.Fatalf("debug output lacks the start line or the data dump:\n%.2000s", want)
	}
	for i := range outs {
		if got := strings.Count(outs[i].String(), "DEBUG: Starting test"); got != strings.Count(want, "DEBUG: Starting test") {
			t.Fatalf("run %d wrote %d start lines, run 0 %d", i, got, strings.Count(want, "DEBUG: Starting test"))
		}
	}
}
