package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// Options configure a Store. A zero value (with Dir) means defaults.
type Options struct {
	Dir string // required: the store's directory

	MemoryLimitBytes int64 // DuckDB memory_limit; default 1 GiB
	// TermIndexMaxBytes caps the term index's memory (0: no cap): past it
	// the oldest blocks lose their bitsets and are read by every filtered
	// query, as blocks without an index are.
	TermIndexMaxBytes int64
	MaxAge            time.Duration // retention by age; 0 keeps forever
	MaxBytes          int64         // retention by size; 0 no cap
	PartitionDuration time.Duration // default 1h
	// QueueRows bounds the write queue, in records (default 524288).
	QueueRows int
	// MaxBatchRows caps the records of one group commit (default 262144).
	// Batches above DuckDB's row group size (122880) are written straight
	// to the database file instead of the WAL and then again at checkpoint,
	// which measured 35% less CPU per line.
	MaxBatchRows int

	// CheckpointBytes is DuckDB's checkpoint_threshold for the store
	// (default 256 MiB). DuckDB's default (16 MiB) checkpoints so often
	// that the last, partly filled row group is recompressed again and
	// again: 256 MiB halved the CPU per ingested line in the benchmark, at
	// the cost of a longer WAL replay after a crash.
	CheckpointBytes int64

	// MaxStreams bounds the active streams (default 100000): a push that
	// would make more streams active is refused with 429 and Retry-After,
	// naming the limit, and nothing of it is stored.
	MaxStreams int
	// StreamIdlePeriod is how long a stream stays active after the last
	// record pushed to it (default 30m, Loki's chunk_idle_period): idle
	// streams stop counting against MaxStreams, as in Loki's ingester.
	StreamIdlePeriod time.Duration

	// Loki's label limits on stream labels: name length (default 1024),
	// value length (default 2048) and number of labels (default 15).
	// Streams past them are rejected with the stream and limit named.
	MaxLabelNameLength     int
	MaxLabelValueLength    int
	MaxLabelNamesPerSeries int
	// RejectOldSamplesMaxAge rejects records older than now minus it
	// (default 1w, Loki's reject_old_samples_max_age; negative: accept
	// any age); CreationGracePeriod rejects records newer than now plus
	// it (default 10m, Loki's creation_grace_period).
	RejectOldSamplesMaxAge time.Duration
	CreationGracePeriod    time.Duration

	// MaxLineBytes rejects longer lines (0: 256 KiB).
	MaxLineBytes int
	// StreamAttributes are the OTLP resource attributes that become stream
	// labels (dots become underscores). Default: Loki's list.
	StreamAttributes []string

	// MaxQueryLines caps the limit of a log query (default 5000).
	MaxQueryLines int
	// MaxQuerySeries caps the series of a metric query (default 10000).
	MaxQuerySeries int
	// QueryTimeout bounds one query (default 2m).
	QueryTimeout time.Duration

	// Appendable receives logs_records_total and logs_bytes_total; nil
	// disables log-derived metrics.
	Appendable storage.AppendableV2
	// MetricsInterval is how often the derived counters are written
	// (default 15s).
	MetricsInterval time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// setDefaults fills the zero fields of o: the one place where the log
// store's defaults are written (internal/config leaves these keys at 0).
func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	setDefault(&o.MaxLineBytes, 256<<10)
	if o.StreamAttributes == nil {
		o.StreamAttributes = DefaultStreamAttributes
	}
	setDefault(&o.MaxStreams, 100000)
	setDefault(&o.StreamIdlePeriod, 30*time.Minute)
	setDefault(&o.MaxLabelNameLength, 1024)
	setDefault(&o.MaxLabelValueLength, 2048)
	setDefault(&o.MaxLabelNamesPerSeries, 15)
	if o.RejectOldSamplesMaxAge == 0 {
		o.RejectOldSamplesMaxAge = 7 * 24 * time.Hour
	}
	setDefault(&o.CreationGracePeriod, 10*time.Minute)
	setDefault(&o.CheckpointBytes, 256<<20)
	setDefault(&o.QueueRows, 524288)
	setDefault(&o.MaxBatchRows, 262144)
	// A small queue (set alone) caps the batch too.
	o.MaxBatchRows = min(o.MaxBatchRows, o.QueueRows)
	setDefault(&o.MaxQueryLines, 5000)
	setDefault(&o.MaxQuerySeries, 10000)
	setDefault(&o.QueryTimeout, 2*time.Minute)
	setDefault(&o.MetricsInterval, 15*time.Second)
}

// setDefault sets *v to def when it is not positive.
func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// DefaultStreamAttributes are the resource attributes Loki turns into stream
// labels by default.
var DefaultStreamAttributes = []string{
	"service.name", "service.namespace", "service.instance.id",
	"deployment.environment", "deployment.environment.name",
	"cloud.region", "cloud.availability_zone",
	"k8s.cluster.name", "k8s.namespace.name", "k8s.pod.name", "k8s.container.name",
	"container.name", "k8s.replicaset.name", "k8s.deployment.name",
	"k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name",
}

// Store keeps log records. Safe for concurrent use.
type Store struct {
	opts   Options
	log    *slog.Logger
	db     *telemetrydb.DB
	now    func() time.Time
	attrs  map[string]string // OTLP attribute → label name
	m      *selfMetrics
	tail   *tailHub
	counts *derivedCounts
	errw   apierr.Writer // answers HTTP errors, logging internal ones

	mu      sync.RWMutex
	streams map[int64]*streamInfo
	// active counts the streams with lastSeen != 0; lastSweep and
	// oldestActive are from the last sweep for idle streams.
	active       int
	lastSweep    int64
	oldestActive int64
	// persisted[id] is the partition whose log_streams table holds the
	// stream's row (so a partition can be read, and dropped, on its own).
	persisted map[int64]int64

	// extras holds the partitions that may hold values in extraColumns
	// (see columns.go); guarded by mu. leanMu is held shared by queries
	// that leave those columns out.
	extras map[int64]bool
	leanMu sync.RWMutex

	// blocks is the term index; noIndex (for tests) makes queries ignore it.
	blocks  blockIndex
	noIndex bool
}

var migrations = []telemetrydb.Migration{{
	Version: 1,
	Name:    "logs and streams",
	SQL: `CREATE TABLE logs (
		ts BIGINT NOT NULL,
		stream_id BIGINT NOT NULL,
		level UTINYINT NOT NULL, -- levelCodes
		line VARCHAR NOT NULL,
		metadata VARCHAR,
		trace_id VARCHAR,
		span_id VARCHAR,
		observed_ts BIGINT,
		severity_text VARCHAR,
		severity_number INTEGER,
		flags UINTEGER
	);
	CREATE TABLE log_streams (
		stream_id BIGINT NOT NULL,
		labels VARCHAR NOT NULL
	);`,
}, {
	Version: 2,
	Name:    "term index",
	// blk names the block (one push request) a record was written in;
	// log_blocks holds each block's trigram bitset (see blocks.go).
	// Records written before have no block and are always read.
	SQL: `ALTER TABLE logs ADD COLUMN blk BIGINT;
	CREATE TABLE log_blocks (
		blk BIGINT NOT NULL,
		bits BLOB NOT NULL
	);`,
}, {
	Version: 3,
	Name:    "lines compressed with zstd",
	// DuckDB's default for the line column, FSST, compresses each line on
	// its own with a table of short symbols: 80 bytes a line for the
	// benchmark's 188-byte lines; zstd over a vector of lines takes them
	// to about 47 (docs/perf/logs.md). A compression method is fixed when a
	// table is created, so only a new (empty) partition gets the new
	// table; an older partition keeps its rows as they are, readable, and
	// receives FSST lines until the next partition starts. Needs the
	// storage version in Open (an older format stores such a column
	// uncompressed).
	If: `SELECT count(*) = 0 FROM logs`,
	SQL: `DROP TABLE logs;
	CREATE TABLE logs (
		ts BIGINT NOT NULL,
		stream_id BIGINT NOT NULL,
		level UTINYINT NOT NULL,
		line VARCHAR NOT NULL USING COMPRESSION zstd,
		metadata VARCHAR,
		trace_id VARCHAR,
		span_id VARCHAR,
		observed_ts BIGINT,
		severity_text VARCHAR,
		severity_number INTEGER,
		flags UINTEGER,
		blk BIGINT
	);`,
}}

// storageVersion is the DuckDB storage format of the log partitions: the
// oldest that has zstd for strings (migration 3).
const storageVersion = "v1.2.0"

// Open opens (or creates) the store in opts.Dir.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("logs: Options.Dir is required")
	}
	opts.setDefaults()
	db, err := telemetrydb.Open(ctx, telemetrydb.Options{
		Dir:    opts.Dir,
		Domain: "logs",
		// A commit's records are stored by block, then stream, then
		// time: a stream's lines next to each other compress better, and
		// a block's records stay together for the term index.
		Tables:            []telemetrydb.Table{{Name: "logs", TimeColumn: "ts", SortBy: []string{"blk", "stream_id", "ts"}}, {Name: "log_streams"}, {Name: "log_blocks"}},
		Migrations:        migrations,
		StorageVersion:    storageVersion,
		MemoryLimitBytes:  opts.MemoryLimitBytes,
		PartitionDuration: opts.PartitionDuration,
		MaxAge:            opts.MaxAge,
		MaxBytes:          opts.MaxBytes,
		QueueRows:         opts.QueueRows,
		MaxBatchRows:      opts.MaxBatchRows,
		Logger:            opts.Logger,
		Registerer:        opts.Registerer,
		Now:               opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("open logs store: %w", err)
	}
	s := &Store{
		opts:      opts,
		log:       opts.Logger.With("component", "logs"),
		db:        db,
		now:       opts.Now,
		attrs:     map[string]string{},
		streams:   map[int64]*streamInfo{},
		persisted: map[int64]int64{},
		extras:    map[int64]bool{},
		tail:      newTailHub(),
		counts:    newDerivedCounts(),
		errw:      apierr.Writer{Logger: opts.Logger.With("component", "logs")},
	}
	if err := db.Exec(ctx, fmt.Sprintf("SET GLOBAL checkpoint_threshold = '%dB'", opts.CheckpointBytes)); err != nil {
		db.Close()
		return nil, err
	}
	for _, a := range opts.StreamAttributes {
		s.attrs[a] = sanitizeName(a)
	}
	s.m, err = newSelfMetrics(opts.Registerer, s)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadStreams(ctx); err != nil {
		s.m.unregister()
		db.Close()
		return nil, err
	}
	if err := s.loadExtras(ctx); err != nil {
		s.m.unregister()
		db.Close()
		return nil, err
	}
	s.blocks.maxBytes = opts.TermIndexMaxBytes
	if err := s.loadBlocks(ctx); err != nil {
		s.m.unregister()
		db.Close()
		return nil, err
	}
	return s, nil
}

// Run writes the log-derived counters and enforces retention until ctx is
// done.
func (s *Store) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.db.Run(ctx)
	}()
	t := time.NewTicker(s.opts.MetricsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			s.flushDerived()
			return nil
		case <-t.C:
			s.flushDerived()
			s.sweep()
			s.blocks.prune(s.db.OldestPartition())
			s.pruneExtras(s.db.OldestPartition())
		}
	}
}

// Close commits what is queued, writes the derived counters once more and
// closes the store.
func (s *Store) Close() error {
	s.tail.close()
	err := s.db.Close()
	s.flushDerived()
	s.m.unregister()
	return err
}
