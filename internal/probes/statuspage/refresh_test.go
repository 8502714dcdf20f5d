package statuspage

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

func TestRefreshParam(t *testing.T) {
	f := func(in string, want int, ok bool) {
		t.Helper()
		got, err := refreshParam(in)
		if (err == nil) != ok || got != want {
			t.Fatalf("refreshParam(%q) = %d, %v; want %d, ok %v", in, got, err, want, ok)
		}
	}
	f("", 0, true)
	f("60", 60, true)
	f("10", 10, true)
	f("3600", 3600, true)
	f("9", 0, false)
	f("3601", 0, false)
	f("1m", 0, false)
	f("-60", 0, false)
	f("on", 0, false)
}

func FuzzRefreshParam(f *testing.F) {
	for _, s := range []string{"", "60", "9", "1m", "+60", " 60", "060"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := refreshParam(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("%q: %d with an error", s, n)
			}
			return
		}
		if s == "" {
			if n != 0 {
				t.Fatalf("empty: %d", n)
			}
			return
		}
		if v, aerr := strconv.Atoi(s); aerr != nil || v != n || n < 10 || n > 3600 {
			t.Fatalf("%q: accepted as %d", s, n)
		}
	})
}

// The page refreshes itself only when asked to (?refresh=SECONDS), and
// says how to turn it on and off; a bad value is refused, naming it.
func TestHTTPRefresh(t *testing.T) {
	p, _ := newPage(t, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), nil)
	h := mux(p)
	code, _, body := get(t, h, "/status")
	if code != 200 || bytes.Contains(body, []byte(`http-equiv="refresh"`)) || !bytes.Contains(body, []byte(`href="/status?refresh=60"`)) {
		t.Fatalf("/status: %d, refresh tag or link wrong:\n%s", code, body)
	}
	code, _, body = get(t, h, "/status?refresh=60")
	if code != 200 || !bytes.Contains(body, []byte(`<meta http-equiv="refresh" content="60">`)) || !bytes.Contains(body, []byte(`refreshes every 60 s`)) {
		t.Fatalf("/status?refresh=60: %d:\n%s", code, body)
	}
	code, _, body = get(t, h, "/status?refresh=1")
	if code != 400 || !bytes.Contains(body, []byte(`refresh must be a whole number of seconds from 10 to 3600`)) || !bytes.Contains(body, []byte(`"1"`)) {
		t.Fatalf("/status?refresh=1: %d %s", code, body)
	}
}
