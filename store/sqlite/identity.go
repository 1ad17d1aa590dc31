package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
)

// The linked identities and the attempts (identitystore.Store), in the
// tables of migration 8. A provider account is linked once, and a user
// has one identity per provider, by the table's unique keys, whichever
// statement inserts it. The checks with their changes are single
// statements or immediate transactions on the writer, and SQLite runs one
// write at a time, across every connection and process: TakeAttempt's
// DELETE ... RETURNING; UnlinkIdentity's DELETE, whose WHERE clause with
// keepLast counts the user's identities and passkeys (as
// DeleteCredential's counts the user's credentials and identities), with
// the read of its answer; ReclaimAccount's read of the email and every
// change after it. A user's identities and attempts go with the user (ON
// DELETE CASCADE).

// scanIdentity reads a row of identityColumns.
func scanIdentity(row scanner) (*identitystore.Identity, error) {
	var id identitystore.Identity
	var linked int64
	if err := row.Scan(&id.UserID, &id.Provider, &id.Issuer, &id.Subject, &id.Email, &linked); err != nil {
		return nil, err
	}
	id.LinkedAt = fromMicros(linked)
	return &id, nil
}

// Identity implements identitystore.Store.
func (s *Store) Identity(ctx context.Context, issuer, subject string) (*identitystore.Identity, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !identitystore.ValidAccount(issuer, subject) {
		return nil, auth.ErrNotFound
	}
	id, err := scanIdentity(s.rs[qIdentity].QueryRowContext(ctx, issuer, subject))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, s.fail(ctx, "Identity", err)
	}
	return id, nil
}

// Identities implements identitystore.Store. An unknown user has none.
func (s *Store) Identities(ctx context.Context, userID string) ([]identitystore.Identity, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, nil
	}
	const op = "Identities"
	rows, err := s.rs[qIdentities].QueryContext(ctx, userID)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	defer rows.Close()
	var out []identitystore.Identity
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, s.fail(ctx, op, err)
		}
		out = append(out, *id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out, nil
}

// linkIdentity inserts id, as userID's, with stmt (qLinkIdentity, maybe
// within a transaction): a linked provider account, or a second identity
// of the user at the provider, is auth.ErrConflict; an unknown user
// auth.ErrNotFound.
func (s *Store) linkIdentity(ctx context.Context, stmt *sql.Stmt, op, userID string, id *identitystore.Identity) error {
	_, err := stmt.ExecContext(ctx, userID, id.Provider, id.Issuer, id.Subject, id.Email, micros(id.LinkedAt))
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return auth.ErrConflict
	case isForeignKeyViolation(err):
		return auth.ErrNotFound
	}
	return s.fail(ctx, op, err)
}

// LinkIdentity implements identitystore.Store, in one statement.
func (s *Store) LinkIdentity(ctx context.Context, id *identitystore.Identity) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !id.Valid() {
		return auth.ErrInvalidInput
	}
	return s.linkIdentity(ctx, s.ws[qLinkIdentity], "LinkIdentity", id.UserID, id)
}

// CreateUserWithIdentity implements identitystore.Store, in one immediate
// transaction: CreateUser's checks and insert, then the identity.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u *auth.User, id *identitystore.Identity) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !userStorable(u) || !id.Valid() || id.UserID != u.ID {
		return auth.ErrInvalidInput
	}
	defer s.forget(u.ID, false)
	const op = "CreateUserWithIdentity"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if err := s.insertUser(ctx, tx, op, u); err != nil {
			return err
		}
		return s.linkIdentity(ctx, s.txStmt(ctx, tx, qLinkIdentity), op, u.ID, id)
	})
}

// UnlinkIdentity implements identitystore.Store, in one immediate
// transaction: one DELETE, whose WHERE clause with keepLast counts the
// user's identities and passkeys, and when it changes no row, a read that
// tells auth.ErrConflict (the user's identity is there: the last way in)
// from auth.ErrNotFound.
func (s *Store) UnlinkIdentity(ctx context.Context, userID, provider string, keepLast bool) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(userID) || !identitystore.ValidProvider(provider) {
		return auth.ErrNotFound
	}
	const op = "UnlinkIdentity"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := s.txStmt(ctx, tx, qUnlinkIdentity).ExecContext(ctx, userID, provider, keepLast)
		if err != nil {
			return s.fail(ctx, op, err)
		}
		err = s.oneRow(ctx, op, res)
		if !errors.Is(err, auth.ErrNotFound) {
			return err
		}
		var exists bool
		if err := s.txStmt(ctx, tx, qIdentityExists).QueryRowContext(ctx, userID, provider).Scan(&exists); err != nil {
			return s.fail(ctx, op, err)
		}
		if exists {
			return auth.ErrConflict // the user's last way in
		}
		return auth.ErrNotFound
	})
}

// ReclaimAccount implements identitystore.Store, in one immediate
// transaction: the user's email read and compared, the provider account
// looked for (linked: auth.ErrConflict), the user's identities replaced
// by id, then the password
// cleared, the email verified, the token version incremented, every
// session revoked, and the user's passkeys (handle, credentials,
// ceremonies), second factors (enrolment, codes, challenges), mailed
// links and attempts deleted. The user cache, if any, forgets the user
// and its sessions.
func (s *Store) ReclaimAccount(ctx context.Context, userID, email string, id *identitystore.Identity, now time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !id.Valid() || id.UserID != userID || email == "" || !storable(email) {
		return auth.ErrInvalidInput
	}
	defer s.forget(userID, true)
	const op = "ReclaimAccount"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var cur string
		var verified bool
		if err := s.txStmt(ctx, tx, qUserEmail).QueryRowContext(ctx, userID).Scan(&cur, &verified); err != nil {
			return s.userErr(ctx, op, err)
		}
		if cur != email || verified {
			return auth.ErrConflict // changed, or proven, meanwhile
		}
		// Linked already, to anyone: this user's too, which the deletion
		// below would free.
		var linked bool
		if err := s.txStmt(ctx, tx, qAccountLinked).QueryRowContext(ctx, id.Issuer, id.Subject).Scan(&linked); err != nil {
			return s.fail(ctx, op, err)
		}
		if linked {
			return auth.ErrConflict
		}
		if _, err := s.txStmt(ctx, tx, qDeleteUserIdentities).ExecContext(ctx, userID); err != nil {
			return s.fail(ctx, op, err)
		}
		if err := s.linkIdentity(ctx, s.txStmt(ctx, tx, qLinkIdentity), op, userID, id); err != nil {
			return err
		}
		if _, err := s.txStmt(ctx, tx, qReclaimUser).ExecContext(ctx, micros(now), userID); err != nil {
			return s.fail(ctx, op, err)
		}
		for _, q := range []string{qRevokeUserSessions, qDeleteUserHandle, qDeleteUserCeremonies, qDeleteTOTP,
			qDeleteUserChallenges, qDeleteUserLinkTokens, qDeleteUserAttempts} {
			if _, err := s.txStmt(ctx, tx, q).ExecContext(ctx, userID); err != nil {
				return s.fail(ctx, op, err)
			}
		}
		return nil
	})
}

// CreateAttempt implements identitystore.Store, in one immediate
// transaction that first deletes the attempts, any user's, that expired
// before a.CreatedAt.
func (s *Store) CreateAttempt(ctx context.Context, a *identitystore.Attempt) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !a.Valid() {
		return auth.ErrInvalidInput
	}
	var userID any // NULL: a sign-in
	if a.UserID != "" {
		userID = a.UserID
	}
	const op = "CreateAttempt"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := s.txStmt(ctx, tx, qDeleteOldAttempts).ExecContext(ctx, micros(a.CreatedAt)); err != nil {
			return s.fail(ctx, op, err)
		}
		_, err := s.txStmt(ctx, tx, qCreateAttempt).ExecContext(ctx, a.ID, a.Binding, a.Provider, userID, blob(a.Data),
			micros(a.CreatedAt), micros(a.ExpiresAt))
		switch {
		case err == nil:
			return nil
		case isForeignKeyViolation(err):
			return auth.ErrNotFound
		case isUniqueViolation(err):
			return auth.ErrConflict // the same hash twice: a random state never repeats
		}
		return s.fail(ctx, op, err)
	})
}

// TakeAttempt implements identitystore.Store: one DELETE ... RETURNING,
// which of calls at once only one makes.
func (s *Store) TakeAttempt(ctx context.Context, id []byte) (*identitystore.Attempt, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if len(id) != sha256.Size {
		return nil, auth.ErrNotFound
	}
	a := identitystore.Attempt{ID: append([]byte(nil), id...)}
	var userID sql.NullString
	var created, expires int64
	err := s.ws[qTakeAttempt].QueryRowContext(ctx, id).Scan(&a.Binding, &a.Provider, &userID, &a.Data, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, s.fail(ctx, "TakeAttempt", err)
	}
	a.UserID = userID.String
	a.CreatedAt, a.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &a, nil
}
