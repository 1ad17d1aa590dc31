package oidc

import (
	"context"
	"errors"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
)

// Identities returns the provider accounts linked to the user, the oldest
// first.
func (o *OIDC) Identities(ctx context.Context, userID string) ([]identitystore.Identity, error) {
	return o.store.Identities(ctx, userID)
}

// Unlink unlinks the user's provider account at the provider name. It
// returns auth.ErrNotFound if the user has none there (or there is no such
// provider), and ErrLastCredential if it is the user's last way to sign in
// (no password, no passkey, no other identity; the check and the unlink
// are one step of the store).
func (o *OIDC) Unlink(ctx context.Context, u *auth.User, name string, c auth.Client) error {
	if len(name) == 0 || len(name) > identitystore.MaxProviderBytes {
		return auth.ErrNotFound
	}
	err := o.store.UnlinkIdentity(ctx, u.ID, name, u.PasswordHash == "")
	if errors.Is(err, auth.ErrConflict) {
		return ErrLastCredential
	}
	if err != nil {
		return err
	}
	o.emit(ctx, EventUnlinked, u, c, name)
	return nil
}
