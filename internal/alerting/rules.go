package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/util/strutil"
)

// toLabelSet converts Prometheus labels, adding external labels the alert
// does not have (as Prometheus's notifier does before sending).
func toLabelSet(ls labels.Labels, external labels.Labels) model.LabelSet {
	out := make(model.LabelSet, ls.Len()+external.Len())
	external.Range(func(l labels.Label) { out[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	ls.Range(func(l labels.Label) { out[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	return out
}

// notifyFunc hands alerts from the rules manager to the router, as
// Prometheus's notifier would send them to Alertmanager.
func (a *Service) notifyFunc(ctx context.Context, expr string, alerts ...*rules.Alert) {
	if len(alerts) == 0 {
		return
	}
	ext, extURL := a.externals()
	now := time.Now()
	out := make([]*alert.Alert, 0, len(alerts))
	for _, ra := range alerts {
		ma := model.Alert{
			Labels:       toLabelSet(ra.Labels, ext),
			Annotations:  toLabelSet(ra.Annotations, labels.EmptyLabels()),
			StartsAt:     ra.FiredAt,
			GeneratorURL: extURL + strutil.TableLinkForExpression(expr),
		}
		if !ra.ResolvedAt.IsZero() {
			ma.EndsAt = ra.ResolvedAt
		} else {
			ma.EndsAt = ra.ValidUntil
		}
		out = append(out, alert.New(ma, now, false))
	}
	if err := a.router.put(ctx, out...); err != nil {
		a.logger.Error("hand rule alerts to the router", "err", err)
	}
}

// stateTracker records rule alert state changes (pending, firing,
// resolved) in the ledger after each group evaluation. The rules manager
// tells its notifier only about firing and resolved alerts, so pending is
// observed here.
type stateTracker struct {
	mu     sync.Mutex
	states map[string]map[model.Fingerprint]tracked // group key -> alert -> last state
}

type tracked struct {
	state rules.AlertState
	ls    model.LabelSet
	rule  string
}

func (a *Service) evalIteration(ctx context.Context, g *rules.Group, ts time.Time) {
	rules.DefaultEvalIterationFunc(ctx, g, ts)
	ext, _ := a.externals()
	gk := rules.GroupKey(g.File(), g.Name())
	seen := map[model.Fingerprint]bool{}
	var evs []Event
	add := func(ls model.LabelSet, kind, detail string) {
		e := eventFor(ls, kind, detail)
		e.Time = ts
		evs = append(evs, e)
	}
	t := &a.tracker
	t.mu.Lock()
	prev := t.states[gk]
	if prev == nil {
		prev = map[model.Fingerprint]tracked{}
		t.states[gk] = prev
	}
	for _, r := range g.Rules() {
		ar, ok := r.(*rules.AlertingRule)
		if !ok {
			continue
		}
		for _, al := range ar.ActiveAlerts() {
			ls := toLabelSet(al.Labels, ext)
			fp := ls.Fingerprint()
			seen[fp] = true
			old, had := prev[fp]
			if had && old.state == al.State {
				continue
			}
			prev[fp] = tracked{state: al.State, ls: ls, rule: ar.Name()}
			switch al.State {
			case rules.StatePending:
				add(ls, KindPending, fmt.Sprintf("rule %q in group %q: expression true (value %g); pending until for=%s elapses", ar.Name(), g.Name(), al.Value, model.Duration(ar.HoldDuration())))
			case rules.StateFiring:
				add(ls, KindFiring, fmt.Sprintf("rule %q in group %q: firing (value %g, active since %s)", ar.Name(), g.Name(), al.Value, al.ActiveAt.UTC().Format(time.RFC3339)))
			}
		}
	}
	for fp, tr := range prev {
		if seen[fp] {
			continue
		}
		delete(prev, fp)
		switch tr.state {
		case rules.StatePending:
			add(tr.ls, KindInactive, fmt.Sprintf("rule %q in group %q: expression no longer true before for elapsed; never fired", tr.rule, g.Name()))
		case rules.StateFiring:
			add(tr.ls, KindResolved, fmt.Sprintf("rule %q in group %q: resolved (expression no longer true)", tr.rule, g.Name()))
		}
	}
	t.mu.Unlock()
	if err := a.ledger.record(context.WithoutCancel(ctx), "rules", evs...); err != nil {
		a.m.ledgerErrors.Add(float64(len(evs)))
		a.logger.Error("record rule state changes", "err", err)
	}
}

func newRulesManager(a *Service, o Options, logger *slog.Logger) *rules.Manager {
	return rules.NewManager(&rules.ManagerOptions{
		ExternalURL:     o.ExternalURL,
		QueryFunc:       rules.EngineQueryFunc(o.Engine, o.Queryable),
		NotifyFunc:      a.notifyFunc,
		Context:         context.Background(),
		AppendableV2:    o.Appendable,
		Queryable:       o.Queryable,
		Logger:          logger.With("component", "rules"),
		Registerer:      o.Registerer,
		OutageTolerance: o.ForOutageTolerance,
		ForGracePeriod:  o.ForGracePeriod,
		ResendDelay:     o.ResendDelay,
	})
}
