package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goauthkit/auth"
)

// CreateUser implements auth.UserStore, in one immediate transaction on
// the writer: the login names are checked (a username may not be another
// user's email, nor an email another's username), then the user inserted.
// It returns auth.ErrUserExists if the id or the username is taken.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !userStorable(u) {
		return auth.ErrInvalidInput
	}
	defer s.forget(u.ID, false)
	const op = "CreateUser"
	return s.inTx(ctx, op, func(tx *sql.Tx) error { return s.insertUser(ctx, tx, op, u) })
}

// insertUser is CreateUser's work within tx, the writer's immediate
// transaction, for operation op: the login names checked, then the user
// inserted.
func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, op string, u *auth.User) error {
	roles, err := json.Marshal(u.Roles)
	if err != nil {
		return fmt.Errorf("sqlite: %s: roles: %w", op, err)
	}
	var nameTaken, emailTaken bool
	if err := s.txStmt(ctx, tx, qNamesTaken).QueryRowContext(ctx, u.Username, u.Email).Scan(&nameTaken, &emailTaken); err != nil {
		return s.fail(ctx, op, err)
	}
	switch {
	case nameTaken:
		return auth.ErrUserExists
	case emailTaken:
		return auth.ErrEmailExists
	}
	_, err = s.txStmt(ctx, tx, qCreateUser).ExecContext(ctx,
		u.ID, u.Username, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, string(roles), u.TokenVersion,
		micros(u.CreatedAt), micros(u.UpdatedAt))
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return auth.ErrUserExists // the id: the names were checked
	}
	return s.fail(ctx, op, err)
}

// UserByID implements auth.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var gen uint64
	if s.users != nil {
		var u *auth.User
		if u, gen = s.users.get(id); u != nil {
			return u, nil
		}
	}
	u, err := scanUser(s.rs[qUserByID].QueryRowContext(ctx, id))
	if err != nil {
		return nil, s.userErr(ctx, "UserByID", err)
	}
	if s.users != nil {
		if s.afterUserRead != nil {
			s.afterUserRead()
		}
		s.users.put(gen, u, "")
	}
	return u, nil
}

// UserBySession implements auth.SessionStore, in one query. A Store opened
// Config.ExclusiveLock answers it from memory once it has read the user and
// found the session live.
func (s *Store) UserBySession(ctx context.Context, userID, sessionID string) (*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var gen uint64
	if s.users != nil {
		var u *auth.User
		if u, gen = s.users.getLive(userID, sessionID); u != nil {
			return u, nil
		}
	}
	var revoked sql.NullBool
	u, err := scanUser(s.rs[qUserBySession].QueryRowContext(ctx, sessionID, userID), &revoked)
	if err != nil {
		return nil, s.userErr(ctx, "UserBySession", err)
	}
	if !revoked.Valid || revoked.Bool {
		return nil, auth.ErrSessionRevoked
	}
	if s.users != nil {
		if s.afterUserRead != nil {
			s.afterUserRead()
		}
		s.users.put(gen, u, sessionID)
	}
	return u, nil
}

// forget drops the user with this id from the cache, if there is one, and
// with sessions every session of the user too. Every method that writes a
// user defers it, so that it runs once the write has ended, committed or
// not.
func (s *Store) forget(id string, sessions bool) {
	if s.users != nil {
		s.users.invalidate(id, sessions)
	}
}

// forgetSession drops the session with this id from the cache, if there is
// one. Every method that writes a session defers it.
func (s *Store) forgetSession(id string) {
	if s.users != nil {
		s.users.invalidateSession(id)
	}
}

// storable reports whether every one of values is text the Store keeps:
// valid UTF-8 without a NUL (see auth.UserStore).
func storable(values ...string) bool {
	for _, v := range values {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}

func userStorable(u *auth.User) bool {
	return storable(u.ID, u.Username, u.Email, u.PasswordHash) && storable(u.Roles...)
}

// UserByUsername implements auth.UserStore. The username is compared byte
// for byte.
func (s *Store) UserByUsername(ctx context.Context, username string) (*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	u, err := scanUser(s.rs[qUserByUsername].QueryRowContext(ctx, username))
	if err != nil {
		return nil, s.userErr(ctx, "UserByUsername", err)
	}
	return u, nil
}

// UserByEmail implements auth.UserStore. The email is compared byte for
// byte (it reaches the store normalised).
func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	u, err := scanUser(s.rs[qUserByEmail].QueryRowContext(ctx, email))
	if err != nil {
		return nil, s.userErr(ctx, "UserByEmail", err)
	}
	return u, nil
}

func (s *Store) userErr(ctx context.Context, op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	return s.fail(ctx, op, err)
}

// scanUser reads a row of userColumns, followed by the columns in more.
// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner, more ...any) (*auth.User, error) {
	var (
		u                auth.User
		roles            string
		created, updated int64
		ended            sql.NullInt64
	)
	dest := append([]any{&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Disabled, &roles,
		&u.TokenVersion, &created, &updated, &ended}, more...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("roles of user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	if ended.Valid {
		u.TokensEndedAt = fromMicros(ended.Int64)
	}
	return &u, nil
}

// ChangeUser implements auth.UserStore, in one immediate transaction on
// the writer (which serialises every write, so the KeepRole check and the
// change are one): only the fields c sets are written.
func (s *Store) ChangeUser(ctx context.Context, id string, c auth.UserChange) (*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var roles any // NULL: kept
	if c.Roles != nil {
		if !storable(*c.Roles...) {
			return nil, auth.ErrInvalidInput
		}
		b, err := json.Marshal(*c.Roles)
		if err != nil {
			return nil, fmt.Errorf("sqlite: ChangeUser: roles: %w", err)
		}
		roles = string(b)
	}
	var disabled any
	if c.Disabled != nil {
		disabled = *c.Disabled
	}
	bump := 0
	if c.Logout {
		bump = 1
	}
	const op = "ChangeUser"
	defer s.forget(id, c.Logout)
	var out *auth.User
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		before, err := scanUser(s.txStmt(ctx, tx, qUserByID).QueryRowContext(ctx, id))
		if err != nil {
			return s.userErr(ctx, op, err)
		}
		if c.TakesKeptRole(before) {
			var other bool
			if err := s.txStmt(ctx, tx, qOtherHolder).QueryRowContext(ctx, id, c.KeepRole).Scan(&other); err != nil {
				return s.fail(ctx, op, err)
			}
			if !other {
				return auth.ErrLastAdmin
			}
		}
		if _, err := s.txStmt(ctx, tx, qChangeUser).ExecContext(ctx, disabled, roles, bump, micros(c.Now), id); err != nil {
			return s.fail(ctx, op, err)
		}
		if c.Logout {
			if _, err := s.txStmt(ctx, tx, qRevokeUserSessions).ExecContext(ctx, id); err != nil {
				return s.fail(ctx, op, err)
			}
		}
		if out, err = scanUser(s.txStmt(ctx, tx, qUserByID).QueryRowContext(ctx, id)); err != nil {
			return s.fail(ctx, op, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePasswordHash implements auth.UserStore: a compare-and-swap on the
// password hash (compared in constant time), which with logout also
// increments the token version and revokes every session of the user, all
// in one transaction.
func (s *Store) UpdatePasswordHash(ctx context.Context, id, oldHash, newHash string, logout bool, now time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(id) {
		return auth.ErrNotFound
	}
	if !storable(oldHash, newHash) {
		return auth.ErrInvalidInput
	}
	defer s.forget(id, logout)
	return s.inTx(ctx, "UpdatePasswordHash", func(tx *sql.Tx) error {
		var cur string
		err := s.txStmt(ctx, tx, qPasswordHash).QueryRowContext(ctx, id).Scan(&cur)
		if err != nil {
			return s.userErr(ctx, "UpdatePasswordHash", err)
		}
		if subtle.ConstantTimeCompare([]byte(cur), []byte(oldHash)) != 1 {
			return auth.ErrConflict
		}
		bump := 0
		if logout {
			bump = 1
		}
		if _, err := s.txStmt(ctx, tx, qSetPasswordHash).ExecContext(ctx, newHash, bump, micros(now), id); err != nil {
			return s.fail(ctx, "UpdatePasswordHash", err)
		}
		if logout {
			if _, err := s.txStmt(ctx, tx, qRevokeUserSessions).ExecContext(ctx, id); err != nil {
				return s.fail(ctx, "UpdatePasswordHash", err)
			}
		}
		return nil
	})
}

// InvalidateTokens implements auth.UserStore: it increments the user's
// token version and revokes every session of the user in one transaction.
func (s *Store) InvalidateTokens(ctx context.Context, id string, now time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	defer s.forget(id, true)
	return s.inTx(ctx, "InvalidateTokens", func(tx *sql.Tx) error {
		res, err := s.txStmt(ctx, tx, qBumpTokenVersion).ExecContext(ctx, micros(now), id)
		if err != nil {
			return s.fail(ctx, "InvalidateTokens", err)
		}
		if err := s.oneRow(ctx, "InvalidateTokens", res); err != nil {
			return err
		}
		if _, err := s.txStmt(ctx, tx, qRevokeUserSessions).ExecContext(ctx, id); err != nil {
			return s.fail(ctx, "InvalidateTokens", err)
		}
		return nil
	})
}

// DeleteUser implements auth.UserDeleter. The user's sessions go with it
// (ON DELETE CASCADE), in the same statement.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	defer s.forget(id, true)
	res, err := s.ws[qDeleteUser].ExecContext(ctx, id)
	if err != nil {
		return s.fail(ctx, "DeleteUser", err)
	}
	return s.oneRow(ctx, "DeleteUser", res)
}

// oneRow turns a statement that matched no row into auth.ErrNotFound.
func (s *Store) oneRow(ctx context.Context, op string, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, op, err)
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// inTx runs fn in an immediate transaction on the writer and commits it if
// fn returns nil. fn returns errors already wrapped.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// txStmt is the prepared statement q within tx (on the writer connection,
// where it is already prepared).
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	return tx.StmtContext(ctx, s.ws[q])
}

// micros is the stored form of a time: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the inverse of micros, in UTC.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// ListUsers implements admin.UserLister.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(after) {
		return nil, auth.ErrInvalidInput
	}
	rows, err := s.rs[qListUsers].QueryContext(ctx, after, limit)
	if err != nil {
		return nil, s.fail(ctx, "ListUsers", err)
	}
	defer rows.Close()
	var out []*auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.fail(ctx, "ListUsers", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "ListUsers", err)
	}
	return out, nil
}
