package authhttp

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
)

// pingLimiter is a shared limiter whose store can be down (Ping fails at
// once) or hung (Ping waits for its context). Only Ping is ever called:
// the test asks /healthz alone, which takes no attempt, so the embedded
// Limiter is nil and any other call panics.
type pingLimiter struct {
	auth.Limiter
	down, hung atomic.Bool
}

func (l *pingLimiter) Ping(ctx context.Context) error {
	switch {
	case l.down.Load():
		return fmt.Errorf("%w: connection refused", auth.ErrStoreUnavailable)
	case l.hung.Load():
		<-ctx.Done()
		return fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, ctx.Err())
	}
	return nil
}

// TestHealthzLimiter: /healthz answers 503 while a shared limiter's store
// does not answer, since every login then fails (finding 14), and within a
// few seconds when it hangs.
func TestHealthzLimiter(t *testing.T) {
	lim := &pingLimiter{}
	e := newHTEnvConfig(t, auth.Config{Limiter: lim, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}}, Config{})
	e.do("GET", "/healthz", "", "", "").wantStatus(t, 200)
	lim.down.Store(true)
	e.do("GET", "/healthz", "", "", "").wantError(t, 503, "temporarily_unavailable")
	lim.down.Store(false)
	lim.hung.Store(true)
	start := time.Now()
	e.do("GET", "/healthz", "", "", "").wantError(t, 503, "temporarily_unavailable")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a hung limiter held /healthz %v", d)
	}
	lim.hung.Store(false)
	e.do("GET", "/healthz", "", "", "").wantStatus(t, 200)
	// The store's own outage still counts.
	e.store.down.Store(true)
	e.do("GET", "/healthz", "", "", "").wantError(t, 503, "temporarily_unavailable")
	if err := e.a.Ping(context.Background()); !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Fatalf("Ping = %v", err)
	}
}
