package traces

import (
	"database/sql/driver"
	"encoding/binary"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// The spans table keeps every OTLP field of a span and its scope; the
// resource, usually the same for thousands of spans, is stored once per
// request in resources and referenced by a hash (resource_id). trace_index
// has one row per trace per request and lets a trace-by-ID lookup find the
// time range to read. Attributes, events and links are typed JSON (see
// attrs.go); tag search looks for exact JSON fragments in them.
//
// blk names the block (one request) a span was written in; span_blocks
// holds each block's tag filter (see blocks.go and tagindex.go) and its
// trace-ID filter (ids, see idindex.go; NULL in blocks written before
// it). Spans written before the tag index have no block and are read by
// every search.
var migrations = []telemetrydb.Migration{
	{Version: 1, Name: "spans, resources and trace_index", SQL: `
CREATE TABLE spans (
	start_ns BIGINT NOT NULL,
	end_ns BIGINT NOT NULL,
	duration_ns BIGINT NOT NULL,
	trace_hi UBIGINT NOT NULL,
	trace_lo UBIGINT NOT NULL,
	span_id UBIGINT NOT NULL,
	parent_span_id UBIGINT NOT NULL,
	service VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	kind UTINYINT NOT NULL,
	status_code UTINYINT NOT NULL,
	status_message VARCHAR NOT NULL,
	trace_state VARCHAR NOT NULL,
	flags UINTEGER NOT NULL,
	attrs VARCHAR NOT NULL,
	dropped_attrs UINTEGER NOT NULL,
	events VARCHAR NOT NULL,
	dropped_events UINTEGER NOT NULL,
	links VARCHAR NOT NULL,
	dropped_links UINTEGER NOT NULL,
	resource_id UBIGINT NOT NULL,
	scope_name VARCHAR NOT NULL,
	scope_version VARCHAR NOT NULL,
	scope_attrs VARCHAR NOT NULL,
	scope_dropped UINTEGER NOT NULL,
	scope_schema_url VARCHAR NOT NULL
);
CREATE TABLE resources (
	first_ns BIGINT NOT NULL,
	id UBIGINT NOT NULL,
	attrs VARCHAR NOT NULL,
	dropped UINTEGER NOT NULL,
	schema_url VARCHAR NOT NULL
);
CREATE TABLE trace_index (
	min_start_ns BIGINT NOT NULL,
	max_start_ns BIGINT NOT NULL,
	trace_hi UBIGINT NOT NULL,
	trace_lo UBIGINT NOT NULL
);`},
	{Version: 2, Name: "tag index", SQL: `
ALTER TABLE spans ADD COLUMN blk BIGINT;
CREATE TABLE span_blocks (
	blk BIGINT NOT NULL,
	bits BLOB NOT NULL
);`},
	{Version: 3, Name: "trace-ID index", SQL: `
ALTER TABLE span_blocks ADD COLUMN ids BLOB;`},
}

var tables = []telemetrydb.Table{
	{Name: "spans", TimeColumn: "start_ns"},
	{Name: "resources", TimeColumn: "first_ns"},
	// Each partition keeps a bloom filter of the trace IDs of its index
	// rows (written in the same Append as their spans), so fetching a
	// trace reads only the partitions that may hold it.
	{Name: "trace_index", TimeColumn: "min_start_ns", KeyColumns: []string{"trace_hi", "trace_lo"}},
	{Name: "span_blocks"},
}

// spanColumns lists the spans columns a read needs, in scan order.
const spanColumns = `start_ns, end_ns, trace_hi, trace_lo, span_id, parent_span_id, service, name, kind,
	status_code, status_message, trace_state, flags, attrs, dropped_attrs, events, dropped_events,
	links, dropped_links, resource_id, scope_name, scope_version, scope_attrs, scope_dropped,
	scope_schema_url`

func traceIDParts(id pcommon.TraceID) (hi, lo uint64) {
	return binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
}

func traceIDFromParts(hi, lo uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id
}

func spanIDUint(id pcommon.SpanID) uint64 { return binary.BigEndian.Uint64(id[:]) }

func spanIDFromUint(u uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], u)
	return id
}

// validUTF8 makes s storable in a DuckDB VARCHAR.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// resourceRow is what every span of one resource shares.
type resourceRow struct {
	id                        uint64
	service, attrs, schemaURL string
	dropped                   uint32
}

func newResourceRow(rs ptrace.ResourceSpans) resourceRow {
	res := rs.Resource()
	service := noServiceName
	if v, ok := res.Attributes().Get("service.name"); ok {
		service = v.AsString()
	}
	r := resourceRow{
		service:   validUTF8(service),
		attrs:     string(appendAttrs(nil, res.Attributes())),
		schemaURL: validUTF8(rs.SchemaUrl()),
		dropped:   res.DroppedAttributesCount(),
	}
	h := fnv.New64a()
	h.Write([]byte(r.attrs))
	h.Write([]byte{0})
	h.Write([]byte(r.schemaURL))
	h.Write([]byte{0, byte(r.dropped), byte(r.dropped >> 8), byte(r.dropped >> 16), byte(r.dropped >> 24)})
	r.id = h.Sum64()
	return r
}

// noServiceName is Jaeger's name for spans whose resource has no service.name.
const noServiceName = "OTLP_ResourceNoServiceName"

type scopeRow struct {
	name, version, attrs, schemaURL string
	dropped                         uint32
}

func newScopeRow(ss ptrace.ScopeSpans) scopeRow {
	sc := ss.Scope()
	return scopeRow{
		name:      validUTF8(sc.Name()),
		version:   validUTF8(sc.Version()),
		attrs:     string(appendAttrs(nil, sc.Attributes())),
		schemaURL: validUTF8(ss.SchemaUrl()),
		dropped:   sc.DroppedAttributesCount(),
	}
}

// spanColumnCount is the number of columns of spans; blk is the last.
const spanColumnCount = 27

// spanRow builds the spans row; buf is scratch space reused between calls.
func spanRow(s ptrace.Span, r *resourceRow, sc *scopeRow, buf []byte) ([]driver.Value, []byte) {
	return spanRowInto(make([]driver.Value, 0, spanColumnCount), s, r, sc, buf)
}

// spanRowInto appends the row's values to row (which callers carve out of
// one backing array per request, saving an allocation per span).
func spanRowInto(row []driver.Value, s ptrace.Span, r *resourceRow, sc *scopeRow, buf []byte) ([]driver.Value, []byte) {
	hi, lo := traceIDParts(s.TraceID())
	start, end := int64(s.StartTimestamp()), int64(s.EndTimestamp())

	buf = appendAttrs(buf[:0], s.Attributes())
	attrs := string(buf)
	events, links := "[]", "[]"
	if s.Events().Len() > 0 {
		buf = appendEvents(buf[:0], s.Events())
		events = string(buf)
	}
	if s.Links().Len() > 0 {
		buf = appendLinks(buf[:0], s.Links())
		links = string(buf)
	}
	return append(row,
		start, end, end-start,
		hi, lo, spanIDUint(s.SpanID()), spanIDUint(s.ParentSpanID()),
		r.service, validUTF8(s.Name()), uint8(s.Kind()),
		uint8(s.Status().Code()), validUTF8(s.Status().Message()),
		validUTF8(s.TraceState().AsRaw()), s.Flags(),
		attrs, s.DroppedAttributesCount(),
		events, s.DroppedEventsCount(),
		links, s.DroppedLinksCount(),
		r.id,
		sc.name, sc.version, sc.attrs, sc.dropped, sc.schemaURL,
		nil, // blk, set when the block is registered
	), buf
}

// events = [[time_ns, name, attrs, dropped], ...]
func appendEvents(b []byte, evs ptrace.SpanEventSlice) []byte {
	b = append(b, '[')
	for i := 0; i < evs.Len(); i++ {
		e := evs.At(i)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendUint(b, uint64(e.Timestamp()))
		b = append(b, ',')
		b = appendJSONString(b, e.Name())
		b = append(b, ',')
		b = appendAttrs(b, e.Attributes())
		b = append(b, ',')
		b = appendUint(b, uint64(e.DroppedAttributesCount()))
		b = append(b, ']')
	}
	return append(b, ']')
}

// links = [[trace_id_hex, span_id_hex, trace_state, attrs, dropped, flags], ...]
func appendLinks(b []byte, ls ptrace.SpanLinkSlice) []byte {
	b = append(b, '[')
	for i := 0; i < ls.Len(); i++ {
		l := ls.At(i)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[', '"')
		tid := l.TraceID()
		b = appendHex(b, tid[:])
		b = append(b, '"', ',', '"')
		sid := l.SpanID()
		b = appendHex(b, sid[:])
		b = append(b, '"', ',')
		b = appendJSONString(b, l.TraceState().AsRaw())
		b = append(b, ',')
		b = appendAttrs(b, l.Attributes())
		b = append(b, ',')
		b = appendUint(b, uint64(l.DroppedAttributesCount()))
		b = append(b, ',')
		b = appendUint(b, uint64(l.Flags()))
		b = append(b, ']')
	}
	return append(b, ']')
}

func appendHex(b []byte, src []byte) []byte {
	for _, c := range src {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

func appendUint(b []byte, u uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// jaegerSpanKind is the span.kind tag Jaeger derives from an OTLP kind.
func jaegerSpanKind(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindClient:
		return "client"
	case ptrace.SpanKindServer:
		return "server"
	case ptrace.SpanKindProducer:
		return "producer"
	case ptrace.SpanKindConsumer:
		return "consumer"
	case ptrace.SpanKindInternal:
		return "internal"
	}
	return ""
}
