package export

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
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
	<-started // one batch of 10 in flight, 90 queued, 50 dropped as queue full
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
	if full != 50 || shut != 100 || failed != 0 || exported != 0 {
		t.Errorf("queue_full %v, shutdown %v, export_failed %v, exported %v; want 50, 100, 0, 0", full, shut, failed, exported)
	}
	if !strings.Contains(logs.String(), "items not exported") || !strings.Contains(logs.String(), "items=100") {
		t.Errorf("log:\n%s", logs.String())
	}
	b.Enqueue(1) // after shutdown: counted
	if got := dropped.With("reason", ReasonShutdown).Value(); got != 101 {
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
