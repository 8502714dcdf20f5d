package oncall

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/config/receiver"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/oncall/spec"
)

// Contact methods of type alertmanager: the method's config is an
// Alertmanager receiver body, built into integrations by Alertmanager's
// receiver package as alerting builds its receivers. Each integration is
// one outbox message on ChannelAlertmanager, so one integration failing is
// retried without sending the others again. The alerts an integration
// gets are the incident's firing alerts (or one made from the incident
// when it has none), each with the annotations incident, incident_url,
// ack_url and resolve_url, so Alertmanager's default templates show the
// links and custom ones can use {{ .CommonAnnotations.ack_url }}.

// amIntegrations builds (and caches) a method's integrations. The cache is
// keyed by the method's config: people sharing a Teams channel share one
// client, and a changed config builds anew.
type amIntegrations struct {
	mu   sync.Mutex
	tmpl *template.Template
	m    map[string][]notify.Integration
}

// maxAMCache bounds the cache; past it, it starts over.
const maxAMCache = 512

func (o *OnCall) amBuild(cm spec.ContactMethod) ([]notify.Integration, error) {
	key, err := json.Marshal(cm.Config)
	if err != nil {
		return nil, permanent("encode alertmanager config: %w", err)
	}
	c := &o.am
	c.mu.Lock()
	defer c.mu.Unlock()
	if ins, ok := c.m[string(key)]; ok {
		return ins, nil
	}
	if c.tmpl == nil {
		t, err := template.FromGlobs(nil)
		if err != nil {
			return nil, fmt.Errorf("alertmanager default templates: %w", err)
		}
		if u, err := url.Parse(o.config().ExternalURL); err == nil {
			t.ExternalURL = u
		}
		c.tmpl = t
	}
	rcv, err := cm.AlertmanagerReceiver()
	if err != nil {
		return nil, permanent("%w", err)
	}
	ins, err := receiver.BuildReceiverIntegrations(*rcv, c.tmpl, o.logger)
	if err != nil {
		return nil, permanent("build alertmanager integrations: %w", err)
	}
	if c.m == nil || len(c.m) >= maxAMCache {
		c.m = map[string][]notify.Integration{}
	}
	c.m[string(key)] = ins
	return ins, nil
}

// amAlert is an alert as an Alertmanager integration gets it.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// amAlertsFor is what an integration is sent for notification n.
func amAlertsFor(in *Incident, alerts []Alert, n notification) []amAlert {
	links := func(as map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range as {
			out[k] = v
		}
		out["incident"] = fmt.Sprintf("#%d %s", in.ID, in.Title)
		out["incident_url"] = n.URL
		if n.AckURL != "" {
			out["ack_url"], out["resolve_url"] = n.AckURL, n.ResolveURL
		}
		return out
	}
	var out []amAlert
	for _, a := range alerts {
		if a.Status != "firing" {
			continue
		}
		out = append(out, amAlert{Labels: a.Labels, Annotations: links(a.Annotations), StartsAt: a.StartsAt, GeneratorURL: a.GeneratorURL})
	}
	if len(out) > 0 {
		return out
	}
	ls := map[string]string{}
	for k, v := range in.Labels {
		ls[k] = v
	}
	if ls["alertname"] == "" {
		ls["alertname"] = in.Title
	}
	if in.Severity != "" && ls["severity"] == "" {
		ls["severity"] = in.Severity
	}
	return []amAlert{{Labels: ls, Annotations: links(map[string]string{"summary": in.Title, "description": n.Text}), StartsAt: in.CreatedAt, GeneratorURL: n.URL}}
}

// sendAlertmanager delivers one integration of an alertmanager method.
func (o *OnCall) sendAlertmanager(ctx context.Context, n *notification) error {
	ins, err := o.amBuild(n.Method)
	if err != nil {
		return err
	}
	var integ *notify.Integration
	for i := range ins {
		if ins[i].Name() == n.Integration && ins[i].Index() == n.IntegrationIdx {
			integ = &ins[i]
		}
	}
	if integ == nil {
		return permanent("the contact method has no %s[%d] integration any more", n.Integration, n.IntegrationIdx)
	}
	now := o.now()
	as := make([]*alert.Alert, 0, len(n.AMAlerts))
	for _, a := range n.AMAlerts {
		as = append(as, alert.New(model.Alert{
			Labels: labelSet(a.Labels), Annotations: labelSet(a.Annotations), StartsAt: a.StartsAt, GeneratorURL: a.GeneratorURL,
		}, now, false))
	}
	ctx = notify.WithGroupKey(ctx, fmt.Sprintf("vigil-incident-%d", n.Incident))
	ctx = notify.WithReceiverName(ctx, n.User)
	ctx = notify.WithGroupLabels(ctx, model.LabelSet{"incident": model.LabelValue(fmt.Sprintf("#%d %s", n.Incident, n.Title))})
	ctx = notify.WithNow(ctx, now)
	v := integ.Notify(ctx, as...)
	switch err := v.Err(); {
	case err == nil:
		return nil
	case ctx.Err() != nil || v.ShouldRetry():
		return fmt.Errorf("%s: %w", n.Integration, err)
	default:
		return permanent("%s: %w", n.Integration, err)
	}
}

func labelSet(m map[string]string) model.LabelSet {
	ls := make(model.LabelSet, len(m))
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}
