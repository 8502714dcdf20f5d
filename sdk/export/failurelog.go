package export

import (
	"log/slog"
	"sync"
	"time"
)

// FailureLog writes failures to a logger at most once per Every: the first
// failure at once, later ones summed into the next line (failures and
// items since the last line, and the latest error), so a backend that is
// down for an hour costs a few hundred lines, not one per batch.
type FailureLog struct {
	logger *slog.Logger
	msg    string
	attrs  []any
	// Every is the least time between two lines (10 seconds by NewFailureLog).
	Every time.Duration
	// Now is the clock (time.Now by NewFailureLog); for tests.
	Now func() time.Time

	mu              sync.Mutex
	last            time.Time
	failures, items int
	err             error
}

// NewFailureLog returns a FailureLog writing msg with attrs (key, value
// pairs) at warning level.
func NewFailureLog(logger *slog.Logger, msg string, attrs ...any) *FailureLog {
	return &FailureLog{logger: logger, msg: msg, attrs: attrs, Every: 10 * time.Second, Now: time.Now}
}

// Record notes a failure that lost items items (0 when unknown).
func (l *FailureLog) Record(err error, items int) {
	now := l.Now()
	l.mu.Lock()
	l.failures++
	l.items += items
	l.err = err
	if !l.last.IsZero() && now.Sub(l.last) < l.Every {
		l.mu.Unlock()
		return
	}
	l.last = now
	failures, n := l.failures, l.items
	l.failures, l.items, l.err = 0, 0, nil
	l.mu.Unlock()
	l.write(err, failures, n)
}

// Flush writes the failures not written yet, if any.
func (l *FailureLog) Flush() {
	l.mu.Lock()
	failures, n, err := l.failures, l.items, l.err
	l.failures, l.items, l.err = 0, 0, nil
	l.mu.Unlock()
	if failures > 0 {
		l.write(err, failures, n)
	}
}

func (l *FailureLog) write(err error, failures, items int) {
	args := append(append([]any(nil), l.attrs...), "err", err, "failures", failures)
	if items > 0 {
		args = append(args, "items", items)
	}
	l.logger.Warn(l.msg, args...)
}
