package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
)

// TestPrometheusClients: promtool and the Go client talk to Vigil as to
// Prometheus.
func TestPrometheusClients(t *testing.T) {
	promtool := DebianTool(t, "promtool", "prometheus")
	v := StartVigil(t, StartOptions{})
	now := time.Now()
	if c, b := v.RemoteWrite([]prompb.TimeSeries{Series([]string{"__name__", "client_check", "site", "x"}, prompb.Sample{Timestamp: ms(now), Value: 7})}); c != 204 {
		t.Fatalf("%d %s", c, b)
	}
	out, err := RunCmd(t, time.Minute, promtool, "query", "instant", v.URL(""), "client_check")
	if err != nil || !strings.Contains(out, `client_check{site="x"} => 7`) {
		t.Fatalf("promtool query instant: %v\n%s", err, out)
	}
	out, err = RunCmd(t, time.Minute, promtool, "query", "labels", v.URL(""), "site")
	if err != nil || !strings.Contains(out, "x") {
		t.Fatalf("promtool query labels: %v\n%s", err, out)
	}

	c, err := promapi.NewClient(promapi.Config{Address: v.URL("")})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(c)
	ctx := context.Background()
	val, warn, _, err := api.Query(ctx, "client_check * 2", now)
	if err != nil || len(warn) > 0 {
		t.Fatalf("go client query: %v %v", err, warn)
	}
	vec, ok := val.(model.Vector)
	if !ok || len(vec) != 1 || vec[0].Value != 14 {
		t.Fatalf("go client result: %v", val)
	}
	rng, _, _, err := api.QueryRange(ctx, "client_check", promv1.Range{Start: now.Add(-time.Minute), End: now, Step: 15 * time.Second})
	if err != nil || rng.Type() != model.ValMatrix {
		t.Fatalf("go client range: %v %v", err, rng)
	}
	bi, err := api.Buildinfo(ctx)
	if err != nil || bi.GoVersion == "" {
		t.Fatalf("buildinfo: %v %+v", err, bi)
	}
	if _, err := api.Runtimeinfo(ctx); err != nil {
		t.Fatalf("runtimeinfo: %v", err)
	}
	if _, err := api.TSDB(ctx); err != nil {
		t.Fatalf("tsdb status: %v", err)
	}
	_, _, _, err = api.Query(ctx, "client_check[", now)
	var apiErr *promv1.Error
	if err == nil || !asAPIError(err, &apiErr) || apiErr.Type != promv1.ErrBadData {
		t.Fatalf("bad query: want bad_data, got %v", err)
	}
}

func asAPIError(err error, target **promv1.Error) bool {
	e, ok := err.(*promv1.Error)
	if ok {
		*target = e
	}
	return ok
}
