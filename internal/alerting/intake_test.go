package alerting

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/outbox"
)

// An incident receiver hands each change of its alert groups to the
// incident channel, once per change, firing and resolved alike.
func TestIncidentReceiverIntake(t *testing.T) {
	e := newEnv(t)
	rf := filepath.Join(e.dir, "rules.yml")
	if err := os.WriteFile(rf, []byte(outboxRules), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{
		DataDir: filepath.Join(e.dir, "alerting"), Registerer: prometheus.NewRegistry(),
		Engine: e.engine, Queryable: e.db, Appendable: e.db, ResendDelay: 200 * time.Millisecond,
		IncidentChannel: "incidents",
		Config: Config{
			RuleFiles: []string{rf}, EvaluationInterval: 200 * time.Millisecond,
			Alertmanager:      amConf(t, "route:\n  receiver: pager\n  group_by: [alertname]\n  group_wait: 100ms\n  group_interval: 200ms\nreceivers:\n  - name: pager\n"),
			IncidentReceivers: []string{"pager"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []map[string]any
	a.outbox.Register("incidents", outbox.Consumer{Deliver: func(_ context.Context, m outbox.Message) error {
		var v map[string]any
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done; a.Close() }()
	count := func(status string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, m := range got {
			if m["status"] == status {
				n++
			}
		}
		return n
	}
	e.write("up_metric", 0, "job", "x")
	waitFor(t, 10*time.Second, "firing group on the incident channel", func() bool { return count("firing") > 0 })
	mu.Lock()
	m := got[0]
	mu.Unlock()
	alerts, _ := m["alerts"].([]any)
	if m["receiver"] != "pager" || m["groupKey"] == "" || m["version"] != "4" || len(alerts) != 1 || alerts[0].(map[string]any)["fingerprint"] == "" {
		t.Fatalf("intake message: %v", m)
	}
	time.Sleep(time.Second) // five group intervals with nothing new
	if n := count("firing"); n != 1 {
		t.Fatalf("unchanged group sent %d times", n)
	}
	e.write("up_metric", 1, "job", "x")
	waitFor(t, 10*time.Second, "resolved group on the incident channel", func() bool { return count("resolved") > 0 })
}
