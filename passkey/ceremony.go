package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// The kinds of ceremony (passkeystore.Ceremony.Kind).
const (
	kindRegistration = "registration"
	kindLogin        = "login"
	kindSignup       = "signup"
)

// maxCeremonyToken is the longest ceremony token looked up: the tokens
// made here are 43 characters.
const maxCeremonyToken = 64

// state is what a ceremony keeps between its options and its finish
// (passkeystore.Ceremony.Data).
type state struct {
	Session webauthn.SessionData `json:"s"`
	// A sign-up's account: the name and email as given, checked again
	// when it is created, and its user handle.
	Username string `json:"u,omitempty"`
	Email    string `json:"e,omitempty"`
	Handle   []byte `json:"h,omitempty"`
}

// limitBegin draws a ceremony begun by c from its address's budget
// (Config.CeremonyAddress): a *auth.RateLimitError when it is spent.
func (p *Passkeys) limitBegin(ctx context.Context, c auth.Client) error {
	if c.Addr == "" {
		return nil
	}
	res, err := p.a.Limiter().Reserve(ctx, p.beginRate.Key("passkey-ceremony-address", c.Addr))
	if err != nil {
		return err
	}
	res.Settle(auth.AttemptFailed) // every one counts
	return nil
}

// begin stores a ceremony of kind (for userID, a registration's user)
// with st, and returns its token.
func (p *Passkeys) begin(ctx context.Context, kind, userID string, st *state) (string, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("passkey: encoding a ceremony: %w", err)
	}
	if len(data) > passkeystore.MaxCeremonyDataBytes {
		return "", fmt.Errorf("passkey: a ceremony of %d bytes is too large", len(data))
	}
	token := encodeID(randomBytes(32))
	now := p.a.Now()
	c := &passkeystore.Ceremony{ID: ceremonyID(token), Kind: kind, UserID: userID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(p.ttl)}
	if err := p.store.CreateCeremony(ctx, c); err != nil {
		return "", err
	}
	return token, nil
}

// take spends the ceremony named by token and returns its state, or
// ErrInvalidCeremony if it is unknown, spent, expired, of another kind
// than kind or of another user than userID.
func (p *Passkeys) take(ctx context.Context, token, kind, userID string) (*state, error) {
	if token == "" || len(token) > maxCeremonyToken {
		return nil, ErrInvalidCeremony
	}
	c, err := p.store.TakeCeremony(ctx, ceremonyID(token))
	if errors.Is(err, auth.ErrNotFound) {
		return nil, ErrInvalidCeremony
	}
	if err != nil {
		return nil, err
	}
	if c.Kind != kind || c.UserID != userID || !p.a.Now().Before(c.ExpiresAt) {
		return nil, ErrInvalidCeremony
	}
	var st state
	if err := json.Unmarshal(c.Data, &st); err != nil {
		return nil, fmt.Errorf("passkey: decoding a ceremony: %w", err)
	}
	return &st, nil
}

// user is an account as go-webauthn sees it.
type user struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// creationOptions begins a registration for u (a sign-up's account too),
// excluding the credentials it has, and returns its options and session.
func (p *Passkeys) creationOptions(u *user, have []passkeystore.Credential) (json.RawMessage, *webauthn.SessionData, error) {
	exclude := make([]protocol.CredentialDescriptor, len(have))
	for i, c := range have {
		exclude[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: c.ID}
		for _, t := range c.Transports {
			exclude[i].Transport = append(exclude[i].Transport, protocol.AuthenticatorTransport(t))
		}
	}
	creation, session, err := p.wa.BeginRegistration(u, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: beginning a registration: %w", err)
	}
	// excludeCredentials is always listed, even empty, as the contract
	// shows it.
	opts, err := withMember(creation.Response, "excludeCredentials", exclude)
	if err != nil {
		return nil, nil, err
	}
	return opts, session, nil
}

// withMember encodes v, a JSON object, with the member name set to value.
func withMember(v any, name string, value any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("passkey: encoding options: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("passkey: encoding options: %w", err)
	}
	if m[name], err = json.Marshal(value); err != nil {
		return nil, fmt.Errorf("passkey: encoding options: %w", err)
	}
	return json.Marshal(m)
}

// stored turns a credential that go-webauthn verified into the store's.
func stored(c *webauthn.Credential, userID, name string, at time.Time) *passkeystore.Credential {
	s := &passkeystore.Credential{
		ID: c.ID, UserID: userID, Name: name, PublicKey: c.PublicKey,
		SignCount:      c.Authenticator.SignCount,
		BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState,
		CreatedAt: at,
	}
	if len(c.Authenticator.AAGUID) == 16 {
		s.AAGUID = c.Authenticator.AAGUID
	}
	for _, t := range c.Transport {
		if len(s.Transports) < 8 && len(t) <= 32 && t != "" {
			s.Transports = append(s.Transports, string(t))
		}
	}
	return s
}

// verifyCreation reads and verifies a registration's credential (JSON, as the
// browser's toJSON writes it) against its ceremony: the user handle,
// challenge, origin, relying party, type, user presence and verification.
func (p *Passkeys) verifyCreation(st *state, credential []byte) (*webauthn.Credential, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredential, err)
	}
	c, err := p.wa.CreateCredential(&user{handle: st.Session.UserID}, st.Session, parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredential, err)
	}
	switch {
	case !c.Flags.UserPresent || !c.Flags.UserVerified:
		return nil, fmt.Errorf("%w: no user presence or verification", ErrInvalidCredential)
	case len(c.ID) == 0 || len(c.ID) > passkeystore.MaxCredentialIDBytes:
		return nil, fmt.Errorf("%w: a credential id of %d bytes", ErrInvalidCredential, len(c.ID))
	case len(c.PublicKey) > passkeystore.MaxPublicKeyBytes:
		return nil, fmt.Errorf("%w: a public key of %d bytes", ErrInvalidCredential, len(c.PublicKey))
	}
	return c, nil
}
