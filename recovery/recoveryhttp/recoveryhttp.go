package recoveryhttp

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"net/http"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/recovery"
)

// Handlers are the endpoints of account recovery, and the pages its
// links open, built on the authhttp.Handlers of the same Authenticator
// (their timeout, client addresses, authentication and error answers).
type Handlers struct {
	h *authhttp.Handlers
	r *recovery.Recovery
}

// New returns the endpoints of r, served with h's settings; h and r must
// be of the same Authenticator.
func New(h *authhttp.Handlers, r *recovery.Recovery) *Handlers {
	return &Handlers{h: h, r: r}
}

// Routes returns every endpoint and page at the method and path of the
// HTTP contract, each with its OpenAPI description (authhttp.OpenAPI):
//
//	POST /email/verify         VerifyEmail
//	POST /email/verify/resend  ResendVerification
//	POST /email/change         ChangeEmail
//	POST /password/forgot      ForgotPassword
//	POST /password/reset       ResetPassword
//	POST /admin/users/{id}/password-reset  SendPasswordReset (role admin)
//	GET  /verify-email         VerifyEmailPage
//	GET  /reset-password       ResetPasswordPage
//	GET  /assets/link-page.js  LinkPageScript
//	GET  /assets/link-page.css LinkPageStyle
//
// Mount them beside authhttp.Handlers.Routes, in the same router, at the
// root of recovery.Config.PublicURL (see the package documentation). The
// {id} is read with r.PathValue: authhttp.Router and http.ServeMux set it.
func (x *Handlers) Routes() []authhttp.Route {
	routes := []authhttp.Route{
		{Method: http.MethodPost, Path: "/email/verify", Handler: x.VerifyEmail()},
		{Method: http.MethodPost, Path: "/email/verify/resend", Handler: x.ResendVerification()},
		{Method: http.MethodPost, Path: "/email/change", Handler: x.ChangeEmail()},
		{Method: http.MethodPost, Path: "/password/forgot", Handler: x.ForgotPassword()},
		{Method: http.MethodPost, Path: "/password/reset", Handler: x.ResetPassword()},
		{Method: http.MethodPost, Path: "/admin/users/{id}/password-reset", Handler: x.SendPasswordReset()},
		{Method: http.MethodGet, Path: "/verify-email", Handler: x.VerifyEmailPage()},
		{Method: http.MethodGet, Path: "/reset-password", Handler: x.ResetPasswordPage()},
		{Method: http.MethodGet, Path: "/assets/link-page.js", Handler: x.LinkPageScript()},
		{Method: http.MethodGet, Path: "/assets/link-page.css", Handler: x.LinkPageStyle()},
	}
	described, err := authhttp.Describe(openapiSpec, routes)
	if err != nil {
		panic("recoveryhttp: openapi.json: " + err.Error()) // embedded, and tested
	}
	return described
}

// openapiSpec holds the OpenAPI operations of the routes, keyed by method
// and path. They refer to authhttp's shared components (Error, the
// answers every endpoint may give).
//
//go:embed openapi.json
var openapiSpec []byte

// mapped is serve with its errors answered by answer.
func mapped(serve func(http.ResponseWriter, *http.Request, authhttp.Call) error) func(http.ResponseWriter, *http.Request, authhttp.Call) error {
	return func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		return answer(serve(w, r, c))
	}
}

// answer maps the errors of package recovery to their answers, and leaves
// the core's to authhttp's table.
func answer(err error) error {
	switch {
	case errors.Is(err, recovery.ErrInvalidLink):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the link is invalid, used, expired or replaced by a newer one", Err: err}
	case errors.Is(err, recovery.ErrNothingToVerify):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "nothing_to_verify", Description: "the account has no unverified email", Err: err}
	case errors.Is(err, recovery.ErrNoEmail):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "no_email", Description: "the account has no email address to mail a link to", Err: err}
	case errors.Is(err, recovery.ErrMailRefused): // a Mailer's: never returned by the flows
		return &authhttp.Problem{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error", Err: err}
	}
	return err
}

// The endpoints' refusals of a body.
var (
	errTokenMissing   = authhttp.BadRequest("token is required")
	errTokenType      = authhttp.BadRequest("token must be a string")
	errEmailMissing   = authhttp.BadRequest("email is required")
	errEmailString    = authhttp.BadRequest("email must be a string")
	errNewPassMissing = authhttp.BadRequest("token and new_password are required")
	errNewPassType    = authhttp.BadRequest("token and new_password must be strings")
	errChangeMissing  = authhttp.BadRequest("password and new_email are required")
	errChangeType     = authhttp.BadRequest("password and new_email must be strings")
)

// VerifyEmail returns the endpoint a verification link's page posts to,
// POST with a JSON body {"token"}: 204 once the address the link was mailed
// to is the account's email, verified. A token that is unknown, spent,
// expired, replaced by a newer link or of another purpose is 400
// invalid_grant; an address another account took meanwhile is 409
// email_exists (and the link still works); too many requests from the
// client address are 429.
func (x *Handlers) VerifyEmail() http.Handler {
	return x.h.Public(http.MethodPost, mapped(func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		token, ok, err := body.String("token", errTokenType)
		if err != nil || !ok {
			return cmp.Or(err, errTokenMissing)
		}
		if _, err := x.r.VerifyEmail(c.Context, c.Client, token); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
}

// ResendVerification returns the endpoint that mails a new verification
// link, POST with a Bearer access token and no body: 202 {}, the link going
// to the user's current email, which makes earlier links stale. An account
// without an email, or whose email is verified, is 409 nothing_to_verify;
// too many requests from the client address are 429. At most three mails
// an hour go to one account; past that the answer is the same and nothing
// is sent.
func (x *Handlers) ResendVerification() http.Handler {
	return x.h.Authenticated(http.MethodPost, mapped(func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		if err := x.r.RequestEmailVerification(c.Context, c.Client, c.User.ID); err != nil {
			return err
		}
		authhttp.WriteAccepted(w)
		return nil
	}))
}

// ChangeEmail returns the email-change endpoint, POST with a Bearer access
// token and a JSON body {"password", "new_email"}: 202 {}, a verification
// link having been mailed to the new address; the account's email changes
// only when that link is used, and the current address, if any, gets a
// notice. A wrong password is 400 invalid_grant (and counts towards the
// username's login limit: 429 after too many); an address that is not one
// is 422 invalid_email; one another account has (as its email or its
// username) is 409 email_exists; too many requests from the client address
// are 429.
func (x *Handlers) ChangeEmail() http.Handler {
	return x.h.Authenticated(http.MethodPost, mapped(func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		password, ok1, err := body.String("password", errChangeType)
		if err != nil {
			return err
		}
		email, ok2, err := body.String("new_email", errChangeType)
		if err != nil {
			return err
		}
		if !ok1 || !ok2 {
			return errChangeMissing
		}
		err = x.r.ChangeEmail(c.Context, recovery.EmailChange{UserID: c.User.ID, Password: password, NewEmail: email, Client: c.Client})
		if errors.Is(err, auth.ErrInvalidCredentials) {
			return fmt.Errorf("%w: %w", authhttp.ErrWrongPassword, err)
		}
		if err != nil {
			return err
		}
		authhttp.WriteAccepted(w)
		return nil
	}))
}

// ForgotPassword returns the endpoint that mails a password-reset link,
// POST with a JSON body {"email"}: always 202 {}, with the same body at the
// same cost whether or not an account has that email (or the string is an
// address at all), so that it tells nothing about accounts: the account is
// looked up, and the link mailed to it if it is enabled, off the request
// path (a store that is down is still 202, and no mail). Only a body
// without a string email is 400, too many requests from the client
// address are 429, and a shared limiter that fails is 503.
func (x *Handlers) ForgotPassword() http.Handler {
	return x.h.Public(http.MethodPost, mapped(func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		email, ok, err := body.String("email", errEmailString)
		if err != nil || !ok {
			return cmp.Or(err, errEmailMissing)
		}
		err = x.r.RequestPasswordReset(c.Context, c.Client, email)
		if err != nil && !errors.Is(err, auth.ErrInvalidEmail) {
			return err
		}
		authhttp.WriteAccepted(w)
		return nil
	}))
}

// ResetPassword returns the endpoint a reset link's page posts to, POST
// with a JSON body {"token", "new_password"}: 204 once the password is
// replaced, every session of the user revoked and every access token
// ended; the email then counts as verified. A token that is unknown, spent,
// expired, replaced by a newer link, of another purpose, or made before the
// password last changed is 400 invalid_grant; a new password breaking the
// rules is 422 invalid_password, and leaves the token unspent; too many
// requests from the client address are 429.
func (x *Handlers) ResetPassword() http.Handler {
	return x.h.Public(http.MethodPost, mapped(func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		token, ok1, err := body.String("token", errNewPassType)
		if err != nil {
			return err
		}
		password, ok2, err := body.String("new_password", errNewPassType)
		if err != nil {
			return err
		}
		if !ok1 || !ok2 {
			return errNewPassMissing
		}
		if err := x.r.ResetPassword(c.Context, recovery.PasswordReset{Token: token, NewPassword: password, Client: c.Client}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
}

// SendPasswordReset returns POST /admin/users/{id}/password-reset for
// administrators (users holding admin.Role; others get 403
// insufficient_scope), without a body: 202 {}, a password-reset link on
// its way to the account's email, as POST /password/forgot would mail it,
// in the account's budget of mails asked for
// (recovery.Recovery.SendPasswordReset: past it, and for a disabled
// account, the answer is the same and nothing is sent). An account without
// an email is 409 no_email; an unknown id 404 not_found.
func (x *Handlers) SendPasswordReset() http.Handler {
	return x.h.WithRole(admin.Role, http.MethodPost, mapped(func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		err := x.r.SendPasswordReset(c.Context, recovery.ResetMail{UserID: x.h.PathValue(r, "id"), Actor: c.User.ID, Client: c.Client})
		if errors.Is(err, auth.ErrNotFound) {
			// The account the path names, not the caller's (whose account
			// going would be a revoked token).
			return &authhttp.Problem{Status: http.StatusNotFound, Code: "not_found", Description: "not found", Err: err}
		}
		if err != nil {
			return err
		}
		authhttp.WriteAccepted(w)
		return nil
	}))
}
