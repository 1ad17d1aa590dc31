package authhttp

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"

	"github.com/goauthkit/auth"
)

// The account-recovery and email-verification endpoints. The links the
// Authenticator mails lead to the pages VerifyEmailPage and
// ResetPasswordPage serve, whose buttons POST the link's token to
// VerifyEmail and ResetPassword: opening a link never spends its token.
//
// They are written with the helpers a feature package has (Public,
// Authenticated, ReadJSON, BadRequest, WriteAccepted, ErrWrongPassword) and
// nothing else of this package's, so that they can move to a package of
// account recovery of their own.

var (
	errTokenMissing   = BadRequest("token is required")
	errTokenType      = BadRequest("token must be a string")
	errEmailMissing   = BadRequest("email is required")
	errEmailString    = BadRequest("email must be a string")
	errNewPassMissing = BadRequest("token and new_password are required")
	errNewPassType    = BadRequest("token and new_password must be strings")
	errChangeMissing  = BadRequest("password and new_email are required")
	errChangeType     = BadRequest("password and new_email must be strings")
)

// VerifyEmail returns the endpoint a verification link's page posts to,
// POST with a JSON body {"token"}: 204 once the address the link was mailed
// to is the account's email, verified. A token that is unknown, spent,
// expired, replaced by a newer link or of another purpose is 400
// invalid_grant; an address another account took meanwhile is 409
// email_exists; too many attempts from the client address are 429.
func (h *Handlers) VerifyEmail() http.Handler {
	return h.Public(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c Call) error {
		body, err := ReadJSON(w, r)
		if err != nil {
			return err
		}
		token, ok, err := body.String("token", errTokenType)
		if err != nil || !ok {
			return cmp.Or(err, errTokenMissing)
		}
		if _, err := h.a.VerifyEmail(c.Context, c.Client, token); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// ResendVerification returns the endpoint that mails a new verification
// link, POST with a Bearer access token and no body: 202 {}, the link going
// to the user's current email, which makes earlier links stale. An account
// without an email, or whose email is verified, is 409 nothing_to_verify.
// At most three mails an hour go to one account; past that the answer is
// the same and nothing is sent.
func (h *Handlers) ResendVerification() http.Handler {
	return h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c Call) error {
		if err := h.a.RequestEmailVerification(c.Context, c.Client, c.User.ID); err != nil {
			return err
		}
		WriteAccepted(w)
		return nil
	})
}

// ChangeEmail returns the email-change endpoint, POST with a Bearer access
// token and a JSON body {"password", "new_email"}: 202 {}, a verification
// link having been mailed to the new address; the account's email changes
// only when that link is used. A wrong password is 400 invalid_grant (and
// counts towards the username's login limit); an address that is not one
// is 400 invalid_request; one another account has is 409 email_exists.
func (h *Handlers) ChangeEmail() http.Handler {
	return h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c Call) error {
		body, err := ReadJSON(w, r)
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
		err = h.a.ChangeEmail(c.Context, auth.EmailChange{UserID: c.User.ID, Password: password, NewEmail: email, Client: c.Client})
		if errors.Is(err, auth.ErrInvalidCredentials) {
			return fmt.Errorf("%w: %w", ErrWrongPassword, err)
		}
		if err != nil {
			return err
		}
		WriteAccepted(w)
		return nil
	})
}

// ForgotPassword returns the endpoint that mails a password-reset link,
// POST with a JSON body {"email"}: always 202 {}, with the same body at the
// same cost whether or not an account has that email (or the string is an
// address at all), so that it tells nothing about accounts: the account is
// looked up, and the link mailed to it if it is enabled, off the request
// path (a store that is down is still 202, and no mail). Only a body
// without a string email is 400, and too many requests from the client
// address are 429.
func (h *Handlers) ForgotPassword() http.Handler {
	return h.Public(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c Call) error {
		body, err := ReadJSON(w, r)
		if err != nil {
			return err
		}
		email, ok, err := body.String("email", errEmailString)
		if err != nil || !ok {
			return cmp.Or(err, errEmailMissing)
		}
		err = h.a.RequestPasswordReset(c.Context, c.Client, email)
		if err != nil && !errors.Is(err, auth.ErrInvalidEmail) {
			return err
		}
		WriteAccepted(w)
		return nil
	})
}

// ResetPassword returns the endpoint a reset link's page posts to, POST
// with a JSON body {"token", "new_password"}: 204 once the password is
// replaced, every session of the user revoked and every access token
// ended; the email then counts as verified. A token that is unknown, spent,
// expired, replaced by a newer link, of another purpose, or made before the
// password last changed is 400 invalid_grant; a new password breaking the
// rules is 422 invalid_password, and leaves the token unspent.
func (h *Handlers) ResetPassword() http.Handler {
	return h.Public(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c Call) error {
		body, err := ReadJSON(w, r)
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
		if err := h.a.ResetPassword(c.Context, auth.PasswordReset{Token: token, NewPassword: password, Client: c.Client}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
