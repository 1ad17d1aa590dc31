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
	a.rememberClient(ctx, u, v.Client.Addr, v.Device)
	pair, sid, err := a.openSession(ctx, u, v.Client)
	if err != nil {
		return nil, err
	}
	a.emit(ctx, Event{Type: EventLoginSucceeded, UserID: u.ID, Username: u.Username, ClientAddr: v.Client.Addr,
		SessionID: sid, HashWait: wait, Methods: slices.Clone(v.Methods)})
	return pair, nil
}
