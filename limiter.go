package auth

import (
	"sync"
	"time"
)

// Limiter throttles password guessing. Login calls Attempt before it checks
// a password, then exactly one of Success (the password was right) or
// Refund (the attempt failed for a reason that is not a guess, such as an
// unavailable store). An attempt that is neither is a failed guess.
//
// Attempt counts the attempt before the password is checked, so that
// concurrent guesses cannot slip past the threshold together.
// Implementations must be safe for concurrent use.
type Limiter interface {
	// Attempt takes one attempt from the allowances of username (normalised)
	// and of the client address addr (empty when unknown). If either is
	// used up it takes nothing and returns a *RateLimitError.
	Attempt(username, addr string) error
	// Success forgives the username's failures and gives back the attempt.
	Success(username, addr string)
	// Refund gives back the attempt.
	Refund(username, addr string)
}

// LimiterConfig sets the thresholds of the in-memory limiter. Each key (a
// username, or a client address) has a bucket of Burst attempts that refills
// at one attempt per Interval. Zero fields take the defaults.
type LimiterConfig struct {
	// UsernameBurst is how many failed logins in a row one username may
	// have. Default 5.
	UsernameBurst int
	// UsernameInterval is how often a username regains one attempt.
	// Default 1 minute.
	UsernameInterval time.Duration
	// AddressBurst is how many failed logins in a row one client address
	// may have. Default 20.
	AddressBurst int
	// AddressInterval is how often an address regains one attempt.
	// Default 6 seconds.
	AddressInterval time.Duration
	// MaxKeys bounds the memory the limiter uses, in tracked keys of each
	// kind. When it is full of keys that are still throttled, new keys are
	// refused (the limiter fails closed). Default 100,000.
	MaxKeys int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// MemoryLimiter is the default Limiter: token buckets per normalised
// username and per client address, in memory, for a single process.
type MemoryLimiter struct {
	now          func() time.Time
	users, addrs *buckets
}

// NewMemoryLimiter returns a MemoryLimiter with c's thresholds.
func NewMemoryLimiter(c LimiterConfig) *MemoryLimiter {
	if c.UsernameBurst <= 0 {
		c.UsernameBurst = 5
	}
	if c.UsernameInterval <= 0 {
		c.UsernameInterval = time.Minute
	}
	if c.AddressBurst <= 0 {
		c.AddressBurst = 20
	}
	if c.AddressInterval <= 0 {
		c.AddressInterval = 6 * time.Second
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 100_000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &MemoryLimiter{
		now:   c.Now,
		users: newBuckets(c.UsernameBurst, c.UsernameInterval, c.MaxKeys),
		addrs: newBuckets(c.AddressBurst, c.AddressInterval, c.MaxKeys),
	}
}

// Attempt implements Limiter.
func (l *MemoryLimiter) Attempt(username, addr string) error {
	now := l.now()
	wait := l.users.take(username, now)
	if wait > 0 {
		return &RateLimitError{RetryAfter: wait}
	}
	if addr != "" {
		if wait = l.addrs.take(addr, now); wait > 0 {
			l.users.give(username, now, false)
			return &RateLimitError{RetryAfter: wait}
		}
	}
	return nil
}

// Success implements Limiter.
func (l *MemoryLimiter) Success(username, addr string) {
	now := l.now()
	l.users.give(username, now, true)
	if addr != "" {
		l.addrs.give(addr, now, false)
	}
}

// Refund implements Limiter.
func (l *MemoryLimiter) Refund(username, addr string) {
	now := l.now()
	l.users.give(username, now, false)
	if addr != "" {
		l.addrs.give(addr, now, false)
	}
}

type buckets struct {
	mu        sync.Mutex
	capacity  time.Duration // burst × interval
	interval  time.Duration
	maxKeys   int
	m         map[string]*bucket
	lastSweep time.Time
}

// bucket holds credit in time rather than in (floating-point) attempts:
// one attempt costs interval, and credit accrues at one second per second,
// so the arithmetic is exact.
type bucket struct {
	credit time.Duration
	last   time.Time
}

func newBuckets(burst int, interval time.Duration, maxKeys int) *buckets {
	return &buckets{capacity: time.Duration(burst) * interval, interval: interval, maxKeys: maxKeys, m: make(map[string]*bucket)}
}

// refill brings b up to date and reports whether it is full.
func (bs *buckets) refill(b *bucket, now time.Time) bool {
	if d := now.Sub(b.last); d > 0 {
		b.credit += d
		b.last = now
	}
	if b.credit >= bs.capacity {
		b.credit = bs.capacity
		return true
	}
	return false
}

// take spends one attempt for key, or returns how long until one is there
// (always more than zero).
func (bs *buckets) take(key string, now time.Time) time.Duration {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[key]
	if !ok {
		if len(bs.m) >= bs.maxKeys && !bs.sweep(now) {
			return bs.interval
		}
		b = &bucket{credit: bs.capacity, last: now}
		bs.m[key] = b
	}
	bs.refill(b, now)
	if b.credit < bs.interval {
		return bs.interval - b.credit
	}
	b.credit -= bs.interval
	return 0
}

// give returns one attempt to key (or, with reset, fills its bucket).
func (bs *buckets) give(key string, now time.Time, reset bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[key]
	if !ok {
		return
	}
	if reset {
		delete(bs.m, key)
		return
	}
	b.credit += bs.interval
	if bs.refill(b, now) {
		delete(bs.m, key)
	}
}

// sweep drops full buckets (they are the same as absent ones) and reports
// whether there is room. It runs at most once a second, so a flood of new
// keys cannot make every attempt pay for a scan.
func (bs *buckets) sweep(now time.Time) bool {
	if now.Sub(bs.lastSweep) >= time.Second {
		bs.lastSweep = now
		for k, b := range bs.m {
			if bs.refill(b, now) {
				delete(bs.m, k)
			}
		}
	}
	return len(bs.m) < bs.maxKeys
}
