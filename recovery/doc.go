// Package recovery is account recovery by mail for an auth.Authenticator:
// email verification, password reset (asked for by address, or for an
// account by an administrator: SendPasswordReset), email change, and
// notices of changes to an account. A service that does not mail its users
// neither imports nor configures it.
//
// It is a feature on the core's seam (see package auth): it keeps its
// links in a store capability of its own (LinkStore, which store/memory,
// store/sqlite and store/postgres implement, and New checks), draws on the
// Authenticator's limiter and clock, checks and hashes passwords with the
// Authenticator's limits and hashing bound (Authenticator.CheckPassword,
// HashPassword), and acts on the core's events (Authenticator.Subscribe):
// a new account's address gets a verification link (EventRegistered), a
// changed password a notice (EventPasswordChanged). Its HTTP endpoints and
// the pages its links open are package recovery/recoveryhttp.
//
// Every link it mails carries a token of 32 random bytes (43 characters of
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
// Mails are made (token included) and sent off the request path, by a few
// workers that Shutdown stops: a password reset asked for an address
// answers the same, at the same cost, whether or not an account has it.
// When an email change is asked for and when it completes, and when the
// password is changed or reset, the account's address (the old one, for a
// change) gets a notice with no link: whoever could have been locked out
// of the account hears of it.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/goauthkit/auth"
)

// Errors of the flows.
var (
	// ErrInvalidLink is returned for a mailed link's token that is unknown,
	// spent, expired, made stale by a newer link or a password change, or
	// of another purpose.
	ErrInvalidLink = errors.New("recovery: invalid or expired link")
	// ErrNothingToVerify is returned by RequestEmailVerification for an
	// account without an email, or whose email is verified already.
	ErrNothingToVerify = errors.New("recovery: no unverified email")
	// ErrNoEmail is returned by SendPasswordReset for an account without
	// an email address: there is nowhere to mail a link.
	ErrNoEmail = errors.New("recovery: the account has no email address")
	// ErrMailRefused is wrapped by a Mailer's error when the mail server
	// refused the mail for good (an SMTP 5xx reply: no such mailbox, a
	// policy): the mail is then not tried again.
	ErrMailRefused = errors.New("recovery: mail refused")
)

// Events of the flows, emitted through the Authenticator (auth.Config's
// OnEvent and its subscribers), with the auth.Event fields they concern.
const (
	EventEmailVerificationRequested auth.EventType = "email_verification_requested"
	EventEmailChangeRequested       auth.EventType = "email_change_requested"
	EventEmailVerified              auth.EventType = "email_verified"
	EventPasswordResetRequested     auth.EventType = "password_reset_requested"
	EventPasswordReset              auth.EventType = "password_reset"
	// EventMailSent and EventMailFailed report each attempt to send a mail
	// (Reason says why one failed); EventMailThrottled a mail not sent
	// because its budget was spent, or the queue was full. The last two
	// are Warnings.
	EventMailSent      auth.EventType = "mail_sent"
	EventMailFailed    auth.EventType = "mail_failed"
	EventMailThrottled auth.EventType = "mail_throttled"
)

// Config configures account recovery. Zero fields take the documented
// defaults; New rejects unsafe values with an error naming the field.
type Config struct {
	// Mailer sends the mails (see package mail). Required.
	Mailer Mailer
	// PublicURL is the origin (and path prefix, if any) that mailed links
	// start with: PublicURL+"/verify-email?token=..." and
	// PublicURL+"/reset-password?token=...", the pages of
	// recoveryhttp. Required: an absolute http or https URL without user,
	// query or fragment.
	PublicURL string
	// VerifyTTL is how long an email-verification link works. Default 48
	// hours; at most 30 days.
	VerifyTTL time.Duration
	// ResetTTL is how long a password-reset link works. Default 1 hour; at
	// most 1 day.
	ResetTTL time.Duration
	// VerifyMail and ResetMail make the mails of links, NoticeMail the
	// notices (of a password changed or reset, an email change asked for
	// or made); zero fields take the library's templates.
	VerifyMail, ResetMail, NoticeMail MailTemplate
	// Limits are the budgets of the flows, in the Authenticator's limiter.
	Limits Limits
}

// Limits are the budgets of account recovery, drawn on the
// Authenticator's limiter (so shared between instances when it is). Zero
// fields take the defaults; invalid ones are refused by New.
type Limits struct {
	// Address bounds the requests from one client address
	// (RequestPasswordReset, RequestEmailVerification, ChangeEmail,
	// VerifyEmail, ResetPassword), whether or not they succeed. Default 20,
	// then one per 6 seconds.
	Address auth.Rate
	// MailAsked bounds the mails a user asks for, per account: the
	// verification mail of a signup, a resent one, an email change's.
	// Past it nothing is sent and the answer is unchanged. Default 3, then
	// one per 20 minutes (3 an hour).
	MailAsked auth.Rate
	// MailForgot bounds the password-reset mails, per account, which
	// anyone who knows the address can cause: a budget apart from
	// MailAsked, so that a stranger's requests never spend the user's own.
	// Default 3, then one per 20 minutes.
	MailForgot auth.Rate
	// MailRecipient bounds the mails sent to one address, whatever the
	// accounts and the kind (notices aside). Default 5, then one per 12
	// minutes (5 an hour).
	MailRecipient auth.Rate
}

// Kinds of budget (auth.Rate.Key).
const (
	kindAddress       = "recovery-address"
	kindMailAsked     = "recovery-mail-asked"
	kindMailForgot    = "recovery-mail-forgot"
	kindMailRecipient = "recovery-mail-recipient"
)

// withDefaults returns l with its zero fields set, or an error naming the
// first invalid one.
func (l Limits) withDefaults() (Limits, error) {
	for _, f := range []struct {
		name     string
		rate     *auth.Rate
		burst    int
		interval time.Duration
	}{
		{"Address", &l.Address, 20, 6 * time.Second},
		{"MailAsked", &l.MailAsked, 3, 20 * time.Minute},
		{"MailForgot", &l.MailForgot, 3, 20 * time.Minute},
		{"MailRecipient", &l.MailRecipient, 5, 12 * time.Minute},
	} {
		if f.rate.Burst == 0 {
			f.rate.Burst = f.burst
		}
		if f.rate.Interval == 0 {
			f.rate.Interval = f.interval
		}
		if f.rate.Burst < 0 || f.rate.Interval < 0 {
			return l, fmt.Errorf("recovery: Config.Limits.%s must have a positive Burst and Interval", f.name)
		}
	}
	return l, nil
}

// Recovery runs the account-recovery flows of one Authenticator. It is safe
// for concurrent use.
type Recovery struct {
	a       *auth.Authenticator
	store   auth.Store
	links   LinkStore
	limiter auth.Limiter
	limits  Limits
	mailer  Mailer
	mails   *mailQueue

	publicURL                         string
	verifyTTL, resetTTL               time.Duration
	verifyMail, resetMail, noticeMail MailTemplate
}

// New returns the account recovery of a, configured by c, or an error
// naming the first field that is missing or unsafe; one that matches
// auth.ErrMissingCapability if a's Store is not a LinkStore. It subscribes
// to a's events, so make one Recovery per Authenticator, before serving.
func New(a *auth.Authenticator, c Config) (*Recovery, error) {
	if a == nil {
		return nil, errors.New("recovery: New needs an Authenticator")
	}
	links, ok := a.Store().(LinkStore)
	if !ok {
		return nil, errNoLinkStore
	}
	if c.Mailer == nil {
		return nil, errors.New("recovery: Config.Mailer is required")
	}
	// A link is PublicURL and a path: no '?' or '#', not even a bare one
	// (url.Parse then reports no query or fragment), before it, nor a space
	// that would cut it in a mail's text.
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		strings.ContainsAny(c.PublicURL, "?# \t\r\n\v\f") {
		return nil, errors.New("recovery: Config.PublicURL must be an absolute http or https URL without user, query or fragment")
	}
	switch {
	case c.VerifyTTL < 0 || c.VerifyTTL > 30*24*time.Hour:
		return nil, errors.New("recovery: Config.VerifyTTL must be positive and at most 720h")
	case c.VerifyTTL == 0:
		c.VerifyTTL = 48 * time.Hour
	}
	switch {
	case c.ResetTTL < 0 || c.ResetTTL > 24*time.Hour:
		return nil, errors.New("recovery: Config.ResetTTL must be positive and at most 24h")
	case c.ResetTTL == 0:
		c.ResetTTL = time.Hour
	}
	limits, err := c.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Recovery{
		a: a, store: a.Store(), links: links, limiter: a.Limiter(), limits: limits, mailer: c.Mailer,
		publicURL: strings.TrimSuffix(c.PublicURL, "/"), verifyTTL: c.VerifyTTL, resetTTL: c.ResetTTL,
		verifyMail: c.VerifyMail, resetMail: c.ResetMail, noticeMail: c.NoticeMail,
	}
	r.mails = newMailQueue(r)
	a.Subscribe(r.onEvent)
	return r, nil
}

// errNoLinkStore is New's refusal of a Store that keeps no links.
var errNoLinkStore error = missingLinkStore{}

// missingLinkStore is errNoLinkStore's type: its own words, and
// errors.Is(err, auth.ErrMissingCapability).
type missingLinkStore struct{}

func (missingLinkStore) Error() string {
	return "recovery: New needs a Store that implements recovery.LinkStore (mailed links)"
}

func (missingLinkStore) Unwrap() error { return auth.ErrMissingCapability }

// onEvent acts on the core's events: a new account's address gets a
// verification link, a changed password a notice.
func (r *Recovery) onEvent(ctx context.Context, e auth.Event) {
	switch {
	case e.Type == auth.EventRegistered && e.Email != "":
		r.a.Emit(ctx, auth.Event{Type: EventEmailVerificationRequested, UserID: e.UserID, Username: e.Username, Email: e.Email, ClientAddr: e.ClientAddr})
		r.queueMail(ctx, mailJob{kind: mailAsked, purpose: LinkVerifyEmail, userID: e.UserID, version: -1, email: e.Email, clientAddr: e.ClientAddr})
	case e.Type == auth.EventPasswordChanged && e.Email != "":
		r.queueMail(ctx, mailJob{kind: mailNotice, notice: noticePasswordChanged, userID: e.UserID, email: e.Email, clientAddr: e.ClientAddr})
	}
}

// Shutdown stops the mail workers once the mails queued have had their
// attempt (one that fails is not tried again, nor are those waiting to be
// tried again), or when ctx ends (then the mails in progress are abandoned,
// and ctx's error returned). Flows that would mail afterwards drop their
// mail. Call it when the service stops, after the HTTP server's own
// Shutdown.
func (r *Recovery) Shutdown(ctx context.Context) error {
	return r.mails.close(ctx)
}
