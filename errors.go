package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by the Authenticator. Each outcome a caller branches on
// has a sentinel; finer errors wrap the coarse ones, so
// errors.Is(err, ErrInvalidToken) holds for an expired token as well as for
// ErrTokenExpired.
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
)

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
