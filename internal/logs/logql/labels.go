package logql

import (
	"sort"
	"strconv"
	"strings"
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
