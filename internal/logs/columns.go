package logs

import (
	"context"
	"database/sql"
	"fmt"
)

// The columns of a record beyond its time, stream, level and line
// (metadata, trace_id, span_id and the OTLP fields) are NULL (flags 0) in
// every record pushed over the Loki API without structured metadata, which
// is most of them in many stores. DuckDB still reads such a column for
// every vector a query keeps rows of: over the benchmark's rare-word query
// (100 blocks of 10M lines, all Loki push) selecting the seven columns cost
// 55 ms against 48 ms without them (DuckDB alone, docs/perf/logs.md). So the store remembers which
// partitions hold a value in any of them, and while none does, queries
// select NULLs in their place (leanRowColumns) instead of reading them.

// extraColumns are the conditions under which a record has a value in one
// of those columns, one per column, so that DuckDB can answer each from
// its statistics at Open.
var extraColumns = []string{
	"metadata IS NOT NULL", "trace_id IS NOT NULL", "span_id IS NOT NULL",
	"observed_ts IS NOT NULL", "severity_text IS NOT NULL",
	"severity_number IS NOT NULL", "flags <> 0",
}

// leanBaseColumns are the columns a record without values in extraColumns
// has; leanRowColumns is rowColumns with NULL for the others, and
// leanNullColumns the others as NULLs of their types, named, for a source
// that stands for the logs table (blockSource).
const (
	leanBaseColumns = "ts, stream_id, level, line"
	leanRowColumns  = leanBaseColumns + ", NULL, NULL, NULL, NULL, NULL, NULL, NULL"
	leanNullColumns = "NULL::VARCHAR AS metadata, NULL::VARCHAR AS trace_id, NULL::VARCHAR AS span_id, " +
		"NULL::BIGINT AS observed_ts, NULL::VARCHAR AS severity_text, NULL::INTEGER AS severity_number, NULL::UINTEGER AS flags"
)

// hasExtras says whether r's record has a value in a column of
// extraColumns.
func hasExtras(r *Record, metadata any) bool {
	return metadata != nil || r.TraceID != "" || r.SpanID != "" || r.ObservedTime != 0 ||
		r.SeverityText != "" || r.SeverityNumber != 0 || r.Flags != 0
}

// rowColumns returns what a query reading records selects: rowColumns, or
// leanRowColumns while no partition holds a value in extraColumns; the
// query calls done when it has read its rows. A lean query holds off the
// first commit of such values until it is done (markExtras), so that it
// cannot see those records with their values left out.
func (s *Store) rowColumns() (cols string, done func()) {
	s.leanMu.RLock()
	s.mu.RLock()
	lean := len(s.extras) == 0
	s.mu.RUnlock()
	if lean {
		return leanRowColumns, s.leanMu.RUnlock
	}
	s.leanMu.RUnlock()
	return rowColumns, func() {}
}

// markExtras records that partition part (and the one after it, which a
// commit may land in when a partition starts during it) holds values in
// extraColumns. It must happen before such records can be seen.
func (s *Store) markExtras(part int64) {
	s.mu.RLock()
	have := s.extras[part] && s.extras[part+1]
	s.mu.RUnlock()
	if have {
		return
	}
	s.leanMu.Lock() // wait for lean queries
	s.mu.Lock()
	s.extras[part] = true
	s.extras[part+1] = true
	s.mu.Unlock()
	s.leanMu.Unlock()
}

// pruneExtras forgets the partitions older than oldest (retention dropped
// them).
func (s *Store) pruneExtras(oldest int64) {
	s.mu.Lock()
	for p := range s.extras {
		if p < oldest {
			delete(s.extras, p)
		}
	}
	s.mu.Unlock()
}

// loadExtras finds the partitions that hold values in extraColumns.
func (s *Store) loadExtras(ctx context.Context) error {
	for _, cond := range extraColumns {
		err := s.db.QueryEach(ctx, "SELECT count(*) FROM (SELECT 1 FROM {{logs}} WHERE "+cond+" LIMIT 1)", nil, func(seq int64, rows *sql.Rows) error {
			for rows.Next() {
				var n int64
				if err := rows.Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					s.extras[seq] = true
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read log partitions' columns: %w", err)
		}
	}
	return nil
}
