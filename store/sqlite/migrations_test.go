package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/storetest"
)

func TestMigrationsList(t *testing.T) {
	ms := Migrations()
	if len(ms) != len(migrations) {
		t.Fatalf("%d migrations, want %d", len(ms), len(migrations))
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name == "" || !strings.HasSuffix(m.SQL, fmt.Sprintf(";\nPRAGMA user_version = %d;\n", i+1)) {
			t.Errorf("migration %d: %d %q\n%s", i, m.Version, m.Name, m.SQL)
		}
	}
}

// applyMigrations runs the SQL of ms by hand on the file at path, as a
// migration tool does, each in a transaction of its own.
func applyMigrations(t testing.TB, path string, ms []Migration) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range ms {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("migration %d: %v", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// The conformance suite on files made by the exported SQL, applied by
// hand, and opened with SkipMigrations.
func TestConformanceExportedMigrations(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) auth.Store {
		path := filepath.Join(t.TempDir(), "auth.db")
		applyMigrations(t, path, Migrations())
		s, err := Open(context.Background(), path, Config{SkipMigrations: true})
		if err != nil {
			t.Fatalf("Open with SkipMigrations: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// schemaDump describes the schema of the file at path: its tables and
// indexes, and its version.
func schemaDump(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return append(out, fmt.Sprint("user_version ", v))
}

// The exported SQL makes the schema that Open's own migrations make.
func TestExportedMigrationsMatchOpen(t *testing.T) {
	byOpenPath := filepath.Join(t.TempDir(), "open.db")
	s, err := Open(context.Background(), byOpenPath, Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	byHand := filepath.Join(t.TempDir(), "hand.db")
	applyMigrations(t, byHand, Migrations())
	want, got := schemaDump(t, byOpenPath), schemaDump(t, byHand)
	if !slices.Equal(got, want) {
		t.Fatalf("the exported SQL makes\n%s\n\nOpen makes\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// With SkipMigrations, Open changes nothing and refuses a file whose schema
// is older or newer than the release; Open without it brings an older one
// up to date.
func TestSkipMigrations(t *testing.T) {
	ctx := context.Background()
	n := len(Migrations())
	for _, c := range []struct {
		name    string
		applied []Migration
		wantErr string // "" for success
	}{
		{"an empty file", nil, "version 0, older than this release needs: apply migrations 1 to "},
		{"the first migration only", Migrations()[:1], "version 1, older"},
		{"all but the last", Migrations()[:n-1], fmt.Sprintf("apply migrations %d to %d", n, n)},
		{"all", Migrations(), ""},
		{"a newer release's", append(Migrations(), Migration{Version: n + 1, SQL: fmt.Sprintf("PRAGMA user_version = %d", n+1)}), "newer than this package knows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "auth.db")
			applyMigrations(t, path, c.applied)
			before := schemaDump(t, path)
			for _, cfg := range []Config{{SkipMigrations: true}, {SkipMigrations: true, ExclusiveLock: true}} {
				s, err := Open(ctx, path, cfg)
				if c.wantErr == "" {
					if err != nil {
						t.Fatalf("Open with %+v: %v", cfg, err)
					}
					if _, err := s.UserByID(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
						t.Fatalf("UserByID = %v, want ErrNotFound", err)
					}
					s.Close()
				} else if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					if err == nil {
						s.Close()
					}
					t.Fatalf("Open with %+v = %v, want an error saying %q", cfg, err, c.wantErr)
				}
			}
			if after := schemaDump(t, path); !slices.Equal(after, before) {
				t.Fatalf("Open with SkipMigrations changed the schema:\n%s\n\nwas\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
			}
			if strings.Contains(c.wantErr, "older") {
				// Open without SkipMigrations takes over from the tool.
				s, err := Open(ctx, path, Config{})
				if err != nil {
					t.Fatalf("Open after a partial migration by hand: %v", err)
				}
				s.Close()
				if s, err = Open(ctx, path, Config{SkipMigrations: true}); err != nil {
					t.Fatalf("Open with SkipMigrations after Open migrated: %v", err)
				}
				s.Close()
			}
		})
	}
}
