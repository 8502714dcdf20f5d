package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	vigil "github.com/vigilhq/vigil/sdk"
)

// TestShop starts the service with an in-memory span exporter, places an
// order and checks that the downstream inventory span is in the same trace
// (the context propagated), and that the health endpoints answer.
func TestShop(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	ctx, cancel := context.WithCancel(context.Background())
	urlc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "shop.db"), "-traffic=false"}, io.Discard,
			func(u string) { urlc <- u },
			vigil.WithSpanExporter(keep{spans}), vigil.WithSampler(sdktrace.AlwaysSample()),
			vigil.WithoutMetrics(), vigil.WithoutLogs())
	}()
	var base string
	select {
	case base = <-urlc:
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("shop did not start")
	}

	var resp *http.Response
	var err error
	for range 20 { // the inventory fails one time in ten
		resp, err = http.Post(base+"/orders?product=3", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("order: %s", resp.Status)
	}
	r, err := http.Get(base + "/readyz?verbose")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	r.Body.Close()
	if r.Header.Get("Content-Type") != "application/health+json" || body["checks"] == nil {
		t.Fatalf("readyz: %s %v", r.Header.Get("Content-Type"), body)
	}
	checks := body["checks"].(map[string]any)
	for _, k := range []string{"sqlite:responseTime", "migrations", "inventory:consecutiveFailures"} {
		if checks[k] == nil {
			t.Errorf("readyz lacks %s: %v", k, checks)
		}
	}
	m, _ := http.Get(base + "/metrics")
	mb, _ := io.ReadAll(m.Body)
	m.Body.Close()
	if !strings.Contains(string(mb), `shop_orders_total{result="ok"}`) {
		t.Errorf("metrics lack the order counter:\n%s", mb)
	}

	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// The shop's server span and the inventory's server span share a trace
	// only if the client call propagated the context.
	servers := map[string][]string{}
	for _, s := range spans.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			id := s.SpanContext.TraceID().String()
			servers[id] = append(servers[id], s.Name)
		}
	}
	found := false
	for _, names := range servers {
		if len(names) >= 2 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no trace holds both server spans: %v", servers)
	}
}

// keep wraps the in-memory exporter so that Shutdown does not clear it.
type keep struct{ *tracetest.InMemoryExporter }

func (keep) Shutdown(context.Context) error { return nil }
