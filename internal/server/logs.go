package server

import (
	"context"
	"path/filepath"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/ingest/loki"
	"github.com/vigilhq/vigil/internal/logs"
)

// setupLogs wires the logs feature: the log store (OTLP logs consumer, Loki
// query API, live tail, log-derived metrics) and the Loki push receiver.
func (s *Server) setupLogs(ctx context.Context, cfg *config.Config) error {
	lc := cfg.Logs
	opts := logs.Options{
		Dir:               filepath.Join(cfg.DataDir, "logs"),
		MemoryLimitBytes:  s.memory.Logs,
		TermIndexMaxBytes: s.memory.LogTerms,
		MaxAge:            lc.Retention.MaxAge.D(),
		MaxBytes:          int64(lc.Retention.MaxSize),
		PartitionDuration: lc.PartitionDuration.D(),
		CheckpointBytes:   int64(lc.CheckpointThreshold),
		QueueRows:         lc.Queue.MaxRecords,
		MaxBatchRows:      lc.Queue.MaxBatchRecords,
		MaxLineBytes:      int(lc.Limits.MaxLineBytes),
		MaxStreams:        lc.Limits.MaxStreams,
		StreamIdlePeriod:  lc.Limits.StreamIdlePeriod.D(),

		MaxLabelNameLength:     lc.Limits.MaxLabelNameLength,
		MaxLabelValueLength:    lc.Limits.MaxLabelValueLength,
		MaxLabelNamesPerSeries: lc.Limits.MaxLabelNamesPerSeries,
		RejectOldSamplesMaxAge: lc.Limits.RejectOldSamplesMaxAge.D(),
		CreationGracePeriod:    lc.Limits.CreationGracePeriod.D(),

		StreamAttributes: lc.StreamAttributes,
		MaxQueryLines:    lc.Query.MaxLines,
		MaxQuerySeries:   lc.Query.MaxSeries,
		QueryTimeout:     lc.Query.Timeout.D(),
		MetricsInterval:  lc.DerivedMetrics.Interval.D(),
		Logger:           s.logger,
		Registerer:       s.reg,
	}
	if lc.Limits.RejectOldSamples != nil && !*lc.Limits.RejectOldSamples {
		opts.RejectOldSamplesMaxAge = -1 // accept any age
	}
	if lc.DerivedMetrics.Enabled == nil || *lc.DerivedMetrics.Enabled {
		opts.Appendable = s.metrics.Appendable()
	}
	store, err := logs.Open(ctx, opts)
	if err != nil {
		return err
	}
	s.addCloser(store.Close)
	s.addActor("logs", store.Run)
	s.addRoutes(store.Routes()...)
	s.logsConsumer = store

	push, err := loki.New(loki.Options{
		Consumer:     lokiConsumer{store},
		MaxBodyBytes: int64(lc.Push.MaxRequestBytes),
		Admit:        s.admit,
		Logger:       s.logger,
		Registerer:   s.reg,
	})
	if err != nil {
		return err
	}
	s.addRoutes(push.Routes()...)
	s.running = append(s.running, "logs: DuckDB store in "+opts.Dir+", Loki push and query API")
	return nil
}

// lokiConsumer hands Loki pushes to the log store.
type lokiConsumer struct{ store *logs.Store }

func (c lokiConsumer) ConsumePush(ctx context.Context, req *loki.PushRequest) (int64, string, error) {
	streams := make([]logs.Stream, len(req.Streams))
	for i, st := range req.Streams {
		ls := make([]logs.Label, len(st.Labels))
		for j, l := range st.Labels {
			ls[j] = logs.Label(l)
		}
		entries := make([]logs.Entry, len(st.Entries))
		for j, e := range st.Entries {
			var md []logs.Label
			if len(e.Metadata) > 0 {
				md = make([]logs.Label, len(e.Metadata))
				for k, m := range e.Metadata {
					md[k] = logs.Label(m)
				}
			}
			entries[j] = logs.Entry{Timestamp: e.Timestamp, Line: e.Line, Metadata: md}
		}
		streams[i] = logs.Stream{Labels: ls, Entries: entries}
	}
	return c.store.AppendStreams(ctx, streams)
}
