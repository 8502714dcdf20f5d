package logql

import (
	"fmt"
	"strconv"
)

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

// parseLogfmtStage runs a logfmt stage: every pair (or, with parameters,
// the pairs named) becomes a label; with --strict a malformed line sets
// __error__.
func parseLogfmtStage(line string, ps *ParserStage, lbs *Labels) {
	err := parseLogfmt(line, ps.KeepEmpty, func(k, v string) {
		if len(ps.Extractions) > 0 {
			if l, ok := ps.logfmtKeys[k]; ok {
				lbs.setExtracted(l, v)
			}
			return
		}
		lbs.setExtracted(sanitizeLabel(k), v)
	})
	if err != nil && ps.Strict {
		lbs.setError(errLogfmt, err.Error())
	}
}

// LogfmtFields returns the fields | logfmt would extract from line.
func LogfmtFields(line string) []Field {
	var fields []Field
	_ = parseLogfmt(line, false, func(k, v string) {
		fields = append(fields, Field{Label: sanitizeLabel(k), Value: v})
	})
	return fields
}
