package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/goauthkit/auth"
)

// CreateLinkToken implements auth.LinkStore: in one transaction, the user's
// other tokens of the purpose (and every expired token) are deleted and t
// is inserted. An unknown user is auth.ErrNotFound.
func (s *Store) CreateLinkToken(ctx context.Context, t *auth.LinkToken) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(t.UserID, t.Email, string(t.Purpose)) {
		return auth.ErrInvalidInput
	}
	const op = "CreateLinkToken"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := s.txStmt(ctx, tx, qDeleteLinkTokens).ExecContext(ctx, t.UserID, string(t.Purpose), micros(t.CreatedAt)); err != nil {
			return s.fail(ctx, op, err)
		}
		_, err := s.txStmt(ctx, tx, qCreateLinkToken).ExecContext(ctx, blob(t.Hash), t.UserID, string(t.Purpose), t.Email,
			blob(t.Binding), micros(t.CreatedAt), micros(t.ExpiresAt))
		switch {
		case err == nil:
			return nil
		case isForeignKeyViolation(err):
			return auth.ErrNotFound
		case isUniqueViolation(err):
			return auth.ErrConflict // the same hash twice: a random token never repeats
		}
		return s.fail(ctx, op, err)
	})
}

// LinkToken implements auth.LinkStore.
func (s *Store) LinkToken(ctx context.Context, hash []byte) (*auth.LinkToken, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	t := auth.LinkToken{Hash: append([]byte(nil), hash...)}
	var purpose string
	var created, expires int64
	err := s.rs[qLinkToken].QueryRowContext(ctx, blob(hash)).Scan(&t.UserID, &purpose, &t.Email, &t.Binding, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, "LinkToken", err)
	}
	t.Purpose, t.CreatedAt, t.ExpiresAt = auth.LinkPurpose(purpose), fromMicros(created), fromMicros(expires)
	if len(t.Binding) == 0 {
		t.Binding = nil
	}
	return &t, nil
}

// RedeemLinkToken implements auth.LinkStore, in one immediate transaction
// on the single writer connection: the token is deleted (only the first of
// concurrent redemptions finds it) and the change made, or nothing is.
func (s *Store) RedeemLinkToken(ctx context.Context, r auth.Redemption) (*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(r.OldPasswordHash, r.NewPasswordHash) {
		return nil, auth.ErrInvalidInput
	}
	const op = "RedeemLinkToken"
	var userID string
	conflict := false
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var email string
		err := s.txStmt(ctx, tx, qTakeLinkToken).QueryRowContext(ctx, blob(r.Hash), string(r.Purpose), micros(r.Now)).Scan(&userID, &email)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return s.fail(ctx, op, err)
		}
		switch r.Purpose {
		case auth.LinkVerifyEmail:
			res, err := s.txStmt(ctx, tx, qSetEmail).ExecContext(ctx, email, micros(r.Now), userID)
			if isUniqueViolation(err) {
				return auth.ErrEmailExists
			}
			if err != nil {
				return s.fail(ctx, op, err)
			}
			return s.oneRow(ctx, op, res)
		case auth.LinkResetPassword:
			res, err := s.txStmt(ctx, tx, qReset).ExecContext(ctx, r.NewPasswordHash, micros(r.Now), userID, r.OldPasswordHash)
			if err != nil {
				return s.fail(ctx, op, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.fail(ctx, op, err)
			} else if n == 0 {
				conflict = true // the token is spent all the same: commit
				return nil
			}
			if _, err := s.txStmt(ctx, tx, qRevokeUserSessions).ExecContext(ctx, userID); err != nil {
				return s.fail(ctx, op, err)
			}
			if _, err := s.txStmt(ctx, tx, qDeleteUserLinkTokens).ExecContext(ctx, userID, string(auth.LinkResetPassword)); err != nil {
				return s.fail(ctx, op, err)
			}
			return nil
		}
		return auth.ErrNotFound
	})
	if userID != "" {
		s.forget(userID, r.Purpose == auth.LinkResetPassword)
	}
	if err != nil {
		return nil, err
	}
	if conflict {
		return nil, auth.ErrConflict
	}
	return s.UserByID(ctx, userID)
}
