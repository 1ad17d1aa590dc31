package memory

import (
	"context"
	"slices"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/storable"
)

// The second factors (mfastore.Store). Every method holds the store's
// lock throughout, so each compare-and-set is atomic; values are copied
// in and out.

// copyTOTP returns a copy of t that shares no memory with it.
func copyTOTP(t *mfastore.TOTP) *mfastore.TOTP {
	c := *t
	c.Sealed = slices.Clone(t.Sealed)
	return &c
}

// copyChallenge returns a copy of c that shares no memory with it.
func copyChallenge(c *mfastore.Challenge) *mfastore.Challenge {
	o := *c
	o.ID = slices.Clone(c.ID)
	o.Methods = slices.Clone(c.Methods)
	return &o
}

// codeSet is a set of recovery codes, each kept as a string of its bytes.
func codeSet(codes [][]byte) map[string]struct{} {
	set := make(map[string]struct{}, len(codes))
	for _, c := range codes {
		set[string(c)] = struct{}{}
	}
	return set
}

// PutPendingTOTP implements mfastore.Store.
func (m *Store) PutPendingTOTP(ctx context.Context, t *mfastore.TOTP) error {
	if !storable.Strings(t.UserID, t.ID) {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[t.UserID]; !ok {
		return auth.ErrNotFound
	}
	if old, ok := m.totps[t.UserID]; ok && old.Confirmed {
		return auth.ErrConflict
	}
	c := copyTOTP(t)
	c.Confirmed, c.LastStep = false, 0
	m.totps[t.UserID] = c
	return nil
}

// TOTP implements mfastore.Store.
func (m *Store) TOTP(ctx context.Context, userID string) (*mfastore.TOTP, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	t, ok := m.totps[userID]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return copyTOTP(t), nil
}

// ConfirmTOTP implements mfastore.Store.
func (m *Store) ConfirmTOTP(ctx context.Context, userID, id string, lastStep int64, codes [][]byte) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	t, ok := m.totps[userID]
	if !ok || t.Confirmed || t.ID != id {
		return auth.ErrNotFound
	}
	t.Confirmed, t.LastStep = true, lastStep
	m.codes[userID] = codeSet(codes)
	return nil
}

// AdvanceTOTP implements mfastore.Store.
func (m *Store) AdvanceTOTP(ctx context.Context, userID, id string, step int64) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	t, ok := m.totps[userID]
	switch {
	case !ok || !t.Confirmed || t.ID != id:
		return auth.ErrNotFound
	case step <= t.LastStep:
		return auth.ErrConflict
	}
	t.LastStep = step
	return nil
}

// DeleteTOTP implements mfastore.Store.
func (m *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.totps[userID]; !ok {
		return auth.ErrNotFound
	}
	delete(m.totps, userID)
	delete(m.codes, userID)
	return nil
}

// ReplaceRecoveryCodes implements mfastore.Store.
func (m *Store) ReplaceRecoveryCodes(ctx context.Context, userID, id string, codes [][]byte) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	t, ok := m.totps[userID]
	if !ok || !t.Confirmed || t.ID != id {
		return auth.ErrNotFound
	}
	m.codes[userID] = codeSet(codes)
	return nil
}

// UseRecoveryCode implements mfastore.Store.
func (m *Store) UseRecoveryCode(ctx context.Context, userID string, code []byte) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	set := m.codes[userID]
	if _, ok := set[string(code)]; !ok {
		return auth.ErrNotFound
	}
	delete(set, string(code))
	return nil
}

// RecoveryCodesLeft implements mfastore.Store. A user without codes, or
// unknown, has 0.
func (m *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := m.rlock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.RUnlock()
	return len(m.codes[userID]), nil
}

// CreateChallenge implements mfastore.Store. It deletes the challenges,
// any user's, that expired before c.CreatedAt.
func (m *Store) CreateChallenge(ctx context.Context, c *mfastore.Challenge) error {
	if !storable.Strings(c.UserID) || !storable.Strings(c.Methods...) {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[c.UserID]; !ok {
		return auth.ErrNotFound
	}
	return putExpiring(m.challenges, c.ID, copyChallenge(c), c.CreatedAt, func(c *mfastore.Challenge) time.Time { return c.ExpiresAt })
}

// Challenge implements mfastore.Store.
func (m *Store) Challenge(ctx context.Context, id []byte) (*mfastore.Challenge, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	c, ok := m.challenges[string(id)]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return copyChallenge(c), nil
}

// SpendChallenge implements mfastore.Store.
func (m *Store) SpendChallenge(ctx context.Context, id []byte) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.challenges[string(id)]; !ok {
		return auth.ErrNotFound
	}
	delete(m.challenges, string(id))
	return nil
}

// deleteMFALocked deletes everything mfastore.Store keeps of the user:
// DeleteUser's part.
func (m *Store) deleteMFALocked(userID string) {
	delete(m.totps, userID)
	delete(m.codes, userID)
	for id, c := range m.challenges {
		if c.UserID == userID {
			delete(m.challenges, id)
		}
	}
}
