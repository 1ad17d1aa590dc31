package authhttp

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/httpjson"
)

// Request errors, returned by the body parsers of the HTTP handlers and
// answered by WriteErrorFor.
var (
	// ErrInvalidRequest is a request the handlers cannot read: a wrong
	// Content-Type, a body that is not strict JSON or form data, a missing
	// field. It answers 400 invalid_request. A *RequestError says which rule
	// the request broke.
	ErrInvalidRequest = errors.New("authhttp: invalid request")
	// ErrRequestTooLarge is a request body over MaxBodyBytes. It answers
	// 413 request_too_large.
	ErrRequestTooLarge = errors.New("authhttp: request body too large")
	// ErrUnsupportedGrantType is a grant_type the token endpoint does not
	// know. It answers 400 unsupported_grant_type.
	ErrUnsupportedGrantType = errors.New("authhttp: unsupported grant type")
	// ErrMethodNotAllowed is a request whose method the route does not
	// serve. It answers 405 method_not_allowed.
	ErrMethodNotAllowed = errors.New("authhttp: method not allowed")
)

// RequestError is an ErrInvalidRequest that says, in a fixed text written by
// this package and never taken from the request, what is wrong with it.
type RequestError struct {
	// Reason is sent to the client as the error_description.
	Reason string
}

// Error implements error.
func (e *RequestError) Error() string { return "authhttp: invalid request: " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidRequest) hold.
func (e *RequestError) Unwrap() error { return ErrInvalidRequest }

// badRequest returns a *RequestError with a fixed reason.
func badRequest(reason string) error { return &RequestError{Reason: reason} }

// ErrorBody is the JSON body of every error answer: the OAuth 2.0 shape
// (RFC 6749 §5.2), {"error", "error_description"}.
type ErrorBody = httpjson.ErrorBody

// WriteError writes an error answer with the OAuth 2.0 JSON body. It is the
// one place error answers are written (the Authenticator's Middleware
// writes them the same way).
func WriteError(w http.ResponseWriter, status int, code, description string) {
	httpjson.Error(w, status, code, description)
}

// writeJSON writes v as the JSON body of an answer that no cache may keep.
func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// ErrorStatus maps an error of this package to the HTTP status, OAuth 2.0
// error code and description that answer it outside the token endpoint
// (GrantErrorStatus is the token endpoint's). Errors it does not know map to
// 500 server_error; no error's own text is ever sent to the client, only
// the fixed reason of a *RequestError.
func ErrorStatus(err error) (status int, code, description string) {
	var rl *auth.RateLimitError
	var re *RequestError
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.status, se.code, se.description
	case errors.As(err, &rl):
		return http.StatusTooManyRequests, "too_many_attempts", "too many attempts; retry later"
	case errors.Is(err, auth.ErrStoreUnavailable), errors.Is(err, auth.ErrBusy),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable"
	case errors.Is(err, ErrRequestTooLarge):
		return http.StatusRequestEntityTooLarge, "request_too_large", "the request body is too large"
	case errors.As(err, &re):
		return http.StatusBadRequest, "invalid_request", re.Reason
	case errors.Is(err, ErrInvalidRequest):
		return http.StatusBadRequest, "invalid_request", "the request is malformed"
	case errors.Is(err, ErrUnsupportedGrantType):
		return http.StatusBadRequest, "unsupported_grant_type", "grant_type must be password or refresh_token"
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed, "method_not_allowed", "the method is not allowed on this path"
	case errors.Is(err, auth.ErrInvalidToken):
		return http.StatusUnauthorized, "invalid_token", "the access token is invalid"
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrUserDisabled):
		// One answer for an unknown user, a wrong password and a disabled
		// account, so that none can be told from another.
		return http.StatusBadRequest, "invalid_grant", "invalid username or password"
	case errors.Is(err, auth.ErrUserExists):
		return http.StatusConflict, "user_exists", "the username is taken"
	case errors.Is(err, auth.ErrInvalidUsername):
		return http.StatusUnprocessableEntity, "invalid_username", "usernames are 3 to 64 characters of a-z, 0-9, '.', '_', '-', '@', '+'"
	case errors.Is(err, auth.ErrInvalidPassword):
		return http.StatusUnprocessableEntity, "invalid_password", passwordRuleText(err)
	case errors.Is(err, auth.ErrInvalidEmail):
		return http.StatusUnprocessableEntity, "invalid_email",
			"an email address is a local part of at most 64 characters of A-Z a-z 0-9 . _ + - ' (no leading, trailing or doubled dot), '@', and a domain name of two labels or more"
	case errors.Is(err, auth.ErrLastAdmin):
		return http.StatusConflict, "last_admin", "no enabled account with the role admin would be left"
	case errors.Is(err, auth.ErrInvalidInput):
		return http.StatusBadRequest, "invalid_request", "a field is too long, not valid UTF-8, or holds a NUL character"
	case errors.Is(err, auth.ErrEmailExists):
		return http.StatusConflict, "email_exists", "the email address belongs to another account"
	case errors.Is(err, auth.ErrNothingToVerify):
		return http.StatusConflict, "nothing_to_verify", "the account has no unverified email"
	case errors.Is(err, auth.ErrInvalidLink):
		return http.StatusBadRequest, "invalid_grant", "the link is invalid, used, expired or replaced by a newer one"
	case errors.Is(err, auth.ErrMailDisabled):
		return http.StatusNotFound, "not_found", "this service sends no mail"
	case errors.Is(err, auth.ErrConflict):
		return http.StatusConflict, "conflict", "a concurrent update won; retry"
	case errors.Is(err, auth.ErrNotFound):
		return http.StatusNotFound, "not_found", "not found"
	}
	return http.StatusInternalServerError, "server_error", "internal error"
}

// GrantErrorStatus is ErrorStatus for the token endpoint (RFC 6749 §5.2):
// there an unknown user, a wrong password, a disabled account and every
// refresh token that is not accepted (expired, revoked, reused, malformed,
// an access token) are all 400 invalid_grant, with one body per grant type,
// so that no failure can be told from another.
func GrantErrorStatus(err error) (status int, code, description string) {
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrUserDisabled):
		return http.StatusBadRequest, "invalid_grant", "invalid username or password"
	case errors.Is(err, auth.ErrInvalidToken):
		return http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired or revoked"
	}
	return ErrorStatus(err)
}

func passwordRuleText(err error) string {
	if pe := (*auth.PasswordError)(nil); errors.As(err, &pe) {
		return pe.Description
	}
	return "the password does not meet the password rules"
}

// WriteErrorFor writes the answer ErrorStatus gives for err, with a
// Retry-After header for a *RateLimitError.
func WriteErrorFor(w http.ResponseWriter, err error) {
	setRetryAfter(w, err)
	status, code, desc := ErrorStatus(err)
	WriteError(w, status, code, desc)
}

// WriteGrantErrorFor writes the answer GrantErrorStatus gives for err, with
// a Retry-After header for a *RateLimitError.
func WriteGrantErrorFor(w http.ResponseWriter, err error) {
	setRetryAfter(w, err)
	status, code, desc := GrantErrorStatus(err)
	WriteError(w, status, code, desc)
}

func setRetryAfter(w http.ResponseWriter, err error) {
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		secs := int64((rl.RetryAfter + 999_999_999) / 1e9)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
}
