package logql

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
)

// template is a compiled line_format/label_format template. Its functions
// __line__ and __timestamp__ read the line being processed through ctx.
type template struct {
	t   *texttemplate.Template
	ctx *Pipeline
	buf strings.Builder
}

func compileTemplate(s string) (*template, error) {
	tm := &template{}
	t, err := texttemplate.New("").Option("missingkey=zero").Funcs(tm.funcs()).Parse(s)
	if err != nil {
		return nil, err
	}
	tm.t = t
	return tm, nil
}

func (tm *template) render(labels map[string]string) (string, error) {
	tm.buf.Reset()
	if err := tm.t.Execute(&tm.buf, labels); err != nil {
		return "", err
	}
	return tm.buf.String(), nil
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case string:
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f
	}
	f, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
	return f
}

func toInt(v any) int {
	switch v := v.(type) {
	case int:
		return v
	}
	return int(toFloat(v))
}

func (tm *template) funcs() texttemplate.FuncMap {
	regexCache := map[string]*regexp.Regexp{}
	re := func(expr string) (*regexp.Regexp, error) {
		if r, ok := regexCache[expr]; ok {
			return r, nil
		}
		r, err := regexp.Compile(expr)
		if err == nil {
			regexCache[expr] = r
		}
		return r, err
	}
	return texttemplate.FuncMap{
		"__line__": func() string {
			if tm.ctx == nil {
				return ""
			}
			return tm.ctx.line
		},
		"__timestamp__": func() time.Time {
			if tm.ctx == nil {
				return time.Time{}
			}
			return time.Unix(0, tm.ctx.ts).UTC()
		},
		"ToLower": strings.ToLower, "lower": strings.ToLower,
		"ToUpper": strings.ToUpper, "upper": strings.ToUpper,
		"Title": strings.Title, "title": strings.Title, //nolint:staticcheck // as Loki's templates
		"Replace": strings.Replace,
		"replace": func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"Trim":    strings.Trim, "TrimLeft": strings.TrimLeft, "TrimRight": strings.TrimRight,
		"TrimPrefix": strings.TrimPrefix, "TrimSuffix": strings.TrimSuffix, "TrimSpace": strings.TrimSpace,
		"trim":       strings.TrimSpace,
		"trimAll":    func(cut, s string) string { return strings.Trim(s, cut) },
		"trimPrefix": func(p, s string) string { return strings.TrimPrefix(s, p) },
		"trimSuffix": func(p, s string) string { return strings.TrimSuffix(s, p) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":  func(p, s string) bool { return strings.HasPrefix(s, p) },
		"hasSuffix":  func(p, s string) bool { return strings.HasSuffix(s, p) },
		"repeat":     func(n int, s string) string { return strings.Repeat(s, max(n, 0)) },
		"trunc": func(n int, s string) string {
			r := []rune(s)
			if n >= 0 && n < len(r) {
				return string(r[:n])
			}
			if n < 0 && -n < len(r) {
				return string(r[len(r)+n:])
			}
			return s
		},
		"substr": func(start, end int, s string) string {
			r := []rune(s)
			if start < 0 {
				start = 0
			}
			if end < 0 || end > len(r) {
				end = len(r)
			}
			if start > end {
				return ""
			}
			return string(r[start:end])
		},
		"indent": func(n int, s string) string {
			p := strings.Repeat(" ", n)
			return p + strings.ReplaceAll(s, "\n", "\n"+p)
		},
		"nindent": func(n int, s string) string {
			p := strings.Repeat(" ", n)
			return "\n" + p + strings.ReplaceAll(s, "\n", "\n"+p)
		},
		"regexReplaceAll": func(expr, s, repl string) (string, error) {
			r, err := re(expr)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllString(s, repl), nil
		},
		"regexReplaceAllLiteral": func(expr, s, repl string) (string, error) {
			r, err := re(expr)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllLiteralString(s, repl), nil
		},
		"default": func(d any, v ...any) any {
			if len(v) == 0 || v[0] == nil || v[0] == "" {
				return d
			}
			return v[0]
		},
		"int":     toInt,
		"float64": toFloat,
		"add":     func(a, b any) int { return toInt(a) + toInt(b) },
		"sub":     func(a, b any) int { return toInt(a) - toInt(b) },
		"mul":     func(a, b any) int { return toInt(a) * toInt(b) },
		"div": func(a, b any) int {
			if toInt(b) == 0 {
				return 0
			}
			return toInt(a) / toInt(b)
		},
		"mod": func(a, b any) int {
			if toInt(b) == 0 {
				return 0
			}
			return toInt(a) % toInt(b)
		},
		"addf":   func(a, b any) float64 { return toFloat(a) + toFloat(b) },
		"subf":   func(a, b any) float64 { return toFloat(a) - toFloat(b) },
		"mulf":   func(a, b any) float64 { return toFloat(a) * toFloat(b) },
		"divf":   func(a, b any) float64 { return toFloat(a) / toFloat(b) },
		"ceil":   func(a any) float64 { return math.Ceil(toFloat(a)) },
		"floor":  func(a any) float64 { return math.Floor(toFloat(a)) },
		"round":  func(a any, p int) float64 { m := math.Pow(10, float64(p)); return math.Round(toFloat(a)*m) / m },
		"max":    func(a, b any) float64 { return math.Max(toFloat(a), toFloat(b)) },
		"min":    func(a, b any) float64 { return math.Min(toFloat(a), toFloat(b)) },
		"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"b64dec": func(s string) string {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return ""
			}
			return string(b)
		},
		"urlencode":       url.QueryEscape,
		"urldecode":       func(s string) string { u, _ := url.QueryUnescape(s); return u },
		"unixEpoch":       func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
		"unixEpochMillis": func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
		"unixEpochNanos":  func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) },
		"date":            func(layout string, t time.Time) string { return t.Format(layout) },
		"toDate": func(layout, s string) time.Time {
			t, _ := time.Parse(layout, s)
			return t
		},
		"unixToTime": func(s string) time.Time {
			n, _ := strconv.ParseInt(s, 10, 64)
			switch {
			case n > 1e17:
				return time.Unix(0, n).UTC()
			case n > 1e14:
				return time.UnixMicro(n).UTC()
			case n > 1e11:
				return time.UnixMilli(n).UTC()
			}
			return time.Unix(n, 0).UTC()
		},
		"alignLeft": func(n int, s string) string {
			r := []rune(s)
			if len(r) >= n {
				return string(r[:n])
			}
			return s + strings.Repeat(" ", n-len(r))
		},
		"alignRight": func(n int, s string) string {
			r := []rune(s)
			if len(r) >= n {
				return string(r[len(r)-n:])
			}
			return strings.Repeat(" ", n-len(r)) + s
		},
		"count": func(expr, s string) (int, error) {
			r, err := re(expr)
			if err != nil {
				return 0, err
			}
			return len(r.FindAllStringIndex(s, -1)), nil
		},
		"isLetter": func(s string) bool { return s != "" && unicode.IsLetter([]rune(s)[0]) },
	}
}
