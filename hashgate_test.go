package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSince returns a since function reading a manual clock, and a function
// to move that clock.
func fakeSince() (func(time.Time) time.Duration, func(time.Duration)) {
	var now atomic.Int64
	return func(time.Time) time.Duration { return time.Duration(now.Load()) },
		func(d time.Duration) { now.Add(int64(d)) }
}

// tryAcquire acquires with a short deadline and reports whether it got a
// slot (and must then release it).
func tryAcquire(t *testing.T, g *hashGate) (func(), bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	release, err := g.acquire(ctx)
	if err != nil {
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("acquire: %v, want ErrBusy wrapping the deadline", err)
		}
		return nil, false
	}
	return release, true
}

func TestHashGate(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		serving bool
		want    int // slots that can be held at once
	}{
		{"one slot, idle", 1, false, 1},
		{"one slot, serving: never held back", 1, true, 1},
		{"two slots, idle", 2, false, 2},
		{"two slots, serving: one kept back", 2, true, 1},
		{"four slots, idle", 4, false, 4},
		{"four slots, serving", 4, true, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newHashGate(tc.max)
			since, _ := fakeSince()
			g.since = since
			if g.capacity() != tc.max {
				t.Fatalf("capacity %d, want %d", g.capacity(), tc.max)
			}
			if tc.serving {
				g.serve()
			}
			var held []func()
			for {
				release, ok := tryAcquire(t, g)
				if !ok {
					break
				}
				held = append(held, release)
				if len(held) > tc.max {
					t.Fatalf("more than %d slots held", tc.max)
				}
			}
			if len(held) != tc.want {
				t.Errorf("%d slots held at once, want %d", len(held), tc.want)
			}
			// Releasing every slot makes them all available again.
			for _, release := range held {
				release()
			}
			for range tc.want {
				release, ok := tryAcquire(t, g)
				if !ok {
					t.Fatal("a released slot cannot be taken again")
				}
				defer release()
			}
		})
	}
}

// TestHashGateServingEnds checks that a login waiting while the reserve is
// kept gets the spare slot once serving stops, without any slot being
// released.
func TestHashGateServingEnds(t *testing.T) {
	g := newHashGate(2)
	since, advance := fakeSince()
	g.since = since
	g.serve()
	release1, ok := tryAcquire(t, g)
	if !ok {
		t.Fatal("first slot not available")
	}
	defer release1()
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		release, err := g.acquire(ctx)
		if err == nil {
			defer release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second acquire returned (%v) while serving", err)
	case <-time.After(3 * servingWindow / 2):
	}
	advance(2 * servingWindow) // no access-path call for a while
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting acquire did not get the spare slot after serving stopped")
	}
}

// TestHashGateServeWindow checks that serve marks serving at once, and
// that serving lapses after servingWindow without calls.
func TestHashGateServeWindow(t *testing.T) {
	g := newHashGate(2)
	since, advance := fakeSince()
	g.since = since
	if g.serving() {
		t.Fatal("serving before any call")
	}
	g.serve()
	if !g.serving() {
		t.Fatal("not serving right after a call")
	}
	advance(servingWindow - time.Millisecond)
	if !g.serving() {
		t.Fatal("serving lapsed before the window")
	}
	advance(2 * time.Millisecond)
	if g.serving() {
		t.Fatal("still serving after the window")
	}
}

// TestAuthenticateMarksServing checks the wiring: an Authenticate or
// Refresh call whose token verifies keeps a hashing slot in reserve; one
// with a token we did not sign (anyone can send those, for free) does not.
func TestAuthenticateMarksServing(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(a *Authenticator, p *TokenPair)
		want bool
	}{
		{"Authenticate, valid token", func(a *Authenticator, p *TokenPair) {
			_, _, _ = a.Authenticate(context.Background(), p.AccessToken)
		}, true},
		{"Authenticate, garbage", func(a *Authenticator, p *TokenPair) {
			_, _, _ = a.Authenticate(context.Background(), "not a token")
		}, false},
		{"Authenticate, forged signature", func(a *Authenticator, p *TokenPair) {
			_, _, _ = a.Authenticate(context.Background(), p.AccessToken[:len(p.AccessToken)-4]+"AAAA")
		}, false},
		{"Refresh, valid token", func(a *Authenticator, p *TokenPair) {
			_, _ = a.Refresh(context.Background(), Client{}, p.RefreshToken)
		}, true},
		{"Refresh, garbage", func(a *Authenticator, p *TokenPair) {
			_, _ = a.Refresh(context.Background(), Client{}, "not a token")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Passwords.MaxConcurrentHashes = 2 })
			since, _ := fakeSince()
			f.a.hashGate.since = since
			f.register(t, "alice", "correct horse battery")
			p := f.login(t, "alice", "correct horse battery")
			if f.a.hashGate.serving() {
				t.Fatal("serving before any request")
			}
			tc.call(f.a, p)
			if got := f.a.hashGate.serving(); got != tc.want {
				t.Errorf("serving after the call = %v, want %v", got, tc.want)
			}
		})
	}
}

// capacity is the most hashes the gate lets run at once.
func (g *hashGate) capacity() int { return cap(g.main) + cap(g.spare) }
