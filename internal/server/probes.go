package server

import (
	"context"
	"fmt"
	"maps"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/probes"
	"github.com/vigilhq/vigil/internal/probes/condition"
	"github.com/vigilhq/vigil/internal/probes/statuspage"
)

// publicIncidents lists the on-call feature's open public incidents for the
// status page; nil (the page says none) until the on-call wiring sets it.
var publicIncidents statuspage.IncidentSource

// setupProbes wires synthetic probes (results appended through the metrics
// store's limits), /probe, the probe API and the public status page, which
// reads uptime from the TSDB.
func (s *Server) setupProbes(ctx context.Context, cfg *config.Config) error {
	m, err := probes.New(probes.Options{
		Appendable:    s.metrics.Appendable(),
		MaxConcurrent: cfg.Probes.MaxConcurrent,
		Logger:        s.logger,
		Registerer:    s.reg,
	})
	if err != nil {
		return err
	}
	if err := m.ApplyConfig(probesConfig(cfg)); err != nil {
		return err
	}
	// API maintenance windows live in the shared state database.
	shared, err := s.sharedState(ctx, cfg)
	if err != nil {
		return err
	}
	store, err := statuspage.NewDBStore(ctx, shared.db)
	if err != nil {
		return err
	}
	page := statuspage.New(statusPageOptions(cfg, m, s.metrics.Queryable(), store))
	s.addActor("probes", m.Run)
	s.addCloser(m.Close)
	s.addReloader("probes", func(c *config.Config) (func() error, error) {
		pc := probesConfig(c)
		if err := m.Check(pc); err != nil {
			return nil, err
		}
		if c.Probes.MaxConcurrent != cfg.Probes.MaxConcurrent {
			s.logger.Warn("probes.max_concurrent changes at restart; keeping the value in force", "in_force", cfg.Probes.MaxConcurrent)
		}
		po := statusPageOptions(c, m, s.metrics.Queryable(), store)
		return func() error {
			if err := m.ApplyConfig(pc); err != nil {
				return err
			}
			page.Apply(po)
			return nil
		}, nil
	})
	s.addRoutes(m.Routes()...)
	s.addRoutes(page.Routes()...)
	s.running = append(s.running, fmt.Sprintf("probes: %d targets, status page at /status", len(cfg.Probes.Targets)))
	return nil
}

// probesConfig maps the config section to the probes' Config.
func probesConfig(cfg *config.Config) probes.Config {
	pc := cfg.Probes
	out := probes.Config{Modules: maps.Clone(pc.Parsed)}
	for _, t := range pc.Targets {
		conds, _ := condition.ParseAll(t.Conditions) // validated by config
		ls := map[string]string{"job": t.Job, "instance": t.Target}
		maps.Copy(ls, t.Labels)
		out.Targets = append(out.Targets, probes.Target{
			Name: t.Name, Target: t.Target, ModuleName: t.Module, Module: pc.Parsed[t.Module],
			Interval: t.Interval.D(), Timeout: t.Timeout.D(), Labels: labels.FromMap(ls), Group: t.Group, Conditions: conds,
		})
	}
	return out
}

func statusPageOptions(cfg *config.Config, src statuspage.Source, q storage.Queryable, store statuspage.MaintenanceStore) statuspage.Options {
	sp := cfg.Probes.StatusPage
	o := statuspage.Options{
		Title: sp.Title, Description: sp.Description, Logo: sp.LogoData, UptimeDays: sp.UptimeDays,
		Source: src, Queryable: q, Store: store, Incidents: publicIncidents,
	}
	for _, g := range sp.Groups {
		o.Groups = append(o.Groups, statuspage.Group{Name: g.Name, Probes: g.Probes})
	}
	for _, mw := range sp.Maintenance {
		o.Maintenance = append(o.Maintenance, statuspage.Maintenance{Title: mw.Title, Message: mw.Message, Start: mw.Start, End: mw.End, Probes: mw.Probes, Groups: mw.Groups})
	}
	return o
}
