package memory

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// The passkeys (passkeystore.Store). Every method holds the store's lock
// throughout, so each compare-and-set, and the check of the last way in
// (the user's last credential, when the user has no linked identity) with
// its deletion, is atomic; values are copied in and out.

// passkeyHolder is what the store keeps of a user's passkeys: the user's
// handle and credentials by string(id).
type passkeyHolder struct {
	handle []byte
	creds  map[string]*passkeystore.Credential
}

// copyCredential returns a copy of c that shares no memory with it.
func copyCredential(c *passkeystore.Credential) *passkeystore.Credential {
	o := *c
	o.ID = slices.Clone(c.ID)
	o.PublicKey = slices.Clone(c.PublicKey)
	o.AAGUID = slices.Clone(c.AAGUID)
	o.Transports = slices.Clone(c.Transports)
	return &o
}

// copyCeremony returns a copy of c that shares no memory with it.
func copyCeremony(c *passkeystore.Ceremony) *passkeystore.Ceremony {
	o := *c
	o.ID = slices.Clone(c.ID)
	o.Data = slices.Clone(c.Data)
	return &o
}

// UserHandle implements passkeystore.Store.
func (m *Store) UserHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if handle != nil && !passkeystore.ValidHandle(handle) {
		return nil, auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[userID]; !ok {
		return nil, auth.ErrNotFound
	}
	if p := m.passkeys[userID]; p != nil {
		return slices.Clone(p.handle), nil
	}
	if handle == nil {
		return nil, auth.ErrNotFound
	}
	if _, taken := m.handles[string(handle)]; taken {
		return nil, auth.ErrConflict
	}
	m.putHandleLocked(userID, handle)
	return slices.Clone(handle), nil
}

// putHandleLocked gives the user, who has none, handle.
func (m *Store) putHandleLocked(userID string, handle []byte) {
	m.passkeys[userID] = &passkeyHolder{handle: slices.Clone(handle), creds: make(map[string]*passkeystore.Credential)}
	m.handles[string(handle)] = userID
}

// AddCredential implements passkeystore.Store.
func (m *Store) AddCredential(ctx context.Context, c *passkeystore.Credential) error {
	if !c.Valid() {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	p := m.passkeys[c.UserID]
	if p == nil {
		return auth.ErrNotFound // no such user, or one without a handle
	}
	if _, ok := m.credentials[string(c.ID)]; ok {
		return auth.ErrConflict
	}
	m.addCredentialLocked(p, c)
	return nil
}

// addCredentialLocked stores a copy of c as a credential of p's user.
func (m *Store) addCredentialLocked(p *passkeyHolder, c *passkeystore.Credential) {
	o := copyCredential(c)
	p.creds[string(c.ID)] = o
	m.credentials[string(c.ID)] = o
}

// CreateUserWithCredential implements passkeystore.Store: the checks of
// CreateUser, of the handle and of the credential, then the inserts, all
// under the lock.
func (m *Store) CreateUserWithCredential(ctx context.Context, u *auth.User, handle []byte, c *passkeystore.Credential) error {
	if !userStorable(u) || !passkeystore.ValidHandle(handle) || !c.Valid() || c.UserID != u.ID {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if err := m.userFreeLocked(u); err != nil {
		return err
	}
	if _, ok := m.credentials[string(c.ID)]; ok {
		return auth.ErrConflict
	}
	if _, ok := m.handles[string(handle)]; ok {
		return auth.ErrConflict
	}
	m.createUserLocked(u)
	m.putHandleLocked(u.ID, handle)
	m.addCredentialLocked(m.passkeys[u.ID], c)
	return nil
}

// Credential implements passkeystore.Store.
func (m *Store) Credential(ctx context.Context, id []byte) (*passkeystore.Credential, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	c, ok := m.credentials[string(id)]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return copyCredential(c), nil
}

// Credentials implements passkeystore.Store. An unknown user has none.
func (m *Store) Credentials(ctx context.Context, userID string) ([]passkeystore.Credential, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	p := m.passkeys[userID]
	if p == nil {
		return nil, nil
	}
	out := make([]passkeystore.Credential, 0, len(p.creds))
	for _, c := range p.creds {
		out = append(out, *copyCredential(c))
	}
	slices.SortFunc(out, func(a, b passkeystore.Credential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UseCredential implements passkeystore.Store.
func (m *Store) UseCredential(ctx context.Context, id []byte, prev uint32, u passkeystore.Use) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	c, ok := m.credentials[string(id)]
	switch {
	case !ok:
		return auth.ErrNotFound
	case c.SignCount != prev:
		return auth.ErrConflict
	}
	c.SignCount, c.BackupEligible, c.BackupState, c.LastUsedAt = u.SignCount, u.BackupEligible, u.BackupState, u.At
	return nil
}

// RenameCredential implements passkeystore.Store.
func (m *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) (*passkeystore.Credential, error) {
	if !passkeystore.ValidName(name) {
		return nil, auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	c, ok := m.credentials[string(id)]
	if !ok || c.UserID != userID {
		return nil, auth.ErrNotFound
	}
	c.Name = name
	return copyCredential(c), nil
}

// DeleteCredential implements passkeystore.Store.
func (m *Store) DeleteCredential(ctx context.Context, userID string, id []byte, keepLast bool) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	c, ok := m.credentials[string(id)]
	if !ok || c.UserID != userID {
		return auth.ErrNotFound
	}
	p := m.passkeys[userID]
	if keepLast && len(p.creds) <= 1 && len(m.userIdentities[userID]) == 0 {
		return auth.ErrConflict // the user's last way in
	}
	delete(p.creds, string(id))
	delete(m.credentials, string(id))
	return nil
}

// CreateCeremony implements passkeystore.Store. It deletes the
// ceremonies, any user's, that expired before c.CreatedAt.
func (m *Store) CreateCeremony(ctx context.Context, c *passkeystore.Ceremony) error {
	if !c.Valid() {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[c.UserID]; !ok && c.UserID != "" {
		return auth.ErrNotFound
	}
	return putExpiring(m.ceremonies, c.ID, copyCeremony(c), c.CreatedAt, func(c *passkeystore.Ceremony) time.Time { return c.ExpiresAt })
}

// TakeCeremony implements passkeystore.Store.
func (m *Store) TakeCeremony(ctx context.Context, id []byte) (*passkeystore.Ceremony, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	return takeOnce(m.ceremonies, id) // no longer the store's
}

// deletePasskeysLocked deletes everything passkeystore.Store keeps of the
// user: DeleteUser's part.
func (m *Store) deletePasskeysLocked(userID string) {
	if p := m.passkeys[userID]; p != nil {
		for id := range p.creds {
			delete(m.credentials, id)
		}
		delete(m.handles, string(p.handle))
		delete(m.passkeys, userID)
	}
	for id, c := range m.ceremonies {
		if c.UserID == userID {
			delete(m.ceremonies, id)
		}
	}
}
