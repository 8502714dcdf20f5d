package alerting

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"
)

// BenchmarkOutboxEnqueue measures writing one notification (one alert) to
// the outbox with its ledger events: the per-notification cost the outbox
// adds to Alertmanager's pipeline.
func BenchmarkOutboxEnqueue(b *testing.B) {
	a, err := New(Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ls := model.LabelSet{"alertname": "Bench", "instance": model.LabelValue(strconv.Itoa(i))}
		al := alert.New(model.Alert{Labels: ls, StartsAt: now}, now, false)
		n := notification{Receiver: "hook", Integration: "webhook", GroupKey: "{}:" + ls.String(), Firing: []uint64{uint64(i)}, RepeatMS: time.Hour.Milliseconds(),
			GroupLabels: ls, Now: now, Alerts: []storedAlert{{Alert: al.Alert, UpdatedAt: now}}}
		if err := a.delivery.enqueue(ctx, &n, []model.LabelSet{al.Labels}, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLedgerRecord measures one ledger event in its own transaction.
func BenchmarkLedgerRecord(b *testing.B) {
	a, err := New(Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	ls := model.LabelSet{"alertname": "Bench", "instance": "i"}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := a.ledger.record(ctx, "bench", eventFor(ls, KindRouted, "routed")); err != nil {
			b.Fatal(err)
		}
	}
}
