// Package identitystore is the store capability of sign-in through other
// providers (OpenID Connect): what package oidc
// (github.com/goauthkit/auth/oidc, a module of its own, with go-oidc and
// x/oauth2) keeps of the provider accounts linked to users, and of the
// sign-ins in progress. A Store that implements Store here serves oidc; one
// that does not still serves everything else.
//
// It is a package of its own, with no dependency beyond the core, so that
// a store implements it without compiling or downloading anything of
// OpenID Connect: store/memory, store/sqlite and store/postgres do, and
// store/storetest checks every implementation (the uniqueness of a
// provider account, the single use of an attempt, the last-way-in rule and
// the reclaiming of an account under concurrency included).
package identitystore

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/storable"
)

// Limits on what a Store must keep; package oidc never gives more.
const (
	// MaxProviderBytes is the longest provider name (lower-case letters
	// and digits).
	MaxProviderBytes = 32
	// MaxIssuerBytes is the longest issuer (a URL).
	MaxIssuerBytes = 512
	// MaxSubjectBytes is the longest subject (OpenID Connect allows 255
	// ASCII characters).
	MaxSubjectBytes = 255
	// MaxEmailBytes is the longest email kept with an identity.
	MaxEmailBytes = 320
	// MaxAttemptDataBytes is the longest Attempt.Data.
	MaxAttemptDataBytes = 2048
)

// Identity is an account at another provider, linked to a user: the
// user signs in through it.
type Identity struct {
	UserID string
	// Provider is the service's name of the provider ("google"): 1 to
	// MaxProviderBytes lower-case letters and digits. A user has at most
	// one identity per provider.
	Provider string
	// Issuer and Subject name the provider's account, as the ID token's
	// iss and sub say: unique together, among every user's identities,
	// compared byte for byte. Neither is empty (1 to MaxIssuerBytes, 1 to
	// MaxSubjectBytes).
	Issuer  string
	Subject string
	// Email is the address the provider gave for the account when it was
	// linked, "" for none: shown to the user, never used to find anyone.
	Email    string
	LinkedAt time.Time
}

// Attempt is a sign-in (or a link) through a provider in progress: the
// browser went to the provider, and its callback is awaited. It is
// single-use (TakeAttempt).
type Attempt struct {
	// ID is the SHA-256 hash of the attempt's state parameter (32 bytes):
	// the state itself is never stored.
	ID []byte
	// Binding is the SHA-256 hash of the value of the cookie that binds
	// the attempt to the browser that began it (32 bytes).
	Binding []byte
	// Provider is the provider's name.
	Provider string
	// UserID is the user whose account the provider's is to be linked to;
	// empty for a sign-in.
	UserID string
	// Data is package oidc's state of the attempt (its nonce and PKCE
	// verifier): opaque to the store, at most MaxAttemptDataBytes.
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps linked identities and attempts. It follows the error
// contract of auth.UserStore (auth.ErrNotFound, auth.ErrConflict,
// auth.ErrInvalidInput, failures wrapping auth.ErrStoreUnavailable) and
// must be safe for concurrent use: the checks and changes below are atomic
// across every instance that shares the store.
//
// A value to store beyond the limits said here, or text that is not valid
// UTF-8 or holds a NUL, is auth.ErrInvalidInput, and nothing is stored;
// such a key to look up is an unknown one, auth.ErrNotFound.
//
// Deleting a user (auth.UserDeleter) deletes everything Store keeps of the
// user: identities and attempts.
//
// A store that also keeps passkeys (passkeystore.Store) counts a user's
// identities as ways in when it deletes a credential with keepLast, and
// the user's passkeys when it unlinks an identity with keepLast.
type Store interface {
	// Identity returns the identity of the provider account (issuer,
	// subject), whoever's, or auth.ErrNotFound.
	Identity(ctx context.Context, issuer, subject string) (*Identity, error)
	// Identities returns the user's identities, the oldest first (by
	// LinkedAt, then Provider), none for a user without any.
	Identities(ctx context.Context, userID string) ([]Identity, error)
	// LinkIdentity stores id, linked to id.UserID. It returns
	// auth.ErrConflict, and changes nothing, if the provider account
	// (Issuer, Subject) is linked already (to anyone), or the user has an
	// identity at id.Provider; auth.ErrNotFound if the user does not
	// exist.
	LinkIdentity(ctx context.Context, id *Identity) error
	// CreateUserWithIdentity creates u as auth.UserStore.CreateUser does
	// (with its errors), with id (id.UserID is u.ID as given;
	// auth.ErrInvalidInput if not) linked to it: all or nothing. A store
	// over a table that makes its own keys sets both u.ID and id.UserID to
	// the key it made. It returns auth.ErrConflict, and creates nothing,
	// if the provider account is linked already.
	CreateUserWithIdentity(ctx context.Context, u *auth.User, id *Identity) error
	// UnlinkIdentity deletes the user's identity at provider. With
	// keepLast, it refuses, with auth.ErrConflict and changing nothing, to
	// delete the user's last way in: the only identity of a user who has
	// no passkey (when the store keeps passkeys). The caller decides
	// keepLast (the user has no password). The check and the deletion are
	// one atomic step. It returns auth.ErrNotFound if the user has no
	// identity at provider.
	UnlinkIdentity(ctx context.Context, userID, provider string, keepLast bool) error
	// ReclaimAccount takes back the account userID, whose email was never
	// proven, for the owner of that address, whom a provider has just
	// vouched for: in one atomic step, if the user's Email is still email
	// and not verified, it links id to the user, makes the email
	// verified, and removes every way in that the account had: its
	// password (PasswordHash becomes empty), passkeys (passkeystore: its
	// credentials, its user handle and its registration ceremonies),
	// second factors, recovery codes and pending challenges (mfastore),
	// other identities, pending attempts (a link begun before would
	// otherwise link its provider account after), pending mailed links
	// (recovery's), and every login (its sessions revoked, its
	// TokenVersion incremented and TokensEndedAt set to now, as
	// InvalidateTokens does). id.UserID is userID (auth.ErrInvalidInput
	// if not, or if email is empty). It returns auth.ErrConflict, changing
	// nothing, if the email changed or was verified meanwhile, or the
	// provider account is linked already (to anyone, this user included);
	// auth.ErrNotFound if the user does not exist.
	ReclaimAccount(ctx context.Context, userID, email string, id *Identity, now time.Time) error

	// CreateAttempt stores a; auth.ErrNotFound if a.UserID is not empty
	// and that user does not exist; auth.ErrConflict if an attempt with
	// a.ID is stored (a random state never repeats). The store may delete
	// attempts that expired before a.CreatedAt.
	CreateAttempt(ctx context.Context, a *Attempt) error
	// TakeAttempt deletes the attempt with this id and returns it, expired
	// or not: of any number of calls at once, exactly one gets it. It
	// returns auth.ErrNotFound if there is no such attempt.
	TakeAttempt(ctx context.Context, id []byte) (*Attempt, error)
}

// ValidProvider reports whether p is a provider name a Store keeps: 1 to
// MaxProviderBytes lower-case letters and digits.
func ValidProvider(p string) bool {
	if p == "" || len(p) > MaxProviderBytes {
		return false
	}
	for _, c := range []byte(p) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ValidAccount reports whether issuer and subject can name a provider
// account a Store keeps.
func ValidAccount(issuer, subject string) bool {
	return issuer != "" && len(issuer) <= MaxIssuerBytes && subject != "" &&
		len(subject) <= MaxSubjectBytes && storable.Strings(issuer, subject)
}

// Valid reports whether every field of id is within the limits a Store
// keeps (else the Store answers auth.ErrInvalidInput).
func (id *Identity) Valid() bool {
	return ValidProvider(id.Provider) && ValidAccount(id.Issuer, id.Subject) &&
		len(id.Email) <= MaxEmailBytes && storable.Strings(id.UserID, id.Email)
}

// Valid reports whether every field of a is within the limits a Store
// keeps (else the Store answers auth.ErrInvalidInput).
func (a *Attempt) Valid() bool {
	return len(a.ID) == sha256.Size && len(a.Binding) == sha256.Size && ValidProvider(a.Provider) &&
		storable.Strings(a.UserID) && len(a.Data) <= MaxAttemptDataBytes
}
