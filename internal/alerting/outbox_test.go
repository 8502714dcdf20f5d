package alerting

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/route"
)

const outboxRules = `groups:
  - name: g
    interval: 200ms
    rules:
      - alert: Down
        expr: up_metric == 0
`

func TestOutboxRetriesAcrossRestartExactlyOnce(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	s.down.Store(true)
	d := Delivery{MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, GiveUpAfter: time.Hour}
	a, stop := e.start(t, outboxRules, amWebhook(s.srv.URL), d)
	e.write("up_metric", 0, "job", "x")
	waitFor(t, 10*time.Second, "failed attempts", func() bool { return s.calls.Load() >= 3 })
	ns, err := a.delivery.list(t.Context(), outbox.Pending, 0)
	if err != nil || len(ns) != 1 || ns[0].Attempts < 2 || !strings.Contains(ns[0].LastError, "503") {
		t.Fatalf("pending = %+v, %v", ns, err)
	}
	fp := ns[0].Alerts[0]
	stop()
	// Lose the notification log, as a crash between snapshots would.
	if err := os.Remove(filepath.Join(e.dir, "alerting", "nflog")); err != nil {
		t.Fatal(err)
	}
	s.down.Store(false)
	a2, _ := e.start(t, outboxRules, amWebhook(s.srv.URL), d)
	waitFor(t, 10*time.Second, "delivery", func() bool { return len(s.messages()) == 1 })
	time.Sleep(1500 * time.Millisecond) // several group intervals
	if n := len(s.messages()); n != 1 {
		t.Fatalf("delivered %d times, want exactly once", n)
	}
	// The delivered entry is written after the receiver answered: wait
	// for it, not for the delivery (issue 11 item 9).
	waitFor(t, 5*time.Second, "ledger with attempt, delivered and duplicate", func() bool {
		k := kinds(history(t, a2, fp))
		return strings.Contains(k, "attempt") && strings.Contains(k, "delivered") && strings.Contains(k, "duplicate")
	}, func() string { return kinds(history(t, a2, fp)) })
}

func TestOutboxGiveUpAndManualRetry(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	s.down.Store(true)
	d := Delivery{MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, GiveUpAfter: 400 * time.Millisecond}
	a, _ := e.start(t, outboxRules, amWebhook(s.srv.URL), d)
	mux := route.NewMux(a.Routes())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	e.write("up_metric", 0, "job", "x")
	var failed []Notification
	waitFor(t, 10*time.Second, "give up", func() bool {
		var r struct{ Data []Notification }
		getJSON(t, srv.URL+"/vigil/api/v1/notifications?status=failed", &r)
		failed = r.Data
		return len(failed) == 1
	})
	if !strings.Contains(failed[0].LastError, "gave up") {
		t.Fatalf("last error = %q", failed[0].LastError)
	}
	s.down.Store(false)
	resp, err := http.Post(srv.URL+"/vigil/api/v1/notifications/"+itoa(failed[0].ID)+"/retry", "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	waitFor(t, 5*time.Second, "delivery after retry", func() bool { return len(s.messages()) == 1 })
	// The delivered entry is written after the receiver answered: wait for
	// the ledger, not for the delivery (issue 11 item 9: read too early
	// under load it was "...,failed,retried").
	var h struct{ Data []Event }
	waitFor(t, 5*time.Second, "ledger ending failed,retried,...,delivered", func() bool {
		getJSON(t, srv.URL+"/vigil/api/v1/alerts/"+failed[0].Alerts[0]+"/history", &h)
		k := kinds(h.Data)
		return strings.Contains(k, "failed,retried") && strings.HasSuffix(k, "delivered")
	}, func() string { return kinds(h.Data) })
	for path, want := range map[string]int{
		"/vigil/api/v1/notifications/abc/retry":                        400,
		"/vigil/api/v1/notifications/9999/retry":                       404,
		"/vigil/api/v1/notifications/" + itoa(failed[0].ID) + "/retry": 409,
	} {
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil || resp.StatusCode != want {
			t.Errorf("POST %s: %v %v, want %d", path, resp.Status, err, want)
		}
		resp.Body.Close()
	}
}

func TestSupersede(t *testing.T) {
	// A firing notification still pending when the group resolves is
	// replaced by the resolved one: the receiver gets the latest state
	// once, not a stale page followed by a resolve.
	e := newEnv(t)
	s := newSink(t)
	s.down.Store(true)
	d := Delivery{MinBackoff: 300 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, GiveUpAfter: time.Hour}
	a, _ := e.start(t, outboxRules, amWebhook(s.srv.URL), d)
	e.write("up_metric", 0, "job", "x")
	waitFor(t, 10*time.Second, "first attempt", func() bool { return s.calls.Load() >= 1 })
	e.write("up_metric", 1, "job", "x")
	waitFor(t, 10*time.Second, "superseded", func() bool {
		ns, _ := a.delivery.list(t.Context(), outbox.Superseded, 0)
		return len(ns) == 1
	})
	s.down.Store(false)
	waitFor(t, 10*time.Second, "delivery", func() bool { return len(s.messages()) >= 1 })
	time.Sleep(500 * time.Millisecond)
	ms := s.messages()
	if len(ms) != 1 || ms[0].Status != "resolved" {
		t.Fatalf("messages = %+v", ms)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestEachNotificationDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	conf := strings.Replace(amWebhook(s.srv.URL), "group_by: [alertname]", "group_by: [alertname, job]", 1)
	e.start(t, outboxRules, conf, Delivery{})
	const n = 40
	for i := range n {
		e.write("up_metric", 0, "job", "j"+itoa(int64(i)))
	}
	waitFor(t, 10*time.Second, "all notifications", func() bool { return len(s.messages()) >= n })
	time.Sleep(time.Second)
	seen := map[string]int{}
	for _, m := range s.messages() {
		for _, a := range m.Alerts {
			seen[a.Fingerprint]++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct alerts notified, want %d", len(seen), n)
	}
	for fp, c := range seen {
		if c != 1 {
			t.Fatalf("alert %s notified %d times", fp, c)
		}
	}
}

func TestPrune(t *testing.T) {
	a, err := New(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := t.Context()
	old := time.Now().Add(-48 * time.Hour).UnixMilli()
	for _, q := range []string{
		`INSERT INTO alerting_ledger (ts, fingerprint, kind) VALUES (` + itoa(old) + `, 'a', 'firing'), (` + itoa(time.Now().UnixMilli()) + `, 'b', 'firing')`,
		`INSERT INTO outbox_messages (channel, key, payload, status, created_at, updated_at, next_attempt_at, give_up_at)
		 VALUES ('alertmanager', 'k', '{}', 'delivered', 0, ` + itoa(old) + `, 0, 0),
		        ('alertmanager', 'k', '{}', 'pending', 0, ` + itoa(old) + `, 0, 0)`,
	} {
		if err := a.db.Tx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.pruneOnce(ctx, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var nl, no int
	a.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerting_ledger`).Scan(&nl)
	a.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox_messages`).Scan(&no)
	if nl != 1 || no != 1 {
		t.Fatalf("after prune: %d ledger rows, %d outbox rows; want 1 and 1 (pending kept)", nl, no)
	}
}
