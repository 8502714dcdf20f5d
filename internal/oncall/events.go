package oncall

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Event is a PagerDuty Events API v2 event.
type Event struct {
	RoutingKey  string           `json:"routing_key"`
	EventAction string           `json:"event_action"`
	DedupKey    string           `json:"dedup_key,omitempty"`
	Payload     *EventPayload    `json:"payload,omitempty"`
	Client      string           `json:"client,omitempty"`
	ClientURL   string           `json:"client_url,omitempty"`
	Links       []EventLink      `json:"links,omitempty"`
	Images      []map[string]any `json:"images,omitempty"`
}

// EventPayload is an event's payload.
type EventPayload struct {
	Summary       string `json:"summary"`
	Source        string `json:"source"`
	Severity      string `json:"severity"`
	Timestamp     string `json:"timestamp,omitempty"`
	Component     string `json:"component,omitempty"`
	Group         string `json:"group,omitempty"`
	Class         string `json:"class,omitempty"`
	CustomDetails any    `json:"custom_details,omitempty"`
}

// EventLink is a link of an event.
type EventLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// MaxEventBytes is the largest event body PagerDuty accepts.
const MaxEventBytes = 512 * 1024

// ParseEvent decodes and checks an Events API v2 body as PagerDuty does;
// the errors are what PagerDuty's "errors" list would say.
func ParseEvent(body []byte) (Event, []string) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		return ev, []string{"Event object is invalid: " + err.Error()}
	}
	var errs []string
	if ev.RoutingKey == "" {
		errs = append(errs, "'routing_key' is missing or blank")
	}
	switch ev.EventAction {
	case "trigger", "acknowledge", "resolve":
	case "":
		errs = append(errs, "'event_action' is missing or blank")
	default:
		errs = append(errs, fmt.Sprintf("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve'), got %q", ev.EventAction))
	}
	if len(ev.DedupKey) > 255 {
		errs = append(errs, "'dedup_key' must be at most 255 characters")
	}
	if ev.EventAction != "trigger" && ev.EventAction != "" && ev.DedupKey == "" {
		errs = append(errs, "'dedup_key' is missing or blank: acknowledge and resolve need the dedup_key of the trigger")
	}
	if ev.EventAction == "trigger" {
		p := ev.Payload
		switch {
		case p == nil:
			errs = append(errs, "'payload' is missing")
		default:
			if strings.TrimSpace(p.Summary) == "" {
				errs = append(errs, "'payload.summary' is missing or blank")
			} else if len(p.Summary) > 1024 {
				errs = append(errs, "'payload.summary' must be at most 1024 characters")
			}
			if strings.TrimSpace(p.Source) == "" {
				errs = append(errs, "'payload.source' is missing or blank")
			}
			switch p.Severity {
			case "critical", "error", "warning", "info":
			case "":
				errs = append(errs, "'payload.severity' is missing or blank")
			default:
				errs = append(errs, fmt.Sprintf("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info'), got %q", p.Severity))
			}
			if p.Timestamp != "" {
				if _, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil {
					errs = append(errs, "'payload.timestamp' must be an ISO 8601 timestamp")
				}
			}
		}
	}
	return ev, errs
}

// EventResult is what the endpoint answers (PagerDuty's body).
type EventResult struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// ApplyEvent applies a checked event: a trigger opens an incident or
// joins the open one with the same routing and dedup key; acknowledge
// and resolve change that incident (and are accepted, changing nothing,
// when there is none, as PagerDuty does).
func (o *OnCall) ApplyEvent(ctx context.Context, ev Event) (string, error) {
	var rk *RoutingKey
	cfg := o.config()
	for i := range cfg.EventsV2 {
		if cfg.EventsV2[i].Key == ev.RoutingKey {
			rk = &cfg.EventsV2[i]
		}
	}
	if rk == nil {
		return "", apierr.New(apierr.Invalid, "routing_key is not configured in oncall.events_v2")
	}
	if ev.DedupKey == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		ev.DedupKey = hex.EncodeToString(b[:])
	}
	key := "events_v2:" + ev.RoutingKey + ":" + ev.DedupKey
	source := "events_v2"
	if ev.Client != "" {
		source = "events_v2 (" + ev.Client + ")"
	}
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		in, err := latestByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		open := in != nil && in.State != Resolved
		now := o.now()
		switch ev.EventAction {
		case "trigger":
			if open {
				return record(ctx, tx, in.ID, now, EvEventJoined, source, "", "", "trigger with the same dedup_key: "+ev.Payload.Summary)
			}
			details := map[string]any{"source": ev.Payload.Source}
			for k, v := range map[string]string{"component": ev.Payload.Component, "group": ev.Payload.Group, "class": ev.Payload.Class, "client": ev.Client, "client_url": ev.ClientURL} {
				if v != "" {
					details[k] = v
				}
			}
			if ev.Payload.CustomDetails != nil {
				details["custom_details"] = ev.Payload.CustomDetails
			}
			if len(ev.Links) > 0 {
				details["links"] = ev.Links
			}
			_, err := o.open(ctx, tx, newIncident{
				Key: key, Source: SourceEventsV2, Title: ev.Payload.Summary, Severity: ev.Payload.Severity, Team: rk.Team,
				Service: firstNonEmpty(rk.Service, ev.Payload.Component), Policy: rk.Policy, Details: details, Actor: source,
			})
			return err
		case "acknowledge":
			if !open {
				return nil
			}
			_, err := o.acknowledge(ctx, tx, in.ID, source)
			return err
		default:
			if !open {
				return nil
			}
			_, err := o.resolve(ctx, tx, in.ID, source, "resolved by an Events API v2 resolve event")
			return err
		}
	})
	return ev.DedupKey, err
}
