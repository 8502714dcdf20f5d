package logs

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/vigilhq/vigil/internal/logs/logql"
)

// DetectedFieldsQuery asks which fields the json and logfmt parsers find
// in the newest LineLimit lines of a log query in [Start, End].
type DetectedFieldsQuery struct {
	Log        *logql.LogExpr
	Start, End int64
	LineLimit  int
}

// DetectedField is one field found by a parser, as Loki's detected_fields
// lists it.
type DetectedField struct {
	Label       string   `json:"label"`
	Type        string   `json:"type"` // string, int, float, boolean, duration, bytes
	Cardinality int      `json:"cardinality"`
	Parsers     []string `json:"parsers"`
	JSONPath    []string `json:"jsonPath,omitempty"` // the keys leading to a json field
}

// maxFieldValues bounds the distinct values kept per field.
const maxFieldValues = 1000

// detectedField gathers one field while lines are read.
type detectedField struct {
	DetectedField
	values map[string]bool
}

// DetectedFields runs the json and logfmt parsers over a sample of the
// query's lines and reports each field with the type of its first value
// (as Loki types it) and its cardinality (counted up to 1000 values), by
// name.
func (s *Store) DetectedFields(ctx context.Context, q DetectedFieldsQuery) ([]DetectedField, error) {
	fields, err := s.detectFields(ctx, q)
	if err != nil {
		return nil, err
	}
	out := []DetectedField{}
	for _, k := range sortedKeys(fields) {
		f := fields[k]
		f.Cardinality = len(f.values)
		out = append(out, f.DetectedField)
	}
	return out, nil
}

// DetectedFieldValues returns the distinct values of one detected field in
// the query's sample of lines, sorted.
func (s *Store) DetectedFieldValues(ctx context.Context, q DetectedFieldsQuery, name string) ([]string, error) {
	fields, err := s.detectFields(ctx, q)
	if err != nil {
		return nil, err
	}
	if f := fields[name]; f != nil {
		return sortedKeys(f.values), nil
	}
	return []string{}, nil
}

func (s *Store) detectFields(ctx context.Context, q DetectedFieldsQuery) (map[string]*detectedField, error) {
	res, err := s.Query(ctx, Query{Expr: q.Log.String(), Start: q.Start, End: q.End + 1, Step: time.Second, Limit: min(q.LineLimit, s.opts.MaxQueryLines)})
	if err != nil {
		return nil, err
	}
	fields := map[string]*detectedField{}
	add := func(parser string, fs []logql.Field) {
		for _, x := range fs {
			f := fields[x.Label]
			if f == nil {
				f = &detectedField{DetectedField: DetectedField{Label: x.Label, Type: fieldType(x.Value), JSONPath: x.Path}, values: map[string]bool{}}
				fields[x.Label] = f
			}
			if !slices.Contains(f.Parsers, parser) {
				f.Parsers = append(f.Parsers, parser)
			}
			if len(f.values) < maxFieldValues {
				f.values[x.Value] = true
			}
		}
	}
	for _, st := range res.Streams {
		for _, e := range st.Entries {
			if fs, ok := logql.JSONFields(e.Line); ok {
				add("json", fs)
				continue // a JSON line is not also logfmt
			}
			add("logfmt", logql.LogfmtFields(e.Line))
		}
	}
	return fields, nil
}

// fieldType types a value as Loki's detected_fields does, trying integer,
// float, boolean, duration and byte size in turn.
func fieldType(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "int"
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return "float"
	}
	if _, err := strconv.ParseBool(v); err == nil {
		return "boolean"
	}
	if _, err := time.ParseDuration(v); err == nil {
		return "duration"
	}
	if _, err := humanize.ParseBytes(v); err == nil {
		return "bytes"
	}
	return "string"
}
