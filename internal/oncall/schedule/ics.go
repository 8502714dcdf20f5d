package schedule

import (
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// ICS renders shifts as an iCalendar (RFC 5545) document, one VEVENT per
// shift with UTC times, for calendar subscriptions. The UID is stable
// for the same shift (schedule, user, start), so a refreshed subscription
// updates events instead of duplicating them. names maps user names to
// display names (missing: the name itself).
func ICS(schedule string, shifts []Shift, names map[string]string, now time.Time) string {
	cal := ics.NewCalendarFor("Vigil")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName("On call: " + schedule)
	cal.SetXWRCalName("On call: " + schedule)
	cal.SetRefreshInterval("PT1H")
	for _, sh := range shifts {
		who := sh.User
		if n, ok := names[who]; ok && n != "" {
			who = n
		}
		src := fmt.Sprintf("layer %d", sh.Layer+1)
		if sh.Layer < 0 {
			src = "override"
		}
		ev := cal.AddEvent(fmt.Sprintf("%s-%s-%d@vigil", uidPart(schedule), uidPart(sh.User), sh.Start.Unix()))
		ev.SetDtStampTime(now.UTC())
		ev.SetStartAt(sh.Start.UTC())
		ev.SetEndAt(sh.End.UTC())
		ev.SetSummary(fmt.Sprintf("On call: %s (%s)", who, schedule))
		ev.SetDescription(fmt.Sprintf("%s is on call for schedule %s (%s).", who, schedule, src))
	}
	return cal.Serialize()
}

func uidPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
