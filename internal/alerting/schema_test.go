package alerting

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/state"
)

// A notification pending in the outbox of an older Vigil (table
// alerting_outbox) is delivered after the upgrade, under its old ID.
func TestPendingNotificationSurvivesOutboxMove(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	db, err := state.Open(t.Context(), filepath.Join(e.dir, "alerting", "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context(), "alerting", migrations[:1]); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.Tx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), `INSERT INTO alerting_outbox
		(id, created_at, updated_at, receiver, integration, idx, group_key, dedup_key, firing, resolved, repeat_ms, payload, status, attempts, next_attempt_at, give_up_at, last_error)
		VALUES (41, ?, ?, 'hook', 'webhook', 0, '{}:{alertname="Old"}', 'hook/webhook/0/{}:{alertname="Old"}', '[7]', '[]', 3600000, ?, 'pending', 2, ?, ?, '503')`,
			now.UnixMilli(), now.UnixMilli(),
			`{"groupLabels":{"alertname":"Old"},"now":"`+now.UTC().Format(time.RFC3339Nano)+`","alerts":[{"labels":{"alertname":"Old"},"annotations":{},"startsAt":"`+now.UTC().Format(time.RFC3339)+`","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","updatedAt":"`+now.UTC().Format(time.RFC3339)+`","timeout":false}]}`,
			now.Add(time.Hour).UnixMilli(), now.Add(time.Hour).UnixMilli())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	a, _ := e.start(t, outboxRules, amWebhook(s.srv.URL), Delivery{})
	waitFor(t, 10*time.Second, "delivery of the old notification", func() bool { return len(s.messages()) == 1 })
	m := s.messages()[0]
	if m.Receiver != "hook" || m.GroupLabels["alertname"] != "Old" || m.GroupKey != `{}:{alertname="Old"}` || len(m.Alerts) != 1 {
		t.Fatalf("message = %+v", m)
	}
	waitFor(t, 5*time.Second, "listed as delivered", func() bool {
		ns, _ := a.delivery.list(t.Context(), outbox.Delivered, 0)
		return len(ns) == 1 && ns[0].ID == 41 && ns[0].Attempts == 3 && ns[0].Integration == "webhook[0]" && ns[0].Receiver == "hook"
	})
	if k := kinds(history(t, a, m.Alerts[0].Fingerprint)); k != "delivered" {
		t.Fatalf("ledger = %s", k)
	}
}
