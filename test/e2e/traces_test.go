package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Jaeger JSON as the query API returns it.
type jaegerResp struct {
	Data   json.RawMessage `json:"data"`
	Total  int             `json:"total"`
	Errors []struct {
		Code    int    `json:"code"`
		Msg     string `json:"msg"`
		TraceID string `json:"traceID"`
	} `json:"errors"`
}

type jaegerTrace struct {
	TraceID   string       `json:"traceID"`
	Spans     []jaegerSpan `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime uint64 `json:"startTime"`
	Duration  uint64 `json:"duration"`
	Tags      []struct {
		Key   string `json:"key"`
		Type  string `json:"type"`
		Value any    `json:"value"`
	} `json:"tags"`
	ProcessID string `json:"processID"`
}

func jaegerGet(t *testing.T, v *Vigil, path string, want int) jaegerResp {
	t.Helper()
	code, body := v.Get(path)
	if code != want {
		t.Fatalf("GET %s = %d %s, want %d", path, code, body, want)
	}
	var r jaegerResp
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return r
}

func jaegerTraces(t *testing.T, v *Vigil, query string) []jaegerTrace {
	t.Helper()
	r := jaegerGet(t, v, "/jaeger/api/traces?"+query, 200)
	var out []jaegerTrace
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func tagValue(sp jaegerSpan, key string) any {
	for _, tg := range sp.Tags {
		if tg.Key == key {
			return tg.Value
		}
	}
	return nil
}

// TestTracesTelemetrygen sends telemetrygen traces over gRPC and HTTP and
// checks them through every Jaeger endpoint, the OTLP JSON endpoint and the
// span metrics.
func TestTracesTelemetrygen(t *testing.T) {
	tg := Telemetrygen(t)
	v := StartVigil(t, StartOptions{Config: "traces:\n  span_metrics: {flush_interval: 1s}\n"})

	out, err := RunCmd(t, 2*time.Minute, tg, "traces", "--otlp-insecure", "--otlp-endpoint", v.GRPC,
		"--traces", "10", "--child-spans", "2", "--span-links", "1", "--status-code", "Error",
		"--service", "tg-grpc", "--rate", "0", "--telemetry-attributes", `http.route="/pay"`)
	if err != nil {
		t.Fatalf("telemetrygen gRPC: %v\n%s", err, out)
	}
	out, err = RunCmd(t, 2*time.Minute, tg, "traces", "--otlp-http", "--otlp-insecure", "--otlp-endpoint", v.OTLPHTTP,
		"--traces", "5", "--child-spans", "3", "--status-code", "Ok", "--service", "tg-http", "--rate", "0")
	if err != nil {
		t.Fatalf("telemetrygen HTTP: %v\n%s", err, out)
	}

	r := jaegerGet(t, v, "/jaeger/api/services", 200)
	var services []string
	_ = json.Unmarshal(r.Data, &services)
	if strings.Join(services, ",") != "tg-grpc,tg-http" || r.Total != 2 {
		t.Fatalf("services = %v (total %d)", services, r.Total)
	}
	r = jaegerGet(t, v, "/jaeger/api/services/tg-grpc/operations", 200)
	var ops []string
	_ = json.Unmarshal(r.Data, &ops)
	if strings.Join(ops, ",") != "lets-go,okey-dokey-0,okey-dokey-1" {
		t.Fatalf("operations = %v", ops)
	}
	r = jaegerGet(t, v, "/jaeger/api/operations?service=tg-http&spanKind=server", 200)
	if string(r.Data) != `[{"name":"okey-dokey-0","spanKind":"server"},{"name":"okey-dokey-1","spanKind":"server"},{"name":"okey-dokey-2","spanKind":"server"}]` {
		t.Fatalf("server operations of tg-http = %s", r.Data)
	}

	now := time.Now()
	window := fmt.Sprintf("start=%d&end=%d", now.Add(-time.Hour).UnixMicro(), now.Add(time.Minute).UnixMicro())
	grpcTraces := jaegerTraces(t, v, "service=tg-grpc&limit=100&"+window)
	if len(grpcTraces) != 10 {
		t.Fatalf("tg-grpc traces = %d, want 10", len(grpcTraces))
	}
	for _, tr := range grpcTraces {
		if len(tr.Spans) != 3 {
			t.Fatalf("trace %s has %d spans, want 3", tr.TraceID, len(tr.Spans))
		}
		var root string
		for _, sp := range tr.Spans {
			if sp.OperationName == "lets-go" {
				root = sp.SpanID
			}
			if tagValue(sp, "error") != true || tagValue(sp, "otel.status_code") != "ERROR" || tagValue(sp, "http.route") != "/pay" {
				t.Fatalf("span %s lacks error/status/attribute tags: %+v", sp.SpanID, sp.Tags)
			}
			if tr.Processes[sp.ProcessID].ServiceName != "tg-grpc" {
				t.Fatalf("span %s process %q", sp.SpanID, sp.ProcessID)
			}
		}
		follows := 0
		for _, sp := range tr.Spans {
			for _, ref := range sp.References {
				if ref.RefType == "FOLLOWS_FROM" {
					follows++
				}
			}
			// telemetrygen links each child to its parent; as in Jaeger, a link
			// to the parent turns the parent reference into FOLLOWS_FROM.
			if sp.OperationName != "lets-go" && (len(sp.References) == 0 || sp.References[0].SpanID != root) {
				t.Fatalf("child %s references %+v, want the parent %s first", sp.SpanID, sp.References, root)
			}
		}
		if follows == 0 {
			t.Fatalf("trace %s: span links did not become FOLLOWS_FROM references", tr.TraceID)
		}
	}
	if got := jaegerTraces(t, v, "service=tg-http&limit=100&"+window); len(got) != 5 || len(got[0].Spans) != 4 {
		t.Fatalf("tg-http: %d traces", len(got))
	}
	if got := jaegerTraces(t, v, "service=tg-grpc&limit=3&"+window); len(got) != 3 {
		t.Fatalf("limit=3 gave %d traces", len(got))
	}
	if got := jaegerTraces(t, v, "service=tg-grpc&operation=okey-dokey-1&"+window); len(got) != 10 {
		t.Fatalf("operation filter: %d traces", len(got))
	}
	if got := jaegerTraces(t, v, "service=tg-grpc&tags="+url.QueryEscape(`{"http.route":"/pay","error":"true"}`)+"&"+window); len(got) != 10 {
		t.Fatalf("tag filter: %d traces", len(got))
	}
	if got := jaegerTraces(t, v, "service=tg-grpc&tags="+url.QueryEscape(`{"http.route":"/other"}`)+"&"+window); len(got) != 0 {
		t.Fatalf("non-matching tag filter: %d traces", len(got))
	}
	if got := jaegerTraces(t, v, "service=tg-grpc&minDuration=1h&"+window); len(got) != 0 {
		t.Fatalf("minDuration=1h: %d traces", len(got))
	}
	if got := jaegerTraces(t, v, "service=tg-grpc&maxDuration=1s&minDuration=1us&"+window); len(got) != 10 {
		t.Fatalf("duration range: %d traces", len(got))
	}

	// Trace by ID (with Grafana's millisecond hints) and as OTLP JSON.
	id := grpcTraces[0].TraceID
	r = jaegerGet(t, v, fmt.Sprintf("/jaeger/api/traces/%s?start=%d&end=%d", id, now.Add(-time.Hour).UnixMilli(), now.UnixMilli()), 200)
	var one []jaegerTrace
	_ = json.Unmarshal(r.Data, &one)
	if len(one) != 1 || one[0].TraceID != id || len(one[0].Spans) != 3 {
		t.Fatalf("trace by ID: %s", r.Data)
	}
	code, body := v.Get("/vigil/api/v1/traces/" + id)
	if code != 200 {
		t.Fatalf("OTLP JSON trace: %d %s", code, body)
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(body)
	if err != nil || td.SpanCount() != 3 {
		t.Fatalf("OTLP JSON trace: %v, %d spans", err, td.SpanCount())
	}
	jaegerGet(t, v, "/jaeger/api/traces/0123456789abcdef0123456789abcdef", 404)
	r = jaegerGet(t, v, "/jaeger/api/traces/xyz", 400)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Msg, `invalid trace ID "xyz"`) {
		t.Fatalf("bad trace ID: %+v", r.Errors)
	}
	r = jaegerGet(t, v, "/jaeger/api/traces?service=tg-grpc&minDuration=soon", 400)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Msg, "minDuration") {
		t.Fatalf("bad minDuration: %+v", r.Errors)
	}

	// Dependencies: a two-service trace sent as OTLP JSON.
	dep := twoServiceTrace()
	var m ptrace.JSONMarshaler
	jsonBody, _ := m.MarshalTraces(dep)
	status, _, respBody := post(t, "http://"+v.OTLPHTTP+"/v1/traces", "application/json", jsonBody)
	_ = status
	if status != 200 {
		t.Fatalf("OTLP JSON post: %d %s", status, respBody)
	}
	r = jaegerGet(t, v, fmt.Sprintf("/jaeger/api/dependencies?endTs=%d&lookback=%d", time.Now().Add(time.Minute).UnixMilli(), time.Hour.Milliseconds()), 200)
	// shop→payments from the OTLP JSON trace; telemetrygen's traces add
	// only same-service edges, which Jaeger counts too (issue 10 item 15).
	var deps []struct {
		Parent, Child string
		CallCount     int
	}
	if err := json.Unmarshal(r.Data, &deps); err != nil {
		t.Fatalf("dependencies %s: %v", r.Data, err)
	}
	var cross int
	for _, d := range deps {
		switch {
		case d.Parent == "shop" && d.Child == "payments" && d.CallCount == 2:
			cross++
		case d.Parent == d.Child && strings.HasPrefix(d.Parent, "tg-") && d.CallCount > 0:
		default:
			t.Fatalf("unexpected dependency %+v in %s", d, r.Data)
		}
	}
	if cross != 1 {
		t.Fatalf("dependencies = %s, want shop→payments callCount 2", r.Data)
	}

	// Malformed and empty-ID input: rejected with a message, nothing stored.
	status, _, respBody = post(t, "http://"+v.OTLPHTTP+"/v1/traces", "application/x-protobuf", []byte("\xff\xff\xffnot protobuf"))
	if status != 400 || len(respBody) == 0 {
		t.Fatalf("malformed protobuf: %d %s", status, respBody)
	}
	status, _, respBody = post(t, "http://"+v.OTLPHTTP+"/v1/traces", "application/json", []byte(`{"resourceSpans":[{`))
	if status != 400 {
		t.Fatalf("malformed JSON: %d %s", status, respBody)
	}
	r = jaegerGet(t, v, "/jaeger/api/services", 200)
	if !bytes.Equal(r.Data, []byte(`["payments","shop","tg-grpc","tg-http"]`)) {
		t.Fatalf("services after bad input = %s", r.Data)
	}

	// Span metrics reach the TSDB.
	Eventually(t, 30*time.Second, func() error {
		res := v.Query(`sum(traces_span_metrics_calls_total{service_name="tg-grpc",status_code="STATUS_CODE_ERROR"})`, time.Now())
		if len(res.Data.Result) != 1 || res.Data.Result[0].Value[1] != "30" {
			return fmt.Errorf("calls = %+v", res.Data.Result)
		}
		res = v.Query(`sum(traces_span_metrics_duration_seconds_count{service_name="tg-http",span_kind="SPAN_KIND_SERVER"})`, time.Now())
		if len(res.Data.Result) != 1 || res.Data.Result[0].Value[1] != "15" {
			return fmt.Errorf("tg-http server duration count = %+v", res.Data.Result)
		}
		return nil
	})
	_, metrics := v.Get("/metrics")
	for _, want := range []string{`vigil_traces_spans_accepted_total 53`, `vigil_telemetrydb_commits_total{domain="traces"}`, `vigil_telemetrydb_disk_bytes{domain="traces"}`, `vigil_telemetrydb_queue_rows{domain="traces"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, tracesLines(string(metrics)))
		}
	}
}

// twoServiceTrace: shop calls payments twice.
func twoServiceTrace() ptrace.Traces {
	td := ptrace.NewTraces()
	var tid pcommon.TraceID
	for i := range tid {
		tid[i] = byte(rand.IntN(256))
	}
	now := time.Now()
	shop := td.ResourceSpans().AppendEmpty()
	shop.Resource().Attributes().PutStr("service.name", "shop")
	root := shop.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	root.SetTraceID(tid)
	root.SetSpanID(pcommon.SpanID{1, 1, 1, 1, 1, 1, 1, 1})
	root.SetName("checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
	root.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	pay := td.ResourceSpans().AppendEmpty()
	pay.Resource().Attributes().PutStr("service.name", "payments")
	sps := pay.ScopeSpans().AppendEmpty().Spans()
	for i := range 2 {
		c := sps.AppendEmpty()
		c.SetTraceID(tid)
		c.SetSpanID(pcommon.SpanID{2, 2, 2, 2, 2, 2, 2, byte(i + 1)})
		c.SetParentSpanID(root.SpanID())
		c.SetName("charge")
		c.SetKind(ptrace.SpanKindServer)
		c.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-900 * time.Millisecond)))
		c.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-100 * time.Millisecond)))
	}
	return td
}

// batch builds one OTLP protobuf request: one trace of n spans.
func batch(service string, n int) ([]byte, string) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	sps := rs.ScopeSpans().AppendEmpty().Spans()
	var tid pcommon.TraceID
	for i := range tid {
		tid[i] = byte(rand.IntN(256))
	}
	now := time.Now()
	for i := range n {
		sp := sps.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{byte(i>>8) + 1, byte(i), 3, 4, 5, 6, 7, 8})
		sp.SetName("op")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		for a := range 10 {
			sp.Attributes().PutStr("attr."+strconv.Itoa(a), "value-"+strconv.Itoa(a))
		}
	}
	b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	return b, hex.EncodeToString(tid[:])
}

// TestTracesKill9 kills vigil during sustained load; every span of an
// acknowledged request must be there after restart.
func TestTracesKill9(t *testing.T) {
	v := StartVigil(t, StartOptions{})
	const spansPerReq, maxReqs = 50, 600
	var acked atomic.Int64
	var ackedIDs sync.Map
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if sent.Add(1) > maxReqs {
					return
				}
				body, id := batch("kill9", spansPerReq)
				resp, err := client.Post("http://"+v.OTLPHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
				if err != nil {
					continue // killed mid-request: not acknowledged
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					acked.Add(spansPerReq)
					ackedIDs.Store(id, true)
				}
			}
		}()
	}
	Eventually(t, 60*time.Second, func() error {
		if acked.Load() < 200*spansPerReq {
			return fmt.Errorf("%d spans acknowledged so far", acked.Load())
		}
		return nil
	})
	v.Kill()
	close(stop)
	wg.Wait()
	v.Restart()

	now := time.Now()
	stored := jaegerTraces(t, v, fmt.Sprintf("service=kill9&limit=1000&start=%d&end=%d", now.Add(-time.Hour).UnixMicro(), now.Add(time.Minute).UnixMicro()))
	storedSpans := 0
	have := map[string]bool{}
	for _, tr := range stored {
		storedSpans += len(tr.Spans)
		have[tr.TraceID] = true
	}
	missing := 0
	ackedIDs.Range(func(k, _ any) bool {
		if !have[k.(string)] {
			missing++
		}
		return true
	})
	if missing > 0 || int64(storedSpans) < acked.Load() {
		t.Fatalf("after kill -9: %d acknowledged spans, %d stored, %d acknowledged traces missing", acked.Load(), storedSpans, missing)
	}
	t.Logf("kill -9: %d spans acknowledged, %d stored (the rest were in flight)", acked.Load(), storedSpans)
}

// TestTracesOverload floods a small queue: clients get retryable 429s with
// Retry-After, nothing acknowledged is lost and memory stays bounded.
func TestTracesOverload(t *testing.T) {
	v := StartVigil(t, StartOptions{Config: "otlp: {max_request_bytes: 1MiB}\ntraces:\n  queue: {max_spans: 2000, retry_after: 2s}\n"})
	body, _ := batch("flood", 1000)

	// Oversized: refused before decoding, with a message naming the limit.
	big, _ := batch("flood", 6000)
	if status, _, resp := post(t, "http://"+v.OTLPHTTP+"/v1/traces", "application/x-protobuf", big); status != 413 || !strings.Contains(string(resp), "1048576") {
		t.Fatalf("oversized request (%d bytes): %d %s, want 413 naming the 1MiB limit", len(big), status, resp)
	}
	var ok, tooMany, other atomic.Int64
	var retryAfter atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				resp, err := client.Post("http://"+v.OTLPHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
				if err != nil {
					other.Add(1)
					continue
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
				case 429:
					tooMany.Add(1)
					retryAfter.Store(resp.Header.Get("Retry-After"))
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("overload: %d accepted, %d refused with 429, %d other", ok.Load(), tooMany.Load(), other.Load())
	if tooMany.Load() == 0 || ok.Load() == 0 || other.Load() != 0 {
		t.Fatalf("want some 200s and some 429s and nothing else: %d ok, %d 429, %d other", ok.Load(), tooMany.Load(), other.Load())
	}
	if ra, _ := retryAfter.Load().(string); ra != "2" {
		t.Fatalf("Retry-After = %q, want 2", ra)
	}
	if rss := vigilRSS(t, v); rss > 1500<<20 {
		t.Fatalf("RSS %d MiB after the flood", rss>>20)
	} else {
		t.Logf("RSS after the flood: %d MiB", rss>>20)
	}
	// The same flood over gRPC: RESOURCE_EXHAUSTED, which OTLP clients retry.
	conn, err := grpc.NewClient(v.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gc := ptraceotlp.NewGRPCClient(conn)
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	var exhausted, grpcOK atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := gc.Export(ctx, req)
				cancel()
				switch status.Code(err) {
				case codes.OK:
					grpcOK.Add(1)
				case codes.ResourceExhausted:
					exhausted.Add(1)
				default:
					t.Errorf("gRPC export: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("gRPC overload: %d accepted, %d RESOURCE_EXHAUSTED", grpcOK.Load(), exhausted.Load())
	if exhausted.Load() == 0 || grpcOK.Load() == 0 {
		t.Fatalf("gRPC: want some OK and some RESOURCE_EXHAUSTED, got %d and %d", grpcOK.Load(), exhausted.Load())
	}
	ok.Add(grpcOK.Load())

	_, metrics := v.Get("/metrics")
	if !strings.Contains(string(metrics), `vigil_telemetrydb_queue_rejections_total{domain="traces"}`) {
		t.Fatal("/metrics lacks the queue rejections")
	}
	// Every accepted span is stored (same trace ID each time: count spans).
	now := time.Now()
	tr := jaegerTraces(t, v, fmt.Sprintf("service=flood&limit=10&start=%d&end=%d", now.Add(-time.Hour).UnixMicro(), now.Add(time.Minute).UnixMicro()))
	if len(tr) != 1 || int64(len(tr[0].Spans)) != ok.Load()*1000 {
		t.Fatalf("stored %d traces / spans, want 1 trace with %d spans", len(tr), ok.Load()*1000)
	}
}

func vigilRSS(t *testing.T, v *Vigil) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", v.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func tracesLines(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "traces") && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTracesMatchJaeger sends the same traces to Jaeger v2 and compares the
// query API's JSON field by field (ordering aside). Jaeger is built by
// bench/peers/jaeger.sh (about 6 minutes, outside make test); without it
// the test is skipped. The traces go to Vigil first (telemetrygen over
// gRPC plus a trace with every attribute type, events and links); what
// Vigil returns as OTLP JSON is posted to Jaeger, so both got identical
// data.
func TestTracesMatchJaeger(t *testing.T) {
	jaegerBin := os.Getenv("JAEGER_BIN")
	if jaegerBin == "" {
		home, _ := os.UserHomeDir()
		jaegerBin = filepath.Join(home, ".cache", "vigil-peers", "jaeger-v1.76.0", "jaeger")
	}
	if _, err := os.Stat(jaegerBin); err != nil {
		t.Skipf("Jaeger v2 binary not found at %s: run bench/peers/jaeger.sh (or set JAEGER_BIN) for the field-by-field comparison", jaegerBin)
	}
	tg := Telemetrygen(t)
	v := StartVigil(t, StartOptions{})
	out, err := RunCmd(t, 2*time.Minute, tg, "traces", "--otlp-insecure", "--otlp-endpoint", v.GRPC,
		"--traces", "3", "--child-spans", "2", "--span-links", "1", "--status-code", "Error",
		"--service", "cmp", "--rate", "0", "--telemetry-attributes", `http.route="/pay"`, "--telemetry-attributes", "retries=3")
	if err != nil {
		t.Fatalf("telemetrygen: %v\n%s", err, out)
	}
	var m ptrace.JSONMarshaler
	rich, _ := m.MarshalTraces(everyFieldTrace())
	if status, _, body := post(t, "http://"+v.OTLPHTTP+"/v1/traces", "application/json", rich); status != 200 {
		t.Fatalf("post rich trace: %d %s", status, body)
	}

	dir := t.TempDir()
	jq, jotlp := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces: {receivers: [otlp], processors: [], exporters: [jaeger_storage_exporter]}
  telemetry: {metrics: {level: none}}
extensions:
  jaeger_query:
    storage: {traces: store}
    http: {endpoint: %s}
    grpc: {endpoint: %s}
  jaeger_storage:
    backends:
      store: {memory: {max_traces: 1000}}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: %s}
      http: {endpoint: %s}
exporters:
  jaeger_storage_exporter: {trace_storage: store}
`, jq, freePort(t), freePort(t), jotlp)
	if err := os.WriteFile(filepath.Join(dir, "jaeger.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(jaegerBin, "--config", filepath.Join(dir, "jaeger.yaml"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	Eventually(t, 60*time.Second, func() error {
		resp, err := http.Get("http://" + jq + "/api/services")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})

	now := time.Now()
	var ids []string
	for _, svc := range []string{"cmp", "every-field"} {
		for _, tr := range jaegerTraces(t, v, fmt.Sprintf("service=%s&start=%d&end=%d", svc, now.Add(-time.Hour).UnixMicro(), now.Add(time.Minute).UnixMicro())) {
			ids = append(ids, tr.TraceID)
		}
	}
	if len(ids) != 4 {
		t.Fatalf("found %d traces in Vigil, want 4", len(ids))
	}
	for _, id := range ids {
		code, body := v.Get("/vigil/api/v1/traces/" + id)
		if code != 200 {
			t.Fatalf("OTLP JSON of %s: %d", id, code)
		}
		if status, _, resp := post(t, "http://"+jotlp+"/v1/traces", "application/json", body); status != 200 {
			t.Fatalf("post to Jaeger: %d %s", status, resp)
		}
	}
	for _, id := range ids {
		var jaegerBody []byte
		Eventually(t, 30*time.Second, func() error {
			resp, err := http.Get("http://" + jq + "/api/traces/" + id)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			jaegerBody, _ = io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				return fmt.Errorf("Jaeger: %d %s", resp.StatusCode, jaegerBody)
			}
			return nil
		})
		_, vigilBody := v.Get("/jaeger/api/traces/" + id)
		want, got := normalizeJaeger(t, jaegerBody), normalizeJaeger(t, vigilBody)
		if want != got {
			t.Errorf("trace %s differs from Jaeger's (ordering aside):\njaeger: %s\nvigil:  %s", id, want, got)
		}
	}
}

// normalizeJaeger re-encodes a Jaeger trace response with spans sorted by
// ID, each span's process inlined (process IDs are arbitrary) and
// references sorted.
func normalizeJaeger(t *testing.T, body []byte) string {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	data, _ := r["data"].([]any)
	for _, tr := range data {
		tm := tr.(map[string]any)
		procs := tm["processes"].(map[string]any)
		spans := tm["spans"].([]any)
		for _, s := range spans {
			sm := s.(map[string]any)
			sm["process"] = procs[sm["processID"].(string)]
			delete(sm, "processID")
			refs, _ := sm["references"].([]any)
			sort.Slice(refs, func(i, j int) bool {
				a, b := refs[i].(map[string]any), refs[j].(map[string]any)
				return fmt.Sprint(a["spanID"], a["refType"]) < fmt.Sprint(b["spanID"], b["refType"])
			})
		}
		sort.Slice(spans, func(i, j int) bool {
			return spans[i].(map[string]any)["spanID"].(string) < spans[j].(map[string]any)["spanID"].(string)
		})
		delete(tm, "processes")
	}
	out, _ := json.Marshal(r)
	return string(out)
}

// everyFieldTrace uses every attribute type, events (named and not),
// links, trace state, status message and scope version.
func everyFieldTrace() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "every-field")
	rs.Resource().Attributes().PutInt("process.pid", 42)
	rs.Resource().Attributes().PutBool("debug", true)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("lib")
	ss.Scope().SetVersion("1.0.0")
	sp := ss.Spans().AppendEmpty()
	var tid pcommon.TraceID
	for i := range tid {
		tid[i] = byte(rand.IntN(256))
	}
	sp.SetTraceID(tid)
	sp.SetSpanID(pcommon.SpanID{9, 8, 7, 6, 5, 4, 3, 2})
	sp.SetParentSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	sp.SetName("everything")
	sp.SetKind(ptrace.SpanKindProducer)
	now := time.Now()
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	sp.TraceState().FromRaw("vendor=abc")
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("broken")
	a := sp.Attributes()
	a.PutStr("s", "text")
	a.PutInt("i", -7)
	a.PutInt("huge", 1<<60)
	a.PutDouble("d", 2.5)
	a.PutBool("b", false)
	a.PutEmptyBytes("bytes").FromRaw([]byte("raw\x00"))
	sl := a.PutEmptySlice("list")
	sl.AppendEmpty().SetStr("a")
	sl.AppendEmpty().SetInt(1)
	a.PutEmptyMap("map").PutStr("k", "v")
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(-500 * time.Millisecond)))
	ev.Attributes().PutStr("exception.message", "boom")
	ev2 := sp.Events().AppendEmpty()
	ev2.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(-400 * time.Millisecond)))
	ev2.Attributes().PutInt("n", 1)
	l := sp.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{1})
	l.SetSpanID(pcommon.SpanID{2})
	l.Attributes().PutStr("opentracing.ref_type", "child_of")
	l2 := sp.Links().AppendEmpty()
	l2.SetTraceID(tid)
	l2.SetSpanID(pcommon.SpanID{3})
	return td
}
