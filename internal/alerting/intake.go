package alerting

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"

	"github.com/vigilhq/vigil/internal/outbox"
)

// intakeStage hands an incident receiver's alert group to
// Options.IncidentChannel through the outbox, as Alertmanager's webhook
// message (version 4) with firing and resolved alerts, so that opening an
// incident is as durable as a notification. A group whose firing and
// resolved alerts did not change since the last message is not enqueued
// again (the message's Dedup).
type intakeStage struct {
	r        *router
	channel  string
	receiver string
	tmpl     *template.Template
}

func (s *intakeStage) Exec(ctx context.Context, l *slog.Logger, alerts ...*alert.Alert) (context.Context, []*alert.Alert, error) {
	if len(alerts) == 0 {
		return ctx, alerts, nil
	}
	gk, _ := notify.GroupKey(ctx)
	// No dedup stage runs before this one (that stage needs an
	// integration and the notification log): the firing and resolved sets
	// are computed here, and the message's Dedup keeps an unchanged group
	// from being enqueued at every group_interval.
	var firing, resolved []uint64
	for _, a := range alerts {
		if a.Resolved() {
			resolved = append(resolved, uint64(a.Fingerprint()))
		} else {
			firing = append(firing, uint64(a.Fingerprint()))
		}
	}
	if _, ok := notify.NotificationReason(ctx); !ok {
		ctx = notify.WithNotificationReason(ctx, notify.ReasonUnknown)
	}
	msg := webhook.Message{Data: notify.GetTemplateData(ctx, s.tmpl, alerts, l), Version: "4", GroupKey: gk}
	b, err := json.Marshal(msg)
	if err != nil {
		return ctx, nil, err
	}
	m := outbox.Message{Channel: s.channel, Lane: s.receiver, Key: s.receiver + "/" + gk, Payload: b, Dedup: hashesJSON(firing) + "|" + hashesJSON(resolved)}
	err = s.r.delivery.w.do(ctx, s.receiver, 1, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.r.delivery.ob.Enqueue(ctx, tx, m)
		return err
	})
	if err != nil {
		return ctx, nil, fmt.Errorf("%s: hand the alert group to incidents: %w", s.receiver, err)
	}
	return ctx, alerts, nil
}
