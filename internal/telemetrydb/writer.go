package telemetrydb

import (
	"cmp"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigilhq/vigil/internal/apierr"
)

// request is one Append call waiting for its commit.
type request struct {
	rows []Rows
	n    int
	done chan error
}

// queue holds requests waiting for the writer, bounded in rows. Rows stay
// counted until their commit finishes, so memory stays bounded too.
type queue struct {
	mu      sync.Mutex
	limit   int
	rows    int
	pending []*request
	closed  bool
	wake    chan struct{}
	// testHook, when set, runs once before the first batch is taken
	// (tests use it to hold the writer while requests pile up).
	testHook func()
}

func (q *queue) init(limit int) {
	q.limit = limit
	q.wake = make(chan struct{}, 1)
}

func (q *queue) push(r *request) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.rows > 0 && q.rows+r.n > q.limit {
		q.mu.Unlock()
		return errQueueFull
	}
	q.rows += r.n
	q.pending = append(q.pending, r)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

var errQueueFull = errors.New("queue full")

// take removes up to maxRows worth of requests (at least one when any is
// pending). ok is false once the queue is closed and empty.
func (q *queue) take(maxRows int) (batch []*request, ok bool) {
	for {
		q.mu.Lock()
		if h := q.testHook; h != nil && len(q.pending) > 0 {
			q.testHook = nil
			q.mu.Unlock()
			h()
			continue
		}
		if len(q.pending) > 0 {
			n := 0
			i := 0
			for i < len(q.pending) && (i == 0 || n+q.pending[i].n <= maxRows) {
				n += q.pending[i].n
				i++
			}
			batch = append(batch, q.pending[:i]...)
			q.pending = append(q.pending[:0:0], q.pending[i:]...)
			q.mu.Unlock()
			return batch, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		<-q.wake
	}
}

func (q *queue) release(n int) {
	q.mu.Lock()
	q.rows -= n
	q.mu.Unlock()
}

func (q *queue) rowsNow() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.rows
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// writer owns one DuckDB connection and appends every batch through it.
type writer struct {
	db        *DB
	conn      *duckdb.Conn
	part      *partition
	appenders map[string]*duckdb.Appender
	done      chan struct{}
	lastStat  time.Time
	rollSize  bool
}

func newWriter(ctx context.Context, db *DB) (*writer, error) {
	c, err := db.connector.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s writer connection: %w", db.opts.Domain, err)
	}
	return &writer{db: db, conn: c.(*duckdb.Conn), appenders: map[string]*duckdb.Appender{}, done: make(chan struct{})}, nil
}

func (w *writer) run() {
	defer close(w.done)
	for {
		batch, ok := w.db.q.take(w.db.opts.MaxBatchRows)
		if !ok {
			return
		}
		n := 0
		for _, r := range batch {
			n += r.n
		}
		err := w.commit(batch)
		if err != nil && len(batch) > 1 && !apierr.OutOfSpace(err) && !apierr.IOFailure(err) {
			// Find the culprit: each request commits or fails on its own.
			// (Not for a full or failing disk: that is no request's fault.)
			for _, r := range batch {
				r.done <- w.db.health.Result(w.commit([]*request{r}))
			}
		} else {
			err = w.db.health.Result(err)
			for _, r := range batch {
				r.done <- err
			}
		}
		w.db.q.release(n)
	}
}

func (w *writer) exec(query string) error {
	_, err := w.conn.ExecContext(context.Background(), query, nil)
	return err
}

// commit appends the batch in one transaction.
func (w *writer) commit(batch []*request) (err error) {
	db := w.db
	start := time.Now()
	if err := w.maybeRoll(); err != nil {
		db.log.Error("start new partition", "err", err)
		// Keep writing to the current partition.
	}
	if err := w.exec("BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin %s commit: %w", db.opts.Domain, err)
	}
	used := map[string]*duckdb.Appender{}
	defer func() {
		if err == nil {
			return
		}
		// Discard what the appenders hold and what was flushed.
		for name, a := range used {
			_ = a.Clear()
			_ = a.Close()
			delete(w.appenders, name)
		}
		_ = w.exec("ROLLBACK")
		db.metrics.commitFailures.Inc()
	}()
	lo, hi, timed := int64(0), int64(0), false
	rows := 0
	var keys [][]byte
	for _, rs := range sortedRows(db.tables, batch) {
		t := db.tables[rs.Table]
		a, err := w.appender(rs.Table)
		if err != nil {
			return err
		}
		used[rs.Table] = a
		for _, v := range rs.Values {
			if len(v) != t.columns {
				return fmt.Errorf("%s table %s has %d columns, row has %d values", db.opts.Domain, rs.Table, t.columns, len(v))
			}
			if t.timeIdx >= 0 {
				if ts, ok := v[t.timeIdx].(int64); ok {
					if !timed {
						lo, hi, timed = ts, ts, true
					} else {
						lo, hi = min(lo, ts), max(hi, ts)
					}
				}
			}
			if err := a.AppendRow(v...); err != nil {
				return fmt.Errorf("append to %s.%s: %w", db.opts.Domain, rs.Table, err)
			}
			if len(t.keyIdx) > 0 {
				k, err := rowKey(t, v)
				if err != nil {
					return err
				}
				keys = append(keys, k)
			}
		}
		rows += len(rs.Values)
	}
	for name, a := range used {
		if err := a.Flush(); err != nil {
			return fmt.Errorf("flush %s.%s: %w", db.opts.Domain, name, err)
		}
	}
	if len(keys) > 0 {
		// Before the commit makes the rows visible: a query must never
		// skip the partition while it holds them. A failed commit leaves
		// keys behind, which only costs a false positive.
		db.partsMu.Lock()
		for _, k := range keys {
			w.part.keys.Add(k)
		}
		db.partsMu.Unlock()
	}
	if err := w.exec("COMMIT"); err != nil {
		return fmt.Errorf("commit %s: %w", db.opts.Domain, err)
	}
	if timed {
		db.partsMu.Lock()
		w.part.widen(lo, hi)
		db.partsMu.Unlock()
	}
	db.metrics.commits.Inc()
	db.metrics.commitRows.Observe(float64(rows))
	db.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	return nil
}

func (w *writer) appender(table string) (*duckdb.Appender, error) {
	if a, ok := w.appenders[table]; ok {
		return a, nil
	}
	a, err := duckdb.NewAppender(w.conn, w.part.alias, "main", table)
	if err != nil {
		return nil, fmt.Errorf("open appender for %s.%s: %w", w.db.opts.Domain, table, err)
	}
	w.appenders[table] = a
	return a, nil
}

// maybeRoll switches to a new partition when the current one is too old
// or too big.
func (w *writer) maybeRoll() error {
	db := w.db
	db.partsMu.RLock()
	cur := db.parts[len(db.parts)-1]
	db.partsMu.RUnlock()
	if w.part == nil {
		w.part = cur
	}
	now := db.opts.Now()
	roll := now.Sub(w.part.created) >= db.opts.PartitionDuration
	if !roll && db.opts.PartitionMaxBytes > 0 && time.Since(w.lastStat) >= time.Second {
		w.lastStat = time.Now()
		roll = fileSize(w.part.path)+fileSize(w.part.path+".wal") >= db.opts.PartitionMaxBytes
	}
	if !roll {
		return nil
	}
	if err := w.closeAppenders(); err != nil {
		return err
	}
	old := w.part
	p, err := db.newPartition(context.Background())
	if err != nil {
		return err
	}
	w.part = p
	// Fold the old partition's WAL into its file now that it is done.
	if err := w.exec("CHECKPOINT " + old.alias); err != nil {
		db.log.Warn("checkpoint finished partition", "path", old.path, "err", err)
	}
	db.shrinkKeys(old)
	return nil
}

// shrinkKeys replaces a finished partition's key filter, sized for the
// keys it might have taken, by one sized for those it holds.
func (db *DB) shrinkKeys(p *partition) {
	if p.keys == nil {
		return
	}
	ctx := context.Background()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		db.log.Warn("shrink key filter", "path", p.path, "err", err)
		return
	}
	defer conn.Close()
	f, err := db.loadKeys(ctx, conn, p, false)
	if err != nil {
		// The old filter stays: larger, still right.
		db.log.Warn("shrink key filter", "path", p.path, "err", err)
		return
	}
	db.partsMu.Lock()
	p.keys = f
	db.partsMu.Unlock()
}

func (w *writer) closeAppenders() error {
	var errs []error
	for name, a := range w.appenders {
		errs = append(errs, a.Close())
		delete(w.appenders, name)
	}
	return errors.Join(errs...)
}

// close releases the connection after run has returned.
func (w *writer) close() error {
	return errors.Join(w.closeAppenders(), w.conn.Close())
}

// sortedRows lists the batch's rows for appending: in request order, except
// that the rows of each table with SortBy are gathered from the whole batch
// into one Rows, sorted by those columns.
func sortedRows(tables map[string]*tableInfo, batch []*request) []Rows {
	var out []Rows
	var sorted map[string]int // table -> its index in out
	for _, r := range batch {
		for _, rs := range r.rows {
			t := tables[rs.Table]
			if len(t.sortIdx) == 0 || len(rs.Values) == 0 {
				out = append(out, rs)
				continue
			}
			if sorted == nil {
				sorted = map[string]int{}
			}
			i, ok := sorted[rs.Table]
			if !ok {
				i = len(out)
				sorted[rs.Table] = i
				out = append(out, Rows{Table: rs.Table})
			}
			out[i].Values = append(out[i].Values, rs.Values...)
		}
	}
	for name, i := range sorted {
		idx := tables[name].sortIdx
		slices.SortStableFunc(out[i].Values, func(a, b []driver.Value) int {
			for _, c := range idx {
				if x, y := sortKey(a, c), sortKey(b, c); x != y {
					return cmp.Compare(x, y)
				}
			}
			return 0
		})
	}
	return out
}

// sortKey is a row's value in a SortBy column; a value that is not an
// int64 (a NULL, a row with too few values, which the append then refuses)
// sorts first.
func sortKey(v []driver.Value, c int) int64 {
	if c < len(v) {
		if x, ok := v[c].(int64); ok {
			return x
		}
	}
	return math.MinInt64
}

// rowKey is the key of a row of a table with KeyColumns.
func rowKey(t *tableInfo, v []driver.Value) ([]byte, error) {
	b := make([]byte, 0, 8*len(t.keyIdx))
	for i, at := range t.keyIdx {
		u, ok := v[at].(uint64)
		if !ok {
			return nil, fmt.Errorf("%s key column %s holds %T, want uint64", t.Name, t.KeyColumns[i], v[at])
		}
		b = binary.LittleEndian.AppendUint64(b, u)
	}
	return b, nil
}
