package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Incident states (PagerDuty's).
const (
	Triggered    = "triggered"
	Acknowledged = "acknowledged"
	Resolved     = "resolved"
)

// Incident sources.
const (
	SourceAlertmanager = "alertmanager"
	SourceEventsV2     = "events_v2"
	SourceManual       = "manual"
)

// Timeline event kinds.
const (
	EvTriggered     = "triggered"
	EvAlertJoined   = "alert_joined"
	EvAlertResolved = "alert_resolved"
	EvEventJoined   = "event_joined" // events v2 trigger with the same dedup_key
	EvEscalated     = "escalated"    // a step ran
	EvNotify        = "notify"       // a notification was enqueued
	EvDelivered     = "delivered"
	EvDeliveryError = "delivery_failed"
	EvUnreachable   = "unreachable" // no contact method / nobody on call
	EvExhausted     = "exhausted"   // the policy ended without acknowledgement
	EvAcknowledged  = "acknowledged"
	EvResolved      = "resolved"
	EvReopened      = "reopened"
	EvReassigned    = "reassigned"
	EvNote          = "note"
	EvSnoozed       = "snoozed"
	EvUnsnoozed     = "unsnoozed"
	EvMirror        = "mirror"
)

// Incident is an incident as the API shows it.
type Incident struct {
	ID           int64             `json:"id"`
	Key          string            `json:"key"`
	Source       string            `json:"source"`
	Receiver     string            `json:"receiver,omitempty"`
	Title        string            `json:"title"`
	Severity     string            `json:"severity,omitempty"`
	Priority     string            `json:"priority,omitempty"`
	Team         string            `json:"team,omitempty"`
	Service      string            `json:"service,omitempty"`
	Policy       string            `json:"escalation_policy,omitempty"`
	State        string            `json:"state"`
	Assignee     string            `json:"assignee,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	AckedAt      *time.Time        `json:"acknowledged_at,omitempty"`
	AckedBy      string            `json:"acknowledged_by,omitempty"`
	ResolvedAt   *time.Time        `json:"resolved_at,omitempty"`
	ResolvedBy   string            `json:"resolved_by,omitempty"`
	SnoozedUntil *time.Time        `json:"snoozed_until,omitempty"`
	Escalation   EscalationPos     `json:"escalation"`
	Labels       map[string]string `json:"labels,omitempty"`
	Details      map[string]any    `json:"details,omitempty"`
	Alerts       []Alert           `json:"alerts,omitempty"`
	Timeline     []TimelineEvent   `json:"timeline,omitempty"`
	URL          string            `json:"url"`
	autoResolve  bool
}

// EscalationPos is where an incident's escalation is: the loop (0 for
// the first pass) and the index of the last step executed (-1: none yet).
type EscalationPos struct {
	Loop int `json:"loop"`
	Step int `json:"step"`
}

// Alert is an alert that joined an incident.
type Alert struct {
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	// History is the alert's history in the alert ledger (routing,
	// silences, notifications), the other half of the incident's timeline.
	History string `json:"history,omitempty"`
}

// TimelineEvent is one entry of an incident's timeline.
type TimelineEvent struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Actor   string    `json:"actor,omitempty"`
	User    string    `json:"user,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

const incidentCols = `id, key, source, receiver, title, severity, priority, team, service, policy, state, assignee, auto_resolve,
	created_at, updated_at, acked_at, acked_by, resolved_at, resolved_by, snoozed_until, esc_loop, esc_step, labels, details`

type scanner interface{ Scan(...any) error }

func scanIncident(r scanner) (*Incident, error) {
	var in Incident
	var created, updated, acked, resolved, snoozed int64
	var auto int
	var labels, details string
	if err := r.Scan(&in.ID, &in.Key, &in.Source, &in.Receiver, &in.Title, &in.Severity, &in.Priority, &in.Team, &in.Service, &in.Policy,
		&in.State, &in.Assignee, &auto, &created, &updated, &acked, &in.AckedBy, &resolved, &in.ResolvedBy, &snoozed,
		&in.Escalation.Loop, &in.Escalation.Step, &labels, &details); err != nil {
		return nil, err
	}
	in.autoResolve = auto != 0
	in.CreatedAt, in.UpdatedAt = fromMS(created), fromMS(updated)
	if acked > 0 {
		t := fromMS(acked)
		in.AckedAt = &t
	}
	if resolved > 0 {
		t := fromMS(resolved)
		in.ResolvedAt = &t
	}
	if snoozed > 0 {
		t := fromMS(snoozed)
		in.SnoozedUntil = &t
	}
	_ = json.Unmarshal([]byte(labels), &in.Labels)
	_ = json.Unmarshal([]byte(details), &in.Details)
	return &in, nil
}

// reader is a transaction or the database (reads only: writes go
// through state.DB.Tx).
type reader interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

type querier interface {
	reader
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

func getIncident(ctx context.Context, q reader, id int64) (*Incident, error) {
	in, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM oncall_incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apierr.New(apierr.NotFound, "incident %d not found", id)
	}
	return in, err
}

// latestByKey returns the newest incident with key, nil when none.
func latestByKey(ctx context.Context, q reader, key string) (*Incident, error) {
	in, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM oncall_incidents WHERE key = ? ORDER BY id DESC LIMIT 1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return in, err
}

func (o *OnCall) incidentURL(id int64) string {
	return fmt.Sprintf("%s/vigil/api/v1/oncall/incidents/%d", o.config().ExternalURL, id)
}

// record appends a timeline event.
func record(ctx context.Context, tx querier, id int64, at time.Time, kind, actor, user, channel, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oncall_timeline (incident_id, ts, kind, actor, user, channel, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, ms(at), kind, actor, user, channel, detail)
	return err
}

func timeline(ctx context.Context, q reader, id int64) ([]TimelineEvent, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, ts, kind, actor, user, channel, detail FROM oncall_timeline WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TimelineEvent
	for rows.Next() {
		var e TimelineEvent
		var ts int64
		if err := rows.Scan(&e.ID, &ts, &e.Kind, &e.Actor, &e.User, &e.Channel, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = fromMS(ts)
		out = append(out, e)
	}
	return out, rows.Err()
}

func alertsOf(ctx context.Context, q reader, id int64) ([]Alert, error) {
	rows, err := q.QueryContext(ctx, `SELECT fingerprint, status, labels, annotations, starts_at, ends_at, generator_url FROM oncall_alerts WHERE incident_id = ? ORDER BY starts_at, fingerprint`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var ls, as string
		var st, en int64
		if err := rows.Scan(&a.Fingerprint, &a.Status, &ls, &as, &st, &en, &a.GeneratorURL); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(ls), &a.Labels)
		_ = json.Unmarshal([]byte(as), &a.Annotations)
		a.StartsAt, a.EndsAt = fromMS(st), fromMS(en)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Get returns an incident with its alerts and timeline.
func (o *OnCall) Get(ctx context.Context, id int64) (*Incident, error) {
	in, err := getIncident(ctx, o.db, id)
	if err != nil {
		return nil, err
	}
	if in.Alerts, err = alertsOf(ctx, o.db, id); err != nil {
		return nil, err
	}
	for i := range in.Alerts {
		in.Alerts[i].History = fmt.Sprintf("%s/vigil/api/v1/alerts/%s/history", o.config().ExternalURL, in.Alerts[i].Fingerprint)
	}
	if in.Timeline, err = timeline(ctx, o.db, id); err != nil {
		return nil, err
	}
	in.URL = o.incidentURL(id)
	return in, nil
}

// Filter selects incidents for List.
type Filter struct {
	States         []string
	Team, Service  string
	Since, Until   time.Time // created in [Since, Until)
	Limit          int
	ExcludeDetails bool
}

// List returns incidents, newest first.
func (o *OnCall) List(ctx context.Context, f Filter) ([]*Incident, error) {
	var where []string
	var args []any
	if len(f.States) > 0 {
		where = append(where, "state IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.States)), ",")+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if f.Team != "" {
		where = append(where, "team = ?")
		args = append(args, f.Team)
	}
	if f.Service != "" {
		where = append(where, "service = ?")
		args = append(args, f.Service)
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, ms(f.Until))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT ` + incidentCols + ` FROM oncall_incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := o.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Incident{}
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		in.URL = o.incidentURL(in.ID)
		out = append(out, in)
	}
	return out, rows.Err()
}

// newIncident is what opening an incident needs.
type newIncident struct {
	Key, Source, Receiver, Title, Severity, Priority, Team, Service, Policy string
	AutoResolve                                                             bool
	Labels                                                                  map[string]string
	Details                                                                 map[string]any
	Actor                                                                   string
	// Assignee is paged directly (manual incidents); without a policy or
	// an assignee nobody is paged, which the timeline says.
	Assignee string
}

// open inserts a triggered incident, records it, schedules its first
// escalation step (due now) and mirrors it.
func (o *OnCall) open(ctx context.Context, tx *sql.Tx, n newIncident) (*Incident, error) {
	now := o.now()
	if n.Policy != "" {
		if _, ok := o.catalog().policies[n.Policy]; !ok {
			return nil, apierr.New(apierr.Invalid, "unknown escalation policy %q", n.Policy)
		}
	}
	ls, _ := json.Marshal(n.Labels)
	if n.Labels == nil {
		ls = []byte("{}")
	}
	ds, _ := json.Marshal(n.Details)
	if n.Details == nil {
		ds = []byte("{}")
	}
	auto := 0
	if n.AutoResolve {
		auto = 1
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO oncall_incidents (key, source, receiver, title, severity, priority, team, service, policy, state, auto_resolve, created_at, updated_at, labels, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?, ?)`,
		n.Key, n.Source, n.Receiver, n.Title, n.Severity, n.Priority, n.Team, n.Service, n.Policy, auto, ms(now), ms(now), string(ls), string(ds))
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("incident opened (%s): %s", n.Source, n.Title)
	if err := record(ctx, tx, id, now, EvTriggered, n.Actor, "", "", detail); err != nil {
		return nil, err
	}
	if n.Policy != "" {
		if err := scheduleStep(ctx, tx, id, stepEscalate, 0, 0, "", now); err != nil {
			return nil, err
		}
		o.signal()
	} else if n.Assignee == "" {
		if err := o.unreachable(ctx, tx, id, now, "no_policy", "", "incident has no escalation policy: nobody is paged"); err != nil {
			return nil, err
		}
	}
	in, err := getIncident(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	o.m.opened.WithLabelValues(in.Team).Inc()
	return in, o.mirror(ctx, tx, in, "trigger")
}

// Acknowledge moves a triggered incident to acknowledged and stops its
// escalation. Acknowledging an acknowledged incident changes nothing.
func (o *OnCall) Acknowledge(ctx context.Context, id int64, actor string) (*Incident, error) {
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = o.acknowledge(ctx, tx, id, actor)
		return err
	})
	return out, err
}

func (o *OnCall) acknowledge(ctx context.Context, tx *sql.Tx, id int64, actor string) (*Incident, error) {
	in, err := getIncident(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	switch in.State {
	case Resolved:
		return nil, apierr.New(apierr.Conflict, "incident %d is resolved; it cannot be acknowledged", id)
	case Acknowledged:
		return in, nil
	}
	now := o.now()
	if actor == "" {
		actor = "unknown"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET state = 'acknowledged', acked_at = ?, acked_by = ?, updated_at = ? WHERE id = ?`, ms(now), actor, ms(now), id); err != nil {
		return nil, err
	}
	if err := cancelSteps(ctx, tx, id, now); err != nil {
		return nil, err
	}
	if err := record(ctx, tx, id, now, EvAcknowledged, actor, "", "", "acknowledged by "+actor+"; escalation stopped"); err != nil {
		return nil, err
	}
	if in.AckedAt == nil {
		o.m.tta.WithLabelValues(in.Team).Observe(now.Sub(in.CreatedAt).Seconds())
	}
	in, err = getIncident(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return in, o.mirror(ctx, tx, in, "acknowledge")
}

// Resolve resolves an incident. Resolving a resolved incident changes
// nothing.
func (o *OnCall) Resolve(ctx context.Context, id int64, actor string) (*Incident, error) {
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = o.resolve(ctx, tx, id, actor, "resolved by "+orUnknown(actor))
		return err
	})
	return out, err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (o *OnCall) resolve(ctx context.Context, tx *sql.Tx, id int64, actor, detail string) (*Incident, error) {
	in, err := getIncident(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if in.State == Resolved {
		return in, nil
	}
	now := o.now()
	actor = orUnknown(actor)
	if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET state = 'resolved', resolved_at = ?, resolved_by = ?, snoozed_until = 0, updated_at = ? WHERE id = ?`, ms(now), actor, ms(now), id); err != nil {
		return nil, err
	}
	if err := cancelSteps(ctx, tx, id, now); err != nil {
		return nil, err
	}
	if err := record(ctx, tx, id, now, EvResolved, actor, "", "", detail); err != nil {
		return nil, err
	}
	o.m.ttr.WithLabelValues(in.Team).Observe(now.Sub(in.CreatedAt).Seconds())
	in, err = getIncident(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return in, o.mirror(ctx, tx, in, "resolve")
}

// reopen puts a resolved incident back to triggered and escalates it
// again from the first step.
func (o *OnCall) reopen(ctx context.Context, tx *sql.Tx, in *Incident, detail string) error {
	now := o.now()
	if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET state = 'triggered', resolved_at = 0, resolved_by = '', acked_at = 0, acked_by = '', esc_loop = 0, esc_step = -1, updated_at = ? WHERE id = ?`, ms(now), in.ID); err != nil {
		return err
	}
	if err := record(ctx, tx, in.ID, now, EvReopened, "", "", "", detail); err != nil {
		return err
	}
	if in.Policy != "" {
		if err := scheduleStep(ctx, tx, in.ID, stepEscalate, 0, 0, "", now); err != nil {
			return err
		}
		o.signal()
	}
	in.State = Triggered
	return o.mirror(ctx, tx, in, "trigger")
}

// Reassign assigns the incident to user, puts it back to triggered (as
// PagerDuty does) and notifies the user at once; the escalation policy's
// remaining steps are cancelled.
func (o *OnCall) Reassign(ctx context.Context, id int64, user, actor string) (*Incident, error) {
	if o.catalog().users[user] == nil {
		return nil, apierr.New(apierr.Invalid, "unknown user %q", user)
	}
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		in, err := getIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		if in.State == Resolved {
			return apierr.New(apierr.Conflict, "incident %d is resolved; it cannot be reassigned", id)
		}
		now := o.now()
		if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET assignee = ?, state = 'triggered', acked_at = 0, acked_by = '', snoozed_until = 0, updated_at = ? WHERE id = ?`, user, ms(now), id); err != nil {
			return err
		}
		if err := cancelSteps(ctx, tx, id, now); err != nil {
			return err
		}
		if err := record(ctx, tx, id, now, EvReassigned, orUnknown(actor), user, "", fmt.Sprintf("reassigned to %s by %s", user, orUnknown(actor))); err != nil {
			return err
		}
		if err := scheduleStep(ctx, tx, id, stepAssign, 0, 0, user, now); err != nil {
			return err
		}
		o.signal()
		out, err = getIncident(ctx, tx, id)
		return err
	})
	return out, err
}

// AddNote appends a note to the timeline.
func (o *OnCall) AddNote(ctx context.Context, id int64, text, actor string) (*TimelineEvent, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, apierr.New(apierr.Invalid, "a note needs text")
	}
	if len(text) > 10000 {
		return nil, apierr.New(apierr.Invalid, "a note is at most 10000 characters, got %d", len(text))
	}
	var ev TimelineEvent
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := getIncident(ctx, tx, id); err != nil {
			return err
		}
		now := o.now()
		ev = TimelineEvent{Time: now.UTC(), Kind: EvNote, Actor: orUnknown(actor), Detail: text}
		return record(ctx, tx, id, now, EvNote, ev.Actor, "", "", text)
	})
	return &ev, err
}

// Snooze hides an acknowledged incident for d; then it triggers again and
// escalates from the first step (PagerDuty's snooze).
func (o *OnCall) Snooze(ctx context.Context, id int64, d time.Duration, actor string) (*Incident, error) {
	if d < time.Minute || d > 7*24*time.Hour {
		return nil, apierr.New(apierr.Invalid, "snooze duration must be between 1m and 7d, got %s", d)
	}
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		in, err := getIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		if in.State != Acknowledged {
			return apierr.New(apierr.Conflict, "incident %d is %s; only an acknowledged incident can be snoozed", id, in.State)
		}
		now := o.now()
		until := now.Add(d)
		if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET snoozed_until = ?, updated_at = ? WHERE id = ?`, ms(until), ms(now), id); err != nil {
			return err
		}
		if err := cancelSteps(ctx, tx, id, now); err != nil {
			return err
		}
		if err := scheduleStep(ctx, tx, id, stepUnsnooze, 0, 0, "", until); err != nil {
			return err
		}
		if err := record(ctx, tx, id, now, EvSnoozed, orUnknown(actor), "", "", "snoozed until "+until.UTC().Format(time.RFC3339)); err != nil {
			return err
		}
		out, err = getIncident(ctx, tx, id)
		return err
	})
	o.signal()
	return out, err
}

// Manual is a manually opened incident.
type Manual struct {
	Title    string `json:"title"`
	Policy   string `json:"escalation_policy"`
	Severity string `json:"severity"`
	Priority string `json:"priority"`
	Team     string `json:"team"`
	Service  string `json:"service"`
	Assignee string `json:"assignee"`
	User     string `json:"user"`
}

// OpenManual opens an incident by hand.
func (o *OnCall) OpenManual(ctx context.Context, m Manual, actor string) (*Incident, error) {
	m.Title = strings.TrimSpace(m.Title)
	if m.Title == "" {
		return nil, apierr.New(apierr.Invalid, "an incident needs a title")
	}
	if len(m.Title) > 1024 {
		return nil, apierr.New(apierr.Invalid, "title is at most 1024 characters, got %d", len(m.Title))
	}
	c := o.catalog()
	if m.Policy == "" && m.Assignee == "" {
		return nil, apierr.New(apierr.Invalid, "name an escalation_policy or an assignee so that someone is paged")
	}
	if m.Policy != "" && c.policies[m.Policy] == nil {
		return nil, apierr.New(apierr.Invalid, "unknown escalation policy %q", m.Policy)
	}
	if m.Assignee != "" && c.users[m.Assignee] == nil {
		return nil, apierr.New(apierr.Invalid, "unknown user %q", m.Assignee)
	}
	if m.Team != "" && c.teams[m.Team] == nil {
		return nil, apierr.New(apierr.Invalid, "unknown team %q", m.Team)
	}
	if err := checkSeverity(m.Severity); err != nil {
		return nil, err
	}
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		in, err := o.open(ctx, tx, newIncident{
			Key: fmt.Sprintf("manual:%d", o.now().UnixNano()), Source: SourceManual, Title: m.Title, Severity: m.Severity,
			Priority: m.Priority, Team: m.Team, Service: m.Service, Policy: m.Policy, Actor: orUnknown(actor), Assignee: m.Assignee,
		})
		if err != nil {
			return err
		}
		if m.Assignee != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET assignee = ? WHERE id = ?`, m.Assignee, in.ID); err != nil {
				return err
			}
			if err := scheduleStep(ctx, tx, in.ID, stepAssign, 0, 0, m.Assignee, o.now()); err != nil {
				return err
			}
		}
		out, err = getIncident(ctx, tx, in.ID)
		return err
	})
	o.signal()
	return out, err
}

func checkSeverity(s string) error {
	switch s {
	case "", "critical", "error", "warning", "info":
		return nil
	}
	return apierr.New(apierr.Invalid, "severity %q: want critical, error, warning or info", s)
}
