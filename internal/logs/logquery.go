package logs

import (
	"context"
	"strconv"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

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
	if len(streams) == ev.s.streamCount() {
		// The selector keeps every stream: checking the ID of each row
		// read in Go is cheaper than the condition in SQL (see source).
		f.goStreams = make(map[int64]bool, len(streams))
		for _, st := range streams {
			f.goStreams[st.id] = true
		}
	}
	order := "DESC"
	if q.Direction == Forward {
		order = "ASC"
	}
	sc := ev.newLineScan(f.rest)
	sc.streams = f.goStreams
	var found streamSet
	n := 0
	// Scan time windows from the end the direction starts at, growing 4x
	// each time, until limit lines are found: a filter that matches often
	// is answered from the newest data without reading the whole range.
	width := max((to-from)/64, int64(time.Minute))
	if ev.s.fewBlocks(f, from, to) {
		// The term index leaves few blocks to read: one query reads them
		// all, instead of one per window (each planned anew).
		width = to - from
	}
	cols, done := ev.s.rowColumns()
	defer done()
	lo, hi := from, to
	for n < limit && lo < hi {
		wFrom, wTo := max(lo, hi-width), hi
		if q.Direction == Forward {
			wFrom, wTo = lo, min(hi, lo+width)
		}
		args := append([]any{wFrom, wTo}, f.args[2:]...)
		src, where, args := ev.s.source(f, wFrom, wTo, args, cols == leanRowColumns)
		sqlText := "SELECT " + cols + " FROM " + src + " WHERE " + where + " ORDER BY ts " + order
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
