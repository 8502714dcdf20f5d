package logs

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
)

func badRequest(format string, args ...any) error { return apierr.New(apierr.Invalid, format, args...) }

// parseSelector parses the stream selector of the metadata and index
// endpoints (query, match[]).
func parseSelector(expr string) (*logql.LogExpr, error) {
	le, err := logql.ParseLog(expr)
	if err != nil {
		return nil, apierr.Wrap(apierr.Invalid, err, "invalid stream selector")
	}
	return le, nil
}

// parseLogQuery parses the log query of detected_fields and tail.
func parseLogQuery(expr string) (*logql.LogExpr, error) {
	le, err := logql.ParseLog(expr)
	if err != nil {
		return nil, apierr.Wrap(apierr.Invalid, err, "invalid LogQL query")
	}
	return le, nil
}

// parseTime accepts RFC3339(Nano) or Unix time in seconds (with fraction),
// milliseconds, microseconds or nanoseconds (told apart by magnitude).
func parseTime(param, s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n < 1e11 && n > -1e11:
			return n * 1e9, nil
		case n < 1e14 && n > -1e14:
			return n * 1e6, nil
		case n < 1e17 && n > -1e17:
			return n * 1e3, nil
		}
		return n, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e11 {
		return int64(f * 1e9), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	return 0, badRequest("invalid %s %q: want RFC3339 or a Unix timestamp in seconds or nanoseconds", param, s)
}

func parseStep(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || math.IsNaN(f) || f > 1e9 {
			return 0, badRequest("invalid step %q: want a positive duration", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := logql.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, badRequest("invalid step %q: want a positive duration such as 15s or a number of seconds", s)
	}
	return d, nil
}

// defaultStep is Loki's step when none is given: about 250 points over
// [start, end], at least one second.
func defaultStep(start, end int64) time.Duration {
	return max(time.Duration(math.Ceil(float64(end-start)/250/1e9))*time.Second, time.Second)
}

func parseDirection(s string) (Direction, error) {
	switch strings.ToLower(s) {
	case "", "backward":
		return Backward, nil
	case "forward":
		return Forward, nil
	}
	return 0, badRequest("invalid direction %q: want forward or backward", s)
}

func parseLimit(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badRequest("invalid limit %q: want a non-negative integer", s)
	}
	return n, nil
}

// parseRange reads start/end/since with Loki's defaults: end is now,
// start is end minus since, or minus defaultSpan.
func parseRange(form url.Values, now int64, defaultSpan time.Duration) (int64, int64, error) {
	end, err := parseTime("end", form.Get("end"), now)
	if err != nil {
		return 0, 0, err
	}
	span := defaultSpan
	if v := form.Get("since"); v != "" {
		d, err := logql.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, 0, badRequest("invalid since %q: want a duration such as 1h", v)
		}
		span = d
	}
	start, err := parseTime("start", form.Get("start"), end-int64(span))
	if err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, badRequest("end (%d) is before start (%d)", end, start)
	}
	return start, end, nil
}

// parseInstantQuery reads /loki/api/v1/query.
func parseInstantQuery(form url.Values, now int64) (Query, error) {
	q := Query{Expr: form.Get("query")}
	var err error
	if q.End, err = parseTime("time", form.Get("time"), now); err != nil {
		return q, err
	}
	if q.Limit, err = parseLimit(form.Get("limit"), 100); err != nil {
		return q, err
	}
	if q.Direction, err = parseDirection(form.Get("direction")); err != nil {
		return q, err
	}
	if q.Expr == "" {
		return q, badRequest("query parameter is required")
	}
	return q, nil
}

// parseRangeQuery reads /loki/api/v1/query_range.
func parseRangeQuery(form url.Values, now int64) (Query, error) {
	q := Query{Expr: form.Get("query")}
	var err error
	if q.Start, q.End, err = parseRange(form, now, time.Hour); err != nil {
		return q, err
	}
	if q.Limit, err = parseLimit(form.Get("limit"), 100); err != nil {
		return q, err
	}
	if q.Direction, err = parseDirection(form.Get("direction")); err != nil {
		return q, err
	}
	if q.Step, err = parseStep(form.Get("step")); err != nil {
		return q, err
	}
	if q.Step == 0 {
		q.Step = defaultStep(q.Start, q.End)
	}
	if q.Start == q.End {
		q.End++ // an empty range still holds the instant
	}
	if q.Expr == "" {
		return q, badRequest("query parameter is required")
	}
	return q, nil
}

// parseStreamQuery reads the metadata endpoints' parameters (labels,
// label values, detected_labels): a range (default the last 6 hours) and
// an optional selector in query.
func parseStreamQuery(form url.Values, now int64) (StreamQuery, error) {
	var q StreamQuery
	var err error
	if q.Start, q.End, err = parseRange(form, now, 6*time.Hour); err != nil {
		return q, err
	}
	if v := form.Get("query"); v != "" {
		le, err := parseSelector(v)
		if err != nil {
			return q, err
		}
		q.Matchers = le.Matchers
	}
	return q, nil
}

// seriesQuery is a /loki/api/v1/series request.
type seriesQuery struct {
	selectors  [][]*logql.Matcher
	start, end int64
}

// parseSeriesQuery reads /loki/api/v1/series: match[] (or match)
// selectors over a range (default the last 6 hours).
func parseSeriesQuery(form url.Values, now int64) (seriesQuery, error) {
	var q seriesQuery
	var err error
	if q.start, q.end, err = parseRange(form, now, 6*time.Hour); err != nil {
		return q, err
	}
	matches := form["match[]"]
	if len(matches) == 0 {
		matches = form["match"]
	}
	for _, m := range matches {
		var ms []*logql.Matcher
		if m != "" {
			le, err := parseSelector(m)
			if err != nil {
				return q, err
			}
			ms = le.Matchers
		}
		q.selectors = append(q.selectors, ms)
	}
	return q, nil
}

// parseIndexQuery reads /loki/api/v1/index/stats: a required selector over
// a range (default the last hour).
func parseIndexQuery(form url.Values, now int64) (StreamQuery, error) {
	var q StreamQuery
	var err error
	if q.Start, q.End, err = parseRange(form, now, time.Hour); err != nil {
		return q, err
	}
	le, err := parseSelector(form.Get("query"))
	if err != nil {
		return q, err
	}
	q.Matchers = le.Matchers
	return q, nil
}

// parseVolumeQuery reads index/volume and (isRange) index/volume_range.
func parseVolumeQuery(form url.Values, now int64, isRange bool) (VolumeQuery, error) {
	var q VolumeQuery
	var err error
	if q.StreamQuery, err = parseIndexQuery(form, now); err != nil {
		return q, err
	}
	if q.Limit, err = parseLimit(form.Get("limit"), 100); err != nil {
		return q, err
	}
	if t := form.Get("targetLabels"); t != "" {
		q.TargetLabels = strings.Split(t, ",")
	} else if form.Get("aggregateBy") != "labels" {
		for _, m := range q.Matchers {
			q.TargetLabels = append(q.TargetLabels, m.Name)
		}
	}
	if isRange {
		if q.Step, err = parseStep(form.Get("step")); err != nil {
			return q, err
		}
		if q.Step == 0 {
			q.Step = defaultStep(q.Start, q.End)
		}
	}
	return q, nil
}

// parseDetectedFieldsQuery reads /loki/api/v1/detected_fields.
func parseDetectedFieldsQuery(form url.Values, now int64) (DetectedFieldsQuery, error) {
	var q DetectedFieldsQuery
	var err error
	if q.Start, q.End, err = parseRange(form, now, time.Hour); err != nil {
		return q, err
	}
	if q.Log, err = parseLogQuery(form.Get("query")); err != nil {
		return q, err
	}
	if q.LineLimit, err = parseLimit(form.Get("line_limit"), 1000); err != nil {
		return q, err
	}
	return q, nil
}

// parseTraceQuery reads /vigil/api/v1/logs: trace_id, limit (1000) and an
// optional range (start or end given: default a day).
func parseTraceQuery(form url.Values, now int64) (TraceQuery, error) {
	var q TraceQuery
	var err error
	if q.TraceID, err = parseTraceID(form.Get("trace_id")); err != nil {
		return q, err
	}
	if q.Limit, err = parseLimit(form.Get("limit"), 1000); err != nil {
		return q, err
	}
	if form.Get("start") != "" || form.Get("end") != "" {
		if q.Start, q.End, err = parseRange(form, now, 24*time.Hour); err != nil {
			return q, err
		}
	}
	return q, nil
}

// parseTraceID reads a hexadecimal trace ID, lowercased.
func parseTraceID(s string) (string, error) {
	id := strings.ToLower(strings.TrimSpace(s))
	if id == "" {
		return "", badRequest("trace_id parameter is required")
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", badRequest("invalid trace_id %q: want hexadecimal", id)
		}
	}
	return logql.NormalizeTraceID(id), nil
}

// tailQuery is a /loki/api/v1/tail request.
type tailQuery struct {
	log   *logql.LogExpr
	limit int   // lines sent first
	start int64 // from when
}

// parseTailQuery reads /loki/api/v1/tail: query, limit (100), start (an
// hour ago).
func parseTailQuery(form url.Values, now int64) (tailQuery, error) {
	var q tailQuery
	var err error
	if q.log, err = parseLogQuery(form.Get("query")); err != nil {
		return q, err
	}
	if q.limit, err = parseLimit(form.Get("limit"), 100); err != nil {
		return q, err
	}
	if q.start, err = parseTime("start", form.Get("start"), now-int64(time.Hour)); err != nil {
		return q, err
	}
	return q, nil
}

// parsePatternQuery reads /loki/api/v1/patterns: a log query over a range
// (default the last hour), step (default about 250 points) and line_limit,
// the lines sampled (default 5000).
func parsePatternQuery(form url.Values, now int64) (PatternQuery, error) {
	var q PatternQuery
	var err error
	if q.Log.Start, q.Log.End, err = parseRange(form, now, time.Hour); err != nil {
		return q, err
	}
	if q.Log.Log, err = parseLogQuery(form.Get("query")); err != nil {
		return q, err
	}
	if q.Log.LineLimit, err = parseLimit(form.Get("line_limit"), 5000); err != nil {
		return q, err
	}
	if q.Step, err = parseStep(form.Get("step")); err != nil {
		return q, err
	}
	if q.Step == 0 {
		q.Step = defaultStep(q.Log.Start, q.Log.End)
	}
	return q, nil
}

// parseFormatQuery reads /loki/api/v1/format_query and returns the query
// in Vigil's canonical rendering.
func parseFormatQuery(form url.Values, _ int64) (string, error) {
	q := form.Get("query")
	if q == "" {
		return "", badRequest("query parameter is required")
	}
	e, err := logql.Parse(q)
	if err != nil {
		return "", apierr.Wrap(apierr.Invalid, err, "invalid LogQL query")
	}
	return e.String(), nil
}
