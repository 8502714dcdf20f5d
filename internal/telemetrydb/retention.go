package telemetrydb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Run enforces retention every Options.RetentionInterval until ctx is done.
// Writing does not depend on Run; without it nothing is ever dropped.
func (db *DB) Run(ctx context.Context) error {
	t := time.NewTicker(db.opts.RetentionInterval)
	defer t.Stop()
	for {
		if _, err := db.EnforceRetention(ctx); err != nil {
			db.log.Error("enforce retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// EnforceRetention drops partitions past MaxAge, then the oldest ones while
// the store is larger than MaxBytes, and returns how many it dropped. The
// current partition is never dropped.
func (db *DB) EnforceRetention(ctx context.Context) (int, error) {
	dropped := 0
	defer db.updateDiskMetric()
	if db.opts.MaxAge > 0 {
		cutoff := db.opts.Now().Add(-db.opts.MaxAge)
		for {
			db.partsMu.RLock()
			// A partition received writes until the next one was created.
			expired := len(db.parts) > 1 && db.parts[1].created.Before(cutoff)
			db.partsMu.RUnlock()
			if !expired {
				break
			}
			if err := db.dropOldest(ctx, "age"); err != nil {
				return dropped, err
			}
			dropped++
		}
	}
	if db.opts.MaxBytes > 0 {
		for db.diskBytes() > db.opts.MaxBytes {
			db.partsMu.RLock()
			n := len(db.parts)
			db.partsMu.RUnlock()
			if n < 2 {
				break
			}
			if err := db.dropOldest(ctx, "size"); err != nil {
				return dropped, err
			}
			dropped++
		}
	}
	return dropped, nil
}

// dropOldest detaches the oldest partition and deletes its files. It waits
// for running queries to finish.
func (db *DB) dropOldest(ctx context.Context, reason string) error {
	db.dropMu.Lock()
	defer db.dropMu.Unlock()
	db.partsMu.RLock()
	if len(db.parts) < 2 {
		db.partsMu.RUnlock()
		return nil
	}
	p := db.parts[0]
	db.partsMu.RUnlock()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "DETACH "+p.alias); err != nil {
		return fmt.Errorf("detach %s partition %s: %w", db.opts.Domain, p.path, err)
	}
	db.partsMu.Lock()
	db.parts = db.parts[1:]
	db.partsMu.Unlock()
	err = errors.Join(removeIfExists(p.path), removeIfExists(p.path+".wal"))
	db.metrics.dropped.WithLabelValues(reason).Inc()
	db.log.Info("partition dropped", "path", p.path, "reason", reason)
	if err != nil {
		return fmt.Errorf("delete %s partition files: %w", db.opts.Domain, err)
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
