package recovery

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/goauthkit/auth"
)

// Link paths, after Config.PublicURL.
const (
	verifyEmailPath   = "/verify-email"
	resetPasswordPath = "/reset-password"
)

// maxEmailBytes bounds an address before any work on it, as the core
// bounds login names: no address is longer than 254 bytes.
const maxEmailBytes = 320

// limitAddress spends one attempt of the client address's budget rate
// under kind, whatever the request's outcome (nothing for an empty addr).
func (r *Recovery) limitAddress(ctx context.Context, rate auth.Rate, kind, addr string) error {
	if addr == "" {
		return nil
	}
	res, err := r.limiter.Reserve(ctx, rate.Key(kind, addr))
	if err != nil {
		return err
	}
	res.Settle(auth.AttemptFailed)
	return nil
}

// limitRecovery spends one attempt of the Limits.Address budget of c's
// address (none when it has none).
func (r *Recovery) limitRecovery(ctx context.Context, c auth.Client) error {
	return r.limitAddress(ctx, r.limits.Address, kindAddress, c.Addr)
}

// RequestEmailVerification mails a new verification link to the user's
// email (which makes earlier links stale). It returns ErrNothingToVerify
// when the account has no email or it is verified already, auth.ErrNotFound
// for an unknown user, a *auth.RateLimitError when c's address has spent
// its Limits.Address budget, or a store error. Past the account's
// Limits.MailAsked budget, or the address's Limits.MailRecipient, nothing
// is sent, and nothing else changes.
func (r *Recovery) RequestEmailVerification(ctx context.Context, c auth.Client, userID string) error {
	if err := r.limitRecovery(ctx, c); err != nil {
		return err
	}
	u, err := r.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.Email == "" || u.EmailVerified {
		return ErrNothingToVerify
	}
	r.a.Emit(ctx, auth.Event{Type: EventEmailVerificationRequested, UserID: u.ID, Username: u.Username, ClientAddr: c.Addr})
	r.queueMail(ctx, mailJob{kind: mailAsked, purpose: LinkVerifyEmail, userID: u.ID, version: u.TokenVersion, email: u.Email, clientAddr: c.Addr})
	return nil
}

// EmailChange is what ChangeEmail needs.
type EmailChange struct {
	UserID   string
	Password string // the user's current password, as typed
	NewEmail string // normalised by ChangeEmail (auth.NormalizeEmail)
	// Client is who asks, for the per-address limits and the events.
	Client auth.Client
}

// ChangeEmail checks the user's password and mails a verification link to
// ec.NewEmail; the account's email becomes that address only when the link
// is used (VerifyEmail), and the account's current address, if any, gets a
// notice. It returns a *auth.RateLimitError when the client's address has
// spent its Limits.Address budget, or when current passwords are being
// guessed (as Login limits them); auth.ErrInvalidCredentials for a wrong
// password; auth.ErrInvalidEmail; auth.ErrEmailExists for an address
// another account has (as its email or its username); or a store error.
// The account's own address, unverified, gets a new verification link;
// verified, nothing.
func (r *Recovery) ChangeEmail(ctx context.Context, ec EmailChange) error {
	if err := r.limitRecovery(ctx, ec.Client); err != nil {
		return err
	}
	if len(ec.NewEmail) > maxEmailBytes {
		return auth.ErrInvalidEmail
	}
	e := auth.NormalizeEmail(ec.NewEmail)
	if err := auth.ValidateEmail(e); err != nil {
		return err
	}
	u, err := r.store.UserByID(ctx, ec.UserID)
	if err != nil {
		return err
	}
	if err := r.a.CheckPassword(ctx, u, ec.Password, ec.Client); err != nil {
		return err
	}
	if e == u.Email && u.EmailVerified {
		return nil
	}
	if err := r.a.EmailFree(ctx, e, u.ID); err != nil {
		return err
	}
	r.a.Emit(ctx, auth.Event{Type: EventEmailChangeRequested, UserID: u.ID, Username: u.Username, Email: e, ClientAddr: ec.Client.Addr})
	r.queueMail(ctx, mailJob{kind: mailAsked, purpose: LinkVerifyEmail, userID: u.ID, version: u.TokenVersion, email: e, clientAddr: ec.Client.Addr})
	if u.Email != "" && u.Email != e {
		r.notify(ctx, u, u.Email, noticeEmailChangeAsked, ec.Client)
	}
	return nil
}

// liveLink reads the link token hash names, and its account, and reports
// ErrInvalidLink unless the link is of purpose, unexpired, and alive (see
// the rules above); the store checks the same again as it spends it.
func (r *Recovery) liveLink(ctx context.Context, hash []byte, purpose LinkPurpose) (*LinkToken, *auth.User, error) {
	t, err := r.links.LinkToken(ctx, hash)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return nil, nil, ErrInvalidLink
	case err != nil:
		return nil, nil, err
	case t.Purpose != purpose || !r.a.Now().Before(t.ExpiresAt):
		return nil, nil, ErrInvalidLink
	}
	u, err := r.store.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, auth.ErrNotFound):
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
// auth.ErrEmailExists if the address has meanwhile become another account's
// email or username (the link stays unspent); a *auth.RateLimitError when c's
// address has spent its Limits.Address budget; or a store error.
func (r *Recovery) VerifyEmail(ctx context.Context, c auth.Client, token string) (*auth.User, error) {
	if err := r.limitRecovery(ctx, c); err != nil {
		return nil, err
	}
	if !validLinkToken(token) {
		return nil, ErrInvalidLink
	}
	hash := hashToken(token)
	t, before, err := r.liveLink(ctx, hash, LinkVerifyEmail)
	if err != nil {
		return nil, err
	}
	if t.Email != before.Email {
		if err := r.a.EmailFree(ctx, t.Email, before.ID); err != nil {
			return nil, err
		}
	}
	u, err := r.links.RedeemLinkToken(ctx, Redemption{Hash: hash, Purpose: LinkVerifyEmail, Now: r.a.Now()})
	if errors.Is(err, auth.ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, err
	}
	r.a.Emit(ctx, auth.Event{Type: EventEmailVerified, UserID: u.ID, Username: u.Username, Email: u.Email, ClientAddr: c.Addr})
	if before.Email != "" && before.Email != u.Email {
		r.notify(ctx, u, before.Email, noticeEmailChanged, c)
	}
	return u, nil
}

// RequestPasswordReset mails a password-reset link to the enabled account
// whose email is email, if there is one. It answers the same, at the same
// cost, whether or not there is: nil either way, since looking the account
// up, making the link and sending the mail are all done off the request
// path, by the mail workers (whose events say what became of it). It
// returns auth.ErrInvalidEmail for what is not an address, or a
// *auth.RateLimitError when c's address has spent its Limits.Address
// budget. Past the account's Limits.MailForgot budget, or the address's
// Limits.MailRecipient, nothing is sent.
func (r *Recovery) RequestPasswordReset(ctx context.Context, c auth.Client, email string) error {
	if len(email) > maxEmailBytes {
		return auth.ErrInvalidEmail
	}
	if err := r.limitRecovery(ctx, c); err != nil {
		return err
	}
	e := auth.NormalizeEmail(email)
	if err := auth.ValidateEmail(e); err != nil {
		return err
	}
	r.queueMail(ctx, mailJob{kind: mailForgot, purpose: LinkResetPassword, version: -1, email: e, clientAddr: c.Addr})
	return nil
}

// ResetMail is what SendPasswordReset needs: the account, and who asks.
type ResetMail struct {
	UserID string
	// Actor names who asks, for the event (auth.Event.Actor): an
	// administrator's user id, or a tool and who runs it.
	Actor string
	// Client is where the request comes from, for the event.
	Client auth.Client
}

// SendPasswordReset mails the account m.UserID a password-reset link, as
// RequestPasswordReset would for its address, for an administrator who
// asks for it (recoveryhttp's POST /admin/users/{id}/password-reset): an
// account made without a password gets one so. The mail counts in the
// account's budget of mails asked for (Limits.MailAsked), not in
// Limits.MailForgot, and in Limits.MailRecipient; past either nothing is
// sent, and nothing else changes. The request does not count in
// Limits.Address. A disabled account is mailed nothing (its links would
// not work); the event (EventPasswordResetRequested, naming m.Actor) says
// so. It returns ErrNoEmail for an account without an email,
// auth.ErrNotFound for an unknown one, or a store error.
func (r *Recovery) SendPasswordReset(ctx context.Context, m ResetMail) error {
	u, err := r.store.UserByID(ctx, m.UserID)
	if err != nil {
		return err
	}
	if u.Email == "" {
		return ErrNoEmail
	}
	ev := auth.Event{Type: EventPasswordResetRequested, UserID: u.ID, Username: u.Username, Email: u.Email, Actor: m.Actor, ClientAddr: m.Client.Addr}
	if u.Disabled {
		ev.Reason = "disabled"
		r.a.Emit(ctx, ev)
		return nil
	}
	r.a.Emit(ctx, ev)
	r.queueMail(ctx, mailJob{kind: mailAsked, purpose: LinkResetPassword, userID: u.ID, version: u.TokenVersion, email: u.Email, clientAddr: m.Client.Addr})
	return nil
}

// resetAccount finds the account a password-reset job is for, on a worker:
// nil (with an event saying why) if no enabled account has the address.
func (r *Recovery) resetAccount(ctx context.Context, j mailJob) (*auth.User, error) {
	u, err := r.store.UserByEmail(ctx, j.email)
	ev := auth.Event{Type: EventPasswordResetRequested, Email: j.email, ClientAddr: j.clientAddr}
	switch {
	case errors.Is(err, auth.ErrNotFound):
		ev.Reason = "no such account"
		r.a.Emit(ctx, ev)
		return nil, nil
	case err != nil:
		return nil, err
	}
	ev.UserID, ev.Username = u.ID, u.Username
	if u.Disabled {
		ev.Reason = "disabled"
		r.a.Emit(ctx, ev)
		return nil, nil
	}
	r.a.Emit(ctx, ev)
	return u, nil
}

// PasswordReset is what ResetPassword needs: the token of a reset link and
// the new password, named so that they cannot be swapped unnoticed.
type PasswordReset struct {
	Token       string // as the link carried it
	NewPassword string // checked against the auth.PasswordPolicy, hashed as given
	// Client is who resets: limited by its address, which becomes
	// familiar to the account.
	Client auth.Client
}

// ResetPassword spends a reset link's token and replaces the account's
// password with the new one; then every session and access token of the
// account ends, every other link of it dies, its email counts as verified
// (the link proved it), the address gets a notice, and the client's address
// becomes familiar to the account (see auth.Limits.LoginUser): the owner
// who proved the address is not kept out by strangers' guesses. It returns
// ErrInvalidLink for a token that is unknown, spent, expired, stale, dead
// (see the package doc) or of another purpose; an error wrapping
// auth.ErrInvalidPassword for a new password that breaks the policy (the
// token is not spent); a *auth.RateLimitError when the client's address
// has spent its Limits.Address budget; auth.ErrBusy; or a store error.
func (r *Recovery) ResetPassword(ctx context.Context, pr PasswordReset) error {
	if err := r.limitRecovery(ctx, pr.Client); err != nil {
		return err
	}
	if !validLinkToken(pr.Token) {
		return ErrInvalidLink
	}
	hash := hashToken(pr.Token)
	if _, _, err := r.liveLink(ctx, hash, LinkResetPassword); err != nil {
		return err
	}
	newHash, err := r.a.HashPassword(ctx, pr.NewPassword)
	if err != nil {
		return err
	}
	u, err := r.links.RedeemLinkToken(ctx, Redemption{Hash: hash, Purpose: LinkResetPassword, Now: r.a.Now(), NewPasswordHash: newHash})
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return ErrInvalidLink // spent, or dead, meanwhile
	case err != nil:
		return err
	}
	r.a.Emit(ctx, auth.Event{Type: EventPasswordReset, UserID: u.ID, Username: u.Username, ClientAddr: pr.Client.Addr})
	r.a.RememberClient(ctx, u.ID, pr.Client)
	r.notify(ctx, u, u.Email, noticePasswordReset, pr.Client)
	return nil
}

// newLinkToken returns a new link token: 32 random bytes, 43 characters
// of base64url.
func newLinkToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+ crashes instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is the SHA-256 of a link token: what the store keeps. The token
// has 256 bits of entropy, so a fast hash suffices.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// validLinkToken reports whether s has the form of a link token: 43
// characters of base64url, as newLinkToken makes them.
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

// queueMail hands j to the mail workers; a job that cannot be queued is
// dropped with an event (the request's answer does not change).
func (r *Recovery) queueMail(ctx context.Context, j mailJob) {
	if err := r.mails.enqueue(j); err != nil {
		r.mailEvent(ctx, j, EventMailThrottled, err.Error())
	}
}

// notify mails u a notice to the address to (nothing without an
// address), for what c did.
func (r *Recovery) notify(ctx context.Context, u *auth.User, to string, n notice, c auth.Client) {
	if to == "" {
		return
	}
	r.queueMail(ctx, mailJob{kind: mailNotice, notice: n, userID: u.ID, email: to, clientAddr: c.Addr})
}

// mailEvent emits an event of type t about job j.
func (r *Recovery) mailEvent(ctx context.Context, j mailJob, t auth.EventType, reason string) {
	r.a.Emit(ctx, auth.Event{Type: t, UserID: j.userID, Email: j.email, Reason: reason, ClientAddr: j.clientAddr,
		Warning: t == EventMailFailed || t == EventMailThrottled})
}

// runMailJob makes the mail of j, if it is not made yet, and tries to send
// it, on a worker. A send that fails for a while is tried again later (see
// mailQueue); one the server refuses for good is not.
func (r *Recovery) runMailJob(ctx context.Context, j mailJob) {
	if j.msg == nil {
		msg, err := r.makeMail(ctx, &j)
		if err != nil {
			r.mailEvent(ctx, j, EventMailFailed, "not made: "+short(err, j.email))
			return
		}
		if msg == nil {
			return // the job is moot, or its budget spent (with an event)
		}
		j.msg = msg
	}
	sctx, cancel := context.WithTimeout(ctx, mailTimeout)
	err := r.mailer.Send(sctx, j.msg)
	cancel()
	if err == nil {
		r.mailEvent(ctx, j, EventMailSent, "")
		return
	}
	j.attempt++
	reason := fmt.Sprintf("attempt %d of %d: %s", j.attempt, mailAttempts, short(err, j.email))
	switch {
	case errors.Is(err, ErrMailRefused):
		r.mailEvent(ctx, j, EventMailFailed, "refused, not retried: "+short(err, j.email))
	case j.attempt == mailAttempts:
		r.mailEvent(ctx, j, EventMailFailed, reason)
	default:
		r.mailEvent(ctx, j, EventMailFailed, reason)
		if err := r.mails.later(j, r.mails.delays[j.attempt-1]); err != nil {
			r.mailEvent(ctx, j, EventMailFailed, "not retried: shutting down")
		}
	}
}

// makeMail makes the message of j: for a link, after finding the account
// (a reset's, by address), checking that the job still applies and spending
// its budgets, with a fresh link token (which makes the account's earlier
// ones of the same purpose stale). It returns nil, nil when nothing is to be
// sent (with an event where that is news).
func (r *Recovery) makeMail(ctx context.Context, j *mailJob) (*Message, error) {
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	if j.kind == mailNotice {
		return r.renderNotice(ctx, j)
	}
	var u *auth.User
	var err error
	if j.userID == "" { // a password reset, asked for by address
		if u, err = r.resetAccount(ctx, *j); err != nil || u == nil {
			return nil, err
		}
		j.userID = u.ID
	} else if u, err = r.store.UserByID(ctx, j.userID); errors.Is(err, auth.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if u.Disabled || (j.version >= 0 && u.TokenVersion != j.version) || (j.purpose == LinkResetPassword && u.Email != j.email) {
		return nil, nil // moot: the account's credentials changed since
	}
	kind := r.limits.MailAsked.Key(kindMailAsked, u.ID)
	if j.kind == mailForgot {
		kind = r.limits.MailForgot.Key(kindMailForgot, u.ID)
	}
	res, err := r.limiter.Reserve(ctx, kind, r.limits.MailRecipient.Key(kindMailRecipient, j.email))
	if rl := (*auth.RateLimitError)(nil); errors.As(err, &rl) {
		r.mailEvent(ctx, *j, EventMailThrottled, "the mail budget of the account or the address is spent")
		return nil, nil
	}
	if err != nil { // a shared limiter that fails: fail closed
		return nil, fmt.Errorf("limiter: %w", err)
	}
	res.Settle(auth.AttemptFailed) // every mail counts
	token := newLinkToken()
	now := r.a.Now()
	t := &LinkToken{Hash: hashToken(token), UserID: u.ID, Purpose: j.purpose, Email: j.email, UserVersion: u.TokenVersion, CreatedAt: now}
	lib := libraryTemplates()
	tmpl, def, path, ttl := r.verifyMail, lib.verify, verifyEmailPath, r.verifyTTL
	if j.purpose == LinkResetPassword {
		tmpl, def, path, ttl = r.resetMail, lib.reset, resetPasswordPath, r.resetTTL
	}
	t.ExpiresAt = now.Add(ttl)
	if err := r.links.CreateLinkToken(ctx, t); errors.Is(err, auth.ErrNotFound) {
		return nil, nil // the account went meanwhile
	} else if err != nil {
		return nil, err
	}
	return tmpl.render(def, j.email, mailData{
		Link:     r.publicURL + path + "?token=" + token,
		Username: u.Username,
		Email:    j.email,
		Expires:  humanDuration(ttl),
	})
}

// renderNotice makes the notice mail of j.
func (r *Recovery) renderNotice(ctx context.Context, j *mailJob) (*Message, error) {
	u, err := r.store.UserByID(ctx, j.userID)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	text := noticeTexts[j.notice]
	return r.noticeMail.render(libraryTemplates().notice, j.email, mailData{Username: u.Username, Email: j.email, Title: text.title, Notice: text.body})
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
