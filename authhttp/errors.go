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
	// ErrWrongPassword is a wrong current password where an endpoint asks
	// for it to confirm a change (the email change): wrap the
	// Authenticator's auth.ErrInvalidCredentials with it. It answers 400
	// invalid_grant "the password is wrong" where ErrInvalidCredentials
	// alone would say "invalid username or password".
	ErrWrongPassword = errors.New("authhttp: the password is wrong")
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

// errorAnswer is the HTTP answer to an error: its status, and the OAuth 2.0
// error code and description of its body.
type errorAnswer struct {
	status      int
	code        string
	description string
}

// errorEntry is one row of errorTable: which errors it matches, and how
// they are answered.
type errorEntry struct {
	// is lists sentinels, matched with errors.Is; or else
	is []error
	// as matches a type, with errors.As (see asType), and returns the
	// description that the matched value gives, "" for the entry's.
	as func(err error) (description string, ok bool)

	// The answer of every endpoint, unless grant or bearer says otherwise.
	status      int
	code        string
	description string

	// grant, if set, is the answer of the token endpoint (Token) and of
	// SessionLogin, whose failures are those of RFC 6749 §5.2.
	grant *errorAnswer
	// bearer marks errors that, returned by an endpoint that takes a
	// Bearer access token once the token was accepted, mean that the
	// token stopped being valid while the request ran (the user was
	// deleted, or logged out everywhere): they are answered as the
	// Authenticator's Middleware answers a revoked token, 401 invalid_token
	// with its RFC 6750 challenge (auth.Authenticator.WriteAuthError).
	bearer bool
	// header, if set, adds the answer's headers for err.
	header func(h http.Header, err error)
}

// asType returns an errorEntry.as that matches errors holding a T
// (errors.As) and describes them with describe, if not nil.
func asType[T error](describe func(T) string) func(error) (string, bool) {
	return func(err error) (string, bool) {
		var t T
		if !errors.As(err, &t) {
			return "", false
		}
		if describe == nil {
			return "", true
		}
		return describe(t), true
	}
}

// match reports whether err is one of e's errors, and the description of
// err's answer ("" for the entry's own).
func (e *errorEntry) match(err error) (description string, ok bool) {
	if e.as != nil {
		return e.as(err)
	}
	for _, target := range e.is {
		if errors.Is(err, target) {
			return "", true
		}
	}
	return "", false
}

// errorTable is the one mapping from errors to HTTP answers: every
// endpoint of this package answers its errors through it (lookupError).
// The first entry that matches an error answers it, so an entry that must
// win over another (an endpoint's own answer over the error it wraps, a
// *PasswordError over ErrInvalidPassword) comes first. No error's own text
// is ever sent, only the fixed descriptions below and the fixed reason of a
// *RequestError or description of an auth.PasswordError. An error no entry
// matches is answered 500 server_error (errInternal).
//
// Every exported error of package auth and of this package has an entry,
// even those that only a bug lets reach a handler (the server's own
// failures at the end, which answer 500): TestErrorTableCoversSentinels
// fails for one added without.
var errorTable = [...]errorEntry{
	// Answers that an endpoint chose for the errors of its operation. (A
	// feature package's endpoint chooses its own with a *Problem, which
	// comes before every entry: see lookupError.)
	{as: asType(func(e *roleError) string { return "this needs the role " + e.role }),
		status: http.StatusForbidden, code: "insufficient_scope",
		header: func(h http.Header, err error) {
			var e *roleError
			if errors.As(err, &e) { // a role name needs no quoting (auth's rules)
				h.Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+e.role+`"`)
			}
		}},
	{is: []error{errCurrentPassword}, status: http.StatusBadRequest, code: "invalid_grant", description: "the current password is wrong"},
	{is: []error{ErrWrongPassword}, status: http.StatusBadRequest, code: "invalid_grant", description: "the password is wrong"},
	{is: []error{errNoSessionCookie}, status: http.StatusUnauthorized, code: "unauthorized", description: "no session cookie: log in"},
	{is: []error{errTwoCookies}, status: http.StatusUnauthorized, code: "invalid_token", description: "more than one session cookie: log in again"},
	{is: []error{errBadSession}, status: http.StatusUnauthorized, code: "invalid_token", description: "the session has ended: log in again"},
	{is: []error{errCrossOrigin}, status: http.StatusForbidden, code: "forbidden", description: "cross-origin request refused"},
	{is: []error{errPathNotFound}, status: http.StatusNotFound, code: "not_found", description: "not found"},
	{is: []error{errNoPublicKeys}, status: http.StatusNotFound, code: "not_found", description: "no public keys: tokens are signed with a shared secret (HS256)"},

	// Tokens and credentials, before the store's failures: a refresh token
	// that is not accepted is invalid_grant whatever else went wrong with
	// it, as an access token is 401 for the Middleware. ErrSessionRevoked
	// and ErrRefreshReuse are the store's: the Authenticator wraps them in
	// ErrInvalidToken.
	{is: []error{auth.ErrInvalidToken, auth.ErrSessionRevoked, auth.ErrRefreshReuse},
		status: http.StatusUnauthorized, code: "invalid_token", description: "the access token is invalid",
		grant:  &errorAnswer{http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired or revoked"},
		bearer: true},
	// One answer for an unknown user, a wrong password and a disabled
	// account, so that none can be told from another.
	{is: []error{auth.ErrInvalidCredentials, auth.ErrUserDisabled},
		status: http.StatusBadRequest, code: "invalid_grant", description: "invalid username or password"},

	// Too much at once, or the store failing.
	// (A *auth.RateLimitError is an ErrTooManyAttempts that says when to
	// retry: Retry-After.)
	{is: []error{auth.ErrTooManyAttempts}, status: http.StatusTooManyRequests, code: "too_many_attempts", description: "too many attempts; retry later",
		header: setRetryAfter},
	{is: []error{auth.ErrStoreUnavailable, auth.ErrBusy, context.DeadlineExceeded, context.Canceled},
		status: http.StatusServiceUnavailable, code: "temporarily_unavailable", description: "the service is temporarily unavailable"},

	// Requests that cannot be read.
	{is: []error{ErrRequestTooLarge}, status: http.StatusRequestEntityTooLarge, code: "request_too_large", description: "the request body is too large"},
	{as: asType(func(e *RequestError) string { return e.Reason }), status: http.StatusBadRequest, code: "invalid_request"},
	{is: []error{ErrInvalidRequest}, status: http.StatusBadRequest, code: "invalid_request", description: "the request is malformed"},
	{is: []error{ErrUnsupportedGrantType}, status: http.StatusBadRequest, code: "unsupported_grant_type", description: "grant_type must be password or refresh_token"},
	{is: []error{ErrMethodNotAllowed}, status: http.StatusMethodNotAllowed, code: "method_not_allowed", description: "the method is not allowed on this path"},
	// As the Middleware answers them (without its challenge, which only it
	// writes: an authenticated endpoint leaves these to it).
	{is: []error{auth.ErrNoBearer}, status: http.StatusUnauthorized, code: "unauthorized", description: "authentication required"},
	{is: []error{auth.ErrMultipleAuthorization}, status: http.StatusBadRequest, code: "invalid_request", description: "more than one Authorization header"},

	// Accounts.
	{is: []error{auth.ErrUserExists}, status: http.StatusConflict, code: "user_exists", description: "the username is taken"},
	{is: []error{auth.ErrInvalidUsername}, status: http.StatusUnprocessableEntity, code: "invalid_username",
		description: "usernames are 3 to 64 characters of a-z, 0-9, '.', '_', '-', '@', '+'"},
	{is: []error{auth.ErrPasswordBreached}, status: http.StatusUnprocessableEntity, code: "invalid_password",
		description: "the password has appeared in a data breach: choose another"},
	{as: asType(func(e *auth.PasswordError) string { return e.Description }), status: http.StatusUnprocessableEntity, code: "invalid_password"},
	{is: []error{auth.ErrInvalidPassword}, status: http.StatusUnprocessableEntity, code: "invalid_password", description: "the password does not meet the password rules"},
	{is: []error{auth.ErrInvalidEmail}, status: http.StatusUnprocessableEntity, code: "invalid_email",
		description: "an email address is a local part of at most 64 characters of A-Z a-z 0-9 . _ + - ' (no leading, trailing or doubled dot), '@', and a domain name of two labels or more"},
	{is: []error{auth.ErrLastAdmin}, status: http.StatusConflict, code: "last_admin", description: "no enabled account with the role admin would be left"},
	// RFC 9470's answers: the login is not recent enough (an account
	// without a password confirming a change), or was made without a
	// second factor that the call requires.
	{is: []error{auth.ErrRecentLoginRequired}, status: http.StatusUnauthorized, code: "insufficient_user_authentication",
		description: "this needs a recent login: sign in again", header: setInsufficientAuthentication},
	{is: []error{auth.ErrSecondFactorRequired}, status: http.StatusUnauthorized, code: "insufficient_user_authentication",
		description: "this needs a login with a second factor: sign in again with it", header: setInsufficientAuthentication},
	{is: []error{auth.ErrInvalidInput}, status: http.StatusBadRequest, code: "invalid_request", description: "a field is too long, not valid UTF-8, or holds a NUL character"},
	{is: []error{auth.ErrEmailExists}, status: http.StatusConflict, code: "email_exists", description: "the email address belongs to another account"},
	{is: []error{auth.ErrInvalidRole}, status: http.StatusBadRequest, code: "invalid_request",
		description: "roles are at most 32 names of 1 to 64 characters of a-z, 0-9, '_', '-', '.', ':'"},
	// A feature whose store capability the service's Store lacks (the list
	// of users without an admin.UserLister): as a service that does not
	// offer it.
	{is: []error{auth.ErrMissingCapability}, status: http.StatusNotFound, code: "not_found", description: "this service does not offer this"},
	{is: []error{auth.ErrConflict}, status: http.StatusConflict, code: "conflict", description: "a concurrent update won; retry"},
	// A resource named in a path is errPathNotFound; an ErrNotFound from an
	// endpoint that takes a Bearer token is the caller's own account, gone.
	{is: []error{auth.ErrNotFound}, status: http.StatusNotFound, code: "not_found", description: "not found", bearer: true},

	// The server's own failures, which the Authenticator never lets reach
	// a handler: a stored hash it cannot read, a key it cannot use, a
	// password check's internal result.
	{is: []error{auth.ErrUnsupportedHash, auth.ErrUnknownKey, auth.ErrWeakKey, auth.ErrPasswordMismatch},
		status: http.StatusInternalServerError, code: "server_error", description: "internal error"},
}

// setInsufficientAuthentication sets RFC 9470's challenge.
func setInsufficientAuthentication(h http.Header, _ error) {
	h.Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication"`)
}

// errInternal answers the errors errorTable does not know.
var errInternal = errorEntry{status: http.StatusInternalServerError, code: "server_error", description: "internal error"}

// lookupError returns the entry of errorTable that answers err (one made
// of it for a *Problem), with the
// description of its answer outside the token endpoint; found is false
// (and the entry errInternal) when none matches.
func lookupError(err error) (e *errorEntry, description string, found bool) {
	var p *Problem
	if errors.As(err, &p) {
		e := &errorEntry{status: p.Status, code: p.Code, description: p.Description}
		if p.Header != nil {
			e.header = func(h http.Header, _ error) {
				for k, vs := range p.Header {
					h[k] = append([]string(nil), vs...)
				}
			}
		}
		return e, p.Description, true
	}
	for i := range errorTable {
		e := &errorTable[i]
		if desc, ok := e.match(err); ok {
			if desc == "" {
				desc = e.description
			}
			return e, desc, true
		}
	}
	return &errInternal, errInternal.description, false
}

// answer returns e's answer to err at an endpoint of kind, and the
// description for it outside the token endpoint.
func (e *errorEntry) answer(kind endpointKind, description string) errorAnswer {
	if kind == grant && e.grant != nil {
		return *e.grant
	}
	return errorAnswer{e.status, e.code, description}
}

// ErrorStatus returns the HTTP status, OAuth 2.0 error code and description
// with which the endpoints of this package answer err (outside the token
// endpoint, which answers a token that is not accepted with 400
// invalid_grant). Errors it does not know map to 500 server_error; no
// error's own text is ever sent to the client, only the fixed reason of a
// *RequestError and the description of an auth.PasswordError.
func ErrorStatus(err error) (status int, code, description string) {
	e, desc, _ := lookupError(err)
	return e.status, e.code, desc
}

// WriteError writes an error answer with the OAuth 2.0 JSON body, for an
// error of the service's own; errors of this library are answered with
// WriteErrorFor. The Authenticator's Middleware writes its answers the same
// way.
func WriteError(w http.ResponseWriter, status int, code, description string) {
	httpjson.Error(w, status, code, description)
}

// WriteErrorFor writes the answer ErrorStatus gives for err, with its
// headers: Retry-After for a *auth.RateLimitError.
func WriteErrorFor(w http.ResponseWriter, err error) {
	writeErrorAnswer(w, public, err)
}

// writeErrorAnswer writes the answer of an endpoint of kind to err, from
// errorTable, and returns its status. Only the answer of a bearer entry
// at an authenticated endpoint is not written here (see
// Handlers.writeError).
func writeErrorAnswer(w http.ResponseWriter, kind endpointKind, err error) int {
	e, desc, _ := lookupError(err)
	a := e.answer(kind, desc)
	if e.header != nil {
		e.header(w.Header(), err)
	}
	var p *Problem
	if errors.As(err, &p) && len(p.Members) > 0 {
		body := make(map[string]any, len(p.Members)+2)
		for k, v := range p.Members {
			body[k] = v
		}
		body["error"], body["error_description"] = a.code, a.description
		httpjson.Write(w, a.status, body)
		return a.status
	}
	httpjson.Error(w, a.status, a.code, a.description)
	return a.status
}

// setRetryAfter sets the Retry-After header of a *auth.RateLimitError's
// answer, in whole seconds rounded up, at least 1.
func setRetryAfter(h http.Header, err error) {
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		secs := int64((rl.RetryAfter + 999_999_999) / 1e9)
		if secs < 1 {
			secs = 1
		}
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
}

// writeJSON writes v as the JSON body of an answer that no cache may keep.
func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }
