package auth

import (
	"context"
	"crypto/sha256"
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
// (MemoryLimiter) or in a store that several instances share.
//
// An attempt is counted while it is in flight, so that concurrent guesses
// cannot slip past a budget together: a budget of 5 never has more than 5
// attempts in flight or failed. But an attempt that finds a budget held by
// attempts still in flight waits for them to settle rather than being
// refused, since they may yet succeed and give their attempt back: only a
// budget spent by failures refuses. So concurrent right passwords all get
// through, and parallel wrong ones gain nothing.
//
// Implementations must be safe for concurrent use.
type Limiter interface {
	// Reserve takes one attempt from the budget of every key, all or none.
	// While a budget is held by attempts in flight it waits for them, until
	// ctx ends (then it returns an error wrapping ErrBusy and the context's
	// error). When a budget is spent by failures it returns a
	// *RateLimitError at once, having taken nothing. The keys are distinct.
	Reserve(ctx context.Context, keys ...LimitKey) (Reservation, error)
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

// limitID is the ID of the budget for value (a normalised username, a
// client address) under kind (what is limited: "login-username", ...): the
// first 16 bytes of a domain-separated SHA-256.
func limitID(kind, value string) [16]byte {
	h := sha256.New()
	h.Write([]byte("goauthkit limit v1\x00"))
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
	var id [16]byte
	copy(id[:], h.Sum(nil))
	return id
}

// Rate is a budget: Burst attempts in a row, then one more per Interval.
type Rate struct {
	Burst    int
	Interval time.Duration
}

func (r Rate) orDefault(burst int, interval time.Duration) Rate {
	if r.Burst == 0 {
		r.Burst = burst
	}
	if r.Interval == 0 {
		r.Interval = interval
	}
	return r
}

func (r Rate) valid() bool { return r.Burst > 0 && r.Interval > 0 }

// Limits are the budgets the Authenticator draws on. Zero fields take the
// defaults; negative ones are refused by New.
type Limits struct {
	// LoginUsername bounds the password checks in flight or failed for one
	// normalised username (at login and at a password change). A right
	// password forgives the failures. Default 5, then one per minute.
	LoginUsername Rate
	// LoginAddress bounds failed logins from one client address. Default
	// 20, then one per 6 seconds. It is reserved before the username's
	// budget, so an address that has spent it can no longer make the
	// limiter remember usernames.
	LoginAddress Rate
	// SignupAddress bounds registrations from one client address, whether
	// or not they succeed. Default 20, then one per 6 seconds.
	SignupAddress Rate
	// RecoveryAddress bounds the account-recovery requests from one client
	// address (RequestPasswordReset, VerifyEmail, ResetPassword), whether or
	// not they succeed. Default 20, then one per 6 seconds.
	RecoveryAddress Rate
	// MailAccount bounds the verification and reset mails sent to one
	// account. Past it, nothing is sent and the answer is unchanged.
	// Default 3, then one per 20 minutes (3 an hour).
	MailAccount Rate
}

func (l Limits) withDefaults() Limits {
	l.LoginUsername = l.LoginUsername.orDefault(5, time.Minute)
	l.LoginAddress = l.LoginAddress.orDefault(20, 6*time.Second)
	l.SignupAddress = l.SignupAddress.orDefault(20, 6*time.Second)
	l.RecoveryAddress = l.RecoveryAddress.orDefault(20, 6*time.Second)
	l.MailAccount = l.MailAccount.orDefault(3, 20*time.Minute)
	return l
}

func (l Limits) validate() error {
	for _, r := range []struct {
		name string
		rate Rate
	}{{"LoginUsername", l.LoginUsername}, {"LoginAddress", l.LoginAddress}, {"SignupAddress", l.SignupAddress},
		{"RecoveryAddress", l.RecoveryAddress}, {"MailAccount", l.MailAccount}} {
		if !r.rate.valid() {
			return fmt.Errorf("Config.Limits.%s must have a positive Burst and Interval", r.name)
		}
	}
	return nil
}

func (r Rate) key(kind, value string, forgive bool) LimitKey {
	return LimitKey{ID: limitID(kind, value), Burst: r.Burst, Interval: r.Interval, Forgive: forgive}
}

// LimiterConfig configures a MemoryLimiter. Zero fields take the defaults.
type LimiterConfig struct {
	// MaxKeys bounds how many budgets the limiter remembers. Budgets that
	// have refilled are forgotten continuously (they are the same as
	// absent ones). When MaxKeys budgets are all still being refilled, a
	// new key makes room by evicting the fullest of a random sample of
	// budgets with nothing in flight: a new key is never refused, and the
	// budgets most drained by failures (those under attack) are the last
	// to go. Default 100,000.
	MaxKeys int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// MemoryLimiter is the default Limiter: budgets in the memory of one
// process. Instances of a service behind a load balancer each have their
// own; use a shared Limiter there (store/postgres and redislimit have one,
// and limitertest checks any other against this one's guarantees).
//
// Its memory is bounded whatever the input: each budget takes a fixed
// room (a 16-byte digest as the key and 56 bytes of state: about 100 bytes
// with the map's overhead, measured in TestMemoryLimiterBytesPerKey), so at
// most about 10 MB at the default MaxKeys. A budget outlives its last
// failure by at most Burst × Interval (5 minutes for a username at the
// defaults). With the Authenticator's defaults, one client address can make
// the limiter remember at most 20 + 3600/6 = 620 usernames an hour (one per
// failed login its own budget allows), and none once its budget is spent.
type MemoryLimiter struct {
	mu        sync.Mutex
	now       func() time.Time
	epoch     time.Time
	maxKeys   int
	m         map[[16]byte]budget
	lastSweep time.Duration
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

// NewMemoryLimiter returns a MemoryLimiter.
func NewMemoryLimiter(c LimiterConfig) *MemoryLimiter {
	if c.MaxKeys <= 0 {
		c.MaxKeys = 100_000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &MemoryLimiter{now: c.Now, epoch: c.Now(), maxKeys: c.MaxKeys, m: make(map[[16]byte]budget)}
}

// sweepEvery is how often refilled budgets are forgotten.
const sweepEvery = time.Second

// evictionSample is how many budgets a full limiter looks at to choose one
// to evict.
const evictionSample = 16

var errBadLimitKey = errors.New("auth: a LimitKey needs a positive Burst and Interval")

// Reserve implements Limiter.
func (l *MemoryLimiter) Reserve(ctx context.Context, keys ...LimitKey) (Reservation, error) {
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

func (l *MemoryLimiter) clock() time.Duration { return l.now().Sub(l.epoch) }

// sweep forgets refilled budgets, at most once per sweepEvery unless force.
func (l *MemoryLimiter) sweep(now time.Duration, force bool) {
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
}

// makeRoom evicts one budget from a full limiter: after a sweep, if that
// freed nothing, the fullest budget with nothing in flight among a random
// sample (map iteration starts at a random entry). If the sample holds only
// budgets in flight, nothing is evicted and the limiter goes over MaxKeys
// by the attempts in flight, which are bounded by the requests being
// served.
func (l *MemoryLimiter) makeRoom(now time.Duration) {
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
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

type memoryReservation struct {
	l       *MemoryLimiter
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
