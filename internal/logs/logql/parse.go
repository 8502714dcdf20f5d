package logql

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

var vectorOps = map[string]bool{
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "stddev": true,
	"stdvar": true, "topk": true, "bottomk": true, "sort": true, "sort_desc": true,
}

// Binary operator precedence, lowest first.
var binPrec = map[string]int{
	"or": 1, "and": 2, "unless": 2,
	"==": 3, "!=": 3, ">": 3, ">=": 3, "<": 3, "<=": 3,
	"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6,
}

type parser struct {
	q    string
	toks []token
	i    int
}

// Parse parses a LogQL query. Errors are *ParseError.
func Parse(q string) (Expr, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{q: q, toks: toks}
	e, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t, "an operator or the end of the query")
	}
	return e, nil
}

// ParseLog parses a query that must be a log query.
func ParseLog(q string) (*LogExpr, error) {
	e, err := Parse(q)
	if err != nil {
		return nil, err
	}
	le, ok := e.(*LogExpr)
	if !ok {
		return nil, newParseError(q, 0, "a log query (stream selector and pipeline) is required, not a metric query")
	}
	return le, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return newParseError(p.q, pos, format, args...)
}

func (p *parser) unexpected(t token, expected string) error {
	return p.errAt(t.pos, "unexpected %s, expected %s", t.describe(), expected)
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, p.unexpected(t, what)
	}
	return t, nil
}

func (p *parser) isIdent(s string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == s
}

// binOp returns the binary operator at the current token, if any.
func (p *parser) binOp() (string, bool) {
	t := p.peek()
	switch t.kind {
	case tAdd, tSub, tMul, tDiv, tMod, tPow, tEqlEql, tNeq, tGtr, tGte, tLss, tLte:
		return t.text, true
	case tIdent:
		if t.text == "and" || t.text == "or" || t.text == "unless" {
			return t.text, true
		}
	}
	return "", false
}

func (p *parser) parseExpr(minPrec int) (Expr, error) {
	lhs, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.binOp()
		if !ok || binPrec[op] < minPrec {
			return lhs, nil
		}
		opTok := p.next()
		be := &BinaryExpr{Op: op}
		if p.isIdent("bool") {
			p.next()
			be.ReturnBool = true
		}
		if p.isIdent("on") || p.isIdent("ignoring") {
			be.Matching = &VectorMatching{On: p.next().text == "on"}
			if be.Matching.Labels, err = p.parseLabelList(); err != nil {
				return nil, err
			}
			if p.isIdent("group_left") || p.isIdent("group_right") {
				be.Matching.Card = p.next().text
				if p.peek().kind == tLParen {
					if be.Matching.Include, err = p.parseLabelList(); err != nil {
						return nil, err
					}
				}
			}
		}
		next := binPrec[op] + 1
		if op == "^" { // right-associative
			next = binPrec[op]
		}
		rhs, err := p.parseExpr(next)
		if err != nil {
			return nil, err
		}
		l, lok := lhs.(SampleExpr)
		r, rok := rhs.(SampleExpr)
		if !lok || !rok {
			return nil, p.errAt(opTok.pos, "binary operator %q needs metric queries on both sides, not log queries", op)
		}
		if be.ReturnBool && binPrec[op] != 3 {
			return nil, p.errAt(opTok.pos, "bool modifier is only allowed on comparison operators")
		}
		_, lnum := l.(*NumberLiteral)
		_, rnum := r.(*NumberLiteral)
		if binPrec[op] <= 2 && (lnum || rnum) {
			return nil, p.errAt(opTok.pos, "set operator %q is not allowed between a scalar and a vector", op)
		}
		if binPrec[op] == 3 && lnum && rnum && !be.ReturnBool {
			return nil, p.errAt(opTok.pos, "comparisons between scalars must use the bool modifier")
		}
		be.LHS, be.RHS = l, r
		lhs = be
	}
}

func (p *parser) parseUnary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tAdd, tSub:
		p.next()
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if n, ok := e.(*NumberLiteral); ok {
			if t.kind == tSub {
				n.Val = -n.Val
			}
			return n, nil
		}
		se, ok := e.(SampleExpr)
		if !ok {
			return nil, p.errAt(t.pos, "unary %s needs a metric query, not a log query", t.text)
		}
		if t.kind == tAdd {
			return se, nil
		}
		return &BinaryExpr{Op: "*", LHS: se, RHS: &NumberLiteral{Val: -1}}, nil
	case tNumber:
		p.next()
		return &NumberLiteral{Val: parseNumber(t.text)}, nil
	case tLBrace:
		return p.parseLogExpr(false)
	case tLParen:
		p.next()
		e, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		if p.peek().kind == tLBracket {
			return nil, p.errAt(p.peek().pos, "a range [..] is only allowed inside a range aggregation such as count_over_time")
		}
		return e, nil
	case tIdent:
		switch {
		case RangeFunctions[t.text] != nil:
			return p.parseRangeAggr()
		case vectorOps[t.text]:
			return p.parseVectorAggr()
		case t.text == "vector":
			p.next()
			if _, err := p.expect(tLParen, "'(' after vector"); err != nil {
				return nil, err
			}
			v, err := p.parseSignedNumber()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tRParen, "')'"); err != nil {
				return nil, err
			}
			return &VectorLiteral{Val: v}, nil
		case t.text == "label_replace":
			return p.parseLabelReplace()
		}
	}
	return nil, p.unexpected(t, "a stream selector '{...}', a number, '(' or a function such as count_over_time, rate, sum")
}

func (p *parser) parseSignedNumber() (float64, error) {
	sign := 1.0
	if p.peek().kind == tSub {
		p.next()
		sign = -1
	} else if p.peek().kind == tAdd {
		p.next()
	}
	t := p.next()
	if t.kind != tNumber {
		return 0, p.unexpected(t, "a number")
	}
	return sign * parseNumber(t.text), nil
}

func (p *parser) parseLabelList() ([]string, error) {
	if _, err := p.expect(tLParen, "'(' and a list of label names"); err != nil {
		return nil, err
	}
	var out []string
	for p.peek().kind != tRParen {
		if len(out) > 0 {
			if _, err := p.expect(tComma, "',' or ')'"); err != nil {
				return nil, err
			}
			if p.peek().kind == tRParen {
				break
			}
		}
		t := p.next()
		if t.kind != tIdent {
			return nil, p.unexpected(t, "a label name")
		}
		out = append(out, t.text)
	}
	p.next()
	return out, nil
}

func (p *parser) parseGrouping() (*Grouping, error) {
	if !p.isIdent("by") && !p.isIdent("without") {
		return nil, nil
	}
	g := &Grouping{Without: p.next().text == "without"}
	ls, err := p.parseLabelList()
	if err != nil {
		return nil, err
	}
	g.Labels = ls
	return g, nil
}

func (p *parser) parseVectorAggr() (Expr, error) {
	opTok := p.next()
	e := &VectorAggr{Op: opTok.text}
	g, err := p.parseGrouping()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tLParen, fmt.Sprintf("'(' after %s", e.Op)); err != nil {
		return nil, err
	}
	if e.Op == "topk" || e.Op == "bottomk" {
		t := p.peek()
		k, err := p.parseSignedNumber()
		if err != nil {
			return nil, err
		}
		if k < 1 || k != math.Trunc(k) {
			return nil, p.errAt(t.pos, "%s needs a positive integer k, got %v", e.Op, k)
		}
		e.Param = k
		if _, err := p.expect(tComma, "',' after the k of "+e.Op); err != nil {
			return nil, err
		}
	}
	inner := p.peek()
	x, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	se, ok := x.(SampleExpr)
	if !ok {
		return nil, p.errAt(inner.pos, "%s needs a metric query such as count_over_time(%s [5m]), not a log query", e.Op, x.String())
	}
	if _, ok := se.(*NumberLiteral); ok {
		return nil, p.errAt(inner.pos, "%s needs a vector, not a scalar", e.Op)
	}
	e.Expr = se
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	if g == nil {
		if g, err = p.parseGrouping(); err != nil {
			return nil, err
		}
	} else if p.isIdent("by") || p.isIdent("without") {
		return nil, p.errAt(p.peek().pos, "grouping given twice")
	}
	if g != nil && (e.Op == "sort" || e.Op == "sort_desc") {
		return nil, p.errAt(opTok.pos, "%s does not take by or without", e.Op)
	}
	e.Grouping = g
	return e, nil
}

func (p *parser) parseLabelReplace() (Expr, error) {
	start := p.next()
	if _, err := p.expect(tLParen, "'(' after label_replace"); err != nil {
		return nil, err
	}
	inner := p.peek()
	x, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	se, ok := x.(SampleExpr)
	if !ok {
		return nil, p.errAt(inner.pos, "label_replace needs a metric query")
	}
	lr := &LabelReplace{Expr: se}
	for _, dst := range []*string{&lr.Dst, &lr.Replacement, &lr.Src, &lr.Re} {
		if _, err := p.expect(tComma, "','"); err != nil {
			return nil, err
		}
		t, err := p.expect(tString, "a string")
		if err != nil {
			return nil, err
		}
		*dst = t.text
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	re, err := regexp.Compile("^(?s:" + lr.Re + ")$")
	if err != nil {
		return nil, p.errAt(start.pos, "label_replace regex: %v", err)
	}
	lr.re = re
	return lr, nil
}

func (p *parser) parseRangeAggr() (Expr, error) {
	opTok := p.next()
	fn := RangeFunctions[opTok.text]
	e := &RangeAggr{Op: opTok.text, Func: fn}
	if _, err := p.expect(tLParen, fmt.Sprintf("'(' after %s", e.Op)); err != nil {
		return nil, err
	}
	if fn.CheckParam != nil {
		t := p.peek()
		v, err := p.parseSignedNumber()
		if err != nil {
			return nil, err
		}
		if err := fn.CheckParam(v); err != nil {
			return nil, p.errAt(t.pos, "%v", err)
		}
		e.Param = v
		if _, err := p.expect(tComma, "','"); err != nil {
			return nil, err
		}
	}
	// The log range: {sel} pipeline [unwrap] [d]  or  ({sel} pipeline [unwrap])[d]
	inner := p.peek()
	var le *LogExpr
	var err error
	if inner.kind == tLParen {
		p.next()
		x, err := p.parseLogExpr(true)
		if err != nil {
			return nil, err
		}
		le = x
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
	} else if inner.kind == tLBrace {
		if le, err = p.parseLogExpr(true); err != nil {
			return nil, err
		}
	} else {
		return nil, p.unexpected(inner, fmt.Sprintf("a log range such as {app=\"x\"} [5m] inside %s", e.Op))
	}
	if n := len(le.Stages); n > 0 {
		if u, ok := le.Stages[n-1].(*Unwrap); ok {
			e.Unwrap = u
			le.Stages = le.Stages[:n-1]
		}
	}
	e.Log = le
	if _, err := p.expect(tLBracket, "a range such as [5m]"); err != nil {
		return nil, err
	}
	dt, err := p.expect(tDuration, "a duration such as 5m")
	if err != nil {
		return nil, err
	}
	e.Range, _ = ParseDuration(dt.text)
	if e.Range <= 0 {
		return nil, p.errAt(dt.pos, "range must be positive")
	}
	if _, err := p.expect(tRBracket, "']'"); err != nil {
		return nil, err
	}
	if p.isIdent("offset") {
		p.next()
		neg := false
		if p.peek().kind == tSub {
			p.next()
			neg = true
		}
		ot, err := p.expect(tDuration, "a duration after offset")
		if err != nil {
			return nil, err
		}
		e.Offset, _ = ParseDuration(ot.text)
		if neg {
			e.Offset = -e.Offset
		}
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	if e.Grouping, err = p.parseGrouping(); err != nil {
		return nil, err
	}
	switch fn.Unwrap {
	case UnwrapNever:
		if e.Unwrap != nil {
			return nil, p.errAt(opTok.pos, "%s does not take | unwrap", e.Op)
		}
	case UnwrapRequired:
		if e.Unwrap == nil {
			return nil, p.errAt(opTok.pos, "%s needs an unwrapped label: add | unwrap <label> before the range", e.Op)
		}
	}
	if e.Grouping != nil && e.Unwrap == nil {
		return nil, p.errAt(opTok.pos, "by/without on %s is only allowed with | unwrap; use a vector aggregation such as sum by (...) (%s(...))", e.Op, e.Op)
	}
	return e, nil
}

// parseLogExpr parses a stream selector and its pipeline. In a range
// aggregation (inRange), | unwrap is allowed as the last stage.
func (p *parser) parseLogExpr(inRange bool) (*LogExpr, error) {
	lb, err := p.expect(tLBrace, "'{'")
	if err != nil {
		return nil, err
	}
	e := &LogExpr{}
	for p.peek().kind != tRBrace {
		if len(e.Matchers) > 0 {
			if _, err := p.expect(tComma, "',' or '}'"); err != nil {
				return nil, err
			}
		}
		m, err := p.parseMatcher()
		if err != nil {
			return nil, err
		}
		e.Matchers = append(e.Matchers, m)
	}
	p.next()
	if len(e.Matchers) == 0 {
		return nil, p.errAt(lb.pos, "a stream selector needs at least one matcher, such as {app=\"api\"}")
	}
	nonEmpty := false
	for _, m := range e.Matchers {
		if !m.MatchesEmpty() {
			nonEmpty = true
		}
	}
	if !nonEmpty {
		return nil, p.errAt(lb.pos, "queries require at least one regexp or equality matcher that does not match the empty string, such as {app=\"api\"} or {app=~\".+\"}")
	}
	for {
		t := p.peek()
		switch t.kind {
		case tPipeEq, tNeq, tPipeRe, tNre, tPipeGt, tNotGt:
			f, err := p.parseLineFilter()
			if err != nil {
				return nil, err
			}
			e.Stages = append(e.Stages, f)
			continue
		case tPipe:
		default:
			return e, nil
		}
		p.next()
		st, err := p.parseStage(inRange)
		if err != nil {
			return nil, err
		}
		e.Stages = append(e.Stages, st)
		if u, ok := st.(*Unwrap); ok {
			// Only label filters may follow unwrap.
			for p.peek().kind == tPipe {
				p.next()
				f, err := p.parseLabelFilterOr()
				if err != nil {
					return nil, err
				}
				u.Filters = append(u.Filters, f)
			}
			return e, nil
		}
	}
}

func (p *parser) parseMatcher() (*Matcher, error) {
	nt := p.next()
	if nt.kind != tIdent {
		return nil, p.unexpected(nt, "a label name")
	}
	ot := p.next()
	var mt MatchType
	switch ot.kind {
	case tEq:
		mt = MatchEqual
	case tNeq:
		mt = MatchNotEqual
	case tRe:
		mt = MatchRegexp
	case tNre:
		mt = MatchNotRegexp
	default:
		return nil, p.unexpected(ot, "one of '=', '!=', '=~', '!~'")
	}
	vt, err := p.expect(tString, "a quoted string")
	if err != nil {
		return nil, err
	}
	m, err := NewMatcher(mt, nt.text, vt.text)
	if err != nil {
		return nil, p.errAt(vt.pos, "invalid regular expression %q: %v", vt.text, err)
	}
	return m, nil
}

func (p *parser) parseLineFilter() (*LineFilter, error) {
	ot := p.next()
	f := &LineFilter{}
	switch ot.kind {
	case tPipeEq:
		f.Op = LineContains
	case tNeq:
		f.Op = LineNotContains
	case tPipeRe:
		f.Op = LineRegexp
	case tNre:
		f.Op = LineNotRegexp
	case tPipeGt:
		f.Op = LinePattern
	default:
		f.Op = LineNotPattern
	}
	for {
		vt := p.peek()
		if vt.kind == tIdent && vt.text == "ip" && (f.Op == LineContains || f.Op == LineNotContains) {
			p.next()
			s, ipm, err := p.parseIPArg()
			if err != nil {
				return nil, err
			}
			f.IP = true
			f.ips = append(f.ips, ipm)
			f.Values = append(f.Values, s)
		} else {
			if vt.kind != tString {
				return nil, p.unexpected(vt, fmt.Sprintf("a quoted string after %s", ot.text))
			}
			p.next()
			switch f.Op {
			case LineRegexp, LineNotRegexp:
				re, err := regexp.Compile(vt.text)
				if err != nil {
					return nil, p.errAt(vt.pos, "invalid regular expression %q: %v", vt.text, err)
				}
				f.res = append(f.res, re)
			case LinePattern, LineNotPattern:
				pat, err := parsePattern(vt.text)
				if err != nil {
					return nil, p.errAt(vt.pos, "invalid pattern %q: %v", vt.text, err)
				}
				f.patterns = append(f.patterns, pat)
			}
			f.Values = append(f.Values, vt.text)
		}
		// "or" followed by another value is an alternative of this filter.
		if p.isIdent("or") && (p.peekAt(1).kind == tString || p.peekAt(1).kind == tIdent && p.peekAt(1).text == "ip") {
			if f.IP != (p.peekAt(1).kind == tIdent) {
				return nil, p.errAt(p.peekAt(1).pos, "cannot mix ip() and strings in one line filter")
			}
			p.next()
			continue
		}
		return f, nil
	}
}

func (p *parser) parseStage(inRange bool) (Stage, error) {
	t := p.peek()
	if t.kind == tIdent {
		switch t.text {
		case "json", "logfmt", "unpack":
			if isLabelCompareTok(p.peekAt(1).kind) {
				break // a label filter on a label called json/logfmt
			}
			return p.parseKVParser()
		case "regexp", "pattern":
			if p.peekAt(1).kind != tString {
				break
			}
			p.next()
			s := p.next()
			ps := &ParserStage{Kind: ParserKind(t.text), Param: s.text}
			if t.text == "regexp" {
				re, err := regexp.Compile(s.text)
				if err != nil {
					return nil, p.errAt(s.pos, "invalid regular expression %q: %v", s.text, err)
				}
				named := false
				for _, n := range re.SubexpNames() {
					if n != "" {
						named = true
						if !validLabelName(n) {
							return nil, p.errAt(s.pos, "capture name %q is not a valid label name", n)
						}
					}
				}
				if !named {
					return nil, p.errAt(s.pos, "regexp parser needs at least one named capture such as (?P<name>...)")
				}
				ps.re = re
			} else {
				pat, err := parsePattern(s.text)
				if err != nil {
					return nil, p.errAt(s.pos, "invalid pattern %q: %v", s.text, err)
				}
				if len(pat.names()) == 0 {
					return nil, p.errAt(s.pos, "pattern needs at least one named capture such as <name>")
				}
				ps.pat = pat
			}
			return ps, nil
		case "line_format":
			if p.peekAt(1).kind != tString {
				break
			}
			p.next()
			s := p.next()
			tm, err := compileTemplate(s.text)
			if err != nil {
				return nil, p.errAt(s.pos, "invalid line_format template: %v", err)
			}
			return &LineFormat{Template: s.text, tmpl: tm}, nil
		case "label_format":
			if p.peekAt(1).kind != tIdent {
				break
			}
			p.next()
			return p.parseLabelFormat()
		case "drop", "keep":
			if p.peekAt(1).kind != tIdent {
				break
			}
			p.next()
			return p.parseDropKeep(t.text == "keep")
		case "decolorize":
			if !isLabelCompareTok(p.peekAt(1).kind) {
				p.next()
				return Decolorize{}, nil
			}
		case "unwrap":
			if p.peekAt(1).kind != tIdent {
				break
			}
			if !inRange {
				return nil, p.errAt(t.pos, "| unwrap is only allowed inside a range aggregation such as sum_over_time")
			}
			p.next()
			return p.parseUnwrap()
		}
	}
	if t.kind != tIdent && t.kind != tLParen {
		return nil, p.unexpected(t, "a parser (json, logfmt, regexp, pattern, unpack), line_format, label_format, drop, keep, decolorize, unwrap or a label filter after '|'")
	}
	f, err := p.parseLabelFilterOr()
	if err != nil {
		return nil, err
	}
	return &LabelFilterStage{Filter: f}, nil
}

func (p *parser) parseKVParser() (Stage, error) {
	kt := p.next()
	ps := &ParserStage{Kind: ParserKind(kt.text)}
	if ps.Kind == ParserLogfmt {
		for p.peek().kind == tSub && p.peekAt(1).kind == tSub {
			ft := p.peek()
			p.next()
			p.next()
			flag := p.next()
			switch {
			case flag.kind == tIdent && flag.text == "strict":
				ps.Strict = true
			case flag.kind == tIdent && flag.text == "keep" && p.peek().kind == tSub && p.peekAt(1).kind == tIdent && p.peekAt(1).text == "empty":
				p.next()
				p.next()
				ps.KeepEmpty = true
			default:
				return nil, p.errAt(ft.pos, "unknown logfmt flag: want --strict or --keep-empty")
			}
		}
	}
	if ps.Kind == ParserUnpack {
		return ps, nil
	}
	for p.peek().kind == tIdent && (len(ps.Extractions) == 0 || true) {
		nt := p.peek()
		// A following label filter (| json | a="b") starts after a pipe, so an
		// identifier here is always a parameter.
		p.next()
		x := Extraction{Label: nt.text, Expr: nt.text}
		if p.peek().kind == tEq {
			p.next()
			vt, err := p.expect(tString, "a quoted expression")
			if err != nil {
				return nil, err
			}
			x.Expr = vt.text
		}
		if !validLabelName(x.Label) {
			return nil, p.errAt(nt.pos, "%q is not a valid label name", x.Label)
		}
		if ps.Kind == ParserJSON {
			path, err := parseJSONPath(x.Expr)
			if err != nil {
				return nil, p.errAt(nt.pos, "invalid JSON expression %q: %v", x.Expr, err)
			}
			ps.jpaths = append(ps.jpaths, path)
		}
		ps.Extractions = append(ps.Extractions, x)
		if ps.Kind == ParserLogfmt {
			if ps.logfmtKeys == nil {
				ps.logfmtKeys = map[string]string{}
			}
			ps.logfmtKeys[x.Expr] = x.Label
		}
		if p.peek().kind != tComma {
			break
		}
		p.next()
		if p.peek().kind != tIdent {
			return nil, p.unexpected(p.peek(), "a label name after ','")
		}
	}
	return ps, nil
}

func (p *parser) parseLabelFormat() (Stage, error) {
	lf := &LabelFormat{}
	seen := map[string]bool{}
	for {
		dt, err := p.expect(tIdent, "a label name")
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tEq, "'='"); err != nil {
			return nil, err
		}
		if seen[dt.text] {
			return nil, p.errAt(dt.pos, "label_format sets %q twice", dt.text)
		}
		seen[dt.text] = true
		vt := p.next()
		it := LabelFormatItem{Dst: dt.text, Src: vt.text}
		switch vt.kind {
		case tIdent:
		case tString:
			it.Template = true
			tm, err := compileTemplate(vt.text)
			if err != nil {
				return nil, p.errAt(vt.pos, "invalid label_format template: %v", err)
			}
			it.tmpl = tm
		default:
			return nil, p.unexpected(vt, "a label name or a quoted template")
		}
		lf.Items = append(lf.Items, it)
		if p.peek().kind != tComma {
			return lf, nil
		}
		p.next()
	}
}

func (p *parser) parseDropKeep(keep bool) (Stage, error) {
	s := &DropKeep{Keep: keep}
	for {
		nt, err := p.expect(tIdent, "a label name")
		if err != nil {
			return nil, err
		}
		it := DropKeepItem{Name: nt.text}
		switch p.peek().kind {
		case tEq, tNeq, tRe, tNre:
			p.i--
			m, err := p.parseMatcher()
			if err != nil {
				return nil, err
			}
			it.Matcher = m
		}
		s.Items = append(s.Items, it)
		if p.peek().kind != tComma {
			return s, nil
		}
		p.next()
	}
}

func (p *parser) parseUnwrap() (Stage, error) {
	t := p.next()
	u := &Unwrap{Label: t.text}
	if (t.text == "bytes" || t.text == "duration" || t.text == "duration_seconds") && p.peek().kind == tLParen {
		p.next()
		lt, err := p.expect(tIdent, "a label name")
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		u.Conv, u.Label = t.text, lt.text
	}
	return u, nil
}

// parseIPArg parses the ("address, range or CIDR") after ip, in line
// filters (|= ip(...)) and label filters (addr = ip(...)) alike.
func (p *parser) parseIPArg() (string, ipMatcher, error) {
	if _, err := p.expect(tLParen, "'(' after ip"); err != nil {
		return "", ipMatcher{}, err
	}
	s, err := p.expect(tString, "an address, range or CIDR in quotes")
	if err != nil {
		return "", ipMatcher{}, err
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return "", ipMatcher{}, err
	}
	ipm, err := parseIPMatcher(s.text)
	if err != nil {
		return "", ipMatcher{}, p.errAt(s.pos, "%v", err)
	}
	return s.text, ipm, nil
}

// parseLabelFilterOr parses filters joined by "or" (lowest precedence).
func (p *parser) parseLabelFilterOr() (LabelFilter, error) {
	l, err := p.parseLabelFilterAnd()
	if err != nil {
		return nil, err
	}
	for p.isIdent("or") {
		p.next()
		r, err := p.parseLabelFilterAnd()
		if err != nil {
			return nil, err
		}
		l = &BinaryLabelFilter{Left: l, Right: r}
	}
	return l, nil
}

// parseLabelFilterAnd parses filters joined by "and", ',' or a space.
func (p *parser) parseLabelFilterAnd() (LabelFilter, error) {
	l, err := p.parseLabelFilterPrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isIdent("and"), p.peek().kind == tComma:
			p.next()
		case p.peek().kind == tLParen,
			p.peek().kind == tIdent && !p.isIdent("or") && isCompareTok(p.peekAt(1).kind):
		default:
			return l, nil
		}
		r, err := p.parseLabelFilterPrimary()
		if err != nil {
			return nil, err
		}
		l = &BinaryLabelFilter{And: true, Left: l, Right: r}
	}
}

// isLabelCompareTok reports whether k after a stage keyword makes it a
// label filter on a label of that name: != and !~ after a keyword are line
// filters, as in Loki, where the keywords are reserved.
func isLabelCompareTok(k tokKind) bool {
	return isCompareTok(k) && k != tNeq && k != tNre
}

func isCompareTok(k tokKind) bool {
	switch k {
	case tEq, tNeq, tRe, tNre, tEqlEql, tGtr, tGte, tLss, tLte:
		return true
	}
	return false
}

func (p *parser) parseLabelFilterPrimary() (LabelFilter, error) {
	if p.peek().kind == tLParen {
		p.next()
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		return f, nil
	}
	nt := p.next()
	if nt.kind != tIdent {
		return nil, p.unexpected(nt, "a label name or '('")
	}
	ot := p.next()
	if !isCompareTok(ot.kind) {
		return nil, p.unexpected(ot, fmt.Sprintf("a comparison after label %q: one of = != =~ !~ == > >= < <=", nt.text))
	}
	vt := p.next()
	switch vt.kind {
	case tString:
		var mt MatchType
		switch ot.kind {
		case tEq, tEqlEql:
			mt = MatchEqual
		case tNeq:
			mt = MatchNotEqual
		case tRe:
			mt = MatchRegexp
		case tNre:
			mt = MatchNotRegexp
		default:
			return nil, p.errAt(ot.pos, "operator %s compares numbers, durations or byte sizes, not the string %q", ot.text, vt.text)
		}
		value := vt.text
		if nt.text == TraceIDLabel && (mt == MatchEqual || mt == MatchNotEqual) {
			value = NormalizeTraceID(value) // 16 digits are the 32 zero-padded
		}
		m, err := NewMatcher(mt, nt.text, value)
		if err != nil {
			return nil, p.errAt(vt.pos, "invalid regular expression %q: %v", vt.text, err)
		}
		return &StringLabelFilter{Matcher: m}, nil
	case tIdent:
		if vt.text == "ip" && (ot.kind == tEq || ot.kind == tNeq) {
			s, ipm, err := p.parseIPArg()
			if err != nil {
				return nil, err
			}
			return &IPLabelFilter{Name: nt.text, Negate: ot.kind == tNeq, Value: s, ip: ipm}, nil
		}
	case tNumber, tDuration, tBytes, tSub:
		if ot.kind == tRe || ot.kind == tNre {
			return nil, p.errAt(ot.pos, "operator %s needs a quoted regular expression", ot.text)
		}
		text := vt.text
		sign := 1.0
		if vt.kind == tSub {
			vt = p.next()
			if vt.kind != tNumber && vt.kind != tDuration && vt.kind != tBytes {
				return nil, p.unexpected(vt, "a number, duration or byte size")
			}
			text, sign = "-"+vt.text, -1
		}
		f := &NumericLabelFilter{Name: nt.text, Op: CompareOp(ot.text), Kind: vt.kind, Text: text}
		if ot.kind == tEq {
			f.Op = "=="
		}
		switch vt.kind {
		case tNumber:
			f.Value = parseNumber(vt.text)
		case tDuration:
			d, _ := ParseDuration(vt.text)
			f.Value = d.Seconds()
		case tBytes:
			b, _ := ParseBytes(vt.text)
			f.Value = float64(b)
		}
		f.Value *= sign
		return f, nil
	}
	return nil, p.unexpected(vt, "a quoted string, number, duration, byte size or ip(\"...\")")
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlpha(c) || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ParseDuration parses Go durations (1.5h, 300ms) and Prometheus ones with
// days, weeks and years (1d, 2w, 1y2d).
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	orig := s
	var total float64
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		var unit time.Duration
		switch s[:j] {
		case "y":
			unit = 365 * 24 * time.Hour
		case "w":
			unit = 7 * 24 * time.Hour
		case "d":
			unit = 24 * time.Hour
		case "h":
			unit = time.Hour
		case "m":
			unit = time.Minute
		case "s":
			unit = time.Second
		case "ms":
			unit = time.Millisecond
		case "us", "µs":
			unit = time.Microsecond
		case "ns":
			unit = 1
		default:
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		total += n * float64(unit)
		s = s[j:]
	}
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("duration %q too large", orig)
	}
	return time.Duration(total), nil
}

// ParseBytes parses a humanized byte size (10KB, 1.5MiB, 3b).
func ParseBytes(s string) (uint64, error) {
	if s == "" || !(s[0] >= '0' && s[0] <= '9' || s[0] == '.') || strings.ContainsAny(s, " ,") {
		return 0, fmt.Errorf("invalid byte size %q", s)
	}
	last := s[len(s)-1]
	if !(last == 'b' || last == 'B') {
		return 0, fmt.Errorf("invalid byte size %q: want a unit such as B, KB, MiB", s)
	}
	return humanize.ParseBytes(s)
}
