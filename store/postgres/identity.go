package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
)

// The linked identities and the attempts (identitystore.Store), in the
// tables of migration 10. A provider account is linked once, and a user
// has one identity per provider, by the table's unique keys: of inserts at
// once, one waits for the other's commit and fails. TakeAttempt is one
// DELETE ... RETURNING, which READ COMMITTED lets one call make. The
// checks of a user's ways in lock the user's row first (SELECT ... FOR NO
// KEY UPDATE), so that they run one after the other and each reads what
// the one before left: UnlinkIdentity and passkeystore's DeleteCredential
// (the last way in, across both), and ReclaimAccount (the email compared,
// then everything changed). LinkIdentity shares that row while it inserts,
// so that it comes before or after each of them. A user's identities and
// attempts go with the user (ON DELETE CASCADE).

// identityArgs are the values of identityColumns for id, as userID's.
func identityArgs(userID string, id *identitystore.Identity) []any {
	return []any{userID, id.Provider, id.Issuer, id.Subject, id.Email, id.LinkedAt}
}

// scanIdentity reads a row of identityColumns.
func scanIdentity(ctx context.Context, row pgx.Row) (*identitystore.Identity, error) {
	var id identitystore.Identity
	err := row.Scan(&id.UserID, &id.Provider, &id.Issuer, &id.Subject, &id.Email, &id.LinkedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	id.LinkedAt = id.LinkedAt.UTC()
	return &id, nil
}

// Identity implements identitystore.Store.
func (s *Store) Identity(ctx context.Context, issuer, subject string) (*identitystore.Identity, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !identitystore.ValidAccount(issuer, subject) {
		return nil, auth.ErrNotFound
	}
	return scanIdentity(ctx, s.pool.QueryRow(ctx, s.q.identity, issuer, subject))
}

// Identities implements identitystore.Store. An unknown user has none.
func (s *Store) Identities(ctx context.Context, userID string) ([]identitystore.Identity, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.q.identities, userID)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	defer rows.Close()
	var out []identitystore.Identity
	for rows.Next() {
		id, err := scanIdentity(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *id)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(ctx, err)
	}
	return out, nil
}

// LinkIdentity implements identitystore.Store, in one statement: the
// user's row shared, and the identity inserted. A unique violation (the
// provider account, or the user's identity at the provider) is
// auth.ErrConflict; no row inserted, auth.ErrNotFound.
func (s *Store) LinkIdentity(ctx context.Context, id *identitystore.Identity) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !id.Valid() {
		return auth.ErrInvalidInput
	}
	tag, err := s.pool.Exec(ctx, s.q.linkIdentity, identityArgs(id.UserID, id)...)
	switch {
	case sqlState(err) == codeUniqueViolation:
		return auth.ErrConflict
	case err != nil:
		return unavailable(ctx, err)
	case tag.RowsAffected() == 0:
		return auth.ErrNotFound
	}
	return nil
}

// CreateUserWithIdentity implements identitystore.Store, in CreateUser's
// transaction: the login names locked and checked, the user inserted,
// then the identity.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u *auth.User, id *identitystore.Identity) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !userStorable(u) || !id.Valid() || id.UserID != u.ID {
		return auth.ErrInvalidInput
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.insertUser(ctx, tx, u); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.insertIdentity, identityArgs(u.ID, id)...); err != nil {
			if sqlState(err) == codeUniqueViolation {
				return auth.ErrConflict // a linked provider account
			}
			return err
		}
		return nil
	})
}

// UnlinkIdentity implements identitystore.Store, in one transaction: the
// user's row locked (none: the user has no identity), then one DELETE,
// whose WHERE clause with keepLast counts the user's identities and
// passkeys, and which says whether the user's identity is there (the last
// way in: auth.ErrConflict) or not (auth.ErrNotFound) when it deleted
// nothing.
func (s *Store) UnlinkIdentity(ctx context.Context, userID, provider string, keepLast bool) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(userID) || !identitystore.ValidProvider(provider) {
		return auth.ErrNotFound
	}
	return s.deleteWayIn(ctx, userID, s.q.unlinkIdentity, userID, provider, keepLast)
}

// ReclaimAccount implements identitystore.Store, in one transaction: the
// user's row locked and its email compared, the provider account looked
// for (linked: auth.ErrConflict), the user's identities replaced by id,
// then one statement that ends every login and removes every other way in
// (see the query).
func (s *Store) ReclaimAccount(ctx context.Context, userID, email string, id *identitystore.Identity, now time.Time) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !id.Valid() || id.UserID != userID || email == "" || !storable(email) {
		return auth.ErrInvalidInput
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var cur string
		var verified bool
		err := tx.QueryRow(ctx, s.q.userEmailForUpdate, userID).Scan(&cur, &verified)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return auth.ErrNotFound
		case err != nil:
			return err
		case cur != email || verified:
			return auth.ErrConflict // changed, or proven, meanwhile
		}
		// Linked already, to anyone: this user's too, which the deletion
		// below would free.
		var linked bool
		if err := tx.QueryRow(ctx, s.q.accountLinked, id.Issuer, id.Subject).Scan(&linked); err != nil {
			return err
		}
		if linked {
			return auth.ErrConflict
		}
		if _, err := tx.Exec(ctx, s.q.deleteUserIdentities, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.insertIdentity, identityArgs(userID, id)...); err != nil {
			if sqlState(err) == codeUniqueViolation {
				return auth.ErrConflict // linked meanwhile, by an insert in flight
			}
			return err
		}
		_, err = tx.Exec(ctx, s.q.reclaim, userID, now)
		return err
	})
	if err != nil {
		return err
	}
	return s.settle(ctx)
}

// CreateAttempt implements identitystore.Store, in one statement that
// also deletes the attempts, any user's, that expired before a.CreatedAt
// (but those another call holds). An unknown user is auth.ErrNotFound.
func (s *Store) CreateAttempt(ctx context.Context, a *identitystore.Attempt) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !a.Valid() {
		return auth.ErrInvalidInput
	}
	var userID *string // NULL: a sign-in
	if a.UserID != "" {
		userID = &a.UserID
	}
	_, err := s.pool.Exec(ctx, s.q.createAttempt, a.ID, a.Binding, a.Provider, userID, nonNil(a.Data), a.CreatedAt, a.ExpiresAt)
	switch {
	case err == nil:
		return nil
	case sqlState(err) == codeForeignKeyViolation:
		return auth.ErrNotFound
	case sqlState(err) == codeUniqueViolation:
		return auth.ErrConflict // the same hash twice: a random state never repeats
	}
	return unavailable(ctx, err)
}

// TakeAttempt implements identitystore.Store: one DELETE ... RETURNING,
// which of calls at once only one makes.
func (s *Store) TakeAttempt(ctx context.Context, id []byte) (*identitystore.Attempt, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if len(id) != sha256.Size {
		return nil, auth.ErrNotFound
	}
	a := identitystore.Attempt{ID: append([]byte(nil), id...)}
	var userID *string
	err := s.pool.QueryRow(ctx, s.q.takeAttempt, id).Scan(&a.Binding, &a.Provider, &userID, &a.Data, &a.CreatedAt, &a.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	if userID != nil {
		a.UserID = *userID
	}
	a.CreatedAt, a.ExpiresAt = a.CreatedAt.UTC(), a.ExpiresAt.UTC()
	return &a, nil
}
