package config

import (
	"strings"
	"testing"
	"time"
)

func TestTracesDefaults(t *testing.T) {
	c, err := Parse(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Traces
	if tr.Retention.MaxAge.D() != 7*24*time.Hour || tr.Queue.MaxSpans != 100_000 || !*tr.SpanMetrics.Enabled ||
		len(tr.SpanMetrics.Buckets) != 16 || tr.SpanMetrics.Buckets[0].D() != 2*time.Millisecond {
		t.Fatalf("defaults = %+v", tr)
	}
}

func TestTracesConfig(t *testing.T) {
	c, err := Parse([]byte(`
traces:
  retention: {max_age: 2d, max_size: 1GiB}
  memory_limit: 512MiB
  partition_duration: 30m
  queue: {max_spans: 5000, retry_after: 2s}
  span_metrics:
    enabled: false
    dimensions: [http.method, k8s.pod.name]
    buckets: [5ms, 1s]
    flush_interval: 30s
    max_series: 100
`), "vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Traces
	if tr.Retention.MaxSize != 1<<30 || tr.PartitionDuration.D() != 30*time.Minute || tr.Queue.RetryAfter.D() != 2*time.Second ||
		*tr.SpanMetrics.Enabled || len(tr.SpanMetrics.Dimensions) != 2 || tr.SpanMetrics.Buckets[1].D() != time.Second {
		t.Fatalf("parsed = %+v", tr)
	}
}

func TestTracesConfigErrors(t *testing.T) {
	f := func(yaml, want string) {
		t.Helper()
		_, err := Parse([]byte(yaml), "vigil.yaml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", yaml, err, want)
		}
	}
	f("traces:\n  retention: {max_size: 1MiB}\n", "vigil.yaml:2: traces.retention.max_size: must be at least 16MiB")
	f("traces:\n  memory_limit: 1MiB\n", "traces.memory_limit: must be at least 64MiB")
	f("traces:\n  partition_duration: 10s\n", "traces.partition_duration: must be at least 1m")
	f("traces:\n  queue: {max_spans: -1}\n", "traces.queue.max_spans: must be positive")
	f("traces:\n  queue: {retry_after: 100ms}\n", "traces.queue.retry_after: must be at least 1s")
	f("traces:\n  span_metrics:\n    dimensions: [\"bad name!\"]\n", "vigil.yaml:3: traces.span_metrics.dimensions.0")
	f("traces:\n  span_metrics:\n    dimensions: [span.name]\n", "clashes with a built-in label")
	f("traces:\n  span_metrics:\n    buckets: [1s, 5ms]\n", "traces.span_metrics.buckets: must be in increasing order")
	f("traces:\n  span_metrics:\n    buckets: [1s, 1s]\n", "appears twice")
	f("traces:\n  span_metrics:\n    flush_interval: 100ms\n", "traces.span_metrics.flush_interval: must be at least 1s")
	f("traces:\n  span_metrics:\n    max_series: -5\n", "traces.span_metrics.max_series: must be positive")
	f("traces:\n  retention: {max_age: soon}\n", "invalid duration \"soon\"")
	f("traces:\n  nope: 1\n", "field nope not found")
}
