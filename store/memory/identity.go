package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
	"github.com/goauthkit/auth/store/storable"
)

// The linked identities and the attempts (identitystore.Store). Every
// method holds the store's lock throughout, so each check with its change
// (a provider account linked once, the last way in kept, an attempt taken
// once, an account reclaimed once) is atomic; values are copied in and
// out.

// identityKey is the key of the provider account (issuer, subject) in
// Store.identities: neither holds a NUL.
func identityKey(issuer, subject string) string {
	return issuer + "\x00" + subject
}

// copyAttempt returns a copy of a that shares no memory with it.
func copyAttempt(a *identitystore.Attempt) *identitystore.Attempt {
	o := *a
	o.ID = slices.Clone(a.ID)
	o.Binding = slices.Clone(a.Binding)
	o.Data = slices.Clone(a.Data)
	return &o
}

// Identity implements identitystore.Store.
func (m *Store) Identity(ctx context.Context, issuer, subject string) (*identitystore.Identity, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	if !identitystore.ValidAccount(issuer, subject) {
		return nil, auth.ErrNotFound
	}
	id, ok := m.identities[identityKey(issuer, subject)]
	if !ok {
		return nil, auth.ErrNotFound
	}
	c := *id
	return &c, nil
}

// Identities implements identitystore.Store. An unknown user has none.
func (m *Store) Identities(ctx context.Context, userID string) ([]identitystore.Identity, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	ids := m.userIdentities[userID]
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]identitystore.Identity, 0, len(ids))
	for _, id := range ids {
		out = append(out, *id)
	}
	slices.SortFunc(out, func(a, b identitystore.Identity) int {
		if c := a.LinkedAt.Compare(b.LinkedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Provider, b.Provider)
	})
	return out, nil
}

// identityFreeLocked returns auth.ErrConflict if id's provider account is
// linked (to anyone), or, with perProvider, if id's user has an identity
// at id's provider.
func (m *Store) identityFreeLocked(id *identitystore.Identity, perProvider bool) error {
	if _, ok := m.identities[identityKey(id.Issuer, id.Subject)]; ok {
		return auth.ErrConflict
	}
	if _, ok := m.userIdentities[id.UserID][id.Provider]; ok && perProvider {
		return auth.ErrConflict
	}
	return nil
}

// linkLocked stores a copy of id, which identityFreeLocked allowed, as an
// identity of userID.
func (m *Store) linkLocked(userID string, id *identitystore.Identity) {
	c := *id
	c.UserID = userID
	m.identities[identityKey(c.Issuer, c.Subject)] = &c
	if m.userIdentities[userID] == nil {
		m.userIdentities[userID] = make(map[string]*identitystore.Identity)
	}
	m.userIdentities[userID][c.Provider] = &c
}

// LinkIdentity implements identitystore.Store.
func (m *Store) LinkIdentity(ctx context.Context, id *identitystore.Identity) error {
	if !id.Valid() {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if err := m.identityFreeLocked(id, true); err != nil {
		return err
	}
	if _, ok := m.users[id.UserID]; !ok {
		return auth.ErrNotFound
	}
	m.linkLocked(id.UserID, id)
	return nil
}

// CreateUserWithIdentity implements identitystore.Store: the checks of
// CreateUser and of the provider account, then the inserts, all under the
// lock.
func (m *Store) CreateUserWithIdentity(ctx context.Context, u *auth.User, id *identitystore.Identity) error {
	if !userStorable(u) || !id.Valid() || id.UserID != u.ID {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if err := m.userFreeLocked(u); err != nil {
		return err
	}
	if err := m.identityFreeLocked(id, false); err != nil {
		return err
	}
	m.createUserLocked(u)
	m.linkLocked(u.ID, id)
	return nil
}

// hasPasskeyLocked reports whether the user has a passkey credential.
func (m *Store) hasPasskeyLocked(userID string) bool {
	p := m.passkeys[userID]
	return p != nil && len(p.creds) > 0
}

// UnlinkIdentity implements identitystore.Store: with keepLast, the
// user's passkeys count as ways in.
func (m *Store) UnlinkIdentity(ctx context.Context, userID, provider string, keepLast bool) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	ids := m.userIdentities[userID]
	id, ok := ids[provider]
	if !ok {
		return auth.ErrNotFound
	}
	if keepLast && len(ids) <= 1 && !m.hasPasskeyLocked(userID) {
		return auth.ErrConflict
	}
	delete(m.identities, identityKey(id.Issuer, id.Subject))
	if delete(ids, provider); len(ids) == 0 {
		delete(m.userIdentities, userID)
	}
	return nil
}

// ReclaimAccount implements identitystore.Store: the checks, then every
// change, under the lock.
func (m *Store) ReclaimAccount(ctx context.Context, userID, email string, id *identitystore.Identity, now time.Time) error {
	if !id.Valid() || id.UserID != userID || email == "" || !storable.Strings(email) {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[userID]
	switch {
	case !ok:
		return auth.ErrNotFound
	case u.Email != email || u.EmailVerified:
		return auth.ErrConflict
	}
	if err := m.identityFreeLocked(id, false); err != nil {
		return err
	}
	m.deleteIdentitiesLocked(userID)
	m.linkLocked(userID, id)
	u.EmailVerified = true
	u.PasswordHash = ""
	m.deletePasskeysLocked(userID)
	m.deleteMFALocked(userID)
	for h, t := range m.links {
		if t.UserID == userID {
			delete(m.links, h)
		}
	}
	m.invalidateLocked(u, now)
	return nil
}

// CreateAttempt implements identitystore.Store. It deletes the attempts,
// any user's, that expired before a.CreatedAt.
func (m *Store) CreateAttempt(ctx context.Context, a *identitystore.Attempt) error {
	if !a.Valid() {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[a.UserID]; !ok && a.UserID != "" {
		return auth.ErrNotFound
	}
	return putExpiring(m.attempts, a.ID, copyAttempt(a), a.CreatedAt, func(a *identitystore.Attempt) time.Time { return a.ExpiresAt })
}

// TakeAttempt implements identitystore.Store.
func (m *Store) TakeAttempt(ctx context.Context, id []byte) (*identitystore.Attempt, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	return takeOnce(m.attempts, id) // no longer the store's
}

// deleteIdentitiesLocked deletes the user's identities and attempts:
// DeleteUser's part, and ReclaimAccount's.
func (m *Store) deleteIdentitiesLocked(userID string) {
	for _, id := range m.userIdentities[userID] {
		delete(m.identities, identityKey(id.Issuer, id.Subject))
	}
	delete(m.userIdentities, userID)
	for k, a := range m.attempts {
		if a.UserID == userID {
			delete(m.attempts, k)
		}
	}
}
