package logging

import (
	"context"

	otellog "go.opentelemetry.io/otel/log"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigilhq/vigil/sdk/internal/otlpconv"
)

// uploadWire encodes a batch as the protobuf of one OTLP ResourceLogs,
// straight from the entries, and hands it to the client as that message's
// unknown fields, which protobuf marshalling copies as they are: the same
// bytes as the converter's messages would marshal to, without building
// and walking them. Used with logexport's own clients, which marshal
// protobuf before UploadLogs returns; any other client gets messages.
func (e *Exporter) uploadWire(ctx context.Context, entries []entry) error {
	b := e.wire.resourceLogs(e, entries)
	rl := &e.wire.msg
	rl.Reset()
	rl.ProtoReflect().SetUnknown(protoreflect.RawFields(b))
	return e.client.UploadLogs(ctx, []*logspb.ResourceLogs{rl})
}

// Field numbers of the OTLP log messages (opentelemetry/proto/logs/v1).
const (
	rlResource, rlScopeLogs, rlSchemaURL = 1, 2, 3
	slScope, slRecords, slSchemaURL      = 1, 2, 3

	lrTime, lrSeverity, lrSeverityText, lrBody, lrAttributes, lrDropped = 1, 2, 3, 5, 6, 7
	lrFlags, lrTraceID, lrSpanID, lrObserved, lrEventName               = 8, 9, 10, 11, 12
)

// encoder writes entries in the protobuf wire format, field for field
// what the converter's messages marshal to. It belongs to the export
// goroutine.
type encoder struct {
	out    []byte
	scopes [][]byte // per scope in the batch: its records, each a ScopeLogs.log_records field
	msg    logspb.ResourceLogs
	res    []byte            // the Resource, encoded once
	hasRes bool              // else no Resource message (an empty resource)
	scope  map[*scope][]byte // each scope's InstrumentationScope, encoded once
}

func (w *encoder) resourceLogs(e *Exporter, entries []entry) []byte {
	if w.scope == nil { // the first batch
		if w.hasRes = e.resPB != nil; w.hasRes { // nil for an empty resource: no message
			w.res, _ = proto.Marshal(e.resPB)
		}
		w.scope = map[*scope][]byte{}
	}
	for i := range w.scopes {
		w.scopes[i] = w.scopes[i][:0]
	}
	var keys []*scope
	for i := range entries {
		en := &entries[i]
		k := -1
		for j, s := range keys {
			if s == en.scope {
				k = j
				break
			}
		}
		if k < 0 {
			k = len(keys)
			keys = append(keys, en.scope)
			if k == len(w.scopes) {
				w.scopes = append(w.scopes, nil)
			}
		}
		b := protowire.AppendTag(w.scopes[k], slRecords, protowire.BytesType)
		var at int
		b, at = otlpconv.BeginLen(b)
		b = record(b, en)
		w.scopes[k] = otlpconv.EndLen(b, at)
	}

	b := w.out[:0]
	if w.hasRes {
		b = protowire.AppendTag(b, rlResource, protowire.BytesType)
		b = protowire.AppendBytes(b, w.res)
	}
	for k, s := range keys {
		b = protowire.AppendTag(b, rlScopeLogs, protowire.BytesType)
		var at int
		b, at = otlpconv.BeginLen(b)
		if s.pb != nil { // the empty scope has no message
			sc, ok := w.scope[s]
			if !ok {
				sc, _ = proto.Marshal(s.pb)
				w.scope[s] = sc
			}
			b = protowire.AppendTag(b, slScope, protowire.BytesType)
			b = protowire.AppendBytes(b, sc)
		}
		b = append(b, w.scopes[k]...)
		b = otlpconv.AppendString(b, slSchemaURL, s.schemaURL)
		b = otlpconv.EndLen(b, at)
	}
	b = otlpconv.AppendString(b, rlSchemaURL, e.res.SchemaURL())
	w.out = b
	return b
}

// record writes one LogRecord's fields as converter.resourceLogs sets them.
func record(b []byte, en *entry) []byte {
	b = otlpconv.AppendFixed64(b, lrTime, uint64(en.time))
	if en.severity >= otellog.SeverityTrace1 && en.severity <= otellog.SeverityFatal4 {
		b = otlpconv.AppendVarint(b, lrSeverity, uint64(en.severity))
	}
	b = otlpconv.AppendString(b, lrSeverityText, otlpconv.ValidUTF8(en.sevText))
	b = protowire.AppendTag(b, lrBody, protowire.BytesType) // always set, even when empty
	var at int
	b, at = otlpconv.BeginLen(b)
	b = otlpconv.AppendAnyValue(b, en.body)
	b = otlpconv.EndLen(b, at)
	b = otlpconv.AppendKeyValues(b, lrAttributes, en.attrs)
	b = otlpconv.AppendVarint(b, lrDropped, uint64(min(max(en.dropped, 0), 1<<32-1)))
	if en.flags != 0 {
		b = protowire.AppendTag(b, lrFlags, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, uint32(en.flags))
	}
	if en.traceID.IsValid() {
		b = protowire.AppendTag(b, lrTraceID, protowire.BytesType)
		b = protowire.AppendBytes(b, en.traceID[:])
	}
	if en.spanID.IsValid() {
		b = protowire.AppendTag(b, lrSpanID, protowire.BytesType)
		b = protowire.AppendBytes(b, en.spanID[:])
	}
	b = otlpconv.AppendFixed64(b, lrObserved, uint64(en.observed))
	return otlpconv.AppendString(b, lrEventName, en.eventName)
}
