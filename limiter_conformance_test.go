package auth_test

import (
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/limitertest"
)

// TestMemoryLimiterConformance runs limitertest's suite on the in-memory
// limiter that Config.Limiter nil means, the reference implementation.
func TestMemoryLimiterConformance(t *testing.T) {
	limitertest.Run(t, func(t *testing.T) auth.Limiter {
		return auth.NewMemoryLimiter(auth.LimiterConfig{})
	})
}

// BenchmarkMemoryLimiterAttempt: the in-memory limiter's work for one
// password check, v3 against v2 (limitertest.Bench, as the shared limiters'
// BenchmarkAttempt).
func BenchmarkMemoryLimiterAttempt(b *testing.B) {
	limitertest.Bench(b, auth.NewMemoryLimiter(auth.LimiterConfig{}))
}
