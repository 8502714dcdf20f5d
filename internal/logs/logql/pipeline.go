package logql

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Pipeline runs the stages of a log query on one line at a time. It is not
// safe for concurrent use.
type Pipeline struct {
	stages []Stage
	line   string
	ts     int64
}

// NewPipeline returns a pipeline running stages (from a parsed LogExpr).
func NewPipeline(stages []Stage) *Pipeline {
	p := &Pipeline{stages: stages}
	for _, s := range stages {
		switch s := s.(type) {
		case *LineFormat:
			s.tmpl.ctx = p
		case *LabelFormat:
			for i := range s.Items {
				if s.Items[i].tmpl != nil {
					s.Items[i].tmpl.ctx = p
				}
			}
		}
	}
	return p
}

// Process runs the pipeline on one line with its labels already in lbs. It
// returns the (possibly rewritten) line and whether the line is kept.
func (p *Pipeline) Process(ts int64, line string, lbs *Labels) (string, bool) {
	p.ts = ts
	for _, s := range p.stages {
		p.line = line
		switch s := s.(type) {
		case *LineFilter:
			if !s.Match(line) {
				return "", false
			}
		case *ParserStage:
			line = s.parse(line, lbs)
		case *LabelFilterStage:
			if !evalLabelFilter(s.Filter, lbs) {
				return "", false
			}
		case *LineFormat:
			out, err := s.tmpl.render(lbs.m)
			if err != nil {
				lbs.setError(errTemplate, err.Error())
				continue
			}
			line = out
		case *LabelFormat:
			s.apply(lbs)
		case *DropKeep:
			s.apply(lbs)
		case Decolorize:
			line = ansiRE.ReplaceAllString(line, "")
		}
	}
	return line, true
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// Match reports whether the line filter keeps line.
func (f *LineFilter) Match(line string) bool {
	any := false
	for i, v := range f.Values {
		var m bool
		switch {
		case f.IP:
			m = lineHasIP(line, f.ips[i])
		case f.Op == LineContains || f.Op == LineNotContains:
			m = strings.Contains(line, v)
		case f.Op == LineRegexp || f.Op == LineNotRegexp:
			m = f.res[i].MatchString(line)
		default:
			_, m = f.patterns[i].match(line, true)
		}
		if m {
			any = true
			break
		}
	}
	return any != f.Op.Negative()
}

func evalLabelFilter(f LabelFilter, lbs *Labels) bool {
	switch f := f.(type) {
	case *BinaryLabelFilter:
		if f.And {
			return evalLabelFilter(f.Left, lbs) && evalLabelFilter(f.Right, lbs)
		}
		return evalLabelFilter(f.Left, lbs) || evalLabelFilter(f.Right, lbs)
	case *StringLabelFilter:
		return f.Matches(lbs.m[f.Name])
	case *IPLabelFilter:
		v, ok := lbs.m[f.Name]
		if !ok {
			return f.Negate
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return f.Negate
		}
		return f.ip.contains(a) != f.Negate
	case *NumericLabelFilter:
		v, ok := lbs.m[f.Name]
		if !ok {
			return false
		}
		var x float64
		var err error
		switch f.Kind {
		case tDuration:
			var d time.Duration
			d, err = ParseDuration(v)
			x = d.Seconds()
		case tBytes:
			var b uint64
			b, err = humanize.ParseBytes(v)
			x = float64(b)
		default:
			x, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
		if err != nil {
			// Loki keeps the line and marks it, so the user sees why.
			lbs.setError(errLabelFilter, err.Error())
			return true
		}
		return compare(f.Op, x, f.Value)
	}
	return false
}

func compare(op CompareOp, a, b float64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "<":
		return a < b
	default:
		return a <= b
	}
}

func (s *LabelFormat) apply(lbs *Labels) {
	// All templates see the labels as they were before this stage.
	type kv struct{ k, v string }
	var sets []kv
	var dels []string
	for _, it := range s.Items {
		if it.Template {
			out, err := it.tmpl.render(lbs.m)
			if err != nil {
				lbs.setError(errTemplate, err.Error())
				continue
			}
			sets = append(sets, kv{it.Dst, out})
			continue
		}
		sets = append(sets, kv{it.Dst, lbs.m[it.Src]})
		if it.Src != it.Dst {
			dels = append(dels, it.Src)
		}
	}
	for _, d := range dels {
		delete(lbs.m, d)
	}
	for _, s := range sets {
		lbs.Set(s.k, s.v)
	}
}

func (s *DropKeep) apply(lbs *Labels) {
	if !s.Keep {
		for _, it := range s.Items {
			if it.Matcher == nil || it.Matcher.Matches(lbs.m[it.Name]) {
				delete(lbs.m, it.Name)
			}
		}
		return
	}
	for k, v := range lbs.m {
		keep := false
		for _, it := range s.Items {
			if it.Name == k && (it.Matcher == nil || it.Matcher.Matches(v)) {
				keep = true
				break
			}
		}
		if !keep {
			delete(lbs.m, k)
		}
	}
}

// Value extracts the unwrapped sample value from lbs. A missing label or
// one that does not convert sets __error__ (SampleExtractionErr); then the
// label filters after unwrap run, and keep is false when they drop the
// line. A kept line that has __error__ is a pipeline error for the caller,
// as in Loki.
func (u *Unwrap) Value(lbs *Labels) (x float64, keep bool) {
	v, present := lbs.m[u.Label]
	var err error
	switch {
	case !present:
		err = fmt.Errorf("label %q not found", u.Label)
	case u.Conv == "bytes":
		var b uint64
		b, err = humanize.ParseBytes(v)
		x = float64(b)
	case u.Conv == "duration" || u.Conv == "duration_seconds":
		var d time.Duration
		d, err = ParseDuration(v)
		x = d.Seconds()
	default:
		x, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
	}
	if err != nil {
		lbs.setError(errSample, err.Error())
		x = 0
	}
	for _, f := range u.Filters {
		if !evalLabelFilter(f, lbs) {
			return 0, false
		}
	}
	return x, true
}
