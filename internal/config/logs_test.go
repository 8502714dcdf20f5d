package config

import (
	"strings"
	"testing"
	"time"
)

func TestLogsSection(t *testing.T) {
	c, err := Parse([]byte(`
logs:
  retention: {max_age: 3d, max_size: 2GiB}
  memory_limit: 512MiB
  queue: {max_records: 1000, max_batch_records: 500}
  stream_attributes: [service.name, host.name]
  derived_metrics: {enabled: false}
  limits: {max_label_value_length: 100, reject_old_samples: false, creation_grace_period: 1h, stream_idle_period: 5m}
`), "vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Logs
	if l.Retention.MaxAge.D() != 72*time.Hour || l.Retention.MaxSize != 2<<30 || l.MemoryLimit != 512<<20 {
		t.Fatalf("logs = %+v", l)
	}
	// Keys left out stay 0: the log store's Options apply their defaults.
	if l.Queue.MaxRecords != 1000 || l.Query.MaxLines != 0 || *l.DerivedMetrics.Enabled {
		t.Fatalf("logs = %+v", l)
	}
	if l.Limits.MaxLabelValueLength != 100 || *l.Limits.RejectOldSamples || l.Limits.CreationGracePeriod.D() != time.Hour || l.Limits.StreamIdlePeriod.D() != 5*time.Minute {
		t.Fatalf("limits = %+v", l.Limits)
	}
	d, err := Parse(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Logs.Retention.MaxAge.D() != 7*24*time.Hour || !*d.Logs.DerivedMetrics.Enabled || !*d.Logs.Limits.RejectOldSamples {
		t.Fatalf("defaults = %+v", d.Logs)
	}
}

func TestLogsErrors(t *testing.T) {
	f := func(text string, wantLine int, wantMsg string) {
		t.Helper()
		_, err := Parse([]byte(text), "v.yaml")
		if err == nil {
			t.Fatalf("no error for\n%s", text)
		}
		if !strings.Contains(err.Error(), wantMsg) {
			t.Fatalf("err %q, want containing %q", err, wantMsg)
		}
		es, ok := err.(Errors)
		if !ok || es[0].Line != wantLine {
			t.Fatalf("err %#v, want line %d", err, wantLine)
		}
	}
	f("logs:\n  memory_limit: 1MiB\n", 2, "logs.memory_limit: must be at least 64MiB")
	f("logs:\n  queue:\n    max_records: 10\n    max_batch_records: 20\n", 4, "queue.max_batch_records: must be between 1")
	f("logs:\n  stream_attributes: [\"a b\"]\n", 2, "is not an attribute name")
	f("logs:\n  retention:\n    max_size: 1KiB\n", 3, "at least 16MiB")
	f("logs:\n  bogus: 1\n", 2, "bogus")
	f("logs:\n  limits:\n    max_label_value_length: -1\n", 3, "limits.max_label_value_length: must be at least 1 (or 0 for the default), got -1")
	f("logs:\n  limits:\n    reject_old_samples_max_age: 1s\n", 3, "must be at least 1m")
	f("logs:\n  limits:\n    stream_idle_period: 1ms\n", 3, "limits.stream_idle_period")
	f("logs:\n  query:\n    max_lines: -5\n", 3, "query.max_lines")
}
