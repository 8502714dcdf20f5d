package logging

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/internal/otlpconv"
	"github.com/vigilhq/vigil/sdk/logexport"
)

// Exporter is the lean slog-to-OTLP path. A Handler given an Exporter
// turns each record into a compact entry (time, severity, message, trace
// context, attributes) and queues it; one goroutine converts batches into
// OTLP messages carved from reused slabs and sends them through a
// logexport.Client. Records the fast path does not take (attributes that
// need OpenTelemetry's conversion rules: errors, groups, arbitrary values,
// duplicate keys, limits) go through the otelslog bridge and the
// OpenTelemetry log SDK into the same queue, as does every record logged
// through the OpenTelemetry logs API: the Exporter is the log SDK's
// processor (LoggerProvider), so both paths produce the same OTLP.
//
// The queue is an export.Batcher: bounded, never blocking, drops counted
// in vigil_sdk_logs_dropped_total.
type Exporter struct {
	client logexport.Client
	queue  *export.Batcher[entry]
	res    *resource.Resource
	resPB  *resourcepb.Resource
	lp     *sdklog.LoggerProvider

	countLimit  int // attributes per record; negative: none
	lengthLimit int // characters per value; negative: none

	mu     sync.Mutex
	scopes map[scopeKey]*scope

	conv converter // export goroutine only
	wire encoder   // export goroutine only
	stop sync.Once
	err  error
}

var _ sdklog.Processor = (*Exporter)(nil)

// ExporterOptions configure NewExporter. The zero value means defaults.
type ExporterOptions struct {
	// Resource describes the service (default resource.Default()).
	Resource *resource.Resource
	// Batch configures the queue (sizes, interval, timeout, the registry
	// of the vigil_sdk_logs_* counters, the logger of failed exports).
	Batch export.Options
}

// NewExporter starts an exporter sending through c, which it starts now
// and stops at Shutdown. Attribute limits are the log SDK's
// (OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT, default 128;
// OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT, default none).
func NewExporter(c logexport.Client, o ExporterOptions) (*Exporter, error) {
	if o.Resource == nil {
		o.Resource = resource.Default()
	}
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	e := &Exporter{
		client: c, res: o.Resource, scopes: map[scopeKey]*scope{},
		resPB:      &resourcepb.Resource{Attributes: otlpconv.KeyValues(o.Resource.Attributes())},
		countLimit: envInt("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", 128), lengthLimit: envInt("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", -1),
	}
	if o.Resource.Len() == 0 {
		e.resPB = nil
	}
	switch c.(type) {
	case *logexport.HTTPClient, *logexport.GRPCClient:
		e.queue = export.NewBatcher("logs", o.Batch, e.uploadWire)
	default:
		e.queue = export.NewBatcher("logs", o.Batch, e.upload)
	}
	e.lp = sdklog.NewLoggerProvider(sdklog.WithResource(o.Resource), sdklog.WithProcessor(e))
	return e, nil
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// LoggerProvider is the OpenTelemetry log SDK's provider feeding this
// exporter, for instrumentation that logs through the OpenTelemetry logs
// API (vigil.Start installs it as the global one). Its Shutdown shuts the
// exporter down.
func (e *Exporter) LoggerProvider() *sdklog.LoggerProvider { return e.lp }

// ForceFlush exports what is queued.
func (e *Exporter) ForceFlush(ctx context.Context) error { return e.queue.ForceFlush(ctx) }

// Shutdown exports what is queued, within ctx, and stops the client.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.stop.Do(func() {
		e.err = errors.Join(e.queue.Shutdown(ctx), e.client.Stop(ctx))
	})
	return e.err
}

// Enabled reports true: filtering is the handler's job.
func (e *Exporter) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// OnEmit queues a record of the log SDK (the slow path, and every
// OpenTelemetry-API logger).
func (e *Exporter) OnEmit(_ context.Context, r *sdklog.Record) error {
	en := entry{
		time: unixNano(r.Timestamp()), observed: unixNano(r.ObservedTimestamp()),
		severity: r.Severity(), sevText: r.SeverityText(), body: r.Body(), eventName: r.EventName(),
		traceID: r.TraceID(), spanID: r.SpanID(), flags: r.TraceFlags(),
		dropped: r.DroppedAttributes(), scope: e.scopeOf(r.InstrumentationScope()),
	}
	if n := r.AttributesLen(); n > 0 {
		en.attrs = make([]attribute.KeyValue, 0, n)
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			en.attrs = append(en.attrs, kv)
			return true
		})
	}
	e.queue.Enqueue(en)
	return nil
}

// entry is a queued log record.
type entry struct {
	time, observed int64 // Unix ns
	severity       otellog.Severity
	sevText        string
	body           attribute.Value
	eventName      string
	attrs          []attribute.KeyValue
	dropped        int
	traceID        trace.TraceID
	spanID         trace.SpanID
	flags          trace.TraceFlags
	scope          *scope
}

func unixNano(t interface{ UnixNano() int64 }) int64 { return max(0, t.UnixNano()) }

type scopeKey struct {
	name, version, schemaURL string
	attrs                    attribute.Distinct
}

type scope struct {
	pb        *commonpb.InstrumentationScope // nil for the empty scope
	schemaURL string
}

// ownScope is the scope of records from this package's handlers.
var ownScope = &scope{pb: &commonpb.InstrumentationScope{Name: ScopeName}}

func (e *Exporter) scopeOf(s instrumentation.Scope) *scope {
	if s.Name == ScopeName && s.Version == "" && s.SchemaURL == "" && s.Attributes.Len() == 0 {
		return ownScope
	}
	k := scopeKey{s.Name, s.Version, s.SchemaURL, s.Attributes.Equivalent()}
	e.mu.Lock()
	defer e.mu.Unlock()
	if sc, ok := e.scopes[k]; ok {
		return sc
	}
	sc := &scope{schemaURL: s.SchemaURL}
	if s != (instrumentation.Scope{}) {
		sc.pb = &commonpb.InstrumentationScope{Name: s.Name, Version: s.Version, Attributes: otlpconv.KeyValues(s.Attributes.ToSlice())}
	}
	e.scopes[k] = sc
	return sc
}

// upload converts a batch and sends it; the batcher calls it from its one
// goroutine, so the converter's slabs are reused from batch to batch.
func (e *Exporter) upload(ctx context.Context, entries []entry) error {
	e.conv.reset()
	return e.client.UploadLogs(ctx, []*logspb.ResourceLogs{e.conv.resourceLogs(e, entries)})
}

type converter struct {
	records otlpconv.Slab[logspb.LogRecord]
	attrs   otlpconv.Attrs
	ids     []byte
}

func (c *converter) reset() {
	c.records.Reset()
	c.attrs.Reset()
}

func (c *converter) resourceLogs(e *Exporter, entries []entry) *logspb.ResourceLogs {
	ids := c.ids[:0]
	if cap(ids) < len(entries)*24 {
		ids = make([]byte, 0, len(entries)*24)
	}
	var scopes []*logspb.ScopeLogs
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
			sl := &logspb.ScopeLogs{Scope: en.scope.pb, SchemaUrl: en.scope.schemaURL}
			if k == 0 {
				sl.LogRecords = make([]*logspb.LogRecord, 0, len(entries))
			}
			scopes = append(scopes, sl)
		}
		lr := c.records.Next()
		lr.TimeUnixNano, lr.ObservedTimeUnixNano = uint64(en.time), uint64(en.observed)
		lr.EventName = en.eventName
		if en.severity >= otellog.SeverityTrace1 && en.severity <= otellog.SeverityFatal4 {
			lr.SeverityNumber = logspb.SeverityNumber(en.severity)
		}
		lr.SeverityText = otlpconv.ValidUTF8(en.sevText)
		lr.Body = c.attrs.Value(en.body)
		lr.Attributes = c.attrs.KeyValues(en.attrs)
		lr.DroppedAttributesCount = uint32(min(max(en.dropped, 0), 1<<32-1))
		lr.Flags = uint32(en.flags)
		if en.traceID.IsValid() {
			start := len(ids)
			ids = append(ids, en.traceID[:]...)
			lr.TraceId = ids[start : start+16 : start+16]
		}
		if en.spanID.IsValid() {
			start := len(ids)
			ids = append(ids, en.spanID[:]...)
			lr.SpanId = ids[start : start+8 : start+8]
		}
		scopes[k].LogRecords = append(scopes[k].LogRecords, lr)
	}
	c.ids = ids
	return &logspb.ResourceLogs{Resource: e.resPB, ScopeLogs: scopes, SchemaUrl: e.res.SchemaURL()}
}

// defaultExporter is the exporter of handlers given neither an Exporter
// nor a LoggerProvider; vigil.Start sets it.
var defaultExporter atomic.Pointer[Exporter]

// SetDefaultExporter makes e the exporter of handlers created without
// Options.Exporter or Options.LoggerProvider (nil: none, they log through
// the global LoggerProvider). vigil.Start calls it.
func SetDefaultExporter(e *Exporter) { defaultExporter.Store(e) }
