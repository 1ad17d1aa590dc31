package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/storetest"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"), Config{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// The longest tests (the conformance suites, TestExclusiveLock's busy
// timeout, TestConcurrentWriters) run in parallel, each on files of its
// own: with one writer connection a store, they contend for nothing but
// the CPU.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) auth.Store { return newStore(t) })
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)

func user(name string) *auth.User {
	return &auth.User{
		ID: rand.Text(), Username: name, Email: name + "@example.com",
		PasswordHash: "$2b$10$" + name, Roles: []string{"user"},
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestPragmas(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, h := range []struct {
		name string
		q    func(string) (string, error)
	}{
		{"writer", func(p string) (v string, err error) {
			err = s.w.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v)
			return v, err
		}},
		{"reader", func(p string) (v string, err error) {
			err = s.r.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v)
			return v, err
		}},
	} {
		want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "2"}
		for p, w := range want {
			got, err := h.q(p)
			if err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", h.name, p, err)
			}
			if !strings.EqualFold(got, w) {
				t.Errorf("%s: PRAGMA %s = %q, want %q", h.name, p, got, w)
			}
		}
	}
	// The readers cannot write.
	if _, err := s.r.ExecContext(ctx, "DELETE FROM users"); err == nil {
		t.Error("a reader connection could write")
	}
	// Foreign keys are enforced.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO sessions (id, user_id, token_hash, user_version, created_at, expires_at)
		VALUES ('s', 'nobody', x'00', 0, 0, 0)`); !isForeignKeyViolation(err) {
		t.Errorf("insert of an orphan session = %v, want a foreign key violation", err)
	}
	// The file itself is in WAL mode: its header says so (bytes 18 and 19
	// are 2 for WAL) and a -wal file exists.
	path := s.path(t)
	hdr := make([]byte, 20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	if hdr[18] != 2 || hdr[19] != 2 {
		t.Errorf("file header read/write versions = %d/%d, want 2/2 (WAL)", hdr[18], hdr[19])
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no WAL file: %v", err)
	}
}

// path returns the file of s's main database.
func (s *Store) path(t testing.TB) string {
	t.Helper()
	var seq int
	var name, file string
	if err := s.w.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub dir #1", "a%20b?.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.path(t); got != path {
		t.Fatalf("opened %q, want %q", got, path)
	}
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &auth.Session{ID: "s1", UserID: u.ID, TokenHash: sha("r1"), UserVersion: 0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Reopen twice: the migrations are not applied again, the data stays.
	for i := range 2 {
		s, err = Open(ctx, path, Config{})
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		var version int
		var tables string
		if err := s.w.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
			t.Fatal(err)
		}
		if version != len(migrations) {
			t.Fatalf("user_version = %d, want %d", version, len(migrations))
		}
		if err := s.w.QueryRow("SELECT group_concat(name, ' ' ORDER BY name) FROM sqlite_schema WHERE type = 'table'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if want := "identities identity_attempts link_tokens mfa_challenges mfa_recovery_codes mfa_totp passkey_ceremonies passkey_credentials passkey_user_handles sessions users"; tables != want {
			t.Fatalf("tables %q, want %q", tables, want)
		}
		got, err := s.UserByUsername(ctx, "alice")
		if err != nil {
			t.Fatalf("after reopen: %v", err)
		}
		if got.ID != u.ID || got.Email != u.Email || got.PasswordHash != u.PasswordHash ||
			!slices.Equal(got.Roles, u.Roles) || !got.CreatedAt.Equal(t0) || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("after reopen: %+v", got)
		}
		next := fmt.Sprint("r", i+2)
		rs, err := s.RotateSession(ctx, auth.Rotation{SessionID: "s1", Presented: sha(fmt.Sprint("r", i+1)), Next: sha(next), Now: t0, ExpiresAt: t0.Add(time.Hour)})
		if err != nil {
			t.Fatalf("rotate after reopen: %v", err)
		}
		if !rs.CreatedAt.Equal(t0) {
			t.Fatalf("session created %v, want %v", rs.CreatedAt, t0)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	s, err := Open(ctx, path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path, Config{}); err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, p := range []string{"", ":memory:", "file:x.db"} {
		if s, err := Open(ctx, p, Config{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	// A directory that does not exist.
	_, err := Open(ctx, filepath.Join(t.TempDir(), "missing", "auth.db"), Config{})
	if !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("Open in a missing directory = %v, want ErrStoreUnavailable", err)
	}
	// A file that is not a database.
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, junk, Config{})
	if !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("Open of a junk file = %v, want ErrStoreUnavailable", err)
	}
	// A canceled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = Open(cctx, filepath.Join(t.TempDir(), "auth.db"), Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context = %v, want context.Canceled", err)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "auth.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]error{
		"Ping":               s.Ping(ctx),
		"CreateUser":         s.CreateUser(ctx, user("bob")),
		"ChangeUser":         func() error { _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Now: t0}); return err }(),
		"UpdatePasswordHash": s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "x", true, t0),
		"InvalidateTokens":   s.InvalidateTokens(ctx, u.ID, t0),
		"DeleteUser":         s.DeleteUser(ctx, u.ID),
		"CreateSession":      s.CreateSession(ctx, &auth.Session{ID: "s", UserID: u.ID, TokenHash: sha("x")}),
		"RevokeSession":      s.RevokeSession(ctx, "s"),
	}
	_, calls["UserByID"] = s.UserByID(ctx, u.ID)
	_, calls["UserByUsername"] = s.UserByUsername(ctx, "alice")
	_, calls["RotateSession"] = s.RotateSession(ctx, auth.Rotation{SessionID: "s", Presented: sha("x"), Next: sha("y"), Now: t0})
	for name, err := range calls {
		if !errors.Is(err, auth.ErrStoreUnavailable) {
			t.Errorf("%s on a closed store = %v, want ErrStoreUnavailable", name, err)
		}
	}
}

// TestDriverFailure closes the handles under the Store, as a failing
// driver would, and checks that every method reports unavailability
// rather than a result.
func TestDriverFailure(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	u := user("alice")
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s.r.Close()
	s.w.Close()
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, auth.ErrStoreUnavailable) || errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID = %v, want ErrStoreUnavailable", err)
	}
	if err := s.CreateUser(ctx, user("bob")); !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("CreateUser = %v, want ErrStoreUnavailable", err)
	}
	if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: "s"}); !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("RotateSession = %v, want ErrStoreUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("Ping = %v, want ErrStoreUnavailable", err)
	}
}

func TestContext(t *testing.T) {
	s := newStore(t)
	u := user("alice")
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.InvalidateTokens(ctx, u.ID, t0); !errors.Is(err, context.Canceled) || errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("InvalidateTokens with a canceled context = %v", err)
	}
	got, err := s.UserByID(context.Background(), u.ID)
	if err != nil || got.TokenVersion != 0 {
		t.Fatalf("a canceled InvalidateTokens changed the user: %v %+v", err, got)
	}

	// A caller waiting for the writer gives up when its deadline passes.
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	if err := s.CreateUser(dctx, user("bob")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateUser while the writer is held = %v, want DeadlineExceeded", err)
	}
	tx.Rollback()
}

func TestTimesAndRoles(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	loc := time.FixedZone("X", 5*3600)
	u := user("alice")
	u.CreatedAt = time.Date(1969, 7, 20, 20, 17, 40, 123456789, loc) // before the epoch, nanoseconds
	u.UpdatedAt = time.Time{}
	u.Roles = []string{}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := u.CreatedAt.Truncate(time.Microsecond).UTC(); got.CreatedAt != want {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
	}
	if !got.UpdatedAt.IsZero() {
		t.Errorf("zero UpdatedAt came back as %v", got.UpdatedAt)
	}
	if got.Roles == nil || len(got.Roles) != 0 {
		t.Errorf("empty roles came back as %#v", got.Roles)
	}
}

// TestConcurrentWriters has 200 goroutines create users and sessions and
// rotate, read, rename and log out at once: not one call may fail.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const n = 200
	ctx := context.Background()
	s := newStore(t)
	var wg sync.WaitGroup
	errc := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if err := mixedLoad(ctx, s, i); err != nil {
				errc <- fmt.Errorf("goroutine %d: %w", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	var users, sessions int
	if err := s.r.QueryRow("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions WHERE revoked = 0)").Scan(&users, &sessions); err != nil {
		t.Fatal(err)
	}
	if users != n || sessions != n {
		t.Fatalf("%d users and %d live sessions, want %d of each", users, sessions, n)
	}
}

func mixedLoad(ctx context.Context, s *Store, i int) error {
	u := user(fmt.Sprint("user", i))
	if err := s.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := s.CreateUser(ctx, user(u.Username)); !errors.Is(err, auth.ErrUserExists) {
		return fmt.Errorf("duplicate create: %v", err)
	}
	for k := range 2 {
		sess := &auth.Session{ID: rand.Text(), UserID: u.ID, TokenHash: sha("t0"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		for j := range 5 {
			if _, err := s.UserByUsername(ctx, u.Username); err != nil {
				return fmt.Errorf("get: %w", err)
			}
			if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: sess.ID, Presented: sha(fmt.Sprint("t", j)),
				Next: sha(fmt.Sprint("t", j+1)), Now: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				return fmt.Errorf("rotate: %w", err)
			}
		}
		if k == 0 {
			if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "new", true, t0); err != nil {
				return fmt.Errorf("password: %w", err)
			}
		}
	}
	roles := []string{fmt.Sprint("role-", i)}
	if _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Roles: &roles, Now: t0}); err != nil {
		return fmt.Errorf("change: %w", err)
	}
	return nil
}

// TestAuthenticator runs the library's flows over a SQLite store, shared
// and exclusive (where Authenticate reads users from the cache). Hashing
// is not its subject: bcrypt at its lowest cost, 4 (New refuses it as an
// auth.Bcrypt, so it is wrapped), rather than 10, which takes most of a
// second a hash under the race detector.
func TestAuthenticator(t *testing.T) {
	t.Run("shared", func(t *testing.T) { testAuthenticator(t, newStore(t)) })
	t.Run("exclusive", func(t *testing.T) { testAuthenticator(t, newExclusiveStore(t, "")) })
}

func testAuthenticator(t *testing.T, s *Store) {
	ctx := context.Background()
	a, err := auth.New(auth.Config{
		Store:     s,
		SecretKey: []byte("0123456789abcdef0123456789abcdef-test-only"),
		Passwords: auth.PasswordConfig{Hasher: struct{ auth.Hasher }{auth.Bcrypt{Cost: 4}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Register(ctx, auth.NewUser{Username: " Alice ", Password: "correct horse battery staple", Email: "alice@example.com", Roles: []string{"admin"}})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "another good password"}); !errors.Is(err, auth.ErrUserExists) {
		t.Fatalf("second Register = %v, want ErrUserExists", err)
	}
	login := func() *auth.TokenPair {
		t.Helper()
		p, err := a.Login(ctx, auth.Credentials{Username: "ALICE", Password: "correct horse battery staple"})
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		return p
	}
	p1, p2 := login(), login()
	if _, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong password!!"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Login with a wrong password = %v", err)
	}
	got, _, err := a.Authenticate(ctx, p1.AccessToken)
	if err != nil || got.ID != u.ID || !got.HasRole("admin") {
		t.Fatalf("Authenticate: %v", err)
	}
	r1, err := a.Refresh(ctx, auth.Client{}, p1.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	r2, err := a.Refresh(ctx, auth.Client{}, r1.RefreshToken)
	if err != nil {
		t.Fatalf("second Refresh: %v", err)
	}
	// The spent token is reuse and kills its family, not the other login.
	if _, err := a.Refresh(ctx, auth.Client{}, p1.RefreshToken); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("reused refresh token = %v, want ErrRefreshReuse", err)
	}
	if _, err := a.Refresh(ctx, auth.Client{}, r2.RefreshToken); err == nil {
		t.Fatal("family survived reuse")
	}
	p2, err = a.Refresh(ctx, auth.Client{}, p2.RefreshToken)
	if err != nil {
		t.Fatalf("other session: %v", err)
	}

	if err := a.LogoutAll(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatalf("LogoutAll: %v", err)
	}
	if _, err := a.Refresh(ctx, auth.Client{}, p2.RefreshToken); err == nil {
		t.Fatal("refresh after LogoutAll succeeded")
	}
	if _, _, err := a.Authenticate(ctx, p2.AccessToken); err == nil {
		t.Fatal("access token after LogoutAll accepted")
	}
	p3 := login()
	if _, err := a.Refresh(ctx, auth.Client{}, p3.RefreshToken); err != nil {
		t.Fatalf("Refresh after a new login: %v", err)
	}
	stored, err := s.UserByID(ctx, u.ID)
	if err != nil || stored.TokenVersion != 1 {
		t.Fatalf("stored user: %v, version %d", err, stored.TokenVersion)
	}
}

func TestFileModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	s, err := Open(context.Background(), path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateUser(context.Background(), &auth.User{ID: "u", Username: "u", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", fi.Name(), fi.Mode().Perm())
		}
	}
}
