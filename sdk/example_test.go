package vigil_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"

	vigil "github.com/vigilhq/vigil/sdk"
)

// The README's five lines. (Not run: it would export to localhost:4318.)
func ExampleStart() {
	shutdown, err := vigil.Start(context.Background(), vigil.WithServiceName("checkout"), vigil.WithSlogDefault())
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown(context.Background()) // flushes traces, metrics and logs
	http.Handle("/metrics", vigil.MetricsHandler())

	slog.Info("ready") // carries trace_id/span_id when called with a span's context
}
