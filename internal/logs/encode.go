package logs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/internal/logs/logql"
)

// success is Loki's envelope, fields in Loki's order.
type success struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeResult(w http.ResponseWriter, res *Result) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(encodeResult(res))
}

// encodeResult renders a result as Loki does.
func encodeResult(res *Result) []byte {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"`)
	b.WriteString(res.Kind)
	b.WriteString(`","result":`)
	switch res.Kind {
	case "streams":
		writeStreams(&b, res.Streams)
	case "matrix":
		b.WriteByte('[')
		for i, s := range res.Series {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"metric":`)
			writeLabelsJSON(&b, s.Labels)
			b.WriteString(`,"values":[`)
			for j, p := range s.Samples {
				if j > 0 {
					b.WriteByte(',')
				}
				writePoint(&b, p)
			}
			b.WriteString("]}")
		}
		b.WriteByte(']')
	case "vector":
		b.WriteByte('[')
		for i, s := range res.Series {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"metric":`)
			writeLabelsJSON(&b, s.Labels)
			b.WriteString(`,"value":`)
			writePoint(&b, s.Samples[0])
			b.WriteByte('}')
		}
		b.WriteByte(']')
	case "scalar":
		writePoint(&b, *res.Scalar)
	}
	st := res.Stats
	secs := st.ExecTime.Seconds()
	perSec := func(n int64) int64 {
		if secs <= 0 {
			return 0
		}
		return int64(float64(n) / secs)
	}
	fmt.Fprintf(&b, `,"stats":{"summary":{"bytesProcessedPerSecond":%d,"linesProcessedPerSecond":%d,"totalBytesProcessed":%d,"totalLinesProcessed":%d,"execTime":%g,"queueTime":0,"subqueries":0,"totalEntriesReturned":%d,"splits":0,"shards":0,"totalPostFilterLines":%d,"totalStructuredMetadataBytesProcessed":0}}}}`,
		perSec(st.BytesProcessed), perSec(st.LinesProcessed), st.BytesProcessed, st.LinesProcessed, secs, st.Entries, st.LinesProcessed)
	return []byte(b.String())
}

// writeStreams renders streams as Loki's query results and tail frames
// list them: [{"stream":{...},"values":[["<ns>","<line>"],...]},...].
func writeStreams(b *strings.Builder, streams []Stream) {
	b.WriteByte('[')
	for i, st := range streams {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"stream":`)
		writeLabelList(b, st.Labels)
		b.WriteString(`,"values":[`)
		for j, e := range st.Entries {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`["`)
			b.WriteString(strconv.FormatInt(e.Timestamp, 10))
			b.WriteString(`",`)
			writeJSONString(b, e.Line)
			b.WriteByte(']')
		}
		b.WriteString("]}")
	}
	b.WriteByte(']')
}

func writePoint(b *strings.Builder, p Sample) {
	b.WriteByte('[')
	b.WriteString(strconv.FormatFloat(float64(p.T)/1000, 'f', -1, 64))
	b.WriteString(`,"`)
	b.WriteString(logql.NumberString(p.V))
	b.WriteString(`"]`)
}

func writeLabelsJSON(b *strings.Builder, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k)
		b.WriteByte(':')
		writeJSONString(b, m[k])
	}
	b.WriteByte('}')
}

// sortedKeys returns the keys of m in order, an empty (not nil) slice when
// there are none so that JSON shows [].
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeLabelList renders sorted labels as a JSON object.
func writeLabelList(b *strings.Builder, ls Labels) {
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, l.Name)
		b.WriteByte(':')
		writeJSONString(b, l.Value)
	}
	b.WriteByte('}')
}

// writeData answers v in Loki's success envelope.
func writeData[T any](w http.ResponseWriter, v T) { writeJSON(w, success{Status: "success", Data: v}) }

// writeAny answers v as a JSON document of its own.
func writeAny[T any](w http.ResponseWriter, v T) { writeJSON(w, v) }
