package oncall

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Public statuses of an incident, Statuspage's (and Gatus's) four.
const (
	StatusInvestigating = "investigating"
	StatusIdentified    = "identified"
	StatusMonitoring    = "monitoring"
	StatusResolved      = "resolved"
)

// Timeline kinds of the public side.
const (
	EvPublished    = "published"
	EvPublicUpdate = "public_update"
	EvUnpublished  = "unpublished"
)

// Messages Vigil writes itself on a public incident's behalf.
const (
	msgInvestigating = "We are investigating this issue."
	msgResolved      = "This incident has been resolved."
	msgReopened      = "The issue has come back; we are investigating."
)

const (
	maxPublicMessage = 5000
	maxPublicTitle   = 1024
)

// PublicUpdate is one status update of a public incident, as the status
// page shows it (Author is shown only through the API).
type PublicUpdate struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Author  string    `json:"author,omitempty"`
}

// PublicIncident is a public incident as the status page shows it: the
// public title (not the internal one), impact, the last update's status
// and the updates, oldest first.
type PublicIncident struct {
	ID       int64
	Title    string
	Impact   string
	Status   string
	Started  time.Time
	Resolved *time.Time
	Updates  []PublicUpdate
}

// Publish is the body of a publish request. Empty fields keep what the
// incident has (its title at first); Message, when set, is the first (or
// next) public update with Status (default investigating, or resolved for
// a resolved incident).
type Publish struct {
	Title   string `json:"title"`
	Impact  string `json:"impact"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func checkStatus(s string) error {
	switch s {
	case StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved:
		return nil
	}
	return apierr.New(apierr.Invalid, "status %q: want investigating, identified, monitoring or resolved", s)
}

func checkImpact(s string) error {
	switch s {
	case "", "none", "minor", "major", "critical":
		return nil
	}
	return apierr.New(apierr.Invalid, "impact %q: want none, minor, major or critical", s)
}

func checkMessage(m string) (string, error) {
	m = strings.TrimSpace(m)
	if m == "" {
		return "", apierr.New(apierr.Invalid, "a public update needs a message")
	}
	if len(m) > maxPublicMessage {
		return "", apierr.New(apierr.Invalid, "a public update's message is at most %d characters, got %d", maxPublicMessage, len(m))
	}
	return m, nil
}

// Publish puts an incident on the status page (or changes its public
// title and impact when it is there already) and, with p.Message, adds a
// public update. A first publication needs a message: the page must say
// something. Publishing a resolved incident records it after the fact:
// its update's status must be resolved.
func (o *OnCall) Publish(ctx context.Context, id int64, p Publish, actor string) (*Incident, error) {
	p.Title = strings.TrimSpace(p.Title)
	if len(p.Title) > maxPublicTitle {
		return nil, apierr.New(apierr.Invalid, "title is at most %d characters, got %d", maxPublicTitle, len(p.Title))
	}
	if err := checkImpact(p.Impact); err != nil {
		return nil, err
	}
	if p.Status != "" {
		if err := checkStatus(p.Status); err != nil {
			return nil, err
		}
	}
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		in, err := getIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		if !in.Public && strings.TrimSpace(p.Message) == "" {
			return apierr.New(apierr.Invalid, "publishing incident %d needs a message for the status page (its first update)", id)
		}
		if err := o.publish(ctx, tx, in, p, orUnknown(actor), o.now()); err != nil {
			return err
		}
		out, err = o.getFull(ctx, tx, id)
		return err
	})
	return out, err
}

// publish marks in public in tx and adds p's update.
func (o *OnCall) publish(ctx context.Context, tx *sql.Tx, in *Incident, p Publish, actor string, now time.Time) error {
	title := firstNonEmpty(p.Title, in.PublicTitle, in.Title)
	impact := firstNonEmpty(p.Impact, in.Impact)
	if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET public = 1, public_title = ?, impact = ?, updated_at = ? WHERE id = ?`,
		title, impact, ms(now), in.ID); err != nil {
		return err
	}
	if !in.Public || title != in.PublicTitle || impact != in.Impact {
		detail := fmt.Sprintf("on the status page as %q", title)
		if impact != "" {
			detail += " (" + impact + " impact)"
		}
		if err := record(ctx, tx, in.ID, now, EvPublished, actor, "", "", detail); err != nil {
			return err
		}
	}
	in.Public, in.PublicTitle, in.Impact = true, title, impact
	if strings.TrimSpace(p.Message) == "" {
		return nil
	}
	status := p.Status
	if status == "" {
		status = StatusInvestigating
		if in.State == Resolved {
			status = StatusResolved
		}
	}
	return o.addUpdate(ctx, tx, in, status, p.Message, actor, now)
}

// AddPublicUpdate adds a status update to a public incident. An update
// with status resolved resolves the incident too (its resolver is actor);
// a resolved incident takes only resolved updates (a postscript), since
// anything else would say the problem is back without reopening it.
func (o *OnCall) AddPublicUpdate(ctx context.Context, id int64, status, message, actor string) (*Incident, error) {
	if err := checkStatus(status); err != nil {
		return nil, err
	}
	if _, err := checkMessage(message); err != nil {
		return nil, err
	}
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		in, err := getIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		if !in.Public {
			return apierr.New(apierr.Conflict, "incident %d is not public; publish it first (POST %s/incidents/%d/publish)", id, api, id)
		}
		if in.State == Resolved && status != StatusResolved {
			return apierr.New(apierr.Conflict, "incident %d is resolved; its updates must have status resolved", id)
		}
		actor = orUnknown(actor)
		if err := o.addUpdate(ctx, tx, in, status, message, actor, o.now()); err != nil {
			return err
		}
		if status == StatusResolved && in.State != Resolved {
			if _, err := o.resolve(ctx, tx, id, actor, "resolved by "+actor+" with a public update"); err != nil {
				return err
			}
		}
		out, err = o.getFull(ctx, tx, id)
		return err
	})
	return out, err
}

func (o *OnCall) addUpdate(ctx context.Context, tx *sql.Tx, in *Incident, status, message, actor string, now time.Time) error {
	message, err := checkMessage(message)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_public_updates (incident_id, ts, status, message, author) VALUES (?, ?, ?, ?, ?)`,
		in.ID, ms(now), status, message, actor); err != nil {
		return err
	}
	return record(ctx, tx, in.ID, now, EvPublicUpdate, actor, "", "", status+": "+message)
}

// Unpublish takes an incident off the status page; its public updates
// are kept (hidden) and shown again if it is published again.
func (o *OnCall) Unpublish(ctx context.Context, id int64, actor string) (*Incident, error) {
	var out *Incident
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		in, err := getIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		if in.Public {
			now := o.now()
			if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET public = 0, updated_at = ? WHERE id = ?`, ms(now), id); err != nil {
				return err
			}
			if err := record(ctx, tx, id, now, EvUnpublished, orUnknown(actor), "", "", "taken off the status page"); err != nil {
				return err
			}
		}
		out, err = o.getFull(ctx, tx, id)
		return err
	})
	return out, err
}

// lastPublicStatus is the status of an incident's newest public update,
// "" when it has none.
func lastPublicStatus(ctx context.Context, q reader, id int64) (string, error) {
	var s string
	err := q.QueryRowContext(ctx, `SELECT status FROM oncall_public_updates WHERE incident_id = ? ORDER BY id DESC LIMIT 1`, id).Scan(&s)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return s, err
}

// publicOnResolve adds the resolved update to a public incident that is
// being resolved, unless its last update said so already.
func (o *OnCall) publicOnResolve(ctx context.Context, tx *sql.Tx, in *Incident, actor string, now time.Time) error {
	if !in.Public {
		return nil
	}
	last, err := lastPublicStatus(ctx, tx, in.ID)
	if err != nil || last == StatusResolved {
		return err
	}
	return o.addUpdate(ctx, tx, in, StatusResolved, msgResolved, actor, now)
}

// publicOnReopen says on the page that a resolved public incident is open
// again.
func (o *OnCall) publicOnReopen(ctx context.Context, tx *sql.Tx, in *Incident, now time.Time) error {
	if !in.Public {
		return nil
	}
	return o.addUpdate(ctx, tx, in, StatusInvestigating, msgReopened, "vigil", now)
}

func publicUpdates(ctx context.Context, q reader, id int64) ([]PublicUpdate, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, ts, status, message, author FROM oncall_public_updates WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PublicUpdate
	for rows.Next() {
		var u PublicUpdate
		var ts int64
		if err := rows.Scan(&u.ID, &ts, &u.Status, &u.Message, &u.Author); err != nil {
			return nil, err
		}
		u.At = fromMS(ts)
		out = append(out, u)
	}
	return out, rows.Err()
}

// maxPublicIncidents bounds what one status page view lists.
const maxPublicIncidents = 50

// PublicIncidents lists the public incidents that are open and those
// resolved since resolvedSince, newest first, with their updates (authors
// left out: the page is public).
func (o *OnCall) PublicIncidents(ctx context.Context, resolvedSince time.Time) ([]PublicIncident, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT `+incidentCols+` FROM oncall_incidents
		WHERE public = 1 AND (state != 'resolved' OR resolved_at >= ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
		ms(resolvedSince), maxPublicIncidents)
	if err != nil {
		return nil, fmt.Errorf("list public incidents: %w", err)
	}
	var ins []*Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list public incidents: %w", err)
		}
		ins = append(ins, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list public incidents: %w", err)
	}
	out := make([]PublicIncident, 0, len(ins))
	for _, in := range ins {
		ups, err := publicUpdates(ctx, o.db, in.ID)
		if err != nil {
			return nil, fmt.Errorf("list public incident updates: %w", err)
		}
		p := PublicIncident{ID: in.ID, Title: firstNonEmpty(in.PublicTitle, in.Title), Impact: in.Impact, Status: StatusInvestigating, Started: in.CreatedAt}
		if in.State == Resolved {
			p.Resolved = in.ResolvedAt
			p.Status = StatusResolved
		}
		for _, u := range ups {
			u.Author = ""
			p.Updates = append(p.Updates, u)
		}
		if n := len(ups); n > 0 && in.State != Resolved {
			p.Status = ups[n-1].Status
		}
		out = append(out, p)
	}
	return out, nil
}
