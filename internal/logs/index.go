package logs

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// StreamQuery selects the streams that have records in [Start, End] (Unix
// ns, both inclusive) among those matching Matchers; nil Matchers select
// every stream.
type StreamQuery struct {
	Matchers []*logql.Matcher
	Start    int64
	End      int64
}

// ActiveStreams returns the label sets of the streams q selects, sorted.
// The returned label sets are shared: callers must not modify them.
func (s *Store) ActiveStreams(ctx context.Context, q StreamQuery) ([]Labels, error) {
	streams, err := s.activeStreams(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Labels, len(streams))
	for i, st := range streams {
		out[i] = st.labels
	}
	return out, nil
}

// activeStreams returns the streams q selects, sorted by label set.
func (s *Store) activeStreams(ctx context.Context, q StreamQuery) ([]*streamInfo, error) {
	var cands []*streamInfo
	if q.Matchers != nil {
		cands = s.matchStreams(q.Matchers)
	} else {
		cands = s.streamsSnapshot()
	}
	if len(cands) == 0 {
		return nil, nil
	}
	where := "ts >= ? AND ts <= ?"
	if q.Matchers != nil {
		ids := make([]string, len(cands))
		for i, st := range cands {
			ids[i] = strconv.FormatInt(st.id, 10)
		}
		where += " AND stream_id IN (" + strings.Join(ids, ",") + ")"
	}
	var out []*streamInfo
	err := s.db.Query(ctx, telemetrydb.TimeRange{From: q.Start, To: q.End}, "SELECT DISTINCT stream_id FROM {{logs}} WHERE "+where, []any{q.Start, q.End}, func(rows *sql.Rows) error {
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

// LabelNames returns the label names of the streams q selects, sorted.
func (s *Store) LabelNames(ctx context.Context, q StreamQuery) ([]string, error) {
	streams, err := s.activeStreams(ctx, q)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, st := range streams {
		for _, l := range st.labels {
			set[l.Name] = true
		}
	}
	return sortedKeys(set), nil
}

// LabelValues returns the values of label name in the streams q selects,
// sorted.
func (s *Store) LabelValues(ctx context.Context, q StreamQuery, name string) ([]string, error) {
	streams, err := s.activeStreams(ctx, q)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, st := range streams {
		if v, ok := st.lmap[name]; ok {
			set[v] = true
		}
	}
	return sortedKeys(set), nil
}

// Series returns the label sets of the streams with records in [start,
// end] that match any of selectors (every stream when there are none), in
// the order of the selectors, each set once.
func (s *Store) Series(ctx context.Context, selectors [][]*logql.Matcher, start, end int64) ([]Labels, error) {
	if len(selectors) == 0 {
		selectors = [][]*logql.Matcher{nil}
	}
	seen := map[int64]bool{}
	out := []Labels{}
	for _, ms := range selectors {
		streams, err := s.activeStreams(ctx, StreamQuery{Matchers: ms, Start: start, End: end})
		if err != nil {
			return nil, err
		}
		for _, st := range streams {
			if !seen[st.id] {
				seen[st.id] = true
				out = append(out, st.labels)
			}
		}
	}
	return out, nil
}

// DetectedLabel is a stream label name with its number of distinct values.
type DetectedLabel struct {
	Label       string `json:"label"`
	Cardinality int    `json:"cardinality"`
}

// DetectedLabels lists the label names of the streams q selects with their
// cardinality, by name (what Grafana Logs Drilldown asks for).
func (s *Store) DetectedLabels(ctx context.Context, q StreamQuery) ([]DetectedLabel, error) {
	streams, err := s.activeStreams(ctx, q)
	if err != nil {
		return nil, err
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
	out := []DetectedLabel{}
	for _, name := range sortedKeys(values) {
		out = append(out, DetectedLabel{Label: name, Cardinality: len(values[name])})
	}
	return out, nil
}

// IndexStats summarises the records of a selector in a time range.
// Chunks counts streams: Vigil has no chunks.
type IndexStats struct {
	Bytes   int64 `json:"bytes"`
	Chunks  int64 `json:"chunks"`
	Entries int64 `json:"entries"`
	Streams int64 `json:"streams"`
}

// IndexStats counts the streams, records and line bytes of the streams
// matching q.Matchers in [q.Start, q.End].
func (s *Store) IndexStats(ctx context.Context, q StreamQuery) (IndexStats, error) {
	var out IndexStats
	streams := s.matchStreams(q.Matchers)
	if len(streams) == 0 {
		return out, nil
	}
	f := plan(streams, q.Start, q.End+1, nil)
	err := s.db.Query(ctx, telemetrydb.TimeRange{From: q.Start, To: q.End}, "SELECT count(DISTINCT stream_id), count(*), coalesce(sum(strlen(line)), 0) FROM {{logs}} WHERE "+f.whereSQL(), f.args, func(rows *sql.Rows) error {
		for rows.Next() {
			if err := rows.Scan(&out.Streams, &out.Entries, &out.Bytes); err != nil {
				return err
			}
			out.Chunks = out.Streams
		}
		return nil
	})
	return out, err
}

// VolumeQuery asks for the line bytes of a selector's streams per label
// set, in total (Step 0) or per step.
type VolumeQuery struct {
	StreamQuery
	// TargetLabels are the labels the volume is grouped by; nil groups by
	// each stream's whole label set.
	TargetLabels []string
	Step         time.Duration
	Limit        int // the largest groups kept; 0 keeps all
}

// Volume answers the log-volume endpoints: one series per group, largest
// first. With a Step its samples are the bytes of each step (stamped at
// the step's start); without, one sample at End holds the total.
func (s *Store) Volume(ctx context.Context, q VolumeQuery) ([]Series, error) {
	type agg struct {
		labels map[string]string
		bytes  map[int64]float64
		total  float64
	}
	groups := map[string]*agg{}
	if streams := s.matchStreams(q.Matchers); len(streams) > 0 {
		f := plan(streams, q.Start, q.End+1, nil)
		bucket := "0"
		if q.Step > 0 {
			bucket = fmt.Sprintf("(ts - %d) // %d", q.Start, int64(q.Step))
		}
		err := s.db.Query(ctx, telemetrydb.TimeRange{From: q.Start, To: q.End},
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
					if q.TargetLabels == nil {
						gl = st.lmap
					}
					for _, t := range q.TargetLabels {
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
			return nil, err
		}
	}
	list := make([]*agg, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].total > list[j].total })
	if q.Limit > 0 && len(list) > q.Limit {
		list = list[:q.Limit]
	}
	out := make([]Series, 0, len(list))
	for _, g := range list {
		se := Series{Labels: g.labels}
		if q.Step > 0 {
			ks := make([]int64, 0, len(g.bytes))
			for k := range g.bytes {
				ks = append(ks, k)
			}
			sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
			for _, k := range ks {
				se.Samples = append(se.Samples, Sample{T: (q.Start + k*int64(q.Step)) / 1e6, V: g.bytes[k]})
			}
		} else {
			se.Samples = []Sample{{T: q.End / 1e6, V: g.total}}
		}
		out = append(out, se)
	}
	return out, nil
}

// TraceQuery asks for the records of one trace.
type TraceQuery struct {
	TraceID string // lowercase hex
	// Start and End bound the search when End > 0 (Unix ns, inclusive).
	Start, End int64
	Limit      int // capped at Options.MaxQueryLines
}

// TraceRecord is one record of a trace, with its stream labels and
// metadata.
type TraceRecord struct {
	Timestamp string            `json:"timestamp"` // Unix ns
	Labels    map[string]string `json:"labels"`
	Metadata  map[string]string `json:"metadata"`
	Level     string            `json:"level"`
	Line      string            `json:"line"`
	TraceID   string            `json:"trace_id"`
	SpanID    string            `json:"span_id,omitempty"`
}

// ByTrace returns every record of a trace, oldest first.
func (s *Store) ByTrace(ctx context.Context, q TraceQuery) ([]TraceRecord, error) {
	limit := min(q.Limit, s.opts.MaxQueryLines)
	var tr telemetrydb.TimeRange
	where := "trace_id = ?"
	args := []any{q.TraceID}
	if short := logql.ShortTraceID(q.TraceID); short != "" {
		// Records stored before 16-digit IDs were padded keep them short.
		where, args = "trace_id IN (?, ?)", append(args, short)
	}
	if q.End > 0 {
		tr = telemetrydb.TimeRange{From: q.Start, To: q.End}
		where += " AND ts >= ? AND ts <= ?"
		args = append(args, q.Start, q.End)
	}
	out := []TraceRecord{}
	var rw row
	err := s.db.Query(ctx, tr, "SELECT "+rowColumns+" FROM {{logs}} WHERE "+where+" ORDER BY ts LIMIT "+strconv.Itoa(limit), args, func(rows *sql.Rows) error {
		for rows.Next() {
			if err := rw.scan(rows); err != nil {
				return err
			}
			st := s.streamByID(rw.streamID)
			x := TraceRecord{Timestamp: strconv.FormatInt(rw.ts, 10), Level: rw.level, Line: rw.line, TraceID: rw.traceID.String, SpanID: rw.spanID.String, Metadata: map[string]string{}, Labels: map[string]string{}}
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
		return nil, err
	}
	return out, nil
}
