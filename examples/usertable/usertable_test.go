package usertable_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/examples/usertable"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/storetest"
)

// openDB returns a fresh database holding the service's users table,
// closed when t ends.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "app.db") + "?" + usertable.DSNParams + "&_pragma=journal_mode(WAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(usertable.UsersTable); err != nil {
		t.Fatal(err)
	}
	return db
}

func newStore(t *testing.T, db *sql.DB) *usertable.Store {
	t.Helper()
	s, err := usertable.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs store/storetest on the adapter, a fresh database
// for each store: its required part, since the adapter offers no optional
// capability.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return newStore(t, openDB(t)) })
}

// TestRequiredOnly: the adapter is an auth.Store and nothing more, and a
// Mailer, which needs a recovery.LinkStore, is refused with it.
func TestRequiredOnly(t *testing.T) {
	var s any = newStore(t, openDB(t))
	for name, ok := range map[string]bool{
		"recovery.LinkStore": is[recovery.LinkStore](s),
		"admin.UserLister":   is[admin.UserLister](s),
		"auth.UserDeleter":   is[auth.UserDeleter](s),
		"auth.Pinger":        is[auth.Pinger](s),
	} {
		if ok {
			t.Errorf("the adapter implements %s", name)
		}
	}
	a, err := auth.New(auth.Config{Store: s.(auth.Store), SecretKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = recovery.New(a, recovery.Config{Mailer: nopMailer{}, PublicURL: "https://example.com"})
	if !errors.Is(err, auth.ErrMissingCapability) || err.Error() != "recovery: New needs a Store that implements recovery.LinkStore (mailed links)" {
		t.Fatalf("recovery.New = %v", err)
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }

type nopMailer struct{}

func (nopMailer) Send(context.Context, *recovery.Message) error { return nil }

// TestServiceRows: rows the service writes itself, which the adapter has
// never seen, read as users whose login name is their email; their state
// rows are made when the library first changes them; a row the service
// deletes takes its sessions with it, foreign keys or not.
func TestServiceRows(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	s := newStore(t, db)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := db.Exec(`INSERT INTO users (email, password_hash, is_active) VALUES ('carol@example.com', '$2b$10$x', 0)`)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	for _, lookup := range []func(context.Context, string) (*auth.User, error){s.UserByUsername, s.UserByEmail} {
		u, err := lookup(ctx, "carol@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "carol@example.com" || u.Email != "carol@example.com" || !u.Disabled || u.TokenVersion != 0 ||
			len(u.Roles) != 0 || !u.CreatedAt.IsZero() || u.PasswordHash != "$2b$10$x" {
			t.Fatalf("the service's row reads as %+v", u)
		}
	}
	carol, _ := s.UserByEmail(ctx, "carol@example.com")
	if carol.ID != strconv.FormatInt(id, 10) {
		t.Fatalf("ID %q for users.id %d", carol.ID, id)
	}
	se := &auth.Session{ID: "s1", UserID: carol.ID, TokenHash: []byte{1}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if err := s.InvalidateTokens(ctx, carol.ID, now); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx, carol.ID); u.TokenVersion != 1 || !u.UpdatedAt.Equal(now) {
		t.Fatalf("after InvalidateTokens: %+v", u)
	}
	if _, err := s.UserBySession(ctx, carol.ID, "s1"); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("a session after InvalidateTokens: %v", err)
	}
	if err := s.CreateSession(ctx, &auth.Session{ID: "s2", UserID: carol.ID, TokenHash: []byte{2}, UserVersion: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The service deletes the row, foreign keys off (SQLite's default).
	if _, err := db.Exec(`DELETE FROM users WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM auth_sessions) + (SELECT count(*) FROM auth_user_state)`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d side rows outlived the user (%v)", left, err)
	}
	// The next user gets the deleted one's id, and none of its logins.
	dave := &auth.User{Username: "dave@example.com", Email: "dave@example.com", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, dave); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserBySession(ctx, dave.ID, "s2"); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("the next user with id %s has the deleted one's session: %v", dave.ID, err)
	}
}

// TestOlderSideTables: New upgrades side tables that an earlier version of
// the adapter made, without auth_user_state.tokens_ended_at, keeping their
// rows, and runs again on the upgraded database; the endings then record
// their time.
func TestOlderSideTables(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if _, err := db.Exec(`CREATE TABLE auth_user_state (
		user_id INTEGER PRIMARY KEY, username TEXT UNIQUE, no_email INTEGER NOT NULL DEFAULT 0,
		email_verified INTEGER NOT NULL DEFAULT 0, roles TEXT NOT NULL DEFAULT '[]',
		token_version INTEGER NOT NULL DEFAULT 0, created_at INTEGER, updated_at INTEGER);
		INSERT INTO users (id, email, password_hash) VALUES (7, 'erin@example.com', 'h');
		INSERT INTO auth_user_state (user_id, token_version) VALUES (7, 4);`); err != nil {
		t.Fatal(err)
	}
	newStore(t, db)
	s := newStore(t, db) // again, on the upgraded tables
	u, err := s.UserByID(ctx, "7")
	if err != nil || u.TokenVersion != 4 || !u.TokensEndedAt.IsZero() {
		t.Fatalf("the user after the upgrade: %+v, %v", u, err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	if err := s.InvalidateTokens(ctx, "7", now); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByID(ctx, "7"); err != nil || u.TokenVersion != 5 || !u.TokensEndedAt.Equal(now) {
		t.Fatalf("after InvalidateTokens: %+v, %v", u, err)
	}
}
