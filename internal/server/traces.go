package server

import (
	"context"
	"path/filepath"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/traces"
)

// setupTraces wires the traces feature: the trace store (OTLP traces
// consumer, Jaeger query API, OTLP JSON for the UI) and its span-derived
// RED metrics, written through the metrics store's limits.
func (s *Server) setupTraces(ctx context.Context, cfg *config.Config) error {
	tc := cfg.Traces
	opts := traces.Options{
		Dir:               filepath.Join(cfg.DataDir, "traces"),
		MaxAge:            tc.Retention.MaxAge.D(),
		MaxBytes:          int64(tc.Retention.MaxSize),
		PartitionDuration: tc.PartitionDuration.D(),
		MemoryLimitBytes:  s.memory.Traces,
		QueueSpans:        tc.Queue.MaxSpans,
		RetryAfter:        tc.Queue.RetryAfter.D(),
		TagIndexMaxBytes:  s.memory.TraceTags,
		Logger:            s.logger,
		Registerer:        s.reg,
	}
	sm := tc.SpanMetrics
	if sm.Enabled == nil || *sm.Enabled {
		opts.SpanMetrics = traces.SpanMetricsOptions{
			Appendable:    s.metrics.Appendable(),
			Dimensions:    sm.Dimensions,
			FlushInterval: sm.FlushInterval.D(),
			MaxSeries:     sm.MaxSeries,
		}
		for _, b := range sm.Buckets {
			opts.SpanMetrics.Buckets = append(opts.SpanMetrics.Buckets, b.D().Seconds())
		}
	}
	store, err := traces.Open(ctx, opts)
	if err != nil {
		return err
	}
	s.addCloser(store.Close)
	s.addActor("traces", store.Run)
	s.addRoutes(store.Routes()...)
	s.tracesConsumer = store
	s.running = append(s.running, "traces: DuckDB store in "+opts.Dir+", Jaeger query API, span metrics")
	return nil
}
