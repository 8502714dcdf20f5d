package vigil_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	vigil "github.com/vigilhq/vigil/sdk"
	"github.com/vigilhq/vigil/sdk/logging"
	"github.com/vigilhq/vigil/sdk/metric"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// idle keep-alive connections of the exporters' HTTP clients
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

type collector struct {
	mu      sync.Mutex
	traces  []*collectortrace.ExportTraceServiceRequest
	metrics []*collectormetrics.ExportMetricsServiceRequest
	logs    []*collectorlogs.ExportLogsServiceRequest
	headers []http.Header
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headers = append(c.headers, r.Header.Clone())
	var err error
	switch r.URL.Path {
	case "/otlp/v1/traces":
		m := new(collectortrace.ExportTraceServiceRequest)
		err = proto.Unmarshal(body, m)
		c.traces = append(c.traces, m)
	case "/otlp/v1/metrics":
		m := new(collectormetrics.ExportMetricsServiceRequest)
		err = proto.Unmarshal(body, m)
		c.metrics = append(c.metrics, m)
	case "/otlp/v1/logs":
		m := new(collectorlogs.ExportLogsServiceRequest)
		err = proto.Unmarshal(body, m)
		c.logs = append(c.logs, m)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

func TestStartExportsAllSignalsOverHTTP(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	reg := metric.New(metric.Options{})
	shutdown, err := vigil.Start(context.Background(),
		vigil.WithServiceName("checkout"), vigil.WithServiceVersion("1.2.3"),
		vigil.WithEndpoint(srv.URL+"/otlp"), vigil.WithHeaders(map[string]string{"Authorization": "Bearer t0k"}),
		vigil.WithRegistry(reg), vigil.WithMetricInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := otel.Tracer("test").Start(context.Background(), "place-order")
	reg.Counter("orders_total", "Orders.").With("status", "ok").Inc()
	slog.New(logging.New(logging.Options{NoLocal: true})).InfoContext(ctx, "order placed")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.traces) == 0 || len(col.metrics) == 0 || len(col.logs) == 0 {
		t.Fatalf("requests: traces %d metrics %d logs %d", len(col.traces), len(col.metrics), len(col.logs))
	}
	rs := col.traces[0].ResourceSpans[0]
	if got := attr(rs.Resource.Attributes, "service.name"); got != "checkout" {
		t.Errorf("service.name %q", got)
	}
	for _, k := range []string{"service.version", "service.instance.id", "host.name", "telemetry.sdk.language"} {
		if attr(rs.Resource.Attributes, k) == "" {
			t.Errorf("resource lacks %s", k)
		}
	}
	if got := rs.ScopeSpans[0].Spans[0].Name; got != "place-order" {
		t.Errorf("span %q", got)
	}
	if !strings.Contains(rs.ScopeSpans[0].Spans[0].TraceState, "ot=th:0") {
		t.Errorf("tracestate %q lacks the sampling threshold", rs.ScopeSpans[0].Spans[0].TraceState)
	}
	var names []string
	for _, rm := range col.metrics {
		for _, sm := range rm.ResourceMetrics[0].ScopeMetrics {
			for _, m := range sm.Metrics {
				names = append(names, m.Name)
			}
		}
	}
	joined := strings.Join(names, ",")
	for _, want := range []string{"orders_total", "vigil_sdk_spans_exported_total"} {
		if !strings.Contains(joined, want) {
			t.Errorf("metrics %s lack %s", joined, want)
		}
	}
	lr := col.logs[0].ResourceLogs[0].ScopeLogs[0].LogRecords[0]
	if lr.Body.GetStringValue() != "order placed" || len(lr.TraceId) != 16 {
		t.Errorf("log record %v", lr)
	}
	for _, h := range col.headers {
		if h.Get("Authorization") != "Bearer t0k" {
			t.Errorf("request without the configured header: %v", h)
		}
	}
	if _, ok := otel.GetTextMapPropagator().(propagation.TextMapPropagator); !ok {
		t.Error("no global propagator")
	}
}

type traceService struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names []string
}

func (s *traceService) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s.names = append(s.names, sp.Name)
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func TestStartOverGRPCFromEnvironment(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	svc := &traceService{}
	collectortrace.RegisterTraceServiceServer(gs, svc)
	go gs.Serve(lis)
	defer gs.Stop()

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "1")
	shutdown, err := vigil.Start(context.Background(), vigil.WithServiceName("grpc-svc"), vigil.WithoutMetrics(), vigil.WithoutLogs())
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("t").Start(context.Background(), "over-grpc")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if len(svc.names) != 1 || svc.names[0] != "over-grpc" {
		t.Fatalf("spans %v", svc.names)
	}
}

func TestStartRejectsBadConfiguration(t *testing.T) {
	f := func(env, value, want string, opts ...vigil.Option) {
		t.Helper()
		if env != "" {
			t.Setenv(env, value)
		}
		_, err := vigil.Start(context.Background(), opts...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: err %v, want it to mention %q", env, value, err, want)
		}
		if env != "" {
			t.Setenv(env, "")
		}
	}
	f("", "", "xml", vigil.WithProtocol("xml"))
	f("OTEL_TRACES_SAMPLER", "sometimes", "sometimes")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "1.5")
	f("OTEL_TRACES_SAMPLER", "traceidratio", "1.5")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "")
	f("OTEL_PROPAGATORS", "xray", "xray")
	f("OTEL_METRIC_EXPORT_INTERVAL", "soon", "soon")
}

func TestSDKDisabled(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true")
	shutdown, err := vigil.Start(context.Background(), vigil.WithProtocol("not-checked"))
	if err != nil || shutdown(context.Background()) != nil {
		t.Fatal(err)
	}
}

// TestNoServerDependency: the SDK module must not depend on the server
// module or its internal packages.
func TestNoServerDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}} {{if .Module}}{{.Module.Path}}{{end}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		pkg, mod, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, "github.com/vigilhq/vigil/internal") || mod == "github.com/vigilhq/vigil" {
			t.Errorf("SDK depends on the server: %s (module %s)", pkg, mod)
		}
	}
	mods, err := exec.Command("go", "list", "-m", "all").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -m: %v\n%s", err, mods)
	}
	for _, line := range strings.Split(string(mods), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "github.com/vigilhq/vigil" {
			t.Errorf("go.mod requires the server module: %s", line)
		}
	}
}

// TestTracerProviders: the default global provider is the lean
// tracing.Provider; WithOpenTelemetryTracer installs the OpenTelemetry
// SDK's. Both export the span over OTLP/HTTP.
func TestTracerProviders(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []vigil.Option
		want string
	}{
		{"default", nil, "*tracing.Provider"},
		{"otel", []vigil.Option{vigil.WithOpenTelemetryTracer()}, "*trace.TracerProvider"},
	} {
		t.Run(c.name, func(t *testing.T) {
			col := &collector{}
			srv := httptest.NewServer(col)
			defer srv.Close()
			opts := append([]vigil.Option{vigil.WithEndpoint(srv.URL + "/otlp"), vigil.WithoutMetrics(), vigil.WithoutLogs(),
				vigil.WithRegistry(metric.New(metric.Options{}))}, c.opts...)
			shutdown, err := vigil.Start(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", otel.GetTracerProvider()); got != c.want {
				t.Errorf("global provider %s, want %s", got, c.want)
			}
			_, span := otel.Tracer("t").Start(context.Background(), "op-"+c.name)
			span.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			col.mu.Lock()
			defer col.mu.Unlock()
			if len(col.traces) != 1 || col.traces[0].ResourceSpans[0].ScopeSpans[0].Spans[0].Name != "op-"+c.name {
				t.Fatalf("exported %v", col.traces)
			}
		})
	}
}
