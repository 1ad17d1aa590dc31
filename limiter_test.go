package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// limiterClock is a settable clock, safe for concurrent use.
type limiterClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *limiterClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *limiterClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLimiterClock() *limiterClock {
	return &limiterClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// limOp is what one step of a limiter scenario does.
type limOp int

const (
	opAttempt limOp = iota
	opSuccess
	opRefund
)

// limStep advances the clock by advance, then does op for user and addr.
// For opAttempt, refused says whether a *RateLimitError is expected, and
// retry (when not zero) the RetryAfter it must carry. times repeats the
// step (default once).
type limStep struct {
	advance    time.Duration
	op         limOp
	user, addr string
	refused    bool
	retry      time.Duration
	times      int
}

func attempt(user, addr string, n int) limStep {
	return limStep{op: opAttempt, user: user, addr: addr, times: n}
}

func refused(user, addr string, retry time.Duration) limStep {
	return limStep{op: opAttempt, user: user, addr: addr, refused: true, retry: retry}
}

func after(d time.Duration, s limStep) limStep { s.advance = d; return s }

func success(user, addr string) limStep { return limStep{op: opSuccess, user: user, addr: addr} }
func refund(user, addr string) limStep  { return limStep{op: opRefund, user: user, addr: addr} }

func TestMemoryLimiter(t *testing.T) {
	t.Parallel()
	const m, s = time.Minute, time.Second
	tests := []struct {
		name  string
		cfg   LimiterConfig
		steps []limStep
	}{
		{
			name: "defaults: 5 per username, then 1 a minute",
			cfg:  LimiterConfig{},
			steps: []limStep{
				attempt("alice", "", 5),
				refused("alice", "", m),
				after(59*s, refused("alice", "", s)),
				after(s, attempt("alice", "", 1)),
				refused("alice", "", m),
			},
		},
		{
			name: "defaults: 20 per address, then 1 every 6 s",
			cfg:  LimiterConfig{},
			steps: func() []limStep {
				var st []limStep
				for i := range 20 {
					st = append(st, attempt(fmt.Sprint("user", i), "192.0.2.1", 1))
				}
				return append(st, refused("someone", "192.0.2.1", 6*s), after(6*s, attempt("someone", "192.0.2.1", 1)))
			}(),
		},
		{
			name: "burst then refusal, retry-after shrinks",
			cfg:  LimiterConfig{UsernameBurst: 3, UsernameInterval: m},
			steps: []limStep{
				attempt("alice", "192.0.2.1", 3),
				refused("alice", "192.0.2.1", m),
				refused("alice", "192.0.2.2", m), // another address does not help
				after(30*s, refused("alice", "192.0.2.1", 30*s)),
				after(30*s, attempt("alice", "192.0.2.1", 1)),
				refused("alice", "192.0.2.1", m),
				attempt("bob", "192.0.2.1", 3), // other usernames are unaffected
			},
		},
		{
			name: "refill over time, capped at the burst",
			cfg:  LimiterConfig{UsernameBurst: 2, UsernameInterval: 10 * s},
			steps: []limStep{
				attempt("alice", "", 2),
				refused("alice", "", 10*s),
				after(10*s, attempt("alice", "", 1)),
				refused("alice", "", 10*s),
				after(20*s, attempt("alice", "", 2)),
				refused("alice", "", 10*s),
				after(24*time.Hour, attempt("alice", "", 2)),
				refused("alice", "", 10*s),
			},
		},
		{
			name: "a refused attempt costs nothing",
			cfg:  LimiterConfig{UsernameBurst: 1, UsernameInterval: 10 * s},
			steps: []limStep{
				attempt("alice", "", 1),
				refused("alice", "", 10*s),
				after(5*s, refused("alice", "", 5*s)),
				after(5*s, attempt("alice", "", 1)),
			},
		},
		{
			name: "success resets the username",
			cfg:  LimiterConfig{UsernameBurst: 3, UsernameInterval: m},
			steps: []limStep{
				attempt("alice", "", 3),
				refused("alice", "", m),
				after(m, attempt("alice", "", 1)),
				success("alice", ""),
				attempt("alice", "", 3),
				refused("alice", "", m),
			},
		},
		{
			name: "success gives the address its attempt back",
			cfg:  LimiterConfig{AddressBurst: 2, AddressInterval: m},
			steps: []limStep{
				attempt("u1", "192.0.2.1", 1), success("u1", "192.0.2.1"),
				attempt("u2", "192.0.2.1", 1), success("u2", "192.0.2.1"),
				attempt("u3", "192.0.2.1", 1), success("u3", "192.0.2.1"),
				attempt("u4", "192.0.2.1", 1),
				attempt("u5", "192.0.2.1", 1),
				refused("u6", "192.0.2.1", m),
			},
		},
		{
			name: "refund gives back",
			cfg:  LimiterConfig{UsernameBurst: 2, UsernameInterval: m},
			steps: []limStep{
				attempt("alice", "", 1), refund("alice", ""),
				attempt("alice", "", 1), refund("alice", ""),
				attempt("alice", "", 1), refund("alice", ""),
				attempt("alice", "", 2),
				refused("alice", "", m),
				refund("alice", ""),
				attempt("alice", "", 1),
				refused("alice", "", m),
			},
		},
		{
			name: "refund never exceeds the burst",
			cfg:  LimiterConfig{UsernameBurst: 2, AddressBurst: 2, UsernameInterval: m, AddressInterval: m},
			steps: []limStep{
				refund("alice", "192.0.2.1"), refund("alice", "192.0.2.1"), // unknown keys: nothing to give
				attempt("alice", "192.0.2.1", 1),
				refund("alice", "192.0.2.1"), refund("alice", "192.0.2.1"), refund("alice", "192.0.2.1"),
				attempt("alice", "192.0.2.1", 2),
				refused("alice", "192.0.2.1", m),
			},
		},
		{
			name: "refund of the address",
			cfg:  LimiterConfig{UsernameBurst: 10, AddressBurst: 1, AddressInterval: m},
			steps: []limStep{
				attempt("u1", "192.0.2.1", 1),
				refused("u2", "192.0.2.1", m),
				refund("u1", "192.0.2.1"),
				attempt("u2", "192.0.2.1", 1),
			},
		},
		{
			name: "address limit independent of username",
			cfg:  LimiterConfig{UsernameBurst: 5, AddressBurst: 3, AddressInterval: m},
			steps: []limStep{
				attempt("u1", "192.0.2.1", 1),
				attempt("u2", "192.0.2.1", 1),
				attempt("u3", "192.0.2.1", 1),
				refused("u4", "192.0.2.1", m),
				refused("u1", "192.0.2.1", m),
				attempt("u4", "192.0.2.2", 3), // another address has its own allowance
				// u4's username was not charged for the refused attempt:
				// it still has 5 - 3 = 2.
				attempt("u4", "", 2),
				refused("u4", "", m),
			},
		},
		{
			name: "username limit independent of address",
			cfg:  LimiterConfig{UsernameBurst: 2, UsernameInterval: m, AddressBurst: 100},
			steps: []limStep{
				attempt("alice", "192.0.2.1", 1),
				attempt("alice", "192.0.2.2", 1),
				refused("alice", "192.0.2.3", m),
				refused("alice", "", m),
				attempt("bob", "192.0.2.1", 2),
			},
		},
		{
			name: "empty address skips the address limit",
			cfg:  LimiterConfig{UsernameBurst: 100, AddressBurst: 1, AddressInterval: m},
			steps: []limStep{
				attempt("u1", "", 10), attempt("u2", "", 10), attempt("u3", "", 10),
				attempt("u1", "192.0.2.1", 1),
				refused("u1", "192.0.2.1", m),
				attempt("u1", "", 10),
			},
		},
		{
			name: "usernames are keys as given (normalising is the caller's job)",
			cfg:  LimiterConfig{UsernameBurst: 1, UsernameInterval: m},
			steps: []limStep{
				attempt("alice", "", 1),
				refused("alice", "", m),
				attempt("Alice", "", 1),
			},
		},
		{
			name: "MaxKeys: full of throttled keys fails closed, sweeps full buckets",
			cfg:  LimiterConfig{UsernameBurst: 2, UsernameInterval: 10 * s, MaxKeys: 2},
			steps: []limStep{
				attempt("u1", "", 1),
				attempt("u2", "", 1),
				refused("u3", "", 10*s), // no room, nothing to sweep
				attempt("u1", "", 1),    // known keys still work
				refused("u1", "", 10*s),
				after(20*s, attempt("u3", "", 1)), // u1 and u2 are full again: swept
				attempt("u4", "", 1),
				refused("u5", "", 10*s),
				success("u3", ""), // a success frees its key
				attempt("u5", "", 1),
			},
		},
		{
			name: "MaxKeys: sweeps at most once a second",
			cfg:  LimiterConfig{UsernameBurst: 1, UsernameInterval: 100 * time.Millisecond, MaxKeys: 1},
			steps: []limStep{
				attempt("u1", "", 1),
				refused("u2", "", 100*time.Millisecond),                              // sweep finds u1 throttled
				after(500*time.Millisecond, refused("u2", "", 100*time.Millisecond)), // u1 full, but no sweep yet
				after(500*time.Millisecond, attempt("u2", "", 1)),                    // a second later: swept
			},
		},
		{
			name: "MaxKeys: a full address table fails closed without charging the username",
			cfg:  LimiterConfig{UsernameBurst: 2, UsernameInterval: m, AddressBurst: 5, AddressInterval: m, MaxKeys: 2},
			steps: []limStep{
				attempt("u1", "192.0.2.1", 1),
				attempt("u2", "192.0.2.2", 1),
				refused("u1", "192.0.2.3", m),
				attempt("u1", "192.0.2.1", 1), // u1 had 1 left: the refusal gave its token back
				refused("u1", "192.0.2.1", m),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newLimiterClock()
			cfg := tt.cfg
			cfg.Now = clock.Now
			l := NewMemoryLimiter(cfg)
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				for range max(st.times, 1) {
					switch st.op {
					case opSuccess:
						l.Success(st.user, st.addr)
					case opRefund:
						l.Refund(st.user, st.addr)
					case opAttempt:
						checkAttempt(t, i, l.Attempt(st.user, st.addr), st)
					}
				}
			}
		})
	}
}

func checkAttempt(t *testing.T, step int, err error, st limStep) {
	t.Helper()
	if !st.refused {
		if err != nil {
			t.Fatalf("step %d: Attempt(%q, %q) = %v, want nil", step, st.user, st.addr, err)
		}
		return
	}
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("step %d: Attempt(%q, %q) = %v, want a *RateLimitError", step, st.user, st.addr, err)
	}
	if rl.RetryAfter <= 0 {
		t.Errorf("step %d: RetryAfter = %v, want > 0", step, rl.RetryAfter)
	}
	if d := rl.RetryAfter - st.retry; st.retry != 0 && (d < -time.Millisecond || d > time.Millisecond) {
		t.Errorf("step %d: RetryAfter = %v, want %v", step, rl.RetryAfter, st.retry)
	}
}

func TestMemoryLimiterConcurrentAttempts(t *testing.T) {
	t.Parallel()
	const n = 100
	tests := []struct {
		name string
		cfg  LimiterConfig
		addr func(i int) string
		want int
	}{
		{"one username, no address", LimiterConfig{UsernameBurst: 5}, func(int) string { return "" }, 5},
		{"one username, one address", LimiterConfig{UsernameBurst: 7, AddressBurst: 50}, func(int) string { return "192.0.2.1" }, 7},
		{"one username, many addresses", LimiterConfig{UsernameBurst: 5}, func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }, 5},
		{"address tighter than username", LimiterConfig{UsernameBurst: 50, AddressBurst: 3}, func(int) string { return "192.0.2.1" }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newLimiterClock()
			cfg := tt.cfg
			cfg.Now = clock.Now
			l := NewMemoryLimiter(cfg)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				ok      int
				badErrs []error
				start   = make(chan struct{})
			)
			for i := range n {
				wg.Go(func() {
					<-start
					err := l.Attempt("alice", tt.addr(i))
					mu.Lock()
					defer mu.Unlock()
					var rl *RateLimitError
					switch {
					case err == nil:
						ok++
					case !errors.As(err, &rl):
						badErrs = append(badErrs, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if ok != tt.want || len(badErrs) > 0 {
				t.Errorf("%d of %d concurrent attempts let through, want %d; other errors: %v", ok, n, tt.want, badErrs)
			}
		})
	}
}

// TestMemoryLimiterConcurrentMixed runs every method at once on shared
// keys, for the race detector; the burst must still hold afterwards.
func TestMemoryLimiterConcurrentMixed(t *testing.T) {
	t.Parallel()
	l := NewMemoryLimiter(LimiterConfig{UsernameBurst: 3, AddressBurst: 10, MaxKeys: 8})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			user, addr := fmt.Sprint("u", i%4), fmt.Sprint("192.0.2.", i%16)
			for range 50 {
				if l.Attempt(user, addr) == nil {
					if i%2 == 0 {
						l.Refund(user, addr)
					} else {
						l.Success(user, addr)
					}
				}
			}
		})
	}
	wg.Wait()
	for range 3 {
		if err := l.Attempt("u0", ""); err != nil {
			t.Fatalf("after the storm: %v", err)
		}
	}
	if err := l.Attempt("u0", ""); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("fourth attempt = %v, want ErrTooManyAttempts", err)
	}
}

// TestMemoryLimiterNoFreeAttempts: refills that add up to one token in
// float64 arithmetic may fall just short of it (ten refills of a tenth sum
// to 0.9999999999999999). An attempt must then be refused with a positive
// RetryAfter, or allowed and charged; never allowed for free.
func TestMemoryLimiterNoFreeAttempts(t *testing.T) {
	t.Parallel()
	clock := newLimiterClock()
	l := NewMemoryLimiter(LimiterConfig{UsernameBurst: 1, UsernameInterval: 10 * time.Second, Now: clock.Now})
	if err := l.Attempt("alice", ""); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		clock.Advance(time.Second)
		_ = l.Attempt("alice", "")
	}
	allowed := 0
	for range 100 {
		err := l.Attempt("alice", "")
		var rl *RateLimitError
		switch {
		case err == nil:
			allowed++
		case !errors.As(err, &rl) || rl.RetryAfter <= 0:
			t.Fatalf("Attempt = %v, want a *RateLimitError with a positive RetryAfter", err)
		}
	}
	if allowed > 1 {
		t.Errorf("%d attempts allowed at one instant after a refill of one token, want at most 1", allowed)
	}
}
