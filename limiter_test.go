package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The budgets of the scenarios: the Authenticator's defaults.
var (
	testUserRate = Rate{Burst: 5, Interval: time.Minute}
	testAddrRate = Rate{Burst: 20, Interval: 6 * time.Second}
)

// limKeys turns "u:NAME" and "a:ADDR" into the keys Login would reserve.
func limKeys(names ...string) []LimitKey {
	var keys []LimitKey
	for _, n := range names {
		kind, value, _ := strings.Cut(n, ":")
		switch kind {
		case "u":
			keys = append(keys, testUserRate.key("login-username", value, true))
		case "a":
			keys = append(keys, testAddrRate.key("login-address", value, false))
		default:
			panic("bad key " + n)
		}
	}
	return keys
}

// limStep advances the clock, then reserves keys times times (default
// once) and settles each reservation at once with outcome; or, with hold,
// keeps it in flight under the name hold; or settles the held reservation
// release. refused expects a *RateLimitError, with retry (when not zero)
// as its RetryAfter.
type limStep struct {
	advance time.Duration
	keys    []string
	times   int
	outcome Outcome
	hold    string
	release string
	refused bool
	retry   time.Duration
}

func fail(keys ...string) limStep    { return limStep{keys: keys, outcome: AttemptFailed} }
func succeed(keys ...string) limStep { return limStep{keys: keys, outcome: AttemptSucceeded} }
func cancel(keys ...string) limStep  { return limStep{keys: keys, outcome: AttemptCancelled} }
func refusedAfter(retry time.Duration, keys ...string) limStep {
	return limStep{keys: keys, refused: true, retry: retry}
}

// addrFailures is n failed logins from addr, each for another username.
func addrFailures(addr string, n int) []limStep {
	var st []limStep
	for i := range n {
		st = append(st, fail("a:"+addr, fmt.Sprintf("u:%s-user%d", addr, i)))
	}
	return st
}

func steps(parts ...any) []limStep {
	var st []limStep
	for _, p := range parts {
		switch p := p.(type) {
		case limStep:
			st = append(st, p)
		case []limStep:
			st = append(st, p...)
		}
	}
	return st
}

func (s limStep) x(n int) limStep                  { s.times = n; return s }
func (s limStep) after(d time.Duration) limStep    { s.advance = d; return s }
func hold(name string, keys ...string) limStep     { return limStep{keys: keys, hold: name} }
func release(name string, o Outcome) limStep       { return limStep{release: name, outcome: o} }
func (s limStep) named() bool                      { return s.hold != "" }
func (s limStep) releasing() bool                  { return s.release != "" }
func (s limStep) count() int                       { return max(s.times, 1) }
func (s limStep) keyList() []LimitKey              { return limKeys(s.keys...) }
func (s limStep) wantRetry() (time.Duration, bool) { return s.retry, s.refused }

func TestMemoryLimiter(t *testing.T) {
	t.Parallel()
	const m, s = time.Minute, time.Second
	tests := []struct {
		name  string
		steps []limStep
		// wantLen, when not -1, is how many budgets the limiter remembers
		// at the end.
		wantLen int
	}{
		{
			name:    "5 failures per username, then one a minute",
			steps:   []limStep{fail("u:alice").x(5), refusedAfter(m, "u:alice"), refusedAfter(s, "u:alice").after(59 * s), fail("u:alice").after(s), refusedAfter(m, "u:alice")},
			wantLen: 1,
		},
		{
			name:    "refill is capped at the burst",
			steps:   []limStep{fail("u:alice").x(5), fail("u:alice").x(5).after(time.Hour), refusedAfter(m, "u:alice")},
			wantLen: 1,
		},
		{
			name:    "20 failures per address, then one every 6 s, whatever the username",
			steps:   steps(addrFailures("192.0.2.1", 20), refusedAfter(6*s, "a:192.0.2.1", "u:someone"), fail("a:192.0.2.1", "u:someone").after(6*s)),
			wantLen: 22, // the address and 21 usernames: "someone" once its budget allowed
		},
		{
			name:    "a refused reservation takes nothing from the other keys, nor remembers them",
			steps:   steps(addrFailures("192.0.2.1", 20), refusedAfter(6*s, "a:192.0.2.1", "u:alice").x(10), fail("u:alice").x(5), refusedAfter(m, "u:alice")),
			wantLen: 22,
		},
		{
			name:    "the longest wait of the spent budgets is the retry",
			steps:   []limStep{fail("a:192.0.2.1", "u:alice").x(5), fail("a:192.0.2.1", "u:bob").x(5), fail("a:192.0.2.1", "u:carol").x(5), fail("a:192.0.2.1", "u:dave").x(5), refusedAfter(m, "a:192.0.2.1", "u:alice")},
			wantLen: -1,
		},
		{
			name:    "a right password forgives the username's failures",
			steps:   []limStep{fail("u:alice").x(4), succeed("u:alice"), fail("u:alice").x(5), refusedAfter(m, "u:alice")},
			wantLen: 1,
		},
		{
			name:    "a right password gives the address its attempt back, no more",
			steps:   steps(addrFailures("192.0.2.1", 19), succeed("a:192.0.2.1", "u:alice").x(50), fail("a:192.0.2.1", "u:y"), refusedAfter(6*s, "a:192.0.2.1", "u:z")),
			wantLen: -1,
		},
		{
			name:    "cancelled attempts are given back",
			steps:   []limStep{cancel("u:alice").x(100), fail("u:alice").x(5), refusedAfter(m, "u:alice")},
			wantLen: 1,
		},
		{
			name:    "budgets that refill are forgotten",
			steps:   []limStep{fail("u:alice").x(5), fail("u:bob"), cancel("u:carol").after(5 * m)},
			wantLen: 0,
		},
		{
			name:    "keys are independent",
			steps:   []limStep{fail("u:alice").x(5), fail("u:bob").x(5), refusedAfter(m, "u:alice"), refusedAfter(m, "u:bob"), succeed("u:carol")},
			wantLen: 2,
		},
		{
			name:    "an attempt held in flight counts against the budget",
			steps:   []limStep{fail("u:alice").x(4), hold("h", "u:alice"), release("h", AttemptFailed), refusedAfter(m, "u:alice")},
			wantLen: 1,
		},
		{
			name:    "a held attempt that succeeds forgives",
			steps:   []limStep{fail("u:alice").x(4), hold("h", "u:alice"), release("h", AttemptSucceeded), fail("u:alice").x(5), refusedAfter(m, "u:alice")},
			wantLen: 1,
		},
		{
			name:    "Settle twice changes nothing",
			steps:   []limStep{hold("h", "u:alice"), release("h", AttemptCancelled), release("h", AttemptFailed), fail("u:alice").x(5), refusedAfter(m, "u:alice")},
			wantLen: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			l := NewMemoryLimiter(LimiterConfig{Now: clock.Now})
			held := map[string]Reservation{}
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				if st.releasing() {
					held[st.release].Settle(st.outcome)
					continue
				}
				for n := range st.count() {
					r, err := l.Reserve(context.Background(), st.keyList()...)
					retry, refused := st.wantRetry()
					if refused {
						rl, ok := errors.AsType[*RateLimitError](err)
						if !ok || !errors.Is(err, ErrTooManyAttempts) || r != nil {
							t.Fatalf("step %d (%d): Reserve(%v) = %v, %v; want a *RateLimitError", i, n, st.keys, r, err)
						}
						if retry != 0 && rl.RetryAfter != retry {
							t.Fatalf("step %d (%d): RetryAfter = %v, want %v", i, n, rl.RetryAfter, retry)
						}
						continue
					}
					if err != nil {
						t.Fatalf("step %d (%d): Reserve(%v) = %v", i, n, st.keys, err)
					}
					if st.named() {
						held[st.hold] = r
					} else {
						r.Settle(st.outcome)
					}
				}
			}
			if tt.wantLen >= 0 {
				l.sweepNow()
				if got := l.Len(); got != tt.wantLen {
					t.Errorf("Len() = %d, want %d", got, tt.wantLen)
				}
			}
		})
	}
}

// sweepNow forgets refilled budgets at once (tests only).
func (l *MemoryLimiter) sweepNow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(l.clock(), true)
}

// TestMemoryLimiterWaits: an attempt that finds a budget held only by
// attempts in flight waits for them, and is let through when they give
// their attempt back, refused when they spend it, and answered ErrBusy when
// its context ends first.
func TestMemoryLimiterWaits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		settle  Outcome // how the five held attempts end, unless never
		never   bool
		ctxWait time.Duration
		want    string // "ok", "refused", "busy"
	}{
		{"held attempts succeed", AttemptSucceeded, false, time.Minute, "ok"},
		{"held attempts are cancelled", AttemptCancelled, false, time.Minute, "ok"},
		{"held attempts fail", AttemptFailed, false, time.Minute, "refused"},
		{"the waiter's context ends first", 0, true, 50 * time.Millisecond, "busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewMemoryLimiter(LimiterConfig{})
			keys := limKeys("u:alice")
			var held []Reservation
			for range 5 {
				r, err := l.Reserve(context.Background(), keys...)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctxWait)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				r, err := l.Reserve(ctx, keys...)
				if err == nil {
					r.Settle(AttemptCancelled)
				}
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("the sixth attempt did not wait: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
			if !tt.never {
				for _, r := range held {
					r.Settle(tt.settle)
				}
			}
			err := <-done
			switch tt.want {
			case "ok":
				if err != nil {
					t.Fatalf("waiter = %v, want let through", err)
				}
			case "refused":
				if !errors.Is(err, ErrTooManyAttempts) {
					t.Fatalf("waiter = %v, want ErrTooManyAttempts", err)
				}
			case "busy":
				if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("waiter = %v, want ErrBusy wrapping the deadline", err)
				}
			}
			for _, r := range held {
				r.Settle(AttemptCancelled)
			}
		})
	}
}

// TestMemoryLimiterConcurrent: concurrent right passwords all get through,
// concurrent wrong ones never have more than the burst in flight or failed.
func TestMemoryLimiterConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		n        int
		outcome  Outcome
		wantPass int // reservations that must be granted; -1: exactly the burst
	}{
		{"8 right passwords of one user from one address", 8, AttemptSucceeded, 8},
		{"20 right passwords", 20, AttemptSucceeded, 20},
		{"200 right passwords", 200, AttemptSucceeded, 200},
		{"50 wrong passwords", 50, AttemptFailed, -1},
		{"200 wrong passwords", 200, AttemptFailed, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewMemoryLimiter(LimiterConfig{})
			keys := limKeys("a:192.0.2.1", "u:alice")
			var inFlight, maxInFlight, granted, refused atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range tt.n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r, err := l.Reserve(context.Background(), keys...)
					if err != nil {
						if !errors.Is(err, ErrTooManyAttempts) {
							t.Errorf("Reserve: %v", err)
						}
						refused.Add(1)
						return
					}
					granted.Add(1)
					n := inFlight.Add(1)
					for {
						m := maxInFlight.Load()
						if n <= m || maxInFlight.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(time.Millisecond) // a password check
					inFlight.Add(-1)
					r.Settle(tt.outcome)
				}()
			}
			close(start)
			wg.Wait()
			if m := maxInFlight.Load(); m > int64(testUserRate.Burst) {
				t.Errorf("%d attempts in flight at once, want at most %d", m, testUserRate.Burst)
			}
			want := int64(tt.wantPass)
			if tt.wantPass < 0 {
				want = int64(testUserRate.Burst)
			}
			if granted.Load() != want || granted.Load()+refused.Load() != int64(tt.n) {
				t.Errorf("granted %d, refused %d of %d; want %d granted", granted.Load(), refused.Load(), tt.n, want)
			}
		})
	}
}

// TestMemoryLimiterMaxKeys: a flood of distinct usernames never locks out
// a user it did not target, never takes more than MaxKeys budgets (plus
// those in flight), and evicts the budgets least drained first.
func TestMemoryLimiterMaxKeys(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	const max = 100
	l := NewMemoryLimiter(LimiterConfig{MaxKeys: max, Now: clock.Now})
	ctx := context.Background()
	// The target: four failures of its five.
	for range 4 {
		r, err := l.Reserve(ctx, limKeys("u:victim")...)
		if err != nil {
			t.Fatal(err)
		}
		r.Settle(AttemptFailed)
	}
	held, err := l.Reserve(ctx, limKeys("u:in-flight")...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 * max {
		r, err := l.Reserve(ctx, limKeys(fmt.Sprintf("u:flood-%d", i))...)
		if err != nil {
			t.Fatalf("flood key %d refused: %v", i, err)
		}
		r.Settle(AttemptFailed)
		if n := l.Len(); n > max+1 {
			t.Fatalf("%d budgets after %d flood keys, want at most %d", n, i+1, max+1)
		}
	}
	// A user the flood did not target gets in, even with a full table.
	r, err := l.Reserve(ctx, limKeys("u:bystander")...)
	if err != nil {
		t.Fatalf("an untargeted user was refused: %v", err)
	}
	r.Settle(AttemptSucceeded)
	// The victim's drained budget and the one in flight survived.
	r, err = l.Reserve(ctx, limKeys("u:victim")...)
	if err != nil {
		t.Fatal(err)
	}
	r.Settle(AttemptFailed)
	if _, err := l.Reserve(ctx, limKeys("u:victim")...); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("the victim's budget was evicted by the flood: %v", err)
	}
	held.Settle(AttemptFailed)
	// Once refilled, every budget is forgotten.
	clock.Advance(time.Hour)
	l.sweepNow()
	if n := l.Len(); n != 0 {
		t.Fatalf("%d budgets an hour later, want 0", n)
	}
}

// TestMemoryLimiterBytesPerKey measures the memory a remembered budget
// takes, and checks the bound the package documentation gives: about 100
// bytes, the same for a 64 KB username as for a short one.
func TestMemoryLimiterBytesPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 budgets")
	}
	for _, size := range []int{5, 64 << 10} {
		t.Run(fmt.Sprint(size, "-byte names"), func(t *testing.T) {
			const n = 100_000
			long := []byte(strings.Repeat("x", size))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			l := NewMemoryLimiter(LimiterConfig{MaxKeys: n})
			for i := range n {
				copy(long, fmt.Sprint(i, "."))
				r, err := l.Reserve(context.Background(), testUserRate.key("login-username", string(long), true))
				if err != nil {
					t.Fatal(err)
				}
				r.Settle(AttemptFailed)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perKey := float64(after.HeapAlloc-before.HeapAlloc) / n
			t.Logf("%d budgets: %.0f bytes each", l.Len(), perKey)
			if l.Len() != n || perKey > 160 {
				t.Fatalf("%d budgets of %.0f bytes each, want %d of at most 160", l.Len(), perKey, n)
			}
			runtime.KeepAlive(l)
		})
	}
}

func TestMemoryLimiterBadKey(t *testing.T) {
	l := NewMemoryLimiter(LimiterConfig{})
	for _, k := range []LimitKey{{Burst: 0, Interval: time.Second}, {Burst: 1}, {Burst: -1, Interval: -1}} {
		if r, err := l.Reserve(context.Background(), k); err == nil || r != nil {
			t.Errorf("Reserve(%+v) = %v, %v; want an error", k, r, err)
		}
	}
}

// BenchmarkMemoryLimiter is the limiter's cost per login attempt: one
// reservation of an address's and a username's budgets, and its
// settlement; with a few keys, and with 100,000 remembered budgets.
func BenchmarkMemoryLimiter(b *testing.B) {
	for _, tc := range []struct {
		name    string
		outcome Outcome
		keys    int
	}{
		{"success", AttemptSucceeded, 1},
		{"failure-100k-keys", AttemptFailed, 100_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := NewMemoryLimiter(LimiterConfig{MaxKeys: 200_000})
			ctx := context.Background()
			many := Rate{Burst: 1 << 40, Interval: time.Millisecond} // never spent
			names := make([][]LimitKey, tc.keys)
			for i := range names {
				names[i] = []LimitKey{many.key("login-address", "192.0.2.1", false), many.key("login-username", fmt.Sprint("user", i), true)}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r, err := l.Reserve(ctx, names[i%len(names)]...)
				if err != nil {
					b.Fatal(err)
				}
				r.Settle(tc.outcome)
				i++
			}
		})
	}
}
