package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth/recovery"
)

// v1File makes a database file as the first schema version made it, with
// rows, as a server of the previous release leaves it.
func v1File(t *testing.T, users ...[2]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, migrations[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for i, u := range users {
		id := "u" + string(rune('0'+i))
		if _, err := db.ExecContext(ctx, `INSERT INTO users (id, username, email, password_hash, roles, token_version, created_at, updated_at)
			VALUES (?, ?, ?, '$argon2id$x', '["user"]', 3, ?, ?)`, id, u[0], u[1], now, now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO sessions (id, user_id, token_hash, user_version, created_at, expires_at)
			VALUES (?, ?, x'00', 3, ?, ?)`, "s"+id, id, now, now+int64(time.Hour/time.Microsecond)); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestMigrateFromV1 opens a file of the first schema version: the upgrade
// keeps every user and session, normalises the emails, and makes them
// unique; a file where two accounts share an address is refused with a
// message that says so, and left as it was.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := v1File(t, [2]string{"alice", " Alice@Example.COM "}, [2]string{"bob", ""}, [2]string{"carol", ""})
	for _, cfg := range []Config{{}, {ExclusiveLock: true}} {
		s, err := Open(ctx, path, cfg)
		if err != nil {
			t.Fatalf("Open of a v1 file: %v", err)
		}
		u, err := s.UserByEmail(ctx, "alice@example.com")
		if err != nil || u.Username != "alice" || u.EmailVerified || u.TokenVersion != 3 || u.PasswordHash != "$argon2id$x" ||
			!u.TokensEndedAt.IsZero() {
			t.Fatalf("alice after the upgrade: %+v, %v", u, err)
		}
		for _, id := range []string{"u0", "u1", "u2"} {
			if _, err := s.UserBySession(ctx, id, "s"+id); err != nil {
				t.Fatalf("session of %s after the upgrade: %v", id, err)
			}
		}
		lt := &recovery.LinkToken{Hash: []byte("h"), UserID: "u1", Purpose: recovery.LinkVerifyEmail, Email: "bob@example.com",
			CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateLinkToken(ctx, lt); err != nil {
			t.Fatalf("link tokens after the upgrade: %v", err)
		}
		s.Close()
	}

	dup := v1File(t, [2]string{"alice", "same@example.com"}, [2]string{"bob", "SAME@example.com"})
	_, err := Open(ctx, dup, Config{})
	if err == nil || !strings.Contains(err.Error(), "1 addresses belong to more than one account") {
		t.Fatalf("Open with a shared email = %v, want a message saying so", err)
	}
	db, err := sql.Open("sqlite", "file:"+dup)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	var email string
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil || version != 1 {
		t.Fatalf("schema version %d after a refused upgrade, %v", version, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT email FROM users WHERE id = 'u1'").Scan(&email); err != nil || email != "SAME@example.com" {
		t.Fatalf("a refused upgrade changed an email to %q (%v)", email, err)
	}
}
