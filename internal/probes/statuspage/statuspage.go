// Package statuspage serves the public status page: /status (server-rendered
// HTML with nothing fetched from elsewhere), its JSON under
// /status/api/v1/, SVG badges and an Atom feed of status changes.
//
// It shows only the groups and probes its Options list. Uptime is computed
// from probe_success in the TSDB (read through a storage.Queryable), per
// UTC day, with the runs inside a maintenance window left out; current
// state comes from the probes' last results. Open public incidents come
// from an IncidentSource the server wires (the on-call feature); without
// one the page says there are none.
package statuspage

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/vigilhq/vigil/internal/route"
)

// Probe is one probe's current state as the page needs it.
type Probe struct {
	Name string
	// Labels select the probe's series in the TSDB (job and instance).
	Labels labels.Labels
	// Known is false before the probe's first run.
	Known    bool
	Up       bool
	LastRun  time.Time
	Duration time.Duration
}

// Source gives the probes' current states. It is safe for concurrent use.
type Source interface {
	Probe(name string) (Probe, bool)
	// Flush makes the samples of every finished run queryable (the
	// probes batch their TSDB commits), so uptime computed right after a
	// run counts it: the page and a PromQL query at the same instant agree.
	Flush()
}

// Incident is a public incident (the on-call feature's, marked public).
type Incident struct {
	ID       string           `json:"id"`
	Title    string           `json:"title"`
	Status   string           `json:"status"` // investigating, identified, monitoring, resolved
	Impact   string           `json:"impact,omitempty"`
	Started  time.Time        `json:"started"`
	Resolved *time.Time       `json:"resolved,omitempty"`
	Updates  []IncidentUpdate `json:"updates"`
}

// IncidentUpdate is one update of an incident, newest last.
type IncidentUpdate struct {
	At      time.Time `json:"at"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
}

// IncidentSource lists the public incidents: the open ones and those
// resolved recently (Resolved set), newest first, each with its updates
// oldest first. It is called on page views (results are reused for
// IncidentsCacheFor) and must return promptly; an error shows the
// incidents section as unavailable, not the page as down.
type IncidentSource interface {
	PublicIncidents(ctx context.Context) ([]Incident, error)
}

// Group is a named list of probes.
type Group struct {
	Name   string
	Probes []string
}

// Options configure a Page.
type Options struct {
	Title       string
	Description string
	Logo        []byte // image file content; "" shows none
	UptimeDays  int    // default 90
	Groups      []Group
	// Maintenance is announced in the configuration; windows added through
	// the API live in Store.
	Maintenance []Maintenance
	Store       MaintenanceStore // nil: API windows are refused
	Source      Source
	Queryable   storage.Queryable
	Incidents   IncidentSource // nil: none
	// CacheFor is how long computed uptime is reused (default 30s): the
	// page is public, so views must not each scan 90 days of samples.
	CacheFor time.Duration
	// IncidentsCacheFor is how long the incident list is reused (default
	// 5s): short, so that an update posted during an outage shows at once,
	// yet a burst of views costs one look-up.
	IncidentsCacheFor time.Duration
	Now               func() time.Time
	Logger            *slog.Logger
}

// Page is the status page.
type Page struct {
	opts atomic.Pointer[Options]

	mu     sync.Mutex
	cached *Summary
	at     time.Time
	// computing serialises recomputation so a burst of views costs one.
	computing sync.Mutex

	// The incident list, cached on its own (incidents.go).
	incMu    sync.Mutex
	incAt    time.Time
	incCache incidentList
}

// New returns a Page.
func New(opts Options) *Page {
	p := &Page{}
	p.Apply(opts)
	return p
}

// Apply replaces the options (a config reload); the next view recomputes.
func (p *Page) Apply(opts Options) {
	if opts.UptimeDays <= 0 {
		opts.UptimeDays = 90
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = 30 * time.Second
	}
	if opts.IncidentsCacheFor <= 0 {
		opts.IncidentsCacheFor = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Logger = opts.Logger.With("component", "statuspage")
	p.opts.Store(&opts)
	p.invalidate()
}

// o returns the options in force.
func (p *Page) o() *Options { return p.opts.Load() }

// Routes are the page's routes: public, except changes to maintenance.
func (p *Page) Routes() []route.Route {
	return []route.Route{
		route.Func("GET", "/status", route.Public, p.serveHTML, "public status page: groups, current state, response times, uptime, incidents, maintenance"),
		route.Func("GET", "/status/logo", route.Public, p.serveLogo, "the status page's logo"),
		route.Func("GET", "/status/api/v1/summary", route.Public, p.serveSummary, "the status page as JSON"),
		route.Func("GET", "/status/api/v1/probes/{name}", route.Public, p.serveProbe, "one listed probe: state, daily uptime, response times"),
		route.Func("GET", "/status/badges/uptime.svg", route.Public, p.serveUptimeBadge, "SVG uptime badge: ?probe= or ?group=, &days= (default 30)"),
		route.Func("GET", "/status/badges/response-time.svg", route.Public, p.serveResponseBadge, "SVG response-time badge (mean over 24h): ?probe= or ?group="),
		route.Func("GET", "/status/badges/status.svg", route.Public, p.serveStatusBadge, "SVG current-state badge: ?probe= or ?group="),
		route.Func("GET", "/status/feed.atom", route.Public, p.serveFeed, "Atom feed of status changes"),
		route.Func("GET", "/vigil/api/v1/maintenance", route.Read, p.serveMaintenanceList, "maintenance windows (configured and added through the API)"),
		route.Func("POST", "/vigil/api/v1/maintenance", route.Write, p.serveMaintenanceAdd, "announce a maintenance window: {title, message, start, end, probes, groups}"),
		route.Func("DELETE", "/vigil/api/v1/maintenance/{id}", route.Write, p.serveMaintenanceDelete, "withdraw a maintenance window added through the API"),
	}
}

func (p *Page) serveLogo(w http.ResponseWriter, r *http.Request) {
	if len(p.o().Logo) == 0 {
		http.NotFound(w, r)
		return
	}
	ct := http.DetectContentType(p.o().Logo)
	if ct == "text/xml; charset=utf-8" || ct == "text/plain; charset=utf-8" {
		ct = "image/svg+xml" // DetectContentType does not know SVG
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(p.o().Logo)
}
