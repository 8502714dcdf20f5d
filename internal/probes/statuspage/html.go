package statuspage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

//go:embed templates/page.html
var templates embed.FS

var pageTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"fmtTime": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v != nil {
				return v.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return ""
	},
	"newestFirst": func(us []IncidentUpdate) []IncidentUpdate {
		out := slices.Clone(us)
		slices.Reverse(out)
		return out
	},
	"fmtPct": func(u *float64) string {
		if u == nil {
			return "–"
		}
		return pct(*u)
	},
	"fmtRatio": func(u *float64) string {
		if u == nil {
			return ""
		}
		return fmt.Sprintf("%.6f", *u)
	},
	"fmtMS": func(ms *float64) string {
		if ms == nil {
			return "–"
		}
		return fmt.Sprintf("%.0f ms", *ms)
	},
	"barClass": func(d Day) string {
		c := ""
		switch {
		case d.Uptime == nil:
		case *d.Uptime >= 1:
			c = "u100"
		case *d.Uptime >= 0.99:
			c = "u99"
		case *d.Uptime >= 0.95:
			c = "u95"
		default:
			c = "u0"
		}
		if d.Maintenance {
			c += " m"
		}
		return c
	},
	"spark": sparkline,
	"join":  func(a, b []string) string { return strings.Join(append(append([]string{}, a...), b...), ", ") },
}).ParseFS(templates, "templates/page.html"))

func pct(u float64) string {
	switch {
	case u >= 1:
		return "100%"
	case u >= 0.9999:
		return "99.99%" // never round an outage up to 100%
	}
	return fmt.Sprintf("%.2f%%", u*100)
}

// sparkline draws response times as an inline SVG polyline.
func sparkline(points []*float64) template.HTML {
	const w, h = 120.0, 24.0
	var maxV float64
	for _, p := range points {
		if p != nil && *p > maxV {
			maxV = *p
		}
	}
	if maxV == 0 || len(points) < 2 {
		return template.HTML(`<svg class="spark" width="120" height="24" aria-hidden="true"></svg>`)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" aria-label="response time, last 24 hours"><polyline fill="none" stroke="#1c7ed6" stroke-width="1.5" points="`, w, h, w, h)
	for i, p := range points {
		if p == nil {
			continue
		}
		x := float64(i) * w / float64(len(points)-1)
		y := h - 2 - (*p/maxV)*(h-4)
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	b.WriteString(`"/>`)
	// A lone point (one half hour of data) would draw nothing: mark it.
	n, last := 0, -1
	for i, p := range points {
		if p != nil {
			n, last = n+1, i
		}
	}
	if n == 1 {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2" fill="#1c7ed6"/>`, float64(last)*w/float64(len(points)-1), h-2-(h-4))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func headline(s *Summary) string {
	switch s.State {
	case Operational:
		return "All systems operational"
	case Degraded:
		return "Some systems are down"
	case Outage:
		return "Major outage"
	case InMaint:
		return "Maintenance in progress"
	}
	return "Status unknown"
}

// refreshParam reads ?refresh=SECONDS, the page's auto-refresh: off
// unless asked for (a page that reloads itself under a reader who did not
// ask is a WCAG 2.2.1 failure), for a wall screen that wants it.
func refreshParam(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 || n > 3600 {
		return 0, apierr.New(apierr.Invalid, "refresh must be a whole number of seconds from 10 to 3600 (or left out for no auto-refresh), got %q", v)
	}
	return n, nil
}

func (p *Page) serveHTML(w http.ResponseWriter, r *http.Request) {
	refresh, err := refreshParam(r.URL.Query().Get("refresh"))
	if err != nil {
		p.errw().Text(w, r, err)
		return
	}
	s, err := p.summary(r.Context())
	if err != nil {
		p.errw().Text(w, r, apierr.Wrap(apierr.Unavailable, err, "the status page is unavailable right now"))
		return
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, map[string]any{"S": s, "Headline": headline(s), "Days": s.UptimeDays, "Refresh": refresh}); err != nil {
		p.errw().Text(w, r, apierr.Wrap(apierr.Internal, err, "render status page"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Nothing is loaded from elsewhere: inline styles and same-origin images only.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=30")
	_, _ = w.Write(buf.Bytes())
}

func (p *Page) serveSummary(w http.ResponseWriter, r *http.Request) {
	s, err := p.summary(r.Context())
	if err != nil {
		p.jsonErr(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"status": "success", "data": s})
}

func (p *Page) serveProbe(w http.ResponseWriter, r *http.Request) {
	s, err := p.summary(r.Context())
	if err != nil {
		p.jsonErr(w, r, err)
		return
	}
	name := r.PathValue("name")
	for _, g := range s.Groups {
		for _, pv := range g.Probes {
			if pv.Name == name {
				writeJSON(w, map[string]any{"status": "success", "data": pv})
				return
			}
		}
	}
	p.jsonErr(w, r, apierr.New(apierr.NotFound, "no probe %q on the status page", name))
}
