// Package usertable shows how to bring your own users table: an auth.Store
// over a service's existing SQLite table of another shape than the
// library's,
//
//	CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
//	    password_hash TEXT NOT NULL, is_active INTEGER NOT NULL DEFAULT 1)
//
// with the required methods alone (auth.Store: users and sessions). It is
// documentation: read it, copy it, adapt it to your table.
//
// # The mapping
//
// The table keeps its shape and stays the service's: the adapter reads and
// writes its rows, and puts what the table lacks in tables of its own,
// keyed by users.id, which New creates if they are missing:
// auth_user_state (username, roles, token version, email verification,
// timestamps), auth_sessions (refresh sessions) and auth_retired_ids (the
// ids whose rows went, with the greatest token version their tokens can
// have). A users row the library has never written has no state row, and
// reads as a user with no roles, unknown timestamps and token version 0,
// or, at a retired id, one more than the id's retired version.
//
//   - id INTEGER ↔ auth.User.ID, in decimal. The table makes the ids, so
//     CreateUser sets u.ID to the one it made (the UserStore contract
//     allows it).
//   - email ↔ Email, and Username too: the address is the login name of
//     the accounts the service already has. An account that Register
//     makes with a username other than its email keeps the username in
//     auth_user_state; one made without an email keeps its username in the
//     email column (marked by auth_user_state.no_email, which a service
//     that mails users.email must heed). The library looks login names up
//     in their normal form (lower case, see auth.NormalizeEmail): a table
//     that keeps addresses as typed needs them lower-cased once.
//   - password_hash ↔ PasswordHash. The library verifies the bcrypt hashes
//     it finds there and replaces each with an argon2id hash at the user's
//     next login (UpdatePasswordHash), in the same column.
//   - is_active ↔ !Disabled: a user the service deactivates can neither log
//     in nor use the tokens they hold, at once.
//
// # What the store contract asks, and how
//
// Each write is one transaction that takes SQLite's write lock when it
// begins (the _txlock=immediate of DSNParams), so a check and the change it
// guards are atomic: a login name taken, the compare-and-swap of
// UpdatePasswordHash, the rotation of a refresh token with its reuse
// detection, the last holder of a kept role. A logout-all or a password
// change increments the token version and revokes the sessions in the same
// transaction. Text that is not valid UTF-8 or holds a NUL is refused
// (auth.ErrInvalidInput) or matches nothing; every failure of the database
// wraps auth.ErrStoreUnavailable. store/storetest checks all of it
// (usertable_test.go).
//
// # Deleted users, and their ids
//
// auth.User.ID says an id is never reused, but SQLite gives a new row the
// largest id plus one (the table has no AUTOINCREMENT), so the next user
// gets the id of a deleted newest one, and a service may insert rows with
// ids of its choosing. Access tokens name their user by id and token
// version only, and one issued without a session
// (Authenticator.IssueAccessToken) lives until it expires: it must not
// pass for the id's next user. So the adapter retires the id of a
// deleted row, with two triggers that New puts on users, the only
// additions to the table's schema (they change none of its columns).
//
// The first fires when the service deletes a row, whether or not its
// connection has foreign keys on: it records the id's token version in
// auth_retired_ids (one small row per deleted user, kept for good) and
// deletes the user's state and sessions. A later row at that id, made by
// CreateUser or inserted by the service itself, starts at a greater
// version, so every token and session of every earlier holder of the id
// is refused.
//
// The second covers a row that goes without firing the first: an INSERT
// OR REPLACE deletes the rows it replaces without delete triggers unless
// the connection has PRAGMA recursive_triggers on. When a row is inserted
// at an id that has a state row, sessions or a retirement, it retires the
// id again: the new row is a new user, with none of the roles, sessions
// or tokens of a replaced one. So change a row in place with UPDATE or an
// upsert (INSERT ... ON CONFLICT DO UPDATE): a REPLACE logs its user out
// and drops their roles. What it cannot see is a replaced row that left
// no trace: one the library never wrote nor opened a session for, at an
// id never retired, whose tokens (from IssueAccessToken) would pass for
// the row that replaces it at its id. A service that REPLACEs rows turns
// recursive_triggers on in every connection (_pragma=recursive_triggers(1)
// in the DSN), which closes that too. (A row that a REPLACE gives another
// id leaves its side rows behind, its username still taken, until its old
// id is reused.) No trigger covers an UPDATE of users.id: the account's
// state and sessions do not follow it, so never move an account to
// another id.
//
// The Authenticator's limiter remembers the clients familiar to an
// account by its id (Limits.FamiliarFor), so a new user at a reused id
// inherits the familiarity of the earlier holder's clients: they still
// need the new user's password and are still held by the per-address
// limits; they are only spared the per-account limit (Limits.LoginUser)
// for a while. That relaxes one limit and grants nothing.
//
// # The optional capabilities
//
// What the adapter leaves out are the optional capabilities, which a
// service adds when it wants their features: recovery.LinkStore (mailed
// links: recovery.New refuses a Store without it), admin.UserLister
// (the administrators' list of users: without it, authhttp's
// GET /admin/users answers 404) and auth.UserDeleter.
package usertable

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goauthkit/auth"
)

// UsersTable is the service's table that this adapter is written for, as
// it was before the library came.
const UsersTable = `CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	is_active     INTEGER NOT NULL DEFAULT 1
)`

// DSNParams are the connection parameters (of modernc.org/sqlite's DSN)
// that the database handle given to New needs: transactions that take the
// write lock when they begin, so that none fails half-way on a lock that
// another holds, and a busy timeout, so that writers queue for the lock
// rather than fail. Add _pragma=journal_mode(WAL) if the service can: then
// readers never wait for a writer.
const DSNParams = "_txlock=immediate&_pragma=busy_timeout(10000)"

// sideTables keep what the users table lacks, keyed by users.id.
// Timestamps are Unix microseconds.
const sideTables = `
CREATE TABLE IF NOT EXISTS auth_user_state (
	user_id        INTEGER PRIMARY KEY,
	username       TEXT UNIQUE,                -- NULL: the username is users.email
	no_email       INTEGER NOT NULL DEFAULT 0, -- 1: users.email holds the username
	email_verified INTEGER NOT NULL DEFAULT 0,
	roles          TEXT NOT NULL DEFAULT '[]', -- a JSON array
	token_version  INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER,                    -- NULL: unknown
	updated_at     INTEGER,
	tokens_ended_at INTEGER                   -- NULL: never (auth.User.TokensEndedAt)
);
CREATE TABLE IF NOT EXISTS auth_sessions (
	id           TEXT PRIMARY KEY,
	user_id      INTEGER NOT NULL,
	token_hash   BLOB NOT NULL,
	prev_hash    BLOB,
	user_version INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	rotated_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked      INTEGER NOT NULL DEFAULT 0,
	user_agent   TEXT NOT NULL,
	client_addr  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_sessions_by_user ON auth_sessions (user_id);
CREATE TABLE IF NOT EXISTS auth_retired_ids (
	id            INTEGER PRIMARY KEY, -- a users.id whose row went
	token_version INTEGER NOT NULL     -- no earlier holder's token has a greater one
);`

// triggers retire the id of a users row that goes: they record the token
// version that the id had (versionOf) in auth_retired_ids, and delete its
// state row and sessions. auth_user_deleted does it when the row is
// deleted. auth_user_replaced does it again when a row is inserted at an
// id that has any of those, which may be a row's that went without the
// first trigger (an INSERT OR REPLACE, whose deletions fire no delete
// trigger unless recursive_triggers is on); after a DELETE it only skips
// a version. New replaces both, so that a database made by an older
// version of this code gets these ones.
var triggers = `
DROP TRIGGER IF EXISTS auth_user_deleted;
CREATE TRIGGER auth_user_deleted AFTER DELETE ON users BEGIN` + retire("OLD.id") + `END;
DROP TRIGGER IF EXISTS auth_user_replaced;
CREATE TRIGGER auth_user_replaced AFTER INSERT ON users
WHEN EXISTS (SELECT 1 FROM auth_user_state WHERE user_id = NEW.id)
	OR EXISTS (SELECT 1 FROM auth_sessions WHERE user_id = NEW.id)
	OR EXISTS (SELECT 1 FROM auth_retired_ids WHERE id = NEW.id) BEGIN` + retire("NEW.id") + `END;`

// retire is the body of a trigger that retires the id id.
func retire(id string) string {
	return `
	INSERT OR REPLACE INTO auth_retired_ids (id, token_version) SELECT ` + id + `, ` + versionOf(id) + `;
	DELETE FROM auth_user_state WHERE user_id = ` + id + `;
	DELETE FROM auth_sessions WHERE user_id = ` + id + `;
`
}

// versionOf is the token version of the user with the id id: that of its
// state row; else, at a retired id, one more than the retired version, so
// that no token of an earlier holder of the id is the new one's; else 0.
// Every read of a user and every state row the adapter makes take it.
func versionOf(id string) string {
	return `COALESCE((SELECT token_version FROM auth_user_state WHERE user_id = ` + id + `),
		(SELECT token_version + 1 FROM auth_retired_ids WHERE id = ` + id + `), 0)`
}

// Store is an auth.Store over the users table and the side tables. It is
// safe for concurrent use.
type Store struct {
	db *sql.DB
}

var _ auth.Store = (*Store)(nil)

// New returns a Store over db, a database holding UsersTable and opened
// with DSNParams, and creates the side tables if they are missing and its
// triggers on users (replacing any it made before), in one transaction.
// The caller keeps db, and closes it.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	s := &Store{db: db}
	err := s.tx(ctx, "New", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sideTables+triggers); err != nil {
			return err
		}
		return addColumns(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("usertable: creating the side tables: %w", err)
	}
	return s, nil
}

// addedColumns are the columns of the side tables that an older version of
// this code made without: addColumns adds each that is missing.
var addedColumns = []struct{ table, column, decl string }{
	{"auth_user_state", "tokens_ended_at", "INTEGER"},
}

// addColumns adds the addedColumns that are missing (SQLite has no ADD
// COLUMN IF NOT EXISTS), so that New can run on a database of any earlier
// version, and again.
func addColumns(ctx context.Context, tx *sql.Tx) error {
	for _, c := range addedColumns {
		var has bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pragma_table_info(?) WHERE name = ?)`, c.table, c.column).Scan(&has)
		if err != nil {
			return err
		}
		if !has {
			// The names are constants of this package.
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.decl); err != nil {
				return err
			}
		}
	}
	return nil
}

// A user is a users row and its state row, if any.
const (
	userColumns = `u.id, COALESCE(a.username, u.email), IIF(a.no_email, '', u.email),
		COALESCE(a.email_verified, 0), u.password_hash, u.is_active,
		COALESCE(a.roles, '[]'), ` + userVersion + `, a.created_at, a.updated_at, a.tokens_ended_at`
	userTables = `users u LEFT JOIN auth_user_state a ON a.user_id = u.id LEFT JOIN auth_retired_ids r ON r.id = u.id`
	// userVersion is versionOf(u.id), through the joins of userTables.
	userVersion = `COALESCE(a.token_version, r.token_version + 1, 0)`
	selectUser  = `SELECT ` + userColumns + ` FROM ` + userTables
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanUser reads a row of userColumns (then extra) into a user;
// auth.ErrNotFound if there is none.
func scanUser(row scanner, extra ...any) (*auth.User, error) {
	var (
		u                auth.User
		id               int64
		active           bool
		roles            string
		created, updated sql.NullInt64
		ended            sql.NullInt64
	)
	dest := append([]any{&id, &u.Username, &u.Email, &u.EmailVerified, &u.PasswordHash, &active,
		&roles, &u.TokenVersion, &created, &updated, &ended}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, notFound(err)
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, err
	}
	u.ID, u.Disabled = formatID(id), !active
	if created.Valid {
		u.CreatedAt = fromMicros(created.Int64)
	}
	if updated.Valid {
		u.UpdatedAt = fromMicros(updated.Int64)
	}
	if ended.Valid {
		u.TokensEndedAt = fromMicros(ended.Int64)
	}
	return &u, nil
}

// CreateUser implements auth.UserStore: a users row, whose id becomes u.ID,
// and its state row. At a retired id the token version starts past the
// id's last, and u.TokenVersion becomes it (Register, the caller, reads u
// after the call). Every login name (a username or an email) names one
// account: users.email holds the emails and the usernames of the accounts
// without one, auth_user_state.username the others.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	if !storable(u.ID, u.Username, u.Email, u.PasswordHash) || !storable(u.Roles...) {
		return auth.ErrInvalidInput
	}
	roles, err := json.Marshal(u.Roles)
	if err != nil {
		return err
	}
	login := u.Email
	if login == "" {
		login = u.Username
	}
	var username any // NULL: the username is users.email
	if u.Username != login {
		username = u.Username
	}
	var id, version int64
	err = s.tx(ctx, "CreateUser", func(tx *sql.Tx) error {
		if taken, err := nameTaken(ctx, tx, u.Username); err != nil || taken {
			return refuse(err, auth.ErrUserExists)
		}
		if u.Email != "" && u.Email != u.Username {
			if taken, err := nameTaken(ctx, tx, u.Email); err != nil || taken {
				return refuse(err, auth.ErrEmailExists)
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO users (email, password_hash, is_active) VALUES (?, ?, ?) RETURNING id`,
			login, u.PasswordHash, !u.Disabled).Scan(&id)
		if err != nil {
			return err
		}
		// At a retired id, the version starts past the retired one.
		return tx.QueryRowContext(ctx, `INSERT INTO auth_user_state (user_id, username, no_email, email_verified, roles,
			token_version, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, max(?6, `+versionOf("?1")+`), ?7, ?8)
			RETURNING token_version`,
			id, username, u.Email == "", u.EmailVerified, string(roles), u.TokenVersion, micros(u.CreatedAt), micros(u.UpdatedAt),
		).Scan(&version)
	})
	if err != nil {
		return err
	}
	u.ID, u.TokenVersion = formatID(id), version
	return nil
}

// refuse returns err, the failure of a check, if there is one, else
// refusal, what the check found.
func refuse(err, refusal error) error {
	if err != nil {
		return err
	}
	return refusal
}

// nameTaken reports whether name is a login name of an account.
func nameTaken(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	var taken bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = ?1)
		OR EXISTS (SELECT 1 FROM auth_user_state WHERE username = ?1)`, name).Scan(&taken)
	return taken, err
}

// UserByID implements auth.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	key, err := userKey(ctx, id)
	if err != nil {
		return nil, err
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, selectUser+` WHERE u.id = ?`, key))
	return u, failure(ctx, "UserByID", err)
}

// UserByUsername implements auth.UserStore: the account whose state row
// has the username, else the one whose email is the username and has no
// other (both found through an index).
func (s *Store) UserByUsername(ctx context.Context, username string) (*auth.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, selectUser+` WHERE u.id = COALESCE(
		(SELECT user_id FROM auth_user_state WHERE username = ?1), (SELECT id FROM users WHERE email = ?1))
		AND COALESCE(a.username, u.email) = ?1`, username))
	return u, failure(ctx, "UserByUsername", err)
}

// UserByEmail implements auth.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if email == "" {
		return nil, auth.ErrNotFound
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, selectUser+` WHERE u.email = ? AND NOT COALESCE(a.no_email, 0)`, email))
	return u, failure(ctx, "UserByEmail", err)
}

// ChangeUser implements auth.UserStore.
func (s *Store) ChangeUser(ctx context.Context, id string, c auth.UserChange) (*auth.User, error) {
	if c.Roles != nil && !storable(*c.Roles...) {
		return nil, auth.ErrInvalidInput
	}
	key, err := userKey(ctx, id)
	if err != nil {
		return nil, err
	}
	var changed *auth.User
	err = s.tx(ctx, "ChangeUser", func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, selectUser+` WHERE u.id = ?`, key))
		if err != nil {
			return err
		}
		if c.TakesKeptRole(u) {
			var another bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users u JOIN auth_user_state a ON a.user_id = u.id
				WHERE u.id != ? AND u.is_active AND EXISTS (SELECT 1 FROM json_each(a.roles) WHERE value = ?))`,
				key, c.KeepRole).Scan(&another)
			if err != nil || !another {
				return refuse(err, auth.ErrLastAdmin)
			}
		}
		if c.Disabled != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET is_active = ? WHERE id = ?`, !*c.Disabled, key); err != nil {
				return err
			}
		}
		if err := touch(ctx, tx, key, c.Now); err != nil {
			return err
		}
		if c.Roles != nil {
			roles, err := json.Marshal(*c.Roles)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE auth_user_state SET roles = ? WHERE user_id = ?`, string(roles), key); err != nil {
				return err
			}
		}
		if c.Logout {
			if err := invalidate(ctx, tx, key, c.Now); err != nil {
				return err
			}
		}
		changed, err = scanUser(tx.QueryRowContext(ctx, selectUser+` WHERE u.id = ?`, key))
		return err
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// UpdatePasswordHash implements auth.UserStore: a compare-and-swap of
// users.password_hash.
func (s *Store) UpdatePasswordHash(ctx context.Context, id, oldHash, newHash string, logout bool, now time.Time) error {
	key, err := userKey(ctx, id)
	if err != nil {
		return err
	}
	if !storable(oldHash, newHash) {
		return auth.ErrInvalidInput
	}
	return s.tx(ctx, "UpdatePasswordHash", func(tx *sql.Tx) error {
		var stored string
		err := tx.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, key).Scan(&stored)
		if err != nil {
			return notFound(err)
		}
		if subtle.ConstantTimeCompare([]byte(stored), []byte(oldHash)) != 1 {
			return auth.ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, newHash, key); err != nil {
			return err
		}
		if err := touch(ctx, tx, key, now); err != nil || !logout {
			return err
		}
		return invalidate(ctx, tx, key, now)
	})
}

// InvalidateTokens implements auth.UserStore.
func (s *Store) InvalidateTokens(ctx context.Context, id string, now time.Time) error {
	key, err := userKey(ctx, id)
	if err != nil {
		return err
	}
	return s.tx(ctx, "InvalidateTokens", func(tx *sql.Tx) error {
		var exists bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, key).Scan(&exists)
		if err != nil || !exists {
			return refuse(err, auth.ErrNotFound)
		}
		if err := touch(ctx, tx, key, now); err != nil {
			return err
		}
		return invalidate(ctx, tx, key, now)
	})
}

// touch gives the user a state row if it has none, with the token version
// the user reads as, and sets its updated_at.
func touch(ctx context.Context, tx *sql.Tx, key int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO auth_user_state (user_id, token_version, updated_at)
		VALUES (?1, `+versionOf("?1")+`, ?2) ON CONFLICT (user_id) DO UPDATE SET updated_at = ?2`, key, micros(now))
	return err
}

// invalidate increments the token version of the user, whose state row
// exists, records now as when the user's tokens were ended (unless a
// later time is recorded), and revokes every session of the user.
func invalidate(ctx context.Context, tx *sql.Tx, key int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE auth_user_state SET token_version = token_version + 1,
		tokens_ended_at = max(coalesce(tokens_ended_at, ?2), ?2) WHERE user_id = ?1`, key, micros(now)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE auth_sessions SET revoked = 1 WHERE user_id = ?`, key)
	return err
}

// tx runs fn in one transaction (BEGIN IMMEDIATE, by DSNParams), committed
// if fn returns nil.
func (s *Store) tx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return failure(ctx, op, err)
	}
	defer tx.Rollback() // after Commit, a no-op
	if err := fn(tx); err != nil {
		return failure(ctx, op, err)
	}
	return failure(ctx, op, tx.Commit())
}

// refusals are the errors of the store contract, returned as they are.
var refusals = []error{auth.ErrNotFound, auth.ErrUserExists, auth.ErrEmailExists, auth.ErrConflict,
	auth.ErrLastAdmin, auth.ErrSessionRevoked, auth.ErrInvalidInput}

// failure returns err of op as the store contract wants it: nil and the
// refusals as they are; the context's error if ctx has ended; any other
// error, the database's, wrapped in auth.ErrStoreUnavailable.
func failure(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	for _, r := range refusals {
		if errors.Is(err, r) {
			return err
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("usertable: %s: %w", op, ctx.Err())
	}
	return fmt.Errorf("%w: usertable: %s: %w", auth.ErrStoreUnavailable, op, err)
}

// notFound is auth.ErrNotFound for a query that found no row, else err.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	return err
}

// formatID returns the auth.User.ID of a users.id: its decimal form.
func formatID(key int64) string { return strconv.FormatInt(key, 10) }

// parseID returns the users.id that an auth.User.ID names, in the form
// formatID gives only, so that "7" and "07" are not one user.
func parseID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && formatID(n) == id
}

// userKey is parseID for a method that finds no user without a users.id:
// auth.ErrNotFound, or the context's error if ctx has ended (as the query
// would have said).
func userKey(ctx context.Context, id string) (int64, error) {
	key, ok := parseID(id)
	if !ok {
		return 0, refuse(ctx.Err(), auth.ErrNotFound)
	}
	return key, nil
}

// storable reports whether every one of values is text that the store
// keeps as it is: valid UTF-8 without a NUL.
func storable(values ...string) bool {
	for _, v := range values {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }
