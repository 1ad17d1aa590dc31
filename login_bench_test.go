package auth_test

import (
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/loginbench"
)

// BenchmarkLoginOverhead: a login but its hash, on the memory store and
// limiter (see loginbench.Run).
func BenchmarkLoginOverhead(b *testing.B) {
	loginbench.Run(b, auth.NewMemoryStore(), nil)
}
