package logs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sort"
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

	MemoryLimitBytes  int64         // DuckDB memory_limit; default 1 GiB
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

	// MaxStreams bounds the distinct label sets (default 100000): records
	// of a new stream past it are rejected, naming the limit.
	MaxStreams int

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

	mu      sync.RWMutex
	streams map[int64]*streamInfo
	// persisted[id] is the partition whose log_streams table holds the
	// stream's row (so a partition can be read, and dropped, on its own).
	persisted map[int64]int64
}

type streamInfo struct {
	id     int64
	key    string
	labels []Label
	lmap   map[string]string
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
}}

// Open opens (or creates) the store in opts.Dir.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("logs: Options.Dir is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 256 << 10
	}
	if opts.StreamAttributes == nil {
		opts.StreamAttributes = DefaultStreamAttributes
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = 100000
	}
	if opts.CheckpointBytes <= 0 {
		opts.CheckpointBytes = 256 << 20
	}
	if opts.QueueRows <= 0 {
		opts.QueueRows = 524288
	}
	if opts.MaxBatchRows <= 0 {
		opts.MaxBatchRows = 262144
	}
	if opts.MaxQueryLines <= 0 {
		opts.MaxQueryLines = 5000
	}
	if opts.MaxQuerySeries <= 0 {
		opts.MaxQuerySeries = 10000
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 2 * time.Minute
	}
	if opts.MetricsInterval <= 0 {
		opts.MetricsInterval = 15 * time.Second
	}
	db, err := telemetrydb.Open(ctx, telemetrydb.Options{
		Dir:               opts.Dir,
		Domain:            "logs",
		Tables:            []telemetrydb.Table{{Name: "logs", TimeColumn: "ts"}, {Name: "log_streams"}},
		Migrations:        migrations,
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
		tail:      newTailHub(),
		counts:    newDerivedCounts(),
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
	return s, nil
}

func (s *Store) loadStreams(ctx context.Context) error {
	return s.db.Query(ctx, telemetrydb.TimeRange{}, "SELECT DISTINCT stream_id, labels FROM {{log_streams}}", nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				return err
			}
			ls, err := parseStreamKey(key)
			if err != nil {
				s.log.Warn("skip unreadable stream labels", "stream_id", id, "err", err)
				continue
			}
			s.streams[id] = newStreamInfo(id, key, ls)
		}
		return nil
	})
}

func newStreamInfo(id int64, key string, ls []Label) *streamInfo {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return &streamInfo{id: id, key: key, labels: ls, lmap: m}
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

// pending is one request on its way to the store.
type pending struct {
	rows    [][]driver.Value
	streams map[int64]*streamInfo // the request's streams
	records []tailRecord          // for tail subscribers
	bytes   int64
	derived map[derivedKey]derivedVal
	tail    bool // collect records for live tail
}

func (s *Store) newPending(n int) *pending {
	return &pending{rows: make([][]driver.Value, 0, n), streams: map[int64]*streamInfo{}, derived: map[derivedKey]derivedVal{}, tail: s.tail.count() > 0}
}

// stream returns the stream for sorted labels, creating it in memory.
func (s *Store) stream(ls []Label) (*streamInfo, error) {
	key := streamKey(ls)
	id := streamID(key)
	s.mu.RLock()
	st, ok := s.streams[id]
	s.mu.RUnlock()
	if ok {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.streams[id]; ok {
		return st, nil
	}
	if len(s.streams) >= s.opts.MaxStreams {
		s.m.rejected.WithLabelValues("stream_limit").Inc()
		return nil, fmt.Errorf("new stream %s refused: the stream limit (logs.limits.max_streams) is %d and %d streams exist; drop high-cardinality labels", truncate(key, 200), s.opts.MaxStreams, len(s.streams))
	}
	cp := make([]Label, len(ls))
	copy(cp, ls)
	st = newStreamInfo(id, key, cp)
	s.streams[id] = st
	return st, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (p *pending) add(st *streamInfo, r *Record, serviceName string) {
	p.streams[st.id] = st
	var traceID, spanID, sevText, observed, sevNum any
	if r.TraceID != "" {
		traceID = r.TraceID
	}
	if r.SpanID != "" {
		spanID = r.SpanID
	}
	if r.SeverityText != "" {
		sevText = r.SeverityText
	}
	if r.ObservedTime != 0 {
		observed = r.ObservedTime
	}
	if r.SeverityNumber != 0 {
		sevNum = r.SeverityNumber
	}
	p.rows = append(p.rows, []driver.Value{
		r.Timestamp, st.id, levelCode(r.Level), r.Line, encodeMetadata(r.Metadata),
		traceID, spanID, observed, sevText, sevNum, r.Flags,
	})
	p.bytes += int64(len(r.Line))
	k := derivedKey{service: serviceName, level: r.Level}
	v := p.derived[k]
	v.records++
	v.bytes += int64(len(r.Line))
	p.derived[k] = v
	if p.tail {
		p.records = append(p.records, tailRecord{stream: st, rec: *r})
	}
}

// commit stores a request atomically and returns after it is durable.
func (s *Store) commit(ctx context.Context, p *pending) error {
	if len(p.rows) == 0 {
		return nil
	}
	start := time.Now()
	part := s.db.CurrentPartition()
	streamRows := s.streamRows(p, part, false)
	err := s.db.Append(ctx,
		telemetrydb.Rows{Table: "logs", Values: p.rows},
		telemetrydb.Rows{Table: "log_streams", Values: streamRows})
	s.m.commitSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.rejected.WithLabelValues(rejectReason(err)).Add(float64(len(p.rows)))
		return err
	}
	s.markPersisted(p, part)
	if now := s.db.CurrentPartition(); now != part {
		// The commit may have landed in a partition that started meanwhile:
		// make sure that partition knows these streams too.
		rows := s.streamRows(p, now, true)
		if err := s.db.Append(context.WithoutCancel(ctx), telemetrydb.Rows{Table: "log_streams", Values: rows}); err != nil {
			s.log.Warn("write stream labels to new partition", "err", err)
		} else {
			s.markPersisted(p, now)
		}
	}
	s.m.accepted.Add(float64(len(p.rows)))
	s.m.acceptedBytes.Add(float64(p.bytes))
	s.counts.add(p.derived)
	if len(p.records) > 0 {
		s.tail.publish(p.records)
	}
	return nil
}

func rejectReason(err error) string {
	switch apierr.CodeOf(err) {
	case apierr.Overloaded:
		return "overloaded"
	case apierr.Unavailable:
		return "unavailable"
	case apierr.Canceled:
		return "canceled"
	}
	return "error"
}

func (s *Store) streamRows(p *pending, part int64, force bool) [][]driver.Value {
	var out [][]driver.Value
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id, st := range p.streams {
		if seq, ok := s.persisted[id]; ok && seq == part && !force {
			continue
		}
		out = append(out, []driver.Value{id, st.key})
	}
	return out
}

func (s *Store) markPersisted(p *pending, part int64) {
	s.mu.Lock()
	for id := range p.streams {
		if s.persisted[id] < part || s.persisted[id] == 0 {
			s.persisted[id] = part
		}
	}
	s.mu.Unlock()
}

// AppendStreams stores pushed streams (the Loki push API). Entries that
// cannot be stored are counted in rejected and described in message; the
// rest are stored atomically.
func (s *Store) AppendStreams(ctx context.Context, streams []Stream) (rejected int64, message string, err error) {
	n := 0
	for i := range streams {
		n += len(streams[i].Entries)
	}
	s.m.received.Add(float64(n))
	p := s.newPending(n)
	var firstReason string
	for i := range streams {
		st, err := s.stream(streams[i].Labels)
		if err != nil {
			rejected += int64(len(streams[i].Entries))
			if firstReason == "" {
				firstReason = err.Error()
			}
			continue
		}
		svc := st.lmap["service_name"]
		if svc == "" {
			svc = st.lmap["service"]
		}
		if svc == "" {
			svc = st.lmap["app"]
		}
		if svc == "" {
			svc = st.lmap["job"]
		}
		for j := range streams[i].Entries {
			e := &streams[i].Entries[j]
			if len(e.Line) > s.opts.MaxLineBytes {
				rejected++
				s.m.rejected.WithLabelValues("line_too_long").Inc()
				if firstReason == "" {
					firstReason = fmt.Sprintf("line of %d bytes in stream %s is over the limit of %d bytes", len(e.Line), st.key, s.opts.MaxLineBytes)
				}
				continue
			}
			md, traceID, spanID := splitMetadata(e.Metadata)
			r := Record{
				Timestamp: e.Timestamp,
				StreamID:  st.id,
				Line:      e.Line,
				Metadata:  md,
				TraceID:   traceID,
				SpanID:    spanID,
				Level:     detectLevel(st.labels, e.Metadata, e.Line),
			}
			p.add(st, &r, svc)
		}
	}
	if err := s.commit(ctx, p); err != nil {
		return 0, "", err
	}
	return rejected, firstReason, nil
}

// splitMetadata takes trace_id and span_id out of structured metadata into
// their own columns.
func splitMetadata(md []Label) (rest []Label, traceID, spanID string) {
	for _, l := range md {
		switch l.Name {
		case "trace_id", "traceID", "traceid":
			traceID = l.Value
			continue
		case "span_id", "spanID", "spanid":
			spanID = l.Value
			continue
		}
		rest = append(rest, l)
	}
	if rest != nil {
		sortLabels(rest)
	}
	return rest, traceID, spanID
}

// streamsSnapshot returns every known stream.
func (s *Store) streamsSnapshot() []*streamInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*streamInfo, 0, len(s.streams))
	for _, st := range s.streams {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (s *Store) streamByID(id int64) *streamInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.streams[id]
}
