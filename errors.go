package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The errors of this package, every one a sentinel for errors.Is: finer
// errors wrap the coarse ones, so errors.Is(err, ErrInvalidToken) holds
// for an expired token as well as for ErrTokenExpired. Stores return (or
// wrap) the store errors, and document which in their interfaces.
var (
	// ErrInvalidCredentials is returned by Login for an unknown user and for a
	// wrong password alike, and by ChangePassword for a wrong current password.
	ErrInvalidCredentials = errors.New("auth: invalid username or password")
	// ErrUserDisabled is returned when the account is disabled. Login returns
	// it only after the password was verified, so it tells nothing to someone
	// who does not know the password.
	ErrUserDisabled = errors.New("auth: user disabled")
	// ErrInvalidUsername is returned when a username fails the username rule.
	ErrInvalidUsername = errors.New("auth: invalid username")
	// ErrInvalidPassword is returned when a new password fails the password
	// policy. The specific reason wraps it (ErrPasswordTooShort, ...).
	ErrInvalidPassword = errors.New("auth: invalid password")
	// ErrTooManyAttempts is returned when the login limiter refuses an
	// attempt. The error is a *RateLimitError carrying the retry-after.
	ErrTooManyAttempts = errors.New("auth: too many attempts")
	// ErrInvalidToken is returned for any token that is not acceptable:
	// malformed, badly signed, expired, of the wrong type, revoked, or whose
	// user is gone or disabled. The specific reason wraps it.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrTokenExpired wraps ErrInvalidToken for a token past its exp.
	ErrTokenExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	// ErrTokenMalformed wraps ErrInvalidToken for a token that does not
	// parse, or uses a form this library refuses.
	ErrTokenMalformed = fmt.Errorf("%w: malformed", ErrInvalidToken)
	// ErrTokenSignature wraps ErrInvalidToken for a bad signature, an unknown
	// kid or an alg that is not the kid's key's.
	ErrTokenSignature = fmt.Errorf("%w: signature or key not accepted", ErrInvalidToken)
	// ErrTokenClaims wraps ErrInvalidToken for a missing or wrong claim
	// (iss, aud, sub, iat, nbf, jti) or a wrong token type.
	ErrTokenClaims = fmt.Errorf("%w: claims not accepted", ErrInvalidToken)
	// ErrTokenRevoked wraps ErrInvalidToken for a token ended by logout-all
	// or a password change, or whose user was deleted or disabled.
	ErrTokenRevoked = fmt.Errorf("%w: revoked", ErrInvalidToken)
	// ErrBusy is returned when the context ends while waiting for a free
	// password-hashing slot; it wraps the context's error as well.
	ErrBusy = errors.New("auth: too busy")

	// Store errors. Every store implementation returns (or wraps) these, so
	// the Authenticator and the HTTP handlers can branch on them.

	// ErrNotFound reports that no user or refresh session has the given key.
	ErrNotFound = errors.New("auth: not found")
	// ErrUserExists reports that the normalised username is already taken
	// (as a username, or as another account's email).
	ErrUserExists = errors.New("auth: user already exists")
	// ErrEmailExists reports that the normalised email belongs to another
	// account (as its email, or as its username).
	ErrEmailExists = errors.New("auth: email already in use")
	// ErrConflict reports that a conditional update lost a race: the stored
	// value was no longer the one the caller expected.
	ErrConflict = errors.New("auth: conflicting update")
	// ErrStoreUnavailable reports that the store could not be reached or
	// failed. Stores wrap their driver's error with it, so callers see both.
	ErrStoreUnavailable = errors.New("auth: store unavailable")
	// ErrSessionRevoked reports that a refresh session was revoked (by logout,
	// logout-all, a password change or reuse detection) or has expired.
	ErrSessionRevoked = errors.New("auth: refresh session revoked")
	// ErrRefreshReuse reports that a refresh token that was already spent was
	// presented again. The store has revoked the whole session when it
	// returns this error.
	ErrRefreshReuse = errors.New("auth: refresh token reuse detected")
	// ErrInvalidInput reports text that no account can match and no store
	// can keep: text that is not valid UTF-8 or holds a NUL (PostgreSQL
	// refuses both), or a login name longer than any account's. The
	// Authenticator refuses such input before it reaches the store, and
	// stores refuse it too (see UserStore), so bad input is never mistaken
	// for an unavailable store.
	ErrInvalidInput = errors.New("auth: invalid input")

	// Password hashing errors.

	// ErrPasswordMismatch is returned by Hasher.Verify when the password does
	// not match the hash.
	ErrPasswordMismatch = errors.New("auth: password does not match")
	// ErrUnsupportedHash is returned by Hasher.Verify for a hash string that
	// is malformed, of an unknown algorithm, or whose cost parameters are
	// outside the hasher's limits.
	ErrUnsupportedHash = errors.New("auth: unsupported or malformed password hash")

	// ErrPasswordTooShort wraps ErrInvalidPassword.
	ErrPasswordTooShort = fmt.Errorf("%w: too short", ErrInvalidPassword)
	// ErrPasswordTooLong wraps ErrInvalidPassword. The bcrypt hasher returns
	// it for passwords over 72 bytes rather than truncate them.
	ErrPasswordTooLong = fmt.Errorf("%w: too long", ErrInvalidPassword)
	// ErrPasswordNUL wraps ErrInvalidPassword for a password holding a NUL.
	ErrPasswordNUL = fmt.Errorf("%w: contains NUL", ErrInvalidPassword)
	// ErrPasswordEncoding wraps ErrInvalidPassword for invalid UTF-8.
	ErrPasswordEncoding = fmt.Errorf("%w: not valid UTF-8", ErrInvalidPassword)
	// ErrPasswordCommon wraps ErrInvalidPassword for a blocklisted password.
	ErrPasswordCommon = fmt.Errorf("%w: too common", ErrInvalidPassword)
	// ErrPasswordBreached wraps ErrInvalidPassword for a password that
	// Config.Passwords.Breached found in a data breach.
	ErrPasswordBreached = fmt.Errorf("%w: found in a data breach", ErrInvalidPassword)

	// Key errors.

	// ErrUnknownKey is returned by a KeySource for a kid it does not hold.
	ErrUnknownKey = errors.New("auth: unknown key id")
	// ErrWeakKey is returned for a key too short for its algorithm.
	ErrWeakKey = errors.New("auth: key too weak for its algorithm")

	// Bearer-header errors, from ParseBearer.

	// ErrNoBearer means there is no Authorization header, or it uses another
	// scheme: the request is anonymous.
	ErrNoBearer = errors.New("auth: no bearer token")
	// ErrMultipleAuthorization means the request has more than one
	// Authorization header (RFC 6750 §2 allows one method, once).
	ErrMultipleAuthorization = errors.New("auth: more than one Authorization header")

	// Registration errors.

	// ErrInvalidEmail is returned by Register (and package recovery's
	// email change) for an email address outside the form every mail
	// system agrees on (see NormalizeEmail).
	ErrInvalidEmail = errors.New("auth: invalid email address")

	// Administration errors.

	// ErrLastAdmin is returned by a change that would leave no enabled
	// account holding the role kept (UserChange.KeepRole: package admin's
	// Role).
	ErrLastAdmin = errors.New("auth: the last enabled administrator")
	// ErrInvalidRole is returned by Register (and package admin's
	// UpdateUser) for a role name that breaks the rules (1 to 64
	// characters of a-z, 0-9, '_', '-', '.', ':'), or for more than 32
	// roles.
	ErrInvalidRole = errors.New("auth: invalid role")
	// ErrRecentLoginRequired is returned by ConfirmOwner (and so
	// DeleteAccount) for an account without a password whose access
	// token's login is not recent: the user must sign in again. It answers
	// 401 insufficient_user_authentication (RFC 9470).
	ErrRecentLoginRequired = errors.New("auth: a recent login is required")
	// ErrSecondFactorRequired is the refusal of a request whose access
	// token's login was made without a second factor (its Claims.Methods
	// lack MethodMFA) by a route that requires one (RequireMethod). It
	// answers 401 insufficient_user_authentication (RFC 9470).
	ErrSecondFactorRequired = errors.New("auth: a login with a second factor is required")
	// ErrMissingCapability is matched by the error of a feature configured,
	// or used, with a Store that lacks the optional interface the feature
	// needs (such as recovery.LinkStore for package recovery); the error's
	// text names the interface.
	ErrMissingCapability = errors.New("auth: the Store lacks a capability")
)

// errInsufficientScope is RequireRole's refusal: 403 insufficient_scope.
var errInsufficientScope = errors.New("auth: insufficient scope")

// RateLimitError is returned (wrapping ErrTooManyAttempts) when the login
// limiter refuses an attempt.
type RateLimitError struct {
	// RetryAfter is how long the caller should wait before trying again.
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("auth: too many attempts, retry after %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrTooManyAttempts) hold.
func (e *RateLimitError) Unwrap() error { return ErrTooManyAttempts }

// joined is an error that matches two of this package's errors, with
// their texts joined under one "auth: " prefix.
type joined struct{ outer, inner error }

func (e *joined) Error() string {
	return e.outer.Error() + ": " + strings.TrimPrefix(e.inner.Error(), "auth: ")
}

func (e *joined) Unwrap() []error { return []error{e.outer, e.inner} }

// both returns an error matching outer and inner (errors.Is), such as
// ErrTokenRevoked and ErrSessionRevoked.
func both(outer, inner error) error { return &joined{outer, inner} }

// PasswordError is a password that breaks a rule of the PasswordPolicy (or
// of the Hasher, as bcrypt's 72-byte limit), with a sentence for the person
// who chose it, naming the limit: the HTTP handlers send it as the
// error_description.
type PasswordError struct {
	// Rule is the sentinel of the rule broken, such as ErrPasswordTooShort.
	Rule error
	// Description says what the rule asks, e.g. "the password must be at
	// least 8 characters long". It never holds the password.
	Description string
}

// Error implements error.
func (e *PasswordError) Error() string { return "auth: invalid password: " + e.Description }

// Unwrap returns the rule, so that errors.Is matches both it and
// ErrInvalidPassword.
func (e *PasswordError) Unwrap() error { return e.Rule }
