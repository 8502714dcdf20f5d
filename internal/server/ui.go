package server

import (
	"context"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/ui"
)

// setupUI mounts the web UI: the application shell at / and its
// client-side paths, and the embedded assets (internal/ui).
func (s *Server) setupUI(_ context.Context, _ *config.Config) error {
	u, err := ui.New(ui.Options{Logger: s.logger})
	if err != nil {
		return err
	}
	for _, r := range u.Routes() {
		s.mux.Handle(r.MuxPattern(), r.Handler)
	}
	if u.Built() {
		s.running = append(s.running, "web UI at /")
	} else {
		s.running = append(s.running, "web UI not built into this binary (make ui)")
	}
	s.endpoints = append(s.endpoints, endpoint{Path: "/", What: "web UI"})
	return nil
}
