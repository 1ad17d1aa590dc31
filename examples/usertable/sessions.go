package usertable

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"time"

	"github.com/goauthkit/auth"
)

// Refresh sessions live in auth_sessions, whole: the users table has
// nothing to say about them.

const selectSession = `SELECT id, user_id, token_hash, prev_hash, user_version, created_at, rotated_at, expires_at,
	revoked, user_agent, client_addr FROM auth_sessions`

// session is a row of auth_sessions.
type session struct {
	auth.Session
	prevHash []byte // the token rotated just before the current one
	revoked  bool
}

// scanSession reads a row of selectSession.
func scanSession(row scanner) (*session, error) {
	var (
		s                         session
		userID                    int64
		created, rotated, expires int64
	)
	err := row.Scan(&s.ID, &userID, &s.TokenHash, &s.prevHash, &s.UserVersion, &created, &rotated, &expires,
		&s.revoked, &s.UserAgent, &s.ClientAddr)
	if err != nil {
		return nil, notFound(err)
	}
	s.UserID = formatID(userID)
	s.CreatedAt, s.RotatedAt, s.ExpiresAt = fromMicros(created), fromMicros(rotated), fromMicros(expires)
	return &s, nil
}

// CreateSession implements auth.SessionStore.
func (s *Store) CreateSession(ctx context.Context, se *auth.Session) error {
	if !storable(se.ID, se.UserID, se.UserAgent, se.ClientAddr) {
		return auth.ErrInvalidInput
	}
	key, err := userKey(ctx, se.UserID)
	if err != nil {
		return err
	}
	return s.tx(ctx, "CreateSession", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO auth_sessions (id, user_id, token_hash, user_version, created_at,
			rotated_at, expires_at, user_agent, client_addr) SELECT ?, id, ?, ?, ?, ?, ?, ?, ? FROM users WHERE id = ?
			ON CONFLICT (id) DO NOTHING`,
			se.ID, se.TokenHash, se.UserVersion, micros(se.CreatedAt), micros(se.CreatedAt), micros(se.ExpiresAt),
			se.UserAgent, se.ClientAddr, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var exists bool // no row: no such user, or a taken session id
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, key).Scan(&exists)
		if err != nil || !exists {
			return refuse(err, auth.ErrNotFound)
		}
		return auth.ErrConflict
	})
}

// RotateSession implements auth.SessionStore, in one transaction: of
// concurrent rotations presenting one token, the first replaces it and
// the others find it spent.
func (s *Store) RotateSession(ctx context.Context, r auth.Rotation) (*auth.Session, error) {
	var rotated *auth.Session
	reuse := false
	err := s.tx(ctx, "RotateSession", func(tx *sql.Tx) error {
		cur, err := scanSession(tx.QueryRowContext(ctx, selectSession+` WHERE id = ?`, r.SessionID))
		if err != nil {
			return err
		}
		if cur.revoked || !r.Now.Before(cur.ExpiresAt) {
			return auth.ErrSessionRevoked
		}
		current := subtle.ConstantTimeCompare(cur.TokenHash, r.Presented) == 1
		graced := !current && r.Grace > 0 && cur.prevHash != nil &&
			subtle.ConstantTimeCompare(cur.prevHash, r.Presented) == 1 &&
			subtle.ConstantTimeCompare(cur.TokenHash, r.Next) == 1 &&
			r.Now.Sub(cur.RotatedAt) <= r.Grace
		switch {
		case current:
			_, err = tx.ExecContext(ctx, `UPDATE auth_sessions SET prev_hash = token_hash, token_hash = ?, rotated_at = ?,
				expires_at = ? WHERE id = ?`, r.Next, micros(r.Now), micros(r.ExpiresAt), r.SessionID)
			cur.TokenHash, cur.RotatedAt, cur.ExpiresAt = r.Next, fromMicros(micros(r.Now)), fromMicros(micros(r.ExpiresAt))
		case graced: // the session as it is: the token its first presentation got
		default: // a spent token: the whole family ends, committed with the refusal
			reuse = true
			_, err = tx.ExecContext(ctx, `UPDATE auth_sessions SET revoked = 1 WHERE id = ?`, r.SessionID)
		}
		rotated = &cur.Session
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case reuse:
		return nil, auth.ErrRefreshReuse
	}
	return rotated, nil
}

// RevokeSession implements auth.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE auth_sessions SET revoked = 1 WHERE id = ?`, id)
	return failure(ctx, "RevokeSession", err)
}

// UserBySession implements auth.SessionStore, in one query.
func (s *Store) UserBySession(ctx context.Context, userID, sessionID string) (*auth.User, error) {
	key, err := userKey(ctx, userID)
	if err != nil {
		return nil, err
	}
	var live bool
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+`, EXISTS (SELECT 1 FROM auth_sessions
		WHERE id = ? AND user_id = u.id AND NOT revoked) FROM `+userTables+` WHERE u.id = ?`, sessionID, key), &live)
	switch {
	case err != nil:
		return nil, failure(ctx, "UserBySession", err)
	case !live:
		return nil, auth.ErrSessionRevoked
	}
	return u, nil
}

// SessionsByUser implements auth.SessionStore.
func (s *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	key, ok := parseID(userID)
	if !ok {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, selectSession+` WHERE user_id = ? AND NOT revoked AND expires_at > ?
		ORDER BY created_at DESC, id DESC`, key, micros(now))
	if err != nil {
		return nil, failure(ctx, "SessionsByUser", err)
	}
	defer rows.Close()
	var live []*auth.Session
	for rows.Next() {
		se, err := scanSession(rows)
		if err != nil {
			return nil, failure(ctx, "SessionsByUser", err)
		}
		se.TokenHash = nil
		live = append(live, &se.Session)
	}
	return live, failure(ctx, "SessionsByUser", rows.Err())
}

// TrimSessions implements auth.SessionStore, in one statement: it revokes
// the user's live sessions of the current token version past the keep
// most recently used.
func (s *Store) TrimSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	key, ok := parseID(userID)
	if !ok {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `UPDATE auth_sessions SET revoked = 1 WHERE id IN (
		SELECT id FROM auth_sessions WHERE user_id = ?1 AND NOT revoked AND expires_at > ?2
		AND user_version = `+versionOf("?1")+`
		ORDER BY rotated_at DESC, created_at DESC, id DESC LIMIT -1 OFFSET ?3) RETURNING id`,
		key, micros(now), max(keep, 0))
	if err != nil {
		return nil, failure(ctx, "TrimSessions", err)
	}
	defer rows.Close()
	var ended []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, failure(ctx, "TrimSessions", err)
		}
		ended = append(ended, id)
	}
	return ended, failure(ctx, "TrimSessions", rows.Err())
}
