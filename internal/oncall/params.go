package oncall

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/apierr"
)

// parseTimeParam parses an API time: RFC 3339 or unix seconds (with a
// fraction), as the Prometheus API accepts. Empty gives def.
func parseTimeParam(name, s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && f > -1e11 && f < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, apierr.New(apierr.Invalid, "invalid %s %q: want RFC 3339 (2026-01-05T09:00:00Z) or unix seconds", name, s)
}

// parseRange parses start and end with defaults, checking end > start
// and a span of at most max.
func parseRange(q url.Values, defStart, defEnd time.Time, maxSpan time.Duration) (time.Time, time.Time, error) {
	start, err := parseTimeParam("start", q.Get("start"), defStart)
	if err != nil {
		return start, start, err
	}
	end, err := parseTimeParam("end", q.Get("end"), defEnd)
	if err != nil {
		return start, end, err
	}
	if !end.After(start) {
		return start, end, apierr.New(apierr.Invalid, "end %s is not after start %s", end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	if end.Sub(start) > maxSpan {
		return start, end, apierr.New(apierr.Invalid, "range %s is longer than the maximum %s", end.Sub(start), model.Duration(maxSpan))
	}
	return start, end, nil
}

func parseDurationParam(name, s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		if td, err2 := time.ParseDuration(s); err2 == nil {
			return td, nil
		}
		return 0, apierr.New(apierr.Invalid, "invalid %s %q: want a duration such as 30m or 4h", name, s)
	}
	return time.Duration(d), nil
}

func parseStates(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		switch p = strings.TrimSpace(p); p {
		case Triggered, Acknowledged, Resolved:
			out = append(out, p)
		case "open":
			out = append(out, Triggered, Acknowledged)
		default:
			return nil, apierr.New(apierr.Invalid, "invalid state %q: want triggered, acknowledged, resolved or open (a comma-separated list)", p)
		}
	}
	return out, nil
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, apierr.New(apierr.Invalid, "invalid incident id %q: want a positive integer", s)
	}
	return id, nil
}
