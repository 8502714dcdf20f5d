// Command shop is a small HTTP service instrumented with the Vigil Go SDK:
// traces, metrics and logs over OTLP, the SDK's vigilhttp server
// middleware and otelhttp's client transport, a SQLite-backed readiness
// check, a downstream HTTP call (to an in-process "inventory"
// service) that propagates the trace context and is guarded by a circuit
// breaker whose state is a health check.
//
// Run it against a running `vigil serve` (OTLP HTTP on 127.0.0.1:4318 by
// default, or set OTEL_EXPORTER_OTLP_ENDPOINT):
//
//	go run . -addr 127.0.0.1:8080
//
// It generates a little traffic to itself (-traffic=false to stop that) and
// serves /products, /orders, /metrics, /livez, /readyz, /healthz and
// /debug/loglevel.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite"

	vigil "github.com/vigilhq/vigil/sdk"
	"github.com/vigilhq/vigil/sdk/health"
	"github.com/vigilhq/vigil/sdk/logging"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/sampling"
	"github.com/vigilhq/vigil/sdk/vigilhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run starts the shop and blocks until ctx ends or -duration passes.
// extra options are passed to vigil.Start (tests use them to capture
// telemetry); ready, when not nil, receives the shop's base URL.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(url string), extra ...vigil.Option) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	dbPath := fs.String("db", filepath.Join(os.TempDir(), "vigil-shop.db"), "SQLite database file")
	traffic := fs.Bool("traffic", true, "send a little traffic to itself so telemetry flows")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	// 1. One call sets up traces, metrics and logs over OTLP.
	opts := append([]vigil.Option{
		vigil.WithServiceName("shop"),
		vigil.WithServiceVersion("0.1.0"),
		// At most 50 new traces a second, each kept with probability 0.5,
		// children following their parent.
		vigil.WithSampler(sampling.ParentBased(sampling.RateLimited(50, sampling.Probability(0.5)))),
		vigil.WithMetricInterval(10 * time.Second),
		vigil.WithSlogDefault(),
	}, extra...)
	shutdown, err := vigil.Start(ctx, opts...)
	if err != nil {
		return fmt.Errorf("start telemetry: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			slog.Warn("telemetry shutdown", "err", err)
		}
	}()
	log := slog.Default().With("component", "shop")

	// 2. Health: a startup gate, the database, the downstream breaker.
	h := health.New(health.Options{})
	migrated, err := h.Gate("migrations")
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", *dbPath)
	if err != nil {
		return fmt.Errorf("open database %q: %w", *dbPath, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	if err := h.Register("sqlite", health.SQL(db, "SELECT 1"), health.Tags(health.TagReady), health.Timeout(2*time.Second)); err != nil {
		return err
	}
	if err := migrate(ctx, db); err != nil {
		return fmt.Errorf("migrate %q: %w", *dbPath, err)
	}
	migrated()

	// 3. The downstream "inventory" service, in process on its own port.
	invLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	inventory := &http.Server{Handler: vigilhttp.NewHandler(http.HandlerFunc(inventoryHandler), "inventory")}
	go inventory.Serve(invLn)
	defer inventory.Close()

	breaker, err := health.NewBreaker[*http.Response](h, gobreaker.Settings{
		Name:        "inventory",
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
		Timeout:     10 * time.Second,
	}, health.NonCritical(), health.Tags(health.TagReady))
	if err != nil {
		return err
	}
	s := &shop{
		db:        db,
		log:       log,
		breaker:   breaker,
		client:    &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport), Timeout: 2 * time.Second},
		inventory: "http://" + invLn.Addr().String(),
		orders:    metric.Default().Counter("shop_orders_total", "Orders by result."),
		latency:   metric.Default().Histogram("shop_order_duration_seconds", "Order handling time.", metric.WithUnit("s")),
	}

	// 4. Routes: the API under the SDK's HTTP middleware (the spans and
	// metrics otelhttp records, at a fraction of its cost), the operational
	// endpoints without it.
	api := http.NewServeMux()
	api.HandleFunc("GET /products", s.products)
	api.HandleFunc("POST /orders", s.order)
	instrumented := vigilhttp.NewHandler(api, "shop")
	mux := http.NewServeMux()
	mux.Handle("/products", instrumented)
	mux.Handle("/orders", instrumented)
	mux.Handle("/metrics", metric.Default().Handler())
	h.Mount(mux)
	if lh, ok := slog.Default().Handler().(*logging.Handler); ok {
		mux.Handle("/debug/loglevel", logging.LevelHandler(lh.Level()))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	log.Info("shop listening", "url", base, "db", *dbPath)
	if ready != nil {
		ready(base)
	}
	done := make(chan struct{})
	if *traffic {
		go func() {
			defer close(done)
			generate(ctx, base)
		}()
	} else {
		close(done)
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	<-done
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func migrate(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `
CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL);
INSERT OR IGNORE INTO products (id, name, price_cents) VALUES (1, 'lamp', 2599), (2, 'chair', 8900), (3, 'desk', 24900);
CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY AUTOINCREMENT, product_id INTEGER NOT NULL, at TEXT NOT NULL);`)
	return err
}

type shop struct {
	db        *sql.DB
	log       *slog.Logger
	breaker   *gobreaker.CircuitBreaker[*http.Response]
	client    *http.Client
	inventory string
	orders    *metric.Counter
	latency   *metric.Histogram
}

func (s *shop) products(w http.ResponseWriter, r *http.Request) {
	rows, err := s.db.QueryContext(r.Context(), "SELECT id, name, price_cents FROM products ORDER BY id")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rows.Close()
	w.Header().Set("Content-Type", "text/plain")
	for rows.Next() {
		var id, price int
		var name string
		if err := rows.Scan(&id, &name, &price); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d %s %d.%02d\n", id, name, price/100, price%100)
	}
}

// order asks the inventory service (through the breaker, propagating the
// trace context) and records the order.
func (s *shop) order(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	product := r.URL.Query().Get("product")
	if product == "" {
		product = "1"
	}
	result := "ok"
	defer func() {
		s.orders.With("result", result).Inc()
		s.latency.With("result", result).ObserveContext(ctx, time.Since(start).Seconds())
	}()
	resp, err := s.breaker.Execute(func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.inventory+"/reserve?product="+product, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 500 {
			resp.Body.Close()
			return nil, fmt.Errorf("inventory: %s", resp.Status)
		}
		return resp, nil
	})
	if err != nil {
		result = "inventory_error"
		if errors.Is(err, gobreaker.ErrOpenState) {
			result = "breaker_open"
		}
		s.log.WarnContext(ctx, "order failed", "product", product, "err", err)
		http.Error(w, "inventory unavailable", http.StatusServiceUnavailable)
		return
	}
	resp.Body.Close()
	if _, err := s.db.ExecContext(ctx, "INSERT INTO orders (product_id, at) VALUES (?, ?)", product, time.Now().UTC().Format(time.RFC3339)); err != nil {
		result = "db_error"
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.log.InfoContext(ctx, "order placed", "product", product)
	fmt.Fprintln(w, "ordered", product)
}

// inventoryHandler is the downstream service: it fails now and then, and
// logs with the trace context it received.
func inventoryHandler(w http.ResponseWriter, r *http.Request) {
	sc := trace.SpanContextFromContext(r.Context())
	slog.InfoContext(r.Context(), "reserve", "component", "inventory", "product", r.URL.Query().Get("product"), "remote_trace", sc.TraceID().String())
	if rand.IntN(10) == 0 {
		http.Error(w, "out of luck", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "reserved")
}

// generate sends a request every 500ms until ctx ends.
func generate(ctx context.Context, base string) {
	client := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	tracer := otel.Tracer("shop/traffic")
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, req := range []struct{ method, path string }{{"GET", "/products"}, {"POST", "/orders?product=2"}} {
			rctx, span := tracer.Start(ctx, "client "+req.method+" "+req.path)
			r, _ := http.NewRequestWithContext(rctx, req.method, base+req.path, nil)
			otel.GetTextMapPropagator().Inject(rctx, propagationCarrier(r.Header))
			if resp, err := client.Do(r); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			span.End()
		}
	}
}
