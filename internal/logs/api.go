package logs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/route"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// Routes are the Loki query API and Vigil's log API.
func (s *Store) Routes() []route.Route {
	var rs []route.Route
	for _, q := range []struct {
		path string
		h    http.HandlerFunc
		doc  string
	}{
		{"/loki/api/v1/query", s.serveQuery, "LogQL instant query (Grafana Loki data source: URL http://HOST:9797)"},
		{"/loki/api/v1/query_range", s.serveQueryRange, "LogQL range query"},
		{"/loki/api/v1/labels", s.serveLabels, "log stream label names"},
		{"/loki/api/v1/label/{name}/values", s.serveLabelValues, "log stream label values"},
		{"/loki/api/v1/series", s.serveSeries, "log streams matching selectors"},
		{"/loki/api/v1/index/stats", s.serveIndexStats, "streams, chunks, entries and bytes of a selector"},
		{"/loki/api/v1/index/volume", s.serveIndexVolume, "log volume by label"},
		{"/loki/api/v1/index/volume_range", s.serveIndexVolume, "log volume by label over time"},
		{"/loki/api/v1/detected_fields", s.serveDetectedFields, "fields detected in log lines (Logs Drilldown)"},
		{"/loki/api/v1/detected_labels", s.serveDetectedLabels, "labels detected in streams (Logs Drilldown)"},
	} {
		for _, m := range []string{"GET", "POST"} {
			rs = append(rs, route.Route{Method: m, Pattern: q.path, Scope: route.Read, Handler: q.h, Doc: q.doc, Hidden: m == "POST"})
		}
	}
	return append(rs,
		route.Func("GET", "/loki/api/v1/tail", route.Read, s.serveTail, "live tail over a websocket"),
		route.Func("GET", "/loki/api/v1/status/buildinfo", route.Read, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"version": "3.0.0-vigil", "revision": "", "branch": "", "goVersion": ""})
		}, "Loki build information (for Grafana)"),
		route.Func("GET", "/vigil/api/v1/logs", route.Read, s.serveByTrace, "logs of a trace (?trace_id=)"),
	)
}

// success is Loki's envelope, fields in Loki's order.
type success struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with Loki's plain-text error style.
func writeError(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), apierr.HTTPStatus(err))
}

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

// timeRange reads start/end/since with Loki's defaults (the last hour, or
// `since` before end).
func (s *Store) timeRange(r *http.Request, defaultSpan time.Duration) (int64, int64, error) {
	now := s.now().UnixNano()
	end, err := parseTime("end", r.FormValue("end"), now)
	if err != nil {
		return 0, 0, err
	}
	span := defaultSpan
	if v := r.FormValue("since"); v != "" {
		d, err := logql.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, 0, badRequest("invalid since %q: want a duration such as 1h", v)
		}
		span = d
	}
	start, err := parseTime("start", r.FormValue("start"), end-int64(span))
	if err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, badRequest("end (%d) is before start (%d)", end, start)
	}
	return start, end, nil
}

func (s *Store) serveQuery(w http.ResponseWriter, r *http.Request) {
	q := Query{Expr: r.FormValue("query")}
	var err error
	if q.End, err = parseTime("time", r.FormValue("time"), s.now().UnixNano()); err != nil {
		writeError(w, err)
		return
	}
	if q.Limit, err = parseLimit(r.FormValue("limit"), 100); err != nil {
		writeError(w, err)
		return
	}
	if q.Direction, err = parseDirection(r.FormValue("direction")); err != nil {
		writeError(w, err)
		return
	}
	s.answer(w, r.Context(), q)
}

func (s *Store) serveQueryRange(w http.ResponseWriter, r *http.Request) {
	q := Query{Expr: r.FormValue("query")}
	var err error
	if q.Start, q.End, err = s.timeRange(r, time.Hour); err != nil {
		writeError(w, err)
		return
	}
	if q.Limit, err = parseLimit(r.FormValue("limit"), 100); err != nil {
		writeError(w, err)
		return
	}
	if q.Direction, err = parseDirection(r.FormValue("direction")); err != nil {
		writeError(w, err)
		return
	}
	if q.Step, err = parseStep(r.FormValue("step")); err != nil {
		writeError(w, err)
		return
	}
	if q.Step == 0 {
		q.Step = defaultStep(q.Start, q.End)
	}
	if q.Start == q.End {
		q.End++ // an empty range still holds the instant
	}
	s.answer(w, r.Context(), q)
}

func (s *Store) answer(w http.ResponseWriter, ctx context.Context, q Query) {
	if q.Expr == "" {
		writeError(w, badRequest("query parameter is required"))
		return
	}
	res, err := s.Query(ctx, q)
	if err != nil {
		writeError(w, err)
		return
	}
	writeResult(w, res)
}

func writeResult(w http.ResponseWriter, res *Result) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(encodeResult(res))
}

// encodeResult renders a result as Loki does.
func encodeResult(res *Result) []byte {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"`)
	b.WriteString(res.Kind)
	b.WriteString(`","result":`)
	switch res.Kind {
	case "streams":
		writeStreams(&b, res.Streams)
	case "matrix":
		b.WriteByte('[')
		for i, s := range res.Series {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"metric":`)
			writeLabelsJSON(&b, s.Labels)
			b.WriteString(`,"values":[`)
			for j, p := range s.Samples {
				if j > 0 {
					b.WriteByte(',')
				}
				writePoint(&b, p)
			}
			b.WriteString("]}")
		}
		b.WriteByte(']')
	case "vector":
		b.WriteByte('[')
		for i, s := range res.Series {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"metric":`)
			writeLabelsJSON(&b, s.Labels)
			b.WriteString(`,"value":`)
			writePoint(&b, s.Samples[0])
			b.WriteByte('}')
		}
		b.WriteByte(']')
	case "scalar":
		writePoint(&b, *res.Scalar)
	}
	st := res.Stats
	secs := st.ExecTime.Seconds()
	perSec := func(n int64) int64 {
		if secs <= 0 {
			return 0
		}
		return int64(float64(n) / secs)
	}
	fmt.Fprintf(&b, `,"stats":{"summary":{"bytesProcessedPerSecond":%d,"linesProcessedPerSecond":%d,"totalBytesProcessed":%d,"totalLinesProcessed":%d,"execTime":%g,"queueTime":0,"subqueries":0,"totalEntriesReturned":%d,"splits":0,"shards":0,"totalPostFilterLines":%d,"totalStructuredMetadataBytesProcessed":0}}}}`,
		perSec(st.BytesProcessed), perSec(st.LinesProcessed), st.BytesProcessed, st.LinesProcessed, secs, st.Entries, st.LinesProcessed)
	return []byte(b.String())
}

// writeStreams renders streams as Loki's query results and tail frames
// list them: [{"stream":{...},"values":[["<ns>","<line>"],...]},...].
func writeStreams(b *strings.Builder, streams []LogStream) {
	b.WriteByte('[')
	for i, st := range streams {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"stream":`)
		writeLabelsJSON(b, st.Labels)
		b.WriteString(`,"values":[`)
		for j, e := range st.Entries {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`["`)
			b.WriteString(strconv.FormatInt(e.Timestamp, 10))
			b.WriteString(`",`)
			writeJSONString(b, e.Line)
			b.WriteByte(']')
		}
		b.WriteString("]}")
	}
	b.WriteByte(']')
}

func writePoint(b *strings.Builder, p Sample) {
	b.WriteByte('[')
	b.WriteString(strconv.FormatFloat(float64(p.T)/1000, 'f', -1, 64))
	b.WriteString(`,"`)
	b.WriteString(logql.NumberString(p.V))
	b.WriteString(`"]`)
}

func writeLabelsJSON(b *strings.Builder, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k)
		b.WriteByte(':')
		writeJSONString(b, m[k])
	}
	b.WriteByte('}')
}

// activeStreams returns the streams matching selector (all when "") that
// have records in [start, end].
func (s *Store) activeStreams(ctx context.Context, selector string, start, end int64) ([]*streamInfo, error) {
	var cands []*streamInfo
	if selector != "" {
		le, err := parseSelector(selector)
		if err != nil {
			return nil, err
		}
		cands = s.matchStreams(le.Matchers)
	} else {
		cands = s.streamsSnapshot()
	}
	if len(cands) == 0 {
		return nil, nil
	}
	ids := make([]string, len(cands))
	for i, st := range cands {
		ids[i] = strconv.FormatInt(st.id, 10)
	}
	where := "ts >= ? AND ts <= ?"
	if selector != "" {
		where += " AND stream_id IN (" + strings.Join(ids, ",") + ")"
	}
	var out []*streamInfo
	err := s.db.Query(ctx, telemetrydb.TimeRange{From: start, To: end}, "SELECT DISTINCT stream_id FROM {{logs}} WHERE "+where, []any{start, end}, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if st := s.streamByID(id); st != nil {
				out = append(out, st)
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, err
}

// queryStreams returns the streams of the metadata endpoints: those with
// records in the request's time range (by default the last 6 hours) that
// match its query parameter (all when absent).
func (s *Store) queryStreams(r *http.Request) ([]*streamInfo, error) {
	start, end, err := s.timeRange(r, 6*time.Hour)
	if err != nil {
		return nil, err
	}
	return s.activeStreams(r.Context(), r.FormValue("query"), start, end)
}

func (s *Store) serveLabels(w http.ResponseWriter, r *http.Request) {
	streams, err := s.queryStreams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	set := map[string]bool{}
	for _, st := range streams {
		for _, l := range st.labels {
			set[l.Name] = true
		}
	}
	writeJSON(w, success{Status: "success", Data: sortedKeys(set)})
}

func (s *Store) serveLabelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	streams, err := s.queryStreams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	set := map[string]bool{}
	for _, st := range streams {
		if v, ok := st.lmap[name]; ok {
			set[v] = true
		}
	}
	writeJSON(w, success{Status: "success", Data: sortedKeys(set)})
}

// sortedKeys returns the keys of m in order, an empty (not nil) slice when
// there are none so that JSON shows [].
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Store) serveSeries(w http.ResponseWriter, r *http.Request) {
	start, end, err := s.timeRange(r, 6*time.Hour)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, badRequest("invalid form: %v", err))
		return
	}
	matches := r.Form["match[]"]
	if len(matches) == 0 {
		matches = r.Form["match"]
	}
	seen := map[int64]bool{}
	data := []map[string]string{}
	if len(matches) == 0 {
		matches = []string{""}
	}
	for _, m := range matches {
		streams, err := s.activeStreams(r.Context(), m, start, end)
		if err != nil {
			writeError(w, err)
			return
		}
		for _, st := range streams {
			if !seen[st.id] {
				seen[st.id] = true
				data = append(data, st.lmap)
			}
		}
	}
	writeJSON(w, success{Status: "success", Data: data})
}

// counts returns entries and bytes of the matching streams in [start, end].
func (s *Store) serveIndexStats(w http.ResponseWriter, r *http.Request) {
	start, end, err := s.timeRange(r, time.Hour)
	if err != nil {
		writeError(w, err)
		return
	}
	le, err := parseSelector(r.FormValue("query"))
	if err != nil {
		writeError(w, err)
		return
	}
	out := map[string]int64{"streams": 0, "chunks": 0, "entries": 0, "bytes": 0}
	streams := s.matchStreams(le.Matchers)
	if len(streams) > 0 {
		f := plan(streams, start, end+1, nil)
		err = s.db.Query(r.Context(), telemetrydb.TimeRange{From: start, To: end}, "SELECT count(DISTINCT stream_id), count(*), coalesce(sum(strlen(line)), 0) FROM {{logs}} WHERE "+f.whereSQL(), f.args, func(rows *sql.Rows) error {
			for rows.Next() {
				var st, n, b int64
				if err := rows.Scan(&st, &n, &b); err != nil {
					return err
				}
				out["streams"], out["entries"], out["bytes"] = st, n, b
				out["chunks"] = st
			}
			return nil
		})
		if err != nil {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, out)
}

// serveIndexVolume answers the log-volume endpoints: bytes per label set
// (the selector's label names, or targetLabels), as a vector (volume) or
// a matrix (volume_range).
func (s *Store) serveIndexVolume(w http.ResponseWriter, r *http.Request) {
	start, end, err := s.timeRange(r, time.Hour)
	if err != nil {
		writeError(w, err)
		return
	}
	le, err := parseSelector(r.FormValue("query"))
	if err != nil {
		writeError(w, err)
		return
	}
	limit, err := parseLimit(r.FormValue("limit"), 100)
	if err != nil {
		writeError(w, err)
		return
	}
	var target []string
	if t := r.FormValue("targetLabels"); t != "" {
		target = strings.Split(t, ",")
	} else if r.FormValue("aggregateBy") != "labels" {
		for _, m := range le.Matchers {
			target = append(target, m.Name)
		}
	}
	isRange := strings.HasSuffix(r.URL.Path, "volume_range")
	step := time.Duration(0)
	if isRange {
		if step, err = parseStep(r.FormValue("step")); err != nil {
			writeError(w, err)
			return
		}
		if step == 0 {
			step = defaultStep(start, end)
		}
	}
	streams := s.matchStreams(le.Matchers)
	type agg struct {
		labels map[string]string
		bytes  map[int64]float64
		total  float64
	}
	groups := map[string]*agg{}
	if len(streams) > 0 {
		f := plan(streams, start, end+1, nil)
		bucket := "0"
		if isRange {
			bucket = fmt.Sprintf("(ts - %d) // %d", start, int64(step))
		}
		err = s.db.Query(r.Context(), telemetrydb.TimeRange{From: start, To: end},
			"SELECT stream_id, "+bucket+" AS k, sum(strlen(line)) FROM {{logs}} WHERE "+f.whereSQL()+" GROUP BY ALL", f.args,
			func(rows *sql.Rows) error {
				for rows.Next() {
					var id, k int64
					var b float64
					if err := rows.Scan(&id, &k, &b); err != nil {
						return err
					}
					st := s.streamByID(id)
					if st == nil {
						continue
					}
					gl := map[string]string{}
					if target == nil {
						gl = st.lmap
					}
					for _, t := range target {
						if v, ok := st.lmap[t]; ok {
							gl[t] = v
						}
					}
					key := logql.FormatLabelMap(gl)
					g := groups[key]
					if g == nil {
						g = &agg{labels: gl, bytes: map[int64]float64{}}
						groups[key] = g
					}
					g.bytes[k] += b
					g.total += b
				}
				return nil
			})
		if err != nil {
			writeError(w, err)
			return
		}
	}
	list := make([]*agg, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].total > list[j].total })
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	res := &Result{Kind: "vector"}
	if isRange {
		res.Kind = "matrix"
	}
	for _, g := range list {
		se := Series{Labels: g.labels}
		if isRange {
			ks := make([]int64, 0, len(g.bytes))
			for k := range g.bytes {
				ks = append(ks, k)
			}
			sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
			for _, k := range ks {
				se.Samples = append(se.Samples, Sample{T: (start + k*int64(step)) / 1e6, V: g.bytes[k]})
			}
		} else {
			se.Samples = []Sample{{T: end / 1e6, V: g.total}}
		}
		res.Series = append(res.Series, se)
	}
	writeResult(w, res)
}

// serveDetectedLabels lists the stream labels of the streams with data in
// the range (optionally matching query) with their cardinality, as Grafana
// Logs Drilldown asks for them.
func (s *Store) serveDetectedLabels(w http.ResponseWriter, r *http.Request) {
	streams, err := s.queryStreams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	values := map[string]map[string]bool{}
	for _, st := range streams {
		for _, l := range st.labels {
			if values[l.Name] == nil {
				values[l.Name] = map[string]bool{}
			}
			values[l.Name][l.Value] = true
		}
	}
	type detected struct {
		Label       string `json:"label"`
		Cardinality int    `json:"cardinality"`
	}
	out := []detected{}
	for _, name := range sortedKeys(values) {
		out = append(out, detected{Label: name, Cardinality: len(values[name])})
	}
	writeJSON(w, map[string]any{"detectedLabels": out})
}

// serveDetectedFields lists the fields found by the json/logfmt parsers in
// a sample of recent lines of the query, with their cardinality.
func (s *Store) serveDetectedFields(w http.ResponseWriter, r *http.Request) {
	start, end, err := s.timeRange(r, time.Hour)
	if err != nil {
		writeError(w, err)
		return
	}
	le, err := parseLogQuery(r.FormValue("query"))
	if err != nil {
		writeError(w, err)
		return
	}
	lineLimit, err := parseLimit(r.FormValue("line_limit"), 1000)
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := s.Query(r.Context(), Query{Expr: le.String(), Start: start, End: end + 1, Step: time.Second, Limit: min(lineLimit, s.opts.MaxQueryLines)})
	if err != nil {
		writeError(w, err)
		return
	}
	type field struct {
		values map[string]bool
		parser string
		typ    string
	}
	fields := map[string]*field{}
	lbs := logql.NewLabels()
	jsonP, _ := logql.ParseLog(`{x="y"} | json`)
	logfmtP, _ := logql.ParseLog(`{x="y"} | logfmt`)
	for _, st := range res.Streams {
		for _, e := range st.Entries {
			for _, p := range []struct {
				name string
				pl   *logql.Pipeline
			}{{"json", logql.NewPipeline(jsonP.Stages)}, {"logfmt", logql.NewPipeline(logfmtP.Stages)}} {
				lbs.Reset(nil, nil)
				p.pl.Process(e.Timestamp, e.Line, lbs)
				if _, bad := lbs.Map()[logql.ErrorLabel]; bad {
					continue
				}
				for k, v := range lbs.Map() {
					f := fields[k]
					if f == nil {
						f = &field{values: map[string]bool{}, parser: p.name, typ: "string"}
						fields[k] = f
					}
					if len(f.values) < 1000 {
						f.values[v] = true
					}
					if _, err := strconv.ParseFloat(v, 64); err == nil && f.typ == "string" && len(f.values) == 1 {
						f.typ = "float"
					}
				}
			}
		}
	}
	out := []map[string]any{}
	for _, k := range sortedKeys(fields) {
		f := fields[k]
		out = append(out, map[string]any{"label": k, "type": f.typ, "cardinality": len(f.values), "parsers": []string{f.parser}})
	}
	writeJSON(w, map[string]any{"fields": out, "limit": lineLimit})
}

// serveByTrace answers /vigil/api/v1/logs?trace_id=...: every record of a
// trace, oldest first, with its stream labels and metadata.
func (s *Store) serveByTrace(w http.ResponseWriter, r *http.Request) {
	traceID := strings.ToLower(strings.TrimSpace(r.FormValue("trace_id")))
	if traceID == "" {
		writeError(w, badRequest("trace_id parameter is required"))
		return
	}
	for _, c := range traceID {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			writeError(w, badRequest("invalid trace_id %q: want hexadecimal", traceID))
			return
		}
	}
	limit, err := parseLimit(r.FormValue("limit"), 1000)
	if err != nil {
		writeError(w, err)
		return
	}
	limit = min(limit, s.opts.MaxQueryLines)
	var tr telemetrydb.TimeRange
	where := "trace_id = ?"
	args := []any{traceID}
	if r.FormValue("start") != "" || r.FormValue("end") != "" {
		start, end, err := s.timeRange(r, 24*time.Hour)
		if err != nil {
			writeError(w, err)
			return
		}
		tr = telemetrydb.TimeRange{From: start, To: end}
		where += " AND ts >= ? AND ts <= ?"
		args = append(args, start, end)
	}
	type rec struct {
		Timestamp string            `json:"timestamp"`
		Labels    map[string]string `json:"labels"`
		Metadata  map[string]string `json:"metadata"`
		Level     string            `json:"level"`
		Line      string            `json:"line"`
		TraceID   string            `json:"trace_id"`
		SpanID    string            `json:"span_id,omitempty"`
	}
	out := []rec{}
	var rw row
	err = s.db.Query(r.Context(), tr, "SELECT "+rowColumns+" FROM {{logs}} WHERE "+where+" ORDER BY ts LIMIT "+strconv.Itoa(limit), args, func(rows *sql.Rows) error {
		for rows.Next() {
			if err := rw.scan(rows); err != nil {
				return err
			}
			st := s.streamByID(rw.streamID)
			x := rec{Timestamp: strconv.FormatInt(rw.ts, 10), Level: rw.level, Line: rw.line, TraceID: rw.traceID.String, SpanID: rw.spanID.String, Metadata: map[string]string{}, Labels: map[string]string{}}
			if st != nil {
				x.Labels = st.lmap
			}
			decodeMetadata(rw.metadata.String, x.Metadata)
			rw.otlpMetadata(x.Metadata)
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, success{Status: "success", Data: out})
}
