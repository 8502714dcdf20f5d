// Package export holds the SDK's batching processors for spans and log
// records. They replace OpenTelemetry's batch processors so that every
// dropped item is counted: a full queue, an export that failed, or an item
// that arrived after shutdown each increment
// vigil_sdk_spans_dropped_total{reason} or vigil_sdk_logs_dropped_total{reason}.
// Queues are bounded; OnEnd and OnEmit never block.
package export

import (
	"context"
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
	// Registry receives the drop and export counters (metric.Default() when nil).
	Registry *metric.Registry
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
}

// Batcher is the bounded queue and export loop behind the span and log
// processors (and the tracing package's provider). Enqueue appends to a
// slice under a mutex (no channel operation, no allocation: the two buffers
// are allocated once at QueueSize); one goroutine, started by NewBatcher and
// ended by Shutdown, swaps the buffer out and exports it in batches of
// BatchSize when a batch is full, when Interval passes, on ForceFlush and on
// Shutdown.
type Batcher[T any] struct {
	o      Options
	export func(context.Context, []T) error

	mu      sync.Mutex
	buf     []T // waiting items, len <= QueueSize
	stopped bool

	wake     chan struct{} // a full batch is waiting; capacity 1
	flushReq chan chan error
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	dropFull, dropFailed, dropShutdown *metric.CounterSeries
	exported                           *metric.CounterSeries
	queueLen                           *metric.GaugeSeries
}

// NewBatcher starts a batcher for signal ("spans", "logs"), whose counters
// are vigil_sdk_<signal>_dropped_total{reason},
// vigil_sdk_<signal>_exported_total and vigil_sdk_<signal>_queue_length.
// export receives batches of at most BatchSize items and must not keep the
// slice after it returns.
func NewBatcher[T any](signal string, o Options, export func(context.Context, []T) error) *Batcher[T] {
	o.defaults()
	dropped := o.Registry.Counter("vigil_sdk_"+signal+"_dropped_total",
		"Telemetry items ("+signal+") dropped before export, by reason.")
	b := &Batcher[T]{
		o: o, export: export,
		buf:          make([]T, 0, o.QueueSize),
		wake:         make(chan struct{}, 1),
		flushReq:     make(chan chan error),
		quit:         make(chan struct{}),
		done:         make(chan struct{}),
		dropFull:     dropped.With("reason", ReasonQueueFull),
		dropFailed:   dropped.With("reason", ReasonExportFailed),
		dropShutdown: dropped.With("reason", ReasonShutdown),
		exported: o.Registry.Counter("vigil_sdk_"+signal+"_exported_total",
			"Telemetry items ("+signal+") exported successfully.").With(),
		queueLen: o.Registry.Gauge("vigil_sdk_"+signal+"_queue_length",
			"Telemetry items ("+signal+") waiting for export.").With(),
	}
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
		b.mu.Unlock()
		b.dropFull.Inc()
		return false
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
		b.mu.Unlock()
		b.queueLen.Set(float64(len(items)))
		var err error
		for rest := items; len(rest) > 0; {
			n := min(len(rest), b.o.BatchSize)
			ctx, cancel := context.WithTimeout(context.Background(), b.o.ExportTimeout)
			e := b.export(ctx, rest[:n])
			cancel()
			if e != nil {
				b.dropFailed.Add(int64(n))
				err = e
			} else {
				b.exported.Add(int64(n))
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

// Shutdown refuses further items, exports what is queued and stops the
// goroutine, or gives up when ctx ends (the goroutine still finishes its
// current export and exits).
func (b *Batcher[T]) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		b.stopped = true
		b.mu.Unlock()
		close(b.quit)
	})
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the export goroutine has exited.
func (b *Batcher[T]) Done() <-chan struct{} { return b.done }
