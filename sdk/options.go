package vigil

import (
	"crypto/tls"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
)

// Protocols accepted by WithProtocol and OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Option configures Start. Options win over the OTEL_* environment
// variables, which win over defaults.
type Option func(*config)

type config struct {
	serviceName, serviceVersion, instanceID, environment string
	attrs                                                []attribute.KeyValue

	endpoint string
	protocol string
	headers  map[string]string
	token    string
	insecure bool
	tls      *tls.Config

	sampler     sdktrace.Sampler
	propagators []string

	metricInterval  time.Duration
	shutdownTimeout time.Duration
	registry        *metric.Registry
	batch           export.Options

	spanExporter   sdktrace.SpanExporter
	metricExporter sdkmetric.Exporter
	logExporter    sdklog.Exporter

	otelTracer                  bool
	noTraces, noMetrics, noLogs bool
	setSlogDefault              bool
	logger                      *slog.Logger
}

// WithServiceName sets service.name (else OTEL_SERVICE_NAME, else the
// executable's name).
func WithServiceName(name string) Option { return func(c *config) { c.serviceName = name } }

// WithServiceVersion sets service.version.
func WithServiceVersion(v string) Option { return func(c *config) { c.serviceVersion = v } }

// WithInstanceID sets service.instance.id (else a random UUID per process).
func WithInstanceID(id string) Option { return func(c *config) { c.instanceID = id } }

// WithEnvironment sets deployment.environment.name.
func WithEnvironment(env string) Option { return func(c *config) { c.environment = env } }

// WithAttributes adds resource attributes.
func WithAttributes(kv ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, kv...) }
}

// WithEndpoint sets the OTLP endpoint for all signals: a URL
// ("http://localhost:4318", "https://otlp.example.com") or host:port.
// Else OTEL_EXPORTER_OTLP_ENDPOINT (and the per-signal variables), else
// http://localhost:4318 (HTTP) or http://localhost:4317 (gRPC), without TLS,
// as the OpenTelemetry specification says and where vigil serve listens.
func WithEndpoint(endpoint string) Option { return func(c *config) { c.endpoint = endpoint } }

// WithProtocol selects ProtocolGRPC or ProtocolHTTP (else
// OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf).
func WithProtocol(p string) Option { return func(c *config) { c.protocol = p } }

// WithHeaders adds headers to every export of all signals, instead of
// those of OTEL_EXPORTER_OTLP_HEADERS and the per-signal variables. For a
// bearer token WithToken is simpler.
func WithHeaders(h map[string]string) Option { return func(c *config) { c.headers = h } }

// WithToken sends "Authorization: Bearer <token>" on every export of
// traces, metrics and logs, over HTTP and gRPC (as gRPC metadata): a Vigil
// API token with the ingest scope, or any OTLP backend's bearer token. It
// is added to the headers given with WithHeaders, or else to those of
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_HEADERS,
// replacing an Authorization header there. An empty token changes nothing.
// Use it with TLS (an https:// endpoint) anywhere but on loopback: over
// plain text the token can be read on the way.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithInsecure sends without TLS to a host:port endpoint.
func WithInsecure() Option { return func(c *config) { c.insecure = true } }

// WithTLS sets the client TLS configuration.
func WithTLS(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// WithSampler sets the trace sampler (else OTEL_TRACES_SAMPLER, else
// parent-based consistent probability 1, which keeps every trace).
func WithSampler(s sdktrace.Sampler) Option { return func(c *config) { c.sampler = s } }

// WithPropagators names the propagators: tracecontext, baggage, b3,
// b3multi, jaeger (else OTEL_PROPAGATORS, else tracecontext,baggage).
func WithPropagators(names ...string) Option { return func(c *config) { c.propagators = names } }

// WithMetricInterval sets how often metrics are exported (default 60s, or
// OTEL_METRIC_EXPORT_INTERVAL in milliseconds).
func WithMetricInterval(d time.Duration) Option { return func(c *config) { c.metricInterval = d } }

// WithShutdownTimeout bounds the ShutdownFunc when its context has no
// deadline (default DefaultShutdownTimeout, 5 seconds). A context with a
// deadline is used as it is.
func WithShutdownTimeout(d time.Duration) Option { return func(c *config) { c.shutdownTimeout = d } }

// WithRegistry exports reg instead of metric.Default().
func WithRegistry(reg *metric.Registry) Option { return func(c *config) { c.registry = reg } }

// WithBatch configures the span and log batch processors.
func WithBatch(o export.Options) Option { return func(c *config) { c.batch = o } }

// WithOpenTelemetryTracer installs the OpenTelemetry SDK's TracerProvider
// (with this SDK's sampler and counted batch processor) instead of the
// leaner tracing.Provider, for code that needs the SDK's own hooks. A
// sampled span then costs about twice as much CPU.
func WithOpenTelemetryTracer() Option { return func(c *config) { c.otelTracer = true } }

// WithSpanExporter replaces the OTLP span exporter.
func WithSpanExporter(e sdktrace.SpanExporter) Option { return func(c *config) { c.spanExporter = e } }

// WithMetricExporter replaces the OTLP metric exporter.
func WithMetricExporter(e sdkmetric.Exporter) Option {
	return func(c *config) { c.metricExporter = e }
}

// WithLogExporter replaces the OTLP log exporter.
func WithLogExporter(e sdklog.Exporter) Option { return func(c *config) { c.logExporter = e } }

// WithoutTraces, WithoutMetrics and WithoutLogs turn a signal off.
func WithoutTraces() Option  { return func(c *config) { c.noTraces = true } }
func WithoutMetrics() Option { return func(c *config) { c.noMetrics = true } }
func WithoutLogs() Option    { return func(c *config) { c.noLogs = true } }

// WithSlogDefault makes slog.Default() a logging.Handler that writes JSON to
// stderr and ships records over OTLP with trace and span IDs.
func WithSlogDefault() Option { return func(c *config) { c.setSlogDefault = true } }

// WithLogger sets where the SDK reports its own errors (failed exports, at
// most one line per signal every 10 seconds, and items left unexported at
// shutdown); default a text logger on stderr. It must not feed back into
// OTLP logs.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
