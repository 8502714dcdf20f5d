package tracing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/sampling"
)

// Provider is a trace.TracerProvider. Create it with NewProvider and call
// Shutdown before the process exits.
type Provider struct {
	embedded.TracerProvider

	sampler  sdktrace.Sampler
	res      *resource.Resource
	limits   sdktrace.SpanLimits
	batch    export.Options
	client   otlptrace.Client
	exporter sdktrace.SpanExporter

	protobuf bool // the client sends protobuf: batches are encoded here (uploadWire)

	resPB *resourcepb.Resource // res converted once for every export
	queue *export.Batcher[*span]
	conv  converter // used by the export goroutine only
	wire  encoder   // used by the export goroutine only

	mu      sync.Mutex
	tracers map[tracerKey]*tracer

	shutdown atomic.Bool
	stopOnce sync.Once
}

var _ trace.TracerProvider = (*Provider)(nil)

// Option configures NewProvider.
type Option func(*Provider)

// WithSampler sets the sampler (default
// sampling.ParentBased(sampling.Probability(1)): every trace, with the
// threshold recorded in tracestate). Any sdktrace.Sampler works.
func WithSampler(s sdktrace.Sampler) Option { return func(p *Provider) { p.sampler = s } }

// WithResource sets the resource of every span (default resource.Default()).
func WithResource(r *resource.Resource) Option { return func(p *Provider) { p.res = r } }

// WithSpanLimits sets the attribute, event and link limits (default
// sdktrace.NewSpanLimits(), which reads the OTEL_SPAN_*_LIMIT variables).
// As with sdktrace.WithSpanLimits, a zero or negative field keeps its
// default; WithRawSpanLimits takes the values as they are.
func WithSpanLimits(l sdktrace.SpanLimits) Option {
	return func(p *Provider) {
		d := sdktrace.NewSpanLimits()
		for _, f := range []struct{ v, def *int }{
			{&l.AttributeValueLengthLimit, &d.AttributeValueLengthLimit},
			{&l.AttributeValueDepthLimit, &d.AttributeValueDepthLimit},
			{&l.AttributeCountLimit, &d.AttributeCountLimit},
			{&l.EventCountLimit, &d.EventCountLimit},
			{&l.LinkCountLimit, &d.LinkCountLimit},
			{&l.AttributePerEventCountLimit, &d.AttributePerEventCountLimit},
			{&l.AttributePerLinkCountLimit, &d.AttributePerLinkCountLimit},
		} {
			if *f.v <= 0 {
				*f.v = *f.def
			}
		}
		p.limits = l
	}
}

// WithRawSpanLimits sets the limits as given, as sdktrace.WithRawSpanLimits
// does: zero means none allowed, a negative value means no limit.
func WithRawSpanLimits(l sdktrace.SpanLimits) Option { return func(p *Provider) { p.limits = l } }

// WithBatch configures the export queue (sizes, interval, timeout, and the
// registry of vigil_sdk_spans_* counters).
func WithBatch(o export.Options) Option { return func(p *Provider) { p.batch = o } }

// WithClient sends sampled spans as OTLP protobuf through c
// (otlptracegrpc.NewClient or otlptracehttp.NewClient). The caller starts
// the client; Shutdown stops it. The messages given to UploadTraces are
// reused for the next batch once it returns: a client must marshal (or
// copy) them before returning, as both OpenTelemetry clients do.
func WithClient(c otlptrace.Client) Option {
	return func(p *Provider) { p.client, p.protobuf = c, false }
}

// WithProtobufClient is WithClient for a client that sends OTLP protobuf,
// as otlptracehttp (with its default http/protobuf) and otlptracegrpc do,
// and as vigil.Start's clients are: the provider encodes each batch to
// protobuf itself, straight from the spans, and hands c one ResourceSpans
// message holding the encoding as unknown fields, which protobuf
// marshalling copies unchanged. The receiver gets what WithClient would
// send, for about a third of the export goroutine's CPU. A client that
// reads the messages (one set to http/json, or OpenTelemetry's
// experimental self-observability span count) sees no spans: use
// WithClient for those.
func WithProtobufClient(c otlptrace.Client) Option {
	return func(p *Provider) { p.client, p.protobuf = c, true }
}

// WithExporter sends sampled spans to any OpenTelemetry span exporter
// (stdouttrace, tracetest.InMemoryExporter, ...). Each span is converted to
// an sdktrace.ReadOnlySpan on the export goroutine. Shutdown shuts e down.
func WithExporter(e sdktrace.SpanExporter) Option { return func(p *Provider) { p.exporter = e } }

// NewProvider returns a provider. Without WithClient or WithExporter, spans
// are recorded and sampled but sent nowhere.
func NewProvider(opts ...Option) *Provider {
	p := &Provider{limits: sdktrace.NewSpanLimits(), tracers: map[tracerKey]*tracer{}}
	for _, o := range opts {
		o(p)
	}
	if p.sampler == nil {
		p.sampler = sampling.ParentBased(sampling.Probability(1))
	}
	if p.res == nil {
		p.res = resource.Default()
	}
	p.resPB = &resourcepb.Resource{Attributes: keyValues(p.res.Attributes())}
	switch {
	case p.client != nil && p.protobuf:
		p.queue = export.NewBatcher("spans", p.batch, p.uploadWire)
	case p.client != nil:
		p.queue = export.NewBatcher("spans", p.batch, p.upload)
	case p.exporter != nil:
		p.queue = export.NewBatcher("spans", p.batch, p.exportSDK)
	}
	return p
}

// defaultTracerName names the scope of Tracer(""), as the OpenTelemetry
// SDK does.
const defaultTracerName = "go.opentelemetry.io/otel/sdk/tracer"

type tracerKey struct {
	name, version, schemaURL string
	attrs                    attribute.Distinct
}

// Tracer returns the tracer of an instrumentation scope; the same scope
// gives the same tracer.
func (p *Provider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	if name == "" {
		name = defaultTracerName
	}
	c := trace.NewTracerConfig(opts...)
	attrs := c.InstrumentationAttributes()
	k := tracerKey{name, c.InstrumentationVersion(), c.SchemaURL(), attrs.Equivalent()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.tracers[k]; ok {
		return t
	}
	scope := instrumentation.Scope{Name: name, Version: k.version, SchemaURL: k.schemaURL, Attributes: attrs}
	t := &tracer{p: p, scope: scope, scopePB: &commonpb.InstrumentationScope{
		Name: name, Version: k.version, Attributes: keyValues(attrs.ToSlice()),
	}}
	p.tracers[k] = t
	return t
}

// ForceFlush exports the spans ended so far.
func (p *Provider) ForceFlush(ctx context.Context) error {
	if p.queue == nil {
		return nil
	}
	return p.queue.ForceFlush(ctx)
}

// Shutdown exports the spans ended so far, stops the client or exporter and
// makes later spans non-recording. Only the first call does anything; later
// ones return nil, as the OpenTelemetry SDK's do.
func (p *Provider) Shutdown(ctx context.Context) error {
	var err error
	p.stopOnce.Do(func() {
		p.shutdown.Store(true)
		var errs []error
		if p.queue != nil {
			errs = append(errs, p.queue.Shutdown(ctx))
		}
		if p.client != nil {
			errs = append(errs, p.client.Stop(ctx))
		}
		if p.exporter != nil {
			errs = append(errs, p.exporter.Shutdown(ctx))
		}
		err = errors.Join(errs...)
	})
	return err // nil for every call but the first
}
