package logql

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Error label values, as Loki names them.
const (
	ErrorLabel        = "__error__"
	ErrorDetailsLabel = "__error_details__"

	errJSON        = "JSONParserErr"
	errLogfmt      = "LogfmtParserErr"
	errLabelFilter = "LabelFilterErr"
	errTemplate    = "TemplateFormatErr"
	errSample      = "SampleExtractionErr"
)

// Labels is the mutable label set of one line as it goes through a pipeline.
type Labels struct {
	m      map[string]string
	stream map[string]bool // names that came with the stream (or its metadata)
}

// NewLabels returns an empty label set.
func NewLabels() *Labels {
	return &Labels{m: make(map[string]string, 16), stream: make(map[string]bool, 16)}
}

// Reset sets the base labels of the next line: stream labels and structured metadata.
func (l *Labels) Reset(stream, metadata map[string]string) {
	clear(l.m)
	clear(l.stream)
	for k, v := range stream {
		l.m[k] = v
		l.stream[k] = true
	}
	for k, v := range metadata {
		l.m[k] = v
		l.stream[k] = true
	}
}

// Get returns the value of a label ("" when missing).
func (l *Labels) Get(name string) string { return l.m[name] }

// Set sets a label; an empty value removes it.
func (l *Labels) Set(name, value string) {
	if value == "" {
		delete(l.m, name)
		return
	}
	l.m[name] = value
}

// setExtracted sets a label found by a parser: a name clashing with a stream
// label gets the suffix _extracted, as in Loki.
func (l *Labels) setExtracted(name, value string) {
	if l.stream[name] {
		name += "_extracted"
	}
	if _, ok := l.m[name]; ok && l.stream[name] {
		return
	}
	l.Set(name, value)
}

func (l *Labels) setError(kind, details string) {
	if _, ok := l.m[ErrorLabel]; ok {
		return
	}
	l.m[ErrorLabel] = kind
	if details != "" {
		l.m[ErrorDetailsLabel] = details
	}
}

// Map returns the labels (not a copy).
func (l *Labels) Map() map[string]string { return l.m }

// Key renders the sorted label set as `{a="1", b="2"}`.
func (l *Labels) Key() string { return FormatLabelMap(l.m) }

// FormatLabelMap renders m sorted by name as `{a="1", b="2"}`.
func FormatLabelMap(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
	}
	b.WriteByte('}')
	return b.String()
}

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

// Value extracts the unwrapped sample value from lbs; ok is false (and
// __error__ set) when the label is missing or does not convert.
func (u *Unwrap) Value(lbs *Labels) (float64, bool) {
	v, present := lbs.m[u.Label]
	if !present {
		lbs.setError(errSample, fmt.Sprintf("label %q not found", u.Label))
		return 0, false
	}
	var x float64
	var err error
	switch u.Conv {
	case "bytes":
		var b uint64
		b, err = humanize.ParseBytes(v)
		x = float64(b)
	case "duration", "duration_seconds":
		var d time.Duration
		d, err = ParseDuration(v)
		x = d.Seconds()
	default:
		x, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
	}
	if err != nil {
		lbs.setError(errSample, err.Error())
		return 0, false
	}
	for _, f := range u.Filters {
		if !evalLabelFilter(f, lbs) {
			return 0, false
		}
	}
	if _, bad := lbs.m[ErrorLabel]; bad {
		return 0, false
	}
	return x, true
}

func (ps *ParserStage) parse(line string, lbs *Labels) string {
	switch ps.Kind {
	case ParserJSON:
		if len(ps.Extractions) > 0 {
			var doc any
			d := json.NewDecoder(strings.NewReader(line))
			d.UseNumber()
			if err := d.Decode(&doc); err != nil {
				lbs.setError(errJSON, err.Error())
				return line
			}
			for i, x := range ps.Extractions {
				if v, ok := walkJSONPath(doc, ps.jpaths[i]); ok {
					lbs.setExtracted(x.Label, v)
				}
			}
			return line
		}
		var doc map[string]any
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			lbs.setError(errJSON, err.Error())
			return line
		}
		flattenJSON("", doc, lbs)
	case ParserUnpack:
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			lbs.setError(errJSON, err.Error())
			return line
		}
		for k, v := range doc {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if k == "_entry" {
				line = s
				continue
			}
			lbs.setExtracted(sanitizeLabel(k), s)
		}
	case ParserLogfmt:
		want := map[string]string{}
		for _, x := range ps.Extractions {
			want[x.Expr] = x.Label
		}
		err := parseLogfmt(line, ps.KeepEmpty, func(k, v string) {
			if len(ps.Extractions) > 0 {
				if l, ok := want[k]; ok {
					lbs.setExtracted(l, v)
				}
				return
			}
			lbs.setExtracted(sanitizeLabel(k), v)
		})
		if err != nil && ps.Strict {
			lbs.setError(errLogfmt, err.Error())
		}
	case ParserRegexp:
		m := ps.re.FindStringSubmatch(line)
		if m == nil {
			return line
		}
		for i, n := range ps.re.SubexpNames() {
			if n != "" {
				lbs.setExtracted(n, m[i])
			}
		}
	case ParserPattern:
		vals, ok := ps.pat.match(line, false)
		if !ok {
			return line
		}
		for i, n := range ps.pat.names() {
			if n != "_" {
				lbs.setExtracted(n, vals[i])
			}
		}
	}
	return line
}

func flattenJSON(prefix string, doc map[string]any, lbs *Labels) {
	for k, v := range doc {
		name := sanitizeLabel(k)
		if prefix != "" {
			name = prefix + "_" + name
		}
		switch v := v.(type) {
		case map[string]any:
			flattenJSON(name, v, lbs)
		case string:
			lbs.setExtracted(name, v)
		case json.Number:
			lbs.setExtracted(name, v.String())
		case bool:
			lbs.setExtracted(name, strconv.FormatBool(v))
		}
		// Arrays and nulls are skipped, as in Loki.
	}
}

// sanitizeLabel turns any string into a valid label name.
func sanitizeLabel(s string) string {
	if validLabelName(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !(isAlpha(c) || i > 0 && c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

type jsonPathElem struct {
	key   string
	index int // -1 for a key
}

// parseJSONPath parses a.b[0]["c d"].
func parseJSONPath(s string) ([]jsonPathElem, error) {
	var out []jsonPathElem
	i := 0
	for i < len(s) {
		switch {
		case s[i] == '.':
			i++
		case s[i] == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("missing ']'")
			}
			inner := s[i+1 : i+j]
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') {
				out = append(out, jsonPathElem{key: inner[1 : len(inner)-1], index: -1})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("array index %q is not a non-negative integer", inner)
				}
				out = append(out, jsonPathElem{index: n})
			}
			i += j + 1
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			out = append(out, jsonPathElem{key: s[i:j], index: -1})
			i = j
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	return out, nil
}

func walkJSONPath(doc any, path []jsonPathElem) (string, bool) {
	for _, e := range path {
		if e.index >= 0 {
			arr, ok := doc.([]any)
			if !ok || e.index >= len(arr) {
				return "", false
			}
			doc = arr[e.index]
			continue
		}
		obj, ok := doc.(map[string]any)
		if !ok {
			return "", false
		}
		if doc, ok = obj[e.key]; !ok {
			return "", false
		}
	}
	switch v := doc.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "", false
	default:
		b, _ := json.Marshal(v)
		return string(b), true
	}
}

// parseLogfmt calls f for each key=value pair of line.
func parseLogfmt(line string, keepEmpty bool, f func(k, v string)) error {
	var firstErr error
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			break
		}
		ks := i
		for i < len(line) && line[i] != '=' && line[i] != ' ' && line[i] != '\t' && line[i] != '"' {
			i++
		}
		key := line[ks:i]
		if i < len(line) && line[i] == '"' {
			if firstErr == nil {
				firstErr = fmt.Errorf("unexpected '\"' at offset %d", i)
			}
			// Skip the quoted garbage.
			i++
			for i < len(line) && line[i] != '"' {
				i++
			}
			i++
			continue
		}
		if i >= len(line) || line[i] != '=' {
			if key != "" && keepEmpty {
				f(key, "")
			}
			continue
		}
		i++ // '='
		var val string
		if i < len(line) && line[i] == '"' {
			j := i + 1
			esc := false
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					esc = true
					j++
				}
				j++
			}
			if j >= len(line) {
				if firstErr == nil {
					firstErr = fmt.Errorf("unterminated quoted value for key %q", key)
				}
				val = line[i+1:]
				i = len(line)
			} else {
				val = line[i+1 : j]
				if esc {
					if u, err := strconv.Unquote(line[i : j+1]); err == nil {
						val = u
					}
				}
				i = j + 1
			}
		} else {
			vs := i
			for i < len(line) && line[i] != ' ' && line[i] != '\t' {
				i++
			}
			val = line[vs:i]
		}
		if key == "" {
			if firstErr == nil {
				firstErr = fmt.Errorf("empty key at offset %d", ks)
			}
			continue
		}
		if val != "" || keepEmpty {
			f(key, val)
		}
	}
	return firstErr
}

// pattern is a compiled pattern expression: literals and <captures>.
type pattern struct {
	parts []patternPart
}

type patternPart struct {
	literal string
	capture string // "" for a literal, "_" for an unnamed capture
}

func parsePattern(s string) (*pattern, error) {
	p := &pattern{}
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			p.parts = append(p.parts, patternPart{literal: s})
			break
		}
		j := strings.IndexByte(s[i:], '>')
		name := ""
		if j > 0 {
			name = s[i+1 : i+j]
		}
		if j < 0 || !(name == "_" || validLabelName(name)) {
			// Not a capture: '<' is literal text.
			p.appendLiteral(s[:i+1])
			s = s[i+1:]
			continue
		}
		if i > 0 {
			p.appendLiteral(s[:i])
		}
		if n := len(p.parts); n > 0 && p.parts[n-1].capture != "" {
			return nil, fmt.Errorf("captures <%s> and <%s> must be separated by literal text", p.parts[n-1].capture, name)
		}
		p.parts = append(p.parts, patternPart{capture: name})
		s = s[i+j+1:]
	}
	if len(p.parts) == 0 {
		return nil, fmt.Errorf("empty pattern")
	}
	seen := map[string]bool{}
	for _, pp := range p.parts {
		if pp.capture != "" && pp.capture != "_" {
			if seen[pp.capture] {
				return nil, fmt.Errorf("capture <%s> appears twice", pp.capture)
			}
			seen[pp.capture] = true
		}
	}
	return p, nil
}

func (p *pattern) appendLiteral(s string) {
	if n := len(p.parts); n > 0 && p.parts[n-1].capture == "" {
		p.parts[n-1].literal += s
		return
	}
	p.parts = append(p.parts, patternPart{literal: s})
}

func (p *pattern) names() []string {
	var out []string
	for _, pp := range p.parts {
		if pp.capture != "" {
			out = append(out, pp.capture)
		}
	}
	return out
}

// match returns the captured values in order; whole requires the pattern to
// cover the entire line.
func (p *pattern) match(line string, whole bool) ([]string, bool) {
	var vals []string
	pos := 0
	pending := false
	for i, pp := range p.parts {
		if pp.capture != "" {
			pending = true
			if i == len(p.parts)-1 {
				vals = append(vals, line[pos:])
				pos = len(line)
			}
			continue
		}
		if !pending {
			if !strings.HasPrefix(line[pos:], pp.literal) {
				return nil, false
			}
			pos += len(pp.literal)
			continue
		}
		j := strings.Index(line[pos:], pp.literal)
		if j < 0 {
			return nil, false
		}
		vals = append(vals, line[pos:pos+j])
		pos += j + len(pp.literal)
		pending = false
	}
	if whole && pos != len(line) {
		return nil, false
	}
	return vals, true
}

// ipMatcher matches one address, a range a-b, or a CIDR prefix.
type ipMatcher struct {
	prefix   netip.Prefix
	lo, hi   netip.Addr
	isPrefix bool
}

func parseIPMatcher(s string) (ipMatcher, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return ipMatcher{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return ipMatcher{prefix: p.Masked(), isPrefix: true}, nil
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, err1 := netip.ParseAddr(strings.TrimSpace(a))
		hi, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || hi.Less(lo) {
			return ipMatcher{}, fmt.Errorf("invalid address range %q: want low-high", s)
		}
		return ipMatcher{lo: lo, hi: hi}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ipMatcher{}, fmt.Errorf("invalid address %q: want an address, a range a-b or a CIDR", s)
	}
	return ipMatcher{lo: a, hi: a}, nil
}

func (m ipMatcher) contains(a netip.Addr) bool {
	if m.isPrefix {
		return m.prefix.Contains(a)
	}
	return a.BitLen() == m.lo.BitLen() && !a.Less(m.lo) && !m.hi.Less(a)
}

func lineHasIP(line string, m ipMatcher) bool {
	isIPChar := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
	}
	for i := 0; i < len(line); {
		if !isIPChar(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isIPChar(line[j]) {
			j++
		}
		if a, err := netip.ParseAddr(strings.Trim(line[i:j], ".:")); err == nil && m.contains(a) {
			return true
		}
		i = j
	}
	return false
}

// ---- templates (line_format, label_format) ----

// NumberString renders a sample value as Prometheus does.
func NumberString(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
