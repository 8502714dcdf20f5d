package server

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/memlimit"
)

// setupMemory divides the process's memory_limit among the stores (their
// DuckDB memory_limit), gives Go's collector its soft limit, and starts
// the governor whose Admit the ingest receivers call first.
func (s *Server) setupMemory(cfg *config.Config) error {
	b, err := cfg.MemoryBudget()
	if err != nil {
		return fmt.Errorf("memory_limit: %w", err)
	}
	s.memory = b
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(b.Go)
	}
	s.governor, err = memlimit.New(memlimit.Options{Limit: b.Limit, Logger: s.logger, Registerer: s.reg})
	if err != nil {
		return err
	}
	s.addActor("memory governor", s.governor.Run)
	s.addReloader("memory limit", commitOnly(func(c *config.Config) error {
		if nb, err := c.MemoryBudget(); err == nil && nb != b {
			s.logger.Warn("memory_limit and the stores' memory_limit change at restart; keeping the values in force",
				"memory_limit", memlimit.Size(b.Limit), "traces", memlimit.Size(b.Traces), "logs", memlimit.Size(b.Logs))
		}
		return nil
	}))
	s.running = append(s.running, fmt.Sprintf("memory: limit %s (DuckDB memory_limit: trace store %s, log store %s; Go soft limit %s); ingestion refused, retryably, over %s resident",
		memlimit.Size(b.Limit), memlimit.Size(b.Traces), memlimit.Size(b.Logs), memlimit.Size(b.Go), memlimit.Size(b.High)))
	return nil
}

// admit is the receivers' Admit: nil, or the governor's retryable refusal.
func (s *Server) admit() error { return s.governor.Admit() }
