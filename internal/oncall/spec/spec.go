// Package spec is the schema of on-call objects as users write them: in
// the `oncall:` section of the configuration file (YAML) and in the
// /vigil/api/v1/oncall API (JSON). It validates a set of objects as a whole
// (names, references, time zones, cycles, overlaps) and compiles schedules
// for package schedule.
//
// It depends on nothing of Vigil's but package schedule, so the
// configuration loader can use it for `vigil check-config` as it uses
// Alertmanager's config package for the alerting section.
package spec

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/oncall/schedule"
)

// Objects is a set of on-call objects.
type Objects struct {
	Users     []User     `yaml:"users" json:"users,omitempty"`
	Teams     []Team     `yaml:"teams" json:"teams,omitempty"`
	Schedules []Schedule `yaml:"schedules" json:"schedules,omitempty"`
	Policies  []Policy   `yaml:"escalation_policies" json:"escalation_policies,omitempty"`
}

// User is someone who can be paged.
type User struct {
	Name     string `yaml:"name" json:"name"`
	FullName string `yaml:"full_name" json:"full_name,omitempty"`
	Email    string `yaml:"email" json:"email,omitempty"`
	// TimeZone is an IANA zone name (Europe/Berlin); it decides what is
	// "out of hours" for the user in the report. Default UTC.
	TimeZone       string          `yaml:"time_zone" json:"time_zone,omitempty"`
	ContactMethods []ContactMethod `yaml:"contact_methods" json:"contact_methods,omitempty"`
}

// Contact method types.
const (
	Email     = "email"     // Address
	Slack     = "slack"     // URL (incoming webhook) or SlackUser (needs oncall.slack.bot_token)
	Webhook   = "webhook"   // URL
	PagerDuty = "pagerduty" // RoutingKey (Events API v2), URL optional
	Opsgenie  = "opsgenie"  // APIKey, URL optional
)

// ContactMethod is one way to reach a user.
type ContactMethod struct {
	Type       string `yaml:"type" json:"type"`
	Address    string `yaml:"address" json:"address,omitempty"`
	URL        string `yaml:"url" json:"url,omitempty"`
	SlackUser  string `yaml:"slack_user" json:"slack_user,omitempty"`
	RoutingKey string `yaml:"routing_key" json:"routing_key,omitempty"`
	APIKey     string `yaml:"api_key" json:"api_key,omitempty"`
}

// Team is a group of users (and of other teams).
type Team struct {
	Name    string   `yaml:"name" json:"name"`
	Members []string `yaml:"members" json:"members,omitempty"`
	// Teams are included teams; their members are members of this team.
	Teams []string `yaml:"teams" json:"teams,omitempty"`
}

// Schedule is a stack of layers in one time zone.
type Schedule struct {
	Name     string `yaml:"name" json:"name"`
	TimeZone string `yaml:"time_zone" json:"time_zone"`
	Team     string `yaml:"team" json:"team,omitempty"`
	// Layers from the lowest to the highest; a later layer wins.
	Layers    []Layer    `yaml:"layers" json:"layers"`
	Overrides []Override `yaml:"overrides" json:"overrides,omitempty"`
}

// Layer is a rotation.
type Layer struct {
	Name string `yaml:"name" json:"name,omitempty"`
	// Start is the first handoff, local to the schedule's zone
	// ("2026-01-05T09:00") or with an offset (RFC 3339). Its time of day is
	// the handoff time.
	Start string `yaml:"start" json:"start"`
	// Handoff, when set ("09:00"), replaces Start's time of day.
	Handoff string `yaml:"handoff" json:"handoff,omitempty"`
	End     string `yaml:"end" json:"end,omitempty"`
	// Shift is the length of a turn: "12h", "1d", "1w" (wall-clock).
	Shift        string        `yaml:"shift" json:"shift"`
	Users        []string      `yaml:"users" json:"users"`
	Restrictions []Restriction `yaml:"restrictions" json:"restrictions,omitempty"`
}

// Restriction limits a layer to some local times: on Days (all when
// empty) from From to To ("09:00", "17:00"; To before From runs past
// midnight).
type Restriction struct {
	Days []string `yaml:"days" json:"days,omitempty"`
	From string   `yaml:"from" json:"from"`
	To   string   `yaml:"to" json:"to"`
}

// Override puts User on call from Start to End over every layer.
type Override struct {
	ID    int64  `yaml:"-" json:"id,omitempty"`
	User  string `yaml:"user" json:"user"`
	Start string `yaml:"start" json:"start"`
	End   string `yaml:"end" json:"end"`
}

// Policy is an escalation policy: steps in order, each notifying its
// targets and then waiting Delay before the next; after the last step the
// policy starts again, Repeat more times (PagerDuty's num_loops).
type Policy struct {
	Name   string `yaml:"name" json:"name"`
	Team   string `yaml:"team" json:"team,omitempty"`
	Repeat int    `yaml:"repeat" json:"repeat,omitempty"`
	Steps  []Step `yaml:"steps" json:"steps"`
}

// Step is one escalation level.
type Step struct {
	Targets []Target `yaml:"targets" json:"targets"`
	// Delay is the wait after this step's notifications before the next
	// step ("5m"). Default 5m.
	Delay string `yaml:"delay" json:"delay,omitempty"`
}

// Target is exactly one of a user, a schedule's on-call person or every
// member of a team.
type Target struct {
	User     string `yaml:"user" json:"user,omitempty"`
	Schedule string `yaml:"schedule" json:"schedule,omitempty"`
	Team     string `yaml:"team" json:"team,omitempty"`
}

// DefaultDelay is a step's delay when none is given.
const DefaultDelay = 5 * time.Minute

// MaxRepeat is the most a policy repeats (PagerDuty allows 9 loops).
const MaxRepeat = 9

// FieldError is one problem, with the dotted path of the field from the
// top of Objects ("schedules.0.layers.1.start").
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errors is a list of problems.
type Errors []FieldError

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// NameRE is what object names look like.
var NameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$`)

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// Validate checks every object and every reference between them.
func (o *Objects) Validate() Errors {
	var errs Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	users := map[string]bool{}
	for i, u := range o.Users {
		p := fmt.Sprintf("users.%d", i)
		checkName(add, p, "user", u.Name, users)
		if u.Email != "" {
			if _, err := mail.ParseAddress(u.Email); err != nil {
				add(p+".email", "%q is not an email address", u.Email)
			}
		}
		if u.TimeZone != "" {
			if _, err := time.LoadLocation(u.TimeZone); err != nil {
				add(p+".time_zone", "unknown time zone %q: want an IANA name such as Europe/Berlin", u.TimeZone)
			}
		}
		for j, cm := range u.ContactMethods {
			for _, e := range cm.Validate() {
				add(fmt.Sprintf("%s.contact_methods.%d.%s", p, j, e.Field), "%s", e.Msg)
			}
		}
	}
	teams := map[string]bool{}
	for i, t := range o.Teams {
		checkName(add, fmt.Sprintf("teams.%d", i), "team", t.Name, teams)
	}
	for i, t := range o.Teams {
		for j, m := range t.Members {
			if !users[m] {
				add(fmt.Sprintf("teams.%d.members.%d", i, j), "unknown user %q", m)
			}
		}
		for j, m := range t.Teams {
			if !teams[m] {
				add(fmt.Sprintf("teams.%d.teams.%d", i, j), "unknown team %q", m)
			}
		}
	}
	if cyc := teamCycle(o.Teams); cyc != nil {
		add(fmt.Sprintf("teams.%d.teams", cyc.index), "teams include each other in a cycle: %s", strings.Join(cyc.path, " -> "))
	}
	schedules := map[string]bool{}
	for i, s := range o.Schedules {
		p := fmt.Sprintf("schedules.%d", i)
		checkName(add, p, "schedule", s.Name, schedules)
		if s.Team != "" && !teams[s.Team] {
			add(p+".team", "unknown team %q", s.Team)
		}
		for _, e := range s.validate(users) {
			add(p+"."+e.Field, "%s", e.Msg)
		}
	}
	policies := map[string]bool{}
	for i, pol := range o.Policies {
		p := fmt.Sprintf("escalation_policies.%d", i)
		checkName(add, p, "escalation policy", pol.Name, policies)
		if pol.Team != "" && !teams[pol.Team] {
			add(p+".team", "unknown team %q", pol.Team)
		}
		if pol.Repeat < 0 || pol.Repeat > MaxRepeat {
			add(p+".repeat", "must be between 0 and %d, got %d", MaxRepeat, pol.Repeat)
		}
		if len(pol.Steps) == 0 {
			add(p+".steps", "a policy needs at least one step")
		}
		for j, st := range pol.Steps {
			sp := fmt.Sprintf("%s.steps.%d", p, j)
			if st.Delay != "" {
				if d, err := model.ParseDuration(st.Delay); err != nil || d <= 0 {
					add(sp+".delay", "invalid delay %q: want a duration such as 30s, 5m or 1h", st.Delay)
				}
			}
			if len(st.Targets) == 0 {
				add(sp+".targets", "a step needs at least one target (user, schedule or team)")
			}
			for k, t := range st.Targets {
				tp := fmt.Sprintf("%s.targets.%d", sp, k)
				n := 0
				for _, v := range []string{t.User, t.Schedule, t.Team} {
					if v != "" {
						n++
					}
				}
				switch {
				case n != 1:
					add(tp, "a target names exactly one of user, schedule or team")
				case t.User != "" && !users[t.User]:
					add(tp+".user", "unknown user %q", t.User)
				case t.Schedule != "" && !schedules[t.Schedule]:
					add(tp+".schedule", "unknown schedule %q", t.Schedule)
				case t.Team != "" && !teams[t.Team]:
					add(tp+".team", "unknown team %q", t.Team)
				}
			}
		}
	}
	return errs
}

func checkName(add func(string, string, ...any), path, kind, name string, seen map[string]bool) {
	switch {
	case name == "":
		add(path+".name", "%s name missing", kind)
	case !NameRE.MatchString(name):
		add(path+".name", "%s name %q: use letters, digits, _ . @ - (at most 128)", kind, name)
	case seen[name]:
		add(path+".name", "%s %q defined twice", kind, name)
	}
	seen[name] = true
}

// Validate checks one contact method; Field is relative to it.
func (cm ContactMethod) Validate() Errors {
	var errs Errors
	httpURL := func(field, v string) {
		u, err := url.Parse(v)
		if v == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf("%q is not an http(s) URL", v)})
		}
	}
	switch cm.Type {
	case Email:
		if _, err := mail.ParseAddress(cm.Address); err != nil {
			errs = append(errs, FieldError{Field: "address", Msg: fmt.Sprintf("%q is not an email address", cm.Address)})
		}
	case Slack:
		switch {
		case cm.URL != "" && cm.SlackUser != "":
			errs = append(errs, FieldError{Field: "url", Msg: "set url (incoming webhook) or slack_user, not both"})
		case cm.SlackUser != "":
		default:
			httpURL("url", cm.URL)
		}
	case Webhook:
		httpURL("url", cm.URL)
	case PagerDuty:
		if cm.RoutingKey == "" {
			errs = append(errs, FieldError{Field: "routing_key", Msg: "a PagerDuty contact method needs the service's Events API v2 routing_key"})
		}
		if cm.URL != "" {
			httpURL("url", cm.URL)
		}
	case Opsgenie:
		if cm.APIKey == "" {
			errs = append(errs, FieldError{Field: "api_key", Msg: "an Opsgenie contact method needs an api_key"})
		}
		if cm.URL != "" {
			httpURL("url", cm.URL)
		}
	default:
		errs = append(errs, FieldError{Field: "type", Msg: fmt.Sprintf("unknown contact method type %q: want email, slack, webhook, pagerduty or opsgenie", cm.Type)})
	}
	return errs
}

type cycle struct {
	index int
	path  []string
}

func teamCycle(ts []Team) *cycle {
	idx := map[string]int{}
	for i, t := range ts {
		idx[t.Name] = i
	}
	state := map[string]int{} // 1 visiting, 2 done
	var stack []string
	var found *cycle
	var visit func(n string)
	visit = func(n string) {
		if found != nil {
			return
		}
		i, ok := idx[n]
		if !ok {
			return
		}
		state[n] = 1
		stack = append(stack, n)
		for _, m := range ts[i].Teams {
			switch state[m] {
			case 1:
				start := slices.Index(stack, m)
				found = &cycle{index: idx[m], path: append(slices.Clone(stack[start:]), m)}
				return
			case 0:
				visit(m)
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = 2
	}
	for _, t := range ts {
		if state[t.Name] == 0 {
			visit(t.Name)
		}
	}
	return found
}

// ParseTime parses a time as layers and overrides write it: local to loc
// ("2026-01-05T09:00", "2026-01-05T09:00:00", "2026-01-05") or RFC 3339
// with an offset.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, f := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(f, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want 2026-01-05T09:00 (in the schedule's time zone) or RFC 3339 such as 2026-01-05T09:00:00+01:00", s)
}

// ParseClock parses "09:00" (and "24:00") as minutes after midnight.
func ParseClock(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("invalid time of day %q: want HH:MM such as 09:00", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("invalid time of day %q: want HH:MM from 00:00 to 24:00", s)
	}
	return h*60 + m, nil
}

func (s Schedule) validate(users map[string]bool) Errors {
	var errs Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if s.TimeZone == "" {
		add("time_zone", "a schedule needs a time zone (an IANA name such as Europe/Berlin or UTC)")
		return errs
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		add("time_zone", "unknown time zone %q: want an IANA name such as Europe/Berlin or UTC", s.TimeZone)
		return errs
	}
	if len(s.Layers) == 0 {
		add("layers", "a schedule needs at least one layer")
	}
	for i, l := range s.Layers {
		p := fmt.Sprintf("layers.%d", i)
		if _, err := ParseTime(l.Start, loc); err != nil {
			add(p+".start", "%v", err)
		}
		if l.Handoff != "" {
			if m, err := ParseClock(l.Handoff); err != nil || m == 1440 {
				add(p+".handoff", "invalid handoff %q: want HH:MM such as 09:00", l.Handoff)
			}
		}
		if l.End != "" {
			if _, err := ParseTime(l.End, loc); err != nil {
				add(p+".end", "%v", err)
			}
		}
		if d, err := model.ParseDuration(l.Shift); err != nil || time.Duration(d) < time.Minute {
			add(p+".shift", "invalid shift length %q: want a duration of at least 1m such as 12h, 1d or 1w", l.Shift)
		}
		if len(l.Users) == 0 {
			add(p+".users", "a layer needs at least one user")
		}
		for j, u := range l.Users {
			if users != nil && !users[u] {
				add(fmt.Sprintf("%s.users.%d", p, j), "unknown user %q", u)
			}
		}
		for j, r := range l.Restrictions {
			rp := fmt.Sprintf("%s.restrictions.%d", p, j)
			for k, d := range r.Days {
				if _, ok := dayNames[strings.ToLower(d)]; !ok {
					add(fmt.Sprintf("%s.days.%d", rp, k), "unknown day %q: want mon, tue, wed, thu, fri, sat or sun", d)
				}
			}
			from, err1 := ParseClock(r.From)
			if err1 != nil {
				add(rp+".from", "%v", err1)
			}
			to, err2 := ParseClock(r.To)
			if err2 != nil {
				add(rp+".to", "%v", err2)
			}
			if err1 == nil && err2 == nil && (from == to || from == 1440) {
				add(rp, "from %s and to %s must differ and from must be before 24:00", r.From, r.To)
			}
		}
	}
	for i, o := range s.Overrides {
		p := fmt.Sprintf("overrides.%d", i)
		if users != nil && !users[o.User] {
			add(p+".user", "unknown user %q", o.User)
		}
		st, err1 := ParseTime(o.Start, loc)
		if err1 != nil {
			add(p+".start", "%v", err1)
		}
		en, err2 := ParseTime(o.End, loc)
		if err2 != nil {
			add(p+".end", "%v", err2)
		}
		if err1 == nil && err2 == nil && !en.After(st) {
			add(p+".end", "end %s is not after start %s", o.End, o.Start)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if _, err := s.Compile(); err != nil {
		field := "layers"
		if strings.HasPrefix(err.Error(), "override") {
			field = "overrides"
		}
		add(field, "%v", err)
	}
	return errs
}

// Compile turns a schedule whose fields parse into a schedule.Schedule,
// with its overrides sorted; it reports overlapping overrides and
// restrictions.
func (s Schedule) Compile() (*schedule.Schedule, error) {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", s.TimeZone)
	}
	out := &schedule.Schedule{Name: s.Name, Location: loc}
	for i, l := range s.Layers {
		st, err := ParseTime(l.Start, loc)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		if l.Handoff != "" {
			m, err := ParseClock(l.Handoff)
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			lt := st.In(loc)
			st = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, m, 0, 0, loc)
		}
		var en time.Time
		if l.End != "" {
			if en, err = ParseTime(l.End, loc); err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
		}
		d, err := model.ParseDuration(l.Shift)
		if err != nil {
			return nil, fmt.Errorf("layer %d: invalid shift %q", i, l.Shift)
		}
		cl := schedule.Layer{Name: l.Name, Start: st, End: en, Shift: time.Duration(d), Users: slices.Clone(l.Users)}
		for j, r := range l.Restrictions {
			var cr schedule.Restriction
			for _, dn := range r.Days {
				wd, ok := dayNames[strings.ToLower(dn)]
				if !ok {
					return nil, fmt.Errorf("layer %d restriction %d: unknown day %q", i, j, dn)
				}
				cr.Days = append(cr.Days, wd)
			}
			if cr.From, err = ParseClock(r.From); err != nil {
				return nil, err
			}
			if cr.To, err = ParseClock(r.To); err != nil {
				return nil, err
			}
			cl.Restrictions = append(cl.Restrictions, cr)
		}
		out.Layers = append(out.Layers, cl)
	}
	for _, o := range s.Overrides {
		st, err := ParseTime(o.Start, loc)
		if err != nil {
			return nil, err
		}
		en, err := ParseTime(o.End, loc)
		if err != nil {
			return nil, err
		}
		out.Overrides = append(out.Overrides, schedule.Override{ID: o.ID, User: o.User, Start: st, End: en})
	}
	slices.SortFunc(out.Overrides, func(a, b schedule.Override) int { return a.Start.Compare(b.Start) })
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// Delays returns a step's delay.
func (st Step) DelayDuration() time.Duration {
	if st.Delay == "" {
		return DefaultDelay
	}
	d, err := model.ParseDuration(st.Delay)
	if err != nil || d <= 0 {
		return DefaultDelay
	}
	return time.Duration(d)
}
