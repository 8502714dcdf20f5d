package logs

import (
	"context"
	"database/sql"
	"sort"
	"strconv"

	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

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
	// streams, when set, are the streams whose rows the scan keeps
	// (sqlFilter.goStreams).
	streams map[int64]bool
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
			if st == nil || sc.streams != nil && !sc.streams[r.streamID] {
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
	byKey map[string]*Stream
	keys  []string // in the order of each stream's first line
}

// add appends a line to the stream of the labels in lbs.
func (ss *streamSet) add(lbs *logql.Labels, ts int64, line string) {
	key := lbs.Key()
	ls := ss.byKey[key]
	if ls == nil {
		ls = &Stream{Labels: labelsOf(lbs.Map())}
		if ss.byKey == nil {
			ss.byKey = map[string]*Stream{}
		}
		ss.byKey[key] = ls
		ss.keys = append(ss.keys, key)
	}
	ls.Entries = append(ls.Entries, Entry{Timestamp: ts, Line: line})
}

func (ss *streamSet) len() int { return len(ss.keys) }

// list returns the streams in the order of their first lines (nil when
// there are none).
func (ss *streamSet) list() []Stream {
	if len(ss.keys) == 0 {
		return nil
	}
	out := make([]Stream, 0, len(ss.keys))
	for _, k := range ss.keys {
		out = append(out, *ss.byKey[k])
	}
	return out
}

// sorted returns the streams ordered by label set.
func (ss *streamSet) sorted() []Stream {
	sort.Strings(ss.keys)
	return ss.list()
}
