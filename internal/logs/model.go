// Package logs is Vigil's log store and query engine: it keeps log records
// from OTLP and the Loki push API in DuckDB (through telemetrydb), answers
// LogQL through the Loki HTTP API, tails new lines over a websocket, and
// counts records into the metrics store as logs_records_total.
//
// A record belongs to a stream (a label set, as in Loki). Stream label sets
// are kept in memory and in a small log_streams table; log rows carry only
// the stream's 64-bit ID, the line, the detected level and the structured
// metadata. Stream selectors are resolved in memory to a list of IDs, and
// the SQL sent to DuckDB filters on those IDs, the time range and the line
// filters; only parsers, label filters and formatting run in Go.
package logs

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Label is a name/value pair.
type Label struct {
	Name  string
	Value string
}

// Labels is a label set sorted by name.
type Labels []Label

// Get returns the value of the label called name ("" when missing).
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// Map returns the labels as a map.
func (ls Labels) Map() map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return m
}

// labelsOf returns m as sorted Labels.
func labelsOf(m map[string]string) Labels {
	ls := make(Labels, 0, len(m))
	for k, v := range m {
		ls = append(ls, Label{Name: k, Value: v})
	}
	sortLabels(ls)
	return ls
}

// Entry is one log line. Metadata is its structured metadata as pushed;
// query results leave it empty (their stream labels hold it).
type Entry struct {
	Timestamp int64 // Unix ns
	Line      string
	Metadata  []Label
}

// Stream is entries sharing one label set: as pushed to the Loki API, and
// as a log query answers (where the labels are the stream labels,
// structured metadata and extracted labels of its lines).
type Stream struct {
	Labels  Labels
	Entries []Entry
}

// Record is one stored log record.
type Record struct {
	Timestamp      int64
	ObservedTime   int64 // 0 if unknown
	StreamID       int64
	Level          string // detected level: critical, error, warn, info, debug, trace, unknown
	Line           string
	Metadata       []Label // structured metadata without trace/span IDs and severity
	TraceID        string  // lowercase hex, "" if none
	SpanID         string
	SeverityText   string
	SeverityNumber int32
	Flags          uint32
}

// streamKey renders sorted labels canonically.
func streamKey(ls []Label) string {
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

func streamID(key string) int64 { return int64(xxhash.Sum64String(key)) }

func sortLabels(ls []Label) {
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
}

// encodeMetadata renders metadata as a JSON object (nil when empty).
func encodeMetadata(md []Label) any {
	if len(md) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range md {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, l.Name)
		b.WriteByte(':')
		writeJSONString(&b, l.Value)
	}
	b.WriteByte('}')
	return b.String()
}

func writeJSONString(b *strings.Builder, s string) {
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	out, _ := json.Marshal(s)
	b.Write(out)
}

func decodeMetadata(s string, into map[string]string) {
	if s == "" {
		return
	}
	var m map[string]string
	if json.Unmarshal([]byte(s), &m) == nil {
		for k, v := range m {
			into[k] = v
		}
	}
}

// Levels as Loki's detected_level names them.
const (
	LevelCritical = "critical"
	LevelError    = "error"
	LevelWarn     = "warn"
	LevelInfo     = "info"
	LevelDebug    = "debug"
	LevelTrace    = "trace"
	LevelUnknown  = "unknown"
)

// levelNames are the stored level codes (a UTINYINT column groups and
// filters faster than a string one): index = code.
var levelNames = [...]string{LevelUnknown, LevelTrace, LevelDebug, LevelInfo, LevelWarn, LevelError, LevelCritical}

// noLevel is the code SQL uses when a query does not group by level.
const noLevel = 255

func levelCode(level string) uint8 {
	for i, n := range levelNames {
		if n == level {
			return uint8(i)
		}
	}
	return 0
}

func levelName(code uint8) string {
	if int(code) < len(levelNames) {
		return levelNames[code]
	}
	return ""
}

// levelFromSeverityNumber maps an OTLP severity number (1-24).
func levelFromSeverityNumber(n int32) string {
	switch {
	case n >= 21:
		return LevelCritical
	case n >= 17:
		return LevelError
	case n >= 13:
		return LevelWarn
	case n >= 9:
		return LevelInfo
	case n >= 5:
		return LevelDebug
	case n >= 1:
		return LevelTrace
	}
	return ""
}

// normalizeLevel maps a level word (ERROR, Warning, fatal, ...) to a level.
func normalizeLevel(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "crit", "fatal", "panic", "emerg", "emergency", "alert", "dpanic":
		return LevelCritical
	case "error", "err", "eror", "severe":
		return LevelError
	case "warn", "warning", "wrn":
		return LevelWarn
	case "info", "information", "informational", "inf", "notice":
		return LevelInfo
	case "debug", "dbg", "debg":
		return LevelDebug
	case "trace", "trc":
		return LevelTrace
	}
	return ""
}

// detectLevel finds a record's level as Loki does: a level-like label or
// metadata field, then a level field in a JSON or logfmt line, then a
// level word in the line.
func detectLevel(streamLabels, md []Label, line string) string {
	for _, set := range [][]Label{md, streamLabels} {
		for _, l := range set {
			switch l.Name {
			case "level", "LEVEL", "Level", "severity", "SEVERITY", "Severity", "lvl", "LVL", "Lvl", "severity_text", "detected_level":
				if lv := normalizeLevel(l.Value); lv != "" {
					return lv
				}
			}
		}
	}
	if lv := levelFromLine(line); lv != "" {
		return lv
	}
	return LevelUnknown
}

func levelFromLine(line string) string {
	if len(line) > 4096 {
		line = line[:4096]
	}
	// level=error / "level":"error" / "severity": "WARN"
	for _, key := range []string{"level", "severity", "lvl"} {
		i := 0
		for {
			j := strings.Index(line[i:], key)
			if j < 0 {
				break
			}
			k := i + j + len(key)
			i = k
			if k < len(line) && line[k] == '"' {
				k++
			}
			for k < len(line) && (line[k] == ' ') {
				k++
			}
			if k >= len(line) || (line[k] != '=' && line[k] != ':') {
				continue
			}
			k++
			for k < len(line) && (line[k] == ' ' || line[k] == '"') {
				k++
			}
			e := k
			for e < len(line) && (line[e] >= 'a' && line[e] <= 'z' || line[e] >= 'A' && line[e] <= 'Z') {
				e++
			}
			if lv := normalizeLevel(line[k:e]); lv != "" {
				return lv
			}
		}
	}
	// A bare level word, as in "2024-01-01 ERROR something".
	for _, w := range []struct{ word, level string }{
		{"CRITICAL", LevelCritical}, {"FATAL", LevelCritical}, {"PANIC", LevelCritical},
		{"ERROR", LevelError}, {"WARNING", LevelWarn}, {"WARN", LevelWarn},
		{"INFO", LevelInfo}, {"DEBUG", LevelDebug}, {"TRACE", LevelTrace},
	} {
		if idx := strings.Index(line, w.word); idx >= 0 && wordBoundary(line, idx, len(w.word)) {
			return w.level
		}
	}
	return ""
}

func wordBoundary(s string, i, n int) bool {
	isWord := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	return (i == 0 || !isWord(s[i-1])) && (i+n >= len(s) || !isWord(s[i+n]))
}
