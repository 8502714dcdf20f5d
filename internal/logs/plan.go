package logs

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil/internal/logs/logql"
)

// sqlFilter is the WHERE clause pushed down to DuckDB.
type sqlFilter struct {
	where []string
	args  []any
	// rest are the stages left for Go, starting at the first stage that
	// could not be pushed down.
	rest []logql.Stage
	// needs are what the pushed-down line filters ask of a block in the
	// term index.
	needs []termNeed
	// streams is the index in where of the stream IDs' condition, and
	// streamList the same as a list_contains: DuckDB turns an IN list into
	// a join, built again in each UNION ALL branch of a query that uses
	// the term index (measured: 19 vs 13 ms for 20 streams).
	streams    int
	streamList string
	// goStreams, when set, holds the IDs of every stream the query
	// selects, and the caller drops the rows of other streams itself: a
	// query that uses the term index then leaves the stream condition out
	// of SQL (see source).
	goStreams map[int64]bool
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
	f.streams = len(f.where)
	f.where = append(f.where, "stream_id IN ("+strings.Join(ids, ",")+")")
	f.streamList = "list_contains([" + strings.Join(ids, ",") + "]::BIGINT[], stream_id)"
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
			f.needs = append(f.needs, lineFilterNeeds(st)...)
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
			case col == "trace_id" && logql.ShortTraceID(sf.Value) != "":
				// Records stored before 16-digit IDs were padded keep them short.
				f.add("trace_id IN (?, ?)", sf.Value, logql.ShortTraceID(sf.Value))
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

// source returns what a query with filter f over [from, to) reads in
// place of {{logs}} (only the blocks the term index cannot rule out, or
// the whole table when the index would not save reading), the WHERE
// clause to read it with and the arguments of its placeholders (args
// as given, or fewer when the index is used).
//
// With the index, the query has one UNION ALL branch per run of blocks,
// and DuckDB plans the WHERE clause into every branch: planning, not
// reading, is most of such a query's time (measured over 100 blocks:
// 33 of 52 ms). So the clause is cut to what it needs: its arguments
// are written in as literals (a bound parameter costs planning in every
// branch: 25 vs 18 ms), and when f.goStreams is set the stream IDs are
// left to the caller to check in Go. lean says the caller holds a lean
// rowColumns (the branches then read four columns, see blockSource).
func (s *Store) source(f *sqlFilter, from, to int64, args []any, lean bool) (src, where string, _ []any) {
	if s.noIndex {
		return "{{logs}}", f.whereSQL(), args
	}
	rs, ok := s.blocks.ranges(from, to, f.needs)
	if !ok {
		return "{{logs}}", f.whereSQL(), args
	}
	w := slices.Clone(f.where)
	w[f.streams] = f.streamList
	if f.goStreams != nil {
		w = slices.Delete(w, f.streams, f.streams+1)
	}
	where = strings.Join(w, " AND ")
	if lit, ok := inlineArgs(where, args); ok {
		where, args = lit, nil
	}
	return blockSource(rs, lean), where, args
}

// fewBlocks says whether the term index leaves at most maxBlockRanges
// blocks of [from, to) for a query with filter f to read.
func (s *Store) fewBlocks(f *sqlFilter, from, to int64) bool {
	if s.noIndex {
		return false
	}
	rs, ok := s.blocks.ranges(from, to, f.needs)
	if !ok {
		return false
	}
	n := int64(0)
	for _, r := range rs {
		if r.lo == nullBlock {
			return false // records without an index: as many as there are
		}
		n += r.hi - r.lo + 1
	}
	return n <= maxBlockRanges
}

// inlineArgs writes args into the ? placeholders of where as SQL
// literals; ok is false when one cannot be written safely (a string that
// is not valid UTF-8 or holds a NUL byte, a type other than int64 and
// string), and the placeholders stay. The placeholders are those plan
// writes: where holds no other question mark.
func inlineArgs(where string, args []any) (string, bool) {
	var b strings.Builder
	for _, a := range args {
		i := strings.IndexByte(where, '?')
		if i < 0 {
			return "", false
		}
		b.WriteString(where[:i])
		where = where[i+1:]
		switch v := a.(type) {
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		case string:
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				return "", false
			}
			// DuckDB's string literals have no backslash escapes: only
			// the quote is doubled.
			b.WriteString("'" + strings.ReplaceAll(v, "'", "''") + "'")
		default:
			return "", false
		}
	}
	if strings.IndexByte(where, '?') >= 0 {
		return "", false
	}
	b.WriteString(where)
	return b.String(), true
}
