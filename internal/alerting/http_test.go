package alerting

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/route"
)

// An internal error (here: the state database closed under the API) is
// answered with an error ID in the Prometheus-style envelope, never with
// the database's own text.
func TestInternalErrorAnsweredWithID(t *testing.T) {
	a, err := New(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(route.NewMux(a.Routes()))
	defer srv.Close()
	a.db.Close()
	defer a.Close()
	for _, path := range []string{"/vigil/api/v1/notifications", "/vigil/api/v1/alerts/history"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var env envelope
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != 500 || env.Status != "error" || env.ErrorType != "internal" || !strings.Contains(env.Error, "error ID") || strings.Contains(strings.ToLower(env.Error), "sql") {
			t.Fatalf("GET %s: %d %+v", path, resp.StatusCode, env)
		}
	}
}
