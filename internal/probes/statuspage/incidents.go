package statuspage

import (
	"context"
	"time"
)

// incidentList is the incident part of the page, split into open and
// recently resolved incidents.
type incidentList struct {
	open, past []Incident
	err        string
}

// incidentTimeout bounds a look-up: the page must answer even when the
// source is slow.
const incidentTimeout = 2 * time.Second

// incidents returns the incident list, asking the source at most once per
// IncidentsCacheFor; concurrent views wait for one look-up.
func (p *Page) incidents(ctx context.Context) incidentList {
	o := p.o()
	empty := incidentList{open: []Incident{}, past: []Incident{}}
	if o.Incidents == nil {
		return empty
	}
	p.incMu.Lock()
	defer p.incMu.Unlock()
	now := o.Now()
	if !p.incAt.IsZero() && now.Sub(p.incAt) >= 0 && now.Sub(p.incAt) < o.IncidentsCacheFor {
		return p.incCache
	}
	ctx, cancel := context.WithTimeout(ctx, incidentTimeout)
	defer cancel()
	list, err := o.Incidents.PublicIncidents(ctx)
	out := empty
	if err != nil {
		o.Logger.Warn("list public incidents", "err", err)
		out.err = "incidents are unavailable right now"
	} else {
		for _, in := range list {
			if in.Updates == nil {
				in.Updates = []IncidentUpdate{}
			}
			if in.Resolved != nil {
				out.past = append(out.past, in)
			} else {
				out.open = append(out.open, in)
			}
		}
	}
	p.incAt, p.incCache = now, out
	return out
}
