package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema changes, in order. Migration i takes the schema
// from version i to version i+1 (PRAGMA user_version). Append only: never
// edit or reorder a migration that has been released.
var migrations = []string{
	// 1: users and refresh sessions.
	`CREATE TABLE users (
		id            TEXT    PRIMARY KEY,
		username      TEXT    NOT NULL UNIQUE,
		email         TEXT    NOT NULL DEFAULT '',
		password_hash TEXT    NOT NULL,
		disabled      INTEGER NOT NULL DEFAULT 0,
		roles         TEXT    NOT NULL DEFAULT 'null', -- JSON array
		token_version INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL, -- Unix microseconds, UTC
		updated_at    INTEGER NOT NULL
	) STRICT;
	CREATE TABLE sessions (
		id           TEXT    PRIMARY KEY,
		user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		token_hash   BLOB    NOT NULL,
		prev_hash    BLOB,
		rotated_at   INTEGER,
		user_version INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		expires_at   INTEGER NOT NULL,
		revoked      INTEGER NOT NULL DEFAULT 0
	) STRICT;
	CREATE INDEX sessions_user_id ON sessions (user_id);`,
}

// migrate brings the schema of the database behind db (the writer) up to
// date, in one immediate transaction, so that concurrent Opens of one file
// apply each migration once.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrapOpen(ctx, err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return wrapOpen(ctx, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlite: Open: schema version %d is newer than this package knows (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return wrapOpen(ctx, fmt.Errorf("migration %d: %w", i+1, err))
		}
	}
	// PRAGMA takes no parameters; the value is a constant of this package.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return wrapOpen(ctx, err)
	}
	if err := tx.Commit(); err != nil {
		return wrapOpen(ctx, err)
	}
	return nil
}
