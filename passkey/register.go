package passkey

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/goauthkit/auth"
)

// BeginRegistration begins the registration of a passkey for u, a user
// signed in: its options ask for a discoverable credential with user
// verification and no attestation, and exclude the passkeys u has. It
// returns ErrTooMany when u has Config.MaxPerUser passkeys, and a
// *auth.RateLimitError when c's address has begun too many ceremonies
// (Config.CeremonyAddress).
func (p *Passkeys) BeginRegistration(ctx context.Context, u *auth.User, c auth.Client) (*Begun, error) {
	if err := p.limitBegin(ctx, c); err != nil {
		return nil, err
	}
	handle, err := p.store.UserHandle(ctx, u.ID, randomBytes(32))
	if err != nil {
		return nil, err
	}
	have, err := p.store.Credentials(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(have) >= p.max {
		return nil, ErrTooMany
	}
	opts, session, err := p.creationOptions(&user{handle: handle, name: u.Username}, have)
	if err != nil {
		return nil, err
	}
	token, err := p.begin(ctx, kindRegistration, u.ID, &state{Session: *session})
	if err != nil {
		return nil, err
	}
	return &Begun{Ceremony: token, Options: opts}, nil
}

// Registration is the finish of a registration.
type Registration struct {
	// User is who registers: the user the ceremony was begun for.
	User *auth.User
	// Ceremony is BeginRegistration's Begun.Ceremony.
	Ceremony string
	// Credential is the browser's PublicKeyCredential as its toJSON
	// writes it.
	Credential []byte
	// Name is what the user calls the passkey; empty for a name the
	// package chooses ("Passkey 2").
	Name   string
	Client auth.Client
}

// FinishRegistration verifies the credential of a registration and adds
// it to the user's passkeys. It returns ErrInvalidName for a Name that is
// not 1 to 64 characters; ErrInvalidCeremony for a ceremony that is
// unknown, spent, expired, of another kind or of another user;
// ErrInvalidCredential for a credential that fails verification or whose
// id is registered already (to anyone); ErrTooMany.
func (p *Passkeys) FinishRegistration(ctx context.Context, r Registration) (*Passkey, error) {
	if r.User == nil {
		return nil, errors.New("passkey: Registration.User is required")
	}
	if r.Name != "" {
		if err := checkName(r.Name); err != nil {
			return nil, err
		}
	}
	st, err := p.take(ctx, r.Ceremony, kindRegistration, r.User.ID)
	if err != nil {
		if errors.Is(err, ErrInvalidCeremony) {
			p.emit(ctx, EventRefused, r.User.ID, r.User.Username, r.Client, "ceremony")
		}
		return nil, err
	}
	wc, err := p.verifyCreation(st, r.Credential)
	if err != nil {
		p.emit(ctx, EventRefused, r.User.ID, r.User.Username, r.Client, "verification")
		return nil, err
	}
	have, err := p.store.Credentials(ctx, r.User.ID)
	if err != nil {
		return nil, err
	}
	if len(have) >= p.max {
		return nil, ErrTooMany
	}
	name := r.Name
	if name == "" {
		name = "Passkey " + strconv.Itoa(len(have)+1)
	}
	c := stored(wc, r.User.ID, name, p.a.Now())
	if err := p.store.AddCredential(ctx, c); err != nil {
		if errors.Is(err, auth.ErrConflict) {
			p.emit(ctx, EventRefused, r.User.ID, r.User.Username, r.Client, "registered")
			return nil, fmt.Errorf("%w: the credential is registered already", ErrInvalidCredential)
		}
		return nil, err
	}
	p.emit(ctx, EventAdded, r.User.ID, r.User.Username, r.Client, "")
	v := view(c)
	return &v, nil
}
