package sqlite

import (
	"sync"

	"github.com/goauthkit/auth"
)

// userCacheSize bounds the users, and separately the live sessions, that a
// Store opened Config.ExclusiveLock keeps in memory (a few hundred bytes per
// user, under a hundred per session).
const userCacheSize = 10_000

// userCache holds users read by UserByID and UserBySession, and the live
// sessions UserBySession found, for a Store that is the only writer of its
// file. It is exact because every write of a user or a session goes through
// the Store, which calls invalidate or invalidateSession after the write
// has ended.
//
// A lookup that misses reads the file and then offers what it read with
// put, together with the generation it saw before reading. Every
// invalidation increments the generation, so a read that overlapped a
// write is never cached: without that, a lookup that read the old row just
// before a write committed could store it after the write's invalidation,
// and the cache would keep the old value until the next write.
//
// Only live sessions are cached (by id, with their user's id): a session
// leaves the cache when it is revoked (RevokeSession, reuse detected in
// RotateSession, which forgets its session whatever the outcome) and when
// every session of its user is (InvalidateTokens, UpdatePasswordHash with
// logout, DeleteUser).
//
// The cache is off (every get misses, every put is dropped) whenever the
// Store has no connection holding the file's lock: from its creation until
// the first connection has locked the file, and from the moment a
// connection closes until the next one has locked it (lockingConnector).
type userCache struct {
	mu       sync.RWMutex
	gen      uint64 // incremented by every invalidation and reset
	off      bool
	m        map[string]*auth.User
	sessions map[string]string // live session id → user id
	max      int
}

func newUserCache(max int) *userCache {
	return &userCache{m: make(map[string]*auth.User), sessions: make(map[string]string), max: max, off: true}
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

// getLive returns a copy of the cached user with this id if the session
// sid is cached as a live session of that user; otherwise nil and the
// generation to hand to put.
func (c *userCache) getLive(id, sid string) (*auth.User, uint64) {
	c.mu.RLock()
	u, owner, gen := c.m[id], c.sessions[sid], c.gen
	c.mu.RUnlock()
	if u != nil && owner == id {
		return u.Clone(), gen
	}
	return nil, gen
}

// put caches a copy of u, read from the file after get returned gen, and,
// if sid is not empty, the session sid as a live session of u, unless a
// write has ended since. When a map is full, an arbitrary entry makes
// room.
func (c *userCache) put(gen uint64, u *auth.User, sid string) {
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
	if sid == "" {
		return
	}
	if _, ok := c.sessions[sid]; !ok && len(c.sessions) >= c.max {
		for k := range c.sessions {
			delete(c.sessions, k)
			break
		}
	}
	c.sessions[sid] = u.ID
}

// invalidate forgets the user with this id and, with sessions, every
// session of the user. Writes call it after they end.
func (c *userCache) invalidate(id string, sessions bool) {
	c.mu.Lock()
	c.gen++
	delete(c.m, id)
	if sessions {
		for sid, owner := range c.sessions {
			if owner == id {
				delete(c.sessions, sid)
			}
		}
	}
	c.mu.Unlock()
}

// invalidateSession forgets the session sid. Writes of a session call it
// after they end.
func (c *userCache) invalidateSession(sid string) {
	c.mu.Lock()
	c.gen++
	delete(c.sessions, sid)
	c.mu.Unlock()
}

// reset forgets everything and turns the cache off (the file is about to
// be, or is, unlocked) or on (a connection has locked the file).
func (c *userCache) reset(off bool) {
	c.mu.Lock()
	c.gen++
	c.off = off
	clear(c.m)
	clear(c.sessions)
	c.mu.Unlock()
}
