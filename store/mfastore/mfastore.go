// Package mfastore is the store capability of second factors: what package
// mfa (github.com/goauthkit/auth/mfa, a module of its own, with
// pquerna/otp) keeps of a user's authenticator app (TOTP), recovery codes
// and the logins waiting for their second factor. A Store that implements
// Store here serves mfa; one that does not still serves everything else.
//
// It is a package of its own, with no dependency beyond the core, so that a
// store can implement it without compiling or downloading anything of
// TOTP: store/memory, store/sqlite and store/postgres do, and
// store/storetest checks every implementation (the compare-and-set of the
// last step and the redemption of a code under concurrency included).
//
// Nothing here is secret in the store's hands: a TOTP secret is sealed by
// package mfa (AES-256-GCM under a key the database does not hold),
// recovery codes are kept as keyed hashes (HMAC-SHA-256, the key again
// outside the database), and a challenge as the hash of its token.
package mfastore

import (
	"context"
	"time"
)

// TOTP is a user's authenticator-app enrolment: pending until the user
// confirms it with a code, then on.
type TOTP struct {
	UserID string
	// ID names this enrolment: random, made by package mfa. A new
	// enrolment has a new ID, so its LastStep starts afresh.
	ID string
	// Sealed is the secret as package mfa sealed it: opaque to the store,
	// at most 256 bytes.
	Sealed []byte
	// Confirmed reports that the user confirmed the enrolment with a code:
	// the second factor is on.
	Confirmed bool
	// LastStep is the last time step whose code was accepted (the Unix
	// time divided by the period), 0 for none: a code of that step or an
	// earlier one is never accepted again.
	LastStep int64
	// CreatedAt is when the enrolment began.
	CreatedAt time.Time
}

// Challenge is a login waiting for its second factor: the user's password
// was right, and an mfa_token went to the client instead of tokens.
type Challenge struct {
	// ID is the SHA-256 hash of the challenge token's secret (32 bytes):
	// the token itself is never stored.
	ID     []byte
	UserID string
	// Methods are how the user was verified so far (auth.Verified.Methods:
	// "pwd"), at most 8 of at most 16 bytes each.
	Methods []string
	// UserVersion is the user's TokenVersion when the challenge was made:
	// package mfa refuses a challenge whose user's tokens were ended since
	// (a password change or reset, a logout everywhere).
	UserVersion int64
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Store keeps second factors. It follows the error contract of
// auth.UserStore (auth.ErrNotFound, auth.ErrConflict, auth.ErrInvalidInput,
// failures wrapping auth.ErrStoreUnavailable) and must be safe for
// concurrent use: the compare-and-sets below are atomic across every
// instance that shares the store.
//
// Deleting a user (auth.UserDeleter) deletes everything Store keeps of the
// user: enrolment, recovery codes and challenges.
type Store interface {
	// PutPendingTOTP stores t, with Confirmed false and LastStep 0, as the
	// user's pending enrolment, replacing a pending one. It returns
	// auth.ErrConflict, and changes nothing, if the user has a confirmed
	// enrolment; auth.ErrNotFound if the user does not exist.
	PutPendingTOTP(ctx context.Context, t *TOTP) error
	// TOTP returns the user's enrolment, pending or confirmed, or
	// auth.ErrNotFound.
	TOTP(ctx context.Context, userID string) (*TOTP, error)
	// ConfirmTOTP turns the user's pending enrolment id on, with lastStep
	// as its LastStep, and replaces the user's recovery codes with codes,
	// all or nothing. It returns auth.ErrNotFound if the user has no
	// pending enrolment of that id (it was confirmed, replaced or deleted
	// meanwhile): of two confirmations at once, one succeeds.
	ConfirmTOTP(ctx context.Context, userID, id string, lastStep int64, codes [][]byte) error
	// AdvanceTOTP sets the LastStep of the user's confirmed enrolment id
	// to step, if step is greater than its LastStep (a compare-and-set: of
	// any number of calls at once with the same step, exactly one
	// succeeds). It returns auth.ErrConflict when step is not greater (the
	// code was used), auth.ErrNotFound when the user has no confirmed
	// enrolment of that id.
	AdvanceTOTP(ctx context.Context, userID, id string, step int64) error
	// DeleteTOTP deletes the user's enrolment, pending or confirmed, and
	// recovery codes. It returns auth.ErrNotFound if the user had no
	// enrolment.
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes replaces the user's recovery codes (keyed
	// hashes, 32 bytes each, at most 20) with codes, if the user's
	// enrolment id is confirmed; auth.ErrNotFound otherwise.
	ReplaceRecoveryCodes(ctx context.Context, userID, id string, codes [][]byte) error
	// UseRecoveryCode deletes code from the user's recovery codes: of any
	// number of calls at once with one code, exactly one succeeds. It
	// returns auth.ErrNotFound if the user has no such code.
	UseRecoveryCode(ctx context.Context, userID string, code []byte) error
	// RecoveryCodesLeft returns how many recovery codes the user has.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// CreateChallenge stores c; auth.ErrNotFound if its user does not
	// exist. The store may delete challenges that expired before
	// c.CreatedAt.
	CreateChallenge(ctx context.Context, c *Challenge) error
	// Challenge returns the challenge with this id, expired or not, or
	// auth.ErrNotFound.
	Challenge(ctx context.Context, id []byte) (*Challenge, error)
	// SpendChallenge deletes the challenge with this id: of any number of
	// calls at once, exactly one succeeds. It returns auth.ErrNotFound if
	// there is no such challenge.
	SpendChallenge(ctx context.Context, id []byte) error
}
