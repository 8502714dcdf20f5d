package logs

import (
	"strings"
	"testing"
)

func TestMiner(t *testing.T) {
	m := newMiner()
	lines := []string{
		`user alice logged in from 10.0.0.1`,
		`user bob logged in from 10.0.0.2`,
		`user carol logged in from 10.0.0.3`,
		`disk full on /var`,
		`level=info msg="GET /a" status=200 ms=12`,
		`level=info msg="GET /b" status=404 ms=3`,
		`{"level":"warn","path":"/x","ms":5}`,
		`{"level":"warn","path":"/y","ms":7}`,
	}
	got := map[string]int{}
	var order []*cluster
	for _, l := range lines {
		order = append(order, m.add(l))
	}
	for _, c := range order {
		got[c.String()]++
	}
	want := map[string]int{
		`user <_> logged in from <_>`:                3,
		`disk full on /var`:                          1,
		`level=info msg="GET <_>" status=<_> ms=<_>`: 2,
		`{"level":"warn","path":"<_>","ms":<_>}`:     2,
	}
	for p, n := range want {
		if got[p] != n {
			t.Errorf("pattern %q: %d lines, want %d (all: %v)", p, got[p], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("patterns %v, want %v", got, want)
	}
}

func TestMinerBounded(t *testing.T) {
	m := newMiner()
	for i := 0; i < 10*maxClustersPerSize; i++ {
		m.add("word" + strings.Repeat("x", i%977) + " y")
	}
	if n := len(m.bySize[3]); n > maxClustersPerSize {
		t.Fatalf("%d clusters, want at most %d", n, maxClustersPerSize)
	}
}

func TestFieldType(t *testing.T) {
	f := func(v, want string) {
		t.Helper()
		if got := fieldType(v); got != want {
			t.Errorf("fieldType(%q) = %s, want %s", v, got, want)
		}
	}
	f("200", "int")
	f("-3", "int")
	f("2.50", "float")
	f("true", "boolean")
	f("120ms", "duration")
	f("1.5s", "duration")
	f("1.5KB", "bytes")
	f("10 MiB", "bytes")
	f("GET", "string")
	f("/orders", "string")
	f("", "string")
}

// FuzzPatternTokens: a line's tokens rebuild it, with each word holding a
// digit replaced by <_>, and every token count is bounded.
func FuzzPatternTokens(f *testing.F) {
	for _, s := range []string{`level=info msg="a b" n=1`, `{"a":[1,2],"b":"c"}`, "", "   ", "a\tb\nc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		toks := patternTokens(line)
		if len(toks) > maxPatternTokens {
			t.Fatalf("%d tokens", len(toks))
		}
		if len(toks) == maxPatternTokens {
			return // the tail is folded
		}
		var b strings.Builder
		for i := 0; i < len(line); {
			j := i
			sep := isPatternSep(line[i])
			for j < len(line) && isPatternSep(line[j]) == sep {
				j++
			}
			if w := line[i:j]; !sep && strings.ContainsAny(w, "0123456789") {
				b.WriteString(wildcard)
			} else {
				b.WriteString(w)
			}
			i = j
		}
		if got := strings.Join(toks, ""); got != b.String() {
			t.Fatalf("tokens of %q rebuild %q, want %q", line, got, b.String())
		}
		m := newMiner()
		c := m.add(line)
		if m.add(line) != c {
			t.Fatalf("the same line %q went to two clusters", line)
		}
	})
}
