package vigil_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	vigil "github.com/vigilhq/vigil/sdk"
	"github.com/vigilhq/vigil/sdk/logging"
	"github.com/vigilhq/vigil/sdk/metric"
)

// receiver is a fake OTLP receiver over HTTP or gRPC that keeps the
// headers (gRPC metadata) of every export, by signal.
type receiver struct {
	mu      sync.Mutex
	headers map[string][]http.Header // "traces", "metrics", "logs"
}

func (r *receiver) record(signal string, h http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.headers == nil {
		r.headers = map[string][]http.Header{}
	}
	r.headers[signal] = append(r.headers[signal], h)
}

// startHTTP serves OTLP/HTTP and returns the endpoint URL.
func (r *receiver) startHTTP(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		signal, ok := strings.CutPrefix(req.URL.Path, "/v1/")
		if !ok {
			http.NotFound(w, req)
			return
		}
		r.record(signal, req.Header.Clone())
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type traceSvc struct {
	collectortrace.UnimplementedTraceServiceServer
}

func (traceSvc) Export(context.Context, *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

type metricsSvc struct {
	collectormetrics.UnimplementedMetricsServiceServer
}

func (metricsSvc) Export(context.Context, *collectormetrics.ExportMetricsServiceRequest) (*collectormetrics.ExportMetricsServiceResponse, error) {
	return &collectormetrics.ExportMetricsServiceResponse{}, nil
}

type logsSvc struct {
	collectorlogs.UnimplementedLogsServiceServer
}

func (logsSvc) Export(context.Context, *collectorlogs.ExportLogsServiceRequest) (*collectorlogs.ExportLogsServiceResponse, error) {
	return &collectorlogs.ExportLogsServiceResponse{}, nil
}

// startGRPC serves the three OTLP gRPC services and returns host:port.
func (r *receiver) startGRPC(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		signal := map[string]string{
			"/opentelemetry.proto.collector.trace.v1.TraceService/Export":     "traces",
			"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export": "metrics",
			"/opentelemetry.proto.collector.logs.v1.LogsService/Export":       "logs",
		}[info.FullMethod]
		md, _ := metadata.FromIncomingContext(ctx)
		h := http.Header{}
		for k, vs := range md {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		r.record(signal, h)
		return handler(ctx, req)
	}))
	collectortrace.RegisterTraceServiceServer(gs, traceSvc{})
	collectormetrics.RegisterMetricsServiceServer(gs, metricsSvc{})
	collectorlogs.RegisterLogsServiceServer(gs, logsSvc{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// exportAll starts the SDK against rec over proto with opts, makes a
// span, a metric and a log record, and shuts down, which exports all
// three.
func exportAll(t *testing.T, rec *receiver, proto string, opts ...vigil.Option) {
	t.Helper()
	reg := metric.New(metric.Options{})
	base := []vigil.Option{vigil.WithServiceName("headers"), vigil.WithRegistry(reg), vigil.WithMetricInterval(time.Hour),
		vigil.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	if proto == vigil.ProtocolGRPC {
		base = append(base, vigil.WithProtocol(vigil.ProtocolGRPC), vigil.WithEndpoint(rec.startGRPC(t)), vigil.WithInsecure())
	} else {
		base = append(base, vigil.WithEndpoint(rec.startHTTP(t)))
	}
	shutdown, err := vigil.Start(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := otel.Tracer("t").Start(context.Background(), "op")
	reg.Counter("things_total", "Things.").With().Inc()
	slog.New(logging.New(logging.Options{NoLocal: true})).InfoContext(ctx, "a record")
	span.End()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}

// check asserts that every export of each signal carried the headers of
// want[signal] (name: value; "" means absent).
func (r *receiver) check(t *testing.T, want map[string]map[string]string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, signal := range []string{"traces", "metrics", "logs"} {
		got := r.headers[signal]
		if len(got) == 0 {
			t.Errorf("%s: no export arrived", signal)
			continue
		}
		for _, h := range got {
			for k, v := range want[signal] {
				if h.Get(k) != v {
					t.Errorf("%s: header %s = %q, want %q", signal, k, h.Get(k), v)
				}
			}
		}
	}
}

func same(h map[string]string) map[string]map[string]string {
	return map[string]map[string]string{"traces": h, "metrics": h, "logs": h}
}

func forBothProtocols(t *testing.T, f func(t *testing.T, proto string)) {
	for _, p := range []string{vigil.ProtocolHTTP, vigil.ProtocolGRPC} {
		t.Run(strings.ReplaceAll(p, "/", "-"), func(t *testing.T) { f(t, p) })
	}
}

// WithToken reaches all three signals' exporters as a bearer token.
func TestWithTokenReachesEverySignal(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, proto string) {
		rec := &receiver{}
		exportAll(t, rec, proto, vigil.WithToken("vigil_s3cr3t"))
		rec.check(t, same(map[string]string{"Authorization": "Bearer vigil_s3cr3t"}))
	})
}

// OTEL_EXPORTER_OTLP_HEADERS reaches all three signals' exporters.
func TestHeadersVariableReachesEverySignal(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, proto string) {
		t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,authorization=Bearer%20from-env")
		rec := &receiver{}
		exportAll(t, rec, proto)
		rec.check(t, same(map[string]string{"X-Tenant": "acme", "Authorization": "Bearer from-env"}))
	})
}

// Each OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS reaches its own signal and
// replaces the general variable there.
func TestPerSignalHeadersVariables(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, proto string) {
		t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=general,x-general=1")
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=traces")
		t.Setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-tenant=metrics")
		t.Setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=logs")
		rec := &receiver{}
		exportAll(t, rec, proto)
		rec.check(t, map[string]map[string]string{
			"traces":  {"X-Tenant": "traces", "X-General": ""},
			"metrics": {"X-Tenant": "metrics", "X-General": ""},
			"logs":    {"X-Tenant": "logs", "X-General": ""},
		})
	})
}

// A token is added to the variables' headers (per signal), replacing an
// Authorization header there, and to WithHeaders' headers.
func TestWithTokenKeepsOtherHeaders(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, proto string) {
		t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,Authorization=Basic%20b2xk")
		t.Setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=logs-tenant")
		rec := &receiver{}
		exportAll(t, rec, proto, vigil.WithToken("tok1"))
		rec.check(t, map[string]map[string]string{
			"traces":  {"X-Tenant": "acme", "Authorization": "Bearer tok1"},
			"metrics": {"X-Tenant": "acme", "Authorization": "Bearer tok1"},
			"logs":    {"X-Tenant": "logs-tenant", "Authorization": "Bearer tok1"},
		})

		rec = &receiver{}
		exportAll(t, rec, proto, vigil.WithHeaders(map[string]string{"X-Scope-OrgID": "team-a"}), vigil.WithToken("tok2"))
		rec.check(t, same(map[string]string{"X-Scope-OrgID": "team-a", "X-Tenant": "", "Authorization": "Bearer tok2"}))
	})
}

func TestBadTokenOrHeadersVariable(t *testing.T) {
	_, err := vigil.Start(context.Background(), vigil.WithToken("tok\r\nX-Evil: 1"), vigil.WithoutMetrics())
	if err == nil || !strings.Contains(err.Error(), "WithToken") {
		t.Errorf("token with CRLF: err %v, want it refused naming WithToken", err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "no-equals-sign")
	_, err = vigil.Start(context.Background(), vigil.WithToken("tok"), vigil.WithoutMetrics(), vigil.WithoutLogs())
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
		t.Errorf("malformed variable: err %v, want it named", err)
	}
}

// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json makes OpenTelemetry's HTTP
// trace client send JSON, which it encodes from the messages: the
// provider then hands it messages, not its own protobuf encoding.
func TestTracesOverHTTPJSON(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Header.Get("Content-Type")+" "+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	shutdown, err := vigil.Start(context.Background(), vigil.WithEndpoint(srv.URL), vigil.WithoutMetrics(), vigil.WithoutLogs(),
		vigil.WithRegistry(metric.New(metric.Options{})))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("t").Start(context.Background(), "json-span")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !strings.HasPrefix(bodies[0], "application/json ") || !strings.Contains(bodies[0], `"json-span"`) {
		t.Fatalf("bodies %q, want one JSON export holding the span", bodies)
	}
}
