package alerting

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/state"
)

// Notification statuses in the outbox.
const (
	StatusPending    = "pending"
	StatusDelivered  = "delivered"
	StatusFailed     = "failed"
	StatusSuperseded = "superseded"
)

// Delivery tunes the outbox. Zero fields take defaults.
type Delivery struct {
	GiveUpAfter time.Duration // default 24h
	MinBackoff  time.Duration // default 1s
	MaxBackoff  time.Duration // default 5m
	// AttemptTimeout bounds one delivery attempt. Default 30s.
	AttemptTimeout time.Duration
	// Concurrency bounds parallel deliveries. Default 8.
	Concurrency int
}

func (d *Delivery) defaults() {
	if d.GiveUpAfter <= 0 {
		d.GiveUpAfter = 24 * time.Hour
	}
	if d.MinBackoff <= 0 {
		d.MinBackoff = time.Second
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 5 * time.Minute
	}
	if d.MaxBackoff < d.MinBackoff {
		d.MaxBackoff = d.MinBackoff
	}
	if d.AttemptTimeout <= 0 {
		d.AttemptTimeout = 30 * time.Second
	}
	if d.Concurrency <= 0 {
		d.Concurrency = 8
	}
}

// storedAlert is an alert as kept in the outbox.
type storedAlert struct {
	model.Alert
	UpdatedAt time.Time `json:"updatedAt"`
	Timeout   bool      `json:"timeout"`
}

// payload is what a delivery attempt needs to rebuild Notify's context.
type payload struct {
	GroupLabels model.LabelSet `json:"groupLabels"`
	RouteLabels model.LabelSet `json:"routeLabels,omitempty"`
	Now         time.Time      `json:"now"`
	Alerts      []storedAlert  `json:"alerts"`
}

// Notification is one outbox entry, as listed by the API.
type Notification struct {
	ID            int64     `json:"id"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	Receiver      string    `json:"receiver"`
	Integration   string    `json:"integration"`
	GroupKey      string    `json:"groupKey"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	GiveUpAt      time.Time `json:"giveUpAt"`
	LastError     string    `json:"lastError,omitempty"`
	Alerts        []string  `json:"alerts"` // fingerprints
}

// integrationLookup finds the integration a notification was made for in
// the configuration in force.
type integrationLookup func(receiver, name string, idx int) (*notify.Integration, bool)

// outbox persists notifications and delivers them until they succeed or
// reach their give-up age. Alertmanager's own retry stops at the end of
// group_interval and forgets on restart; the outbox does neither.
type outbox struct {
	db      *state.DB
	ledger  *ledger
	logger  *slog.Logger
	m       *selfMetrics
	lookup  integrationLookup
	nowFunc func() time.Time

	mu    sync.Mutex
	cfg   Delivery
	wake  chan struct{}
	busy  map[int64]bool
	wg    sync.WaitGroup
	rnd   *rand.Rand
	rndMu sync.Mutex
}

func newOutbox(db *state.DB, l *ledger, logger *slog.Logger, m *selfMetrics, lookup integrationLookup, cfg Delivery) *outbox {
	cfg.defaults()
	return &outbox{
		db: db, ledger: l, logger: logger.With("component", "outbox"), m: m, lookup: lookup,
		nowFunc: time.Now, cfg: cfg, wake: make(chan struct{}, 1), busy: map[int64]bool{},
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}
}

func (o *outbox) setDelivery(d Delivery) {
	d.defaults()
	o.mu.Lock()
	o.cfg = d
	o.mu.Unlock()
}

func (o *outbox) delivery() Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cfg
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func hashesJSON(h []uint64) string {
	s := slices.Clone(h)
	slices.Sort(s)
	b, _ := json.Marshal(s)
	return string(b)
}

func dedupKey(receiver, integration string, idx int, groupKey string) string {
	return receiver + "/" + integration + "/" + strconv.Itoa(idx) + "/" + groupKey
}

// stage is the pipeline stage that replaces Alertmanager's RetryStage: it
// writes the notification to the outbox (durably, before the notification
// log records it as sent) and lets the delivery loop send it.
type outboxStage struct {
	ob          *outbox
	receiver    string
	integration notify.Integration
}

func (s *outboxStage) Exec(ctx context.Context, _ *slog.Logger, alerts ...*alert.Alert) (context.Context, []*alert.Alert, error) {
	if len(alerts) == 0 {
		return ctx, alerts, nil
	}
	firing, ok := notify.FiringAlerts(ctx)
	if !ok {
		return ctx, nil, errors.New("firing alerts missing from context")
	}
	resolved, _ := notify.ResolvedAlerts(ctx)
	sent := alerts
	nothingToSend := false
	if !s.integration.SendResolved() {
		sent = nil
		for _, a := range alerts {
			if a.Status() != model.AlertResolved {
				sent = append(sent, a)
			}
		}
		nothingToSend = len(firing) == 0
	}
	gk, _ := notify.GroupKey(ctx)
	gl, _ := notify.GroupLabels(ctx)
	rl, _ := notify.RouteLabels(ctx)
	now, ok := notify.Now(ctx)
	if !ok {
		now = time.Now()
	}
	repeat, _ := notify.RepeatInterval(ctx)
	p := payload{GroupLabels: gl, RouteLabels: rl, Now: now}
	for _, a := range sent {
		p.Alerts = append(p.Alerts, storedAlert{Alert: a.Alert, UpdatedAt: a.UpdatedAt, Timeout: a.Timeout})
	}
	err := s.ob.enqueue(ctx, s.receiver, s.integration.Name(), s.integration.Index(), gk, firing, resolved, repeat, p, alerts, nothingToSend)
	if err != nil {
		// Not logged in nflog: the next flush tries again.
		return ctx, nil, fmt.Errorf("%s/%s: write notification to outbox: %w", s.receiver, s.integration.String(), err)
	}
	return ctx, alerts, nil
}

func (o *outbox) enqueue(ctx context.Context, receiver, integration string, idx int, groupKey string, firing, resolved []uint64, repeat time.Duration, p payload, all []*alert.Alert, nothingToSend bool) error {
	key := dedupKey(receiver, integration, idx, groupKey)
	fj, rj := hashesJSON(firing), hashesJSON(resolved)
	pb, err := json.Marshal(p)
	if err != nil {
		return err
	}
	now := o.nowFunc()
	cfg := o.delivery()
	evBase := func(kind, detail string, id int64) []Event {
		evs := make([]Event, 0, len(all))
		for _, a := range all {
			e := eventFor(a.Labels, kind, detail)
			e.Receiver, e.Integration, e.GroupKey, e.NotificationID = receiver, fmt.Sprintf("%s[%d]", integration, idx), groupKey, id
			evs = append(evs, e)
		}
		return evs
	}
	enqueued := false
	err = o.db.Tx(ctx, func(tx *sql.Tx) error {
		// The notification log is snapshotted periodically; after a crash it
		// may not know about a notification the outbox already holds. The
		// outbox's own record, written in the same transaction as the
		// notification, is the durable dedup.
		var lastF, lastR, lastStatus string
		var lastAt int64
		err := tx.QueryRowContext(ctx, `SELECT firing, resolved, created_at, status FROM alerting_outbox
			WHERE dedup_key = ? AND status != 'superseded' ORDER BY id DESC LIMIT 1`, key).Scan(&lastF, &lastR, &lastAt, &lastStatus)
		if err == nil && lastF == fj && lastR == rj && (repeat <= 0 || now.Sub(time.UnixMilli(lastAt)) < repeat) {
			return o.ledger.recordTx(ctx, tx, evBase(KindDuplicate, fmt.Sprintf("same notification already in the outbox (%s) since %s; not sent again", lastStatus, time.UnixMilli(lastAt).UTC().Format(time.RFC3339)), 0)...)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		rows, err := tx.QueryContext(ctx, `UPDATE alerting_outbox SET status = 'superseded', updated_at = ? WHERE dedup_key = ? AND status = 'pending' RETURNING id`, now.UnixMilli(), key)
		if err != nil {
			return err
		}
		var superseded []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			superseded = append(superseded, id)
		}
		rows.Close()
		status := StatusPending
		if nothingToSend {
			status = StatusDelivered
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO alerting_outbox
			(created_at, updated_at, receiver, integration, idx, group_key, dedup_key, firing, resolved, repeat_ms, payload, status, next_attempt_at, give_up_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			now.UnixMilli(), now.UnixMilli(), receiver, integration, idx, groupKey, key, fj, rj, repeat.Milliseconds(), string(pb), status, now.UnixMilli(), now.Add(cfg.GiveUpAfter).UnixMilli())
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		var evs []Event
		for _, sid := range superseded {
			evs = append(evs, evBase(KindSuperseded, fmt.Sprintf("pending notification %d replaced by %d with the group's newer state", sid, id), sid)...)
		}
		if nothingToSend {
			evs = append(evs, evBase(KindDelivered, "only resolved alerts and send_resolved is false: nothing to send", id)...)
		} else {
			evs = append(evs, evBase(KindEnqueued, fmt.Sprintf("notification %d queued for %s/%s[%d] (%d firing, %d resolved)", id, receiver, integration, idx, len(firing), len(resolved)), id)...)
			enqueued = true
		}
		return o.ledger.recordTx(ctx, tx, evs...)
	})
	if err != nil {
		return err
	}
	if enqueued {
		o.m.enqueued.WithLabelValues(integration).Inc()
		o.signal()
	}
	return nil
}

// Run delivers due notifications until ctx is done, then waits for the
// attempts in flight.
func (o *outbox) Run(ctx context.Context) error {
	// One process owns the outbox: leases left by a previous process (which
	// died during an attempt) and backoffs are void after a restart, so
	// every pending notification is due now.
	if err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE alerting_outbox SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?`,
			o.nowFunc().UnixMilli(), o.nowFunc().UnixMilli())
		return err
	}); err != nil && ctx.Err() == nil {
		o.logger.Error("reset notification leases", "err", err)
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	defer o.wg.Wait()
	for {
		o.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-o.wake:
		}
	}
}

type outboxRow struct {
	id                    int64
	createdAt             int64
	receiver, integration string
	idx                   int
	groupKey              string
	firing, resolved      string
	repeatMS              int64
	payload               string
	attempts              int
	giveUpAt              int64
}

func (o *outbox) deliverDue(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	cfg := o.delivery()
	rows, err := o.db.QueryContext(ctx, `SELECT id, created_at, receiver, integration, idx, group_key, firing, resolved, repeat_ms, payload, attempts, give_up_at
		FROM alerting_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 200`, o.nowFunc().UnixMilli())
	if err != nil {
		if ctx.Err() == nil {
			o.logger.Error("read due notifications", "err", err)
		}
		return
	}
	var due []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.id, &r.createdAt, &r.receiver, &r.integration, &r.idx, &r.groupKey, &r.firing, &r.resolved, &r.repeatMS, &r.payload, &r.attempts, &r.giveUpAt); err != nil {
			o.logger.Error("read due notifications", "err", err)
			break
		}
		due = append(due, r)
	}
	rows.Close()
	for _, r := range due {
		o.mu.Lock()
		if o.busy[r.id] || len(o.busy) >= cfg.Concurrency {
			o.mu.Unlock()
			continue
		}
		o.busy[r.id] = true
		o.mu.Unlock()
		if !o.claim(ctx, r.id, cfg) {
			o.mu.Lock()
			delete(o.busy, r.id)
			o.mu.Unlock()
			continue
		}
		o.wg.Go(func() {
			defer func() {
				o.mu.Lock()
				delete(o.busy, r.id)
				o.mu.Unlock()
				o.signal()
			}()
			o.deliver(ctx, r, cfg)
		})
	}
}

// claim leases a due notification to this process for one attempt by
// moving its next attempt past the attempt timeout. The list of due rows
// may be stale (an attempt that just finished); the conditional update
// makes sure a notification is attempted once per due time. If the process
// dies during the attempt, the lease runs out and the notification is
// tried again: at-least-once.
func (o *outbox) claim(ctx context.Context, id int64, cfg Delivery) bool {
	now := o.nowFunc()
	var n int64
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alerting_outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?`,
			now.Add(cfg.AttemptTimeout+10*time.Second).UnixMilli(), id, now.UnixMilli())
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			o.logger.Error("claim notification", "id", id, "err", err)
		}
		return false
	}
	return n == 1
}

func (o *outbox) backoff(attempts int, cfg Delivery) time.Duration {
	d := cfg.MinBackoff
	for i := 1; i < attempts && d < cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, cfg.MaxBackoff)
	// Equal jitter: half fixed, half random, so retries of many
	// notifications spread out without ever waiting less than half.
	o.rndMu.Lock()
	j := time.Duration(o.rnd.Int64N(int64(d/2) + 1))
	o.rndMu.Unlock()
	return d/2 + j
}

func (o *outbox) deliver(ctx context.Context, r outboxRow, cfg Delivery) {
	var p payload
	if err := json.Unmarshal([]byte(r.payload), &p); err != nil {
		o.finish(ctx, r, nil, StatusFailed, 0, fmt.Sprintf("corrupt outbox payload: %v", err))
		return
	}
	alerts := make([]*alert.Alert, 0, len(p.Alerts))
	for _, a := range p.Alerts {
		alerts = append(alerts, alert.New(a.Alert, a.UpdatedAt, a.Timeout))
	}
	integ, ok := o.lookup(r.receiver, r.integration, r.idx)
	if !ok {
		o.finish(ctx, r, alerts, StatusFailed, 0, fmt.Sprintf("receiver %q has no integration %s[%d] in the current configuration", r.receiver, r.integration, r.idx))
		return
	}
	var firing, resolved []uint64
	_ = json.Unmarshal([]byte(r.firing), &firing)
	_ = json.Unmarshal([]byte(r.resolved), &resolved)
	nctx := notify.WithGroupKey(ctx, r.groupKey)
	nctx = notify.WithReceiverName(nctx, r.receiver)
	nctx = notify.WithGroupLabels(nctx, p.GroupLabels)
	if p.RouteLabels != nil {
		nctx = notify.WithRouteLabels(nctx, p.RouteLabels)
	}
	nctx = notify.WithNow(nctx, p.Now)
	nctx = notify.WithRepeatInterval(nctx, time.Duration(r.repeatMS)*time.Millisecond)
	nctx = notify.WithFiringAlerts(nctx, firing)
	nctx = notify.WithResolvedAlerts(nctx, resolved)
	nctx, cancel := context.WithTimeout(nctx, cfg.AttemptTimeout)
	start := time.Now()
	verdict := integ.Notify(nctx, alerts...)
	cancel()
	o.m.attemptDuration.WithLabelValues(r.integration).Observe(time.Since(start).Seconds())
	if ctx.Err() != nil {
		// Shutting down: the attempt was cut short; it stays pending and
		// is tried again after the restart.
		return
	}
	if err := verdict.Err(); err == nil {
		o.m.sent.WithLabelValues(r.integration).Inc()
		if lat := time.Since(p.Now); lat >= 0 {
			o.m.flushToDelivery.WithLabelValues(r.integration).Observe(lat.Seconds())
		}
		o.finish(ctx, r, alerts, StatusDelivered, 0, "")
		return
	}
	o.m.failed.WithLabelValues(r.integration).Inc()
	msg := verdict.Err().Error()
	now := o.nowFunc()
	if !verdict.ShouldRetry() {
		o.finish(ctx, r, alerts, StatusFailed, 0, "unrecoverable: "+msg)
		return
	}
	next := o.backoff(r.attempts+1, cfg)
	if d := verdict.Delay(); d > next {
		next = d
	}
	if now.Add(next).UnixMilli() > r.giveUpAt {
		o.finish(ctx, r, alerts, StatusFailed, 0, fmt.Sprintf("gave up after %d attempts (give_up_after reached): %s", r.attempts+1, msg))
		return
	}
	o.finish(ctx, r, alerts, StatusPending, next, msg)
}

// finish records the outcome of an attempt.
func (o *outbox) finish(ctx context.Context, r outboxRow, alerts []*alert.Alert, status string, next time.Duration, errMsg string) {
	now := o.nowFunc()
	kind, detail := KindDelivered, fmt.Sprintf("delivered on attempt %d", r.attempts+1)
	switch status {
	case StatusFailed:
		kind, detail = KindFailed, errMsg
	case StatusPending:
		kind, detail = KindAttempt, fmt.Sprintf("attempt %d failed: %s; next attempt in %s", r.attempts+1, errMsg, next.Round(time.Millisecond))
	}
	err := o.db.Tx(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE alerting_outbox SET status = CASE WHEN status = 'superseded' AND ? != 'delivered' THEN status ELSE ? END,
			attempts = attempts + 1, updated_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
			status, status, now.UnixMilli(), now.Add(next).UnixMilli(), errMsg, r.id)
		if err != nil {
			return err
		}
		evs := make([]Event, 0, len(alerts))
		for _, a := range alerts {
			e := eventFor(a.Labels, kind, detail)
			e.Receiver, e.Integration, e.GroupKey, e.NotificationID = r.receiver, fmt.Sprintf("%s[%d]", r.integration, r.idx), r.groupKey, r.id
			evs = append(evs, e)
		}
		return o.ledger.recordTx(ctx, tx, evs...)
	})
	if err != nil {
		o.logger.Error("record delivery outcome", "id", r.id, "err", err)
	}
	switch status {
	case StatusFailed:
		o.logger.Error("notification failed", "id", r.id, "receiver", r.receiver, "integration", r.integration, "err", errMsg)
	case StatusPending:
		o.logger.Warn("notification attempt failed; will retry", "id", r.id, "receiver", r.receiver, "integration", r.integration, "next", next, "err", errMsg)
	}
}

func (o *outbox) list(ctx context.Context, status string, limit int) ([]Notification, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	q := `SELECT id, created_at, updated_at, receiver, integration, idx, group_key, status, attempts, next_attempt_at, give_up_at, last_error, payload FROM alerting_outbox`
	var args []any
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := o.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var n Notification
		var c, u, na, g int64
		var idx int
		var pl string
		if err := rows.Scan(&n.ID, &c, &u, &n.Receiver, &n.Integration, &idx, &n.GroupKey, &n.Status, &n.Attempts, &na, &g, &n.LastError, &pl); err != nil {
			return nil, fmt.Errorf("list notifications: %w", err)
		}
		n.Integration = fmt.Sprintf("%s[%d]", n.Integration, idx)
		n.CreatedAt, n.UpdatedAt = time.UnixMilli(c).UTC(), time.UnixMilli(u).UTC()
		n.NextAttemptAt, n.GiveUpAt = time.UnixMilli(na).UTC(), time.UnixMilli(g).UTC()
		var p payload
		_ = json.Unmarshal([]byte(pl), &p)
		n.Alerts = []string{}
		for _, a := range p.Alerts {
			n.Alerts = append(n.Alerts, a.Labels.Fingerprint().String())
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// retry puts a failed notification back in the queue with a fresh give-up
// age.
func (o *outbox) retry(ctx context.Context, id int64) error {
	cfg := o.delivery()
	now := o.nowFunc()
	var alerts []*alert.Alert
	var r outboxRow
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		var status, pl string
		err := tx.QueryRowContext(ctx, `SELECT status, receiver, integration, idx, group_key, payload FROM alerting_outbox WHERE id = ?`, id).
			Scan(&status, &r.receiver, &r.integration, &r.idx, &r.groupKey, &pl)
		if errors.Is(err, sql.ErrNoRows) {
			return apierr.New(apierr.NotFound, "notification %d does not exist", id)
		}
		if err != nil {
			return err
		}
		if status != StatusFailed {
			return apierr.New(apierr.Conflict, "notification %d is %s; only failed notifications can be retried", id, status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerting_outbox SET status = 'pending', next_attempt_at = ?, give_up_at = ?, updated_at = ? WHERE id = ?`,
			now.UnixMilli(), now.Add(cfg.GiveUpAfter).UnixMilli(), now.UnixMilli(), id); err != nil {
			return err
		}
		var p payload
		_ = json.Unmarshal([]byte(pl), &p)
		var evs []Event
		for _, a := range p.Alerts {
			alerts = append(alerts, alert.New(a.Alert, a.UpdatedAt, a.Timeout))
			e := eventFor(a.Labels, KindRetried, fmt.Sprintf("notification %d retried by hand", id))
			e.Receiver, e.Integration, e.GroupKey, e.NotificationID = r.receiver, fmt.Sprintf("%s[%d]", r.integration, r.idx), r.groupKey, id
			evs = append(evs, e)
		}
		return o.ledger.recordTx(ctx, tx, evs...)
	})
	if err != nil {
		return err
	}
	o.signal()
	return nil
}

// depth returns the number of pending notifications and the age of the
// oldest.
func (o *outbox) depth(ctx context.Context) (int, time.Duration) {
	var n int
	var oldest sql.NullInt64
	if err := o.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM alerting_outbox WHERE status = 'pending'`).Scan(&n, &oldest); err != nil {
		return 0, 0
	}
	if !oldest.Valid {
		return n, 0
	}
	return n, o.nowFunc().Sub(time.UnixMilli(oldest.Int64))
}
