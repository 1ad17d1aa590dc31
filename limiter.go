package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter throttles guessing. The Authenticator reserves an attempt before
// it checks a password (or registers a user), and settles the reservation
// once it knows the outcome; implementations keep the budgets, in memory
// (the default: see Config.Limiter) or in a store that several instances
// share.
//
// An attempt is counted while it is in flight, so that concurrent guesses
// cannot slip past a budget together: a budget of 5 never has more than 5
// attempts in flight or failed. But an attempt that finds a budget held by
// attempts still in flight waits for them to settle rather than being
// refused, since they may yet succeed and give their attempt back: only a
// budget spent by failures refuses. So concurrent right passwords all get
// through, and parallel wrong ones gain nothing.
//
// A Limiter also remembers familiar clients: digests of a client (an
// address, a browser's device cookie) and an account the client signed in
// to, so that the Authenticator can keep refusing strangers who guess an
// account's password while its owner still gets in (see Limits.LoginUser).
//
// Implementations must be safe for concurrent use.
type Limiter interface {
	// Reserve takes one attempt from the budget of every key, all or none.
	// While a budget is held by attempts in flight it waits for them, until
	// ctx ends (then it returns an error wrapping ErrBusy and the context's
	// error). When a budget is spent by failures it returns a
	// *RateLimitError at once, having taken nothing. The keys are distinct.
	Reserve(ctx context.Context, keys ...LimitKey) (Reservation, error)
	// Remember records each of ids as familiar until ttl from now,
	// replacing the time an earlier Remember of the same id gave.
	Remember(ctx context.Context, ttl time.Duration, ids ...[16]byte) error
	// Familiar reports whether any of ids was remembered and its time has
	// not passed. No ids: false.
	Familiar(ctx context.Context, ids ...[16]byte) (bool, error)
}

// Reservation is an attempt taken from a Limiter. Settle it once the
// outcome is known; calls after the first do nothing, so a caller can defer
// Settle(AttemptCancelled) to cover every early return.
type Reservation interface {
	Settle(o Outcome)
}

// Outcome is how an attempt ended.
type Outcome uint8

// Outcomes of an attempt.
const (
	// AttemptCancelled: not a guess (the store failed, the request ended).
	// The attempt is given back.
	AttemptCancelled Outcome = iota
	// AttemptFailed: a wrong guess. The attempt stays spent.
	AttemptFailed
	// AttemptSucceeded: a right guess. The attempt is given back, and the
	// budgets of keys marked Forgive are refilled.
	AttemptSucceeded
)

// LimitKey is one budget an attempt draws on: Burst attempts in a row, and
// one more every Interval.
type LimitKey struct {
	// ID names the budget: a digest of what is limited (a username, a client
	// address) and why, so that every key takes the same small room
	// whatever the input.
	ID       [16]byte
	Burst    int
	Interval time.Duration
	// Forgive makes AttemptSucceeded refill the budget: a right password
	// forgives the username's earlier failures.
	Forgive bool
}

// memoryLimiterConfig configures a memoryLimiter. Zero fields take the
// defaults.
type memoryLimiterConfig struct {
	// maxKeys bounds how many budgets the limiter remembers. Budgets that
	// have refilled are forgotten continuously (they are the same as
	// absent ones). When maxKeys budgets are all still being refilled, a
	// new key makes room by evicting the fullest of a random sample of
	// budgets with nothing in flight: a new key is never refused, and the
	// budgets most drained by failures (those under attack) are the last
	// to go. Default 100,000.
	maxKeys int
	// maxFamiliar bounds how many familiar clients (Remember) the limiter
	// keeps. Expired ones are forgotten continuously; when maxFamiliar are
	// all still live, a new one evicts the one that expires first among a
	// random sample. Each takes one successful sign-in to make. Default
	// 100,000 (about 3.5 MB: 35 bytes each, measured by
	// TestMemoryLimiterBytesPerFamiliar).
	maxFamiliar int
	// now is the clock; nil means time.Now.
	now func() time.Time
}

// memoryLimiter is the default Limiter (Config.Limiter nil): budgets in
// the memory of one process. Instances of a service behind a load balancer
// each have their own; use a shared Limiter there (store/postgres and
// redislimit have one, and limitertest checks any other against this one's
// guarantees).
//
// Its memory is bounded whatever the input: each budget takes a fixed
// room (a 16-byte digest as the key and 56 bytes of state: about 100 bytes
// with the map's overhead, measured in TestMemoryLimiterBytesPerKey), so at
// most about 10 MB at the default maxKeys. A budget outlives its last
// failure by at most Burst × Interval (5 minutes for a username at the
// defaults). With the Authenticator's defaults, one client address can make
// the limiter remember at most 20 + 3600/6 = 620 usernames an hour (one per
// failed login its own budget allows), and none once its budget is spent.
type memoryLimiter struct {
	mu        sync.Mutex
	now       func() time.Time
	epoch     time.Time
	maxKeys   int
	m         map[[16]byte]budget
	lastSweep time.Duration
	// familiar holds, for each remembered id, when it expires (since
	// epoch).
	familiar    map[[16]byte]time.Duration
	maxFamiliar int
}

// budget is one key's state. Credit is kept in time rather than in
// (floating-point) attempts: an attempt costs interval, and credit accrues
// at one second per second, up to capacity (burst × interval), so the
// arithmetic is exact.
//
// Invariant: credit ≥ inflight × interval. So when credit is below one
// interval nothing is in flight, and the budget is spent by failures.
type budget struct {
	credit, capacity, interval time.Duration
	last                       time.Duration // since epoch, when credit was brought up to date
	inflight                   int32
	// wake is closed when an attempt of this key settles; it is made only
	// when an attempt waits.
	wake chan struct{}
}

// newMemoryLimiter returns a memoryLimiter.
func newMemoryLimiter(c memoryLimiterConfig) *memoryLimiter {
	if c.maxKeys <= 0 {
		c.maxKeys = 100_000
	}
	if c.maxFamiliar <= 0 {
		c.maxFamiliar = 100_000
	}
	if c.now == nil {
		c.now = time.Now
	}
	return &memoryLimiter{now: c.now, epoch: c.now(), maxKeys: c.maxKeys, m: make(map[[16]byte]budget),
		familiar: make(map[[16]byte]time.Duration), maxFamiliar: c.maxFamiliar}
}

// sweepEvery is how often refilled budgets are forgotten.
const sweepEvery = time.Second

// evictionSample is how many budgets a full limiter looks at to choose one
// to evict.
const evictionSample = 16

var errBadLimitKey = errors.New("auth: a LimitKey needs a positive Burst and Interval")

// Reserve implements Limiter.
func (l *memoryLimiter) Reserve(ctx context.Context, keys ...LimitKey) (Reservation, error) {
	for _, k := range keys {
		if k.Burst <= 0 || k.Interval <= 0 {
			return nil, errBadLimitKey
		}
	}
	for {
		l.mu.Lock()
		now := l.clock()
		l.sweep(now, false)
		var (
			retry time.Duration
			wait  chan struct{}
		)
		for _, k := range keys {
			b, ok := l.m[k.ID]
			if !ok {
				continue // a full budget
			}
			b.refresh(k, now)
			switch {
			case b.credit < k.Interval: // spent by failures
				retry = max(retry, k.Interval-b.credit)
			case b.credit-time.Duration(b.inflight)*k.Interval < k.Interval: // held by attempts in flight
				if wait == nil {
					if b.wake == nil {
						b.wake = make(chan struct{})
					}
					wait = b.wake
				}
			}
			l.m[k.ID] = b
		}
		if retry > 0 {
			l.mu.Unlock()
			return nil, &RateLimitError{RetryAfter: retry}
		}
		if wait != nil {
			l.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: waiting for earlier attempts: %w", ErrBusy, ctx.Err())
			}
		}
		for _, k := range keys {
			b, ok := l.m[k.ID]
			if !ok {
				if len(l.m) >= l.maxKeys {
					l.makeRoom(now)
				}
				b = budget{credit: k.capacity(), last: now}
				b.refresh(k, now)
			}
			b.inflight++
			l.m[k.ID] = b
		}
		l.mu.Unlock()
		return &memoryReservation{l: l, keys: keys}, nil
	}
}

// capacity is Burst × Interval, saturated at about 146 years rather than
// overflowing.
func (k LimitKey) capacity() time.Duration {
	const limit = time.Duration(math.MaxInt64 / 2)
	if time.Duration(k.Burst) > limit/k.Interval {
		return limit
	}
	return time.Duration(k.Burst) * k.Interval
}

// refresh brings b up to date at now, under k's current thresholds.
func (b *budget) refresh(k LimitKey, now time.Duration) {
	b.interval, b.capacity = k.Interval, k.capacity()
	b.refill(now)
}

// refill adds the credit accrued since b.last, up to capacity, and reports
// whether b is full.
func (b *budget) refill(now time.Duration) bool {
	if d := now - b.last; d > 0 {
		b.credit += d
		b.last = now
	}
	if b.credit >= b.capacity {
		b.credit = b.capacity
		return true
	}
	return false
}

// idle reports whether b can be forgotten without changing anything: full,
// nothing in flight, nobody waiting.
func (b *budget) idle(now time.Duration) bool {
	return b.refill(now) && b.inflight == 0 && b.wake == nil
}

func (l *memoryLimiter) clock() time.Duration { return l.now().Sub(l.epoch) }

// sweep forgets refilled budgets, at most once per sweepEvery unless force.
func (l *memoryLimiter) sweep(now time.Duration, force bool) {
	if !force && now-l.lastSweep < sweepEvery {
		return
	}
	l.lastSweep = now
	for id, b := range l.m {
		if b.idle(now) {
			delete(l.m, id)
		} else {
			l.m[id] = b
		}
	}
	for id, until := range l.familiar {
		if until <= now {
			delete(l.familiar, id)
		}
	}
}

var errBadTTL = errors.New("auth: Remember needs a positive ttl")

// Remember implements Limiter.
func (l *memoryLimiter) Remember(ctx context.Context, ttl time.Duration, ids ...[16]byte) error {
	if ttl <= 0 {
		return errBadTTL
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	l.sweep(now, false)
	until := now + ttl
	if until < now { // overflowed: a ttl past the clock's range is forever
		until = math.MaxInt64
	}
	for _, id := range ids {
		if _, ok := l.familiar[id]; !ok && len(l.familiar) >= l.maxFamiliar {
			l.evictFamiliar()
		}
		l.familiar[id] = until
	}
	return nil
}

// evictFamiliar makes room for one familiar id: it forgets the one that
// expires first (or has expired) among a random sample (map iteration
// starts at a random entry).
func (l *memoryLimiter) evictFamiliar() {
	var (
		victim [16]byte
		first  time.Duration
		seen   int
	)
	for id, until := range l.familiar {
		if seen == 0 || until < first {
			victim, first = id, until
		}
		if seen++; seen == evictionSample {
			break
		}
	}
	delete(l.familiar, victim)
}

// Familiar implements Limiter.
func (l *memoryLimiter) Familiar(ctx context.Context, ids ...[16]byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	for _, id := range ids {
		if until, ok := l.familiar[id]; ok && until > now {
			return true, nil
		}
	}
	return false, nil
}

// makeRoom evicts one budget from a full limiter: after a sweep, if that
// freed nothing, the fullest budget with nothing in flight among a random
// sample (map iteration starts at a random entry). If the sample holds only
// budgets in flight, nothing is evicted and the limiter goes over maxKeys
// by the attempts in flight, which are bounded by the requests being
// served.
func (l *memoryLimiter) makeRoom(now time.Duration) {
	l.sweep(now, false)
	if len(l.m) < l.maxKeys {
		return
	}
	var (
		victim [16]byte
		best   = -1.0
		seen   int
	)
	for id, b := range l.m {
		if b.inflight == 0 && b.wake == nil {
			b.refill(now)
			if f := float64(b.credit) / float64(b.capacity); f > best {
				victim, best = id, f
			}
		}
		if seen++; seen == evictionSample {
			break
		}
	}
	if best >= 0 {
		delete(l.m, victim)
	}
}

// Len returns how many budgets the limiter remembers.
func (l *memoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

type memoryReservation struct {
	l       *memoryLimiter
	keys    []LimitKey
	settled atomic.Bool
}

// Settle implements Reservation.
func (r *memoryReservation) Settle(o Outcome) {
	if r.settled.Swap(true) {
		return
	}
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	for _, k := range r.keys {
		b, ok := l.m[k.ID]
		if !ok {
			continue // cannot happen: a budget in flight is never forgotten
		}
		b.refill(now)
		b.inflight--
		switch o {
		case AttemptFailed:
			b.credit -= b.interval
		case AttemptSucceeded:
			if k.Forgive {
				b.credit = b.capacity
			}
		}
		if b.wake != nil {
			close(b.wake)
			b.wake = nil
		}
		if b.idle(now) {
			delete(l.m, k.ID)
		} else {
			l.m[k.ID] = b
		}
	}
}
