// Command w3cservice serves the W3C Trace Context harness's test service
// (package w3c) with the SDK's tracer provider and its default
// propagators (tracecontext, baggage), or with -impl otel OpenTelemetry
// Go's, for comparison:
//
//	go run ./internal/w3c/w3cservice -addr 127.0.0.1:5000
//	SERVICE_ENDPOINT=http://127.0.0.1:5000/test python3 test.py
//
// sdk/scripts/w3c-harness.sh runs both.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/internal/w3c"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/propagation"
	"github.com/vigilhq/vigil/sdk/tracing"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "listen address")
	impl := flag.String("impl", "vigil", "vigil: this SDK's tracer and propagator; otel: OpenTelemetry Go's (for comparison)")
	flag.Parse()
	if err := run(*addr, *impl); err != nil {
		fmt.Fprintln(os.Stderr, "w3cservice:", err)
		os.Exit(1)
	}
}

func run(addr, impl string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var tp trace.TracerProvider
	var prop otelprop.TextMapPropagator
	switch impl {
	case "vigil":
		p, err := propagation.New(metric.New(metric.Options{}))
		if err != nil {
			return err
		}
		vp := tracing.NewProvider()
		defer vp.Shutdown(context.Background())
		tp, prop = vp, p
	case "otel":
		op := sdktrace.NewTracerProvider()
		defer op.Shutdown(context.Background())
		tp, prop = op, otelprop.NewCompositeTextMapPropagator(otelprop.TraceContext{}, otelprop.Baggage{})
	default:
		return fmt.Errorf("-impl %q: want vigil or otel", impl)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /test", w3c.New(tp, prop, &http.Client{Timeout: 5 * time.Second}))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintln(os.Stderr, "w3cservice: listening on http://"+addr+"/test")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
