// Package logql parses LogQL, Loki's query language, into an AST, and runs
// the parts of a query that work on one log line at a time (line filters,
// parsers, label filters, formatting) as a Pipeline.
//
// It is written from Loki's documentation; no Loki code is used.
package logql

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed query: a *LogExpr or a SampleExpr.
type Expr interface {
	String() string
}

// SampleExpr is a query that yields numbers (a metric query).
type SampleExpr interface {
	Expr
	sample()
}

// MatchType is a label matcher's operator.
type MatchType int

// Matcher operators.
const (
	MatchEqual MatchType = iota
	MatchNotEqual
	MatchRegexp
	MatchNotRegexp
)

var matchOps = [...]string{"=", "!=", "=~", "!~"}

func (m MatchType) String() string { return matchOps[m] }

// Matcher compares one label with a value.
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
	re    *regexp.Regexp // fully anchored, for =~ and !~
}

// NewMatcher compiles a matcher; regular expressions are fully anchored.
func NewMatcher(t MatchType, name, value string) (*Matcher, error) {
	m := &Matcher{Name: name, Type: t, Value: value}
	if t == MatchRegexp || t == MatchNotRegexp {
		re, err := regexp.Compile("^(?s:" + value + ")$")
		if err != nil {
			return nil, err
		}
		m.re = re
	}
	return m, nil
}

// Matches reports whether v (the empty string for a missing label) matches.
func (m *Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// MatchesEmpty reports whether a missing label matches.
func (m *Matcher) MatchesEmpty() bool { return m.Matches("") }

func (m *Matcher) String() string { return m.Name + m.Type.String() + strconv.Quote(m.Value) }

// LogExpr is a stream selector followed by pipeline stages.
type LogExpr struct {
	Matchers []*Matcher
	Stages   []Stage
}

func (e *LogExpr) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range e.Matchers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	for _, s := range e.Stages {
		b.WriteByte(' ')
		b.WriteString(s.String())
	}
	return b.String()
}

// Stage is one pipeline stage.
type Stage interface {
	String() string
}

// LineFilterOp is a line filter's operator.
type LineFilterOp int

// Line filter operators.
const (
	LineContains    LineFilterOp = iota // |=
	LineNotContains                     // !=
	LineRegexp                          // |~
	LineNotRegexp                       // !~
	LinePattern                         // |>
	LineNotPattern                      // !>
)

var lineOps = [...]string{"|=", "!=", "|~", "!~", "|>", "!>"}

func (o LineFilterOp) String() string { return lineOps[o] }

// Negative reports whether the operator excludes matching lines.
func (o LineFilterOp) Negative() bool {
	return o == LineNotContains || o == LineNotRegexp || o == LineNotPattern
}

// LineFilter keeps (or drops) lines containing or matching any of Values.
type LineFilter struct {
	Op     LineFilterOp
	Values []string // alternatives joined with "or"
	IP     bool     // |= ip("...")

	res      []*regexp.Regexp
	patterns []*pattern
	ips      []ipMatcher
}

func (f *LineFilter) String() string {
	var b strings.Builder
	b.WriteString(f.Op.String())
	for i, v := range f.Values {
		if i > 0 {
			b.WriteString(" or")
		}
		b.WriteByte(' ')
		if f.IP {
			b.WriteString("ip(" + strconv.Quote(v) + ")")
		} else {
			b.WriteString(strconv.Quote(v))
		}
	}
	return b.String()
}

// ParserKind names a parser stage.
type ParserKind string

// Parsers.
const (
	ParserJSON    ParserKind = "json"
	ParserLogfmt  ParserKind = "logfmt"
	ParserRegexp  ParserKind = "regexp"
	ParserPattern ParserKind = "pattern"
	ParserUnpack  ParserKind = "unpack"
)

// Extraction names one label a json or logfmt parser extracts: Label from
// the expression (a JSON path for json, a key for logfmt).
type Extraction struct {
	Label string
	Expr  string
}

// ParserStage extracts labels from the line.
type ParserStage struct {
	Kind        ParserKind
	Param       string       // the regexp or pattern
	Extractions []Extraction // json/logfmt with parameters
	Strict      bool         // logfmt --strict
	KeepEmpty   bool         // logfmt --keep-empty

	re         *regexp.Regexp
	pat        *pattern
	jpaths     [][]jsonPathElem
	logfmtKeys map[string]string // logfmt parameters: key → label
}

func (p *ParserStage) String() string {
	s := "| " + string(p.Kind)
	if p.Strict {
		s += " --strict"
	}
	if p.KeepEmpty {
		s += " --keep-empty"
	}
	if p.Param != "" {
		s += " " + strconv.Quote(p.Param)
	}
	for i, x := range p.Extractions {
		if i > 0 {
			s += ","
		}
		s += " " + x.Label
		if x.Expr != x.Label || p.Kind == ParserJSON {
			s += "=" + strconv.Quote(x.Expr)
		}
	}
	return s
}

// LabelFilterStage drops lines whose labels do not satisfy Filter.
type LabelFilterStage struct {
	Filter LabelFilter
}

func (s *LabelFilterStage) String() string { return "| " + s.Filter.String() }

// LabelFilter is a boolean expression over labels.
type LabelFilter interface {
	String() string
}

// BinaryLabelFilter combines two filters with "and" or "or".
type BinaryLabelFilter struct {
	And         bool
	Left, Right LabelFilter
}

func (f *BinaryLabelFilter) String() string {
	op := " or "
	if f.And {
		op = " and "
	}
	return "(" + f.Left.String() + op + f.Right.String() + ")"
}

// StringLabelFilter compares a label as a string.
type StringLabelFilter struct {
	*Matcher
}

// IPLabelFilter checks a label holds an address in a range: addr = ip("10.0.0.0/8").
type IPLabelFilter struct {
	Name   string
	Negate bool
	Value  string
	ip     ipMatcher
}

func (f *IPLabelFilter) String() string {
	op := "="
	if f.Negate {
		op = "!="
	}
	return f.Name + op + "ip(" + strconv.Quote(f.Value) + ")"
}

// CompareOp is a numeric comparison.
type CompareOp string

// NumericLabelFilter compares a label as a number, duration or byte size.
type NumericLabelFilter struct {
	Name  string
	Op    CompareOp // == != > >= < <=
	Value float64   // seconds for durations, bytes for sizes
	Kind  tokKind   // tNumber, tDuration or tBytes
	Text  string
}

func (f *NumericLabelFilter) String() string { return f.Name + string(f.Op) + f.Text }

// LineFormat replaces the line with a rendered template.
type LineFormat struct {
	Template string
	tmpl     *template
}

func (f *LineFormat) String() string { return "| line_format " + strconv.Quote(f.Template) }

// LabelFormatItem renames (Dst=Src) or sets a label from a template.
type LabelFormatItem struct {
	Dst, Src string
	Template bool
	tmpl     *template
}

// LabelFormat renames labels and sets labels from templates.
type LabelFormat struct {
	Items []LabelFormatItem
}

func (f *LabelFormat) String() string {
	parts := make([]string, len(f.Items))
	for i, it := range f.Items {
		if it.Template {
			parts[i] = it.Dst + "=" + strconv.Quote(it.Src)
		} else {
			parts[i] = it.Dst + "=" + it.Src
		}
	}
	return "| label_format " + strings.Join(parts, ", ")
}

// DropKeepItem names a label, optionally only when it matches.
type DropKeepItem struct {
	Name    string
	Matcher *Matcher
}

// DropKeep is "| drop ..." or "| keep ...".
type DropKeep struct {
	Keep  bool
	Items []DropKeepItem
}

func (s *DropKeep) String() string {
	parts := make([]string, len(s.Items))
	for i, it := range s.Items {
		if it.Matcher != nil {
			parts[i] = it.Matcher.String()
		} else {
			parts[i] = it.Name
		}
	}
	kw := "drop"
	if s.Keep {
		kw = "keep"
	}
	return "| " + kw + " " + strings.Join(parts, ", ")
}

// Decolorize strips ANSI colour codes from the line.
type Decolorize struct{}

func (Decolorize) String() string { return "| decolorize" }

// Unwrap takes a sample value from a label, for unwrapped range aggregations.
type Unwrap struct {
	Label   string
	Conv    string // "", "bytes", "duration", "duration_seconds"
	Filters []LabelFilter
}

func (u *Unwrap) String() string {
	s := "| unwrap " + u.Label
	if u.Conv != "" {
		s = "| unwrap " + u.Conv + "(" + u.Label + ")"
	}
	for _, f := range u.Filters {
		s += " | " + f.String()
	}
	return s
}

// Grouping is "by (a, b)" or "without (a, b)".
type Grouping struct {
	Without bool
	Labels  []string
}

func (g *Grouping) String() string {
	if g == nil {
		return ""
	}
	kw := "by"
	if g.Without {
		kw = "without"
	}
	return " " + kw + " (" + strings.Join(g.Labels, ", ") + ")"
}

// RangeAggr applies a function to each series' entries in a sliding window:
// count_over_time({app="x"}[5m]).
type RangeAggr struct {
	Op       string
	Func     *RangeFunction // RangeFunctions[Op], resolved by the parser
	Param    float64        // the number argument (quantile_over_time's φ)
	Log      *LogExpr
	Unwrap   *Unwrap
	Range    time.Duration
	Offset   time.Duration
	Grouping *Grouping
}

func (*RangeAggr) sample() {}

func (e *RangeAggr) String() string {
	var b strings.Builder
	b.WriteString(e.Op + "(")
	if e.Func != nil && e.Func.CheckParam != nil {
		b.WriteString(strconv.FormatFloat(e.Param, 'g', -1, 64) + ", ")
	}
	b.WriteString(e.Log.String())
	if e.Unwrap != nil {
		b.WriteString(" " + e.Unwrap.String())
	}
	b.WriteString(" [" + FormatDuration(e.Range) + "]")
	if e.Offset != 0 {
		b.WriteString(" offset " + FormatDuration(e.Offset))
	}
	b.WriteString(")")
	b.WriteString(e.Grouping.String())
	return b.String()
}

// VectorAggr aggregates series at each step: sum by (app) (...).
type VectorAggr struct {
	Op       string
	Param    float64 // topk/bottomk k
	Grouping *Grouping
	Expr     SampleExpr
}

func (*VectorAggr) sample() {}

func (e *VectorAggr) String() string {
	p := ""
	if e.Op == "topk" || e.Op == "bottomk" {
		p = strconv.FormatFloat(e.Param, 'g', -1, 64) + ", "
	}
	return e.Op + e.Grouping.String() + " (" + p + e.Expr.String() + ")"
}

// VectorMatching is on/ignoring with an optional group_left/group_right.
type VectorMatching struct {
	On      bool
	Labels  []string
	Card    string // "", "group_left", "group_right"
	Include []string
}

// BinaryExpr is LHS op RHS.
type BinaryExpr struct {
	Op         string
	LHS, RHS   SampleExpr
	ReturnBool bool
	Matching   *VectorMatching
}

func (*BinaryExpr) sample() {}

func (e *BinaryExpr) String() string {
	op := e.Op
	if e.ReturnBool {
		op += " bool"
	}
	if m := e.Matching; m != nil {
		kw := "ignoring"
		if m.On {
			kw = "on"
		}
		op += " " + kw + "(" + strings.Join(m.Labels, ", ") + ")"
		if m.Card != "" {
			op += " " + m.Card + "(" + strings.Join(m.Include, ", ") + ")"
		}
	}
	return "(" + e.LHS.String() + " " + op + " " + e.RHS.String() + ")"
}

// NumberLiteral is a scalar.
type NumberLiteral struct{ Val float64 }

func (*NumberLiteral) sample() {}

func (e *NumberLiteral) String() string { return strconv.FormatFloat(e.Val, 'g', -1, 64) }

// VectorLiteral is vector(n): one series without labels.
type VectorLiteral struct{ Val float64 }

func (*VectorLiteral) sample() {}

func (e *VectorLiteral) String() string {
	return "vector(" + strconv.FormatFloat(e.Val, 'g', -1, 64) + ")"
}

// LabelReplace is label_replace(expr, dst, replacement, src, regex).
type LabelReplace struct {
	Expr                      SampleExpr
	Dst, Replacement, Src, Re string
	re                        *regexp.Regexp
}

func (*LabelReplace) sample() {}

func (e *LabelReplace) String() string {
	return "label_replace(" + e.Expr.String() + ", " + strconv.Quote(e.Dst) + ", " + strconv.Quote(e.Replacement) +
		", " + strconv.Quote(e.Src) + ", " + strconv.Quote(e.Re) + ")"
}

// FormatDuration renders d as LogQL does (1h30m, 5m, 100ms).
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	neg := d < 0
	if neg {
		d = -d
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	units := []struct {
		s string
		d time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", 1}}
	for _, u := range units {
		if d >= u.d {
			b.WriteString(strconv.FormatInt(int64(d/u.d), 10) + u.s)
			d %= u.d
		}
	}
	return b.String()
}

// Compiled returns the anchored regular expression of label_replace.
func (e *LabelReplace) Compiled() *regexp.Regexp { return e.re }
