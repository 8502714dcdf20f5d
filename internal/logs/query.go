package logs

import (
	"context"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
)

// Direction orders log query results.
type Direction int

// Directions.
const (
	Backward Direction = iota // newest first (Loki's default)
	Forward
)

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
	Streams []Stream
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
