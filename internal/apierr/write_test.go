package apierr

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

func TestReply(t *testing.T) {
	var log bytes.Buffer
	w := Writer{Logger: slog.New(slog.NewTextHandler(&log, nil))}
	f := func(err error, status int, retryAfter string, wantMsg string, logged bool) {
		t.Helper()
		log.Reset()
		rec := httptest.NewRecorder()
		w.Text(rec, httptest.NewRequest("GET", "/x", nil), err)
		if rec.Code != status {
			t.Errorf("%v: status %d, want %d", err, rec.Code, status)
		}
		if got := rec.Header().Get("Retry-After"); got != retryAfter {
			t.Errorf("%v: Retry-After %q, want %q", err, got, retryAfter)
		}
		if !strings.Contains(rec.Body.String(), wantMsg) {
			t.Errorf("%v: body %q, want it to contain %q", err, rec.Body.String(), wantMsg)
		}
		if logged != (log.Len() > 0) {
			t.Errorf("%v: logged %q, want logged=%v", err, log.String(), logged)
		}
	}
	f(New(Invalid, "bad step"), 400, "", "bad step", false)
	f(&Error{Code: Overloaded, Message: "queue full", RetryAfter: 1500 * time.Millisecond}, 429, "2", "queue full", false)
	f(New(Unavailable, "starting"), 503, "1", "starting", false)
	f(New(Timeout, "slow"), 503, "", "slow", false)
	f(New(UnsupportedMediaType, "want JSON"), 415, "", "want JSON", false)
	f(errors.New("duckdb: IO Error: /data/logs/p1.db: no space"), 500, "", "internal error (error ID ", true)
	f(Wrap(Internal, errors.New("sql: x"), "store"), 500, "", "internal error", true)
}

func TestReplyHidesInternalDetails(t *testing.T) {
	var log bytes.Buffer
	w := Writer{Logger: slog.New(slog.NewTextHandler(&log, nil))}
	rep := w.Reply(nil, errors.New("open /secret/path/state.db: permission denied"))
	if strings.Contains(rep.Message, "/secret") || rep.ID == "" || !strings.Contains(rep.Message, rep.ID) {
		t.Fatalf("reply %+v", rep)
	}
	if !strings.Contains(log.String(), rep.ID) || !strings.Contains(log.String(), "/secret/path") {
		t.Fatalf("log %q does not hold the ID and the cause", log.String())
	}
}

func TestGRPC(t *testing.T) {
	st := Writer{Logger: slog.New(slog.DiscardHandler)}.GRPC(&Error{Code: Overloaded, Message: "busy", RetryAfter: 3 * time.Second})
	if st.Code() != codes.ResourceExhausted || st.Message() != "busy" {
		t.Fatalf("status %v", st)
	}
	var ri *errdetails.RetryInfo
	for _, d := range st.Details() {
		if x, ok := d.(*errdetails.RetryInfo); ok {
			ri = x
		}
	}
	if ri == nil || ri.RetryDelay.AsDuration() != 3*time.Second {
		t.Fatalf("RetryInfo %v", st.Details())
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 30 * time.Second: 30} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}
