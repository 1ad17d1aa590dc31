package postgres_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/postgres"
)

// channelOf is a schema's notification channel, computed here apart from
// the package: "goauthkit_" and the MD5 of the schema's name, in hex.
func channelOf(schema string) string {
	sum := md5.Sum([]byte(schema))
	return "goauthkit_" + hex.EncodeToString(sum[:])
}

// oddSchema returns a unique schema name that needs quoting (upper case,
// a space, a quote, letters beyond ASCII), dropped at cleanup.
func oddSchema(t *testing.T) string {
	t.Helper()
	return dropAtCleanup(t, "AuthTest "+strings.ToLower(rand.Text()[:12])+` "Ünï"`)
}

// execer is a connection, a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// listener listens on a schema's channel on a connection of its own.
type listener struct {
	conn    *pgx.Conn
	channel string
	marks   int
}

func listenOn(t *testing.T, schema string) *listener {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	l := &listener{conn: conn, channel: channelOf(schema)}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return l
}

// heard returns the payloads of the notifications committed before a
// mark that conn (after whatever it committed before) sends on the
// channel: PostgreSQL delivers notifications in the order of their
// transactions' commits, so once the mark arrives, everything committed
// before it has, and no sleeping is needed to tell that nothing was sent.
// The payloads come sorted, each once.
func (l *listener) heard(t *testing.T, conn execer) []string {
	t.Helper()
	l.marks++
	mark := fmt.Sprintf("test mark %d", l.marks)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", l.channel, mark); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		n, err := l.conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("waiting for %q: %v (heard %q)", mark, err, got)
		}
		if n.Channel != l.channel {
			t.Fatalf("a notification on %q", n.Channel)
		}
		if n.Payload == mark {
			slices.Sort(got)
			return slices.Compact(got)
		}
		got = append(got, n.Payload)
	}
}

// tables replaces {users}, {sessions} and {instances} in SQL with the
// schema's tables, and the ids in r's pairs with SQL literals.
func tables(schema string, sql string, ids ...string) string {
	pairs := []string{
		"{users}", pgx.Identifier{schema, "auth_users"}.Sanitize(),
		"{sessions}", pgx.Identifier{schema, "auth_sessions"}.Sanitize(),
		"{instances}", pgx.Identifier{schema, "auth_cache_instances"}.Sanitize(),
	}
	for i := 0; i+1 < len(ids); i += 2 {
		pairs = append(pairs, ids[i], "'"+strings.ReplaceAll(ids[i+1], "'", "''")+"'")
	}
	return strings.NewReplacer(pairs...).Replace(sql)
}

// seedUser creates, through s, the user id, with the role admin, and, if
// sid is not "", its session sid, whose token hash is "hash of " + sid.
func seedUser(t *testing.T, s *postgres.Store, id, sid string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := s.CreateUser(ctx, &auth.User{ID: id, Username: id, PasswordHash: "h", Roles: []string{"admin"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if sid == "" {
		return
	}
	if err := s.CreateSession(ctx, &auth.Session{ID: sid, UserID: id, TokenHash: []byte("hash of " + sid), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// TestCacheTriggers: which changes to auth_users and auth_sessions the
// triggers of migration 11 announce on the schema's channel, and with
// what. A schema whose name needs quoting, and is not ASCII, has its
// channel named alike in Go and in SQL.
func TestCacheTriggers(t *testing.T) {
	for _, kind := range []string{"plain", "odd"} {
		t.Run(kind+" schema name", func(t *testing.T) {
			schema := freshSchema(t)
			if kind == "odd" {
				schema = oddSchema(t)
			}
			testTriggers(t, schema)
		})
	}
}

func testTriggers(t *testing.T, schema string) {
	ctx := context.Background()
	// Without a cache, no instance holds a lease, and the store's writes
	// send no barrier: the channel carries the triggers' notifications
	// only.
	s, err := postgres.Open(ctx, testURL(t), postgres.Config{Schema: schema, Cache: postgres.CacheConfig{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l := listenOn(t, schema)
	w, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })

	// Each case has users {u} and {v}, and sessions {s} and {t} of {u}.
	cases := []struct {
		name string
		sql  []string // on one connection, in order
		api  func(ctx context.Context, u, v, s, t string) error
		want []string
	}{
		{name: "user updated", sql: []string{`UPDATE {users} SET disabled = true WHERE id = {u}`}, want: []string{"u:{u}"}},
		{name: "user's roles changed", sql: []string{`UPDATE {users} SET roles = '{}' WHERE id = {u}`}, want: []string{"u:{u}"}},
		{name: "user's token version incremented", sql: []string{`UPDATE {users} SET token_version = token_version + 1 WHERE id = {u}`}, want: []string{"u:{u}"}},
		{name: "user updated to what it was", sql: []string{`UPDATE {users} SET username = username, disabled = disabled WHERE id = {u}`}},
		{name: "no user updated", sql: []string{`UPDATE {users} SET disabled = true WHERE id = 'nobody'`}},
		{name: "user's id changed", sql: []string{`UPDATE {users} SET id = id || '-renamed' WHERE id = {v}`}, want: []string{"u:{v}", "u:{v}-renamed"}},
		{name: "two users updated in one transaction", sql: []string{`BEGIN`,
			`UPDATE {users} SET disabled = true WHERE id = {u}`, `UPDATE {users} SET disabled = true WHERE id = {v}`, `COMMIT`},
			want: []string{"u:{u}", "u:{v}"}},
		{name: "user deleted, its sessions with it", sql: []string{`DELETE FROM {users} WHERE id = {u}`}, want: []string{"u:{u}"}},
		{name: "user inserted", sql: []string{`INSERT INTO {users} (id, username, password_hash, created_at, updated_at) VALUES ({u} || '-new', {u} || '-new', 'h', now(), now())`}},
		{name: "session revoked", sql: []string{`UPDATE {sessions} SET revoked = true WHERE id = {s}`}, want: []string{"u:{u}"}},
		{name: "every session of a user revoked", sql: []string{`UPDATE {sessions} SET revoked = true WHERE user_id = {u}`}, want: []string{"u:{u}"}},
		{name: "session updated to what it was", sql: []string{`UPDATE {sessions} SET revoked = revoked, user_id = user_id WHERE id = {s}`}},
		{name: "session rotated (its token hash only)", sql: []string{`UPDATE {sessions} SET token_hash = '\x0102' WHERE id = {s}`}},
		{name: "session rotated (every column a rotation sets)", sql: []string{`UPDATE {sessions}
SET prev_hash = token_hash, token_hash = '\x0304', rotated_at = now(), expires_at = expires_at + interval '1 hour' WHERE id = {s}`}},
		{name: "session given to another user", sql: []string{`UPDATE {sessions} SET user_id = {v} WHERE id = {s}`}, want: []string{"u:{u}", "u:{v}"}},
		{name: "session's id changed", sql: []string{`UPDATE {sessions} SET id = id || '-renamed' WHERE id = {s}`}, want: []string{"u:{u}"}},
		{name: "session deleted", sql: []string{`DELETE FROM {sessions} WHERE id = {s}`}, want: []string{"u:{u}"}},
		{name: "session inserted", sql: []string{`INSERT INTO {sessions} (id, user_id, token_hash, user_version, created_at, expires_at)
VALUES ({s} || '-new', {v}, '\x05', 0, now(), now() + interval '1 hour')`}},
		{name: "sessions truncated", sql: []string{`TRUNCATE {sessions}`}, want: []string{"*"}},
		{name: "users truncated, sessions with them", sql: []string{`TRUNCATE {users} CASCADE`}, want: []string{"*"}},
		{name: "rolled back", sql: []string{`BEGIN`, `UPDATE {users} SET disabled = true WHERE id = {u}`, `DELETE FROM {sessions} WHERE id = {s}`,
			`TRUNCATE {sessions}`, `ROLLBACK`}},
		{name: "the store's RotateSession", api: func(ctx context.Context, _, _, sid, _ string) error {
			now := time.Now()
			_, err := s.RotateSession(ctx, auth.Rotation{SessionID: sid, Presented: []byte("hash of " + sid), Next: []byte("next"), Now: now, ExpiresAt: now.Add(time.Hour)})
			return err
		}},
		{name: "the store's RevokeSession", api: func(ctx context.Context, _, _, sid, _ string) error {
			return s.RevokeSession(ctx, sid)
		}, want: []string{"u:{u}"}},
		{name: "the store's InvalidateTokens", api: func(ctx context.Context, uid, _, _, _ string) error {
			return s.InvalidateTokens(ctx, uid, time.Now())
		}, want: []string{"u:{u}"}},
		{name: "the store's DeleteUser", api: func(ctx context.Context, uid, _, _, _ string) error {
			return s.DeleteUser(ctx, uid)
		}, want: []string{"u:{u}"}},
	}
	for i, tc := range cases {
		u, v := fmt.Sprintf("u%d", i), fmt.Sprintf("v%d", i)
		sa, sb := fmt.Sprintf("s%d", i), fmt.Sprintf("t%d", i)
		seedUser(t, s, u, sa)
		seedUser(t, s, v, "")
		now := time.Now().UTC()
		if err := s.CreateSession(ctx, &auth.Session{ID: sb, UserID: u, TokenHash: []byte("hash of " + sb), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got := l.heard(t, w); len(got) != 0 {
			t.Fatalf("%s: creating users and sessions notified %q", tc.name, got)
		}
		for _, q := range tc.sql {
			if _, err := w.Exec(ctx, tables(schema, q, "{u}", u, "{v}", v, "{s}", sa, "{t}", sb)); err != nil {
				t.Fatalf("%s: %s: %v", tc.name, q, err)
			}
		}
		if tc.api != nil {
			if err := tc.api(ctx, u, v, sa, sb); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		got := l.heard(t, w)
		want := []string{}
		for _, p := range tc.want {
			want = append(want, strings.NewReplacer("{u}", u, "{v}", v).Replace(p))
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: heard %q, want %q", tc.name, got, want)
		}
	}
}

// TestCacheTriggersAfterCommit: a change is announced when its
// transaction commits, not before.
func TestCacheTriggersAfterCommit(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	s, err := postgres.Open(ctx, testURL(t), postgres.Config{Schema: schema, Cache: postgres.CacheConfig{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seedUser(t, s, "u1", "s1")
	l := listenOn(t, schema)
	pool := testPool(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{`UPDATE {users} SET disabled = true WHERE id = {u}`, `UPDATE {sessions} SET revoked = true WHERE id = {s}`} {
		if _, err := tx.Exec(ctx, tables(schema, q, "{u}", "u1", "{s}", "s1")); err != nil {
			t.Fatal(err)
		}
	}
	// A mark from the transaction's own connection is not sent before
	// the commit either; one from another connection is.
	if got := l.heard(t, pool); len(got) != 0 {
		t.Fatalf("heard %q while the transaction is open", got)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := l.heard(t, pool); !slices.Equal(got, []string{"u:u1"}) {
		t.Fatalf("after the commit, heard %q, want [u:u1]", got)
	}
}

// warm reads the user id, and its session sid, through s twice, and
// checks that the second reads sent no statement on the store's pool
// (count): the cache holds them.
func warm(t *testing.T, s *postgres.Store, count *statementCounter, id, sid string) {
	t.Helper()
	ctx := context.Background()
	for i := range 2 {
		before := count.n.Load()
		u, err := s.UserByID(ctx, id)
		if err != nil || u.Disabled || !u.HasRole("admin") {
			t.Fatalf("UserByID before = %+v, %v", u, err)
		}
		if u, err = s.UserBySession(ctx, id, sid); err != nil || u.Disabled || !u.HasRole("admin") {
			t.Fatalf("UserBySession before = %+v, %v", u, err)
		}
		if sent := count.n.Load() - before; i == 1 && sent != 0 {
			t.Fatalf("warm reads sent %d statements: the cache does not hold the user", sent)
		}
	}
}

// rawChanges are changes made with SQL, without the store, and what every
// instance answers after Settle: check gets UserByID's and
// UserBySession's answers.
var rawChanges = []struct {
	name  string
	sql   []string // one transaction
	check func(byID *auth.User, idErr error, bySession *auth.User, sessionErr error) error
}{
	{"user disabled", []string{`UPDATE {users} SET disabled = true WHERE id = {u}`},
		func(byID *auth.User, idErr error, bySession *auth.User, sessionErr error) error {
			if idErr != nil || sessionErr != nil || !byID.Disabled || !bySession.Disabled {
				return fmt.Errorf("%+v, %v and %+v, %v; want the user disabled, twice", byID, idErr, bySession, sessionErr)
			}
			return nil
		}},
	{"role taken away, token version incremented", []string{`UPDATE {users} SET roles = '{}', token_version = token_version + 1 WHERE id = {u}`},
		func(byID *auth.User, idErr error, bySession *auth.User, sessionErr error) error {
			if idErr != nil || sessionErr != nil || byID.HasRole("admin") || bySession.HasRole("admin") || byID.TokenVersion != 1 || bySession.TokenVersion != 1 {
				return fmt.Errorf("%+v, %v and %+v, %v; want the user without its role, at token version 1, twice", byID, idErr, bySession, sessionErr)
			}
			return nil
		}},
	{"session revoked", []string{`UPDATE {sessions} SET revoked = true WHERE id = {s}`}, sessionEnded},
	{"session deleted", []string{`DELETE FROM {sessions} WHERE id = {s}`}, sessionEnded},
	{"sessions truncated", []string{`TRUNCATE {sessions}`}, sessionEnded},
	{"user disabled and session revoked in one transaction",
		[]string{`UPDATE {users} SET disabled = true WHERE id = {u}`, `UPDATE {sessions} SET revoked = true WHERE id = {s}`},
		func(byID *auth.User, idErr error, _ *auth.User, sessionErr error) error {
			if idErr != nil || !byID.Disabled || !errors.Is(sessionErr, auth.ErrSessionRevoked) {
				return fmt.Errorf("%+v, %v and %v; want the user disabled, and ErrSessionRevoked", byID, idErr, sessionErr)
			}
			return nil
		}},
	{"user deleted", []string{`DELETE FROM {users} WHERE id = {u}`}, userGone},
	{"users truncated", []string{`TRUNCATE {users} CASCADE`}, userGone},
}

func sessionEnded(byID *auth.User, idErr error, _ *auth.User, sessionErr error) error {
	if idErr != nil || byID.Disabled || !errors.Is(sessionErr, auth.ErrSessionRevoked) {
		return fmt.Errorf("%+v, %v and %v; want the user, and ErrSessionRevoked", byID, idErr, sessionErr)
	}
	return nil
}

func userGone(_ *auth.User, idErr error, _ *auth.User, sessionErr error) error {
	if !errors.Is(idErr, auth.ErrNotFound) || !errors.Is(sessionErr, auth.ErrNotFound) {
		return fmt.Errorf("%v and %v; want ErrNotFound, twice", idErr, sessionErr)
	}
	return nil
}

// applyRaw runs a raw change's statements in one transaction on pool.
func applyRaw(t *testing.T, pool *pgxpool.Pool, schema string, sql []string, id, sid string) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		for _, q := range sql {
			if _, err := tx.Exec(context.Background(), tables(schema, q, "{u}", id, "{s}", sid)); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// settle calls s.Settle, within a bound.
func settle(t *testing.T, s *postgres.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Settle(ctx); err != nil {
		t.Fatalf("Settle: %v", err)
	}
}

// TestSettleAfterRawChanges: a change made with SQL (not through the
// store), then Settle on one instance: every instance, their caches
// holding the user and its session a moment before, answers the change
// at once.
func TestSettleAfterRawChanges(t *testing.T) {
	ctx := context.Background()
	in := newInstances(t, 2, postgres.Config{})
	raw := testPool(t)
	for i, rc := range rawChanges {
		id, sid := fmt.Sprintf("u%d", i), fmt.Sprintf("s%d", i)
		seedUser(t, in.stores[0], id, sid)
		for k, s := range in.stores {
			warm(t, s, in.counts[k], id, sid)
		}
		applyRaw(t, raw, in.schema, rc.sql, id, sid)
		settle(t, in.stores[0])
		for k, s := range in.stores {
			byID, idErr := s.UserByID(ctx, id)
			bySession, sessionErr := s.UserBySession(ctx, id, sid)
			if err := rc.check(byID, idErr, bySession, sessionErr); err != nil {
				t.Errorf("%s, then Settle: instance %d answered %v", rc.name, k, err)
			}
		}
	}
}

// TestCacheOff: a Store with CacheConfig.Off reads the database every
// time and opens no listener; its Settle, and its writes, still wait for
// the instances that cache.
func TestCacheOff(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	var offCount, bCount statementCounter
	off, err := postgres.New(ctx, countedPool(t, &offCount), postgres.Config{Schema: schema, Cache: postgres.CacheConfig{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { off.Close() })
	if pid := postgres.ListenerPID(off); pid != 0 {
		t.Errorf("the store without a cache listens (backend %d)", pid)
	}
	settle(t, off) // no instance caches yet

	b, err := postgres.New(ctx, countedPool(t, &bCount), postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	seedUser(t, off, "reads", "reads-s")
	for range 3 {
		before := offCount.n.Load()
		if _, err := off.UserByID(ctx, "reads"); err != nil {
			t.Fatal(err)
		}
		if _, err := off.UserBySession(ctx, "reads", "reads-s"); err != nil {
			t.Fatal(err)
		}
		if sent := offCount.n.Load() - before; sent != 2 {
			t.Fatalf("two reads without a cache sent %d statements, want 2", sent)
		}
	}

	raw := testPool(t)
	for i, rc := range rawChanges {
		id, sid := fmt.Sprintf("u%d", i), fmt.Sprintf("s%d", i)
		seedUser(t, off, id, sid)
		warm(t, b, &bCount, id, sid)
		applyRaw(t, raw, schema, rc.sql, id, sid)
		settle(t, off)
		byID, idErr := b.UserByID(ctx, id)
		bySession, sessionErr := b.UserBySession(ctx, id, sid)
		if err := rc.check(byID, idErr, bySession, sessionErr); err != nil {
			t.Errorf("%s, then Settle on the store without a cache: the caching instance answered %v", rc.name, err)
		}
	}

	// The writes of the store without a cache wait for the caching one.
	seedUser(t, off, "w", "w-s")
	warm(t, b, &bCount, "w", "w-s")
	if err := off.RevokeSession(ctx, "w-s"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UserBySession(ctx, "w", "w-s"); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("after RevokeSession on the store without a cache, the caching instance answered %v, want ErrSessionRevoked", err)
	}
}

// held is a store without a cache (off) and a caching instance (b) on one
// schema, b holding u1 and its session s1 in memory, and b's listening
// connection held: blocked in its acknowledgement of a barrier of off's
// (a Settle, whose outcome goes to settled), behind a lock on b's lease's
// row in the transaction lock. PostgreSQL delivers no notification to a
// connection in the middle of a statement; rolling lock back lets b go.
type held struct {
	schema  string
	off, b  *postgres.Store
	bCount  *statementCounter
	raw     *pgxpool.Pool
	lock    pgx.Tx
	settled chan error
}

func holdListener(t *testing.T) *held {
	t.Helper()
	ctx := context.Background()
	h := &held{schema: freshSchema(t), bCount: new(statementCounter), raw: testPool(t), settled: make(chan error, 4)}
	var err error
	if h.off, err = postgres.New(ctx, testPool(t), postgres.Config{Schema: h.schema, Cache: postgres.CacheConfig{Off: true}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.off.Close() })
	// The lease bounds each statement of the listener (a third of it), and
	// so how long a test may hold one back.
	h.b, err = postgres.New(ctx, countedPool(t, h.bCount), postgres.Config{Schema: h.schema, Cache: postgres.CacheConfig{Lease: 9 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.b.Close() })
	seedUser(t, h.off, "u1", "s1")
	warm(t, h.b, h.bCount, "u1", "s1")

	if h.lock, err = h.raw.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.lock.Rollback(context.Background()) })
	tag, err := h.lock.Exec(ctx, tables(h.schema, `SELECT 1 FROM {instances} WHERE expires_at > now() FOR UPDATE`))
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("locking the lease of the caching instance: %v, %d rows", err, tag.RowsAffected())
	}
	go func() { h.settled <- h.off.Settle(ctx) }() // its barrier makes b acknowledge
	waitForLock(t, h.raw, postgres.ListenerPID(h.b))
	return h
}

// TestSettleWaitsForListener: Settle waits for a caching instance that has
// not heard of a change yet; without that wait, the instance would go on
// answering the user from memory as it was.
func TestSettleWaitsForListener(t *testing.T) {
	ctx := context.Background()
	h := holdListener(t)
	schema, off, b, bCount, raw, lock, settled := h.schema, h.off, h.b, h.bCount, h.raw, h.lock, h.settled

	applyRaw(t, raw, schema, []string{`UPDATE {users} SET disabled = true WHERE id = {u}`}, "u1", "s1")
	before := bCount.n.Load()
	u, err := b.UserByID(ctx, "u1")
	if err != nil || u.Disabled || bCount.n.Load() != before {
		t.Fatalf("while its listener waits, the instance answered %+v, %v, sending %d statements; want the user from memory, not disabled",
			u, err, bCount.n.Load()-before)
	}
	go func() { settled <- off.Settle(ctx) }()
	select {
	case err := <-settled:
		t.Fatalf("Settle returned (%v) while the caching instance could not hear", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-settled:
			if err != nil {
				t.Fatalf("Settle: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Settle has not returned 10 s after the listener was let go")
		}
	}
	if u, err := b.UserByID(ctx, "u1"); err != nil || !u.Disabled {
		t.Fatalf("after Settle, the instance answered %+v, %v; want the user disabled", u, err)
	}
	if pid := postgres.ListenerPID(b); pid == 0 {
		t.Error("the listener was lost: the lock was held longer than its statements may wait")
	}
}

// waitForLock returns once the backend pid waits for a lock.
func waitForLock(t *testing.T, pool *pgxpool.Pool, pid uint32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var waiting bool
		err := pool.QueryRow(context.Background(),
			`SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, int32(pid)).Scan(&waiting)
		switch {
		case err != nil:
			t.Fatal(err)
		case waiting:
			return
		case time.Now().After(deadline):
			t.Fatalf("the backend %d never waited for the lock", pid)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCacheConfigValidation: New and Open refuse a negative size and a
// lease below 100 ms, naming the setting; they accept the limits, and a
// cache turned off.
func TestCacheConfigValidation(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	refused := []struct {
		name    string
		c       postgres.CacheConfig
		setting string
	}{
		{"negative size", postgres.CacheConfig{Size: -1}, "Cache.Size"},
		{"negative lease", postgres.CacheConfig{Lease: -time.Second}, "Cache.Lease"},
		{"lease of a nanosecond", postgres.CacheConfig{Lease: time.Nanosecond}, "Cache.Lease"},
		{"lease just below 100ms", postgres.CacheConfig{Lease: 100*time.Millisecond - 1}, "Cache.Lease"},
	}
	for _, tc := range refused {
		opens := map[string]func() (*postgres.Store, error){
			"New": func() (*postgres.Store, error) {
				return postgres.New(ctx, pool, postgres.Config{Schema: freshSchema(t), Cache: tc.c})
			},
			"Open": func() (*postgres.Store, error) {
				return postgres.Open(ctx, testURL(t), postgres.Config{Schema: freshSchema(t), Cache: tc.c})
			},
		}
		for name, open := range opens {
			s, err := open()
			if err == nil {
				s.Close()
				t.Errorf("%s with a %s succeeded", name, tc.name)
				continue
			}
			if !strings.Contains(err.Error(), tc.setting) || errors.Is(err, auth.ErrStoreUnavailable) {
				t.Errorf("%s with a %s = %v; want an error naming %s, not ErrStoreUnavailable", name, tc.name, err, tc.setting)
			}
		}
	}

	accepted := []struct {
		name string
		c    postgres.CacheConfig
	}{
		{"defaults", postgres.CacheConfig{}},
		{"cache off", postgres.CacheConfig{Off: true}},
		{"lease of 100ms", postgres.CacheConfig{Lease: 100 * time.Millisecond}},
		{"one user, lease of 100ms", postgres.CacheConfig{Size: 1, Lease: 100 * time.Millisecond}},
	}
	for _, tc := range accepted {
		s, err := postgres.New(ctx, pool, postgres.Config{Schema: freshSchema(t), Cache: tc.c})
		if err != nil {
			t.Errorf("New with %s: %v", tc.name, err)
			continue
		}
		seedUser(t, s, "u1", "s1")
		seedUser(t, s, "u2", "s2")
		for range 3 {
			for _, id := range []string{"u1", "u2"} {
				if u, err := s.UserByID(ctx, id); err != nil || u.ID != id {
					t.Errorf("%s: UserByID(%s) = %+v, %v", tc.name, id, u, err)
				}
				if u, err := s.UserBySession(ctx, id, "s"+id[1:]); err != nil || u.ID != id {
					t.Errorf("%s: UserBySession(%s) = %+v, %v", tc.name, id, u, err)
				}
			}
		}
		if err := s.RevokeSession(ctx, "s1"); err != nil {
			t.Errorf("%s: RevokeSession: %v", tc.name, err)
		}
		if _, err := s.UserBySession(ctx, "u1", "s1"); !errors.Is(err, auth.ErrSessionRevoked) {
			t.Errorf("%s: UserBySession after RevokeSession = %v, want ErrSessionRevoked", tc.name, err)
		}
		if err := s.Settle(ctx); err != nil {
			t.Errorf("%s: Settle: %v", tc.name, err)
		}
		s.Close()
	}
}
