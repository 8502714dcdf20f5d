// Package export holds the SDK's batching processors for spans and log
// records. They replace OpenTelemetry's batch processors so that every
// dropped item is counted: a full queue, an export that failed, or an item
// that arrived after shutdown each increment
// vigil_sdk_spans_dropped_total{reason} or vigil_sdk_logs_dropped_total{reason}.
// Queues are bounded; OnEnd and OnEmit never block.
package export

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vigilhq/vigil/sdk/metric"
)

// Drop reasons.
const (
	ReasonQueueFull    = "queue_full"
	ReasonExportFailed = "export_failed"
	ReasonShutdown     = "shutdown"
)

// Options configure a processor. The zero value means defaults.
type Options struct {
	// QueueSize bounds the items waiting for export (default 2048).
	QueueSize int
	// BatchSize is the most items sent in one export (default 512).
	BatchSize int
	// Interval is the longest an item waits before export (default 5s).
	Interval time.Duration
	// ExportTimeout bounds one export call (default 30s).
	ExportTimeout time.Duration
	// Block makes Enqueue wait for room when the queue is full instead of
	// dropping the item, as OpenTelemetry's WithBlocking does: for batch
	// jobs and benchmarks that must not lose telemetry, at the price of
	// stalling the caller when the backend falls behind. Shutdown releases
	// the waiting callers (their items are dropped, reason "shutdown").
	Block bool
	// Registry receives the drop and export counters (metric.Default() when nil).
	Registry *metric.Registry
	// Logger receives failed exports (at most one line per signal every
	// 10 seconds, with the count since the last) and the items left
	// unexported when Shutdown gives up (default text on stderr). It must
	// not feed back into the log pipeline being exported.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.QueueSize <= 0 {
		o.QueueSize = 2048
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.BatchSize > o.QueueSize {
		o.BatchSize = o.QueueSize
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = 30 * time.Second
	}
	if o.Registry == nil {
		o.Registry = metric.Default()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "vigil-sdk")
	}
}

// Batcher is the bounded queue and export loop behind the span and log
// processors (and the tracing package's provider). Enqueue appends to a
// slice under a mutex (no channel operation, no allocation: the two buffers
// are allocated once at QueueSize); one goroutine, started by NewBatcher and
// ended by Shutdown, swaps the buffer out and exports it in batches of
// BatchSize when a batch is full, when Interval passes, on ForceFlush and on
// Shutdown.
//
// Every item enqueued is accounted for once Shutdown has returned: exported
// (vigil_sdk_<signal>_exported_total) or dropped, by reason
// (vigil_sdk_<signal>_dropped_total). When Shutdown's context ends first,
// the export in flight is cancelled and the items queued or in flight are
// counted as dropped with reason "shutdown" and logged.
type Batcher[T any] struct {
	o      Options
	signal string
	export func(context.Context, []T) error

	mu        sync.Mutex
	room      *sync.Cond // on mu; signalled when buf is swapped out or stopped (Block only)
	waiting   int        // callers waiting for room (Block only)
	buf       []T        // waiting items, len <= QueueSize
	inflight  int        // items the export goroutine holds and has not counted yet
	stopped   bool
	abandoned bool // Shutdown gave up: the goroutine counts nothing more

	base   context.Context // exports derive from it
	cancel context.CancelFunc

	wake     chan struct{} // a full batch is waiting; capacity 1
	flushReq chan chan error
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	failures                           *FailureLog
	dropFull, dropFailed, dropShutdown *metric.CounterSeries
	exported                           *metric.CounterSeries
	queueLen                           *metric.GaugeSeries
}

// NewBatcher starts a batcher for signal ("spans", "logs"), whose counters
// are vigil_sdk_<signal>_dropped_total{reason},
// vigil_sdk_<signal>_exported_total and vigil_sdk_<signal>_queue_length.
// export receives batches of at most BatchSize items and must not keep the
// slice after it returns; it must return when its context ends.
func NewBatcher[T any](signal string, o Options, export func(context.Context, []T) error) *Batcher[T] {
	o.defaults()
	dropped := o.Registry.Counter("vigil_sdk_"+signal+"_dropped_total",
		"Telemetry items ("+signal+") dropped before export, by reason.")
	base, cancel := context.WithCancel(context.Background())
	b := &Batcher[T]{
		o: o, signal: signal, export: export,
		buf:          make([]T, 0, o.QueueSize),
		base:         base,
		cancel:       cancel,
		wake:         make(chan struct{}, 1),
		flushReq:     make(chan chan error),
		quit:         make(chan struct{}),
		done:         make(chan struct{}),
		failures:     NewFailureLog(o.Logger, "export failed", "signal", signal),
		dropFull:     dropped.With("reason", ReasonQueueFull),
		dropFailed:   dropped.With("reason", ReasonExportFailed),
		dropShutdown: dropped.With("reason", ReasonShutdown),
		exported: o.Registry.Counter("vigil_sdk_"+signal+"_exported_total",
			"Telemetry items ("+signal+") exported successfully.").With(),
		queueLen: o.Registry.Gauge("vigil_sdk_"+signal+"_queue_length",
			"Telemetry items ("+signal+") waiting for export.").With(),
	}
	b.room = sync.NewCond(&b.mu)
	go b.run()
	return b
}

// Enqueue adds an item without blocking and reports whether it was taken; a
// full queue or a stopped batcher drops it, counted by reason.
func (b *Batcher[T]) Enqueue(item T) bool {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		b.dropShutdown.Inc()
		return false
	}
	if len(b.buf) >= b.o.QueueSize {
		if !b.o.Block {
			b.mu.Unlock()
			b.dropFull.Inc()
			return false
		}
		b.waiting++
		for len(b.buf) >= b.o.QueueSize && !b.stopped {
			b.room.Wait()
		}
		b.waiting--
		if b.stopped {
			b.mu.Unlock()
			b.dropShutdown.Inc()
			return false
		}
	}
	b.buf = append(b.buf, item)
	n := len(b.buf)
	b.mu.Unlock()
	if n == b.o.BatchSize {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (b *Batcher[T]) run() {
	defer close(b.done)
	ticker := time.NewTicker(b.o.Interval)
	defer ticker.Stop()
	spare := make([]T, 0, b.o.QueueSize)
	// exportAll swaps the waiting items out for the spare buffer and
	// exports them in batches; the exported buffer becomes the next spare.
	exportAll := func() error {
		b.mu.Lock()
		items := b.buf
		b.buf = spare
		b.inflight = len(items)
		if b.o.Block {
			b.room.Broadcast()
		}
		b.mu.Unlock()
		b.queueLen.Set(float64(len(items)))
		var err error
		for rest := items; len(rest) > 0; {
			n := min(len(rest), b.o.BatchSize)
			ctx, cancel := context.WithTimeout(b.base, b.o.ExportTimeout)
			e := b.export(ctx, rest[:n])
			cancel()
			b.mu.Lock()
			count := !b.abandoned // else Shutdown counted these already
			if count {
				b.inflight -= n
			}
			b.mu.Unlock()
			if count {
				if e != nil {
					b.dropFailed.Add(int64(n))
					b.failures.Record(e, n)
				} else {
					b.exported.Add(int64(n))
				}
			}
			if e != nil {
				err = e
			}
			rest = rest[n:]
		}
		clear(items) // release references for the GC
		spare = items[:0]
		b.queueLen.Set(0)
		return err
	}
	for {
		select {
		case <-b.wake:
			exportAll()
		case <-ticker.C:
			exportAll()
		case reply := <-b.flushReq:
			reply <- exportAll()
		case <-b.quit:
			exportAll()
			return
		}
	}
}

// ForceFlush exports everything queued before it was called.
func (b *Batcher[T]) ForceFlush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case b.flushReq <- reply:
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// abandonGrace is how long Shutdown, having given up, waits for the
// cancelled export to return and the goroutine to end.
const abandonGrace = 250 * time.Millisecond

// Shutdown refuses further items and exports what is queued, within ctx:
// exports in flight when ctx ends are cancelled, and what was not exported
// by then is counted as dropped (reason "shutdown") and logged. It returns
// ctx's error in that case. Only the first call does the work; later ones
// wait for it like the first.
func (b *Batcher[T]) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		b.stopped = true
		b.room.Broadcast()
		b.mu.Unlock()
		close(b.quit)
	})
	select {
	case <-b.done:
		b.failures.Flush()
		return nil
	case <-ctx.Done():
	}
	b.cancel() // exporters return when their context ends
	b.mu.Lock()
	n := 0
	if !b.abandoned {
		b.abandoned = true
		n = len(b.buf) + b.inflight
		clear(b.buf)
		b.buf = b.buf[:0]
		b.inflight = 0
	}
	b.mu.Unlock()
	if n > 0 {
		b.dropShutdown.Add(int64(n))
		b.o.Logger.Warn("shutdown deadline reached: items not exported", "signal", b.signal, "items", n, "err", ctx.Err())
	}
	b.failures.Flush()
	select {
	case <-b.done:
	case <-time.After(abandonGrace):
	}
	return ctx.Err()
}

// Done is closed when the export goroutine has exited.
func (b *Batcher[T]) Done() <-chan struct{} { return b.done }
