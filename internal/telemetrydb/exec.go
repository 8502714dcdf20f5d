package telemetrydb

import (
	"context"
	"fmt"
)

// Exec runs a statement that does not touch the partitions' tables, such as
// a DuckDB setting (SET GLOBAL ...) a domain wants for its workload.
func (db *DB) Exec(ctx context.Context, stmt string) error {
	if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %s: %w", db.opts.Domain, stmt, err)
	}
	return nil
}
