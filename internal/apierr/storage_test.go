package apierr

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"syscall"
	"testing"
)

func TestWriteHealth(t *testing.T) {
	h := &WriteHealth{Store: "metrics", Logger: slog.New(slog.DiscardHandler)}
	full := fmt.Errorf("write to WAL: %w", &fs.PathError{Op: "write", Path: "/data/metrics/wal/00000003", Err: syscall.ENOSPC})
	duck := errors.New(`TransactionContext Error: Failed to commit: Could not write file "/data/traces/0001.duckdb.wal": No space left on device`)
	other := errors.New("constraint violated")

	f := func(in error, wantCode Code, wantReason string) {
		t.Helper()
		got := h.Result(in)
		if in == nil || wantCode == "" {
			if got != in {
				t.Fatalf("Result(%v) = %v, want it unchanged", in, got)
			}
		} else {
			if CodeOf(got) != wantCode || RetryAfterOf(got) != StorageRetryAfter {
				t.Fatalf("Result(%v) = %v (%s, retry %v), want %s with Retry-After", in, got, CodeOf(got), RetryAfterOf(got), wantCode)
			}
			if strings.Contains(got.Error(), "/data") {
				t.Fatalf("message names a file: %q", got)
			}
		}
		if r, _ := h.Failing(); r != wantReason {
			t.Fatalf("after %v: Failing = %q, want %q", in, r, wantReason)
		}
	}
	f(nil, "", "")
	f(full, Unavailable, FailOutOfSpace)
	if !strings.Contains(h.Result(duck).Error(), "out of disk space") {
		t.Fatal("DuckDB's out-of-space text not recognised")
	}
	f(other, "", FailOutOfSpace) // an unrelated error leaves the state alone
	f(&fs.PathError{Op: "write", Path: "/data/x", Err: syscall.EIO}, Unavailable, FailIO)
	f(nil, "", "")
}
