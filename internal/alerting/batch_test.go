package alerting

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vigilhq/vigil/internal/state"
)

// Concurrent writes share transactions; one that fails is rolled back
// alone and the others commit.
func TestWriterBatchesAndIsolatesFailures(t *testing.T) {
	db, err := state.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Tx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), `CREATE TABLE t (v INTEGER)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	w := newWriter(db)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Go(func() {
			errs[i] = w.do(context.Background(), string(rune('a'+i%3)), 1, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?)`, i); err != nil {
					return err
				}
				if i%10 == 0 {
					return boom // after its insert: the savepoint must undo it
				}
				return nil
			})
		})
	}
	wg.Wait()
	w.stop()
	for i, err := range errs {
		if (i%10 == 0) != errors.Is(err, boom) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var n, bad int
	db.QueryRowContext(t.Context(), `SELECT COUNT(*), COUNT(*) FILTER (WHERE v % 10 = 0) FROM t`).Scan(&n, &bad)
	if n != 180 || bad != 0 {
		t.Fatalf("%d rows committed (%d of failed writes), want 180 and 0", n, bad)
	}
	if err := w.do(context.Background(), "a", 1, func(context.Context, *sql.Tx) error { return nil }); !errors.Is(err, errWriterStopped) {
		t.Fatalf("write after stop: %v", err)
	}
}
