package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema changes, in order. Migration i takes the schema
// from version i to version i+1 (PRAGMA user_version). Append only: never
// edit or reorder a migration that has been released.
var migrations = []string{
	// 1: users and refresh sessions.
	`CREATE TABLE users (
		id            TEXT    PRIMARY KEY,
		username      TEXT    NOT NULL UNIQUE,
		email         TEXT    NOT NULL DEFAULT '',
		password_hash TEXT    NOT NULL,
		disabled      INTEGER NOT NULL DEFAULT 0,
		roles         TEXT    NOT NULL DEFAULT 'null', -- JSON array
		token_version INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL, -- Unix microseconds, UTC
		updated_at    INTEGER NOT NULL
	) STRICT;
	CREATE TABLE sessions (
		id           TEXT    PRIMARY KEY,
		user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		token_hash   BLOB    NOT NULL,
		prev_hash    BLOB,
		rotated_at   INTEGER,
		user_version INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		expires_at   INTEGER NOT NULL,
		revoked      INTEGER NOT NULL DEFAULT 0
	) STRICT;
	CREATE INDEX sessions_user_id ON sessions (user_id);`,

	// 2: emails normalised and unique, their verification, and the tokens
	// of mailed links. (Open checks first that no two accounts share an
	// address: see uniqueEmails.)
	`UPDATE users SET email = lower(trim(email));
	ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
	CREATE UNIQUE INDEX users_email ON users (email) WHERE email != '';
	CREATE TABLE link_tokens (
		hash       BLOB    PRIMARY KEY, -- SHA-256 of the token
		user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		purpose    TEXT    NOT NULL,
		email      TEXT    NOT NULL,
		binding    BLOB,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX link_tokens_user ON link_tokens (user_id, purpose);`,

	// 3: what a user sees of each login (ListSessions).
	`ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
	ALTER TABLE sessions ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';`,

	// 4: links die with the credentials they were sent for: each records
	// the user's token version when it was made (recovery.LinkToken). Links
	// pending from before carry no version, and were made under the old
	// rules: they go.
	// And at most so many live sessions per user (TrimSessions): an index
	// of the live ones, so that counting them does not read the user's
	// revoked ones, which stay until they expire.
	`DELETE FROM link_tokens;
	ALTER TABLE link_tokens DROP COLUMN binding;
	ALTER TABLE link_tokens ADD COLUMN user_version INTEGER NOT NULL DEFAULT -1;
	CREATE INDEX link_tokens_user_id ON link_tokens (user_id);
	CREATE INDEX sessions_live ON sessions (user_id) WHERE revoked = 0;`,

	// 5: when each user's tokens were last ended (auth.User.TokensEndedAt),
	// which ends the tokens that carry no version: NULL, never (or before
	// this version: none of those tokens is older than the upgrade by more
	// than its lifetime).
	`ALTER TABLE users ADD COLUMN tokens_ended_at INTEGER; -- Unix microseconds, UTC; NULL: never`,

	// 6: second factors (mfastore.Store): each user's authenticator-app
	// enrolment, pending or confirmed; its recovery codes, which go with
	// it; and the logins waiting for their second factor.
	`CREATE TABLE mfa_totp (
		user_id    TEXT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
		id         TEXT    NOT NULL,
		sealed     BLOB    NOT NULL, -- sealed by package mfa
		confirmed  INTEGER NOT NULL DEFAULT 0,
		last_step  INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	) STRICT;
	CREATE TABLE mfa_recovery_codes (
		user_id   TEXT NOT NULL REFERENCES mfa_totp (user_id) ON DELETE CASCADE,
		code_hash BLOB NOT NULL, -- keyed hash of the code
		PRIMARY KEY (user_id, code_hash)
	) STRICT;
	CREATE TABLE mfa_challenges (
		id           BLOB    PRIMARY KEY, -- SHA-256 of the challenge token
		user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		methods      TEXT    NOT NULL, -- JSON array
		user_version INTEGER NOT NULL,
		created_at   INTEGER NOT NULL,
		expires_at   INTEGER NOT NULL
	) STRICT;
	CREATE INDEX mfa_challenges_user_id ON mfa_challenges (user_id);
	CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);`,

	// 7: passkeys (passkeystore.Store): each user's WebAuthn user handle;
	// the user's credentials, which need the handle and go with it; and
	// the ceremonies in progress, a registration's with its user.
	`CREATE TABLE passkey_user_handles (
		user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
		handle  BLOB NOT NULL UNIQUE
	) STRICT;
	CREATE TABLE passkey_credentials (
		id              BLOB    PRIMARY KEY,
		user_id         TEXT    NOT NULL REFERENCES passkey_user_handles (user_id) ON DELETE CASCADE,
		name            TEXT    NOT NULL,
		public_key      BLOB    NOT NULL, -- COSE_Key
		sign_count      INTEGER NOT NULL,
		backup_eligible INTEGER NOT NULL,
		backup_state    INTEGER NOT NULL,
		aaguid          BLOB    NOT NULL, -- 16 bytes, or empty
		transports      TEXT    NOT NULL, -- JSON array
		created_at      INTEGER NOT NULL,
		last_used_at    INTEGER -- NULL: never
	) STRICT;
	CREATE INDEX passkey_credentials_user_id ON passkey_credentials (user_id, created_at, id);
	CREATE TABLE passkey_ceremonies (
		id         BLOB    PRIMARY KEY, -- SHA-256 of the ceremony token
		kind       TEXT    NOT NULL,
		user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE, -- NULL: a login or a sign-up
		data       BLOB    NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX passkey_ceremonies_user_id ON passkey_ceremonies (user_id);
	CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);`,

	// 8: sign-in through other providers (identitystore.Store): the
	// provider accounts linked to users, each linked once and each user's
	// one per provider; and the sign-ins and links in progress, a link's
	// with its user.
	`CREATE TABLE identities (
		user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		provider  TEXT    NOT NULL,
		issuer    TEXT    NOT NULL,
		subject   TEXT    NOT NULL,
		email     TEXT    NOT NULL,
		linked_at INTEGER NOT NULL,
		PRIMARY KEY (user_id, provider),
		UNIQUE (issuer, subject)
	) STRICT;
	CREATE TABLE identity_attempts (
		id         BLOB    PRIMARY KEY, -- SHA-256 of the state parameter
		binding    BLOB    NOT NULL, -- SHA-256 of the browser's cookie
		provider   TEXT    NOT NULL,
		user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE, -- NULL: a sign-in
		data       BLOB    NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX identity_attempts_user_id ON identity_attempts (user_id);
	CREATE INDEX identity_attempts_expires_at ON identity_attempts (expires_at);`,
}

// prechecks run before the migration of the same index, in its
// transaction, to refuse with a clear message what the migration would
// fail on.
var prechecks = map[int]func(ctx context.Context, tx *sql.Tx) error{
	1: uniqueEmails,
}

// uniqueEmails refuses to make emails unique while accounts share one (it
// was not enforced before): the operator settles those first.
func uniqueEmails(ctx context.Context, tx *sql.Tx) error {
	var shared int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT lower(trim(email)) AS e FROM users
		WHERE trim(email) != '' GROUP BY e HAVING count(*) > 1)`).Scan(&shared)
	if err != nil {
		return err
	}
	if shared > 0 {
		return fmt.Errorf("sqlite: Open: this version makes emails unique, but %d addresses belong to more than one account "+
			"(compared without case): give those accounts different addresses, or none, then open the file again", shared)
	}
	return nil
}

// migrate brings the schema of the database behind db (the writer) up to
// date, in one immediate transaction, so that concurrent Opens of one file
// apply each migration once.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrapOpen(ctx, err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return wrapOpen(ctx, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlite: Open: schema version %d is newer than this package knows (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if check := prechecks[i]; check != nil {
			if err := check(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return wrapOpen(ctx, fmt.Errorf("migration %d: %w", i+1, err))
		}
	}
	// PRAGMA takes no parameters; the value is a constant of this package.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return wrapOpen(ctx, err)
	}
	if err := tx.Commit(); err != nil {
		return wrapOpen(ctx, err)
	}
	return nil
}
