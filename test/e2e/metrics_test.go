package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

func ms(t time.Time) int64 { return t.UnixMilli() }

// wantValue checks an instant query returns one series with value want.
func wantValue(v *Vigil, q string, at time.Time, want string) error {
	r := v.Query(q, at)
	if r.Status != "success" {
		return fmt.Errorf("%s: %s %s", q, r.ErrorType, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return fmt.Errorf("%s: want 1 series, got %d: %+v", q, len(r.Data.Result), r.Data.Result)
	}
	if got := fmt.Sprint(r.Data.Result[0].Value[1]); got != want {
		return fmt.Errorf("%s: got %s, want %s", q, got, want)
	}
	return nil
}

func TestRemoteWriteQueryExact(t *testing.T) {
	v := StartVigil(t, StartOptions{})
	now := time.Now().Truncate(time.Second)
	var samples []prompb.Sample
	for i := 0; i < 60; i++ {
		samples = append(samples, prompb.Sample{Timestamp: ms(now.Add(time.Duration(i-59) * 15 * time.Second)), Value: float64(i * 10)})
	}
	code, body := v.RemoteWrite([]prompb.TimeSeries{
		Series([]string{"__name__", "http_requests_total", "job", "api", "code", "200"}, samples...),
		Series([]string{"__name__", "http_requests_total", "job", "api", "code", "500"}, samples[:30]...),
	})
	if code != http.StatusNoContent {
		t.Fatalf("remote write: %d %s", code, body)
	}
	if err := wantValue(v, `http_requests_total{code="200"}`, now, "590"); err != nil {
		t.Fatal(err)
	}
	// rate over the last 5m: 10 per 15s.
	if err := wantValue(v, `sum(rate(http_requests_total{code="200"}[5m]))`, now, "0.6666666666666666"); err != nil {
		t.Fatal(err)
	}
	// query_range with POST form body, as Grafana sends it.
	form := fmt.Sprintf("query=%s&start=%d&end=%d&step=60", "http_requests_total%7Bcode%3D%22200%22%7D", now.Add(-5*time.Minute).Unix(), now.Unix())
	c, _, b := v.Post("/api/v1/query_range", "application/x-www-form-urlencoded", []byte(form))
	if c != 200 {
		t.Fatalf("query_range: %d %s", c, b)
	}
	var r PromResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Data.ResultType != "matrix" || len(r.Data.Result) != 1 || len(r.Data.Result[0].Values) != 6 {
		t.Fatalf("query_range: %s", b)
	}
	want := []string{"390", "430", "470", "510", "550", "590"}
	for i, p := range r.Data.Result[0].Values {
		if fmt.Sprint(p[1]) != want[i] {
			t.Fatalf("query_range point %d = %v, want %s (%s)", i, p[1], want[i], b)
		}
	}
	// POST with the query in the URL and an empty body, as vmalert sends it.
	c, _, b = v.Post("/api/v1/query?query=count(count_over_time(http_requests_total%5B30m%5D))&time="+fmt.Sprint(now.Unix()), "application/x-www-form-urlencoded", nil)
	if c != 200 || !strings.Contains(string(b), `"2"`) {
		t.Fatalf("POST query in URL: %d %s", c, b)
	}
	// Metadata endpoints.
	var labels struct{ Data []string }
	v.GetJSON("/api/v1/label/code/values", &labels)
	if strings.Join(labels.Data, ",") != "200,500" {
		t.Fatalf("label values: %v", labels.Data)
	}
	var series struct{ Data []map[string]string }
	v.GetJSON("/api/v1/series?match[]=http_requests_total", &series)
	if len(series.Data) != 2 {
		t.Fatalf("series: %v", series.Data)
	}
	var tsdb struct {
		Data struct {
			HeadStats               struct{ NumSeries int } `json:"headStats"`
			SeriesCountByMetricName []struct {
				Name  string
				Value int
			} `json:"seriesCountByMetricName"`
		}
	}
	v.GetJSON("/api/v1/status/tsdb", &tsdb)
	if tsdb.Data.HeadStats.NumSeries < 2 || len(tsdb.Data.SeriesCountByMetricName) == 0 {
		t.Fatalf("status/tsdb: %+v", tsdb)
	}
	// Exemplars sent with remote write are queryable.
	ex := Series([]string{"__name__", "http_request_duration_seconds_bucket", "le", "0.5"}, prompb.Sample{Timestamp: ms(now), Value: 3})
	ex.Exemplars = []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}}, Value: 0.31, Timestamp: ms(now)}}
	if c, b := v.RemoteWrite([]prompb.TimeSeries{ex}); c != 204 {
		t.Fatalf("exemplar write: %d %s", c, b)
	}
	_, eb := v.Get(fmt.Sprintf("/api/v1/query_exemplars?query=http_request_duration_seconds_bucket&start=%d&end=%d", now.Add(-time.Minute).Unix(), now.Add(time.Minute).Unix()))
	if !strings.Contains(string(eb), "4bf92f3577b34da6a3ce929d0e0e4736") {
		t.Fatalf("query_exemplars: %s", eb)
	}
	code2, fb := v.Get("/api/v1/format_query?query=sum(rate(x[5m]))by(job)")
	if code2 != 200 || !strings.Contains(string(fb), "sum by (job) (rate(x[5m]))") {
		t.Fatalf("format_query: %d %s", code2, fb)
	}
	// Bad PromQL: 400 bad_data naming the problem.
	c3, b3 := v.Get("/api/v1/query?query=sum(rate(x[5m])")
	if c3 != 400 || !strings.Contains(string(b3), "bad_data") || !strings.Contains(string(b3), "unclosed left parenthesis") {
		t.Fatalf("bad promql: %d %s", c3, b3)
	}
}

func TestRemoteWriteFromPrometheus(t *testing.T) {
	promBin := DebianTool(t, "prometheus", "prometheus")
	v := StartVigil(t, StartOptions{})
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE e2e_temperature gauge\ne2e_temperature{room=\"a\"} 21.5\ne2e_temperature{room=\"b\"} 19\n# TYPE e2e_events_total counter\ne2e_events_total 1234\n")
	}))
	defer exporter.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  external_labels: {replica: e2e}
scrape_configs:
  - job_name: exporter
    static_configs: [{targets: [%q]}]
remote_write:
  - url: %s
    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 100}
`, strings.TrimPrefix(exporter.URL, "http://"), v.URL("/api/v1/write"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freePort(t)
	cmd := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	Eventually(t, 60*time.Second, func() error {
		return wantValue(v, `e2e_temperature{room="a",job="exporter",replica="e2e"}`, time.Now(), "21.5")
	})
	if err := wantValue(v, `e2e_temperature{room="b"}`, time.Now(), "19"); err != nil {
		t.Fatal(err)
	}
	if err := wantValue(v, `e2e_events_total`, time.Now(), "1234"); err != nil {
		t.Fatal(err)
	}
	if err := wantValue(v, `up{job="exporter"}`, time.Now(), "1"); err != nil {
		t.Fatal(err)
	}
	// A range over what Prometheus sent: every point 21.5.
	first := time.Now()
	time.Sleep(4 * time.Second)
	now := time.Now()
	var r PromResult
	qr := fmt.Sprintf("/api/v1/query_range?query=%s&start=%d&end=%d&step=1", urlEscape(`e2e_temperature{room="a"}`), first.Unix()+1, now.Unix())
	v.GetJSON(qr, &r)
	if len(r.Data.Result) != 1 || len(r.Data.Result[0].Values) == 0 {
		t.Fatalf("query_range: %+v", r)
	}
	for _, p := range r.Data.Result[0].Values {
		if fmt.Sprint(p[1]) != "21.5" {
			t.Fatalf("query_range value %v", p)
		}
	}
}

func TestScrapeStaticAndFileSD(t *testing.T) {
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE widget_count gauge\nwidget_count{color=\"red\"} 7\nwidget_count{color=\"blue\"} 3\n")
	}))
	defer exporter.Close()
	target := strings.TrimPrefix(exporter.URL, "http://")
	sdFile := filepath.Join(t.TempDir(), "targets.json")
	if err := os.WriteFile(sdFile, []byte(fmt.Sprintf(`[{"targets":[%q],"labels":{"team":"infra"}}]`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	v := StartVigil(t, StartOptions{Config: fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: static
    scrape_interval: 1s
    scrape_timeout: 500ms
    static_configs: [{targets: [%q], labels: {env: test}}]
    metric_relabel_configs:
      - source_labels: [color]
        regex: blue
        action: drop
  - job_name: filesd
    honor_labels: true
    file_sd_configs: [{files: [%q], refresh_interval: 1s}]
    relabel_configs:
      - target_label: source
        replacement: file
  - job_name: down
    static_configs: [{targets: ["127.0.0.1:1"]}]
`, target, sdFile)})
	Eventually(t, 30*time.Second, func() error {
		return wantValue(v, `up{job="static",env="test"}`, time.Now(), "1")
	})
	if err := wantValue(v, `widget_count{job="static",color="red"}`, time.Now(), "7"); err != nil {
		t.Fatal(err)
	}
	if r := v.Query(`widget_count{job="static",color="blue"}`, time.Now()); len(r.Data.Result) != 0 {
		t.Fatalf("metric_relabel drop did not drop: %+v", r.Data.Result)
	}
	Eventually(t, 30*time.Second, func() error {
		return wantValue(v, `widget_count{job="filesd",team="infra",source="file",color="blue"}`, time.Now(), "3")
	})
	Eventually(t, 30*time.Second, func() error {
		return wantValue(v, `up{job="down"}`, time.Now(), "0")
	})
	for _, meta := range []string{"scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"} {
		if r := v.Query(meta+`{job="static"}`, time.Now()); len(r.Data.Result) != 1 {
			t.Fatalf("%s: %+v", meta, r)
		}
	}
	var meta struct {
		Data map[string][]struct{ Type, Help string }
	}
	v.GetJSON("/api/v1/metadata?metric=widget_count", &meta)
	if len(meta.Data["widget_count"]) == 0 || meta.Data["widget_count"][0].Type != "gauge" {
		t.Fatalf("metadata: %+v", meta)
	}
	var targets struct {
		Data struct {
			ActiveTargets []struct {
				Health string `json:"health"`
				Labels map[string]string
			} `json:"activeTargets"`
		}
	}
	v.GetJSON("/api/v1/targets", &targets)
	if len(targets.Data.ActiveTargets) != 3 {
		t.Fatalf("targets: %+v", targets)
	}
}

func TestSelfScrapeWithoutConfig(t *testing.T) {
	v := StartVigil(t, StartOptions{})
	Eventually(t, 40*time.Second, func() error {
		return wantValue(v, `up{job="vigil"}`, time.Now(), "1")
	})
	code, body := v.Get("/-/index") // / is the web UI
	if code != 200 || !strings.Contains(string(body), "/api/v1/query") || !strings.Contains(string(body), "OTLP/gRPC") {
		t.Fatalf("index page: %d %s", code, body)
	}
	_, m := v.Get("/metrics")
	for _, want := range []string{"vigil_http_requests_total", "vigil_samples_rejected_total", "prometheus_tsdb_head_series", "prometheus_tsdb_wal_", "prometheus_tsdb_compactions_total", "prometheus_engine_query_duration_seconds", "vigil_active_series", "vigil_samples_received_total"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestKillNineKeepsAcknowledgedSamples(t *testing.T) {
	v := StartVigil(t, StartOptions{})
	now := time.Now().Truncate(time.Second)
	const n = 200
	for batch := 0; batch < 10; batch++ {
		var ts []prompb.TimeSeries
		for s := 0; s < 20; s++ {
			var samples []prompb.Sample
			for i := 0; i < n; i++ {
				samples = append(samples, prompb.Sample{Timestamp: ms(now.Add(time.Duration(i-n) * time.Second)), Value: float64(i)})
			}
			ts = append(ts, Series([]string{"__name__", "durable", "batch", fmt.Sprint(batch), "s", fmt.Sprint(s)}, samples...))
		}
		if code, body := v.RemoteWrite(ts); code != 204 {
			t.Fatalf("write: %d %s", code, body)
		}
	}
	v.Kill()
	v.Restart()
	if err := wantValue(v, `count(durable)`, now, "200"); err != nil {
		t.Fatal(err)
	}
	if err := wantValue(v, `sum(count_over_time(durable[10m]))`, now, fmt.Sprint(200*n)); err != nil {
		t.Fatal(err)
	}
	// SIGTERM is a clean shutdown that keeps the data too.
	if err := v.Stop(60 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, v.Logs())
	}
	if !strings.Contains(v.Logs(), "shutdown complete") {
		t.Fatalf("no clean shutdown:\n%s", v.Logs())
	}
	v.Restart()
	if err := wantValue(v, `sum(count_over_time(durable[10m]))`, now, fmt.Sprint(200*n)); err != nil {
		t.Fatal(err)
	}
}

func TestBadInputAndLimits(t *testing.T) {
	v := StartVigil(t, StartOptions{Config: `
metrics:
  limits:
    max_series_per_metric: 3
    max_request_bytes: 64KiB
    max_samples_per_request: 500
`})
	now := time.Now()
	s := func(name, l string) prompb.TimeSeries {
		return Series([]string{"__name__", name, "l", l}, prompb.Sample{Timestamp: ms(now), Value: 1})
	}
	// Not snappy.
	code, _, body := v.Post("/api/v1/write", "application/x-protobuf", []byte("garbage"), "Content-Encoding", "snappy")
	if code != 400 || !strings.Contains(string(body), "snappy") {
		t.Fatalf("garbage body: %d %s", code, body)
	}
	// Over the size limit.
	code, _, body = v.Post("/api/v1/write", "application/x-protobuf", make([]byte, 70<<10), "Content-Encoding", "snappy")
	if code != 413 || !strings.Contains(string(body), "max_request_bytes") {
		t.Fatalf("big body: %d %s", code, body)
	}
	// Invalid label: 400 naming it; the valid series of the same request is stored.
	bad := Series([]string{"__name__", "ok_metric", "", "x"}, prompb.Sample{Timestamp: ms(now), Value: 1})
	c, b := v.RemoteWrite([]prompb.TimeSeries{bad, s("ok_metric", "1")})
	if c != 400 || !strings.Contains(b, "invalid label name") {
		t.Fatalf("invalid label: %d %s", c, b)
	}
	if err := wantValue(v, `count(ok_metric)`, now, "1"); err != nil {
		t.Fatal(err)
	}
	// Series limit: 3 per metric; the 4th and 5th are rejected with the metric, limit and count named.
	c, b = v.RemoteWrite([]prompb.TimeSeries{s("capped", "1"), s("capped", "2"), s("capped", "3"), s("capped", "4"), s("capped", "5"), s("other", "1")})
	if c != 400 || !strings.Contains(b, `"capped"`) || !strings.Contains(b, "max_series_per_metric=3") || !strings.Contains(b, "current series 3") {
		t.Fatalf("series limit: %d %s", c, b)
	}
	if err := wantValue(v, `count(capped)`, now, "3"); err != nil {
		t.Fatal(err)
	}
	if err := wantValue(v, `count(other)`, now, "1"); err != nil {
		t.Fatal(err)
	}
	// Existing series of a capped metric keep ingesting.
	c, b = v.RemoteWrite([]prompb.TimeSeries{Series([]string{"__name__", "capped", "l", "1"}, prompb.Sample{Timestamp: ms(now) + 1000, Value: 2})})
	if c != 204 {
		t.Fatalf("existing series after limit: %d %s", c, b)
	}
	// Samples per request.
	var many []prompb.Sample
	for i := 0; i < 501; i++ {
		many = append(many, prompb.Sample{Timestamp: ms(now) - int64(i), Value: 1})
	}
	c, b = v.RemoteWrite([]prompb.TimeSeries{Series([]string{"__name__", "toomany"}, many...)})
	if c != 400 || !strings.Contains(b, "max_samples_per_request") {
		t.Fatalf("samples per request: %d %s", c, b)
	}
	// Wrong content type.
	code, _, body = v.Post("/api/v1/write", "text/plain", []byte("x"))
	if code != 415 {
		t.Fatalf("content type: %d %s", code, body)
	}
	_, m := v.Get("/metrics")
	if !strings.Contains(string(m), `vigil_samples_rejected_total{reason="series_per_metric_limit"} 2`) {
		t.Fatalf("rejections not counted:\n%s", grepLines(string(m), "rejected"))
	}
	if !strings.Contains(string(m), `vigil_samples_rejected_total{reason="invalid_labels"} 1`) {
		t.Fatalf("invalid labels not counted:\n%s", grepLines(string(m), "rejected"))
	}
	// Still serving.
	if code, _ := v.Get("/readyz"); code != 200 {
		t.Fatal("not ready after bad input")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestReloadValidAndInvalid(t *testing.T) {
	v := StartVigil(t, StartOptions{Config: `
metrics:
  limits:
    max_series_per_metric: 1
`})
	now := time.Now()
	one := func(l string) (int, string) {
		return v.RemoteWrite([]prompb.TimeSeries{Series([]string{"__name__", "reloaded", "l", l}, prompb.Sample{Timestamp: ms(now), Value: 1})})
	}
	if c, b := one("a"); c != 204 {
		t.Fatalf("%d %s", c, b)
	}
	if c, _ := one("b"); c != 400 {
		t.Fatalf("limit 1 not enforced: %d", c)
	}
	// Invalid config: reload refused with the reason; old config stays.
	v.WriteConfig("metrics:\n  limits:\n    max_series_per_metric: lots\n")
	code, _, body := v.Post("/-/reload", "", nil)
	if code != 400 || !strings.Contains(string(body), "vigil.yaml:3") {
		t.Fatalf("invalid reload: %d %s", code, body)
	}
	if c, _ := one("b"); c != 400 {
		t.Fatalf("old limit lost after invalid reload: %d", c)
	}
	_, m := v.Get("/metrics")
	if !strings.Contains(string(m), "vigil_config_last_reload_successful 0") {
		t.Fatal("failed reload not reported in /metrics")
	}
	// Valid config through SIGHUP.
	v.WriteConfig("metrics:\n  limits:\n    max_series_per_metric: 10\n")
	v.Signal(syscall.SIGHUP)
	Eventually(t, 10*time.Second, func() error {
		if c, b := one("b"); c != 204 {
			return fmt.Errorf("new limit not applied: %d %s", c, b)
		}
		return nil
	})
	// Valid config through POST /-/reload.
	v.WriteConfig("metrics:\n  limits:\n    max_series_per_metric: 2\n")
	if code, _, body := v.Post("/-/reload", "", nil); code != 200 {
		t.Fatalf("valid reload: %d %s", code, body)
	}
	if c, _ := one("c"); c != 400 {
		t.Fatal("reloaded limit 2 not enforced")
	}
}

func TestCheckConfigAndVersion(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("http_addr: nope\nmetrics:\n  query:\n    max_concurrent: 0\n  limits:\n    max_series_per_metric: -5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := RunCmd(t, 30*time.Second, vigilBin, "check-config", bad)
	if err == nil {
		t.Fatalf("check-config accepted a bad file:\n%s", out)
	}
	for _, want := range []string{"bad.yaml:1: http_addr", "bad.yaml:6: metrics.limits.max_series_per_metric"} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out)
		}
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("data_dir: /tmp/x\nscrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['localhost:1']}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := RunCmd(t, 30*time.Second, vigilBin, "check-config", good); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("good config: %v %s", err, out)
	}
	out, err = RunCmd(t, 30*time.Second, vigilBin, "version")
	if err != nil || !strings.Contains(out, "go1.") || !strings.Contains(out, "commit") {
		t.Fatalf("version: %v %s", err, out)
	}
}
