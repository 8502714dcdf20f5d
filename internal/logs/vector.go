package logs

import (
	"math"
	"sort"
	"strings"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
)

// groupLabels keeps the labels named by g (by), or all others (without).
func groupLabels(m map[string]string, g *logql.Grouping) map[string]string {
	out := map[string]string{}
	if g == nil {
		return out
	}
	if g.Without {
		for k, v := range m {
			out[k] = v
		}
		for _, l := range g.Labels {
			delete(out, l)
		}
		return out
	}
	for _, l := range g.Labels {
		if v, ok := m[l]; ok && v != "" {
			out[l] = v
		}
	}
	return out
}

func vectorAggr(e *logql.VectorAggr, in *vec, n int) *vec {
	if e.Op == "sort" || e.Op == "sort_desc" {
		return in // ordering is applied to instant results
	}
	type group struct {
		labels  map[string]string
		members []*sseries
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range in.series {
		gl := groupLabels(s.labels, e.Grouping)
		if e.Grouping == nil {
			gl = map[string]string{}
		}
		key := logql.FormatLabelMap(gl)
		g := groups[key]
		if g == nil {
			g = &group{labels: gl}
			groups[key] = g
			order = append(order, key)
		}
		g.members = append(g.members, s)
	}
	sort.Strings(order)
	out := &vec{}
	if e.Op == "topk" || e.Op == "bottomk" {
		// topk keeps the input series (with their labels) per step.
		k := int(e.Param)
		kept := map[*sseries]*sseries{}
		for _, key := range order {
			g := groups[key]
			for i := 0; i < n; i++ {
				var cand []*sseries
				for _, s := range g.members {
					if s.ok[i] {
						cand = append(cand, s)
					}
				}
				sort.SliceStable(cand, func(a, b int) bool {
					if e.Op == "topk" {
						return cand[a].vals[i] > cand[b].vals[i]
					}
					return cand[a].vals[i] < cand[b].vals[i]
				})
				if len(cand) > k {
					cand = cand[:k]
				}
				for _, s := range cand {
					o := kept[s]
					if o == nil {
						o = newSeries(s.labels, n)
						kept[s] = o
						out.series = append(out.series, o)
					}
					o.vals[i], o.ok[i] = s.vals[i], true
				}
			}
		}
		return out
	}
	for _, key := range order {
		g := groups[key]
		o := newSeries(g.labels, n)
		for i := 0; i < n; i++ {
			var vals []float64
			for _, s := range g.members {
				if s.ok[i] {
					vals = append(vals, s.vals[i])
				}
			}
			if len(vals) == 0 {
				continue
			}
			o.ok[i] = true
			switch e.Op {
			case "sum":
				o.vals[i] = sum(vals)
			case "avg":
				o.vals[i] = sum(vals) / float64(len(vals))
			case "count":
				o.vals[i] = float64(len(vals))
			case "min":
				m := vals[0]
				for _, v := range vals {
					m = math.Min(m, v)
				}
				o.vals[i] = m
			case "max":
				m := vals[0]
				for _, v := range vals {
					m = math.Max(m, v)
				}
				o.vals[i] = m
			case "stddev", "stdvar":
				mean := sum(vals) / float64(len(vals))
				var acc float64
				for _, v := range vals {
					acc += (v - mean) * (v - mean)
				}
				acc /= float64(len(vals))
				if e.Op == "stddev" {
					acc = math.Sqrt(acc)
				}
				o.vals[i] = acc
			}
		}
		out.series = append(out.series, o)
	}
	return out
}

func arith(op string, a, b float64) (float64, bool) {
	switch op {
	case "+":
		return a + b, true
	case "-":
		return a - b, true
	case "*":
		return a * b, true
	case "/":
		return a / b, true
	case "%":
		return math.Mod(a, b), true
	case "^":
		return math.Pow(a, b), true
	case "==":
		return a, a == b
	case "!=":
		return a, a != b
	case ">":
		return a, a > b
	case ">=":
		return a, a >= b
	case "<":
		return a, a < b
	case "<=":
		return a, a <= b
	}
	return 0, false
}

func isComparison(op string) bool {
	switch op {
	case "==", "!=", ">", ">=", "<", "<=":
		return true
	}
	return false
}

// apply computes one binary operation; with bool, comparisons yield 0/1.
func apply(e *logql.BinaryExpr, a, b float64) (float64, bool) {
	v, ok := arith(e.Op, a, b)
	if isComparison(e.Op) {
		if e.ReturnBool {
			if ok {
				return 1, true
			}
			return 0, true
		}
		return v, ok
	}
	return v, ok
}

func dropName(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != "__name__" {
			out[k] = v
		}
	}
	return out
}

func matchKey(m map[string]string, vm *logql.VectorMatching) string {
	if vm == nil {
		return logql.FormatLabelMap(dropName(m))
	}
	sub := map[string]string{}
	if vm.On {
		for _, l := range vm.Labels {
			if v, ok := m[l]; ok {
				sub[l] = v
			}
		}
	} else {
		for k, v := range m {
			sub[k] = v
		}
		for _, l := range vm.Labels {
			delete(sub, l)
		}
		delete(sub, "__name__")
	}
	return logql.FormatLabelMap(sub)
}

func binary(e *logql.BinaryExpr, l, r *vec, n int) (*vec, error) {
	switch {
	case l.scalar && r.scalar:
		out := &vec{scalar: true, sc: make([]float64, n)}
		for i := 0; i < n; i++ {
			v, _ := apply(e, l.sc[i], r.sc[i])
			out.sc[i] = v
		}
		return out, nil
	case l.scalar || r.scalar:
		out := &vec{}
		vs := l
		if l.scalar {
			vs = r
		}
		for _, s := range vs.series {
			o := newSeries(s.labels, n)
			if !isComparison(e.Op) || e.ReturnBool {
				o.labels = dropName(s.labels)
			}
			for i := 0; i < n; i++ {
				if !s.ok[i] {
					continue
				}
				a, b := s.vals[i], r.sc[i]
				if l.scalar {
					a, b = l.sc[i], s.vals[i]
				}
				v, ok := apply(e, a, b)
				if ok && isComparison(e.Op) && !e.ReturnBool {
					v = s.vals[i] // a filter keeps the vector's value
				}
				o.vals[i], o.ok[i] = v, ok
			}
			out.series = append(out.series, o)
		}
		return out, nil
	}
	switch e.Op {
	case "and", "or", "unless":
		return setOp(e, l, r, n), nil
	}
	card := ""
	if e.Matching != nil {
		card = e.Matching.Card
	}
	one, many := r, l // group_left: many on the left
	if card == "group_right" {
		one, many = l, r
	}
	idx := map[string]*sseries{}
	for _, s := range one.series {
		k := matchKey(s.labels, e.Matching)
		if _, dup := idx[k]; dup {
			side := "right"
			if card == "group_right" {
				side = "left"
			}
			return nil, apierr.New(apierr.Invalid, "many-to-one matching: several series on the %s side share the labels %s; use on/ignoring or group_left/group_right", side, k)
		}
		idx[k] = s
	}
	if card == "" {
		seen := map[string]bool{}
		for _, s := range many.series {
			k := matchKey(s.labels, e.Matching)
			if seen[k] && idx[k] != nil {
				return nil, apierr.New(apierr.Invalid, "several series on the left side share the labels %s; use on/ignoring with group_left", k)
			}
			seen[k] = true
		}
	}
	out := &vec{}
	for _, s := range many.series {
		k := matchKey(s.labels, e.Matching)
		o1 := idx[k]
		if o1 == nil {
			continue
		}
		var labels map[string]string
		switch {
		case card != "":
			labels = dropName(s.labels)
			for _, inc := range e.Matching.Include {
				if v, ok := o1.labels[inc]; ok {
					labels[inc] = v
				}
			}
		case e.Matching != nil && e.Matching.On:
			labels = map[string]string{}
			for _, l := range e.Matching.Labels {
				if v, ok := s.labels[l]; ok {
					labels[l] = v
				}
			}
		default:
			labels = dropName(s.labels)
			if e.Matching != nil {
				for _, l := range e.Matching.Labels {
					delete(labels, l)
				}
			}
		}
		if isComparison(e.Op) && !e.ReturnBool {
			labels = s.labels
		}
		o := newSeries(labels, n)
		for i := 0; i < n; i++ {
			if !s.ok[i] || !o1.ok[i] {
				continue
			}
			a, b := s.vals[i], o1.vals[i]
			if card == "group_right" {
				a, b = o1.vals[i], s.vals[i]
			}
			v, ok := apply(e, a, b)
			o.vals[i], o.ok[i] = v, ok
		}
		out.series = append(out.series, o)
	}
	return out, nil
}

func setOp(e *logql.BinaryExpr, l, r *vec, n int) *vec {
	rk := map[string][]*sseries{}
	for _, s := range r.series {
		k := matchKey(s.labels, e.Matching)
		rk[k] = append(rk[k], s)
	}
	present := func(ss []*sseries, i int) bool {
		for _, s := range ss {
			if s.ok[i] {
				return true
			}
		}
		return false
	}
	out := &vec{}
	switch e.Op {
	case "and", "unless":
		for _, s := range l.series {
			o := newSeries(s.labels, n)
			rs := rk[matchKey(s.labels, e.Matching)]
			for i := 0; i < n; i++ {
				if s.ok[i] && present(rs, i) == (e.Op == "and") {
					o.vals[i], o.ok[i] = s.vals[i], true
				}
			}
			out.series = append(out.series, o)
		}
	case "or":
		lk := map[string][]*sseries{}
		for _, s := range l.series {
			k := matchKey(s.labels, e.Matching)
			lk[k] = append(lk[k], s)
			out.series = append(out.series, s)
		}
		for _, s := range r.series {
			o := newSeries(s.labels, n)
			ls := lk[matchKey(s.labels, e.Matching)]
			for i := 0; i < n; i++ {
				if s.ok[i] && !present(ls, i) {
					o.vals[i], o.ok[i] = s.vals[i], true
				}
			}
			out.series = append(out.series, o)
		}
	}
	return out
}

func labelReplace(e *logql.LabelReplace, in *vec) *vec {
	re := e.Compiled()
	for _, s := range in.series {
		src := s.labels[e.Src]
		m := re.FindStringSubmatchIndex(src)
		if m == nil {
			continue
		}
		res := string(re.ExpandString(nil, e.Replacement, src, m))
		labels := make(map[string]string, len(s.labels)+1)
		for k, v := range s.labels {
			labels[k] = v
		}
		if strings.TrimSpace(res) == "" {
			delete(labels, e.Dst)
		} else {
			labels[e.Dst] = res
		}
		s.labels = labels
	}
	return in
}

func sum(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}
