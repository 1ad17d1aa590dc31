package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/postgres"
	"github.com/goauthkit/auth/store/storetest"
)

// An empty URL would connect to libpq's defaults (PGHOST and the like),
// and create tables there.
func TestOpenEmptyURL(t *testing.T) {
	for _, url := range []string{"", " ", "\t\n"} {
		s, err := postgres.Open(context.Background(), url, postgres.Config{})
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", url)
		}
		if !strings.Contains(err.Error(), "url is empty") {
			t.Errorf("Open(%q) = %v, want an error naming url", url, err)
		}
	}
}

func TestMigrationsList(t *testing.T) {
	for _, c := range []struct{ schema, quoted string }{
		{"", `"public"`},
		{"auth", `"auth"`},
		{`Odd "name"`, `"Odd ""name"""`},
	} {
		ms := postgres.Migrations(c.schema)
		if len(ms) == 0 {
			t.Fatal("no migrations")
		}
		for i, m := range ms {
			if m.Version != i+1 || m.Name == "" {
				t.Errorf("migration %d: version %d, name %q", i, m.Version, m.Name)
			}
			record := fmt.Sprintf("INSERT INTO %s.\"auth_schema_migrations\" (version, description) VALUES (%d, '%s');\n",
				c.quoted, m.Version, strings.ReplaceAll(m.Name, "'", "''"))
			if strings.Contains(m.SQL, "{schema}") || !strings.Contains(m.SQL, c.quoted+".") || !strings.HasSuffix(m.SQL, record) {
				t.Errorf("schema %q, migration %d: SQL\n%s\ndoes not name the schema, or does not end with %q", c.schema, m.Version, m.SQL, record)
			}
		}
	}
}

// applyMigrations runs the SQL of ms by hand, as a migration tool does,
// each in a transaction of its own, in schema, which it creates.
func applyMigrations(t testing.TB, schema string, ms []postgres.Migration) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, m.SQL)
			return err
		})
		if err != nil {
			t.Fatalf("migration %d (%s): %v", m.Version, m.Name, err)
		}
	}
}

// openSkipping opens a store on schema with Config.SkipMigrations.
func openSkipping(t testing.TB, url, schema string) (*postgres.Store, error) {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Config{Schema: schema, SkipMigrations: true})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// The conformance suite on schemas made by the exported SQL, applied by
// hand, and opened with SkipMigrations.
func TestConformanceExportedMigrations(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) auth.Store {
		schema := freshSchema(t)
		applyMigrations(t, schema, postgres.Migrations(schema))
		s, err := openSkipping(t, testURL(t), schema)
		if err != nil {
			t.Fatalf("Open with SkipMigrations: %v", err)
		}
		return s
	})
}

// schemaDump describes what schema holds (columns, constraints, indexes,
// functions, the migrations recorded), with its name written S.
func schemaDump(t *testing.T, schema string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := testPool(t).Query(ctx, `
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' ||
	coalesce(column_default, '') || ' ' || coalesce(collation_name, '')
	FROM information_schema.columns WHERE table_schema = $1
UNION ALL
SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
	FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = $1
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid)
	FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
UNION ALL
SELECT 'migration ' || version || ' ' || description FROM `+pgx.Identifier{schema, "auth_schema_migrations"}.Sanitize()+`
ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, schema, "S")
	}
	return lines
}

// The exported SQL makes the schema that Open's own migrations make.
func TestExportedMigrationsMatchOpen(t *testing.T) {
	ctx := context.Background()
	byOpen := freshSchema(t)
	s, err := postgres.New(ctx, testPool(t), postgres.Config{Schema: byOpen})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	byHand := freshSchema(t)
	applyMigrations(t, byHand, postgres.Migrations(byHand))
	want, got := schemaDump(t, byOpen), schemaDump(t, byHand)
	if !slices.Equal(got, want) {
		t.Fatalf("the exported SQL makes\n%s\n\nOpen makes\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// With SkipMigrations, Open changes nothing and refuses a schema older than
// the release; Open without it brings such a schema up to date.
func TestSkipMigrations(t *testing.T) {
	ctx := context.Background()
	url := testURL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	n := len(postgres.Migrations(""))
	for _, c := range []struct {
		name    string
		prepare func(t *testing.T, schema string)
		viaPath bool   // the schema named by the URL's search_path, not Config.Schema
		wantErr string // "" for success
	}{
		{name: "no schema", prepare: func(*testing.T, string) {}, wantErr: "does not exist"},
		{name: "an empty schema", prepare: func(t *testing.T, s string) { applyMigrations(t, s, nil) }, wantErr: "has no auth_schema_migrations table"},
		{name: "the first migration only", prepare: func(t *testing.T, s string) { applyMigrations(t, s, postgres.Migrations(s)[:1]) },
			wantErr: "lacks migrations 2, "},
		{name: "all but the last", prepare: func(t *testing.T, s string) { applyMigrations(t, s, postgres.Migrations(s)[:n-1]) },
			wantErr: fmt.Sprintf("lacks migrations %d of %d", n, n)},
		{name: "all", prepare: func(t *testing.T, s string) { applyMigrations(t, s, postgres.Migrations(s)) }},
		{name: "all, in the search_path", prepare: func(t *testing.T, s string) { applyMigrations(t, s, postgres.Migrations(s)) }, viaPath: true},
		{name: "all but the last, in the search_path", prepare: func(t *testing.T, s string) { applyMigrations(t, s, postgres.Migrations(s)[:n-1]) },
			viaPath: true, wantErr: "older than this release needs"},
		{name: "a newer release's", prepare: func(t *testing.T, s string) {
			applyMigrations(t, s, append(postgres.Migrations(s), postgres.Migration{Version: n + 1, Name: "future",
				SQL: "INSERT INTO " + pgx.Identifier{s, "auth_schema_migrations"}.Sanitize() + " (version, description) VALUES (" + fmt.Sprint(n+1) + ", 'future')"}))
		}},
		{name: "by Open's own migrations", prepare: func(t *testing.T, s string) {
			st, err := postgres.New(ctx, testPool(t), postgres.Config{Schema: s})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			schema := freshSchema(t)
			c.prepare(t, schema)
			before := ""
			if c.name != "no schema" && c.name != "an empty schema" {
				before = strings.Join(schemaDump(t, schema), "\n")
			}
			u, cfgSchema := url, schema
			if c.viaPath {
				u, cfgSchema = url+sep+"search_path="+schema, ""
			}
			s, err := openSkipping(t, u, cfgSchema)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Open with SkipMigrations: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), schema)):
				t.Fatalf("Open with SkipMigrations = %v, want an error naming the schema and saying %q", err, c.wantErr)
			case err == nil:
				if s.Schema() != schema {
					t.Fatalf("Schema() = %q, want %q", s.Schema(), schema)
				}
				if _, err := s.UserByID(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
					t.Fatalf("UserByID = %v, want ErrNotFound", err)
				}
			}
			if before != "" {
				if after := strings.Join(schemaDump(t, schema), "\n"); after != before {
					t.Fatalf("Open with SkipMigrations changed the schema:\n%s\n\nwas\n%s", after, before)
				}
			}
			if c.name == "no schema" {
				var exists bool
				if err := testPool(t).QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil || exists {
					t.Fatalf("Open with SkipMigrations created the schema (%v)", err)
				}
				return
			}
			if c.wantErr != "" {
				// Open without SkipMigrations takes over from the tool.
				st, err := postgres.Open(ctx, u, postgres.Config{Schema: cfgSchema})
				if err != nil {
					t.Fatalf("Open after a partial migration by hand: %v", err)
				}
				st.Close()
				if _, err := openSkipping(t, u, cfgSchema); err != nil {
					t.Fatalf("Open with SkipMigrations after Open migrated: %v", err)
				}
			}
		})
	}
}
