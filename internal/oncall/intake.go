package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// GroupMessage is what alerting enqueues on ChannelIntake for a receiver
// listed under oncall.receivers: Alertmanager's webhook message (version
// 4) for one alert group, firing and resolved alerts together.
type GroupMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	GroupKey          string            `json:"groupKey"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []GroupAlert      `json:"alerts"`
}

// GroupAlert is one alert of a GroupMessage.
type GroupAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// DeliverIntake is the delivery function of ChannelIntake. It is
// idempotent: the outbox may deliver a message twice.
func (o *OnCall) DeliverIntake(ctx context.Context, payload []byte) error {
	var g GroupMessage
	if err := json.Unmarshal(payload, &g); err != nil {
		return permanent("decode alert group: %w", err) // a bad payload never gets better
	}
	return o.IngestGroup(ctx, g)
}

// IngestGroup opens, updates, reopens or resolves the incident of one
// alert group.
func (o *OnCall) IngestGroup(ctx context.Context, g GroupMessage) error {
	cfg := o.config()
	var rc *Receiver
	for i := range cfg.Receivers {
		if cfg.Receivers[i].Name == g.Receiver {
			rc = &cfg.Receivers[i]
		}
	}
	if rc == nil {
		o.logger.Warn("alert group for a receiver that is not an incident receiver; dropped", "receiver", g.Receiver)
		return nil
	}
	auto := cfg.AutoResolve
	if rc.AutoResolve != nil {
		auto = *rc.AutoResolve
	}
	key := "alertmanager:" + g.Receiver + ":" + g.GroupKey
	firing := 0
	for _, a := range g.Alerts {
		if a.Status == "firing" {
			firing++
		}
	}
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		now := o.now()
		in, err := latestByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		switch {
		case in != nil && in.State != Resolved:
		case in != nil && firing > 0 && cfg.ReopenWindow > 0 && in.ResolvedAt != nil && now.Sub(*in.ResolvedAt) <= cfg.ReopenWindow:
			if err := o.reopen(ctx, tx, in, fmt.Sprintf("the alert group fired again %s after the incident resolved", now.Sub(*in.ResolvedAt).Round(time.Second))); err != nil {
				return err
			}
		case firing > 0:
			in, err = o.open(ctx, tx, newIncident{
				Key: key, Source: SourceAlertmanager, Receiver: g.Receiver, Title: groupTitle(g), Severity: severityOf(g.CommonLabels["severity"]),
				Priority: g.CommonLabels["priority"], Team: rc.Team, Service: firstNonEmpty(rc.Service, g.CommonLabels["service"]), Policy: rc.Policy,
				AutoResolve: auto, Labels: g.GroupLabels, Actor: "alertmanager",
			})
			if err != nil {
				return err
			}
		default:
			return nil // resolved alerts of a group with no open incident
		}
		allResolved := true
		for _, a := range g.Alerts {
			changed, err := upsertAlert(ctx, tx, in.ID, a)
			if err != nil {
				return err
			}
			if changed != "" {
				kind := EvAlertJoined
				if changed == "resolved" {
					kind = EvAlertResolved
				}
				if err := record(ctx, tx, in.ID, now, kind, "alertmanager", "", "", fmt.Sprintf("alert %s %s: %s", a.Labels["alertname"], changed, labelString(a.Labels))); err != nil {
					return err
				}
			}
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM oncall_alerts WHERE incident_id = ? AND status = 'firing'`, in.ID).Scan(&open); err != nil {
			return err
		}
		allResolved = open == 0
		if allResolved && in.autoResolve {
			if _, err := o.resolve(ctx, tx, in.ID, "alertmanager", "every alert of the group resolved"); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// upsertAlert stores an alert and returns "firing" or "resolved" when its
// status is new for the incident, "" when nothing changed.
func upsertAlert(ctx context.Context, tx *sql.Tx, id int64, a GroupAlert) (string, error) {
	fp := a.Fingerprint
	if fp == "" {
		fp = labelString(a.Labels)
	}
	status := a.Status
	if status != "resolved" {
		status = "firing"
	}
	var old string
	err := tx.QueryRowContext(ctx, `SELECT status FROM oncall_alerts WHERE incident_id = ? AND fingerprint = ?`, id, fp).Scan(&old)
	if err != nil && err != sql.ErrNoRows {
		return "", err
	}
	ls, _ := json.Marshal(a.Labels)
	as, _ := json.Marshal(a.Annotations)
	var ends int64
	if !a.EndsAt.IsZero() && a.EndsAt.Year() > 1 {
		ends = ms(a.EndsAt)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_alerts (incident_id, fingerprint, status, labels, annotations, starts_at, ends_at, generator_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status, labels = excluded.labels, annotations = excluded.annotations, ends_at = excluded.ends_at, generator_url = excluded.generator_url`,
		id, fp, status, string(ls), string(as), ms(a.StartsAt), ends, a.GeneratorURL); err != nil {
		return "", err
	}
	if old == status {
		return "", nil
	}
	return status, nil
}

func groupTitle(g GroupMessage) string {
	name := g.CommonLabels["alertname"]
	if name == "" {
		name = g.GroupLabels["alertname"]
	}
	if s := g.CommonAnnotations["summary"]; s != "" {
		if name != "" {
			return name + ": " + s
		}
		return s
	}
	if name == "" {
		name = "alert group " + labelString(g.GroupLabels)
	}
	var extra []string
	keys := make([]string, 0, len(g.GroupLabels))
	for k := range g.GroupLabels {
		if k != "alertname" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		extra = append(extra, k+"="+g.GroupLabels[k])
	}
	if len(extra) > 0 {
		return name + " (" + strings.Join(extra, ", ") + ")"
	}
	return name
}

// severityOf maps an alert's severity label to PagerDuty's four levels.
func severityOf(s string) string {
	switch strings.ToLower(s) {
	case "critical", "page", "p1", "high":
		return "critical"
	case "error", "major", "p2":
		return "error"
	case "warning", "warn", "minor", "p3":
		return "warning"
	case "info", "informational", "low", "p4", "p5":
		return "info"
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
