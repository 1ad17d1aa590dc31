package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Migration is one change of the store's schema, for a service that
// applies them with its own tool (golang-migrate, Atlas, the sqlite3
// shell) and opens the store with Config.SkipMigrations.
type Migration struct {
	// Version numbers the migrations 1, 2, ... in the order they must be
	// applied, each once.
	Version int
	// Name is "auth schema version N": what each migration does is said
	// in the comments of the package's source.
	Name string
	// SQL is the migration's statements, several of them; they should run
	// in one transaction. The last one sets PRAGMA user_version to Version,
	// which Open reads.
	SQL string
}

// Migrations returns the migrations of this release, in order. A later
// release appends migrations and never changes these; its Open, with
// Config.SkipMigrations, refuses a file that lacks one.
//
// Open without Config.SkipMigrations applies the same statements itself,
// and refuses to make emails unique (migration 2) with a clearer message
// while two accounts share one.
func Migrations() []Migration {
	out := make([]Migration, len(migrations))
	for i, m := range migrations {
		out[i] = Migration{
			Version: i + 1,
			Name:    fmt.Sprintf("auth schema version %d", i+1),
			SQL:     fmt.Sprintf("%s\nPRAGMA user_version = %d;\n", strings.TrimRight(strings.TrimSpace(m), ";")+";", i+1),
		}
	}
	return out
}

// checkVersion is what Open does with Config.SkipMigrations: it changes
// nothing, and refuses a file whose schema version (PRAGMA user_version)
// is not the one this release needs.
func checkVersion(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return wrapOpen(ctx, err)
	}
	switch {
	case version > len(migrations):
		return fmt.Errorf("sqlite: Open: schema version %d is newer than this package knows (%d)", version, len(migrations))
	case version < len(migrations):
		return fmt.Errorf("sqlite: Open: Config.SkipMigrations is set, but the file's schema is version %d, older than this release needs: "+
			"apply migrations %d to %d (sqlite.Migrations) first", version, version+1, len(migrations))
	}
	return nil
}
