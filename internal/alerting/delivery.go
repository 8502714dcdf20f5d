package alerting

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/outbox"
)

// channel is the outbox channel of Alertmanager integrations.
const channel = "alertmanager"

// Delivery tunes the outbox for alerting's notifications. Zero fields take
// defaults.
type Delivery struct {
	GiveUpAfter time.Duration // default 24h
	MinBackoff  time.Duration // default 1s
	MaxBackoff  time.Duration // default 5m
	// AttemptTimeout bounds one delivery attempt. Default 30s.
	AttemptTimeout time.Duration
	// Concurrency bounds parallel deliveries when alerting runs its own
	// outbox (Options.Outbox nil). Default 8.
	Concurrency int
}

func (d Delivery) policy() outbox.Policy {
	return outbox.Policy{GiveUpAfter: d.GiveUpAfter, MinBackoff: d.MinBackoff, MaxBackoff: d.MaxBackoff, AttemptTimeout: d.AttemptTimeout}
}

// storedAlert is an alert as kept in the outbox.
type storedAlert struct {
	model.Alert
	UpdatedAt time.Time `json:"updatedAt"`
	Timeout   bool      `json:"timeout"`
}

// notification is alerting's outbox payload: which integration to notify
// and what Notify's context needs. Alerting's migration 2 writes the same
// keys (schema.go).
type notification struct {
	Receiver    string         `json:"receiver"`
	Integration string         `json:"integration"`
	Idx         int            `json:"idx"`
	GroupKey    string         `json:"groupKey"`
	Firing      []uint64       `json:"firing"`
	Resolved    []uint64       `json:"resolved"`
	RepeatMS    int64          `json:"repeatMs"`
	GroupLabels model.LabelSet `json:"groupLabels"`
	RouteLabels model.LabelSet `json:"routeLabels,omitempty"`
	Now         time.Time      `json:"now"`
	Alerts      []storedAlert  `json:"alerts"`
}

// key is the outbox key: one stream per integration and alert group.
func (n *notification) key() string {
	return n.Receiver + "/" + n.Integration + "/" + strconv.Itoa(n.Idx) + "/" + n.GroupKey
}

// lane is the outbox lane: one per integration, so a storm to one
// receiver does not hold up notifications to the others.
func (n *notification) lane() string {
	return n.Receiver + "/" + n.Integration + "/" + strconv.Itoa(n.Idx)
}

// dedup is what makes two notifications of one group the same: their
// firing and resolved alerts, as the notification log compares them.
func (n *notification) dedup() string { return hashesJSON(n.Firing) + "|" + hashesJSON(n.Resolved) }

func hashesJSON(h []uint64) string {
	s := slices.Clone(h)
	slices.Sort(s)
	b, _ := json.Marshal(s)
	return string(b)
}

// events builds the ledger events of one notification, one per alert: the
// one place a notification's ledger entry is made.
func (n *notification) events(alerts []model.LabelSet, kind, detail string, id int64) []Event {
	evs := make([]Event, 0, len(alerts))
	for _, ls := range alerts {
		e := eventFor(ls, kind, detail)
		e.Receiver, e.Integration, e.GroupKey, e.NotificationID = n.Receiver, n.Integration+"["+strconv.Itoa(n.Idx)+"]", n.GroupKey, id
		evs = append(evs, e)
	}
	return evs
}

func (n *notification) labelSets() []model.LabelSet {
	out := make([]model.LabelSet, len(n.Alerts))
	for i, a := range n.Alerts {
		out[i] = a.Labels
	}
	return out
}

// Notification is one outbox entry, as listed by the API.
type Notification struct {
	ID            int64         `json:"id"`
	CreatedAt     time.Time     `json:"createdAt"`
	UpdatedAt     time.Time     `json:"updatedAt"`
	Receiver      string        `json:"receiver"`
	Integration   string        `json:"integration"`
	GroupKey      string        `json:"groupKey"`
	Status        outbox.Status `json:"status"`
	Attempts      int           `json:"attempts"`
	NextAttemptAt time.Time     `json:"nextAttemptAt"`
	GiveUpAt      time.Time     `json:"giveUpAt"`
	LastError     string        `json:"lastError,omitempty"`
	Alerts        []string      `json:"alerts"` // fingerprints
}

// integrationLookup finds the integration a notification was made for in
// the configuration in force.
type integrationLookup func(receiver, name string, idx int) (*notify.Integration, bool)

// delivery is alerting's consumer of the outbox: it writes notifications
// with their ledger events, sends them through Alertmanager's integrations
// and records each outcome in the ledger.
type delivery struct {
	ob     *outbox.Outbox
	w      *writer
	ledger *ledger
	logger *slog.Logger
	m      *selfMetrics
	lookup integrationLookup
}

// txRunner is the state database's write transaction.
type txRunner interface {
	Tx(ctx context.Context, fn func(tx *sql.Tx) error) error
}

func newDelivery(ob *outbox.Outbox, w *writer, l *ledger, logger *slog.Logger, m *selfMetrics, lookup integrationLookup, cfg Delivery) *delivery {
	d := &delivery{ob: ob, w: w, ledger: l, logger: logger, m: m, lookup: lookup}
	ob.Register(channel, outbox.Consumer{Deliver: d.deliver, Record: d.record, Policy: cfg.policy()})
	return d
}

func (d *delivery) setDelivery(c Delivery) { _ = d.ob.SetPolicy(channel, c.policy()) }

// outboxStage is the pipeline stage that replaces Alertmanager's
// RetryStage: it writes the notification to the outbox (durably, before the
// notification log records it as sent) and lets the outbox deliver it.
type outboxStage struct {
	d           *delivery
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
	n := notification{Receiver: s.receiver, Integration: s.integration.Name(), Idx: s.integration.Index(), Firing: firing, Resolved: resolved}
	n.GroupKey, _ = notify.GroupKey(ctx)
	n.GroupLabels, _ = notify.GroupLabels(ctx)
	n.RouteLabels, _ = notify.RouteLabels(ctx)
	if n.Now, ok = notify.Now(ctx); !ok {
		n.Now = time.Now()
	}
	repeat, _ := notify.RepeatInterval(ctx)
	n.RepeatMS = repeat.Milliseconds()
	for _, a := range sent {
		n.Alerts = append(n.Alerts, storedAlert{Alert: a.Alert, UpdatedAt: a.UpdatedAt, Timeout: a.Timeout})
	}
	all := make([]model.LabelSet, len(alerts))
	for i, a := range alerts {
		all[i] = a.Labels
	}
	if err := s.d.enqueue(ctx, &n, all, nothingToSend); err != nil {
		// Not logged in nflog: the next flush tries again.
		return ctx, nil, fmt.Errorf("%s/%s: write notification to outbox: %w", s.receiver, s.integration.String(), err)
	}
	return ctx, alerts, nil
}

// enqueue writes n to the outbox with its ledger events (for every alert of
// the group, sent or not) in one transaction.
func (d *delivery) enqueue(ctx context.Context, n *notification, all []model.LabelSet, nothingToSend bool) error {
	pb, err := json.Marshal(n)
	if err != nil {
		return err
	}
	// The notification log is snapshotted periodically; after a crash it may
	// not know about a notification the outbox already holds. The outbox's
	// own record, written in the same transaction as the notification, is
	// the durable dedup (Dedup, within the repeat interval).
	msg := outbox.Message{Channel: channel, Lane: n.lane(), Key: n.key(), Payload: pb, Dedup: n.dedup(), DedupFor: time.Duration(n.RepeatMS) * time.Millisecond, NoSend: nothingToSend}
	var res outbox.Enqueued
	err = d.w.do(ctx, n.Receiver, 3+len(all), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if res, err = d.ob.Enqueue(ctx, tx, msg); err != nil {
			return err
		}
		var evs []Event
		switch {
		case res.Duplicate != nil:
			evs = n.events(all, KindDuplicate, fmt.Sprintf("same notification already in the outbox (%s) since %s; not sent again",
				res.Duplicate.Status, res.Duplicate.CreatedAt.UTC().Format(time.RFC3339)), 0)
		default:
			for _, sid := range res.Superseded {
				evs = append(evs, n.events(all, KindSuperseded, fmt.Sprintf("pending notification %d replaced by %d with the group's newer state", sid, res.ID), sid)...)
			}
			if nothingToSend {
				evs = append(evs, n.events(all, KindDelivered, "only resolved alerts and send_resolved is false: nothing to send", res.ID)...)
			} else {
				evs = append(evs, n.events(all, KindEnqueued, fmt.Sprintf("notification %d queued for %s/%s[%d] (%d firing, %d resolved)",
					res.ID, n.Receiver, n.Integration, n.Idx, len(n.Firing), len(n.Resolved)), res.ID)...)
			}
		}
		return d.ledger.recordTx(ctx, tx, evs...)
	})
	if err != nil {
		return err
	}
	if res.Duplicate == nil && !nothingToSend {
		d.m.enqueued.WithLabelValues(n.Integration).Inc()
	}
	return nil
}

// deliver is the outbox's DeliverFunc for the channel: one attempt through
// the integration in force.
func (d *delivery) deliver(ctx context.Context, m outbox.Message) error {
	var n notification
	if err := json.Unmarshal(m.Payload, &n); err != nil {
		return outbox.Permanent(fmt.Errorf("corrupt outbox payload: %w", err))
	}
	integ, ok := d.lookup(n.Receiver, n.Integration, n.Idx)
	if !ok {
		return outbox.Permanent(fmt.Errorf("receiver %q has no integration %s[%d] in the current configuration", n.Receiver, n.Integration, n.Idx))
	}
	alerts := make([]*alert.Alert, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		alerts = append(alerts, alert.New(a.Alert, a.UpdatedAt, a.Timeout))
	}
	nctx := notify.WithGroupKey(ctx, n.GroupKey)
	nctx = notify.WithReceiverName(nctx, n.Receiver)
	nctx = notify.WithGroupLabels(nctx, n.GroupLabels)
	if n.RouteLabels != nil {
		nctx = notify.WithRouteLabels(nctx, n.RouteLabels)
	}
	nctx = notify.WithNow(nctx, n.Now)
	nctx = notify.WithRepeatInterval(nctx, time.Duration(n.RepeatMS)*time.Millisecond)
	nctx = notify.WithFiringAlerts(nctx, n.Firing)
	nctx = notify.WithResolvedAlerts(nctx, n.Resolved)
	start := time.Now()
	verdict := integ.Notify(nctx, alerts...)
	d.m.attemptDuration.WithLabelValues(n.Integration).Observe(time.Since(start).Seconds())
	err := verdict.Err()
	if err == nil {
		d.m.sent.WithLabelValues(n.Integration).Inc()
		if lat := time.Since(n.Now); lat >= 0 {
			d.m.flushToDelivery.WithLabelValues(n.Integration).Observe(lat.Seconds())
		}
		return nil
	}
	if ctx.Err() != nil {
		return err // cut short by shutdown: not a failure of the receiver
	}
	d.m.failed.WithLabelValues(n.Integration).Inc()
	if !verdict.ShouldRetry() {
		return outbox.Permanent(err)
	}
	return outbox.RetryAfter(err, verdict.Delay())
}

// record writes an outcome or a retry by hand to the ledger, inside the
// outbox's transaction.
func (d *delivery) record(ctx context.Context, tx *sql.Tx, e outbox.Event) error {
	var n notification
	if err := json.Unmarshal(e.Message.Payload, &n); err != nil {
		return nil // a corrupt payload names no alert
	}
	kind := map[outbox.EventKind]string{
		outbox.EventAttempt: KindAttempt, outbox.EventDelivered: KindDelivered, outbox.EventFailed: KindFailed, outbox.EventRetried: KindRetried,
	}[e.Kind]
	return d.ledger.recordTx(ctx, tx, n.events(n.labelSets(), kind, e.Detail, e.Message.ID)...)
}

// list returns alerting's notifications, newest first.
func (d *delivery) list(ctx context.Context, status outbox.Status, limit int) ([]Notification, error) {
	ms, err := d.ob.List(ctx, outbox.Query{Channel: channel, Status: status, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]Notification, 0, len(ms))
	for _, m := range ms {
		var n notification
		_ = json.Unmarshal(m.Payload, &n)
		nt := Notification{
			ID: m.ID, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(), Receiver: n.Receiver,
			Integration: fmt.Sprintf("%s[%d]", n.Integration, n.Idx), GroupKey: n.GroupKey, Status: m.Status, Attempts: m.Attempts,
			NextAttemptAt: m.NextAttemptAt.UTC(), GiveUpAt: m.GiveUpAt.UTC(), LastError: m.LastError, Alerts: []string{},
		}
		for _, a := range n.Alerts {
			nt.Alerts = append(nt.Alerts, a.Labels.Fingerprint().String())
		}
		out = append(out, nt)
	}
	return out, nil
}

// retry puts a failed notification back in the queue with a fresh give-up
// age.
func (d *delivery) retry(ctx context.Context, id int64) error { return d.ob.Retry(ctx, channel, id) }

// depth returns the number of pending notifications and the age of the
// oldest.
func (d *delivery) depth(ctx context.Context) (int, time.Duration) {
	n, age, err := d.ob.Depth(ctx, channel)
	if err != nil {
		return 0, 0
	}
	return n, age
}
