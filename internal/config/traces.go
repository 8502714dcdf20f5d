package config

import (
	"fmt"
	"sort"
	"time"
)

// Traces configures the trace store, the Jaeger query API and the RED
// metrics derived from spans.
//
//	traces:
//	  retention: {max_age: 7d, max_size: 20GiB}
//	  memory_limit: 0             # DuckDB memory_limit for the trace store (0: from the top-level memory_limit, docs/configuration.md#memory)
//	  partition_duration: 1h      # one DuckDB file per period (retention drops whole files)
//	  queue: {max_spans: 100000, retry_after: 1s}
//	  span_metrics:
//	    enabled: true
//	    dimensions: [http.method] # extra span/resource attributes as labels
//	    buckets: [2ms, 4ms, 6ms, 8ms, 10ms, 50ms, 100ms, 200ms, 400ms, 800ms, 1s, 1400ms, 2s, 5s, 10s, 15s]
//	    flush_interval: 15s
//	    max_series: 10000
type Traces struct {
	Retention         TracesRetention   `yaml:"retention"`
	MemoryLimit       ByteSize          `yaml:"memory_limit"`
	PartitionDuration Duration          `yaml:"partition_duration"`
	Queue             TracesQueue       `yaml:"queue"`
	SpanMetrics       TracesSpanMetrics `yaml:"span_metrics"`
}

// TracesRetention bounds the trace store by age and by size (both
// enforced); whole partitions are dropped, oldest first.
type TracesRetention struct {
	MaxAge  Duration `yaml:"max_age"`
	MaxSize ByteSize `yaml:"max_size"`
}

// TracesQueue bounds the spans waiting for a group commit; past it OTLP
// clients get 429 / RESOURCE_EXHAUSTED with retry_after.
type TracesQueue struct {
	MaxSpans   int      `yaml:"max_spans"`
	RetryAfter Duration `yaml:"retry_after"`
}

// TracesSpanMetrics controls traces_span_metrics_calls_total and
// traces_span_metrics_duration_seconds.
type TracesSpanMetrics struct {
	Enabled       *bool      `yaml:"enabled"`
	Dimensions    []string   `yaml:"dimensions"`
	Buckets       []Duration `yaml:"buckets"`
	FlushInterval Duration   `yaml:"flush_interval"`
	MaxSeries     int        `yaml:"max_series"`
}

func (x *Traces) setDefaults() {
	if x.Retention.MaxAge == 0 {
		x.Retention.MaxAge = Duration(7 * 24 * time.Hour)
	}
	if x.PartitionDuration == 0 {
		x.PartitionDuration = Duration(time.Hour)
	}
	if x.Queue.MaxSpans == 0 {
		x.Queue.MaxSpans = 100_000
	}
	if x.Queue.RetryAfter == 0 {
		x.Queue.RetryAfter = Duration(time.Second)
	}
	sm := &x.SpanMetrics
	if sm.Enabled == nil {
		on := true
		sm.Enabled = &on
	}
	if len(sm.Buckets) == 0 {
		for _, ms := range []int{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000} {
			sm.Buckets = append(sm.Buckets, Duration(time.Duration(ms)*time.Millisecond))
		}
	}
	if sm.FlushInterval == 0 {
		sm.FlushInterval = Duration(15 * time.Second)
	}
	if sm.MaxSeries == 0 {
		sm.MaxSeries = 10_000
	}
}

func (x *Traces) validate() []FieldError {
	var errs []FieldError
	errs = append(errs, positive("retention.max_age", x.Retention.MaxAge)...)
	errs = append(errs, positive("retention.max_size", x.Retention.MaxSize)...)
	if x.Retention.MaxSize > 0 && x.Retention.MaxSize < 16<<20 {
		errs = append(errs, FieldError{Field: "retention.max_size", Msg: fmt.Sprintf("must be at least 16MiB (or 0 for no cap), got %v", x.Retention.MaxSize)})
	}
	if x.MemoryLimit != 0 && x.MemoryLimit < 64<<20 {
		errs = append(errs, FieldError{Field: "memory_limit", Msg: fmt.Sprintf("must be at least 64MiB (or 0 for its share of the top-level memory_limit), got %v", x.MemoryLimit)})
	}
	if x.PartitionDuration < Duration(time.Minute) {
		errs = append(errs, FieldError{Field: "partition_duration", Msg: fmt.Sprintf("must be at least 1m, got %v", x.PartitionDuration)})
	}
	if x.Queue.MaxSpans < 1 {
		errs = append(errs, FieldError{Field: "queue.max_spans", Msg: fmt.Sprintf("must be positive, got %d", x.Queue.MaxSpans)})
	}
	if x.Queue.RetryAfter < Duration(time.Second) {
		errs = append(errs, FieldError{Field: "queue.retry_after", Msg: fmt.Sprintf("must be at least 1s (Retry-After has whole seconds), got %v", x.Queue.RetryAfter)})
	}
	sm := x.SpanMetrics
	for i, d := range sm.Dimensions {
		if !attrName.MatchString(d) {
			errs = append(errs, FieldError{Field: fmt.Sprintf("span_metrics.dimensions.%d", i), Msg: fmt.Sprintf("%q is not an attribute name such as http.method", d)})
		}
		switch promLabel(d) {
		case "service_name", "span_name", "span_kind", "status_code", "le":
			errs = append(errs, FieldError{Field: fmt.Sprintf("span_metrics.dimensions.%d", i), Msg: fmt.Sprintf("%q clashes with a built-in label", d)})
		}
	}
	if !sort.SliceIsSorted(sm.Buckets, func(i, j int) bool { return sm.Buckets[i] < sm.Buckets[j] }) {
		errs = append(errs, FieldError{Field: "span_metrics.buckets", Msg: "must be in increasing order"})
	}
	for i := 1; i < len(sm.Buckets); i++ {
		if sm.Buckets[i] == sm.Buckets[i-1] {
			errs = append(errs, FieldError{Field: "span_metrics.buckets", Msg: fmt.Sprintf("bucket %v appears twice", sm.Buckets[i])})
		}
	}
	for i, b := range sm.Buckets {
		if b <= 0 {
			errs = append(errs, FieldError{Field: fmt.Sprintf("span_metrics.buckets.%d", i), Msg: fmt.Sprintf("must be positive, got %v", b)})
		}
	}
	if sm.FlushInterval < Duration(time.Second) {
		errs = append(errs, FieldError{Field: "span_metrics.flush_interval", Msg: fmt.Sprintf("must be at least 1s, got %v", sm.FlushInterval)})
	}
	if sm.MaxSeries < 1 {
		errs = append(errs, FieldError{Field: "span_metrics.max_series", Msg: fmt.Sprintf("must be positive, got %d", sm.MaxSeries)})
	}
	return errs
}

// promLabel is how an attribute name becomes a label name.
func promLabel(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
