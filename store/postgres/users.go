package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goauthkit/auth"
)

// CreateUser implements auth.UserStore, in one transaction that first
// takes a lock on each of the new login names (its username and email),
// then checks them against every username and email and inserts the user:
// two users that would share a login name, one by its username and the
// other by its email, cannot both pass the check. A taken id or username is
// auth.ErrUserExists.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !userStorable(u) {
		return auth.ErrInvalidInput
	}
	return s.inTx(ctx, func(tx pgx.Tx) error { return s.insertUser(ctx, tx, u) })
}

// insertUser is CreateUser's work within tx: the locks of the login
// names taken, the names checked, the user inserted.
func (s *Store) insertUser(ctx context.Context, tx pgx.Tx, u *auth.User) error {
	names := []string{u.Username}
	if u.Email != "" && u.Email != u.Username {
		names = append(names, u.Email)
	}
	slices.Sort(names) // one order, so that two transactions never deadlock
	for _, n := range names {
		if _, err := tx.Exec(ctx, s.q.lockName, s.nameLock(n)); err != nil {
			return err
		}
	}
	var nameTaken, emailTaken bool
	if err := tx.QueryRow(ctx, s.q.namesTaken, u.Username, u.Email).Scan(&nameTaken, &emailTaken); err != nil {
		return err
	}
	switch {
	case nameTaken:
		return auth.ErrUserExists
	case emailTaken:
		return auth.ErrEmailExists
	}
	_, err := tx.Exec(ctx, s.q.createUser,
		u.ID, u.Username, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, roles(u.Roles),
		u.TokenVersion, u.CreatedAt, u.UpdatedAt)
	switch {
	case sqlState(err) == codeUniqueViolation && uniqueErr(err) == auth.ErrEmailExists:
		return auth.ErrEmailExists
	case sqlState(err) == codeUniqueViolation:
		return auth.ErrUserExists // the id: the names were checked
	}
	return err
}

// nameLock is the key text of the advisory lock on a login name (or a
// kept role), per schema.
func (s *Store) nameLock(name string) string {
	return "goauthkit name:" + s.schema + ":" + name
}

// inTx runs fn in a transaction and commits it if fn returns nil. Errors
// of this package (auth.ErrNotFound, ...) come back as they are; others
// (the database's) wrapped in auth.ErrStoreUnavailable, unless they are a
// unique violation, which the caller tells apart with sqlState.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, auth.ErrUserExists), errors.Is(err, auth.ErrEmailExists),
		errors.Is(err, auth.ErrLastAdmin), errors.Is(err, auth.ErrConflict), sqlState(err) == codeUniqueViolation:
		return err
	}
	return unavailable(ctx, err)
}

// UserByID implements auth.UserStore, from the cache when it holds the
// user.
func (s *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if s.cache == nil || !storable(id) {
		return s.user(ctx, s.q.userByID, id)
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if u, _ := s.cache.get(id, ""); u != nil {
		return u, nil
	}
	return s.cache.load(ctx, id, "", func(ctx context.Context) (*auth.User, error) {
		return scanUser(ctx, s.pool.QueryRow(ctx, s.q.userByID, id))
	})
}

// UserByUsername implements auth.UserStore. The username is compared byte
// for byte (it reaches the store normalised).
func (s *Store) UserByUsername(ctx context.Context, username string) (*auth.User, error) {
	return s.user(ctx, s.q.userByUsername, username)
}

func (s *Store) user(ctx context.Context, query, key string) (*auth.User, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(key) {
		return nil, auth.ErrNotFound // PostgreSQL would refuse the query
	}
	return scanUser(ctx, s.pool.QueryRow(ctx, query, key))
}

// UserBySession implements auth.SessionStore, in one query, or from the
// cache when it holds the user and knows the session live.
func (s *Store) UserBySession(ctx context.Context, userID, sessionID string) (*auth.User, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, auth.ErrNotFound
	}
	if !storable(sessionID) {
		sessionID = "" // matches no session
	}
	if s.cache == nil || sessionID == "" {
		return s.userBySession(ctx, userID, sessionID)
	}
	if u, _ := s.cache.get(userID, sessionID); u != nil {
		return u, nil
	}
	return s.cache.load(ctx, userID, sessionID, func(ctx context.Context) (*auth.User, error) {
		return s.userBySession(ctx, userID, sessionID)
	})
}

func (s *Store) userBySession(ctx context.Context, userID, sessionID string) (*auth.User, error) {
	var revoked *bool
	u, err := scanUser(ctx, s.pool.QueryRow(ctx, s.q.userBySession, userID, sessionID), &revoked)
	if err != nil {
		return nil, err
	}
	if revoked == nil || *revoked {
		return nil, auth.ErrSessionRevoked
	}
	return u, nil
}

// scanUser reads a row of userColumns, followed by the columns in more.
func scanUser(ctx context.Context, row pgx.Row, more ...any) (*auth.User, error) {
	var u auth.User
	var ended *time.Time
	dest := append([]any{&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.PasswordHash,
		&u.Disabled, &u.Roles, &u.TokenVersion, &u.CreatedAt, &u.UpdatedAt, &ended}, more...)
	err := row.Scan(dest...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if ended != nil {
		u.TokensEndedAt = ended.UTC()
	}
	return &u, nil
}

// UserByEmail implements auth.UserStore. The email is compared byte for
// byte (it reaches the store normalised).
func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	return s.user(ctx, s.q.userByEmail, email)
}

// uniqueErr is the auth error of a unique violation on auth_users: the
// email's index, or else the id's or the username's.
func uniqueErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.ConstraintName == "auth_users_email_key" {
		return auth.ErrEmailExists
	}
	return auth.ErrUserExists
}

// ChangeUser implements auth.UserStore, in one transaction: the user's row
// is locked, checked, and only the fields c sets are written. A change
// with a KeepRole first takes the lock of that role (per schema), so that
// such changes run one after the other and each sees the one before.
func (s *Store) ChangeUser(ctx context.Context, id string, c auth.UserChange) (*auth.User, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	var rs []string // nil: kept
	if c.Roles != nil {
		if !storable(*c.Roles...) {
			return nil, auth.ErrInvalidInput
		}
		rs = roles(*c.Roles)
	}
	bump := 0
	if c.Logout {
		bump = 1
	}
	var out *auth.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if c.KeepRole != "" {
			if _, err := tx.Exec(ctx, s.q.lockName, s.nameLock("role "+c.KeepRole)); err != nil {
				return err
			}
		}
		before, err := scanUser(ctx, tx.QueryRow(ctx, s.q.userForUpdate, id))
		if err != nil {
			return err
		}
		if c.TakesKeptRole(before) {
			var other bool
			if err := tx.QueryRow(ctx, s.q.otherHolder, id, c.KeepRole).Scan(&other); err != nil {
				return err
			}
			if !other {
				return auth.ErrLastAdmin
			}
		}
		if out, err = scanUser(ctx, tx.QueryRow(ctx, s.q.changeUser, id, c.Disabled, rs, bump, c.Now)); err != nil {
			return err
		}
		if c.Logout {
			_, err = tx.Exec(ctx, s.q.revokeUserSessions, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePasswordHash implements auth.UserStore: a compare-and-swap on the
// stored hash, which with logout also increments the token version and
// revokes every session of the user, all in one statement.
func (s *Store) UpdatePasswordHash(ctx context.Context, id, oldHash, newHash string, logout bool, now time.Time) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(id) {
		return auth.ErrNotFound
	}
	if !storable(oldHash, newHash) {
		return auth.ErrInvalidInput
	}
	query := s.q.updatePasswordHash
	if logout {
		query = s.q.updatePasswordHashLogout
	}
	var (
		updated int64
		exists  bool
	)
	err := s.pool.QueryRow(ctx, query, id, oldHash, newHash, now).Scan(&updated, &exists)
	switch {
	case err != nil:
		return unavailable(ctx, err)
	case updated == 1:
		return s.settle(ctx)
	case !exists:
		return auth.ErrNotFound
	}
	return auth.ErrConflict
}

// InvalidateTokens implements auth.UserStore: one statement increments the
// token version and revokes every session of the user.
func (s *Store) InvalidateTokens(ctx context.Context, id string, now time.Time) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(id) {
		return auth.ErrNotFound
	}
	var updated int64
	if err := s.pool.QueryRow(ctx, s.q.invalidateTokens, id, now).Scan(&updated); err != nil {
		return unavailable(ctx, err)
	}
	if err := s.settle(ctx); err != nil { // even for a user deleted meanwhile
		return err
	}
	if updated == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// DeleteUser implements auth.UserDeleter. The user's sessions go with it (ON
// DELETE CASCADE).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(id) {
		return auth.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, s.q.deleteUser, id)
	if err != nil {
		return unavailable(ctx, err)
	}
	if err := s.settle(ctx); err != nil { // even for a user deleted meanwhile
		return err
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// storable reports whether every one of values is text PostgreSQL keeps:
// valid UTF-8 without a NUL. It refuses other text with an error, which
// the store must not report as unavailability (see auth.UserStore).
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

// roles maps nil to an empty slice: pgx would send nil as NULL.
func roles(r []string) []string {
	if r == nil {
		return []string{}
	}
	return r
}

// ListUsers implements admin.UserLister, ordered by id byte for byte.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]*auth.User, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(after) {
		return nil, auth.ErrInvalidInput
	}
	rows, err := s.pool.Query(ctx, s.q.listUsers, after, limit)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	defer rows.Close()
	var out []*auth.User
	for rows.Next() {
		u, err := scanUser(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err)
	}
	return out, nil
}
