package server

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"

	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/oncall"
	"github.com/vigilhq/vigil/internal/version"
)

// *alerting.Service answers /api/v1/alertmanagers (its built-in
// Alertmanager); its Rules() answers /api/v1/rules and /api/v1/alerts.
var _ apiv1.AlertmanagerRetriever = (*alerting.Service)(nil)

// setupAlerting wires the alerting feature: rules evaluated on the metrics
// store, Alertmanager-compatible routing and delivery, the Alertmanager API
// v2 and Vigil's notification and ledger APIs.
func (s *Server) setupAlerting(ctx context.Context, cfg *config.Config) error {
	ac, err := alertingConfig(cfg)
	if err != nil {
		return err
	}
	sh, err := s.sharedState(ctx, cfg)
	if err != nil {
		return err
	}
	a, err := alerting.New(alerting.Options{
		Logger:     s.logger,
		Registerer: s.reg,
		DataDir:    filepath.Join(cfg.DataDir, "alerting"),
		State:      sh.db,
		Outbox:     sh.outbox,
		// Alert groups of oncall.receivers reach on-call (oncall.go).
		IncidentChannel: oncall.ChannelIntake,
		Engine:          s.metrics.Engine(),
		Queryable:       s.metrics.Queryable(),
		Appendable:      s.metrics.Storage(),
		ExternalURL:     s.externalURL(),
		Version:         version.Version,
		Revision:        version.Revision(),
		BuildDate:       version.BuildDate,
		Config:          ac,

		ResendDelay:        cfg.Alerting.Rules.ResendDelay.D(),
		ForOutageTolerance: cfg.Alerting.Rules.ForOutageTolerance.D(),
		ForGracePeriod:     cfg.Alerting.Rules.ForGracePeriod.D(),

		MaxRequestBytes:     int64(cfg.Alerting.API.MaxRequestBytes),
		MaxAlertsPerRequest: cfg.Alerting.API.MaxAlertsPerRequest,
	})
	if err != nil {
		return err
	}
	s.addCloser(a.Close)
	s.addActor("alerting", a.Run)
	started, startedAPI := cfg.Alerting.Rules, cfg.Alerting.API
	s.addReloader("alerting", func(c *config.Config) (func() error, error) {
		ac, err := alertingConfig(c)
		if err != nil {
			return nil, err
		}
		if c.Alerting.Rules != started {
			s.logger.Warn("alerting.rules changed: the rules manager keeps the values it started with until Vigil restarts",
				"in_force", fmt.Sprintf("%+v", started), "configured", fmt.Sprintf("%+v", c.Alerting.Rules))
		}
		if c.Alerting.API != startedAPI {
			s.logger.Warn("alerting.api changed: the limits in force stay until Vigil restarts",
				"in_force", fmt.Sprintf("%+v", startedAPI), "configured", fmt.Sprintf("%+v", c.Alerting.API))
		}
		return a.Prepare(ac)
	})
	s.addRoutes(a.Routes()...)
	s.rulesRetriever = func(context.Context) apiv1.RulesRetriever { return a.Rules() }
	s.alertmanagers = func(context.Context) apiv1.AlertmanagerRetriever { return a }
	s.running = append(s.running, "alerting")
	return nil
}

func alertingConfig(cfg *config.Config) (alerting.Config, error) {
	cfg.ResolveAlerting()
	files, err := cfg.RuleFilePaths()
	if err != nil {
		return alerting.Config{}, err
	}
	ac := alerting.Config{
		RuleFiles:        files,
		ExternalLabels:   labels.EmptyLabels(),
		Alertmanager:     cfg.Alerting.AM,
		AlertmanagerText: cfg.Alerting.AMText,
		Delivery: alerting.Delivery{
			GiveUpAfter: cfg.Alerting.Delivery.GiveUpAfter.D(),
			MinBackoff:  cfg.Alerting.Delivery.MinBackoff.D(),
			MaxBackoff:  cfg.Alerting.Delivery.MaxBackoff.D(),
		},
		IncidentReceivers: incidentReceivers(cfg),
	}
	if cfg.Scrape != nil {
		ac.EvaluationInterval = time.Duration(cfg.Scrape.GlobalConfig.EvaluationInterval)
		ac.ExternalLabels = cfg.Scrape.GlobalConfig.ExternalLabels
	}
	return ac, nil
}

// externalURL is how users reach this Vigil: web.external_url, or else the
// HTTP listen address. Every link Vigil builds (generator URLs,
// notification templates, the index page) starts with it.
func (s *Server) externalURL() *url.URL {
	if e := s.Config().Web.ExternalURL; e != "" {
		if u, err := config.ParseExternalURL(e); err == nil {
			return u
		}
	}
	host := "localhost:9797"
	if s.httpLn != nil {
		addr := s.httpLn.Addr().(*net.TCPAddr)
		h := addr.IP.String()
		if addr.IP.IsUnspecified() {
			h = "localhost"
		}
		host = net.JoinHostPort(h, fmt.Sprint(addr.Port))
	}
	return &url.URL{Scheme: "http", Host: host}
}
