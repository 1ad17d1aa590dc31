package postgres_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goauthkit/auth/store/postgres"
)

// Write the store's migrations as golang-migrate's files, for a service
// that migrates its database with its own tool, and open the store without
// migrating: Open checks that the schema is recent enough.
func ExampleMigrations() {
	dir := "migrations"
	for _, m := range postgres.Migrations("auth") {
		name := filepath.Join(dir, fmt.Sprintf("%04d_auth_store.up.sql", m.Version))
		if err := os.WriteFile(name, []byte(m.SQL), 0o644); err != nil {
			panic(err)
		}
	}
	// ... migrate -path migrations -database "$DATABASE_URL" up

	s, err := postgres.Open(context.Background(), os.Getenv("DATABASE_URL"),
		postgres.Config{Schema: "auth", SkipMigrations: true})
	if err != nil {
		panic(err) // a schema older than this release needs, say
	}
	defer s.Close()
}
