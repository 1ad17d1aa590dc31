// Package mfa is the second factor of package auth: an authenticator app
// (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps) with recovery codes
// for the day the phone is lost. A service that does not import it
// neither compiles nor configures it; it is a module of its own, so that
// pquerna/otp (the secret, and the code of a step) and its QR codes are
// downloaded only by services that use it.
//
// New interposes at the core's sign-in seam (auth.Authenticator.Intercept):
// once a user has confirmed an authenticator app, a right password (or any
// way of signing in that is not itself a second factor) yields a
// *Challenge instead of tokens, and Complete turns the challenge and a
// code into a login whose tokens say so (amr holds auth.MethodOTP and
// auth.MethodMFA; auth.Authenticator.RequireSecondFactor lets through
// only those). Package mfahttp serves it over HTTP.
//
// What it does that others get wrong:
//
//   - a code is accepted once: the last accepted step is kept per
//     enrolment and advanced by a compare-and-set in the store, so the same
//     code, or an earlier step's, is refused after a success, also when two
//     requests race on two instances;
//   - the secret is sealed at rest (AES-256-GCM, bound to the user and the
//     enrolment) under Config.Key, which the database does not hold;
//     recovery codes are kept as HMAC-SHA-256 under a key derived from it,
//     and are single-use;
//   - wrong codes count per challenge (5, then it is dead) and per user
//     over every address and challenge (Config.CodeUser), in the core's
//     Limiter, so that a limiter shared by the instances (store/postgres,
//     redislimit) bounds them across instances: never more than 5 codes
//     checked for a user per window;
//   - the challenge is a store record (mfastore.Challenge), not process
//     memory: any instance completes it; it is single-use, bound to the
//     login's purpose, expires (Config.ChallengeTTL), and dies with the
//     user's tokens (a password change or reset, a logout everywhere);
//   - confirming an enrolment ends the user's other logins, made when a
//     password alone was enough.
//
// Its storage is mfastore.Store, which store/memory, store/sqlite and
// store/postgres implement; New refuses a Store without it.
package mfa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
)

// Config configures the second factor. Key is required; every other field
// has a default.
type Config struct {
	// Key is the service's secret for second factors, at least 32 bytes,
	// kept outside the database (the example server's AUTH_ENCRYPTION_KEY):
	// the key that seals TOTP secrets (AES-256-GCM) and the key of the
	// recovery codes' hashes (HMAC-SHA-256) are derived from it (HKDF).
	// Losing it loses every enrolment; whoever holds it and the database
	// can read the secrets.
	Key []byte
	// Issuer is the name authenticator apps show beside the account.
	// Default "goauthkit".
	Issuer string
	// ChallengeTTL is how long a challenge (an mfa_token) lives. Default
	// 5 minutes; at most an hour.
	ChallengeTTL time.Duration
	// CodeUser bounds the codes (TOTP and recovery codes) checked in
	// flight or wrong for one user, over every address and challenge. A
	// right code forgives the wrong ones. Default 5, then one per minute.
	CodeUser auth.Rate
	// CodeTries is how many wrong codes one challenge takes; past them it
	// is dead. Default 5.
	CodeTries int
}

// MFA is the second factor of an Authenticator. It is safe for
// concurrent use.
type MFA struct {
	a         *auth.Authenticator
	store     mfastore.Store
	aead      cipher.AEAD
	codeKey   []byte
	issuer    string
	ttl       time.Duration
	codeUser  auth.Rate
	codeTries int
}

// Errors of the second factor, for errors.Is. Package mfahttp answers
// each as the HTTP contract says.
var (
	// ErrRequired is matched by the *Challenge that a sign-in of a user
	// with a second factor returns instead of tokens.
	ErrRequired = errors.New("mfa: a second factor is required")
	// ErrInvalidCode is a wrong code, one already used (or a code of a
	// step before the last accepted one), or one of the wrong form.
	ErrInvalidCode = errors.New("mfa: the code is wrong or was used")
	// ErrInvalidChallenge is a challenge token that is unknown, spent,
	// expired, dead from wrong codes, or whose user's tokens were ended
	// since it was made.
	ErrInvalidChallenge = errors.New("mfa: the challenge is unknown, spent or expired")
	// ErrEnabled refuses an enrolment for a user whose authenticator app
	// is on already.
	ErrEnabled = errors.New("mfa: an authenticator app is enabled already")
	// ErrNothingToConfirm refuses a confirmation without a pending
	// enrolment.
	ErrNothingToConfirm = errors.New("mfa: no enrolment to confirm")
	// ErrNotEnabled refuses what needs an authenticator app (new recovery
	// codes, turning it off) for a user without one.
	ErrNotEnabled = errors.New("mfa: no authenticator app is enabled")
)

// Events of the second factor, emitted through the Authenticator
// (auth.Authenticator.Emit) to Config.OnEvent, the audit log and the
// metrics. None carries a secret or a code.
const (
	// EventRequired: a sign-in was answered with a challenge.
	EventRequired auth.EventType = "mfa_required"
	// EventFailed: a code refused: wrong or used (Reason "totp" or
	// "recovery_code"), for a challenge dead from wrong codes
	// ("dead_challenge"), or not checked because the user's codes are
	// being guessed ("throttled").
	EventFailed auth.EventType = "mfa_failed"
	// EventTOTPEnabled: an enrolment was confirmed.
	EventTOTPEnabled auth.EventType = "mfa_totp_enabled"
	// EventTOTPDisabled: the user turned the authenticator app off.
	EventTOTPDisabled auth.EventType = "mfa_totp_disabled"
	// EventReset: an administrator took the user's second factor away
	// (Event.Actor names who).
	EventReset auth.EventType = "mfa_reset"
	// EventRecoveryCodesGenerated: a new set of recovery codes was made.
	EventRecoveryCodesGenerated auth.EventType = "mfa_recovery_codes_generated"
	// EventRecoveryCodeUsed: a recovery code signed the user in.
	EventRecoveryCodeUsed auth.EventType = "mfa_recovery_code_used"
)

// errNoStore is New's refusal of a Store without the capability.
type errNoStore struct{}

func (errNoStore) Error() string {
	return "mfa: New: the Authenticator's Store does not implement mfastore.Store"
}
func (errNoStore) Unwrap() error { return auth.ErrMissingCapability }

// New returns the second factor of a, and makes it part of a's every
// sign-in (auth.Authenticator.Intercept). It refuses a Store that does not
// implement mfastore.Store (an error matching auth.ErrMissingCapability)
// and a Config field out of its bounds, naming it.
func New(a *auth.Authenticator, c Config) (*MFA, error) {
	if a == nil {
		return nil, errors.New("mfa: New: nil Authenticator")
	}
	store, ok := a.Store().(mfastore.Store)
	if !ok {
		return nil, errNoStore{}
	}
	switch {
	case len(c.Key) < 32:
		return nil, errors.New("mfa: Config.Key must be at least 32 bytes")
	case c.ChallengeTTL < 0 || c.ChallengeTTL > time.Hour:
		return nil, errors.New("mfa: Config.ChallengeTTL must be between 0 (5 minutes) and 1h")
	case c.CodeUser.Burst < 0 || c.CodeUser.Interval < 0:
		return nil, errors.New("mfa: Config.CodeUser must not be negative")
	case c.CodeTries < 0 || c.CodeTries > 100:
		return nil, errors.New("mfa: Config.CodeTries must be between 0 (5) and 100")
	case len(c.Issuer) > 64:
		return nil, errors.New("mfa: Config.Issuer must be at most 64 bytes")
	}
	m := &MFA{a: a, store: store, issuer: c.Issuer, ttl: c.ChallengeTTL, codeUser: c.CodeUser, codeTries: c.CodeTries}
	if m.issuer == "" {
		m.issuer = "goauthkit"
	}
	if m.ttl == 0 {
		m.ttl = 5 * time.Minute
	}
	if m.codeUser.Burst == 0 {
		m.codeUser.Burst = 5
	}
	if m.codeUser.Interval == 0 {
		m.codeUser.Interval = time.Minute
	}
	if m.codeTries == 0 {
		m.codeTries = 5
	}
	sealKey, err := hkdf.Key(sha256.New, c.Key, nil, "goauthkit mfa totp secret v1", 32)
	if err != nil {
		return nil, fmt.Errorf("mfa: deriving keys: %w", err)
	}
	if m.codeKey, err = hkdf.Key(sha256.New, c.Key, nil, "goauthkit mfa recovery code v1", 32); err != nil {
		return nil, fmt.Errorf("mfa: deriving keys: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	if m.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	a.Intercept(m.intercept)
	return m, nil
}

// Status is what a user has of second factors.
type Status struct {
	// TOTP reports that an authenticator app is on (confirmed).
	TOTP bool
	// RecoveryCodesLeft is how many recovery codes the user has unused.
	RecoveryCodesLeft int
}

// Status returns what the user has of second factors.
func (m *MFA) Status(ctx context.Context, userID string) (Status, error) {
	t, err := m.store.TOTP(ctx, userID)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return Status{}, nil
	case err != nil:
		return Status{}, err
	case !t.Confirmed:
		return Status{}, nil
	}
	n, err := m.store.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return Status{}, err
	}
	return Status{TOTP: true, RecoveryCodesLeft: n}, nil
}

// Owner is who asks for a change of a user's second factor, and what
// confirms it is the account's owner (auth.Authenticator.ConfirmOwner):
// the current password of an account that has one, or else a recent login.
type Owner struct {
	User *auth.User
	// Password is the user's current password, as typed.
	Password string
	// Claims are those of the caller's access token: its login, if recent,
	// confirms a change to an account without a password; its SessionID
	// is the login that a confirmation keeps.
	Claims *auth.Claims
	// Client is who asks: the password is limited as a login's is.
	Client auth.Client
}

// confirm checks that o is the account's owner.
func (m *MFA) confirm(ctx context.Context, o Owner) error {
	if o.User == nil {
		return errors.New("mfa: Owner.User is required")
	}
	return m.a.ConfirmOwner(ctx, o.User, o.Password, o.Claims, o.Client)
}

// emit sends an event of the second factor.
func (m *MFA) emit(ctx context.Context, t auth.EventType, u *auth.User, c auth.Client, reason string) {
	e := auth.Event{Type: t, ClientAddr: c.Addr, Reason: reason}
	if u != nil {
		e.UserID, e.Username = u.ID, u.Username
	}
	if t == EventFailed {
		e.Warning = true
	}
	m.a.Emit(ctx, e)
}
