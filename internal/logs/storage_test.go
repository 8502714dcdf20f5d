package logs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// lineCompressions checkpoints the store's partitions and returns the
// compression methods of their line column.
func lineCompressions(t *testing.T, s *Store) map[string]int {
	t.Helper()
	got := map[string]int{}
	for seq := int64(0); seq <= s.db.CurrentPartition(); seq++ {
		if err := s.db.Exec(context.Background(), fmt.Sprintf("CHECKPOINT p%d", seq)); err != nil {
			continue // dropped or never made
		}
		err := s.db.Query(context.Background(), telemetrydb.TimeRange{}, fmt.Sprintf("SELECT compression, count(*) FROM pragma_storage_info('p%d.logs') WHERE column_name = 'line' AND compression <> 'Constant' GROUP BY 1", seq), nil, func(r *sql.Rows) error {
			for r.Next() {
				var c string
				var n int
				if err := r.Scan(&c, &n); err != nil {
					return err
				}
				got[c] += n
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func pushLines(t *testing.T, s *Store, app string, ts int64, n int) {
	t.Helper()
	st := Stream{Labels: []Label{{"app", app}}}
	for i := range n {
		st.Entries = append(st.Entries, Entry{Timestamp: ts + int64(i), Line: fmt.Sprintf(`{"level":"info","msg":"request %d served","path":"/api/v1/orders","status":200}`, i)})
	}
	if rej, msg, err := s.AppendStreams(context.Background(), []Stream{st}); err != nil || rej != 0 {
		t.Fatal(rej, msg, err)
	}
}

func TestLinesStoredWithZstd(t *testing.T) {
	s := openStore(t, Options{})
	pushLines(t, s, "api", t0, 5000)
	if c := lineCompressions(t, s); c["ZSTD"] == 0 || len(c) != 1 {
		t.Fatalf("line column of a new partition: %v, want ZSTD segments only", c)
	}
	res, err := s.Query(context.Background(), Query{Expr: `{app="api"} |= "request 4321 served"`, Start: t0, End: t0 + 5000, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(lineValues(res)); got != `[{"level":"info","msg":"request 4321 served","path":"/api/v1/orders","status":200}]` {
		t.Fatalf("lines read back: %s", got)
	}
}

// A partition written before migration 3 (DuckDB's default storage format,
// FSST lines) stays readable, and takes new records until it is done.
func TestPartitionBeforeZstdReadable(t *testing.T) {
	dir := t.TempDir()
	old, err := telemetrydb.Open(context.Background(), telemetrydb.Options{
		Dir: dir, Domain: "logs", MemoryLimitBytes: 256 << 20,
		Tables:     []telemetrydb.Table{{Name: "logs", TimeColumn: "ts"}, {Name: "log_streams"}, {Name: "log_blocks"}},
		Migrations: migrations[:2],
	})
	if err != nil {
		t.Fatal(err)
	}
	labels := []Label{{"app", "old"}}
	var rows [][]driver.Value
	for i := range 3000 {
		rows = append(rows, []driver.Value{t0 + int64(i), int64(42), levelCode("info"), fmt.Sprintf("old line %d of the previous format", i), nil, nil, nil, nil, nil, nil, uint32(0), nil})
	}
	err = old.Append(context.Background(), telemetrydb.Rows{Table: "logs", Values: rows}, telemetrydb.Rows{Table: "log_streams", Values: [][]driver.Value{{int64(42), streamKey(labels)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := openStore(t, Options{Dir: dir, PartitionDuration: 1000 * time.Hour})
	pushLines(t, s, "new", t0+10_000, 3000)
	for q, want := range map[string]string{
		`{app="old"} |= "old line 2999 "`: `[old line 2999 of the previous format]`,
		`{app="new"} |= "request 2999 "`:  `[{"level":"info","msg":"request 2999 served","path":"/api/v1/orders","status":200}]`,
	} {
		res, err := s.Query(context.Background(), Query{Expr: q, Start: t0, End: t0 + 20_000, Limit: 10})
		if err != nil {
			t.Fatal(q, err)
		}
		if got := fmt.Sprint(lineValues(res)); got != want {
			t.Fatalf("%s: %s, want %s", q, got, want)
		}
	}
	if c := lineCompressions(t, s); c["ZSTD"] != 0 {
		t.Fatalf("the old partition's table was recreated: %v", c)
	}
	h := apiHandler(s)
	body := getOK(t, h, "/loki/api/v1/query", url.Values{"query": {`sum(count_over_time({app=~"old|new"}[1h]))`}, "time": {fmt.Sprint(t0 + 20_000)}})
	if !strings.Contains(body, `"6000"`) {
		t.Fatalf("counts over both: %s", body)
	}
}

func lineValues(res *Result) []string {
	var out []string
	for _, st := range res.Streams {
		for _, e := range st.Entries {
			out = append(out, e.Line)
		}
	}
	return out
}

func getOK(t *testing.T, h http.Handler, path string, q url.Values) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path+"?"+q.Encode(), nil))
	if w.Code != 200 {
		t.Fatalf("%s %v: %d %s", path, q, w.Code, w.Body)
	}
	return w.Body.String()
}
