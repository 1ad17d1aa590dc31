package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"

	"github.com/goauthkit/auth"
)

// CreateSession implements auth.SessionStore. It returns auth.ErrNotFound
// if the user does not exist and auth.ErrConflict if the session id is
// taken.
func (s *Store) CreateSession(ctx context.Context, sess *auth.Session) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(sess.ID, sess.UserID, sess.UserAgent, sess.ClientAddr) {
		return auth.ErrInvalidInput
	}
	_, err := s.ws[qCreateSession].ExecContext(ctx,
		sess.ID, sess.UserID, blob(sess.TokenHash), sess.UserVersion,
		micros(sess.CreatedAt), micros(sess.ExpiresAt), sess.UserAgent, sess.ClientAddr)
	switch {
	case err == nil:
		return nil
	case isForeignKeyViolation(err):
		return auth.ErrNotFound
	case isUniqueViolation(err):
		return auth.ErrConflict
	}
	return s.fail(ctx, "CreateSession", err)
}

// RotateSession implements auth.SessionStore, atomically: the session is
// read and written in one immediate transaction on the single writer
// connection, so of concurrent rotations presenting one token exactly one
// succeeds. Presenting the current token rotates it and remembers it as the
// previous one; presenting the previous token within r.Grace of its
// rotation, while r.Next is current, returns the session unchanged;
// anything else revokes the session and returns auth.ErrRefreshReuse. A
// revoked or expired session is auth.ErrSessionRevoked; a missing one
// auth.ErrNotFound.
func (s *Store) RotateSession(ctx context.Context, r auth.Rotation) (*auth.Session, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	const op = "RotateSession"
	defer s.forgetSession(r.SessionID)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	defer tx.Rollback()

	var (
		out              auth.Session
		prevHash         []byte
		rotatedAt        sql.NullInt64
		created, expires int64
		revoked          bool
	)
	err = s.txStmt(ctx, tx, qSession).QueryRowContext(ctx, r.SessionID).
		Scan(&out.UserID, &out.TokenHash, &prevHash, &rotatedAt, &out.UserVersion, &created, &expires, &revoked, &out.UserAgent, &out.ClientAddr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if revoked || !r.Now.Before(fromMicros(expires)) {
		return nil, auth.ErrSessionRevoked
	}
	out.ID = r.SessionID
	out.CreatedAt = fromMicros(created)
	out.RotatedAt = out.CreatedAt
	if rotatedAt.Valid {
		out.RotatedAt = fromMicros(rotatedAt.Int64)
	}
	out.ExpiresAt = fromMicros(expires)
	current := subtle.ConstantTimeCompare(out.TokenHash, r.Presented) == 1
	graced := !current && r.Grace > 0 && prevHash != nil && rotatedAt.Valid &&
		subtle.ConstantTimeCompare(prevHash, r.Presented) == 1 &&
		subtle.ConstantTimeCompare(out.TokenHash, r.Next) == 1 &&
		r.Now.Sub(out.RotatedAt) <= r.Grace
	switch {
	case graced:
		return &out, nil // unchanged: the current token is the successor
	case !current:
		if _, err := s.txStmt(ctx, tx, qRevokeSession).ExecContext(ctx, r.SessionID); err != nil {
			return nil, s.fail(ctx, op, err)
		}
		if err := tx.Commit(); err != nil {
			return nil, s.fail(ctx, op, err)
		}
		return nil, auth.ErrRefreshReuse
	}
	// The presented token becomes the previous one.
	if _, err = s.txStmt(ctx, tx, qRotateCurrent).ExecContext(ctx, micros(r.Now), blob(r.Next), micros(r.ExpiresAt), r.SessionID); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	out.TokenHash = append([]byte(nil), r.Next...)
	out.RotatedAt = fromMicros(micros(r.Now))
	out.ExpiresAt = fromMicros(micros(r.ExpiresAt))
	return &out, nil
}

// RevokeSession implements auth.SessionStore. Revoking an unknown or
// already revoked session is not an error.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	defer s.forgetSession(id)
	if _, err := s.ws[qRevokeSession].ExecContext(ctx, id); err != nil {
		return s.fail(ctx, "RevokeSession", err)
	}
	return nil
}

// TrimSessions implements auth.SessionStore: a count of the user's live
// sessions on a reader, then, only when it is over keep, one statement on
// the single writer connection (which serialises the calls). The count
// follows the caller's own CreateSession, so the last of calls made at
// once counts every session they opened, and trims if need be.
func (s *Store) TrimSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	keep = max(keep, 0)
	var live int
	if err := s.rs[qLiveSessions].QueryRowContext(ctx, userID, micros(now)).Scan(&live); err != nil {
		return nil, s.fail(ctx, "TrimSessions", err)
	}
	if live <= keep {
		return nil, nil
	}
	rows, err := s.ws[qTrimSessions].QueryContext(ctx, userID, micros(now), keep)
	if err != nil {
		return nil, s.fail(ctx, "TrimSessions", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.fail(ctx, "TrimSessions", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "TrimSessions", err)
	}
	for _, id := range out {
		s.forgetSession(id)
	}
	return out, nil
}

// SessionsByUser implements auth.SessionStore.
func (s *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	rows, err := s.rs[qUserSessions].QueryContext(ctx, userID, micros(now))
	if err != nil {
		return nil, s.fail(ctx, "SessionsByUser", err)
	}
	defer rows.Close()
	var out []*auth.Session
	for rows.Next() {
		sess := &auth.Session{UserID: userID}
		var created, expires int64
		var rotated sql.NullInt64
		if err := rows.Scan(&sess.ID, &sess.UserVersion, &created, &rotated, &expires, &sess.UserAgent, &sess.ClientAddr); err != nil {
			return nil, s.fail(ctx, "SessionsByUser", err)
		}
		sess.CreatedAt, sess.ExpiresAt = fromMicros(created), fromMicros(expires)
		sess.RotatedAt = sess.CreatedAt
		if rotated.Valid {
			sess.RotatedAt = fromMicros(rotated.Int64)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "SessionsByUser", err)
	}
	return out, nil
}

// blob makes a nil hash an empty BLOB rather than NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
