package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Migration is one schema change of one component. Versions of a component
// start at 1 and increase by 1; a released migration is never edited, a new
// one is appended instead.
type Migration struct {
	Version int
	Name    string
	// SQL is executed as one script (several statements allowed) inside the
	// migration's transaction. Exactly one of SQL and Up is set.
	SQL string
	// Up runs Go code inside the migration's transaction, for data changes
	// that SQL alone cannot express.
	Up func(ctx context.Context, tx *sql.Tx) error
}

// Migrate applies, in order and each in its own transaction, the migrations
// of component that are not yet recorded in schema_migrations. It refuses to
// run when the database has a version of component newer than the code knows
// (a downgrade), so old code never writes into a schema it does not
// understand.
//
// Components are independent: "alerting" and "incidents" each have their own
// version sequence. Table names should be prefixed with the component name.
//
// Why not a migration library: goose and golang-migrate both keep one linear
// version per database (or per table name); features built by different
// people at different times need independent sequences in one file, which is
// this 60-line runner.
func (db *DB) Migrate(ctx context.Context, component string, migrations []Migration) error {
	if component == "" {
		return fmt.Errorf("migrate: empty component name")
	}
	for i, m := range migrations {
		if m.Version != i+1 {
			return fmt.Errorf("migrate %s: migration %d (%q) has version %d; versions must be 1, 2, 3, ... in order", component, i, m.Name, m.Version)
		}
		if (m.SQL == "") == (m.Up == nil) {
			return fmt.Errorf("migrate %s: migration %d (%q) must set exactly one of SQL and Up", component, m.Version, m.Name)
		}
	}
	current, err := db.SchemaVersion(ctx, component)
	if err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate %s: database schema is at version %d but this build knows only %d; use a newer vigil or restore a backup", component, current, len(migrations))
	}
	for _, m := range migrations[current:] {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			// Re-check inside the write transaction: another process may have
			// migrated in between.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = ? AND version = ?`, component, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if m.SQL != "" {
				if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
					return err
				}
			} else if err := m.Up(ctx, tx); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)`,
				component, m.Version, m.Name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s to version %d (%s): %w", component, m.Version, m.Name, err)
		}
		db.logger.Info("schema migrated", "schema", component, "version", m.Version, "name", m.Name)
	}
	return nil
}

// SchemaVersion returns the highest applied migration version of component,
// 0 when none.
func (db *DB) SchemaVersion(ctx context.Context, component string) (int, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations WHERE component = ?`, component).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version of %s: %w", component, err)
	}
	return int(v.Int64), nil
}
