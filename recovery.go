package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The account-recovery and email-verification flows. Every link the
// library mails carries a token of 32 random bytes (43 characters of
// A-Z a-z 0-9 - _), kept by the store only as its SHA-256, bound to one
// purpose, single-use, expiring, and made stale by a newer link of the same
// purpose for the same account; a reset link is also bound to the password
// hash it was made under, so it dies when the password changes by any
// means. Mails are made (token included) and sent off the request path.

// Link paths, after Config.PublicURL.
const (
	verifyEmailPath   = "/verify-email"
	resetPasswordPath = "/reset-password"
)

// emailTaken reports whether e is the email, or the username, of an account
// other than self (empty for none), so that a login name is never
// ambiguous; ErrEmailExists if so.
func (a *Authenticator) emailTaken(ctx context.Context, e, self string) error {
	for _, lookup := range []func(context.Context, string) (*User, error){a.store.UserByEmail, a.store.UserByUsername} {
		u, err := lookup(ctx, e)
		switch {
		case err == nil && u.ID != self:
			return ErrEmailExists
		case err != nil && !errors.Is(err, ErrNotFound):
			return err
		}
	}
	return nil
}

// limitAddress spends one attempt of the client address's budget rate
// under kind, whatever the request's outcome (nothing for an empty addr).
func (a *Authenticator) limitAddress(ctx context.Context, r Rate, kind, addr string) error {
	if addr == "" {
		return nil
	}
	res, err := a.limiter.Reserve(ctx, r.key(kind, addr, false))
	if err != nil {
		return err
	}
	res.Settle(AttemptFailed)
	return nil
}

// RequestEmailVerification mails a new verification link to the user's
// email (which makes earlier links stale). It returns ErrNothingToVerify
// when the account has no email or it is verified already, ErrMailDisabled
// without a Mailer, ErrNotFound for an unknown user, or a store error. At
// most Limits.MailAccount mails go to one account: past that nothing is
// sent, and nothing else changes.
func (a *Authenticator) RequestEmailVerification(ctx context.Context, userID string) error {
	if a.mailer == nil {
		return ErrMailDisabled
	}
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.Email == "" || u.EmailVerified {
		return ErrNothingToVerify
	}
	a.emit(ctx, Event{Type: EventEmailVerificationRequested, UserID: u.ID, Username: u.Username})
	a.queueMail(ctx, mailJob{purpose: LinkVerifyEmail, userID: u.ID, email: u.Email})
	return nil
}

// ChangeEmail checks the user's password and mails a verification link to
// newEmail; the account's email becomes newEmail only when that link is
// used (VerifyEmail). It returns ErrInvalidCredentials for a wrong password
// (which counts against the username's login budget), ErrInvalidEmail,
// ErrEmailExists for an address another account has (as its email or its
// username), ErrMailDisabled, a *RateLimitError, or a store error. The
// account's own address, unverified, gets a new verification link; verified,
// nothing.
func (a *Authenticator) ChangeEmail(ctx context.Context, userID, password, newEmail string) error {
	if a.mailer == nil {
		return ErrMailDisabled
	}
	e := NormalizeEmail(newEmail)
	if !validEmail(e) {
		return ErrInvalidEmail
	}
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	release, err := a.checkCurrentPassword(ctx, u, password)
	if err != nil {
		return err
	}
	release()
	if e == u.Email && u.EmailVerified {
		return nil
	}
	if err := a.emailTaken(ctx, e, u.ID); err != nil {
		return err
	}
	a.emit(ctx, Event{Type: EventEmailChangeRequested, UserID: u.ID, Username: u.Username, Email: e})
	a.queueMail(ctx, mailJob{purpose: LinkVerifyEmail, userID: u.ID, email: e})
	return nil
}

// checkCurrentPassword checks that password is u's, for ChangePassword and
// ChangeEmail: against the username's login budget, under the hashing
// bound, whose slot it returns held (call release when done hashing, at
// once if nothing more is to be hashed). It returns ErrInvalidCredentials
// for a wrong password.
func (a *Authenticator) checkCurrentPassword(ctx context.Context, u *User, password string) (release func(), err error) {
	if len(password) > a.policy.MaxBytes {
		return nil, ErrInvalidCredentials
	}
	res, err := a.limiter.Reserve(ctx, a.limits.LoginUsername.key("login-username", u.Username, true))
	if err != nil {
		return nil, err
	}
	defer res.Settle(AttemptCancelled) // unless settled below
	release, err = a.hashGate.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if a.hasher.Verify(password, u.PasswordHash) != nil {
		release()
		res.Settle(AttemptFailed)
		return nil, ErrInvalidCredentials
	}
	res.Settle(AttemptSucceeded)
	return release, nil
}

// VerifyEmail spends a verification link's token: the address the link was
// mailed to becomes the account's email, verified. It returns the user, or
// ErrInvalidLink for a token that is unknown, spent, expired, stale or of
// another purpose; ErrEmailExists if another account took the address
// meanwhile; a *RateLimitError when the client address (empty: no limit)
// has spent its Limits.RecoveryAddress budget; or a store error.
func (a *Authenticator) VerifyEmail(ctx context.Context, token, clientAddr string) (*User, error) {
	if err := a.limitAddress(ctx, a.limits.RecoveryAddress, "recovery-address", clientAddr); err != nil {
		return nil, err
	}
	if !validLinkToken(token) {
		return nil, ErrInvalidLink
	}
	u, err := a.store.RedeemLinkToken(ctx, Redemption{Hash: hashSecret(token), Purpose: LinkVerifyEmail, Now: a.timestamp()})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, err
	}
	a.emit(ctx, Event{Type: EventEmailVerified, UserID: u.ID, Username: u.Username, Email: u.Email, ClientAddr: clientAddr})
	return u, nil
}

// RequestPasswordReset mails a password-reset link to the enabled account
// whose email is email, if there is one. It answers the same, at the same
// cost, whether or not there is: nil either way, since looking the account
// up, making the link and sending the mail are all done off the request
// path, by the mail worker (whose events say what became of it). It
// returns ErrInvalidEmail for what is not an address, ErrMailDisabled, or a
// *RateLimitError when the client address has spent its
// Limits.RecoveryAddress budget. At most Limits.MailAccount mails go to one
// account.
func (a *Authenticator) RequestPasswordReset(ctx context.Context, email, clientAddr string) error {
	if len(email) > maxLoginNameBytes {
		return ErrInvalidEmail
	}
	if err := a.limitAddress(ctx, a.limits.RecoveryAddress, "recovery-address", clientAddr); err != nil {
		return err
	}
	if a.mailer == nil {
		return ErrMailDisabled
	}
	e := NormalizeEmail(email)
	if !validEmail(e) {
		return ErrInvalidEmail
	}
	a.queueMail(ctx, mailJob{purpose: LinkResetPassword, email: e, clientAddr: clientAddr})
	return nil
}

// resetAccount finds the account a password-reset job is for, on the
// worker: nil (with an event saying why) if no enabled account has the
// address.
func (a *Authenticator) resetAccount(ctx context.Context, j mailJob) (*User, error) {
	u, err := a.store.UserByEmail(ctx, j.email)
	ev := Event{Type: EventPasswordResetRequested, Email: j.email, ClientAddr: j.clientAddr}
	switch {
	case errors.Is(err, ErrNotFound):
		ev.Reason = "no such account"
		a.emit(ctx, ev)
		return nil, nil
	case err != nil:
		return nil, err
	}
	ev.UserID, ev.Username = u.ID, u.Username
	if u.Disabled {
		ev.Reason = "disabled"
		a.emit(ctx, ev)
		return nil, nil
	}
	a.emit(ctx, ev)
	return u, nil
}

// ResetPassword spends a reset link's token and replaces the account's
// password with newPassword; then every session and access token of the
// account ends, and its email counts as verified (the link proved it). It
// returns ErrInvalidLink for a token that is unknown, spent, expired, stale
// or of another purpose, or made before the password last changed; an error
// wrapping ErrInvalidPassword for a new password that breaks the policy
// (the token is not spent); a *RateLimitError when the client address has
// spent its Limits.RecoveryAddress budget; ErrBusy; or a store error.
func (a *Authenticator) ResetPassword(ctx context.Context, token, newPassword, clientAddr string) error {
	if err := a.limitAddress(ctx, a.limits.RecoveryAddress, "recovery-address", clientAddr); err != nil {
		return err
	}
	if !validLinkToken(token) {
		return ErrInvalidLink
	}
	hash := hashSecret(token)
	now := a.timestamp()
	t, err := a.store.LinkToken(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrInvalidLink
	case err != nil:
		return err
	case t.Purpose != LinkResetPassword || !now.Before(t.ExpiresAt):
		return ErrInvalidLink
	}
	if err := a.policy.Check(newPassword); err != nil {
		return err
	}
	u, err := a.store.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrInvalidLink
	case err != nil:
		return err
	case subtle.ConstantTimeCompare(t.Binding, passwordBinding(u.PasswordHash)) != 1:
		return ErrInvalidLink // the password changed since the link was made
	}
	newHash, err := a.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	u, err = a.store.RedeemLinkToken(ctx, Redemption{
		Hash: hash, Purpose: LinkResetPassword, Now: a.timestamp(),
		OldPasswordHash: u.PasswordHash, NewPasswordHash: newHash,
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict):
		return ErrInvalidLink // spent, or the password changed, meanwhile
	case err != nil:
		return err
	}
	a.emit(ctx, Event{Type: EventPasswordReset, UserID: u.ID, Username: u.Username, ClientAddr: clientAddr})
	return nil
}

// validLinkToken reports whether s has the form of a link token: 43
// characters of base64url, as randomID(32) makes them.
func validLinkToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// passwordBinding is the digest of a password hash that a reset token is
// bound to.
func passwordBinding(passwordHash string) []byte {
	h := sha256.Sum256([]byte("goauthkit reset binding v1\x00" + passwordHash))
	return h[:16]
}

// queueMail hands j to the mail worker; a job that cannot be queued is
// dropped with an event (the request's answer does not change).
func (a *Authenticator) queueMail(ctx context.Context, j mailJob) {
	if err := a.mails.enqueue(j); err != nil {
		a.emit(ctx, Event{Type: EventMailThrottled, UserID: j.userID, Email: j.email, Reason: err.Error()})
	}
}

// runMailJob makes and sends one mail, on the worker: the account's mail
// budget, a fresh link token (which makes the account's earlier ones of the
// same purpose stale), the message, and up to mailAttempts tries to send it.
func (a *Authenticator) runMailJob(ctx context.Context, j mailJob) {
	ev := func(t EventType, reason string) {
		a.emit(ctx, Event{Type: t, UserID: j.userID, Email: j.email, Reason: reason})
	}
	if j.userID == "" { // a password reset, asked for by address
		lctx, cancel := context.WithTimeout(ctx, mailTimeout)
		u, err := a.resetAccount(lctx, j)
		cancel()
		if err != nil {
			ev(EventMailFailed, "account lookup failed: "+short(err))
			return
		}
		if u == nil {
			return
		}
		j.userID = u.ID
	}
	res, err := a.limiter.Reserve(ctx, a.limits.MailAccount.key("mail-account", j.userID, false))
	if _, ok := errors.AsType[*RateLimitError](err); ok {
		ev(EventMailThrottled, "the account's mail budget is spent")
		return
	}
	if err != nil { // a shared limiter that fails: fail closed
		ev(EventMailFailed, "limiter: "+short(err))
		return
	}
	res.Settle(AttemptFailed) // every mail counts
	sctx, cancel := context.WithTimeout(ctx, mailTimeout)
	msg, err := a.makeMail(sctx, j)
	cancel()
	if err != nil {
		ev(EventMailFailed, "not made: "+short(err))
		return
	}
	if msg == nil {
		return // the job is moot: the account went, or its email changed
	}
	for attempt := 0; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, mailTimeout)
		err := a.mailer.Send(sctx, msg)
		cancel()
		if err == nil {
			ev(EventMailSent, "")
			return
		}
		ev(EventMailFailed, fmt.Sprintf("attempt %d of %d: %s", attempt+1, mailAttempts, short(err)))
		if attempt+1 == mailAttempts {
			return
		}
		select {
		case <-time.After(a.mails.delays[attempt]):
		case <-a.mails.closing:
			ev(EventMailFailed, "not retried: shutting down")
			return
		case <-ctx.Done():
			return
		}
	}
}

// makeMail creates the link token of j and renders its message; nil if the
// job no longer applies.
func (a *Authenticator) makeMail(ctx context.Context, j mailJob) (*Message, error) {
	u, err := a.store.UserByID(ctx, j.userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	token := randomID(32)
	now := a.timestamp()
	t := &LinkToken{Hash: hashSecret(token), UserID: u.ID, Purpose: j.purpose, Email: j.email, CreatedAt: now}
	tmpl, def, path, ttl := a.verifyMail, verifyMail, verifyEmailPath, a.verifyTTL
	if j.purpose == LinkResetPassword {
		if u.Email != j.email || u.Disabled {
			return nil, nil
		}
		t.Binding = passwordBinding(u.PasswordHash)
		tmpl, def, path, ttl = a.resetMail, resetMail, resetPasswordPath, a.resetTTL
	}
	t.ExpiresAt = now.Add(ttl)
	if err := a.store.CreateLinkToken(ctx, t); err != nil {
		return nil, err
	}
	return tmpl.render(def, j.email, mailData{
		Link:     a.publicURL + path + "?token=" + token,
		Username: u.Username,
		Email:    j.email,
		Expires:  humanDuration(ttl),
	})
}

// short is err's text on one line, at most 200 bytes: what an event carries
// of a mail failure (a mail server's words, never the mail's body).
func short(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Shutdown stops the mail worker once the mails queued have had their
// attempt (one that fails is not retried), or when ctx ends (then the mail
// in progress is abandoned, and ctx's error returned).
// Flows that would mail afterwards drop their mail. Call it when the service
// stops, after the HTTP server's own Shutdown.
func (a *Authenticator) Shutdown(ctx context.Context) error {
	return a.mails.close(ctx)
}
