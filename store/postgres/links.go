package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
)

// CreateLinkToken implements auth.LinkStore, in one statement that also
// deletes the user's other tokens of the purpose and every expired token.
// An unknown user is auth.ErrNotFound.
func (s *Store) CreateLinkToken(ctx context.Context, t *auth.LinkToken) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(t.UserID, t.Email, string(t.Purpose)) {
		return auth.ErrInvalidInput
	}
	binding := t.Binding
	if binding == nil {
		binding = []byte{}
	}
	_, err := s.pool.Exec(ctx, s.q.createLinkToken, t.Hash, t.UserID, string(t.Purpose), t.Email, binding, t.CreatedAt, t.ExpiresAt)
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

// LinkToken implements auth.LinkStore.
func (s *Store) LinkToken(ctx context.Context, hash []byte) (*auth.LinkToken, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	t := auth.LinkToken{Hash: append([]byte(nil), hash...)}
	var purpose string
	err := s.pool.QueryRow(ctx, s.q.linkToken, hash).Scan(&t.UserID, &purpose, &t.Email, &t.Binding, &t.CreatedAt, &t.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	t.Purpose = auth.LinkPurpose(purpose)
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	if len(t.Binding) == 0 {
		t.Binding = nil
	}
	return &t, nil
}

// RedeemLinkToken implements auth.LinkStore, each purpose in one statement
// that spends the token and makes the change (see queries.go): the token's
// row lock serialises concurrent redemptions, and only the first finds it.
func (s *Store) RedeemLinkToken(ctx context.Context, r auth.Redemption) (*auth.User, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(r.OldPasswordHash, r.NewPasswordHash) {
		return nil, auth.ErrInvalidInput
	}
	switch r.Purpose {
	case auth.LinkVerifyEmail:
		u, err := scanUser(ctx, s.pool.QueryRow(ctx, s.q.redeemEmail, r.Hash, r.Now))
		if sqlState(err) == codeUniqueViolation {
			return nil, auth.ErrEmailExists
		}
		return u, err
	case auth.LinkResetPassword:
		var userID *string
		var reset bool
		if err := s.pool.QueryRow(ctx, s.q.redeemReset, r.Hash, r.Now, r.OldPasswordHash, r.NewPasswordHash).Scan(&userID, &reset); err != nil {
			return nil, unavailable(ctx, err)
		}
		switch {
		case userID == nil:
			return nil, auth.ErrNotFound
		case !reset:
			return nil, auth.ErrConflict
		}
		return s.UserByID(ctx, *userID)
	}
	return nil, auth.ErrNotFound
}
