// Package traces stores OpenTelemetry spans and serves them: the OTLP
// consumer (ConsumeTraces), a trace store on internal/telemetrydb, the
// Jaeger HTTP query API under /jaeger/api/, OTLP JSON for the web UI under
// /vigil/api/v1/traces/{id}, and RED metrics derived from spans written to
// the TSDB under the OpenTelemetry spanmetrics connector's names.
//
// Every OTLP field survives: IDs, parent, name, kind, times in ns, status,
// trace state, flags, attributes of every type on resource, scope, span,
// events and links, and the dropped counts.
package traces

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// Options configure a Store. Dir is required; zero fields mean defaults.
type Options struct {
	// Dir holds the trace partitions.
	Dir string
	// MaxAge and MaxBytes bound the store (0: unbounded); whole time
	// partitions are dropped, oldest first.
	MaxAge   time.Duration
	MaxBytes int64
	// PartitionDuration is the time span of one partition (default 1h).
	PartitionDuration time.Duration
	// MemoryLimitBytes is DuckDB's memory limit (default 1 GiB).
	MemoryLimitBytes int64
	// Threads is DuckDB's thread count (default: all CPUs).
	Threads int
	// QueueSpans bounds the spans waiting to be committed; past it,
	// ConsumeTraces answers Overloaded (default 100000).
	QueueSpans int
	// RetryAfter is suggested to clients refused for overload (default 1s).
	RetryAfter time.Duration
	// TagIndexMaxBytes caps the memory of the tag index (0: no cap):
	// past it the oldest blocks lose their filters and are read by every
	// search.
	TagIndexMaxBytes int64

	SpanMetrics SpanMetricsOptions

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is the trace store. Safe for concurrent use.
type Store struct {
	opts    Options
	log     *slog.Logger
	db      *telemetrydb.DB
	catalog *catalog
	red     *spanMetrics
	m       *storeMetrics
	errw    apierr.Writer
	// blocks is the tag index; noIndex (for tests) makes searches ignore it.
	blocks  blockIndex
	noIndex bool
}

// Open opens the store in opts.Dir; ctx bounds the opening (attaching
// partitions, migrations, loading the service catalog).
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("traces: Options.Dir is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueueSpans <= 0 {
		opts.QueueSpans = 100_000
	}
	log := opts.Logger.With("component", "traces")
	db, err := telemetrydb.Open(ctx, telemetrydb.Options{
		Dir:               opts.Dir,
		Domain:            "traces",
		Tables:            tables,
		Migrations:        migrations,
		MemoryLimitBytes:  opts.MemoryLimitBytes,
		Threads:           opts.Threads,
		PartitionDuration: opts.PartitionDuration,
		MaxAge:            opts.MaxAge,
		MaxBytes:          opts.MaxBytes,
		// Index rows (one per trace per request) come on top of spans.
		QueueRows:  2 * opts.QueueSpans,
		RetryAfter: opts.RetryAfter,
		Logger:     opts.Logger,
		Registerer: opts.Registerer,
		Now:        opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("open trace store: %w", err)
	}
	s := &Store{opts: opts, log: log, db: db, errw: apierr.Writer{Logger: log}}
	s.m = newStoreMetrics(opts.Registerer, log, s)
	s.catalog = newCatalog()
	if err := s.catalog.load(ctx, db); err != nil {
		s.m.unregister()
		db.Close()
		return nil, err
	}
	s.blocks.maxBytes = opts.TagIndexMaxBytes
	if err := s.loadBlocks(ctx); err != nil {
		s.m.unregister()
		db.Close()
		return nil, err
	}
	red, err := newSpanMetrics(opts.SpanMetrics, opts.Registerer, log, opts.Now)
	if err != nil {
		s.m.unregister()
		db.Close()
		return nil, err
	}
	s.red = red
	return s, nil
}

// Run enforces retention and flushes span metrics until ctx is done.
func (s *Store) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = s.db.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		s.red.run(ctx)
	}()
	// The catalog needs no reload: it is kept as spans are stored and
	// pruned as partitions are dropped (see catalog). The tag index drops
	// the blocks of dropped partitions.
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			s.blocks.prune(s.db.OldestPartition())
		}
	}
}

// Close commits what is queued and closes the store.
func (s *Store) Close() error {
	err := s.db.Close()
	s.red.flush(context.Background())
	s.m.unregister()
	s.red.unregister()
	return err
}

// ConsumeTraces stores td and returns after the spans are committed. Spans
// with an all-zero trace or span ID are rejected (partial success).
func (s *Store) ConsumeTraces(ctx context.Context, td ptrace.Traces) (int64, string, error) {
	total := td.SpanCount()
	s.m.received.Add(float64(total))
	spans := make([][]driver.Value, 0, total)
	backing := make([]driver.Value, 0, total*spanColumnCount)
	type bounds struct{ lo, hi int64 }
	index := map[traceKey]bounds{}
	var badTrace, badSpan int64
	var buf []byte
	var resources [][]driver.Value
	seenRes := map[uint64]bool{}
	tb := tagBuilders.Get().(*tagBuilder)
	defer tagBuilders.Put(tb)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := newResourceRow(rs)
		firstNs := int64(-1)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			sc := newScopeRow(ss)
			if ss.Spans().Len() > 0 {
				tb.addScope(&sc)
			}
			sps := ss.Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				if sp.TraceID().IsEmpty() {
					badTrace++
					continue
				}
				if sp.SpanID().IsEmpty() {
					badSpan++
					continue
				}
				var row []driver.Value
				row, buf = spanRowInto(backing[len(backing):len(backing):cap(backing)], sp, &res, &sc, buf)
				backing = backing[:len(backing)+len(row)]
				spans = append(spans, row)
				tb.addSpan(sp)
				hi, lo := traceIDParts(sp.TraceID())
				tk := traceKey{hi, lo}
				st := int64(sp.StartTimestamp())
				if firstNs < 0 || st < firstNs {
					firstNs = st
				}
				if b, ok := index[tk]; ok {
					index[tk] = bounds{min(b.lo, st), max(b.hi, st)}
				} else {
					index[tk] = bounds{st, st}
				}
			}
		}
		if firstNs >= 0 && !seenRes[res.id] {
			seenRes[res.id] = true
			tb.addResource(&res, rs.Resource())
			resources = append(resources, []driver.Value{firstNs, res.id, res.attrs, res.dropped, res.schemaURL})
		}
	}
	rejected := badTrace + badSpan
	var msg string
	if rejected > 0 {
		s.m.rejected.WithLabelValues("invalid_trace_id").Add(float64(badTrace))
		s.m.rejected.WithLabelValues("invalid_span_id").Add(float64(badSpan))
		msg = fmt.Sprintf("rejected %d spans: %d with an all-zero trace_id, %d with an all-zero span_id (IDs must be 16 and 8 non-zero bytes)", rejected, badTrace, badSpan)
	}
	if len(spans) == 0 {
		tb.finish()
		return rejected, msg, nil
	}
	blk := &spanBlock{minTs: tb.minTs, maxTs: tb.maxTs, bits: tb.finish()}
	ids := buildIDFilter(index)
	s.blocks.register(blk, ids) // before the spans can be seen
	for _, row := range spans {
		row[len(row)-1] = blk.id
	}
	idx := make([][]driver.Value, 0, len(index))
	for tk, b := range index {
		idx = append(idx, []driver.Value{b.lo, b.hi, tk.hi, tk.lo})
	}
	err := s.db.Append(ctx, telemetrydb.Rows{Table: "spans", Values: spans},
		telemetrydb.Rows{Table: "resources", Values: resources},
		telemetrydb.Rows{Table: "trace_index", Values: idx},
		telemetrydb.Rows{Table: "span_blocks", Values: [][]driver.Value{{blk.id, encodeBits(blk.bits), encodeBits(ids)}}})
	if err != nil {
		if apierr.CodeOf(err) == apierr.Canceled {
			// May be stored, and by a commit still under way, which
			// can land in the partition after the current one: prune
			// must not drop the block while its spans may be there.
			s.blocks.committed(blk, s.db.CurrentPartition()+1)
		} else {
			s.blocks.forget(blk) // nothing was stored
		}
		s.m.rejected.WithLabelValues(string(apierr.CodeOf(err))).Add(float64(len(spans)))
		if apierr.CodeOf(err) == apierr.Internal {
			// Logged by whoever answers the client (apierr.Writer).
			return 0, "", apierr.Wrap(apierr.Internal, err, "store %d spans", len(spans))
		}
		if apierr.CodeOf(err) == apierr.Canceled {
			// The spans may still be committed: list their services
			// rather than miss them (there is no periodic reload).
			s.addToCatalog(td)
		}
		return 0, "", err
	}
	s.blocks.committed(blk, s.db.CurrentPartition())
	s.m.accepted.Add(float64(len(spans)))
	s.afterCommit(td)
	return rejected, msg, nil
}

var tagBuilders = sync.Pool{New: func() any { return new(tagBuilder) }}

// afterCommit feeds the catalog and span metrics with the stored spans.
func (s *Store) afterCommit(td ptrace.Traces) {
	s.visit(td, true)
}

// addToCatalog feeds the catalog only.
func (s *Store) addToCatalog(td ptrace.Traces) { s.visit(td, false) }

func (s *Store) visit(td ptrace.Traces, metrics bool) {
	// The spans are in the current partition or an older one (the writer
	// may have moved on since): the catalog keeps a name at least as long
	// as its spans.
	seq := s.db.CurrentPartition()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service := noServiceName
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = validUTF8(v.AsString())
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sps := sss.At(j).Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				if sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty() {
					continue
				}
				s.catalog.add(service, validUTF8(sp.Name()), sp.Kind(), seq)
				if metrics {
					s.red.observe(service, rs.Resource().Attributes(), sp)
				}
			}
		}
	}
}

type storeMetrics struct {
	reg                prometheus.Registerer
	received, accepted prometheus.Counter
	rejected           *prometheus.CounterVec
	indexBytes         prometheus.GaugeFunc
	idIndexBytes       prometheus.GaugeFunc
}

func newStoreMetrics(reg prometheus.Registerer, log *slog.Logger, s *Store) *storeMetrics {
	m := &storeMetrics{
		reg: reg,
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_traces_spans_received_total",
			Help: "Spans received by the trace store.",
		}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_traces_spans_accepted_total",
			Help: "Spans committed to the trace store.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_traces_spans_rejected_total",
			Help: "Spans not stored, by reason (invalid_trace_id, invalid_span_id, overloaded, unavailable, canceled, internal).",
		}, []string{"reason"}),
		indexBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_traces_tag_index_bytes",
			Help: "Memory held by the tag index of spans (the bloom filters of every block), the trace-ID filters included.",
		}, func() float64 {
			_, b, _ := s.blocks.size()
			return float64(b)
		}),
		idIndexBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_traces_id_index_bytes",
			Help: "Memory held by the trace-ID filters of every block (part of vigil_traces_tag_index_bytes).",
		}, func() float64 {
			_, _, b := s.blocks.size()
			return float64(b)
		}),
	}
	for _, r := range []string{"invalid_trace_id", "invalid_span_id", "overloaded", "unavailable"} {
		m.rejected.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.received, m.accepted, m.rejected, m.indexBytes, m.idIndexBytes} {
			if err := reg.Register(c); err != nil {
				log.Warn("register traces metric", "err", err)
			}
		}
	}
	return m
}

func (m *storeMetrics) unregister() {
	if m.reg == nil {
		return
	}
	m.reg.Unregister(m.received)
	m.reg.Unregister(m.accepted)
	m.reg.Unregister(m.rejected)
	m.reg.Unregister(m.indexBytes)
	m.reg.Unregister(m.idIndexBytes)
}
