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
	"sync/atomic"
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

// batcher is the queue and export loop shared by both processors. It owns
// one goroutine, started by newBatcher and ended by shutdown.
type batcher[T any] struct {
	o        Options
	export   func(context.Context, []T) error
	queue    chan T
	flushReq chan chan error
	quit     chan struct{}
	done     chan struct{}
	stopped  atomic.Bool
	stopOnce sync.Once

	dropFull, dropFailed, dropShutdown *metric.CounterSeries
	exported                           *metric.CounterSeries
	queueLen                           *metric.GaugeSeries
}

func newBatcher[T any](signal string, o Options, export func(context.Context, []T) error) *batcher[T] {
	o.defaults()
	dropped := o.Registry.Counter("vigil_sdk_"+signal+"_dropped_total",
		"Telemetry items ("+signal+") dropped before export, by reason.")
	b := &batcher[T]{
		o: o, export: export,
		queue:        make(chan T, o.QueueSize),
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

// enqueue adds an item without blocking; a full queue drops it (counted).
func (b *batcher[T]) enqueue(item T) {
	if b.stopped.Load() {
		b.dropShutdown.Inc()
		return
	}
	select {
	case b.queue <- item:
	default:
		b.dropFull.Inc()
	}
}

func (b *batcher[T]) run() {
	defer close(b.done)
	ticker := time.NewTicker(b.o.Interval)
	defer ticker.Stop()
	batch := make([]T, 0, b.o.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.o.ExportTimeout)
		err := b.export(ctx, batch)
		cancel()
		if err != nil {
			b.dropFailed.Add(int64(len(batch)))
		} else {
			b.exported.Add(int64(len(batch)))
		}
		clear(batch) // release references for the GC
		batch = batch[:0]
		return err
	}
	drain := func() error {
		var err error
		for {
			select {
			case it := <-b.queue:
				batch = append(batch, it)
				if len(batch) == b.o.BatchSize {
					if e := flush(); e != nil {
						err = e
					}
				}
			default:
				if e := flush(); e != nil {
					err = e
				}
				return err
			}
		}
	}
	for {
		b.queueLen.Set(float64(len(b.queue)))
		select {
		case it := <-b.queue:
			batch = append(batch, it)
			if len(batch) == b.o.BatchSize {
				flush()
			}
		case <-ticker.C:
			flush()
		case reply := <-b.flushReq:
			reply <- drain()
		case <-b.quit:
			drain()
			b.queueLen.Set(0)
			return
		}
	}
}

// forceFlush exports everything queued before it was called.
func (b *batcher[T]) forceFlush(ctx context.Context) error {
	if b.stopped.Load() {
		return nil
	}
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

// shutdown exports what is queued and stops the goroutine, or gives up when
// ctx ends (the goroutine still finishes its current export and exits).
func (b *batcher[T]) shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() {
		b.stopped.Store(true)
		close(b.quit)
	})
	select {
	case <-b.done:
		// Items that raced past the stopped check are counted, not lost silently.
		for {
			select {
			case <-b.queue:
				b.dropShutdown.Inc()
			default:
				return nil
			}
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}
