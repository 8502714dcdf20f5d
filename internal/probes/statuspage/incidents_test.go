package statuspage

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveIncidents is a source whose answer the test changes.
type liveIncidents struct {
	mu    sync.Mutex
	list  []Incident
	err   error
	calls int
}

func (l *liveIncidents) PublicIncidents(context.Context) ([]Incident, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return l.list, l.err
}

func (l *liveIncidents) set(list []Incident, err error) {
	l.mu.Lock()
	l.list, l.err = list, err
	l.mu.Unlock()
}

// Open public incidents show with their updates newest first, recently
// resolved ones under "Past incidents"; the JSON splits them the same way
// and the Atom feed has an entry per update. The list is looked up at
// most once per IncidentsCacheFor, and a failing source leaves the page up.
func TestIncidents(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := now
	var mu sync.Mutex
	src := &liveIncidents{}
	resolved := now.Add(-2 * time.Hour)
	src.set([]Incident{
		{ID: "12", Title: "Checkout is slow", Status: "identified", Impact: "major", Started: now.Add(-time.Hour), Updates: []IncidentUpdate{
			{At: now.Add(-time.Hour), Status: "investigating", Message: "Looking into slow checkouts."},
			{At: now.Add(-30 * time.Minute), Status: "identified", Message: "A bad deploy; rolling back."},
		}},
		{ID: "9", Title: "Login failures", Status: "resolved", Started: now.Add(-3 * time.Hour), Resolved: &resolved, Updates: []IncidentUpdate{
			{At: now.Add(-3 * time.Hour), Status: "investigating", Message: "Some logins fail."},
			{At: resolved, Status: "resolved", Message: "This incident has been resolved."},
		}},
	}, nil)
	p := New(Options{Title: "Example", Incidents: src, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	h := mux(p)

	code, _, body := get(t, h, "/status")
	html := string(body)
	if code != 200 || !strings.Contains(html, `data-incident="12"`) || !strings.Contains(html, "Checkout is slow") || !strings.Contains(html, "major impact") {
		t.Fatalf("page lacks the open incident: %d\n%s", code, html)
	}
	open := html[strings.Index(html, `id="incidents"`):strings.Index(html, `id="past-incidents"`)]
	if i, j := strings.Index(open, "A bad deploy"), strings.Index(open, "Looking into slow"); i < 0 || j < 0 || i > j {
		t.Fatalf("updates not newest first:\n%s", open)
	}
	if strings.Contains(open, "Login failures") {
		t.Fatalf("a resolved incident among the open ones:\n%s", open)
	}
	past := html[strings.Index(html, `id="past-incidents"`):]
	if !strings.Contains(past, "Login failures") || !strings.Contains(past, "resolved 2026-12-01 07:00 UTC") {
		t.Fatalf("past incidents:\n%s", past)
	}

	_, _, body = get(t, h, "/status/api/v1/summary")
	var sum struct{ Data Summary }
	if err := json.Unmarshal(body, &sum); err != nil || len(sum.Data.Incidents) != 1 || sum.Data.Incidents[0].ID != "12" || len(sum.Data.PastIncidents) != 1 || len(sum.Data.Incidents[0].Updates) != 2 {
		t.Fatalf("summary incidents: %v %s", err, body)
	}

	_, _, body = get(t, h, "/status/feed.atom")
	var feed atomFeed
	if err := xml.Unmarshal(body, &feed); err != nil || len(feed.Entries) != 4 {
		t.Fatalf("feed: %v %s", err, body)
	}
	if e := feed.Entries[0]; e.Title != "Checkout is slow: Identified" || e.Summary != "A bad deploy; rolling back." || feed.Updated != "2026-12-01T08:30:00Z" {
		t.Fatalf("newest feed entry: %+v (feed updated %s)", e, feed.Updated)
	}

	// Cached: a change shows after IncidentsCacheFor (5s), not before.
	calls := src.calls
	src.set(nil, nil)
	get(t, h, "/status")
	if src.calls != calls {
		t.Fatalf("looked up again within the cache time: %d calls, was %d", src.calls, calls)
	}
	mu.Lock()
	clock = clock.Add(5 * time.Second)
	mu.Unlock()
	if _, _, body := get(t, h, "/status"); !strings.Contains(string(body), "No open incidents.") || strings.Contains(string(body), "past-incidents") {
		t.Fatalf("after the cache time the page still shows incidents:\n%s", body)
	}

	// A failing source: the page is up and says the incidents are unavailable.
	src.set(nil, errors.New("database is locked"))
	mu.Lock()
	clock = clock.Add(5 * time.Second)
	mu.Unlock()
	code, _, body = get(t, h, "/status")
	if code != 200 || !strings.Contains(string(body), "incidents are unavailable right now") || strings.Contains(string(body), "database is locked") {
		t.Fatalf("failing source: %d\n%s", code, body)
	}
}
