package server

import (
	"context"
	"path/filepath"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/state"
)

// sharedDeps is what several features use: the state database (small
// transactional records: the alert ledger, incidents, users) and the
// delivery outbox on it (alerting's notifications, on-call's pages).
type sharedDeps struct {
	db     *state.DB
	outbox *outbox.Outbox
}

// sharedState opens the state database and the outbox the first time a
// feature asks, and runs the outbox's delivery loop as an actor.
func (s *Server) sharedState(ctx context.Context, cfg *config.Config) (*sharedDeps, error) {
	if s.shared != nil {
		return s.shared, nil
	}
	db, err := state.Open(ctx, filepath.Join(cfg.DataDir, "state.db"), state.Options{Logger: s.logger})
	if err != nil {
		return nil, err
	}
	s.addCloser(db.Close)
	ob, err := outbox.New(outbox.Options{DB: db, Logger: s.logger})
	if err != nil {
		return nil, err
	}
	s.addActor("outbox", ob.Run)
	s.shared = &sharedDeps{db: db, outbox: ob}
	return s.shared, nil
}
