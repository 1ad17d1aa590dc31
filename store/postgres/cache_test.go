package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/store/postgres"
)

const cachePassword = "a long and uncommon test passphrase"

// busyPause spaces the requests of each background client: enough load to
// keep both instances and their caches busy, not so much that the race
// detector's slowdown starves the trials.
const (
	busyPause = 50 * time.Microsecond
	busyBurst = 16
)

// instances are Authenticators over Stores on one schema, each on a pool
// of its own, as the instances of a service are.
type instances struct {
	schema string
	stores []*postgres.Store
	auths  []*auth.Authenticator
	counts []*statementCounter // of each store's pool
}

func newInstances(t *testing.T, n int, c postgres.Config) *instances {
	t.Helper()
	ctx := context.Background()
	c.Schema = freshSchema(t)
	in := &instances{schema: c.Schema}
	key := []byte("0123456789abcdef0123456789abcdef-cache-instances")
	for range n {
		count := new(statementCounter)
		s, err := postgres.New(ctx, countedPool(t, count), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		a, err := auth.New(auth.Config{Store: s, SecretKey: key,
			Passwords: auth.PasswordConfig{Hasher: auth.Bcrypt{Cost: 10}}})
		if err != nil {
			t.Fatal(err)
		}
		in.stores = append(in.stores, s)
		in.auths = append(in.auths, a)
		in.counts = append(in.counts, count)
	}
	return in
}

// ending is one way of ending a login's tokens, done on instance a; it
// returns the password the user has afterwards.
type ending struct {
	name string
	end  func(ctx context.Context, a *auth.Authenticator, u *auth.User, p *auth.TokenPair, sessionID string) error
	// gone: the user is deleted; roles: the user keeps its login, but
	// loses the role "admin".
	gone, roles bool
}

var endings = []ending{
	{name: "logout", end: func(ctx context.Context, a *auth.Authenticator, _ *auth.User, p *auth.TokenPair, _ string) error {
		return a.Logout(ctx, auth.Client{}, p.RefreshToken)
	}},
	{name: "logout everywhere", end: func(ctx context.Context, a *auth.Authenticator, u *auth.User, _ *auth.TokenPair, _ string) error {
		return a.LogoutAll(ctx, auth.Client{}, u.ID)
	}},
	{name: "session revoked", end: func(ctx context.Context, a *auth.Authenticator, u *auth.User, _ *auth.TokenPair, sid string) error {
		return a.RevokeSession(ctx, auth.Client{}, u.ID, sid)
	}},
	{name: "password set", end: func(ctx context.Context, a *auth.Authenticator, u *auth.User, _ *auth.TokenPair, _ string) error {
		return admin.New(a).SetPassword(ctx, u.ID, admin.PasswordSet{Password: cachePassword, Actor: "test"})
	}},
	{name: "disabled", end: func(ctx context.Context, a *auth.Authenticator, u *auth.User, _ *auth.TokenPair, _ string) error {
		yes, no := true, false
		x := admin.New(a)
		if _, err := x.UpdateUser(ctx, u.ID, admin.Update{Disabled: &yes, Actor: "test"}); err != nil {
			return err
		}
		_, err := x.UpdateUser(ctx, u.ID, admin.Update{Disabled: &no, Actor: "test"})
		return err
	}},
	{name: "role taken away", roles: true, end: func(ctx context.Context, a *auth.Authenticator, u *auth.User, _ *auth.TokenPair, _ string) error {
		none := []string{}
		_, err := admin.New(a).UpdateUser(ctx, u.ID, admin.Update{Roles: &none, Actor: "test", Force: true})
		return err
	}},
	{name: "deleted", gone: true, end: func(ctx context.Context, a *auth.Authenticator, u *auth.User, _ *auth.TokenPair, _ string) error {
		return a.DeleteUser(ctx, auth.AccountDeletion{UserID: u.ID, Actor: "test", Force: true})
	}},
}

// TestCacheExactAcrossInstances ends logins on one instance, in every way
// that ends them, and checks that the very next request on the other
// instance, whose cache held the user and the session a moment before, is
// refused; while other clients keep both instances busy with requests
// that must keep succeeding.
func TestCacheExactAcrossInstances(t *testing.T) {
	in := newInstances(t, 2, postgres.Config{})
	if hits := runTrials(t, in, 8, nil); hits != 8*2*len(endings) {
		t.Errorf("the cache answered the second request of %d trials of %d", hits, 8*2*len(endings))
	}
}

// runTrials runs rounds of every ending, in both directions, under load,
// calling between (if not nil) before each trial. It returns in how many
// trials the cache answered the second request before the ending (the
// instance sent no statement).
func runTrials(t *testing.T, in *instances, rounds int, between func(trial int)) (hits int) {
	ctx := context.Background()
	a := in.auths

	// Background load: users whose logins nothing ends.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served atomic.Int64
	for w := range 2 {
		u := register(t, a[0], fmt.Sprintf("busy%d", w), nil)
		p := login(t, a[w%2], u)
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := a[i%2].Authenticate(ctx, p.AccessToken); err != nil {
					t.Errorf("busy client %d: %v", w, err)
					return
				}
				served.Add(1)
				if i%busyBurst == 0 {
					time.Sleep(busyPause)
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait(); t.Logf("%d background requests served", served.Load()) }()

	trial := 0
	for r := range rounds {
		for _, e := range endings {
			for dir := range 2 {
				if between != nil {
					between(trial)
				}
				trial++
				ender, checker := a[dir], a[1-dir]
				roles := []string(nil)
				if e.roles {
					roles = []string{"admin"}
				}
				u := register(t, a[dir], fmt.Sprintf("u%d-%d-%d", r, trial, dir), roles)
				p := login(t, ender, u)
				c := claims(t, checker, p.AccessToken)
				// Twice, so that the second is answered by the cache.
				for i := range 2 {
					before := in.counts[1-dir].n.Load()
					got, _, err := checker.Authenticate(ctx, p.AccessToken)
					if i == 1 && in.counts[1-dir].n.Load() == before {
						hits++
					}
					if err != nil {
						t.Fatalf("%s: Authenticate before: %v", e.name, err)
					}
					if e.roles && !got.HasRole("admin") {
						t.Fatalf("%s: the user lacks the role before", e.name)
					}
				}
				if err := e.end(ctx, ender, u, p, c.SessionID); err != nil {
					t.Fatalf("%s: %v", e.name, err)
				}
				got, _, err := checker.Authenticate(ctx, p.AccessToken)
				switch {
				case e.roles && err != nil:
					t.Fatalf("%s: Authenticate after: %v", e.name, err)
				case e.roles && got.HasRole("admin"):
					t.Fatalf("%s (trial %d): the other instance still sees the role", e.name, trial)
				case !e.roles && !errors.Is(err, auth.ErrTokenRevoked):
					t.Fatalf("%s (trial %d): the other instance answered %v, want ErrTokenRevoked", e.name, trial, err)
				}
			}
		}
	}
	return hits
}

func register(t *testing.T, a *auth.Authenticator, name string, roles []string) *auth.User {
	t.Helper()
	u, err := a.Register(context.Background(), auth.NewUser{Username: name, NoPassword: true})
	if err != nil {
		t.Fatalf("Register %s: %v", name, err)
	}
	if roles != nil {
		if u, err = admin.New(a).UpdateUser(context.Background(), u.ID, admin.Update{Roles: &roles, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// login opens a session for u as a login would, without a password to
// hash.
func login(t *testing.T, a *auth.Authenticator, u *auth.User) *auth.TokenPair {
	t.Helper()
	p, err := a.SignIn(context.Background(), auth.Verified{User: u, Methods: []string{auth.MethodPassword}})
	if err != nil {
		t.Fatalf("SignIn %s: %v", u.Username, err)
	}
	return p
}

func claims(t *testing.T, a *auth.Authenticator, token string) *auth.Claims {
	t.Helper()
	c, err := a.Verifier().Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCacheListenerKilled kills the listening connections of both
// instances (pg_terminate_backend) again and again between trials, and
// while they are down: no ending is lost.
func TestCacheListenerKilled(t *testing.T) {
	in := newInstances(t, 2, postgres.Config{})
	pool := testPool(t)
	hits := runTrials(t, in, 4, func(trial int) {
		if trial%3 != 0 {
			return
		}
		for _, s := range in.stores {
			pid := postgres.ListenerPID(s)
			if pid == 0 {
				continue // down already
			}
			if _, err := pool.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
		}
	})
	// The listeners come back, and with them the caches.
	t.Logf("the cache answered in %d trials of %d", hits, 4*2*len(endings))
	if hits == 0 {
		t.Error("the cache never answered: the listeners did not come back")
	}
}

// TestCacheDeadInstance: an instance that holds a lease and never
// acknowledges (crashed without giving up its lease) holds every write
// that ends tokens until its lease runs out, and no longer; a write whose
// context ends first fails with auth.ErrStoreUnavailable, having
// committed.
func TestCacheDeadInstance(t *testing.T) {
	ctx := context.Background()
	in := newInstances(t, 1, postgres.Config{})
	pool := testPool(t)
	a := in.auths[0]
	u := register(t, a, "alice", nil)
	p := login(t, a, u)

	lease := 1500 * time.Millisecond
	instances := pgx.Identifier{in.schema, "auth_cache_instances"}.Sanitize()
	if _, err := pool.Exec(ctx, "INSERT INTO "+instances+" (id, acked, expires_at) VALUES ('dead', 0, now() + $1 * interval '1 microsecond')",
		lease.Microseconds()); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, lease/5)
	err := a.LogoutAll(short, auth.Client{}, u.ID)
	cancel()
	if !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Fatalf("LogoutAll with a short deadline = %v, want ErrStoreUnavailable", err)
	}
	if _, _, err := a.Authenticate(ctx, p.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("Authenticate after the failed LogoutAll = %v, want ErrTokenRevoked (it committed)", err)
	}
	start := time.Now()
	if err := a.LogoutAll(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatalf("LogoutAll: %v", err)
	}
	var left bool
	if err := pool.QueryRow(ctx, "SELECT expires_at > now() FROM "+instances+" WHERE id = 'dead'").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left {
		t.Fatalf("LogoutAll returned after %v, while the dead instance still held its lease", time.Since(start))
	}
	t.Logf("LogoutAll waited %v for the dead instance's lease", time.Since(start))
}

// TestCacheNoStampede: many requests at once for one user whom the cache
// does not hold yet send one query, not one each.
func TestCacheNoStampede(t *testing.T) {
	ctx := context.Background()
	in := newInstances(t, 1, postgres.Config{})
	a, s, count := in.auths[0], in.stores[0], in.counts[0]
	u := register(t, a, "alice", nil)
	sid := claims(t, a, login(t, a, u).AccessToken).SessionID
	for _, tc := range []struct {
		name string
		get  func() (*auth.User, error)
	}{
		{"UserBySession", func() (*auth.User, error) { return s.UserBySession(ctx, u.ID, sid) }},
		{"UserByID", func() (*auth.User, error) { return s.UserByID(ctx, u.ID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Make the cache forget the user: a change of its roles.
			roles := []string{strings.ToLower(tc.name)}
			if _, err := admin.New(a).UpdateUser(ctx, u.ID, admin.Update{Roles: &roles, Actor: "test"}); err != nil {
				t.Fatal(err)
			}
			before := count.n.Load()
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					<-start
					if _, err := tc.get(); err != nil {
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := count.n.Load() - before; n < 1 || n > 2 {
				t.Errorf("64 concurrent lookups on a cold cache sent %d statements, want 1 (2 if a read overlapped an invalidation)", n)
			}
		})
	}
}
