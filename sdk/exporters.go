package vigil

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"github.com/vigilhq/vigil/sdk/internal/otlpenv"
	"github.com/vigilhq/vigil/sdk/logexport"
)

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

// headersFor returns the headers to give signal's exporter: WithHeaders'
// with WithToken's Authorization added. With a token and no WithHeaders
// the token is added to what OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS or
// OTEL_EXPORTER_OTLP_HEADERS set, since an exporter given headers no
// longer reads the variables. nil lets the exporter read them itself.
func (c *config) headersFor(signal string) (map[string]string, error) {
	if c.token == "" {
		return c.headers, nil
	}
	base := c.headers
	if base == nil {
		var err error
		if base, err = otlpenv.Headers(signal); err != nil {
			return nil, err
		}
	}
	h := make(map[string]string, len(base)+1)
	for k, v := range base {
		if !strings.EqualFold(k, "Authorization") {
			h[k] = v
		}
	}
	h["Authorization"] = "Bearer " + c.token
	return h, nil
}

// optionSet holds one OTLP exporter package's option constructors, so
// that the six exporters (three signals, two protocols) are configured by
// one function.
type optionSet[O any] struct {
	endpoint func(string) O
	urlPath  func(string) O // HTTP only
	insecure func() O
	headers  func(map[string]string) O
	tls      func(*tls.Config) O
}

// options turns the configuration into exporter options for one signal.
func options[O any](c *config, signal string, f optionSet[O]) ([]O, error) {
	ep, set, err := c.endpointFor(signal)
	if err != nil {
		return nil, err
	}
	var o []O
	if set {
		o = append(o, f.endpoint(ep.hostPort))
		if f.urlPath != nil {
			o = append(o, f.urlPath(ep.path))
		}
		if ep.insecure {
			o = append(o, f.insecure())
		}
	}
	h, err := c.headersFor(signal)
	if err != nil {
		return nil, err
	}
	if h != nil {
		o = append(o, f.headers(h))
	}
	if c.tls != nil {
		o = append(o, f.tls(c.tls))
	}
	return o, nil
}

var (
	traceGRPC = optionSet[otlptracegrpc.Option]{
		endpoint: otlptracegrpc.WithEndpoint, insecure: otlptracegrpc.WithInsecure, headers: otlptracegrpc.WithHeaders,
		tls: func(t *tls.Config) otlptracegrpc.Option {
			return otlptracegrpc.WithTLSCredentials(credentials.NewTLS(t))
		},
	}
	traceHTTP = optionSet[otlptracehttp.Option]{
		endpoint: otlptracehttp.WithEndpoint, urlPath: otlptracehttp.WithURLPath, insecure: otlptracehttp.WithInsecure,
		headers: otlptracehttp.WithHeaders, tls: otlptracehttp.WithTLSClientConfig,
	}
	metricGRPC = optionSet[otlpmetricgrpc.Option]{
		endpoint: otlpmetricgrpc.WithEndpoint, insecure: otlpmetricgrpc.WithInsecure, headers: otlpmetricgrpc.WithHeaders,
		tls: func(t *tls.Config) otlpmetricgrpc.Option {
			return otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(t))
		},
	}
	metricHTTP = optionSet[otlpmetrichttp.Option]{
		endpoint: otlpmetrichttp.WithEndpoint, urlPath: otlpmetrichttp.WithURLPath, insecure: otlpmetrichttp.WithInsecure,
		headers: otlpmetrichttp.WithHeaders, tls: otlpmetrichttp.WithTLSClientConfig,
	}
)

// newSpanClient returns a started OTLP trace client.
func (c *config) newSpanClient(ctx context.Context) (otlptrace.Client, error) {
	var client otlptrace.Client
	if c.protocol == ProtocolGRPC {
		o, err := options(c, "traces", traceGRPC)
		if err != nil {
			return nil, err
		}
		client = otlptracegrpc.NewClient(o...)
	} else {
		o, err := options(c, "traces", traceHTTP)
		if err != nil {
			return nil, err
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
	if c.protocol == ProtocolGRPC {
		o, err := options(c, "metrics", metricGRPC)
		if err != nil {
			return nil, err
		}
		return otlpmetricgrpc.New(ctx, o...)
	}
	o, err := options(c, "metrics", metricHTTP)
	if err != nil {
		return nil, err
	}
	return otlpmetrichttp.New(ctx, o...)
}

// newLogClient returns the OTLP log client of logging.Exporter, configured
// as the span and metric exporters are (options, then OTEL_* variables).
func (c *config) newLogClient() (logexport.Client, error) {
	ep, set, err := c.endpointFor("logs")
	if err != nil {
		return nil, err
	}
	h, err := c.headersFor("logs")
	if err != nil {
		return nil, err
	}
	o := logexport.Options{Headers: h, TLS: c.tls}
	if set {
		o.Endpoint, o.URLPath, o.Insecure = ep.hostPort, ep.path, ep.insecure
	}
	grpc := c.protocol == ProtocolGRPC
	if o, err = o.FromEnv(grpc); err != nil {
		return nil, err
	}
	if grpc {
		return logexport.NewGRPC(o)
	}
	return logexport.NewHTTP(o), nil
}
