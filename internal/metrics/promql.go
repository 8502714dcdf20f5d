package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"
)

// DefaultQueryMaxLength is the default bound on a PromQL expression's
// length in bytes. Prometheus's parser spends time quadratic in the depth
// of a chain of binary operators (each node's Type() walks its subtree
// while the AST is checked): measured here, 1+1+...+1 parses in 0.1 s with
// 5,000 terms, 0.45 s with 10,000 and 12 s with 50,000 (100 KB). 32 KiB
// (16,000 terms, about 1 s) leaves room for long generated selectors (a
// Grafana variable expanded to a regular expression of hundreds of
// names) while bounding what one request can cost.
const DefaultQueryMaxLength = 32 << 10

// lengthParser is Prometheus's parser with a bound on the input's length,
// checked before any parsing, so that every API that parses PromQL
// (query, query_range, series, labels, format_query, rules) refuses an
// over-long expression at once.
type lengthParser struct {
	parser.Parser
	max int
}

var _ parser.Parser = lengthParser{}

// ErrQueryTooLong is returned for an expression over the length bound.
type ErrQueryTooLong struct{ Length, Max int }

func (e ErrQueryTooLong) Error() string {
	return fmt.Sprintf("query is %d bytes long, over the limit of %d bytes (metrics.query.max_length); shorten it, e.g. with a regular expression matcher or a recording rule", e.Length, e.Max)
}

func (p lengthParser) check(s string) error {
	if p.max > 0 && len(s) > p.max {
		return ErrQueryTooLong{Length: len(s), Max: p.max}
	}
	return nil
}

func (p lengthParser) ParseExpr(input string) (parser.Expr, error) {
	if err := p.check(input); err != nil {
		return nil, err
	}
	e, err := p.Parser.ParseExpr(input)
	if err != nil && (strings.Contains(err.Error(), "is not enabled") || strings.Contains(err.Error(), "promql-experimental-functions")) {
		// Say Vigil's switch, not Prometheus's flag.
		err = fmt.Errorf("%w (experimental: in Vigil, set metrics.query.enable_experimental_functions: true)", err)
	}
	return e, err
}

func (p lengthParser) ParseMetric(input string) (labels.Labels, error) {
	if err := p.check(input); err != nil {
		return labels.EmptyLabels(), err
	}
	return p.Parser.ParseMetric(input)
}

func (p lengthParser) ParseMetricSelector(input string) ([]*labels.Matcher, error) {
	if err := p.check(input); err != nil {
		return nil, err
	}
	return p.Parser.ParseMetricSelector(input)
}

func (p lengthParser) ParseMetricSelectors(matchers []string) ([][]*labels.Matcher, error) {
	for _, m := range matchers {
		if err := p.check(m); err != nil {
			return nil, err
		}
	}
	return p.Parser.ParseMetricSelectors(matchers)
}

func (p lengthParser) ParseSeriesDesc(input string) (labels.Labels, []parser.SequenceValue, error) {
	if err := p.check(input); err != nil {
		return labels.EmptyLabels(), nil, err
	}
	return p.Parser.ParseSeriesDesc(input)
}

// boundedEngine builds queries under the query timeout: parsing (which
// Prometheus's engine does before its own timeout starts, and which cannot
// be interrupted) runs in its own goroutine, and a request whose deadline
// passes first is answered with a timeout at once. The abandoned parse
// finishes in the background, holding its slot of the active query
// tracker (metrics.query.max_concurrent), so abandoned parses cannot pile
// up, and its length is bounded by lengthParser. The time spent building
// counts against the timeout of the query's execution, so the timeout
// bounds the whole request.
type boundedEngine struct {
	*promql.Engine
	timeout time.Duration
	// maxSamples is metrics.query.max_samples (for the subquery check).
	maxSamples int
	// lastFree is when memory was last handed back to the OS (Unix ns).
	lastFree atomic.Int64
	// building counts builds running, abandoned ones included (tests wait
	// for it to reach 0).
	building atomic.Int32
}

var _ promql.QueryEngine = (*boundedEngine)(nil)

func (e *boundedEngine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error) {
	return e.build(ctx, q, func(ctx context.Context) (promql.Query, error) {
		return e.Engine.NewInstantQuery(ctx, q, opts, qs, ts)
	})
}

func (e *boundedEngine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, start, end time.Time, interval time.Duration) (promql.Query, error) {
	return e.build(ctx, q, func(ctx context.Context) (promql.Query, error) {
		return e.Engine.NewRangeQuery(ctx, q, opts, qs, start, end, interval)
	})
}

func (e *boundedEngine) build(ctx context.Context, queryable storage.Queryable, newQuery func(context.Context) (promql.Query, error)) (promql.Query, error) {
	deadline := time.Now().Add(e.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	bctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	type built struct {
		q   promql.Query
		err error
	}
	done := make(chan built, 1)
	e.building.Add(1)
	go func() {
		defer e.building.Add(-1)
		q, err := newQuery(bctx)
		done <- built{q, err}
	}()
	select {
	case b := <-done:
		if b.err != nil {
			return nil, b.err
		}
		return &deadlineQuery{Query: b.q, deadline: deadline, eng: e, queryable: queryable}, nil
	case <-bctx.Done():
		go func() { // release what the abandoned build returns
			if b := <-done; b.q != nil {
				b.q.Close()
			}
		}()
		if ctx.Err() != nil && bctx.Err() == context.Canceled {
			return nil, promql.ErrQueryCanceled("query parsing")
		}
		return nil, promql.ErrQueryTimeout(fmt.Sprintf("parsing the query (metrics.query.timeout %v)", e.timeout))
	}
}

// deadlineQuery runs a query by the deadline set when it was built, after
// the subquery check, and hands memory back after a large query.
type deadlineQuery struct {
	promql.Query
	deadline  time.Time
	eng       *boundedEngine
	queryable storage.Queryable
	large     bool // the query failed on the sample limit or came near it
}

func (q *deadlineQuery) Exec(ctx context.Context) *promql.Result {
	ctx, cancel := context.WithDeadline(ctx, q.deadline)
	defer cancel()
	if stmt, ok := q.Statement().(*parser.EvalStmt); ok && q.eng.maxSamples > 0 {
		if err := checkSubqueries(ctx, q.queryable, stmt, q.eng.maxSamples); err != nil {
			return &promql.Result{Err: err}
		}
	}
	res := q.Query.Exec(ctx)
	var tooMany promql.ErrTooManySamples
	if errors.As(res.Err, &tooMany) {
		q.large = true
	} else if st := q.Stats(); st != nil && st.Samples != nil && st.Samples.PeakSamples >= q.eng.maxSamples/4 {
		q.large = true
	}
	return res
}

// Close releases the query; after a large one the Go runtime is asked to
// hand the freed memory back to the operating system at once (at most
// every freeInterval), rather than over the minutes its background
// scavenger takes, so that one big query does not leave the process's
// RSS high.
func (q *deadlineQuery) Close() {
	q.Query.Close()
	if !q.large {
		return
	}
	now := time.Now().UnixNano()
	last := q.eng.lastFree.Load()
	if now-last >= int64(freeInterval) && q.eng.lastFree.CompareAndSwap(last, now) {
		debug.FreeOSMemory()
	}
}

const freeInterval = 10 * time.Second

// defaultSubqueryStep is the engine's step for a subquery without one
// ([1h:]); set in EngineOpts so the check below uses the same.
const defaultSubqueryStep = time.Minute

// checkSubqueries refuses, before it runs, a query with a subquery that
// would go over the sample limit: for every series a selector inside a
// subquery reads, Prometheus's engine reserves room for a point at every
// step of the subquery (16 bytes each) before it counts a sample, so a
// subquery at 1 ms over an hour reserves 57 MB per series and the limit
// fires only after the memory is taken (measured: 1.47 GB of RSS for
// 50M samples, 78 s). Steps times series is what the query will hold;
// counted here from the index, stopping as soon as the limit is passed,
// it is refused at once with the engine's own error (422).
func checkSubqueries(ctx context.Context, q storage.Queryable, stmt *parser.EvalStmt, maxSamples int) error {
	start, end := stmt.Start.UnixMilli(), stmt.End.UnixMilli()
	var check func(n parser.Node, start, end int64, inSubquery *parser.SubqueryExpr, steps int64, total *int64) error
	check = func(n parser.Node, start, end int64, sq *parser.SubqueryExpr, steps int64, total *int64) error {
		switch e := n.(type) {
		case *parser.SubqueryExpr:
			step := e.Step.Milliseconds()
			if step <= 0 {
				step = defaultSubqueryStep.Milliseconds()
			}
			off := e.OriginalOffset.Milliseconds()
			lo, hi := start-off-e.Range.Milliseconds(), end-off
			if e.Timestamp != nil {
				lo, hi = *e.Timestamp-off-e.Range.Milliseconds(), *e.Timestamp-off
			}
			var t int64
			return check(e.Expr, lo, hi, e, max((hi-lo)/step, 1), &t)
		case *parser.VectorSelector:
			if sq == nil {
				return nil
			}
			n, err := countSeries(ctx, q, e.LabelMatchers, start-5*time.Minute.Milliseconds(), end, (int64(maxSamples)-*total)/steps+1)
			if err != nil {
				return nil // the engine will meet the same error and say it
			}
			*total += n * steps
			if *total > int64(maxSamples) {
				return promql.ErrTooManySamples(fmt.Sprintf("subquery %s: %d steps for each of at least %d series, over metrics.query.max_samples=%d (use a coarser subquery step)", sq.String(), steps, *total/steps, maxSamples))
			}
			return nil
		case *parser.MatrixSelector:
			return check(e.VectorSelector, start-e.Range.Milliseconds(), end, sq, steps, total)
		}
		for _, c := range parser.Children(n) {
			if err := check(c, start, end, sq, steps, total); err != nil {
				return err
			}
		}
		return nil
	}
	var total int64
	return check(stmt.Expr, start, end, nil, 1, &total)
}

// countSeries counts the series matching ms with data in [mint, maxt],
// stopping at limit.
func countSeries(ctx context.Context, q storage.Queryable, ms []*labels.Matcher, mint, maxt, limit int64) (int64, error) {
	querier, err := q.Querier(mint, maxt)
	if err != nil {
		return 0, err
	}
	defer querier.Close()
	ss := querier.Select(ctx, false, &storage.SelectHints{Start: mint, End: maxt, Func: "series"}, ms...)
	var n int64
	for n < limit && ss.Next() {
		n++
	}
	return n, ss.Err()
}

// unavailableIs503 restores Prometheus's status for "unavailable" API
// errors (disabled admin APIs, a TSDB not ready): the web/api/v1 package
// of this Prometheus version answers them 500, Prometheus 2 answered 503.
// Generic because the error number's type is unexported; it is inferred
// where the function is assigned to apiv1.OverrideErrorCode.
func unavailableIs503[N comparable](n N, _ error) (int, bool) {
	if any(n) == any(apiv1.ErrorUnavailable) {
		return http.StatusServiceUnavailable, true
	}
	return 0, false
}
