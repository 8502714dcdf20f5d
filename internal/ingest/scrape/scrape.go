// Package scrape pulls metrics from Prometheus exporters with Prometheus's
// own scrape and discovery managers (static_configs and file_sd_configs),
// configured by the scrape_configs section in Prometheus's format.
package scrape

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	_ "github.com/prometheus/prometheus/discovery/file" // file_sd_configs
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
)

// Options configure the scraper.
type Options struct {
	Appendable storage.AppendableV2
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Scraper runs the discovery and scrape managers.
type Scraper struct {
	logger    *slog.Logger
	discovery *discovery.Manager
	scrape    *scrape.Manager
	cancel    context.CancelFunc
	ctx       context.Context
	once      sync.Once
}

// New creates a scraper; it scrapes nothing until ApplyConfig.
func New(opts Options) (*Scraper, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Appendable == nil {
		return nil, fmt.Errorf("scrape: no appendable")
	}
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register discovery metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scraper{logger: opts.Logger, ctx: ctx, cancel: cancel}
	s.discovery = discovery.NewManager(ctx, opts.Logger.With("component", "discovery manager scrape"), opts.Registerer, sdMetrics, discovery.Name("scrape"))
	if s.discovery == nil {
		cancel()
		return nil, fmt.Errorf("create discovery manager")
	}
	s.scrape, err = scrape.NewManager(&scrape.Options{}, opts.Logger.With("component", "scrape manager"), nil, nil, opts.Appendable, opts.Registerer)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create scrape manager: %w", err)
	}
	return s, nil
}

// ApplyConfig (re)configures scrape pools and their discovery.
func (s *Scraper) ApplyConfig(cfg *promconfig.Config) error {
	if err := s.scrape.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("apply scrape config: %w", err)
	}
	scfgs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return fmt.Errorf("read scrape configs: %w", err)
	}
	c := make(map[string]discovery.Configs, len(scfgs))
	for _, v := range scfgs {
		c[v.JobName] = v.ServiceDiscoveryConfigs
	}
	if err := s.discovery.ApplyConfig(c); err != nil {
		return fmt.Errorf("apply discovery config: %w", err)
	}
	return nil
}

// Run scrapes until ctx is done.
func (s *Scraper) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.discovery.Run(); err != nil && ctx.Err() == nil {
			s.logger.Error("discovery stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := s.scrape.Run(s.discovery.SyncCh()); err != nil && ctx.Err() == nil {
			s.logger.Error("scrape manager stopped", "err", err)
		}
	}()
	<-ctx.Done()
	s.Stop()
	wg.Wait()
	return nil
}

// Stop stops scraping.
func (s *Scraper) Stop() {
	s.once.Do(func() {
		s.scrape.Stop()
		s.cancel()
	})
}

// Manager is Prometheus's scrape manager, for the targets API.
func (s *Scraper) Manager() *scrape.Manager { return s.scrape }
