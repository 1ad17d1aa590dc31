package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// ErrorBody is the JSON body of every error answer: the OAuth 2.0 shape
// (RFC 6749 §5.2).
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// WriteError writes an error answer with the OAuth 2.0 JSON body. It is the
// one place error answers are written.
func WriteError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Error: code, Description: description})
}

// ErrorStatus maps an error of this package to the HTTP status, OAuth 2.0
// error code and description that answer it outside the token endpoint.
// Errors it does not know map to 500 server_error; no error's own text is
// ever sent to the client.
func ErrorStatus(err error) (status int, code, description string) {
	var rl *RateLimitError
	switch {
	case errors.As(err, &rl):
		return http.StatusTooManyRequests, "too_many_attempts", "too many attempts; retry later"
	case errors.Is(err, ErrStoreUnavailable), errors.Is(err, ErrBusy),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable"
	case errors.Is(err, ErrInvalidToken):
		return http.StatusUnauthorized, "invalid_token", "the access token is invalid"
	case errors.Is(err, ErrInvalidCredentials):
		return http.StatusBadRequest, "invalid_grant", "invalid username or password"
	case errors.Is(err, ErrUserExists):
		return http.StatusConflict, "user_exists", "the username is taken"
	case errors.Is(err, ErrInvalidUsername):
		return http.StatusUnprocessableEntity, "invalid_username", "usernames are 3 to 64 characters of a-z, 0-9, '.', '_', '-', '@', '+'"
	case errors.Is(err, ErrInvalidPassword):
		return http.StatusUnprocessableEntity, "invalid_password", passwordRuleText(err)
	case errors.Is(err, ErrInvalidEmail):
		return http.StatusBadRequest, "invalid_request", "email is not a valid address"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict", "a concurrent update won; retry"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found", "not found"
	}
	return http.StatusInternalServerError, "server_error", "internal error"
}

func passwordRuleText(err error) string {
	switch {
	case errors.Is(err, ErrPasswordTooShort):
		return "the password is too short"
	case errors.Is(err, ErrPasswordTooLong):
		return "the password is too long"
	case errors.Is(err, ErrPasswordNUL):
		return "the password contains a NUL character"
	case errors.Is(err, ErrPasswordEncoding):
		return "the password is not valid UTF-8"
	case errors.Is(err, ErrPasswordCommon):
		return "the password is too common"
	}
	return "the password does not meet the password rules"
}

// WriteErrorFor writes the answer ErrorStatus gives for err, with a
// Retry-After header for a *RateLimitError.
func WriteErrorFor(w http.ResponseWriter, err error) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		secs := int64((rl.RetryAfter + 999_999_999) / 1e9)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	status, code, desc := ErrorStatus(err)
	WriteError(w, status, code, desc)
}
