package oncall

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/oncall/spec"
)

// PermanentError marks a delivery failure that retrying will not fix (a
// 4xx answer, a missing SMTP server); the outbox should stop retrying.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func permanent(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Consumer is how one channel's messages are delivered and their outcomes
// recorded (the outbox's consumer contract).
type Consumer struct {
	// Deliver sends one payload; nil when delivered, a PermanentError
	// when retrying cannot help.
	Deliver func(ctx context.Context, payload []byte) error
	// Record writes an attempt's outcome inside the outbox's transaction
	// that records it; nil for channels without a timeline.
	Record func(ctx context.Context, tx *sql.Tx, o Outcome) error
}

// Outcome is what became of one delivery attempt.
type Outcome struct {
	Payload   []byte
	Delivered bool
	// Final: no more attempts (delivered, failed permanently or given up).
	Final    bool
	Attempts int
	Detail   string
}

// Consumers returns the consumer of every channel the on-call feature
// sends on, and of ChannelIntake.
func (o *OnCall) Consumers() map[string]Consumer {
	c := func(send func(context.Context, *notification) error) Consumer {
		return Consumer{
			Deliver: func(ctx context.Context, payload []byte) error {
				var n notification
				if err := json.Unmarshal(payload, &n); err != nil {
					return permanent("decode notification: %w", err)
				}
				return send(ctx, &n)
			},
			Record: o.recordOutcome,
		}
	}
	return map[string]Consumer{
		ChannelEmail:     c(o.sendEmail),
		ChannelSlack:     c(o.sendSlack),
		ChannelWebhook:   c(o.sendWebhook),
		ChannelPagerDuty: c(o.sendPagerDuty),
		ChannelOpsgenie:  c(o.sendOpsgenie),
		ChannelIntake:    {Deliver: o.DeliverIntake},
	}
}

// recordOutcome puts a delivery's outcome on the incident's timeline and
// counts it.
func (o *OnCall) recordOutcome(ctx context.Context, tx *sql.Tx, out Outcome) error {
	var n notification
	if err := json.Unmarshal(out.Payload, &n); err != nil || n.Incident == 0 {
		return nil
	}
	ch := channelOf(n.Method.Type)
	what := n.Method.Type
	if n.Action != "" && n.User == "" {
		what += " " + n.Action
	}
	kind, outcome := EvDelivered, "delivered"
	detail := fmt.Sprintf("%s to %s: %s", what, describeMethod(n.Method), out.Detail)
	if !out.Delivered {
		kind, outcome = EvDeliveryError, "failed"
		if !out.Final {
			outcome = "retrying"
		}
	}
	if n.User != "" && (out.Delivered || out.Final) {
		o.m.notifications.WithLabelValues(n.User, ch, outcome).Inc()
	}
	return record(ctx, tx, n.Incident, o.now(), kind, "", n.User, ch, detail)
}

func (o *OnCall) sendEmail(ctx context.Context, n *notification) error {
	cfg := o.config().SMTP
	if cfg.Smarthost == "" {
		return permanent("oncall.smtp.smarthost is not configured: cannot send email")
	}
	host, _, err := net.SplitHostPort(cfg.Smarthost)
	if err != nil {
		return permanent("oncall.smtp.smarthost %q: %w", cfg.Smarthost, err)
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", cfg.Smarthost)
	if err != nil {
		return fmt.Errorf("connect to SMTP server: %w", err)
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting: %w", err)
	}
	defer c.Close()
	hello := cfg.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return fmt.Errorf("SMTP HELO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("SMTP STARTTLS: %w", err)
		}
	} else if cfg.RequireTLS {
		return permanent("SMTP server %s does not offer STARTTLS and oncall.smtp.require_tls is true", cfg.Smarthost)
	}
	if cfg.AuthUsername != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.AuthUsername, cfg.AuthPasswd, host)); err != nil {
			return permanent("SMTP auth: %w", err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	if err := c.Rcpt(n.Method.Address); err != nil {
		return fmt.Errorf("SMTP RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-Id: <vigil-%d-%d@%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\nX-Vigil-Incident: %d\r\n\r\n",
		cfg.From, n.Method.Address, mime.QEncoding.Encode("utf-8", n.Subject), o.now().Format(time.RFC1123Z), n.Incident, o.now().UnixNano(), hello, n.Incident)
	b.WriteString(strings.ReplaceAll(n.Text, "\n", "\r\n"))
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("SMTP write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP end of data: %w", err)
	}
	return c.Quit()
}

// post sends JSON and classifies the answer: 2xx delivered, 429 and 5xx
// retried, other 4xx permanent.
func (o *OnCall) post(ctx context.Context, u string, body any, header http.Header) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, permanent("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, permanent("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil-oncall")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return rb, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return rb, fmt.Errorf("%s answered %s: %s", hostOf(u), resp.Status, strings.TrimSpace(string(rb)))
	default:
		return rb, permanent("%s answered %s: %s", hostOf(u), resp.Status, strings.TrimSpace(string(rb)))
	}
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Host
	}
	return "server"
}

// webhookBody is what a webhook contact method receives.
type webhookBody struct {
	Version    string            `json:"version"`
	Event      string            `json:"event"`
	Incident   webhookIncident   `json:"incident"`
	User       string            `json:"user,omitempty"`
	Text       string            `json:"text"`
	AckURL     string            `json:"ack_url,omitempty"`
	ResolveURL string            `json:"resolve_url,omitempty"`
	Alerts     []alertLink       `json:"alerts,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

type webhookIncident struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	State    string `json:"state"`
	Severity string `json:"severity,omitempty"`
	URL      string `json:"url"`
}

func (o *OnCall) sendWebhook(ctx context.Context, n *notification) error {
	_, err := o.post(ctx, n.Method.URL, webhookBody{
		Version: "1", Event: "incident.notify", User: n.User, Text: n.Text, AckURL: n.AckURL, ResolveURL: n.ResolveURL,
		Incident: webhookIncident{ID: n.Incident, Title: n.Title, State: n.State, Severity: n.Severity, URL: n.URL},
		Alerts:   n.Alerts, Labels: n.Labels,
	}, nil)
	return err
}

// slackMessage builds Block Kit blocks: the text and buttons. With a
// signing secret configured the buttons are interactive (Slack posts them
// to /vigil/api/v1/oncall/slack/actions); without, they open the signed
// links.
func (o *OnCall) slackMessage(n *notification) map[string]any {
	interactive := o.config().Slack.SigningSecret != ""
	button := func(text, action, link string) map[string]any {
		b := map[string]any{"type": "button", "text": map[string]any{"type": "plain_text", "text": text}, "action_id": "vigil_" + action, "value": fmt.Sprint(n.Incident)}
		if !interactive && link != "" {
			b["url"] = link
		}
		return b
	}
	text := n.Text
	if len(text) > 2900 {
		text = text[:2900] + "…"
	}
	blocks := []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": fmt.Sprintf("*<%s|%s>*\n%s", n.URL, escapeSlack(n.Subject), escapeSlack(text))}},
	}
	if n.AckURL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{
			button("Acknowledge", "acknowledge", n.AckURL), button("Resolve", "resolve", n.ResolveURL),
		}})
	}
	return map[string]any{"text": n.Subject, "blocks": blocks}
}

func escapeSlack(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (o *OnCall) sendSlack(ctx context.Context, n *notification) error {
	msg := o.slackMessage(n)
	if n.Method.SlackUser == "" {
		_, err := o.post(ctx, n.Method.URL, msg, nil)
		return err
	}
	cfg := o.config().Slack
	if cfg.BotToken == "" {
		return permanent("slack_user contact methods need oncall.slack.bot_token")
	}
	api := strings.TrimSuffix(cfg.APIURL, "/")
	if api == "" {
		api = "https://slack.com/api"
	}
	msg["channel"] = n.Method.SlackUser
	rb, err := o.post(ctx, api+"/chat.postMessage", msg, http.Header{"Authorization": {"Bearer " + cfg.BotToken}})
	if err != nil {
		return err
	}
	var ans struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(rb, &ans) == nil && !ans.OK {
		if ans.Error == "ratelimited" {
			return fmt.Errorf("slack chat.postMessage: %s", ans.Error)
		}
		return permanent("slack chat.postMessage: %s", ans.Error)
	}
	return nil
}

// sendPagerDuty sends an Events API v2 event.
func (o *OnCall) sendPagerDuty(ctx context.Context, n *notification) error {
	u := n.Method.URL
	if u == "" {
		u = "https://events.pagerduty.com/v2/enqueue"
	}
	ev := map[string]any{"routing_key": n.Method.RoutingKey, "event_action": n.Action, "dedup_key": n.DedupKey}
	if n.Action == "trigger" {
		sev := n.Severity
		if sev == "" {
			sev = "critical"
		}
		summary := n.Title
		if len(summary) > 1024 {
			summary = summary[:1024]
		}
		ev["payload"] = map[string]any{"summary": summary, "source": "vigil", "severity": sev,
			"custom_details": map[string]any{"incident": n.Incident, "url": n.URL, "labels": n.Labels, "text": n.Text}}
		ev["links"] = []any{map[string]any{"href": n.URL, "text": "Vigil incident"}}
		ev["client"], ev["client_url"] = "Vigil", n.URL
	}
	_, err := o.post(ctx, u, ev, nil)
	return err
}

// sendOpsgenie creates, acknowledges or closes the Opsgenie alert whose
// alias is the incident's key.
func (o *OnCall) sendOpsgenie(ctx context.Context, n *notification) error {
	base := strings.TrimSuffix(n.Method.URL, "/")
	if base == "" {
		base = "https://api.opsgenie.com"
	}
	h := http.Header{"Authorization": {"GenieKey " + n.Method.APIKey}}
	alias := url.PathEscape(n.DedupKey)
	var err error
	switch n.Action {
	case "acknowledge":
		_, err = o.post(ctx, base+"/v2/alerts/"+alias+"/acknowledge?identifierType=alias", map[string]any{"source": "Vigil", "note": "acknowledged in Vigil"}, h)
	case "resolve":
		_, err = o.post(ctx, base+"/v2/alerts/"+alias+"/close?identifierType=alias", map[string]any{"source": "Vigil", "note": "resolved in Vigil"}, h)
	default:
		msg := n.Title
		if len(msg) > 130 {
			msg = msg[:130]
		}
		_, err = o.post(ctx, base+"/v2/alerts", map[string]any{
			"message": msg, "alias": n.DedupKey, "description": n.Text, "source": "Vigil", "priority": opsgeniePriority(n.Severity),
			"details": n.Labels,
		}, h)
	}
	return err
}

func opsgeniePriority(sev string) string {
	switch sev {
	case "critical", "":
		return "P1"
	case "error":
		return "P2"
	case "warning":
		return "P3"
	}
	return "P5"
}

var _ = spec.Email
