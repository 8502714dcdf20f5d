package oncall

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func publicIDs(t *testing.T, o *OnCall, since time.Time) []int64 {
	t.Helper()
	list, err := o.PublicIncidents(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range list {
		ids = append(ids, p.ID)
	}
	return ids
}

// A published incident and its updates are on the public list with its
// public title; an unpublished one is not; resolving adds the resolved
// update; a resolved update resolves; reopening says so publicly.
func TestPublicIncidents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.o.IngestGroup(ctx, group("firing", "firing:a")); err != nil {
		t.Fatal(err)
	}
	internal, err := e.o.OpenManual(ctx, Manual{Title: "db-7 disk 91% full", Policy: "default"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	list, _ := e.o.List(ctx, Filter{})
	var id int64
	for _, in := range list {
		if in.Source == SourceAlertmanager {
			id = in.ID
		}
	}
	if got := publicIDs(t, e.o, e.clock.Now().Add(-time.Hour)); len(got) != 0 {
		t.Fatalf("public before publishing: %v", got)
	}

	// Publishing needs a message; bad status and impact are refused.
	for _, p := range []Publish{{}, {Message: "x", Status: "fixing"}, {Message: "x", Impact: "huge"}, {Message: strings.Repeat("x", 5001)}} {
		if _, err := e.o.Publish(ctx, id, p, "alice"); err == nil {
			t.Errorf("publish %+v accepted", p)
		}
	}
	if in := e.get(t, id); in.Public || len(in.PublicUpdates) != 0 {
		t.Fatalf("a refused publish changed the incident: %+v", in)
	}
	e.clock.Add(time.Minute)
	in, err := e.o.Publish(ctx, id, Publish{Title: "Checkout is slow", Impact: "major", Message: "We are looking into slow checkouts."}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !in.Public || in.PublicTitle != "Checkout is slow" || in.Impact != "major" || len(in.PublicUpdates) != 1 || in.PublicUpdates[0].Status != StatusInvestigating || in.PublicUpdates[0].Author != "alice" {
		t.Fatalf("published: %+v", in)
	}
	e.clock.Add(time.Minute)
	if _, err := e.o.AddPublicUpdate(ctx, internal.ID, StatusIdentified, "x", "bob"); err == nil || !strings.Contains(err.Error(), "not public") {
		t.Fatalf("update of an internal incident: %v", err)
	}
	if _, err := e.o.AddPublicUpdate(ctx, id, StatusIdentified, "A bad deploy; rolling back.", "bob"); err != nil {
		t.Fatal(err)
	}

	pub, err := e.o.PublicIncidents(ctx, e.clock.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 1 || pub[0].ID != id || pub[0].Title != "Checkout is slow" || pub[0].Status != StatusIdentified || pub[0].Impact != "major" || pub[0].Resolved != nil {
		t.Fatalf("public incidents: %+v", pub)
	}
	if u := pub[0].Updates; len(u) != 2 || u[1].Message != "A bad deploy; rolling back." || u[0].Author != "" || !u[1].At.Equal(e.clock.Now()) {
		t.Fatalf("public updates (oldest first, no authors): %+v", u)
	}
	if b, _ := json.Marshal(pub); strings.Contains(string(b), "HighLatency") || strings.Contains(string(b), "bob") {
		t.Fatalf("the public list leaks the internal title or an author: %s", b)
	}

	// The alert group resolves: the incident resolves and says so publicly.
	e.clock.Add(time.Minute)
	if err := e.o.IngestGroup(ctx, group("resolved", "resolved:a")); err != nil {
		t.Fatal(err)
	}
	in = e.get(t, id)
	if in.State != Resolved || len(in.PublicUpdates) != 3 || in.PublicUpdates[2].Status != StatusResolved || in.PublicUpdates[2].Message != msgResolved {
		t.Fatalf("after resolution: %s %+v", in.State, in.PublicUpdates)
	}
	for _, k := range []string{EvPublished, EvPublicUpdate, EvResolved} {
		if !strings.Contains(kinds(in), k) {
			t.Errorf("timeline lacks %s: %s", k, kinds(in))
		}
	}
	// A resolved incident takes only resolved updates; recently resolved
	// ones are listed with their resolution, older ones not.
	if _, err := e.o.AddPublicUpdate(ctx, id, StatusMonitoring, "still watching", "bob"); err == nil {
		t.Fatal("a monitoring update on a resolved incident was accepted")
	}
	pub, _ = e.o.PublicIncidents(ctx, e.clock.Now().Add(-time.Hour))
	if len(pub) != 1 || pub[0].Resolved == nil || pub[0].Status != StatusResolved {
		t.Fatalf("recently resolved: %+v", pub)
	}
	if got := publicIDs(t, e.o, e.clock.Now().Add(time.Second)); len(got) != 0 {
		t.Fatalf("resolved before the window listed: %v", got)
	}

	// It fires again within the reopen window: reopened, publicly too.
	e.clock.Add(time.Minute)
	if err := e.o.IngestGroup(ctx, group("firing", "firing:a")); err != nil {
		t.Fatal(err)
	}
	pub, _ = e.o.PublicIncidents(ctx, e.clock.Now())
	if len(pub) != 1 || pub[0].Status != StatusInvestigating || pub[0].Resolved != nil || pub[0].Updates[len(pub[0].Updates)-1].Message != msgReopened {
		t.Fatalf("reopened: %+v", pub)
	}

	// A resolved update resolves the incident, once.
	e.clock.Add(time.Minute)
	in, err = e.o.AddPublicUpdate(ctx, id, StatusResolved, "Fixed by the rollback.", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if in.State != Resolved || in.ResolvedBy != "bob" || in.PublicUpdates[len(in.PublicUpdates)-1].Message != "Fixed by the rollback." || strings.Count(" "+kinds(in)+" ", " "+EvResolved+" ") != 2 {
		t.Fatalf("resolved by an update: %s by %s, %+v; %s", in.State, in.ResolvedBy, in.PublicUpdates, kinds(in))
	}

	// Unpublished: off the list, updates kept.
	in, err = e.o.Unpublish(ctx, id, "alice")
	if err != nil || in.Public || len(in.PublicUpdates) == 0 {
		t.Fatalf("unpublish: %v %+v", err, in)
	}
	if got := publicIDs(t, e.o, e.clock.Now().Add(-time.Hour)); len(got) != 0 {
		t.Fatalf("unpublished still listed: %v", got)
	}
}

// Receivers and routing keys marked public publish their incidents as
// they open.
func TestPublicByConfig(t *testing.T) {
	e := newEnv(t)
	e.cfg.Receivers[0].Public = true
	if err := e.o.ApplyConfig(context.Background(), e.cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.o.IngestGroup(context.Background(), group("firing", "firing:a")); err != nil {
		t.Fatal(err)
	}
	pub, err := e.o.PublicIncidents(context.Background(), e.clock.Now())
	if err != nil || len(pub) != 1 || pub[0].Title != "HighLatency" || len(pub[0].Updates) != 1 || pub[0].Updates[0].Message != msgInvestigating {
		t.Fatalf("public by config: %v %+v", err, pub)
	}
}

func TestPublicAPI(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t)
	in, err := e.o.OpenManual(context.Background(), Manual{Title: "payments down", Policy: "default"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	p := fmt.Sprintf("/vigil/api/v1/oncall/incidents/%d", in.ID)
	f := func(path, body string, want int, wantText string) {
		t.Helper()
		code, b := call(t, srv, "POST", path, body)
		if code != want || !strings.Contains(b, wantText) {
			t.Fatalf("POST %s %s: %d %s, want %d with %q", path, body, code, b, want, wantText)
		}
	}
	f(p+"/updates", `{"status":"identified","message":"x"}`, 409, "not public")
	f(p+"/publish", `{"title":"Payments"}`, 400, "needs a message")
	f(p+"/publish", `{"message":"m","status":"fine"}`, 400, "want investigating, identified")
	f(p+"/publish", `{"message":"m","colour":"red"}`, 400, "unknown field")
	f(p+"/publish", `{"title":"Payments are failing","impact":"critical","message":"Card payments fail.","user":"alice"}`, 200, `"public":true`)
	f(p+"/updates", `{"message":"x"}`, 400, "needs a status")
	f(p+"/updates", `{"status":"monitoring"}`, 400, "needs a message")
	f(p+"/updates", `{"status":"monitoring","message":"A fix is out.","user":"bob"}`, 200, `"A fix is out."`)
	f("/vigil/api/v1/oncall/incidents/999/publish", `{"message":"m"}`, 404, "not found")
	f(p+"/unpublish", ``, 200, `"public":false`)
}
