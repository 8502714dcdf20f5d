package telemetrydb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Options configure a DB. Only Dir, Domain, Tables and Migrations are
// required; every other zero field means its default.
type Options struct {
	// Dir holds the partition files. Created if missing. Must be owned by
	// this DB alone.
	Dir string
	// Domain names the data ("traces", "logs") in metrics, logs and the
	// schema_migrations table.
	Domain string
	// Tables that Append and Query may use.
	Tables []Table
	// Migrations in version order, starting at 1.
	Migrations []Migration
	// StorageVersion is the DuckDB storage format partition files are
	// attached with (ATTACH ... (STORAGE_VERSION 'v1.2.0')). Empty means
	// DuckDB's default (v0.10.2), which lacks the newer compression
	// methods: a column declared USING COMPRESSION zstd is then stored
	// uncompressed. An existing file of an older format is upgraded when
	// attached: its old segments stay readable as they are, new ones use
	// the newer format.
	StorageVersion string

	// MemoryLimitBytes is DuckDB's memory_limit. Default 1 GiB.
	MemoryLimitBytes int64
	// Threads is DuckDB's worker thread count. Default runtime.NumCPU().
	Threads int
	// CheckpointBytes is DuckDB's checkpoint_threshold: the WAL size that
	// triggers folding it into the database file. Default
	// min(256 MiB, MemoryLimitBytes/4). DuckDB's own default (16 MiB)
	// costs about twice the CPU per row for append-heavy tables, and more
	// as a file grows (measured: 27 vs 12 µs per span); a larger WAL costs
	// memory (unfolded rows stay in memory) and restart time after a crash
	// (WAL replay).
	CheckpointBytes int64

	// PartitionDuration is how long one partition receives writes.
	// Default 1h.
	PartitionDuration time.Duration
	// PartitionMaxBytes starts a new partition early once the current one
	// is this big. Default MaxBytes/8 when MaxBytes is set, else 0 (off).
	PartitionMaxBytes int64
	// MaxAge drops partitions whose data was all ingested longer ago than
	// this. 0 keeps data forever.
	MaxAge time.Duration
	// MaxBytes drops the oldest partitions while the directory is larger.
	// 0 means no size cap.
	MaxBytes int64
	// RetentionInterval is how often Run enforces retention. Default 30s.
	RetentionInterval time.Duration

	// QueueRows bounds the rows waiting to be committed (including the
	// batch being committed). Default 262144.
	QueueRows int
	// MaxBatchRows caps the rows in one commit. Default 65536.
	MaxBatchRows int
	// RetryAfter is suggested to clients refused because the queue is
	// full. Default 1s.
	RetryAfter time.Duration
	// KeyFilterSize is how many keys a new partition's key filter is
	// sized for (Table.KeyColumns), at a 1% false-positive rate: 1.2 MB
	// a partition at the default 1,000,000. Past it the filter still
	// answers rightly, with more false positives.
	KeyFilterSize int

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Table is a table that the domain's migrations create.
type Table struct {
	Name string
	// TimeColumn is a BIGINT column with the row's time in Unix
	// nanoseconds, used to skip partitions in Query. Optional.
	TimeColumn string
	// KeyColumns are UBIGINT columns whose values, taken together, are a
	// key (a trace ID's two halves, say) that each partition keeps in a
	// bloom filter, so a Query naming keys (TimeRange.Keys) skips the
	// partitions that cannot hold any of them. The filter is the
	// partition's, not the table's: a domain that writes a key row in
	// the same Append as the rows it stands for (a trace's index row with
	// its spans) finds those rows through it too. Optional.
	KeyColumns []string
	// SortBy are BIGINT columns by which the rows of one group commit are
	// sorted before they are appended (stable, so rows equal in them keep
	// their order), so that similar rows sit next to each other in the
	// file and compress better. Optional.
	SortBy []string
}

// Migration is one schema step of a domain.
type Migration struct {
	Version int
	Name    string
	SQL     string
	// If, when set, is a query of one boolean run before SQL: SQL runs
	// only when it is true, and the step is recorded as applied either
	// way. For steps that only matter to new partitions, such as
	// recreating a still empty table with other storage options.
	If string
}

// Rows are rows for one table, each in the table's column order.
type Rows struct {
	Table  string
	Values [][]driver.Value
}

// TimeRange selects partitions by the tables' time columns, in Unix ns,
// inclusive. A zero field is unbounded.
type TimeRange struct {
	From, To int64
	// Keys, when not nil, also skips the partitions whose key filter (see
	// Table.KeyColumns) holds none of them; make each with Key. A
	// partition is never skipped wrongly: a bloom filter can only say a
	// key may be there. Nil keeps every partition the times select.
	Keys [][]byte
}

// Key is the key of KeyColumns values, in column order, as the filters
// hold it.
func Key(vals ...uint64) []byte {
	b := make([]byte, 0, 8*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// ErrClosed is returned (wrapped in an apierr Unavailable) after Close.
var ErrClosed = errors.New("telemetrydb: closed")

// DB is a partitioned DuckDB store for one domain. Safe for concurrent use.
type DB struct {
	opts      Options
	log       *slog.Logger
	connector *duckdb.Connector
	sql       *sql.DB
	tables    map[string]*tableInfo
	metrics   *metrics
	// health turns commits that fail for lack of disk space or an I/O
	// error into retryable errors naming no file, and remembers the state
	// for /metrics and /readyz.
	health *apierr.WriteHealth

	// dropMu is held shared by queries and exclusively while partitions
	// are detached and deleted.
	dropMu sync.RWMutex
	// partsMu guards parts and each partition's time bounds; held briefly.
	partsMu sync.RWMutex
	parts   []*partition // oldest first; the last is current
	nextSeq int64

	q queue
	w *writer

	closeOnce sync.Once
	closeErr  error
}

type tableInfo struct {
	Table
	timeIdx int   // index of TimeColumn among columns, -1 if none
	keyIdx  []int // indexes of KeyColumns among columns
	sortIdx []int // indexes of SortBy among columns
	columns int
}

// Open opens (or creates) the store in opts.Dir, attaching every partition
// found there and bringing each up to the latest schema.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s store directory: %w", opts.Domain, err)
	}
	tmp := filepath.Join(opts.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("create %s temp directory: %w", opts.Domain, err)
	}
	q := url.Values{}
	q.Set("memory_limit", strconv.FormatInt(opts.MemoryLimitBytes/1024, 10)+"KiB")
	q.Set("threads", strconv.Itoa(opts.Threads))
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	q.Set("temp_directory", tmp)
	q.Set("checkpoint_threshold", strconv.FormatInt(opts.CheckpointBytes/1024, 10)+"KiB")
	// DuckDB's jemalloc keeps freed memory for reuse and hands it back only
	// after a task that peaked over allocator_flush_threshold (default 128
	// MiB): a store with a small memory_limit then holds the memory its
	// writes once used for good, outside memory_limit, and a process-wide
	// limit (internal/memlimit) cannot see it fall. Flush at an eighth of
	// memory_limit, and let background threads purge.
	q.Set("allocator_flush_threshold", strconv.FormatInt(min(opts.MemoryLimitBytes/8, 128<<20)/1024, 10)+"KiB")
	q.Set("allocator_background_threads", "true")
	connector, err := duckdb.NewConnector("?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb for %s: %w", opts.Domain, err)
	}
	db := &DB{
		opts:      opts,
		log:       opts.Logger.With("component", "telemetrydb", "domain", opts.Domain),
		connector: connector,
		sql:       sql.OpenDB(connector),
		tables:    map[string]*tableInfo{},
	}
	for _, t := range opts.Tables {
		db.tables[t.Name] = &tableInfo{Table: t, timeIdx: -1}
	}
	db.health = &apierr.WriteHealth{Store: opts.Domain, Logger: db.log}
	db.metrics = newMetrics(opts.Registerer, db)
	if err := db.attachExisting(ctx); err != nil {
		db.sql.Close()
		return nil, err
	}
	w, err := newWriter(ctx, db)
	if err != nil {
		db.detachAll()
		db.sql.Close()
		return nil, err
	}
	db.q.init(opts.QueueRows)
	db.w = w
	go w.run()
	db.updateDiskMetric()
	return db, nil
}

func (o *Options) fill() error {
	if o.Dir == "" {
		return errors.New("telemetrydb: Options.Dir is required")
	}
	if o.Domain == "" {
		return errors.New("telemetrydb: Options.Domain is required")
	}
	if len(o.Tables) == 0 {
		return errors.New("telemetrydb: Options.Tables is required")
	}
	for i, m := range o.Migrations {
		if m.Version != i+1 {
			return fmt.Errorf("telemetrydb: migration %d of %s has version %d; versions must be 1, 2, 3, ... in order", i, o.Domain, m.Version)
		}
	}
	if o.MemoryLimitBytes <= 0 {
		o.MemoryLimitBytes = 1 << 30
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.CheckpointBytes <= 0 {
		o.CheckpointBytes = min(256<<20, o.MemoryLimitBytes/4)
	}
	if o.PartitionDuration <= 0 {
		o.PartitionDuration = time.Hour
	}
	if o.PartitionMaxBytes <= 0 && o.MaxBytes > 0 {
		o.PartitionMaxBytes = o.MaxBytes / 8
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = 30 * time.Second
	}
	if o.QueueRows <= 0 {
		o.QueueRows = 1 << 18
	}
	if o.MaxBatchRows <= 0 {
		o.MaxBatchRows = 1 << 16
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.KeyFilterSize <= 0 {
		o.KeyFilterSize = 1_000_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Close stops accepting writes, commits everything already queued,
// checkpoints and detaches every partition. Safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.q.close()
		<-db.w.done
		err := db.w.close()
		db.dropMu.Lock()
		err = errors.Join(err, db.detachAll())
		db.dropMu.Unlock()
		db.closeErr = errors.Join(err, db.sql.Close())
		db.metrics.unregister()
	})
	return db.closeErr
}

// Append stores rows atomically (all or nothing) and returns after they are
// committed. See the package documentation for the queueing contract.
func (db *DB) Append(ctx context.Context, rows ...Rows) error {
	n := 0
	for _, r := range rows {
		if _, ok := db.tables[r.Table]; !ok {
			return fmt.Errorf("telemetrydb: append to unknown table %q of %s", r.Table, db.opts.Domain)
		}
		n += len(r.Values)
	}
	if n == 0 {
		return nil
	}
	req := &request{rows: rows, n: n, done: make(chan error, 1)}
	if err := db.q.push(req); err != nil {
		if errors.Is(err, ErrClosed) {
			return apierr.Wrap(apierr.Unavailable, err, "%s store is shutting down", db.opts.Domain)
		}
		db.metrics.rejected.Inc()
		return &apierr.Error{
			Code:       apierr.Overloaded,
			Message:    fmt.Sprintf("%s write queue is full (%d rows queued, limit %d); retry later", db.opts.Domain, db.q.rowsNow(), db.opts.QueueRows),
			RetryAfter: db.opts.RetryAfter,
		}
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The rows may still be committed; the caller reports failure and
		// the client may retry (at-least-once).
		return apierr.Wrap(apierr.Canceled, ctx.Err(), "waiting for %s commit", db.opts.Domain)
	}
}

// Query runs query, in which each {{table}} is replaced by the union of
// that table over the partitions overlapping tr, and hands the rows to
// scan. args are bound to the query's placeholders (? or $1). A
// placeholder {{table:from:to}} uses its own time range (Unix ns,
// inclusive) instead of tr's times; when one partition overlaps it, it
// is replaced by that partition's table itself, so it must stand where a
// table name may (in FROM or JOIN, as every placeholder does).
func (db *DB) Query(ctx context.Context, tr TimeRange, query string, args []any, scan func(*sql.Rows) error) error {
	db.dropMu.RLock()
	defer db.dropMu.RUnlock()
	expanded, err := db.expand(query, tr)
	if err != nil {
		return err
	}
	rows, err := db.sql.QueryContext(ctx, expanded, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", db.opts.Domain, err)
	}
	defer rows.Close()
	if err := scan(rows); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query %s: %w", db.opts.Domain, err)
	}
	return nil
}

// QueryEach runs query once per partition, oldest first, with each
// {{table}} replaced by that partition's table, and hands the rows to scan
// with the partition's sequence number (see CurrentPartition).
func (db *DB) QueryEach(ctx context.Context, query string, args []any, scan func(seq int64, rows *sql.Rows) error) error {
	db.dropMu.RLock()
	defer db.dropMu.RUnlock()
	db.partsMu.RLock()
	parts := slices.Clone(db.parts)
	db.partsMu.RUnlock()
	for _, p := range parts {
		expanded, err := db.expandParts(query, TimeRange{}, []*partition{p})
		if err != nil {
			return err
		}
		err = func() error {
			rows, err := db.sql.QueryContext(ctx, expanded, args...)
			if err != nil {
				return fmt.Errorf("query %s: %w", db.opts.Domain, err)
			}
			defer rows.Close()
			if err := scan(p.seq, rows); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("query %s: %w", db.opts.Domain, err)
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) expand(query string, tr TimeRange) (string, error) {
	db.partsMu.RLock()
	defer db.partsMu.RUnlock()
	return db.expandParts(query, tr, db.parts)
}

// expandParts replaces each {{table}} in query by the union of the table
// over those of parts (not empty) that overlap tr.
func (db *DB) expandParts(query string, tr TimeRange, parts []*partition) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(query, "{{")
		if i < 0 {
			b.WriteString(query)
			break
		}
		j := strings.Index(query[i:], "}}")
		if j < 0 {
			return "", fmt.Errorf("telemetrydb: unterminated {{ in query")
		}
		name := query[i+2 : i+j]
		ptr, ranged := tr, false
		if n, bounds, ok := strings.Cut(name, ":"); ok {
			// {{table:from:to}}: this placeholder's own time range.
			lo, hi, _ := strings.Cut(bounds, ":")
			from, err1 := strconv.ParseInt(lo, 10, 64)
			to, err2 := strconv.ParseInt(hi, 10, 64)
			if err1 != nil || err2 != nil {
				return "", fmt.Errorf("telemetrydb: bad time range in {{%s}}: want {{table:from:to}} in Unix ns", name)
			}
			name, ptr, ranged = n, TimeRange{From: from, To: to, Keys: tr.Keys}, true
		}
		t, ok := db.tables[name]
		if !ok {
			return "", fmt.Errorf("telemetrydb: query names unknown table %q", name)
		}
		b.WriteString(query[:i])
		var only *partition
		n := 0
		for _, p := range parts {
			if !p.overlaps(ptr, t.TimeColumn != "") || !p.mayHold(ptr.Keys) {
				continue
			}
			only = p
			n++
		}
		switch {
		case n == 1 && ranged:
			// {{table:from:to}} in one partition: the table itself. A query
			// with hundreds of such placeholders (the log term index's
			// block ranges) plans measurably faster without a subquery
			// around each.
			fmt.Fprintf(&b, "%s.%s", only.alias, name)
		case n == 0:
			fmt.Fprintf(&b, "(SELECT * FROM %s.%s WHERE false)", parts[len(parts)-1].alias, name)
		default:
			b.WriteString("(")
			k := 0
			for _, p := range parts {
				if !p.overlaps(ptr, t.TimeColumn != "") || !p.mayHold(ptr.Keys) {
					continue
				}
				if k > 0 {
					b.WriteString(" UNION ALL ")
				}
				fmt.Fprintf(&b, "SELECT * FROM %s.%s", p.alias, name)
				k++
			}
			b.WriteString(")")
		}
		query = query[i+j+2:]
	}
	return b.String(), nil
}

// TimeBounds returns the smallest and largest time-column value over all
// partitions (ok is false when the store holds no timed rows). Queries
// that scan backwards from "now" can start at max instead.
func (db *DB) TimeBounds() (lo, hi int64, ok bool) {
	db.partsMu.RLock()
	defer db.partsMu.RUnlock()
	for _, p := range db.parts {
		if !p.hasRows {
			continue
		}
		if !ok {
			lo, hi, ok = p.minT, p.maxT, true
			continue
		}
		lo, hi = min(lo, p.minT), max(hi, p.maxT)
	}
	return lo, hi, ok
}

// Stats describe the store on disk.
type Stats struct {
	Partitions int
	DiskBytes  int64
}

// Stats returns the current partition count and directory size.
func (db *DB) Stats() Stats {
	db.partsMu.RLock()
	n := len(db.parts)
	db.partsMu.RUnlock()
	return Stats{Partitions: n, DiskBytes: db.diskBytes()}
}

func (db *DB) diskBytes() int64 {
	db.partsMu.RLock()
	paths := make([]string, 0, len(db.parts))
	for _, p := range db.parts {
		paths = append(paths, p.path)
	}
	db.partsMu.RUnlock()
	var total int64
	for _, p := range paths {
		total += fileSize(p) + fileSize(p+".wal")
	}
	return total
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// partition is one DuckDB file.
type partition struct {
	seq     int64
	created time.Time
	path    string
	alias   string
	// Bounds of the tables' time columns; valid when hasRows.
	hasRows    bool
	minT, maxT int64
	// keys holds the KeyColumns keys of the partition's rows (nil when
	// no table has KeyColumns); guarded by DB.partsMu.
	keys *bloom.BloomFilter
}

// mayHold says whether the partition may hold one of keys.
func (p *partition) mayHold(keys [][]byte) bool {
	if keys == nil || p.keys == nil {
		return true
	}
	for _, k := range keys {
		if p.keys.Test(k) {
			return true
		}
	}
	return false
}

func (p *partition) overlaps(tr TimeRange, timed bool) bool {
	if !timed || (tr.From == 0 && tr.To == 0) {
		return true
	}
	if !p.hasRows {
		return false
	}
	if tr.From != 0 && p.maxT < tr.From {
		return false
	}
	if tr.To != 0 && p.minT > tr.To {
		return false
	}
	return true
}

func (p *partition) widen(lo, hi int64) {
	if !p.hasRows {
		p.minT, p.maxT, p.hasRows = lo, hi, true
		return
	}
	p.minT = min(p.minT, lo)
	p.maxT = max(p.maxT, hi)
}

const timeLayout = "20060102T150405Z"

func partitionName(seq int64, created time.Time) string {
	return fmt.Sprintf("%08d-%s.duckdb", seq, created.UTC().Format(timeLayout))
}

func parsePartitionName(name string) (int64, time.Time, bool) {
	base, ok := strings.CutSuffix(name, ".duckdb")
	if !ok {
		return 0, time.Time{}, false
	}
	s, ts, ok := strings.Cut(base, "-")
	if !ok {
		return 0, time.Time{}, false
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq < 0 {
		return 0, time.Time{}, false
	}
	t, err := time.Parse(timeLayout, ts)
	if err != nil {
		return 0, time.Time{}, false
	}
	return seq, t, true
}

func (db *DB) attachExisting(ctx context.Context) error {
	entries, err := os.ReadDir(db.opts.Dir)
	if err != nil {
		return fmt.Errorf("list %s partitions: %w", db.opts.Domain, err)
	}
	var found []*partition
	for _, e := range entries {
		seq, created, ok := parsePartitionName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		found = append(found, &partition{seq: seq, created: created, path: filepath.Join(db.opts.Dir, e.Name()), alias: fmt.Sprintf("p%d", seq)})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].seq < found[j].seq })
	for i, p := range found {
		if err := db.attach(ctx, p, i == len(found)-1); err != nil {
			db.detachAll()
			return err
		}
		db.parts = append(db.parts, p)
		db.nextSeq = p.seq + 1
	}
	if len(db.parts) == 0 {
		if _, err := db.newPartition(ctx); err != nil {
			return err
		}
	}
	return nil
}

// newPartition creates, attaches and appends a fresh partition.
func (db *DB) newPartition(ctx context.Context) (*partition, error) {
	created := db.opts.Now().UTC().Truncate(time.Second)
	db.partsMu.RLock()
	if n := len(db.parts); n > 0 && !created.After(db.parts[n-1].created) {
		// Keep creation times strictly increasing: age retention relies on them.
		created = db.parts[n-1].created.Add(time.Second)
	}
	db.partsMu.RUnlock()
	p := &partition{seq: db.nextSeq, created: created, alias: fmt.Sprintf("p%d", db.nextSeq)}
	p.path = filepath.Join(db.opts.Dir, partitionName(p.seq, created))
	if err := db.attach(ctx, p, true); err != nil {
		return nil, err
	}
	db.partsMu.Lock()
	db.parts = append(db.parts, p)
	db.nextSeq++
	db.partsMu.Unlock()
	db.log.Debug("partition created", "path", p.path)
	return p, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// attach attaches p; current says it will take writes (its key filter is
// sized for more keys).
func (db *DB) attach(ctx context.Context, p *partition, current bool) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("attach %s: %w", p.path, err)
	}
	defer conn.Close()
	attach := "ATTACH " + quoteLiteral(p.path) + " AS " + p.alias
	if v := db.opts.StorageVersion; v != "" {
		attach += " (STORAGE_VERSION " + quoteLiteral(v) + ")"
	}
	if _, err := conn.ExecContext(ctx, attach); err != nil {
		return fmt.Errorf("attach %s partition %s: %w", db.opts.Domain, p.path, err)
	}
	if err := db.migrate(ctx, conn, p); err != nil {
		_, _ = conn.ExecContext(ctx, "DETACH "+p.alias)
		return err
	}
	if err := db.loadTableInfo(ctx, conn, p); err != nil {
		_, _ = conn.ExecContext(ctx, "DETACH "+p.alias)
		return err
	}
	// p is not visible to queries yet: no lock needed.
	if p.keys, err = db.loadKeys(ctx, conn, p, current); err != nil {
		_, _ = conn.ExecContext(ctx, "DETACH "+p.alias)
		return err
	}
	return nil
}

// keyFilterFP is the key filters' false-positive rate.
const keyFilterFP = 0.01

// loadKeys builds the partition's key filter from its rows: kept in
// memory only, so there is no index file to lose or corrupt, at the cost
// of one read of the key columns when a partition is attached. The
// current partition's filter is sized for Options.KeyFilterSize keys more
// than it holds, an older one's for what it holds.
func (db *DB) loadKeys(ctx context.Context, conn *sql.Conn, p *partition, current bool) (*bloom.BloomFilter, error) {
	var keyed []*tableInfo
	for _, t := range db.tables {
		if len(t.KeyColumns) > 0 {
			keyed = append(keyed, t)
		}
	}
	if len(keyed) == 0 {
		return nil, nil
	}
	var n int64
	for _, t := range keyed {
		var c int64
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s.%s", p.alias, t.Name)).Scan(&c); err != nil {
			return nil, fmt.Errorf("count keys of %s.%s: %w", p.path, t.Name, err)
		}
		n += c
	}
	size := max(n, 1024)
	if current {
		size = n + int64(db.opts.KeyFilterSize)
	}
	f := bloom.NewWithEstimates(uint(size), keyFilterFP)
	vals := make([]uint64, 0, 4)
	for _, t := range keyed {
		rows, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(t.KeyColumns, ", "), p.alias, t.Name))
		if err != nil {
			return nil, fmt.Errorf("read keys of %s.%s: %w", p.path, t.Name, err)
		}
		dest := make([]any, len(t.KeyColumns))
		ptrs := make([]uint64, len(t.KeyColumns))
		for i := range dest {
			dest[i] = &ptrs[i]
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read keys of %s.%s: %w", p.path, t.Name, err)
			}
			f.Add(Key(append(vals[:0], ptrs...)...))
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read keys of %s.%s: %w", p.path, t.Name, err)
		}
	}
	return f, nil
}

func (db *DB) migrate(ctx context.Context, conn *sql.Conn, p *partition) (err error) {
	if _, err := conn.ExecContext(ctx, "USE "+p.alias); err != nil {
		return fmt.Errorf("use partition %s: %w", p.path, err)
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "USE memory"); uerr != nil && err == nil {
			err = uerr
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		domain VARCHAR NOT NULL, version INTEGER NOT NULL, name VARCHAR NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (domain, version))`); err != nil {
		return fmt.Errorf("create schema_migrations in %s: %w", p.path, err)
	}
	var have int
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE domain = ?", db.opts.Domain).Scan(&have); err != nil {
		return fmt.Errorf("read schema version of %s: %w", p.path, err)
	}
	if have > len(db.opts.Migrations) {
		return fmt.Errorf("%s partition %s has schema version %d but this Vigil knows only up to %d: it was written by a newer version", db.opts.Domain, p.path, have, len(db.opts.Migrations))
	}
	for _, m := range db.opts.Migrations[have:] {
		if err := db.applyMigration(ctx, conn, m); err != nil {
			return fmt.Errorf("migrate %s partition %s to version %d (%s): %w", db.opts.Domain, p.path, m.Version, m.Name, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	run := true
	if m.If != "" {
		if err := tx.QueryRowContext(ctx, m.If).Scan(&run); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("condition: %w", err)
		}
	}
	if run {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (domain, version, name) VALUES (?, ?, ?)", db.opts.Domain, m.Version, m.Name); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// loadTableInfo checks the tables exist and reads the partition's time
// bounds.
func (db *DB) loadTableInfo(ctx context.Context, conn *sql.Conn, p *partition) error {
	for _, t := range db.tables {
		rows, err := conn.QueryContext(ctx, "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' AND table_name = ? ORDER BY column_index", p.alias, t.Name)
		if err != nil {
			return fmt.Errorf("read columns of %s.%s: %w", p.path, t.Name, err)
		}
		var cols []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			cols = append(cols, c)
		}
		rows.Close()
		if len(cols) == 0 {
			return fmt.Errorf("%s partition %s has no table %q after migrations", db.opts.Domain, p.path, t.Name)
		}
		t.columns = len(cols)
		t.timeIdx = -1
		t.keyIdx = t.keyIdx[:0]
		for _, k := range t.KeyColumns {
			at := slices.Index(cols, k)
			if at < 0 {
				return fmt.Errorf("%s table %q has no key column %q", db.opts.Domain, t.Name, k)
			}
			t.keyIdx = append(t.keyIdx, at)
		}
		t.sortIdx = t.sortIdx[:0]
		for _, k := range t.SortBy {
			at := slices.Index(cols, k)
			if at < 0 {
				return fmt.Errorf("%s table %q has no sort column %q", db.opts.Domain, t.Name, k)
			}
			t.sortIdx = append(t.sortIdx, at)
		}
		for i, c := range cols {
			if c == t.TimeColumn {
				t.timeIdx = i
			}
		}
		if t.TimeColumn == "" {
			continue
		}
		if t.timeIdx < 0 {
			return fmt.Errorf("%s table %q has no time column %q", db.opts.Domain, t.Name, t.TimeColumn)
		}
		var lo, hi sql.NullInt64
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT min(%s), max(%s) FROM %s.%s", t.TimeColumn, t.TimeColumn, p.alias, t.Name)).Scan(&lo, &hi); err != nil {
			return fmt.Errorf("read time bounds of %s.%s: %w", p.path, t.Name, err)
		}
		if lo.Valid {
			p.widen(lo.Int64, hi.Int64)
		}
	}
	return nil
}

// detachAll checkpoints and detaches every partition (Close and failed Open).
func (db *DB) detachAll() error {
	ctx := context.Background()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	db.partsMu.Lock()
	parts := db.parts
	db.parts = nil
	db.partsMu.Unlock()
	var errs []error
	for _, p := range parts {
		if _, err := conn.ExecContext(ctx, "CHECKPOINT "+p.alias); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint %s: %w", p.path, err))
		}
		if _, err := conn.ExecContext(ctx, "DETACH "+p.alias); err != nil {
			errs = append(errs, fmt.Errorf("detach %s: %w", p.path, err))
		}
	}
	return errors.Join(errs...)
}
