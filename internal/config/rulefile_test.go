package config

import (
	"strings"
	"testing"
)

// Rule file errors carry their line, as promtool's do, and each is
// reported once (issue 11 item 3).
func TestCheckRulesLines(t *testing.T) {
	f := func(text string, line int, want string) {
		t.Helper()
		errs := CheckRules([]byte(text), "r.yml")
		if len(errs) != 1 {
			t.Fatalf("%d errors, want 1: %v", len(errs), errs)
		}
		if errs[0].Line != line || !strings.Contains(errs[0].Msg, want) {
			t.Fatalf("error = %v (line %d), want line %d and %q", errs[0], errs[0].Line, line, want)
		}
	}
	const rule = "      - alert: X\n        expr: up == 0\n"
	f("groups:\n  - name: a\n    rules:\n"+rule+"  - name: a\n    rules:\n"+rule, 6, `groupname: "a" is repeated`)
	f("groups:\n  - name: a\n    rules:\n"+rule+"        annotations:\n          summary: \"{{ .Labels.foo \"\n", 7, "unclosed action")
	f("groups:\n  - name: a\n    rules:\n"+rule+"        labels:\n          x: y\n        for: 5x\n", 8, `unknown unit "x" in duration "5x"`)
	f("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up ==\n", 5, "could not parse expression")
	f("groups:\n  - name: a\n    rules:\n      - alert: X\n        exp: up\n", 5, "field exp not found")
}
