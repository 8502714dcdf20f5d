package logql

import "encoding/json"

// parse runs a parser stage on line, adding what it extracts to lbs. Only
// unpack rewrites the line (to its _entry field).
func (ps *ParserStage) parse(line string, lbs *Labels) string {
	switch ps.Kind {
	case ParserJSON:
		if len(ps.Extractions) > 0 {
			parseJSONPaths(line, ps.Extractions, ps.jpaths, lbs)
		} else {
			parseJSON(line, lbs)
		}
	case ParserUnpack:
		return unpack(line, lbs)
	case ParserLogfmt:
		parseLogfmtStage(line, ps, lbs)
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
		parsePatternStage(line, ps.pat, lbs)
	}
	return line
}

// unpack sets every string field of a JSON object as a label, and returns
// the _entry field as the line (the line itself when there is none).
func unpack(line string, lbs *Labels) string {
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
	return line
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
