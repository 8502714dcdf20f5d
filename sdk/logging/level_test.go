package logging

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzLevelHandler: any request body either sets a valid level (200) or is
// refused (400) leaving the level unchanged; nothing panics.
func FuzzLevelHandler(f *testing.F) {
	for _, s := range []string{`{"level":"debug"}`, `{"level":"INFO+2"}`, `{"level":7}`, `not json`, `{}`, `{"level":"warn"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		lv := new(slog.LevelVar)
		lv.Set(slog.LevelError)
		rec := httptest.NewRecorder()
		LevelHandler(lv).ServeHTTP(rec, httptest.NewRequest("PUT", "/", strings.NewReader(body)))
		switch rec.Code {
		case 200:
			if !strings.Contains(rec.Body.String(), lv.Level().String()) {
				t.Fatalf("200 body %q does not report level %v", rec.Body, lv.Level())
			}
		case 400:
			if lv.Level() != slog.LevelError {
				t.Fatalf("refused request changed the level to %v", lv.Level())
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
