package auth

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The store: what the Authenticator keeps, behind interfaces that a
// service can implement over its own database.
//
// Store, the one interface Config.Store must implement, is users and their
// refresh sessions (UserStore and SessionStore): all that registering,
// logging in (with the rehash of an outdated hash), access tokens, refresh
// rotation with reuse detection, logout, logout-all, password changes,
// the list of a user's logins and an administrator's changes to an account
// need. Every other feature's storage is an optional interface of its own,
// which a Store implements if it can: a feature package's (such as
// recovery.LinkStore, the tokens of mailed links, and admin.UserLister,
// listing every account for the administrators), and the core's
//
//   - UserDeleter, deleting an account: a user's own
//     (Authenticator.DeleteAccount) and an administrator's (package
//     admin); without it, both are refused with ErrMissingCapability.
//
// A feature is checked when it is configured: recovery.New refuses a Store
// that is not a recovery.LinkStore, with an error that names the interface
// and matches ErrMissingCapability; admin's list of accounts, which a
// service may leave out while it keeps the rest of administration, returns
// that error when it is used. store/memory, store/sqlite and store/postgres implement every
// interface; examples/usertable adapts an existing users table of another
// shape with Store alone. store/storetest runs the cases of Store on every
// store and those of each optional interface on the stores that implement
// it.

// User is an account as the store keeps it.
//
// PasswordHash is a PHC-style hash string ($argon2id$... or $2b$...), or
// empty for an account without a password (NewUser.NoPassword), which no
// password opens; stores keep it as they keep any other. It never
// leaves the library through an HTTP handler, a log line or an event.
type User struct {
	// ID is opaque and never reused: random, made by Register, or made by
	// the store when its table makes its own keys (see
	// UserStore.CreateUser).
	ID       string
	Username string // normalised (see NormalizeUsername); unique
	// Email is the account's address, trimmed and lower-cased by the
	// library (see NormalizeEmail); unique among accounts; empty when none
	// was given.
	Email string
	// EmailVerified reports that a link mailed to Email was used (a
	// verification or a password reset).
	EmailVerified bool

	PasswordHash string
	Disabled     bool
	Roles        []string

	// TokenVersion is incremented by every logout-all and password change.
	// Access tokens carry the version they were issued under, and the
	// middleware rejects any token whose version is not the current one, so
	// tokens end at once, even ones issued in the same second.
	TokenVersion int64
	// TokensEndedAt is when the user's tokens were last ended: the time
	// given to the latest call that incremented TokenVersion
	// (InvalidateTokens, UpdatePasswordHash with logout, ChangeUser with
	// Logout, which package admin's disabling sets, and a password reset's
	// redemption); zero if they never were. It never moves back: an
	// ending given an earlier time leaves it. Stores set it; CreateUser
	// ignores it. It ends the tokens that carry no version: the FastAPI
	// tutorials' access tokens that Config.Tokens.LegacyUntil accepts.
	TokensEndedAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clone returns a deep copy of u. Stores hand out copies so that callers can
// never change what the store holds by mutating a returned value.
func (u *User) Clone() *User {
	if u == nil {
		return nil
	}
	c := *u
	c.Roles = slices.Clone(u.Roles)
	return &c
}

// HasRole reports whether u holds role (exact, case-sensitive match).
func (u *User) HasRole(role string) bool {
	return slices.Contains(u.Roles, role)
}

// Session is one refresh-token family: everything that descends from one
// login. Only the SHA-256 hash of the current refresh token's secret is kept,
// so a leaked database yields no usable refresh token.
type Session struct {
	ID     string // the family id, carried in every refresh token of the family
	UserID string

	// TokenHash is the SHA-256 of the secret of the family's current
	// (unspent) refresh token.
	TokenHash []byte
	// UserVersion is the user's TokenVersion when the family was opened. A
	// session whose version is no longer the user's is dead.
	UserVersion int64

	CreatedAt time.Time
	// RotatedAt is when the current refresh token was issued: CreatedAt
	// until the first rotation. Stores set it; CreateSession ignores it.
	RotatedAt time.Time
	// ExpiresAt is when the current refresh token expires; the store may
	// purge the session after it.
	ExpiresAt time.Time

	// UserAgent is the User-Agent of the login that opened the session,
	// as the Authenticator cleaned it (valid UTF-8, no control characters,
	// at most 256 bytes): what a user sees to tell devices apart.
	UserAgent string
	// ClientAddr is the client address of that login, kept only when
	// Config.Sessions.RecordAddress is set; "" otherwise.
	ClientAddr string
}

// maxUserAgentBytes bounds Session.UserAgent (and authhttp's test of it).
const maxUserAgentBytes = 256

// Rotation asks a store to replace a session's current refresh token.
//
// The secret of each refresh token is derived from the one it replaces, so
// Next is the same for every presentation of one token. That is what lets
// a token presented again within Grace get the very token its first
// presentation received: the store finds Next already current.
type Rotation struct {
	SessionID string
	// Presented is the hash of the secret of the token being exchanged.
	Presented []byte
	// Next is the hash of the secret of the token that replaces it.
	Next []byte
	// ExpiresAt is the expiry of the new token.
	ExpiresAt time.Time
	// Now is the time of the rotation, from the Authenticator's clock.
	Now time.Time
	// Grace, when positive, accepts the token rotated just before the
	// current one again, within Grace of that rotation, provided the
	// current one is its successor (Next): the session is returned as it
	// is, unchanged, so the family never forks. Zero disables it.
	Grace time.Duration
}

// UserChange is a change of a user's administrative fields, made by
// UserStore.ChangeUser.
type UserChange struct {
	// Disabled, if set, is the user's new Disabled.
	Disabled *bool
	// Roles, if set, are the user's new roles, as the caller passes them.
	Roles *[]string
	// Logout also increments the user's token version (TokensEndedAt
	// becomes Now) and revokes every refresh session of the user, as
	// InvalidateTokens does, in the same atomic operation.
	Logout bool
	// KeepRole, if set, refuses the change with ErrLastAdmin when it would
	// take the role's last enabled holder away: when the user is enabled
	// and holds KeepRole before the change and not after it (disabled, or
	// without the role), and no other enabled user holds it.
	KeepRole string
	// Now is the user's new UpdatedAt (and the time of the Logout).
	Now time.Time
}

// TakesKeptRole reports whether making c to u, as stored, takes u out of
// the enabled holders of c.KeepRole: then ChangeUser must refuse it unless
// another enabled user holds the role.
func (c UserChange) TakesKeptRole(u *User) bool {
	if c.KeepRole == "" || u.Disabled || !u.HasRole(c.KeepRole) {
		return false
	}
	return c.Disabled != nil && *c.Disabled || c.Roles != nil && !slices.Contains(*c.Roles, c.KeepRole)
}

// UserStore keeps user accounts: the part of Store about users, all
// required. Implementations must be safe for concurrent use. Usernames
// and emails reach the store already normalised; the store compares them
// byte for byte and keeps each unique (a username among usernames, a
// non-empty email among emails).
//
// Error contract: a missing user is ErrNotFound; a taken username is
// ErrUserExists; a taken email is ErrEmailExists; a lost compare-and-swap is
// ErrConflict; any failure to reach or use the backing database wraps
// ErrStoreUnavailable. Returned users are copies owned by the caller.
//
// Text that is not valid UTF-8 or holds a NUL is never stored and never
// matches, in every store alike: given as a key to look up (an id, a
// username, a session id), it is answered as an unknown key (ErrNotFound,
// or nothing for RevokeSession); given as a value to store (in CreateUser,
// ChangeUser, UpdatePasswordHash, CreateSession, a capability's), it is
// ErrInvalidInput (store/storable's Strings tells such text apart). Never
// ErrStoreUnavailable: that means the store failed.
type UserStore interface {
	// CreateUser inserts u, whose ID, Username and timestamps are set by the
	// caller. A store over a table that makes its own keys (an integer
	// primary key) may instead set u.ID to the key it made; the caller
	// reads u.ID and u.TokenVersion after the call. If that key can be one
	// a deleted user had (SQLite reuses the largest), the store must also
	// set u.TokenVersion above every version that user's tokens carried,
	// so that none of them is taken for the new user's (see
	// examples/usertable). It
	// returns ErrUserExists if the ID or the username is taken,
	// or the username is another user's email; ErrEmailExists if the
	// (non-empty) email is another user's email or username. (A login name
	// is looked up as a username, then as an email: it may name one
	// account only.) The checks and the insert are atomic.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user with the given id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByUsername returns the user with the given normalised username,
	// or ErrNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// UserByEmail returns the user with the given normalised email, or
	// ErrNotFound (for the empty email too).
	UserByEmail(ctx context.Context, email string) (*User, error)
	// ChangeUser makes c to the user with the given id, field by field:
	// what c leaves unset keeps what is stored, so that changes of
	// different fields made at once never undo each other. It returns the
	// user as changed, ErrNotFound for an unknown id, or ErrLastAdmin (and
	// no change) as c.KeepRole says; changes with a KeepRole are
	// serialised, so that two made at once cannot each take one of the
	// last two holders of the role.
	ChangeUser(ctx context.Context, id string, c UserChange) (*User, error)
	// UpdatePasswordHash replaces the user's password hash with newHash if,
	// and only if, it is still oldHash; otherwise it returns ErrConflict (so
	// that a rehash on login can never undo a concurrent password change).
	// When logout is true, the same atomic operation also increments the
	// token version (TokensEndedAt becomes now) and revokes every refresh
	// session of the user.
	UpdatePasswordHash(ctx context.Context, id, oldHash, newHash string, logout bool, now time.Time) error
	// InvalidateTokens atomically increments the user's token version
	// (TokensEndedAt becomes now) and revokes every refresh session of the
	// user (logout-all).
	InvalidateTokens(ctx context.Context, id string, now time.Time) error
}

// UserDeleter is an optional capability of a Store: deleting an account,
// for Authenticator.DeleteAccount and DeleteUser (and so package admin),
// which refuse a Store without it (ErrMissingCapability). store/storetest
// checks the contract of the stores that offer it. It follows UserStore's
// error contract.
type UserDeleter interface {
	// DeleteUser removes the user and every refresh session of the user
	// (and everything a capability keeps of the user: the link tokens of
	// a recovery.LinkStore, the second factors of an mfastore.Store), or returns
	// ErrNotFound. The username and the email are free again at once.
	DeleteUser(ctx context.Context, id string) error
}

// SessionStore keeps refresh-token families. Implementations must be safe
// for concurrent use and rotate atomically: of any number of concurrent
// rotations presenting the same token, exactly one succeeds.
//
// Error contract: a missing session is ErrNotFound; a revoked or expired one
// is ErrSessionRevoked; reuse of a spent token is ErrRefreshReuse (and the
// session is revoked by the same call); backend failures wrap
// ErrStoreUnavailable.
type SessionStore interface {
	// CreateSession opens a new family. The user must exist.
	CreateSession(ctx context.Context, s *Session) error
	// RotateSession exchanges the session's current token for r.Next and
	// returns the updated session. If r.Presented is not the current token
	// (nor, within r.Grace, the previous one) the session is revoked and
	// ErrRefreshReuse is returned.
	RotateSession(ctx context.Context, r Rotation) (*Session, error)
	// RevokeSession revokes one family. Revoking an unknown or already
	// revoked session is not an error.
	RevokeSession(ctx context.Context, id string) error
	// UserBySession returns the user with id userID, as UserByID does, if
	// sessionID names a session of that user that is not revoked: the check
	// of every access token issued in a session, so that logging out ends
	// them at once. It returns ErrNotFound if there is no such user and
	// ErrSessionRevoked if the session is revoked, unknown or another
	// user's. Stores answer it in one read where they can.
	UserBySession(ctx context.Context, userID, sessionID string) (*User, error)
	// SessionsByUser returns the user's sessions that are neither revoked
	// nor expired at now, newest first (by CreatedAt, then ID), their
	// token hashes left out.
	SessionsByUser(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// TrimSessions revokes the user's live sessions (neither revoked nor
	// expired at now, and opened under the user's current TokenVersion)
	// but the keep most recently used ones (by RotatedAt, then CreatedAt,
	// then ID, the greatest first), and returns the ids it revoked. Logins
	// made at once, each calling it after its own CreateSession, leave at
	// most keep sessions of the user live once they have all returned (the
	// last to look sees every session they opened).
	TrimSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error)
}

// Store is what the Authenticator needs, whatever it is configured with:
// users and their refresh sessions, in one backend so that logout-all and
// password changes end the sessions in the same atomic operation. What
// other features need are optional interfaces (UserDeleter, a feature
// package's own), checked when the feature is configured or used.
type Store interface {
	UserStore
	SessionStore
}

// Pinger is an optional capability of a Store or a Limiter: Ping checks
// that the backing database answers, for health checks. It returns an
// error wrapping ErrStoreUnavailable when it does not.
type Pinger interface {
	Ping(ctx context.Context) error
}

// NormalizeUsername returns the canonical form of a username: Unicode NFKC,
// surrounding white space trimmed, lower case. "Alice", " alice " and
// "ａｌｉｃｅ" (full-width) all become "alice". The library normalises every
// username before it reaches a store.
func NormalizeUsername(s string) string {
	s = norm.NFKC.String(s)
	s = strings.TrimSpace(s)
	s = strings.ToLower(s)
	// Lower-casing can (rarely) produce a string that is not NFKC again.
	return norm.NFKC.String(s)
}

// ValidateUsername is the default username rule: after normalisation, 3 to
// 64 characters, each one of a-z, 0-9, '.', '_', '-', '@' or '+'. Letters
// from other scripts are refused so that no two accounts look alike.
func ValidateUsername(normalized string) error {
	n := utf8.RuneCountInString(normalized)
	if n < 3 || n > 64 {
		return ErrInvalidUsername
	}
	for i := 0; i < len(normalized); i++ {
		c := normalized[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-', c == '@', c == '+':
		default:
			return ErrInvalidUsername
		}
	}
	return nil
}
