package logs

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// Direction orders log query results.
type Direction int

// Directions.
const (
	Backward Direction = iota // newest first (Loki's default)
	Forward
)

// LogStream is one stream of a log query result.
type LogStream struct {
	Labels  map[string]string
	Entries []LogEntry
}

// LogEntry is one result line.
type LogEntry struct {
	Timestamp int64
	Line      string
}

// Sample is one point of a metric result (Timestamp in ms).
type Sample struct {
	T int64
	V float64
}

// Series is one metric result series.
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// Result is a query's answer: exactly one of Streams, Series or Scalar.
type Result struct {
	Kind    string // "streams", "matrix", "vector", "scalar"
	Streams []LogStream
	Series  []Series
	Scalar  *Sample
	Stats   QueryStats
}

// QueryStats summarise the work of a query.
type QueryStats struct {
	LinesProcessed int64
	BytesProcessed int64
	ExecTime       time.Duration
	Entries        int
}

// Query is a LogQL request. Times are Unix ns; a zero Step means an instant
// query at End.
type Query struct {
	Expr      string
	Start     int64
	End       int64
	Step      time.Duration
	Limit     int
	Direction Direction
}

// Query evaluates a LogQL query.
func (s *Store) Query(ctx context.Context, q Query) (*Result, error) {
	e, err := logql.Parse(q.Expr)
	if err != nil {
		s.m.queries.WithLabelValues("invalid", "invalid").Inc()
		return nil, apierr.Wrap(apierr.Invalid, err, "invalid LogQL query")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	start := time.Now()
	ev := &evaluator{s: s, q: q}
	var res *Result
	kind := "metric"
	if le, ok := e.(*logql.LogExpr); ok {
		kind = "log"
		res, err = ev.logQuery(ctx, le)
	} else {
		res, err = ev.metricQuery(ctx, e.(logql.SampleExpr))
	}
	s.m.querySeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.queries.WithLabelValues(kind, "error").Inc()
		if ctx.Err() == context.DeadlineExceeded {
			return nil, apierr.Wrap(apierr.Timeout, err, "query ran past the timeout of %s", s.opts.QueryTimeout)
		}
		return nil, err
	}
	s.m.queries.WithLabelValues(kind, "ok").Inc()
	res.Stats = ev.stats
	res.Stats.ExecTime = time.Since(start)
	return res, nil
}

type evaluator struct {
	s     *Store
	q     Query
	stats QueryStats
}

// matchStreams resolves a selector against the in-memory stream index.
func (s *Store) matchStreams(ms []*logql.Matcher) []*streamInfo {
	var out []*streamInfo
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, st := range s.streams {
		if matchesAll(ms, st.lmap) {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// matchesAll reports whether the stream labels lmap satisfy every matcher.
func matchesAll(ms []*logql.Matcher, lmap map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(lmap[m.Name]) {
			return false
		}
	}
	return true
}

// sqlFilter is the WHERE clause pushed down to DuckDB.
type sqlFilter struct {
	where []string
	args  []any
	// rest are the stages left for Go, starting at the first stage that
	// could not be pushed down.
	rest []logql.Stage
}

func (f *sqlFilter) add(cond string, args ...any) {
	f.where = append(f.where, cond)
	f.args = append(f.args, args...)
}

// plan pushes the stream IDs, the time range and the leading line filters
// (and filters on trace_id, span_id, detected_level) into SQL.
func plan(streams []*streamInfo, from, to int64, stages []logql.Stage) *sqlFilter {
	f := &sqlFilter{}
	f.add("ts >= ?", from)
	f.add("ts < ?", to)
	ids := make([]string, len(streams))
	for i, st := range streams {
		ids[i] = strconv.FormatInt(st.id, 10)
	}
	f.where = append(f.where, "stream_id IN ("+strings.Join(ids, ",")+")")
	i := 0
loop:
	for ; i < len(stages); i++ {
		switch st := stages[i].(type) {
		case *logql.LineFilter:
			if st.IP || st.Op == logql.LinePattern || st.Op == logql.LineNotPattern {
				break loop
			}
			var alts []string
			var args []any
			for _, v := range st.Values {
				switch st.Op {
				case logql.LineContains, logql.LineNotContains:
					if v == "" {
						alts = append(alts, "true")
						continue
					}
					alts = append(alts, "contains(line, ?)")
				default:
					alts = append(alts, "regexp_matches(line, ?)")
				}
				args = append(args, v)
			}
			cond := "(" + strings.Join(alts, " OR ") + ")"
			if st.Op.Negative() {
				cond = "NOT " + cond
			}
			f.add(cond, args...)
		case *logql.LabelFilterStage:
			// Equality on the columns kept outside the metadata.
			sf, ok := st.Filter.(*logql.StringLabelFilter)
			if !ok || sf.Type != logql.MatchEqual {
				break loop
			}
			col := map[string]string{"trace_id": "trace_id", "span_id": "span_id", "detected_level": "level"}[sf.Name]
			if col == "" {
				break loop
			}
			switch {
			case col == "level":
				code := levelCode(sf.Value)
				if levelName(code) != sf.Value {
					f.add("false") // not a level any record has
				} else {
					f.add("level = ?", int64(code))
				}
			case sf.Value == "":
				f.add(col + " IS NULL")
			default:
				f.add(col+" = ?", sf.Value)
			}
		case *logql.DropKeep:
			// "| drop __error__, __error_details__" before any parser is a no-op.
			for _, it := range st.Items {
				if it.Name != logql.ErrorLabel && it.Name != logql.ErrorDetailsLabel || st.Keep {
					break loop
				}
			}
		default:
			break loop
		}
	}
	// Stages pushed down are also re-run in Go only when needed for exact
	// semantics: contains/regexp in DuckDB match Go's for the RE2 syntax
	// LogQL uses, so they are not repeated.
	f.rest = stages[i:]
	return f
}

func (f *sqlFilter) whereSQL() string { return strings.Join(f.where, " AND ") }

// row is one record read for the Go part of a pipeline.
type row struct {
	ts       int64
	streamID int64
	level    string
	code     uint8
	line     string
	metadata sql.NullString
	traceID  sql.NullString
	spanID   sql.NullString
	observed sql.NullInt64
	sevText  sql.NullString
	sevNum   sql.NullInt64
	flags    sql.NullInt64
}

// otlpMetadata adds the OTLP record fields kept in their own columns as
// structured metadata, named as Loki's OTLP ingestion names them.
func (r *row) otlpMetadata(md map[string]string) {
	if r.observed.Valid {
		md["observed_timestamp"] = strconv.FormatInt(r.observed.Int64, 10)
	}
	if r.sevText.Valid {
		md["severity_text"] = r.sevText.String
	}
	if r.sevNum.Valid {
		md["severity_number"] = strconv.FormatInt(r.sevNum.Int64, 10)
	}
	if r.flags.Valid && r.flags.Int64 != 0 {
		md["flags"] = strconv.FormatInt(r.flags.Int64, 10)
	}
}

const rowColumns = "ts, stream_id, level, line, metadata, trace_id, span_id, observed_ts, severity_text, severity_number, flags"

func (r *row) scan(rows *sql.Rows) error {
	if err := rows.Scan(&r.ts, &r.streamID, &r.code, &r.line, &r.metadata, &r.traceID, &r.spanID, &r.observed, &r.sevText, &r.sevNum, &r.flags); err != nil {
		return err
	}
	r.level = levelName(r.code)
	return nil
}

// baseLabels fills lbs with the stream labels and the structured metadata of r.
func (ev *evaluator) baseLabels(lbs *logql.Labels, st *streamInfo, r *row, md map[string]string) {
	clear(md)
	decodeMetadata(r.metadata.String, md)
	if r.traceID.Valid {
		md["trace_id"] = r.traceID.String
	}
	if r.spanID.Valid {
		md["span_id"] = r.spanID.String
	}
	r.otlpMetadata(md)
	md["detected_level"] = r.level
	lbs.Reset(st.lmap, md)
}

// lineScan runs the Go part of a pipeline over the rows a query reads.
type lineScan struct {
	ev   *evaluator
	pipe *logql.Pipeline
	lbs  *logql.Labels     // the labels of the line passed to fn
	md   map[string]string // its structured metadata
	r    row
}

func (ev *evaluator) newLineScan(stages []logql.Stage) *lineScan {
	return &lineScan{ev: ev, pipe: logql.NewPipeline(stages), lbs: logql.NewLabels(), md: map[string]string{}}
}

// run reads the rows of sqlText, which selects rowColumns, counting each in
// the query's stats, and calls fn with every line the pipeline keeps, while
// sc.lbs and sc.md hold its labels and metadata. fn returns false to stop
// reading.
func (sc *lineScan) run(ctx context.Context, tr telemetrydb.TimeRange, sqlText string, args []any, fn func(r *row, st *streamInfo, line string) (bool, error)) error {
	ev, r := sc.ev, &sc.r
	return ev.s.db.Query(ctx, tr, sqlText, args, func(rows *sql.Rows) error {
		for rows.Next() {
			if err := r.scan(rows); err != nil {
				return err
			}
			ev.stats.LinesProcessed++
			ev.stats.BytesProcessed += int64(len(r.line))
			st := ev.s.streamByID(r.streamID)
			if st == nil {
				continue
			}
			ev.baseLabels(sc.lbs, st, r, sc.md)
			line, ok := sc.pipe.Process(r.ts, r.line, sc.lbs)
			if !ok {
				continue
			}
			if more, err := fn(r, st, line); err != nil || !more {
				return err // closing the rows stops the scan
			}
		}
		return nil
	})
}

// streamSet gathers the lines of a log query or a tail batch into one
// stream per label set. The zero value is empty and ready to use.
type streamSet struct {
	byKey map[string]*LogStream
	keys  []string // in the order of each stream's first line
}

// add appends a line to the stream of the labels in lbs.
func (ss *streamSet) add(lbs *logql.Labels, ts int64, line string) {
	key := lbs.Key()
	ls := ss.byKey[key]
	if ls == nil {
		m := make(map[string]string, len(lbs.Map()))
		for k, v := range lbs.Map() {
			m[k] = v
		}
		ls = &LogStream{Labels: m}
		if ss.byKey == nil {
			ss.byKey = map[string]*LogStream{}
		}
		ss.byKey[key] = ls
		ss.keys = append(ss.keys, key)
	}
	ls.Entries = append(ls.Entries, LogEntry{Timestamp: ts, Line: line})
}

func (ss *streamSet) len() int { return len(ss.keys) }

// list returns the streams in the order of their first lines (nil when
// there are none).
func (ss *streamSet) list() []LogStream {
	if len(ss.keys) == 0 {
		return nil
	}
	out := make([]LogStream, 0, len(ss.keys))
	for _, k := range ss.keys {
		out = append(out, *ss.byKey[k])
	}
	return out
}

// sorted returns the streams ordered by label set.
func (ss *streamSet) sorted() []LogStream {
	sort.Strings(ss.keys)
	return ss.list()
}

func (ev *evaluator) logQuery(ctx context.Context, le *logql.LogExpr) (*Result, error) {
	q := ev.q
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > ev.s.opts.MaxQueryLines {
		return nil, apierr.New(apierr.Invalid, "limit %d is over the maximum of %d lines", limit, ev.s.opts.MaxQueryLines)
	}
	from, to := q.Start, q.End
	if q.Step == 0 && from == 0 {
		from = to - int64(time.Hour)
	}
	res := &Result{Kind: "streams"}
	streams := ev.s.matchStreams(le.Matchers)
	if len(streams) == 0 {
		return res, nil
	}
	f := plan(streams, from, to, le.Stages)
	order := "DESC"
	if q.Direction == Forward {
		order = "ASC"
	}
	sc := ev.newLineScan(f.rest)
	var found streamSet
	n := 0
	// Scan time windows from the end the direction starts at, growing 4x
	// each time, until limit lines are found: a filter that matches often
	// is answered from the newest data without reading the whole range.
	width := max((to-from)/64, int64(time.Minute))
	lo, hi := from, to
	for n < limit && lo < hi {
		wFrom, wTo := max(lo, hi-width), hi
		if q.Direction == Forward {
			wFrom, wTo = lo, min(hi, lo+width)
		}
		args := append([]any{wFrom, wTo}, f.args[2:]...)
		sqlText := "SELECT " + rowColumns + " FROM {{logs}} WHERE " + f.whereSQL() + " ORDER BY ts " + order
		if len(f.rest) == 0 {
			sqlText += " LIMIT " + strconv.Itoa(limit-n)
		}
		err := sc.run(ctx, telemetrydb.TimeRange{From: wFrom, To: wTo}, sqlText, args, func(r *row, _ *streamInfo, line string) (bool, error) {
			found.add(sc.lbs, r.ts, line)
			n++
			return n < limit, nil
		})
		if err != nil {
			return nil, err
		}
		if q.Direction == Forward {
			lo = wTo
		} else {
			hi = wFrom
		}
		width *= 4
	}
	res.Streams = found.sorted()
	res.Stats.Entries = n
	ev.stats.Entries = n
	return res, nil
}

// ---- metric queries ----

// steps returns the evaluation times (Unix ns).
func (ev *evaluator) steps() []int64 {
	q := ev.q
	if q.Step <= 0 {
		return []int64{q.End}
	}
	var out []int64
	for t := q.Start; t <= q.End; t += int64(q.Step) {
		out = append(out, t)
	}
	return out
}

// vec is a set of series evaluated at every step.
type vec struct {
	scalar bool
	sc     []float64 // scalar value per step
	series []*sseries
}

type sseries struct {
	labels map[string]string
	vals   []float64
	ok     []bool
}

func newSeries(labels map[string]string, n int) *sseries {
	return &sseries{labels: labels, vals: make([]float64, n), ok: make([]bool, n)}
}

func (ev *evaluator) metricQuery(ctx context.Context, e logql.SampleExpr) (*Result, error) {
	steps := ev.steps()
	if len(steps) > 11000 {
		return nil, apierr.New(apierr.Invalid, "query would return %d points per series, over the maximum of 11000: raise step", len(steps))
	}
	v, err := ev.eval(ctx, e, steps)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	if v.scalar {
		if ev.q.Step == 0 {
			res.Kind = "scalar"
			res.Scalar = &Sample{T: steps[0] / 1e6, V: v.sc[0]}
			return res, nil
		}
		s := Series{Labels: map[string]string{}}
		for i, t := range steps {
			s.Samples = append(s.Samples, Sample{T: t / 1e6, V: v.sc[i]})
		}
		res.Kind = "matrix"
		res.Series = []Series{s}
		return res, nil
	}
	res.Kind = "matrix"
	if ev.q.Step == 0 {
		res.Kind = "vector"
	}
	for _, s := range v.series {
		out := Series{Labels: s.labels}
		for i, t := range steps {
			if s.ok[i] {
				out.Samples = append(out.Samples, Sample{T: t / 1e6, V: s.vals[i]})
			}
		}
		if len(out.Samples) > 0 {
			res.Series = append(res.Series, out)
		}
	}
	sort.SliceStable(res.Series, func(i, j int) bool {
		// Without the braces, so the empty label set sorts first.
		a, b := logql.FormatLabelMap(res.Series[i].Labels), logql.FormatLabelMap(res.Series[j].Labels)
		return a[1:len(a)-1] < b[1:len(b)-1]
	})
	if _, ok := e.(*logql.VectorAggr); ok && ev.q.Step == 0 {
		if va := e.(*logql.VectorAggr); va.Op == "sort" || va.Op == "sort_desc" || va.Op == "topk" || va.Op == "bottomk" {
			desc := va.Op == "sort_desc" || va.Op == "topk"
			sort.SliceStable(res.Series, func(i, j int) bool {
				if desc {
					return res.Series[i].Samples[0].V > res.Series[j].Samples[0].V
				}
				return res.Series[i].Samples[0].V < res.Series[j].Samples[0].V
			})
		}
	}
	return res, nil
}

func (ev *evaluator) eval(ctx context.Context, e logql.SampleExpr, steps []int64) (*vec, error) {
	switch e := e.(type) {
	case *logql.NumberLiteral:
		v := &vec{scalar: true, sc: make([]float64, len(steps))}
		for i := range v.sc {
			v.sc[i] = e.Val
		}
		return v, nil
	case *logql.VectorLiteral:
		s := newSeries(map[string]string{}, len(steps))
		for i := range steps {
			s.vals[i], s.ok[i] = e.Val, true
		}
		return &vec{series: []*sseries{s}}, nil
	case *logql.RangeAggr:
		return ev.rangeAggr(ctx, e, steps)
	case *logql.VectorAggr:
		if ra, ok := e.Expr.(*logql.RangeAggr); ok && e.Op == "sum" && ra.Grouping == nil && sumPushable[ra.Op] {
			// sum by (x) (count_over_time(...)) equals counting with the
			// samples of each group pooled: group early so a parser stage
			// does not create a series per distinct line.
			cp := *ra
			cp.Grouping = e.Grouping
			if cp.Grouping == nil {
				cp.Grouping = &logql.Grouping{}
			}
			inner, err := ev.rangeAggr(ctx, &cp, steps)
			if err != nil {
				return nil, err
			}
			return vectorAggr(e, inner, len(steps)), nil
		}
		inner, err := ev.eval(ctx, e.Expr, steps)
		if err != nil {
			return nil, err
		}
		return vectorAggr(e, inner, len(steps)), nil
	case *logql.BinaryExpr:
		l, err := ev.eval(ctx, e.LHS, steps)
		if err != nil {
			return nil, err
		}
		r, err := ev.eval(ctx, e.RHS, steps)
		if err != nil {
			return nil, err
		}
		return binary(e, l, r, len(steps))
	case *logql.LabelReplace:
		inner, err := ev.eval(ctx, e.Expr, steps)
		if err != nil {
			return nil, err
		}
		return labelReplace(e, inner), nil
	}
	return nil, apierr.New(apierr.Invalid, "unsupported expression %s", e.String())
}

// checkSeries fails a metric query that has grown to n series, more than
// the configured maximum.
func (ev *evaluator) checkSeries(n int) error {
	if n > ev.s.opts.MaxQuerySeries {
		return apierr.New(apierr.Limit, "query selects more than %d series; narrow the selector or aggregate", ev.s.opts.MaxQuerySeries)
	}
	return nil
}

// maxQuerySamples bounds the samples a metric query that runs its pipeline
// in Go holds at once (16 bytes each).
const maxQuerySamples = 20_000_000

// sumPushable are the range functions whose sum over series equals the
// function over the pooled samples.
var sumPushable = map[string]bool{"count_over_time": true, "rate": true, "bytes_over_time": true, "bytes_rate": true, "sum_over_time": true}

// sqlRangeOps can be computed from per-bucket counts and byte sums.
var sqlRangeOps = map[string]bool{"count_over_time": true, "rate": true, "bytes_over_time": true, "bytes_rate": true, "absent_over_time": true}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (ev *evaluator) rangeAggr(ctx context.Context, e *logql.RangeAggr, steps []int64) (*vec, error) {
	rng := int64(e.Range)
	off := int64(e.Offset)
	first, last := steps[0]-off, steps[len(steps)-1]-off
	from, to := first-rng, last // window (t-range, t]
	streams := ev.s.matchStreams(e.Log.Matchers)
	f := plan(streams, from+1, to+1, e.Log.Stages)
	var out *vec
	var err error
	switch {
	case len(streams) == 0:
		out = &vec{}
	case len(f.rest) == 0 && e.Unwrap == nil && sqlRangeOps[e.Op]:
		out, err = ev.rangeSQL(ctx, e, f, steps, from, to)
	default:
		out, err = ev.rangeGo(ctx, e, f, steps, from, to)
	}
	if err != nil {
		return nil, err
	}
	if e.Op == "absent_over_time" {
		return absent(e, out, len(steps)), nil
	}
	return out, nil
}

// rangeSQL computes count/bytes based range aggregations in DuckDB: rows
// are counted per stream, level and bucket, where buckets are gcd(step,
// range) wide and aligned on the last step, so each window is a union of
// whole buckets.
func (ev *evaluator) rangeSQL(ctx context.Context, e *logql.RangeAggr, f *sqlFilter, steps []int64, from, to int64) (*vec, error) {
	rng := int64(e.Range)
	w := rng
	if len(steps) > 1 {
		w = gcd(int64(ev.q.Step), rng)
	}
	nb := (to-from)/w + 1
	if nb > 2_000_000 {
		return ev.rangeGo(ctx, e, f, steps, from, to)
	}
	// Only byte-counting functions read the line column: it is by far the
	// largest, and counting rows needs just ts, stream_id and level.
	bytesExpr := "0"
	if e.Op == "bytes_over_time" || e.Op == "bytes_rate" {
		bytesExpr = "sum(strlen(line))"
	}
	// Group by level only when the result can show it: under
	// sum by (service_name) (...) it would only multiply the groups.
	levelExpr := "level"
	if g := e.Grouping; g != nil && !g.Without && !slices.Contains(g.Labels, "detected_level") {
		levelExpr = strconv.Itoa(noLevel)
	}
	sqlText := fmt.Sprintf("SELECT stream_id, %s AS lvl, (%d - ts) // %d AS k, count(*), %s FROM {{logs}} WHERE %s GROUP BY stream_id, lvl, k",
		levelExpr, to, w, bytesExpr, f.whereSQL())
	type bucketSeries struct {
		labels map[string]string
		cnt    map[int64]float64
		bytes  map[int64]float64
	}
	byKey := map[[2]string]*bucketSeries{}
	err := ev.s.db.Query(ctx, telemetrydb.TimeRange{From: from, To: to}, sqlText, f.args, func(rows *sql.Rows) error {
		for rows.Next() {
			var id, k, cnt int64
			var code uint8
			var bytes sql.NullInt64
			if err := rows.Scan(&id, &code, &k, &cnt, &bytes); err != nil {
				return err
			}
			level := levelName(code)
			st := ev.s.streamByID(id)
			if st == nil {
				continue
			}
			key := [2]string{st.key, level}
			var m map[string]string
			if e.Grouping != nil {
				// Pooled: one series per group (see the VectorAggr case).
				full := make(map[string]string, len(st.lmap)+1)
				for k, v := range st.lmap {
					full[k] = v
				}
				if level != "" {
					full["detected_level"] = level
				}
				m = groupLabels(full, e.Grouping)
				key = [2]string{logql.FormatLabelMap(m), ""}
			}
			bs := byKey[key]
			if bs == nil {
				if m == nil {
					m = make(map[string]string, len(st.lmap)+1)
					for k, v := range st.lmap {
						m[k] = v
					}
					m["detected_level"] = level
				}
				bs = &bucketSeries{labels: m, cnt: map[int64]float64{}, bytes: map[int64]float64{}}
				byKey[key] = bs
				if err := ev.checkSeries(len(byKey)); err != nil {
					return err
				}
			}
			bs.cnt[k] += float64(cnt)
			bs.bytes[k] += float64(bytes.Int64)
			ev.stats.LinesProcessed += cnt
			ev.stats.BytesProcessed += bytes.Int64
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	last := steps[len(steps)-1]
	per := rng / w
	secs := float64(rng) / 1e9
	out := &vec{}
	keys := make([][2]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, key := range keys {
		bs := byKey[key]
		s := newSeries(bs.labels, len(steps))
		for i, t := range steps {
			k0 := (last - t) / w
			var c, b float64
			for k := k0; k < k0+per; k++ {
				c += bs.cnt[k]
				b += bs.bytes[k]
			}
			if c == 0 {
				continue
			}
			s.ok[i] = true
			switch e.Op {
			case "count_over_time", "absent_over_time":
				s.vals[i] = c
			case "rate":
				s.vals[i] = c / secs
			case "bytes_over_time":
				s.vals[i] = b
			case "bytes_rate":
				s.vals[i] = b / secs
			}
		}
		out.series = append(out.series, s)
	}
	return out, nil
}

// rangeGo runs the pipeline in Go and keeps every sample, then evaluates
// each window.
func (ev *evaluator) rangeGo(ctx context.Context, e *logql.RangeAggr, f *sqlFilter, steps []int64, from, to int64) (*vec, error) {
	type sampleSeries struct {
		labels map[string]string
		ts     []int64
		vs     []float64
	}
	byKey := map[string]*sampleSeries{}
	samples := 0
	sc := ev.newLineScan(f.rest)
	lbs, md := sc.lbs, sc.md
	sqlText := "SELECT " + rowColumns + " FROM {{logs}} WHERE " + f.whereSQL()
	err := sc.run(ctx, telemetrydb.TimeRange{From: from, To: to}, sqlText, f.args, func(r *row, st *streamInfo, line string) (bool, error) {
		v := 1.0
		switch {
		case e.Unwrap != nil:
			x, ok := e.Unwrap.Value(lbs)
			if !ok {
				return true, nil
			}
			v = x
			delete(lbs.Map(), e.Unwrap.Label)
		case e.Op == "bytes_over_time" || e.Op == "bytes_rate":
			v = float64(len(line))
		}
		if _, bad := lbs.Map()[logql.ErrorLabel]; bad {
			return true, nil // Loki fails such queries; Vigil skips the sample
		}
		// Structured metadata (other than detected_level) is not part of
		// metric series: it would make a series per trace.
		for k, mv := range md {
			if k != "detected_level" && lbs.Get(k) == mv && st.lmap[k] != mv {
				delete(lbs.Map(), k)
			}
		}
		if e.Grouping != nil {
			// Unwrapped aggregations with by/without pool the samples of
			// every series in a group before applying the function.
			grouped := groupLabels(lbs.Map(), e.Grouping)
			lbs.Reset(grouped, nil)
		}
		key := lbs.Key()
		ss := byKey[key]
		if ss == nil {
			m := make(map[string]string, len(lbs.Map()))
			for k, v := range lbs.Map() {
				m[k] = v
			}
			ss = &sampleSeries{labels: m}
			byKey[key] = ss
			if err := ev.checkSeries(len(byKey)); err != nil {
				return false, err
			}
		}
		ss.ts = append(ss.ts, r.ts)
		ss.vs = append(ss.vs, v)
		if samples++; samples > maxQuerySamples {
			return false, apierr.New(apierr.Limit, "query keeps more than %d samples in memory; narrow the selector or the time range, or aggregate with sum by (...)", maxQuerySamples)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	rng := int64(e.Range)
	off := int64(e.Offset)
	secs := float64(rng) / 1e9
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := &vec{}
	for _, key := range keys {
		ss := byKey[key]
		idx := make([]int, len(ss.ts))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return ss.ts[idx[a]] < ss.ts[idx[b]] })
		ts := make([]int64, len(idx))
		vs := make([]float64, len(idx))
		for i, j := range idx {
			ts[i], vs[i] = ss.ts[j], ss.vs[j]
		}
		s := newSeries(ss.labels, len(steps))
		lo := 0
		hi := 0
		for i, t := range steps {
			end := t - off
			start := end - rng
			for lo < len(ts) && ts[lo] <= start {
				lo++
			}
			if hi < lo {
				hi = lo
			}
			for hi < len(ts) && ts[hi] <= end {
				hi++
			}
			win := vs[lo:hi]
			if len(win) == 0 {
				continue
			}
			val, ok := rangeFunc(e, win, ts[lo:hi], secs)
			if ok {
				s.vals[i], s.ok[i] = val, true
			}
		}
		out.series = append(out.series, s)
	}
	return out, nil
}

func rangeFunc(e *logql.RangeAggr, vs []float64, ts []int64, secs float64) (float64, bool) {
	switch e.Op {
	case "count_over_time", "absent_over_time":
		return float64(len(vs)), true
	case "bytes_over_time", "sum_over_time":
		return sum(vs), true
	case "rate", "bytes_rate":
		return sum(vs) / secs, true
	case "rate_counter":
		// Counter semantics, as Prometheus' rate over the unwrapped values.
		if len(vs) < 2 {
			return 0, false
		}
		inc := 0.0
		for i := 1; i < len(vs); i++ {
			d := vs[i] - vs[i-1]
			if d < 0 {
				d = vs[i]
			}
			inc += d
		}
		return inc / secs, true
	case "avg_over_time":
		return sum(vs) / float64(len(vs)), true
	case "min_over_time":
		m := vs[0]
		for _, v := range vs {
			m = math.Min(m, v)
		}
		return m, true
	case "max_over_time":
		m := vs[0]
		for _, v := range vs {
			m = math.Max(m, v)
		}
		return m, true
	case "first_over_time":
		return vs[0], true
	case "last_over_time":
		return vs[len(vs)-1], true
	case "stdvar_over_time", "stddev_over_time":
		mean := sum(vs) / float64(len(vs))
		var acc float64
		for _, v := range vs {
			acc += (v - mean) * (v - mean)
		}
		acc /= float64(len(vs))
		if e.Op == "stddev_over_time" {
			return math.Sqrt(acc), true
		}
		return acc, true
	case "quantile_over_time":
		return quantile(e.Param, vs), true
	}
	return 0, false
}

func sum(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}

// quantile is Prometheus' quantile: linear interpolation between ranks.
func quantile(q float64, vs []float64) float64 {
	c := append([]float64(nil), vs...)
	sort.Float64s(c)
	n := float64(len(c))
	rank := q * (n - 1)
	lo := math.Max(0, math.Floor(rank))
	hi := math.Min(n-1, lo+1)
	w := rank - lo
	return c[int(lo)]*(1-w) + c[int(hi)]*w
}

// absent returns one series (labels from the selector's equality matchers)
// that is 1 where the input has no sample.
func absent(e *logql.RangeAggr, in *vec, n int) *vec {
	labels := map[string]string{}
	for _, m := range e.Log.Matchers {
		if m.Type == logql.MatchEqual {
			labels[m.Name] = m.Value
		}
	}
	s := newSeries(labels, n)
	for i := 0; i < n; i++ {
		present := false
		for _, x := range in.series {
			if x.ok[i] {
				present = true
				break
			}
		}
		if !present {
			s.vals[i], s.ok[i] = 1, true
		}
	}
	return &vec{series: []*sseries{s}}
}
