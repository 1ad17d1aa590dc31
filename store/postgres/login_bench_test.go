package postgres_test

import (
	"testing"

	"github.com/goauthkit/auth/internal/loginbench"
	"github.com/goauthkit/auth/store/postgres"
)

// BenchmarkLoginOverhead: a login but its hash, on the PostgreSQL store
// and its limiter, in a fresh schema (see loginbench.Run).
func BenchmarkLoginOverhead(b *testing.B) {
	l, s := limiterOn(b, freshSchema(b), postgres.LimiterConfig{})
	loginbench.Run(b, s, l)
}
