package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/postgres"
)

// schemaV1 is the first migration as it was released, and the rows a
// server of the previous release leaves.
const schemaV1 = `
CREATE SCHEMA {s};
CREATE TABLE {s}.auth_schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE {s}.auth_users (
	id text PRIMARY KEY, username text COLLATE "C" NOT NULL, email text NOT NULL DEFAULT '',
	password_hash text NOT NULL, disabled boolean NOT NULL DEFAULT false, roles text[] NOT NULL DEFAULT '{}',
	token_version bigint NOT NULL DEFAULT 0, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE UNIQUE INDEX auth_users_username_key ON {s}.auth_users (username);
CREATE TABLE {s}.auth_sessions (
	id text PRIMARY KEY, user_id text NOT NULL REFERENCES {s}.auth_users (id) ON DELETE CASCADE,
	token_hash bytea NOT NULL, prev_hash bytea, rotated_at timestamptz, user_version bigint NOT NULL,
	revoked boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL);
CREATE INDEX auth_sessions_user_id_idx ON {s}.auth_sessions (user_id);
INSERT INTO {s}.auth_schema_migrations (version, description) VALUES (1, 'users and refresh sessions');
`

func v1Schema(t *testing.T, emails ...string) string {
	t.Helper()
	schema := freshSchema(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, strings.ReplaceAll(schemaV1, "{s}", q)); err != nil {
		t.Fatal(err)
	}
	for i, e := range emails {
		id := string(rune('a' + i))
		if _, err := conn.Exec(ctx, `INSERT INTO `+q+`.auth_users (id, username, email, password_hash, token_version, created_at, updated_at)
			VALUES ($1, $2, $3, 'h', 2, now(), now())`, id, "user-"+id, e); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO `+q+`.auth_sessions (id, user_id, token_hash, user_version, created_at, expires_at)
			VALUES ($1, $2, '\x00', 2, now(), now() + interval '1 hour')`, "s"+id, id); err != nil {
			t.Fatal(err)
		}
	}
	return schema
}

// TestMigrateFromV1 upgrades a schema of the first version: every user and
// session kept, emails normalised and unique; a schema where two accounts
// share an address is refused with a message that says so, and left as it
// was.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	schema := v1Schema(t, " Alice@Example.COM ", "", "")
	s, err := postgres.New(ctx, testPool(t), postgres.Config{Schema: schema})
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	u, err := s.UserByEmail(ctx, "alice@example.com")
	if err != nil || u.Username != "user-a" || u.EmailVerified || u.TokenVersion != 2 || !u.TokensEndedAt.IsZero() {
		t.Fatalf("after the upgrade: %+v, %v", u, err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.UserBySession(ctx, id, "s"+id); err != nil {
			t.Fatalf("session of %s after the upgrade: %v", id, err)
		}
	}
	if err := s.CreateLinkToken(ctx, &recovery.LinkToken{Hash: []byte("h"), UserID: "b", Purpose: recovery.LinkVerifyEmail,
		Email: "b@example.com", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("link tokens after the upgrade: %v", err)
	}

	dup := v1Schema(t, "same@example.com", "SAME@example.com")
	_, err = postgres.New(ctx, testPool(t), postgres.Config{Schema: dup})
	if err == nil || !strings.Contains(err.Error(), "1 addresses belong to more than one account") {
		t.Fatalf("upgrade with a shared email = %v, want a message saying so", err)
	}
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	var email string
	q := pgx.Identifier{dup}.Sanitize()
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+q+`.auth_schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d migrations recorded after a refused upgrade, %v", n, err)
	}
	if err := conn.QueryRow(ctx, `SELECT email FROM `+q+`.auth_users WHERE id = 'b'`).Scan(&email); err != nil || email != "SAME@example.com" {
		t.Fatalf("a refused upgrade changed an email to %q (%v)", email, err)
	}
}
