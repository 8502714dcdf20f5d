package logs

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

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
	case len(f.rest) == 0 && e.Unwrap == nil && e.Func.Counts != nil:
		out, err = ev.rangeSQL(ctx, e, f, steps, from, to)
	default:
		out, err = ev.rangeGo(ctx, e, f, steps, from, to)
	}
	if err != nil {
		return nil, err
	}
	if e.Func.Absent {
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
	if e.Func.LineBytes {
		bytesExpr = "sum(strlen(line))"
	}
	// Group by level only when the result can show it: under
	// sum by (service_name) (...) it would only multiply the groups.
	levelExpr := "level"
	if g := e.Grouping; g != nil && !g.Without && !slices.Contains(g.Labels, "detected_level") {
		levelExpr = strconv.Itoa(noLevel)
	}
	// Counting reads base columns only, so it can read a lean source; the
	// held rowColumns keeps the source lean until the query is done.
	cols, done := ev.s.rowColumns()
	defer done()
	src, where, args := ev.s.source(f, from+1, to+1, f.args, cols == leanRowColumns)
	sqlText := fmt.Sprintf("SELECT stream_id, %s AS lvl, (%d - ts) // %d AS k, count(*), %s FROM %s WHERE %s GROUP BY stream_id, lvl, k",
		levelExpr, to, w, bytesExpr, src, where)
	type bucketSeries struct {
		labels map[string]string
		cnt    map[int64]float64
		bytes  map[int64]float64
	}
	byKey := map[[2]string]*bucketSeries{}
	err := ev.s.db.Query(ctx, telemetrydb.TimeRange{From: from, To: to}, sqlText, args, func(rows *sql.Rows) error {
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
			s.vals[i], s.ok[i] = e.Func.Counts(c, b, secs), true
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
	cols, done := ev.s.rowColumns()
	defer done()
	src, where, args := ev.s.source(f, from+1, to+1, f.args, cols == leanRowColumns)
	sqlText := "SELECT " + cols + " FROM " + src + " WHERE " + where
	err := sc.run(ctx, telemetrydb.TimeRange{From: from, To: to}, sqlText, args, func(r *row, st *streamInfo, line string) (bool, error) {
		v := 1.0
		switch {
		case e.Unwrap != nil:
			x, keep := e.Unwrap.Value(lbs)
			if !keep {
				return true, nil
			}
			v = x
			delete(lbs.Map(), e.Unwrap.Label)
		case e.Func.LineBytes:
			v = float64(len(line))
		}
		if kind, bad := lbs.Map()[logql.ErrorLabel]; bad {
			return false, pipelineError(kind, lbs)
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
			val, ok := e.Func.Eval(e.Param, win, secs)
			if ok {
				s.vals[i], s.ok[i] = val, true
			}
		}
		out.series = append(out.series, s)
	}
	return out, nil
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

// pipelineError fails a metric query whose samples keep __error__, with
// Loki's explanation.
func pipelineError(kind string, lbs *logql.Labels) error {
	return apierr.New(apierr.Invalid, "pipeline error: '%s' for series: '%s'. Use a label filter to intentionally skip this error (e.g. | __error__!=\"%s\"); "+
		"to skip all potential errors, match empty errors (e.g. | __error__=\"\"), which may also follow unwrap (e.g. | unwrap latency | __error__=\"\")",
		kind, truncate(lbs.Key(), 300), kind)
}
