package statuspage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// States of a probe, a group and the page.
const (
	Up          = "up"
	Down        = "down"
	Unknown     = "unknown"
	InMaint     = "maintenance"
	Operational = "operational"
	Degraded    = "degraded"
	Outage      = "outage"
)

// Summary is everything the page shows.
type Summary struct {
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	HasLogo     bool        `json:"has_logo"`
	Generated   time.Time   `json:"generated"`
	State       string      `json:"state"`
	UptimeDays  int         `json:"uptime_days"`
	Groups      []GroupView `json:"groups"`
	// Incidents are the open public incidents, PastIncidents those
	// resolved recently; both newest first.
	Incidents     []Incident    `json:"incidents"`
	PastIncidents []Incident    `json:"past_incidents"`
	IncidentsErr  string        `json:"incidents_error,omitempty"`
	Maintenance   []Maintenance `json:"maintenance"`
	Changes       []Change      `json:"changes"`
}

// GroupView is one group.
type GroupView struct {
	Name   string      `json:"name"`
	State  string      `json:"state"`
	Uptime *float64    `json:"uptime"` // over UptimeDays; null without data
	Probes []ProbeView `json:"probes"`
}

// ProbeView is one probe.
type ProbeView struct {
	Name       string    `json:"name"`
	State      string    `json:"state"`
	LastRun    time.Time `json:"last_run,omitzero"`
	ResponseMS float64   `json:"response_ms"`
	// Uptime is the share of successful runs over UptimeDays, runs in
	// maintenance left out; null without data.
	Uptime *float64 `json:"uptime"`
	Days   []Day    `json:"days"`
	// Sparkline is the mean response time of each half hour of the last
	// 24 hours (null where there were no runs).
	Sparkline []*float64 `json:"sparkline_ms"`
	// ResponseMean24h is the mean probe_duration_seconds over 24h, in ms.
	ResponseMean24h *float64 `json:"response_mean_24h_ms"`
}

// Day is one UTC day of a probe's uptime: the runs in (00:00, 24:00], as
// avg_over_time(probe_success[1d]) at the day's end counts them.
type Day struct {
	Date        string   `json:"date"`
	Uptime      *float64 `json:"uptime"` // null: no runs
	Runs        int      `json:"runs"`
	Failed      int      `json:"failed"`
	Maintenance bool     `json:"maintenance"` // a window overlapped the day
}

// Change is a probe going down or coming back.
type Change struct {
	Probe string    `json:"probe"`
	At    time.Time `json:"at"`
	Up    bool      `json:"up"`
}

const day = 24 * time.Hour

// summary returns the page's data: the cached uptime summary with the
// current incident list.
func (p *Page) summary(ctx context.Context) (*Summary, error) {
	s, err := p.uptimeSummary(ctx)
	if err != nil {
		return nil, err
	}
	c := *s
	inc := p.incidents(ctx)
	c.Incidents, c.PastIncidents, c.IncidentsErr = inc.open, inc.past, inc.err
	return &c, nil
}

// uptimeSummary returns the cached summary, recomputing it when stale.
func (p *Page) uptimeSummary(ctx context.Context) (*Summary, error) {
	p.mu.Lock()
	s, at := p.cached, p.at
	p.mu.Unlock()
	now := p.o().Now()
	if s != nil && now.Sub(at) < p.o().CacheFor {
		return s, nil
	}
	p.computing.Lock()
	defer p.computing.Unlock()
	p.mu.Lock()
	s, at = p.cached, p.at
	p.mu.Unlock()
	if s != nil && now.Sub(at) < p.o().CacheFor {
		return s, nil
	}
	if src := p.o().Source; src != nil {
		src.Flush()
	}
	s, err := p.compute(ctx, now)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.cached, p.at = s, now
	p.mu.Unlock()
	return s, nil
}

// invalidate drops the caches (a maintenance window or the options
// changed).
func (p *Page) invalidate() {
	p.mu.Lock()
	p.cached = nil
	p.mu.Unlock()
	p.incMu.Lock()
	p.incAt = time.Time{}
	p.incMu.Unlock()
}

func (p *Page) compute(ctx context.Context, now time.Time) (*Summary, error) {
	s := &Summary{
		Title: p.o().Title, Description: p.o().Description, HasLogo: len(p.o().Logo) > 0,
		Generated: now, UptimeDays: p.o().UptimeDays, Changes: []Change{},
	}
	maint, err := p.maintenance(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range maint {
		if m.End.After(now) {
			s.Maintenance = append(s.Maintenance, m)
		}
	}
	groupsOf := map[string][]string{}
	for _, g := range p.o().Groups {
		for _, name := range g.Probes {
			groupsOf[name] = append(groupsOf[name], g.Name)
		}
	}
	views := map[string]ProbeView{}
	for _, g := range p.o().Groups {
		for _, name := range g.Probes {
			if _, ok := views[name]; ok {
				continue
			}
			v, changes, err := p.probeView(ctx, name, groupsOf[name], maint, now)
			if err != nil {
				return nil, err
			}
			views[name] = v
			s.Changes = append(s.Changes, changes...)
		}
	}
	worst := Operational
	for _, g := range p.o().Groups {
		gv := GroupView{Name: g.Name, Probes: []ProbeView{}}
		down, up, inMaint := 0, 0, 0
		var sum float64
		n := 0
		for _, name := range g.Probes {
			v := views[name]
			gv.Probes = append(gv.Probes, v)
			switch v.State {
			case Down:
				down++
			case Up:
				up++
			case InMaint:
				inMaint++
			}
			if v.Uptime != nil {
				sum += *v.Uptime
				n++
			}
		}
		switch {
		case down > 0 && up == 0 && inMaint == 0:
			gv.State = Outage
		case down > 0:
			gv.State = Degraded
		case inMaint > 0:
			gv.State = InMaint
		case up > 0:
			gv.State = Operational
		default:
			gv.State = Unknown
		}
		if n > 0 {
			u := sum / float64(n)
			gv.Uptime = &u
		}
		worst = worse(worst, gv.State)
		s.Groups = append(s.Groups, gv)
	}
	s.State = worst
	sort.Slice(s.Changes, func(i, j int) bool { return s.Changes[i].At.After(s.Changes[j].At) })
	return s, nil
}

func worse(a, b string) string {
	rank := map[string]int{Operational: 0, Unknown: 1, InMaint: 2, Degraded: 3, Outage: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// probeView computes one probe's uptime days, sparkline and state changes.
func (p *Page) probeView(ctx context.Context, name string, groups []string, maint []Maintenance, now time.Time) (ProbeView, []Change, error) {
	v := ProbeView{Name: name, State: Unknown}
	var pr Probe
	var ok bool
	if p.o().Source != nil {
		pr, ok = p.o().Source.Probe(name)
	}
	var windows []Maintenance
	for _, m := range maint {
		if m.applies(name, groups) {
			windows = append(windows, m)
		}
	}
	if ok && pr.Known {
		v.State = Down
		if pr.Up {
			v.State = Up
		}
		v.LastRun = pr.LastRun
		v.ResponseMS = float64(pr.Duration) / float64(time.Millisecond)
	}
	for _, w := range windows {
		if !now.Before(w.Start) && now.Before(w.End) {
			v.State = InMaint
		}
	}
	today := now.UTC().Truncate(day)
	first := today.Add(-time.Duration(p.o().UptimeDays-1) * day)
	days := make([]Day, p.o().UptimeDays)
	for i := range days {
		d := first.Add(time.Duration(i) * day)
		days[i].Date = d.Format("2006-01-02")
		for _, w := range windows {
			if w.Start.Before(d.Add(day)) && w.End.After(d) {
				days[i].Maintenance = true
			}
		}
	}
	var changes []Change
	if !ok || p.o().Queryable == nil {
		v.Days = days
		return v, nil, nil
	}
	matchers := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "probe_success")}
	pr.Labels.Range(func(l labels.Label) {
		matchers = append(matchers, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value))
	})
	var okRuns, allRuns int
	var prev float64 = math.NaN()
	err := p.scan(ctx, first.UnixMilli()+1, now.UnixMilli(), matchers, func(t int64, val float64) {
		at := time.UnixMilli(t)
		if !math.IsNaN(prev) && val != prev {
			changes = append(changes, Change{Probe: name, At: at, Up: val == 1})
		}
		prev = val
		for _, w := range windows {
			if !at.Before(w.Start) && at.Before(w.End) {
				return
			}
		}
		i := int((t - 1 - first.UnixMilli()) / day.Milliseconds())
		if i < 0 || i >= len(days) {
			return
		}
		days[i].Runs++
		allRuns++
		if val == 1 {
			okRuns++
		} else {
			days[i].Failed++
		}
	})
	if err != nil {
		return v, nil, err
	}
	for i := range days {
		if days[i].Runs > 0 {
			u := float64(days[i].Runs-days[i].Failed) / float64(days[i].Runs)
			days[i].Uptime = &u
		}
	}
	v.Days = days
	if allRuns > 0 {
		u := float64(okRuns) / float64(allRuns)
		v.Uptime = &u
	}
	// Response times over 24 hours in half-hour buckets.
	matchers[0] = labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "probe_duration_seconds")
	const buckets = 48
	start := now.Add(-24 * time.Hour)
	sums := make([]float64, buckets)
	counts := make([]int, buckets)
	var total float64
	var n int
	err = p.scan(ctx, start.UnixMilli()+1, now.UnixMilli(), matchers, func(t int64, val float64) {
		i := int(time.UnixMilli(t).Sub(start) * buckets / (24 * time.Hour))
		i = min(max(i, 0), buckets-1)
		sums[i] += val
		counts[i]++
		total += val
		n++
	})
	if err != nil {
		return v, nil, err
	}
	v.Sparkline = make([]*float64, buckets)
	for i := range sums {
		if counts[i] > 0 {
			ms := sums[i] / float64(counts[i]) * 1000
			v.Sparkline[i] = &ms
		}
	}
	if n > 0 {
		ms := total / float64(n) * 1000
		v.ResponseMean24h = &ms
	}
	if !ok || !pr.Known {
		if n := len(changes); n > 0 || !math.IsNaN(prev) {
			// No run since start: the TSDB's last sample is the state.
			v.State = Down
			if prev == 1 {
				v.State = Up
			}
		}
	}
	return v, changes, nil
}

// scan calls f for every float sample of the matching series in
// [mint, maxt], in time order across series; staleness markers are
// skipped.
func (p *Page) scan(ctx context.Context, mint, maxt int64, ms []*labels.Matcher, f func(t int64, v float64)) error {
	q, err := p.o().Queryable.Querier(mint, maxt)
	if err != nil {
		return fmt.Errorf("query probe history: %w", err)
	}
	defer q.Close()
	ss := q.Select(ctx, false, nil, ms...)
	type sample struct {
		t int64
		v float64
	}
	var all []sample
	var it chunkenc.Iterator
	nSeries := 0
	for ss.Next() {
		nSeries++
		it = ss.At().Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			t, v := it.At()
			if value.IsStaleNaN(v) || t < mint || t > maxt {
				continue
			}
			all = append(all, sample{t, v})
		}
	}
	if err := ss.Err(); err != nil {
		return fmt.Errorf("query probe history: %w", err)
	}
	if nSeries > 1 {
		slices.SortStableFunc(all, func(a, b sample) int { return int(a.t - b.t) })
	}
	for _, s := range all {
		f(s.t, s.v)
	}
	return nil
}
