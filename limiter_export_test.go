package auth

// Test-only names for the in-memory limiter that Config.Limiter nil means,
// for the tests of package auth_test (limitertest's conformance run) and
// for the tests that count its budgets. They are not part of the package's
// API: they exist only while the package's tests are compiled.

// LimiterConfig configures NewMemoryLimiter (tests only).
type LimiterConfig = memoryLimiterConfig

// NewMemoryLimiter returns the in-memory limiter (tests only).
func NewMemoryLimiter(c LimiterConfig) *memoryLimiter { return newMemoryLimiter(c) }
