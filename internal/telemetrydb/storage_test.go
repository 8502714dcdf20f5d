package telemetrydb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
)

// zstdMigrations recreate the events table with a zstd message column
// when it is still empty, as the log store's migration 3 does.
var zstdMigrations = append(append([]Migration{}, testMigrations...), Migration{
	Version: 2, Name: "zstd msg", If: `SELECT count(*) = 0 FROM events`,
	SQL: `DROP TABLE events; CREATE TABLE events (ts BIGINT NOT NULL, msg VARCHAR NOT NULL USING COMPRESSION zstd, n BIGINT)`,
})

// compressions returns the compression methods of the msg column's
// segments in the partitions' files, after a checkpoint.
func compressions(t *testing.T, db *DB) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	db.partsMu.RLock()
	parts := append([]*partition(nil), db.parts...)
	db.partsMu.RUnlock()
	for _, p := range parts {
		if _, err := db.sql.Exec("CHECKPOINT " + p.alias); err != nil {
			t.Fatal(err)
		}
		rows, err := db.sql.Query(fmt.Sprintf("SELECT DISTINCT compression FROM pragma_storage_info('%s.events') WHERE column_name = 'msg'", p.alias))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			got[c] = true
		}
		rows.Close()
	}
	return got
}

func longRows(ts int64, n int) Rows {
	r := Rows{Table: "events"}
	for i := range n {
		r.Values = append(r.Values, []driver.Value{ts + int64(i), fmt.Sprintf("%d %s", i, strings.Repeat("the same words again ", 8)), int64(i)})
	}
	return r
}

func TestStorageVersionAndConditionalMigration(t *testing.T) {
	// A partition written in DuckDB's default format, with data: the
	// conditional step must leave its table (and rows) alone.
	dir := t.TempDir()
	db := open(t, testOpts(dir))
	if err := db.Append(context.Background(), longRows(1, 3000)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	opts := testOpts(dir)
	opts.Migrations = zstdMigrations
	opts.StorageVersion = "v1.2.0"
	opts.PartitionDuration = 1 << 62
	db = open(t, opts)
	if got := count(t, db, TimeRange{}, ""); got != 3000 {
		t.Fatalf("rows after upgrade: %d, want 3000", got)
	}
	var versions string
	err := db.Query(context.Background(), TimeRange{}, "SELECT string_agg(version::VARCHAR, ',' ORDER BY version) FROM p0.schema_migrations WHERE domain = 'test'", nil, func(r *sql.Rows) error {
		r.Next()
		return r.Scan(&versions)
	})
	if err != nil || versions != "1,2" {
		t.Fatalf("recorded versions %q (%v), want 1,2 (a skipped step is recorded too)", versions, err)
	}
	if c := compressions(t, db); c["ZSTD"] {
		t.Fatalf("old partition's column recreated: compressions %v", c)
	}
	db.Close()

	// A new partition gets the zstd table.
	opts.Dir = t.TempDir()
	db = open(t, opts)
	if err := db.Append(context.Background(), longRows(1, 3000)); err != nil {
		t.Fatal(err)
	}
	if c := compressions(t, db); !c["ZSTD"] {
		t.Fatalf("new partition's msg column: compressions %v, want ZSTD", c)
	}
	if got := count(t, db, TimeRange{}, "msg LIKE '2999 the same%'"); got != 1 {
		t.Fatalf("zstd rows read back: %d, want 1", got)
	}
	db.Close()

	// Without the storage version DuckDB would store it uncompressed:
	// that is what the option is for.
	opts.Dir = t.TempDir()
	opts.StorageVersion = ""
	db = open(t, opts)
	if err := db.Append(context.Background(), longRows(1, 3000)); err != nil {
		t.Fatal(err)
	}
	if c := compressions(t, db); c["ZSTD"] {
		t.Fatalf("zstd without the storage version: %v (DuckDB changed; revisit Options.StorageVersion)", c)
	}
}

func TestMigrationConditionFails(t *testing.T) {
	opts := testOpts(t.TempDir())
	opts.Migrations = append(append([]Migration{}, testMigrations...), Migration{Version: 2, Name: "bad if", If: "SELECT count(*) = 0 FROM nope", SQL: "SELECT 1"})
	_, err := Open(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "to version 2 (bad if): condition") {
		t.Fatalf("failing condition: %v", err)
	}
}

func TestSortByWithinCommit(t *testing.T) {
	opts := testOpts(t.TempDir())
	opts.Tables = []Table{{Name: "events", TimeColumn: "ts", SortBy: []string{"n", "ts"}}}
	db := open(t, opts)
	// Hold the writer until both requests are queued, so they share a commit.
	release := make(chan struct{})
	db.q.mu.Lock()
	db.q.testHook = func() { <-release }
	db.q.mu.Unlock()
	a := Rows{Table: "events", Values: [][]driver.Value{{int64(5), "a5", int64(2)}, {int64(1), "a1", int64(1)}, {int64(3), "a3", int64(2)}}}
	b := Rows{Table: "events", Values: [][]driver.Value{{int64(2), "b2", int64(1)}, {int64(4), "b4", int64(2)}, {int64(6), "b6", nil}}}
	errs := make(chan error, 2)
	go func() { errs <- db.Append(context.Background(), a) }()
	for db.q.rowsNow() < 3 {
		// the first request is queued before the second
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
	}
	go func() { errs <- db.Append(context.Background(), b) }()
	for db.q.rowsNow() < 6 {
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var order string
	err := db.Query(context.Background(), TimeRange{}, "SELECT string_agg(msg, ',' ORDER BY rowid) FROM p0.events", nil, func(r *sql.Rows) error {
		r.Next()
		return r.Scan(&order)
	})
	if err != nil {
		t.Fatal(err)
	}
	// NULL sorts first; then by n, then by ts, across both requests.
	if want := "b6,a1,b2,a3,b4,a5"; order != want {
		t.Fatalf("stored order %s, want %s", order, want)
	}
}
