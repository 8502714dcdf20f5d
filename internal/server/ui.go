package server

import (
	"context"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/ui"
)

// setupUI mounts the web UI: the application shell at / and its
// client-side paths, and the embedded assets (internal/ui).
func (s *Server) setupUI(_ context.Context, _ *config.Config) error {
	u, err := ui.New(ui.Options{Logger: s.logger, PathPrefix: func() string { return s.externalURL().Path },
		AuthOn: func() bool { return s.auth != nil && s.auth.Enabled() }})
	if err != nil {
		return err
	}
	s.addRoutes(u.Routes()...)
	if u.Built() {
		s.running = append(s.running, "web UI at /")
	} else {
		s.running = append(s.running, "web UI not built into this binary (make ui)")
	}
	return nil
}
