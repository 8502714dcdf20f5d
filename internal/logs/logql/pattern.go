package logql

import (
	"fmt"
	"strings"
)

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

// parsePatternStage sets the named captures of pat as labels when the line
// matches it.
func parsePatternStage(line string, pat *pattern, lbs *Labels) {
	vals, ok := pat.match(line, false)
	if !ok {
		return
	}
	for i, n := range pat.names() {
		if n != "_" {
			lbs.setExtracted(n, vals[i])
		}
	}
}
