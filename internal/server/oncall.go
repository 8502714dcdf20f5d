package server

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/oncall"
	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/probes/statuspage"
)

// setupOnCall wires on-call: its objects and incidents live in the shared
// state database, its notifications go through the outbox, and alert
// groups of the receivers listed under oncall.receivers reach it through
// the outbox's intake channel.
func (s *Server) setupOnCall(ctx context.Context, cfg *config.Config) error {
	sh, err := s.sharedState(ctx, cfg)
	if err != nil {
		return err
	}
	opts := oncall.Options{
		Logger:     s.logger,
		Registerer: s.reg,
		DB:         sh.db,
		Outbox:     oncallOutbox{sh.outbox},
		Config:     s.onCallConfig(cfg),
		// Who acted: the signed-in user or the API token's owner (auth.go);
		// "" with authentication off, when the body's user is taken.
		Identity:    s.Caller,
		SeesSecrets: s.mayWrite,
	}
	if s.alertLedger.a != nil {
		opts.Ledger = s.alertLedger
	}
	o, err := oncall.New(opts)
	if err != nil {
		return err
	}
	policy := outbox.Policy{
		GiveUpAfter: cfg.Alerting.Delivery.GiveUpAfter.D(),
		MinBackoff:  cfg.Alerting.Delivery.MinBackoff.D(),
		MaxBackoff:  cfg.Alerting.Delivery.MaxBackoff.D(),
	}
	for ch, c := range o.Consumers() {
		sh.outbox.Register(ch, outboxConsumer(c, policy))
	}
	s.addActor("oncall", o.Run)
	s.addReloader("oncall", func(c *config.Config) (func() error, error) {
		return o.Prepare(context.Background(), s.onCallConfig(c))
	})
	s.addRoutes(o.Routes()...)
	s.publicIncidents = publicIncidents{o}
	s.running = append(s.running, "oncall")
	return nil
}

// alertLedger is alerting's ledger as on-call's timeline reads it; set by
// setupAlerting, which runs first.
type alertLedger struct{ a *alerting.Service }

func (x alertLedger) AlertHistory(ctx context.Context, fingerprint string, start, end time.Time, limit int) ([]oncall.LedgerEvent, error) {
	evs, err := x.a.History(ctx, alerting.LedgerQuery{Fingerprint: fingerprint, Start: start, End: end, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]oncall.LedgerEvent, len(evs))
	for i, e := range evs {
		out[i] = oncall.LedgerEvent{ID: e.ID, Time: e.Time, Fingerprint: e.Fingerprint, AlertName: e.AlertName, Kind: e.Kind,
			Receiver: e.Receiver, Integration: e.Integration, Detail: e.Detail}
	}
	return out, nil
}

// pastIncidents is how long the status page lists a resolved public
// incident (Statuspage shows a history of past incidents; a week keeps
// the page short).
const pastIncidents = 7 * 24 * time.Hour

// publicIncidents is on-call's public incidents as the status page's
// IncidentSource; the zero value (no on-call) is no source.
type publicIncidents struct{ o *oncall.OnCall }

func (x publicIncidents) source() statuspage.IncidentSource {
	if x.o == nil {
		return nil
	}
	return x
}

func (x publicIncidents) PublicIncidents(ctx context.Context) ([]statuspage.Incident, error) {
	list, err := x.o.PublicIncidents(ctx, time.Now().Add(-pastIncidents))
	if err != nil {
		return nil, err
	}
	out := make([]statuspage.Incident, 0, len(list))
	for _, in := range list {
		si := statuspage.Incident{ID: strconv.FormatInt(in.ID, 10), Title: in.Title, Status: in.Status, Impact: in.Impact,
			Started: in.Started, Resolved: in.Resolved, Updates: []statuspage.IncidentUpdate{}}
		for _, u := range in.Updates {
			si.Updates = append(si.Updates, statuspage.IncidentUpdate{At: u.At, Status: u.Status, Message: u.Message})
		}
		out = append(out, si)
	}
	return out, nil
}

// oncallOutbox is the shared outbox as on-call's Outbox.
type oncallOutbox struct{ ob *outbox.Outbox }

func (x oncallOutbox) Enqueue(ctx context.Context, tx *sql.Tx, m oncall.Message) error {
	_, err := x.ob.Enqueue(ctx, tx, outbox.Message{Channel: m.Channel, Key: m.Key, Payload: m.Payload, GiveUpAt: m.GiveUpAt})
	return err
}

// outboxConsumer maps an on-call channel consumer to the outbox's.
func outboxConsumer(c oncall.Consumer, p outbox.Policy) outbox.Consumer {
	oc := outbox.Consumer{Policy: p, Deliver: func(ctx context.Context, m outbox.Message) error {
		err := c.Deliver(ctx, m.Payload)
		if oncall.IsPermanent(err) {
			return outbox.Permanent(err)
		}
		return err
	}}
	if c.Record != nil {
		oc.Record = func(ctx context.Context, tx *sql.Tx, e outbox.Event) error {
			return c.Record(ctx, tx, oncall.Outcome{
				Payload: e.Message.Payload, Delivered: e.Kind == outbox.EventDelivered,
				Final: e.Kind != outbox.EventAttempt && e.Kind != outbox.EventRetried, Attempts: e.Message.Attempts, Detail: e.Detail,
			})
		}
	}
	return oc
}

func (s *Server) onCallConfig(cfg *config.Config) oncall.Config {
	x := cfg.OnCall
	c := oncall.Config{
		Objects:     x.Objects,
		ExternalURL: strings.TrimSuffix(s.externalURL().String(), "/"),
		LinkSecret:  x.Links.Secret,
		LinkTTL:     x.Links.TTL.D(),
		SMTP: oncall.SMTP{
			Smarthost: x.SMTP.Smarthost, From: x.SMTP.From, Hello: x.SMTP.Hello,
			AuthUsername: x.SMTP.AuthUsername, AuthPasswd: x.SMTP.AuthPassword, RequireTLS: x.SMTP.RequireTLS == nil || *x.SMTP.RequireTLS,
		},
		Slack:       oncall.Slack{SigningSecret: x.Slack.SigningSecret, BotToken: x.Slack.BotToken, APIURL: x.Slack.APIURL},
		AutoResolve: x.Incidents.AutoResolve == nil || *x.Incidents.AutoResolve,
		GiveUpAfter: cfg.Alerting.Delivery.GiveUpAfter.D(),
	}
	if x.Incidents.ReopenWindow != nil {
		c.ReopenWindow = x.Incidents.ReopenWindow.D()
	}
	for _, r := range x.Receivers {
		c.Receivers = append(c.Receivers, oncall.Receiver{Name: r.Name, Policy: r.EscalationPolicy, Team: r.Team, Service: r.Service, AutoResolve: r.AutoResolve, Public: r.Public})
	}
	for _, k := range x.EventsV2 {
		c.EventsV2 = append(c.EventsV2, oncall.RoutingKey{Key: k.RoutingKey, Policy: k.EscalationPolicy, Team: k.Team, Service: k.Service, Public: k.Public})
	}
	for _, m := range x.Mirrors {
		c.Mirrors = append(c.Mirrors, oncall.Mirror{Type: m.Type, RoutingKey: m.RoutingKey, APIKey: m.APIKey, URL: m.URL})
	}
	return c
}

// incidentReceivers are the alerting receivers whose alert groups open
// incidents.
func incidentReceivers(cfg *config.Config) []string {
	var out []string
	for _, r := range cfg.OnCall.Receivers {
		out = append(out, r.Name)
	}
	return out
}
