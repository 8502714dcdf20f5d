package metric

import (
	"bufio"
	"encoding/hex"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Content types served by Handler.
const (
	ContentTypeText        = "text/plain; version=0.0.4; charset=utf-8"
	ContentTypeOpenMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8"
)

// Handler serves the registry in the Prometheus text format, or in
// OpenMetrics when the scraper asks for it in Accept (OpenMetrics carries
// histogram exemplars).
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		om := strings.Contains(req.Header.Get("Accept"), "application/openmetrics-text")
		if om {
			w.Header().Set("Content-Type", ContentTypeOpenMetrics)
		} else {
			w.Header().Set("Content-Type", ContentTypeText)
		}
		if req.Method == http.MethodHead {
			return
		}
		_ = r.Write(w, om)
	})
}

// Write writes every instrument in the Prometheus text format, or in
// OpenMetrics when openMetrics is true.
func (r *Registry) Write(w io.Writer, openMetrics bool) error {
	bw := bufio.NewWriter(w)
	for _, inst := range r.instruments() {
		pts := inst.collect()
		if len(pts) == 0 {
			continue
		}
		writeFamily(bw, inst.meta(), pts, openMetrics)
	}
	if openMetrics {
		bw.WriteString("# EOF\n")
	}
	return bw.Flush()
}

func writeFamily(w *bufio.Writer, d *desc, pts []point, om bool) {
	name := promName(d.name)
	family, sample := name, name
	typ := "gauge"
	switch d.kind {
	case KindCounter:
		typ = "counter"
		if om {
			family = strings.TrimSuffix(name, "_total")
			sample = family + "_total"
		}
	case KindHistogram, KindExpHistogram:
		typ = "histogram"
	}
	if d.help != "" {
		w.WriteString("# HELP " + family + " ")
		w.WriteString(escapeHelp(d.help))
		w.WriteByte('\n')
	}
	w.WriteString("# TYPE " + family + " " + typ + "\n")
	for _, p := range pts {
		switch {
		case p.exp != nil:
			writeExpHistogram(w, sample, p, om)
		case d.kind == KindHistogram:
			var cum uint64
			for i, c := range p.counts {
				cum += c
				le := math.Inf(1)
				if i < len(p.bounds) {
					le = p.bounds[i]
				}
				writeSample(w, sample+"_bucket", p.labels, "le", formatFloat(le), float64(cum))
				if om && p.exemplars[i] != nil {
					writeExemplar(w, p.exemplars[i])
				}
				w.WriteByte('\n')
			}
			writeSample(w, sample+"_sum", p.labels, "", "", p.value)
			w.WriteByte('\n')
			writeSample(w, sample+"_count", p.labels, "", "", float64(p.count))
			w.WriteByte('\n')
		default:
			if p.isInt {
				writeSampleInt(w, sample, p.labels, p.intValue)
			} else {
				writeSample(w, sample, p.labels, "", "", p.value)
			}
			w.WriteByte('\n')
		}
	}
}

// writeExpHistogram writes an exponential histogram as a classic one: each
// exponential bucket's upper bound becomes an le bound.
func writeExpHistogram(w *bufio.Writer, name string, p point, om bool) {
	e := p.exp
	base := math.Exp2(math.Exp2(-float64(e.scale)))
	var cum uint64
	for i := len(e.neg) - 1; i >= 0; i-- {
		if e.neg[i] == 0 {
			continue
		}
		cum += e.neg[i]
		idx := e.negOffset + int32(i)
		writeSample(w, name+"_bucket", p.labels, "le", formatFloat(-math.Pow(base, float64(idx))), float64(cum))
		w.WriteByte('\n')
	}
	cum += e.zeroCount
	writeSample(w, name+"_bucket", p.labels, "le", "0", float64(cum))
	w.WriteByte('\n')
	for i, c := range e.pos {
		if c == 0 {
			continue
		}
		cum += c
		idx := e.posOffset + int32(i)
		writeSample(w, name+"_bucket", p.labels, "le", formatFloat(math.Pow(base, float64(idx+1))), float64(cum))
		w.WriteByte('\n')
	}
	writeSample(w, name+"_bucket", p.labels, "le", "+Inf", float64(p.count))
	w.WriteByte('\n')
	writeSample(w, name+"_sum", p.labels, "", "", p.value)
	w.WriteByte('\n')
	writeSample(w, name+"_count", p.labels, "", "", float64(p.count))
	w.WriteByte('\n')
}

func writeLabels(w *bufio.Writer, labels []Label, extraName, extraValue string) {
	if len(labels) == 0 && extraName == "" {
		return
	}
	w.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(promName(l.Name))
		w.WriteString(`="`)
		w.WriteString(escapeLabel(l.Value))
		w.WriteByte('"')
	}
	if extraName != "" {
		if len(labels) > 0 {
			w.WriteByte(',')
		}
		w.WriteString(extraName + `="` + extraValue + `"`)
	}
	w.WriteByte('}')
}

func writeSample(w *bufio.Writer, name string, labels []Label, extraName, extraValue string, v float64) {
	w.WriteString(name)
	writeLabels(w, labels, extraName, extraValue)
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
}

func writeSampleInt(w *bufio.Writer, name string, labels []Label, v int64) {
	w.WriteString(name)
	writeLabels(w, labels, "", "")
	w.WriteByte(' ')
	w.WriteString(strconv.FormatInt(v, 10))
}

func writeExemplar(w *bufio.Writer, e *Exemplar) {
	w.WriteString(` # {trace_id="`)
	w.WriteString(hex.EncodeToString(e.TraceID[:]))
	w.WriteString(`",span_id="`)
	w.WriteString(hex.EncodeToString(e.SpanID[:]))
	w.WriteString(`"} `)
	w.WriteString(formatFloat(e.Value))
	w.WriteByte(' ')
	w.WriteString(strconv.FormatFloat(float64(e.Time.UnixNano())/1e9, 'f', 3, 64))
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// promName maps OpenTelemetry-style dotted names to Prometheus' legacy
// character set.
func promName(s string) string {
	if !strings.ContainsRune(s, '.') {
		return s
	}
	return strings.ReplaceAll(s, ".", "_")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
