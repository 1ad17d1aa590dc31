package postgres_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth/internal/loginbench"
	"github.com/goauthkit/auth/store/postgres"
)

// BenchmarkLoginOverhead: a login but its hash, on the PostgreSQL store
// and its limiter, in a fresh schema.
func BenchmarkLoginOverhead(b *testing.B) {
	url := os.Getenv("AUTH_TEST_POSTGRES_URL")
	if url == "" {
		b.Skip("AUTH_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	schema := "bench_" + strings.ToLower(rand.Text()[:10])
	s, err := postgres.Open(ctx, url, postgres.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		s.Close()
		if c, err := pgx.Connect(ctx, url); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	}()
	l, err := s.Limiter(postgres.LimiterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	loginbench.Run(b, s, l)
}
