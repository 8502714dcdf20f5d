package condition

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Input is what one probe run observed. Has* fields say whether a value was
// observed at all (a probe that never connected has no status).
type Input struct {
	Status       int
	HasStatus    bool
	ResponseTime time.Duration
	// Body is the decoded JSON body (as encoding/json decodes into any), or
	// the body text as a string when it is not JSON.
	Body    any
	HasBody bool
	// CertificateExpiration is the time left on the earliest-expiring
	// certificate of the chain.
	CertificateExpiration time.Duration
	HasCertificate        bool
	DNSRcode              string
	Connected             bool
	IP                    string
}

// Result is the outcome of one condition.
type Result struct {
	Condition string `json:"condition"`
	Success   bool   `json:"success"`
	// Observed is the value the condition saw, or why there was none.
	Observed string `json:"observed"`
}

// Eval evaluates c on in.
func (c *Condition) Eval(in Input) Result {
	r := Result{Condition: c.Text}
	r.Success, r.Observed = c.eval(in)
	return r
}

// EvalAll evaluates every condition; ok is true when all hold.
func EvalAll(cs []*Condition, in Input) (results []Result, ok bool) {
	ok = true
	for _, c := range cs {
		r := c.Eval(in)
		ok = ok && r.Success
		results = append(results, r)
	}
	return results, ok
}

func (c *Condition) eval(in Input) (bool, string) {
	switch c.Placeholder {
	case Status:
		if !in.HasStatus {
			return false, "no HTTP status (no response)"
		}
		return c.compareNumber(float64(in.Status)), strconv.Itoa(in.Status)
	case ResponseTime:
		ms := float64(in.ResponseTime) / float64(time.Millisecond)
		return c.compareNumber(ms), strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case CertificateExpiration:
		if !in.HasCertificate {
			return false, "no certificate"
		}
		eq := false
		for _, v := range c.Values {
			d, _ := parseDuration(v)
			if !c.Any {
				return compareOrdered(c.Op, float64(in.CertificateExpiration), float64(d)), in.CertificateExpiration.Round(time.Second).String()
			}
			eq = eq || in.CertificateExpiration == d
		}
		return eq == (c.Op == "=="), in.CertificateExpiration.Round(time.Second).String()
	case DNSRcode:
		if in.DNSRcode == "" {
			return false, "no DNS response"
		}
		return c.compareText(in.DNSRcode, strings.EqualFold), in.DNSRcode
	case Connected:
		want, _ := strconv.ParseBool(c.Values[0])
		eq := in.Connected == want
		return eq == (c.Op == "=="), strconv.FormatBool(in.Connected)
	case IP:
		if in.IP == "" {
			return false, "no IP address"
		}
		return c.compareText(in.IP, func(a, b string) bool { return a == b }), in.IP
	case Body:
		return c.evalBody(in)
	}
	return false, "unknown placeholder"
}

func (c *Condition) evalBody(in Input) (bool, string) {
	if !in.HasBody {
		return false, "no body read"
	}
	v, found := walk(in.Body, c.Path)
	switch c.Func {
	case Has:
		want, _ := strconv.ParseBool(c.Values[0])
		return (found == want) == (c.Op == "=="), strconv.FormatBool(found)
	case Len:
		if !found {
			return false, "path not found"
		}
		n := length(v)
		return c.compareNumber(float64(n)), strconv.Itoa(n)
	}
	if !found {
		if len(c.Path) > 0 {
			if _, isText := in.Body.(string); isText {
				return false, "body is not JSON"
			}
		}
		return false, "path not found"
	}
	text := scalarText(v)
	if f, ok := v.(float64); ok {
		// Numbers compare as numbers when the value is one.
		okAll := true
		numeric := true
		for _, s := range c.Values {
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				numeric = false
			}
		}
		if numeric && !c.Pattern {
			okAll = c.compareNumber(f)
			return okAll, text
		}
	}
	if c.Op != "==" && c.Op != "!=" {
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return c.compareNumber(f), text
		}
		return false, text + " (not a number)"
	}
	return c.compareText(text, func(a, b string) bool { return a == b }), text
}

// compareNumber applies the operator to x and the right side.
func (c *Condition) compareNumber(x float64) bool {
	if c.Any {
		eq := false
		for _, v := range c.Values {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil && f == x {
				eq = true
			}
		}
		return eq == (c.Op == "==")
	}
	f, err := strconv.ParseFloat(c.Values[0], 64)
	if err != nil {
		return false
	}
	return compareOrdered(c.Op, x, f)
}

func compareOrdered(op string, a, b float64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

func (c *Condition) compareText(x string, eq func(a, b string) bool) bool {
	match := false
	switch {
	case c.Pattern:
		match = wildcard(c.Values[0]).MatchString(x)
	default:
		for _, v := range c.Values {
			if eq(x, v) {
				match = true
			}
		}
	}
	return match == (c.Op == "==")
}

// wildcard compiles a pat() pattern: * is any run of characters.
func wildcard(p string) *regexp.Regexp {
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("(?s)^" + strings.Join(parts, ".*") + "$")
}

func walk(v any, path []PathElem) (any, bool) {
	for _, p := range path {
		if p.Index >= 0 {
			a, ok := v.([]any)
			if !ok || p.Index >= len(a) {
				return nil, false
			}
			v = a[p.Index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p.Key]; !ok {
			return nil, false
		}
	}
	return v, true
}

func length(v any) int {
	switch x := v.(type) {
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	case string:
		return len([]rune(x))
	case nil:
		return 0
	}
	return len(scalarText(v))
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
