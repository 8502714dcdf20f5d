package traces

import (
	"cmp"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/valyala/fastjson"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// storedSpan is one row of the spans table.
type storedSpan struct {
	start, end                                 int64
	traceHi, traceLo, spanID, parentSpanID     uint64
	service, name                              string
	kind, statusCode                           uint8
	statusMessage, traceState                  string
	flags                                      uint32
	attrs                                      string
	droppedAttrs                               uint32
	events                                     string
	droppedEvents                              uint32
	links                                      string
	droppedLinks                               uint32
	resourceID                                 uint64
	resourceAttrs                              string
	resourceDropped                            uint32
	resourceSchemaURL, scopeName, scopeVersion string
	scopeAttrs                                 string
	scopeDropped                               uint32
	scopeSchemaURL                             string
}

func scanSpans(rows *sql.Rows, out []storedSpan) ([]storedSpan, error) {
	for rows.Next() {
		var s storedSpan
		if err := rows.Scan(&s.start, &s.end, &s.traceHi, &s.traceLo, &s.spanID, &s.parentSpanID,
			&s.service, &s.name, &s.kind, &s.statusCode, &s.statusMessage, &s.traceState, &s.flags,
			&s.attrs, &s.droppedAttrs, &s.events, &s.droppedEvents, &s.links, &s.droppedLinks,
			&s.resourceID, &s.scopeName, &s.scopeVersion, &s.scopeAttrs, &s.scopeDropped, &s.scopeSchemaURL); err != nil {
			return out, fmt.Errorf("read span row: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

type traceKey struct{ hi, lo uint64 }

// toTraces rebuilds OTLP data from stored spans: one ptrace.Traces per
// trace, in order of each trace's first span, spans grouped by resource
// and scope as they were sent (identical resources and scopes merge).
func toTraces(spans []storedSpan) ([]traceKey, map[traceKey]ptrace.Traces, error) {
	// Rows mostly come in start order already; storedSpan is large, so a
	// typed sort (no reflection swapper) and none at all when sorted.
	byStart := func(a, b storedSpan) int { return cmp.Compare(a.start, b.start) }
	if !slices.IsSortedFunc(spans, byStart) {
		slices.SortStableFunc(spans, byStart)
	}
	var order []traceKey
	out := map[traceKey]ptrace.Traces{}
	type resKey struct {
		attrs, schema string
		dropped       uint32
	}
	type scopeKey struct {
		res                      resKey
		name, version, attrs, su string
		dropped                  uint32
	}
	resources := map[traceKey]map[resKey]ptrace.ResourceSpans{}
	scopes := map[traceKey]map[scopeKey]ptrace.ScopeSpans{}
	for i := range spans {
		s := &spans[i]
		tk := traceKey{s.traceHi, s.traceLo}
		td, ok := out[tk]
		if !ok {
			td = ptrace.NewTraces()
			out[tk] = td
			order = append(order, tk)
			resources[tk] = map[resKey]ptrace.ResourceSpans{}
			scopes[tk] = map[scopeKey]ptrace.ScopeSpans{}
		}
		rk := resKey{s.resourceAttrs, s.resourceSchemaURL, s.resourceDropped}
		rs, ok := resources[tk][rk]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			rs.SetSchemaUrl(s.resourceSchemaURL)
			rs.Resource().SetDroppedAttributesCount(s.resourceDropped)
			if err := decodeAttrs(s.resourceAttrs, rs.Resource().Attributes()); err != nil {
				return nil, nil, err
			}
			resources[tk][rk] = rs
		}
		sk := scopeKey{rk, s.scopeName, s.scopeVersion, s.scopeAttrs, s.scopeSchemaURL, s.scopeDropped}
		ss, ok := scopes[tk][sk]
		if !ok {
			ss = rs.ScopeSpans().AppendEmpty()
			ss.SetSchemaUrl(s.scopeSchemaURL)
			ss.Scope().SetName(s.scopeName)
			ss.Scope().SetVersion(s.scopeVersion)
			ss.Scope().SetDroppedAttributesCount(s.scopeDropped)
			if err := decodeAttrs(s.scopeAttrs, ss.Scope().Attributes()); err != nil {
				return nil, nil, err
			}
			scopes[tk][sk] = ss
		}
		if err := s.fill(ss.Spans().AppendEmpty()); err != nil {
			return nil, nil, err
		}
	}
	return order, out, nil
}

func (s *storedSpan) fill(sp ptrace.Span) error {
	sp.SetTraceID(traceIDFromParts(s.traceHi, s.traceLo))
	sp.SetSpanID(spanIDFromUint(s.spanID))
	if s.parentSpanID != 0 {
		sp.SetParentSpanID(spanIDFromUint(s.parentSpanID))
	}
	sp.TraceState().FromRaw(s.traceState)
	sp.SetFlags(s.flags)
	sp.SetName(s.name)
	sp.SetKind(ptrace.SpanKind(s.kind))
	sp.SetStartTimestamp(pcommon.Timestamp(s.start))
	sp.SetEndTimestamp(pcommon.Timestamp(s.end))
	sp.Status().SetCode(ptrace.StatusCode(s.statusCode))
	sp.Status().SetMessage(s.statusMessage)
	sp.SetDroppedAttributesCount(s.droppedAttrs)
	sp.SetDroppedEventsCount(s.droppedEvents)
	sp.SetDroppedLinksCount(s.droppedLinks)
	if err := decodeAttrs(s.attrs, sp.Attributes()); err != nil {
		return err
	}
	if err := decodeEvents(s.events, sp.Events()); err != nil {
		return err
	}
	return decodeLinks(s.links, sp.Links())
}

// decodeTuples decodes a stored list of fixed-width JSON arrays (events,
// links) and calls f on each; "" and "[]" are an empty list.
func decodeTuples(s string, width int, f func(e []*fastjson.Value) error) error {
	if s == "" || s == "[]" {
		return nil
	}
	return parseStored(s, func(raw *fastjson.Value) error {
		list, err := raw.Array()
		if err != nil {
			return errBadAttrs
		}
		for _, x := range list {
			e, err := x.Array()
			if err != nil || len(e) != width {
				return errBadAttrs
			}
			if err := f(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// decodeEvents is the inverse of appendEvents.
func decodeEvents(s string, evs ptrace.SpanEventSlice) error {
	return decodeTuples(s, 4, func(e []*fastjson.Value) error {
		ev := evs.AppendEmpty()
		ts, err1 := jsonUint(e[0])
		dropped, err2 := jsonUint(e[3])
		if err1 != nil || err2 != nil || e[1].Type() != fastjson.TypeString {
			return errBadAttrs
		}
		ev.SetTimestamp(pcommon.Timestamp(ts))
		ev.SetName(jsonStr(e[1]))
		ev.SetDroppedAttributesCount(uint32(dropped))
		return attrsFromJSON(e[2], ev.Attributes())
	})
}

// decodeLinks is the inverse of appendLinks.
func decodeLinks(s string, ls ptrace.SpanLinkSlice) error {
	return decodeTuples(s, 6, func(e []*fastjson.Value) error {
		l := ls.AppendEmpty()
		dropped, err1 := jsonUint(e[4])
		flags, err2 := jsonUint(e[5])
		if e[0].Type() != fastjson.TypeString || e[1].Type() != fastjson.TypeString || e[2].Type() != fastjson.TypeString || err1 != nil || err2 != nil {
			return errBadAttrs
		}
		var t pcommon.TraceID
		var sp pcommon.SpanID
		tid, sid := e[0].GetStringBytes(), e[1].GetStringBytes()
		if len(tid) != 2*len(t) || len(sid) != 2*len(sp) {
			return errBadAttrs
		}
		if n, err := hex.Decode(t[:], tid); err != nil || n != 16 {
			return errBadAttrs
		}
		if n, err := hex.Decode(sp[:], sid); err != nil || n != 8 {
			return errBadAttrs
		}
		l.SetTraceID(t)
		l.SetSpanID(sp)
		l.TraceState().FromRaw(jsonStr(e[2]))
		l.SetDroppedAttributesCount(uint32(dropped))
		l.SetFlags(uint32(flags))
		return attrsFromJSON(e[3], l.Attributes())
	})
}
