package logs

import (
	"context"
	"sort"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
)

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
		if ra, ok := e.Expr.(*logql.RangeAggr); ok && e.Op == "sum" && ra.Grouping == nil && ra.Func.Pooled {
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
