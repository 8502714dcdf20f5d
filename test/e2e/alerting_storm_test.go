package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stormAlerts is a JSON body of n distinct alerts (API v2 postable alerts).
func stormAlerts(from, n int, pad string) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"labels":{"alertname":"Storm","id":"%d","severity":"info"},"annotations":{"summary":"storm %d%s"}}`, from+i, from+i, pad)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// TestAlertStormKeepsPaging (issue 11 item 1): a storm of distinct alerts,
// each its own notification to one receiver, is posted through the
// Alertmanager API while one ordinary alert routed to another receiver
// must still be delivered within its group_wait plus a few seconds; one
// request over the body or alert-count limit is refused naming the limit.
func TestAlertStormKeepsPaging(t *testing.T) {
	storm, pager := newALSink(t), newALSink(t)
	cfg := fmt.Sprintf(`alerting:
  api: {max_request_bytes: 1MiB, max_alerts_per_request: 2000}
  route:
    receiver: storm
    group_by: ['...']
    group_wait: 1s
    group_interval: 5m
    repeat_interval: 1h
    routes:
      - {matchers: [severity="page"], receiver: pager, group_by: [alertname]}
  receivers:
    - name: storm
      webhook_configs: [{url: %q, send_resolved: false}]
    - name: pager
      webhook_configs: [{url: %q, send_resolved: false}]
`, storm.srv.URL+"/storm", pager.srv.URL+"/pager")
	v := StartVigil(t, StartOptions{Config: cfg})
	const path = "/alertmanager/api/v2/alerts"

	t.Run("limits", func(t *testing.T) {
		code, _, body := v.Post(path, "application/json", stormAlerts(0, 2001, ""))
		if code != http.StatusBadRequest || !strings.Contains(string(body), "2001 alerts") || !strings.Contains(string(body), "max_alerts_per_request = 2000") {
			t.Fatalf("2001 alerts: %d %s", code, body)
		}
		code, _, body = v.Post(path, "application/json", stormAlerts(0, 1000, strings.Repeat("x", 1100)))
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "max_request_bytes = 1048576") {
			t.Fatalf("body over 1MiB: %d %.300s", code, body)
		}
		var alerts []map[string]any
		v.GetJSON(path, &alerts)
		if len(alerts) != 0 {
			t.Fatalf("refused requests stored %d alerts", len(alerts))
		}
	})

	t.Run("storm", func(t *testing.T) {
		// Four clients post batches of 1,000 distinct alerts for at most
		// 20 s or 60,000 alerts.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var next, posted atomic.Int64
		var wg sync.WaitGroup
		var errMu sync.Mutex
		var postErr error
		for range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					from := next.Add(1000) - 1000
					if from >= 60000 {
						return
					}
					req, _ := http.NewRequestWithContext(ctx, "POST", v.URL(path), bytes.NewReader(stormAlerts(int(from), 1000, "")))
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return // the deadline
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						errMu.Lock()
						postErr = fmt.Errorf("storm POST: %s", resp.Status)
						errMu.Unlock()
						return
					}
					posted.Add(1000)
				}
			})
		}
		waitStorm := time.Now().Add(10 * time.Second)
		for posted.Load() < 8000 && time.Now().Before(waitStorm) {
			time.Sleep(50 * time.Millisecond)
		}
		sent := time.Now()
		code, _, body := v.Post(path, "application/json", []byte(`[{"labels":{"alertname":"Page","severity":"page"},"annotations":{"summary":"a real page"}}]`))
		if code != 200 {
			t.Fatalf("page POST: %d %s", code, body)
		}
		const groupWait, slack = time.Second, 5 * time.Second
		var latency time.Duration
		// Measured from the POST: a POST held up by the storm counts.
		Eventually(t, max(groupWait+slack-time.Since(sent), 100*time.Millisecond), func() error {
			if len(pager.all()) == 0 {
				return fmt.Errorf("page not delivered %s after it was posted, during a storm of %d alerts (%d storm notifications delivered)",
					time.Since(sent).Round(time.Millisecond), posted.Load(), len(storm.all()))
			}
			latency = time.Since(sent)
			return nil
		})
		stormDuring := len(storm.all())
		postedDuring := posted.Load()
		cancel()
		wg.Wait()
		if postErr != nil {
			t.Fatal(postErr)
		}
		t.Logf("page delivered %s after it was posted (group_wait %s), while %d storm alerts had been posted and %d storm notifications delivered",
			latency.Round(time.Millisecond), groupWait, postedDuring, stormDuring)
		// The storm's own notifications flow too.
		Eventually(t, 30*time.Second, func() error {
			if len(storm.all()) == 0 {
				return fmt.Errorf("no storm notification delivered")
			}
			return nil
		})
		m := pager.all()[0]
		if m["receiver"] != "pager" || m["status"] != "firing" {
			t.Fatalf("page: %v", m)
		}
		var st map[string]any
		v.GetJSON("/alertmanager/api/v2/status", &st)
	})
}

// TestAlertingExampleConfigValidates (issue 11 item 8): the example config
// validates as shipped, with no variable set in the environment.
func TestAlertingExampleConfigValidates(t *testing.T) {
	t.Setenv("SLACK_WEBHOOK_URL", "")
	os.Unsetenv("SLACK_WEBHOOK_URL")
	t.Setenv("PAGERDUTY_ROUTING_KEY", "")
	os.Unsetenv("PAGERDUTY_ROUTING_KEY")
	out, err := RunCmd(t, 30*time.Second, vigilBin, "check-config", filepath.Join("..", "..", "docs", "vigil.example.yaml"))
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("vigil check-config docs/vigil.example.yaml: %v\n%s", err, out)
	}
}
