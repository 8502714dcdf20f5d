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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log/global"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/internal/otlpenv"
	"github.com/vigilhq/vigil/sdk/logging"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/propagation"
	"github.com/vigilhq/vigil/sdk/sampling"
	"github.com/vigilhq/vigil/sdk/tracing"
)

// ShutdownFunc flushes and stops everything Start set up, giving up when
// ctx ends; a ctx without a deadline gets one, DefaultShutdownTimeout from
// the call unless WithShutdownTimeout says otherwise, so a backend that
// never answers cannot hold the process up. What could not be exported in
// time is counted as dropped and logged. It is safe to call more than once.
type ShutdownFunc func(ctx context.Context) error

// DefaultShutdownTimeout bounds a ShutdownFunc whose context has no
// deadline: well inside Kubernetes' default 30-second termination grace
// period, and enough for a reachable backend to take the last batches.
const DefaultShutdownTimeout = 5 * time.Second

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
	if c.batch.Logger == nil {
		c.batch.Logger = c.logger
	}
	otelErrors := c.registry.Counter("vigil_sdk_otel_errors_total",
		"Errors reported by the OpenTelemetry SDK (failed metric exports and the like).").With()
	otelLog := export.NewFailureLog(c.logger, "opentelemetry error")
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		otelErrors.Inc()
		otelLog.Record(err, 0)
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

	// Traces and logs shut down together, then metrics, so that the final
	// metric export carries the other signals' export and drop counts.
	var shutdowns, metricShutdown []func(context.Context) error
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
		lp, handler, err := c.startLogs(ctx, res)
		if err != nil {
			return fail(err)
		}
		global.SetLoggerProvider(lp)
		shutdowns = append(shutdowns, lp.Shutdown)
		if c.setSlogDefault {
			slog.SetDefault(slog.New(handler))
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
		metricShutdown = append(metricShutdown, mp.Shutdown)
	}

	var once sync.Once
	var result error
	return func(ctx context.Context) error {
		once.Do(func() {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.shutdownTimeout)
				defer cancel()
			}
			result = shutdownAll(ctx, shutdowns, metricShutdown)
		})
		return result
	}, nil
}

// shutdownAll runs first concurrently, within three quarters of ctx's
// remaining time, then last within what is left: a backend that never
// answers cannot take the metrics' final export's time too.
func shutdownAll(ctx context.Context, first, last []func(context.Context) error) error {
	firstCtx := ctx
	if d, ok := ctx.Deadline(); ok && len(last) > 0 {
		var cancel context.CancelFunc
		firstCtx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(d)*3/4))
		defer cancel()
	}
	errs := make([]error, len(first), len(first)+len(last))
	var wg sync.WaitGroup
	for i, s := range first {
		wg.Go(func() { errs[i] = s(firstCtx) })
	}
	wg.Wait()
	for _, s := range last {
		errs = append(errs, s(ctx))
	}
	return errors.Join(errs...)
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
		if strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")) == "http/json" {
			opts = append(opts, tracing.WithClient(client)) // otlptracehttp encodes JSON from the messages
		} else {
			opts = append(opts, tracing.WithProtobufClient(client))
		}
	}
	tp := tracing.NewProvider(opts...)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// startLogs returns the global logger provider and the slog handler
// WithSlogDefault installs: the lean logging.Exporter over OTLP (also the
// default exporter of logging handlers), or with WithLogExporter the
// OpenTelemetry log SDK with the counted batch processor.
func (c *config) startLogs(ctx context.Context, res *resource.Resource) (*sdklog.LoggerProvider, *logging.Handler, error) {
	if c.logExporter != nil {
		lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(export.NewLogProcessor(c.logExporter, c.batch)))
		return lp, logging.New(logging.Options{LoggerProvider: lp, Attrs: c.slogAttrs(), Registry: c.registry}), nil
	}
	client, err := c.newLogClient()
	if err != nil {
		return nil, nil, fmt.Errorf("create OTLP log client: %w", err)
	}
	e, err := logging.NewExporter(client, logging.ExporterOptions{Resource: res, Batch: c.batch})
	if err != nil {
		return nil, nil, fmt.Errorf("start OTLP log client: %w", err)
	}
	logging.SetDefaultExporter(e)
	return e.LoggerProvider(), logging.New(logging.Options{Exporter: e, Attrs: c.slogAttrs(), Registry: c.registry}), nil
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
	if c.protocol == "" {
		c.protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if !otlpenv.ValidHeaderValue(c.token) || strings.ContainsAny(c.token, " \t") {
		return errors.New("WithToken: the token holds a space or control character, which no bearer token has")
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
	if c.shutdownTimeout <= 0 {
		c.shutdownTimeout = DefaultShutdownTimeout
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

// resource describes the service. Three layers, each overriding the one
// before, as the OpenTelemetry resource specification orders them: defaults
// (service.name = the executable's name, a random service.instance.id),
// then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (which wins over a
// service.name in the former), then options. The service name it settles
// on is stored in c.serviceName for the local log output.
func (c *config) resource(ctx context.Context) (*resource.Resource, error) {
	defaults := []attribute.KeyValue{
		attribute.String("service.name", filepath.Base(os.Args[0])),
		attribute.String("service.instance.id", rand.Text()),
	}
	var attrs []attribute.KeyValue
	if c.serviceName != "" {
		attrs = append(attrs, attribute.String("service.name", c.serviceName))
	}
	if c.instanceID != "" {
		attrs = append(attrs, attribute.String("service.instance.id", c.instanceID))
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
		resource.WithAttributes(defaults...),
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
	if v, ok := res.Set().Value("service.name"); ok {
		c.serviceName = v.AsString()
	}
	if v, ok := res.Set().Value("service.version"); ok {
		c.serviceVersion = v.AsString()
	}
	return res, nil
}

// MetricsHandler serves metric.Default() in the Prometheus text format and
// OpenMetrics; mount it at /metrics.
func MetricsHandler() http.Handler { return metric.Default().Handler() }
