package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
)

// The second factors (mfastore.Store), in the tables of migration 6. Each
// compare-and-set (AdvanceTOTP, UseRecoveryCode, SpendChallenge, and the
// first statement of ConfirmTOTP) is one statement whose WHERE clause is
// the condition, and succeeds if it changed a row: SQLite runs one write
// at a time, across every connection and process, so of calls made at
// once exactly one changes it. What writes several statements
// (ConfirmTOTP, ReplaceRecoveryCodes, CreateChallenge) runs them in one
// immediate transaction on the writer. A user's enrolment, codes and
// challenges go with the user (ON DELETE CASCADE); the codes go with the
// enrolment.

// PutPendingTOTP implements mfastore.Store, in one statement: an insert
// that replaces the user's pending enrolment, and changes no row when it
// is confirmed (auth.ErrConflict). An unknown user is auth.ErrNotFound.
func (s *Store) PutPendingTOTP(ctx context.Context, t *mfastore.TOTP) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(t.UserID, t.ID) {
		return auth.ErrInvalidInput
	}
	const op = "PutPendingTOTP"
	res, err := s.ws[qPutPendingTOTP].ExecContext(ctx, t.UserID, t.ID, blob(t.Sealed), micros(t.CreatedAt))
	switch {
	case isForeignKeyViolation(err):
		return auth.ErrNotFound
	case err != nil:
		return s.fail(ctx, op, err)
	}
	if err := s.oneRow(ctx, op, res); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return auth.ErrConflict // confirmed
		}
		return err
	}
	return nil
}

// TOTP implements mfastore.Store.
func (s *Store) TOTP(ctx context.Context, userID string) (*mfastore.TOTP, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !storable(userID) {
		return nil, auth.ErrNotFound
	}
	t := mfastore.TOTP{UserID: userID}
	var created int64
	err := s.rs[qTOTP].QueryRowContext(ctx, userID).Scan(&t.ID, &t.Sealed, &t.Confirmed, &t.LastStep, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, s.fail(ctx, "TOTP", err)
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// ConfirmTOTP implements mfastore.Store, in one immediate transaction: the
// pending enrolment turned on (no row changed: auth.ErrNotFound), then the
// user's recovery codes replaced.
func (s *Store) ConfirmTOTP(ctx context.Context, userID, id string, lastStep int64, codes [][]byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(userID, id) {
		return auth.ErrNotFound
	}
	const op = "ConfirmTOTP"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := s.txStmt(ctx, tx, qConfirmTOTP).ExecContext(ctx, userID, id, lastStep)
		if err != nil {
			return s.fail(ctx, op, err)
		}
		if err := s.oneRow(ctx, op, res); err != nil {
			return err
		}
		return s.putCodes(ctx, tx, op, userID, codes)
	})
}

// putCodes replaces the user's recovery codes with codes, within tx.
func (s *Store) putCodes(ctx context.Context, tx *sql.Tx, op, userID string, codes [][]byte) error {
	if _, err := s.txStmt(ctx, tx, qDeleteRecoveryCodes).ExecContext(ctx, userID); err != nil {
		return s.fail(ctx, op, err)
	}
	add := s.txStmt(ctx, tx, qAddRecoveryCode)
	for _, c := range codes {
		if _, err := add.ExecContext(ctx, userID, blob(c)); err != nil {
			return s.fail(ctx, op, err)
		}
	}
	return nil
}

// AdvanceTOTP implements mfastore.Store: one UPDATE, of the confirmed
// enrolment id whose last step is below step. When it changes no row, a
// read tells auth.ErrConflict (the enrolment is there) from
// auth.ErrNotFound.
func (s *Store) AdvanceTOTP(ctx context.Context, userID, id string, step int64) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(userID, id) {
		return auth.ErrNotFound
	}
	const op = "AdvanceTOTP"
	res, err := s.ws[qAdvanceTOTP].ExecContext(ctx, userID, id, step)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	err = s.oneRow(ctx, op, res)
	if !errors.Is(err, auth.ErrNotFound) {
		return err
	}
	var confirmed bool
	if err := s.rs[qConfirmedTOTP].QueryRowContext(ctx, userID, id).Scan(&confirmed); err != nil {
		return s.fail(ctx, op, err)
	}
	if confirmed {
		return auth.ErrConflict
	}
	return auth.ErrNotFound
}

// DeleteTOTP implements mfastore.Store, in one statement (the recovery
// codes go with the enrolment, ON DELETE CASCADE).
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(userID) {
		return auth.ErrNotFound
	}
	res, err := s.ws[qDeleteTOTP].ExecContext(ctx, userID)
	if err != nil {
		return s.fail(ctx, "DeleteTOTP", err)
	}
	return s.oneRow(ctx, "DeleteTOTP", res)
}

// ReplaceRecoveryCodes implements mfastore.Store, in one immediate
// transaction: the confirmed enrolment id is looked for, then the codes
// replaced.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID, id string, codes [][]byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(userID, id) {
		return auth.ErrNotFound
	}
	const op = "ReplaceRecoveryCodes"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var confirmed bool
		if err := s.txStmt(ctx, tx, qConfirmedTOTP).QueryRowContext(ctx, userID, id).Scan(&confirmed); err != nil {
			return s.fail(ctx, op, err)
		}
		if !confirmed {
			return auth.ErrNotFound
		}
		return s.putCodes(ctx, tx, op, userID, codes)
	})
}

// UseRecoveryCode implements mfastore.Store: one DELETE, which of calls at
// once only one makes.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, code []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(userID) {
		return auth.ErrNotFound
	}
	res, err := s.ws[qUseRecoveryCode].ExecContext(ctx, userID, blob(code))
	if err != nil {
		return s.fail(ctx, "UseRecoveryCode", err)
	}
	return s.oneRow(ctx, "UseRecoveryCode", res)
}

// RecoveryCodesLeft implements mfastore.Store. A user without codes, or
// unknown, has 0.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if !storable(userID) {
		return 0, nil
	}
	var n int
	if err := s.rs[qRecoveryCodesLeft].QueryRowContext(ctx, userID).Scan(&n); err != nil {
		return 0, s.fail(ctx, "RecoveryCodesLeft", err)
	}
	return n, nil
}

// CreateChallenge implements mfastore.Store, in one immediate transaction
// that first deletes the challenges, any user's, that expired before
// c.CreatedAt.
func (s *Store) CreateChallenge(ctx context.Context, c *mfastore.Challenge) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if !storable(c.UserID) || !storable(c.Methods...) {
		return auth.ErrInvalidInput
	}
	methods, err := json.Marshal(c.Methods)
	if err != nil {
		return fmt.Errorf("sqlite: CreateChallenge: methods: %w", err)
	}
	const op = "CreateChallenge"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := s.txStmt(ctx, tx, qDeleteOldChallenges).ExecContext(ctx, micros(c.CreatedAt)); err != nil {
			return s.fail(ctx, op, err)
		}
		_, err := s.txStmt(ctx, tx, qCreateChallenge).ExecContext(ctx, blob(c.ID), c.UserID, string(methods), c.UserVersion,
			micros(c.CreatedAt), micros(c.ExpiresAt))
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

// Challenge implements mfastore.Store.
func (s *Store) Challenge(ctx context.Context, id []byte) (*mfastore.Challenge, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	const op = "Challenge"
	c := mfastore.Challenge{ID: append([]byte(nil), id...)}
	var methods string
	var created, expires int64
	err := s.rs[qChallenge].QueryRowContext(ctx, blob(id)).Scan(&c.UserID, &methods, &c.UserVersion, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, auth.ErrNotFound
	case err != nil:
		return nil, s.fail(ctx, op, err)
	}
	if err := json.Unmarshal([]byte(methods), &c.Methods); err != nil {
		return nil, s.fail(ctx, op, fmt.Errorf("methods of challenge: %w", err))
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &c, nil
}

// SpendChallenge implements mfastore.Store: one DELETE, which of calls at
// once only one makes.
func (s *Store) SpendChallenge(ctx context.Context, id []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	res, err := s.ws[qSpendChallenge].ExecContext(ctx, blob(id))
	if err != nil {
		return s.fail(ctx, "SpendChallenge", err)
	}
	return s.oneRow(ctx, "SpendChallenge", res)
}
