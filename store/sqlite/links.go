package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/recovery"
)

// CreateLinkToken implements recovery.LinkStore: in one transaction, the user's
// other tokens of the purpose (and every expired token) are deleted and t
// is inserted. An unknown user is auth.ErrNotFound.
func (s *Store) CreateLinkToken(ctx context.Context, t *recovery.LinkToken) error {
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
			t.UserVersion, micros(t.CreatedAt), micros(t.ExpiresAt))
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

// LinkToken implements recovery.LinkStore.
func (s *Store) LinkToken(ctx context.Context, hash []byte) (*recovery.LinkToken, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	t := recovery.LinkToken{Hash: append([]byte(nil), hash...)}
	var purpose string
	var created, expires int64
	err := s.rs[qLinkToken].QueryRowContext(ctx, blob(hash)).Scan(&t.UserID, &purpose, &t.Email, &t.UserVersion, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, "LinkToken", err)
	}
	t.Purpose, t.CreatedAt, t.ExpiresAt = recovery.LinkPurpose(purpose), fromMicros(created), fromMicros(expires)
	return &t, nil
}

// RedeemLinkToken implements recovery.LinkStore, in one immediate transaction
// on the single writer connection: the token is read with whether it is
// alive, spent, and the change made with every link token of the user
// deleted, or nothing is (a dead token is deleted alone).
func (s *Store) RedeemLinkToken(ctx context.Context, r recovery.Redemption) (*auth.User, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(r.NewPasswordHash) {
		return nil, auth.ErrInvalidInput
	}
	const op = "RedeemLinkToken"
	var userID string
	dead := false
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var email string
		var alive bool
		err := s.txStmt(ctx, tx, qRedeemable).QueryRowContext(ctx, blob(r.Hash), string(r.Purpose), micros(r.Now)).Scan(&userID, &email, &alive)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return s.fail(ctx, op, err)
		}
		if !alive {
			dead = true // delete it, and commit that
			if _, err := s.txStmt(ctx, tx, qDeleteLinkToken).ExecContext(ctx, blob(r.Hash)); err != nil {
				return s.fail(ctx, op, err)
			}
			return nil
		}
		switch r.Purpose {
		case recovery.LinkVerifyEmail:
			var taken bool
			if err := s.txStmt(ctx, tx, qAddressTaken).QueryRowContext(ctx, userID, email).Scan(&taken); err != nil {
				return s.fail(ctx, op, err)
			}
			if taken {
				return auth.ErrEmailExists
			}
			res, err := s.txStmt(ctx, tx, qSetEmail).ExecContext(ctx, email, micros(r.Now), userID)
			if isUniqueViolation(err) {
				return auth.ErrEmailExists
			}
			if err != nil {
				return s.fail(ctx, op, err)
			}
			if err := s.oneRow(ctx, op, res); err != nil {
				return err
			}
		case recovery.LinkResetPassword:
			if _, err := s.txStmt(ctx, tx, qReset).ExecContext(ctx, r.NewPasswordHash, micros(r.Now), userID); err != nil {
				return s.fail(ctx, op, err)
			}
			if _, err := s.txStmt(ctx, tx, qRevokeUserSessions).ExecContext(ctx, userID); err != nil {
				return s.fail(ctx, op, err)
			}
		default:
			return auth.ErrNotFound
		}
		if _, err := s.txStmt(ctx, tx, qDeleteUserLinkTokens).ExecContext(ctx, userID); err != nil {
			return s.fail(ctx, op, err)
		}
		return nil
	})
	if userID != "" {
		s.forget(userID, r.Purpose == recovery.LinkResetPassword)
	}
	if err != nil {
		return nil, err
	}
	if dead {
		return nil, auth.ErrNotFound
	}
	return s.UserByID(ctx, userID)
}
