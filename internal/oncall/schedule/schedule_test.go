package schedule

import (
	"fmt"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func local(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

// want is "user start end" lines with UTC times, hand-computed.
func checkShifts(t *testing.T, got []Shift, want ...string) {
	t.Helper()
	var g []string
	for _, s := range got {
		g = append(g, fmt.Sprintf("%s %s %s", s.User, s.Start.UTC().Format("2006-01-02T15:04Z"), s.End.UTC().Format("2006-01-02T15:04Z")))
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("shifts:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

func oneLayer(loc *time.Location, start time.Time, shift time.Duration, users []string, rs ...Restriction) *Schedule {
	return &Schedule{Name: "s", Location: loc, Layers: []Layer{{Start: start, Shift: shift, Users: users, Restrictions: rs}}}
}

func TestRotationsAcrossDST(t *testing.T) {
	berlin, ny := zone(t, "Europe/Berlin"), zone(t, "America/New_York")
	f := func(name string, s *Schedule, from, to time.Time, want ...string) {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			checkShifts(t, s.Shifts(from, to), want...)
		})
	}
	// Berlin springs forward on 2026-03-29 at 02:00 CET (UTC+1 -> UTC+2).
	f("berlin daily 09:00 spring forward",
		oneLayer(berlin, local(berlin, "2026-03-27T09:00"), 24*time.Hour, []string{"a", "b"}),
		utc("2026-03-27T08:00Z"), utc("2026-03-30T07:00Z"),
		"a 2026-03-27T08:00Z 2026-03-28T08:00Z",
		"b 2026-03-28T08:00Z 2026-03-29T07:00Z", // 23 hours
		"a 2026-03-29T07:00Z 2026-03-30T07:00Z")
	// Berlin falls back on 2026-10-25 at 03:00 CEST (UTC+2 -> UTC+1).
	f("berlin weekly monday 10:00 fall back",
		oneLayer(berlin, local(berlin, "2026-10-19T10:00"), 7*24*time.Hour, []string{"a", "b", "c"}),
		utc("2026-10-19T08:00Z"), utc("2026-11-09T09:00Z"),
		"a 2026-10-19T08:00Z 2026-10-26T09:00Z", // 169 hours
		"b 2026-10-26T09:00Z 2026-11-02T09:00Z",
		"c 2026-11-02T09:00Z 2026-11-09T09:00Z")
	f("berlin daily 09:00 fall back",
		oneLayer(berlin, local(berlin, "2026-10-23T09:00"), 24*time.Hour, []string{"a", "b"}),
		utc("2026-10-24T07:00Z"), utc("2026-10-26T08:00Z"),
		"b 2026-10-24T07:00Z 2026-10-25T08:00Z", // 25 hours
		"a 2026-10-25T08:00Z 2026-10-26T08:00Z")
	// New York springs forward on 2026-03-08 at 02:00 EST (UTC-5 -> UTC-4).
	f("new york 8h shifts spring forward",
		oneLayer(ny, local(ny, "2026-03-07T22:00"), 8*time.Hour, []string{"a", "b", "c"}),
		utc("2026-03-08T03:00Z"), utc("2026-03-09T02:00Z"),
		"a 2026-03-08T03:00Z 2026-03-08T10:00Z", // 22:00 EST -> 06:00 EDT: 7 hours
		"b 2026-03-08T10:00Z 2026-03-08T18:00Z",
		"c 2026-03-08T18:00Z 2026-03-09T02:00Z")
	// New York falls back on 2026-11-01 at 02:00 EDT (UTC-4 -> UTC-5).
	f("new york 8h shifts fall back",
		oneLayer(ny, local(ny, "2026-10-31T22:00"), 8*time.Hour, []string{"a", "b", "c"}),
		utc("2026-11-01T02:00Z"), utc("2026-11-02T03:00Z"),
		"a 2026-11-01T02:00Z 2026-11-01T11:00Z", // 22:00 EDT -> 06:00 EST: 9 hours
		"b 2026-11-01T11:00Z 2026-11-01T19:00Z",
		"c 2026-11-01T19:00Z 2026-11-02T03:00Z")
	f("new york weekly sunday 12:00 both transitions",
		oneLayer(ny, local(ny, "2026-03-01T12:00"), 7*24*time.Hour, []string{"a", "b"}),
		utc("2026-03-01T17:00Z"), utc("2026-03-15T16:00Z"),
		"a 2026-03-01T17:00Z 2026-03-08T16:00Z",
		"b 2026-03-08T16:00Z 2026-03-15T16:00Z")
	// A handoff inside the spring-forward gap (02:30 does not exist on
	// 2026-03-08 in New York) is resolved with the offset before the
	// gap: 02:30 EST = 03:30 EDT (the handoff moves forward by the gap).
	f("new york handoff in the gap",
		oneLayer(ny, local(ny, "2026-03-07T02:30"), 24*time.Hour, []string{"a", "b"}),
		utc("2026-03-07T07:30Z"), utc("2026-03-09T06:30Z"),
		"a 2026-03-07T07:30Z 2026-03-08T07:30Z",
		"b 2026-03-08T07:30Z 2026-03-09T06:30Z")
	// Restrictions: weekdays 09:00-17:00, weekly rotation from Monday
	// 00:00; the week turns while restricted (b takes the second week).
	f("berlin business hours across spring forward",
		oneLayer(berlin, local(berlin, "2026-03-23T00:00"), 7*24*time.Hour, []string{"a", "b"},
			Restriction{Days: []time.Weekday{1, 2, 3, 4, 5}, From: 9 * 60, To: 17 * 60}),
		utc("2026-03-27T00:00Z"), utc("2026-03-31T00:00Z"),
		"a 2026-03-27T08:00Z 2026-03-27T16:00Z",
		"b 2026-03-30T07:00Z 2026-03-30T15:00Z")
	f("new york night restriction past midnight across fall back",
		oneLayer(ny, local(ny, "2026-10-26T00:00"), 7*24*time.Hour, []string{"a"},
			Restriction{Days: []time.Weekday{6}, From: 22 * 60, To: 6 * 60}),
		utc("2026-10-31T00:00Z"), utc("2026-11-02T00:00Z"),
		"a 2026-11-01T02:00Z 2026-11-01T11:00Z") // Sat 22:00 EDT to Sun 06:00 EST
}

func TestLayersAndOverrides(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	s := &Schedule{Name: "ops", Location: berlin, Layers: []Layer{
		{Start: local(berlin, "2026-01-05T09:00"), Shift: 24 * time.Hour, Users: []string{"a", "b"}},
		{Start: local(berlin, "2026-01-03T00:00"), Shift: 7 * 24 * time.Hour, Users: []string{"c"},
			Restrictions: []Restriction{{Days: []time.Weekday{time.Saturday, time.Sunday}, From: 0, To: 1440}}},
	}, Overrides: []Override{{User: "d", Start: local(berlin, "2026-01-07T12:00"), End: local(berlin, "2026-01-07T14:00")}}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	checkShifts(t, s.Shifts(local(berlin, "2026-01-07T00:00"), local(berlin, "2026-01-11T00:00")),
		"b 2026-01-06T23:00Z 2026-01-07T08:00Z",
		"a 2026-01-07T08:00Z 2026-01-07T11:00Z",
		"d 2026-01-07T11:00Z 2026-01-07T13:00Z",
		"a 2026-01-07T13:00Z 2026-01-08T08:00Z",
		"b 2026-01-08T08:00Z 2026-01-09T08:00Z",
		"a 2026-01-09T08:00Z 2026-01-09T23:00Z",
		"c 2026-01-09T23:00Z 2026-01-10T23:00Z")
	at := func(ts time.Time, want string) {
		t.Helper()
		sh, ok := s.At(ts)
		if !ok && want != "" || ok && sh.User != want {
			t.Errorf("At(%s) = %q, %v; want %q", ts, sh.User, ok, want)
		}
	}
	at(local(berlin, "2026-01-07T08:59"), "b")
	at(local(berlin, "2026-01-07T09:00"), "a")
	at(local(berlin, "2026-01-07T12:00"), "d")
	at(local(berlin, "2026-01-07T13:59"), "d")
	at(local(berlin, "2026-01-07T14:00"), "a")
	at(local(berlin, "2026-01-10T03:00"), "c")
	at(local(berlin, "2026-01-04T09:00"), "c") // before layer 0 starts, layer 1 on Sunday
	at(local(berlin, "2026-01-02T09:00"), "")  // before every layer
	at(local(berlin, "2026-01-12T09:00"), "b") // Monday: layer 0, k=7
	at(local(berlin, "2027-01-11T09:00"), "b") // a year on: k=371
	at(local(berlin, "2025-12-01T09:00"), "")  // long before
	at(local(berlin, "2026-01-05T08:59"), "")  // Monday before the first handoff
	at(local(berlin, "2026-01-17T23:59"), "c") // Saturday night
	at(local(berlin, "2026-01-18T00:00"), "c") // Sunday
	at(local(berlin, "2026-01-19T00:00"), "b") // Monday 00:00: layer 0 (k=13, b)
	at(local(berlin, "2026-01-19T00:00").Add(-time.Nanosecond), "c")
}

func TestValidate(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	base := func() *Schedule {
		return oneLayer(berlin, local(berlin, "2026-01-05T09:00"), 24*time.Hour, []string{"a"})
	}
	f := func(mut func(*Schedule), want string) {
		t.Helper()
		s := base()
		mut(s)
		err := s.Validate()
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("Validate() = %v; want %q", err, want)
		}
	}
	f(func(*Schedule) {}, "")
	f(func(s *Schedule) { s.Location = nil }, "time zone")
	f(func(s *Schedule) { s.Layers = nil }, "at least one layer")
	f(func(s *Schedule) { s.Layers[0].Shift = time.Second }, "shorter than 1m")
	f(func(s *Schedule) { s.Layers[0].Users = nil }, "no users")
	f(func(s *Schedule) { s.Layers[0].End = s.Layers[0].Start }, "not after start")
	f(func(s *Schedule) {
		s.Layers[0].Restrictions = []Restriction{{From: 9 * 60, To: 9 * 60}}
	}, "differ")
	f(func(s *Schedule) {
		s.Layers[0].Restrictions = []Restriction{{Days: []time.Weekday{1}, From: 9 * 60, To: 17 * 60}, {Days: []time.Weekday{1}, From: 16 * 60, To: 18 * 60}}
	}, "overlap")
	f(func(s *Schedule) {
		s.Layers[0].Restrictions = []Restriction{{Days: []time.Weekday{6}, From: 22 * 60, To: 6 * 60}, {Days: []time.Weekday{0}, From: 5 * 60, To: 7 * 60}}
	}, "overlap") // Saturday night runs into Sunday 05:00
	f(func(s *Schedule) {
		s.Layers[0].Restrictions = []Restriction{{Days: []time.Weekday{6}, From: 22 * 60, To: 6 * 60}, {Days: []time.Weekday{0}, From: 6 * 60, To: 7 * 60}}
	}, "")
	f(func(s *Schedule) {
		t0 := local(berlin, "2026-02-01T00:00")
		s.Overrides = []Override{{User: "a", Start: t0, End: t0.Add(2 * time.Hour)}, {User: "b", Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour)}}
	}, "overlaps")
	f(func(s *Schedule) {
		t0 := local(berlin, "2026-02-01T00:00")
		s.Overrides = []Override{{User: "a", Start: t0, End: t0}}
	}, "not after start")
}

// The export, parsed back by a second iCalendar implementation
// (emersion/go-ical), holds the same shifts event by event.
func TestICSRoundTrip(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	s := &Schedule{Name: "ops team", Location: berlin, Layers: []Layer{
		{Start: local(berlin, "2026-03-23T09:00"), Shift: 24 * time.Hour, Users: []string{"alice", "bob"}},
	}, Overrides: []Override{{User: "carol", Start: local(berlin, "2026-03-29T01:00"), End: local(berlin, "2026-03-29T05:00")}}}
	shifts := s.Shifts(local(berlin, "2026-03-25T00:00"), local(berlin, "2026-04-01T00:00"))
	if len(shifts) < 8 {
		t.Fatalf("want a week of shifts, got %d", len(shifts))
	}
	text := ICS(s.Name, shifts, map[string]string{"alice": "Alice Liddell"}, utc("2026-03-20T00:00Z"))
	cal, err := goical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatalf("decode export: %v\n%s", err, text)
	}
	evs := cal.Events()
	if len(evs) != len(shifts) {
		t.Fatalf("%d events, want %d", len(evs), len(shifts))
	}
	uids := map[string]bool{}
	for i, ev := range evs {
		sh := shifts[i]
		st, err := ev.DateTimeStart(time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		en, err := ev.DateTimeEnd(time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Equal(sh.Start) || !en.Equal(sh.End) {
			t.Errorf("event %d: %s-%s, want %s-%s", i, st, en, sh.Start, sh.End)
		}
		sum, _ := ev.Props.Text(goical.PropSummary)
		who := sh.User
		if who == "alice" {
			who = "Alice Liddell"
		}
		if sum != "On call: "+who+" (ops team)" {
			t.Errorf("event %d summary %q", i, sum)
		}
		uid, _ := ev.Props.Text(goical.PropUID)
		if uid == "" || uids[uid] {
			t.Errorf("event %d: UID %q empty or repeated", i, uid)
		}
		uids[uid] = true
	}
}

func BenchmarkAt(b *testing.B) {
	berlin := zone(b, "Europe/Berlin")
	s := &Schedule{Name: "s", Location: berlin, Layers: []Layer{
		{Start: local(berlin, "2025-01-06T09:00"), Shift: 7 * 24 * time.Hour, Users: []string{"a", "b", "c", "d"}},
		{Start: local(berlin, "2025-01-06T09:00"), Shift: 24 * time.Hour, Users: []string{"e", "f"},
			Restrictions: []Restriction{{Days: []time.Weekday{1, 2, 3, 4, 5}, From: 9 * 60, To: 17 * 60}}},
	}}
	t0 := local(berlin, "2026-01-01T00:00")
	for d := 0; d < 365; d++ {
		st := t0.AddDate(0, 0, d).Add(20 * time.Hour)
		s.Overrides = append(s.Overrides, Override{User: "z", Start: st, End: st.Add(2 * time.Hour)})
	}
	now := local(berlin, "2026-07-15T12:34")
	b.ReportAllocs()
	for b.Loop() {
		s.At(now)
	}
}
