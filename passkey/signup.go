package passkey

import (
	"context"
	"errors"
	"fmt"

	"github.com/goauthkit/auth"
)

// Signup is who signs up with a passkey: an account without a password.
type Signup struct {
	Username string
	// Email is optional.
	Email string
	// Client is who asks: sign-ups draw on its address's budget
	// (auth.Limits.SignupAddress), at BeginSignup.
	Client auth.Client
}

// BeginSignup begins a sign-up with a passkey: it checks the username and
// email as auth.Authenticator.Register does (auth.Authenticator.
// CheckNewUser, with its errors and its limit), creates nothing yet, and
// returns the options of a registration for the account to be.
func (p *Passkeys) BeginSignup(ctx context.Context, s Signup) (*Begun, error) {
	if err := p.a.CheckNewUser(ctx, auth.NewUser{Username: s.Username, Email: s.Email, NoPassword: true, Client: s.Client}); err != nil {
		return nil, err
	}
	handle := randomBytes(32)
	opts, session, err := p.creationOptions(&user{handle: handle, name: auth.NormalizeUsername(s.Username)}, nil)
	if err != nil {
		return nil, err
	}
	token, err := p.begin(ctx, kindSignup, "", &state{Session: *session, Username: s.Username, Email: s.Email, Handle: handle})
	if err != nil {
		return nil, err
	}
	return &Begun{Ceremony: token, Options: opts}, nil
}

// SignupFinish is the finish of a sign-up with a passkey.
type SignupFinish struct {
	// Ceremony is BeginSignup's Begun.Ceremony.
	Ceremony string
	// Credential is the browser's PublicKeyCredential as its toJSON
	// writes it.
	Credential []byte
	Client     auth.Client
	// Device is the browser's device value, if it has one.
	Device string
}

// FinishSignup verifies the credential of a sign-up, creates the account
// with the passkey as its only way in (no password: its password logins
// never succeed, until a password reset gives it one), in one store
// transaction, and signs it in as a passkey login does. It returns
// ErrInvalidCeremony; ErrInvalidCredential; auth.ErrUserExists or
// auth.ErrEmailExists when the name or email was taken since BeginSignup.
func (p *Passkeys) FinishSignup(ctx context.Context, s SignupFinish) (*auth.User, *auth.TokenPair, error) {
	st, err := p.take(ctx, s.Ceremony, kindSignup, "")
	if err != nil {
		if errors.Is(err, ErrInvalidCeremony) {
			p.emit(ctx, EventRefused, "", "", s.Client, "ceremony")
		}
		return nil, nil, err
	}
	wc, err := p.verifyCreation(st, s.Credential)
	if err != nil {
		p.emit(ctx, EventRefused, "", "", s.Client, "verification")
		return nil, nil, err
	}
	errRegistered := fmt.Errorf("%w: the credential is registered already", ErrInvalidCredential)
	if _, err := p.store.Credential(ctx, wc.ID); err == nil {
		p.emit(ctx, EventRefused, "", "", s.Client, "registered")
		return nil, nil, errRegistered
	} else if !errors.Is(err, auth.ErrNotFound) {
		return nil, nil, err
	}
	c := stored(wc, "", "Passkey 1", p.a.Now())
	u, err := p.a.Register(ctx, auth.NewUser{Username: st.Username, Email: st.Email, NoPassword: true, Client: s.Client,
		Create: func(ctx context.Context, u *auth.User) error {
			c.UserID = u.ID
			if err := p.store.CreateUserWithCredential(ctx, u, st.Handle, c); err != nil {
				if errors.Is(err, auth.ErrConflict) {
					return errRegistered
				}
				return err
			}
			return nil
		}})
	if err != nil {
		if errors.Is(err, ErrInvalidCredential) {
			p.emit(ctx, EventRefused, "", "", s.Client, "registered")
		}
		return nil, nil, err
	}
	p.emit(ctx, EventAdded, u.ID, u.Username, s.Client, "")
	pair, err := p.a.SignIn(ctx, auth.Verified{User: u, Methods: passkeyMethods, Client: s.Client, Device: s.Device})
	if err != nil {
		return nil, nil, err
	}
	p.emit(ctx, EventUsed, u.ID, u.Username, s.Client, "")
	return u, pair, nil
}
