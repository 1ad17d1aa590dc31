package auth

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
			keys = append(keys, testUserRate.key(true, "login-username", value))
		case "a":
			keys = append(keys, testAddrRate.key(false, "login-address", value))
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
			l := newMemoryLimiter(memoryLimiterConfig{now: clock.Now})
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
						var rl *RateLimitError
						if !errors.As(err, &rl) || !errors.Is(err, ErrTooManyAttempts) || r != nil {
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
func (l *memoryLimiter) sweepNow() {
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
			l := newMemoryLimiter(memoryLimiterConfig{})
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
			l := newMemoryLimiter(memoryLimiterConfig{})
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
// a user it did not target, never takes more than maxKeys budgets (plus
// those in flight), and evicts the budgets least drained first.
func TestMemoryLimiterMaxKeys(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	const max = 100
	l := newMemoryLimiter(memoryLimiterConfig{maxKeys: max, now: clock.Now})
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
// bytes, the same for a 64 KB username as for a short one. Under the race
// detector, where each 64 KB name costs ten times as much, it measures
// 10,000 budgets rather than 100,000: a megabyte, which the heap's
// statistics still measure to within a few bytes a budget.
func TestMemoryLimiterBytesPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 budgets")
	}
	n := 100_000
	if raceEnabled {
		n = 10_000
	}
	for _, size := range []int{5, 64 << 10} {
		t.Run(fmt.Sprint(size, "-byte names"), func(t *testing.T) {
			long := []byte(strings.Repeat("x", size))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			// On a clock that stands still: on real time the first
			// budgets would refill, and be forgotten, while the last are
			// made on a slow machine (64 KB names under -race).
			clock := newTestClock()
			l := newMemoryLimiter(memoryLimiterConfig{maxKeys: n, now: clock.Now})
			for i := range n {
				copy(long, fmt.Sprint(i, "."))
				r, err := l.Reserve(context.Background(), testUserRate.key(true, "login-username", string(long)))
				if err != nil {
					t.Fatal(err)
				}
				r.Settle(AttemptFailed)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perKey := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
			t.Logf("%d budgets: %.0f bytes each", l.Len(), perKey)
			if l.Len() != n || perKey > 160 {
				t.Fatalf("%d budgets of %.0f bytes each, want %d of at most 160", l.Len(), perKey, n)
			}
			runtime.KeepAlive(l)
		})
	}
}

func TestMemoryLimiterBadKey(t *testing.T) {
	l := newMemoryLimiter(memoryLimiterConfig{})
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
			l := newMemoryLimiter(memoryLimiterConfig{maxKeys: 200_000})
			ctx := context.Background()
			many := Rate{Burst: 1 << 40, Interval: time.Millisecond} // never spent
			names := make([][]LimitKey, tc.keys)
			for i := range names {
				names[i] = []LimitKey{many.key(false, "login-address", "192.0.2.1"), many.key(true, "login-username", fmt.Sprint("user", i))}
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

// famID is the familiar-client id named name (tests only).
func famID(name string) [16]byte {
	var id [16]byte
	copy(id[:], name)
	return id
}

func famIDs(names ...string) [][16]byte {
	ids := make([][16]byte, len(names))
	for i, n := range names {
		ids[i] = famID(n)
	}
	return ids
}

// famStep is a step of a familiar-clients scenario: after advancing the
// clock, Remember ids for ttl (when ttl is set), or ask whether any of ids
// is familiar and want the answer.
type famStep struct {
	advance time.Duration
	ttl     time.Duration
	ids     []string
	want    bool
}

func remembers(ttl time.Duration, ids ...string) famStep { return famStep{ttl: ttl, ids: ids} }
func familiarTo(want bool, ids ...string) famStep        { return famStep{ids: ids, want: want} }
func (s famStep) after(d time.Duration) famStep          { s.advance = d; return s }

// familiarLen is how many familiar clients l holds (tests only).
func (l *memoryLimiter) familiarLen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.familiar)
}

// TestMemoryLimiterFamiliar: familiar clients on the limiter's clock: an
// id is familiar until its ttl has passed, not at that instant; another
// Remember replaces its time, later or earlier; Familiar is any of its
// ids; a ttl past the clock's range is forever.
func TestMemoryLimiterFamiliar(t *testing.T) {
	t.Parallel()
	const h, m, s, ns = time.Hour, time.Minute, time.Second, time.Nanosecond
	tests := []struct {
		name  string
		steps []famStep
		// wantLen is how many familiar clients the limiter holds at the
		// end, after a sweep.
		wantLen int
	}{
		{"unknown", []famStep{familiarTo(false, "a"), familiarTo(false)}, 0},
		{"familiar until its time, not at it", []famStep{remembers(h, "a"), familiarTo(true, "a"), familiarTo(true, "a").after(h - ns), familiarTo(false, "a").after(ns)}, 0},
		{"a nanosecond", []famStep{remembers(ns, "a"), familiarTo(true, "a"), familiarTo(false, "a").after(ns)}, 0},
		{"remembered again later: extended", []famStep{remembers(m, "a"), remembers(m, "a").after(50 * s), familiarTo(true, "a").after(m - s), familiarTo(false, "a").after(s)}, 0},
		{"remembered again for longer", []famStep{remembers(m, "a"), remembers(h, "a"), familiarTo(true, "a").after(h - ns), familiarTo(false, "a").after(ns)}, 0},
		{"remembered again for shorter", []famStep{remembers(h, "a"), remembers(m, "a"), familiarTo(true, "a").after(m - ns), familiarTo(false, "a").after(ns)}, 0},
		{"any of", []famStep{remembers(h, "a"), remembers(m, "b"), familiarTo(true, "x", "b"), familiarTo(true, "b", "a").after(2 * m), familiarTo(false, "b", "x"), familiarTo(false, "x", "y")}, 1},
		{"several in one call, duplicates too", []famStep{remembers(h, "a", "b", "a"), familiarTo(true, "a"), familiarTo(true, "b")}, 2},
		{"no ids", []famStep{remembers(h), familiarTo(false)}, 0},
		{"forever, the clock having moved", []famStep{remembers(math.MaxInt64, "a").after(h), familiarTo(true, "a").after(100 * 365 * 24 * h)}, 1},
		{"expired ones are forgotten", []famStep{remembers(m, "a", "b"), remembers(h, "c"), remembers(h, "d").after(2 * m)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			l := newMemoryLimiter(memoryLimiterConfig{now: clock.Now})
			ctx := context.Background()
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				if st.ttl != 0 {
					if err := l.Remember(ctx, st.ttl, famIDs(st.ids...)...); err != nil {
						t.Fatalf("step %d: Remember(%v, %v) = %v", i, st.ttl, st.ids, err)
					}
					continue
				}
				if got, err := l.Familiar(ctx, famIDs(st.ids...)...); got != st.want || err != nil {
					t.Fatalf("step %d: Familiar(%v) = %v, %v; want %v", i, st.ids, got, err, st.want)
				}
			}
			l.sweepNow()
			if n := l.familiarLen(); n != tt.wantLen {
				t.Errorf("%d familiar clients at the end, want %d", n, tt.wantLen)
			}
		})
	}
}

// TestMemoryLimiterFamiliarErrors: a ttl that is not positive, and an
// ended context, are errors that remember nothing.
func TestMemoryLimiterFamiliarErrors(t *testing.T) {
	t.Parallel()
	l := newMemoryLimiter(memoryLimiterConfig{})
	ctx := context.Background()
	for _, ttl := range []time.Duration{0, -1, math.MinInt64} {
		if err := l.Remember(ctx, ttl, famID("a")); err == nil {
			t.Errorf("Remember(%v) = nil, want an error", ttl)
		}
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Remember(ended, time.Hour, famID("a")); !errors.Is(err, context.Canceled) {
		t.Errorf("Remember with an ended context = %v, want context.Canceled", err)
	}
	if ok, err := l.Familiar(ended, famID("a")); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Familiar with an ended context = %v, %v; want false, context.Canceled", ok, err)
	}
	if n := l.familiarLen(); n != 0 {
		t.Errorf("%d familiar clients after refused calls, want 0", n)
	}
}

// TestMemoryLimiterMaxFamiliar: the familiar clients never exceed
// maxFamiliar; a new one evicts, of a sample (here the whole table: it is
// no bigger than the sample), the one whose time ends first, expired ones
// included, never a longer-lived one; expired ones are swept without
// evicting anyone; a flood of short-lived clients never evicts a
// long-lived one.
func TestMemoryLimiterMaxFamiliar(t *testing.T) {
	t.Parallel()
	const h = time.Hour
	if evictionSample < 8 {
		t.Fatalf("evictionSample is %d: the cases below need it to cover a table of 8", evictionSample)
	}
	tests := []struct {
		name string
		max  int
		// fill are remembered in order, each with its ttl (0: an hour),
		// after advance the clock moves by advance, then "new" is
		// remembered for an hour.
		fill    []string
		ttls    map[string]time.Duration
		advance time.Duration
		gone    []string // want forgotten; all others of fill, and new, kept
	}{
		{"the soonest to expire goes", 8, []string{"a", "b", "c", "soon", "d", "e", "f", "g"}, map[string]time.Duration{"soon": 10 * time.Minute}, 0, []string{"soon"}},
		{"the soonest of several", 8, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, map[string]time.Duration{"c": 30 * time.Minute, "f": 20 * time.Minute, "h": 40 * time.Minute}, 0, []string{"f"}},
		// Less than a sweep's interval later: evicted, not swept.
		{"an expired one goes", 8, []string{"a", "b", "c", "d", "expired", "e", "f", "g"}, map[string]time.Duration{"expired": 100 * time.Millisecond}, 500 * time.Millisecond, []string{"expired"}},
		// A sweep's interval later: both expired ones are forgotten, and
		// the new one fits without evicting anyone.
		{"expired ones are swept", 8, []string{"x1", "a", "b", "c", "d", "e", "x2", "f"}, map[string]time.Duration{"x1": time.Second, "x2": time.Second}, 2 * time.Second, []string{"x1", "x2"}},
		// Were the longest ttls to overflow into the past, they would go.
		{"among the longest ttls", 4, []string{"a", "b", "c", "d"}, map[string]time.Duration{"a": math.MaxInt64, "b": math.MaxInt64, "d": math.MaxInt64}, 0, []string{"c"}},
		{"remembered again when full", 4, []string{"a", "b", "c", "d", "a"}, map[string]time.Duration{"b": time.Minute}, 0, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			l := newMemoryLimiter(memoryLimiterConfig{maxFamiliar: tt.max, now: clock.Now})
			clock.Advance(time.Minute) // past the epoch, so that the longest ttls would overflow
			ctx := context.Background()
			for _, n := range tt.fill {
				ttl := tt.ttls[n]
				if ttl == 0 {
					ttl = h
				}
				if err := l.Remember(ctx, ttl, famID(n)); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(tt.advance)
			if err := l.Remember(ctx, h, famID("new")); err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{"new": true}
			for _, n := range tt.fill {
				want[n] = true
			}
			for _, n := range tt.gone {
				want[n] = false
			}
			kept := 0
			for n, w := range want {
				ok, err := l.Familiar(ctx, famID(n))
				if err != nil {
					t.Fatal(err)
				}
				if ok != w {
					t.Errorf("Familiar(%q) = %v, want %v", n, ok, w)
				}
				if w {
					kept++
				}
			}
			if n := l.familiarLen(); n != kept || n > tt.max {
				t.Errorf("%d familiar clients, want %d (maxFamiliar %d)", n, kept, tt.max)
			}
		})
	}

	t.Run("a flood", func(t *testing.T) {
		clock := newTestClock()
		const max = 100
		l := newMemoryLimiter(memoryLimiterConfig{maxFamiliar: max, now: clock.Now})
		ctx := context.Background()
		if err := l.Remember(ctx, 30*24*h, famID("owner")); err != nil {
			t.Fatal(err)
		}
		for i := range 10 * max {
			clock.Advance(time.Millisecond)
			if err := l.Remember(ctx, time.Duration(1+i%7)*time.Minute, famID(fmt.Sprint("flood-", i))); err != nil {
				t.Fatal(err)
			}
			if n := l.familiarLen(); n > max {
				t.Fatalf("%d familiar clients after %d remembered, want at most %d", n, i+2, max)
			}
		}
		if ok, err := l.Familiar(ctx, famID("owner")); !ok || err != nil {
			t.Fatalf("the long-lived client was evicted by a flood of short-lived ones: %v, %v", ok, err)
		}
		if ok, err := l.Familiar(ctx, famID(fmt.Sprint("flood-", 10*max-1))); !ok || err != nil {
			t.Fatalf("the last client of the flood was not remembered: %v, %v", ok, err)
		}
	})

	t.Run("the longest ttls only", func(t *testing.T) {
		clock := newTestClock()
		const max = 4
		l := newMemoryLimiter(memoryLimiterConfig{maxFamiliar: max, now: clock.Now})
		clock.Advance(time.Minute)
		ctx := context.Background()
		for i := range 4 * max {
			id := famID(fmt.Sprint("forever-", i))
			if err := l.Remember(ctx, math.MaxInt64, id); err != nil {
				t.Fatal(err)
			}
			if ok, err := l.Familiar(ctx, id); !ok || err != nil {
				t.Fatalf("a client remembered for ever is not familiar: %v, %v", ok, err)
			}
			if n := l.familiarLen(); n > max {
				t.Fatalf("%d familiar clients after %d remembered, want at most %d", n, i+1, max)
			}
		}
	})

	if l := newMemoryLimiter(memoryLimiterConfig{}); l.maxFamiliar != 100_000 {
		t.Errorf("default maxFamiliar = %d, want 100,000", l.maxFamiliar)
	}
}

// TestMemoryLimiterBytesPerFamiliar measures the memory a familiar client
// takes, for memoryLimiterConfig.maxFamiliar's "about 5 MB" at the default
// 100,000.
func TestMemoryLimiterBytesPerFamiliar(t *testing.T) {
	if testing.Short() {
		t.Skip("remembers 100,000 clients")
	}
	const n = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := newMemoryLimiter(memoryLimiterConfig{})
	ctx := context.Background()
	var id [16]byte
	for i := range n {
		copy(id[:], fmt.Sprint(i, "."))
		if err := l.Remember(ctx, time.Hour, id); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	total := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	t.Logf("%d familiar clients: %.0f bytes each, %.1f MB", l.familiarLen(), total/n, total/1e6)
	if l.familiarLen() != n || total > 6e6 {
		t.Fatalf("%d familiar clients in %.1f MB, want %d in at most 6 MB", l.familiarLen(), total/1e6, n)
	}
	runtime.KeepAlive(l)
}

// BenchmarkMemoryLimiterFamiliar is the limiter's cost of the familiar
// clients of a login, among 100,000 remembered: Familiar of an address's
// and a device's ids, one remembered; Remember of two remembered ids
// (a returning client); Remember of a new id into a full limiter, which
// evicts one.
func BenchmarkMemoryLimiterFamiliar(b *testing.B) {
	const n = 100_000
	fill := func(b *testing.B, max int) *memoryLimiter {
		l := newMemoryLimiter(memoryLimiterConfig{maxFamiliar: max})
		var id [16]byte
		for i := range n {
			binary.BigEndian.PutUint64(id[:], uint64(i))
			if err := l.Remember(context.Background(), time.Hour+time.Duration(i)*time.Millisecond, id); err != nil {
				b.Fatal(err)
			}
		}
		return l
	}
	ctx := context.Background()
	ids := func(i int) [][16]byte {
		var known, stranger [16]byte
		binary.BigEndian.PutUint64(known[:], uint64(i%n))
		binary.BigEndian.PutUint64(stranger[8:], uint64(i))
		return [][16]byte{stranger, known}
	}
	b.Run("Familiar-100k", func(b *testing.B) {
		l := fill(b, 2*n)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if ok, err := l.Familiar(ctx, ids(i)...); !ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
	})
	b.Run("Remember-100k", func(b *testing.B) {
		l := fill(b, 2*n)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			known := ids(i)[1]
			if err := l.Remember(ctx, 30*24*time.Hour, known, known); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Remember-new-full-100k", func(b *testing.B) {
		l := fill(b, n)
		b.ReportAllocs()
		var id [16]byte
		i := 0
		for b.Loop() {
			binary.BigEndian.PutUint64(id[:], uint64(n+i))
			if err := l.Remember(ctx, 30*24*time.Hour, id); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
