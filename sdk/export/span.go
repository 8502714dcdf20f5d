package export

import (
	"context"
	"errors"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanProcessor batches sampled spans to an exporter.
type SpanProcessor struct {
	b   *Batcher[sdktrace.ReadOnlySpan]
	exp sdktrace.SpanExporter
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// NewSpanProcessor starts a processor exporting to exp. Shutdown stops it.
func NewSpanProcessor(exp sdktrace.SpanExporter, o Options) *SpanProcessor {
	return &SpanProcessor{exp: exp, b: NewBatcher("spans", o, exp.ExportSpans)}
}

// OnStart does nothing.
func (p *SpanProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a sampled span; it never blocks.
func (p *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.b.Enqueue(s)
	}
}

// ForceFlush exports the queued spans.
func (p *SpanProcessor) ForceFlush(ctx context.Context) error { return p.b.ForceFlush(ctx) }

// Shutdown exports the queued spans and shuts the exporter down.
func (p *SpanProcessor) Shutdown(ctx context.Context) error {
	return errors.Join(p.b.Shutdown(ctx), p.exp.Shutdown(ctx))
}
