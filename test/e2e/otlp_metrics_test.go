package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// otlpMetrics builds one request with every metric type; delta is the value
// of the delta sum.
func otlpMetrics(ts time.Time, delta int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	ra := rm.Resource().Attributes()
	ra.PutStr("service.name", "checkout")
	ra.PutStr("service.namespace", "shop")
	ra.PutStr("service.instance.id", "i-1")
	ra.PutStr("deployment.environment", "prod")
	ra.PutStr("host.name", "h1")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("e2e")
	now := pcommon.NewTimestampFromTime(ts)
	start := pcommon.NewTimestampFromTime(ts.Add(-time.Minute))

	g := sm.Metrics().AppendEmpty()
	g.SetName("room_temp")
	g.SetUnit("Cel")
	dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(now)
	dp.SetDoubleValue(21.5)
	dp.Attributes().PutStr("room", "a")

	c := sm.Metrics().AppendEmpty()
	c.SetName("orders")
	sum := c.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	cp := sum.DataPoints().AppendEmpty()
	cp.SetStartTimestamp(start)
	cp.SetTimestamp(now)
	cp.SetIntValue(42)

	d := sm.Metrics().AppendEmpty()
	d.SetName("payments")
	ds := d.SetEmptySum()
	ds.SetIsMonotonic(true)
	ds.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dpp := ds.DataPoints().AppendEmpty()
	dpp.SetStartTimestamp(pcommon.NewTimestampFromTime(ts.Add(-time.Second)))
	dpp.SetTimestamp(now)
	dpp.SetIntValue(delta)

	h := sm.Metrics().AppendEmpty()
	h.SetName("latency")
	h.SetUnit("s")
	hh := h.SetEmptyHistogram()
	hh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	hp := hh.DataPoints().AppendEmpty()
	hp.SetStartTimestamp(start)
	hp.SetTimestamp(now)
	hp.SetCount(10)
	hp.SetSum(2.5)
	hp.ExplicitBounds().FromRaw([]float64{0.1, 0.5, 1})
	hp.BucketCounts().FromRaw([]uint64{4, 3, 2, 1})

	e := sm.Metrics().AppendEmpty()
	e.SetName("rpc_latency")
	e.SetUnit("s")
	eh := e.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	ep := eh.DataPoints().AppendEmpty()
	ep.SetStartTimestamp(start)
	ep.SetTimestamp(now)
	ep.SetScale(0)
	ep.SetCount(6)
	ep.SetSum(12)
	ep.SetZeroCount(1)
	ep.Positive().SetOffset(0)
	ep.Positive().BucketCounts().FromRaw([]uint64{2, 3})

	s := sm.Metrics().AppendEmpty()
	s.SetName("gc_pause")
	s.SetUnit("s")
	sp := s.SetEmptySummary().DataPoints().AppendEmpty()
	sp.SetStartTimestamp(start)
	sp.SetTimestamp(now)
	sp.SetCount(5)
	sp.SetSum(1)
	q := sp.QuantileValues().AppendEmpty()
	q.SetQuantile(0.99)
	q.SetValue(0.4)
	return md
}

func checkOTLPMetrics(t *testing.T, v *Vigil, at time.Time, payments string) {
	t.Helper()
	sel := `{job="shop/checkout",instance="i-1"}`
	Eventually(t, 10*time.Second, func() error {
		return wantValue(v, `room_temp_celsius{job="shop/checkout",instance="i-1",room="a",deployment_environment="prod"}`, at, "21.5")
	})
	for q, want := range map[string]string{
		"orders_total" + sel:                                             "42",
		"payments_total" + sel:                                           payments,
		`latency_seconds_bucket{le="0.5"}`:                               "7",
		`latency_seconds_bucket{le="+Inf"}`:                              "10",
		"latency_seconds_count" + sel:                                    "10",
		"latency_seconds_sum" + sel:                                      "2.5",
		"histogram_count(rpc_latency_seconds" + sel + ")":                "6",
		"histogram_sum(rpc_latency_seconds" + sel + ")":                  "12",
		`gc_pause_seconds{quantile="0.99"}`:                              "0.4",
		"gc_pause_seconds_count" + sel:                                   "5",
		`target_info{job="shop/checkout",instance="i-1",host_name="h1"}`: "1",
	} {
		if err := wantValue(v, q, at, want); err != nil {
			t.Error(err)
		}
	}
}

func TestOTLPMetricsHTTPAndGRPC(t *testing.T) {
	v := StartVigil(t, StartOptions{})
	t0 := time.Now().Add(-10 * time.Second).Truncate(time.Millisecond)

	// HTTP, JSON, gzip.
	js, err := pmetricotlp.NewExportRequestFromMetrics(otlpMetrics(t0, 5)).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(js)
	_ = zw.Close()
	code, _, body := post(t, "http://"+v.OTLPHTTP+"/v1/metrics", "application/json", gz.Bytes(), "Content-Encoding", "gzip")
	if code != 200 {
		t.Fatalf("OTLP/HTTP JSON: %d %s", code, body)
	}
	if strings.Contains(string(body), "rejected") {
		t.Fatalf("unexpected partial success: %s", body)
	}
	checkOTLPMetrics(t, v, t0, "5")

	// gRPC, protobuf: the next delta adds to the cumulative total.
	conn, err := grpc.NewClient(v.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pmetricotlp.NewGRPCClient(conn)
	t1 := t0.Add(5 * time.Second)
	resp, err := client.Export(context.Background(), pmetricotlp.NewExportRequestFromMetrics(otlpMetrics(t1, 7)))
	if err != nil {
		t.Fatalf("OTLP/gRPC: %v", err)
	}
	if resp.PartialSuccess().RejectedDataPoints() != 0 {
		t.Fatalf("partial success: %v", resp.PartialSuccess().ErrorMessage())
	}
	checkOTLPMetrics(t, v, t1, "12")

	// HTTP protobuf on the main port too (as Prometheus serves OTLP).
	pb, _ := pmetricotlp.NewExportRequestFromMetrics(otlpMetrics(t1.Add(time.Second), 1)).MarshalProto()
	if code, _, body := v.Post("/api/v1/otlp/v1/metrics", "application/x-protobuf", pb); code != 200 {
		t.Fatalf("OTLP on main port: %d %s", code, body)
	}

	// Malformed: 400 naming the problem, over gRPC INVALID_ARGUMENT is for
	// decode errors of the transport; HTTP checks here.
	code, _, body = post(t, "http://"+v.OTLPHTTP+"/v1/metrics", "application/x-protobuf", []byte{0xff, 0xff, 0xff})
	if code != 400 || !strings.Contains(string(body), "malformed OTLP metrics request") {
		t.Fatalf("malformed protobuf: %d %q", code, body)
	}
	code, _, body = post(t, "http://"+v.OTLPHTTP+"/v1/metrics", "application/json", []byte(`{"resourceMetrics": 5}`))
	if code != 400 || !strings.Contains(string(body), "malformed OTLP metrics request (JSON)") {
		t.Fatalf("malformed JSON: %d %q", code, body)
	}
	code, _, body = post(t, "http://"+v.OTLPHTTP+"/v1/metrics", "text/csv", []byte(`a,b`))
	if code != 400 || !strings.Contains(string(body), "Content-Type") {
		t.Fatalf("bad content type: %d %q", code, body)
	}
}

func TestOTLPMetricsSeriesLimitPartialSuccess(t *testing.T) {
	v := StartVigil(t, StartOptions{Config: "metrics:\n  limits:\n    max_series_per_metric: 2\n"})
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "svc")
	g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("limited")
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := 0; i < 5; i++ {
		dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		_ = dp
	}
	dps := g.Gauge().DataPoints()
	dps.RemoveIf(func(pmetric.NumberDataPoint) bool { return true })
	for i := 0; i < 5; i++ {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(now)
		dp.SetDoubleValue(float64(i))
		dp.Attributes().PutInt("i", int64(i))
	}
	conn, err := grpc.NewClient(v.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := pmetricotlp.NewGRPCClient(conn).Export(context.Background(), pmetricotlp.NewExportRequestFromMetrics(md))
	if err != nil {
		t.Fatalf("export: %v (%v)", err, status.Code(err))
	}
	ps := resp.PartialSuccess()
	if ps.RejectedDataPoints() != 3 || !strings.Contains(ps.ErrorMessage(), `"limited"`) || !strings.Contains(ps.ErrorMessage(), "max_series_per_metric=2") {
		t.Fatalf("partial success: rejected %d, %q", ps.RejectedDataPoints(), ps.ErrorMessage())
	}
	if err := wantValue(v, "count(limited)", time.Now(), "2"); err != nil {
		t.Fatal(err)
	}
}

func TestTelemetrygenMetrics(t *testing.T) {
	tg := Telemetrygen(t)
	v := StartVigil(t, StartOptions{})
	out, err := RunCmd(t, 2*time.Minute, tg, "metrics", "--otlp-insecure", "--otlp-endpoint", v.GRPC, "--metrics", "20", "--rate", "20", "--service", "tg-grpc", "--metric-type", "Sum", "--otlp-attributes", `deployment.environment="staging"`)
	if err != nil {
		t.Fatalf("telemetrygen grpc: %v\n%s", err, out)
	}
	out, err = RunCmd(t, 2*time.Minute, tg, "metrics", "--otlp-http", "--otlp-insecure", "--otlp-endpoint", v.OTLPHTTP, "--metrics", "20", "--rate", "20", "--service", "tg-http", "--metric-type", "Gauge")
	if err != nil {
		t.Fatalf("telemetrygen http: %v\n%s", err, out)
	}
	Eventually(t, 10*time.Second, func() error {
		r := v.Query(`count by (job, deployment_environment) ({job=~"tg-.*", __name__=~"gen.*"})`, time.Now())
		if len(r.Data.Result) != 2 {
			return fmt.Errorf("want series for both jobs, got %+v", r.Data.Result)
		}
		for _, s := range r.Data.Result {
			if s.Metric["job"] == "tg-grpc" && s.Metric["deployment_environment"] != "staging" {
				return fmt.Errorf("resource attribute not promoted: %v", s.Metric)
			}
		}
		return nil
	})
}
