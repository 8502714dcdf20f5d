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
//	  memory_limit: 1GiB          # DuckDB memory_limit for the log store
//	  partition_duration: 1h      # one DuckDB file per period (retention drops whole files)
//	  checkpoint_threshold: 256MiB # WAL size before DuckDB checkpoints
//	  queue:  {max_records: 524288, max_batch_records: 262144}
//	  push:   {max_request_bytes: 64MiB}
//	  limits: {max_line_bytes: 256KiB, max_streams: 100000}
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

// LogsLimits bound single records.
type LogsLimits struct {
	MaxLineBytes ByteSize `yaml:"max_line_bytes"`
	// MaxStreams bounds distinct stream label sets; records of new
	// streams past it are rejected.
	MaxStreams int `yaml:"max_streams"`
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

func (x *Logs) setDefaults() {
	if x.Retention.MaxAge == 0 {
		x.Retention.MaxAge = Duration(7 * 24 * time.Hour)
	}
	if x.MemoryLimit == 0 {
		x.MemoryLimit = 1 << 30
	}
	if x.PartitionDuration == 0 {
		x.PartitionDuration = Duration(time.Hour)
	}
	if x.CheckpointThreshold == 0 {
		x.CheckpointThreshold = 256 << 20
	}
	if x.Queue.MaxRecords == 0 {
		x.Queue.MaxRecords = 524288
	}
	if x.Queue.MaxBatchRecords == 0 {
		x.Queue.MaxBatchRecords = 262144
	}
	if x.Push.MaxRequestBytes == 0 {
		x.Push.MaxRequestBytes = 64 << 20
	}
	if x.Limits.MaxLineBytes == 0 {
		x.Limits.MaxLineBytes = 256 << 10
	}
	if x.Limits.MaxStreams == 0 {
		x.Limits.MaxStreams = 100000
	}
	if x.Query.Timeout == 0 {
		x.Query.Timeout = Duration(2 * time.Minute)
	}
	if x.Query.MaxLines == 0 {
		x.Query.MaxLines = 5000
	}
	if x.Query.MaxSeries == 0 {
		x.Query.MaxSeries = 10000
	}
	if x.DerivedMetrics.Enabled == nil {
		on := true
		x.DerivedMetrics.Enabled = &on
	}
	if x.DerivedMetrics.Interval == 0 {
		x.DerivedMetrics.Interval = Duration(15 * time.Second)
	}
}

var attrName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-/]*$`)

func (x *Logs) validate() []FieldError {
	var errs []FieldError
	errs = append(errs, positive("retention.max_age", x.Retention.MaxAge)...)
	errs = append(errs, positive("retention.max_size", x.Retention.MaxSize)...)
	if x.Retention.MaxSize > 0 && x.Retention.MaxSize < 16<<20 {
		errs = append(errs, FieldError{Field: "retention.max_size", Msg: fmt.Sprintf("must be at least 16MiB (or 0 for no cap), got %v", x.Retention.MaxSize)})
	}
	if x.MemoryLimit < 64<<20 {
		errs = append(errs, FieldError{Field: "memory_limit", Msg: fmt.Sprintf("must be at least 64MiB, got %v", x.MemoryLimit)})
	}
	if x.CheckpointThreshold < 1<<20 {
		errs = append(errs, FieldError{Field: "checkpoint_threshold", Msg: fmt.Sprintf("must be at least 1MiB, got %v", x.CheckpointThreshold)})
	}
	if x.PartitionDuration < Duration(time.Minute) {
		errs = append(errs, FieldError{Field: "partition_duration", Msg: fmt.Sprintf("must be at least 1m, got %v", x.PartitionDuration)})
	}
	if x.Queue.MaxRecords < 1 {
		errs = append(errs, FieldError{Field: "queue.max_records", Msg: fmt.Sprintf("must be positive, got %d", x.Queue.MaxRecords)})
	}
	if x.Queue.MaxBatchRecords < 1 || x.Queue.MaxBatchRecords > x.Queue.MaxRecords {
		errs = append(errs, FieldError{Field: "queue.max_batch_records", Msg: fmt.Sprintf("must be between 1 and queue.max_records (%d), got %d", x.Queue.MaxRecords, x.Queue.MaxBatchRecords)})
	}
	if x.Push.MaxRequestBytes < 1024 {
		errs = append(errs, FieldError{Field: "push.max_request_bytes", Msg: fmt.Sprintf("must be at least 1KiB, got %v", x.Push.MaxRequestBytes)})
	}
	if x.Limits.MaxLineBytes < 256 {
		errs = append(errs, FieldError{Field: "limits.max_line_bytes", Msg: fmt.Sprintf("must be at least 256B, got %v", x.Limits.MaxLineBytes)})
	}
	if x.Limits.MaxStreams < 1 {
		errs = append(errs, FieldError{Field: "limits.max_streams", Msg: fmt.Sprintf("must be positive, got %d", x.Limits.MaxStreams)})
	}
	for i, a := range x.StreamAttributes {
		if !attrName.MatchString(a) {
			errs = append(errs, FieldError{Field: fmt.Sprintf("stream_attributes.%d", i), Msg: fmt.Sprintf("%q is not an attribute name such as service.name", a)})
		}
	}
	if x.Query.Timeout <= 0 {
		errs = append(errs, FieldError{Field: "query.timeout", Msg: "must be positive"})
	}
	if x.Query.MaxLines < 1 {
		errs = append(errs, FieldError{Field: "query.max_lines", Msg: fmt.Sprintf("must be positive, got %d", x.Query.MaxLines)})
	}
	if x.Query.MaxSeries < 1 {
		errs = append(errs, FieldError{Field: "query.max_series", Msg: fmt.Sprintf("must be positive, got %d", x.Query.MaxSeries)})
	}
	if x.DerivedMetrics.Interval < Duration(time.Second) {
		errs = append(errs, FieldError{Field: "derived_metrics.interval", Msg: fmt.Sprintf("must be at least 1s, got %v", x.DerivedMetrics.Interval)})
	}
	return errs
}
