// Package logexport sends batches of OTLP log records over HTTP
// (protobuf) or gRPC. It is to the logging package's export pipeline what
// otlptracehttp's and otlptracegrpc's Client is to tracing.Provider: the
// transport, taking messages already converted, which OpenTelemetry Go's
// log exporters do not expose (they accept only the log SDK's records).
// Endpoint, headers, TLS, compression, timeout and retries behave as in
// those exporters, including their OTEL_EXPORTER_OTLP_* variables.
package logexport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	logspb "go.opentelemetry.io/proto/otlp/logs/v1"

	"github.com/vigilhq/vigil/sdk/internal/otlpenv"
)

// Client uploads log records. UploadLogs may be called from one goroutine
// at a time; it marshals the messages before it returns and keeps no
// reference to them.
type Client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	UploadLogs(ctx context.Context, logs []*logspb.ResourceLogs) error
}

// Options configure a client. Zero fields are filled by FromEnv.
type Options struct {
	// Endpoint is host:port.
	Endpoint string
	// URLPath is the HTTP path (default /v1/logs).
	URLPath string
	// Insecure sends without TLS.
	Insecure bool
	// Headers are added to every request.
	Headers map[string]string
	// TLS is the client TLS configuration.
	TLS *tls.Config
	// Compression is "gzip" or "" (none).
	Compression string
	// Timeout bounds one export, retries included (default 10s, also
	// without FromEnv).
	Timeout time.Duration
	// Retry governs retries of retryable failures.
	Retry Retry
}

// Retry is the backoff for retryable failures (HTTP 429, 502, 503, 504;
// gRPC UNAVAILABLE and the like), honouring a server's Retry-After or
// RetryInfo. The zero value means OpenTelemetry's defaults: first wait 5s,
// at most 30s, give up after a minute (or when the export's context ends).
type Retry struct {
	Disabled        bool
	InitialInterval time.Duration
	MaxInterval     time.Duration
	MaxElapsedTime  time.Duration
}

// FromEnv fills what o leaves unset from OTEL_EXPORTER_OTLP_LOGS_* and
// OTEL_EXPORTER_OTLP_* (the signal's variable first), then defaults:
// endpoint localhost:4318 (HTTP) or localhost:4317 (gRPC) with TLS, as the
// OpenTelemetry exporters default. An invalid variable is an error naming it.
func (o Options) FromEnv(grpc bool) (Options, error) {
	if o.Endpoint == "" {
		if v := env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"); v != "" {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" {
				return o, fmt.Errorf("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=%q: want a URL such as http://localhost:4318/v1/logs", v)
			}
			o.Endpoint, o.Insecure = u.Host, u.Scheme == "http" || o.Insecure
			if !grpc {
				o.URLPath = u.Path // used as is
				if o.URLPath == "" {
					o.URLPath = "/"
				}
			}
		} else if v := env("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" {
				return o, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT=%q: want a URL such as http://localhost:4318", v)
			}
			o.Endpoint, o.Insecure = u.Host, u.Scheme == "http" || o.Insecure
			if !grpc {
				o.URLPath = strings.TrimSuffix(u.Path, "/") + "/v1/logs"
			}
		} else if grpc {
			o.Endpoint = "localhost:4317"
		} else {
			o.Endpoint = "localhost:4318"
		}
	}
	if !grpc && o.URLPath == "" {
		o.URLPath = "/v1/logs"
	}
	if grpc && !o.Insecure {
		if v := env2("INSECURE"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, fmt.Errorf("OTEL_EXPORTER_OTLP_INSECURE=%q: want true or false", v)
			}
			o.Insecure = b
		}
	}
	if o.Headers == nil {
		h, err := otlpenv.Headers("logs")
		if err != nil {
			return o, err
		}
		o.Headers = h
	}
	if o.Compression == "" {
		switch v := env2("COMPRESSION"); v {
		case "", "none":
		case "gzip":
			o.Compression = "gzip"
		default:
			return o, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION=%q: want gzip or none", v)
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
		if v := env2("TIMEOUT"); v != "" {
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				return o, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT=%q: want a positive number of milliseconds", v)
			}
			o.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if o.TLS == nil && !o.Insecure {
		t, err := tlsFromEnv()
		if err != nil {
			return o, err
		}
		o.TLS = t
	}
	if o.Retry.InitialInterval <= 0 {
		o.Retry.InitialInterval = 5 * time.Second
	}
	if o.Retry.MaxInterval <= 0 {
		o.Retry.MaxInterval = 30 * time.Second
	}
	if o.Retry.MaxElapsedTime <= 0 {
		o.Retry.MaxElapsedTime = time.Minute
	}
	return o, nil
}

func env(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// env2 reads OTEL_EXPORTER_OTLP_LOGS_<name>, else OTEL_EXPORTER_OTLP_<name>.
func env2(name string) string {
	if v := env("OTEL_EXPORTER_OTLP_LOGS_" + name); v != "" {
		return v
	}
	return env("OTEL_EXPORTER_OTLP_" + name)
}

func tlsFromEnv() (*tls.Config, error) {
	ca, cert, key := env2("CERTIFICATE"), env2("CLIENT_CERTIFICATE"), env2("CLIENT_KEY")
	if ca == "" && cert == "" {
		return nil, nil
	}
	t := &tls.Config{}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE=%q: no PEM certificate in the file", ca)
		}
	}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY: %w", err)
		}
		t.Certificates = []tls.Certificate{c}
	}
	return t, nil
}
