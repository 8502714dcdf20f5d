package statuspage

import (
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// badge renders a flat two-part badge (the shields.io layout Gatus uses).
func badge(label, value, color string) []byte {
	tw := func(s string) int { return 10 + int(float64(len([]rune(s)))*6.6) }
	lw, vw := tw(label), tw(value)
	w := lw + vw
	l, v := html.EscapeString(label), html.EscapeString(value)
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s"><title>%s: %s</title>`+
		`<linearGradient id="s" x2="0" y2="100%%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`+
		`<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`+
		`<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`+
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%d" y="14">%s</text><text x="%d" y="14">%s</text></g></svg>`,
		w, l, v, l, v, w, lw, lw, vw, color, w, lw/2, l, lw+vw/2, v)
}

const (
	green  = "#2f9e44"
	yellow = "#f08c00"
	red    = "#e03131"
	blue   = "#1c7ed6"
	grey   = "#868e96"
)

// subject finds ?probe= or ?group= in the summary.
func subject(s *Summary, r *http.Request) (name string, probes []ProbeView, state string, err error) {
	q := r.URL.Query()
	if n := q.Get("probe"); n != "" {
		for _, g := range s.Groups {
			for _, p := range g.Probes {
				if p.Name == n {
					return n, []ProbeView{p}, p.State, nil
				}
			}
		}
		return "", nil, "", apierr.New(apierr.NotFound, "no probe %q on the status page", n)
	}
	if n := q.Get("group"); n != "" {
		for _, g := range s.Groups {
			if g.Name == n {
				return n, g.Probes, g.State, nil
			}
		}
		return "", nil, "", apierr.New(apierr.NotFound, "no group %q on the status page", n)
	}
	return "", nil, "", apierr.New(apierr.Invalid, "want ?probe=NAME or ?group=NAME")
}

func (p *Page) badgeInput(w http.ResponseWriter, r *http.Request) (*Summary, string, []ProbeView, string, bool) {
	s, err := p.summary(r.Context())
	if err == nil {
		var name, state string
		var probes []ProbeView
		if name, probes, state, err = subject(s, r); err == nil {
			return s, name, probes, state, true
		}
	}
	p.errw().Text(w, r, err)
	return nil, "", nil, "", false
}

func writeSVG(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(b)
}

// uptimeOver is the share of successful runs over the last n days of the
// probes, each probe weighted equally.
func uptimeOver(probes []ProbeView, n int) (float64, bool) {
	var sum float64
	k := 0
	for _, p := range probes {
		runs, failed := 0, 0
		for _, d := range p.Days[max(0, len(p.Days)-n):] {
			runs += d.Runs
			failed += d.Failed
		}
		if runs > 0 {
			sum += float64(runs-failed) / float64(runs)
			k++
		}
	}
	if k == 0 {
		return 0, false
	}
	return sum / float64(k), true
}

func (p *Page) serveUptimeBadge(w http.ResponseWriter, r *http.Request) {
	s, _, probes, _, ok := p.badgeInput(w, r)
	if !ok {
		return
	}
	days := 30
	if d := r.URL.Query().Get("days"); d != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(d, "d"))
		if err != nil || n < 1 || n > s.UptimeDays {
			p.errw().Text(w, r, apierr.New(apierr.Invalid, "days=%q: want a whole number of days from 1 to %d", d, s.UptimeDays))
			return
		}
		days = n
	}
	days = min(days, s.UptimeDays)
	label := fmt.Sprintf("uptime %dd", days)
	u, ok := uptimeOver(probes, days)
	if !ok {
		writeSVG(w, badge(label, "no data", grey))
		return
	}
	color := green
	switch {
	case u < 0.95:
		color = red
	case u < 0.99:
		color = yellow
	}
	writeSVG(w, badge(label, pct(u), color))
}

func (p *Page) serveResponseBadge(w http.ResponseWriter, r *http.Request) {
	_, _, probes, _, ok := p.badgeInput(w, r)
	if !ok {
		return
	}
	var sum float64
	n := 0
	for _, pv := range probes {
		if pv.ResponseMean24h != nil {
			sum += *pv.ResponseMean24h
			n++
		}
	}
	if n == 0 {
		writeSVG(w, badge("response time", "no data", grey))
		return
	}
	ms := sum / float64(n)
	color := green
	switch {
	case ms >= 1000:
		color = red
	case ms >= 300:
		color = yellow
	}
	writeSVG(w, badge("response time", fmt.Sprintf("%.0f ms", ms), color))
}

func (p *Page) serveStatusBadge(w http.ResponseWriter, r *http.Request) {
	_, _, _, state, ok := p.badgeInput(w, r)
	if !ok {
		return
	}
	color := map[string]string{Up: green, Operational: green, Down: red, Outage: red, Degraded: yellow, InMaint: blue}[state]
	if color == "" {
		color = grey
	}
	writeSVG(w, badge("status", state, color))
}

// Atom feed (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Summary string   `xml:"summary"`
}

func (p *Page) serveFeed(w http.ResponseWriter, r *http.Request) {
	s, err := p.summary(r.Context())
	if err != nil {
		p.errw().Text(w, r, err)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	f := atomFeed{Title: s.Title + " — status changes", ID: base + "/status", Updated: s.Generated.UTC().Format(time.RFC3339),
		Link: []atomLink{{Href: base + "/status"}, {Href: base + "/status/feed.atom", Rel: "self"}}, Author: atomAuthor{Name: s.Title}}
	if len(s.Changes) > 0 {
		f.Updated = s.Changes[0].At.UTC().Format(time.RFC3339)
	}
	for i, c := range s.Changes {
		if i == 100 {
			break
		}
		title := c.Probe + " is down"
		if c.Up {
			title = c.Probe + " is up again"
		}
		at := c.At.UTC().Format(time.RFC3339)
		f.Entries = append(f.Entries, atomEntry{
			Title: title, ID: fmt.Sprintf("%s/status#%s@%d", base, url.PathEscape(c.Probe), c.At.UnixMilli()), Updated: at,
			Link: atomLink{Href: base + "/status"}, Summary: title + " since " + at,
		})
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	_ = enc.Encode(f)
}
