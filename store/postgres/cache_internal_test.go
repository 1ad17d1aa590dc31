package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goauthkit/auth"
)

// The unit tests of userCache (cache.go) and parseNote (listen.go), which
// need no database.

// trustedCache returns a cache of size users trusted for an hour.
func trustedCache(size int) *userCache {
	c := newUserCache(size)
	c.trust(time.Now().Add(time.Hour))
	return c
}

func testUser(id string) *auth.User {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &auth.User{ID: id, Username: "name of " + id, PasswordHash: "h", Roles: []string{"admin", "staff"}, CreatedAt: at, UpdatedAt: at}
}

// cached reports whether c answers the user id (with the session sid, if
// not "") from memory.
func cached(c *userCache, id, sid string) bool {
	u, _ := c.get(id, sid)
	return u != nil
}

// TestUserCacheTrusted: the trust window, on the real clocks.
func TestUserCacheTrusted(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name  string
		until time.Time
		want  bool
	}{
		{"inside the window", now.Add(time.Minute), true},
		{"a moment before its end", now.Add(time.Millisecond), true},
		{"at its end", now, false},
		{"past its end", now.Add(-time.Hour), false},
		{"never trusted (zero until)", time.Time{}, false},
	} {
		c := newUserCache(10)
		c.until = tc.until
		if got := c.trusted(now); got != tc.want {
			t.Errorf("%s: trusted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestTrustLeft: the trust window holds only while both clocks agree that
// it does. A wall clock that ran on while the monotonic one stood still
// (a suspended machine) ends it, as does a wall clock set back; a small
// disagreement (NTP's corrections) does not.
func TestTrustLeft(t *testing.T) {
	const m = time.Minute
	for _, tc := range []struct {
		name       string
		mono, wall time.Duration
		want       bool
	}{
		{"both clocks inside the window", m, m, true},
		{"both a moment before its end", time.Millisecond, time.Millisecond, true},
		{"both at its end", 0, 0, false},
		{"both past its end", -time.Hour, -time.Hour, false},
		{"wall clock ran on past the end (suspended machine)", m, -m, false},
		{"wall clock ran on to the end exactly", m, 0, false},
		{"wall clock ahead, still inside the window", m, m / 2, true},
		{"wall clock set back an hour", m, m + time.Hour, false},
		{"wall clock set back a second", m, m + time.Second, false},
		{"wall clock set back 50ms (a correction)", m, m + 50*time.Millisecond, true},
		{"monotonic clock past the end, wall clock not", -time.Second, m, false},
	} {
		if got := trustLeft(tc.mono, tc.wall); got != tc.want {
			t.Errorf("%s: trustLeft(%v, %v) = %v, want %v", tc.name, tc.mono, tc.wall, got, tc.want)
		}
	}
}

// TestUserCacheUntrusted: an untrusted cache answers nothing, even what
// it still holds, and takes nothing.
func TestUserCacheUntrusted(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, c *userCache)
	}{
		{"never trusted", func(*testing.T, *userCache) {}},
		{"trusted until a past time", func(_ *testing.T, c *userCache) {
			c.trust(time.Now().Add(-time.Second))
		}},
		{"trust ran out", func(_ *testing.T, c *userCache) {
			c.trust(time.Now().Add(time.Hour))
			putNow(c, testUser("u1"), "s1")
			c.trust(time.Now().Add(-time.Millisecond)) // it still holds u1
		}},
		{"distrusted", func(_ *testing.T, c *userCache) {
			c.trust(time.Now().Add(time.Hour))
			putNow(c, testUser("u1"), "s1")
			c.distrust()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newUserCache(10)
			tc.setup(t, c)
			for _, sid := range []string{"", "s1"} {
				if u, _ := c.get("u1", sid); u != nil {
					t.Errorf("get(u1, %q) hit", sid)
				}
			}
			held := c.len()
			_, gen := c.get("u2", "s2")
			c.put(gen, testUser("u2"), "s2")
			if c.len() != held {
				t.Errorf("put while untrusted: the cache holds %d users, had %d", c.len(), held)
			}
		})
	}
}

// putNow puts u as a read that began now would.
func putNow(c *userCache, u *auth.User, sid string) {
	_, gen := c.get(u.ID, sid)
	c.put(gen, u, sid)
}

// TestUserCacheTrustAgainForgets: a cache trusted again after its trust
// ran out forgets what it held (it may have missed changes meanwhile);
// one whose trust is only extended keeps it.
func TestUserCacheTrustAgainForgets(t *testing.T) {
	c := trustedCache(10)
	putNow(c, testUser("u1"), "s1")
	c.trust(time.Now().Add(2 * time.Hour))
	if !cached(c, "u1", "s1") {
		t.Fatal("an extension of the trust forgot the user")
	}
	c.trust(time.Now().Add(-time.Millisecond))
	c.trust(time.Now().Add(time.Hour))
	if cached(c, "u1", "") || c.len() != 0 {
		t.Fatalf("trusted again after the trust ran out, the cache still holds %d users", c.len())
	}
}

// TestUserCacheStaleGeneration: what a read offers is cached only if no
// invalidation, clear or change of trust happened since the get that
// began it: a read overlapping a write is never cached.
func TestUserCacheStaleGeneration(t *testing.T) {
	cases := []struct {
		name    string
		trusted bool // at the get
		between func(c *userCache)
		kept    bool
	}{
		{"nothing between", true, func(*userCache) {}, true},
		{"another user put between", true, func(c *userCache) { putNow(c, testUser("u9"), "") }, true},
		{"trust extended between", true, func(c *userCache) { c.trust(time.Now().Add(2 * time.Hour)) }, true},
		{"the user invalidated between", true, func(c *userCache) { c.invalidate("u1") }, false},
		{"another user invalidated between", true, func(c *userCache) { c.invalidate("u9") }, false},
		{"cleared between", true, func(c *userCache) { c.clear() }, false},
		{"distrusted and trusted again between", true, func(c *userCache) {
			c.distrust()
			c.trust(time.Now().Add(time.Hour))
		}, false},
		{"trust ran out and was given again between", true, func(c *userCache) {
			c.trust(time.Now().Add(-time.Millisecond))
			c.trust(time.Now().Add(time.Hour))
		}, false},
		{"trusted between, after a get while never trusted", false, func(c *userCache) { c.trust(time.Now().Add(time.Hour)) }, false},
	}
	for _, tc := range cases {
		for _, sid := range []string{"", "s1"} {
			c := newUserCache(10)
			if tc.trusted {
				c.trust(time.Now().Add(time.Hour))
			}
			_, gen := c.get("u1", sid)
			tc.between(c)
			c.put(gen, testUser("u1"), sid)
			if got := cached(c, "u1", sid); got != tc.kept {
				t.Errorf("%s, session %q: cached = %v, want %v", tc.name, sid, got, tc.kept)
			}
		}
	}
}

// TestUserCacheSessions: a lookup with a session hits only for a session
// put for that user; a user keeps its last sessionsPerUser sessions;
// invalidate forgets the user and every session of it.
func TestUserCacheSessions(t *testing.T) {
	c := trustedCache(10)
	putNow(c, testUser("u1"), "")
	if !cached(c, "u1", "") {
		t.Fatal("the user put without a session is not cached")
	}
	if cached(c, "u1", "s0") {
		t.Fatal("a session never put hits")
	}
	putNow(c, testUser("u2"), "other")
	if cached(c, "u1", "other") {
		t.Fatal("another user's session hits")
	}

	sid := func(i int) string { return "s" + strconv.Itoa(i) }
	for i := 1; i <= sessionsPerUser+1; i++ {
		putNow(c, testUser("u1"), sid(i))
	}
	// s1 was the oldest: dropped for the last.
	if cached(c, "u1", sid(1)) {
		t.Errorf("u1 holds %d sessions, more than %d", sessionsPerUser+1, sessionsPerUser)
	}
	for i := 2; i <= sessionsPerUser+1; i++ {
		if !cached(c, "u1", sid(i)) {
			t.Errorf("session %s of u1 is not cached", sid(i))
		}
	}
	// A session put again is not held twice: the next one drops s2 only.
	putNow(c, testUser("u1"), sid(sessionsPerUser+1))
	putNow(c, testUser("u1"), sid(sessionsPerUser+2))
	if cached(c, "u1", sid(2)) || !cached(c, "u1", sid(3)) {
		t.Errorf("after a repeated put and a new one: s2 cached %v (want false), s3 cached %v (want true)",
			cached(c, "u1", sid(2)), cached(c, "u1", sid(3)))
	}
	// A put without a session keeps the user's sessions.
	putNow(c, testUser("u1"), "")
	if !cached(c, "u1", sid(3)) {
		t.Error("a put without a session forgot the user's sessions")
	}

	c.invalidate("u1")
	if cached(c, "u1", "") {
		t.Error("the user invalidated is still cached")
	}
	// Put again without a session: none of the sessions forgotten is back.
	putNow(c, testUser("u1"), "")
	for i := 1; i <= sessionsPerUser+2; i++ {
		if cached(c, "u1", sid(i)) {
			t.Errorf("session %s of u1 outlived the user's invalidation", sid(i))
		}
	}
	if !cached(c, "u2", "other") {
		t.Error("invalidating u1 forgot u2")
	}
}

// TestUserCacheBound: a cache never holds more than its size.
func TestUserCacheBound(t *testing.T) {
	for _, size := range []int{1, 2, 7} {
		c := trustedCache(size)
		for i := range 200 {
			id := "u" + strconv.Itoa(i)
			putNow(c, testUser(id), "s")
			if n := c.len(); n > size {
				t.Fatalf("size %d: the cache holds %d users after %d puts", size, n, i+1)
			}
			if !cached(c, id, "s") {
				t.Fatalf("size %d: the user just put is not cached", size)
			}
		}
		if n := c.len(); n != size {
			t.Errorf("size %d: a full cache holds %d users", size, n)
		}
	}
}

// TestUserCacheCopies: the cache keeps users of its own. Neither changing
// the user put nor one got changes what it answers.
func TestUserCacheCopies(t *testing.T) {
	c := trustedCache(10)
	u := testUser("u1")
	putNow(c, u, "s1")
	u.Roles[0] = "changed after put"
	u.Username = "changed after put"

	got, _ := c.get("u1", "s1")
	want := testUser("u1")
	if !sameUser(got, want) {
		t.Fatalf("get = %+v, want %+v", got, want)
	}
	got.Roles[0] = "changed by a caller"
	got.Roles = append(got.Roles, "appended")
	got.Disabled = true
	if again, _ := c.get("u1", ""); !sameUser(again, want) {
		t.Fatalf("after a caller changed its copy, get = %+v, want %+v", again, want)
	}
	if again, _ := c.get("u1", ""); again == got {
		t.Fatal("get returned the same pointer twice")
	}
}

func sameUser(a, b *auth.User) bool {
	return a != nil && b != nil && a.ID == b.ID && a.Username == b.Username && a.Disabled == b.Disabled && slices.Equal(a.Roles, b.Roles)
}

// blockingRead is a read function that counts its calls and blocks until
// released, or until its caller's context ends (then failing as the
// store's reads do, with an error wrapping the context's).
type blockingRead struct {
	calls    atomic.Int32
	releases []chan struct{} // the nth call waits for releases[n-1]; calls past them, for the last
	err      error           // what a released read returns, if not nil
}

func newBlockingRead(n int) *blockingRead {
	r := &blockingRead{}
	for range n {
		r.releases = append(r.releases, make(chan struct{}))
	}
	return r
}

func (r *blockingRead) read(id string) func(context.Context) (*auth.User, error) {
	return func(ctx context.Context) (*auth.User, error) {
		k := int(r.calls.Add(1))
		select {
		case <-r.releases[min(k, len(r.releases))-1]:
		case <-ctx.Done():
			return nil, unavailable(ctx, errors.New("the read was cancelled"))
		}
		if r.err != nil {
			return nil, r.err
		}
		u := testUser(id)
		u.Username = fmt.Sprintf("read %d", k)
		return u, nil
	}
}

// TestUserCacheLoadShares: concurrent loads of one key at one generation
// share one read, and each gets a copy of its own; the next load hits.
func TestUserCacheLoadShares(t *testing.T) {
	for _, sid := range []string{"", "s1"} {
		t.Run("session="+sid, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := trustedCache(10)
				r := newBlockingRead(1)
				const n = 8
				got := make([]*auth.User, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { got[i], errs[i] = c.load(context.Background(), "u1", sid, r.read("u1")) })
				}
				synctest.Wait()
				if k := r.calls.Load(); k != 1 {
					t.Errorf("%d concurrent loads made %d reads, want 1", n, k)
				}
				close(r.releases[0])
				wg.Wait()
				for i := range n {
					if errs[i] != nil || got[i] == nil || got[i].Username != "read 1" {
						t.Fatalf("load %d = %+v, %v", i, got[i], errs[i])
					}
					for j := range i {
						if got[i] == got[j] {
							t.Fatalf("loads %d and %d got the same *auth.User", j, i)
						}
					}
				}
				got[0].Roles[0] = "changed by a caller"
				u, err := c.load(context.Background(), "u1", sid, r.read("u1"))
				if err != nil || r.calls.Load() != 1 {
					t.Fatalf("the load after: %v, with %d reads in all (want 1)", err, r.calls.Load())
				}
				if !sameUser(u, got[1]) {
					t.Fatalf("the load after = %+v, want %+v", u, got[1])
				}
			})
		})
	}
}

// TestUserCacheLoadKeys: concurrent loads share a read only for one user
// and one session: a load with another session, or without one, or of
// another user, makes a read of its own, and gets its own answer.
func TestUserCacheLoadKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := trustedCache(10)
		keys := []struct{ id, sid string }{{"u1", ""}, {"u1", "s1"}, {"u1", "s2"}, {"u2", "s1"}, {"u2", ""}}
		release := make(chan struct{})
		var calls atomic.Int32
		got := make([]*auth.User, 2*len(keys))
		errs := make([]error, 2*len(keys))
		var wg sync.WaitGroup
		for i, k := range keys {
			for j := range 2 {
				wg.Go(func() {
					u, err := c.load(context.Background(), k.id, k.sid, func(context.Context) (*auth.User, error) {
						calls.Add(1)
						<-release
						u := testUser(k.id)
						u.Username = k.id + "/" + k.sid
						return u, nil
					})
					if err == nil && u.Username != k.id+"/"+k.sid {
						err = fmt.Errorf("got the answer of %s", u.Username)
					}
					got[2*i+j], errs[2*i+j] = u, err
				})
			}
		}
		synctest.Wait()
		if n := calls.Load(); n != int32(len(keys)) {
			t.Errorf("loads of %d keys, two each, made %d reads; want one a key", len(keys), n)
		}
		close(release)
		wg.Wait()
		for i := range got {
			if k := keys[i/2]; errs[i] != nil || got[i] == nil {
				t.Errorf("load of %s with session %q: %v", k.id, k.sid, errs[i])
			}
		}
	})
}

// TestUserCacheLoadAfterInvalidation: a load that starts after an
// invalidation never joins a read that began before it, and the older
// read, though it ends last, is not cached.
func TestUserCacheLoadAfterInvalidation(t *testing.T) {
	for _, sid := range []string{"", "s1"} {
		t.Run("session="+sid, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := trustedCache(10)
				r := newBlockingRead(2)
				var first, second *auth.User
				var err1, err2 error
				var wg sync.WaitGroup
				wg.Go(func() { first, err1 = c.load(context.Background(), "u1", sid, r.read("u1")) })
				synctest.Wait() // the first load reads
				c.invalidate("u1")
				wg.Go(func() { second, err2 = c.load(context.Background(), "u1", sid, r.read("u1")) })
				synctest.Wait()
				if k := r.calls.Load(); k != 2 {
					t.Errorf("the load after the invalidation made %d reads in all, want 2 (it joined the older read)", k)
				}
				// The newer read ends first, the older one last.
				close(r.releases[1])
				synctest.Wait()
				close(r.releases[0])
				wg.Wait()
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if first.Username != "read 1" || second.Username != "read 2" {
					t.Errorf("the loads got %q and %q, want the reads they began (read 1, read 2)", first.Username, second.Username)
				}
				if u, _ := c.get("u1", sid); u == nil || u.Username != "read 2" {
					t.Errorf("cached: %+v, want the read that began after the invalidation", u)
				}
			})
		})
	}
}

// TestUserCacheLoadLeaderEnds: when the context of the caller whose read
// the others share ends, a caller whose own context is alive still gets
// an answer (it reads again), and one whose context ends gets an error
// wrapping auth.ErrStoreUnavailable and its context's error.
func TestUserCacheLoadLeaderEnds(t *testing.T) {
	// make returns a context, what ends it (a cancellation, or its
	// deadline, after, passed by sleeping: the bubble's clock is fake),
	// and what releases it.
	type ending struct {
		name string
		err  error
		make func(after time.Duration) (ctx context.Context, end, release func())
	}
	endings := []ending{
		{"cancelled", context.Canceled, func(time.Duration) (context.Context, func(), func()) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel, cancel
		}},
		{"deadline", context.DeadlineExceeded, func(after time.Duration) (context.Context, func(), func()) {
			deadline := time.Now().Add(after)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			return ctx, func() { time.Sleep(time.Until(deadline) + time.Millisecond) }, cancel
		}},
	}
	for _, leader := range endings {
		for _, follower := range endings {
			t.Run("leader "+leader.name+", follower "+follower.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := trustedCache(10)
					r := newBlockingRead(2)
					// The follower's context ends first, the leader's later.
					followerCtx, endFollower, release := follower.make(time.Second)
					defer release()
					leaderCtx, endLeader, release := leader.make(2 * time.Second)
					defer release()
					var wg sync.WaitGroup
					var leaderErr, endedErr, aliveErr error
					var alive *auth.User
					wg.Go(func() { _, leaderErr = c.load(leaderCtx, "u1", "s1", r.read("u1")) })
					synctest.Wait()
					wg.Go(func() { alive, aliveErr = c.load(context.Background(), "u1", "s1", r.read("u1")) })
					ended := make(chan struct{})
					go func() {
						defer close(ended)
						_, endedErr = c.load(followerCtx, "u1", "s1", r.read("u1"))
					}()
					synctest.Wait()
					if k := r.calls.Load(); k != 1 {
						t.Errorf("three concurrent loads made %d reads, want 1", k)
					}

					endFollower()
					synctest.Wait()
					select {
					case <-ended:
					default:
						t.Fatal("the load whose context ended has not returned")
					}
					if !errors.Is(endedErr, auth.ErrStoreUnavailable) || !errors.Is(endedErr, follower.err) {
						t.Errorf("the load whose context ended = %v, want ErrStoreUnavailable and %v", endedErr, follower.err)
					}

					endLeader()
					synctest.Wait()
					if !errors.Is(leaderErr, auth.ErrStoreUnavailable) || !errors.Is(leaderErr, leader.err) {
						t.Errorf("the leader = %v, want ErrStoreUnavailable and %v", leaderErr, leader.err)
					}
					if k := r.calls.Load(); k != 2 {
						t.Errorf("after the leader's context ended, %d reads in all, want 2 (the live follower reads again)", k)
					}
					close(r.releases[1])
					wg.Wait()
					close(r.releases[0])
					if aliveErr != nil || alive == nil {
						t.Fatalf("the live follower = %v, %v; want the user", alive, aliveErr)
					}
				})
			})
		}
	}
}

// TestUserCacheLoadSharesErrors: an error of the shared read other than
// the leader's context ending is every caller's, and nothing is cached.
func TestUserCacheLoadSharesErrors(t *testing.T) {
	for _, want := range []error{auth.ErrNotFound, auth.ErrSessionRevoked, unavailable(context.Background(), errors.New("connection refused"))} {
		t.Run(want.Error(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := trustedCache(10)
				r := newBlockingRead(1)
				r.err = want
				errs := make([]error, 4)
				var wg sync.WaitGroup
				for i := range errs {
					wg.Go(func() { _, errs[i] = c.load(context.Background(), "u1", "s1", r.read("u1")) })
				}
				synctest.Wait()
				close(r.releases[0])
				wg.Wait()
				for i, err := range errs {
					if !errors.Is(err, want) {
						t.Errorf("load %d = %v, want %v", i, err, want)
					}
				}
				if k := r.calls.Load(); k != 1 {
					t.Errorf("%d reads, want 1", k)
				}
				if c.len() != 0 {
					t.Errorf("a failed read cached %d users", c.len())
				}
			})
		})
	}
}

// FuzzParseNote: parseNote never panics, and what it parses is what the
// payload says. Without -fuzz it runs the seeds in
// testdata/fuzz/FuzzParseNote.
func FuzzParseNote(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		n := parseNote(p)
		switch n.kind {
		case 0:
			if n.id != "" || n.n != 0 {
				t.Errorf("parseNote(%q) = %+v: kind 0 with a value", p, n)
			}
			if strings.HasPrefix(p, "u:") || strings.HasPrefix(p, "g:") {
				t.Errorf("parseNote(%q) = kind 0: every u: or g: payload names its id verbatim", p)
			}
		case noteUser, noteGone:
			if prefix := string(rune(n.kind)) + ":"; !strings.HasPrefix(p, prefix) || n.id != p[2:] || n.n != 0 {
				t.Errorf("parseNote(%q) = %+v, want kind %c and the id %q", p, n, n.kind, p[min(2, len(p)):])
			}
		case noteBarrier:
			if !strings.HasPrefix(p, "b:") || n.n <= 0 || n.id != "" {
				t.Errorf("parseNote(%q) = %+v: a barrier must be b:<n>, n > 0", p, n)
			}
			if again := parseNote("b:" + strconv.FormatInt(n.n, 10)); again != n {
				t.Errorf("parseNote(%q) = %+v, but its canonical form reparses to %+v", p, n, again)
			}
		case noteAck:
			if !strings.HasPrefix(p, "a:") || n.n < 0 || n.id == "" {
				t.Errorf("parseNote(%q) = %+v: an acknowledgement must be a:<id>:<n>, id not empty, n >= 0", p, n)
			}
			if again := parseNote("a:" + n.id + ":" + strconv.FormatInt(n.n, 10)); again != n {
				t.Errorf("parseNote(%q) = %+v, but its canonical form reparses to %+v", p, n, again)
			}
		default:
			t.Errorf("parseNote(%q) = %+v: an unknown kind", p, n)
		}
	})
}

// TestParseNote: the payloads parseNote reads, and those it refuses.
func TestParseNote(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	cases := []struct {
		p    string
		want note
	}{
		{"u:u1", note{kind: noteUser, id: "u1"}},
		{"u:", note{kind: noteUser}},
		{"u:a:b:1", note{kind: noteUser, id: "a:b:1"}},
		{"u:" + long, note{kind: noteUser, id: long}},
		{"g:0a1b", note{kind: noteGone, id: "0a1b"}},
		{"b:1", note{kind: noteBarrier, n: 1}},
		{"b:9223372036854775807", note{kind: noteBarrier, n: 9223372036854775807}},
		{"a:0a1b:0", note{kind: noteAck, id: "0a1b", n: 0}},
		{"a:0a1b:42", note{kind: noteAck, id: "0a1b", n: 42}},
		{"a:x:y:7", note{kind: noteAck, id: "x:y", n: 7}},
		{"a:" + long + ":3", note{kind: noteAck, id: long, n: 3}},
		{"*", note{}},
		{"", note{}},
		{"zz", note{}},
		{"u", note{}},
		{"uu:1", note{}},
		{"x:1", note{}},
		{"b:", note{}},
		{"b:0", note{}},
		{"b:-1", note{}},
		{"b:x", note{}},
		{"b:1x", note{}},
		{"b:9223372036854775808", note{}},
		{"a:", note{}},
		{"a:id", note{}},
		{"a:id:", note{}},
		{"a::5", note{}},
		{"a:id:-1", note{}},
		{"a:id:x", note{}},
	}
	for _, tc := range cases {
		if got := parseNote(tc.p); got != tc.want {
			t.Errorf("parseNote(%.40q) = %+v, want %+v", tc.p, got, tc.want)
		}
	}
}
