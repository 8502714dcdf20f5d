package logql

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	f := func(q, want string) {
		t.Helper()
		e, err := Parse(q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		if got := e.String(); got != want {
			t.Fatalf("Parse(%q).String() =\n  %s\nwant\n  %s", q, got, want)
		}
		// The rendering parses back to the same rendering.
		e2, err := Parse(e.String())
		if err != nil {
			t.Fatalf("re-parse %q: %v", e.String(), err)
		}
		if e2.String() != want {
			t.Fatalf("re-parse of %q gave %q", want, e2.String())
		}
	}
	f(`{app="api"}`, `{app="api"}`)
	f(`{app="api", env!="dev", pod=~"a.*", ns!~"kube-.*"}`, `{app="api", env!="dev", pod=~"a.*", ns!~"kube-.*"}`)
	f("{app=`a\\b`} |= `x\"y`", `{app="a\\b"} |= "x\"y"`)
	f(`{app="api"} |= "err" != "timeout" |~ "5.." !~ "(?i)debug"`, `{app="api"} |= "err" != "timeout" |~ "5.." !~ "(?i)debug"`)
	f(`{app="api"} |= "a" or "b"`, `{app="api"} |= "a" or "b"`)
	f(`{app="api"} |= ip("10.0.0.0/8")`, `{app="api"} |= ip("10.0.0.0/8")`)
	f(`{app="api"} | json`, `{app="api"} | json`)
	f(`{app="api"} | json first="servers[0]", ua="request.headers[\"User-Agent\"]"`, `{app="api"} | json first="servers[0]", ua="request.headers[\"User-Agent\"]"`)
	f(`{app="api"} | logfmt --strict --keep-empty`, `{app="api"} | logfmt --strict --keep-empty`)
	f(`{app="api"} | logfmt status, dur="duration"`, `{app="api"} | logfmt status, dur="duration"`)
	f(`{app="api"} | regexp "(?P<method>\\w+) (?P<path>\\S+)"`, `{app="api"} | regexp "(?P<method>\\w+) (?P<path>\\S+)"`)
	f(`{app="api"} | pattern "<ip> - <_> \"<method> <uri>\""`, `{app="api"} | pattern "<ip> - <_> \"<method> <uri>\""`)
	f(`{app="api"} | json | level="error" and status >= 500 or duration > 1.5s, size < 10KB`,
		`{app="api"} | json | ((level="error" and status>=500) or (duration>1.5s and size<10KB))`)
	f(`{app="api"} | logfmt | (a="1" or b="2") c=~"x.*"`, `{app="api"} | logfmt | ((a="1" or b="2") and c=~"x.*")`)
	f(`{app="api"} | line_format "{{.level}}: {{__line__}}" | label_format lvl=level, x="{{.a}}-{{.b}}"`,
		`{app="api"} | line_format "{{.level}}: {{__line__}}" | label_format lvl=level, x="{{.a}}-{{.b}}"`)
	f(`{app="api"} | drop a, b="x" | keep c, d`, `{app="api"} | drop a, b="x" | keep c, d`)
	f(`{app="api"} | decolorize | addr = ip("192.168.0.1-192.168.0.9")`, `{app="api"} | decolorize | addr=ip("192.168.0.1-192.168.0.9")`)
	f(`count_over_time({app="api"}[5m])`, `count_over_time({app="api"} [5m])`)
	f(`rate({app="api"} |= "x" [1m] offset 1h)`, `rate({app="api"} |= "x" [1m] offset 1h)`)
	f(`count_over_time(({app="api"} | json)[5m])`, `count_over_time({app="api"} | json [5m])`)
	f(`sum by (level, detected_level) (count_over_time({app="api"} | drop __error__[1m]))`,
		`sum by (level, detected_level) (count_over_time({app="api"} | drop __error__ [1m]))`)
	f(`sum(rate({app="api"}[5m])) by (pod)`, `sum by (pod) (rate({app="api"} [5m]))`)
	f(`quantile_over_time(0.99, {app="api"} | logfmt | unwrap duration(latency) | __error__="" [5m]) by (path)`,
		`quantile_over_time(0.99, {app="api"} | logfmt | unwrap duration(latency) | __error__="" [5m]) by (path)`)
	f(`topk(3, sum without (pod) (bytes_rate({app=~".+"}[1h])))`, `topk (3, sum without (pod) (bytes_rate({app=~".+"} [1h])))`)
	f(`vector(1)+vector(1)`, `(vector(1) + vector(1))`)
	f(`1 + 2 * 3 ^ 2 ^ 1`, `(1 + (2 * (3 ^ (2 ^ 1))))`)
	f(`-1`, `-1`)
	f(`sum(count_over_time({a="b"}[1m])) / on(x) group_left(y) sum(count_over_time({a="c"}[1m])) > bool 0.5`,
		`((sum (count_over_time({a="b"} [1m])) / on(x) group_left(y) sum (count_over_time({a="c"} [1m]))) > bool 0.5)`)
	f(`count_over_time({a="b"}[1m]) or vector(0)`, `(count_over_time({a="b"} [1m]) or vector(0))`)
	f(`label_replace(rate({a="b"}[1m]), "dst", "$1", "a", "(.*)")`, `label_replace(rate({a="b"} [1m]), "dst", "$1", "a", "(.*)")`)
	f(`absent_over_time({a="b"}[1d])`, `absent_over_time({a="b"} [1d])`)
	f("{a=\"b\"} # comment\n |= \"x\"", `{a="b"} |= "x"`)
	f(`{a="b"} | json | status == 200 | status != -1`, `{a="b"} | json | status==200 | status!=-1`)
}

func TestParseErrors(t *testing.T) {
	f := func(q, want string, col int) {
		t.Helper()
		_, err := Parse(q)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded, want error containing %q", q, want)
		}
		pe, ok := err.(*ParseError)
		if !ok {
			t.Fatalf("Parse(%q) error %T, want *ParseError", q, err)
		}
		if !strings.Contains(err.Error(), want) || pe.Col != col {
			t.Fatalf("Parse(%q) = %q (col %d), want containing %q at col %d", q, err, pe.Col, want, col)
		}
	}
	f(``, "unexpected end of query, expected a stream selector", 1)
	f(`{}`, "at least one matcher", 1)
	f(`{a=""}`, "does not match the empty string", 1)
	f(`{a="b"`, "expected ',' or '}'", 7)
	f(`{a="b"} |= `, "expected a quoted string after |=", 12)
	f(`{a="b"} | foo`, "expected a comparison after label \"foo\"", 14)
	f(`{a="b"} |~ "(" `, "invalid regular expression", 12)
	f(`{a=~"("}`, "invalid regular expression", 5)
	f(`count_over_time({a="b"})`, "expected a range such as [5m]", 24)
	f(`count_over_time({a="b"}[5x])`, "not a number, duration", 25)
	f(`sum_over_time({a="b"}[5m])`, "needs an unwrapped label", 1)
	f(`count_over_time({a="b"} | unwrap x [5m])`, "does not take | unwrap", 1)
	f(`{a="b"} | unwrap x`, "only allowed inside a range aggregation", 11)
	f(`sum({a="b"})`, "needs a metric query", 5)
	f(`{a="b"} + 1`, "needs metric queries on both sides", 9)
	f(`1 > 2`, "must use the bool modifier", 3)
	f(`quantile_over_time(2, {a="b"} | unwrap x [1m])`, "between 0 and 1", 20)
	f(`topk(0, rate({a="b"}[1m]))`, "positive integer", 6)
	f(`{a="b"} | regexp "(\\w+)"`, "named capture", 18)
	f(`{a="b"} | line_format "{{.a"`, "invalid line_format template", 23)
	f(`"abc`, "unterminated string", 1)
	f(`{a="b"} $`, "unexpected character", 9)
	f("{a=\"b\"}\n| json | x > \"s\"", "compares numbers", 12)
	f(`rate({a="b"}[1m]) by (x)`, "only allowed with | unwrap", 1)
	f(`count_over_time({a="b"}[0s])`, "range must be positive", 25)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{app="api"} |= "err" | json | status >= 500 | line_format "{{.msg}}"`,
		`sum by (level) (count_over_time({app=~".+"} | logfmt | drop __error__ [5m]))`,
		`quantile_over_time(0.9, {a="b"} | unwrap bytes(size) [1m]) by (x) > 10`,
		`topk(2, rate({a="b"} |= ip("10.0.0.1") [1m])) or vector(0)`,
		`{a="b"} | pattern "<a> <_> \"<c>\"" | label_format x="{{.a}}" | keep x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		// A parser must not hang: fail loudly with the input if it does.
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				panic(fmt.Sprintf("Parse hangs on %q", q))
			}
		}()
		defer close(done)
		e, err := Parse(q)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		s := e.String()
		e2, err := Parse(s)
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", s, q, err)
		}
		if e2.String() != s {
			t.Fatalf("rendering not stable: %q -> %q", s, e2.String())
		}
	})
}

// TestStageFollowers: after every stage a line filter, a label filter and
// another stage parse (issue 10 item 11: "| decolorize |= ..." did not),
// in log queries and inside range aggregations, and render back to
// themselves.
func TestStageFollowers(t *testing.T) {
	stages := []string{
		"json", `json a="b.c"`, "logfmt", "logfmt --strict", "logfmt --keep-empty", `logfmt a, b="c"`, "unpack",
		`regexp "(?P<a>\\w+)"`, `pattern "<a> <_>"`, `line_format "{{.a}}"`, `label_format a=b`, `label_format a="{{.b}}"`,
		"drop a", `drop a="x"`, "keep a, b", "decolorize", `a="b"`, `a>5`, `a=ip("10.0.0.0/8")`, `(a="b" or c="d")`,
	}
	followers := []string{
		`|= "x"`, `!= "x"`, `|~ "x"`, `!~ "x"`, `|> "<_> x <_>"`, `!> "<_> x <_>"`, `|= ip("10.0.0.1")`,
		`| a="b"`, `| a!="b"`, `| a=~"b.*"`, `| a!~"b.*"`, `| a>=1`, `| a>1s`, `| a<=1KB`,
		"| json", "| logfmt", `| regexp "(?P<z>.)"`, `| pattern "<z>"`, `| line_format "{{.a}}"`, "| label_format z=a",
		"| drop z", "| keep z", "| decolorize", "| unpack",
	}
	for _, st := range stages {
		for _, fo := range followers {
			for _, q := range []string{
				`{app="x"} | ` + st + " " + fo,
				`count_over_time({app="x"} | ` + st + " " + fo + " [1m])",
				`sum_over_time({app="x"} | ` + st + " " + fo + " | unwrap a [1m])",
			} {
				e, err := Parse(q)
				if err != nil {
					t.Errorf("Parse(%q): %v", q, err)
					continue
				}
				le := e
				if ra, ok := e.(*RangeAggr); ok {
					le = ra.Log
				}
				want := 2
				if (strings.HasPrefix(st, "drop") || strings.HasPrefix(st, "keep")) && !strings.Contains(st, "=") && (strings.HasPrefix(fo, "!=") || strings.HasPrefix(fo, "!~")) {
					want = 1 // "drop a != "x"" is drop's matcher form, as in Loki
				}
				if n := len(le.(*LogExpr).Stages); n != want {
					t.Errorf("Parse(%q): %d stages, want %d: %s", q, n, want, e)
				}
				if e2, err := Parse(e.String()); err != nil || e2.String() != e.String() {
					t.Errorf("rendering %q of %q: %v", e.String(), q, err)
				}
			}
		}
	}
}
