package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migration is one numbered schema change. Its SQL names tables as
// {schema}.name; migrate substitutes the quoted schema. Once released, a
// migration never changes: later changes are new migrations.
type migration struct {
	version     int
	description string
	sql         string
}

var migrations = []migration{
	{1, "users and refresh sessions", `
CREATE TABLE {schema}.auth_users (
	id            text PRIMARY KEY,
	username      text COLLATE "C" NOT NULL,
	email         text NOT NULL DEFAULT '',
	password_hash text NOT NULL,
	disabled      boolean NOT NULL DEFAULT false,
	roles         text[] NOT NULL DEFAULT '{}',
	token_version bigint NOT NULL DEFAULT 0,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX auth_users_username_key ON {schema}.auth_users (username);
CREATE TABLE {schema}.auth_sessions (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES {schema}.auth_users (id) ON DELETE CASCADE,
	token_hash   bytea NOT NULL,
	prev_hash    bytea,
	rotated_at   timestamptz,
	user_version bigint NOT NULL,
	revoked      boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL
);
CREATE INDEX auth_sessions_user_id_idx ON {schema}.auth_sessions (user_id);
-- No index on expires_at: every rotation changes it, and an index on it
-- would rule out HOT updates on the hottest write. The occasional
-- DeleteExpiredSessions scans instead.
`},
	{2, "emails normalised and unique, their verification, mailed links' tokens", `
UPDATE {schema}.auth_users SET email = lower(trim(email)) WHERE email <> lower(trim(email));
ALTER TABLE {schema}.auth_users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX auth_users_email_key ON {schema}.auth_users (email) WHERE email <> '';
CREATE TABLE {schema}.auth_link_tokens (
	hash       bytea PRIMARY KEY, -- SHA-256 of the token
	user_id    text NOT NULL REFERENCES {schema}.auth_users (id) ON DELETE CASCADE,
	purpose    text NOT NULL,
	email      text NOT NULL,
	binding    bytea,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX auth_link_tokens_user_idx ON {schema}.auth_link_tokens (user_id, purpose);
`},
	{3, "what a user sees of each login", `
ALTER TABLE {schema}.auth_sessions ADD COLUMN user_agent text NOT NULL DEFAULT '';
ALTER TABLE {schema}.auth_sessions ADD COLUMN client_addr text NOT NULL DEFAULT '';
`},
	{4, "the failed-login limiter shared by every instance", limiterMigration},
	{5, "the limiter's familiar clients", familiarMigration},
	{6, "links die with the credentials they were sent for", `
-- Each link records the user's token version when it was made
-- (recovery.LinkToken). Links pending from before carry none, and were made
-- under the old rules: they go.
DELETE FROM {schema}.auth_link_tokens;
ALTER TABLE {schema}.auth_link_tokens DROP COLUMN binding;
ALTER TABLE {schema}.auth_link_tokens ADD COLUMN user_version bigint NOT NULL DEFAULT -1;

-- The live sessions of a user, without the revoked ones (which stay until
-- they expire): what TrimSessions counts. Rotations change neither column,
-- so they stay HOT.
CREATE INDEX auth_sessions_live_idx ON {schema}.auth_sessions (user_id) WHERE NOT revoked;

-- At most keep live sessions per user (auth.SessionStore.TrimSessions):
-- when the user has more, the live sessions but the keep most recently
-- used are revoked, after a transaction-scoped lock of the user's sessions
-- (lock_key), so that the calls that trim run one after the other. A
-- function, so that it is one round trip and its UPDATE takes its snapshot
-- once the lock is held. The count needs no lock: it follows the caller's
-- own insert, so the last of calls made at once counts every session
-- they opened.
CREATE FUNCTION {schema}.auth_trim_sessions(lock_key text, uid text, now_at timestamptz, keep int)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT count(*) FROM {schema}.auth_sessions s JOIN {schema}.auth_users u ON u.id = s.user_id
		WHERE s.user_id = uid AND NOT s.revoked AND s.expires_at > now_at AND s.user_version = u.token_version) <= keep THEN
		RETURN;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
	RETURN QUERY UPDATE {schema}.auth_sessions SET revoked = true WHERE id IN (
		SELECT s.id FROM {schema}.auth_sessions s JOIN {schema}.auth_users u ON u.id = s.user_id
		WHERE s.user_id = uid AND NOT s.revoked AND s.expires_at > now_at AND s.user_version = u.token_version
		ORDER BY COALESCE(s.rotated_at, s.created_at) DESC, s.created_at DESC, s.id COLLATE "C" DESC
		OFFSET keep)
	RETURNING id;
END $$;
`},
	{7, "when each user's tokens were last ended", `
-- auth.User.TokensEndedAt, which ends the tokens that carry no version
-- (the FastAPI tutorials' access tokens, auth.Config.Tokens.LegacyUntil).
-- NULL: never, or before this migration.
ALTER TABLE {schema}.auth_users ADD COLUMN IF NOT EXISTS tokens_ended_at timestamptz;
`},
	{8, "second factors: TOTP enrolments, recovery codes, login challenges", `
-- mfastore.Store: each user's authenticator-app enrolment, pending or
-- confirmed (sealed by package mfa); its recovery codes (keyed hashes),
-- which go with it; and the logins waiting for their second factor, by the
-- SHA-256 of their token. Everything goes with the user.
CREATE TABLE {schema}.auth_mfa_totp (
	user_id    text PRIMARY KEY REFERENCES {schema}.auth_users (id) ON DELETE CASCADE,
	id         text NOT NULL,
	sealed     bytea NOT NULL,
	confirmed  boolean NOT NULL DEFAULT false,
	last_step  bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL
);
CREATE TABLE {schema}.auth_mfa_recovery_codes (
	user_id   text NOT NULL REFERENCES {schema}.auth_mfa_totp (user_id) ON DELETE CASCADE,
	code_hash bytea NOT NULL,
	PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE {schema}.auth_mfa_challenges (
	id           bytea PRIMARY KEY,
	user_id      text NOT NULL REFERENCES {schema}.auth_users (id) ON DELETE CASCADE,
	methods      text[] NOT NULL,
	user_version bigint NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL
);
CREATE INDEX auth_mfa_challenges_user_id_idx ON {schema}.auth_mfa_challenges (user_id);
CREATE INDEX auth_mfa_challenges_expires_at_idx ON {schema}.auth_mfa_challenges (expires_at);
`},
	{9, "passkeys: user handles, credentials, ceremonies", `
-- passkeystore.Store: each user's WebAuthn user handle; the user's
-- credentials (passkeys), which need the handle and go with it; and the
-- ceremonies in progress, by the SHA-256 of their token, a registration's
-- with its user. Everything goes with the user.
CREATE TABLE {schema}.auth_passkey_user_handles (
	user_id text PRIMARY KEY REFERENCES {schema}.auth_users (id) ON DELETE CASCADE,
	handle  bytea NOT NULL UNIQUE
);
CREATE TABLE {schema}.auth_passkey_credentials (
	id              bytea PRIMARY KEY,
	user_id         text NOT NULL REFERENCES {schema}.auth_passkey_user_handles (user_id) ON DELETE CASCADE,
	name            text NOT NULL,
	public_key      bytea NOT NULL, -- COSE_Key
	sign_count      bigint NOT NULL, -- a uint32
	backup_eligible boolean NOT NULL,
	backup_state    boolean NOT NULL,
	aaguid          bytea NOT NULL, -- 16 bytes, or empty
	transports      text[] NOT NULL,
	created_at      timestamptz NOT NULL,
	last_used_at    timestamptz -- NULL: never
);
CREATE INDEX auth_passkey_credentials_user_id_idx ON {schema}.auth_passkey_credentials (user_id, created_at, id);
CREATE TABLE {schema}.auth_passkey_ceremonies (
	id         bytea PRIMARY KEY,
	kind       text NOT NULL,
	user_id    text REFERENCES {schema}.auth_users (id) ON DELETE CASCADE, -- NULL: a login or a sign-up
	data       bytea NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX auth_passkey_ceremonies_user_id_idx ON {schema}.auth_passkey_ceremonies (user_id);
CREATE INDEX auth_passkey_ceremonies_expires_at_idx ON {schema}.auth_passkey_ceremonies (expires_at);
`},
	{10, "sign-in through other providers: linked identities, attempts", `
-- identitystore.Store: the provider accounts linked to users, each linked
-- once (issuer, subject) and each user's one per provider; and the
-- sign-ins and links in progress, by the SHA-256 of their state, a link's
-- with its user. Everything goes with the user.
CREATE TABLE {schema}.auth_identities (
	user_id   text NOT NULL REFERENCES {schema}.auth_users (id) ON DELETE CASCADE,
	provider  text COLLATE "C" NOT NULL,
	issuer    text COLLATE "C" NOT NULL,
	subject   text COLLATE "C" NOT NULL,
	email     text NOT NULL,
	linked_at timestamptz NOT NULL,
	PRIMARY KEY (user_id, provider),
	UNIQUE (issuer, subject)
);
CREATE TABLE {schema}.auth_identity_attempts (
	id         bytea PRIMARY KEY,
	binding    bytea NOT NULL, -- SHA-256 of the browser's cookie
	provider   text NOT NULL,
	user_id    text REFERENCES {schema}.auth_users (id) ON DELETE CASCADE, -- NULL: a sign-in
	data       bytea NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX auth_identity_attempts_user_id_idx ON {schema}.auth_identity_attempts (user_id);
CREATE INDEX auth_identity_attempts_expires_at_idx ON {schema}.auth_identity_attempts (expires_at);
`},
	{11, "every instance's cache told of each change to users and sessions", cacheMigration},
}

// cacheMigration is migration 11 (see the package documentation, "Caching
// and exact revocation"): triggers that notify, in the changing
// transaction, every change to a user or to a session's liveness, on the
// schema's channel (goauthkit_ and the MD5 of the schema's name, which
// Go's cacheChannel computes alike); the barrier clock; and the instances
// that cache, with their leases and the last barrier each acknowledged.
const cacheMigration = `
-- The user's id, or '*' (everything) for an id too long for a payload
-- (under 8000 bytes) or after a TRUNCATE. The schema's name is hashed as
-- UTF-8, as Go hashes it, whatever the database's encoding.
CREATE FUNCTION {schema}.auth_cache_note(id text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN octet_length(id) < 4000 THEN 'u:' || id ELSE '*' END
$$;
CREATE FUNCTION {schema}.auth_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	chan text := 'goauthkit_' || md5(convert_to(TG_TABLE_SCHEMA, 'UTF8'));
BEGIN
	IF TG_LEVEL = 'STATEMENT' THEN -- TRUNCATE
		PERFORM pg_notify(chan, '*');
	ELSIF TG_TABLE_NAME = 'auth_users' THEN
		PERFORM pg_notify(chan, {schema}.auth_cache_note(OLD.id));
		IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
			PERFORM pg_notify(chan, {schema}.auth_cache_note(NEW.id));
		END IF;
	ELSE
		PERFORM pg_notify(chan, {schema}.auth_cache_note(OLD.user_id));
		IF TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id THEN
			PERFORM pg_notify(chan, {schema}.auth_cache_note(NEW.user_id));
		END IF;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER auth_cache_user_changed AFTER UPDATE ON {schema}.auth_users
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION {schema}.auth_cache_notify();
CREATE TRIGGER auth_cache_user_deleted AFTER DELETE ON {schema}.auth_users
	FOR EACH ROW EXECUTE FUNCTION {schema}.auth_cache_notify();
CREATE TRIGGER auth_cache_users_truncated AFTER TRUNCATE ON {schema}.auth_users
	FOR EACH STATEMENT EXECUTE FUNCTION {schema}.auth_cache_notify();
-- A rotation changes a session's token, not its liveness: no notification.
CREATE TRIGGER auth_cache_session_changed AFTER UPDATE ON {schema}.auth_sessions
	FOR EACH ROW WHEN (OLD.revoked IS DISTINCT FROM NEW.revoked OR OLD.id IS DISTINCT FROM NEW.id
		OR OLD.user_id IS DISTINCT FROM NEW.user_id) EXECUTE FUNCTION {schema}.auth_cache_notify();
CREATE TRIGGER auth_cache_session_deleted AFTER DELETE ON {schema}.auth_sessions
	FOR EACH ROW EXECUTE FUNCTION {schema}.auth_cache_notify();
CREATE TRIGGER auth_cache_sessions_truncated AFTER TRUNCATE ON {schema}.auth_sessions
	FOR EACH STATEMENT EXECUTE FUNCTION {schema}.auth_cache_notify();
-- Even where triggers are off for replication (session_replication_role
-- replica: a logical replica's apply, pg_restore --disable-triggers).
ALTER TABLE {schema}.auth_users ENABLE ALWAYS TRIGGER auth_cache_user_changed,
	ENABLE ALWAYS TRIGGER auth_cache_user_deleted, ENABLE ALWAYS TRIGGER auth_cache_users_truncated;
ALTER TABLE {schema}.auth_sessions ENABLE ALWAYS TRIGGER auth_cache_session_changed,
	ENABLE ALWAYS TRIGGER auth_cache_session_deleted, ENABLE ALWAYS TRIGGER auth_cache_sessions_truncated;
-- The barrier clock: one row, which every barrier increments, so that
-- barriers commit (and their notifications arrive) in the order of their
-- numbers.
CREATE TABLE {schema}.auth_cache_clock (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	n   bigint NOT NULL
);
INSERT INTO {schema}.auth_cache_clock (n) VALUES (0);
CREATE TABLE {schema}.auth_cache_instances (
	id         text PRIMARY KEY,
	acked      bigint NOT NULL, -- every barrier up to this one is heard
	expires_at timestamptz NOT NULL
);
`

// lockName is the first key of the advisory lock; the schema name is the
// second, so stores in different schemas do not wait for each other.
const lockName = "github.com/goauthkit/auth/store/postgres migrations"

// migrate brings schema (the connection's current schema if empty) up to
// date in one transaction, under a transaction-scoped advisory lock, and
// returns the schema's name.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (string, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", unavailable(ctx, err)
	}
	// After Commit, Rollback is a no-op; after an error it ends the
	// transaction (or pgx closes the connection if it cannot).
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	explicit := schema != ""
	if !explicit {
		var cur *string
		if err := tx.QueryRow(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
			return "", unavailable(ctx, err)
		}
		if cur == nil {
			return "", errors.New("postgres: the connection's search_path names no existing schema; create one or set Config.Schema")
		}
		schema = *cur
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", lockName, schema); err != nil {
		return "", unavailable(ctx, err)
	}

	// Look before creating, so that a role without the CREATE privilege can
	// start on a schema that someone else prepared.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return "", unavailable(ctx, err)
	}
	if !exists {
		if !explicit {
			return "", fmt.Errorf("postgres: schema %q does not exist", schema)
		}
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return "", fmt.Errorf("postgres: create schema %q: %w", schema, unavailable(ctx, err))
		}
	}
	table := ident(schema, "auth_schema_migrations")
	var regclass *string
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1)::text", table).Scan(&regclass); err != nil {
		return "", unavailable(ctx, err)
	}
	if regclass == nil {
		_, err := tx.Exec(ctx, "CREATE TABLE "+table+migrationsTable)
		if err != nil {
			return "", fmt.Errorf("postgres: create migrations table: %w", unavailable(ctx, err))
		}
	}

	applied := make(map[int]bool)
	rows, err := tx.Query(ctx, "SELECT version FROM "+table)
	if err != nil {
		return "", unavailable(ctx, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return "", unavailable(ctx, err)
	}
	for _, v := range versions {
		applied[int(v)] = true
	}

	quoted := pgx.Identifier{schema}.Sanitize()
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if m.version == 2 {
			// It makes emails unique, which was not enforced before:
			// refuse clearly if accounts share one.
			var shared int
			err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT lower(trim(email)) AS e FROM `+ident(schema, "auth_users")+
				` WHERE trim(email) <> '' GROUP BY 1 HAVING count(*) > 1) d`).Scan(&shared)
			if err != nil {
				return "", unavailable(ctx, err)
			}
			if shared > 0 {
				return "", fmt.Errorf("postgres: migration 2 makes emails unique, but %d addresses belong to more than one account "+
					"(compared without case): give those accounts different addresses, or none, then start again", shared)
			}
		}
		// No arguments: pgx sends it with the simple protocol, which runs
		// several statements.
		if _, err := tx.Exec(ctx, strings.ReplaceAll(m.sql, "{schema}", quoted)); err != nil {
			return "", fmt.Errorf("postgres: migration %d (%s): %w", m.version, m.description, unavailable(ctx, err))
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, description) VALUES ($1, $2)", m.version, m.description); err != nil {
			return "", unavailable(ctx, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return "", unavailable(ctx, err)
	}
	return schema, nil
}
