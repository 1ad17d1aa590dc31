package redislimit_test

import (
	"testing"

	"github.com/goauthkit/auth/internal/loginbench"
	"github.com/goauthkit/auth/redislimit"
	"github.com/goauthkit/auth/store/memory"
)

// BenchmarkLoginOverhead: a login but its hash, on the memory store and the
// Redis limiter (see loginbench.Run).
func BenchmarkLoginOverhead(b *testing.B) {
	c := newClient(b)
	loginbench.Run(b, memory.New(), newLimiter(b, c, newPrefix(b, c), redislimit.Config{}))
}
