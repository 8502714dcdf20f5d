package alerting

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/state"
)

// Event kinds recorded in the ledger.
const (
	KindPending    = "pending"    // a rule's expression became true; waiting for `for`
	KindFiring     = "firing"     // a rule's alert fired
	KindResolved   = "resolved"   // a rule's alert stopped firing
	KindInactive   = "inactive"   // a pending alert went away before firing
	KindReceived   = "received"   // an alert arrived through the Alertmanager API
	KindRouted     = "routed"     // the route tree sent the alert to a receiver (not muted)
	KindSilenced   = "silenced"   // a silence stopped the notification
	KindInhibited  = "inhibited"  // an inhibition rule stopped the notification
	KindTimeMuted  = "time_muted" // a mute/active time interval stopped it
	KindEnqueued   = "enqueued"   // a notification was written to the outbox
	KindAttempt    = "attempt"    // a delivery attempt failed and will be retried
	KindDelivered  = "delivered"  // a delivery attempt succeeded
	KindFailed     = "failed"     // delivery gave up (unrecoverable error or give-up age)
	KindSuperseded = "superseded" // a newer notification for the same group replaced a pending one
	KindRetried    = "retried"    // a failed notification was retried by hand
	KindDuplicate  = "duplicate"  // a notification was already delivered (after a restart), not sent again
)

// Event is one ledger entry.
type Event struct {
	ID             int64          `json:"id"`
	Time           time.Time      `json:"time"`
	Fingerprint    string         `json:"fingerprint"`
	AlertName      string         `json:"alertname"`
	Kind           string         `json:"kind"`
	Receiver       string         `json:"receiver,omitempty"`
	Integration    string         `json:"integration,omitempty"`
	GroupKey       string         `json:"groupKey,omitempty"`
	NotificationID int64          `json:"notificationId,omitempty"`
	Detail         string         `json:"detail"`
	Labels         model.LabelSet `json:"labels"`
}

// ledger persists Events. Safe for concurrent use.
type ledger struct {
	db *state.DB
	w  *writer
}

func eventFor(ls model.LabelSet, kind, detail string) Event {
	return Event{
		Time:        time.Now(),
		Fingerprint: ls.Fingerprint().String(),
		AlertName:   string(ls[model.AlertNameLabel]),
		Kind:        kind,
		Detail:      detail,
		Labels:      ls,
	}
}

// record writes evs in a batch transaction of lane (see writer.do).
func (l *ledger) record(ctx context.Context, lane string, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	return l.w.do(ctx, lane, len(evs), func(ctx context.Context, tx *sql.Tx) error {
		return l.recordTx(ctx, tx, evs...)
	})
}

func (l *ledger) recordTx(ctx context.Context, tx *sql.Tx, evs ...Event) error {
	st, err := tx.PrepareContext(ctx, `INSERT INTO alerting_ledger
		(ts, fingerprint, alertname, kind, receiver, integration, group_key, notification_id, detail, labels)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, e := range evs {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		lb, _ := json.Marshal(e.Labels)
		if _, err := st.ExecContext(ctx, e.Time.UnixMilli(), e.Fingerprint, e.AlertName, e.Kind, e.Receiver, e.Integration, e.GroupKey, e.NotificationID, e.Detail, string(lb)); err != nil {
			return fmt.Errorf("record ledger event: %w", err)
		}
	}
	return nil
}

// LedgerQuery selects ledger events. Zero fields do not filter.
type LedgerQuery struct {
	Fingerprint string
	Start, End  time.Time
	Kind        string
	AlertName   string
	Limit       int // default 1000, max 10000
}

// History returns the ledger events q selects, oldest first, as
// GET /vigil/api/v1/alerts/{fingerprint}/history answers them (the
// on-call timeline reads them through the server). Safe for concurrent use.
func (a *Service) History(ctx context.Context, q LedgerQuery) ([]Event, error) {
	return a.ledger.query(ctx, q)
}

func (l *ledger) query(ctx context.Context, q LedgerQuery) ([]Event, error) {
	var where []string
	var args []any
	if q.Fingerprint != "" {
		where = append(where, "fingerprint = ?")
		args = append(args, q.Fingerprint)
	}
	if !q.Start.IsZero() {
		where = append(where, "ts >= ?")
		args = append(args, q.Start.UnixMilli())
	}
	if !q.End.IsZero() {
		where = append(where, "ts <= ?")
		args = append(args, q.End.UnixMilli())
	}
	if q.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, q.Kind)
	}
	if q.AlertName != "" {
		where = append(where, "alertname = ?")
		args = append(args, q.AlertName)
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	q.Limit = min(q.Limit, 10000)
	s := `SELECT id, ts, fingerprint, alertname, kind, receiver, integration, group_key, notification_id, detail, labels FROM alerting_ledger`
	if len(where) > 0 {
		s += " WHERE " + strings.Join(where, " AND ")
	}
	s += " ORDER BY id LIMIT ?"
	args = append(args, q.Limit)
	rows, err := l.db.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, fmt.Errorf("query ledger: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var ts int64
		var lb string
		if err := rows.Scan(&e.ID, &ts, &e.Fingerprint, &e.AlertName, &e.Kind, &e.Receiver, &e.Integration, &e.GroupKey, &e.NotificationID, &e.Detail, &lb); err != nil {
			return nil, fmt.Errorf("query ledger: %w", err)
		}
		e.Time = time.UnixMilli(ts).UTC()
		_ = json.Unmarshal([]byte(lb), &e.Labels)
		out = append(out, e)
	}
	return out, rows.Err()
}
