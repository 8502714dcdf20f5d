// Package condition parses and evaluates Gatus-style probe conditions:
//
//	[STATUS] == 200
//	[STATUS] == any(200, 201)
//	[RESPONSE_TIME] < 300              (milliseconds)
//	[BODY] == pong
//	[BODY].status == UP                (a path into a JSON body: .a.b[0].c)
//	len([BODY].items) > 0
//	has([BODY].errors) == false
//	[BODY].name == pat(api-*)          (* matches any run of characters)
//	[CERTIFICATE_EXPIRATION] > 48h     (durations: 48h, 7d, 1w, 90m; a bare number is milliseconds)
//	[DNS_RCODE] == NOERROR
//	[CONNECTED] == true
//	[IP] == 127.0.0.1
//
// Operators are == != < <= > >=. A condition names itself by its text, so a
// failing one is reported as it was written.
package condition

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Placeholder is the value a condition tests.
type Placeholder int

// Placeholders.
const (
	Status Placeholder = iota + 1
	ResponseTime
	Body
	CertificateExpiration
	DNSRcode
	Connected
	IP
)

var placeholderNames = map[string]Placeholder{
	"[STATUS]":                 Status,
	"[RESPONSE_TIME]":          ResponseTime,
	"[BODY]":                   Body,
	"[CERTIFICATE_EXPIRATION]": CertificateExpiration,
	"[DNS_RCODE]":              DNSRcode,
	"[CONNECTED]":              Connected,
	"[IP]":                     IP,
}

func (p Placeholder) String() string {
	for n, v := range placeholderNames {
		if v == p {
			return n
		}
	}
	return "[?]"
}

// Func is a function applied to the placeholder.
type Func string

// Functions on the left side.
const (
	NoFunc Func = ""
	Len    Func = "len"
	Has    Func = "has"
)

// Condition is one parsed condition.
type Condition struct {
	Text        string // as written, trimmed: the condition's name
	Func        Func
	Placeholder Placeholder
	Path        []PathElem // into a JSON body; only with Body
	Op          string     // == != < <= > >=
	// Right side: one value, or several for any(), or a pattern for pat().
	Values  []string
	Any     bool
	Pattern bool
}

// PathElem is one step of a JSON path: a key or, when Index >= 0, an array
// index.
type PathElem struct {
	Key   string
	Index int
}

// ErrSyntax wraps every parse error.
var ErrSyntax = errors.New("invalid condition")

func syntaxErr(text, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrSyntax, text, fmt.Sprintf(format, args...))
}

var operators = []string{"==", "!=", "<=", ">=", "<", ">"}

// Parse parses one condition.
func Parse(text string) (*Condition, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, syntaxErr(text, "empty; want e.g. [STATUS] == 200")
	}
	i, op := findOperator(text)
	if i == -2 {
		return nil, syntaxErr(text, "a [ or ( is not closed")
	}
	if i < 0 {
		return nil, syntaxErr(text, "no operator; want one of == != < <= > >= between a placeholder and a value, e.g. [STATUS] == 200")
	}
	left := strings.TrimSpace(text[:i])
	right := strings.TrimSpace(text[i+len(op):])
	c := &Condition{Text: text, Op: op}
	if err := c.parseLeft(left); err != nil {
		return nil, err
	}
	if err := c.parseRight(right); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// findOperator returns the first operator outside brackets and parentheses.
func findOperator(s string) (int, string) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '(':
			depth++
			continue
		case ']', ')':
			depth--
			continue
		}
		if depth != 0 {
			continue
		}
		for _, op := range operators {
			if strings.HasPrefix(s[i:], op) {
				return i, op
			}
		}
	}
	if depth != 0 {
		return -2, ""
	}
	return -1, ""
}

func (c *Condition) parseLeft(s string) error {
	if s == "" {
		return syntaxErr(c.Text, "nothing left of %s; want a placeholder such as [STATUS] or [BODY].path", c.Op)
	}
	for _, f := range []Func{Len, Has} {
		if strings.HasPrefix(s, string(f)+"(") {
			if !strings.HasSuffix(s, ")") {
				return syntaxErr(c.Text, "%s( is not closed", f)
			}
			c.Func = f
			s = strings.TrimSpace(s[len(f)+1 : len(s)-1])
			break
		}
	}
	end := strings.IndexByte(s, ']')
	if !strings.HasPrefix(s, "[") || end < 0 {
		return syntaxErr(c.Text, "%q is not a placeholder; want one of [STATUS] [RESPONSE_TIME] [BODY] [CERTIFICATE_EXPIRATION] [DNS_RCODE] [CONNECTED] [IP]", s)
	}
	name := strings.ToUpper(s[:end+1])
	p, ok := placeholderNames[name]
	if !ok {
		if name == "[DOMAIN_EXPIRATION]" {
			return syntaxErr(c.Text, "[DOMAIN_EXPIRATION] is not supported (it needs WHOIS look-ups); watch the certificate with [CERTIFICATE_EXPIRATION]")
		}
		return syntaxErr(c.Text, "unknown placeholder %s; want one of [STATUS] [RESPONSE_TIME] [BODY] [CERTIFICATE_EXPIRATION] [DNS_RCODE] [CONNECTED] [IP]", s[:end+1])
	}
	c.Placeholder = p
	rest := s[end+1:]
	if rest != "" {
		if p != Body {
			return syntaxErr(c.Text, "only [BODY] takes a path, not %s", name)
		}
		path, err := parsePath(rest)
		if err != nil {
			return syntaxErr(c.Text, "%v", err)
		}
		c.Path = path
	}
	return nil
}

// parsePath parses ".a.b[0].c" and "[0].a".
func parsePath(s string) ([]PathElem, error) {
	var out []PathElem
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
			n := strings.IndexAny(s, ".[")
			if n < 0 {
				n = len(s)
			}
			key := s[:n]
			if key == "" {
				return nil, fmt.Errorf("empty key in body path")
			}
			if strings.ContainsAny(key, "] ()") {
				return nil, fmt.Errorf("invalid key %q in body path", key)
			}
			out = append(out, PathElem{Key: key, Index: -1})
			s = s[n:]
		case '[':
			n := strings.IndexByte(s, ']')
			if n < 0 {
				return nil, fmt.Errorf("[ is not closed in body path")
			}
			idx, err := strconv.Atoi(s[1:n])
			if err != nil || idx < 0 || idx > 1<<20 {
				return nil, fmt.Errorf("array index %q in body path is not a non-negative number", s[1:n])
			}
			out = append(out, PathElem{Index: idx})
			s = s[n+1:]
		default:
			return nil, fmt.Errorf("body path must go on with .key or [index], not %q", s)
		}
	}
	return out, nil
}

func (c *Condition) parseRight(s string) error {
	if s == "" {
		return syntaxErr(c.Text, "nothing right of %s; want a value", c.Op)
	}
	if _, op := findOperator(s); op != "" && !strings.HasPrefix(s, "pat(") && !strings.HasPrefix(s, "any(") {
		return syntaxErr(c.Text, "more than one operator")
	}
	switch {
	case strings.HasPrefix(s, "any("):
		if !strings.HasSuffix(s, ")") {
			return syntaxErr(c.Text, "any( is not closed")
		}
		for _, v := range strings.Split(s[4:len(s)-1], ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				return syntaxErr(c.Text, "empty value in any()")
			}
			c.Values = append(c.Values, v)
		}
		c.Any = true
	case strings.HasPrefix(s, "pat("):
		if !strings.HasSuffix(s, ")") {
			return syntaxErr(c.Text, "pat( is not closed")
		}
		c.Values = []string{s[4 : len(s)-1]}
		c.Pattern = true
	default:
		if strings.HasPrefix(s, "[") {
			return syntaxErr(c.Text, "the right side is a value, not a placeholder; put the placeholder on the left")
		}
		c.Values = []string{s}
	}
	return nil
}

// check verifies that the value types fit the placeholder and operator.
func (c *Condition) check() error {
	ordered := c.Op != "==" && c.Op != "!="
	if (c.Any || c.Pattern) && ordered {
		return syntaxErr(c.Text, "any() and pat() go with == or !=")
	}
	if c.Pattern && c.Func != NoFunc {
		return syntaxErr(c.Text, "pat() compares text, not %s()", c.Func)
	}
	if c.Func != NoFunc && c.Placeholder != Body {
		return syntaxErr(c.Text, "%s() applies to [BODY], not %s", c.Func, c.Placeholder)
	}
	for _, v := range c.Values {
		var err error
		switch {
		case c.Func == Has || c.Placeholder == Connected:
			if ordered {
				return syntaxErr(c.Text, "%s is true or false: compare it with == or !=", c.left())
			}
			if c.Pattern {
				return syntaxErr(c.Text, "%s is true or false, not text for pat()", c.left())
			}
			_, err = strconv.ParseBool(v)
			if err != nil {
				err = fmt.Errorf("want true or false, got %q", v)
			}
		case c.Func == Len, c.Placeholder == Status, c.Placeholder == ResponseTime:
			if c.Pattern {
				return syntaxErr(c.Text, "%s is a number, not text for pat()", c.left())
			}
			_, err = strconv.ParseFloat(v, 64)
			if err != nil {
				err = fmt.Errorf("want a number, got %q", v)
			}
		case c.Placeholder == CertificateExpiration:
			if c.Pattern {
				return syntaxErr(c.Text, "[CERTIFICATE_EXPIRATION] is a duration, not text for pat()")
			}
			_, err = parseDuration(v)
		case c.Placeholder == DNSRcode, c.Placeholder == IP:
			if ordered {
				return syntaxErr(c.Text, "%s is text: compare it with == or !=", c.left())
			}
		}
		if err != nil {
			return syntaxErr(c.Text, "%v", err)
		}
	}
	return nil
}

// parseDuration takes Go and Prometheus durations (48h, 1h30m, 7d, 1w) and
// bare numbers as milliseconds, as Gatus does.
func parseDuration(s string) (time.Duration, error) {
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("want a duration such as 48h, 7d or 1w, got %q", s)
}

func (c *Condition) left() string {
	var b strings.Builder
	b.WriteString(c.Placeholder.String())
	for _, p := range c.Path {
		if p.Index >= 0 {
			fmt.Fprintf(&b, "[%d]", p.Index)
		} else {
			b.WriteString(".")
			b.WriteString(p.Key)
		}
	}
	if c.Func != NoFunc {
		return string(c.Func) + "(" + b.String() + ")"
	}
	return b.String()
}

// String is the condition in canonical form (Parse(c.String()) equals c
// apart from Text).
func (c *Condition) String() string {
	right := c.Values[0]
	switch {
	case c.Any:
		right = "any(" + strings.Join(c.Values, ", ") + ")"
	case c.Pattern:
		right = "pat(" + c.Values[0] + ")"
	}
	return c.left() + " " + c.Op + " " + right
}

// ParseAll parses a list, returning every error.
func ParseAll(texts []string) ([]*Condition, []error) {
	var out []*Condition
	var errs []error
	for _, t := range texts {
		c, err := Parse(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
	}
	return out, errs
}

// NeedsBody reports whether any condition reads the response body.
func NeedsBody(cs []*Condition) bool {
	for _, c := range cs {
		if c.Placeholder == Body {
			return true
		}
	}
	return false
}
