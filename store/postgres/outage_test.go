package postgres_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
	"github.com/goauthkit/auth/store/postgres"
)

// pgctl runs pg_ctlcluster on the local cluster (the only one under
// /etc/postgresql).
func pgctl(action string) ([]byte, error) {
	return exec.Command("sh", "-c",
		"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main "+action).CombinedOutput()
}

// TestOutage stops the local PostgreSQL cluster, checks that the store
// fails fast with auth.ErrStoreUnavailable and never reports a false
// success, starts the cluster again and checks that the same Store
// recovers without a restart.
//
// RISK: this stops the whole cluster, and `go test ./...` runs the tests of
// different packages in parallel, so any other package's PostgreSQL tests
// running at that moment fail. It therefore runs only when
// AUTH_TEST_PG_RESTART=1, keeps the outage to a few seconds (about one
// context timeout per operation checked, and the checks fail fast on a
// refused connection), and restarts the cluster in a cleanup that runs even
// when the test fails. Run it on its own (go test -run TestOutage) where
// other suites share the database.
func TestOutage(t *testing.T) {
	url := testURL(t)
	if os.Getenv("AUTH_TEST_PG_RESTART") != "1" {
		testenv.Missing(t, "AUTH_TEST_PG_RESTART not set to 1; set it to let this test stop and restart the local PostgreSQL cluster (it breaks other packages' PostgreSQL tests for a few seconds)")
	}
	ctx := context.Background()
	s := newStore(t)
	now := time.Now().UTC()
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &auth.Session{ID: "s1", UserID: "u1", TokenHash: []byte("t1"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}

	// Registered after newStore's cleanups, so it runs before them: the
	// schema is dropped on a running server.
	t.Cleanup(func() {
		if out, err := pgctl("start"); err != nil {
			t.Logf("pg_ctlcluster start: %v: %s (fine if already running)", err, out)
		}
		waitReady(t, url, 60*time.Second)
	})
	stopping := time.Now()
	if out, err := pgctl("stop -m fast"); err != nil {
		t.Fatalf("pg_ctlcluster stop: %v: %s", err, out)
	}
	down := time.Now()
	t.Logf("stop took %v", down.Sub(stopping).Round(time.Millisecond))

	const timeout = 3 * time.Second
	ops := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"UserByID", func(ctx context.Context) error {
			got, err := s.UserByID(ctx, u.ID)
			if got != nil {
				t.Errorf("UserByID returned a user while the database was down")
			}
			return err
		}},
		{"CreateUser", func(ctx context.Context) error {
			return s.CreateUser(ctx, &auth.User{ID: "ghost", Username: "ghost", PasswordHash: "h", CreatedAt: now, UpdatedAt: now})
		}},
		{"RotateSession", func(ctx context.Context) error {
			got, err := s.RotateSession(ctx, auth.Rotation{SessionID: "s1", Presented: []byte("t1"), Next: []byte("t2"), Now: now, ExpiresAt: now.Add(time.Hour)})
			if got != nil {
				t.Errorf("RotateSession returned a session while the database was down")
			}
			return err
		}},
		{"InvalidateTokens", func(ctx context.Context) error { return s.InvalidateTokens(ctx, u.ID, now) }},
	}
	// Twice over: the first round meets the pool's dead connections, the
	// second a refused connect.
	for round := range 2 {
		for _, op := range ops {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			err := op.fn(cctx)
			elapsed := time.Since(start)
			cancel()
			if !errors.Is(err, auth.ErrStoreUnavailable) {
				t.Errorf("round %d: %s with the database down = %v, want ErrStoreUnavailable", round, op.name, err)
			}
			t.Logf("round %d: %s failed in %v: %v", round, op.name, elapsed.Round(time.Millisecond), err)
			if elapsed > timeout+time.Second {
				t.Errorf("round %d: %s took %v with the database down", round, op.name, elapsed)
			}
		}
	}

	starting := time.Now()
	if out, err := pgctl("start"); err != nil {
		t.Fatalf("pg_ctlcluster start: %v: %s", err, out)
	}
	t.Logf("database down for %v (checks %v, start %v)", time.Since(down).Round(time.Millisecond),
		starting.Sub(down).Round(time.Millisecond), time.Since(starting).Round(time.Millisecond))

	// The same Store recovers by itself within a bounded wait.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.Ping(cctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByID after recovery = %v", err)
	}
	// Nothing attempted during the outage took effect.
	if _, err := s.UserByUsername(ctx, "ghost"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("CreateUser during the outage left a user behind: %v", err)
	}
	if got.TokenVersion != 0 {
		t.Fatalf("InvalidateTokens during the outage took effect")
	}
	if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: "s1", Presented: []byte("t1"), Next: []byte("t2"), Now: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("RotateSession after recovery: %v", err)
	}
	if err := s.CreateUser(ctx, &auth.User{ID: "u2", Username: "bob", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("CreateUser after recovery: %v", err)
	}
}

// waitReady waits until the database at url accepts connections.
func waitReady(t *testing.T, url string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		if time.Now().After(deadline) {
			t.Errorf("PostgreSQL not ready after %v: %v", limit, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCacheRestart restarts PostgreSQL under two caching instances: a
// logout everywhere made on one instance as soon as the database is back,
// before the listeners have joined again, is refused on the other at the
// very next request; an ending made just before the stop stays ended; and
// once the listeners are back, the caches answer again and stay exact.
// Gated as TestOutage is.
func TestCacheRestart(t *testing.T) {
	url := testURL(t)
	if os.Getenv("AUTH_TEST_PG_RESTART") != "1" {
		testenv.Missing(t, "AUTH_TEST_PG_RESTART not set to 1; set it to let this test stop and restart the local PostgreSQL cluster (it breaks other packages' PostgreSQL tests for a few seconds)")
	}
	ctx := context.Background()
	in := newInstances(t, 2, postgres.Config{})
	a, b := in.auths[0], in.auths[1]
	before, after := register(t, a, "before", nil), register(t, a, "after", nil)
	pb, pa := login(t, a, before), login(t, a, after)
	for range 2 { // the second from B's cache
		for _, p := range []*auth.TokenPair{pb, pa} {
			if _, _, err := b.Authenticate(ctx, p.AccessToken); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.LogoutAll(ctx, auth.Client{}, before.ID); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		if out, err := pgctl("start"); err != nil {
			t.Logf("pg_ctlcluster start: %v: %s (fine if already running)", err, out)
		}
		waitReady(t, url, 60*time.Second)
	})
	if out, err := pgctl("stop -m fast"); err != nil {
		t.Fatalf("pg_ctlcluster stop: %v: %s", err, out)
	}
	if out, err := pgctl("start"); err != nil {
		t.Fatalf("pg_ctlcluster start: %v: %s", err, out)
	}
	waitReady(t, url, 60*time.Second)
	// As soon as a write goes through.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := a.LogoutAll(ctx, auth.Client{}, after.ID)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LogoutAll after the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, p := range map[string]*auth.TokenPair{"ended before the stop": pb, "ended after the start": pa} {
		if _, _, err := b.Authenticate(ctx, p.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
			t.Errorf("%s: the other instance answered %v, want ErrTokenRevoked", name, err)
		}
	}
	for _, s := range in.stores {
		for postgres.ListenerPID(s) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("a listener did not come back")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if hits := runTrials(t, in, 1, nil); hits == 0 {
		t.Error("the caches never answered after the restart")
	}
}
