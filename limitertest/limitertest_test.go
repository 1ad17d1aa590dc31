package limitertest_test

import (
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/limitertest"
)

// TestMemoryLimiter runs the suite on the reference implementation.
func TestMemoryLimiter(t *testing.T) {
	limitertest.Run(t, func(t *testing.T) auth.Limiter {
		return auth.NewMemoryLimiter(auth.LimiterConfig{})
	})
}

// BenchmarkMemoryLimiter: the memory limiter's work for one password
// check, v3 against v2.
func BenchmarkMemoryLimiter(b *testing.B) {
	limitertest.Bench(b, auth.NewMemoryLimiter(auth.LimiterConfig{}))
}
