package traces

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/route"
)

// Routes are the Jaeger query API under /jaeger/api/ (what Grafana's
// Jaeger data source calls, with URL http://HOST:9797/jaeger) and the
// OTLP JSON trace endpoint under /vigil/api/v1/traces/.
func (s *Store) Routes() []route.Route {
	return []route.Route{
		route.Func("GET", "/jaeger/api/services", route.Read, s.serveServices, "Jaeger query API: service names (Grafana's Jaeger data source, URL http://HOST:9797/jaeger)"),
		route.Func("GET", "/jaeger/api/services/{service}/operations", route.Read, s.serveServiceOperations, "Jaeger query API: a service's operation names"),
		route.Func("GET", "/jaeger/api/operations", route.Read, s.serveOperations, "Jaeger query API: operations with span kind (?service=&spanKind=)"),
		route.Func("GET", "/jaeger/api/traces", route.Read, s.serveSearch, "Jaeger query API: trace search (?service=&operation=&tags=&minDuration=&limit=&start=&end=)"),
		route.Func("GET", "/jaeger/api/traces/{id}", route.Read, s.serveTrace, "Jaeger query API: one trace by 16- or 32-digit ID"),
		route.Func("GET", "/jaeger/api/dependencies", route.Read, s.serveDependencies, "Jaeger query API: service dependency edges (?endTs=&lookback=)"),
		route.Func("GET", "/vigil/api/v1/traces/{id}", route.Read, s.serveOTLPTrace, "one trace as OTLP JSON"),
	}
}

// Jaeger's JSON envelope and model (jaeger model/json).
type jResponse struct {
	Data   any      `json:"data"`
	Total  int      `json:"total"`
	Limit  int      `json:"limit"`
	Offset int      `json:"offset"`
	Errors []jError `json:"errors"`
}

type jError struct {
	Code    int    `json:"code,omitempty"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

type jTrace struct {
	TraceID   string              `json:"traceID"`
	Spans     []jSpan             `json:"spans"`
	Processes map[string]jProcess `json:"processes"`
	Warnings  []string            `json:"warnings"`
}

type jSpan struct {
	TraceID       string       `json:"traceID"`
	SpanID        string       `json:"spanID"`
	Flags         uint32       `json:"flags,omitempty"`
	OperationName string       `json:"operationName"`
	References    []jReference `json:"references"`
	StartTime     uint64       `json:"startTime"`
	Duration      uint64       `json:"duration"`
	Tags          []jKeyValue  `json:"tags"`
	Logs          []jLog       `json:"logs"`
	ProcessID     string       `json:"processID"`
	Warnings      []string     `json:"warnings"`

	parent string // the parent span ID, "" for a root
}

type jReference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type jProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jKeyValue `json:"tags"`
}

type jLog struct {
	Timestamp uint64      `json:"timestamp"`
	Fields    []jKeyValue `json:"fields"`
}

type jKeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jOperation struct {
	Name     string `json:"name"`
	SpanKind string `json:"spanKind"`
}

type jDependency struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers err in Jaeger's envelope: {"data":null,"errors":[{code,msg}]}.
func (s *Store) writeError(w http.ResponseWriter, r *http.Request, err error) {
	s.errw.JSON(w, r, err, func(rep apierr.Reply) any {
		return jResponse{Errors: []jError{{Code: rep.Status, Msg: rep.Message}}}
	})
}

func badRequest(err error) error { return apierr.Wrap(apierr.Invalid, err, "") }

func (s *Store) serveServices(w http.ResponseWriter, _ *http.Request) {
	svcs := s.Services()
	writeJSON(w, http.StatusOK, jResponse{Data: svcs, Total: len(svcs)})
}

func (s *Store) serveServiceOperations(w http.ResponseWriter, r *http.Request) {
	ops := s.Operations(r.PathValue("service"), "")
	names := []string{}
	seen := map[string]bool{}
	for _, op := range ops {
		if !seen[op.Name] {
			seen[op.Name] = true
			names = append(names, op.Name)
		}
	}
	writeJSON(w, http.StatusOK, jResponse{Data: names, Total: len(names)})
}

func (s *Store) serveOperations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	service := q.Get("service")
	if service == "" {
		s.writeError(w, r, apierr.New(apierr.Invalid, "parameter 'service' is required"))
		return
	}
	kind, err := parseSpanKind(q.Get("spanKind"))
	if err != nil {
		s.writeError(w, r, badRequest(err))
		return
	}
	ops := s.Operations(service, kind)
	out := make([]jOperation, len(ops))
	for i, op := range ops {
		out[i] = jOperation{Name: op.Name, SpanKind: op.SpanKind}
	}
	writeJSON(w, http.StatusOK, jResponse{Data: out, Total: len(out)})
}

func (s *Store) serveSearch(w http.ResponseWriter, r *http.Request) {
	req, err := parseSearch(r.URL.Query(), s.opts.Now())
	if err != nil {
		s.writeError(w, r, badRequest(err))
		return
	}
	var traces []ptrace.Traces
	var errs []jError
	if len(req.traceIDs) > 0 {
		keys := make([]traceKey, len(req.traceIDs))
		for i, id := range req.traceIDs {
			hi, lo := traceIDParts(id)
			keys[i] = traceKey{hi, lo}
		}
		got, err := s.fetch(r.Context(), keys)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for i, k := range keys {
			if td, ok := got[k]; ok {
				traces = append(traces, td)
			} else {
				errs = append(errs, jError{Code: http.StatusNotFound, Msg: "trace not found", TraceID: jaegerTraceID(req.traceIDs[i])})
			}
		}
	} else {
		traces, err = s.FindTraces(r.Context(), req.query)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	out := make([]jTrace, 0, len(traces))
	for _, td := range traces {
		out = append(out, toJaeger(td))
	}
	writeJSON(w, http.StatusOK, jResponse{Data: out, Errors: errs})
}

func (s *Store) lookup(w http.ResponseWriter, r *http.Request) (ptrace.Traces, pcommon.TraceID, bool) {
	id, err := parseTraceID(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, badRequest(err))
		return ptrace.Traces{}, id, false
	}
	// start and end are only hints (Grafana sends milliseconds where Jaeger
	// reads microseconds), so the whole store is searched.
	td, found, err := s.GetTrace(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return td, id, false
	}
	if !found {
		s.writeError(w, r, apierr.New(apierr.NotFound, "trace not found"))
		return td, id, false
	}
	return td, id, true
}

func (s *Store) serveTrace(w http.ResponseWriter, r *http.Request) {
	td, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, jResponse{Data: []jTrace{toJaeger(td)}})
}

func (s *Store) serveOTLPTrace(w http.ResponseWriter, r *http.Request) {
	td, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("encode trace: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (s *Store) serveDependencies(w http.ResponseWriter, r *http.Request) {
	end, lookback, err := parseDependencies(r.URL.Query(), s.opts.Now())
	if err != nil {
		s.writeError(w, r, badRequest(err))
		return
	}
	deps, err := s.Dependencies(r.Context(), end, lookback)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]jDependency, len(deps))
	for i, d := range deps {
		out[i] = jDependency{Parent: d.Parent, Child: d.Child, CallCount: d.CallCount}
	}
	writeJSON(w, http.StatusOK, jResponse{Data: out})
}

// jaegerTraceID prints a trace ID as Jaeger does: 16 hex digits when the
// high half is zero, else 32.
func jaegerTraceID(id pcommon.TraceID) string {
	if hi, _ := traceIDParts(id); hi == 0 {
		return hex.EncodeToString(id[8:])
	}
	return hex.EncodeToString(id[:])
}

func jaegerSpanID(id pcommon.SpanID) string { return hex.EncodeToString(id[:]) }

// toJaeger converts one trace as Jaeger's OTLP translator does (resource →
// process, scope → otel.scope.* tags, kind/status/trace state → tags,
// events → logs, parent and links → references).
func toJaeger(td ptrace.Traces) jTrace {
	t := jTrace{Spans: make([]jSpan, 0, td.SpanCount()), Processes: map[string]jProcess{}}
	type procKey struct{ service, tags string }
	procIDs := map[procKey]string{}
	var lastID pcommon.TraceID
	var tid string
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		proc := jaegerProcess(rs.Resource())
		tagsJSON, _ := json.Marshal(proc.Tags)
		pk := procKey{proc.ServiceName, string(tagsJSON)}
		pid, ok := procIDs[pk]
		if !ok {
			pid = "p" + strconv.Itoa(len(procIDs)+1)
			procIDs[pk] = pid
			t.Processes[pid] = proc
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			sps := ss.Spans()
			for k := 0; k < sps.Len(); k++ {
				span := sps.At(k)
				if span.TraceID() != lastID || tid == "" {
					lastID, tid = span.TraceID(), jaegerTraceID(span.TraceID())
				}
				sp := jaegerSpan(span, ss.Scope(), tid)
				sp.ProcessID = pid
				if t.TraceID == "" {
					t.TraceID = sp.TraceID
				}
				t.Spans = append(t.Spans, sp)
			}
		}
	}
	// As Jaeger's clock skew adjuster, flag spans whose parent is missing.
	ids := make(map[string]bool, len(t.Spans))
	for _, sp := range t.Spans {
		ids[sp.SpanID] = true
	}
	for i := range t.Spans {
		sp := &t.Spans[i]
		if len(sp.References) > 0 && sp.References[0].TraceID == sp.TraceID && sp.parent != "" && !ids[sp.parent] {
			sp.Warnings = append(sp.Warnings, "invalid parent span IDs="+sp.parent+"; skipping clock skew adjustment")
		}
	}
	return t
}

func jaegerProcess(res pcommon.Resource) jProcess {
	p := jProcess{Tags: []jKeyValue{}}
	attrs := res.Attributes()
	if attrs.Len() == 0 {
		p.ServiceName = noServiceName
		return p
	}
	for k, v := range attrs.All() {
		if k == "service.name" {
			p.ServiceName = v.AsString()
			continue
		}
		p.Tags = append(p.Tags, jaegerTag(k, v))
	}
	if p.ServiceName == "" {
		p.ServiceName = noServiceName
	}
	sortTags(p.Tags)
	return p
}

const jsMaxSafeInteger = int64(1)<<53 - 1

func jaegerTag(k string, v pcommon.Value) jKeyValue {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return jKeyValue{Key: k, Type: "string", Value: v.Str()}
	case pcommon.ValueTypeBool:
		return jKeyValue{Key: k, Type: "bool", Value: v.Bool()}
	case pcommon.ValueTypeInt:
		i := v.Int()
		if i > jsMaxSafeInteger || i < -jsMaxSafeInteger {
			return jKeyValue{Key: k, Type: "int64", Value: strconv.FormatInt(i, 10)}
		}
		return jKeyValue{Key: k, Type: "int64", Value: i}
	case pcommon.ValueTypeDouble:
		return jKeyValue{Key: k, Type: "float64", Value: jsonFloat(v.Double())}
	case pcommon.ValueTypeBytes:
		return jKeyValue{Key: k, Type: "binary", Value: v.Bytes().AsRaw()}
	}
	return jKeyValue{Key: k, Type: "string", Value: v.AsString()}
}

// jsonFloat keeps NaN and infinities encodable (as strings).
func jsonFloat(f float64) any {
	if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

func micros(ns int64) uint64 {
	if ns <= 0 {
		return 0
	}
	return uint64(ns / 1000)
}

// jaegerSpan converts one span; tid is its trace ID as jaegerTraceID
// prints it (the same for every span of a trace, so printed once).
func jaegerSpan(sp ptrace.Span, scope pcommon.InstrumentationScope, tid string) jSpan {
	out := jSpan{
		TraceID:       tid,
		SpanID:        jaegerSpanID(sp.SpanID()),
		OperationName: sp.Name(),
		References:    []jReference{},
		StartTime:     micros(int64(sp.StartTimestamp())),
		Duration:      micros(int64(sp.EndTimestamp()) - int64(sp.StartTimestamp())),
		Tags:          make([]jKeyValue, 0, sp.Attributes().Len()+4),
		Logs:          []jLog{},
	}
	if !sp.ParentSpanID().IsEmpty() {
		out.parent = jaegerSpanID(sp.ParentSpanID())
		out.References = append(out.References, jReference{RefType: "CHILD_OF", TraceID: tid, SpanID: out.parent})
	}
	links := sp.Links()
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		ref := "FOLLOWS_FROM"
		if v, ok := l.Attributes().Get("opentracing.ref_type"); ok && v.Str() == "child_of" {
			ref = "CHILD_OF"
		}
		lt, ls := jaegerTraceID(l.TraceID()), jaegerSpanID(l.SpanID())
		if !sp.ParentSpanID().IsEmpty() && lt == tid && l.SpanID() == sp.ParentSpanID() {
			out.References[0].RefType = ref
			continue
		}
		out.References = append(out.References, jReference{RefType: ref, TraceID: lt, SpanID: ls})
	}
	if n := scope.Name(); n != "" {
		out.Tags = append(out.Tags, jKeyValue{Key: "otel.scope.name", Type: "string", Value: n})
	}
	if v := scope.Version(); v != "" {
		out.Tags = append(out.Tags, jKeyValue{Key: "otel.scope.version", Type: "string", Value: v})
	}
	for k, v := range sp.Attributes().All() {
		out.Tags = append(out.Tags, jaegerTag(k, v))
	}
	if k := jaegerSpanKind(sp.Kind()); k != "" {
		out.Tags = append(out.Tags, jKeyValue{Key: "span.kind", Type: "string", Value: k})
	}
	switch sp.Status().Code() {
	case ptrace.StatusCodeError:
		out.Tags = append(out.Tags, jKeyValue{Key: "otel.status_code", Type: "string", Value: "ERROR"},
			jKeyValue{Key: "error", Type: "bool", Value: true})
	case ptrace.StatusCodeOk:
		out.Tags = append(out.Tags, jKeyValue{Key: "otel.status_code", Type: "string", Value: "OK"})
	}
	if m := sp.Status().Message(); m != "" {
		out.Tags = append(out.Tags, jKeyValue{Key: "otel.status_description", Type: "string", Value: m})
	}
	if ts := sp.TraceState().AsRaw(); ts != "" {
		out.Tags = append(out.Tags, jKeyValue{Key: "w3c.tracestate", Type: "string", Value: ts})
	}
	sortTags(out.Tags)
	evs := sp.Events()
	for i := 0; i < evs.Len(); i++ {
		e := evs.At(i)
		l := jLog{Timestamp: micros(int64(e.Timestamp())), Fields: []jKeyValue{}}
		if _, has := e.Attributes().Get("event"); e.Name() != "" && !has {
			l.Fields = append(l.Fields, jKeyValue{Key: "event", Type: "string", Value: e.Name()})
		}
		// As Jaeger: the event's name first, then its attributes in the
		// order they were sent (Jaeger sorts span tags, not log fields).
		for k, v := range e.Attributes().All() {
			l.Fields = append(l.Fields, jaegerTag(k, v))
		}
		out.Logs = append(out.Logs, l)
	}
	return out
}

// sortTags orders tags by key, as Jaeger v2's query service does (its
// SortCollections adjuster), so responses compare equal field by field.
func sortTags(tags []jKeyValue) {
	slices.SortStableFunc(tags, func(a, b jKeyValue) int { return strings.Compare(a.Key, b.Key) })
}
