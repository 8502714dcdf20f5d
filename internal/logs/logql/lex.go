package logql

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber   // 12, 1.5, 0x1f, 1e3
	tDuration // 5m, 1h30m, 100ms
	tBytes    // 10KB, 1.5MiB
	tLBrace
	tRBrace
	tLParen
	tRParen
	tLBracket
	tRBracket
	tComma
	tEq     // =
	tNeq    // !=
	tRe     // =~
	tNre    // !~
	tPipeEq // |=
	tPipeRe // |~
	tPipeGt // |>
	tNotGt  // !>
	tPipe   // |
	tAdd    // +
	tSub    // -
	tMul    // *
	tDiv    // /
	tMod    // %
	tPow    // ^
	tEqlEql // ==
	tGtr    // >
	tGte    // >=
	tLss    // <
	tLte    // <=
)

var tokNames = map[tokKind]string{
	tEOF: "end of query", tIdent: "identifier", tString: "string", tNumber: "number",
	tDuration: "duration", tBytes: "bytes", tLBrace: "'{'", tRBrace: "'}'", tLParen: "'('",
	tRParen: "')'", tLBracket: "'['", tRBracket: "']'", tComma: "','", tEq: "'='", tNeq: "'!='",
	tRe: "'=~'", tNre: "'!~'", tPipeEq: "'|='", tPipeRe: "'|~'", tPipeGt: "'|>'", tNotGt: "'!>'",
	tPipe: "'|'", tAdd: "'+'", tSub: "'-'", tMul: "'*'", tDiv: "'/'", tMod: "'%'", tPow: "'^'",
	tEqlEql: "'=='", tGtr: "'>'", tGte: "'>='", tLss: "'<'", tLte: "'<='",
}

func (k tokKind) String() string { return tokNames[k] }

type token struct {
	kind tokKind
	pos  int    // byte offset in the query
	text string // raw text; for strings the unquoted value
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return fmt.Sprintf("string %q", t.text)
	case tIdent, tNumber, tDuration, tBytes:
		return fmt.Sprintf("%s %q", t.kind, t.text)
	}
	return t.kind.String()
}

// ParseError is a syntax or semantic error in a query, with its position.
type ParseError struct {
	Pos       int // byte offset
	Line, Col int // 1-based
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

func newParseError(query string, pos int, format string, args ...any) *ParseError {
	if pos > len(query) {
		pos = len(query)
	}
	line, col := 1, 1
	for _, r := range query[:pos] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &ParseError{Pos: pos, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func lex(q string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
			i++
		}
		if i < len(q) && q[i] == '#' { // comment to end of line
			for i < len(q) && q[i] != '\n' {
				i++
			}
			continue
		}
		if i >= len(q) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		c := q[i]
		start := i
		two := ""
		if i+1 < len(q) {
			two = q[i : i+2]
		}
		op := func(k tokKind, n int) {
			toks = append(toks, token{kind: k, pos: start, text: q[i : i+n]})
			i += n
		}
		switch {
		case two == "|=":
			op(tPipeEq, 2)
		case two == "|~":
			op(tPipeRe, 2)
		case two == "|>":
			op(tPipeGt, 2)
		case two == "!=":
			op(tNeq, 2)
		case two == "!~":
			op(tNre, 2)
		case two == "!>":
			op(tNotGt, 2)
		case two == "=~":
			op(tRe, 2)
		case two == "==":
			op(tEqlEql, 2)
		case two == ">=":
			op(tGte, 2)
		case two == "<=":
			op(tLte, 2)
		case c == '|':
			op(tPipe, 1)
		case c == '=':
			op(tEq, 1)
		case c == '>':
			op(tGtr, 1)
		case c == '<':
			op(tLss, 1)
		case c == '{':
			op(tLBrace, 1)
		case c == '}':
			op(tRBrace, 1)
		case c == '(':
			op(tLParen, 1)
		case c == ')':
			op(tRParen, 1)
		case c == '[':
			op(tLBracket, 1)
		case c == ']':
			op(tRBracket, 1)
		case c == ',':
			op(tComma, 1)
		case c == '+':
			op(tAdd, 1)
		case c == '-':
			op(tSub, 1)
		case c == '*':
			op(tMul, 1)
		case c == '/':
			op(tDiv, 1)
		case c == '%':
			op(tMod, 1)
		case c == '^':
			op(tPow, 1)
		case c == '"':
			j := i + 1
			for j < len(q) && q[j] != '"' {
				if q[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(q) {
				return nil, newParseError(q, start, "unterminated string")
			}
			s, err := strconv.Unquote(q[i : j+1])
			if err != nil {
				return nil, newParseError(q, start, "invalid escape sequence in string %s", q[i:j+1])
			}
			toks = append(toks, token{kind: tString, pos: start, text: s})
			i = j + 1
		case c == '`':
			j := strings.IndexByte(q[i+1:], '`')
			if j < 0 {
				return nil, newParseError(q, start, "unterminated raw string")
			}
			toks = append(toks, token{kind: tString, pos: start, text: q[i+1 : i+1+j]})
			i += j + 2
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			j := i
			for j < len(q) && (isAlnum(q[j]) || q[j] == '.' ||
				(q[j] == '+' || q[j] == '-') && j > i && (q[j-1] == 'e' || q[j-1] == 'E') && !strings.ContainsAny(q[i:j], "xX")) {
				j++
			}
			text := q[i:j]
			kind, err := classifyNumber(text)
			if err != nil {
				return nil, newParseError(q, start, "%v", err)
			}
			toks = append(toks, token{kind: kind, pos: start, text: text})
			i = j
		case isAlpha(c):
			j := i
			for j < len(q) && (isAlnum(q[j]) || q[j] == ':') {
				j++
			}
			toks = append(toks, token{kind: tIdent, pos: start, text: q[i:j]})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(q[i:])
			return nil, newParseError(q, start, "unexpected character %q", r)
		}
	}
}

func isAlpha(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isAlpha(c) || (c >= '0' && c <= '9') }

func classifyNumber(text string) (tokKind, error) {
	if _, err := strconv.ParseFloat(text, 64); err == nil {
		return tNumber, nil
	}
	if strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X") {
		if _, err := strconv.ParseInt(text[2:], 16, 64); err == nil {
			return tNumber, nil
		}
	}
	if _, err := ParseDuration(text); err == nil {
		return tDuration, nil
	}
	if _, err := ParseBytes(text); err == nil {
		return tBytes, nil
	}
	return 0, fmt.Errorf("%q is not a number, duration (5m, 1h30m) or byte size (10KB, 1.5MiB)", text)
}

func parseNumber(text string) float64 {
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		return f
	}
	n, _ := strconv.ParseInt(text[2:], 16, 64)
	return float64(n)
}
