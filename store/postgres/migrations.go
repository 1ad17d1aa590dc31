package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationsTable is the definition of auth_schema_migrations, which
// records the migrations applied: by Open and New, and by the SQL of
// Migrations.
const migrationsTable = ` (
	version     integer PRIMARY KEY,
	description text NOT NULL,
	applied_at  timestamptz NOT NULL DEFAULT now()
)`

// Migration is one change of the store's schema, for a service that
// applies them with its own tool (golang-migrate, Atlas, psql) and opens
// the store with Config.SkipMigrations.
type Migration struct {
	// Version numbers the migrations 1, 2, ... in the order they must be
	// applied, each once.
	Version int
	// Name says what the migration does.
	Name string
	// SQL is the migration's statements, several of them (golang-migrate's
	// and Atlas's PostgreSQL drivers and psql run them as they are); they
	// should run in one transaction. The last one records the migration in
	// the schema's auth_schema_migrations table, which the first migration
	// creates, and which Open and New read.
	SQL string
}

// Migrations returns the migrations of this release, in order, their SQL
// naming the tables in schema (quoted; "" is "public"), which must exist:
// it is the schema that Config.Schema names, or the current schema of the
// store's connections. A later release appends migrations and never
// changes these; its Open and New, with Config.SkipMigrations, refuse a
// schema that lacks one.
//
// Open and New without Config.SkipMigrations apply the same statements
// themselves, and also create a missing Config.Schema, and refuse to make
// emails unique (migration 2) with a clearer message while two accounts
// share one.
func Migrations(schema string) []Migration {
	if schema == "" {
		schema = "public"
	}
	quoted := pgx.Identifier{schema}.Sanitize()
	table := ident(schema, "auth_schema_migrations")
	out := make([]Migration, len(migrations))
	for i, m := range migrations {
		var b strings.Builder
		if i == 0 {
			b.WriteString("CREATE TABLE IF NOT EXISTS " + table + migrationsTable + ";\n")
		}
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(m.sql, "{schema}", quoted)))
		fmt.Fprintf(&b, "\nINSERT INTO %s (version, description) VALUES (%d, '%s');\n",
			table, m.version, strings.ReplaceAll(m.description, "'", "''"))
		out[i] = Migration{Version: m.version, Name: m.description, SQL: b.String()}
	}
	return out
}

// checkSchema is what Open and New do with Config.SkipMigrations: it
// changes nothing, and returns the schema's name (the connection's current
// schema if schema is empty) if the schema holds every migration this
// release knows, recorded in auth_schema_migrations, and an error naming
// those it lacks if not.
func checkSchema(ctx context.Context, pool *pgxpool.Pool, schema string) (string, error) {
	if schema == "" {
		var cur *string
		if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
			return "", unavailable(ctx, err)
		}
		if cur == nil {
			return "", errors.New("postgres: the connection's search_path names no existing schema; create one or set Config.Schema")
		}
		schema = *cur
	}
	table := ident(schema, "auth_schema_migrations")
	var regclass *string
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1)::text", table).Scan(&regclass); err != nil {
		return "", unavailable(ctx, err)
	}
	if regclass == nil {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
			return "", unavailable(ctx, err)
		}
		if !exists {
			return "", fmt.Errorf("postgres: Config.SkipMigrations is set, but schema %q does not exist: "+
				"create it and apply postgres.Migrations first, or leave SkipMigrations unset so that Open does", schema)
		}
		return "", fmt.Errorf("postgres: Config.SkipMigrations is set, but schema %q has no auth_schema_migrations table: "+
			"apply postgres.Migrations first, or leave SkipMigrations unset so that Open applies them", schema)
	}
	rows, err := pool.Query(ctx, "SELECT version FROM "+table)
	if err != nil {
		return "", unavailable(ctx, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return "", unavailable(ctx, err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[int(v)] = true
	}
	var missing []string
	for _, m := range migrations {
		if !applied[m.version] {
			missing = append(missing, fmt.Sprint(m.version))
		}
	}
	if missing != nil {
		return "", fmt.Errorf("postgres: Config.SkipMigrations is set, but schema %q is older than this release needs: "+
			"it lacks migrations %s of %d: apply them (postgres.Migrations) first", schema, strings.Join(missing, ", "), len(migrations))
	}
	return schema, nil
}
