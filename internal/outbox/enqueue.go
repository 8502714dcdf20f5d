package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Enqueue writes m inside tx, a transaction of the outbox's state.DB (from
// its Tx), and wakes the delivery loop, which sees m once tx commits. It
// supersedes the pending messages with m's channel and key, or writes
// nothing when m is a duplicate (see Message.Dedup).
func (o *Outbox) Enqueue(ctx context.Context, tx *sql.Tx, m Message) (Enqueued, error) {
	if m.Channel == "" || m.Key == "" {
		return Enqueued{}, errors.New("outbox: enqueue: Channel and Key are required")
	}
	now := o.now()
	var res Enqueued
	// INDEXED BY: without statistics SQLite may pick the lane index
	// (status, channel, ...) and scan every pending message of the channel
	// per enqueue, which made a storm quadratic.
	if m.Dedup != "" {
		last, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM outbox_messages INDEXED BY outbox_messages_key
			WHERE channel = ? AND key = ? AND status != ? ORDER BY id DESC LIMIT 1`, m.Channel, m.Key, Superseded))
		switch {
		case err == nil:
			if last.Dedup == m.Dedup && (m.DedupFor <= 0 || now.Sub(last.CreatedAt) < m.DedupFor) {
				res.Duplicate = &last
				return res, nil
			}
		case !errors.Is(err, sql.ErrNoRows):
			return res, fmt.Errorf("outbox: enqueue: read latest message: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, `UPDATE outbox_messages INDEXED BY outbox_messages_key SET status = ?, updated_at = ?
		WHERE channel = ? AND key = ? AND status = ? RETURNING id`,
		Superseded, now.UnixMilli(), m.Channel, m.Key, Pending)
	if err != nil {
		return res, fmt.Errorf("outbox: enqueue: supersede: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, fmt.Errorf("outbox: enqueue: supersede: %w", err)
		}
		res.Superseded = append(res.Superseded, id)
	}
	rows.Close()
	status := Pending
	if m.NoSend {
		status = Delivered
	}
	giveUp := m.GiveUpAt
	if giveUp.IsZero() {
		giveUp = now.Add(o.policy(m.Channel).GiveUpAfter)
	}
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO outbox_messages (channel, lane, key, dedup, payload, status, created_at, updated_at, next_attempt_at, give_up_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Channel, m.Lane, m.Key, m.Dedup, m.Payload, status, now.UnixMilli(), now.UnixMilli(), now.UnixMilli(), giveUp.UnixMilli())
	if err != nil {
		return res, fmt.Errorf("outbox: enqueue: %w", err)
	}
	if res.ID, err = r.LastInsertId(); err != nil {
		return res, fmt.Errorf("outbox: enqueue: %w", err)
	}
	if status == Pending {
		o.addLane(m.Channel, m.Lane)
		o.signal()
	}
	return res, nil
}
