// Package metrics owns the embedded Prometheus TSDB and PromQL engine: their
// lifecycle, retention, ingestion limits, and the Prometheus HTTP API.
//
// Writers go through Appendable, which enforces the series limits; readers
// use Queryable and Engine. Both are Prometheus's own interfaces, so callers
// (ingest receivers, span and log metrics, rules) do not depend on this
// package.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Options configure the store. A zero Options is valid.
type Options struct {
	Dir    string // default "./data/metrics"
	Logger *slog.Logger
	// Registerer receives the TSDB's, the engine's and the limiter's
	// metrics. Nil means none.
	Registerer prometheus.Registerer

	Retention            time.Duration // default 15d
	MaxBytes             int64         // 0: no size limit
	OutOfOrderTimeWindow time.Duration
	MaxExemplars         int64 // default 100000

	Limits Limits

	QueryTimeout       time.Duration // default 2m
	QueryMaxSamples    int           // default 50M
	QueryMaxConcurrent int           // default 20
	LookbackDelta      time.Duration // default 5m
	// QueryMaxLength bounds a PromQL expression in bytes (default
	// DefaultQueryMaxLength; negative: no bound).
	QueryMaxLength int
	// ExperimentalPromQL enables PromQL's experimental functions
	// (limitk, sort_by_label, double_exponential_smoothing, info, ...), as
	// Prometheus's --enable-feature=promql-experimental-functions.
	ExperimentalPromQL bool
	// AdminAPI enables /api/v1/admin/tsdb/{delete_series,clean_tombstones,
	// snapshot}, as Prometheus's --web.enable-admin-api; off, they answer
	// 503 as Prometheus does.
	AdminAPI bool
}

// Store is the open TSDB with its engine and limiter.
type Store struct {
	opts    Options
	logger  *slog.Logger
	db      *tsdb.DB
	engine  *promql.Engine
	limiter *Limiter
	tracker *promql.ActiveQueryTracker
	stats   *tsdb.DBStats
	meta    *metadataStore
	parser  parser.Parser
	// apiEngine is the engine of the HTTP API (set by API).
	apiEngine *boundedEngine
}

// Open opens (and replays the WAL of) the TSDB in opts.Dir.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		opts.Dir = filepath.Join("data", "metrics")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Retention == 0 {
		opts.Retention = 15 * 24 * time.Hour
	}
	if opts.MaxExemplars == 0 {
		opts.MaxExemplars = 100_000
	}
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = 2 * time.Minute
	}
	if opts.QueryMaxSamples == 0 {
		opts.QueryMaxSamples = 50_000_000
	}
	if opts.QueryMaxConcurrent == 0 {
		opts.QueryMaxConcurrent = 20
	}
	if opts.LookbackDelta == 0 {
		opts.LookbackDelta = 5 * time.Minute
	}
	if opts.QueryMaxLength == 0 {
		opts.QueryMaxLength = DefaultQueryMaxLength
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create metrics dir: %w", err)
	}
	logger := opts.Logger.With("component", "tsdb")

	to := tsdb.DefaultOptions()
	to.RetentionDuration = opts.Retention.Milliseconds()
	to.MaxBytes = opts.MaxBytes
	to.OutOfOrderTimeWindow = opts.OutOfOrderTimeWindow.Milliseconds()
	to.MaxExemplars = opts.MaxExemplars
	to.EnableExemplarStorage = true
	to.WALCompression = compression.Snappy
	limiter, err := NewLimiter(opts.Limits, opts.Registerer)
	if err != nil {
		return nil, err
	}
	to.SeriesLifecycleCallback = limiter
	limiter.health = &apierr.WriteHealth{Store: "metrics", Logger: logger}
	limiter.meta = newMetadataStore()
	if err := limiter.health.Register(opts.Registerer); err != nil {
		return nil, err
	}
	stats := tsdb.NewDBStats()
	db, err := tsdb.Open(opts.Dir, logger, opts.Registerer, to, stats)
	if err != nil {
		return nil, fmt.Errorf("open tsdb %q: %w", opts.Dir, err)
	}
	s := &Store{opts: opts, logger: opts.Logger, db: db, stats: stats, meta: limiter.meta}

	s.tracker, err = promql.NewActiveQueryTracker(opts.Dir, opts.QueryMaxConcurrent, opts.Logger.With("component", "activeQueryTracker"))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("start query tracker: %w", err)
	}
	s.parser = lengthParser{Parser: parser.NewParser(parser.Options{EnableExperimentalFunctions: opts.ExperimentalPromQL}), max: opts.QueryMaxLength}
	s.engine = promql.NewEngine(promql.EngineOpts{
		Parser:                   s.parser,
		Logger:                   opts.Logger.With("component", "query engine"),
		Reg:                      opts.Registerer,
		MaxSamples:               opts.QueryMaxSamples,
		Timeout:                  opts.QueryTimeout,
		ActiveQueryTracker:       s.tracker,
		LookbackDelta:            opts.LookbackDelta,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnablePerStepStats:       true,
		EnableDelayedNameRemoval: false,
		NoStepSubqueryIntervalFn: func(int64) int64 { return defaultSubqueryStep.Milliseconds() },
	})
	limiter.attach(db)
	s.limiter = limiter
	return s, nil
}

// MinTime is the oldest sample time (Unix ms) the TSDB accepts now: the
// head's lower bound or, with an out-of-order window, the newest sample
// less the window. ok is false before the head has data.
func (s *Store) MinTime() (t int64, ok bool) {
	head := s.db.Head()
	t, ok = head.AppendableMinValidTime()
	if !ok {
		return 0, false
	}
	if w := s.opts.OutOfOrderTimeWindow.Milliseconds(); w > 0 {
		t = min(t, head.MaxTime()-w)
	}
	return t, true
}

// DB is the underlying TSDB (for the API's admin and status endpoints).
func (s *Store) DB() *tsdb.DB { return s.db }

// Engine is the PromQL engine shared by the API and the rule manager.
func (s *Store) Engine() *promql.Engine { return s.engine }

// Parser is the PromQL parser the engine uses (with the length bound and,
// when enabled, the experimental functions), for rule files.
func (s *Store) Parser() parser.Parser { return s.parser }

// Queryable reads the TSDB.
func (s *Store) Queryable() storage.SampleAndChunkQueryable { return s.db }

// ExemplarQueryable reads exemplars.
func (s *Store) ExemplarQueryable() storage.ExemplarQueryable { return s.db }

// Appendable writes through the series limits.
func (s *Store) Appendable() *Limiter { return s.limiter }

// Storage is the whole read/write storage, writes going through the limits
// (for the rule manager, which needs both).
func (s *Store) Storage() storage.Storage {
	return limitedStorage{DB: s.db, l: s.limiter}
}

// SetLimits changes the limits at run time (config reload).
func (s *Store) SetLimits(l Limits) { s.limiter.SetLimits(l) }

// Run returns when ctx is done; the TSDB runs its own compaction and
// retention loops.
func (s *Store) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Close flushes and closes the TSDB.
func (s *Store) Close() error {
	var errs []error
	if s.tracker != nil {
		errs = append(errs, s.tracker.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// limitedStorage is the TSDB with appends going through the limiter.
type limitedStorage struct {
	*tsdb.DB
	l *Limiter
}

func (ls limitedStorage) Appender(ctx context.Context) storage.Appender {
	return ls.DB.Appender(ctx)
}

func (ls limitedStorage) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return ls.l.AppenderV2(ctx)
}
