package auth

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Ways of signing in, by the names RFC 8176 gives them (the values of an
// access token's amr claim).
const (
	// MethodPassword is a password checked against the stored hash.
	MethodPassword = "pwd"
	// MethodOTP is a one-time code: an authenticator app's (TOTP) or a
	// recovery code.
	MethodOTP = "otp"
	// MethodMFA says the login used more than one factor: a second factor
	// after the password, or a passkey (which is both).
	// RequireSecondFactor is how a route asks for it.
	MethodMFA = "mfa"
	// MethodPossession is the proof of possession of a key: a passkey.
	MethodPossession = "pop"
	// MethodFederated is a sign-in through another identity provider.
	MethodFederated = "fed"
)

// passwordMethods are a password login's Verified.Methods: one slice for
// every login, never modified (signIn gives the event a copy).
var passwordMethods = []string{MethodPassword}

// Verified is a user whom a way of signing in has verified, and how: what
// the sign-in seam, Authenticator.SignIn, turns into a login.
type Verified struct {
	User *User
	// Methods are how the user was verified, in the order they were used
	// (MethodPassword, and what later features add): at least one.
	Methods []string
	// Client is who signs in: the session keeps its user agent (and its
	// address with Config.Sessions.RecordAddress), and its address becomes
	// familiar to the account (see Limits.LoginUser).
	Client Client
	// Device is the browser's device value, if it has one (see
	// Credentials.Device).
	Device string
}

// errNoMethod is SignIn's refusal of a Verified without a user or a method.
var errNoMethod = errors.New("auth: Verified needs a User and at least one of its Methods")

// SignIn is the seam where every way of signing in ends: it turns a user
// that a sign-in method has verified into a login. Login ends here after
// the password, and so does any feature package that signs users in some
// other way; nothing else opens a session. It refuses a disabled user
// (ErrUserDisabled), makes the client familiar to the account, opens a
// refresh session (ending the least recently used ones past
// Config.Sessions.Max), issues its first token pair, and records how the
// login was made in EventLoginSucceeded (Event.Methods).
//
// A feature that adds a way of signing in verifies the user by its own
// means, with its own limits, then calls SignIn with the methods it used.
// It must never call SignIn for a user it has not verified: SignIn checks
// nothing of the method, only the account, which it reads again from the
// store (v.User may have been read before the account was disabled or
// logged out everywhere).
func (a *Authenticator) SignIn(ctx context.Context, v Verified) (*TokenPair, error) {
	if v.User == nil {
		return nil, errNoMethod
	}
	u, err := a.store.UserByID(ctx, v.User.ID)
	if err != nil {
		return nil, err
	}
	v.User = u
	return a.signIn(ctx, v, 0)
}

// signIn is SignIn for a user just read from the store; wait is how long
// the method waited for a hashing slot, for the event.
func (a *Authenticator) signIn(ctx context.Context, v Verified, wait time.Duration) (*TokenPair, error) {
	u := v.User
	if u == nil || len(v.Methods) == 0 || slices.Contains(v.Methods, "") {
		return nil, errNoMethod
	}
	if u.Disabled {
		return nil, ErrUserDisabled
	}
	if is := a.interceptors.Load(); is != nil {
		for _, f := range *is {
			if err := f(ctx, v); err != nil {
				return nil, err
			}
		}
	}
	a.rememberClient(ctx, u, v.Client.Addr, v.Device)
	pair, sid, err := a.openSession(ctx, u, v.Client, slices.Clone(v.Methods))
	if err != nil {
		return nil, err
	}
	a.emit(ctx, Event{Type: EventLoginSucceeded, UserID: u.ID, Username: u.Username, ClientAddr: v.Client.Addr,
		SessionID: sid, HashWait: wait, Methods: slices.Clone(v.Methods)})
	return pair, nil
}

// Intercept makes f part of every sign-in: SignIn (and Login, after the
// password) calls f, once it has found the account enabled and before it
// does anything else, and returns f's error, if any, instead of opening a
// session. It is how a second factor interposes (package mfa): for a
// user who has one, and a Verified whose Methods lack MethodMFA, f makes
// a challenge and returns it as its error; the factor's package calls
// SignIn again, with the methods it added, once the challenge is met. A
// client is made familiar to the account (see Limits.LoginUser) only by a
// sign-in that f lets through.
//
// f must not open a session itself, and should return quickly (it runs on
// every sign-in). Intercept is safe for concurrent use, but a feature
// intercepts when it is made, before the service serves.
func (a *Authenticator) Intercept(f func(ctx context.Context, v Verified) error) {
	for {
		old := a.interceptors.Load()
		var next []func(context.Context, Verified) error
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, f)
		if a.interceptors.CompareAndSwap(old, &next) {
			return
		}
	}
}

// EndOtherLogins ends every login of the user but the session keep (a
// Claims.SessionID): their refresh tokens, and at once their access
// tokens. The login keep goes on. It is what a user's change of how the
// account signs in does to the devices that signed in the old way (package
// mfa, when a second factor is turned on).
//
// Access tokens made without a session (IssueAccessToken) and the tokens
// of Config.Tokens.LegacyUntil live on to their expiry: only LogoutAll ends
// them early.
func (a *Authenticator) EndOtherLogins(ctx context.Context, userID, keep string) error {
	ss, err := a.store.SessionsByUser(ctx, userID, a.timestamp())
	if err != nil {
		return err
	}
	for _, s := range ss {
		if s.ID == keep {
			continue
		}
		if err := a.store.RevokeSession(ctx, s.ID); err != nil {
			return err
		}
	}
	return nil
}

// recentLogin is how recent a login must be (its auth_time) to stand in
// for the password of an account that has none: DeleteAccount's, and a
// feature's management calls (ConfirmOwner).
const recentLogin = 5 * time.Minute

// ConfirmOwner checks that the caller, whose access token's claims are c,
// is the owner of account u at this moment, before a change that needs
// more than a token: by password if the account has one (checked and
// limited as CheckPassword checks it: ErrInvalidCredentials, a
// *RateLimitError), or else by a recent login, one made less than 5
// minutes ago (c.AuthTime): ErrRecentLoginRequired if it is older, or
// unknown. DeleteAccount confirms this way; so does a feature's change to
// how the account signs in (package mfa).
func (a *Authenticator) ConfirmOwner(ctx context.Context, u *User, password string, c *Claims, client Client) error {
	if u.PasswordHash != "" {
		return a.CheckPassword(ctx, u, password, client)
	}
	if c == nil || c.AuthTime.IsZero() || c.Subject != u.ID || a.now().Sub(c.AuthTime) >= recentLogin {
		return ErrRecentLoginRequired
	}
	return nil
}
