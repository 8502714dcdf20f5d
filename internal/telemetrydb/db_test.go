package telemetrydb

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/internal/apierr"
)

func TestMain(m *testing.M) {
	if os.Getenv("TELEMETRYDB_KILL_CHILD") != "" {
		killChild()
		return
	}
	goleak.VerifyTestMain(m)
}

var testMigrations = []Migration{
	{Version: 1, Name: "events", SQL: `CREATE TABLE events (ts BIGINT NOT NULL, msg VARCHAR NOT NULL, n BIGINT)`},
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testOpts(dir string) Options {
	return Options{
		Dir:              dir,
		Domain:           "test",
		Tables:           []Table{{Name: "events", TimeColumn: "ts"}},
		Migrations:       testMigrations,
		MemoryLimitBytes: 256 << 20,
		Threads:          2,
	}
}

func open(t *testing.T, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func rows(ts int64, n int, msg string) Rows {
	r := Rows{Table: "events"}
	for i := range n {
		r.Values = append(r.Values, []driver.Value{ts + int64(i), msg, int64(i)})
	}
	return r
}

func count(t *testing.T, db *DB, tr TimeRange, where string) int64 {
	t.Helper()
	var n int64
	q := "SELECT count(*) FROM {{events}}"
	if where != "" {
		q += " WHERE " + where
	}
	err := db.Query(context.Background(), tr, q, nil, func(r *sql.Rows) error {
		r.Next()
		return r.Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAppendQueryReopen(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opts := testOpts(dir)
	opts.Registerer = reg
	db, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	const callers, per = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Append(context.Background(), rows(int64(c*1000), per, fmt.Sprintf("caller %d", c)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, db, TimeRange{}, ""); got != callers*per {
		t.Fatalf("stored %d rows, want %d", got, callers*per)
	}
	commits := testutil.ToFloat64(db.metrics.commits)
	if commits < 1 || commits > callers {
		t.Fatalf("commits = %v, want between 1 and %d", commits, callers)
	}
	t.Logf("%d requests in %v commits", callers, commits)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(context.Background(), rows(0, 1, "late")); apierr.CodeOf(err) != apierr.Unavailable {
		t.Fatalf("Append after Close: %v, want Unavailable", err)
	}

	db = open(t, testOpts(dir))
	if got := count(t, db, TimeRange{}, ""); got != callers*per {
		t.Fatalf("after reopen: %d rows, want %d", got, callers*per)
	}
	if got := count(t, db, TimeRange{}, "msg = 'caller 7' AND n = 49"); got != 1 {
		t.Fatalf("after reopen: %d rows of caller 7 n=49, want 1", got)
	}
}

func TestBadRequestFailsAlone(t *testing.T) {
	db := open(t, testOpts(t.TempDir()))
	hold := make(chan struct{})
	db.q.mu.Lock()
	db.q.testHook = func() { <-hold }
	db.q.mu.Unlock()
	var wg sync.WaitGroup
	results := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rows(int64(i*100), 10, "ok")
			if i == 1 {
				r.Values = append(r.Values, []driver.Value{int64(5), "too", int64(1), "many"})
			}
			results[i] = db.Append(context.Background(), r)
		}()
	}
	// Let all three queue up behind the held commit, then release.
	deadline := time.Now().Add(10 * time.Second)
	for db.q.rowsNow() < 31 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()
	if results[0] != nil || results[2] != nil {
		t.Fatalf("good requests failed: %v, %v", results[0], results[2])
	}
	if results[1] == nil || !strings.Contains(results[1].Error(), "3 columns, row has 4 values") {
		t.Fatalf("bad request: %v, want a column count error", results[1])
	}
	if got := count(t, db, TimeRange{}, ""); got != 20 {
		t.Fatalf("stored %d rows, want 20 (the bad request's 10 good rows must not be stored)", got)
	}
}

func TestQueueFullIsOverloaded(t *testing.T) {
	opts := testOpts(t.TempDir())
	opts.QueueRows = 10
	opts.RetryAfter = 3 * time.Second
	db := open(t, opts)
	hold := make(chan struct{})
	db.q.mu.Lock()
	db.q.testHook = func() { <-hold }
	db.q.mu.Unlock()
	first := make(chan error, 1)
	go func() { first <- db.Append(context.Background(), rows(0, 8, "a")) }()
	for db.q.rowsNow() < 8 {
		time.Sleep(time.Millisecond)
	}
	err := db.Append(context.Background(), rows(100, 3, "b"))
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.Overloaded || ae.RetryAfter != 3*time.Second {
		t.Fatalf("Append over the limit: %#v, want Overloaded with RetryAfter 3s", err)
	}
	if !strings.Contains(err.Error(), "queue is full (8 rows queued, limit 10)") {
		t.Fatalf("message %q does not say which limit", err)
	}
	// A request that fits is still accepted.
	second := make(chan error, 1)
	go func() { second <- db.Append(context.Background(), rows(200, 2, "c")) }()
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, TimeRange{}, ""); got != 10 {
		t.Fatalf("stored %d, want 10", got)
	}
	// Bigger than the whole queue: accepted when the queue is empty.
	if err := db.Append(context.Background(), rows(300, 25, "big")); err != nil {
		t.Fatal(err)
	}
}

func TestMigrations(t *testing.T) {
	dir := t.TempDir()
	db := open(t, testOpts(dir))
	if err := db.Append(context.Background(), rows(1, 3, "v1")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	opts := testOpts(dir)
	opts.Migrations = append(append([]Migration{}, testMigrations...), Migration{Version: 2, Name: "level", SQL: `ALTER TABLE events ADD COLUMN level VARCHAR DEFAULT 'info'`})
	db = open(t, opts)
	err := db.Append(context.Background(), Rows{Table: "events", Values: [][]driver.Value{{int64(10), "v2", int64(0), "warn"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, TimeRange{}, "level = 'info'"); got != 3 {
		t.Fatalf("old rows with default level: %d, want 3", got)
	}
	var versions string
	err = db.Query(context.Background(), TimeRange{}, "SELECT string_agg(version::VARCHAR, ',' ORDER BY version) FROM p0.schema_migrations WHERE domain = 'test'", nil, func(r *sql.Rows) error {
		r.Next()
		return r.Scan(&versions)
	})
	if err != nil || versions != "1,2" {
		t.Fatalf("recorded versions %q (%v), want 1,2", versions, err)
	}
	db.Close()

	// A binary that knows only version 1 must refuse the newer file.
	_, err = Open(context.Background(), testOpts(dir))
	if err == nil || !strings.Contains(err.Error(), "schema version 2 but this Vigil knows only up to 1") {
		t.Fatalf("downgrade: %v", err)
	}

	bad := testOpts(t.TempDir())
	bad.Migrations = []Migration{{Version: 1, SQL: "CREATE TABLE events (ts BIGINT)"}, {Version: 2, Name: "broken", SQL: "ALTER TABLE nope ADD COLUMN x INT"}}
	_, err = Open(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "to version 2 (broken)") {
		t.Fatalf("broken migration: %v", err)
	}
}

func TestPartitionsPruneAndRetention(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
	opts := testOpts(dir)
	opts.Now = clk.Now
	opts.PartitionDuration = time.Hour
	opts.MaxAge = 3 * time.Hour
	db := open(t, opts)
	ctx := context.Background()
	for h := range 5 {
		if err := db.Append(ctx, rows(int64(h)*1000, 10, fmt.Sprintf("hour %d", h))); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
	}
	// The sixth append rolls once more.
	if err := db.Append(ctx, rows(5000, 10, "hour 5")); err != nil {
		t.Fatal(err)
	}
	if got := db.Stats().Partitions; got != 6 {
		t.Fatalf("partitions = %d, want 6", got)
	}
	// Pruning: a range inside hour 2's data touches only its partition.
	q, err := db.expand("SELECT * FROM {{events}}", TimeRange{From: 2000, To: 2005})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(q, "SELECT * FROM p") != 1 || !strings.Contains(q, "p2.events") {
		t.Fatalf("pruned query %q, want only p2", q)
	}
	if got := count(t, db, TimeRange{From: 2000, To: 2005}, "ts BETWEEN 2000 AND 2005"); got != 6 {
		t.Fatalf("rows in range = %d, want 6", got)
	}
	// A placeholder with its own range: {{events:from:to}}.
	q, err = db.expand("SELECT * FROM {{events:3000:3009}} UNION ALL SELECT * FROM {{events}}", TimeRange{From: 1000, To: 1005})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(q, "SELECT * FROM p") != 2 || !strings.Contains(q, "p3.events") || !strings.Contains(q, "p1.events") {
		t.Fatalf("query with its own range %q, want p3 then p1", q)
	}
	// In one partition, its own range is that partition's table itself;
	// over two, their union.
	if !strings.HasPrefix(q, "SELECT * FROM p3.events UNION ALL") {
		t.Fatalf("query with its own range in one partition %q, want the table p3.events itself", q)
	}
	q, err = db.expand("SELECT * FROM {{events:3000:4009}} WHERE ts > 0", TimeRange{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT * FROM (SELECT * FROM p3.events UNION ALL SELECT * FROM p4.events) WHERE ts > 0"; q != want {
		t.Fatalf("query with its own range over two partitions %q, want %q", q, want)
	}
	var in3 int
	if err := db.Query(ctx, TimeRange{}, "SELECT count(*) FROM {{events:3000:3009}} WHERE ts >= 3000", nil, func(rows *sql.Rows) error {
		rows.Next()
		return rows.Scan(&in3)
	}); err != nil || in3 != 10 {
		t.Fatalf("rows of one partition's own range = %d, %v; want 10", in3, err)
	}
	for _, bad := range []string{"{{events:1}}", "{{events:a:2}}", "{{events:1:}}"} {
		if _, err := db.expand("SELECT * FROM "+bad, TimeRange{}); err == nil || !strings.Contains(err.Error(), "want {{table:from:to}}") {
			t.Errorf("%s: err %v, want one naming the form", bad, err)
		}
	}
	if got := count(t, db, TimeRange{From: 99999, To: 100000}, ""); got != 0 {
		t.Fatalf("rows out of range = %d", got)
	}

	// now = 08:00; cutoff 05:00. Partitions p0..p5 created at 03..08:00;
	// p0 (written until 04:00), p1 (until 05:00) are gone... p1's end is
	// 05:00, not before the cutoff, so only p0 and... see below.
	n, err := db.EnforceRetention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// p0 ended 04:00 < 05:00: dropped. p1 ended 05:00, not before: kept.
	if n != 1 {
		t.Fatalf("dropped %d partitions by age, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, partitionName(0, time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)))); !os.IsNotExist(err) {
		t.Fatalf("p0 file still there: %v", err)
	}
	if got := count(t, db, TimeRange{}, ""); got != 50 {
		t.Fatalf("after age retention: %d rows, want 50", got)
	}

	// Size: cap below the current size drops all but the current partition.
	before := db.Stats().DiskBytes
	db.opts.MaxBytes = 1
	n, err = db.EnforceRetention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || db.Stats().Partitions != 1 {
		t.Fatalf("dropped %d by size, %d left; want 4 dropped, 1 left", n, db.Stats().Partitions)
	}
	after := db.Stats().DiskBytes
	if after >= before {
		t.Fatalf("disk bytes %d -> %d: space did not come back", before, after)
	}
	if got := count(t, db, TimeRange{}, ""); got != 10 {
		t.Fatalf("after size retention: %d rows, want 10", got)
	}
	entries, _ := os.ReadDir(dir)
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, e.Name())
		}
	}
	if len(files) > 2 { // current partition and maybe its WAL
		t.Fatalf("files left: %v", files)
	}
}

// The retention limits are exported next to the size, so a dashboard can
// show one against the other; no limit is 0.
func TestRetentionLimitMetrics(t *testing.T) {
	f := func(maxBytes int64, maxAge time.Duration, want string) {
		t.Helper()
		reg := prometheus.NewRegistry()
		opts := testOpts(t.TempDir())
		opts.Registerer, opts.MaxBytes, opts.MaxAge = reg, maxBytes, maxAge
		db := open(t, opts)
		err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vigil_telemetrydb_retention_limit_bytes", "vigil_telemetrydb_retention_limit_seconds")
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	f(20<<30, 7*24*time.Hour, `
# HELP vigil_telemetrydb_retention_limit_bytes Size cap retention enforces on the store (retention.max_size); 0 means none.
# TYPE vigil_telemetrydb_retention_limit_bytes gauge
vigil_telemetrydb_retention_limit_bytes{domain="test"} 2.147483648e+10
# HELP vigil_telemetrydb_retention_limit_seconds Age after which retention drops data (retention.max_age); 0 means kept forever.
# TYPE vigil_telemetrydb_retention_limit_seconds gauge
vigil_telemetrydb_retention_limit_seconds{domain="test"} 604800
`)
	f(0, 0, `
# HELP vigil_telemetrydb_retention_limit_bytes Size cap retention enforces on the store (retention.max_size); 0 means none.
# TYPE vigil_telemetrydb_retention_limit_bytes gauge
vigil_telemetrydb_retention_limit_bytes{domain="test"} 0
# HELP vigil_telemetrydb_retention_limit_seconds Age after which retention drops data (retention.max_age); 0 means kept forever.
# TYPE vigil_telemetrydb_retention_limit_seconds gauge
vigil_telemetrydb_retention_limit_seconds{domain="test"} 0
`)
}

func TestRejectsUnknownTableAndBadOptions(t *testing.T) {
	db := open(t, testOpts(t.TempDir()))
	if err := db.Append(context.Background(), Rows{Table: "nope", Values: [][]driver.Value{{1}}}); err == nil {
		t.Fatal("unknown table accepted")
	}
	if err := db.Query(context.Background(), TimeRange{}, "SELECT * FROM {{nope}}", nil, func(*sql.Rows) error { return nil }); err == nil {
		t.Fatal("unknown table in query accepted")
	}
	_, err := Open(context.Background(), Options{Dir: t.TempDir(), Domain: "x", Tables: []Table{{Name: "t"}}, Migrations: []Migration{{Version: 2}}})
	if err == nil {
		t.Fatal("migration numbered 2 first accepted")
	}
}

// TestKill9 runs a child process that appends in a loop and reports each
// acknowledged append, kills it with SIGKILL, reopens the store and checks
// every acknowledged row is there.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TELEMETRYDB_KILL_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var acked int64
	for sc.Scan() {
		n, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		acked = n
		if acked >= 3000 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	db := open(t, testOpts(dir))
	got := count(t, db, TimeRange{}, "")
	if got < acked {
		t.Fatalf("after kill -9: %d rows stored, %d acknowledged", got, acked)
	}
	t.Logf("acknowledged %d, stored %d after kill -9", acked, got)
}

func killChild() {
	db, err := Open(context.Background(), testOpts(os.Getenv("TELEMETRYDB_KILL_CHILD")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var total atomic.Int64
	var mu sync.Mutex
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				if err := db.Append(context.Background(), rows(int64(g)<<32+int64(i)*10, 10, "k")); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println(total.Add(10))
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestQueryEachAndOldestPartition: QueryEach hands each partition's rows
// apart, oldest first, with its sequence number; OldestPartition follows
// the drops.
func TestQueryEachAndOldestPartition(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
	opts := testOpts(t.TempDir())
	opts.Now = clk.Now
	opts.PartitionDuration = time.Hour
	opts.MaxAge = 90 * time.Minute
	db := open(t, opts)
	ctx := context.Background()
	for h := range 3 {
		if err := db.Append(ctx, rows(int64(h)*1000, h+1, fmt.Sprintf("hour %d", h))); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
	}
	each := func() string {
		var out []string
		err := db.QueryEach(ctx, "SELECT count(*), min(msg) FROM {{events}}", nil, func(seq int64, r *sql.Rows) error {
			for r.Next() {
				var n int64
				var msg string
				if err := r.Scan(&n, &msg); err != nil {
					return err
				}
				out = append(out, fmt.Sprintf("%d:%d %s", seq, n, msg))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, ", ")
	}
	if got := each(); got != "0:1 hour 0, 1:2 hour 1, 2:3 hour 2" {
		t.Fatalf("QueryEach = %s", got)
	}
	if o, c := db.OldestPartition(), db.CurrentPartition(); o != 0 || c != 2 {
		t.Fatalf("oldest %d, current %d; want 0, 2", o, c)
	}
	if n, err := db.EnforceRetention(ctx); err != nil || n != 1 {
		t.Fatalf("EnforceRetention = %d, %v; want 1 dropped", n, err)
	}
	if got := each(); got != "1:2 hour 1, 2:3 hour 2" {
		t.Fatalf("QueryEach after the drop = %s", got)
	}
	if o := db.OldestPartition(); o != 1 {
		t.Fatalf("oldest after the drop %d, want 1", o)
	}
}
