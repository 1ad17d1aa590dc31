// Package mfahttp serves package mfa over HTTP, as the HTTP contract's
// "Second factor: TOTP and recovery codes" says: the management endpoints
// of a user's authenticator app and recovery codes, the completion of a
// login that needs a second factor (the mfa_otp and mfa_recovery_code
// grants of POST /token, and POST /session/mfa for browsers), and an
// administrator's reset.
//
// It is built on the authhttp.Handlers of the same Authenticator: New
// adds the grants to their token endpoint (Handlers.Grant) and makes them
// answer the challenge of a login that needs a second factor, at POST
// /token and POST /session, with 403 mfa_required and its mfa_token
// (Handlers.Answer), so mount both sets of routes in one router:
//
//	h, _ := authhttp.New(a, authhttp.Config{})
//	m, _ := mfa.New(a, mfa.Config{Key: key})
//	router := authhttp.NewRouter()
//	router.Mount(h.Routes())
//	router.Mount(mfahttp.New(h, m).Routes())
package mfahttp

import (
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/store/passkeystore"
)

// Handlers are the endpoints of the second factor.
type Handlers struct {
	h *authhttp.Handlers
	m *mfa.MFA
}

// New returns the endpoints of m, served with h's settings, and extends
// h's token endpoint with the grants mfa_otp and mfa_recovery_code and its
// answers with those of package mfa's errors; h and m must be of the same
// Authenticator. Call it once for h, before the service serves.
func New(h *authhttp.Handlers, m *mfa.MFA) *Handlers {
	x := &Handlers{h: h, m: m}
	h.Answer(answer)
	h.Grant("mfa_otp", func(c authhttp.Call, p map[string]string) (*auth.TokenPair, error) {
		if p["mfa_token"] == "" || p["otp"] == "" {
			return nil, errOTPGrant
		}
		return m.Complete(c.Context, mfa.Completion{Token: p["mfa_token"], OTP: p["otp"], Client: c.Client})
	})
	h.Grant("mfa_recovery_code", func(c authhttp.Call, p map[string]string) (*auth.TokenPair, error) {
		if p["mfa_token"] == "" || p["recovery_code"] == "" {
			return nil, errRecoveryGrant
		}
		return m.Complete(c.Context, mfa.Completion{Token: p["mfa_token"], RecoveryCode: p["recovery_code"], Client: c.Client})
	})
	return x
}

// Routes returns every endpoint at the method and path of the HTTP
// contract, each with its OpenAPI description (authhttp.OpenAPI):
//
//	GET    /mfa                      Status
//	POST   /mfa/totp                 Enrol
//	POST   /mfa/totp/confirm         Confirm
//	POST   /mfa/recovery-codes       RecoveryCodes (second factor)
//	DELETE /mfa/totp                 Disable (second factor)
//	POST   /session/mfa              Session
//	DELETE /admin/users/{id}/mfa     Reset (role admin)
func (x *Handlers) Routes() []authhttp.Route {
	routes := []authhttp.Route{
		{Method: http.MethodGet, Path: "/mfa", Handler: x.Status()},
		{Method: http.MethodPost, Path: "/mfa/totp", Handler: x.Enrol()},
		{Method: http.MethodPost, Path: "/mfa/totp/confirm", Handler: x.Confirm()},
		{Method: http.MethodPost, Path: "/mfa/recovery-codes", Handler: x.RecoveryCodes()},
		{Method: http.MethodDelete, Path: "/mfa/totp", Handler: x.Disable()},
		{Method: http.MethodPost, Path: "/session/mfa", Handler: x.Session()},
		{Method: http.MethodDelete, Path: "/admin/users/{id}/mfa", Handler: x.Reset()},
	}
	described, err := authhttp.Describe(openapiSpec, routes)
	if err != nil {
		panic("mfahttp: openapi.json: " + err.Error()) // embedded, and tested
	}
	return described
}

// openapiSpec holds the OpenAPI operations of the routes, keyed by method
// and path.
//
//go:embed openapi.json
var openapiSpec []byte

// The endpoints' refusals of a request.
var (
	errOTPGrant      = authhttp.BadRequest("mfa_token and otp are required")
	errRecoveryGrant = authhttp.BadRequest("mfa_token and recovery_code are required")
	errSessionFields = authhttp.BadRequest("mfa_token and one of otp and recovery_code are required")
	errPasswordType  = authhttp.BadRequest("password must be a string")
	errPasswordGone  = authhttp.BadRequest("password is required")
	errCodeType      = authhttp.BadRequest("code must be a string")
	errCodeMissing   = authhttp.BadRequest("code is required")
)

// answer maps package mfa's errors to their answers, at every endpoint of
// the Handlers (the core's login endpoints included), and leaves the
// others to authhttp's table.
func answer(err error) *authhttp.Problem {
	var ch *mfa.Challenge
	switch {
	case errors.As(err, &ch):
		return &authhttp.Problem{Status: http.StatusForbidden, Code: "mfa_required",
			Description: "a second factor is required: send a code with the mfa_token",
			Members:     map[string]any{"mfa_token": ch.Token, "mfa_methods": ch.Methods}}
	case errors.Is(err, mfa.ErrInvalidCode):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the code is wrong, or was used"}
	case errors.Is(err, mfa.ErrInvalidChallenge):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the mfa_token is unknown, spent or expired: log in again"}
	case errors.Is(err, mfa.ErrEnabled):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "mfa_enabled", Description: "an authenticator app is on already: turn it off first"}
	case errors.Is(err, mfa.ErrNothingToConfirm):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "nothing_to_confirm", Description: "no authenticator app is waiting for confirmation"}
	case errors.Is(err, mfa.ErrNotEnabled):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "mfa_not_enabled", Description: "no authenticator app is on"}
	}
	return nil
}

// owner reads the current password of a management call's body, which
// an account with a password must give (an account without one confirms
// with a recent login), and returns the caller as the account's owner.
func owner(w http.ResponseWriter, r *http.Request, c authhttp.Call) (mfa.Owner, error) {
	o := mfa.Owner{User: c.User, Claims: c.Claims, Client: c.Client}
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return o, err
		}
		var given bool
		if o.Password, given, err = body.String("password", errPasswordType); err != nil {
			return o, err
		}
		if !given && c.User.PasswordHash != "" {
			return o, errPasswordGone
		}
	} else if c.User.PasswordHash != "" {
		return o, errPasswordGone
	}
	return o, nil
}

// wrongPassword makes a wrong current password the answer the core's
// endpoints give it (400 invalid_grant, "the password is wrong").
func wrongPassword(err error) error {
	if errors.Is(err, auth.ErrInvalidCredentials) {
		return fmt.Errorf("%w: %w", authhttp.ErrWrongPassword, err)
	}
	return err
}

// secondFactor refuses a caller whose login was made without a second
// factor: 401 insufficient_user_authentication (RFC 9470).
func secondFactor(c authhttp.Call) error {
	if !slices.Contains(c.Claims.Methods, auth.MethodMFA) {
		return auth.ErrSecondFactorRequired
	}
	return nil
}

// statusBody is GET /mfa's answer.
type statusBody struct {
	TOTP              bool `json:"totp"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	Passkeys          int  `json:"passkeys"`
}

// Status returns GET /mfa (Bearer): 200 {"totp", "recovery_codes_left",
// "passkeys"}. Passkeys are counted in the store when it keeps them
// (passkeystore.Store, which package passkey uses), else 0.
func (x *Handlers) Status() http.Handler {
	passkeys, _ := x.h.Authenticator().Store().(passkeystore.Store)
	return x.h.Authenticated(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		s, err := x.m.Status(c.Context, c.User.ID)
		if err != nil {
			return err
		}
		b := statusBody{TOTP: s.TOTP, RecoveryCodesLeft: s.RecoveryCodesLeft}
		if passkeys != nil {
			keys, err := passkeys.Credentials(c.Context, c.User.ID)
			if err != nil {
				return err
			}
			b.Passkeys = len(keys)
		}
		authhttp.WriteJSON(w, http.StatusOK, b)
		return nil
	})
}

// enrolBody is POST /mfa/totp's answer.
type enrolBody struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRCode     string `json:"qr_code"`
}

// Enrol returns POST /mfa/totp (Bearer, JSON {"password"}): 200 {"secret",
// "otpauth_uri", "qr_code"}, a new secret pending until Confirm (a newer
// call replaces a pending one). A wrong password is 400 invalid_grant
// (limited as a login's: 429); an account without a password whose login
// is more than 5 minutes old is 401 insufficient_user_authentication; an
// authenticator app on already is 409 mfa_enabled.
func (x *Handlers) Enrol() http.Handler {
	return x.h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		o, err := owner(w, r, c)
		if err != nil {
			return err
		}
		e, err := x.m.Enrol(c.Context, o)
		if err != nil {
			return wrongPassword(err)
		}
		authhttp.WriteJSON(w, http.StatusOK, enrolBody{Secret: e.Secret, OTPAuthURI: e.URI, QRCode: e.QRCode})
		return nil
	})
}

// codesBody is the answer of the endpoints that make recovery codes.
type codesBody struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// Confirm returns POST /mfa/totp/confirm (Bearer, JSON {"code"}): 200
// {"recovery_codes": [10 codes]}, the authenticator app on and every other
// login of the user ended (this one goes on). A wrong code is 400
// invalid_grant (the pending secret stays); nothing pending is 409
// nothing_to_confirm.
func (x *Handlers) Confirm() http.Handler {
	return x.h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		code, ok, err := body.String("code", errCodeType)
		if err != nil {
			return err
		}
		if !ok || code == "" {
			return errCodeMissing
		}
		codes, err := x.m.Confirm(c.Context, mfa.Owner{User: c.User, Claims: c.Claims, Client: c.Client}, code)
		if err != nil {
			return err
		}
		authhttp.WriteJSON(w, http.StatusOK, codesBody{codes})
		return nil
	})
}

// RecoveryCodes returns POST /mfa/recovery-codes (Bearer of a login with a
// second factor, JSON {"password"}): 200 {"recovery_codes": [10 codes]},
// the earlier codes dead. A login without a second factor is 401
// insufficient_user_authentication; no authenticator app is 409
// mfa_not_enabled; a wrong password 400 invalid_grant.
func (x *Handlers) RecoveryCodes() http.Handler {
	return x.h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		if err := secondFactor(c); err != nil {
			return err
		}
		o, err := owner(w, r, c)
		if err != nil {
			return err
		}
		codes, err := x.m.RegenerateRecoveryCodes(c.Context, o)
		if err != nil {
			return wrongPassword(err)
		}
		authhttp.WriteJSON(w, http.StatusOK, codesBody{codes})
		return nil
	})
}

// Disable returns DELETE /mfa/totp (Bearer of a login with a second
// factor, JSON {"password"}): 204, the authenticator app and the recovery
// codes gone. A login without a second factor is 401
// insufficient_user_authentication; no authenticator app is 409
// mfa_not_enabled; a wrong password 400 invalid_grant.
func (x *Handlers) Disable() http.Handler {
	return x.h.Authenticated(http.MethodDelete, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		if err := secondFactor(c); err != nil {
			return err
		}
		o, err := owner(w, r, c)
		if err != nil {
			return err
		}
		if err := x.m.Disable(c.Context, o); err != nil {
			return wrongPassword(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// Session returns POST /session/mfa, the browser's completion of a login
// that POST /session answered with 403 mfa_required: a form or JSON body
// with mfa_token and otp or recovery_code; 200 as POST /session, with
// the session cookie. A wrong, used or stale code, or an unknown, spent or
// expired mfa_token, is 400 invalid_grant; too many wrong codes for the
// user 429 too_many_attempts; a request from another origin 403.
func (x *Handlers) Session() http.Handler {
	return x.h.BrowserSignIn([]string{"mfa_token", "otp", "recovery_code"},
		func(c authhttp.Call, f map[string]string, device string) (*auth.TokenPair, error) {
			if f["mfa_token"] == "" || (f["otp"] == "") == (f["recovery_code"] == "") {
				return nil, errSessionFields
			}
			return x.m.Complete(c.Context, mfa.Completion{Token: f["mfa_token"], OTP: f["otp"], RecoveryCode: f["recovery_code"],
				Client: c.Client, Device: device})
		})
}

// Reset returns DELETE /admin/users/{id}/mfa (Bearer, role admin): 204,
// the user's authenticator app and recovery codes gone and every login of
// the user ended. An unknown id is 404 not_found.
func (x *Handlers) Reset() http.Handler {
	return x.h.WithRole("admin", http.MethodDelete, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		err := x.m.Reset(c.Context, x.h.PathValue(r, "id"), c.User.ID, c.Client)
		if errors.Is(err, auth.ErrNotFound) {
			return &authhttp.Problem{Status: http.StatusNotFound, Code: "not_found", Description: "not found", Err: err}
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
