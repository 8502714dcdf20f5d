// Package telemetrydb is Vigil's DuckDB plumbing for append-heavy telemetry
// (spans, log records): time-partitioned storage, versioned schema
// migrations, a group-committing writer with a bounded queue, and retention
// by age and by size. It is the only package that imports DuckDB; traces and
// logs each open their own DB and keep their domain logic to themselves.
//
// # Layout on disk
//
// A DB owns one directory. Data lives in partition files named
//
//	<seq>-<created UTC, 20060102T150405Z>.duckdb   (+ .duckdb.wal while open)
//
// all ATTACHed to one in-memory DuckDB instance (so memory_limit and threads
// cover every partition). Writes always go to the newest ("current")
// partition; a new one is started when the current one is older than
// Options.PartitionDuration or larger than Options.PartitionMaxBytes.
// Partitions are cut by ingest time, not by the rows' own timestamps: a
// batch always commits into a single file (DuckDB commits a transaction to
// one attached database), so a request is atomic.
//
// Retention drops whole partitions, oldest first, and deletes their files,
// so disk space really comes back (DuckDB does not shrink a file on DELETE):
//   - by age: a partition whose last possible write (the creation time of the
//     next partition) is older than MaxAge;
//   - by size: while the directory holds more than MaxBytes, the oldest
//     partition goes. The current partition is never dropped; to keep the
//     size cap meaningful, PartitionMaxBytes defaults to MaxBytes/8.
//
// # Schema
//
// Options.Migrations is the domain's ordered list of schema steps
// (Version 1, 2, ...). They run in every partition file when it is created
// or attached (so an old partition is brought up to date after an upgrade),
// each in its own transaction, and are recorded in the file's
// schema_migrations table with Options.Domain. Write the SQL with
// unqualified table names: it runs with the partition as the default
// catalog. A file whose recorded version is newer than the binary knows is
// refused (downgrade protection).
//
// Options.Tables names the tables queries and writes may use, and for each
// the BIGINT column holding the row's time in Unix nanoseconds. The DB keeps
// each partition's min/max of that column in memory to skip partitions that
// cannot hold rows in a query's time range.
//
// Tables may also name KeyColumns (UBIGINT columns that together make a
// key, such as a trace ID's halves). Each partition then keeps, in memory,
// a bloom filter (github.com/bits-and-blooms/bloom/v3, 1% false positives)
// of the keys of its rows, filled before each commit makes them visible,
// rebuilt from the rows when a partition is attached and resized to what it
// holds when it is finished. A query whose TimeRange names Keys reads only
// the partitions that may hold one of them: a filter can be wrong only in
// the safe direction. There is no index file, so nothing to corrupt or
// lose; the cost is ~1.2 bytes a key in memory and one read of the key
// columns per partition at start.
//
// # Writing: group commit
//
// Append(ctx, rows...) enqueues the rows and waits. One goroutine takes
// everything queued (up to Options.MaxBatchRows), appends it with DuckDB's
// Appender in one transaction and commits (DuckDB writes and fsyncs its WAL
// on commit), and only then answers each waiting caller. Requests that
// arrive close together therefore share one commit. If a batch fails, each
// request in it is retried alone, so one bad request does not fail others;
// a failed request leaves nothing behind.
//
// The queue is bounded in rows (Options.QueueRows). When a request does not
// fit, Append returns an *apierr.Error with code Overloaded and RetryAfter
// set, which the OTLP receiver turns into HTTP 429 / gRPC RESOURCE_EXHAUSTED.
// A request larger than the whole queue is still accepted when the queue is
// empty, so any request the receiver let through can make progress.
// After Close, Append returns Unavailable.
//
// Values are passed as []driver.Value in table column order, with the Go
// types duckdb-go's Appender accepts (int64, uint64, uint8, string, []byte,
// bool, float64, time.Time, nil for NULL, ...).
//
// # Reading
//
// Query(ctx, TimeRange, sql, args, scan) runs sql after replacing each
// {{table}} with the union of that table over the partitions whose time
// range overlaps the given range; scan reads the rows. Partitions are not
// dropped while a query runs. A zero TimeRange means every partition.
//
// # Lifecycle
//
//	db, err := telemetrydb.Open(ctx, telemetrydb.Options{Dir: ..., Domain: "logs", ...})
//	go db.Run(ctx) // retention and partition rolling; returns when ctx is done
//	...
//	db.Close()     // drains the queue, checkpoints and detaches every partition
//
// Durability was checked by killing a writer process with SIGKILL after an
// acknowledged Append and reopening (see TestKill9).
package telemetrydb
