package logql

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

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

// parseJSON sets every scalar field of a JSON object as a label, nested
// keys joined with '_' (arrays and nulls are skipped, as in Loki).
func parseJSON(line string, lbs *Labels) {
	var doc map[string]any
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		lbs.setError(errJSON, err.Error())
		return
	}
	flattenJSON("", doc, lbs)
}

// parseJSONPaths sets the labels of json's parameters (| json a="x.y[0]").
func parseJSONPaths(line string, xs []Extraction, paths [][]jsonPathElem, lbs *Labels) {
	var doc any
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		lbs.setError(errJSON, err.Error())
		return
	}
	for i, x := range xs {
		if v, ok := walkJSONPath(doc, paths[i]); ok {
			lbs.setExtracted(x.Label, v)
		}
	}
}

// Field is one field a parser found in a line: its label name, value and,
// for json, the path of keys that leads to it (what Logs Drilldown calls
// jsonPath).
type Field struct {
	Label string
	Value string
	Path  []string
}

// JSONFields returns the fields | json would extract from line, with their
// paths; ok is false when the line is not a JSON object.
func JSONFields(line string) (fields []Field, ok bool) {
	var doc map[string]any
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	if d.Decode(&doc) != nil {
		return nil, false
	}
	var walk func(prefix string, path []string, doc map[string]any)
	walk = func(prefix string, path []string, doc map[string]any) {
		for k, v := range doc {
			name := sanitizeLabel(k)
			if prefix != "" {
				name = prefix + "_" + name
			}
			p := append(path[:len(path):len(path)], k)
			var s string
			switch v := v.(type) {
			case map[string]any:
				walk(name, p, v)
				continue
			case string:
				s = v
			case json.Number:
				s = v.String()
			case bool:
				s = strconv.FormatBool(v)
			default:
				continue // arrays and nulls, as | json skips them
			}
			if s != "" {
				fields = append(fields, Field{Label: name, Value: s, Path: p})
			}
		}
	}
	walk("", nil, doc)
	return fields, true
}
