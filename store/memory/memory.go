// Package memory is an in-memory auth.Store, for tests and single-process
// demos: it loses everything when the process ends, and nothing it holds
// is shared with another process.
//
// Its Store implements auth.Store and every optional capability the
// library defines (recovery.LinkStore, admin.UserLister, auth.UserDeleter,
// mfastore.Store, passkeystore.Store, identitystore.Store and auth.Pinger),
// with the same
// contracts as store/sqlite and store/postgres:
// store/storetest runs the same cases on all three. It is safe for
// concurrent use.
//
//	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: secret})
package memory

import (
	"context"
	"crypto/subtle"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/identitystore"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/passkeystore"
	"github.com/goauthkit/auth/store/storable"
)

// Store is an in-memory auth.Store, safe for concurrent use. It loses
// everything when the process ends: use it for tests and single-process
// demos. The zero value is not usable; call New.
type Store struct {
	mu         sync.RWMutex
	users      map[string]*auth.User // by id
	byUsername map[string]string
	byEmail    map[string]string
	sessions   map[string]*session
	// byUser indexes sessions by user id, then session id.
	byUser map[string]map[string]*session
	links  map[string]*recovery.LinkToken // by string(hash)
	// The second factors (mfastore.Store): enrolments and recovery codes
	// by user id, challenges by string(id).
	totps      map[string]*mfastore.TOTP
	codes      map[string]map[string]struct{}
	challenges map[string]*mfastore.Challenge
	// The passkeys (passkeystore.Store): each user's handle and
	// credentials by user id, the owner of each handle by string(handle),
	// every credential by string(id) (the same values as the users'), and
	// ceremonies by string(id).
	passkeys    map[string]*passkeyHolder
	handles     map[string]string
	credentials map[string]*passkeystore.Credential
	ceremonies  map[string]*passkeystore.Ceremony
	// The linked identities (identitystore.Store): every identity by its
	// provider account (identityKey), each user's by user id then
	// provider (the same values), and the attempts by string(id).
	identities     map[string]*identitystore.Identity
	userIdentities map[string]map[string]*identitystore.Identity
	attempts       map[string]*identitystore.Attempt
	// sweepAt is the session count at which CreateSession next drops
	// revoked and expired sessions, so memory stays bounded by live ones.
	sweepAt int
}

type session struct {
	auth.Session
	prevHash []byte
	revoked  bool
}

// New returns an empty in-memory store.
func New() *Store {
	return &Store{
		users:      make(map[string]*auth.User),
		byUsername: make(map[string]string),
		byEmail:    make(map[string]string),
		sessions:   make(map[string]*session),
		byUser:     make(map[string]map[string]*session),
		links:      make(map[string]*recovery.LinkToken),
		totps:      make(map[string]*mfastore.TOTP),
		codes:      make(map[string]map[string]struct{}),
		challenges: make(map[string]*mfastore.Challenge),

		passkeys:    make(map[string]*passkeyHolder),
		handles:     make(map[string]string),
		credentials: make(map[string]*passkeystore.Credential),
		ceremonies:  make(map[string]*passkeystore.Ceremony),

		identities:     make(map[string]*identitystore.Identity),
		userIdentities: make(map[string]map[string]*identitystore.Identity),
		attempts:       make(map[string]*identitystore.Attempt),
	}
}

// Store offers every optional capability.
var (
	_ auth.Store          = (*Store)(nil)
	_ recovery.LinkStore  = (*Store)(nil)
	_ admin.UserLister    = (*Store)(nil)
	_ auth.UserDeleter    = (*Store)(nil)
	_ mfastore.Store      = (*Store)(nil)
	_ passkeystore.Store  = (*Store)(nil)
	_ identitystore.Store = (*Store)(nil)
	_ auth.Pinger         = (*Store)(nil)
)

// lock takes the write lock, unless ctx has ended.
func (m *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	return nil
}

// rlock takes the read lock, unless ctx has ended.
func (m *Store) rlock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	return nil
}

// SessionCount returns how many refresh sessions the store holds, live or
// not yet swept.
func (m *Store) SessionCount() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.sessions)
}

// Ping implements auth.Pinger; the memory store always answers.
func (m *Store) Ping(ctx context.Context) error { return ctx.Err() }

func userStorable(u *auth.User) bool {
	return storable.Strings(u.ID, u.Username, u.Email, u.PasswordHash) && storable.Strings(u.Roles...)
}

// CreateUser implements auth.UserStore.
func (m *Store) CreateUser(ctx context.Context, u *auth.User) error {
	if !userStorable(u) {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if err := m.userFreeLocked(u); err != nil {
		return err
	}
	m.createUserLocked(u)
	return nil
}

// userFreeLocked returns the error of CreateUser if u's id or a login name
// of u is taken, nil if u can be created.
func (m *Store) userFreeLocked(u *auth.User) error {
	if _, ok := m.users[u.ID]; ok {
		return auth.ErrUserExists
	}
	if _, ok := m.byUsername[u.Username]; ok {
		return auth.ErrUserExists
	}
	if _, ok := m.byEmail[u.Username]; ok {
		return auth.ErrUserExists
	}
	if u.Email != "" {
		_, isEmail := m.byEmail[u.Email]
		_, isName := m.byUsername[u.Email]
		if isEmail || isName {
			return auth.ErrEmailExists
		}
	}
	return nil
}

// createUserLocked stores a copy of u, which userFreeLocked allowed.
func (m *Store) createUserLocked(u *auth.User) {
	c := u.Clone()
	c.TokensEndedAt = time.Time{} // set by the endings only
	m.users[u.ID] = c
	m.byUsername[u.Username] = u.ID
	if u.Email != "" {
		m.byEmail[u.Email] = u.ID
	}
}

// UserByEmail implements auth.UserStore.
func (m *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	id, ok := m.byEmail[email]
	if !ok || email == "" {
		return nil, auth.ErrNotFound
	}
	return m.users[id].Clone(), nil
}

// setEmailLocked moves u to email in the email index.
func (m *Store) setEmailLocked(u *auth.User, email string) error {
	if email == u.Email {
		return nil
	}
	if owner, taken := m.byEmail[email]; taken && email != "" && owner != u.ID {
		return auth.ErrEmailExists
	}
	if u.Email != "" {
		delete(m.byEmail, u.Email)
	}
	if email != "" {
		m.byEmail[email] = u.ID
	}
	u.Email = email
	return nil
}

// UserByID implements auth.UserStore.
func (m *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	u, ok := m.users[id]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return u.Clone(), nil
}

// UserByUsername implements auth.UserStore.
func (m *Store) UserByUsername(ctx context.Context, username string) (*auth.User, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	id, ok := m.byUsername[username]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return m.users[id].Clone(), nil
}

// ChangeUser implements auth.UserStore.
func (m *Store) ChangeUser(ctx context.Context, id string, c auth.UserChange) (*auth.User, error) {
	if c.Roles != nil && !storable.Strings(*c.Roles...) {
		return nil, auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, auth.ErrNotFound
	}
	if c.TakesKeptRole(u) {
		last := true
		for _, o := range m.users {
			if o.ID != id && !o.Disabled && o.HasRole(c.KeepRole) {
				last = false
				break
			}
		}
		if last {
			return nil, auth.ErrLastAdmin
		}
	}
	if c.Disabled != nil {
		u.Disabled = *c.Disabled
	}
	if c.Roles != nil {
		u.Roles = slices.Clone(*c.Roles)
	}
	u.UpdatedAt = c.Now
	if c.Logout {
		m.invalidateLocked(u, c.Now)
	}
	return u.Clone(), nil
}

// UpdatePasswordHash implements auth.UserStore.
func (m *Store) UpdatePasswordHash(ctx context.Context, id, oldHash, newHash string, logout bool, now time.Time) error {
	if !storable.Strings(id) {
		return auth.ErrNotFound
	}
	if !storable.Strings(oldHash, newHash) {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return auth.ErrNotFound
	}
	if subtle.ConstantTimeCompare([]byte(u.PasswordHash), []byte(oldHash)) != 1 {
		return auth.ErrConflict
	}
	u.PasswordHash = newHash
	u.UpdatedAt = now
	if logout {
		m.invalidateLocked(u, now)
	}
	return nil
}

// InvalidateTokens implements auth.UserStore.
func (m *Store) InvalidateTokens(ctx context.Context, id string, now time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return auth.ErrNotFound
	}
	m.invalidateLocked(u, now)
	return nil
}

func (m *Store) invalidateLocked(u *auth.User, now time.Time) {
	u.TokenVersion++
	u.UpdatedAt = now
	if now.After(u.TokensEndedAt) {
		u.TokensEndedAt = now
	}
	for _, s := range m.byUser[u.ID] {
		s.revoked = true
	}
}

// DeleteUser implements auth.UserDeleter.
func (m *Store) DeleteUser(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return auth.ErrNotFound
	}
	delete(m.byUsername, u.Username)
	if u.Email != "" {
		delete(m.byEmail, u.Email)
	}
	delete(m.users, id)
	for sid := range m.byUser[id] {
		delete(m.sessions, sid)
	}
	delete(m.byUser, id)
	for h, t := range m.links {
		if t.UserID == id {
			delete(m.links, h)
		}
	}
	m.deleteMFALocked(id)
	m.deletePasskeysLocked(id)
	m.deleteIdentitiesLocked(id)
	return nil
}

// CreateSession implements auth.SessionStore.
func (m *Store) CreateSession(ctx context.Context, s *auth.Session) error {
	if !storable.Strings(s.ID, s.UserID, s.UserAgent, s.ClientAddr) {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[s.UserID]; !ok {
		return auth.ErrNotFound
	}
	if _, ok := m.sessions[s.ID]; ok {
		return auth.ErrConflict
	}
	if len(m.sessions) >= m.sweepAt {
		for id, old := range m.sessions {
			if old.revoked || !s.CreatedAt.Before(old.ExpiresAt) {
				delete(m.sessions, id)
				if delete(m.byUser[old.UserID], id); len(m.byUser[old.UserID]) == 0 {
					delete(m.byUser, old.UserID)
				}
			}
		}
		m.sweepAt = 2*len(m.sessions) + 1024
	}
	c := *s
	c.TokenHash = slices.Clone(s.TokenHash)
	c.RotatedAt = c.CreatedAt
	ms := &session{Session: c}
	m.sessions[s.ID] = ms
	if m.byUser[s.UserID] == nil {
		m.byUser[s.UserID] = make(map[string]*session)
	}
	m.byUser[s.UserID][s.ID] = ms
	return nil
}

// RotateSession implements auth.SessionStore.
func (m *Store) RotateSession(ctx context.Context, r auth.Rotation) (*auth.Session, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	s, ok := m.sessions[r.SessionID]
	if !ok {
		return nil, auth.ErrNotFound
	}
	if s.revoked || !r.Now.Before(s.ExpiresAt) {
		return nil, auth.ErrSessionRevoked
	}
	current := subtle.ConstantTimeCompare(s.TokenHash, r.Presented) == 1
	graced := !current && r.Grace > 0 && s.prevHash != nil &&
		subtle.ConstantTimeCompare(s.prevHash, r.Presented) == 1 &&
		subtle.ConstantTimeCompare(s.TokenHash, r.Next) == 1 &&
		r.Now.Sub(s.RotatedAt) <= r.Grace
	switch {
	case current:
		s.prevHash = s.TokenHash
		s.TokenHash = slices.Clone(r.Next)
		s.RotatedAt = r.Now
		s.ExpiresAt = r.ExpiresAt
	case !graced:
		s.revoked = true
		return nil, auth.ErrRefreshReuse
	}
	out := s.Session
	out.TokenHash = slices.Clone(s.TokenHash)
	return &out, nil
}

// RevokeSession implements auth.SessionStore.
func (m *Store) RevokeSession(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok {
		s.revoked = true
	}
	return nil
}

// SessionsByUser implements auth.SessionStore.
func (m *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	var out []*auth.Session
	for _, s := range m.byUser[userID] {
		if !s.revoked && now.Before(s.ExpiresAt) {
			c := s.Session
			c.TokenHash = nil
			out = append(out, &c)
		}
	}
	sortSessions(out)
	return out, nil
}

// TrimSessions implements auth.SessionStore.
func (m *Store) TrimSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	u, ok := m.users[userID]
	if !ok {
		return nil, nil
	}
	var live []*auth.Session
	for _, s := range m.byUser[userID] {
		if !s.revoked && now.Before(s.ExpiresAt) && s.UserVersion == u.TokenVersion {
			live = append(live, &s.Session)
		}
	}
	if len(live) <= keep {
		return nil, nil
	}
	slices.SortFunc(live, func(a, b *auth.Session) int {
		if c := b.RotatedAt.Compare(a.RotatedAt); c != 0 {
			return c
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	var out []string
	for _, s := range live[max(keep, 0):] {
		m.sessions[s.ID].revoked = true
		out = append(out, s.ID)
	}
	return out, nil
}

// sortSessions orders sessions newest first, by CreatedAt then ID.
func sortSessions(ss []*auth.Session) {
	slices.SortFunc(ss, func(a, b *auth.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}

// ListUsers implements admin.UserLister.
func (m *Store) ListUsers(ctx context.Context, after string, limit int) ([]*auth.User, error) {
	if !storable.Strings(after) {
		return nil, auth.ErrInvalidInput
	}
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	ids := make([]string, 0, len(m.users))
	for id := range m.users {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if limit >= 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]*auth.User, len(ids))
	for i, id := range ids {
		out[i] = m.users[id].Clone()
	}
	return out, nil
}

// UserBySession implements auth.SessionStore.
func (m *Store) UserBySession(ctx context.Context, userID, sessionID string) (*auth.User, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	u, ok := m.users[userID]
	if !ok {
		return nil, auth.ErrNotFound
	}
	if s, ok := m.sessions[sessionID]; !ok || s.revoked || s.UserID != userID {
		return nil, auth.ErrSessionRevoked
	}
	return u.Clone(), nil
}

// CreateLinkToken implements recovery.LinkStore.
func (m *Store) CreateLinkToken(ctx context.Context, t *recovery.LinkToken) error {
	if !storable.Strings(t.UserID, t.Email, string(t.Purpose)) {
		return auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[t.UserID]; !ok {
		return auth.ErrNotFound
	}
	for h, old := range m.links {
		if old.UserID == t.UserID && old.Purpose == t.Purpose || !t.CreatedAt.Before(old.ExpiresAt) {
			delete(m.links, h) // replaced, or expired
		}
	}
	c := *t
	c.Hash = slices.Clone(t.Hash)
	m.links[string(t.Hash)] = &c
	return nil
}

// LinkToken implements recovery.LinkStore.
func (m *Store) LinkToken(ctx context.Context, hash []byte) (*recovery.LinkToken, error) {
	if err := m.rlock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	t, ok := m.links[string(hash)]
	if !ok {
		return nil, auth.ErrNotFound
	}
	c := *t
	c.Hash = slices.Clone(t.Hash)
	return &c, nil
}

// RedeemLinkToken implements recovery.LinkStore.
func (m *Store) RedeemLinkToken(ctx context.Context, r recovery.Redemption) (*auth.User, error) {
	if !storable.Strings(r.NewPasswordHash) {
		return nil, auth.ErrInvalidInput
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	t, ok := m.links[string(r.Hash)]
	if !ok || t.Purpose != r.Purpose || !r.Now.Before(t.ExpiresAt) {
		return nil, auth.ErrNotFound
	}
	u, ok := m.users[t.UserID]
	if !ok || u.Disabled || u.TokenVersion != t.UserVersion || r.Purpose == recovery.LinkResetPassword && u.Email != t.Email {
		delete(m.links, string(r.Hash)) // dead
		return nil, auth.ErrNotFound
	}
	switch r.Purpose {
	case recovery.LinkVerifyEmail:
		if owner, taken := m.byUsername[t.Email]; taken && owner != u.ID {
			return nil, auth.ErrEmailExists
		}
		if err := m.setEmailLocked(u, t.Email); err != nil {
			return nil, err
		}
		u.EmailVerified = true
		u.UpdatedAt = r.Now
	case recovery.LinkResetPassword:
		u.PasswordHash = r.NewPasswordHash
		u.EmailVerified = true
		m.invalidateLocked(u, r.Now)
	default:
		return nil, auth.ErrNotFound
	}
	for h, other := range m.links {
		if other.UserID == u.ID {
			delete(m.links, h)
		}
	}
	return u.Clone(), nil
}

// putExpiring stores v under id in records, having deleted the records
// that expired before now: how the store keeps what is spent once
// (second-factor challenges, passkey ceremonies, sign-in attempts). It
// returns auth.ErrConflict, storing nothing, if id is taken (the hash of a
// random token never repeats). The caller holds the lock.
func putExpiring[T any](records map[string]T, id []byte, v T, now time.Time, expires func(T) time.Time) error {
	if _, ok := records[string(id)]; ok {
		return auth.ErrConflict
	}
	for k, old := range records {
		if expires(old).Before(now) {
			delete(records, k)
		}
	}
	records[string(id)] = v
	return nil
}

// takeOnce deletes the record id from records and returns it, or
// auth.ErrNotFound. The caller holds the lock.
func takeOnce[T any](records map[string]T, id []byte) (T, error) {
	v, ok := records[string(id)]
	if !ok {
		var zero T
		return zero, auth.ErrNotFound
	}
	delete(records, string(id))
	return v, nil
}
