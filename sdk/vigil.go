// Package vigil instruments a Go service in one call: Start sets up
// OpenTelemetry traces, metrics and logs exported over OTLP (to Vigil or any
// OTLP endpoint), a resource describing the service, propagators, and the
// global providers, and returns a function that flushes and shuts it all
// down.
//
//	shutdown, err := vigil.Start(ctx, vigil.WithServiceName("shop"))
//	if err != nil { return err }
//	defer shutdown(context.Background())
//
// The sub-packages add what OpenTelemetry Go lacks: sampling (consistent
// probability, per-operation, rate-limited and adaptive samplers), metric (a
// nanosecond hot path with cardinality limits and a Prometheus handler),
// logging (a trace-aware slog handler), health (checks with /livez /readyz
// /healthz), propagation (strict W3C parsing that counts invalid headers)
// and export (batch processors that count every drop).
package vigil

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/log/global"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/logging"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/propagation"
	"github.com/vigilhq/vigil/sdk/sampling"
	"github.com/vigilhq/vigil/sdk/tracing"
)

// ShutdownFunc flushes and stops everything Start set up, giving up when
// ctx ends. It is safe to call more than once.
type ShutdownFunc func(ctx context.Context) error

// Start sets up tracing, metrics and logging and installs them as the
// OpenTelemetry globals. With OTEL_SDK_DISABLED=true it installs nothing and
// returns a no-op shutdown.
func Start(ctx context.Context, opts ...Option) (ShutdownFunc, error) {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return func(context.Context) error { return nil }, nil
	}
	if err := c.fromEnv(); err != nil {
		return nil, err
	}
	if c.registry == nil {
		c.registry = metric.Default()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "vigil-sdk")
	}
	c.batch.Registry = c.registry
	otelErrors := c.registry.Counter("vigil_sdk_otel_errors_total",
		"Errors reported by the OpenTelemetry SDK (failed metric exports and the like).").With()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		otelErrors.Inc()
		c.logger.Warn("opentelemetry error", "err", err)
	}))

	res, err := c.resource(ctx)
	if err != nil {
		return nil, err
	}
	prop, err := propagation.New(c.registry, c.propagators...)
	if err != nil {
		return nil, err
	}
	otel.SetTextMapPropagator(prop)

	var shutdowns []func(context.Context) error
	fail := func(err error) (ShutdownFunc, error) {
		for _, s := range shutdowns {
			_ = s(context.Background())
		}
		return nil, err
	}

	if !c.noTraces {
		shutdown, err := c.startTraces(ctx, res)
		if err != nil {
			return fail(err)
		}
		shutdowns = append(shutdowns, shutdown)
	}
	if !c.noLogs {
		exp := c.logExporter
		if exp == nil {
			if exp, err = c.newLogExporter(ctx); err != nil {
				return fail(fmt.Errorf("create OTLP log exporter: %w", err))
			}
		}
		lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(export.NewLogProcessor(exp, c.batch)))
		global.SetLoggerProvider(lp)
		shutdowns = append(shutdowns, lp.Shutdown)
		if c.setSlogDefault {
			slog.SetDefault(slog.New(logging.New(logging.Options{LoggerProvider: lp, Attrs: c.slogAttrs(), Registry: c.registry})))
		}
	} else if c.setSlogDefault {
		slog.SetDefault(slog.New(logging.New(logging.Options{NoOTLP: true, Attrs: c.slogAttrs(), Registry: c.registry})))
	}
	if !c.noMetrics {
		exp := c.metricExporter
		if exp == nil {
			if exp, err = c.newMetricExporter(ctx); err != nil {
				return fail(fmt.Errorf("create OTLP metric exporter: %w", err))
			}
		}
		reader := sdkmetric.NewPeriodicReader(exp,
			sdkmetric.WithInterval(c.metricInterval),
			sdkmetric.WithProducer(c.registry.Producer()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
		otel.SetMeterProvider(mp)
		// Metrics last: their final export includes the other signals' drop counts.
		shutdowns = append(shutdowns, mp.Shutdown)
	}

	var once sync.Once
	var result error
	return func(ctx context.Context) error {
		once.Do(func() {
			var errs []error
			for _, s := range shutdowns {
				errs = append(errs, s(ctx))
			}
			result = errors.Join(errs...)
		})
		return result
	}, nil
}

// startTraces installs the global tracer provider: the lean
// tracing.Provider, or with WithOpenTelemetryTracer the OpenTelemetry SDK's
// provider with the counted batch processor.
func (c *config) startTraces(ctx context.Context, res *resource.Resource) (func(context.Context) error, error) {
	if c.otelTracer {
		exp := c.spanExporter
		if exp == nil {
			var err error
			if exp, err = c.newSpanExporter(ctx); err != nil {
				return nil, fmt.Errorf("create OTLP span exporter: %w", err)
			}
		}
		tp := sdktrace.NewTracerProvider(
			sdktrace.WithResource(res),
			sdktrace.WithSampler(c.sampler),
			sdktrace.WithSpanProcessor(export.NewSpanProcessor(exp, c.batch)),
		)
		otel.SetTracerProvider(tp)
		return tp.Shutdown, nil
	}
	opts := []tracing.Option{tracing.WithResource(res), tracing.WithSampler(c.sampler), tracing.WithBatch(c.batch)}
	if c.spanExporter != nil {
		opts = append(opts, tracing.WithExporter(c.spanExporter))
	} else {
		client, err := c.newSpanClient(ctx)
		if err != nil {
			return nil, fmt.Errorf("create OTLP span client: %w", err)
		}
		opts = append(opts, tracing.WithClient(client))
	}
	tp := tracing.NewProvider(opts...)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// slogAttrs are the resource attributes added to local log output.
func (c *config) slogAttrs() []slog.Attr {
	attrs := []slog.Attr{slog.String("service.name", c.serviceName)}
	if c.serviceVersion != "" {
		attrs = append(attrs, slog.String("service.version", c.serviceVersion))
	}
	return attrs
}

// fromEnv fills what options left unset from OTEL_* variables and defaults.
func (c *config) fromEnv() error {
	if c.serviceName == "" {
		c.serviceName = os.Getenv("OTEL_SERVICE_NAME")
	}
	if c.serviceName == "" {
		c.serviceName = filepath.Base(os.Args[0])
	}
	if c.instanceID == "" {
		c.instanceID = rand.Text()
	}
	if c.protocol == "" {
		c.protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch c.protocol {
	case "":
		c.protocol = ProtocolHTTP
	case ProtocolGRPC, ProtocolHTTP:
	default:
		return fmt.Errorf("OTLP protocol %q is not supported: want %q or %q", c.protocol, ProtocolGRPC, ProtocolHTTP)
	}
	if c.sampler == nil {
		s, err := samplerFromEnv()
		if err != nil {
			return err
		}
		c.sampler = s
	}
	if c.propagators == nil {
		if v := os.Getenv("OTEL_PROPAGATORS"); v != "" {
			c.propagators = strings.Split(v, ",")
		}
	}
	if c.metricInterval <= 0 {
		c.metricInterval = 60 * time.Second
		if v := os.Getenv("OTEL_METRIC_EXPORT_INTERVAL"); v != "" {
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				return fmt.Errorf("OTEL_METRIC_EXPORT_INTERVAL=%q: want a positive number of milliseconds", v)
			}
			c.metricInterval = time.Duration(ms) * time.Millisecond
		}
	}
	return nil
}

// samplerFromEnv maps OTEL_TRACES_SAMPLER to the consistent samplers of
// package sampling, so probabilities are recorded in tracestate.
func samplerFromEnv() (s sdkTraceSampler, err error) {
	name := os.Getenv("OTEL_TRACES_SAMPLER")
	arg := os.Getenv("OTEL_TRACES_SAMPLER_ARG")
	ratio := 1.0
	if arg != "" && strings.Contains(name, "traceidratio") {
		if ratio, err = strconv.ParseFloat(arg, 64); err != nil || ratio < 0 || ratio > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a probability between 0 and 1", arg)
		}
	}
	switch name {
	case "", "parentbased_always_on":
		return sampling.ParentBased(sampling.Probability(1)), nil
	case "always_on":
		return sampling.Probability(1), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sampling.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return sampling.Probability(ratio), nil
	case "parentbased_traceidratio":
		return sampling.ParentBased(sampling.Probability(ratio)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%q is not supported: want always_on, always_off, traceidratio or their parentbased_ forms", name)
}

type sdkTraceSampler = sdktrace.Sampler

func (c *config) resource(ctx context.Context) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{
		attribute.String("service.name", c.serviceName),
		attribute.String("service.instance.id", c.instanceID),
	}
	if c.serviceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", c.serviceVersion))
	}
	if c.environment != "" {
		attrs = append(attrs, attribute.String("deployment.environment.name", c.environment))
	}
	attrs = append(attrs, c.attrs...)
	// Process command-line arguments are left out on purpose: they often
	// carry secrets.
	res, err := resource.New(ctx,
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithAttributes(attrs...), // options win over OTEL_RESOURCE_ATTRIBUTES
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return nil, fmt.Errorf("detect resource: %w", err)
	}
	return res, nil
}

// endpoint describes where one signal goes.
type endpoint struct {
	hostPort string // set when the endpoint is host:port or a URL
	path     string // HTTP path for the signal
	insecure bool
}

func (c *config) endpointFor(signal string) (endpoint, bool, error) {
	if c.endpoint == "" {
		if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_"+strings.ToUpper(signal)+"_ENDPOINT") != "" {
			return endpoint{}, false, nil // the exporters read the variables themselves
		}
		// The OpenTelemetry specification's default, which is also where
		// Vigil listens; OTel Go's exporters would otherwise use TLS.
		if c.protocol == ProtocolGRPC {
			return endpoint{hostPort: "localhost:4317", insecure: true}, true, nil
		}
		return endpoint{hostPort: "localhost:4318", path: "/v1/" + signal, insecure: true}, true, nil
	}
	if !strings.Contains(c.endpoint, "://") {
		return endpoint{hostPort: c.endpoint, path: "/v1/" + signal, insecure: c.insecure}, true, nil
	}
	u, err := url.Parse(c.endpoint)
	if err != nil || u.Host == "" {
		return endpoint{}, false, fmt.Errorf("OTLP endpoint %q: want a URL such as http://localhost:4318 or host:port", c.endpoint)
	}
	return endpoint{
		hostPort: u.Host,
		path:     strings.TrimSuffix(u.Path, "/") + "/v1/" + signal,
		insecure: u.Scheme == "http" || c.insecure,
	}, true, nil
}

// newSpanClient returns a started OTLP trace client.
func (c *config) newSpanClient(ctx context.Context) (otlptrace.Client, error) {
	var client otlptrace.Client
	ep, set, err := c.endpointFor("traces")
	if err != nil {
		return nil, err
	}
	if c.protocol == ProtocolGRPC {
		var o []otlptracegrpc.Option
		if set {
			o = append(o, otlptracegrpc.WithEndpoint(ep.hostPort))
			if ep.insecure {
				o = append(o, otlptracegrpc.WithInsecure())
			}
		}
		if c.headers != nil {
			o = append(o, otlptracegrpc.WithHeaders(c.headers))
		}
		if c.tls != nil {
			o = append(o, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(c.tls)))
		}
		client = otlptracegrpc.NewClient(o...)
	} else {
		var o []otlptracehttp.Option
		if set {
			o = append(o, otlptracehttp.WithEndpoint(ep.hostPort), otlptracehttp.WithURLPath(ep.path))
			if ep.insecure {
				o = append(o, otlptracehttp.WithInsecure())
			}
		}
		if c.headers != nil {
			o = append(o, otlptracehttp.WithHeaders(c.headers))
		}
		if c.tls != nil {
			o = append(o, otlptracehttp.WithTLSClientConfig(c.tls))
		}
		client = otlptracehttp.NewClient(o...)
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	return client, nil
}

func (c *config) newSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	client, err := c.newSpanClient(ctx)
	if err != nil {
		return nil, err
	}
	return otlptrace.New(ctx, client)
}

func (c *config) newMetricExporter(ctx context.Context) (sdkmetric.Exporter, error) {
	ep, set, err := c.endpointFor("metrics")
	if err != nil {
		return nil, err
	}
	if c.protocol == ProtocolGRPC {
		var o []otlpmetricgrpc.Option
		if set {
			o = append(o, otlpmetricgrpc.WithEndpoint(ep.hostPort))
			if ep.insecure {
				o = append(o, otlpmetricgrpc.WithInsecure())
			}
		}
		if c.headers != nil {
			o = append(o, otlpmetricgrpc.WithHeaders(c.headers))
		}
		if c.tls != nil {
			o = append(o, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(c.tls)))
		}
		return otlpmetricgrpc.New(ctx, o...)
	}
	var o []otlpmetrichttp.Option
	if set {
		o = append(o, otlpmetrichttp.WithEndpoint(ep.hostPort), otlpmetrichttp.WithURLPath(ep.path))
		if ep.insecure {
			o = append(o, otlpmetrichttp.WithInsecure())
		}
	}
	if c.headers != nil {
		o = append(o, otlpmetrichttp.WithHeaders(c.headers))
	}
	if c.tls != nil {
		o = append(o, otlpmetrichttp.WithTLSClientConfig(c.tls))
	}
	return otlpmetrichttp.New(ctx, o...)
}

func (c *config) newLogExporter(ctx context.Context) (sdklog.Exporter, error) {
	ep, set, err := c.endpointFor("logs")
	if err != nil {
		return nil, err
	}
	if c.protocol == ProtocolGRPC {
		var o []otlploggrpc.Option
		if set {
			o = append(o, otlploggrpc.WithEndpoint(ep.hostPort))
			if ep.insecure {
				o = append(o, otlploggrpc.WithInsecure())
			}
		}
		if c.headers != nil {
			o = append(o, otlploggrpc.WithHeaders(c.headers))
		}
		if c.tls != nil {
			o = append(o, otlploggrpc.WithTLSCredentials(credentials.NewTLS(c.tls)))
		}
		return otlploggrpc.New(ctx, o...)
	}
	var o []otlploghttp.Option
	if set {
		o = append(o, otlploghttp.WithEndpoint(ep.hostPort), otlploghttp.WithURLPath(ep.path))
		if ep.insecure {
			o = append(o, otlploghttp.WithInsecure())
		}
	}
	if c.headers != nil {
		o = append(o, otlploghttp.WithHeaders(c.headers))
	}
	if c.tls != nil {
		o = append(o, otlploghttp.WithTLSClientConfig(c.tls))
	}
	return otlploghttp.New(ctx, o...)
}

// MetricsHandler serves metric.Default() in the Prometheus text format and
// OpenMetrics; mount it at /metrics.
func MetricsHandler() http.Handler { return metric.Default().Handler() }
