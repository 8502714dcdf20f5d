// Package server wires Vigil's components together: it is the only package
// that imports them all. It opens the stores, starts the receivers and
// APIs, serves HTTP, reloads the configuration and shuts everything down in
// order.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	promconfig "github.com/prometheus/prometheus/config"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/ingest/otlp"
	"github.com/vigilhq/vigil/internal/ingest/remotewrite"
	"github.com/vigilhq/vigil/internal/ingest/scrape"
	"github.com/vigilhq/vigil/internal/memlimit"
	"github.com/vigilhq/vigil/internal/metrics"
	"github.com/vigilhq/vigil/internal/route"
	"github.com/vigilhq/vigil/internal/version"
)

// Options configure a Server.
type Options struct {
	// ConfigFile is the YAML file; "" runs on defaults.
	ConfigFile string
	// Override applies command-line flags after every (re)load.
	Override func(*config.Config)
	Logger   *slog.Logger
	// ShutdownTimeout bounds the wait for in-flight requests (default 30s).
	ShutdownTimeout time.Duration
}

// actor is a long-running part of a component: Run returns when ctx is done.
type actor struct {
	name string
	run  func(ctx context.Context) error
}

// Server is a running Vigil. Create with New, then Run.
type Server struct {
	opts   Options
	logger *slog.Logger
	reg    *prometheus.Registry
	start  time.Time

	mu          sync.RWMutex
	cfg         *config.Config
	reloadOK    bool
	reloadAt    time.Time
	reloadMu    sync.Mutex // serialises reloads
	ready       atomic.Bool
	root        atomic.Pointer[http.Handler]
	httpLn      net.Listener
	grpcLn      net.Listener
	otlpHTTPLn  net.Listener
	routes      []route.Route // the route table; see routes.go
	httpMetrics *httpMetrics
	errw        apierr.Writer

	auth     *auth.Auth // auth.go
	metrics  *metrics.Store
	scraper  *scrape.Scraper
	receiver *otlp.Receiver
	memory   memlimit.Budget    // memory.go
	governor *memlimit.Governor // memory.go

	// Set by the feature setup functions (traces.go, logs.go,
	// alerting.go) before the OTLP receiver starts.
	tracesConsumer otlp.TracesConsumer
	logsConsumer   otlp.LogsConsumer
	rulesRetriever func(context.Context) apiv1.RulesRetriever
	alertmanagers  func(context.Context) apiv1.AlertmanagerRetriever
	shared         *sharedDeps // state database and outbox (state.go)
	// alerting's ledger for on-call, on-call's public incidents for the
	// status page (oncall.go).
	alertLedger     alertLedger
	publicIncidents publicIncidents

	actors    []actor
	closers   []func() error // run in reverse order after the actors stop
	reloaders []reloader
	running   []string // shown on the index page
}

// New loads the configuration and prepares a server. Nothing listens yet.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	cfg, err := loadConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckExposure(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &Server{opts: opts, logger: opts.Logger, reg: reg, cfg: cfg, start: time.Now(), reloadOK: true, reloadAt: time.Now(), errw: apierr.Writer{Logger: opts.Logger}}
	s.httpMetrics = newHTTPMetrics(reg)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vigil_build_info",
		Help:        "Vigil's version, always 1.",
		ConstLabels: prometheus.Labels{"version": version.Version, "revision": version.Revision(), "goversion": runtime.Version()},
	}, func() float64 { return 1 }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vigil_config_last_reload_successful",
		Help: "Whether the last configuration reload succeeded.",
	}, func() float64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.reloadOK {
			return 1
		}
		return 0
	}))
	notReady := http.Handler(http.HandlerFunc(s.serveStarting))
	s.root.Store(&notReady)
	return s, nil
}

func loadConfig(opts Options) (*config.Config, error) {
	var cfg *config.Config
	var err error
	if opts.ConfigFile == "" {
		cfg = config.Default()
	} else if cfg, err = config.Load(opts.ConfigFile); err != nil {
		return nil, err
	}
	if opts.Override != nil {
		opts.Override(cfg)
	}
	return cfg, nil
}

// Config returns the configuration in force.
func (s *Server) Config() *config.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// Registerer is where components register their self-metrics.
func (s *Server) Registerer() prometheus.Registerer { return s.reg }

// HTTPAddr is the address the HTTP server listens on (after Run started).
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

func (s *Server) addActor(name string, run func(ctx context.Context) error) {
	s.actors = append(s.actors, actor{name: name, run: run})
}

func (s *Server) addCloser(f func() error) { s.closers = append(s.closers, f) }

// reloader applies a new configuration to one component in two phases:
// prepare checks it and builds what it needs without changing anything;
// the commit it returns applies it. Reload commits only when every
// prepare passed, so a bad file changes nothing anywhere.
type reloader struct {
	name    string
	prepare func(*config.Config) (commit func() error, err error)
}

func (s *Server) addReloader(name string, prepare func(*config.Config) (func() error, error)) {
	s.reloaders = append(s.reloaders, reloader{name: name, prepare: prepare})
}

// commitOnly is a reloader whose component has nothing to check.
func commitOnly(f func(*config.Config) error) func(*config.Config) (func() error, error) {
	return func(c *config.Config) (func() error, error) { return func() error { return f(c) }, nil }
}

// Run starts everything and blocks until ctx is done, then shuts down:
// stop accepting, finish in-flight requests, stop scraping and rules, flush
// and close the stores.
func (s *Server) Run(ctx context.Context) (err error) {
	cfg := s.Config()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on http_addr %s: %w", cfg.HTTPAddr, err)
	}
	httpTLS, err := tlsConfigOf(cfg.TLS.HTTP, configDir(cfg.File), s.logger, "http")
	if err != nil {
		s.httpLn.Close()
		return err
	}
	s.httpLn = listenTLS(s.httpLn, httpTLS)
	root := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*s.root.Load()).ServeHTTP(w, r) }))
	if prefix := s.externalURL().Path; prefix != "" {
		root = withRoutePrefix(prefix, root)
	}
	httpSrv := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- httpSrv.Serve(s.httpLn) }()
	s.logger.Info("http listening", "addr", s.httpLn.Addr().String())

	var closeOnce sync.Once
	cleanup := func() {
		closeOnce.Do(func() {
			shCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
			defer cancel()
			if err := httpSrv.Shutdown(shCtx); err != nil {
				s.logger.Warn("http shutdown", "err", err)
			}
			for i := len(s.closers) - 1; i >= 0; i-- {
				if err := s.closers[i](); err != nil {
					s.logger.Error("close component", "err", err)
				}
			}
		})
	}
	defer cleanup()

	if err := s.setup(ctx, cfg); err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(s.actors))
	for _, a := range s.actors {
		wg.Add(1)
		go func(a actor) {
			defer wg.Done()
			if err := a.run(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", a.name, err)
			}
		}(a)
	}
	s.ready.Store(true)
	s.logger.Info("vigil ready", "http", s.HTTPAddr(), "otlp_grpc", addrOf(s.grpcLn), "otlp_http", addrOf(s.otlpHTTPLn))

	var runErr error
	select {
	case <-ctx.Done():
		s.logger.Info("shutting down")
	case runErr = <-errc:
		s.logger.Error("component failed; shutting down", "err", runErr)
	case err := <-httpErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	s.ready.Store(false)
	// Stop accepting and finish in-flight requests before the stores
	// close: HTTP first, then the actors (receivers, scrape, rules).
	shCtx, shCancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	if err := httpSrv.Shutdown(shCtx); err != nil {
		s.logger.Warn("http shutdown", "err", err)
	}
	shCancel()
	cancel()
	wg.Wait()
	cleanup()
	s.logger.Info("shutdown complete")
	return runErr
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// setup opens the stores and builds the handlers; called once from Run.
func (s *Server) setup(ctx context.Context, cfg *config.Config) error {
	if err := s.setupMemory(cfg); err != nil {
		return err
	}
	m := cfg.Metrics
	store, err := metrics.Open(metrics.Options{
		Dir:                  filepath.Join(cfg.DataDir, "metrics"),
		Logger:               s.logger,
		Registerer:           s.reg,
		Retention:            m.Retention.MaxAge.D(),
		MaxBytes:             int64(m.Retention.MaxSize),
		OutOfOrderTimeWindow: m.OutOfOrderTimeWindow.D(),
		Limits:               limitsOf(cfg),
		QueryTimeout:         m.Query.Timeout.D(),
		QueryMaxSamples:      m.Query.MaxSamples,
		QueryMaxConcurrent:   m.Query.MaxConcurrent,
		LookbackDelta:        m.Query.LookbackDelta.D(),
		QueryMaxLength:       int(m.Query.MaxLength),
		ExperimentalPromQL:   m.Query.EnableExperimentalFunctions,
		AdminAPI:             m.EnableAdminAPI,
	})
	if err != nil {
		return err
	}
	s.metrics = store
	s.addCloser(store.Close)
	s.addActor("series limiter", store.Run)
	s.addReloader("metrics limits", commitOnly(func(c *config.Config) error { store.SetLimits(limitsOf(c)); return nil }))

	s.scraper, err = scrape.New(scrape.Options{Appendable: store.Appendable(), Logger: s.logger, Registerer: s.reg})
	if err != nil {
		return err
	}
	if err := s.scraper.ApplyConfig(s.scrapeConfig(cfg)); err != nil {
		return err
	}
	s.addActor("scrape", s.scraper.Run)
	// Prometheus's loader checked the scrape configuration when the file
	// was parsed; the manager has no separate check step.
	s.addReloader("scrape", commitOnly(func(c *config.Config) error { return s.scraper.ApplyConfig(s.scrapeConfig(c)) }))

	// Features: each file of this package wires one.
	for _, f := range []struct {
		name  string
		setup func(context.Context, *config.Config) error
	}{
		{"auth", s.setupAuth},
		{"traces", s.setupTraces},
		{"logs", s.setupLogs},
		{"alerting", s.setupAlerting},
		{"oncall", s.setupOnCall},
		{"probes", s.setupProbes},
		{"ui", s.setupUI},
	} {
		if err := f.setup(ctx, cfg); err != nil {
			return fmt.Errorf("set up %s: %w", f.name, err)
		}
	}

	rw := remotewrite.New(remotewrite.Options{
		Appendable: store.Appendable(),
		Logger:     s.logger,
		Limits:     func() remotewrite.Limits { return rwLimitsOf(s.Config()) },
		Rejected:   store.Appendable().Rejected,
		Received:   store.Appendable().Received,
		Metadata:   store.ObserveMetadata,
		MinTime:    store.MinTime,
		Admit:      s.admit,
	})
	s.addRoutes(route.Route{Method: "POST", Pattern: "/api/v1/write", Scope: route.Ingest, Handler: rw,
		Doc: "Prometheus remote write 1.0 and 2.0 (Prometheus, Grafana Alloy, vmagent)"})

	api := store.API(metrics.APIOptions{
		Logger:        s.logger,
		Config:        func() promconfig.Config { return *s.scrapeConfig(s.Config()) },
		Targets:       func(context.Context) apiv1.TargetRetriever { return s.scraper.Manager() },
		ScrapePools:   func(context.Context) apiv1.ScrapePoolsRetriever { return s.scraper.Manager() },
		Rules:         s.rulesRetriever,
		Alertmanagers: s.alertmanagers,
		ListenAddress: s.HTTPAddr(),
		Gatherer:      s.reg,
		Registerer:    s.reg,
		Version:       buildInfo(),
		Flags:         func() map[string]string { return promFlags(s.Config()) },
		StartTime:     s.start,
		LastReload: func() (bool, time.Time) {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return s.reloadOK, s.reloadAt
		},
	})
	s.addRoutes(prometheusAPIRoutes(http.StripPrefix("/api/v1", api))...)

	consumer, err := metrics.NewOTLPConsumer(metrics.OTLPOptions{
		Appendable: store.Appendable(),
		Logger:     s.logger,
		Settings:   func() metrics.OTLPSettings { return otlpSettingsOf(s.Config()) },
		Received:   store.Appendable().Received,
	})
	if err != nil {
		return err
	}
	s.addCloser(consumer.Close)

	if !cfg.OTLP.Disabled {
		otlpTLS, err := tlsConfigOf(cfg.TLS.OTLP, configDir(cfg.File), s.logger, "otlp")
		if err != nil {
			return err
		}
		grpcOpts, wrapHTTP := s.otlpAuth(otlpTLS)
		s.receiver, err = otlp.New(otlp.Options{
			GRPCServerOptions:     grpcOpts,
			WrapHTTP:              wrapHTTP,
			Metrics:               consumer,
			Traces:                s.tracesConsumer,
			Logs:                  s.logsConsumer,
			MaxRequestBytes:       int64(cfg.OTLP.MaxRequestBytes),
			MaxConcurrentRequests: cfg.OTLP.MaxConcurrentRequests,
			Admit:                 s.admit,
			Logger:                s.logger,
			Registerer:            s.reg,
		})
		if err != nil {
			return err
		}
		if cfg.OTLP.GRPCAddr != "" {
			if s.grpcLn, err = net.Listen("tcp", cfg.OTLP.GRPCAddr); err != nil {
				return fmt.Errorf("listen on otlp.grpc_addr %s: %w", cfg.OTLP.GRPCAddr, err)
			}
			ln := s.grpcLn
			s.addActor("otlp grpc", func(ctx context.Context) error { return s.receiver.ServeGRPC(ctx, ln) })
		}
		if cfg.OTLP.HTTPAddr != "" {
			if s.otlpHTTPLn, err = net.Listen("tcp", cfg.OTLP.HTTPAddr); err != nil {
				return fmt.Errorf("listen on otlp.http_addr %s: %w", cfg.OTLP.HTTPAddr, err)
			}
			ln := listenTLS(s.otlpHTTPLn, otlpTLS)
			s.addActor("otlp http", func(ctx context.Context) error { return s.receiver.ServeHTTP(ctx, ln) })
		}
		// OTLP/HTTP is also served on the main port, as Prometheus does,
		// and under Loki 3's /otlp prefix, so a collector configured for
		// Loki (endpoint: http://loki:3100/otlp) works unchanged.
		h := s.receiver.Handler()
		s.addRoutes(
			route.Route{Method: "POST", Pattern: "/v1/metrics", Scope: route.Ingest, Handler: h, Doc: "OTLP/HTTP metrics (also on the OTLP HTTP port)"},
			route.Route{Method: "POST", Pattern: "/v1/traces", Scope: route.Ingest, Handler: h, Doc: "OTLP/HTTP traces (also on the OTLP HTTP port)"},
			route.Route{Method: "POST", Pattern: "/v1/logs", Scope: route.Ingest, Handler: h, Doc: "OTLP/HTTP logs (also on the OTLP HTTP port)"},
			route.Route{Method: "POST", Pattern: "/api/v1/otlp/v1/metrics", Scope: route.Ingest, Handler: http.StripPrefix("/api/v1/otlp", h), Doc: "OTLP/HTTP metrics at Prometheus's path"},
			route.Route{Method: "POST", Pattern: "/otlp/v1/logs", Scope: route.Ingest, Handler: http.StripPrefix("/otlp", h), Doc: "OTLP/HTTP logs at Loki 3's path (collector endpoint http://HOST:9797/otlp)"},
		)
	}

	s.addRoutes(s.coreRoutes()...)
	mux, err := buildMux(s.guard(s.routes))
	if err != nil {
		return err
	}
	h := s.httpMetrics.instrument(mux)
	s.root.Store(&h)
	return nil
}

// scrapeConfig is the Prometheus configuration for the scraper; with no
// scrape configuration Vigil scrapes its own /metrics.
func (s *Server) scrapeConfig(cfg *config.Config) *promconfig.Config {
	if !cfg.SelfScrape || s.httpLn == nil {
		return cfg.Scrape
	}
	addr := s.httpLn.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	text := fmt.Sprintf("scrape_configs:\n- job_name: vigil\n  scrape_interval: 15s\n  static_configs:\n  - targets: [%q]\n", net.JoinHostPort(host, fmt.Sprint(addr.Port)))
	text += s.selfScrapeAuth(cfg)
	pc, err := promconfig.Load(text, s.logger)
	if err != nil {
		panic(fmt.Sprintf("self-scrape config invalid: %v", err))
	}
	return pc
}

func limitsOf(cfg *config.Config) metrics.Limits {
	l := cfg.Metrics.Limits
	return metrics.Limits{
		MaxSeriesPerMetric:     l.MaxSeriesPerMetric,
		MaxActiveSeries:        l.MaxActiveSeries,
		MaxLabelNamesPerSeries: l.MaxLabelNamesPerSeries,
	}
}

func rwLimitsOf(cfg *config.Config) remotewrite.Limits {
	l := cfg.Metrics.Limits
	return remotewrite.Limits{
		MaxRequestBytes:      int64(l.MaxRequestBytes),
		MaxSamplesPerRequest: l.MaxSamplesPerRequest,
		MaxSeriesPerRequest:  l.MaxSeriesPerRequest,
	}
}

func otlpSettingsOf(cfg *config.Config) metrics.OTLPSettings {
	o := cfg.Metrics.OTLP
	return metrics.OTLPSettings{
		PromoteResourceAttributes:         o.PromoteResourceAttributes,
		KeepIdentifyingResourceAttributes: o.KeepIdentifyingResourceAttributes,
		TranslationStrategy:               o.TranslationStrategy,
		MaxSamplesPerRequest:              cfg.Metrics.Limits.MaxSamplesPerRequest,
	}
}

// Reload re-reads the configuration file. An invalid file changes nothing
// and its errors are returned.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cfg, err := loadConfig(s.opts)
	if err == nil {
		old := s.Config()
		if cfg.DataDir != old.DataDir || cfg.HTTPAddr != old.HTTPAddr || cfg.OTLP.GRPCAddr != old.OTLP.GRPCAddr || cfg.OTLP.HTTPAddr != old.OTLP.HTTPAddr || cfg.Web.ExternalURL != old.Web.ExternalURL {
			err = errors.New("data_dir, http_addr, otlp listen addresses and web.external_url cannot change on reload; restart vigil to change them")
		}
	}
	var commits []func() error
	var timings []any
	if err == nil {
		// Phase 1: every component checks the new config; nothing changes.
		for _, r := range s.reloaders {
			start := time.Now()
			commit, e := r.prepare(cfg)
			timings = append(timings, r.name, time.Since(start))
			if e != nil {
				err = fmt.Errorf("%s: %w", r.name, e)
				break
			}
			commits = append(commits, commit)
		}
	}
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.reloadAt, s.reloadOK = time.Now(), false
		s.logger.Error("config reload failed; keeping the previous config", "err", err)
		return err
	}
	// Phase 2: all prepared, so all commit. A commit failing now (a rule
	// file changed between the two phases) leaves that component on its
	// old settings; the reload is reported failed.
	var failed []error
	for i, commit := range commits {
		start := time.Now()
		if e := commit(); e != nil {
			failed = append(failed, fmt.Errorf("%s: %w", s.reloaders[i].name, e))
		}
		timings = append(timings, s.reloaders[i].name+" commit", time.Since(start))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloadAt = time.Now()
	s.cfg = cfg
	if len(failed) > 0 {
		s.reloadOK = false
		err := fmt.Errorf("config applied with errors: %w", errors.Join(failed...))
		s.logger.Error("config reload failed while applying", append([]any{"err", err}, timings...)...)
		return err
	}
	s.reloadOK = true
	s.logger.Info("config reloaded", append([]any{"file", s.opts.ConfigFile}, timings...)...)
	return nil
}
