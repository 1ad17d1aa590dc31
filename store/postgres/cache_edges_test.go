package postgres_test

// Tests of the cache at its edges (migration 11, listen.go), each written
// as a failing test of a defect found while testing it, then fixed: a user
// id too long for a notification's payload, a revocation that finds its
// session already revoked, a database not in UTF-8, a pool whose
// BeforeConnect hook supplies the credentials.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/postgres"
)

// TestCacheLongUserID: a user whose id the store accepted (a long one,
// which PostgreSQL compresses in its index) can still be changed, have
// its sessions revoked, and be deleted. The triggers notify "u:" and the
// id, and pg_notify refuses a payload of 8000 bytes or more, failing the
// changing statement.
func TestCacheLongUserID(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, testURL(t), postgres.Config{Schema: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	id := strings.Repeat("x", 8000)
	now := time.Now().UTC()
	if err := s.CreateUser(ctx, &auth.User{ID: id, Username: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.CreateSession(ctx, &auth.Session{ID: "s1", UserID: id, TokenHash: []byte("t"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if err := s.RevokeSession(ctx, "s1"); err != nil {
		t.Errorf("RevokeSession: %v", err)
	}
	if err := s.InvalidateTokens(ctx, id, now); err != nil {
		t.Errorf("InvalidateTokens: %v", err)
	}
	if err := s.DeleteUser(ctx, id); err != nil {
		t.Errorf("DeleteUser: %v", err)
	}
}

// TestCacheNoopRevokeSettles: a RevokeSession that finds the session
// already revoked, by a revocation elsewhere that has committed but not
// yet settled, still waits for every caching instance before it returns:
// it promises the caller that the session has ended. (The caching
// instance is kept from hearing, to make the window wide; it is the
// delivery of one notification otherwise, or up to the lease when that
// instance cannot hear.)
func TestCacheNoopRevokeSettles(t *testing.T) {
	ctx := context.Background()
	h := holdListener(t)
	schema, a, b, raw, lock, done := h.schema, h.off, h.b, h.raw, h.lock, h.settled
	go func() { done <- a.RevokeSession(ctx, "s1") }() // commits, then waits for b
	for deadline := time.Now().Add(5 * time.Second); ; {
		var revoked bool
		if err := raw.QueryRow(ctx, tables(schema, `SELECT revoked FROM {sessions} WHERE id = 's1'`)).Scan(&revoked); err != nil {
			t.Fatal(err)
		}
		if revoked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first RevokeSession did not commit")
		}
		time.Sleep(time.Millisecond)
	}

	second := make(chan error, 1)
	go func() { second <- a.RevokeSession(ctx, "s1") }()
	wait := []chan error{done, done}
	select {
	case err := <-second:
		if _, serr := b.UserBySession(ctx, "u1", "s1"); !errors.Is(serr, auth.ErrSessionRevoked) {
			t.Errorf("RevokeSession returned %v, and then the caching instance answered the session with %v, want ErrSessionRevoked", err, serr)
		}
	case <-time.After(300 * time.Millisecond):
		// It waits for the caching instance, as it should.
		wait = append(wait, second)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range wait {
		select {
		case err := <-ch:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a call did not return after the listener was let go")
		}
	}
}

// TestCacheNonUTF8Database: in a database whose encoding is not UTF8,
// reached with client_encoding UTF8, a schema whose name is not ASCII
// has two channels: the triggers take the MD5 of the name in the
// database's encoding (md5(TG_TABLE_SCHEMA)), Go that of its UTF-8
// (cacheChannel). The listener hears the barriers and
// acknowledgements, sent on Go's channel, so writers settle, but none of
// the triggers' notifications: a caching instance answers changed users
// from memory, indefinitely.
func TestCacheNonUTF8Database(t *testing.T) {
	ctx := context.Background()
	admin := testPool(t)
	db := "authtest_latin1_" + strings.ToLower(rand.Text()[:10])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db+" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"); err != nil {
		t.Skipf("cannot create a LATIN1 database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE "+db+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", db, err)
		}
	})
	pool := func(count *statementCounter) *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(testURL(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.Database = db
		// Without it, the client encoding is the database's, and pgx's
		// UTF-8 passes through as LATIN1 bytes, unconverted: the two
		// MD5s then agree.
		cfg.ConnConfig.RuntimeParams["client_encoding"] = "UTF8"
		if count != nil {
			cfg.ConnConfig.Tracer = count
		}
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	schema := "Schéma"
	a, err := postgres.New(ctx, pool(nil), postgres.Config{Schema: schema, Cache: postgres.CacheConfig{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	var bCount statementCounter
	b, err := postgres.New(ctx, pool(&bCount), postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	seedUser(t, a, "u1", "s1")
	warm(t, b, &bCount, "u1", "s1")
	applyRaw(t, pool(nil), schema, []string{`UPDATE {users} SET disabled = true WHERE id = {u}`}, "u1", "s1")
	settle(t, a)
	if u, err := b.UserByID(ctx, "u1"); err != nil || !u.Disabled {
		t.Errorf("after a raw change and Settle, the caching instance answered %+v, %v; want the user disabled", u, err)
	}
	// The store's own writes alike.
	if err := a.RevokeSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UserBySession(ctx, "u1", "s1"); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("after RevokeSession, the caching instance answered the session with %v, want ErrSessionRevoked", err)
	}
}

// TestCachePoolBeforeConnect: New takes a pool whose connections get
// their settings from its BeforeConnect hook (as pools using short-lived
// credentials do, e.g. IAM tokens), and works with it. The cache's
// listener connects with a copy of the pool's ConnConfig, without the
// hook, so it fails, and New with it.
func TestCachePoolBeforeConnect(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	port := cfg.ConnConfig.Port
	cfg.ConnConfig.Port = 1 // nothing listens there; the hook sets the real port
	cfg.BeforeConnect = func(_ context.Context, c *pgx.ConnConfig) error {
		c.Port = port
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("the pool itself does not connect: %v", err)
	}
	for _, c := range []postgres.CacheConfig{{Off: true}, {}} {
		s, err := postgres.New(ctx, pool, postgres.Config{Schema: freshSchema(t), Cache: c})
		if err != nil {
			t.Errorf("New with %+v on a pool configured by BeforeConnect: %v", c, err)
			continue
		}
		s.Close()
	}
}

// TestCacheForgedNotifications: anyone who can connect to the database
// can send notifications on the channel, but cannot make a write return
// early: a forged acknowledgement of the held instance does not end a
// Settle (the waiters read the table), and a forged barrier beyond the
// next makes the instance that hears it rejoin, its cache emptied, rather
// than acknowledge barriers it has not heard.
func TestCacheForgedNotifications(t *testing.T) {
	ctx := context.Background()
	h := holdListener(t)
	var bID string
	if err := h.raw.QueryRow(ctx, tables(h.schema, `SELECT id FROM {instances} WHERE expires_at > now()`)).Scan(&bID); err != nil {
		t.Fatal(err)
	}
	notify := func(payload string) {
		t.Helper()
		if _, err := h.raw.Exec(ctx, "SELECT pg_notify($1, $2)", channelOf(h.schema), payload); err != nil {
			t.Fatal(err)
		}
	}
	applyRaw(t, h.raw, h.schema, []string{`UPDATE {users} SET disabled = true WHERE id = {u}`}, "u1", "s1")
	go func() { h.settled <- h.off.Settle(ctx) }()
	notify("a:" + bID + ":9000000000")
	notify("g:" + bID)
	select {
	case err := <-h.settled:
		t.Fatalf("Settle returned (%v) on a forged acknowledgement, while the instance had not heard", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := h.lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-h.settled; err != nil {
			t.Fatal(err)
		}
	}
	if u, err := h.b.UserByID(ctx, "u1"); err != nil || !u.Disabled {
		t.Fatalf("after Settle: %+v, %v; want the user disabled", u, err)
	}

	applyRaw(t, h.raw, h.schema, []string{`UPDATE {users} SET disabled = false WHERE id = {u}`}, "u1", "s1")
	if err := h.off.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	warm(t, h.b, h.bCount, "u1", "s1")
	var clock int64
	if err := h.raw.QueryRow(ctx, "SELECT n FROM "+pgx.Identifier{h.schema, "auth_cache_clock"}.Sanitize()).Scan(&clock); err != nil {
		t.Fatal(err)
	}
	// Beyond the next: a gap. The next, before a Store sent it: beyond
	// the clock.
	for _, next := range []bool{false, true} {
		b := int64(9000000000)
		if next {
			b = clock + 1
		}
		pid := postgres.ListenerPID(h.b)
		notify(fmt.Sprint("b:", b))
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if p := postgres.ListenerPID(h.b); p != 0 && p != pid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the instance did not rejoin after the forged barrier %d", b)
			}
		}
		var acked int64
		if err := h.raw.QueryRow(ctx, tables(h.schema, `SELECT acked FROM {instances} WHERE id = {id}`, "{id}", bID)).Scan(&acked); err != nil {
			t.Fatal(err)
		}
		if acked > clock {
			t.Fatalf("the instance acknowledged %d, beyond the clock %d (the forged barrier was %d)", acked, clock, b)
		}
		if err := h.off.Settle(ctx); err != nil {
			t.Fatalf("Settle after the rejoin: %v", err)
		}
		clock++ // Settle's barrier
	}
}
