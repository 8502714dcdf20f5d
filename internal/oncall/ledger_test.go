package oncall

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLedger answers from a fixed list and records what it was asked.
type fakeLedger struct {
	mu    sync.Mutex
	evs   []LedgerEvent
	err   error
	asked []string
}

func (f *fakeLedger) AlertHistory(_ context.Context, fp string, start, end time.Time, limit int) ([]LedgerEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, fp)
	if f.err != nil {
		return nil, f.err
	}
	var out []LedgerEvent
	for _, e := range f.evs {
		if e.Fingerprint == fp && !e.Time.Before(start) && !e.Time.After(end) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// The timeline includes the ledger's events of the incident's alerts,
// merged by time and marked by source; events of other alerts and outside
// the incident's time are not included; a ledger error leaves the
// incident readable.
func TestTimelineFromLedger(t *testing.T) {
	e := newEnv(t)
	t0 := e.clock.Now()
	l := &fakeLedger{evs: []LedgerEvent{
		{ID: 1, Time: t0.Add(-3 * time.Minute), Fingerprint: "fp-a", AlertName: "HighLatency", Kind: "pending", Detail: "for 5m"},
		{ID: 2, Time: t0.Add(-30 * time.Second), Fingerprint: "fp-a", AlertName: "HighLatency", Kind: "firing"},
		{ID: 3, Time: t0.Add(-20 * time.Second), Fingerprint: "fp-a", AlertName: "HighLatency", Kind: "routed", Receiver: "pager"},
		{ID: 4, Time: t0.Add(2 * time.Minute), Fingerprint: "fp-a", AlertName: "HighLatency", Kind: "delivered", Receiver: "pager", Integration: "webhook[0]"},
		{ID: 5, Time: t0, Fingerprint: "fp-other", AlertName: "Other", Kind: "firing"},
		{ID: 6, Time: t0.Add(-48 * time.Hour), Fingerprint: "fp-a", AlertName: "HighLatency", Kind: "firing", Detail: "an older episode"},
	}}
	e.o.opts.Ledger = l
	ctx := context.Background()
	if err := e.o.IngestGroup(ctx, group("firing", "firing:a")); err != nil {
		t.Fatal(err)
	}
	list, _ := e.o.List(ctx, Filter{})
	id := list[0].ID
	e.clock.Add(time.Minute)
	if _, err := e.o.AddNote(ctx, id, "looking", "alice"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(5 * time.Minute)

	in := e.get(t, id)
	var got []string
	for _, ev := range in.Timeline {
		got = append(got, ev.Source+":"+ev.Kind)
		if ev.Source == FromLedger && (ev.Fingerprint != "fp-a" || ev.AlertName != "HighLatency") {
			t.Errorf("ledger entry of another alert: %+v", ev)
		}
	}
	want := "ledger:pending ledger:firing ledger:routed incident:triggered incident:alert_joined incident:note ledger:delivered"
	if strings.Join(got, " ") != want {
		t.Fatalf("timeline\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for i := 1; i < len(in.Timeline); i++ {
		if in.Timeline[i].Time.Before(in.Timeline[i-1].Time) {
			t.Fatalf("timeline not in time order at %d: %+v", i, in.Timeline)
		}
	}
	if d := in.Timeline[6]; d.Receiver != "pager" || d.Channel != "webhook[0]" {
		t.Fatalf("delivery entry: %+v", d)
	}

	// ?ledger=false gives on-call's own entries only.
	srv := e.server(t)
	if code, b := call(t, srv, "GET", "/vigil/api/v1/oncall/incidents/1?ledger=false", ""); code != 200 || strings.Contains(b, `"source":"ledger"`) || !strings.Contains(b, `"source":"incident"`) {
		t.Fatalf("ledger=false: %d %s", code, b)
	}
	if code, _ := call(t, srv, "GET", "/vigil/api/v1/oncall/incidents/1?ledger=maybe", ""); code != 400 {
		t.Fatalf("ledger=maybe: %d", code)
	}

	// A ledger that fails: the incident is still there, without its entries.
	l.mu.Lock()
	l.err = errors.New("database is locked")
	l.mu.Unlock()
	in = e.get(t, id)
	if in.LedgerError == "" || strings.Contains(in.LedgerError, "locked") || strings.Contains(kinds(in), "pending") || !strings.Contains(kinds(in), "note") {
		t.Fatalf("failing ledger: %q %s", in.LedgerError, kinds(in))
	}
}
