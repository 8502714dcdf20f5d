// Package loki receives logs over the Loki push API (/loki/api/v1/push):
// snappy-compressed protobuf (logproto.PushRequest) and JSON, optionally
// gzip-encoded, and hands them to a Consumer.
//
// The protobuf messages are decoded by hand with protowire: the wire format of
// push.proto is small and stable, and decoding it directly avoids a dependency
// on Loki's generated code and a copy through an intermediate representation.
package loki

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Label is one name/value pair of a stream's labels or of an entry's
// structured metadata.
type Label struct {
	Name  string
	Value string
}

// Entry is one log line.
type Entry struct {
	Timestamp int64 // Unix nanoseconds
	Line      string
	Metadata  []Label // structured metadata, in the order sent
}

// Stream is a set of entries sharing one label set.
type Stream struct {
	Labels  []Label // sorted by name, names unique
	Entries []Entry
}

// PushRequest is a decoded push body.
type PushRequest struct {
	Streams []Stream
}

// Entries returns the number of entries in r.
func (r *PushRequest) Entries() int {
	n := 0
	for i := range r.Streams {
		n += len(r.Streams[i].Entries)
	}
	return n
}

// Consumer stores pushed streams. It follows the contract of the OTLP
// consumers: it returns only after the accepted entries are durable;
// rejected > 0 with a nil error is a partial success whose message names what
// was rejected and why; err should be an *apierr.Error; it must not retain req
// after returning and is safe for concurrent use.
type Consumer interface {
	ConsumePush(ctx context.Context, req *PushRequest) (rejected int64, message string, err error)
}

// ParseLabels parses a Prometheus-style label set such as
// `{app="api", env="prod"}` as sent in the labels field of a protobuf push.
// The result is sorted by name; duplicate or invalid names are errors.
func ParseLabels(s string) ([]Label, error) {
	p := labelParser{s: s}
	ls, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("parse labels %q: %w", truncate(s, 200), err)
	}
	return ls, nil
}

type labelParser struct {
	s   string
	pos int
}

func (p *labelParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *labelParser) errf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *labelParser) parse() ([]Label, error) {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '{' {
		return nil, p.errf("expected '{'")
	}
	p.pos++
	var ls []Label
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			break
		}
		if len(ls) > 0 {
			if p.pos >= len(p.s) || p.s[p.pos] != ',' {
				return nil, p.errf("expected ',' or '}'")
			}
			p.pos++
			p.skipSpace()
			if p.pos < len(p.s) && p.s[p.pos] == '}' { // trailing comma
				p.pos++
				break
			}
		}
		start := p.pos
		for p.pos < len(p.s) && isLabelChar(p.s[p.pos], p.pos == start) {
			p.pos++
		}
		if p.pos == start {
			return nil, p.errf("expected a label name")
		}
		name := p.s[start:p.pos]
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '=' {
			return nil, p.errf("expected '=' after label name %q", name)
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			return nil, p.errf("expected a double-quoted value for label %q", name)
		}
		end := p.pos + 1
		for end < len(p.s) && p.s[end] != '"' {
			if p.s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(p.s) {
			return nil, p.errf("unterminated value for label %q", name)
		}
		raw := p.s[p.pos : end+1]
		var value string
		if strings.IndexByte(raw, '\\') < 0 {
			value = raw[1 : len(raw)-1]
		} else {
			v, err := strconv.Unquote(raw)
			if err != nil {
				return nil, p.errf("invalid escape in value of label %q", name)
			}
			value = v
		}
		p.pos = end + 1
		ls = append(ls, Label{Name: name, Value: value})
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, p.errf("unexpected text after '}'")
	}
	return normalize(ls)
}

func isLabelChar(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// ValidLabelName reports whether name matches [a-zA-Z_][a-zA-Z0-9_]*.
func ValidLabelName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isLabelChar(name[i], i == 0) {
			return false
		}
	}
	return true
}

// normalize sorts ls by name, drops empty values (as Prometheus and Loki do)
// and rejects duplicate names and an empty set.
func normalize(ls []Label) ([]Label, error) {
	out := ls[:0]
	for _, l := range ls {
		if !utf8.ValidString(l.Value) {
			return nil, fmt.Errorf("value of label %q is not valid UTF-8", l.Name)
		}
		if l.Value != "" {
			out = append(out, l)
		}
	}
	ls = out
	if len(ls) == 0 {
		return nil, fmt.Errorf("a stream needs at least one label with a non-empty value")
	}
	sortLabels(ls)
	for i := 1; i < len(ls); i++ {
		if ls[i].Name == ls[i-1].Name {
			return nil, fmt.Errorf("duplicate label name %q", ls[i].Name)
		}
	}
	return ls, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func sortLabels(ls []Label) {
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
}

// FormatLabels renders ls as `{a="1", b="2"}`, the inverse of ParseLabels.
func FormatLabels(ls []Label) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}
