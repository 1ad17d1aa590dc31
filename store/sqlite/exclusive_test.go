package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/storetest"
)

func newExclusiveStore(t testing.TB, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "auth.db")
	}
	s, err := Open(context.Background(), path, Config{ExclusiveLock: true})
	if err != nil {
		t.Fatalf("Open with ExclusiveLock: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// The cached store passes the same conformance suite: every read after a
// write sees it.
func TestExclusiveConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) auth.Store { return newExclusiveStore(t, "") })
}

// TestExclusiveLock checks what the cache's exactness rests on: while the
// Store is open, no other connection can read or write the file, and a
// second Store cannot open it. After Close the file is free again, with
// every write in it.
func TestExclusiveLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	s, err := Open(ctx, path, Config{ExclusiveLock: true})
	if err != nil {
		t.Fatal(err)
	}
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, u.ID); err != nil { // cached now
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, q := range []string{
		`SELECT count(*) FROM users`,
		`UPDATE users SET disabled = 1`,
	} {
		_, err := other.ExecContext(ctx, q)
		if c := sqliteCode(err); c&0xff != 5 { // SQLITE_BUSY and its extended codes
			t.Errorf("%s beside an exclusive Store = %v, want SQLITE_BUSY", q, err)
		}
	}
	// A second Store waits out the busy timeout (5 s: SQLite's busy wait
	// does not see the context) and fails.
	if s2, err := Open(ctx, path, Config{}); err == nil {
		s2.Close()
		t.Error("a second Open of a file held exclusively succeeded")
	} else if !errors.Is(err, auth.ErrStoreUnavailable) || !strings.Contains(err.Error(), "locked by another connection") {
		t.Errorf("a second Open of a file held exclusively: %v; want ErrStoreUnavailable saying the file is locked", err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.Disabled {
		t.Fatalf("UserByID after the refused writes = %+v, %v", got, err)
	}

	if err := s.InvalidateTokens(ctx, u.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var v int64
	if err := other.QueryRowContext(ctx, `SELECT token_version FROM users WHERE id = ?`, u.ID).Scan(&v); err != nil || v != 1 {
		t.Errorf("token_version read after Close = %d, %v; want 1", v, err)
	}
	// A connection that merely has the file open (in WAL mode it keeps a
	// shared lock) keeps an exclusive Open out.
	if s2, err := Open(ctx, path, Config{ExclusiveLock: true}); err == nil {
		s2.Close()
		t.Error("Open with ExclusiveLock succeeded while another connection had the file open")
	}
	other.Close()

	// Reopened, the file is already up to date and the migration
	// transaction writes nothing: the lock is taken all the same.
	newExclusiveStore(t, path)
	third, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := third.ExecContext(ctx, `SELECT count(*) FROM users`); sqliteCode(err)&0xff != 5 {
		t.Errorf("a read beside a reopened exclusive Store = %v, want SQLITE_BUSY", err)
	}
}

// TestExclusiveCacheExact reads a user (so that it is cached), changes it
// through each writing method and reads it again: the second read must see
// the change, and a failed write must leave the user as it was.
func TestExclusiveCacheExact(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		write func(s *Store, u *auth.User) error
		check func(t *testing.T, got *auth.User, err error)
	}{
		{"ChangeUser disables", func(s *Store, u *auth.User) error {
			d := true
			_, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: &d, Roles: &[]string{"admin"}, Now: t0})
			return err
		}, func(t *testing.T, got *auth.User, err error) {
			if err != nil || !got.Disabled || len(got.Roles) != 1 || got.Roles[0] != "admin" {
				t.Errorf("after ChangeUser: %+v, %v", got, err)
			}
		}},
		{"ChangeUser refused", func(s *Store, u *auth.User) error {
			d := true
			_, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Roles: &[]string{"admin"}, Now: t0})
			if err != nil {
				return err
			}
			_, err = s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: &d, KeepRole: "admin", Now: t0})
			if !errors.Is(err, auth.ErrLastAdmin) {
				return fmt.Errorf("disabling the last admin: %v", err)
			}
			return nil
		}, func(t *testing.T, got *auth.User, err error) {
			if err != nil || got.Disabled || !got.HasRole("admin") {
				t.Errorf("after a refused ChangeUser: %+v, %v", got, err)
			}
		}},
		{"UpdatePasswordHash with logout", func(s *Store, u *auth.User) error {
			return s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$argon2id$new", true, t0)
		}, func(t *testing.T, got *auth.User, err error) {
			if err != nil || got.PasswordHash != "$argon2id$new" || got.TokenVersion != 1 {
				t.Errorf("after UpdatePasswordHash: %+v, %v", got, err)
			}
		}},
		{"UpdatePasswordHash conflict", func(s *Store, u *auth.User) error {
			if err := s.UpdatePasswordHash(ctx, u.ID, "stale", "$argon2id$new", true, t0); !errors.Is(err, auth.ErrConflict) {
				return fmt.Errorf("got %v, want ErrConflict", err)
			}
			return nil
		}, func(t *testing.T, got *auth.User, err error) {
			if err != nil || got.PasswordHash == "$argon2id$new" || got.TokenVersion != 0 {
				t.Errorf("after a refused UpdatePasswordHash: %+v, %v", got, err)
			}
		}},
		{"InvalidateTokens", func(s *Store, u *auth.User) error {
			return s.InvalidateTokens(ctx, u.ID, t0)
		}, func(t *testing.T, got *auth.User, err error) {
			if err != nil || got.TokenVersion != 1 {
				t.Errorf("after InvalidateTokens: %+v, %v", got, err)
			}
		}},
		{"DeleteUser", func(s *Store, u *auth.User) error {
			return s.DeleteUser(ctx, u.ID)
		}, func(t *testing.T, got *auth.User, err error) {
			if !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("after DeleteUser: %+v, %v; want ErrNotFound", got, err)
			}
		}},
		{"canceled InvalidateTokens", func(s *Store, u *auth.User) error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			if err := s.InvalidateTokens(c, u.ID, t0); !errors.Is(err, context.Canceled) {
				return fmt.Errorf("got %v, want context.Canceled", err)
			}
			return nil
		}, func(t *testing.T, got *auth.User, err error) {
			if err != nil || got.TokenVersion != 0 {
				t.Errorf("after a canceled InvalidateTokens: %+v, %v", got, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newExclusiveStore(t, "")
			u := user("alice")
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second read is a hit
				got, err := s.UserByID(ctx, u.ID)
				if err != nil || got.TokenVersion != 0 || got.Disabled {
					t.Fatalf("UserByID before the write: %+v, %v", got, err)
				}
			}
			if len(s.users.m) != 1 {
				t.Fatalf("%d users cached after two reads, want 1", len(s.users.m))
			}
			if err := tc.write(s, u); err != nil {
				t.Fatal(err)
			}
			got, err := s.UserByID(ctx, u.ID)
			tc.check(t, got, err)
		})
	}
}

// TestExclusiveCacheCopies checks that callers get copies: changing a
// returned user does not change what the next caller reads.
func TestExclusiveCacheCopies(t *testing.T) {
	ctx := context.Background()
	s := newExclusiveStore(t, "")
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a miss, then a hit
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.Disabled, got.TokenVersion, got.Roles[0] = true, 99, "admin"
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.Disabled || got.TokenVersion != 0 || got.Roles[0] != "user" {
		t.Errorf("UserByID after callers changed their copies: %+v, %v", got, err)
	}
}

// TestExclusiveReadOverlappingWrite makes a lookup read the row, then lets
// a write end before the lookup offers the row to the cache: the old row
// must not be cached.
func TestExclusiveReadOverlappingWrite(t *testing.T) {
	ctx := context.Background()
	s := newExclusiveStore(t, "")
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s.afterUserRead = func() {
		s.afterUserRead = nil
		if err := s.InvalidateTokens(ctx, u.ID, t0); err != nil {
			t.Error(err)
		}
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.TokenVersion != 0 {
		t.Fatalf("the overlapping read: %+v, %v (it read before the write)", got, err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.TokenVersion != 1 {
		t.Errorf("UserByID after the write returned: %+v, %v; want token version 1", got, err)
	}
}

// TestExclusiveCacheBound fills the cache past its bound.
func TestExclusiveCacheBound(t *testing.T) {
	ctx := context.Background()
	s := newExclusiveStore(t, "")
	s.users.max = 3
	var ids []string
	for i := range 8 {
		u := user(fmt.Sprint("u", i))
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	for range 3 {
		for i, id := range ids {
			got, err := s.UserByID(ctx, id)
			if err != nil || got.Username != fmt.Sprint("u", i) {
				t.Fatalf("UserByID(%d) = %+v, %v", i, got, err)
			}
			if n := len(s.users.m); n > 3 {
				t.Fatalf("%d users cached, bound 3", n)
			}
		}
	}
}

// TestExclusiveConcurrent runs writers and readers of one user at once:
// a read that begins after a write returned must see it (its token version
// is at least the number of logouts that had returned).
func TestExclusiveConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newExclusiveStore(t, "")
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	const writes = 60
	var done atomic.Int64 // logouts that have returned
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				min := done.Load()
				got, err := s.UserByID(ctx, u.ID)
				if err != nil {
					t.Error(err)
					return
				}
				if got.TokenVersion < min {
					t.Errorf("read token version %d after %d logouts had returned", got.TokenVersion, min)
					return
				}
			}
		})
	}
	for range writes {
		if err := s.InvalidateTokens(ctx, u.ID, t0); err != nil {
			t.Fatal(err)
		}
		done.Add(1)
	}
	close(stop)
	wg.Wait()
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.TokenVersion != writes {
		t.Errorf("final read: %+v, %v; want token version %d", got, err, writes)
	}
}

// TestUserCacheGeneration is the rule of put on its own: an offer made with
// a generation older than the last invalidate, of any user, is dropped; and
// nothing is cached while the cache is off.
func TestUserCacheGeneration(t *testing.T) {
	c := newUserCache(10)
	a := &auth.User{ID: "a", Roles: []string{"r"}}
	_, gen := c.get("a")
	c.put(gen, a, "")
	if got, _ := c.get("a"); got != nil {
		t.Fatal("a new cache (off until a connection locks the file) cached a user")
	}
	c.reset(false)
	got, gen := c.get("a")
	if got != nil {
		t.Fatal("hit in an empty cache")
	}
	c.invalidate("b", false)
	c.put(gen, a, "")
	if got, _ := c.get("a"); got != nil {
		t.Error("an offer older than an invalidate was cached")
	}
	_, gen = c.get("a")
	c.invalidateSession("s")
	c.put(gen, a, "s")
	if got, _ := c.getLive("a", "s"); got != nil {
		t.Error("an offer older than a session's invalidation was cached")
	}
	_, gen = c.get("a")
	c.put(gen, a, "")
	got, _ = c.get("a")
	if got == nil || got == a || &got.Roles[0] == &a.Roles[0] {
		t.Fatalf("get = %p (put %p): want a deep copy", got, a)
	}
	_, gen = c.get("a")
	c.reset(true)
	if got, _ := c.get("a"); got != nil {
		t.Error("hit after suspend")
	}
	c.put(gen, a, "")
	_, gen = c.get("a")
	c.put(gen, a, "")
	if got, _ := c.get("a"); got != nil {
		t.Error("a suspended cache cached a user")
	}
	c.reset(false)
	c.put(gen, a, "")
	if got, _ := c.get("a"); got != nil {
		t.Error("an offer made while suspended was cached after resume")
	}
}

// TestExclusiveReconnect makes database/sql replace the Store's connection,
// and writes the file from another connection in between, while it is
// unlocked: the new connection must take the lock again at once, and the
// cache must not answer with what it held before.
func TestExclusiveReconnect(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	s := newExclusiveStore(t, path)
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.Disabled {
		t.Fatalf("UserByID: %+v, %v", got, err)
	}

	s.w.SetMaxIdleConns(0) // closes the idle connection: the file is unlocked
	s.w.SetMaxIdleConns(1)
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(ctx, `UPDATE users SET disabled = 1`); err != nil {
		t.Fatalf("write while the Store had no connection: %v", err)
	}
	other.Close()

	if got, err := s.UserByID(ctx, u.ID); err != nil || !got.Disabled {
		t.Fatalf("UserByID after the Store reconnected: %+v, %v; want the user disabled", got, err)
	}
	// The new connection holds the file again.
	third, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := third.ExecContext(ctx, `SELECT count(*) FROM users`); sqliteCode(err)&0xff != 5 {
		t.Errorf("a read beside the reconnected Store = %v, want SQLITE_BUSY", err)
	}
}
