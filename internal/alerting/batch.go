package alerting

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// writer group-commits alerting's writes to the state database: outbox
// enqueues and ledger events from many alert groups and API requests go
// into one transaction per batch instead of one each. SQLite has one
// writer; with a transaction per flush, an alert storm of 100,000 groups
// queued 100,000 transactions on the write lock, and every delivery
// attempt's outcome waited behind all of them. Batched, ingestion costs a
// few transactions a second and a delivery waits for one batch at most.
//
// Each write runs under its own savepoint, so one that fails is rolled
// back alone and told so; the others commit. A caller returns once its
// write committed (an enqueued notification is durable before the
// notification log records it as sent).
type writer struct {
	db       txRunner
	maxBatch int
	done     chan struct{} // closed by stop
	exited   chan struct{} // closed when run returned
	wake     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu    sync.Mutex
	lanes map[string]chan *writeReq
	order []string // lanes in the order they appeared
	rr    int
}

type writeReq struct {
	cost int // rows it writes, about
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// Batch bounds: writes and rows (about) per transaction, so one batch
// keeps the write lock for milliseconds, not seconds (a delivery's outcome
// waits for it); writes waiting per lane (callers block beyond that:
// backpressure on ingestion, never unbounded memory).
const (
	writeBatch     = 256
	writeBatchRows = 4096
	writeQueue     = 1024
)

func newWriter(db txRunner) *writer {
	w := &writer{db: db, maxBatch: writeBatch, done: make(chan struct{}), exited: make(chan struct{}),
		wake: make(chan struct{}, 1), lanes: map[string]chan *writeReq{}}
	w.wg.Go(func() { defer close(w.exited); w.run() })
	return w
}

// errWriterStopped is returned for writes after stop.
var errWriterStopped = fmt.Errorf("alerting is shutting down")

func (w *writer) lane(name string) chan *writeReq {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, ok := w.lanes[name]
	if !ok {
		q = make(chan *writeReq, writeQueue)
		w.lanes[name] = q
		w.order = append(w.order, name)
	}
	return q
}

// do runs fn in a batch transaction and returns when it committed (or
// failed). Writes are queued per lane (a receiver, the API, the rules) and
// lanes take turns in a batch, so a storm's writes for one receiver do not
// hold up another's. A write whose ctx ended while it waited is not run.
func (w *writer) do(ctx context.Context, lane string, rows int, fn func(ctx context.Context, tx *sql.Tx) error) error {
	r := &writeReq{cost: max(rows, 1), ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-w.done:
		return errWriterStopped
	default:
	}
	select {
	case w.lane(lane) <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return errWriterStopped
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-r.done:
		return err
	case <-w.exited:
		select {
		case err := <-r.done:
			return err
		default:
			return errWriterStopped
		}
	case <-ctx.Done():
		// The write may still commit; alerting's writes are idempotent
		// where it matters (the outbox dedups a notification written twice).
		return ctx.Err()
	}
}

// stop commits the writes already queued and ends the loop.
func (w *writer) stop() {
	w.stopOnce.Do(func() { close(w.done) })
	w.wg.Wait()
}

// take fills a batch from the lanes in turn.
func (w *writer) take(batch []*writeReq) []*writeReq {
	w.mu.Lock()
	order := w.order
	w.rr++
	rr := w.rr
	lanes := make([]chan *writeReq, len(order))
	for i, name := range order {
		lanes[(i+rr)%len(order)] = w.lanes[name]
	}
	w.mu.Unlock()
	rows := 0
	for len(batch) < w.maxBatch && rows < writeBatchRows {
		took := false
		for _, q := range lanes {
			if len(batch) == w.maxBatch || rows >= writeBatchRows {
				break
			}
			select {
			case r := <-q:
				batch = append(batch, r)
				rows += r.cost
				took = true
			default:
			}
		}
		if !took {
			break
		}
	}
	return batch
}

func (w *writer) run() {
	batch := make([]*writeReq, 0, w.maxBatch)
	for {
		batch = w.take(batch[:0])
		if len(batch) > 0 {
			w.commit(batch)
			continue
		}
		select {
		case <-w.wake:
		case <-w.done:
			// Commit what was queued before stop.
			for batch = w.take(batch[:0]); len(batch) > 0; batch = w.take(batch[:0]) {
				w.commit(batch)
			}
			return
		}
	}
}

func (w *writer) commit(batch []*writeReq) {
	errs := make([]error, len(batch))
	ctx := context.Background()
	err := w.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			if _, err := tx.ExecContext(ctx, `SAVEPOINT w`); err != nil {
				return err
			}
			if errs[i] = r.fn(context.WithoutCancel(r.ctx), tx); errs[i] != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO w`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE w`); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range batch {
		if err != nil {
			errs[i] = err
		}
		r.done <- errs[i]
	}
}
