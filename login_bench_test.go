package auth_test

import (
	"testing"

	"github.com/goauthkit/auth/internal/loginbench"
	"github.com/goauthkit/auth/store/memory"
)

// BenchmarkLoginOverhead: a login but its hash, on the memory store and
// limiter (see loginbench.Run).
func BenchmarkLoginOverhead(b *testing.B) {
	loginbench.Run(b, memory.New(), nil)
}
