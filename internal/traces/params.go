package traces

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Defaults of the Jaeger query API, as Jaeger's.
const (
	defaultSearchLimit        = 100
	maxSearchLimit            = 1000
	defaultSearchLookback     = 48 * time.Hour
	defaultDependencyLookback = 24 * time.Hour
)

// parseTraceID reads a Jaeger trace ID: 1 to 32 hex digits (Jaeger prints
// 64-bit IDs as 16 digits), left-padded with zeros.
func parseTraceID(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	if len(s) == 0 || len(s) > 32 {
		return id, fmt.Errorf("invalid trace ID %q: want 16 or 32 hex digits", s)
	}
	padded := strings.Repeat("0", 32-len(s)) + s
	if _, err := hex.Decode(id[:], []byte(padded)); err != nil {
		return id, fmt.Errorf("invalid trace ID %q: want 16 or 32 hex digits", s)
	}
	return id, nil
}

// parseDuration reads minDuration/maxDuration: a Go duration such as
// 100ms, 1.5s or 2m, not negative.
func parseDuration(name, s string) (int64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: want a duration with a unit, such as 100ms, 1.5s or 2m", name, s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid %s %q: must not be negative", name, s)
	}
	return int64(d), nil
}

// parseMicros reads an epoch time in microseconds.
func parseMicros(name, s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > 1<<62/1000 {
		return 0, fmt.Errorf("invalid %s %q: want Unix epoch microseconds, e.g. %d", name, s, time.Now().UnixMicro())
	}
	return v * 1000, nil
}

// parseTags reads the tags parameter, a JSON object of string values
// ({"http.status_code":"500","error":"true"}), and Jaeger's older
// tag=key:value form. Non-string JSON values are compared as text.
func parseTags(q url.Values) (map[string]string, error) {
	tags := map[string]string{}
	for _, raw := range q["tags"] {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf(`invalid tags %q: want a JSON object such as {"http.status_code":"500"}`, raw)
		}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				tags[k] = x
			case bool:
				tags[k] = strconv.FormatBool(x)
			case float64:
				tags[k] = strconv.FormatFloat(x, 'f', -1, 64)
			default:
				return nil, fmt.Errorf("invalid tags %q: the value of %q must be a string, number or boolean", raw, k)
			}
		}
	}
	for _, kv := range q["tag"] {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid tag %q: want key:value", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

// searchRequest is a parsed /api/traces request.
type searchRequest struct {
	query    TraceQuery
	traceIDs []pcommon.TraceID
}

// parseSearch reads the query parameters of GET /api/traces.
func parseSearch(q url.Values, now time.Time) (searchRequest, error) {
	var r searchRequest
	for _, s := range q["traceID"] {
		id, err := parseTraceID(s)
		if err != nil {
			return r, err
		}
		r.traceIDs = append(r.traceIDs, id)
	}
	tq := &r.query
	tq.Service = q.Get("service")
	tq.Operation = q.Get("operation")
	if tq.Service == "" && len(r.traceIDs) == 0 {
		return r, fmt.Errorf("parameter 'service' is required")
	}
	end := now.UnixNano()
	if s := q.Get("end"); s != "" {
		v, err := parseMicros("end", s)
		if err != nil {
			return r, err
		}
		end = v
	}
	lookback := defaultSearchLookback
	if s := q.Get("lookback"); s != "" && s != "custom" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("invalid lookback %q: want a positive duration such as 1h", s)
		}
		lookback = d
	}
	start := end - int64(lookback)
	if s := q.Get("start"); s != "" {
		v, err := parseMicros("start", s)
		if err != nil {
			return r, err
		}
		start = v
	}
	if start > end {
		return r, fmt.Errorf("start (%d µs) is after end (%d µs)", start/1000, end/1000)
	}
	tq.StartMin, tq.StartMax = max(start, 0), end
	tq.Limit = defaultSearchLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return r, fmt.Errorf("invalid limit %q: want a whole number of traces, 0 for the default (%d)", s, defaultSearchLimit)
		}
		if n > 0 {
			tq.Limit = min(n, maxSearchLimit)
		}
	}
	if s := q.Get("minDuration"); s != "" {
		d, err := parseDuration("minDuration", s)
		if err != nil {
			return r, err
		}
		tq.DurationMin = d
	}
	if s := q.Get("maxDuration"); s != "" {
		d, err := parseDuration("maxDuration", s)
		if err != nil {
			return r, err
		}
		tq.DurationMax = d
	}
	if tq.DurationMax > 0 && tq.DurationMin > tq.DurationMax {
		return r, fmt.Errorf("minDuration %s is greater than maxDuration %s", q.Get("minDuration"), q.Get("maxDuration"))
	}
	tags, err := parseTags(q)
	if err != nil {
		return r, err
	}
	tq.Tags = tags
	return r, nil
}

// parseDependencies reads endTs and lookback (both milliseconds).
func parseDependencies(q url.Values, now time.Time) (time.Time, time.Duration, error) {
	end := now
	if s := q.Get("endTs"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 || v > 1<<62/1_000_000 {
			return end, 0, fmt.Errorf("invalid endTs %q: want Unix epoch milliseconds", s)
		}
		end = time.UnixMilli(v)
	}
	lookback := defaultDependencyLookback
	if s := q.Get("lookback"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v > 1<<62/1_000_000 {
			return end, 0, fmt.Errorf("invalid lookback %q: want a positive number of milliseconds", s)
		}
		lookback = time.Duration(v) * time.Millisecond
	}
	return end, lookback, nil
}

// parseSpanKind checks the spanKind parameter of /api/operations.
func parseSpanKind(s string) (string, error) {
	switch s {
	case "", "server", "client", "producer", "consumer", "internal":
		return s, nil
	}
	return "", fmt.Errorf("invalid spanKind %q: want server, client, producer, consumer or internal", s)
}
