// Package passkey signs users in with passkeys (WebAuthn discoverable
// credentials): registration while signed in, a login without a username
// or a password, and a sign-up that creates an account whose only way in
// is its passkey. It is a module of its own, built on
// github.com/go-webauthn/webauthn, so that a service without passkeys
// neither downloads nor compiles it; package passkeyhttp serves it over
// HTTP.
//
// A passkey login is a login with a second factor: it is possession of a
// device key unlocked by the user (a fingerprint, a face, a PIN), so its
// tokens' amr holds auth.MethodPossession and auth.MethodMFA, and package
// mfa's Intercept never asks it for a code.
//
// # Credential policy
//
// What it accepts, and why:
//
//   - User verification is required at every ceremony (the options say
//     "required", and a response without the UV flag is refused), and
//     user presence too; attestation is "none": the model of the
//     authenticator is not checked, since passkeys are synced between
//     devices of every brand.
//   - Only discoverable credentials (residentKey "required"): "Sign in
//     with a passkey" asks for no username, so a credential the
//     authenticator cannot find by itself would do nothing.
//   - The relying-party id and the origins come from Config, never from
//     a request's Host or Origin header.
//   - The sign counter: an authenticator that keeps none answers 0 at
//     every use, which is normal for synced passkeys and accepted. Once a
//     credential has answered a non-zero count, a count that is not
//     greater than the stored one is refused (a cloned authenticator, or
//     a replay) and logged: EventRefused with Reason "sign_count" and
//     Warning set. The new count is stored by a compare-and-set, so two
//     logins at once with the same count cannot both pass.
//   - The backup flags (BE, BS) are re-learned at every login rather
//     than fatal: a password manager that starts or stops syncing a
//     passkey flips them, and refusing the passkey then locks its owner
//     out (go-webauthn refuses a changed BE flag by default; this package
//     records the new flags instead).
//   - A credential id is registered once, to one user: registering one
//     that exists is refused, whoever has it.
//
// # Ceremonies
//
// Every ceremony is a store record (passkeystore.Ceremony), named by an
// opaque token that the client sends back: any instance finishes what
// another began. It is single-use (taken from the store by the finish,
// whatever the outcome), bound to its kind (registration, login, sign-up)
// and, for a registration, to its user, and it expires after
// Config.CeremonyTTL. Challenges are 32 random bytes.
//
// Its storage is passkeystore.Store, which store/memory, store/sqlite and
// store/postgres implement; New refuses a Store without it.
package passkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// Config configures passkeys. RPID and Origins are required; the other
// fields have defaults.
type Config struct {
	// RPID is the relying-party id: the domain that passkeys are bound to
	// (a host name, never an IP address), such as "example.com".
	RPID string
	// RPName is the name authenticators show beside the account. Default
	// "goauthkit".
	RPName string
	// Origins are the origins whose pages may use passkeys, such as
	// "https://example.com" or "https://app.example.com": each https (or
	// http on localhost), whose host is RPID or a name under it.
	Origins []string
	// CeremonyTTL is how long a ceremony lives between its options and
	// its finish. Default 5 minutes; at most an hour.
	CeremonyTTL time.Duration
	// MaxPerUser bounds a user's passkeys. Default 32.
	MaxPerUser int
	// CeremonyAddress bounds the login and registration ceremonies begun
	// from one client address, each stored until it is finished or
	// expires: every one counts, in the Authenticator's Limiter (shared by
	// the instances when it is). Sign-ups draw on
	// auth.Limits.SignupAddress instead. Default 300, then one per 200ms:
	// at most about 1800 live ceremonies per address with the default
	// CeremonyTTL.
	CeremonyAddress auth.Rate
}

// Passkeys are the passkeys of an Authenticator. They are safe for
// concurrent use.
type Passkeys struct {
	a         *auth.Authenticator
	store     passkeystore.Store
	wa        *webauthn.WebAuthn
	rpID      string
	ttl       time.Duration
	max       int
	beginRate auth.Rate
}

// Errors of passkeys, for errors.Is. Package passkeyhttp answers each as
// the HTTP contract says.
var (
	// ErrInvalidCredential refuses a credential that failed
	// verification: a bad signature; a wrong challenge, origin, relying
	// party or type; no user presence or verification; a user handle
	// that is not the credential owner's; a sign counter gone back; a
	// credential id registered already; a malformed credential.
	ErrInvalidCredential = errors.New("passkey: the credential was refused")
	// ErrUnknownCredential refuses a login with a credential that no
	// user has (deleted here, still in the user's password manager).
	ErrUnknownCredential = errors.New("passkey: the credential is not known")
	// ErrInvalidCeremony refuses a ceremony token that is unknown, spent,
	// expired, of another kind or, for a registration, of another user.
	ErrInvalidCeremony = errors.New("passkey: the ceremony is unknown, spent or expired")
	// ErrLastCredential refuses to remove the user's last way to sign
	// in: a passkey of an account without a password, another passkey or
	// a linked provider account (identitystore, when the store keeps
	// them).
	ErrLastCredential = errors.New("passkey: it is the account's last way to sign in")
	// ErrInvalidName refuses a passkey name that is not 1 to 64
	// characters of valid UTF-8 without control characters.
	ErrInvalidName = errors.New("passkey: a name is 1 to 64 characters, without control characters")
	// ErrTooMany refuses a registration for a user who has
	// Config.MaxPerUser passkeys.
	ErrTooMany = errors.New("passkey: the account has as many passkeys as it may")
)

// Events of passkeys, emitted through the Authenticator
// (auth.Authenticator.Emit) to Config.OnEvent, the audit log and the
// metrics. None carries a key, a credential or a challenge.
const (
	// EventAdded: a passkey was registered (by a sign-up too).
	EventAdded auth.EventType = "passkey_added"
	// EventRenamed: a passkey was renamed.
	EventRenamed auth.EventType = "passkey_renamed"
	// EventRemoved: a passkey was removed.
	EventRemoved auth.EventType = "passkey_removed"
	// EventUsed: a passkey signed its user in.
	EventUsed auth.EventType = "passkey_used"
	// EventRefused: a passkey login, registration or sign-up was refused;
	// Reason says why: "ceremony", "malformed", "unknown_credential",
	// "user_handle", "verification", "sign_count", "disabled",
	// "registered".
	EventRefused auth.EventType = "passkey_refused"
)

// errNoStore is New's refusal of a Store without the capability.
type errNoStore struct{}

func (errNoStore) Error() string {
	return "passkey: New: the Authenticator's Store does not implement passkeystore.Store"
}
func (errNoStore) Unwrap() error { return auth.ErrMissingCapability }

// New returns the passkeys of a. It refuses a Store that does not
// implement passkeystore.Store (an error matching
// auth.ErrMissingCapability) and a Config field that is missing or out of
// its bounds, naming it.
func New(a *auth.Authenticator, c Config) (*Passkeys, error) {
	if a == nil {
		return nil, errors.New("passkey: New: nil Authenticator")
	}
	store, ok := a.Store().(passkeystore.Store)
	if !ok {
		return nil, errNoStore{}
	}
	if err := checkRPID(c.RPID); err != nil {
		return nil, err
	}
	if len(c.Origins) == 0 {
		return nil, errors.New("passkey: Config.Origins must name at least one origin")
	}
	origins := make([]string, len(c.Origins))
	for i, o := range c.Origins {
		var err error
		if origins[i], err = checkOrigin(o, c.RPID); err != nil {
			return nil, err
		}
	}
	switch {
	case c.CeremonyTTL < 0 || c.CeremonyTTL > time.Hour:
		return nil, errors.New("passkey: Config.CeremonyTTL must be between 0 (5 minutes) and 1h")
	case c.MaxPerUser < 0 || c.MaxPerUser > 256:
		return nil, errors.New("passkey: Config.MaxPerUser must be between 0 (32) and 256")
	case len(c.RPName) > 64 || !utf8.ValidString(c.RPName):
		return nil, errors.New("passkey: Config.RPName must be at most 64 bytes of UTF-8")
	case c.CeremonyAddress.Burst < 0 || c.CeremonyAddress.Interval < 0:
		return nil, errors.New("passkey: Config.CeremonyAddress must not be negative")
	}
	p := &Passkeys{a: a, store: store, rpID: c.RPID, ttl: c.CeremonyTTL, max: c.MaxPerUser, beginRate: c.CeremonyAddress}
	if p.beginRate.Burst == 0 {
		p.beginRate.Burst = 300
	}
	if p.beginRate.Interval == 0 {
		p.beginRate.Interval = 200 * time.Millisecond
	}
	if p.ttl == 0 {
		p.ttl = 5 * time.Minute
	}
	if p.max == 0 {
		p.max = 32
	}
	name := c.RPName
	if name == "" {
		name = "goauthkit"
	}
	var err error
	p.wa, err = webauthn.New(&webauthn.Config{
		RPID:                  c.RPID,
		RPDisplayName:         name,
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
		// Ceremonies expire by the Authenticator's clock (take), not by
		// go-webauthn's; the browser's timeout is the ceremony's life.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: p.ttl, TimeoutUVD: p.ttl},
			Registration: webauthn.TimeoutConfig{Timeout: p.ttl, TimeoutUVD: p.ttl},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: New: %w", err)
	}
	return p, nil
}

// checkRPID checks that id is a host name that can be a relying-party id.
func checkRPID(id string) error {
	switch {
	case id == "":
		return errors.New("passkey: Config.RPID is required")
	case net.ParseIP(strings.Trim(id, "[]")) != nil:
		return errors.New("passkey: Config.RPID must be a host name, not an IP address")
	case len(id) > 253 || strings.ContainsAny(id, "/:@ ") || strings.ToLower(id) != id || strings.Trim(id, ".") != id:
		return errors.New("passkey: Config.RPID must be a lower-case host name, such as example.com")
	}
	return nil
}

// checkOrigin checks that o is an origin whose pages may use passkeys of
// rpID, and returns it as browsers write it.
func checkOrigin(o, rpID string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("passkey: Config.Origins: %q is not an origin (scheme://host[:port])", o)
	}
	host := strings.ToLower(u.Hostname())
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return "", fmt.Errorf("passkey: Config.Origins: the host of %q is not %s or a name under it", o, rpID)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (host == "localhost" || strings.HasSuffix(host, ".localhost")):
	default:
		return "", fmt.Errorf("passkey: Config.Origins: %q must be https (http only on localhost)", o)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// RPID returns the relying-party id, which a page gives the WebAuthn
// Signal API.
func (p *Passkeys) RPID() string { return p.rpID }

// Begun is a ceremony begun: the token that names it, which the client
// sends back with its credential, and the options for the browser's
// navigator.credentials.create or get, in the JSON form that
// PublicKeyCredential.parseCreationOptionsFromJSON and
// parseRequestOptionsFromJSON read (binary values in base64url).
type Begun struct {
	Ceremony string
	Options  json.RawMessage
}

// Passkey is a user's passkey, as the user sees it.
type Passkey struct {
	// ID is the WebAuthn credential id.
	ID   []byte
	Name string
	// CreatedAt is when it was registered; LastUsedAt when it last signed
	// the user in, zero until then.
	CreatedAt  time.Time
	LastUsedAt time.Time
	// BackedUp is the authenticator's backup-state flag (BS) at the last
	// ceremony: the passkey is synced (a password manager, a platform's
	// keychain).
	BackedUp bool
}

func view(c *passkeystore.Credential) Passkey {
	return Passkey{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt, BackedUp: c.BackupState}
}

// checkName checks a passkey name given by a user.
func checkName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > 64 || !utf8.ValidString(name) || strings.TrimSpace(name) == "" {
		return ErrInvalidName
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ErrInvalidName
		}
	}
	return nil
}

// emit sends an event of passkeys.
func (p *Passkeys) emit(ctx context.Context, t auth.EventType, userID, username string, c auth.Client, reason string) {
	e := auth.Event{Type: t, UserID: userID, Username: username, ClientAddr: c.Addr, Reason: reason}
	if t == EventRefused {
		e.Warning = true
	}
	p.a.Emit(ctx, e)
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

// ceremonyID is the store's key of a ceremony token.
func ceremonyID(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// encodeID writes a credential id or user handle as the HTTP contract
// does: base64url without padding.
func encodeID(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
