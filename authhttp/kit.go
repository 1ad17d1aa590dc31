package authhttp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/goauthkit/auth"

	"github.com/goauthkit/auth/internal/httpjson"
)

// The helpers of this file are how this package writes its own endpoints,
// exported for a feature package's routes (a way of signing in, account
// recovery): the same method check, timeout, authentication, strict body
// reading and answers, through the one error table.

// Public makes an endpoint that anyone may call: it answers another method
// with 405 and an Allow header, bounds the request's context by
// Config.Timeout (Call.Context), and answers an error serve returns through
// the package's error table (ErrorStatus), logging the cause of a 5xx.
// serve writes the success answer itself, and nothing when it fails.
func (h *Handlers) Public(method string, serve func(http.ResponseWriter, *http.Request, Call) error) http.Handler {
	return h.endpoint(method, public, serve)
}

// Authenticated makes an endpoint as Public does that first requires a
// Bearer access token, checked as the Authenticator's Middleware checks it
// and refused with its answers (401, 400 or 503 per RFC 6750): Call.User
// and Call.Claims are the caller's. An error serve returns that says the
// caller's own account is gone (auth.ErrNotFound) is answered as a revoked
// token.
func (h *Handlers) Authenticated(method string, serve func(http.ResponseWriter, *http.Request, Call) error) http.Handler {
	return h.endpoint(method, authenticated, serve)
}

// WithRole makes an endpoint as Authenticated does that also requires the
// caller to hold role (auth.User.HasRole): a caller without it gets 403
// insufficient_scope, with a WWW-Authenticate challenge naming the role as
// its scope (RFC 6750 §3.1).
func (h *Handlers) WithRole(role, method string, serve func(http.ResponseWriter, *http.Request, Call) error) http.Handler {
	return h.endpoint(method, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		if !c.User.HasRole(role) {
			return &roleError{role: role}
		}
		return serve(w, r, c)
	})
}

// PathValue returns the value of the wildcard segment name of r's path,
// such as the id of DELETE /sessions/{id}: Config.PathValue's, or
// r.PathValue(name) when that is unset or gives "" (Router, http.ServeMux
// and chi set it). It is "" when the router set neither: an endpoint
// answers that as it answers an unknown id, 404 not_found. A feature
// package's endpoints read their paths with it, as this package's do.
func (h *Handlers) PathValue(r *http.Request, name string) string {
	if h.pathValue != nil {
		if v := h.pathValue(r, name); v != "" {
			return v
		}
	}
	return r.PathValue(name)
}

// roleError is WithRole's refusal of a caller without role.
type roleError struct{ role string }

func (e *roleError) Error() string { return "authhttp: the role " + e.role + " is required" }

// JSONBody is a request body read by ReadJSON: one JSON object.
type JSONBody struct{ obj jsonObject }

// ReadJSON reads r's body as the endpoints of this package read theirs: a
// Content-Type of application/json (charset, if any, UTF-8), at most
// MaxBodyBytes, one JSON object without duplicate or case-variant member
// names, unpaired surrogates or trailing data. It returns a *RequestError
// for a body that breaks those rules, or ErrRequestTooLarge.
func ReadJSON(w http.ResponseWriter, r *http.Request) (JSONBody, error) {
	obj, err := readJSON(w, r)
	return JSONBody{obj}, err
}

// String returns the string member name of b. A member that is absent or
// null is missing (ok false); one of another type is wrongType, which
// should be a BadRequest naming the rule.
func (b JSONBody) String(name string, wrongType error) (s string, ok bool, err error) {
	return b.obj.stringField(name, wrongType)
}

// Bool returns the boolean member name of b, as String does.
func (b JSONBody) Bool(name string, wrongType error) (v, ok bool, err error) {
	return b.obj.boolField(name, wrongType)
}

// Strings returns the member name of b, an array of strings, as String
// does (an empty array is an empty, non-nil slice).
func (b JSONBody) Strings(name string, wrongType error) (ss []string, ok bool, err error) {
	return b.obj.stringsField(name, wrongType)
}

// Object returns the member name of b, a JSON object, as it was sent (a
// WebAuthn credential, which its own parser reads), as String does.
func (b JSONBody) Object(name string, wrongType error) (raw []byte, ok bool, err error) {
	v, present := b.obj[name]
	switch {
	case !present || v.kind == jsonNull:
		return nil, false, nil
	case v.kind != jsonOther || len(v.raw) == 0 || v.raw[0] != '{':
		return nil, false, wrongType
	}
	return v.raw, true, nil
}

// WriteJSON answers status with v as a JSON body (encoding/json's), which
// no cache may keep.
func WriteJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// BadRequest returns a *RequestError with reason, a fixed text that says
// what is wrong with a request (never text taken from it): it answers 400
// invalid_request with reason as the error_description.
func BadRequest(reason string) error { return badRequest(reason) }

// Problem is an error that a feature package's endpoint answers as it
// chooses: Status, with the OAuth 2.0 error Code and Description (a fixed
// text, never one taken from the request or from Err). It comes before
// every answer of the package's error table; errors.Is and errors.As see
// Err through it. A feature maps its own errors to Problems, and leaves
// the core's (auth's, this package's) to the table.
type Problem struct {
	Status      int
	Code        string
	Description string
	Err         error
	// Header, if set, holds headers of the answer (a challenge, a
	// Retry-After).
	Header http.Header
	// Members, if set, are more members of the answer's JSON body, beside
	// error and error_description (which they may not replace): what the
	// client needs to go on, such as a second factor's mfa_token.
	Members map[string]any
}

// Error implements error.
func (p *Problem) Error() string {
	if p.Err == nil {
		return "authhttp: " + p.Code
	}
	return p.Err.Error()
}

// Unwrap returns Err.
func (p *Problem) Unwrap() error { return p.Err }

// acceptedBody is WriteAccepted's.
var acceptedBody = []byte("{}\n")

// WriteAccepted answers 202 with the body {}: the request is taken, and
// what it asks for (a mail) is on its way, or is not, unsaid.
func WriteAccepted(w http.ResponseWriter) {
	httpjson.WriteBody(w, http.StatusAccepted, acceptedBody)
}

// Grant adds the grant type name to the token endpoint (Token, POST
// /token): a request whose grant_type is name is answered by f, from the
// form's parameters (each given once; the empty ones absent), with the
// token endpoint's answer to the pair f returns, or to its error (400
// invalid_grant for auth.ErrInvalidCredentials and auth.ErrInvalidToken,
// as the password grant answers them). It is how a feature completes a
// login at the token endpoint (package mfa's mfa_otp grant). The core's
// grants (password, refresh_token) cannot be replaced. Call Grant before
// the service serves; it is not safe for use concurrent with requests.
func (h *Handlers) Grant(name string, f func(c Call, params map[string]string) (*auth.TokenPair, error)) {
	if name == "" || name == "password" || name == "refresh_token" {
		panic("authhttp: Grant: the grant type " + strconv.Quote(name) + " is the core's")
	}
	if h.grants == nil {
		h.grants = map[string]func(Call, map[string]string) (*auth.TokenPair, error){}
	}
	h.grants[name] = f
}

// Answer makes f part of how every endpoint of h, the core's included,
// answers errors: an error for which f returns a Problem is answered with
// it, ahead of the error table; f returns nil for the errors it does not
// know. It is how a feature answers the errors it causes at the core's
// endpoints (package mfa's challenge, which the Intercept of a second
// factor returns from a login at POST /token and POST /session: 403
// mfa_required with the mfa_token). Call Answer before the service serves;
// it is not safe for use concurrent with requests.
func (h *Handlers) Answer(f func(err error) *Problem) {
	h.answers = append(h.answers, f)
}

// BrowserSignIn makes a browser sign-in endpoint as SessionLogin is made,
// for a feature that signs users in another way (package mfa's POST
// /session/mfa): POST with a form or JSON body whose string fields are
// names, from the service's own origin or Config.TrustedOrigins (else 403
// forbidden). f signs the user in with the fields (absent ones "") and
// the browser's device value (for auth.Verified.Device); its pair is
// answered as SessionLogin answers, the refresh token in the session
// cookie and the device cookie set, and its error through the error
// table, as the token endpoint answers it.
func (h *Handlers) BrowserSignIn(names []string, f func(c Call, fields map[string]string, device string) (*auth.TokenPair, error)) http.Handler {
	return h.browser(h.endpoint(http.MethodPost, grant, func(w http.ResponseWriter, r *http.Request, c Call) error {
		fields, err := readFields(w, r, names...)
		if err != nil {
			return err
		}
		device := deviceValue(r)
		pair, err := f(c, fields, device)
		if err != nil {
			return err
		}
		setCookie(w, DeviceCookieName, device, deviceCookieMaxAge)
		h.writeSession(w, pair)
		return nil
	}))
}

// SignIn makes a sign-in endpoint for a feature whose request is its own
// (package passkey's: a WebAuthn credential, a JSON object): POST; f
// reads the request (ReadJSON) and signs the user in. Its pair is answered
// as Token answers it (200 {"access_token", "token_type", "expires_in",
// "refresh_token"}, which no cache keeps), its error as the token
// endpoint's. With browser, the endpoint is a browser sign-in, as
// BrowserSignIn makes them: from the service's own origin or
// Config.TrustedOrigins only, answered as SessionLogin answers, with the
// refresh token in the session cookie and the device cookie set; f gets
// the browser's device value ("" without browser).
func (h *Handlers) SignIn(browser bool, f func(w http.ResponseWriter, r *http.Request, c Call, device string) (*auth.TokenPair, error)) http.Handler {
	if !browser {
		return h.endpoint(http.MethodPost, grant, func(w http.ResponseWriter, r *http.Request, c Call) error {
			pair, err := f(w, r, c, "")
			if err != nil {
				return err
			}
			h.WriteTokens(w, http.StatusOK, nil, pair)
			return nil
		})
	}
	return h.browser(h.endpoint(http.MethodPost, grant, func(w http.ResponseWriter, r *http.Request, c Call) error {
		device := deviceValue(r)
		pair, err := f(w, r, c, device)
		if err != nil {
			return err
		}
		setCookie(w, DeviceCookieName, device, deviceCookieMaxAge)
		h.writeSession(w, pair)
		return nil
	}))
}

// signupTokens is WriteTokens' answer with a user.
type signupTokens struct {
	User json.RawMessage `json:"user"`
	tokenResponse
}

// WriteTokens answers status with pair as the token endpoint answers it
// ({"access_token", "token_type", "expires_in", "refresh_token"}, which no
// cache keeps), and with u, if not nil, as the member "user", as Me
// answers it: what a sign-up that signs the user in answers (package
// passkey's).
func (h *Handlers) WriteTokens(w http.ResponseWriter, status int, u *auth.User, pair *auth.TokenPair) {
	t := tokenResponse{
		AccessToken:  pair.AccessToken,
		TokenType:    "bearer",
		ExpiresIn:    int64(h.a.AccessTTL() / time.Second),
		RefreshToken: pair.RefreshToken,
	}
	w.Header().Set("Pragma", "no-cache")
	if u == nil {
		writeJSON(w, status, t)
		return
	}
	writeJSON(w, status, signupTokens{User: appendUser(nil, u), tokenResponse: t})
}

// Authenticator returns the Authenticator that h serves: a feature's
// endpoints read what they need of it (its Store's capabilities).
func (h *Handlers) Authenticator() *auth.Authenticator { return h.a }

// Device returns the browser's device value (its device cookie's, or a
// new one), for a browser sign-in that a feature answers itself (package
// oidc's callback, which ends in a redirect): give it to
// auth.Verified.Device, then to StartSession.
func (h *Handlers) Device(r *http.Request) string { return deviceValue(r) }

// StartSession sets the cookies of a browser sign-in, as SessionLogin
// does: the session cookie with pair's refresh token, and the device
// cookie with device (Device). It writes no body: for a feature whose
// sign-in ends in a redirect rather than JSON.
func (h *Handlers) StartSession(w http.ResponseWriter, pair *auth.TokenPair, device string) {
	setCookie(w, DeviceCookieName, device, deviceCookieMaxAge)
	h.setSessionCookie(w, pair.RefreshToken)
	w.Header().Set("Cache-Control", "no-store")
}

// ProblemFor returns the Problem that the features' answers
// (Handlers.Answer) make of err, or nil: how an endpoint that answers in
// HTML learns a feature's answer (a second factor's mfa_token).
func (h *Handlers) ProblemFor(err error) *Problem {
	for _, f := range h.answers {
		if p := f(err); p != nil {
			return p
		}
	}
	return nil
}
