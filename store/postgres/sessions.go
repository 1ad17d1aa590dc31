package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
)

// CreateSession implements auth.SessionStore. An unknown user is
// auth.ErrNotFound; a session id already in use is auth.ErrConflict.
func (s *Store) CreateSession(ctx context.Context, sess *auth.Session) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(sess.ID, sess.UserID, sess.UserAgent, sess.ClientAddr) {
		return auth.ErrInvalidInput
	}
	_, err := s.pool.Exec(ctx, s.q.createSession,
		sess.ID, sess.UserID, sess.TokenHash, sess.UserVersion, sess.CreatedAt, sess.ExpiresAt, sess.UserAgent, sess.ClientAddr)
	switch {
	case err == nil:
		return nil
	case sqlState(err) == codeForeignKeyViolation:
		return auth.ErrNotFound
	case sqlState(err) == codeUniqueViolation:
		return auth.ErrConflict
	}
	return unavailable(ctx, err)
}

// RotateSession implements auth.SessionStore with the semantics of
// store/memory, in one UPDATE (see the package documentation): the
// current token rotates, remembering it and the rotation time; the previous
// token, presented within r.Grace of that time while r.Next is current,
// leaves the session as it is; any other token revokes the session,
// committed, and returns auth.ErrRefreshReuse. A revoked or expired session
// is auth.ErrSessionRevoked, a missing one auth.ErrNotFound.
func (s *Store) RotateSession(ctx context.Context, r auth.Rotation) (*auth.Session, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(r.SessionID) {
		return nil, auth.ErrNotFound
	}
	out := auth.Session{ID: r.SessionID}
	var revoked bool
	err := s.pool.QueryRow(ctx, s.q.rotateSession,
		r.SessionID, r.Presented, r.Next, r.ExpiresAt, r.Now, r.Grace > 0, r.Now.Add(-r.Grace),
	).Scan(&revoked, &out.UserID, &out.TokenHash, &out.UserVersion, &out.CreatedAt, &out.RotatedAt, &out.ExpiresAt, &out.UserAgent, &out.ClientAddr)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Missing, or not live. Which one is a second look; a session
		// deleted in between is reported missing, as it now is.
		var exists bool
		if err := s.pool.QueryRow(ctx, s.q.sessionExists, r.SessionID).Scan(&exists); err != nil {
			return nil, unavailable(ctx, err)
		}
		if exists {
			return nil, auth.ErrSessionRevoked
		}
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	case revoked:
		if err := s.settle(ctx); err != nil {
			return nil, err
		}
		return nil, auth.ErrRefreshReuse
	}
	out.CreatedAt, out.RotatedAt, out.ExpiresAt = out.CreatedAt.UTC(), out.RotatedAt.UTC(), out.ExpiresAt.UTC()
	return &out, nil
}

// RevokeSession implements auth.SessionStore. An unknown or already revoked
// session is not an error.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(id) {
		return nil // no session has such an id
	}
	if _, err := s.pool.Exec(ctx, s.q.revokeSession, id); err != nil {
		return unavailable(ctx, err)
	}
	// Even when it revoked nothing: a revocation of the same session in
	// flight elsewhere may have committed and not yet been heard, and
	// this call promises the session ended.
	return s.settle(ctx)
}

// TrimSessions implements auth.SessionStore, in one statement: a function
// (migration 6) that first takes a lock on the user's sessions (a
// transaction-scoped advisory lock, per schema), so that concurrent calls
// for one user run one after the other and each sees the sessions the one
// before left.
func (s *Store) TrimSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.q.trimSessions, s.nameLock("sessions of "+userID), userID, now, max(keep, 0))
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	if len(out) > 0 {
		if err := s.settle(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SessionsByUser implements auth.SessionStore.
func (s *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.q.userSessions, userID, now)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	defer rows.Close()
	var out []*auth.Session
	for rows.Next() {
		sess := &auth.Session{UserID: userID}
		if err := rows.Scan(&sess.ID, &sess.UserVersion, &sess.CreatedAt, &sess.RotatedAt, &sess.ExpiresAt, &sess.UserAgent, &sess.ClientAddr); err != nil {
			return nil, unavailable(ctx, err)
		}
		sess.CreatedAt, sess.RotatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.RotatedAt.UTC(), sess.ExpiresAt.UTC()
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err)
	}
	return out, nil
}

// DeleteExpiredSessions deletes every session whose current refresh token
// expired at or before now, revoked or not, and returns how many it
// deleted. Nothing calls it for you: run it now and then (say, hourly, from
// any one instance) to keep auth_sessions small. A token of a deleted
// session is answered auth.ErrNotFound instead of auth.ErrSessionRevoked,
// which the Authenticator treats alike.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	if err := s.ready(ctx); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, s.q.deleteExpired, now)
	if err != nil {
		return 0, unavailable(ctx, err)
	}
	if tag.RowsAffected() > 0 {
		if err := s.settle(ctx); err != nil {
			return 0, err
		}
	}
	return tag.RowsAffected(), nil
}
