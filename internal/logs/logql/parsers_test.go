package logql

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// run parses line with one parser stage over the stream labels {app="x"}
// and returns the labels it leaves, without the stream's.
func runParser(t testing.TB, stage, line string) (map[string]string, string) {
	t.Helper()
	le, err := ParseLog(`{app="x"} | ` + stage)
	if err != nil {
		t.Fatalf("parse %q: %v", stage, err)
	}
	lbs := NewLabels()
	lbs.Reset(map[string]string{"app": "x"}, nil)
	out, _ := NewPipeline(le.Stages).Process(0, line, lbs)
	got := map[string]string{}
	for k, v := range lbs.Map() {
		if k != "app" {
			got[k] = v
		}
	}
	return got, out
}

func TestParseJSON(t *testing.T) {
	f := func(stage, line string, want map[string]string) {
		t.Helper()
		got, _ := runParser(t, stage, line)
		if want[ErrorLabel] != "" {
			// Only the error kind is pinned; details are the decoder's text.
			if got[ErrorLabel] != want[ErrorLabel] || got[ErrorDetailsLabel] == "" {
				t.Fatalf("%s on %q: %v, want __error__=%s with details", stage, line, got, want[ErrorLabel])
			}
			return
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s on %q (-want +got):\n%s", stage, line, d)
		}
	}
	f("json", `{"a":"1","b":{"c":2.50,"d":{"e":true}},"arr":[1,2],"n":null}`, map[string]string{"a": "1", "b_c": "2.50", "b_d_e": "true"})
	f("json", `{"app":"y","my-key":"v","1x":"w"}`, map[string]string{"app_extracted": "y", "my_key": "v", "_x": "w"})
	f("json", `{"msg":"ünï \"q\""}`, map[string]string{"msg": `ünï "q"`})
	f("json", `{"big":12345678901234567890}`, map[string]string{"big": "12345678901234567890"})
	f("json", `{"a":""}`, map[string]string{})
	f("json", `not json`, map[string]string{ErrorLabel: errJSON})
	f("json", `["an","array"]`, map[string]string{ErrorLabel: errJSON})
	f("json", `{"a":1`, map[string]string{ErrorLabel: errJSON})
	f(`json first="servers[0]", ua="req.headers[\"User-Agent\"]", deep="a.b.c"`,
		`{"servers":["s1","s2"],"req":{"headers":{"User-Agent":"curl"}},"a":{"b":{"c":{"x":1}}}}`,
		map[string]string{"first": "s1", "ua": "curl", "deep": `{"x":1}`})
	f(`json missing="nope.x", idx="servers[5]"`, `{"servers":["s1"]}`, map[string]string{})
	f(`json n="count"`, `{"count":3}`, map[string]string{"n": "3"})
}

func TestParseLogfmt(t *testing.T) {
	f := func(stage, line string, want map[string]string) {
		t.Helper()
		got, _ := runParser(t, stage, line)
		if want[ErrorLabel] != "" {
			if got[ErrorLabel] != want[ErrorLabel] {
				t.Fatalf("%s on %q: %v, want __error__=%s", stage, line, got, want[ErrorLabel])
			}
			delete(got, ErrorLabel)
			delete(got, ErrorDetailsLabel)
			delete(want, ErrorLabel)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s on %q (-want +got):\n%s", stage, line, d)
		}
	}
	f("logfmt", `level=info msg="hello world" dur=1.5s`, map[string]string{"level": "info", "msg": "hello world", "dur": "1.5s"})
	f("logfmt", `msg="say \"hi\"\n" x=1`, map[string]string{"msg": "say \"hi\"\n", "x": "1"})
	f("logfmt", "a=1\tb=2   c=3", map[string]string{"a": "1", "b": "2", "c": "3"})
	f("logfmt", `app=y key.with-dots=v`, map[string]string{"app_extracted": "y", "key_with_dots": "v"})
	f("logfmt", `flag empty= x=1`, map[string]string{"x": "1"})
	// An empty value is an absent label in Vigil's label sets, so
	// --keep-empty parses but cannot show its keys (Loki keeps them as "").
	f("logfmt --keep-empty", `flag empty= x=1`, map[string]string{"x": "1"})
	f("logfmt", `a=1 b="unterminated`, map[string]string{"a": "1", "b": "unterminated"})
	f("logfmt --strict", `a=1 b="unterminated`, map[string]string{"a": "1", "b": "unterminated", ErrorLabel: errLogfmt})
	f("logfmt --strict", `a=1 =2`, map[string]string{"a": "1", ErrorLabel: errLogfmt})
	f("logfmt --strict", `a=1 "quoted"=2 c=3`, map[string]string{"a": "1", "c": "3", ErrorLabel: errLogfmt})
	f("logfmt", `a=1 "quoted"=2 c=3`, map[string]string{"a": "1", "c": "3"})
	f(`logfmt lvl="level", msg`, `level=warn msg=m other=o`, map[string]string{"lvl": "warn", "msg": "m"})
	f("logfmt", ``, map[string]string{})
}

func TestPattern(t *testing.T) {
	f := func(pat, line string, want map[string]string) {
		t.Helper()
		got, _ := runParser(t, "pattern "+quote(pat), line)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("pattern %q on %q (-want +got):\n%s", pat, line, d)
		}
	}
	f(`<ip> - <_> "<method> <uri> <_>" <status>`, `10.0.0.1 - - "GET /a HTTP/1.1" 200`,
		map[string]string{"ip": "10.0.0.1", "method": "GET", "uri": "/a", "status": "200"})
	f(`<a>,<b>`, `1,2,3`, map[string]string{"a": "1", "b": "2,3"})
	f(`level=<level> `, `level=info rest`, map[string]string{"level": "info"})
	f(`x <a>`, `no match`, map[string]string{})
	f(`<a> <app>`, `1 2`, map[string]string{"a": "1", "app_extracted": "2"})
	f(`a<b <c>`, `a<b 7`, map[string]string{"c": "7"})

	bad := func(pat, want string) {
		t.Helper()
		if _, err := parsePattern(pat); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("parsePattern(%q) = %v, want error containing %q", pat, err, want)
		}
	}
	bad(``, "empty pattern")
	bad(`<a><b>`, "must be separated")
	bad(`<a> <a>`, "appears twice")

	// A line filter pattern must cover the whole line.
	p, _ := parsePattern(`<_> error <_>`)
	if _, ok := p.match("a error b", true); !ok {
		t.Fatal("whole-line match failed")
	}
	if _, ok := p.match("error b", true); ok {
		t.Fatal(`"error b" matched "<_> error <_>" as a whole line`)
	}
}

func quote(s string) string { return "`" + s + "`" }

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":"1","b":{"c":2}}`, `{"a":[1,{"b":2}],"c":null}`, `{"x y":"z","":1}`, `[1]`, `{"a":1`, `"s"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, stage := range []string{"json", `json a="a.b[0]", c="c"`, "unpack"} {
			got, _ := runParser(t, stage, line)
			checkExtracted(t, stage, line, got)
		}
	})
}

func FuzzParseLogfmt(f *testing.F) {
	for _, s := range []string{`a=1 b="x y" c`, `msg="esc \" q" =x`, `"k"=v a="`, "a=\x00 b=\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, stage := range []string{"logfmt", "logfmt --strict --keep-empty", `logfmt x="a", b`} {
			got, _ := runParser(t, stage, line)
			checkExtracted(t, stage, line, got)
		}
		n := 0
		_ = parseLogfmt(line, true, func(k, v string) {
			n++
			if k == "" {
				t.Fatalf("empty key from %q", line)
			}
		})
		if n > len(line) {
			t.Fatalf("%d pairs from %d bytes", n, len(line))
		}
	})
}

func FuzzPattern(f *testing.F) {
	f.Add(`<ip> - <_> "<method> <uri>"`, `1.2.3.4 - x "GET /"`)
	f.Add(`<a>,<b>`, `1,2,3`)
	f.Add(`x<y`, `x<y`)
	f.Fuzz(func(t *testing.T, pat, line string) {
		p, err := parsePattern(pat)
		if err != nil {
			return
		}
		vals, ok := p.match(line, true)
		if !ok {
			return
		}
		// A whole-line match is the pattern with its captures filled in.
		var b strings.Builder
		vi := 0
		for _, part := range p.parts {
			if part.capture != "" {
				b.WriteString(vals[vi])
				vi++
			} else {
				b.WriteString(part.literal)
			}
		}
		if b.String() != line {
			t.Fatalf("pattern %q matched %q with %q, which rebuilds %q", pat, line, vals, b.String())
		}
	})
}

// checkExtracted holds for every parser: the labels it sets have valid
// names, and values are valid UTF-8 when the line is.
func checkExtracted(t *testing.T, stage, line string, got map[string]string) {
	t.Helper()
	for k, v := range got {
		if k != ErrorLabel && k != ErrorDetailsLabel && !validLabelName(k) {
			t.Fatalf("%s on %q set invalid label name %q", stage, line, k)
		}
		if utf8.ValidString(line) && k != ErrorDetailsLabel && !utf8.ValidString(v) {
			t.Fatalf("%s on %q set invalid UTF-8 value %q=%q", stage, line, k, v)
		}
	}
}
