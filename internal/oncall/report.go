package oncall

import (
	"context"
	"sort"
	"time"
)

// Report summarises incidents opened and pages sent in a time range.
type Report struct {
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Incidents    int       `json:"incidents"`
	Acknowledged int       `json:"acknowledged"`
	Resolved     int       `json:"resolved"`
	Open         int       `json:"open"`
	// MTTA and MTTR are mean seconds to first acknowledgement and to
	// resolution over the incidents that reached those states.
	MTTASeconds float64         `json:"mtta_seconds"`
	MTTRSeconds float64         `json:"mttr_seconds"`
	ByTeam      map[string]int  `json:"incidents_by_team"`
	Pages       []PersonalPages `json:"pages"`
}

// PersonalPages counts one user's notifications; out of hours are those
// sent outside 08:00-18:00 Monday to Friday in the user's time zone
// (PagerDuty's "off-hour interruptions").
type PersonalPages struct {
	User       string `json:"user"`
	Pages      int    `json:"pages"`
	OutOfHours int    `json:"out_of_hours"`
}

// Report computes the report for [start, end).
func (o *OnCall) Report(ctx context.Context, start, end time.Time) (*Report, error) {
	r := &Report{Start: start.UTC(), End: end.UTC(), ByTeam: map[string]int{}, Pages: []PersonalPages{}}
	rows, err := o.db.QueryContext(ctx, `SELECT team, state, created_at, acked_at, resolved_at FROM oncall_incidents WHERE created_at >= ? AND created_at < ?`, ms(start), ms(end))
	if err != nil {
		return nil, err
	}
	var ttaSum, ttrSum float64
	var nA, nR int
	for rows.Next() {
		var team, state string
		var c, a, res int64
		if err := rows.Scan(&team, &state, &c, &a, &res); err != nil {
			rows.Close()
			return nil, err
		}
		r.Incidents++
		r.ByTeam[team]++
		if a > 0 {
			nA++
			ttaSum += float64(a-c) / 1000
		}
		if res > 0 {
			nR++
			ttrSum += float64(res-c) / 1000
		}
		switch state {
		case Acknowledged:
			r.Acknowledged++
		case Resolved:
			r.Resolved++
		default:
			r.Open++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if nA > 0 {
		r.MTTASeconds = ttaSum / float64(nA)
	}
	if nR > 0 {
		r.MTTRSeconds = ttrSum / float64(nR)
	}
	prow, err := o.db.QueryContext(ctx, `SELECT user, ts FROM oncall_timeline WHERE kind = 'notify' AND ts >= ? AND ts < ?`, ms(start), ms(end))
	if err != nil {
		return nil, err
	}
	defer prow.Close()
	cat := o.catalog()
	per := map[string]*PersonalPages{}
	for prow.Next() {
		var user string
		var ts int64
		if err := prow.Scan(&user, &ts); err != nil {
			return nil, err
		}
		p := per[user]
		if p == nil {
			p = &PersonalPages{User: user}
			per[user] = p
		}
		p.Pages++
		loc := time.UTC
		if u := cat.users[user]; u != nil && u.TimeZone != "" {
			if l, err := time.LoadLocation(u.TimeZone); err == nil {
				loc = l
			}
		}
		if outOfHours(fromMS(ts).In(loc)) {
			p.OutOfHours++
		}
	}
	if err := prow.Err(); err != nil {
		return nil, err
	}
	for _, p := range per {
		r.Pages = append(r.Pages, *p)
	}
	sort.Slice(r.Pages, func(i, j int) bool { return r.Pages[i].User < r.Pages[j].User })
	return r, nil
}

func outOfHours(t time.Time) bool {
	if t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		return true
	}
	return t.Hour() < 8 || t.Hour() >= 18
}
