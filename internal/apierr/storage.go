package apierr

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StorageRetryAfter is what a client refused because a store cannot write
// is told to wait: a full disk is not freed within a second, and clients
// that retry at once only add load.
const StorageRetryAfter = 30 * time.Second

// OutOfSpace reports whether err says a file system is full: ENOSPC or
// EDQUOT in its chain or, for errors that cross a C boundary without an
// errno (DuckDB's), the operating system's text for them.
func OutOfSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "no space left on device") || strings.Contains(s, "disk quota exceeded")
}

// IOFailure reports whether err is a failed read or write of the file
// system (EIO, a read-only file system, or DuckDB's "IO Error"), which may
// pass: the disk comes back, the file system is remounted.
func IOFailure(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EROFS) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "IO Error") || strings.Contains(strings.ToLower(s), "input/output error") || strings.Contains(strings.ToLower(s), "read-only file system")
}

// StorageFull is the error a write gets while store (its name as the user
// knows it: "metrics", "traces", "logs") is out of disk space: retryable
// (503 + Retry-After, gRPC UNAVAILABLE), saying what happened and what to
// do, and naming no file: the cause, with its paths, is for the server's
// log.
func StorageFull(store string) *Error {
	return &Error{
		Code:       Unavailable,
		Message:    fmt.Sprintf("the server is out of disk space: the %s store cannot write; nothing of this request was stored; retry later (an operator must free space in Vigil's data folder or enlarge it)", store),
		RetryAfter: StorageRetryAfter,
	}
}

// StorageIO is the error a write gets when store failed to write for a
// reason that may pass (see IOFailure); like StorageFull it names no file.
func StorageIO(store string) *Error {
	return &Error{
		Code:       Unavailable,
		Message:    fmt.Sprintf("the %s store could not write to disk (an I/O error, in the server's log); nothing of this request was stored; retry later", store),
		RetryAfter: StorageRetryAfter,
	}
}

// WriteHealth remembers whether a store's writes are failing for lack of
// space or an I/O error, turns such failures into StorageFull/StorageIO,
// and logs once when the state changes rather than on every refused
// request (a full disk refuses thousands a second, and the log is on the
// same disk). The store exports Failing as a gauge; /readyz reports it.
// The state clears on the next write that succeeds, so the store recovers
// by itself when space returns. Safe for concurrent use.
type WriteHealth struct {
	// Store names the store in messages ("metrics", "traces", "logs").
	Store  string
	Logger *slog.Logger

	failing atomic.Bool // fast path: a successful write takes no lock
	mu      sync.Mutex
	reason  string
	since   time.Time

	collectors []prometheus.Collector
}

// Failure reasons reported by WriteHealth.Failing.
const (
	FailOutOfSpace = "out_of_space"
	FailIO         = "io_error"
)

// Result passes on the outcome of one write: nil clears the state; an
// out-of-space or I/O failure sets it and becomes StorageFull/StorageIO
// (whose message names no file); any other error is returned as it is.
func (h *WriteHealth) Result(err error) error {
	reason := ""
	switch {
	case err == nil:
		if !h.failing.Load() {
			return nil
		}
	case OutOfSpace(err):
		reason = FailOutOfSpace
	case IOFailure(err):
		reason = FailIO
	default:
		return err
	}
	h.mu.Lock()
	prev := h.reason
	h.reason = reason
	h.failing.Store(reason != "")
	if reason != prev {
		h.since = time.Now()
	}
	h.mu.Unlock()
	if reason != prev {
		logger := h.Logger
		if logger == nil {
			logger = slog.Default()
		}
		switch reason {
		case "":
			logger.Info("store writes again", "store", h.Store, "was", prev)
		case FailOutOfSpace:
			logger.Error("store out of disk space; writes are refused with 503 until space is freed", "store", h.Store, "err", err)
		default:
			logger.Error("store write failed with an I/O error; writes are refused with 503 until one succeeds", "store", h.Store, "err", err)
		}
	}
	switch reason {
	case FailOutOfSpace:
		return StorageFull(h.Store)
	case FailIO:
		return StorageIO(h.Store)
	}
	return nil
}

// Failing returns why the last write failed ("" when it succeeded) and
// since when.
func (h *WriteHealth) Failing() (reason string, since time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reason, h.since
}

// Register exports the write health as
// vigil_storage_out_of_space and vigil_storage_io_failing (1 while the
// store's writes fail for that reason), which /readyz also reports.
func (h *WriteHealth) Register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, g := range []struct{ name, help, reason string }{
		{"vigil_storage_out_of_space", "1 while the store's writes fail because the disk is full (clients get 503 with Retry-After); 0 once a write succeeds again.", FailOutOfSpace},
		{"vigil_storage_io_failing", "1 while the store's writes fail with an I/O error (clients get 503 with Retry-After); 0 once a write succeeds again.", FailIO},
	} {
		reason := g.reason
		c := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: g.name, Help: g.help, ConstLabels: prometheus.Labels{"store": h.Store},
		}, func() float64 {
			if r, _ := h.Failing(); r == reason {
				return 1
			}
			return 0
		})
		if err := reg.Register(c); err != nil {
			h.Unregister(reg)
			return fmt.Errorf("register %s store health: %w", h.Store, err)
		}
		h.collectors = append(h.collectors, c)
	}
	return nil
}

// Unregister removes what Register added.
func (h *WriteHealth) Unregister(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	for _, c := range h.collectors {
		reg.Unregister(c)
	}
	h.collectors = nil
}
