package passkey

import (
	"context"
	"errors"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// List returns the user's WebAuthn user handle (what a page gives the
// Signal API's signalAllAcceptedCredentials) and passkeys, the oldest
// first. A user without a handle gets one.
func (p *Passkeys) List(ctx context.Context, userID string) (handle []byte, keys []Passkey, err error) {
	if handle, err = p.store.UserHandle(ctx, userID, randomBytes(32)); err != nil {
		return nil, nil, err
	}
	cs, err := p.store.Credentials(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	keys = make([]Passkey, len(cs))
	for i := range cs {
		keys[i] = view(&cs[i])
	}
	return handle, keys, nil
}

// Count returns how many passkeys the user has.
func (p *Passkeys) Count(ctx context.Context, userID string) (int, error) {
	cs, err := p.store.Credentials(ctx, userID)
	return len(cs), err
}

// Rename names the user's passkey id. It returns ErrInvalidName, or
// auth.ErrNotFound if the user has no passkey id (another user's
// included).
func (p *Passkeys) Rename(ctx context.Context, u *auth.User, id []byte, name string, c auth.Client) (*Passkey, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if len(id) == 0 || len(id) > passkeystore.MaxCredentialIDBytes {
		return nil, auth.ErrNotFound
	}
	sc, err := p.store.RenameCredential(ctx, u.ID, id, name)
	if err != nil {
		return nil, err
	}
	p.emit(ctx, EventRenamed, u.ID, u.Username, c, "")
	v := view(sc)
	return &v, nil
}

// Remove removes the user's passkey id. It returns auth.ErrNotFound if the
// user has no passkey id (another user's included), and
// ErrLastCredential if it is the user's last way to sign in: the account
// has no password, no other passkey and no linked provider account (when
// the store keeps them: identitystore). (The check and the removal are
// one step of the store: two removals at once of an account's last two
// ways in leave one.)
func (p *Passkeys) Remove(ctx context.Context, u *auth.User, id []byte, c auth.Client) error {
	if len(id) == 0 || len(id) > passkeystore.MaxCredentialIDBytes {
		return auth.ErrNotFound
	}
	err := p.store.DeleteCredential(ctx, u.ID, id, u.PasswordHash == "")
	if errors.Is(err, auth.ErrConflict) {
		return ErrLastCredential
	}
	if err != nil {
		return err
	}
	p.emit(ctx, EventRemoved, u.ID, u.Username, c, "")
	return nil
}
