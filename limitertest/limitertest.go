// Package limitertest is the conformance suite for auth.Limiter
// implementations. Every limiter, the in-memory one included, runs it with
// one call:
//
//	func TestConformance(t *testing.T) {
//		limitertest.Run(t, func(t *testing.T) auth.Limiter { return newLimiter(t) })
//	}
//
// The suite runs on real time, since a shared limiter keeps its server's
// clock: its intervals are short (150 ms) where refilling is the point and
// a minute or more elsewhere, its waits are generous, and it asserts no
// bound on how long a call takes, only that a call that must wait has not
// returned after a short while. A check that holds only while little time
// has passed (a credit not back yet) is made only when the time measured
// around it allows, so a loaded machine skips it rather than fails it.
// Every case draws random key IDs, so the limiters the factory returns may
// share their state (one Redis database) with each other and with other
// test runs.
//
// The familiar clients (Remember, Familiar) are checked the same way:
// they are remembered for short (300 ms) where their expiry is the point
// and an hour or more elsewhere; a client is required to be familiar still
// only when the time measured since it was remembered allows, and to be
// forgotten only once its time has passed by a margin.
package limitertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

// Concurrency is how many goroutines the concurrent wrong-password case
// runs.
const Concurrency = 30

// Timing of the cases. refill is the Interval of the cases that wait for
// credit to come back; long is the Interval of every other case, long
// enough that no credit comes back while a case runs. patience bounds a
// wait that must end (a generous context: a limiter that is merely slow
// passes); notYet is how long an attempt that must wait is watched for not
// returning.
const (
	refill   = 150 * time.Millisecond
	long     = time.Hour
	patience = 30 * time.Second
	notYet   = 100 * time.Millisecond
	// short is the ttl of the familiar clients whose expiry is checked;
	// margin is how long after it they are asked about.
	short  = 300 * time.Millisecond
	margin = 150 * time.Millisecond
)

// Run runs the whole suite against limiters made by newLimiter. The cases
// run in parallel (t.Parallel), so newLimiter must be safe to call from
// several goroutines; each case calls it once.
func Run(t *testing.T, newLimiter func(t *testing.T) auth.Limiter) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, l auth.Limiter)
	}{
		{"BurstThenRefused", testBurstThenRefused},
		{"RetryAfterIsTheLongestWait", testRetryAfterLongest},
		{"CreditComesBackAfterInterval", testCreditComesBack},
		{"RefillIsCappedAtBurst", testRefillCapped},
		{"CancelledIsGivenBack", testCancelled},
		{"SucceededForgives", testSucceededForgives},
		{"SucceededWithoutForgive", testSucceededWithoutForgive},
		{"AllOrNone", testAllOrNone},
		{"SettleTwiceCountsOnce", testSettleTwice},
		{"InFlightCounts", testInFlightCounts},
		{"WaitsForInFlight", testWaitsForInFlight},
		{"SpentBeatsHeld", testSpentBeatsHeld},
		{"ConcurrentWrongPasswords", testConcurrentWrong},
		{"ConcurrentRightPasswords", testConcurrentRight},
		{"KeysAreIndependent", testIndependent},
		{"BadKey", testBadKey},
		{"RememberedIsFamiliar", testRemembered},
		{"FamiliarIsAnyOf", testFamiliarAnyOf},
		{"FamiliarExpires", testFamiliarExpires},
		{"RememberReplacesTheTime", testRememberReplaces},
		{"RememberExtremeTTL", testRememberExtremeTTL},
		{"RememberBadTTL", testRememberBadTTL},
		{"FamiliarApartFromBudgets", testFamiliarApart},
		{"ConcurrentFamiliar", testConcurrentFamiliar},
		{"FamiliarEndedContext", testFamiliarEndedContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newLimiter(t))
		})
	}
}

// newKey is a key of its own: a random ID, so that no case, and no other
// run sharing the limiter's store, meets another's budget.
func newKey(burst int, interval time.Duration, forgive bool) auth.LimitKey {
	k := auth.LimitKey{Burst: burst, Interval: interval, Forgive: forgive}
	rand.Read(k.ID[:])
	return k
}

// ctxFor is a context that ends after d, cancelled when t ends.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// reserve reserves keys, failing t on any error.
func reserve(t *testing.T, l auth.Limiter, keys ...auth.LimitKey) auth.Reservation {
	t.Helper()
	r, err := l.Reserve(ctxFor(t, patience), keys...)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if r == nil {
		t.Fatal("Reserve returned a nil Reservation and no error")
	}
	return r
}

// settleN reserves keys n times, settling each reservation at once with o.
func settleN(t *testing.T, l auth.Limiter, n int, o auth.Outcome, keys ...auth.LimitKey) {
	t.Helper()
	for i := range n {
		r, err := l.Reserve(ctxFor(t, patience), keys...)
		if err != nil {
			t.Fatalf("attempt %d of %d: Reserve: %v", i+1, n, err)
		}
		r.Settle(o)
	}
}

// refused checks that reserving keys is refused at once with a
// *RateLimitError (matching auth.ErrTooManyAttempts, with a positive
// RetryAfter and no Reservation), and returns the error. A limiter that
// waits instead runs into the deadline and fails the check.
func refused(t *testing.T, l auth.Limiter, keys ...auth.LimitKey) *auth.RateLimitError {
	t.Helper()
	r, err := l.Reserve(ctxFor(t, patience), keys...)
	return checkRefused(t, r, err)
}

func checkRefused(t *testing.T, r auth.Reservation, err error) *auth.RateLimitError {
	t.Helper()
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) {
		if r != nil {
			r.Settle(auth.AttemptCancelled)
		}
		t.Fatalf("Reserve = %v, %v; want a *auth.RateLimitError", r, err)
	}
	if r != nil {
		t.Errorf("Reserve returned a Reservation with %v", err)
	}
	if !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("Reserve = %v, which does not match auth.ErrTooManyAttempts", err)
	}
	if rl.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want > 0", rl.RetryAfter)
	}
	return rl
}

// testBurstThenRefused: Burst failures, then a refusal saying to retry
// within one Interval; a refusal changes nothing.
func testBurstThenRefused(t *testing.T, l auth.Limiter) {
	const interval = time.Minute
	k := newKey(5, interval, true)
	settleN(t, l, 5, auth.AttemptFailed, k)
	for range 3 {
		rl := refused(t, l, k)
		if rl.RetryAfter > interval {
			t.Errorf("RetryAfter = %v, want at most the Interval %v", rl.RetryAfter, interval)
		}
	}
}

// testRetryAfterLongest: refused by two spent budgets, RetryAfter is the
// longer of their waits.
func testRetryAfterLongest(t *testing.T, l auth.Limiter) {
	short, longer := newKey(1, time.Minute, false), newKey(1, long, false)
	settleN(t, l, 1, auth.AttemptFailed, short)
	settleN(t, l, 1, auth.AttemptFailed, longer)
	for _, keys := range [][]auth.LimitKey{{short, longer}, {longer, short}} {
		if rl := refused(t, l, keys...); rl.RetryAfter <= time.Minute || rl.RetryAfter > long {
			t.Errorf("RetryAfter = %v, want the longer wait (in (1m, %v])", rl.RetryAfter, long)
		}
	}
}

// testCreditComesBack: a spent budget lets one attempt through once
// RetryAfter has passed.
func testCreditComesBack(t *testing.T, l auth.Limiter) {
	k := newKey(2, refill, false)
	settleN(t, l, 2, auth.AttemptFailed, k)
	start := time.Now()
	rl := refused(t, l, k)
	if rl.RetryAfter > refill {
		t.Fatalf("RetryAfter = %v, want at most the Interval %v", rl.RetryAfter, refill)
	}
	time.Sleep(rl.RetryAfter + refill/3)
	reserve(t, l, k).Settle(auth.AttemptFailed)
	r, err := l.Reserve(ctxFor(t, patience), k)
	// The credit that came back is spent again, and the next one comes
	// RetryAfter + Interval after the refusal: unless this goroutine was
	// descheduled that long, the attempt is refused.
	if time.Since(start) < rl.RetryAfter+refill-refill/10 {
		checkRefused(t, r, err)
	} else if err == nil {
		r.Settle(auth.AttemptCancelled)
	}
}

// testRefillCapped: however long a spent budget rests, it refills to
// Burst attempts, no more.
func testRefillCapped(t *testing.T, l auth.Limiter) {
	k := newKey(2, refill, false)
	settleN(t, l, 2, auth.AttemptFailed, k)
	time.Sleep(8 * refill)
	start := time.Now()
	settleN(t, l, 2, auth.AttemptFailed, k)
	r, err := l.Reserve(ctxFor(t, patience), k)
	if time.Since(start) < refill/2 {
		checkRefused(t, r, err)
	} else if err == nil {
		r.Settle(auth.AttemptCancelled)
	}
}

// testCancelled: cancelled attempts are given back, however many.
func testCancelled(t *testing.T, l auth.Limiter) {
	k := newKey(3, long, false)
	settleN(t, l, 20, auth.AttemptCancelled, k)
	settleN(t, l, 3, auth.AttemptFailed, k)
	refused(t, l, k)
}

// testSucceededForgives: a success on a Forgive key refills its budget.
func testSucceededForgives(t *testing.T, l auth.Limiter) {
	k := newKey(3, long, true)
	settleN(t, l, 2, auth.AttemptFailed, k)
	settleN(t, l, 1, auth.AttemptSucceeded, k)
	settleN(t, l, 3, auth.AttemptFailed, k)
	refused(t, l, k)
}

// testSucceededWithoutForgive: a success on a key without Forgive gives
// its own attempt back and forgives no past failure.
func testSucceededWithoutForgive(t *testing.T, l auth.Limiter) {
	k := newKey(3, long, false)
	settleN(t, l, 2, auth.AttemptFailed, k)
	settleN(t, l, 10, auth.AttemptSucceeded, k)
	settleN(t, l, 1, auth.AttemptFailed, k)
	refused(t, l, k)
	// Nor does a success through a Forgive key of the same reservation.
	a, u := newKey(3, long, false), newKey(3, long, true)
	settleN(t, l, 2, auth.AttemptFailed, a, u)
	settleN(t, l, 1, auth.AttemptSucceeded, a, u)
	settleN(t, l, 1, auth.AttemptFailed, a)
	refused(t, l, a)
	settleN(t, l, 3, auth.AttemptFailed, u)
	refused(t, l, u)
}

// testAllOrNone: a reservation refused by one spent key takes nothing
// from the others, in whatever order the keys come.
func testAllOrNone(t *testing.T, l auth.Limiter) {
	spent, other := newKey(1, long, false), newKey(2, long, false)
	settleN(t, l, 1, auth.AttemptFailed, spent)
	for range 5 {
		refused(t, l, spent, other)
		refused(t, l, other, spent)
	}
	settleN(t, l, 2, auth.AttemptFailed, other)
	refused(t, l, other)

	// A granted reservation takes from every key.
	a, b, c := newKey(2, long, false), newKey(5, long, false), newKey(5, long, false)
	settleN(t, l, 2, auth.AttemptFailed, a, b, c)
	refused(t, l, a)
	settleN(t, l, 3, auth.AttemptFailed, b)
	refused(t, l, b)
	settleN(t, l, 3, auth.AttemptFailed, c)
	refused(t, l, c)
}

// testSettleTwice: only the first Settle of a reservation counts.
func testSettleTwice(t *testing.T, l auth.Limiter) {
	tests := []struct {
		name   string
		first  auth.Outcome
		second []auth.Outcome
		spent  int // attempts of the budget the reservation spent
	}{
		{"cancelled then failed", auth.AttemptCancelled, []auth.Outcome{auth.AttemptFailed, auth.AttemptFailed}, 0},
		{"failed twice", auth.AttemptFailed, []auth.Outcome{auth.AttemptFailed, auth.AttemptFailed}, 1},
		{"failed then succeeded", auth.AttemptFailed, []auth.Outcome{auth.AttemptSucceeded}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKey(3, long, true)
			r := reserve(t, l, k)
			r.Settle(tt.first)
			for _, o := range tt.second {
				r.Settle(o)
			}
			settleN(t, l, 3-tt.spent, auth.AttemptFailed, k)
			refused(t, l, k)
		})
	}
}

// testInFlightCounts: attempts in flight hold their place in the budget:
// held ones that fail spend it.
func testInFlightCounts(t *testing.T, l auth.Limiter) {
	k := newKey(3, long, false)
	h1, h2 := reserve(t, l, k), reserve(t, l, k)
	settleN(t, l, 1, auth.AttemptFailed, k)
	h1.Settle(auth.AttemptFailed)
	h2.Settle(auth.AttemptFailed)
	refused(t, l, k)
}

// testWaitsForInFlight: an attempt that finds a budget held only by
// attempts in flight waits for them; it is let through when they give
// their attempt back, refused when they spend it, and answered ErrBusy
// (wrapping the context's error) when its context ends first.
func testWaitsForInFlight(t *testing.T, l auth.Limiter) {
	type want int
	const (
		granted want = iota
		rateLimited
		busy
	)
	tests := []struct {
		name  string
		burst int
		// failed are earlier failures of the budget; the rest of it is held
		// in flight.
		failed int
		// stages settle the held attempts, in order; the waiter must still
		// be waiting after each stage but the last.
		stages  [][]auth.Outcome
		waitFor time.Duration // the waiter's context
		cancel  bool          // cancel the waiter's context rather than let it expire
		want    want
		wantErr error
	}{
		{"held attempts succeed", 5, 0, [][]auth.Outcome{{auth.AttemptSucceeded, auth.AttemptSucceeded, auth.AttemptSucceeded, auth.AttemptSucceeded, auth.AttemptSucceeded}}, patience, false, granted, nil},
		{"a held attempt succeeds", 3, 0, [][]auth.Outcome{{auth.AttemptSucceeded}}, patience, false, granted, nil},
		{"held attempts are cancelled", 3, 0, [][]auth.Outcome{{auth.AttemptCancelled, auth.AttemptCancelled, auth.AttemptCancelled}}, patience, false, granted, nil},
		{"one of the held attempts is cancelled", 3, 1, [][]auth.Outcome{{auth.AttemptCancelled}}, patience, false, granted, nil},
		{"held attempts fail", 3, 0, [][]auth.Outcome{{auth.AttemptFailed, auth.AttemptFailed, auth.AttemptFailed}}, patience, false, rateLimited, nil},
		{"the held attempt fails after earlier failures", 3, 2, [][]auth.Outcome{{auth.AttemptFailed}}, patience, false, rateLimited, nil},
		{"one fails, the waiter waits on the other, which succeeds", 3, 1, [][]auth.Outcome{{auth.AttemptFailed}, {auth.AttemptSucceeded}}, patience, false, granted, nil},
		{"one fails, the waiter waits on the other, which fails", 3, 1, [][]auth.Outcome{{auth.AttemptFailed}, {auth.AttemptFailed}}, patience, false, rateLimited, nil},
		{"the waiter's deadline passes", 2, 0, nil, 3 * notYet, false, busy, context.DeadlineExceeded},
		{"the waiter's context is cancelled", 2, 0, nil, patience, true, busy, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKey(tt.burst, long, true)
			settleN(t, l, tt.failed, auth.AttemptFailed, k)
			var held []auth.Reservation
			for range tt.burst - tt.failed {
				held = append(held, reserve(t, l, k))
			}
			defer func() {
				for _, r := range held {
					r.Settle(auth.AttemptCancelled)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), tt.waitFor)
			defer cancel()
			type result struct {
				r   auth.Reservation
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := l.Reserve(ctx, k)
				done <- result{r, err}
			}()
			waiting := func(when string) {
				t.Helper()
				select {
				case res := <-done:
					if res.r != nil {
						res.r.Settle(auth.AttemptCancelled)
					}
					t.Fatalf("%s, Reserve of a budget held in flight did not wait: %v, %v", when, res.r, res.err)
				case <-time.After(notYet):
				}
			}
			waiting("at first")
			if tt.cancel {
				cancel()
			}
			next := held
			for i, stage := range tt.stages {
				if i > 0 {
					waiting(fmt.Sprintf("after stage %d", i))
				}
				for _, o := range stage {
					next[0].Settle(o)
					next = next[1:]
				}
			}
			var res result
			select {
			case res = <-done:
			case <-time.After(patience + 5*time.Second):
				t.Fatal("the waiting Reserve never returned")
			}
			switch tt.want {
			case granted:
				if res.err != nil || res.r == nil {
					t.Fatalf("waiter: Reserve = %v, %v; want let through", res.r, res.err)
				}
				res.r.Settle(auth.AttemptCancelled)
			case rateLimited:
				checkRefused(t, res.r, res.err)
			case busy:
				if res.r != nil {
					res.r.Settle(auth.AttemptCancelled)
				}
				if !errors.Is(res.err, auth.ErrBusy) || !errors.Is(res.err, tt.wantErr) {
					t.Fatalf("waiter: Reserve = %v, %v; want an error matching auth.ErrBusy and %v", res.r, res.err, tt.wantErr)
				}
			}
		})
	}
}

// testSpentBeatsHeld: a reservation of a spent key and of a key held in
// flight is refused at once rather than made to wait.
func testSpentBeatsHeld(t *testing.T, l auth.Limiter) {
	spent, held := newKey(1, long, false), newKey(1, long, false)
	settleN(t, l, 1, auth.AttemptFailed, spent)
	h := reserve(t, l, held)
	defer h.Settle(auth.AttemptCancelled)
	// Should the limiter wait instead, it meets the deadline and answers
	// ErrBusy, which fails the check.
	for _, keys := range [][]auth.LimitKey{{held, spent}, {spent, held}} {
		r, err := l.Reserve(ctxFor(t, 2*time.Second), keys...)
		checkRefused(t, r, err)
	}
}

// concurrent runs n goroutines that each reserve keys together, hold the
// reservation for a moment and settle it with o, and reports how many were
// granted and refused and the most in flight at once. Other errors fail t.
func concurrent(t *testing.T, l auth.Limiter, n int, o auth.Outcome, keys ...auth.LimitKey) (granted, refused, maxInFlight int64) {
	t.Helper()
	var g, rf, inFlight, most atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	ctx := ctxFor(t, patience)
	for range n {
		wg.Go(func() {
			<-start
			r, err := l.Reserve(ctx, keys...)
			if err != nil {
				if rl := (*auth.RateLimitError)(nil); !errors.As(err, &rl) {
					t.Errorf("Reserve: %v; want a grant or a *auth.RateLimitError", err)
				}
				rf.Add(1)
				return
			}
			g.Add(1)
			cur := inFlight.Add(1)
			for {
				m := most.Load()
				if cur <= m || most.CompareAndSwap(m, cur) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond) // a password check
			inFlight.Add(-1)
			r.Settle(o)
		})
	}
	close(start)
	wg.Wait()
	return g.Load(), rf.Load(), most.Load()
}

// testConcurrentWrong: concurrent wrong passwords gain nothing: exactly
// Burst are let through, the others are refused (none answered ErrBusy:
// the context is generous), and never more than Burst are in flight.
func testConcurrentWrong(t *testing.T, l auth.Limiter) {
	const burst = 5
	k := newKey(burst, long, true)
	granted, refusedN, most := concurrent(t, l, Concurrency, auth.AttemptFailed, k)
	if granted != burst || refusedN != Concurrency-burst {
		t.Errorf("%d granted, %d refused of %d; want %d granted", granted, refusedN, Concurrency, burst)
	}
	if most > burst {
		t.Errorf("%d attempts in flight at once, want at most %d", most, burst)
	}
	refused(t, l, k)
}

// testConcurrentRight: concurrent right passwords all get through, more
// of them than the burst, never more than the burst at once; the budget
// is whole afterwards.
func testConcurrentRight(t *testing.T, l auth.Limiter) {
	const burst, n = 5, 8
	addr, user := newKey(20, long, false), newKey(burst, long, true)
	granted, refusedN, most := concurrent(t, l, n, auth.AttemptSucceeded, addr, user)
	if granted != n || refusedN != 0 {
		t.Errorf("%d granted, %d refused of %d right passwords; want all granted", granted, refusedN, n)
	}
	if most > burst {
		t.Errorf("%d attempts in flight at once, want at most %d", most, burst)
	}
	settleN(t, l, burst, auth.AttemptFailed, user)
	refused(t, l, user)
}

// testIndependent: spending one key's budget leaves the others alone.
func testIndependent(t *testing.T, l auth.Limiter) {
	a, b := newKey(2, long, false), newKey(2, long, false)
	settleN(t, l, 2, auth.AttemptFailed, a)
	refused(t, l, a)
	settleN(t, l, 2, auth.AttemptFailed, b)
	refused(t, l, b)
	settleN(t, l, 1, auth.AttemptSucceeded, newKey(1, long, false))
	refused(t, l, a)
}

// testBadKey: a key without a positive Burst and Interval is an error,
// and the reservation that holds it takes nothing from its good keys.
func testBadKey(t *testing.T, l auth.Limiter) {
	good := newKey(1, long, false)
	for _, bad := range []auth.LimitKey{
		newKey(0, time.Second, false),
		newKey(1, 0, false),
		newKey(-1, time.Second, false),
		newKey(1, -time.Second, false),
	} {
		for _, keys := range [][]auth.LimitKey{{bad}, {good, bad}, {bad, good}} {
			r, err := l.Reserve(ctxFor(t, patience), keys...)
			if err == nil || r != nil {
				if r != nil {
					r.Settle(auth.AttemptFailed)
				}
				t.Errorf("Reserve(%s) = %v, %v; want an error", describe(keys), r, err)
			}
			if rl := (*auth.RateLimitError)(nil); errors.As(err, &rl) {
				t.Errorf("Reserve(%s) = %v; want an error other than a refusal", describe(keys), err)
			}
		}
	}
	settleN(t, l, 1, auth.AttemptFailed, good)
	refused(t, l, good)
}

func describe(keys []auth.LimitKey) string {
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("{Burst: %d, Interval: %v}", k.Burst, k.Interval)
	}
	return s
}

// newID is a familiar-client id of its own, as newKey is a key.
func newID() [16]byte {
	var id [16]byte
	rand.Read(id[:])
	return id
}

// remember remembers ids for ttl, failing t on an error.
func remember(t *testing.T, l auth.Limiter, ttl time.Duration, ids ...[16]byte) {
	t.Helper()
	if err := l.Remember(ctxFor(t, patience), ttl, ids...); err != nil {
		t.Fatalf("Remember(%v, %d ids): %v", ttl, len(ids), err)
	}
}

// familiar asks whether any of ids is familiar, failing t on an error.
func familiar(t *testing.T, l auth.Limiter, ids ...[16]byte) bool {
	t.Helper()
	ok, err := l.Familiar(ctxFor(t, patience), ids...)
	if err != nil {
		t.Fatalf("Familiar(%d ids): %v", len(ids), err)
	}
	return ok
}

// testRemembered: a remembered id is familiar, every one of several
// remembered together (duplicates included); one never remembered is
// not, nor are no ids at all; remembering no ids is no error.
func testRemembered(t *testing.T, l auth.Limiter) {
	a := newID()
	if familiar(t, l, a) {
		t.Fatal("an id never remembered is familiar")
	}
	remember(t, l, long, a)
	if !familiar(t, l, a) {
		t.Fatal("a remembered id is not familiar")
	}
	if familiar(t, l, newID()) {
		t.Error("an unknown id is familiar")
	}
	if familiar(t, l) {
		t.Error("Familiar() of no ids = true, want false")
	}
	remember(t, l, long)

	ids := make([][16]byte, 10)
	for i := range ids {
		ids[i] = newID()
	}
	remember(t, l, long, ids...)
	for i, id := range ids {
		if !familiar(t, l, id) {
			t.Errorf("id %d of 10 remembered together is not familiar", i)
		}
	}
	d := newID()
	remember(t, l, long, d, d, d)
	if !familiar(t, l, d, d) {
		t.Error("an id remembered three times in one call is not familiar")
	}
}

// testFamiliarAnyOf: Familiar of several ids is whether any of them is
// familiar, wherever it comes among them.
func testFamiliarAnyOf(t *testing.T, l auth.Limiter) {
	known := newID()
	remember(t, l, long, known)
	x, y := newID(), newID()
	tests := []struct {
		name string
		ids  [][16]byte
		want bool
	}{
		{"known first", [][16]byte{known, x}, true},
		{"known last", [][16]byte{x, y, known}, true},
		{"known among many", [][16]byte{x, newID(), known, newID(), y}, true},
		{"known twice", [][16]byte{known, known}, true},
		{"two unknown", [][16]byte{x, y}, false},
		{"one unknown twice", [][16]byte{x, x}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := familiar(t, l, tt.ids...); got != tt.want {
				t.Errorf("Familiar = %v, want %v", got, tt.want)
			}
		})
	}
}

// testFamiliarExpires: an id is familiar until its ttl has passed, and
// not after; one that expired does not make Familiar of it and a live one
// false.
func testFamiliarExpires(t *testing.T, l auth.Limiter) {
	brief, lasting := newID(), newID()
	remember(t, l, long, lasting)
	start := time.Now()
	remember(t, l, short, brief)
	remembered := time.Now()
	ok := familiar(t, l, brief)
	// The ttl runs from some instant during Remember, so unless this
	// goroutine was descheduled for most of it, it has not passed.
	if time.Since(start) < short*2/3 && !ok {
		t.Fatalf("an id remembered for %v is not familiar after %v", short, time.Since(start))
	}
	time.Sleep(time.Until(remembered.Add(short + margin)))
	if familiar(t, l, brief) {
		t.Errorf("an id remembered for %v is still familiar after %v", short, time.Since(remembered))
	}
	if !familiar(t, l, brief, lasting) {
		t.Error("Familiar of an expired id and a live one = false, want true")
	}
	if familiar(t, l, brief, newID()) {
		t.Error("Familiar of an expired id and an unknown one = true, want false")
	}
}

// testRememberReplaces: remembering an id again replaces its time, the
// later one or the earlier.
func testRememberReplaces(t *testing.T, l auth.Limiter) {
	extended, shortened, renewed := newID(), newID(), newID()
	remember(t, l, short, extended)
	remember(t, l, long, extended)
	remember(t, l, long, shortened)
	remember(t, l, short, shortened)
	remember(t, l, short, renewed)
	first := time.Now()
	time.Sleep(short / 2)
	start := time.Now()
	remember(t, l, short, renewed)
	remembered := time.Now()
	// Past the first time, within the second: still familiar, unless this
	// goroutine was descheduled for too long.
	time.Sleep(time.Until(first.Add(short + short/6)))
	if ok := familiar(t, l, renewed); !ok && time.Since(start) < short-short/6 {
		t.Errorf("an id remembered for %v, and again %v later, is not familiar %v after the first",
			short, start.Sub(first).Round(time.Millisecond), time.Since(first).Round(time.Millisecond))
	}
	time.Sleep(time.Until(remembered.Add(short + margin)))
	if !familiar(t, l, extended) {
		t.Errorf("an id remembered for %v, then for %v, was forgotten after the first", short, long)
	}
	if familiar(t, l, shortened) {
		t.Errorf("an id remembered for %v, then for %v, is familiar after the second", long, short)
	}
	if familiar(t, l, renewed) {
		t.Errorf("an id remembered twice for %v is familiar past the second", short)
	}
}

// testRememberExtremeTTL: a ttl longer than any store keeps (the largest
// Duration) is familiar, not an error nor an overflow into the past; a
// ttl shorter than any clock's tick (a nanosecond) is accepted and soon
// forgotten.
func testRememberExtremeTTL(t *testing.T, l auth.Limiter) {
	forever, instant := newID(), newID()
	remember(t, l, math.MaxInt64, forever)
	remember(t, l, 100*365*24*time.Hour, forever) // a century: replaced, still familiar
	if !familiar(t, l, forever) {
		t.Error("an id remembered for a century is not familiar")
	}
	other := newID()
	remember(t, l, math.MaxInt64, other)
	if !familiar(t, l, other) {
		t.Errorf("an id remembered for %v is not familiar", time.Duration(math.MaxInt64))
	}
	remembered := time.Now()
	remember(t, l, time.Nanosecond, instant)
	time.Sleep(time.Until(remembered.Add(margin)))
	if familiar(t, l, instant) {
		t.Errorf("an id remembered for 1ns is familiar after %v", time.Since(remembered))
	}
}

// testRememberBadTTL: a ttl that is not positive is an error, with ids or
// without, and changes nothing: an id remembered before stays familiar,
// one never remembered stays unknown.
func testRememberBadTTL(t *testing.T, l auth.Limiter) {
	before, fresh := newID(), newID()
	remember(t, l, long, before)
	for _, ttl := range []time.Duration{0, -time.Nanosecond, -time.Hour, math.MinInt64} {
		for _, ids := range [][][16]byte{nil, {fresh}, {before}, {fresh, before}} {
			if err := l.Remember(ctxFor(t, patience), ttl, ids...); err == nil {
				t.Errorf("Remember(%v, %d ids) = nil, want an error", ttl, len(ids))
			}
		}
	}
	if familiar(t, l, fresh) {
		t.Error("an id remembered only with a bad ttl is familiar")
	}
	if !familiar(t, l, before) {
		t.Error("Remember with a bad ttl forgot an id remembered before")
	}
}

// testFamiliarApart: familiar ids and budgets are apart, even where an id
// equals a budget key's ID: remembering it neither fills nor spends the
// budget, and spending, forgiving or holding the budget neither remembers
// nor forgets it.
func testFamiliarApart(t *testing.T, l auth.Limiter) {
	k := newKey(2, long, true)
	settleN(t, l, 1, auth.AttemptFailed, k)
	if familiar(t, l, k.ID) {
		t.Fatal("the ID of a budget in use is familiar")
	}
	remember(t, l, long, k.ID)
	settleN(t, l, 1, auth.AttemptFailed, k) // the one attempt left, no more
	refused(t, l, k)
	if !familiar(t, l, k.ID) {
		t.Error("spending a budget forgot the familiar id equal to its key's ID")
	}

	f := newKey(3, long, true)
	remember(t, l, long, f.ID)
	settleN(t, l, 2, auth.AttemptFailed, f)
	h := reserve(t, l, f)
	if !familiar(t, l, f.ID) {
		t.Error("an attempt in flight forgot the familiar id equal to its key's ID")
	}
	h.Settle(auth.AttemptSucceeded) // forgives: the budget whole again
	if !familiar(t, l, f.ID) {
		t.Error("forgiving a budget forgot the familiar id equal to its key's ID")
	}
	settleN(t, l, 3, auth.AttemptFailed, f)
	refused(t, l, f)

	// A remembered id that a budget is then made of starts that budget
	// full.
	g := newKey(1, long, false)
	remember(t, l, long, g.ID)
	settleN(t, l, 1, auth.AttemptFailed, g)
	refused(t, l, g)
}

// testConcurrentFamiliar: many goroutines remembering and asking at once,
// each its own id and all one shared id, each see what they remembered.
func testConcurrentFamiliar(t *testing.T, l auth.Limiter) {
	shared := newID()
	var wg sync.WaitGroup
	start := make(chan struct{})
	ctx := ctxFor(t, patience)
	for i := range Concurrency {
		wg.Go(func() {
			<-start
			own, stranger := newID(), newID()
			for j := range 5 {
				ttl := long + time.Duration(i*5+j)*time.Second
				if err := l.Remember(ctx, ttl, own, shared); err != nil {
					t.Errorf("Remember: %v", err)
					return
				}
				for _, c := range []struct {
					ids  [][16]byte
					want bool
				}{{[][16]byte{own}, true}, {[][16]byte{shared}, true}, {[][16]byte{stranger}, false}, {[][16]byte{stranger, own}, true}} {
					ok, err := l.Familiar(ctx, c.ids...)
					if err != nil || ok != c.want {
						t.Errorf("Familiar(%d ids) = %v, %v; want %v", len(c.ids), ok, err, c.want)
						return
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
}

// testFamiliarEndedContext: with its context ended, Remember and Familiar
// return an error matching the context's, and Familiar says false.
func testFamiliarEndedContext(t *testing.T, l auth.Limiter) {
	id := newID()
	remember(t, l, long, id)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline passed", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.Remember(tt.ctx, long, newID()); !errors.Is(err, tt.want) {
				t.Errorf("Remember = %v, want an error matching %v", err, tt.want)
			}
			if ok, err := l.Familiar(tt.ctx, id); ok || !errors.Is(err, tt.want) {
				t.Errorf("Familiar = %v, %v; want false and an error matching %v", ok, err, tt.want)
			}
		})
	}
}

// Shared checks a limiter shared by several instances: what same1
// remembers, same2 (another instance on the same store) finds familiar,
// and apart (an instance on another store, or under another key prefix)
// does not.
func Shared(t *testing.T, same1, same2, apart auth.Limiter) {
	t.Helper()
	ctx := context.Background()
	id := newID()
	if err := same1.Remember(ctx, time.Hour, id); err != nil {
		t.Fatal(err)
	}
	if ok, err := same2.Familiar(ctx, newID(), id); !ok || err != nil {
		t.Fatalf("Familiar on the other instance = %v, %v; want true", ok, err)
	}
	if ok, err := apart.Familiar(ctx, id); ok || err != nil {
		t.Fatalf("Familiar on a limiter apart = %v, %v; want false", ok, err)
	}
}
