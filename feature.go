package auth

import (
	"context"
	"errors"
	"time"
)

// What a feature package (account recovery, a second factor, a way of
// signing in) uses of the core besides SignIn: the Store it was given, the
// limiter and the clock, the password checks with their limits and their
// bound on hashing, and the events (and, in account.go, DeleteUser). A
// feature uses these and nothing else of the Authenticator's, so that the
// core never imports a feature.

// Store returns the Config.Store: a feature checks that it implements the
// feature's own store capability (see ErrMissingCapability), and reads
// users through it.
func (a *Authenticator) Store() Store { return a.store }

// Limiter returns the limiter of Config.Limiter (the in-memory one by
// default), for a feature's own budgets: see Rate.Key.
func (a *Authenticator) Limiter() Limiter { return a.limiter }

// Now returns the time by Config.Now, in UTC at microsecond precision (what
// every store keeps): a feature's records use the Authenticator's clock.
func (a *Authenticator) Now() time.Time { return a.timestamp() }

// Key returns the budget of r for values (a user id, a client address, a
// recipient) under kind, which names what is limited and why. A feature's
// kinds start with its package name ("recovery-address"), so that its
// budgets are never another's.
func (r Rate) Key(kind string, values ...string) LimitKey {
	return r.key(false, kind, values...)
}

// LimitSignIn reserves an attempt of a way of signing in that is not a
// password (a passkey) from the client address's budget of failed
// sign-ins, Limits.LoginAddress, which password checks draw on too: so a
// failed passkey login counts as a wrong password does, and an address
// that has spent the budget on either is refused both. Settle the
// reservation with the outcome. It returns a *RateLimitError when the
// budget is spent, ErrBusy when ctx ends while waiting for attempts in
// flight, or a limiter error; for a client without an address, a
// Reservation that counts nothing.
func (a *Authenticator) LimitSignIn(ctx context.Context, c Client) (Reservation, error) {
	if c.Addr == "" {
		return reservations{}, nil
	}
	return a.limiter.Reserve(ctx, a.limits.LoginAddress.key(false, kindLoginAddress, c.Addr))
}

// Emit sends e to Config.OnEvent and to the features' subscribers
// (Subscribe), with its Time set: a feature's events reach the same audit
// log, metrics and subscribers as the core's. It must not carry a
// password, a hash, a secret or a whole token.
func (a *Authenticator) Emit(ctx context.Context, e Event) { a.emit(ctx, e) }

// Subscribe calls f, synchronously, after Config.OnEvent, for every event
// from then on: how a feature acts on what the core does (package recovery
// mails a new account's verification link on EventRegistered). f must not
// block. Subscribe is safe for concurrent use, but a feature subscribes
// when it is made, before the service serves.
func (a *Authenticator) Subscribe(f func(ctx context.Context, e Event)) {
	for {
		old := a.listeners.Load()
		var next []func(context.Context, Event)
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, f)
		if a.listeners.CompareAndSwap(old, &next) {
			return
		}
	}
}

// CheckPassword checks that password is u's, as a feature that asks for the
// current password to confirm a change does (package recovery's email
// change): limited as a login's password is, by c's address too, under
// Config.Passwords.MaxConcurrentHashes. It returns ErrInvalidCredentials
// for a wrong password, a *RateLimitError when u's passwords are being
// guessed, ErrBusy, or a limiter error.
func (a *Authenticator) CheckPassword(ctx context.Context, u *User, password string, c Client) error {
	release, err := a.checkCurrentPassword(ctx, u, password, c)
	if err != nil {
		return err
	}
	release()
	return nil
}

// HashPassword checks a new password against Config.Passwords.Policy and
// Config.Passwords.Breached and hashes it with the Hasher, under
// Config.Passwords.MaxConcurrentHashes: what a feature that sets a
// password (package recovery's reset) stores. It returns an error
// wrapping ErrInvalidPassword for a password that breaks the policy or
// was found in a breach (ErrPasswordBreached), ErrStoreUnavailable when
// the breach check fails, or ErrBusy.
func (a *Authenticator) HashPassword(ctx context.Context, password string) (string, error) {
	if err := a.policy.Check(password); err != nil {
		return "", err
	}
	if err := a.checkBreached(ctx, password); err != nil {
		return "", err
	}
	return a.hash(ctx, password)
}

// RememberClient makes c's address familiar to the account userID for
// Limits.FamiliarFor, as a sign-in does (see Limits.LoginUser): what a
// feature that proves the account's owner otherwise (a password reset by
// a mailed link) does, so that strangers' guesses do not keep the owner
// out. A limiter that fails is ignored: familiarity only eases limits.
func (a *Authenticator) RememberClient(ctx context.Context, userID string, c Client) {
	a.rememberClient(ctx, &User{ID: userID}, c.Addr, "")
}

// ValidateEmail reports whether normalized (see NormalizeEmail) is an
// address the library accepts for an account: ErrInvalidEmail if not (see
// its answer in package authhttp for the rules).
func ValidateEmail(normalized string) error {
	if len(normalized) > maxLoginNameBytes || !validEmail(normalized) {
		return ErrInvalidEmail
	}
	return nil
}

// checkCurrentPassword checks that password is u's, for ChangePassword and
// CheckPassword, limited as a login is (by c's address too), under the
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
	if !a.verifyHash(password, u.PasswordHash) {
		release()
		res.Settle(AttemptFailed)
		return nil, ErrInvalidCredentials
	}
	res.Settle(AttemptSucceeded)
	return release, nil
}

// verifyHash reports whether password matches stored, a user's password
// hash. An empty hash (an account without a password, see
// NewUser.NoPassword) never matches, nor does one the Hasher cannot read
// (ErrUnsupportedHash: malformed, of an unknown algorithm, or beyond its
// cost limits); each costs what a wrong password costs (the dummy hash is
// verified instead), so that neither can be told from a wrong password.
func (a *Authenticator) verifyHash(password, stored string) bool {
	if stored == "" {
		_ = a.hasher.Verify(password, a.dummyHash)
		return false
	}
	err := a.hasher.Verify(password, stored)
	if errors.Is(err, ErrUnsupportedHash) {
		_ = a.hasher.Verify(password, a.dummyHash)
	}
	return err == nil
}

// EmailFree returns ErrEmailExists if the normalised address e is the
// email, or the username, of an account other than self (empty for none):
// a login name is never ambiguous. A feature that gives an account an
// address (package recovery's email change) checks it first; the store's
// constraints still decide races.
func (a *Authenticator) EmailFree(ctx context.Context, e, self string) error {
	return a.emailTaken(ctx, e, self)
}

// emailTaken is EmailFree.
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
