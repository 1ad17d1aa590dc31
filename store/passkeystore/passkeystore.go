// Package passkeystore is the store capability of passkeys: what package
// passkey (github.com/goauthkit/auth/passkey, a module of its own, with
// go-webauthn) keeps of a user's WebAuthn credentials, of the user's
// WebAuthn user handle, and of the ceremonies in progress. A Store that
// implements Store here serves passkey; one that does not still serves
// everything else.
//
// It is a package of its own, with no dependency beyond the core, so that
// a store implements it without compiling or downloading anything of
// WebAuthn: store/memory, store/sqlite and store/postgres do, and
// store/storetest checks every implementation (the lookup of a credential
// by its id, the compare-and-set of the sign counter, the single use of a
// ceremony and the last-credential rule under concurrency included).
//
// Nothing here is secret: a credential's public key is public, a user
// handle is an opaque random value, and a ceremony is kept under the hash
// of its token.
package passkeystore

import (
	"context"
	"crypto/sha256"
	"time"
	"unicode/utf8"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/storable"
)

// Limits on what a Store must keep; package passkey never gives more.
const (
	// MaxCredentialIDBytes is the longest credential id (WebAuthn allows
	// 1023 bytes).
	MaxCredentialIDBytes = 1023
	// MaxPublicKeyBytes is the longest public key (a COSE_Key; an RSA-4096
	// key is about 550 bytes).
	MaxPublicKeyBytes = 2048
	// MaxCeremonyDataBytes is the longest Ceremony.Data.
	MaxCeremonyDataBytes = 4096
	// MaxHandleBytes is the longest user handle (WebAuthn allows 64 bytes).
	MaxHandleBytes = 64
)

// Credential is a passkey: a WebAuthn public-key credential of a user.
type Credential struct {
	// ID is the credential id, 1 to MaxCredentialIDBytes bytes, unique
	// among every user's credentials.
	ID     []byte
	UserID string
	// Name is what the user calls it: 1 to 64 characters, valid UTF-8
	// without NUL.
	Name string
	// PublicKey is the credential's public key as a COSE_Key, at most
	// MaxPublicKeyBytes.
	PublicKey []byte
	// SignCount is the authenticator's signature counter at the last use
	// (0 for authenticators that keep none, as synced passkeys do).
	SignCount uint32
	// BackupEligible and BackupState are the authenticator data's BE and
	// BS flags at the last use: the passkey may be synced, and is.
	BackupEligible bool
	BackupState    bool
	// AAGUID names the authenticator's model: 16 bytes, or empty.
	AAGUID []byte
	// Transports are the transports the browser reported at registration
	// ("internal", "hybrid", "usb", ...): at most 8, of at most 32 bytes.
	Transports []string
	CreatedAt  time.Time
	// LastUsedAt is when it last signed the user in, zero until then.
	LastUsedAt time.Time
}

// Use is what a sign-in with a credential changes of it.
type Use struct {
	SignCount      uint32
	BackupEligible bool
	BackupState    bool
	At             time.Time
}

// Ceremony is a WebAuthn ceremony in progress: its options went to a
// browser, and its finish is awaited. It is single-use (TakeCeremony).
type Ceremony struct {
	// ID is the SHA-256 hash of the ceremony token's secret (32 bytes,
	// no more, no less): the token itself is never stored.
	ID []byte
	// Kind is the ceremony's purpose ("registration", "login", "signup"),
	// at most 16 bytes: a finish of another kind refuses it.
	Kind string
	// UserID is the user a registration is for; empty for a login or a
	// sign-up.
	UserID string
	// Data is package passkey's state of the ceremony (its challenge and
	// options): opaque to the store, at most MaxCeremonyDataBytes.
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps passkeys. It follows the error contract of auth.UserStore
// (auth.ErrNotFound, auth.ErrConflict, auth.ErrInvalidInput, failures
// wrapping auth.ErrStoreUnavailable) and must be safe for concurrent use:
// the compare-and-sets below are atomic across every instance that shares
// the store.
//
// Deleting a user (auth.UserDeleter) deletes everything Store keeps of the
// user: handle, credentials and ceremonies.
//
// A value to store beyond the limits said here (a handle, a credential's
// id, name, public key, AAGUID or transports, a ceremony's id, kind or
// data), or text that is not valid UTF-8 or holds a NUL, is
// auth.ErrInvalidInput, and nothing is stored; such a key to look up (an
// id, a user id) is an unknown one, auth.ErrNotFound, as auth.UserStore
// says of text.
type Store interface {
	// UserHandle returns the user's WebAuthn user handle. If the user has
	// none and handle is not nil, it stores handle (1 to MaxHandleBytes
	// bytes) as the user's first and returns it: of any number of calls
	// at once, all return the same handle. It returns auth.ErrNotFound if
	// the user does not exist, or has no handle and handle is nil;
	// auth.ErrConflict, and stores nothing, if the user has none and
	// handle is another user's (a random handle never is).
	UserHandle(ctx context.Context, userID string, handle []byte) ([]byte, error)
	// AddCredential stores c as a passkey of c.UserID, who must have a
	// user handle. It returns auth.ErrConflict, and changes nothing, if a
	// credential with c.ID exists (the user's or anyone's);
	// auth.ErrNotFound if the user does not exist, or has no user handle.
	AddCredential(ctx context.Context, c *Credential) error
	// CreateUserWithCredential creates u as auth.UserStore.CreateUser
	// does (with its errors), with handle as its user handle and c
	// (c.UserID is u.ID as given; auth.ErrInvalidInput if not) as its
	// passkey: all or nothing. A store over a table that makes its own
	// keys (see auth.UserStore.CreateUser) sets both u.ID and c.UserID to
	// the key it made. It returns auth.ErrConflict, and creates nothing,
	// if a credential with c.ID exists, or handle is another user's.
	CreateUserWithCredential(ctx context.Context, u *auth.User, handle []byte, c *Credential) error
	// Credential returns the credential with this id, whoever's, or
	// auth.ErrNotFound.
	Credential(ctx context.Context, id []byte) (*Credential, error)
	// Credentials returns the user's credentials, the oldest first (by
	// CreatedAt, then ID), none for a user without any.
	Credentials(ctx context.Context, userID string) ([]Credential, error)
	// UseCredential records u on the credential id, if its SignCount is
	// still prev (a compare-and-set: of any number of calls at once with
	// one prev and a greater count, exactly one succeeds). It returns
	// auth.ErrConflict when the SignCount is not prev,
	// auth.ErrNotFound when there is no such credential.
	UseCredential(ctx context.Context, id []byte, prev uint32, u Use) error
	// RenameCredential sets the name of the user's credential id and
	// returns the credential. It returns auth.ErrNotFound if the user has
	// no such credential (another user's included).
	RenameCredential(ctx context.Context, userID string, id []byte, name string) (*Credential, error)
	// DeleteCredential deletes the user's credential id. With keepLast, it
	// refuses, with auth.ErrConflict and changing nothing, to delete the
	// user's only credential (the check and the deletion are one atomic
	// step: of two deletions at once of a user's two credentials, one
	// fails). A store that also keeps linked identities
	// (identitystore.Store) refuses only when the user has no identity
	// either, in the same atomic step. It returns auth.ErrNotFound if the
	// user has no such credential (another user's included).
	DeleteCredential(ctx context.Context, userID string, id []byte, keepLast bool) error

	// CreateCeremony stores c; auth.ErrNotFound if c.UserID is not empty
	// and that user does not exist. The store may delete ceremonies that
	// expired before c.CreatedAt.
	CreateCeremony(ctx context.Context, c *Ceremony) error
	// TakeCeremony deletes the ceremony with this id and returns it,
	// expired or not: of any number of calls at once, exactly one gets it.
	// It returns auth.ErrNotFound if there is no such ceremony.
	TakeCeremony(ctx context.Context, id []byte) (*Ceremony, error)
}

// ValidHandle reports whether h is a user handle a Store keeps: 1 to
// MaxHandleBytes bytes.
func ValidHandle(h []byte) bool { return len(h) >= 1 && len(h) <= MaxHandleBytes }

// ValidCredentialID reports whether id is a credential id a Store keeps:
// 1 to MaxCredentialIDBytes bytes.
func ValidCredentialID(id []byte) bool { return len(id) >= 1 && len(id) <= MaxCredentialIDBytes }

// ValidName reports whether name is a credential's name: 1 to 64
// characters of valid UTF-8 without NUL.
func ValidName(name string) bool {
	return name != "" && storable.Strings(name) && utf8.RuneCountInString(name) <= 64
}

// Valid reports whether every field of c is within the limits a Store
// keeps (else the Store answers auth.ErrInvalidInput).
func (c *Credential) Valid() bool {
	if !ValidCredentialID(c.ID) || !storable.Strings(c.UserID) || !ValidName(c.Name) ||
		len(c.PublicKey) > MaxPublicKeyBytes || len(c.AAGUID) != 0 && len(c.AAGUID) != 16 ||
		len(c.Transports) > 8 || !storable.Strings(c.Transports...) {
		return false
	}
	for _, t := range c.Transports {
		if len(t) > 32 {
			return false
		}
	}
	return true
}

// Valid reports whether every field of c is within the limits a Store
// keeps (else the Store answers auth.ErrInvalidInput).
func (c *Ceremony) Valid() bool {
	return len(c.ID) == sha256.Size && len(c.Kind) <= 16 && storable.Strings(c.Kind, c.UserID) &&
		len(c.Data) <= MaxCeremonyDataBytes
}
