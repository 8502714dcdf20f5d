package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"time"

	"github.com/vigilhq/vigil/internal/oncall/spec"
)

// OnCall configures on-call: who is on call (users, teams, schedules),
// how incidents escalate (escalation policies), which alerting receivers
// open incidents, and how notifications are sent. Links in notifications
// start with web.external_url.
//
//	oncall:
//	  links: {secret: ${ONCALL_LINK_SECRET}, ttl: 24h}
//	  smtp: {smarthost: mail.example.com:587, from: vigil@example.com}
//	  slack: {signing_secret: ..., bot_token: ...}
//	  incidents: {auto_resolve: true, reopen_window: 1h}
//	  receivers:                       # alerting receivers that open incidents
//	    - {name: oncall, escalation_policy: default, team: ops}
//	  events_v2:                       # PagerDuty Events API v2 inbound
//	    - {routing_key: ..., escalation_policy: default}
//	  mirrors:                         # incidents mirrored to PagerDuty / Opsgenie
//	    - {type: pagerduty, routing_key: ...}
//	  users: [...]
//	  teams: [...]
//	  schedules: [...]
//	  escalation_policies: [...]
//
// The objects' schema is package oncall/spec's. Owned by the on-call
// feature.
type OnCall struct {
	spec.Objects `yaml:",inline"`

	// ExternalURL is the base of acknowledge/resolve links and incident
	// links. Default http://<http_addr>.
	ExternalURL string           `yaml:"external_url"`
	Links       OnCallLinks      `yaml:"links"`
	SMTP        OnCallSMTP       `yaml:"smtp"`
	Slack       OnCallSlack      `yaml:"slack"`
	Incidents   OnCallIncidents  `yaml:"incidents"`
	Receivers   []OnCallReceiver `yaml:"receivers"`
	EventsV2    []OnCallEventsV2 `yaml:"events_v2"`
	Mirrors     []OnCallMirror   `yaml:"mirrors"`
}

// OnCallLinks configures the signed acknowledge/resolve links.
type OnCallLinks struct {
	// Secret is the HMAC key. Default: a random key kept in the state
	// database (links then survive restarts but not a new database).
	Secret string `yaml:"secret"`
	// TTL is how long a link works. Default 24h.
	TTL Duration `yaml:"ttl"`
}

// OnCallSMTP is the mail server for email contact methods.
type OnCallSMTP struct {
	Smarthost    string `yaml:"smarthost"`
	From         string `yaml:"from"`
	Hello        string `yaml:"hello"`
	AuthUsername string `yaml:"auth_username"`
	AuthPassword string `yaml:"auth_password"`
	// RequireTLS refuses to send without STARTTLS. Default true, as in
	// Alertmanager.
	RequireTLS *bool `yaml:"require_tls"`
}

// OnCallSlack configures Slack: the signing secret verifies interactive
// button presses; the bot token sends direct messages to slack_user
// contact methods.
type OnCallSlack struct {
	SigningSecret string `yaml:"signing_secret"`
	BotToken      string `yaml:"bot_token"`
	// APIURL is Slack's Web API base. Default https://slack.com/api.
	APIURL string `yaml:"api_url"`
}

// OnCallIncidents configures incidents opened from alert groups.
type OnCallIncidents struct {
	// AutoResolve resolves an incident when all its alerts have resolved.
	// Default true.
	AutoResolve *bool `yaml:"auto_resolve"`
	// ReopenWindow: an alert group that fires again within this time of
	// its incident's resolution reopens it. Default 1h; 0s never reopens.
	ReopenWindow *Duration `yaml:"reopen_window"`
}

// OnCallReceiver makes an alerting receiver open incidents.
type OnCallReceiver struct {
	Name             string `yaml:"name"`
	EscalationPolicy string `yaml:"escalation_policy"`
	Team             string `yaml:"team"`
	Service          string `yaml:"service"`
	// AutoResolve overrides incidents.auto_resolve for this receiver.
	AutoResolve *bool `yaml:"auto_resolve"`
}

// OnCallEventsV2 is one routing key accepted by the PagerDuty Events API
// v2 endpoint.
type OnCallEventsV2 struct {
	RoutingKey       string `yaml:"routing_key"`
	EscalationPolicy string `yaml:"escalation_policy"`
	Team             string `yaml:"team"`
	Service          string `yaml:"service"`
}

// OnCallMirror mirrors every incident to PagerDuty or Opsgenie.
type OnCallMirror struct {
	Type       string `yaml:"type"` // pagerduty or opsgenie
	RoutingKey string `yaml:"routing_key"`
	APIKey     string `yaml:"api_key"`
	URL        string `yaml:"url"`
}

func (x *OnCall) setDefaults() {
	if x.Links.TTL == 0 {
		x.Links.TTL = Duration(24 * time.Hour)
	}
	if x.SMTP.RequireTLS == nil {
		t := true
		x.SMTP.RequireTLS = &t
	}
	if x.Incidents.AutoResolve == nil {
		t := true
		x.Incidents.AutoResolve = &t
	}
	if x.Incidents.ReopenWindow == nil {
		d := Duration(time.Hour)
		x.Incidents.ReopenWindow = &d
	}
}

// validateOnCall checks the section, including that its receivers exist
// in the alerting section.
func (c *Config) validateOnCall() Errors {
	x := &c.OnCall
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, e := range x.Objects.Validate() {
		errs = append(errs, FieldError{Field: e.Field, Msg: e.Msg})
	}
	policies := map[string]bool{}
	for _, p := range x.Policies {
		policies[p.Name] = true
	}
	teams := map[string]bool{}
	for _, t := range x.Teams {
		teams[t.Name] = true
	}
	if x.Links.TTL.D() < time.Minute {
		add("links.ttl", "must be at least 1m, got %v", x.Links.TTL)
	}
	if x.Links.Secret != "" && len(x.Links.Secret) < 16 {
		add("links.secret", "must be at least 16 characters (it signs acknowledge links)")
	}
	if x.SMTP.Smarthost != "" {
		if _, _, err := net.SplitHostPort(x.SMTP.Smarthost); err != nil {
			add("smtp.smarthost", "%q: want host:port such as mail.example.com:587", x.SMTP.Smarthost)
		}
		if _, err := mail.ParseAddress(x.SMTP.From); err != nil {
			add("smtp.from", "%q is not an email address (needed with smtp.smarthost)", x.SMTP.From)
		}
	}
	if x.Slack.APIURL != "" {
		if u, err := url.Parse(x.Slack.APIURL); err != nil || u.Host == "" {
			add("slack.api_url", "%q is not a URL", x.Slack.APIURL)
		}
	}
	if x.Incidents.ReopenWindow != nil && *x.Incidents.ReopenWindow < 0 {
		add("incidents.reopen_window", "must not be negative")
	}
	amReceivers := map[string]bool{}
	if c.Alerting.AM != nil {
		for _, r := range c.Alerting.AM.Receivers {
			amReceivers[r.Name] = true
		}
	}
	seen := map[string]bool{}
	for i, r := range x.Receivers {
		p := fmt.Sprintf("receivers.%d", i)
		switch {
		case r.Name == "":
			add(p+".name", "receiver name missing")
		case seen[r.Name]:
			add(p+".name", "receiver %q listed twice", r.Name)
		case !amReceivers[r.Name]:
			add(p+".name", "unknown receiver %q: list it under alerting.receivers and route alerts to it", r.Name)
		}
		seen[r.Name] = true
		switch {
		case r.EscalationPolicy == "":
			add(p+".escalation_policy", "an incident receiver needs an escalation policy")
		case !policies[r.EscalationPolicy]:
			add(p+".escalation_policy", "unknown escalation policy %q", r.EscalationPolicy)
		}
		if r.Team != "" && !teams[r.Team] {
			add(p+".team", "unknown team %q", r.Team)
		}
	}
	keys := map[string]bool{}
	for i, k := range x.EventsV2 {
		p := fmt.Sprintf("events_v2.%d", i)
		switch {
		case k.RoutingKey == "":
			add(p+".routing_key", "routing key missing")
		case len(k.RoutingKey) > 64:
			add(p+".routing_key", "at most 64 characters (PagerDuty's are 32)")
		case keys[k.RoutingKey]:
			add(p+".routing_key", "routing key listed twice")
		}
		keys[k.RoutingKey] = true
		switch {
		case k.EscalationPolicy == "":
			add(p+".escalation_policy", "a routing key needs an escalation policy")
		case !policies[k.EscalationPolicy]:
			add(p+".escalation_policy", "unknown escalation policy %q", k.EscalationPolicy)
		}
		if k.Team != "" && !teams[k.Team] {
			add(p+".team", "unknown team %q", k.Team)
		}
	}
	for i, m := range x.Mirrors {
		p := fmt.Sprintf("mirrors.%d", i)
		switch m.Type {
		case "pagerduty":
			if m.RoutingKey == "" {
				add(p+".routing_key", "a PagerDuty mirror needs the service's Events API v2 routing_key")
			}
		case "opsgenie":
			if m.APIKey == "" {
				add(p+".api_key", "an Opsgenie mirror needs an api_key")
			}
		default:
			add(p+".type", "unknown mirror type %q: want pagerduty or opsgenie", m.Type)
		}
		if m.URL != "" {
			if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(p+".url", "%q is not an http(s) URL", m.URL)
			}
		}
	}
	return c.section("oncall", errs)
}
