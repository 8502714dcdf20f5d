package server

import (
	"context"

	"github.com/vigilhq/vigil/internal/config"
)

// setupLogs wires the logs feature: map cfg.Logs to its Options, open it, then
// register what it provides: routes on s.mux, s.addActor for background
// work, s.addCloser to flush on shutdown, s.addReloader for config reloads,
// s.running / s.endpoints for the index page, and s.logsConsumer for OTLP.
func (s *Server) setupLogs(ctx context.Context, cfg *config.Config) error {
	return nil
}
