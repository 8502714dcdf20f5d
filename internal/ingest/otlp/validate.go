package otlp

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigilhq/vigil/internal/apierr"
)

// One rule per case for the three signals and both transports, checked on
// the decoded request before anything is stored (protobuf decoding
// checks neither; JSON decoding checks neither until its stack runs out):
//
//   - Invalid UTF-8 in any string (names, attribute keys and values, log
//     bodies, descriptions, units, status messages, trace state): the
//     request is refused, 400 / INVALID_ARGUMENT naming the field, as
//     proto3 requires strings to be UTF-8 and as remote write and Loki
//     push refuse it. Repairing would store a value the sender never sent
//     and that its own queries would not match.
//   - Attribute values and log bodies nested (arrays and maps inside
//     arrays and maps) deeper than MaxValueDepth: refused the same way.
//     Protobuf decoding stops at about 50 levels on its own and JSON
//     decoding recurses as deep as the body goes, so the limit is checked
//     before JSON is decoded (by counting brackets) and after either is
//     decoded (precisely, naming the field), and the protobuf decoder's
//     own refusal gets the same message.

// MaxValueDepth is how deeply arrays and maps may nest inside one
// attribute value or log body: a plain value is depth 1, an array of
// plain values depth 2.
const MaxValueDepth = 32

// jsonOverhead is the JSON nesting of an OTLP request around an
// attribute value (resourceSpans[{scopeSpans[{spans[{events[{attributes[
// {value{...), with room to spare; each level of an AnyValue adds at most
// four ({"kvlistValue":{"values":[{"value":...).
const jsonOverhead = 16

func errDepth(signal, where string) error {
	return apierr.New(apierr.Invalid, "OTLP %s request refused: %s nests arrays and maps more than %d levels deep (the limit for attribute values and log bodies); nothing was stored", signal, where, MaxValueDepth)
}

func errUTF8(signal, where string) error {
	return apierr.New(apierr.Invalid, "OTLP %s request refused: %s is not valid UTF-8 (OTLP strings must be UTF-8; send binary data as bytesValue); nothing was stored", signal, where)
}

// checkJSONDepth refuses a JSON body nested deeper than any request within
// MaxValueDepth can be, before the decoder recurses into it.
func checkJSONDepth(signal string, b []byte) error {
	limit := jsonOverhead + 4*MaxValueDepth
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > limit {
				return errDepth(signal, "the JSON body")
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// protoDepthErr turns the protobuf decoder's refusal of deep nesting into
// the rule's message; other errors are returned as they are.
func protoDepthErr(signal string, err error) error {
	if err != nil && strings.Contains(err.Error(), "exceeded max recursion depth") {
		return errDepth(signal, "an attribute value or log body")
	}
	return err
}

// checker walks one request and remembers the first violation.
type checker struct {
	signal string
	err    error
}

func (c *checker) str(where func() string, s string) {
	if c.err == nil && !utf8.ValidString(s) {
		c.err = errUTF8(c.signal, where())
	}
}

func (c *checker) attrs(where func() string, m pcommon.Map) {
	if c.err != nil {
		return
	}
	for k, v := range m.All() {
		if !utf8.ValidString(k) {
			c.err = errUTF8(c.signal, where()+" key "+strconv.QuoteToASCII(k))
			return
		}
		c.value(func() string { return where() + "[" + strconv.Quote(k) + "]" }, v, 1)
		if c.err != nil {
			return
		}
	}
}

func (c *checker) value(where func() string, v pcommon.Value, depth int) {
	if c.err != nil {
		return
	}
	if depth > MaxValueDepth {
		c.err = errDepth(c.signal, where())
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		c.str(where, v.Str())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len() && c.err == nil; i++ {
			c.value(func() string { return where() + "[" + strconv.Itoa(i) + "]" }, s.At(i), depth+1)
		}
	case pcommon.ValueTypeMap:
		for k, e := range v.Map().All() {
			if !utf8.ValidString(k) {
				c.err = errUTF8(c.signal, where()+" key "+strconv.QuoteToASCII(k))
				return
			}
			c.value(func() string { return where() + "[" + strconv.Quote(k) + "]" }, e, depth+1)
			if c.err != nil {
				return
			}
		}
	}
}

func (c *checker) resource(where func() string, r pcommon.Resource) {
	c.attrs(func() string { return where() + ".resource.attributes" }, r.Attributes())
}

func (c *checker) scope(where func() string, s pcommon.InstrumentationScope) {
	c.str(func() string { return where() + ".scope.name" }, s.Name())
	c.str(func() string { return where() + ".scope.version" }, s.Version())
	c.attrs(func() string { return where() + ".scope.attributes" }, s.Attributes())
}

func at(prefix string, i int) func() string {
	return func() string { return prefix + "[" + strconv.Itoa(i) + "]" }
}

func under(where func() string, field string, i int) func() string {
	return func() string { return where() + "." + field + "[" + strconv.Itoa(i) + "]" }
}

func dot(where func() string, field string) func() string {
	return func() string { return where() + "." + field }
}

// checkTraces applies the rules to a traces request.
func checkTraces(td ptrace.Traces) error {
	c := &checker{signal: sigTraces}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len() && c.err == nil; i++ {
		rs := rss.At(i)
		w := at("resource_spans", i)
		c.resource(w, rs.Resource())
		c.str(dot(w, "schema_url"), rs.SchemaUrl())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len() && c.err == nil; j++ {
			ss := sss.At(j)
			ws := under(w, "scope_spans", j)
			c.scope(ws, ss.Scope())
			c.str(dot(ws, "schema_url"), ss.SchemaUrl())
			sps := ss.Spans()
			for k := 0; k < sps.Len() && c.err == nil; k++ {
				sp := sps.At(k)
				wp := under(ws, "spans", k)
				c.str(dot(wp, "name"), sp.Name())
				c.str(dot(wp, "trace_state"), sp.TraceState().AsRaw())
				c.str(dot(wp, "status.message"), sp.Status().Message())
				c.attrs(dot(wp, "attributes"), sp.Attributes())
				evs := sp.Events()
				for e := 0; e < evs.Len() && c.err == nil; e++ {
					we := under(wp, "events", e)
					c.str(dot(we, "name"), evs.At(e).Name())
					c.attrs(dot(we, "attributes"), evs.At(e).Attributes())
				}
				ls := sp.Links()
				for l := 0; l < ls.Len() && c.err == nil; l++ {
					wl := under(wp, "links", l)
					c.str(dot(wl, "trace_state"), ls.At(l).TraceState().AsRaw())
					c.attrs(dot(wl, "attributes"), ls.At(l).Attributes())
				}
			}
		}
	}
	return c.err
}

// checkLogs applies the rules to a logs request.
func checkLogs(ld plog.Logs) error {
	c := &checker{signal: sigLogs}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len() && c.err == nil; i++ {
		rl := rls.At(i)
		w := at("resource_logs", i)
		c.resource(w, rl.Resource())
		c.str(dot(w, "schema_url"), rl.SchemaUrl())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len() && c.err == nil; j++ {
			sl := sls.At(j)
			ws := under(w, "scope_logs", j)
			c.scope(ws, sl.Scope())
			c.str(dot(ws, "schema_url"), sl.SchemaUrl())
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len() && c.err == nil; k++ {
				lr := lrs.At(k)
				wr := under(ws, "log_records", k)
				c.str(dot(wr, "severity_text"), lr.SeverityText())
				c.str(dot(wr, "event_name"), lr.EventName())
				c.value(dot(wr, "body"), lr.Body(), 1)
				c.attrs(dot(wr, "attributes"), lr.Attributes())
			}
		}
	}
	return c.err
}

// checkMetrics applies the rules to a metrics request.
func checkMetrics(md pmetric.Metrics) error {
	c := &checker{signal: sigMetrics}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len() && c.err == nil; i++ {
		rm := rms.At(i)
		w := at("resource_metrics", i)
		c.resource(w, rm.Resource())
		c.str(dot(w, "schema_url"), rm.SchemaUrl())
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len() && c.err == nil; j++ {
			sm := sms.At(j)
			ws := under(w, "scope_metrics", j)
			c.scope(ws, sm.Scope())
			c.str(dot(ws, "schema_url"), sm.SchemaUrl())
			ms := sm.Metrics()
			for k := 0; k < ms.Len() && c.err == nil; k++ {
				m := ms.At(k)
				wm := under(ws, "metrics", k)
				c.str(dot(wm, "name"), m.Name())
				c.str(dot(wm, "description"), m.Description())
				c.str(dot(wm, "unit"), m.Unit())
				c.attrs(dot(wm, "metadata"), m.Metadata())
				c.points(wm, m)
			}
		}
	}
	return c.err
}

// points checks the attributes of a metric's data points and exemplars.
func (c *checker) points(wm func() string, m pmetric.Metric) {
	type point interface {
		Attributes() pcommon.Map
		Exemplars() pmetric.ExemplarSlice
	}
	each := func(n int, get func(int) point) {
		for i := 0; i < n && c.err == nil; i++ {
			p := get(i)
			wp := under(wm, "data_points", i)
			c.attrs(dot(wp, "attributes"), p.Attributes())
			ex := p.Exemplars()
			for e := 0; e < ex.Len() && c.err == nil; e++ {
				c.attrs(dot(under(wp, "exemplars", e), "filtered_attributes"), ex.At(e).FilteredAttributes())
			}
		}
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		each(dps.Len(), func(i int) point { return dps.At(i) })
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		each(dps.Len(), func(i int) point { return dps.At(i) })
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		each(dps.Len(), func(i int) point { return dps.At(i) })
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		each(dps.Len(), func(i int) point { return dps.At(i) })
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len() && c.err == nil; i++ {
			c.attrs(dot(under(wm, "data_points", i), "attributes"), dps.At(i).Attributes())
		}
	}
}
