package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/sdk/metric"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A Shutdown that gives up cancels the export in flight and counts what it
// held and what was queued as dropped: exported + dropped = enqueued.
func TestShutdownAccountsForEveryItem(t *testing.T) {
	reg := metric.New(metric.Options{})
	logs := &syncBuf{}
	started := make(chan struct{}, 1)
	b := NewBatcher("items", Options{QueueSize: 100, BatchSize: 10, Interval: time.Hour, Registry: reg,
		Logger: slog.New(slog.NewTextHandler(logs, nil))},
		func(ctx context.Context, batch []int) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done() // a backend that never answers
			return ctx.Err()
		})
	for i := range 150 {
		b.Enqueue(i)
	}
	<-started // a batch of 10 in flight, the rest held or queued (at most 100 queued), the others dropped as queue full
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := b.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	select {
	case <-b.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the export goroutine did not end after its export was cancelled")
	}
	dropped := reg.Counter("vigil_sdk_items_dropped_total", "")
	full, failed, shut := dropped.With("reason", ReasonQueueFull).Value(), dropped.With("reason", ReasonExportFailed).Value(), dropped.With("reason", ReasonShutdown).Value()
	exported := reg.Counter("vigil_sdk_items_exported_total", "").With().Value()
	// How many the export goroutine swapped out before the loop ended
	// depends on scheduling; the sum does not.
	if full+shut != 150 || shut < 100 || failed != 0 || exported != 0 {
		t.Errorf("queue_full %v, shutdown %v, export_failed %v, exported %v; want 150 dropped, at least 100 at shutdown, none exported", full, shut, failed, exported)
	}
	if !strings.Contains(logs.String(), "items not exported") || !strings.Contains(logs.String(), fmt.Sprintf("items=%v", shut)) {
		t.Errorf("log:\n%s", logs.String())
	}
	b.Enqueue(1) // after shutdown: counted
	if got := dropped.With("reason", ReasonShutdown).Value(); got != shut+1 {
		t.Errorf("after shutdown: %v", got)
	}
}

func TestFailureLogIsRateLimited(t *testing.T) {
	logs := &syncBuf{}
	now := time.Unix(1000, 0)
	l := NewFailureLog(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})), "export failed", "signal", "spans")
	l.Now = func() time.Time { return now }
	for i := range 100 {
		l.Record(errors.New("e"+string(rune('0'+i%10))), 5)
		now = now.Add(time.Second) // 100 failures over 100 s: one line per 10 s
	}
	l.Flush()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 11 {
		t.Fatalf("%d lines:\n%s", len(lines), logs.String())
	}
	if lines[0] != `level=WARN msg="export failed" signal=spans err=e0 failures=1 items=5` ||
		lines[1] != `level=WARN msg="export failed" signal=spans err=e0 failures=10 items=50` {
		t.Errorf("lines:\n%s\n%s", lines[0], lines[1])
	}
}

// With Block a full queue makes Enqueue wait for the export instead of
// dropping: every item is exported, none counted as queue_full.
func TestBlockWaitsForRoom(t *testing.T) {
	reg := metric.New(metric.Options{})
	started, release := make(chan struct{}, 1), make(chan struct{})
	var mu sync.Mutex
	var got []int
	b := NewBatcher("items", Options{QueueSize: 2, BatchSize: 2, Interval: time.Hour, Registry: reg, Block: true},
		func(ctx context.Context, batch []int) error {
			select {
			case started <- struct{}{}:
				<-release // hold the first batch until the queue behind it is full
			default:
			}
			mu.Lock()
			got = append(got, batch...)
			mu.Unlock()
			return nil
		})
	b.Enqueue(0)
	b.Enqueue(1) // a full batch: the exporter takes both
	<-started
	b.Enqueue(2)
	b.Enqueue(3) // the queue is full again
	done := make(chan bool)
	go func() { done <- b.Enqueue(4) }() // waits: without Block it would drop
	waitForWaiter(t, b)
	close(release)
	if !<-done {
		t.Fatal("Enqueue with Block reported a drop")
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	dropped := reg.Counter("vigil_sdk_items_dropped_total", "")
	if full := dropped.With("reason", ReasonQueueFull).Value(); full != 0 {
		t.Errorf("queue_full = %v, want 0", full)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 5 {
		t.Errorf("exported %v, want the 5 items", got)
	}
}

// Shutdown releases a caller waiting for room; its item counts as dropped
// at shutdown.
func TestBlockReleasedByShutdown(t *testing.T) {
	reg := metric.New(metric.Options{})
	started := make(chan struct{}, 1)
	b := NewBatcher("items", Options{QueueSize: 1, BatchSize: 1, Interval: time.Hour, Registry: reg, Block: true,
		Logger: slog.New(slog.NewTextHandler(&syncBuf{}, nil))},
		func(ctx context.Context, batch []int) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done() // a backend that never answers
			return ctx.Err()
		})
	b.Enqueue(0)
	<-started
	b.Enqueue(1) // the queue is full
	done := make(chan bool)
	go func() { done <- b.Enqueue(2) }()
	waitForWaiter(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = b.Shutdown(ctx)
	if <-done {
		t.Error("an Enqueue released by Shutdown reported its item taken")
	}
	if shut := reg.Counter("vigil_sdk_items_dropped_total", "").With("reason", ReasonShutdown).Value(); shut != 3 {
		t.Errorf("shutdown drops = %v, want 3 (in flight, queued, the waiting caller's)", shut)
	}
}

// waitForWaiter returns once a caller is waiting in Enqueue for room.
func waitForWaiter[T any](t *testing.T, b *Batcher[T]) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		n := b.waiting
		b.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no caller waited for room in the queue")
		}
		runtime.Gosched()
	}
}
