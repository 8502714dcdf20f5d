package logs

import (
	"context"
	"strconv"
	"time"

	"github.com/vigilhq/vigil/internal/logs/logql"
)

// DetectedFieldsQuery asks which fields the json and logfmt parsers find
// in the newest LineLimit lines of a log query in [Start, End].
type DetectedFieldsQuery struct {
	Log        *logql.LogExpr
	Start, End int64
	LineLimit  int
}

// DetectedField is one field found by a parser.
type DetectedField struct {
	Cardinality int      `json:"cardinality"`
	Label       string   `json:"label"`
	Parsers     []string `json:"parsers"`
	Type        string   `json:"type"`
}

// DetectedFields runs the json and logfmt parsers over a sample of the
// query's lines and reports each field with its type and cardinality
// (counted up to 1000 values), by name.
func (s *Store) DetectedFields(ctx context.Context, q DetectedFieldsQuery) ([]DetectedField, error) {
	res, err := s.Query(ctx, Query{Expr: q.Log.String(), Start: q.Start, End: q.End + 1, Step: time.Second, Limit: min(q.LineLimit, s.opts.MaxQueryLines)})
	if err != nil {
		return nil, err
	}
	type field struct {
		values map[string]bool
		parser string
		typ    string
	}
	fields := map[string]*field{}
	lbs := logql.NewLabels()
	jsonP, _ := logql.ParseLog(`{x="y"} | json`)
	logfmtP, _ := logql.ParseLog(`{x="y"} | logfmt`)
	for _, st := range res.Streams {
		for _, e := range st.Entries {
			for _, p := range []struct {
				name string
				pl   *logql.Pipeline
			}{{"json", logql.NewPipeline(jsonP.Stages)}, {"logfmt", logql.NewPipeline(logfmtP.Stages)}} {
				lbs.Reset(nil, nil)
				p.pl.Process(e.Timestamp, e.Line, lbs)
				if _, bad := lbs.Map()[logql.ErrorLabel]; bad {
					continue
				}
				for k, v := range lbs.Map() {
					f := fields[k]
					if f == nil {
						f = &field{values: map[string]bool{}, parser: p.name, typ: "string"}
						fields[k] = f
					}
					if len(f.values) < 1000 {
						f.values[v] = true
					}
					if _, err := strconv.ParseFloat(v, 64); err == nil && f.typ == "string" && len(f.values) == 1 {
						f.typ = "float"
					}
				}
			}
		}
	}
	out := []DetectedField{}
	for _, k := range sortedKeys(fields) {
		f := fields[k]
		out = append(out, DetectedField{Label: k, Type: f.typ, Cardinality: len(f.values), Parsers: []string{f.parser}})
	}
	return out, nil
}
