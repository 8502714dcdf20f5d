package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang/snappy"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/protobuf/encoding/protowire"
)

const logsConfig = `
logs:
  queue: {max_records: 20000, max_batch_records: 10000}
  derived_metrics: {interval: 1s}
`

// lokiEntry is one line to push: labels in Prometheus notation.
type lokiEntry struct {
	labels string
	ts     int64
	line   string
	md     [][2]string
}

// lokiProto encodes a snappy-compressed logproto.PushRequest by hand.
func lokiProto(entries []lokiEntry) []byte {
	var out []byte
	for _, e := range entries {
		var ts, eb, sb []byte
		ts = protowire.AppendTag(ts, 1, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(e.ts/1e9))
		ts = protowire.AppendTag(ts, 2, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(e.ts%1e9))
		eb = protowire.AppendTag(eb, 1, protowire.BytesType)
		eb = protowire.AppendBytes(eb, ts)
		eb = protowire.AppendTag(eb, 2, protowire.BytesType)
		eb = protowire.AppendString(eb, e.line)
		for _, m := range e.md {
			var mb []byte
			mb = protowire.AppendTag(mb, 1, protowire.BytesType)
			mb = protowire.AppendString(mb, m[0])
			mb = protowire.AppendTag(mb, 2, protowire.BytesType)
			mb = protowire.AppendString(mb, m[1])
			eb = protowire.AppendTag(eb, 3, protowire.BytesType)
			eb = protowire.AppendBytes(eb, mb)
		}
		sb = protowire.AppendTag(sb, 1, protowire.BytesType)
		sb = protowire.AppendString(sb, e.labels)
		sb = protowire.AppendTag(sb, 2, protowire.BytesType)
		sb = protowire.AppendBytes(sb, eb)
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, sb)
	}
	return snappy.Encode(nil, out)
}

func lokiJSON(stream map[string]string, ts int64, lines ...string) []byte {
	var values [][]any
	for i, l := range lines {
		values = append(values, []any{strconv.FormatInt(ts+int64(i), 10), l})
	}
	b, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{"stream": stream, "values": values}}})
	return b
}

type lokiResp struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

type lokiSeries struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
	Values [][2]any          `json:"values"`
}

func (v *Vigil) loki(path string, params url.Values, out any) lokiResp {
	v.t.Helper()
	var r lokiResp
	v.GetJSON(path+"?"+params.Encode(), &r)
	if r.Status != "success" {
		v.t.Fatalf("%s: status %q", path, r.Status)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data.Result, out); err != nil {
			v.t.Fatalf("%s: decode result %s: %v", path, r.Data.Result, err)
		}
	}
	return r
}

// countLines returns the number of lines matching a log selector in the
// last day, through a metric query.
func (v *Vigil) countLines(selector string) int {
	v.t.Helper()
	var res []lokiSeries
	v.loki("/loki/api/v1/query", url.Values{"query": {"sum(count_over_time(" + selector + " [1d]))"}}, &res)
	if len(res) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(res[0].Value[1].(string))
	return n
}

func TestLogs(t *testing.T) {
	v := StartVigil(t, StartOptions{Config: logsConfig})
	now := time.Now().UnixNano()

	// Loki push: protobuf and JSON (gzip is covered by the unit tests).
	var entries []lokiEntry
	for i := 0; i < 50; i++ {
		entries = append(entries, lokiEntry{labels: `{app="shop", env="prod"}`, ts: now - int64(time.Minute) + int64(i)*int64(time.Millisecond),
			line: fmt.Sprintf(`level=%s msg="order" status=%d id=%d`, []string{"info", "error"}[i%2], 200+300*(i%2), i),
			md:   [][2]string{{"trace_id", fmt.Sprintf("%032x", 7+i%2)}}})
	}
	if code, _, body := v.Post("/loki/api/v1/push", "application/x-protobuf", lokiProto(entries)); code != 204 {
		t.Fatalf("protobuf push: %d %s", code, body)
	}
	if code, _, body := v.Post("/loki/api/v1/push", "application/json", lokiJSON(map[string]string{"app": "shop", "env": "dev"}, now-int64(30*time.Second), `{"level":"warn","msg":"slow","ms":250}`, `{"level":"info","msg":"ok","ms":12}`)); code != 204 {
		t.Fatalf("json push: %d %s", code, body)
	}

	// OTLP: telemetrygen over gRPC and HTTP.
	tg := Telemetrygen(t)
	if out, err := RunCmd(t, 2*time.Minute, tg, "logs", "--otlp-endpoint", v.GRPC, "--otlp-insecure", "--logs", "40", "--service", "tg-grpc",
		"--body", "grpc hello", "--severity-text", "Error", "--severity-number", "17", "--trace-id", "ae87dadd90e9935a4bc9660628efd569", "--rate", "0"); err != nil {
		t.Fatalf("telemetrygen grpc: %v\n%s", err, out)
	}
	if out, err := RunCmd(t, 2*time.Minute, tg, "logs", "--otlp-endpoint", v.OTLPHTTP, "--otlp-http", "--otlp-insecure", "--logs", "30", "--service", "tg-http", "--body", "http hello", "--rate", "0"); err != nil {
		t.Fatalf("telemetrygen http: %v\n%s", err, out)
	}

	// Malformed input: clear 400s, nothing stored.
	before := v.countLines(`{app=~".+"}`)
	for _, c := range []struct{ ct, body, want string }{
		{"application/x-protobuf", "not snappy", "snappy"},
		{"application/json", `{"streams":[{"stream":{"app":"bad"},"values":[["x","line"]]}]}`, "timestamp"},
		{"application/json", `{"streams":[{"stream":{},"values":[["1","line"]]}]}`, "at least one label"},
	} {
		code, _, body := v.Post("/loki/api/v1/push", c.ct, []byte(c.body))
		if code != 400 || !strings.Contains(string(body), c.want) {
			t.Fatalf("malformed push %q: %d %s, want 400 mentioning %q", c.body, code, body, c.want)
		}
	}
	if after := v.countLines(`{app=~".+"}`); after != before {
		t.Fatalf("malformed pushes changed the store: %d lines before, %d after", before, after)
	}

	t.Run("query", func(t *testing.T) {
		var streams []lokiStream
		v.loki("/loki/api/v1/query_range", url.Values{"query": {`{app="shop"} | logfmt | status >= 500`}, "limit": {"1000"}, "direction": {"forward"}}, &streams)
		n := 0
		for _, s := range streams {
			if s.Stream["status"] != "500" || s.Stream["level"] != "error" {
				t.Fatalf("stream %v", s.Stream)
			}
			n += len(s.Values)
		}
		if n != 25 {
			t.Fatalf("%d error lines, want 25", n)
		}
		if got := v.countLines(`{service_name="tg-grpc"}`); got != 40 {
			t.Fatalf("telemetrygen grpc lines = %d, want 40", got)
		}
		if got := v.countLines(`{service_name="tg-http"}`); got != 30 {
			t.Fatalf("telemetrygen http lines = %d, want 30", got)
		}
		var vec []lokiSeries
		r := v.loki("/loki/api/v1/query", url.Values{"query": {"vector(1)+vector(1)"}}, &vec)
		if r.Data.ResultType != "vector" || len(vec) != 1 || vec[0].Value[1] != "2" {
			t.Fatalf("vector(1)+vector(1) = %s", r.Data.Result)
		}
		var mat []lokiSeries
		r = v.loki("/loki/api/v1/query_range", url.Values{"query": {`sum by (level, detected_level) (count_over_time({app="shop"} | drop __error__ [1m]))`},
			"start": {strconv.FormatInt(now-int64(10*time.Minute), 10)}, "end": {strconv.FormatInt(now, 10)}, "step": {"60"}}, &mat)
		if r.Data.ResultType != "matrix" || len(mat) < 2 {
			t.Fatalf("log volume query = %s", r.Data.Result)
		}
		code, body := v.Get("/loki/api/v1/query?query=" + url.QueryEscape(`sum(rate({app="shop"}[5m]`))
		if code != 400 || !strings.Contains(string(body), "col 26") {
			t.Fatalf("bad query: %d %s, want 400 with the position", code, body)
		}
	})

	t.Run("labels", func(t *testing.T) {
		var labels struct{ Data []string }
		v.GetJSON("/loki/api/v1/labels", &labels)
		if strings.Join(labels.Data, ",") != "app,env,service_name" {
			t.Fatalf("labels = %v", labels.Data)
		}
		v.GetJSON("/loki/api/v1/label/service_name/values", &labels)
		if strings.Join(labels.Data, ",") != "tg-grpc,tg-http" {
			t.Fatalf("service_name values = %v", labels.Data)
		}
		var series struct{ Data []map[string]string }
		v.GetJSON("/loki/api/v1/series?match[]="+url.QueryEscape(`{app="shop"}`), &series)
		if len(series.Data) != 2 {
			t.Fatalf("series = %v", series.Data)
		}
		var stats map[string]int
		v.GetJSON("/loki/api/v1/index/stats?query="+url.QueryEscape(`{app="shop"}`), &stats)
		if stats["entries"] != 52 || stats["streams"] != 2 {
			t.Fatalf("index/stats = %v", stats)
		}
		var vol []lokiSeries
		v.loki("/loki/api/v1/index/volume", url.Values{"query": {`{service_name=~".+"}`}}, &vol)
		if len(vol) != 2 {
			t.Fatalf("index/volume = %v", vol)
		}
		var df struct{ Fields []map[string]any }
		v.GetJSON("/loki/api/v1/detected_fields?query="+url.QueryEscape(`{app="shop"}`), &df)
		if len(df.Fields) == 0 {
			t.Fatal("no detected fields")
		}
	})

	t.Run("trace", func(t *testing.T) {
		var byTrace struct{ Data []map[string]any }
		v.GetJSON("/vigil/api/v1/logs?trace_id=ae87dadd90e9935a4bc9660628efd569", &byTrace)
		if len(byTrace.Data) != 40 {
			t.Fatalf("logs of the telemetrygen trace: %d, want 40", len(byTrace.Data))
		}
		if got := v.countLines(`{app="shop"} | trace_id="` + fmt.Sprintf("%032x", 8) + `"`); got != 25 {
			t.Fatalf("LogQL on trace_id: %d lines, want 25", got)
		}
	})

	t.Run("derived metrics", func(t *testing.T) {
		Eventually(t, 10*time.Second, func() error {
			r := v.Query(`sum(logs_records_total{service_name="tg-grpc",level="error"})`, time.Now())
			if len(r.Data.Result) != 1 || r.Data.Result[0].Value[1] != "40" {
				return fmt.Errorf("logs_records_total = %+v", r.Data.Result)
			}
			return nil
		})
	})

	t.Run("tail", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		u := "ws://" + v.HTTP + "/loki/api/v1/tail?limit=0&query=" + url.QueryEscape(`{app="tail"} |= "ping"`)
		c, _, err := websocket.Dial(ctx, u, nil)
		if err != nil {
			t.Fatalf("dial tail: %v", err)
		}
		defer c.CloseNow()
		time.Sleep(200 * time.Millisecond) // let the subscription settle
		sent := time.Now()
		if code, _, body := v.Post("/loki/api/v1/push", "application/json", lokiJSON(map[string]string{"app": "tail"}, time.Now().UnixNano(), "pong", "ping 1")); code != 204 {
			t.Fatalf("push: %d %s", code, body)
		}
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read tail: %v", err)
		}
		delay := time.Since(sent)
		var frame struct{ Streams []lokiStream }
		if err := json.Unmarshal(msg, &frame); err != nil || len(frame.Streams) != 1 || len(frame.Streams[0].Values) != 1 || frame.Streams[0].Values[0][1] != "ping 1" {
			t.Fatalf("tail frame %s (%v)", msg, err)
		}
		if delay > time.Second {
			t.Fatalf("tail delivered the line after %v, want < 1s", delay)
		}
	})

	t.Run("overload", func(t *testing.T) {
		// 12 concurrent pushes of 9000 lines against a 20000-record queue:
		// some must get 429 with Retry-After; every 204 is stored.
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 12; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				lines := make([]string, 9000)
				for i := range lines {
					lines[i] = fmt.Sprintf("overload worker=%d line=%d %s", w, i, strings.Repeat("x", 60))
				}
				body := lokiJSON(map[string]string{"app": "overload", "w": strconv.Itoa(w)}, time.Now().UnixNano(), lines...)
				resp, err := http.Post(v.URL("/loki/api/v1/push"), "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 204:
					ok.Add(1)
				case 429:
					if resp.Header.Get("Retry-After") == "" {
						t.Error("429 without Retry-After")
					}
					refused.Add(1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}(w)
		}
		wg.Wait()
		if refused.Load() == 0 {
			t.Fatalf("no push was refused (%d accepted)", ok.Load())
		}
		if got := v.countLines(`{app="overload"}`); got != int(ok.Load())*9000 {
			t.Fatalf("%d overload lines stored, want %d (accepted pushes × 9000)", got, ok.Load()*9000)
		}
	})
}

// TestLogsKill9 pushes under load, kills Vigil with SIGKILL, restarts it and
// checks that every acknowledged push is complete.
func TestLogsKill9(t *testing.T) {
	v := StartVigil(t, StartOptions{Config: logsConfig})
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				batch := fmt.Sprintf("b%d_%d", w, i)
				lines := make([]string, 500)
				for j := range lines {
					lines[j] = fmt.Sprintf("batch=%s n=%d some payload to make the line longer", batch, j)
				}
				body := lokiJSON(map[string]string{"app": "kill"}, time.Now().UnixNano(), lines...)
				req, _ := http.NewRequestWithContext(ctx, "POST", v.URL("/loki/api/v1/push"), bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // killed
				}
				resp.Body.Close()
				if resp.StatusCode == 204 {
					mu.Lock()
					acked[batch] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(3 * time.Second)
	v.Kill()
	cancel()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no push was acknowledged before the kill")
	}
	v.Restart()
	var res []lokiSeries
	v.loki("/loki/api/v1/query", url.Values{"query": {`sum by (batch) (count_over_time({app="kill"} | logfmt [1h]))`}}, &res)
	stored := map[string]string{}
	for _, s := range res {
		stored[s.Metric["batch"]] = s.Value[1].(string)
	}
	for b := range acked {
		if stored[b] != "500" {
			t.Errorf("acknowledged batch %s has %q lines after kill -9, want 500", b, stored[b])
		}
	}
	for b, n := range stored {
		if n != "500" {
			t.Errorf("batch %s partially stored: %s lines", b, n)
		}
	}
	t.Logf("%d batches acknowledged, %d stored", len(acked), len(stored))
}

// winstonLoki installs winston-loki (the npm Loki client library issue 10
// was found with) into .cache/npm once and returns its node_modules.
func winstonLoki(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		DebianTool(t, "node", "nodejs")
	}
	DebianTool(t, "npm", "npm")
	installMu.Lock()
	defer installMu.Unlock()
	dir := filepath.Join(repoRoot, ".cache", "npm", "winston-loki")
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "winston-loki", "package.json")); err == nil {
		return mods
	}
	t.Logf("installing winston-loki with npm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := RunCmd(t, 5*time.Minute, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--silent", "winston@3.19.0", "winston-loki@6.1.7"); err != nil {
		t.Fatalf("npm install winston-loki: %v\n%s", err, out)
	}
	return mods
}

// winstonPush pushes lines with winston-loki and returns the errors it
// reported.
func winstonPush(t *testing.T, mods string, v *Vigil, format string, labels map[string]string, lines ...string) []string {
	t.Helper()
	lb, _ := json.Marshal(labels)
	args := append([]string{filepath.Join(repoRoot, "test", "e2e", "testdata", "winston-loki-push.js"), "http://" + v.HTTP, format, string(lb)}, lines...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("winston-loki push: %v\n%s", err, out)
	}
	var res struct{ Errors []string }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("winston-loki output %q: %v", out, err)
	}
	return res.Errors
}

// TestLogsLokiLimits drives the issue 10 logs items through real clients:
// winston-loki (protobuf and JSON) for pushes and limits, OTLP/HTTP for a
// 64-bit trace ID, and the Loki query API as Grafana calls it.
func TestLogsLokiLimits(t *testing.T) {
	mods := winstonLoki(t)
	v := StartVigil(t, StartOptions{Config: `
logs:
  limits: {max_streams: 3, stream_idle_period: 10s}
`})
	now := time.Now()

	// winston-loki, both formats, lands in one stream {app, level}.
	if errs := winstonPush(t, mods, v, "protobuf", map[string]string{"app": "winston"}, "hello from winston", "order 42 placed"); len(errs) != 0 {
		t.Fatalf("winston-loki protobuf push: %v", errs)
	}
	if errs := winstonPush(t, mods, v, "json", map[string]string{"app": "winston"}, "json hello"); len(errs) != 0 {
		t.Fatalf("winston-loki JSON push: %v", errs)
	}
	Eventually(t, 10*time.Second, func() error {
		if n := v.countLines(`{app="winston", level="info"}`); n != 3 {
			return fmt.Errorf("%d winston lines, want 3", n)
		}
		return nil
	})

	// Item 4: a label value over Loki's 2048 bytes is refused, naming it.
	errs := winstonPush(t, mods, v, "protobuf", map[string]string{"app": "winston2", "big": strings.Repeat("x", 3000)}, "big label")
	if len(errs) != 1 || !strings.Contains(errs[0], "HTTP 400") || !strings.Contains(errs[0], "logs.limits.max_label_value_length") || !strings.Contains(errs[0], `label "big"`) {
		t.Fatalf("winston-loki push with a 3000-byte label value: %v", errs)
	}
	old := lokiJSON(map[string]string{"app": "old"}, now.Add(-8*24*time.Hour).UnixNano(), "from last week")
	if code, _, body := v.Post("/loki/api/v1/push", "application/json", old); code != 400 || !strings.Contains(string(body), "logs.limits.reject_old_samples_max_age") {
		t.Fatalf("8-day-old entry: %d %s", code, body)
	}

	// Item 2: the fourth active stream gets 429 with Retry-After, naming
	// the limit, its value and the count; once streams go idle it gets in.
	for _, app := range []string{"s1", "s2"} {
		if code, _, body := v.Post("/loki/api/v1/push", "application/json", lokiJSON(map[string]string{"app": app}, time.Now().UnixNano(), "line of "+app)); code != 204 {
			t.Fatalf("push %s: %d %s", app, code, body)
		}
	}
	errs = winstonPush(t, mods, v, "protobuf", map[string]string{"app": "s3"}, "line of s3")
	if len(errs) != 1 || !strings.Contains(errs[0], "HTTP 429") || !strings.Contains(errs[0], "the active stream limit (logs.limits.max_streams) is 3 and 3 streams are active") {
		t.Fatalf("fourth stream: %v", errs)
	}
	code, hdr, body := v.Post("/loki/api/v1/push", "application/json", lokiJSON(map[string]string{"app": "s3"}, time.Now().UnixNano(), "line of s3"))
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("fourth stream over HTTP: %d Retry-After %q %s", code, hdr.Get("Retry-After"), body)
	}
	Eventually(t, 40*time.Second, func() error {
		if errs := winstonPush(t, mods, v, "protobuf", map[string]string{"app": "s3"}, "line of s3"); len(errs) != 0 {
			return fmt.Errorf("%v", errs)
		}
		return nil
	})

	// Item 18: a text/plain push names the accepted types.
	if code, _, body := v.Post("/loki/api/v1/push", "text/plain", []byte("just a line")); code != 415 || !strings.Contains(string(body), "application/x-protobuf") || !strings.Contains(string(body), "application/json") {
		t.Fatalf("text/plain push: %d %s", code, body)
	}

	// Item 12: an OTLP record of a 64-bit trace is found by its 16 digits.
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "short-trace")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.Body().SetStr("record of a 64-bit trace")
	lr.SetTraceID([16]byte{8: 0x00, 9: 0xc0, 10: 0xff, 11: 0xee, 12: 0x12, 13: 0x34, 14: 0x56, 15: 0x78})
	pb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	// The idle period frees the stream slots this needs.
	Eventually(t, 40*time.Second, func() error {
		if code, _, body := post(t, "http://"+v.OTLPHTTP+"/v1/logs", "application/x-protobuf", pb); code != 200 {
			return fmt.Errorf("OTLP push: %d %s", code, body)
		}
		return nil
	})
	var byTrace struct {
		Data []struct{ Line, TraceID string }
	}
	v.GetJSON("/vigil/api/v1/logs?trace_id=00c0ffee12345678", &byTrace)
	if len(byTrace.Data) != 1 || byTrace.Data[0].Line != "record of a 64-bit trace" {
		t.Fatalf("/vigil/api/v1/logs?trace_id=00c0ffee12345678: %+v", byTrace)
	}
	var streams []lokiStream
	v.loki("/loki/api/v1/query_range", url.Values{"query": {`{service_name="short-trace"} | trace_id="00c0ffee12345678"`}}, &streams)
	if len(streams) != 1 || len(streams[0].Values) != 1 {
		t.Fatalf("| trace_id=16 digits: %+v", streams)
	}

	// Items 11, 16 and 13 on data pushed by winston-loki.
	Eventually(t, 40*time.Second, func() error {
		if errs := winstonPush(t, mods, v, "protobuf", map[string]string{"app": "color"},
			"\x1b[31mERROR\x1b[0m colored", `{"dur":"120ms","size":"1.5KB","n":3,"user":{"id":7}}`); len(errs) != 0 {
			return fmt.Errorf("%v", errs)
		}
		return nil
	})
	v.loki("/loki/api/v1/query_range", url.Values{"query": {`{app="color"} | decolorize |= "ERROR colored"`}}, &streams)
	if len(streams) != 1 || len(streams[0].Values) != 1 {
		t.Fatalf("line filter after decolorize: %+v", streams)
	}
	code, body = v.Get("/loki/api/v1/query?query=" + url.QueryEscape(`sum by (app)(count_over_time({app="color"} | json | __error__!="" [2m]))`))
	if code != 400 || !strings.Contains(string(body), "pipeline error: 'JSONParserErr'") {
		t.Fatalf("metric query keeping __error__: %d %s", code, body)
	}
	var fields struct {
		Fields []struct {
			Label, Type string
			JSONPath    []string `json:"jsonPath"`
		}
	}
	v.GetJSON("/loki/api/v1/detected_fields?query="+url.QueryEscape(`{app="color"}`), &fields)
	types := map[string]string{}
	for _, f := range fields.Fields {
		types[f.Label] = f.Type + " " + strings.Join(f.JSONPath, ".")
	}
	if types["dur"] != "duration dur" || types["size"] != "bytes size" || types["n"] != "int n" || types["user_id"] != "int user.id" {
		t.Fatalf("detected_fields: %v", types)
	}
	var values struct{ Values []string }
	v.GetJSON("/loki/api/v1/detected_field/dur/values?query="+url.QueryEscape(`{app="color"}`), &values)
	if len(values.Values) != 1 || values.Values[0] != "120ms" {
		t.Fatalf("detected_field/dur/values: %+v", values)
	}
	var patterns struct {
		Status string
		Data   []struct {
			Pattern, Level string
			Samples        [][2]int64
		}
	}
	v.GetJSON("/loki/api/v1/patterns?query="+url.QueryEscape(`{app="winston"}`), &patterns)
	if patterns.Status != "success" || len(patterns.Data) == 0 || patterns.Data[0].Level != "info" || len(patterns.Data[0].Samples) == 0 {
		t.Fatalf("patterns: %+v", patterns)
	}
	var formatted struct{ Status, Data string }
	v.GetJSON("/loki/api/v1/format_query?query="+url.QueryEscape(`sum(rate({app="x"}[5m]))by(level)`), &formatted)
	if formatted.Data != `sum by (level) (rate({app="x"} [5m]))` {
		t.Fatalf("format_query: %+v", formatted)
	}
}
