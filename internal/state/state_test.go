package state

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenWAL(t *testing.T) {
	db := open(t)
	var mode string
	if err := db.QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var bt int
	if err := db.QueryRowContext(context.Background(), "PRAGMA busy_timeout").Scan(&bt); err != nil || bt != 10000 {
		t.Fatalf("busy_timeout = %d, %v; want 10000", bt, err)
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	v1 := []Migration{{Version: 1, Name: "create", SQL: `CREATE TABLE a_t (id INTEGER PRIMARY KEY); CREATE TABLE a_u (x TEXT);`}}
	if err := db.Migrate(ctx, "a", v1); err != nil {
		t.Fatal(err)
	}
	// Idempotent.
	if err := db.Migrate(ctx, "a", v1); err != nil {
		t.Fatal(err)
	}
	// Another component has its own sequence.
	if err := db.Migrate(ctx, "b", []Migration{{Version: 1, Name: "b", SQL: `CREATE TABLE b_t (id INTEGER)`}}); err != nil {
		t.Fatal(err)
	}
	v2 := append(v1, Migration{Version: 2, Name: "go", Up: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO a_u (x) VALUES ('hi')`)
		return err
	}})
	if err := db.Migrate(ctx, "a", v2); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SchemaVersion(ctx, "a"); v != 2 {
		t.Fatalf("version a = %d, want 2", v)
	}
	if v, _ := db.SchemaVersion(ctx, "b"); v != 1 {
		t.Fatalf("version b = %d, want 1", v)
	}
	// Downgrade refused.
	if err := db.Migrate(ctx, "a", v1); err == nil || !strings.Contains(err.Error(), "knows only 1") {
		t.Fatalf("downgrade: err = %v", err)
	}
}

func TestMigrateFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	ms := []Migration{
		{Version: 1, Name: "ok", SQL: `CREATE TABLE c_ok (id INTEGER)`},
		{Version: 2, Name: "bad", SQL: `CREATE TABLE c_half (id INTEGER); THIS IS NOT SQL;`},
	}
	err := db.Migrate(ctx, "c", ms)
	if err == nil || !strings.Contains(err.Error(), "version 2 (bad)") {
		t.Fatalf("err = %v, want failure naming version 2", err)
	}
	if v, _ := db.SchemaVersion(ctx, "c"); v != 1 {
		t.Fatalf("version = %d, want 1", v)
	}
	if _, err := db.QueryContext(context.Background(), `SELECT * FROM c_half`); err == nil {
		t.Fatal("half-applied migration left table c_half behind")
	}
}

func TestMigrateValidates(t *testing.T) {
	db := open(t)
	f := func(ms []Migration, want string) {
		t.Helper()
		err := db.Migrate(context.Background(), "v", ms)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q", err, want)
		}
	}
	f([]Migration{{Version: 2, SQL: "SELECT 1"}}, "versions must be 1, 2, 3")
	f([]Migration{{Version: 1}}, "exactly one of SQL and Up")
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.Migrate(ctx, "w", []Migration{{Version: 1, Name: "t", SQL: `CREATE TABLE w_t (n INTEGER)`}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				err := db.Tx(ctx, func(tx *sql.Tx) error {
					var n int
					if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM w_t`).Scan(&n); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO w_t (n) VALUES (?)`, n)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int
	db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM w_t`).Scan(&n)
	if n != 400 {
		t.Fatalf("rows = %d, want 400", n)
	}
	if err := db.Tx(ctx, func(*sql.Tx) error { return errors.New("boom") }); err == nil {
		t.Fatal("Tx swallowed the error")
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(context.Background(), "", Options{}); err == nil {
		t.Fatal("want error for empty path")
	}
}
