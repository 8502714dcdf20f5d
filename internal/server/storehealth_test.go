package server

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/apierr"
)

// /readyz says which store is out of disk space while it is (issue 10
// item 3), and stops saying it once a write succeeds again.
func TestReadyzShowsStorageProblems(t *testing.T) {
	s := &Server{reg: prometheus.NewRegistry()}
	s.ready.Store(true)
	h := &apierr.WriteHealth{Store: "traces", Logger: slog.New(slog.DiscardHandler)}
	if err := h.Register(s.reg); err != nil {
		t.Fatal(err)
	}
	body := func() string {
		w := httptest.NewRecorder()
		s.serveReady(w, httptest.NewRequest("GET", "/readyz", nil))
		if w.Code != 200 {
			t.Fatalf("/readyz %d", w.Code)
		}
		return w.Body.String()
	}
	if b := body(); b != "ready\n" {
		t.Fatalf("healthy: %q", b)
	}
	_ = h.Result(fmt.Errorf("commit: %w", &fs.PathError{Op: "write", Path: "/data/traces/x.wal", Err: syscall.ENOSPC}))
	if b := body(); !strings.Contains(b, "the traces store is out of disk space") || strings.Contains(b, "/data") {
		t.Fatalf("out of space: %q", b)
	}
	_ = h.Result(nil)
	if b := body(); b != "ready\n" {
		t.Fatalf("recovered: %q", b)
	}
}
