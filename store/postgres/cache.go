package postgres

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/goauthkit/auth"
)

// Defaults of CacheConfig.
const (
	defaultCacheSize  = 10_000
	defaultCacheLease = 3 * time.Second
	minCacheLease     = 100 * time.Millisecond

	// sessionsPerUser bounds the live sessions cached per user; a user
	// with more has some of them read from the database.
	sessionsPerUser = 8
)

// userCache holds users read by UserByID and UserBySession, and the live
// sessions UserBySession found, for one Store. The package documentation
// ("Caching and exact revocation") gives the argument; in short:
//
//   - it answers only while it is trusted: until a time set by the
//     listener (instance) each time the database confirmed its lease, and
//     never while the listener is down or resynchronising;
//   - every change to a user or a session reaches invalidate, through a
//     notification sent by a trigger in the changing transaction;
//   - a lookup that misses reads the database and offers what it read with
//     put, together with the generation it saw before reading. Every
//     invalidation, and every change of trust, increments the generation,
//     so a read that overlapped one is never cached: without that, a read
//     of the old row just before a write committed could be stored after
//     the write's invalidation, and stay.
//
// Concurrent misses of one key at one generation share one read
// (singleflight), so a cold or just-cleared cache does not send the
// database one query per waiting request; a miss at a newer generation
// never joins an older read.
type userCache struct {
	mu    sync.RWMutex
	gen   uint64 // incremented by every invalidation, clear and change of trust
	until time.Time
	users map[string]*cachedUser
	max   int

	flights singleflight.Group
}

// cachedUser is a user, private to the cache (callers get clones), and up
// to sessionsPerUser of the user's sessions known to be live.
type cachedUser struct {
	u        *auth.User
	sessions []string
}

func newUserCache(size int) *userCache {
	return &userCache{users: make(map[string]*cachedUser), max: size}
}

// trusted reports whether the cache may answer at now. The trust window is
// checked on both clocks: the monotonic one, and the wall clock, which
// goes on while a machine (or a virtual machine) is suspended, when the
// monotonic one stops. A wall clock set back ends the trust too.
func (c *userCache) trusted(now time.Time) bool {
	return trustLeft(c.until.Sub(now), c.until.Round(0).Sub(now.Round(0)))
}

// trustLeft decides from what is left of the trust window by the
// monotonic clock and by the wall clock: something by both, and not more
// by the wall clock than a tenth of a second beyond the monotonic one (a
// wall clock set back; small corrections pass).
func trustLeft(mono, wall time.Duration) bool {
	return mono > 0 && wall > 0 && wall <= mono+time.Second/10
}

// get returns a copy of the cached user with this id if sid is "" or one
// of the user's cached live sessions; otherwise nil and the generation to
// hand to put.
func (c *userCache) get(id, sid string) (*auth.User, uint64) {
	now := time.Now()
	c.mu.RLock()
	gen := c.gen
	if !c.trusted(now) {
		c.mu.RUnlock()
		return nil, gen
	}
	e := c.users[id]
	var u *auth.User
	if e != nil && (sid == "" || e.has(sid)) {
		u = e.u.Clone()
	}
	c.mu.RUnlock()
	return u, gen
}

func (e *cachedUser) has(sid string) bool {
	for _, s := range e.sessions {
		if s == sid {
			return true
		}
	}
	return false
}

// put caches a copy of u, read from the database after get returned gen,
// and, if sid is not "", sid as one of u's live sessions, unless the
// generation moved since or the cache is not trusted. A full cache drops
// an arbitrary user to make room; a user with sessionsPerUser sessions
// cached drops its oldest.
func (c *userCache) put(gen uint64, u *auth.User, sid string) {
	u = u.Clone()
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || !c.trusted(now) {
		return
	}
	e := c.users[u.ID]
	if e == nil {
		if len(c.users) >= c.max {
			for k := range c.users { // map iteration starts at a random entry
				delete(c.users, k)
				break
			}
		}
		e = &cachedUser{}
		c.users[u.ID] = e
	}
	e.u = u
	if sid == "" || e.has(sid) {
		return
	}
	if len(e.sessions) >= sessionsPerUser {
		e.sessions = append(e.sessions[:0], e.sessions[1:]...)
	}
	e.sessions = append(e.sessions, sid)
}

// invalidate forgets the user with this id and its sessions.
func (c *userCache) invalidate(id string) {
	c.mu.Lock()
	c.gen++
	delete(c.users, id)
	c.mu.Unlock()
}

// clear forgets everything.
func (c *userCache) clear() {
	c.mu.Lock()
	c.gen++
	clear(c.users)
	c.mu.Unlock()
}

// trust lets the cache answer until until. If it had stopped answering
// (its trust ran out, or it was never or no longer trusted), it forgets
// everything first: what it held may have missed changes meanwhile.
func (c *userCache) trust(until time.Time) {
	now := time.Now()
	c.mu.Lock()
	if !c.trusted(now) {
		c.gen++
		clear(c.users)
	}
	c.until = until
	c.mu.Unlock()
}

// distrust stops the cache answering, and forgets everything.
func (c *userCache) distrust() {
	c.mu.Lock()
	c.gen++
	c.until = time.Time{}
	clear(c.users)
	c.mu.Unlock()
}

// len returns how many users the cache holds.
func (c *userCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.users)
}

// load returns the user with this id (and, with sid, only if sid is one of
// its live sessions) from the cache, or reads it with read and caches
// what it read. Concurrent loads of one key at one generation share one
// read; a caller whose own context is alive never takes the context error
// of another caller's read.
//
// The caller tries get first: a hit then costs no closure.
func (c *userCache) load(ctx context.Context, id, sid string, read func(context.Context) (*auth.User, error)) (*auth.User, error) {
	u, gen := c.get(id, sid)
	if u != nil {
		return u, nil
	}
	key := strconv.FormatUint(gen, 10) + "\x00" + id + "\x00" + sid
	ch := c.flights.DoChan(key, func() (any, error) {
		u, err := read(ctx)
		if err != nil {
			return nil, err
		}
		c.put(gen, u, sid)
		return u, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			if ctx.Err() == nil && (errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) {
				return read(ctx) // the read of a caller that gave up
			}
			return nil, r.Err
		}
		return r.Val.(*auth.User).Clone(), nil
	case <-ctx.Done():
		return nil, unavailable(ctx, ctx.Err())
	}
}
