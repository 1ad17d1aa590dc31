package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/recovery"
)

// CreateLinkToken implements recovery.LinkStore, in one statement that also
// deletes the user's other tokens of the purpose and every expired token.
// An unknown user is auth.ErrNotFound.
func (s *Store) CreateLinkToken(ctx context.Context, t *recovery.LinkToken) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(t.UserID, t.Email, string(t.Purpose)) {
		return auth.ErrInvalidInput
	}
	_, err := s.pool.Exec(ctx, s.q.createLinkToken, t.Hash, t.UserID, string(t.Purpose), t.Email, t.UserVersion, t.CreatedAt, t.ExpiresAt)
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

// LinkToken implements recovery.LinkStore.
func (s *Store) LinkToken(ctx context.Context, hash []byte) (*recovery.LinkToken, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	t := recovery.LinkToken{Hash: append([]byte(nil), hash...)}
	var purpose string
	err := s.pool.QueryRow(ctx, s.q.linkToken, hash).Scan(&t.UserID, &purpose, &t.Email, &t.UserVersion, &t.CreatedAt, &t.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	t.Purpose = recovery.LinkPurpose(purpose)
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return &t, nil
}

// RedeemLinkToken implements recovery.LinkStore, in one transaction: the token
// and its user are read with the token's liveness and locked (so that of
// concurrent redemptions one finds the token, and a change of the user is
// either seen or made after), then the change made and every link token of
// the user deleted. A verification also takes the lock of its address as a
// login name (see CreateUser), so that no account can take it as a
// username meanwhile. A dead token is deleted alone.
func (s *Store) RedeemLinkToken(ctx context.Context, r recovery.Redemption) (*auth.User, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(r.NewPasswordHash) {
		return nil, auth.ErrInvalidInput
	}
	if r.Purpose != recovery.LinkVerifyEmail && r.Purpose != recovery.LinkResetPassword {
		return nil, auth.ErrNotFound
	}
	var u *auth.User
	dead := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var userID, email string
		var alive bool
		err := tx.QueryRow(ctx, s.q.redeemable, r.Hash, string(r.Purpose), r.Now).Scan(&userID, &email, &alive)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return auth.ErrNotFound
		case err != nil:
			return err
		case !alive:
			dead = true
			_, err := tx.Exec(ctx, s.q.deleteLinkToken, r.Hash)
			return err
		}
		if r.Purpose == recovery.LinkVerifyEmail {
			if _, err := tx.Exec(ctx, s.q.lockName, s.nameLock(email)); err != nil {
				return err
			}
			var taken bool
			if err := tx.QueryRow(ctx, s.q.addressTaken, userID, email).Scan(&taken); err != nil {
				return err
			}
			if taken {
				return auth.ErrEmailExists
			}
			u, err = scanUser(ctx, tx.QueryRow(ctx, s.q.setEmail, userID, email, r.Now))
		} else {
			u, err = scanUser(ctx, tx.QueryRow(ctx, s.q.reset, userID, r.NewPasswordHash, r.Now))
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, s.q.deleteUserLinks, userID)
		return err
	})
	switch {
	case sqlState(err) == codeUniqueViolation:
		return nil, auth.ErrEmailExists
	case err != nil:
		return nil, err
	case dead:
		return nil, auth.ErrNotFound
	}
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	return u, nil
}
