package auth

import (
	"net/url"
	"strconv"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// parseAuditQuery reads GET /vigil/api/v1/audit's parameters: since and
// until (RFC 3339 or unix seconds), actor, action (a prefix), limit
// (1-1000, default 100) and before (an event ID, to page back).
func parseAuditQuery(v url.Values) (AuditQuery, error) {
	var q AuditQuery
	var err error
	if q.Since, err = parseTime(v.Get("since")); err != nil {
		return q, apierr.New(apierr.Invalid, "since: %v", err)
	}
	if q.Until, err = parseTime(v.Get("until")); err != nil {
		return q, apierr.New(apierr.Invalid, "until: %v", err)
	}
	q.Actor, q.Action = v.Get("actor"), v.Get("action")
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return q, apierr.New(apierr.Invalid, "limit %q: want a number from 1 to 1000", s)
		}
		q.Limit = n
	}
	if s := v.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return q, apierr.New(apierr.Invalid, "before %q: want an event ID", s)
		}
		q.BeforeID = n
	}
	return q, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, &timeError{s}
	}
	return time.UnixMilli(int64(f * 1000)), nil
}

type timeError struct{ s string }

func (e *timeError) Error() string {
	return "invalid time " + strconv.Quote(e.s) + ": want RFC 3339 (2026-01-02T15:04:05Z) or unix seconds"
}
