// Package schedule computes who is on call: rotations (layers) with
// restrictions in a time zone, stacked so that higher layers win, with
// overrides on top of every layer. It is pure calendar math on Go's time
// package and IANA zones; it knows nothing of storage or HTTP.
//
// Semantics follow PagerDuty's schedules:
//   - a layer hands off every Shift of wall-clock time from Start, so a
//     daily or weekly rotation hands off at the same local time on both
//     sides of a DST change (the shift that spans the change is an hour
//     shorter or longer in elapsed time);
//   - restrictions cut a layer's shifts to the allowed local times; the
//     rotation keeps turning while restricted (nobody "moves up");
//   - the final schedule at an instant is the override covering it, else
//     the highest layer (the last one listed) with someone on call, else
//     nobody.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Schedule is a compiled schedule. Build it with the fields set and call
// Validate (or use a Schedule that spec.Compile returned); the methods
// assume a valid Schedule and are safe for concurrent use.
type Schedule struct {
	Name     string
	Location *time.Location
	// Layers from the lowest to the highest: a later layer wins.
	Layers []Layer
	// Overrides sorted by Start and not overlapping (Validate checks).
	Overrides []Override
}

// Layer is one rotation.
type Layer struct {
	Name string
	// Start is the first handoff; its wall-clock time in the schedule's
	// zone is the handoff time of every shift.
	Start time.Time
	// End, when not zero, ends the layer (nobody on call from it after).
	End time.Time
	// Shift is the wall-clock length of one turn (24h is a calendar day).
	Shift time.Duration
	// Users in rotation order.
	Users []string
	// Restrictions, when any, limit the layer to these local times.
	Restrictions []Restriction
}

// Restriction allows a layer on the listed weekdays (all when empty) from
// From to To minutes after local midnight; To <= From runs past midnight
// into the next day (a night shift).
type Restriction struct {
	Days     []time.Weekday
	From, To int // minutes of the day, 0..1440
}

// Override puts User on call from Start to End, over every layer.
type Override struct {
	ID         int64
	User       string
	Start, End time.Time
}

// Shift is one stretch of the final (or one layer's) schedule.
type Shift struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Layer is the index of the layer the shift comes from, -1 for an
	// override.
	Layer int `json:"layer"`
}

// Validate reports the first problem that would make the schedule's
// answers meaningless.
func (s *Schedule) Validate() error {
	if s.Location == nil {
		return errors.New("time zone missing")
	}
	if len(s.Layers) == 0 {
		return errors.New("a schedule needs at least one layer")
	}
	for i, l := range s.Layers {
		if l.Shift < time.Minute {
			return fmt.Errorf("layer %d: shift length %s is shorter than 1m", i, l.Shift)
		}
		if len(l.Users) == 0 {
			return fmt.Errorf("layer %d: no users", i)
		}
		if !l.End.IsZero() && !l.End.After(l.Start) {
			return fmt.Errorf("layer %d: end %s is not after start %s", i, l.End, l.Start)
		}
		for j, r := range l.Restrictions {
			if r.From < 0 || r.From >= 1440 || r.To < 0 || r.To > 1440 || r.From == r.To {
				return fmt.Errorf("layer %d restriction %d: times must be within 00:00-24:00 and differ", i, j)
			}
		}
		if a, b, ok := overlappingRestrictions(l.Restrictions); ok {
			return fmt.Errorf("layer %d: restrictions %d and %d overlap", i, a, b)
		}
	}
	for i := range s.Overrides {
		o := s.Overrides[i]
		if !o.End.After(o.Start) {
			return fmt.Errorf("override %d: end %s is not after start %s", i, o.End, o.Start)
		}
		if i > 0 && s.Overrides[i-1].Start.After(o.Start) {
			return fmt.Errorf("overrides not sorted by start")
		}
		if i > 0 && s.Overrides[i-1].End.After(o.Start) {
			return fmt.Errorf("override %d (%s from %s) overlaps override %d (%s until %s)", i, o.User, o.Start, i-1, s.Overrides[i-1].User, s.Overrides[i-1].End)
		}
	}
	return nil
}

// OverlappingOverride returns the index of an override in os (sorted by
// start) that overlaps [start, end), or -1.
func OverlappingOverride(os []Override, start, end time.Time) int {
	i := sort.Search(len(os), func(i int) bool { return os[i].End.After(start) })
	if i < len(os) && os[i].Start.Before(end) {
		return i
	}
	return -1
}

// weekMinutes lists the minutes of the week (Sunday 00:00 = 0) a set of
// restrictions allows, as sorted half-open intervals.
func weekIntervals(rs []Restriction) [][2]int {
	var out [][2]int
	for _, r := range rs {
		days := r.Days
		if len(days) == 0 {
			days = []time.Weekday{0, 1, 2, 3, 4, 5, 6}
		}
		for _, d := range days {
			from := int(d)*1440 + r.From
			to := int(d)*1440 + r.To
			if r.To <= r.From {
				to += 1440
			}
			if to > 7*1440 {
				out = append(out, [2]int{from, 7 * 1440}, [2]int{0, to - 7*1440})
			} else {
				out = append(out, [2]int{from, to})
			}
		}
	}
	slices.SortFunc(out, func(a, b [2]int) int { return a[0] - b[0] })
	return out
}

func overlappingRestrictions(rs []Restriction) (int, int, bool) {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := weekIntervals(rs[i:i+1]), weekIntervals(rs[j:j+1])
			for _, x := range a {
				for _, y := range b {
					if x[0] < y[1] && y[0] < x[1] {
						return i, j, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

// boundary is the k-th handoff of l: Start plus k shifts of wall-clock
// time. time.Date normalises the minute overflow as civil arithmetic and
// then resolves the zone, which is what "same local time" means.
func (l *Layer) boundary(k int64, loc *time.Location) time.Time {
	st := l.Start.In(loc)
	mins := int(k * int64(l.Shift/time.Minute))
	return wallClock(st.Year(), st.Month(), st.Day(), st.Hour(), st.Minute()+mins, st.Second(), loc)
}

// wallClock is time.Date with a defined answer for a local time inside a
// spring-forward gap (02:30 on a day that jumps from 02:00 to 03:00): the
// time moves forward by the gap (03:30), as the clocks did.
func wallClock(y int, mo time.Month, d, h, mi, s int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, mi, s, 0, loc)
	civil := time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	lt := t.In(loc)
	got := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), 0, time.UTC)
	if diff := civil.Sub(got); diff > 0 {
		return t.Add(diff)
	}
	return t
}

// index returns k such that boundary(k) <= t < boundary(k+1).
func (l *Layer) index(t time.Time, loc *time.Location) int64 {
	k := int64(t.Sub(l.Start) / l.Shift)
	if t.Before(l.Start) {
		k--
	}
	for l.boundary(k, loc).After(t) {
		k--
	}
	for !l.boundary(k+1, loc).After(t) {
		k++
	}
	return k
}

func mod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}

// allowed reports whether the local time of t is inside a restriction.
func allowed(rs []Restriction, t time.Time) bool {
	if len(rs) == 0 {
		return true
	}
	m := int(t.Weekday())*1440 + t.Hour()*60 + t.Minute()
	for _, r := range rs {
		days := r.Days
		if len(days) == 0 {
			days = []time.Weekday{0, 1, 2, 3, 4, 5, 6}
		}
		for _, d := range days {
			from := int(d)*1440 + r.From
			to := int(d)*1440 + r.To
			if r.To <= r.From {
				to += 1440
			}
			if m >= from && m < to || m+7*1440 >= from && m+7*1440 < to {
				return true
			}
		}
	}
	return false
}

// LayerAt returns who layer i has on call at t.
func (s *Schedule) LayerAt(i int, t time.Time) (string, bool) {
	l := &s.Layers[i]
	if t.Before(l.Start) || (!l.End.IsZero() && !t.Before(l.End)) {
		return "", false
	}
	lt := t.In(s.Location)
	if !allowed(l.Restrictions, lt) {
		return "", false
	}
	k := l.index(t, s.Location)
	return l.Users[mod(k, int64(len(l.Users)))], true
}

// At returns who is on call at t in the final schedule, and whether
// anyone is.
func (s *Schedule) At(t time.Time) (Shift, bool) {
	if o := s.overrideAt(t); o != nil {
		return Shift{User: o.User, Start: o.Start, End: o.End, Layer: -1}, true
	}
	for i := len(s.Layers) - 1; i >= 0; i-- {
		if u, ok := s.LayerAt(i, t); ok {
			return Shift{User: u, Start: t, End: t, Layer: i}, true
		}
	}
	return Shift{}, false
}

func (s *Schedule) overrideAt(t time.Time) *Override {
	os := s.Overrides
	i := sort.Search(len(os), func(i int) bool { return os[i].End.After(t) })
	if i < len(os) && !os[i].Start.After(t) {
		return &os[i]
	}
	return nil
}

// LayerShifts returns layer i's shifts (cut by its restrictions) that
// overlap [start, end), clipped to it.
func (s *Schedule) LayerShifts(i int, start, end time.Time) []Shift {
	l := &s.Layers[i]
	loc := s.Location
	if start.Before(l.Start) {
		start = l.Start
	}
	if !l.End.IsZero() && end.After(l.End) {
		end = l.End
	}
	if !start.Before(end) {
		return nil
	}
	var out []Shift
	for k := l.index(start, loc); ; k++ {
		b0, b1 := l.boundary(k, loc), l.boundary(k+1, loc)
		if !b0.Before(end) {
			break
		}
		lo, hi := maxTime(b0, start), minTime(b1, end)
		user := l.Users[mod(k, int64(len(l.Users)))]
		if len(l.Restrictions) == 0 {
			out = append(out, Shift{User: user, Start: lo, End: hi, Layer: i})
			continue
		}
		for _, iv := range restrictionIntervals(l.Restrictions, lo, hi, loc) {
			out = append(out, Shift{User: user, Start: iv[0], End: iv[1], Layer: i})
		}
	}
	return out
}

// restrictionIntervals returns the instants in [lo, hi) the restrictions
// allow, as sorted, merged intervals.
func restrictionIntervals(rs []Restriction, lo, hi time.Time, loc *time.Location) [][2]time.Time {
	var out [][2]time.Time
	l := lo.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day()-1, 0, 0, 0, 0, loc)
	for ; day.Before(hi); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		for _, r := range rs {
			if len(r.Days) > 0 && !slices.Contains(r.Days, day.Weekday()) {
				continue
			}
			a := wallClock(day.Year(), day.Month(), day.Day(), 0, r.From, 0, loc)
			toDay := day.Day()
			if r.To <= r.From {
				toDay++
			}
			b := wallClock(day.Year(), day.Month(), toDay, 0, r.To, 0, loc)
			a, b = maxTime(a, lo), minTime(b, hi)
			if a.Before(b) {
				out = append(out, [2]time.Time{a, b})
			}
		}
	}
	slices.SortFunc(out, func(x, y [2]time.Time) int { return x[0].Compare(y[0]) })
	merged := out[:0]
	for _, iv := range out {
		if n := len(merged); n > 0 && !iv[0].After(merged[n-1][1]) {
			merged[n-1][1] = maxTime(merged[n-1][1], iv[1])
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

// Shifts returns the final schedule over [start, end): overrides over the
// highest layer with someone on call, adjacent stretches of the same user
// from the same source merged.
func (s *Schedule) Shifts(start, end time.Time) []Shift {
	if !start.Before(end) {
		return nil
	}
	layers := make([][]Shift, len(s.Layers))
	points := []time.Time{start, end}
	for i := range s.Layers {
		layers[i] = s.LayerShifts(i, start, end)
		for _, sh := range layers[i] {
			points = append(points, sh.Start, sh.End)
		}
	}
	var ovs []Override
	for _, o := range s.Overrides {
		if o.Start.Before(end) && o.End.After(start) {
			o.Start, o.End = maxTime(o.Start, start), minTime(o.End, end)
			ovs = append(ovs, o)
			points = append(points, o.Start, o.End)
		}
	}
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	points = slices.CompactFunc(points, func(a, b time.Time) bool { return a.Equal(b) })
	pos := make([]int, len(layers))
	oi := 0
	var out []Shift
	for p := 0; p+1 < len(points); p++ {
		a, b := points[p], points[p+1]
		if a.Before(start) || !a.Before(end) {
			continue
		}
		var cur Shift
		found := false
		for oi < len(ovs) && !ovs[oi].End.After(a) {
			oi++
		}
		if oi < len(ovs) && !ovs[oi].Start.After(a) {
			cur, found = Shift{User: ovs[oi].User, Layer: -1}, true
		}
		for i := len(layers) - 1; i >= 0 && !found; i-- {
			ls := layers[i]
			for pos[i] < len(ls) && !ls[pos[i]].End.After(a) {
				pos[i]++
			}
			if pos[i] < len(ls) && !ls[pos[i]].Start.After(a) {
				cur, found = Shift{User: ls[pos[i]].User, Layer: i}, true
			}
		}
		if !found {
			continue
		}
		cur.Start, cur.End = a, b
		if n := len(out); n > 0 && out[n-1].User == cur.User && out[n-1].Layer == cur.Layer && out[n-1].End.Equal(a) {
			out[n-1].End = b
			continue
		}
		out = append(out, cur)
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
