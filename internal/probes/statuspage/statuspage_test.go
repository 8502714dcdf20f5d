package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/vigilhq/vigil/internal/state"
)

type source map[string]Probe

func (s source) Probe(name string) (Probe, bool) { p, ok := s[name]; return p, ok }
func (s source) Flush()                          {}

type incidents []Incident

func (i incidents) PublicIncidents(context.Context) ([]Incident, error) { return i, nil }

// fill writes probe_success and probe_duration_seconds every 10 minutes
// from start to end; up decides each value.
func fill(t *testing.T, db storage.Appendable, instance string, start, end time.Time, up func(time.Time) bool) {
	t.Helper()
	app := db.Appender(context.Background())
	for ts := start; !ts.After(end); ts = ts.Add(10 * time.Minute) {
		v := 0.0
		if up(ts) {
			v = 1
		}
		ls := labels.FromStrings("__name__", "probe_success", "job", "probes", "instance", instance)
		if _, err := app.Append(0, ls, ts.UnixMilli(), v); err != nil {
			t.Fatal(err)
		}
		ls = labels.FromStrings("__name__", "probe_duration_seconds", "job", "probes", "instance", instance)
		if _, err := app.Append(0, ls, ts.UnixMilli(), 0.120); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func newPage(t *testing.T, now time.Time, store MaintenanceStore) (*Page, *teststorage.TestStorage) {
	db := teststorage.New(t)
	t.Cleanup(func() { db.Close() })
	today := now.Truncate(day)
	// api: up two days ago; down from 12:00 to 18:00 yesterday; today down
	// 02:00-04:00, inside a maintenance window.
	fill(t, db, "http://api", today.Add(-2*day).Add(10*time.Minute), now, func(ts time.Time) bool {
		y := today.Add(-day)
		if !ts.Before(y.Add(12*time.Hour)) && ts.Before(y.Add(18*time.Hour)) {
			return false
		}
		if !ts.Before(today.Add(2*time.Hour)) && ts.Before(today.Add(4*time.Hour)) {
			return false
		}
		return true
	})
	fill(t, db, "http://web", now.Add(-time.Hour), now, func(time.Time) bool { return false })
	p := New(Options{
		Title: "Example", UptimeDays: 3,
		Groups: []Group{{Name: "API", Probes: []string{"api"}}, {Name: "Web", Probes: []string{"web", "new"}}},
		Maintenance: []Maintenance{{Title: "Upgrade", Start: today.Add(2 * time.Hour), End: today.Add(4 * time.Hour), Groups: []string{"API"}},
			{Title: "Later", Start: now.Add(day), End: now.Add(day + time.Hour)}},
		Source: source{
			"api": {Name: "api", Labels: labels.FromStrings("job", "probes", "instance", "http://api"), Known: true, Up: true, LastRun: now, Duration: 120 * time.Millisecond},
			"web": {Name: "web", Labels: labels.FromStrings("job", "probes", "instance", "http://web"), Known: true, Up: false, LastRun: now},
			"new": {Name: "new", Labels: labels.FromStrings("job", "probes", "instance", "http://new")},
		},
		Queryable: db,
		Incidents: incidents{{ID: "7", Title: "Web is down", Status: "investigating", Started: now.Add(-time.Hour),
			Updates: []IncidentUpdate{{At: now.Add(-time.Hour), Status: "investigating", Message: "Looking into it"}}}},
		Store: store,
		Now:   func() time.Time { return now },
	})
	return p, db
}

func get(t *testing.T, h http.Handler, url string) (int, http.Header, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func mux(p *Page) *http.ServeMux {
	m := http.NewServeMux()
	for _, r := range p.Routes() {
		m.Handle(r.MuxPattern(), r.Handler)
	}
	return m
}

func TestSummary(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	p, _ := newPage(t, now, nil)
	s, err := p.summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	api := s.Groups[0].Probes[0]
	if api.State != Up || s.Groups[0].State != Operational {
		t.Fatalf("api state %s, group %s", api.State, s.Groups[0].State)
	}
	f := func(d Day, runs, failed int) {
		t.Helper()
		if d.Runs != runs || d.Failed != failed {
			t.Fatalf("%s: %d runs %d failed, want %d %d", d.Date, d.Runs, d.Failed, runs, failed)
		}
	}
	// Two days ago: 00:10..24:00 = 144 runs. Yesterday: (00:00, 24:00], 36
	// failed. Today to 09:00: 54 runs, the 12 in maintenance left out.
	f(api.Days[0], 144, 0)
	f(api.Days[1], 144, 36)
	f(api.Days[2], 54-12, 0)
	if !api.Days[2].Maintenance || api.Days[1].Maintenance {
		t.Fatalf("maintenance days: %+v", api.Days)
	}
	if u := *api.Uptime; u != float64(144+108+42)/float64(144+144+42) {
		t.Fatalf("uptime %v", u)
	}
	if api.ResponseMean24h == nil || *api.ResponseMean24h < 119 || *api.ResponseMean24h > 121 {
		t.Fatalf("response mean %v", api.ResponseMean24h)
	}
	web := s.Groups[1]
	if web.State != Outage || web.Probes[0].State != Down || web.Probes[1].State != Unknown || web.Probes[1].Uptime != nil {
		t.Fatalf("web group: %+v", web)
	}
	if s.State != Outage {
		t.Fatalf("page state %s", s.State)
	}
	// Changes: api down 12:00 yesterday, up 18:00; maintenance dip today.
	var downs int
	for _, c := range s.Changes {
		if c.Probe == "api" && !c.Up {
			downs++
		}
	}
	if downs != 2 || !s.Changes[0].At.After(s.Changes[len(s.Changes)-1].At) {
		t.Fatalf("changes: %+v", s.Changes)
	}
	if len(s.Maintenance) != 1 || s.Maintenance[0].Title != "Later" {
		t.Fatalf("only windows not yet over are shown: %+v", s.Maintenance)
	}
}

func TestHTTP(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	db, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := NewDBStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := newPage(t, now, store)
	h := mux(p)

	code, hdr, body := get(t, h, "/status")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("/status: %d %v", code, hdr)
	}
	for _, want := range []string{`data-group="API"`, `data-probe="web" data-state="down"`, `data-day="2026-11-30"`, "Web is down", "Looking into it", "Later", "Major outage"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("/status lacks %q", want)
		}
	}
	if bytes.Contains(body, []byte("http://")) && bytes.Contains(body, []byte("src=\"http")) {
		t.Fatal("the page loads something from elsewhere")
	}

	code, _, body = get(t, h, "/status/api/v1/summary")
	var sum struct{ Data Summary }
	if code != 200 || json.Unmarshal(body, &sum) != nil || len(sum.Data.Groups) != 2 {
		t.Fatalf("summary: %d %s", code, body)
	}
	if code, _, _ := get(t, h, "/status/api/v1/probes/api"); code != 200 {
		t.Fatalf("probe: %d", code)
	}
	if code, _, _ := get(t, h, "/status/api/v1/probes/secret"); code != 404 {
		t.Fatalf("unlisted probe: %d", code)
	}

	for _, u := range []string{"/status/badges/uptime.svg?probe=api", "/status/badges/uptime.svg?group=Web&days=1", "/status/badges/response-time.svg?probe=api", "/status/badges/status.svg?group=API", "/status/badges/uptime.svg?probe=new"} {
		code, hdr, body := get(t, h, u)
		if code != 200 || hdr.Get("Content-Type") != "image/svg+xml" {
			t.Fatalf("%s: %d %s", u, code, body)
		}
		var doc struct {
			XMLName xml.Name
			Title   string `xml:"title"`
		}
		if err := xml.Unmarshal(body, &doc); err != nil || doc.XMLName.Local != "svg" || doc.XMLName.Space != "http://www.w3.org/2000/svg" {
			t.Fatalf("%s: not SVG: %v %s", u, err, body)
		}
		t.Logf("%s: %s", u, doc.Title)
	}
	if _, _, body := get(t, h, "/status/badges/uptime.svg?probe=api&days=3"); !bytes.Contains(body, []byte("uptime 3d: 89.09%")) {
		t.Fatalf("uptime badge: %s", body)
	}
	for _, u := range []string{"/status/badges/uptime.svg", "/status/badges/uptime.svg?probe=nope", "/status/badges/uptime.svg?probe=api&days=0"} {
		if code, _, _ := get(t, h, u); code != 400 && code != 404 {
			t.Fatalf("%s: %d", u, code)
		}
	}

	code, hdr, body = get(t, h, "/status/feed.atom")
	var feed atomFeed
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/atom+xml") || xml.Unmarshal(body, &feed) != nil || len(feed.Entries) == 0 {
		t.Fatalf("feed: %d %s", code, body)
	}
	if !strings.Contains(feed.Entries[0].Title, "is") {
		t.Fatalf("feed entry: %+v", feed.Entries[0])
	}

	// Maintenance through the API.
	post := func(body string) (int, []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/vigil/api/v1/maintenance", strings.NewReader(body)))
		return rec.Code, rec.Body.Bytes()
	}
	if code, body := post(`{"title":"x","start":"2026-12-02T00:00:00Z","end":"2026-12-01T00:00:00Z"}`); code != 400 {
		t.Fatalf("bad window: %d %s", code, body)
	}
	if code, body := post(`{"title":"x","start":"2026-12-02T00:00:00Z","end":"2026-12-02T01:00:00Z","probes":["nope"]}`); code != 400 {
		t.Fatalf("unknown probe: %d %s", code, body)
	}
	if code, body := post(`{"title":"x","bogus":1}`); code != 400 {
		t.Fatalf("unknown field: %d %s", code, body)
	}
	code, body = post(`{"title":"DB move","start":"2026-12-01T08:00:00Z","end":"2026-12-01T10:00:00Z","probes":["web"]}`)
	var added struct{ Data Maintenance }
	if code != 201 || json.Unmarshal(body, &added) != nil || added.Data.ID == "" {
		t.Fatalf("add: %d %s", code, body)
	}
	s, _ := p.summary(context.Background())
	if s.Groups[1].Probes[0].State != InMaint {
		t.Fatalf("web in maintenance: %+v", s.Groups[1].Probes[0])
	}
	code, _, body = get(t, h, "/vigil/api/v1/maintenance")
	if code != 200 || !bytes.Contains(body, []byte("DB move")) || !bytes.Contains(body, []byte(`"source":"config"`)) {
		t.Fatalf("list: %d %s", code, body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("DELETE", "/vigil/api/v1/maintenance/"+added.Data.ID, nil))
	if rec.Code != 204 {
		t.Fatalf("delete: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("DELETE", "/vigil/api/v1/maintenance/config-1", nil))
	if rec.Code != 404 {
		t.Fatalf("delete configured: %d", rec.Code)
	}
	_, _, body = get(t, h, "/vigil/api/v1/maintenance")
	if bytes.Contains(body, []byte("DB move")) {
		t.Fatalf("deleted window still listed: %s", body)
	}
	_ = io.Discard
}
