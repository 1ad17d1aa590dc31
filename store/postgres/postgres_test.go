package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
	"github.com/goauthkit/auth/store/postgres"
	"github.com/goauthkit/auth/store/storetest"
)

// testURL returns the test database's URL (AUTH_TEST_POSTGRES_URL), or
// skips the test (fails it under CI) without one.
func testURL(t testing.TB) string {
	t.Helper()
	return testenv.Postgres(t)
}

// testPool opens a pool on the test database, closed at cleanup.
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// freshSchema returns a unique schema name, which does not exist yet and
// is dropped at cleanup (after the stores and pools using it are closed:
// cleanups run last-registered first).
func freshSchema(t testing.TB) string {
	t.Helper()
	return dropAtCleanup(t, "authtest_"+strings.ToLower(rand.Text()))
}

// dropAtCleanup returns the schema's name, and drops the schema at cleanup.
func dropAtCleanup(t testing.TB, name string) string {
	t.Helper()
	url := testURL(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a Store on its own pool and its own fresh schema.
func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	return newStoreWith(t, postgres.Config{})
}

// newStoreWith returns a Store configured by c on its own pool and its own
// fresh schema.
func newStoreWith(t testing.TB, c postgres.Config) *postgres.Store {
	t.Helper()
	c.Schema = freshSchema(t)
	s, err := postgres.Open(context.Background(), testURL(t), c)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) auth.Store { return newStore(t) })
}

// The conformance suite again, on stores without a cache: every read
// goes to the database.
func TestConformanceCacheOff(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) auth.Store {
		s, err := postgres.Open(context.Background(), testURL(t), postgres.Config{Schema: freshSchema(t), Cache: postgres.CacheConfig{Off: true}})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// The conformance suite again, on a caller's pool shared by every store.
func TestConformanceSharedPool(t *testing.T) {
	pool := testPool(t)
	storetest.Run(t, func(t *testing.T) auth.Store {
		s, err := postgres.New(context.Background(), pool, postgres.Config{Schema: freshSchema(t)})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	schema := freshSchema(t)
	s1, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s1.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
		if err != nil {
			t.Fatalf("second New on a migrated schema: %v", err)
		}
		if _, err := s.UserByID(ctx, "u1"); err != nil {
			t.Fatalf("data lost by a repeated migration: %v", err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "auth_schema_migrations"}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := len(postgres.Migrations(schema)); n != want {
		t.Fatalf("%d migrations recorded, want %d", n, want)
	}
}

// Instances that start together on an empty schema must all succeed: the
// advisory lock serialises them, and the later ones find the work done.
func TestConcurrentNew(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	const n = 4
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = testPool(t)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = postgres.New(ctx, pools[i], postgres.Config{Schema: schema})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("New %d: %v", i, err)
		}
	}
}

// The default schema is the connection's current one; a search_path in the
// URL chooses it.
func TestSearchPathSchema(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	pool := testPool(t)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	url := testURL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	s, err := postgres.Open(ctx, url+sep+"search_path="+schema, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Schema() != schema {
		t.Fatalf("Schema() = %q, want %q", s.Schema(), schema)
	}
	// A search_path naming no schema is refused, not silently "public".
	if s, err := postgres.Open(ctx, url+sep+"search_path=authtest_does_not_exist", postgres.Config{}); err == nil {
		s.Close()
		t.Fatal("Open with a search_path naming no schema succeeded")
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	stores := map[string]*postgres.Store{"Open": newStore(t)}
	s, err := postgres.New(ctx, pool, postgres.Config{Schema: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	stores["New"] = s
	for name, s := range stores {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("%s: Ping: %v", name, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%s: Close: %v", name, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%s: second Close: %v", name, err)
		}
		checks := map[string]error{
			"Ping":          s.Ping(ctx),
			"CreateUser":    s.CreateUser(ctx, &auth.User{ID: "x", Username: "x"}),
			"RevokeSession": s.RevokeSession(ctx, "x"),
		}
		_, checks["UserByID"] = s.UserByID(ctx, "x")
		_, checks["RotateSession"] = s.RotateSession(ctx, auth.Rotation{SessionID: "x"})
		for op, err := range checks {
			if !errors.Is(err, auth.ErrStoreUnavailable) || !errors.Is(err, postgres.ErrClosed) {
				t.Errorf("%s: %s on a closed store = %v, want ErrStoreUnavailable and ErrClosed", name, op, err)
			}
		}
	}
	// Close of a store made by New leaves the caller's pool open.
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("the caller's pool was closed: %v", err)
	}
}

// An unreachable server is ErrStoreUnavailable from Open, quickly.
func TestUnreachable(t *testing.T) {
	testURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	s, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5", postgres.Config{})
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable database succeeded")
	}
	if !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Fatalf("Open of an unreachable database = %v, want ErrStoreUnavailable", err)
	}
}

func TestBadURL(t *testing.T) {
	testURL(t)
	_, err := postgres.Open(context.Background(), "postgres://u:secretpw@[bad", postgres.Config{})
	if err == nil {
		t.Fatal("Open of a malformed URL succeeded")
	}
	if strings.Contains(err.Error(), "secretpw") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestTimesAreUTCMicroseconds(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	zone := time.FixedZone("UTC+5", 5*3600)
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, zone)
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: at, UpdatedAt: at}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Microsecond).UTC()
	if got.CreatedAt != want || got.UpdatedAt != want {
		t.Fatalf("CreatedAt %v UpdatedAt %v, want %v in UTC", got.CreatedAt, got.UpdatedAt, want)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Fatalf("location %v, want UTC", got.CreatedAt.Location())
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for i, exp := range []time.Time{now.Add(-time.Hour), now, now.Add(time.Hour)} {
		sess := &auth.Session{ID: string(rune('a' + i)), UserID: "u1", TokenHash: []byte{byte(i)}, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: exp}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredSessions(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 2, nil", n, err)
	}
	if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: "c", Presented: []byte{2}, Next: []byte{9}, Now: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("live session after purge: %v", err)
	}
	if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: "a", Presented: []byte{0}, Next: []byte{9}, Now: now, ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("purged session = %v, want ErrNotFound", err)
	}
}

// A context that ends while a call waits on PostgreSQL (here, on a row lock
// held by another transaction) is an error wrapping both the context's error
// and ErrStoreUnavailable, and pgx cancels the statement on the server, so
// the call takes no effect.
func TestContextEndsMidCall(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	s, err := postgres.New(ctx, pool, postgres.Config{Schema: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateUser(ctx, &auth.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, &auth.Session{ID: "s1", UserID: "u1", TokenHash: []byte("t1"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+pgx.Identifier{s.Schema(), "auth_sessions"}.Sanitize()+" WHERE id = 's1' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	rot := auth.Rotation{SessionID: "s1", Presented: []byte("t1"), Next: []byte("t2"), Now: now, ExpiresAt: now.Add(time.Hour)}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	got, err := s.RotateSession(cctx, rot)
	cancel()
	if got != nil || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Fatalf("RotateSession past its deadline = %v, %v; want nil and DeadlineExceeded + ErrStoreUnavailable", got, err)
	}
	// pgx sends a cancel request for the abandoned statement, but
	// asynchronously: wait until the server has given up the lock wait,
	// or the rollback below could let the statement run after all.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND datname = current_database() AND strpos(query, $1) > 0`, s.Schema()).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timed-out statement still waits on the server")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The timed-out rotation did not happen: t1 is still current.
	if _, err := s.RotateSession(ctx, rot); err != nil {
		t.Fatalf("rotation after the timed-out one: %v", err)
	}
}
