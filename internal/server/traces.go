package server

import (
	"context"

	"github.com/vigilhq/vigil/internal/config"
)

// setupTraces wires the traces feature: map cfg.Traces to its Options, open it, then
// register what it provides: routes on s.mux, s.addActor for background
// work, s.addCloser to flush on shutdown, s.addReloader for config reloads,
// s.running / s.endpoints for the index page, and s.tracesConsumer for OTLP.
func (s *Server) setupTraces(ctx context.Context, cfg *config.Config) error {
	return nil
}
