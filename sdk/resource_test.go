package vigil_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	vigil "github.com/vigilhq/vigil/sdk"
)

// keepExporter keeps what it is given (tracetest's exporter forgets on
// Shutdown).
type keepExporter struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (e *keepExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans = append(e.spans, s...)
	return nil
}

func (e *keepExporter) Shutdown(context.Context) error { return nil }

// resourceOf starts the SDK with a span exporter in memory and returns the
// resource attributes of one exported span.
func resourceOf(t *testing.T, opts ...vigil.Option) map[string]string {
	t.Helper()
	exp := &keepExporter{}
	opts = append(opts, vigil.WithSpanExporter(exp), vigil.WithoutMetrics(), vigil.WithoutLogs())
	shutdown, err := vigil.Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.spans
	if len(spans) == 0 {
		t.Fatal("no span exported")
	}
	got := map[string]string{}
	for _, kv := range spans[0].Resource().Attributes() {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	return got
}

// The OpenTelemetry resource specification's order: options, then
// OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then defaults.
func TestResourcePrecedence(t *testing.T) {
	f := func(env map[string]string, opts []vigil.Option, want map[string]string) {
		t.Helper()
		t.Setenv("OTEL_RESOURCE_ATTRIBUTES", env["OTEL_RESOURCE_ATTRIBUTES"])
		t.Setenv("OTEL_SERVICE_NAME", env["OTEL_SERVICE_NAME"])
		got := resourceOf(t, opts...)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("env %v: %s = %q, want %q", env, k, got[k], v)
			}
		}
	}
	attrs := "service.name=from-env,service.instance.id=inst-7,deployment.environment.name=prod"
	f(map[string]string{"OTEL_RESOURCE_ATTRIBUTES": attrs}, nil,
		map[string]string{"service.name": "from-env", "service.instance.id": "inst-7", "deployment.environment.name": "prod"})
	f(map[string]string{"OTEL_RESOURCE_ATTRIBUTES": attrs, "OTEL_SERVICE_NAME": "named"}, nil,
		map[string]string{"service.name": "named", "service.instance.id": "inst-7"})
	f(map[string]string{"OTEL_RESOURCE_ATTRIBUTES": attrs, "OTEL_SERVICE_NAME": "named"},
		[]vigil.Option{vigil.WithServiceName("opt"), vigil.WithInstanceID("i-1"), vigil.WithEnvironment("staging")},
		map[string]string{"service.name": "opt", "service.instance.id": "i-1", "deployment.environment.name": "staging"})
	f(nil, nil, map[string]string{"service.name": filepath.Base(os.Args[0])})
	got := resourceOf(t)
	if len(got["service.instance.id"]) < 16 {
		t.Errorf("default service.instance.id %q: want a random ID", got["service.instance.id"])
	}
}
