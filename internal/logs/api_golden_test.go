package logs

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/route"
)

// apiCalls are the requests TestLokiAPIGolden records: every endpoint of the
// Loki query API and Vigil's log API with the parameters clients send, and
// the ways a request can be wrong. The answers (status, content type and
// body, byte for byte) are pinned in testdata/api.golden, so moving code
// between handlers and the store cannot change what a client sees.
var apiCalls = []struct {
	method, path string
	params       url.Values
}{
	{"GET", "/loki/api/v1/query", url.Values{"query": {"vector(1)+vector(1)"}}},
	{"POST", "/loki/api/v1/query", url.Values{"query": {`sum by (app) (count_over_time({app=~".+"}[5m]))`}}},
	{"GET", "/loki/api/v1/query", url.Values{"query": {`{app="api"} |= "orders"`}, "limit": {"3"}, "direction": {"forward"}}},
	{"GET", "/loki/api/v1/query", url.Values{"query": {`1+1`}, "time": {"1704067500"}}},
	{"GET", "/loki/api/v1/query", url.Values{"query": {`{app="api"} |= `}}},
	{"GET", "/loki/api/v1/query", url.Values{}},
	{"GET", "/loki/api/v1/query", url.Values{"query": {`{app="api"}`}, "limit": {"-1"}}},
	{"GET", "/loki/api/v1/query", url.Values{"query": {`{app="api"}`}, "limit": {"100000"}}},
	{"GET", "/loki/api/v1/query", url.Values{"query": {`{app="api"}`}, "direction": {"sideways"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`{app="db"}`}, "limit": {"2"}, "direction": {"forward"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`{env="prod"} | json | status >= 500`}, "start": {"2024-01-01T00:00:00Z"}, "end": {"2024-01-01T00:05:00Z"}, "limit": {"5"}}},
	{"POST", "/loki/api/v1/query_range", url.Values{"query": {`sum by (level) (count_over_time({app=~".+"}[5m]))`}, "step": {"300"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`rate({app="api"}[1m])`}, "since": {"5m"}, "step": {"1m"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`count_over_time({app="api"}[1m])`}, "start": {"1704067200000"}, "end": {"1704067500000000000"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`{app="api"}`}, "start": {"yesterday"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`{app="api"}`}, "step": {"-1"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`{app="api"}`}, "since": {"x"}}},
	{"GET", "/loki/api/v1/query_range", url.Values{"query": {`{app="api"}`}, "start": {"1704067500"}, "end": {"1704067200"}}},
	{"GET", "/loki/api/v1/labels", nil},
	{"GET", "/loki/api/v1/labels", url.Values{"query": {`{app="db"}`}}},
	{"POST", "/loki/api/v1/labels", url.Values{"start": {"1704067200"}, "end": {"1704067260"}}},
	{"GET", "/loki/api/v1/labels", url.Values{"query": {`{app=`}}},
	{"GET", "/loki/api/v1/label/app/values", nil},
	{"GET", "/loki/api/v1/label/env/values", url.Values{"query": {`{env="dev"}`}}},
	{"GET", "/loki/api/v1/label/nope/values", nil},
	{"GET", "/loki/api/v1/series", url.Values{"match[]": {`{app="api"}`}}},
	{"GET", "/loki/api/v1/series", url.Values{"match[]": {`{app="api"}`, `{app="db"}`, `{app=~"a.+"}`}}},
	{"POST", "/loki/api/v1/series", url.Values{"match": {`{service_name=~".+"}`}}},
	{"GET", "/loki/api/v1/series", nil},
	{"GET", "/loki/api/v1/series", url.Values{"match[]": {`{}`}}},
	{"GET", "/loki/api/v1/index/stats", url.Values{"query": {`{app="api"}`}}},
	{"GET", "/loki/api/v1/index/stats", url.Values{"query": {`{app="nope"}`}}},
	{"GET", "/loki/api/v1/index/stats", url.Values{"query": {`{app=~".+"}`}, "start": {"1704067200"}, "end": {"1704067320"}}},
	{"GET", "/loki/api/v1/index/stats", nil},
	{"GET", "/loki/api/v1/index/volume", url.Values{"query": {`{app=~".+"}`}}},
	{"GET", "/loki/api/v1/index/volume", url.Values{"query": {`{app=~".+"}`}, "aggregateBy": {"labels"}}},
	{"GET", "/loki/api/v1/index/volume", url.Values{"query": {`{app=~".+"}`}, "targetLabels": {"env"}, "limit": {"1"}}},
	{"GET", "/loki/api/v1/index/volume", url.Values{"query": {`{service_name=~".+"}`}}},
	{"GET", "/loki/api/v1/index/volume_range", url.Values{"query": {`{app=~".+"}`}, "step": {"5m"}}},
	{"POST", "/loki/api/v1/index/volume_range", url.Values{"query": {`{app="api"}`}, "targetLabels": {"env"}, "start": {"1704067200"}, "end": {"1704067800"}, "step": {"120"}}},
	{"GET", "/loki/api/v1/index/volume", url.Values{"query": {`{app="api"}`}, "limit": {"x"}}},
	{"GET", "/loki/api/v1/detected_fields", url.Values{"query": {`{env="prod"}`}}},
	{"GET", "/loki/api/v1/detected_fields", url.Values{"query": {`{env="dev"}`}, "line_limit": {"5"}}},
	{"GET", "/loki/api/v1/detected_fields", url.Values{"query": {`{service_name="checkout"}`}}},
	{"GET", "/loki/api/v1/detected_fields", url.Values{"query": {`count_over_time({a="b"}[1m])`}}},
	{"GET", "/loki/api/v1/detected_field/user_id/values", url.Values{"query": {`{env="prod"}`}}},
	{"GET", "/loki/api/v1/detected_fields/level", url.Values{"query": {`{env="dev"}`}}},
	{"POST", "/loki/api/v1/detected_fields/nope/values", url.Values{"query": {`{env="dev"}`}}},
	{"GET", "/loki/api/v1/patterns", url.Values{"query": {`{app=~".+"}`}, "step": {"5m"}}},
	{"GET", "/loki/api/v1/patterns", url.Values{"query": {`{env="dev"} |= "error"`}, "start": {"1704067200"}, "end": {"1704067800"}, "step": {"300"}}},
	{"GET", "/loki/api/v1/patterns", url.Values{"query": {`sum(rate({a="b"}[1m]))`}}},
	{"GET", "/loki/api/v1/format_query", url.Values{"query": {`sum(rate({app="api"}|="x"[5m]))by(env)`}}},
	{"POST", "/loki/api/v1/format_query", url.Values{"query": {`{app="api"} | json | status>=500 or level="error"`}}},
	{"GET", "/loki/api/v1/format_query", url.Values{"query": {`{app=`}}},
	{"GET", "/loki/api/v1/detected_labels", nil},
	{"GET", "/loki/api/v1/detected_labels", url.Values{"query": {`{app="api"}`}}},
	{"GET", "/loki/api/v1/status/buildinfo", nil},
	{"GET", "/vigil/api/v1/logs", url.Values{"trace_id": {"ab000000000000000000000000000001"}}},
	{"GET", "/vigil/api/v1/logs", url.Values{"trace_id": {"AB000000000000000000000000000002"}, "limit": {"2"}}},
	{"GET", "/vigil/api/v1/logs", url.Values{"trace_id": {"0000000000000000000000000000000a"}, "start": {"1704067200"}, "end": {"1704067800"}}},
	{"GET", "/vigil/api/v1/logs", url.Values{"trace_id": {"xyz"}}},
	{"GET", "/vigil/api/v1/logs", nil},
}

// volatileStats are the query-statistics fields that depend on timing.
var volatileStats = regexp.MustCompile(`"(bytesProcessedPerSecond|linesProcessedPerSecond|execTime)":[-+0-9.e]+`)

// internalErrorID is the per-answer ID in internal error messages.
var internalErrorID = regexp.MustCompile(`error ID [0-9a-f]{16}`)

func TestLokiAPIGolden(t *testing.T) {
	s := openStore(t, Options{Now: func() time.Time { return time.Unix(0, t0+int64(10*time.Minute)) }})
	fixture(t, s)
	h := apiHandler(s)
	var out bytes.Buffer
	for _, c := range apiCalls {
		var r *http.Request
		if c.method == "POST" {
			r = httptest.NewRequest("POST", c.path, strings.NewReader(c.params.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest("GET", c.path+"?"+c.params.Encode(), nil)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := volatileStats.ReplaceAllString(w.Body.String(), `"$1":0`)
		body = internalErrorID.ReplaceAllString(body, "error ID X")
		fmt.Fprintf(&out, "### %s %s?%s\n%d %s\n%s\n", c.method, c.path, c.params.Encode(), w.Code, w.Header().Get("Content-Type"), strings.TrimRight(body, "\n"))
	}
	checkGolden(t, "api.golden", out.Bytes())
}

// apiHandler serves the store's routes.
func apiHandler(s *Store) http.Handler { return route.NewMux(s.Routes()) }

// checkGolden compares got with testdata/name (rewritten with -update) and
// reports the first line that differs.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(want, got) {
		wl := strings.Split(string(want), "\n")
		gl := strings.Split(string(got), "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Fatalf("%s: mismatch at line %d:\nwant %s\ngot  %s\n(run go test -update after checking)", name, i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d", name, len(gl), len(wl))
	}
}
