package oidc

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
)

// fedMethods are the amr of a sign-in through a provider.
var fedMethods = []string{auth.MethodFederated}

// record is the identitystore.Identity of id for userID.
func (o *OIDC) record(p *provider, userID string, id *identity) *identitystore.Identity {
	email := auth.NormalizeEmail(id.Email)
	if len(email) > identitystore.MaxEmailBytes || auth.ValidateEmail(email) != nil {
		email = ""
	}
	return &identitystore.Identity{UserID: userID, Provider: p.Name, Issuer: id.Issuer, Subject: id.Subject,
		Email: email, LinkedAt: o.a.Now()}
}

// link links the provider account id to the user userID, whose
// TokenVersion was version when the link began: one whose logins were
// ended since (a password change, a logout everywhere, the account taken
// back by the owner of its email) is refused.
func (o *OIDC) link(ctx context.Context, p *provider, userID string, version int64, id *identity, c auth.Client) (*Result, error) {
	u, err := o.a.Store().UserByID(ctx, userID)
	if err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			o.emit(ctx, EventRefused, nil, c, "attempt")
			return nil, ErrInvalidAttempt // the user is gone
		}
		return nil, err
	}
	if u.Disabled {
		o.emit(ctx, EventRefused, u, c, "disabled")
		return nil, auth.ErrUserDisabled
	}
	if u.TokenVersion != version {
		o.emit(ctx, EventRefused, u, c, "attempt")
		return nil, ErrInvalidAttempt
	}
	if err := o.store.LinkIdentity(ctx, o.record(p, u.ID, id)); err != nil {
		if !errors.Is(err, auth.ErrConflict) {
			return nil, err
		}
		if other, err := o.store.Identity(ctx, id.Issuer, id.Subject); err == nil && other.UserID != u.ID {
			o.emit(ctx, EventRefused, u, c, "linked_elsewhere")
			return nil, ErrLinkedElsewhere
		}
		o.emit(ctx, EventRefused, u, c, "already_linked")
		return nil, ErrAlreadyLinked
	}
	o.emit(ctx, EventLinked, u, c, p.Name)
	return &Result{User: u, Linked: true}, nil
}

// signIn finds or makes the account of the provider account id (see the
// package doc) and signs it in.
func (o *OIDC) signIn(ctx context.Context, p *provider, id *identity, cb Callback) (*Result, error) {
	users := o.a.Store()
	var u *auth.User
	how := "linked"
	linked, err := o.store.Identity(ctx, id.Issuer, id.Subject)
	switch {
	case err == nil:
		if u, err = users.UserByID(ctx, linked.UserID); err != nil {
			return nil, err
		}
	case !errors.Is(err, auth.ErrNotFound):
		return nil, err
	default:
		if u, how, err = o.account(ctx, p, id, cb.Client); err != nil {
			return nil, err
		}
	}
	if u.Disabled {
		o.emit(ctx, EventRefused, u, cb.Client, "disabled")
		return nil, auth.ErrUserDisabled
	}
	pair, err := o.a.SignIn(ctx, auth.Verified{User: u, Methods: fedMethods, Client: cb.Client, Device: cb.Device})
	if err != nil {
		return nil, err // a second factor's challenge among them
	}
	o.emit(ctx, EventSignIn, u, cb.Client, how)
	return &Result{User: u, Pair: pair}, nil
}

// account finds the account of a provider account that no account is
// linked to, by its verified email, or makes one; how says which
// ("linked", "reclaimed", "created").
func (o *OIDC) account(ctx context.Context, p *provider, id *identity, c auth.Client) (u *auth.User, how string, err error) {
	users := o.a.Store()
	email := auth.NormalizeEmail(id.Email)
	if id.EmailVerified && email != "" && auth.ValidateEmail(email) == nil {
		u, err = users.UserByEmail(ctx, email)
		switch {
		case err == nil && u.Disabled:
			// Neither linked nor taken back: a disabled account stays as
			// its administrator left it.
			return u, "linked", nil
		case err == nil && u.EmailVerified:
			if err := o.store.LinkIdentity(ctx, o.record(p, u.ID, id)); err != nil {
				return nil, "", o.raced(err)
			}
			o.emit(ctx, EventLinked, u, c, p.Name)
			return u, "linked", nil
		case err == nil:
			// The address was registered, never proven: its owner, whom
			// the provider vouches for, takes the account back.
			if err := o.store.ReclaimAccount(ctx, u.ID, u.Email, o.record(p, u.ID, id), o.a.Now()); err != nil {
				return nil, "", o.raced(err)
			}
			o.emit(ctx, EventLinked, u, c, p.Name)
			if u, err = users.UserByID(ctx, u.ID); err != nil {
				return nil, "", err
			}
			return u, "reclaimed", nil
		case !errors.Is(err, auth.ErrNotFound):
			return nil, "", err
		}
	} else {
		email = ""
	}
	u, err = o.create(ctx, p, id, email, c)
	if err != nil {
		return nil, "", err
	}
	return u, "created", nil
}

// raced is the error of a link that lost a race (the provider account
// linked meanwhile, the email changed): the attempt is spent, the user
// begins again.
func (o *OIDC) raced(err error) error {
	if errors.Is(err, auth.ErrConflict) {
		return ErrInvalidAttempt
	}
	return err
}

// candidates are the names a new account tries, in order:
// preferred_username when valid, then the base (usernameFrom), then the
// base with a suffix 2 to 10, then with random ones.
func candidates(id *identity, email string) []string {
	var out []string
	if pref := auth.NormalizeUsername(id.Username); len(id.Username) <= 320 && auth.ValidateUsername(pref) == nil {
		out = append(out, pref)
	}
	base := usernameFrom(id, email)
	out = append(out, base)
	for i := 2; i <= 10; i++ {
		out = append(out, base+strconv.Itoa(i))
	}
	for range 10 {
		n, _ := strconv.ParseUint(randomDigits(), 10, 64)
		out = append(out, base+"-"+strconv.FormatUint(n, 10))
	}
	return out
}

// randomDigits returns 6 random decimal digits.
func randomDigits() string {
	b := []byte(randomString(8))
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b[:6])
}

// create makes an account without a password for the provider account
// id, linked to it: named from preferred_username when that is a valid,
// free username, else from the email's local part made valid, else
// "user", made unique by a suffix; with email (verified by the provider)
// when no account has it.
func (o *OIDC) create(ctx context.Context, p *provider, id *identity, email string, c auth.Client) (*auth.User, error) {
	if email != "" {
		if err := o.a.EmailFree(ctx, email, ""); err != nil {
			email = ""
		}
	}
	var lastErr error
	for _, name := range candidates(id, email) {
		rec := o.record(p, "", id)
		u, err := o.a.Register(ctx, auth.NewUser{Username: name, Email: email, EmailVerified: true, NoPassword: true, Client: c,
			Create: func(ctx context.Context, u *auth.User) error {
				rec.UserID = u.ID
				return o.store.CreateUserWithIdentity(ctx, u, rec)
			}})
		if errors.Is(err, auth.ErrEmailExists) && email != "" {
			// Taken meanwhile: the account goes without.
			email = ""
			u, err = o.a.Register(ctx, auth.NewUser{Username: name, NoPassword: true, Client: c,
				Create: func(ctx context.Context, u *auth.User) error {
					rec.UserID = u.ID
					return o.store.CreateUserWithIdentity(ctx, u, rec)
				}})
		}
		switch {
		case err == nil:
			o.emit(ctx, EventLinked, u, c, p.Name)
			return u, nil
		case errors.Is(err, auth.ErrUserExists), errors.Is(err, auth.ErrInvalidUsername), errors.Is(err, auth.ErrEmailExists):
			lastErr = err
		case errors.Is(err, auth.ErrConflict):
			return nil, ErrInvalidAttempt // the provider account linked meanwhile
		default:
			return nil, err
		}
	}
	return nil, lastErr
}

// usernameFrom is the base of a new account's name: the email's local
// part made valid (lower case, other characters dropped, 3 to 32 of
// them), or "user".
func usernameFrom(id *identity, email string) string {
	local := email
	if local == "" {
		local = auth.NormalizeEmail(id.Email)
	}
	if i := strings.IndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(local) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
		if b.Len() == 32 {
			break
		}
	}
	if name := b.String(); len(name) >= 3 && auth.ValidateUsername(name) == nil {
		return name
	}
	return "user"
}
