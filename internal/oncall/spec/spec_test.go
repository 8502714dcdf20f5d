package spec

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func good() Objects {
	return Objects{
		Users: []User{
			{Name: "alice", Email: "alice@example.com", TimeZone: "Europe/Berlin", ContactMethods: []ContactMethod{{Type: Email, Address: "alice@example.com"}, {Type: Webhook, URL: "http://127.0.0.1:1/hook"}}},
			{Name: "bob", ContactMethods: []ContactMethod{{Type: Slack, URL: "https://hooks.slack.com/services/x"}}},
		},
		Teams: []Team{{Name: "ops", Members: []string{"alice", "bob"}}},
		Schedules: []Schedule{{Name: "primary", TimeZone: "Europe/Berlin", Layers: []Layer{
			{Start: "2026-01-05T09:00", Shift: "1w", Users: []string{"alice", "bob"},
				Restrictions: []Restriction{{Days: []string{"mon", "tue"}, From: "09:00", To: "17:00"}}},
		}, Overrides: []Override{{User: "bob", Start: "2026-02-01T00:00", End: "2026-02-02T00:00"}}}},
		Policies: []Policy{{Name: "default", Repeat: 1, Steps: []Step{
			{Targets: []Target{{Schedule: "primary"}}, Delay: "5m"},
			{Targets: []Target{{User: "bob"}, {Team: "ops"}}},
		}}},
	}
}

func TestValidate(t *testing.T) {
	f := func(mut func(*Objects), field, msg string) {
		t.Helper()
		o := good()
		mut(&o)
		errs := o.Validate()
		if field == "" {
			if len(errs) > 0 {
				t.Errorf("unexpected errors: %v", errs)
			}
			return
		}
		for _, e := range errs {
			if e.Field == field && strings.Contains(e.Msg, msg) {
				return
			}
		}
		t.Errorf("want %s: ...%s...; got %v", field, msg, errs)
	}
	f(func(*Objects) {}, "", "")
	f(func(o *Objects) { o.Users[1].Name = "alice" }, "users.1.name", "defined twice")
	f(func(o *Objects) { o.Users[0].Name = "" }, "users.0.name", "missing")
	f(func(o *Objects) { o.Users[0].Name = "a b" }, "users.0.name", "use letters")
	f(func(o *Objects) { o.Users[0].Email = "nope" }, "users.0.email", "not an email")
	f(func(o *Objects) { o.Users[0].TimeZone = "Mars/Olympus" }, "users.0.time_zone", "unknown time zone")
	f(func(o *Objects) { o.Users[0].ContactMethods[0].Type = "pigeon" }, "users.0.contact_methods.0.type", "unknown contact method")
	f(func(o *Objects) { o.Users[0].ContactMethods[1].URL = "ftp://x" }, "users.0.contact_methods.1.url", "not an http(s) URL")
	f(func(o *Objects) { o.Users[1].ContactMethods[0].SlackUser = "U1" }, "users.1.contact_methods.0.url", "not both")
	f(func(o *Objects) { o.Teams[0].Members = append(o.Teams[0].Members, "zed") }, "teams.0.members.2", "unknown user \"zed\"")
	f(func(o *Objects) {
		o.Teams = append(o.Teams, Team{Name: "a", Teams: []string{"b"}}, Team{Name: "b", Teams: []string{"a"}})
	}, "teams.1.teams", "cycle: a -> b -> a")
	f(func(o *Objects) { o.Schedules[0].TimeZone = "Europe/Nowhere" }, "schedules.0.time_zone", "unknown time zone")
	f(func(o *Objects) { o.Schedules[0].TimeZone = "" }, "schedules.0.time_zone", "needs a time zone")
	f(func(o *Objects) { o.Schedules[0].Layers = nil }, "schedules.0.layers", "at least one layer")
	f(func(o *Objects) { o.Schedules[0].Layers[0].Start = "yesterday" }, "schedules.0.layers.0.start", "invalid time")
	f(func(o *Objects) { o.Schedules[0].Layers[0].Shift = "30s" }, "schedules.0.layers.0.shift", "at least 1m")
	f(func(o *Objects) { o.Schedules[0].Layers[0].Users = []string{"carol"} }, "schedules.0.layers.0.users.0", "unknown user")
	f(func(o *Objects) { o.Schedules[0].Layers[0].Restrictions[0].Days = []string{"funday"} }, "schedules.0.layers.0.restrictions.0.days.0", "unknown day")
	f(func(o *Objects) { o.Schedules[0].Layers[0].Restrictions[0].From = "25:00" }, "schedules.0.layers.0.restrictions.0.from", "HH:MM")
	f(func(o *Objects) { o.Schedules[0].Layers[0].Restrictions[0].To = "09:00" }, "schedules.0.layers.0.restrictions.0", "must differ")
	f(func(o *Objects) {
		l := &o.Schedules[0].Layers[0]
		l.Restrictions = append(l.Restrictions, Restriction{Days: []string{"tue"}, From: "16:00", To: "18:00"})
	}, "schedules.0.layers", "overlap")
	f(func(o *Objects) {
		o.Schedules[0].Overrides = append(o.Schedules[0].Overrides, Override{User: "alice", Start: "2026-02-01T12:00", End: "2026-02-03T00:00"})
	}, "schedules.0.overrides", "overlaps")
	f(func(o *Objects) { o.Schedules[0].Overrides[0].End = "2026-01-01T00:00" }, "schedules.0.overrides.0.end", "not after start")
	f(func(o *Objects) { o.Policies[0].Steps = nil }, "escalation_policies.0.steps", "at least one step")
	f(func(o *Objects) { o.Policies[0].Repeat = 10 }, "escalation_policies.0.repeat", "between 0 and 9")
	f(func(o *Objects) { o.Policies[0].Steps[0].Delay = "soon" }, "escalation_policies.0.steps.0.delay", "invalid delay")
	f(func(o *Objects) { o.Policies[0].Steps[0].Targets[0].User = "alice" }, "escalation_policies.0.steps.0.targets.0", "exactly one")
	f(func(o *Objects) { o.Policies[0].Steps[1].Targets[0].User = "mallory" }, "escalation_policies.0.steps.1.targets.0.user", "unknown user \"mallory\"")
	f(func(o *Objects) { o.Policies[0].Steps[0].Targets[0].Schedule = "secondary" }, "escalation_policies.0.steps.0.targets.0.schedule", "unknown schedule")
	f(func(o *Objects) { o.Policies[0].Steps[1].Targets[1].Team = "dev" }, "escalation_policies.0.steps.1.targets.1.team", "unknown team")
}

func TestCompileHandoff(t *testing.T) {
	s := Schedule{Name: "x", TimeZone: "America/New_York", Layers: []Layer{{Start: "2026-03-01", Handoff: "09:30", Shift: "1d", Users: []string{"a"}}}}
	c, err := s.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Layers[0].Start.UTC().Format(time.RFC3339); got != "2026-03-01T14:30:00Z" {
		t.Errorf("start %s", got)
	}
	if d := (Step{}).DelayDuration(); d != DefaultDelay {
		t.Errorf("default delay %s", d)
	}
}

// FuzzObjects: any JSON either fails validation or compiles every
// schedule; neither panics.
func FuzzObjects(f *testing.F) {
	b, _ := json.Marshal(good())
	f.Add(b)
	f.Add([]byte(`{"schedules":[{"name":"s","time_zone":"UTC","layers":[{"start":"2026-01-01","shift":"1m","users":["u"],"restrictions":[{"from":"23:59","to":"00:00"}]}]}],"users":[{"name":"u"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var o Objects
		if json.Unmarshal(data, &o) != nil {
			return
		}
		if len(o.Validate()) > 0 {
			return
		}
		for _, s := range o.Schedules {
			c, err := s.Compile()
			if err != nil {
				t.Fatalf("valid schedule does not compile: %v", err)
			}
			t0 := c.Layers[0].Start
			c.Shifts(t0, t0.Add(48*time.Hour))
			c.At(t0.Add(time.Hour))
		}
	})
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"09:00", "24:00", "23:59", "9:00", "ab:cd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseClock(s)
		if err == nil && (m < 0 || m > 1440) {
			t.Fatalf("ParseClock(%q) = %d", s, m)
		}
		_, _ = ParseTime(s, time.UTC)
	})
}
