package sqlite

import (
	"sync"

	"github.com/goauthkit/auth"
)

// userCacheSize bounds the users a Store opened WithExclusiveLock keeps in
// memory (a few hundred bytes each).
const userCacheSize = 10_000

// userCache holds users read by UserByID, for a Store that is the only
// writer of its file. It is exact because every write of a user goes
// through the Store, which calls invalidate after the write has ended.
//
// A lookup that misses reads the file and then offers what it read with
// put, together with the generation it saw before reading. Every
// invalidate increments the generation, so a read that overlapped a write
// is never cached: without that, a lookup that read the old row just
// before a write committed could store it after the write's invalidate,
// and the cache would keep the old user until the next write.
//
// The cache is off (every get misses, every put is dropped) whenever the
// Store has no connection holding the file's lock: from its creation until
// the first connection has locked the file, and from the moment a
// connection closes until the next one has locked it (lockingConnector).
type userCache struct {
	mu  sync.RWMutex
	gen uint64 // incremented by every invalidate, suspend and resume
	off bool
	m   map[string]*auth.User
	max int
}

func newUserCache(max int) *userCache {
	return &userCache{m: make(map[string]*auth.User), max: max, off: true}
}

// get returns a copy of the cached user with this id, or, if there is none,
// nil and the generation to hand to put.
func (c *userCache) get(id string) (*auth.User, uint64) {
	c.mu.RLock()
	u, gen := c.m[id], c.gen // m is empty while off
	c.mu.RUnlock()
	if u != nil {
		return u.Clone(), gen
	}
	return nil, gen
}

// put caches a copy of u, read from the file after get returned gen, unless
// a write has ended since. When the cache is full, an arbitrary entry makes
// room.
func (c *userCache) put(gen uint64, u *auth.User) {
	u = u.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.off {
		return
	}
	if _, ok := c.m[u.ID]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[u.ID] = u
}

// invalidate forgets the user with this id. Writes call it after they end.
func (c *userCache) invalidate(id string) {
	c.mu.Lock()
	c.gen++
	delete(c.m, id)
	c.mu.Unlock()
}

// reset forgets every user and turns the cache off (the file is about to
// be, or is, unlocked) or on (a connection has locked the file).
func (c *userCache) reset(off bool) {
	c.mu.Lock()
	c.gen++
	c.off = off
	clear(c.m)
	c.mu.Unlock()
}
