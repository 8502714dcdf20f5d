package server

import (
	"context"
	"path/filepath"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/state"
)

// stateDB opens the shared state database once; every feature that keeps
// small transactional records (alerting's ledger and outbox, on-call's
// objects and incidents) uses the same *state.DB, so their writes share
// one write lock and one transaction can span features (an escalation step
// and the notifications it enqueues).
func (s *Server) stateDB(ctx context.Context, cfg *config.Config) (*state.DB, error) {
	if s.state != nil {
		return s.state, nil
	}
	db, err := state.Open(ctx, filepath.Join(cfg.DataDir, "state.db"), state.Options{Logger: s.logger})
	if err != nil {
		return nil, err
	}
	s.state = db
	s.addCloser(db.Close)
	return db, nil
}
