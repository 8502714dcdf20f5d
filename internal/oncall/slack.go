package oncall

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// slackAction is the part of Slack's interaction payload Vigil reads:
// block_actions (Block Kit buttons) and interactive_message (legacy
// attachment buttons).
type slackAction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Name     string `json:"name"`
		Value    string `json:"value"`
	} `json:"actions"`
}

// verifySlack checks Slack's request signature: v0=HMAC-SHA256(secret,
// "v0:" + timestamp + ":" + body), with a timestamp within 5 minutes.
func verifySlack(secret string, h http.Header, body []byte, now time.Time) error {
	if secret == "" {
		return errors.New("oncall.slack.signing_secret is not configured; Slack actions are refused")
	}
	ts := h.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing or invalid X-Slack-Request-Timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("X-Slack-Request-Timestamp is more than 5 minutes away: replayed or clock skew")
	}
	sig, ok := strings.CutPrefix(h.Get("X-Slack-Signature"), "v0=")
	got, err := hex.DecodeString(sig)
	if !ok || err != nil {
		return errors.New("missing or malformed X-Slack-Signature")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("X-Slack-Signature does not match the body")
	}
	return nil
}

// ParseSlackAction decodes the form body Slack posts.
func ParseSlackAction(body []byte) (action string, incident int64, slackUser, slackName string, err error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", 0, "", "", fmt.Errorf("body is not a form: %w", err)
	}
	var p slackAction
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
		return "", 0, "", "", fmt.Errorf("payload is not Slack's interaction JSON: %w", err)
	}
	if len(p.Actions) == 0 {
		return "", 0, "", "", errors.New("payload has no actions")
	}
	a := p.Actions[0]
	name := strings.TrimPrefix(a.ActionID, "vigil_")
	if name == "" {
		name = a.Name
	}
	if name != "acknowledge" && name != "resolve" {
		return "", 0, "", "", fmt.Errorf("unknown action %q: want vigil_acknowledge or vigil_resolve", name)
	}
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, "", "", fmt.Errorf("action value %q is not an incident id", a.Value)
	}
	return name, id, p.User.ID, firstNonEmpty(p.User.Username, p.User.Name, p.User.ID), nil
}

func (o *OnCall) serveSlack(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := verifySlack(o.config().Slack.SigningSecret, r.Header, body, o.now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	action, id, uid, uname, err := ParseSlackAction(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	actor := "slack:" + uname
	for _, u := range o.catalog().objs.Users {
		for _, cm := range u.ContactMethods {
			if cm.SlackUser != "" && cm.SlackUser == uid {
				actor = u.Name
			}
		}
	}
	var in *Incident
	if action == "acknowledge" {
		in, err = o.Acknowledge(r.Context(), id, actor)
	} else {
		in, err = o.Resolve(r.Context(), id, actor)
	}
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"response_type": "ephemeral", "replace_original": false, "text": "Vigil: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"replace_original": false, "text": fmt.Sprintf("Incident #%d %s by %s", in.ID, in.State, actor)})
}
