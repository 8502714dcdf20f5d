package oncall

import (
	"context"
	"sort"
	"time"
)

// Ledger reads the alert ledger: alerting's record of each alert's life
// (pending, firing, resolved), routing, silences and inhibitions, and
// every notification with its delivery outcome. The incident's timeline
// merges the events of its alerts (the other half of "what happened").
//
// AlertHistory returns the events of the alert with fingerprint (as the
// Alertmanager API computes it) in [start, end], oldest first, at most
// limit. It is called on API reads, must be safe for concurrent use and
// must not write.
type Ledger interface {
	AlertHistory(ctx context.Context, fingerprint string, start, end time.Time, limit int) ([]LedgerEvent, error)
}

// LedgerEvent is one alert-ledger entry.
type LedgerEvent struct {
	ID          int64
	Time        time.Time
	Fingerprint string
	AlertName   string
	Kind        string
	Receiver    string
	Integration string
	Detail      string
}

// Timeline sources.
const (
	FromIncident = "incident" // on-call's own entries
	FromLedger   = "ledger"   // the alert ledger's entries about the incident's alerts
)

// Bounds of the ledger part of a timeline: how far before the incident
// (and its alerts) it looks (a rule's pending period), how long after the
// resolution (late delivery outcomes), and how much it takes.
const (
	ledgerLookback   = time.Hour
	ledgerAfter      = 10 * time.Minute
	ledgerAlerts     = 100
	ledgerPerAlert   = 200
	ledgerTotalLimit = 2000
)

// withLedger adds the ledger events of in's alerts to its timeline,
// merged by time. A ledger that cannot be read leaves the timeline as it
// is and says so in LedgerError.
func (o *OnCall) withLedger(ctx context.Context, in *Incident) {
	l := o.opts.Ledger
	if l == nil || len(in.Alerts) == 0 {
		return
	}
	end := o.now()
	if in.ResolvedAt != nil && in.State == Resolved {
		end = in.ResolvedAt.Add(ledgerAfter)
	}
	var evs []TimelineEvent
	for i, a := range in.Alerts {
		if i == ledgerAlerts || len(evs) >= ledgerTotalLimit {
			break
		}
		start := in.CreatedAt
		if !a.StartsAt.IsZero() && a.StartsAt.Before(start) {
			start = a.StartsAt
		}
		list, err := l.AlertHistory(ctx, a.Fingerprint, start.Add(-ledgerLookback), end, min(ledgerPerAlert, ledgerTotalLimit-len(evs)))
		if err != nil {
			o.logger.Warn("read the alert ledger for an incident's timeline", "incident", in.ID, "fingerprint", a.Fingerprint, "err", err)
			in.LedgerError = "the alert ledger could not be read; the timeline lacks its entries"
			return
		}
		for _, e := range list {
			evs = append(evs, TimelineEvent{
				ID: e.ID, Time: e.Time.UTC(), Kind: e.Kind, Source: FromLedger, Channel: e.Integration, Detail: e.Detail,
				Fingerprint: e.Fingerprint, AlertName: e.AlertName, Receiver: e.Receiver,
			})
		}
	}
	if len(evs) == 0 {
		return
	}
	in.Timeline = append(in.Timeline, evs...)
	sort.SliceStable(in.Timeline, func(i, j int) bool { return in.Timeline[i].Time.Before(in.Timeline[j].Time) })
}
