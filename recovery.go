package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The account-recovery and email-verification flows. Every link the
// library mails carries a token of 32 random bytes (43 characters of
// A-Z a-z 0-9 - _), kept by the store only as its SHA-256, bound to one
// purpose, single-use, expiring, and made stale by a newer link of the same
// purpose for the same account.
//
// A link also dies with the credentials it was sent for: it records the
// account's TokenVersion when it was made, and works only while that is
// still the account's, which every password change or reset, every ending
// of all the account's logins (LogoutAll, an administrator's) and every
// disabling increments; completing an email change deletes every other
// link of the account; a reset link works only while the account's email
// is the address it was mailed to; a disabled account's links never work.
// The store checks all of it in the operation that spends the link
// (LinkStore.RedeemLinkToken), so that no change racing a redemption can
// slip between the check and the spending.
//
// Mails are made (token included) and sent off the request path. When an
// email change is asked for and when it completes, and when the password
// is changed or reset, the account's address (the old one, for a change)
// gets a notice with no link: whoever could have been locked out of the
// account hears of it.

// Link paths, after Config.Mail.PublicURL.
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
	res, err := a.limiter.Reserve(ctx, r.key(false, kind, addr))
	if err != nil {
		return err
	}
	res.Settle(AttemptFailed)
	return nil
}

// limitRecovery spends one attempt of the Limits.RecoveryAddress budget of
// c's address (none when it has none).
func (a *Authenticator) limitRecovery(ctx context.Context, c Client) error {
	return a.limitAddress(ctx, a.limits.RecoveryAddress, kindRecoveryAddress, c.Addr)
}

// RequestEmailVerification mails a new verification link to the user's
// email (which makes earlier links stale). It returns ErrNothingToVerify
// when the account has no email or it is verified already, ErrMailDisabled
// without a Mailer, ErrNotFound for an unknown user, a *RateLimitError when
// c's address has spent its Limits.RecoveryAddress budget, or a store
// error. Past the account's Limits.MailAsked budget, or the address's
// Limits.MailRecipient, nothing is sent, and nothing else changes.
func (a *Authenticator) RequestEmailVerification(ctx context.Context, c Client, userID string) error {
	if a.mailer == nil {
		return ErrMailDisabled
	}
	if err := a.limitRecovery(ctx, c); err != nil {
		return err
	}
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.Email == "" || u.EmailVerified {
		return ErrNothingToVerify
	}
	a.emit(ctx, Event{Type: EventEmailVerificationRequested, UserID: u.ID, Username: u.Username, ClientAddr: c.Addr})
	a.queueMail(ctx, mailJob{kind: mailAsked, purpose: LinkVerifyEmail, userID: u.ID, version: u.TokenVersion, email: u.Email, clientAddr: c.Addr})
	return nil
}

// EmailChange is what ChangeEmail needs.
type EmailChange struct {
	UserID   string
	Password string // the user's current password, as typed
	NewEmail string // normalised by ChangeEmail (NormalizeEmail)
	// Client is who asks, for the per-address limits and the events.
	Client Client
}

// ChangeEmail checks the user's password and mails a verification link to
// ec.NewEmail; the account's email becomes that address only when the link
// is used (VerifyEmail), and the account's current address, if any, gets a
// notice. It returns a *RateLimitError when the client's address has spent
// its Limits.RecoveryAddress budget, or when current passwords are being
// guessed (as Login limits them);
// ErrInvalidCredentials for a wrong password; ErrInvalidEmail;
// ErrEmailExists for an address another account has (as its email or its
// username); ErrMailDisabled; or a store error. The account's own address,
// unverified, gets a new verification link; verified, nothing.
func (a *Authenticator) ChangeEmail(ctx context.Context, ec EmailChange) error {
	if a.mailer == nil {
		return ErrMailDisabled
	}
	if err := a.limitRecovery(ctx, ec.Client); err != nil {
		return err
	}
	if len(ec.NewEmail) > maxLoginNameBytes {
		return ErrInvalidEmail
	}
	e := NormalizeEmail(ec.NewEmail)
	if !validEmail(e) {
		return ErrInvalidEmail
	}
	u, err := a.store.UserByID(ctx, ec.UserID)
	if err != nil {
		return err
	}
	release, err := a.checkCurrentPassword(ctx, u, ec.Password, ec.Client)
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
	a.emit(ctx, Event{Type: EventEmailChangeRequested, UserID: u.ID, Username: u.Username, Email: e, ClientAddr: ec.Client.Addr})
	a.queueMail(ctx, mailJob{kind: mailAsked, purpose: LinkVerifyEmail, userID: u.ID, version: u.TokenVersion, email: e, clientAddr: ec.Client.Addr})
	if u.Email != "" && u.Email != e {
		a.notify(ctx, u, u.Email, noticeEmailChangeAsked, ec.Client)
	}
	return nil
}

// checkCurrentPassword checks that password is u's, for ChangePassword and
// ChangeEmail, limited as a login is (by c's address too), under the
// hashing bound, whose slot it returns held (call release when done
// hashing, at once if nothing more is to be hashed). It returns
// ErrInvalidCredentials for a wrong password.
func (a *Authenticator) checkCurrentPassword(ctx context.Context, u *User, password string, c Client) (release func(), err error) {
	if len(password) > a.policy.MaxBytes {
		return nil, ErrInvalidCredentials
	}
	g := guess{name: u.Username, addr: c.Addr}
	first, err := a.limitGuess(ctx, g)
	if err != nil {
		a.throttled(ctx, g, err)
		return nil, err
	}
	defer first.Settle(AttemptCancelled) // unless settled below
	more, err := a.limitAccount(ctx, g, u)
	if err != nil {
		a.throttled(ctx, g, err)
		return nil, err
	}
	defer more.Settle(AttemptCancelled)
	res := reservations{first, more}
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

// liveLink reads the link token hash names, and its account, and reports
// ErrInvalidLink unless the link is of purpose, unexpired, and alive (see
// the rules above); the store checks the same again as it spends it.
func (a *Authenticator) liveLink(ctx context.Context, hash []byte, purpose LinkPurpose) (*LinkToken, *User, error) {
	if a.links == nil {
		return nil, nil, ErrInvalidLink // a Store without links has none to spend
	}
	t, err := a.links.LinkToken(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil, ErrInvalidLink
	case err != nil:
		return nil, nil, err
	case t.Purpose != purpose || !a.timestamp().Before(t.ExpiresAt):
		return nil, nil, ErrInvalidLink
	}
	u, err := a.store.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil, ErrInvalidLink
	case err != nil:
		return nil, nil, err
	case u.Disabled, u.TokenVersion != t.UserVersion, purpose == LinkResetPassword && u.Email != t.Email:
		return nil, nil, ErrInvalidLink
	}
	return t, u, nil
}

// VerifyEmail spends a verification link's token: the address the link was
// mailed to becomes the account's email, verified, and every other link of
// the account dies; when that changed the account's address, the old one
// gets a notice. It returns the user, or ErrInvalidLink for a token that is
// unknown, spent, expired, stale, dead (see above) or of another purpose;
// ErrEmailExists if the address has meanwhile become another account's
// email or username (the link stays unspent); a *RateLimitError when c's
// address has spent its Limits.RecoveryAddress budget; or a store error.
func (a *Authenticator) VerifyEmail(ctx context.Context, c Client, token string) (*User, error) {
	if err := a.limitRecovery(ctx, c); err != nil {
		return nil, err
	}
	if !validLinkToken(token) {
		return nil, ErrInvalidLink
	}
	hash := hashSecret(token)
	t, before, err := a.liveLink(ctx, hash, LinkVerifyEmail)
	if err != nil {
		return nil, err
	}
	if t.Email != before.Email {
		if err := a.emailTaken(ctx, t.Email, before.ID); err != nil {
			return nil, err
		}
	}
	u, err := a.links.RedeemLinkToken(ctx, Redemption{Hash: hash, Purpose: LinkVerifyEmail, Now: a.timestamp()})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, err
	}
	a.emit(ctx, Event{Type: EventEmailVerified, UserID: u.ID, Username: u.Username, Email: u.Email, ClientAddr: c.Addr})
	if before.Email != "" && before.Email != u.Email {
		a.notify(ctx, u, before.Email, noticeEmailChanged, c)
	}
	return u, nil
}

// RequestPasswordReset mails a password-reset link to the enabled account
// whose email is email, if there is one. It answers the same, at the same
// cost, whether or not there is: nil either way, since looking the account
// up, making the link and sending the mail are all done off the request
// path, by the mail workers (whose events say what became of it). It
// returns ErrInvalidEmail for what is not an address, ErrMailDisabled, or a
// *RateLimitError when c's address has spent its Limits.RecoveryAddress
// budget. Past the account's Limits.MailForgot budget, or the address's
// Limits.MailRecipient, nothing is sent.
func (a *Authenticator) RequestPasswordReset(ctx context.Context, c Client, email string) error {
	if len(email) > maxLoginNameBytes {
		return ErrInvalidEmail
	}
	if err := a.limitRecovery(ctx, c); err != nil {
		return err
	}
	if a.mailer == nil {
		return ErrMailDisabled
	}
	e := NormalizeEmail(email)
	if !validEmail(e) {
		return ErrInvalidEmail
	}
	a.queueMail(ctx, mailJob{kind: mailForgot, purpose: LinkResetPassword, version: -1, email: e, clientAddr: c.Addr})
	return nil
}

// resetAccount finds the account a password-reset job is for, on a worker:
// nil (with an event saying why) if no enabled account has the address.
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

// PasswordReset is what ResetPassword needs: the token of a reset link and
// the new password, named so that they cannot be swapped unnoticed.
type PasswordReset struct {
	Token       string // as the link carried it
	NewPassword string // checked against the PasswordPolicy, hashed as given
	// Client is who resets: limited by its address, which becomes
	// familiar to the account.
	Client Client
}

// ResetPassword spends a reset link's token and replaces the account's
// password with the new one; then every session and access token of the
// account ends, every other link of it dies, its email counts as verified
// (the link proved it), the address gets a notice, and the client's address
// becomes familiar to the account (see Limits.LoginUser): the owner who
// proved the address is not kept out by strangers' guesses. It returns
// ErrInvalidLink for a token that is unknown, spent, expired, stale, dead
// (see above) or of another purpose; an error wrapping ErrInvalidPassword
// for a new password that breaks the policy (the token is not spent); a
// *RateLimitError when the client's address has spent its
// Limits.RecoveryAddress budget; ErrBusy; or a store error.
func (a *Authenticator) ResetPassword(ctx context.Context, r PasswordReset) error {
	if err := a.limitRecovery(ctx, r.Client); err != nil {
		return err
	}
	if !validLinkToken(r.Token) {
		return ErrInvalidLink
	}
	hash := hashSecret(r.Token)
	if _, _, err := a.liveLink(ctx, hash, LinkResetPassword); err != nil {
		return err
	}
	if err := a.policy.Check(r.NewPassword); err != nil {
		return err
	}
	newHash, err := a.hash(ctx, r.NewPassword)
	if err != nil {
		return err
	}
	u, err := a.links.RedeemLinkToken(ctx, Redemption{Hash: hash, Purpose: LinkResetPassword, Now: a.timestamp(), NewPasswordHash: newHash})
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrInvalidLink // spent, or dead, meanwhile
	case err != nil:
		return err
	}
	a.emit(ctx, Event{Type: EventPasswordReset, UserID: u.ID, Username: u.Username, ClientAddr: r.Client.Addr})
	a.rememberClient(ctx, u, r.Client.Addr, "")
	a.notify(ctx, u, u.Email, noticePasswordReset, r.Client)
	return nil
}

// validLinkToken reports whether s has the form of a link token: 43
// characters of base64url, as randomID(32) makes them.
func validLinkToken(s string) bool {
	return len(s) == 43 && isBase64URL(s)
}

// queueMail hands j to the mail workers; a job that cannot be queued is
// dropped with an event (the request's answer does not change).
func (a *Authenticator) queueMail(ctx context.Context, j mailJob) {
	if err := a.mails.enqueue(j); err != nil {
		a.mailEvent(ctx, j, EventMailThrottled, err.Error())
	}
}

// notify mails u a notice to the address to (nothing without a Mailer or
// an address), for what c did.
func (a *Authenticator) notify(ctx context.Context, u *User, to string, n notice, c Client) {
	if a.mailer == nil || to == "" {
		return
	}
	a.queueMail(ctx, mailJob{kind: mailNotice, notice: n, userID: u.ID, email: to, clientAddr: c.Addr})
}

// mailEvent emits an event of type t about job j.
func (a *Authenticator) mailEvent(ctx context.Context, j mailJob, t EventType, reason string) {
	a.emit(ctx, Event{Type: t, UserID: j.userID, Email: j.email, Reason: reason, ClientAddr: j.clientAddr})
}

// runMailJob makes the mail of j, if it is not made yet, and tries to send
// it, on a worker. A send that fails for a while is tried again later (see
// mailQueue); one the server refuses for good is not.
func (a *Authenticator) runMailJob(ctx context.Context, j mailJob) {
	if j.msg == nil {
		msg, err := a.makeMail(ctx, &j)
		if err != nil {
			a.mailEvent(ctx, j, EventMailFailed, "not made: "+short(err, j.email))
			return
		}
		if msg == nil {
			return // the job is moot, or its budget spent (with an event)
		}
		j.msg = msg
	}
	sctx, cancel := context.WithTimeout(ctx, mailTimeout)
	err := a.mailer.Send(sctx, j.msg)
	cancel()
	if err == nil {
		a.mailEvent(ctx, j, EventMailSent, "")
		return
	}
	j.attempt++
	reason := fmt.Sprintf("attempt %d of %d: %s", j.attempt, mailAttempts, short(err, j.email))
	switch {
	case errors.Is(err, ErrMailRefused):
		a.mailEvent(ctx, j, EventMailFailed, "refused, not retried: "+short(err, j.email))
	case j.attempt == mailAttempts:
		a.mailEvent(ctx, j, EventMailFailed, reason)
	default:
		a.mailEvent(ctx, j, EventMailFailed, reason)
		if err := a.mails.later(j, a.mails.delays[j.attempt-1]); err != nil {
			a.mailEvent(ctx, j, EventMailFailed, "not retried: shutting down")
		}
	}
}

// makeMail makes the message of j: for a link, after finding the account
// (a reset's, by address), checking that the job still applies and spending
// its budgets, with a fresh link token (which makes the account's earlier
// ones of the same purpose stale). It returns nil, nil when nothing is to be
// sent (with an event where that is news).
func (a *Authenticator) makeMail(ctx context.Context, j *mailJob) (*Message, error) {
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	if j.kind == mailNotice {
		return a.renderNotice(ctx, j)
	}
	var u *User
	var err error
	if j.userID == "" { // a password reset, asked for by address
		if u, err = a.resetAccount(ctx, *j); err != nil || u == nil {
			return nil, err
		}
		j.userID = u.ID
	} else if u, err = a.store.UserByID(ctx, j.userID); errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if u.Disabled || (j.version >= 0 && u.TokenVersion != j.version) || (j.purpose == LinkResetPassword && u.Email != j.email) {
		return nil, nil // moot: the account's credentials changed since
	}
	kind := a.limits.MailAsked.key(false, kindMailAsked, u.ID)
	if j.kind == mailForgot {
		kind = a.limits.MailForgot.key(false, kindMailForgot, u.ID)
	}
	res, err := a.limiter.Reserve(ctx, kind, a.limits.MailRecipient.key(false, kindMailRecipient, j.email))
	if rl := (*RateLimitError)(nil); errors.As(err, &rl) {
		a.mailEvent(ctx, *j, EventMailThrottled, "the mail budget of the account or the address is spent")
		return nil, nil
	}
	if err != nil { // a shared limiter that fails: fail closed
		return nil, fmt.Errorf("limiter: %w", err)
	}
	res.Settle(AttemptFailed) // every mail counts
	token := randomID(32)
	now := a.timestamp()
	t := &LinkToken{Hash: hashSecret(token), UserID: u.ID, Purpose: j.purpose, Email: j.email, UserVersion: u.TokenVersion, CreatedAt: now}
	tmpl, def, path, ttl := a.verifyMail, verifyMail, verifyEmailPath, a.verifyTTL
	if j.purpose == LinkResetPassword {
		tmpl, def, path, ttl = a.resetMail, resetMail, resetPasswordPath, a.resetTTL
	}
	t.ExpiresAt = now.Add(ttl)
	if err := a.links.CreateLinkToken(ctx, t); errors.Is(err, ErrNotFound) { // a Mailer implies links
		return nil, nil // the account went meanwhile
	} else if err != nil {
		return nil, err
	}
	return tmpl.render(def, j.email, mailData{
		Link:     a.publicURL + path + "?token=" + token,
		Username: u.Username,
		Email:    j.email,
		Expires:  humanDuration(ttl),
	})
}

// renderNotice makes the notice mail of j.
func (a *Authenticator) renderNotice(ctx context.Context, j *mailJob) (*Message, error) {
	u, err := a.store.UserByID(ctx, j.userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	text := noticeTexts[j.notice]
	return a.noticeMail.render(noticeMail, j.email, mailData{Username: u.Username, Email: j.email, Title: text.title, Notice: text.body})
}

// short is err's text on one line, at most 200 bytes, with every word
// that holds an '@' (an email address, as mail servers quote the
// recipient in their replies) and the recipient's address itself replaced
// by "<address>": what an event carries of a mail failure (a mail
// server's words, never the mail's body nor an address).
func short(err error, recipient string) string {
	words := strings.Fields(err.Error())
	for i, w := range words {
		if strings.Contains(w, "@") || recipient != "" && strings.Contains(strings.ToLower(w), recipient) {
			words[i] = "<address>"
		}
	}
	s := strings.Join(words, " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Shutdown stops the mail workers once the mails queued have had their
// attempt (one that fails is not tried again, nor are those waiting to be
// tried again), or when ctx ends (then the mails in progress are abandoned,
// and ctx's error returned). Flows that would mail afterwards drop their
// mail. Call it when the service stops, after the HTTP server's own
// Shutdown.
func (a *Authenticator) Shutdown(ctx context.Context) error {
	return a.mails.close(ctx)
}
