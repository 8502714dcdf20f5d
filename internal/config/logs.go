package config

import (
	"fmt"
	"regexp"
	"time"
)

// Logs configures the log store, the Loki push API and LogQL queries.
//
//	logs:
//	  retention: {max_age: 7d, max_size: 20GiB}
//	  memory_limit: 0             # DuckDB memory_limit for the log store (0: from the top-level memory_limit, docs/configuration.md#memory)
//	  partition_duration: 1h      # one DuckDB file per period (retention drops whole files)
//	  checkpoint_threshold: 256MiB # WAL size before DuckDB checkpoints
//	  queue:  {max_records: 524288, max_batch_records: 262144}
//	  push:   {max_request_bytes: 64MiB}
//	  limits: {max_line_bytes: 256KiB, max_streams: 100000, stream_idle_period: 30m,
//	           max_label_name_length: 1024, max_label_value_length: 2048, max_label_names_per_series: 15,
//	           reject_old_samples: true, reject_old_samples_max_age: 1w, creation_grace_period: 10m}
//	  stream_attributes: [service.name, k8s.namespace.name, ...]  # OTLP resource attributes that become labels
//	  query:  {timeout: 2m, max_lines: 5000, max_series: 10000}
//	  derived_metrics: {enabled: true, interval: 15s}
type Logs struct {
	Retention         LogsRetention `yaml:"retention"`
	MemoryLimit       ByteSize      `yaml:"memory_limit"`
	PartitionDuration Duration      `yaml:"partition_duration"`
	// CheckpointThreshold is DuckDB's checkpoint_threshold for the log
	// store: WAL size that triggers writing to the database file.
	CheckpointThreshold ByteSize   `yaml:"checkpoint_threshold"`
	Queue               LogsQueue  `yaml:"queue"`
	Push                LogsPush   `yaml:"push"`
	Limits              LogsLimits `yaml:"limits"`
	// StreamAttributes lists the OTLP resource attributes that become
	// stream labels (dots become underscores), as Loki's OTLP ingestion
	// does; the others are kept as structured metadata. Empty: Loki's
	// default list.
	StreamAttributes []string    `yaml:"stream_attributes"`
	Query            LogsQuery   `yaml:"query"`
	DerivedMetrics   LogsDerived `yaml:"derived_metrics"`
}

// LogsRetention bounds the store by age and by size; whole partitions are
// dropped, oldest first.
type LogsRetention struct {
	MaxAge  Duration `yaml:"max_age"`
	MaxSize ByteSize `yaml:"max_size"`
}

// LogsQueue bounds the records waiting for a group commit; past it pushes
// get 429 / RESOURCE_EXHAUSTED.
type LogsQueue struct {
	MaxRecords      int `yaml:"max_records"`
	MaxBatchRecords int `yaml:"max_batch_records"`
}

// LogsPush configures the Loki push endpoint.
type LogsPush struct {
	MaxRequestBytes ByteSize `yaml:"max_request_bytes"`
}

// LogsLimits bound records and streams, as Loki's limits_config does. A
// zero value means the log store's default.
type LogsLimits struct {
	MaxLineBytes ByteSize `yaml:"max_line_bytes"`
	// MaxStreams bounds the active streams (label sets pushed to within
	// StreamIdlePeriod); pushes that would create more get 429.
	MaxStreams int `yaml:"max_streams"`
	// StreamIdlePeriod is how long a stream stays active after its last
	// push (Loki's chunk_idle_period).
	StreamIdlePeriod Duration `yaml:"stream_idle_period"`
	// Loki's per-stream label limits.
	MaxLabelNameLength     int `yaml:"max_label_name_length"`
	MaxLabelValueLength    int `yaml:"max_label_value_length"`
	MaxLabelNamesPerSeries int `yaml:"max_label_names_per_series"`
	// RejectOldSamples refuses entries older than RejectOldSamplesMaxAge;
	// CreationGracePeriod is how far in the future an entry may be.
	RejectOldSamples       *bool    `yaml:"reject_old_samples"`
	RejectOldSamplesMaxAge Duration `yaml:"reject_old_samples_max_age"`
	CreationGracePeriod    Duration `yaml:"creation_grace_period"`
}

// LogsQuery bounds LogQL queries.
type LogsQuery struct {
	Timeout   Duration `yaml:"timeout"`
	MaxLines  int      `yaml:"max_lines"`
	MaxSeries int      `yaml:"max_series"`
}

// LogsDerived controls logs_records_total / logs_bytes_total in the TSDB.
type LogsDerived struct {
	Enabled  *bool    `yaml:"enabled"`
	Interval Duration `yaml:"interval"`
}

// setDefaults sets the defaults that config owns: those whose YAML meaning
// differs from the zero value of the log store's Options (retention by age,
// derived metrics, rejecting old entries). Every other key left at 0 means
// the default that logs.Options (or loki.Options, telemetrydb.Options)
// documents and applies, so each default value is written once.
func (x *Logs) setDefaults() {
	if x.Retention.MaxAge == 0 {
		x.Retention.MaxAge = Duration(7 * 24 * time.Hour)
	}
	if x.DerivedMetrics.Enabled == nil {
		on := true
		x.DerivedMetrics.Enabled = &on
	}
	if x.Limits.RejectOldSamples == nil {
		on := true
		x.Limits.RejectOldSamples = &on
	}
}

var attrName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-/]*$`)

func (x *Logs) validate() []FieldError {
	var errs []FieldError
	// atLeast checks a key where 0 means the default.
	atLeast := func(field string, v, lowest int64, show func(int64) string) {
		if v != 0 && v < lowest {
			errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf("must be at least %s (or 0 for the default), got %s", show(lowest), show(v))})
		}
	}
	bytes := func(v int64) string { return ByteSize(v).String() }
	dur := func(v int64) string { return Duration(v).String() }
	num := func(v int64) string { return fmt.Sprint(v) }
	errs = append(errs, positive("retention.max_age", x.Retention.MaxAge)...)
	errs = append(errs, positive("retention.max_size", x.Retention.MaxSize)...)
	if x.Retention.MaxSize > 0 && x.Retention.MaxSize < 16<<20 {
		errs = append(errs, FieldError{Field: "retention.max_size", Msg: fmt.Sprintf("must be at least 16MiB (or 0 for no cap), got %v", x.Retention.MaxSize)})
	}
	atLeast("memory_limit", int64(x.MemoryLimit), 64<<20, bytes)
	atLeast("checkpoint_threshold", int64(x.CheckpointThreshold), 1<<20, bytes)
	atLeast("partition_duration", int64(x.PartitionDuration), int64(time.Minute), dur)
	atLeast("queue.max_records", int64(x.Queue.MaxRecords), 1, num)
	atLeast("queue.max_batch_records", int64(x.Queue.MaxBatchRecords), 1, num)
	if x.Queue.MaxRecords > 0 && x.Queue.MaxBatchRecords > x.Queue.MaxRecords {
		errs = append(errs, FieldError{Field: "queue.max_batch_records", Msg: fmt.Sprintf("must be between 1 and queue.max_records (%d), got %d", x.Queue.MaxRecords, x.Queue.MaxBatchRecords)})
	}
	atLeast("push.max_request_bytes", int64(x.Push.MaxRequestBytes), 1024, bytes)
	atLeast("limits.max_line_bytes", int64(x.Limits.MaxLineBytes), 256, bytes)
	atLeast("limits.max_streams", int64(x.Limits.MaxStreams), 1, num)
	atLeast("limits.stream_idle_period", int64(x.Limits.StreamIdlePeriod), int64(time.Second), dur)
	atLeast("limits.max_label_name_length", int64(x.Limits.MaxLabelNameLength), 1, num)
	atLeast("limits.max_label_value_length", int64(x.Limits.MaxLabelValueLength), 1, num)
	atLeast("limits.max_label_names_per_series", int64(x.Limits.MaxLabelNamesPerSeries), 1, num)
	atLeast("limits.reject_old_samples_max_age", int64(x.Limits.RejectOldSamplesMaxAge), int64(time.Minute), dur)
	atLeast("limits.creation_grace_period", int64(x.Limits.CreationGracePeriod), int64(time.Second), dur)
	for i, a := range x.StreamAttributes {
		if !attrName.MatchString(a) {
			errs = append(errs, FieldError{Field: fmt.Sprintf("stream_attributes.%d", i), Msg: fmt.Sprintf("%q is not an attribute name such as service.name", a)})
		}
	}
	atLeast("query.timeout", int64(x.Query.Timeout), int64(time.Millisecond), dur)
	atLeast("query.max_lines", int64(x.Query.MaxLines), 1, num)
	atLeast("query.max_series", int64(x.Query.MaxSeries), 1, num)
	atLeast("derived_metrics.interval", int64(x.DerivedMetrics.Interval), int64(time.Second), dur)
	return errs
}
