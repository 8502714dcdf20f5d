package server

import (
	"context"

	"github.com/vigilhq/vigil/internal/config"
)

// setupAlerting wires the alerting feature: map cfg.Alerting to its Options, open it, then
// register what it provides: routes on s.mux, s.addActor for background
// work, s.addCloser to flush on shutdown, s.addReloader for config reloads,
// s.running / s.endpoints for the index page, and s.rulesRetriever for /api/v1/rules and /api/v1/alerts. s.metrics gives Engine(), Storage() (writes through the series limits) and Queryable().
func (s *Server) setupAlerting(ctx context.Context, cfg *config.Config) error {
	return nil
}
