package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/oncall/spec"
)

// notification is an outbox payload: everything a delivery needs, rendered
// when the step ran, so that delivery does not depend on later changes.
type notification struct {
	Incident   int64              `json:"incident"`
	User       string             `json:"user,omitempty"`
	Method     spec.ContactMethod `json:"method"`
	Title      string             `json:"title"`
	State      string             `json:"state"`
	Severity   string             `json:"severity,omitempty"`
	Subject    string             `json:"subject"`
	Text       string             `json:"text"`
	URL        string             `json:"url"`
	AckURL     string             `json:"ack_url,omitempty"`
	ResolveURL string             `json:"resolve_url,omitempty"`
	Labels     map[string]string  `json:"labels,omitempty"`
	Alerts     []alertLink        `json:"alerts,omitempty"`
	// Mirror notifications (PagerDuty, Opsgenie): the action and the key
	// that ties the remote alert to the incident.
	Action   string `json:"action,omitempty"` // trigger | acknowledge | resolve
	DedupKey string `json:"dedup_key,omitempty"`
	Source   string `json:"source,omitempty"`
}

type alertLink struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Graph     string `json:"graph,omitempty"`
	History   string `json:"history"`
	Summary   string `json:"summary,omitempty"`
	Labels    string `json:"labels"`
	Fingerprt string `json:"fingerprint"`
}

func channelOf(typ string) string {
	switch typ {
	case spec.Email:
		return ChannelEmail
	case spec.Slack:
		return ChannelSlack
	case spec.Webhook:
		return ChannelWebhook
	case spec.PagerDuty:
		return ChannelPagerDuty
	case spec.Opsgenie:
		return ChannelOpsgenie
	}
	return ""
}

// contactMethods returns a user's methods; a user with only an email
// address is reached by email.
func contactMethods(u *spec.User) []spec.ContactMethod {
	if len(u.ContactMethods) > 0 {
		return u.ContactMethods
	}
	if u.Email != "" {
		return []spec.ContactMethod{{Type: spec.Email, Address: u.Email}}
	}
	return nil
}

// notifyUsers enqueues a page for every contact method of every user, in
// tx. tag makes the outbox keys of one step unique.
func (o *OnCall) notifyUsers(ctx context.Context, q querier, tx *sql.Tx, in *Incident, users []string, tag string, now time.Time) error {
	cat := o.catalog()
	alerts, err := alertsOf(ctx, q, in.ID)
	if err != nil {
		return err
	}
	for _, name := range users {
		u := cat.users[name]
		if u == nil {
			if err := o.unreachable(ctx, q, in.ID, now, "unknown_user", name, fmt.Sprintf("user %q no longer exists", name)); err != nil {
				return err
			}
			continue
		}
		cms := contactMethods(u)
		if len(cms) == 0 {
			if err := o.unreachable(ctx, q, in.ID, now, "no_contact_method", name, fmt.Sprintf("user %s has no contact method: not notified", name)); err != nil {
				return err
			}
			continue
		}
		for i, cm := range cms {
			n := o.render(in, alerts, u, now)
			n.Method = cm
			ch := channelOf(cm.Type)
			if cm.Type == spec.PagerDuty || cm.Type == spec.Opsgenie {
				n.Action, n.DedupKey = "trigger", fmt.Sprintf("vigil-incident-%d", in.ID)
			}
			key := fmt.Sprintf("oncall/%d/%s/%s/%d", in.ID, tag, name, i)
			if err := o.enqueue(ctx, tx, key, ch, n, now); err != nil {
				return err
			}
			o.m.notifications.WithLabelValues(name, ch, "enqueued").Inc()
			if err := record(ctx, q, in.ID, now, EvNotify, "", name, ch, fmt.Sprintf("%s notified by %s (%s)", name, cm.Type, describeMethod(cm))); err != nil {
				return err
			}
		}
	}
	return nil
}

func describeMethod(cm spec.ContactMethod) string {
	switch {
	case cm.Address != "":
		return cm.Address
	case cm.SlackUser != "":
		return "slack user " + cm.SlackUser
	case cm.URL != "":
		if u, err := url.Parse(cm.URL); err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	return cm.Type
}

func (o *OnCall) enqueue(ctx context.Context, tx *sql.Tx, key, channel string, n notification, now time.Time) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if o.opts.Outbox == nil {
		return record(ctx, tx, n.Incident, now, EvDeliveryError, "", n.User, channel, "no outbox configured: notification not sent")
	}
	return o.opts.Outbox.Enqueue(ctx, tx, Message{Key: key, Channel: channel, Payload: b, GiveUpAt: now.Add(o.config().GiveUpAfter)})
}

// render builds the text every channel shows.
func (o *OnCall) render(in *Incident, alerts []Alert, u *spec.User, now time.Time) notification {
	cfg := o.config()
	n := notification{
		Incident: in.ID, Title: in.Title, State: in.State, Severity: in.Severity, URL: o.incidentURL(in.ID), Labels: in.Labels,
		Source: "vigil",
	}
	if u != nil {
		n.User = u.Name
		n.AckURL = o.linkURL(in.ID, "acknowledge", u.Name, now)
		n.ResolveURL = o.linkURL(in.ID, "resolve", u.Name, now)
	}
	firing := 0
	for _, a := range alerts {
		if a.Status == "firing" {
			firing++
		}
		hist := fmt.Sprintf("%s/vigil/api/v1/alerts/%s/history", cfg.ExternalURL, a.Fingerprint)
		n.Alerts = append(n.Alerts, alertLink{Name: a.Labels["alertname"], Status: a.Status, Graph: a.GeneratorURL, History: hist,
			Summary: a.Annotations["summary"], Labels: labelString(a.Labels), Fingerprt: a.Fingerprint})
	}
	sev := ""
	if in.Severity != "" {
		sev = " (" + in.Severity + ")"
	}
	n.Subject = fmt.Sprintf("[Vigil] Incident #%d %s: %s%s", in.ID, in.State, in.Title, sev)
	var b strings.Builder
	fmt.Fprintf(&b, "Incident #%d is %s: %s%s\n", in.ID, in.State, in.Title, sev)
	if len(in.Labels) > 0 {
		fmt.Fprintf(&b, "Labels: %s\n", labelString(in.Labels))
	}
	if len(alerts) > 0 {
		fmt.Fprintf(&b, "\nAlerts (%d firing of %d):\n", firing, len(alerts))
		for i, a := range n.Alerts {
			if i == 20 {
				fmt.Fprintf(&b, "  ... and %d more\n", len(n.Alerts)-20)
				break
			}
			fmt.Fprintf(&b, "- [%s] %s\n", a.Status, a.Labels)
			if a.Summary != "" {
				fmt.Fprintf(&b, "  %s\n", a.Summary)
			}
			if a.Graph != "" {
				fmt.Fprintf(&b, "  Graph: %s\n", a.Graph)
			}
			fmt.Fprintf(&b, "  History: %s\n", a.History)
		}
	}
	fmt.Fprintf(&b, "\nIncident and timeline: %s\n", n.URL)
	if n.AckURL != "" {
		fmt.Fprintf(&b, "Acknowledge: %s\nResolve: %s\n", n.AckURL, n.ResolveURL)
	}
	n.Text = b.String()
	return n
}

func labelString(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + ls[k]
	}
	return strings.Join(parts, ", ")
}

// mirror enqueues the incident's state change to every mirror.
func (o *OnCall) mirror(ctx context.Context, tx *sql.Tx, in *Incident, action string) error {
	cfg := o.config()
	if len(cfg.Mirrors) == 0 {
		return nil
	}
	now := o.now()
	alerts, err := alertsOf(ctx, tx, in.ID)
	if err != nil {
		return err
	}
	for i, m := range cfg.Mirrors {
		n := o.render(in, alerts, nil, now)
		n.Action, n.DedupKey = action, fmt.Sprintf("vigil-incident-%d", in.ID)
		n.Method = spec.ContactMethod{Type: m.Type, RoutingKey: m.RoutingKey, APIKey: m.APIKey, URL: m.URL}
		ch := channelOf(m.Type)
		// One stream per incident and mirror: a resolve supersedes a
		// trigger not yet delivered.
		key := fmt.Sprintf("oncall/%d/mirror%d", in.ID, i)
		if err := o.enqueue(ctx, tx, key, ch, n, now); err != nil {
			return err
		}
		if err := record(ctx, tx, in.ID, now, EvMirror, "", "", ch, fmt.Sprintf("%s sent to %s", action, m.Type)); err != nil {
			return err
		}
	}
	return nil
}
