package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Query selects messages for List. Zero fields do not filter.
type Query struct {
	Channel string
	Status  Status
	Limit   int // default 1000, at most 10000
}

// List returns messages, newest first.
func (o *Outbox) List(ctx context.Context, q Query) ([]Message, error) {
	if q.Limit <= 0 || q.Limit > 10000 {
		q.Limit = 1000
	}
	s := `SELECT ` + messageColumns + ` FROM outbox_messages WHERE 1`
	var args []any
	if q.Channel != "" {
		s += ` AND channel = ?`
		args = append(args, q.Channel)
	}
	if q.Status != "" {
		s += ` AND status = ?`
		args = append(args, q.Status)
	}
	s += ` ORDER BY id DESC LIMIT ?`
	rows, err := o.db.QueryContext(ctx, s, append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list outbox messages: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list outbox messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Retry puts a failed message of channel back in the queue with a fresh
// give-up age and records EventRetried. A message that does not exist (or
// belongs to another channel) is an apierr.NotFound; one that is not failed
// an apierr.Conflict.
func (o *Outbox) Retry(ctx context.Context, channel string, id int64) error {
	c, ok := o.consumer(channel)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownChannel, channel)
	}
	now := o.now()
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM outbox_messages WHERE id = ? AND channel = ?`, id, channel))
		if errors.Is(err, sql.ErrNoRows) {
			return apierr.New(apierr.NotFound, "notification %d does not exist", id)
		}
		if err != nil {
			return err
		}
		if m.Status != Failed {
			return apierr.New(apierr.Conflict, "notification %d is %s; only failed notifications can be retried", id, m.Status)
		}
		m.Status, m.NextAttemptAt, m.GiveUpAt, m.UpdatedAt = Pending, now, now.Add(c.Policy.GiveUpAfter), now
		if _, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET status = ?, next_attempt_at = ?, give_up_at = ?, updated_at = ? WHERE id = ?`,
			m.Status, m.NextAttemptAt.UnixMilli(), m.GiveUpAt.UnixMilli(), m.UpdatedAt.UnixMilli(), id); err != nil {
			return err
		}
		o.addLane(m.Channel, m.Lane)
		if c.Record == nil {
			return nil
		}
		return c.Record(ctx, tx, Event{Kind: EventRetried, Message: m, Detail: fmt.Sprintf("notification %d retried by hand", id)})
	})
	if err != nil {
		return err
	}
	o.signal()
	return nil
}

// Depth returns the number of pending messages of channel ("" for all) and
// the age of the oldest.
func (o *Outbox) Depth(ctx context.Context, channel string) (int, time.Duration, error) {
	var n int
	var oldest sql.NullInt64
	if err := o.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM outbox_messages WHERE status = ? AND (? = '' OR channel = ?)`,
		Pending, channel, channel).Scan(&n, &oldest); err != nil {
		return 0, 0, fmt.Errorf("outbox depth: %w", err)
	}
	if !oldest.Valid {
		return n, 0, nil
	}
	return n, o.now().Sub(time.UnixMilli(oldest.Int64)), nil
}

// Prune deletes the finished (not pending) messages of channel ("" for
// all) last changed before before, inside tx when it is not nil.
func (o *Outbox) Prune(ctx context.Context, tx *sql.Tx, channel string, before time.Time) error {
	const q = `DELETE FROM outbox_messages WHERE status != ? AND updated_at < ? AND (? = '' OR channel = ?)`
	if tx != nil {
		_, err := tx.ExecContext(ctx, q, Pending, before.UnixMilli(), channel, channel)
		return err
	}
	return o.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q, Pending, before.UnixMilli(), channel, channel)
		return err
	})
}
