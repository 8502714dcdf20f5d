package alerting

import (
	"context"
	"encoding/json"
	"github.com/prometheus/prometheus/storage"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Process-wide singletons started by dependencies, not by us.
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("github.com/patrickmn/go-cache.(*janitor).Run"),
		goleak.IgnoreAnyFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
		goleak.IgnoreAnyFunction("modernc.org/libc.(*TLS).setErrno"),
	)
}

// sink is a webhook receiver that records payloads and can be switched off.
type sink struct {
	mu   sync.Mutex
	msgs []webhookMsg
	down atomic.Bool
	// status, when not 0, is answered instead of the message being kept.
	status atomic.Int32
	calls  atomic.Int64
	srv    *httptest.Server
}

type webhookMsg struct {
	Version      string            `json:"version"`
	GroupKey     string            `json:"groupKey"`
	Status       string            `json:"status"`
	Receiver     string            `json:"receiver"`
	GroupLabels  map[string]string `json:"groupLabels"`
	CommonLabels map[string]string `json:"commonLabels"`
	Alerts       []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Fingerprint string            `json:"fingerprint"`
	} `json:"alerts"`
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if c := s.status.Load(); c != 0 {
			http.Error(w, "refused", int(c))
			return
		}
		var m webhookMsg
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("webhook body: %v: %s", err, b)
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) messages() []webhookMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]webhookMsg(nil), s.msgs...)
}

func waitFor(t *testing.T, d time.Duration, what string, f func() bool, show ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, sh := range show {
		what += ": " + sh()
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

type env struct {
	t      *testing.T
	db     *tsdb.DB
	engine *promql.Engine
	dir    string
	// forGracePeriod, when set, is passed as Options.ForGracePeriod.
	forGracePeriod time.Duration
}

func newEnv(t *testing.T) *env {
	dir := t.TempDir()
	db, err := tsdb.Open(filepath.Join(dir, "tsdb"), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	return &env{t: t, db: db, engine: engine, dir: dir}
}

func (e *env) write(name string, v float64, lbls ...string) {
	app := e.db.AppenderV2(context.Background())
	ls := labels.FromStrings(append([]string{"__name__", name}, lbls...)...)
	if _, err := app.Append(0, ls, 0, time.Now().UnixMilli(), v, nil, nil, storageOpts); err != nil {
		e.t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

func amConf(t *testing.T, text string) *amconfig.Config {
	t.Helper()
	c, err := amconfig.Load(text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) start(t *testing.T, rulesYAML, amYAML string, d Delivery) (*Service, func()) {
	t.Helper()
	rf := filepath.Join(e.dir, "rules.yml")
	if err := os.WriteFile(rf, []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{
		DataDir:     filepath.Join(e.dir, "alerting"),
		Registerer:  prometheus.NewRegistry(),
		Engine:      e.engine,
		Queryable:   e.db,
		Appendable:  e.db,
		ResendDelay: time.Second,

		ForGracePeriod: e.forGracePeriod,
		Config: Config{
			RuleFiles:          []string{rf},
			EvaluationInterval: 200 * time.Millisecond,
			Alertmanager:       amConf(t, amYAML),
			Delivery:           d,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(stop)
	return a, stop
}

const testRules = `groups:
  - name: g
    interval: 200ms
    rules:
      - alert: HighErrors
        expr: errors > 5
        for: 600ms
        labels: {severity: page}
        annotations: {summary: "errors at {{ $value }} on {{ $labels.instance }}"}
`

func amWebhook(url string) string {
	return `route:
  receiver: hook
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 300ms
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ` + url + `
        send_resolved: true
`
}

func history(t *testing.T, a *Service, fp string) []Event {
	t.Helper()
	evs, err := a.ledger.query(context.Background(), LedgerQuery{Fingerprint: fp})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func kinds(evs []Event) string {
	var k []string
	for _, e := range evs {
		k = append(k, e.Kind)
	}
	return strings.Join(k, ",")
}

func TestFireNotifyResolve(t *testing.T) {
	e := newEnv(t)
	s := newSink(t)
	a, _ := e.start(t, testRules, amWebhook(s.srv.URL), Delivery{MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	stopWrite := make(chan struct{})
	var wg sync.WaitGroup
	value := atomic.Int64{}
	value.Store(10)
	wg.Go(func() {
		for {
			e.write("errors", float64(value.Load()), "instance", "a:1")
			select {
			case <-stopWrite:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	defer func() { close(stopWrite); wg.Wait() }()
	start := time.Now()
	waitFor(t, 10*time.Second, "firing webhook", func() bool { return len(s.messages()) >= 1 })
	if time.Since(start) < 600*time.Millisecond {
		t.Fatalf("notified after %s, before for=600ms", time.Since(start))
	}
	m := s.messages()[0]
	if m.Version != "4" || m.Status != "firing" || m.Receiver != "hook" || m.GroupLabels["alertname"] != "HighErrors" ||
		m.CommonLabels["severity"] != "page" || len(m.Alerts) != 1 || m.Alerts[0].Fingerprint == "" || m.GroupKey == "" {
		t.Fatalf("payload = %+v", m)
	}
	if got := m.Alerts[0].Annotations["summary"]; got != "errors at 10 on a:1" {
		t.Fatalf("summary = %q", got)
	}
	fp := m.Alerts[0].Fingerprint
	value.Store(1)
	waitFor(t, 10*time.Second, "resolved webhook", func() bool {
		ms := s.messages()
		return ms[len(ms)-1].Status == "resolved"
	})
	waitFor(t, 5*time.Second, "ledger", func() bool {
		k := kinds(history(t, a, fp))
		return strings.Contains(k, "pending,firing") && strings.Contains(k, "resolved") && strings.Count(k, "delivered") >= 2
	}, func() string { return kinds(history(t, a, fp)) })
	k := kinds(history(t, a, fp))
	for _, want := range []string{"pending", "firing", "routed", "enqueued", "delivered", "resolved"} {
		if !strings.Contains(k, want) {
			t.Fatalf("ledger %s lacks %s", k, want)
		}
	}
	// ALERTS series written.
	q, err := e.engine.NewInstantQuery(context.Background(), e.db, nil, `ALERTS_FOR_STATE{alertname="HighErrors"}`, time.Now().Add(-500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res := q.Exec(context.Background())
	q.Close()
	if res.Err != nil || len(res.Value.(promql.Vector)) == 0 {
		t.Fatalf("ALERTS_FOR_STATE not written: %v %v", res.Value, res.Err)
	}
	if got := len(a.Rules().AlertingRules()); got != 1 {
		t.Fatalf("AlertingRules = %d", got)
	}
}

var storageOpts = storage.AppendV2Options{}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
