package export

import (
	"context"
	"errors"

	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// LogProcessor batches log records to an exporter.
type LogProcessor struct {
	b   *Batcher[sdklog.Record]
	exp sdklog.Exporter
}

var _ sdklog.Processor = (*LogProcessor)(nil)

// NewLogProcessor starts a processor exporting to exp. Shutdown stops it.
func NewLogProcessor(exp sdklog.Exporter, o Options) *LogProcessor {
	return &LogProcessor{exp: exp, b: NewBatcher("logs", o, exp.Export)}
}

// Enabled reports true: filtering is the handler's job.
func (p *LogProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// OnEmit queues a copy of the record; it never blocks.
func (p *LogProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	p.b.Enqueue(r.Clone())
	return nil
}

// ForceFlush exports the queued records and flushes the exporter.
func (p *LogProcessor) ForceFlush(ctx context.Context) error {
	return errors.Join(p.b.ForceFlush(ctx), p.exp.ForceFlush(ctx))
}

// Shutdown exports the queued records and shuts the exporter down.
func (p *LogProcessor) Shutdown(ctx context.Context) error {
	return errors.Join(p.b.Shutdown(ctx), p.exp.Shutdown(ctx))
}
