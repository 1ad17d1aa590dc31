package authhttp

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/httpjson"
)

// Config configures the Handlers made by New. The zero value is ready to
// use.
type Config struct {
	// TrustedProxies lists the network prefixes of the reverse proxies in
	// front of the service. Only when the socket's peer is inside one of
	// them is X-Forwarded-For read, and then the client is the right-most
	// hop that is not itself a trusted proxy. Default none: X-Forwarded-For
	// is ignored and the client is the socket's peer, since anyone can send
	// the header. List only proxies you run: a listed prefix lets whoever
	// holds it choose the address the login limiter counts by.
	TrustedProxies []netip.Prefix

	// Timeout bounds how long one request may wait for a password-hashing
	// slot and for the store; past it the request is answered with 503
	// temporarily_unavailable, so that a login flood queues for a bounded
	// time. Default 15 seconds.
	Timeout time.Duration

	// Logger, if set, receives one line for every answer of 500 or more,
	// with the error that caused it (a store failure, a timeout): the
	// client sees only "temporarily_unavailable". Errors of this library
	// and its stores never hold a password, a hash, a secret or a token.
	// Default: nothing is logged.
	Logger *slog.Logger

	// TrustedOrigins are the origins, besides each request's own, whose
	// pages may call the browser-session endpoints (SessionLogin,
	// SessionRefresh, SessionLogout): the public origin of the service when
	// browsers reach it by another name than the Host it receives (behind a
	// proxy), and the same-site app origins that use the session cookie.
	// Each is scheme://host[:port] in lower case. Requests from any other
	// origin are refused with 403 (see http.CrossOriginProtection).
	TrustedOrigins []string

	// PathValue, if set, returns the value of the wildcard segment name
	// ("id" in DELETE /sessions/{id}) of r's path, for a router that keeps
	// it elsewhere than r.PathValue: for gorilla/mux,
	// func(r *http.Request, name string) string { return mux.Vars(r)[name] };
	// chi.URLParam for chi before v5.0.12. When it is nil or returns "",
	// r.PathValue(name) is read, which Router, http.ServeMux and chi set.
	// See Handlers.PathValue, and the package documentation for gin and
	// echo.
	PathValue func(r *http.Request, name string) string
}

// Handlers are the HTTP endpoints of the core of the library's HTTP
// contract (the OAuth 2.0 token endpoint, signup, logout, logout-all, the
// current user, password change, account deletion, a health check, the browser session and
// the list of one's devices), ready to mount in a service's own router.
// The features' endpoints are their packages' (recovery/recoveryhttp,
// admin/adminhttp), built on these with the helpers of kit.go. Every method returns a new http.Handler; Routes returns them all
// with their methods and paths. Handlers is safe for concurrent use.
//
// Each handler:
//   - answers only its own method (and HEAD for GET), with 405 and an
//     Allow header otherwise, so it can be mounted on a bare path;
//   - reads bodies strictly: the right Content-Type, at most MaxBodyBytes
//     (else 413 request_too_large), JSON with case-sensitive and unique
//     member names and no unpaired surrogates, form data with no repeated
//     parameter and empty values counting as missing; never the query;
//   - answers a failed authentication as the Authenticator's Middleware
//     does (RFC 6750), and every other error as JSON through one table of
//     answers (ErrorStatus gives them; the token endpoint answers a refresh
//     token that is not accepted with 400 invalid_grant), never with an
//     error's own text, and never with a password, a hash or a secret.
type Handlers struct {
	a           *auth.Authenticator
	proxies     []netip.Prefix
	timeout     time.Duration
	logger      *slog.Logger // nil: none
	crossOrigin *http.CrossOriginProtection
	pathValue   func(*http.Request, string) string // nil: r.PathValue only
	// grants are the features' grant types (Grant), answers their maps of
	// errors to Problems (Answer).
	grants  map[string]func(Call, map[string]string) (*auth.TokenPair, error)
	answers []func(error) *Problem
}

// New returns the HTTP handlers of a, or an error naming the Config field
// that is not valid.
func New(a *auth.Authenticator, c Config) (*Handlers, error) {
	if a == nil {
		return nil, errors.New("authhttp: New: nil Authenticator")
	}
	h := &Handlers{a: a, timeout: c.Timeout, logger: c.Logger, pathValue: c.PathValue}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("authhttp: Config.TrustedProxies[%d] is not a valid prefix", i)
		}
		h.proxies = append(h.proxies, p.Masked())
	}
	switch {
	case h.timeout < 0:
		return nil, errors.New("authhttp: Config.Timeout must not be negative")
	case h.timeout == 0:
		h.timeout = 15 * time.Second
	}
	var err error
	if h.crossOrigin, err = newCrossOrigin(c.TrustedOrigins); err != nil {
		return nil, err
	}
	return h, nil
}

// Route is one endpoint: the method and the literal path it is served at.
// The routes of this package also carry their OpenAPI description (see
// OpenAPI); a Route made elsewhere carries its own in Operation, if any.
type Route struct {
	Method  string
	Path    string
	Handler http.Handler
	// Operation, for a route made elsewhere (a feature package's, a
	// service's own), is its OpenAPI 3.1 Operation Object, a JSON object
	// that OpenAPI puts in the document as it is. A route of this package
	// leaves it nil: its description is the package's.
	Operation json.RawMessage
	// op is the key of the route's operation in openapi.json, "" for a
	// route this package did not make.
	op string
}

// route makes one of this package's routes, documented under its method
// and path.
func route(method, path string, h http.Handler) Route {
	return Route{Method: method, Path: path, Handler: h, op: method + " " + path}
}

// Routes returns every endpoint at the method and path of the HTTP
// contract:
//
//	POST /token               Token
//	POST /signup              Signup
//	POST /logout              Logout
//	POST /logout/all          LogoutAll
//	GET  /users/me            Me
//	DELETE /users/me          DeleteMe
//	POST /users/me/password   ChangePassword
//	GET  /healthz             Healthz
//	POST /session             SessionLogin
//	POST /session/refresh     SessionRefresh
//	POST /session/logout      SessionLogout
//	GET  /sessions            Sessions
//	DELETE /sessions/{id}     RevokeSession
//
// Mount them in a Router (which answers unknown paths and methods with
// JSON), or in any router, e.g. mux.Handle(r.Method+" "+r.Path, r.Handler);
// the package documentation shows chi, gin and echo.
func (h *Handlers) Routes() []Route {
	return []Route{
		route(http.MethodPost, "/token", h.Token()),
		route(http.MethodPost, "/signup", h.Signup()),
		route(http.MethodPost, "/logout", h.Logout()),
		route(http.MethodPost, "/logout/all", h.LogoutAll()),
		route(http.MethodGet, "/users/me", h.Me()),
		route(http.MethodDelete, "/users/me", h.DeleteMe()),
		route(http.MethodPost, "/users/me/password", h.ChangePassword()),
		route(http.MethodGet, "/healthz", h.Healthz()),
		route(http.MethodPost, "/session", h.SessionLogin()),
		route(http.MethodPost, "/session/refresh", h.SessionRefresh()),
		route(http.MethodPost, "/session/logout", h.SessionLogout()),
		route(http.MethodGet, "/sessions", h.Sessions()),
		route(http.MethodDelete, "/sessions/{id}", h.RevokeSession()),
	}
}

// tokenResponse is the body of a successful token request (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// writeUser answers with the public view of a user: {"id", "username",
// "email" (string or null), "email_verified", "created_at" (RFC 3339,
// UTC)}, never the hash,
// the roles, the token version or the disabled flag. It encodes by hand
// (as encoding/json would, byte for byte: TestWriteUser) because GET
// /users/me is the hot path, where encoding/json's reflection and three
// allocations were a fifth of the request.
func writeUser(w http.ResponseWriter, status int, u *auth.User) {
	buf := bodyBuffers.Get().(*[]byte)
	defer bodyBuffers.Put(buf)
	b := append(appendUser((*buf)[:0], u), '\n')
	httpjson.WriteBody(w, status, b)
	if cap(b) <= 4<<10 {
		*buf = b
	}
}

// appendUser appends u's public view, as writeUser answers it, to b.
func appendUser(b []byte, u *auth.User) []byte {
	b = append(b, `{"id":`...)
	b = httpjson.AppendString(b, u.ID)
	b = append(b, `,"username":`...)
	b = httpjson.AppendString(b, u.Username)
	b = append(b, `,"email":`...)
	if u.Email == "" {
		b = append(b, "null"...)
	} else {
		b = httpjson.AppendString(b, u.Email)
	}
	if u.EmailVerified {
		b = append(b, `,"email_verified":true`...)
	} else {
		b = append(b, `,"email_verified":false`...)
	}
	b = append(b, `,"created_at":"`...)
	b = u.CreatedAt.UTC().AppendFormat(b, time.RFC3339)
	return append(b, `"}`...)
}

// bodyBuffers holds the buffers writeUser encodes into (the answer's
// bytes are copied by the ResponseWriter before Write returns).
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Token returns the OAuth 2.0 token endpoint (RFC 6749 §3.2), POST with a
// form body:
//
//   - password grant (§4.3): grant_type=password (or no grant_type, as
//     FastAPI's OAuth2PasswordRequestForm sends), username, password;
//   - refresh grant (§6): grant_type=refresh_token, refresh_token; the
//     token is spent, and a spent one coming back revokes its family.
//
// Success is 200 with Cache-Control: no-store and {"access_token",
// "token_type": "bearer", "expires_in", "refresh_token"}. An unknown user, a
// wrong password, a disabled account and any refresh token not accepted are
// 400 invalid_grant (identical answers for an unknown user and a wrong
// password); another grant_type is 400 unsupported_grant_type; too many
// failed attempts for the username or the client address (see ClientAddr)
// are 429 too_many_attempts with Retry-After; a store failure is 503.
func (h *Handlers) Token() http.Handler {
	return h.endpoint(http.MethodPost, grant, func(w http.ResponseWriter, r *http.Request, c Call) error {
		form, err := readForm(w, r)
		if err != nil {
			return err
		}
		var pair *auth.TokenPair
		switch form["grant_type"] {
		case "", "password":
			username, password := form["username"], form["password"]
			if username == "" || password == "" {
				return badRequest("username and password are required")
			}
			pair, err = h.a.Login(c.Context, auth.Credentials{Username: username, Password: password, Client: c.Client})
		case "refresh_token":
			token := form["refresh_token"]
			if token == "" {
				return badRequest("refresh_token is required")
			}
			pair, err = h.a.Refresh(c.Context, c.Client, token)
		default:
			f, ok := h.grants[form["grant_type"]]
			if !ok {
				return ErrUnsupportedGrantType
			}
			pair, err = f(c, form)
		}
		if err != nil {
			return err
		}
		h.WriteTokens(w, http.StatusOK, nil, pair)
		return nil
	})
}

// Signup returns the registration endpoint, POST with a JSON body
// {"username", "password", "email" (optional)}: 201 with the user as Me
// answers it (and, with package recovery, a verification link mailed to
// the email if there is one);
// 409 user_exists for a username taken after normalisation (or another
// account's email), 409 email_exists for an email another account has (as
// its email or its username); 422 invalid_username or invalid_password for
// one that breaks the rules; 400 invalid_request for a bad body or email;
// 429 too_many_attempts with Retry-After when the client address (see
// ClientAddr) has signed up too often, successfully or not.
func (h *Handlers) Signup() http.Handler {
	return h.endpoint(http.MethodPost, public, func(w http.ResponseWriter, r *http.Request, c Call) error {
		body, err := readJSON(w, r)
		if err != nil {
			return err
		}
		username, ok, err := body.stringField("username", errUsernameType)
		if err != nil || !ok {
			return cmp.Or(err, errUsernameMissing)
		}
		password, ok, err := body.stringField("password", errPasswordType)
		if err != nil || !ok {
			return cmp.Or(err, errPasswordMissing)
		}
		email, _, err := body.stringField("email", errEmailType)
		if err != nil {
			return err
		}
		u, err := h.a.Register(c.Context, auth.NewUser{Username: username, Password: password, Email: email, Client: c.Client})
		if err != nil {
			return err
		}
		writeUser(w, http.StatusCreated, u)
		return nil
	})
}

var (
	errUsernameMissing  = badRequest("username is required")
	errUsernameType     = badRequest("username must be a string")
	errPasswordMissing  = badRequest("password is required")
	errPasswordType     = badRequest("password must be a string")
	errEmailType        = badRequest("email must be a string or null")
	errRefreshMissing   = badRequest("refresh_token (or token) is required")
	errRefreshType      = badRequest("refresh_token and token must be strings")
	errRefreshTwice     = badRequest("refresh_token and token name different tokens")
	errPasswordsMissing = badRequest("current_password and new_password are required")
	errPasswordsType    = badRequest("current_password and new_password must be strings")
	// errCurrentPassword is ChangePassword's ErrInvalidCredentials.
	errCurrentPassword = errors.New("authhttp: the current password is wrong")
)

// Logout returns the revocation endpoint (RFC 7009), POST with a form or
// JSON body holding refresh_token (or RFC 7009's name for it, token): it
// revokes the token's whole family, ending its access tokens too, and
// answers 204 whether or not the token was valid (§2.2), so it tells
// nothing about tokens. A missing token, or both names with different
// values, is 400 invalid_request; a store failure is 503, since the token
// may then still be live.
func (h *Handlers) Logout() http.Handler {
	return h.endpoint(http.MethodPost, public, func(w http.ResponseWriter, r *http.Request, c Call) error {
		mt, err := requestMediaType(r, mediaForm, mediaJSON)
		if err != nil {
			return err
		}
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		var token, synonym string
		if mt == mediaJSON {
			obj, err := parseJSONObject(body)
			if err != nil {
				return err
			}
			if token, _, err = obj.stringField("refresh_token", errRefreshType); err != nil {
				return err
			}
			if synonym, _, err = obj.stringField("token", errRefreshType); err != nil {
				return err
			}
		} else {
			form, err := parseForm(body)
			if err != nil {
				return err
			}
			token, synonym = form["refresh_token"], form["token"]
		}
		switch {
		case token == "":
			token = synonym
		case synonym != "" && synonym != token:
			return errRefreshTwice
		}
		if token == "" {
			return errRefreshMissing
		}
		if err := h.a.Logout(c.Context, c.Client, token); err != nil && !errors.Is(err, auth.ErrInvalidToken) {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// LogoutAll returns the logout-everywhere endpoint, POST with a Bearer
// access token: it revokes every refresh token of the user and ends every
// access token issued to the user until now, then answers 204. It includes
// the Authenticator's Middleware.
func (h *Handlers) LogoutAll() http.Handler {
	return h.endpoint(http.MethodPost, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		u := c.User
		if err := h.a.LogoutAll(c.Context, c.Client, u.ID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// Me returns the current-user endpoint, GET with a Bearer access token:
// 200 with {"id", "username", "email" (string or null), "email_verified",
// "created_at"}. It includes the
// Authenticator's Middleware, which answers the RFC 6750 failures.
func (h *Handlers) Me() http.Handler {
	return h.endpoint(http.MethodGet, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		u := c.User
		writeUser(w, http.StatusOK, u)
		return nil
	})
}

// DeleteMe returns the account-deletion endpoint, DELETE with a Bearer
// access token and a JSON body {"password"}: 204 once the account and
// everything of it are deleted (auth.Authenticator.DeleteAccount), its
// tokens refused at once and its username and email free again. A wrong
// password is 400 invalid_grant, "the password is wrong" (and counts
// towards the username's limit: 429 after too many), a missing one 400
// invalid_request; an account without a password confirms with a recent
// login (the token's, auth_time less than 5 minutes ago), else 401
// insufficient_user_authentication with its RFC 9470 challenge; the
// last enabled administrator is 409 last_admin; a Store that cannot delete
// accounts (not an auth.UserDeleter) is 404 not_found, as a service that
// does not offer it. A request without a body is one without a password.
func (h *Handlers) DeleteMe() http.Handler {
	return h.endpoint(http.MethodDelete, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		var password string
		var given bool
		if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
			body, err := readJSON(w, r)
			if err != nil {
				return err
			}
			if password, given, err = body.stringField("password", errPasswordType); err != nil {
				return err
			}
		}
		if !given && c.User.PasswordHash != "" {
			return errPasswordMissing
		}
		err := h.a.DeleteAccount(c.Context, auth.AccountDeletion{UserID: c.User.ID, Password: password, Client: c.Client, Claims: c.Claims})
		if errors.Is(err, auth.ErrInvalidCredentials) {
			return fmt.Errorf("%w: %w", ErrWrongPassword, err)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// ChangePassword returns the password-change endpoint, POST with a Bearer
// access token and a JSON body {"current_password", "new_password"}: 204 on
// success, after which every refresh token of the user is revoked and every
// older access token rejected. A wrong current password is 400
// invalid_grant, "the current password is wrong" (and counts towards the
// username's limit: 429 after too many); a new password breaking the rules
// is 422 invalid_password, saying which rule.
func (h *Handlers) ChangePassword() http.Handler {
	return h.endpoint(http.MethodPost, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		body, err := readJSON(w, r)
		if err != nil {
			return err
		}
		current, ok1, err := body.stringField("current_password", errPasswordsType)
		if err != nil {
			return err
		}
		next, ok2, err := body.stringField("new_password", errPasswordsType)
		if err != nil {
			return err
		}
		if !ok1 || !ok2 {
			return errPasswordsMissing
		}
		u := c.User
		err = h.a.ChangePassword(c.Context, auth.PasswordChange{UserID: u.ID, Current: current, New: next, Client: c.Client})
		if errors.Is(err, auth.ErrInvalidCredentials) {
			return fmt.Errorf("%w: %w", errCurrentPassword, err)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// Healthz returns the health check, GET: 200 {"status": "ok"} when the
// store answers within the Timeout and a shared limiter within 2 seconds
// (auth.Authenticator.Ping), 503 temporarily_unavailable otherwise: logins
// fail without either.
func (h *Handlers) Healthz() http.Handler {
	return h.endpoint(http.MethodGet, public, func(w http.ResponseWriter, r *http.Request, c Call) error {
		if err := h.a.Ping(c.Context); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	})
}

// endpointKind says how an endpoint is guarded and how its errors are
// answered.
type endpointKind uint8

const (
	public        endpointKind = iota // errors answered as ErrorStatus says
	grant                             // the token endpoint: errorEntry.grant's answers
	authenticated                     // a Bearer access token first; errorEntry.bearer
)

// Call is what an endpoint serves a request with (see Handlers.Public and
// Handlers.Authenticated).
type Call struct {
	// Context is the request's context bounded by Config.Timeout: use it,
	// not the request's own.
	Context context.Context
	// User and Claims are, for an authenticated endpoint, the caller's and
	// those of the access token; nil otherwise. The user is handed over
	// directly rather than through the context, so that serving costs no
	// copy of the request and no context value.
	User   *auth.User
	Claims *auth.Claims
	// Client is the request's (Handlers.Client), for every method but GET,
	// which changes nothing.
	Client auth.Client
}

// endpoint makes the http.Handler of one endpoint: it checks the method,
// bounds the request's context by the Timeout, authenticates the request
// for an authenticated endpoint (as the Authenticator's Middleware does),
// and answers an error serve returns, logging the cause of a 5xx. serve
// writes the success answer itself, and nothing when it fails.
func (h *Handlers) endpoint(method string, kind endpointKind, serve func(http.ResponseWriter, *http.Request, Call) error) http.Handler {
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && (method != http.MethodGet || r.Method != http.MethodHead) {
			w.Header().Set("Allow", allow)
			writeErrorAnswer(w, kind, ErrMethodNotAllowed)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		c := Call{Context: ctx}
		if method != http.MethodGet {
			// For the limits and audit events of whatever the request
			// changes.
			c.Client = h.Client(r)
		}
		if kind == authenticated {
			var err error
			c.User, c.Claims, err = h.a.AuthenticateRequest(c.Context, r)
			if err != nil {
				h.logFailure(r, err)
				h.a.WriteAuthError(w, err)
				return
			}
		}
		if err := serve(w, r, c); err != nil {
			h.writeError(w, r, kind, err)
		}
	})
}

// writeError answers err, returned by an endpoint of kind, through
// errorTable, and logs the cause of a 5xx.
func (h *Handlers) writeError(w http.ResponseWriter, r *http.Request, kind endpointKind, err error) {
	if p := h.ProblemFor(err); p != nil {
		if p.Err == nil {
			p.Err = err
		}
		err = p
	}
	h.logFailure(r, err)
	if kind == authenticated {
		if e, _, _ := lookupError(err); e.bearer {
			// The user's token stopped being valid while the request ran
			// (the account was deleted, or logged out everywhere).
			h.a.WriteAuthError(w, fmt.Errorf("%w: %w", auth.ErrTokenRevoked, err))
			return
		}
	}
	writeErrorAnswer(w, kind, err)
}

// logFailure logs err, the cause of r's answer, if that answer is a 5xx.
func (h *Handlers) logFailure(r *http.Request, err error) {
	if h.logger == nil {
		return
	}
	if e, _, _ := lookupError(err); e.status >= 500 {
		h.logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", e.status), slog.String("error", err.Error()))
	}
}
