package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
)

// The second factors (mfastore.Store), in the tables of migration 8. Each
// compare-and-set (PutPendingTOTP, AdvanceTOTP, UseRecoveryCode,
// SpendChallenge, and the first statement of ConfirmTOTP) is one statement
// whose WHERE clause is the condition, and succeeds if it changed a row:
// of statements at once on one row, PostgreSQL lets one change it and
// makes the others, waiting for its row lock, look at the row again once
// it commits (READ COMMITTED), so they find the condition false. What
// writes several statements (ConfirmTOTP, ReplaceRecoveryCodes) runs them
// in one transaction that first locks the enrolment's row. A user's
// enrolment, codes and challenges go with the user (ON DELETE CASCADE);
// the codes go with the enrolment.

// PutPendingTOTP implements mfastore.Store, in one statement: an insert
// that replaces the user's pending enrolment, and changes no row when it
// is confirmed (auth.ErrConflict). An unknown user is auth.ErrNotFound.
func (s *Store) PutPendingTOTP(ctx context.Context, t *mfastore.TOTP) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(t.UserID, t.ID) {
		return auth.ErrInvalidInput
	}
	tag, err := s.pool.Exec(ctx, s.q.putPendingTOTP, t.UserID, t.ID, nonNil(t.Sealed), t.CreatedAt)
	switch {
	case sqlState(err) == codeForeignKeyViolation:
		return auth.ErrNotFound
	case err != nil:
		return unavailable(ctx, err)
	case tag.RowsAffected() == 0:
		return auth.ErrConflict // confirmed
	}
	return nil
}

// TOTP implements mfastore.Store.
func (s *Store) TOTP(ctx context.Context, userID string) (*mfastore.TOTP, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, auth.ErrNotFound
	}
	t := mfastore.TOTP{UserID: userID}
	err := s.pool.QueryRow(ctx, s.q.totp, userID).Scan(&t.ID, &t.Sealed, &t.Confirmed, &t.LastStep, &t.CreatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// ConfirmTOTP implements mfastore.Store, in one transaction: the pending
// enrolment turned on (which locks its row; no row changed:
// auth.ErrNotFound), then the user's recovery codes replaced.
func (s *Store) ConfirmTOTP(ctx context.Context, userID, id string, lastStep int64, codes [][]byte) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(userID, id) {
		return auth.ErrNotFound
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.q.confirmTOTP, userID, id, lastStep)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrNotFound
		}
		return s.putCodes(ctx, tx, userID, codes)
	})
}

// putCodes replaces the user's recovery codes with codes, within tx.
func (s *Store) putCodes(ctx context.Context, tx pgx.Tx, userID string, codes [][]byte) error {
	if _, err := tx.Exec(ctx, s.q.deleteRecoveryCodes, userID); err != nil {
		return err
	}
	if len(codes) == 0 {
		return nil
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = nonNil(c)
	}
	_, err := tx.Exec(ctx, s.q.addRecoveryCodes, userID, hashes)
	return err
}

// AdvanceTOTP implements mfastore.Store, in one statement: the UPDATE of
// the confirmed enrolment id whose last step is below step, and whether
// that enrolment is there (auth.ErrConflict when the UPDATE changed no
// row) or not (auth.ErrNotFound).
func (s *Store) AdvanceTOTP(ctx context.Context, userID, id string, step int64) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(userID, id) {
		return auth.ErrNotFound
	}
	var updated int64
	var confirmed bool
	if err := s.pool.QueryRow(ctx, s.q.advanceTOTP, userID, id, step).Scan(&updated, &confirmed); err != nil {
		return unavailable(ctx, err)
	}
	switch {
	case updated == 1:
		return nil
	case confirmed:
		return auth.ErrConflict
	}
	return auth.ErrNotFound
}

// DeleteTOTP implements mfastore.Store, in one statement (the recovery
// codes go with the enrolment, ON DELETE CASCADE).
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(userID) {
		return auth.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, s.q.deleteTOTP, userID)
	switch {
	case err != nil:
		return unavailable(ctx, err)
	case tag.RowsAffected() == 0:
		return auth.ErrNotFound
	}
	return nil
}

// ReplaceRecoveryCodes implements mfastore.Store, in one transaction: the
// confirmed enrolment id is locked (none: auth.ErrNotFound), then the
// codes replaced.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID, id string, codes [][]byte) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(userID, id) {
		return auth.ErrNotFound
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, s.q.lockConfirmedTOTP, userID, id).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return auth.ErrNotFound
		case err != nil:
			return err
		}
		return s.putCodes(ctx, tx, userID, codes)
	})
}

// UseRecoveryCode implements mfastore.Store: one DELETE, which of calls at
// once only one makes.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, code []byte) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(userID) {
		return auth.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, s.q.useRecoveryCode, userID, nonNil(code))
	switch {
	case err != nil:
		return unavailable(ctx, err)
	case tag.RowsAffected() == 0:
		return auth.ErrNotFound
	}
	return nil
}

// RecoveryCodesLeft implements mfastore.Store. A user without codes, or
// unknown, has 0.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := s.ready(ctx); err != nil {
		return 0, err
	}
	if !storable(userID) {
		return 0, nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, s.q.recoveryCodesLeft, userID).Scan(&n); err != nil {
		return 0, unavailable(ctx, err)
	}
	return n, nil
}

// CreateChallenge implements mfastore.Store, in one statement that also
// deletes the challenges, any user's, that expired before c.CreatedAt
// (but those another call holds). An unknown user is auth.ErrNotFound.
func (s *Store) CreateChallenge(ctx context.Context, c *mfastore.Challenge) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if !storable(c.UserID) || !storable(c.Methods...) {
		return auth.ErrInvalidInput
	}
	methods := c.Methods
	if methods == nil {
		methods = []string{} // not NULL
	}
	_, err := s.pool.Exec(ctx, s.q.createChallenge, nonNil(c.ID), c.UserID, methods, c.UserVersion, c.CreatedAt, c.ExpiresAt)
	switch {
	case err == nil:
		return nil
	case sqlState(err) == codeForeignKeyViolation:
		return auth.ErrNotFound
	case sqlState(err) == codeUniqueViolation:
		return auth.ErrConflict // the same hash twice: a random token never repeats
	}
	return unavailable(ctx, err)
}

// Challenge implements mfastore.Store.
func (s *Store) Challenge(ctx context.Context, id []byte) (*mfastore.Challenge, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	c := mfastore.Challenge{ID: append([]byte(nil), id...)}
	err := s.pool.QueryRow(ctx, s.q.challenge, nonNil(id)).Scan(&c.UserID, &c.Methods, &c.UserVersion, &c.CreatedAt, &c.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, unavailable(ctx, err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return &c, nil
}

// SpendChallenge implements mfastore.Store: one DELETE, which of calls at
// once only one makes.
func (s *Store) SpendChallenge(ctx context.Context, id []byte) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.spendChallenge, nonNil(id))
	switch {
	case err != nil:
		return unavailable(ctx, err)
	case tag.RowsAffected() == 0:
		return auth.ErrNotFound
	}
	return nil
}

// nonNil returns b, or an empty slice for nil, which pgx would send as
// NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
