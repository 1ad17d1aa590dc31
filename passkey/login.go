package passkey

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// passkeyMethods are the amr of a passkey login: possession of a key,
// unlocked by the user (user verification), which is a second factor.
var passkeyMethods = []string{auth.MethodPossession, auth.MethodMFA}

// BeginLogin begins a passkey login for whoever has one: its options list
// no credentials (allowCredentials is empty: the authenticator offers the
// passkeys it has for the relying party) and require user verification.
// c is who asks: it returns a *auth.RateLimitError when c's address has
// begun too many ceremonies (Config.CeremonyAddress).
func (p *Passkeys) BeginLogin(ctx context.Context, c auth.Client) (*Begun, error) {
	if err := p.limitBegin(ctx, c); err != nil {
		return nil, err
	}
	assertion, session, err := p.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("passkey: beginning a login: %w", err)
	}
	opts, err := withMember(assertion.Response, "allowCredentials", []protocol.CredentialDescriptor{})
	if err != nil {
		return nil, err
	}
	token, err := p.begin(ctx, kindLogin, "", &state{Session: *session})
	if err != nil {
		return nil, err
	}
	return &Begun{Ceremony: token, Options: json.RawMessage(opts)}, nil
}

// Login is the finish of a passkey login.
type Login struct {
	// Ceremony is BeginLogin's Begun.Ceremony.
	Ceremony string
	// Credential is the browser's PublicKeyCredential as its toJSON
	// writes it.
	Credential []byte
	// Client is who signs in: a failure counts against its address's
	// budget of failed sign-ins (auth.Limits.LoginAddress), as a wrong
	// password does.
	Client auth.Client
	// Device is the browser's device value, if it has one (see
	// auth.Credentials.Device).
	Device string
}

// FinishLogin verifies the credential of a login and signs its owner in
// (auth.Authenticator.SignIn, with amr "pop" and "mfa"). It returns
// ErrInvalidCeremony; ErrUnknownCredential for a credential no user has;
// ErrInvalidCredential for one that fails verification (see the package
// doc's policy); auth.ErrUserDisabled for a disabled user (only once the
// credential is verified); a *auth.RateLimitError when the client
// address has failed too often.
func (p *Passkeys) FinishLogin(ctx context.Context, l Login) (*auth.TokenPair, error) {
	res, err := p.a.LimitSignIn(ctx, l.Client)
	if err != nil {
		return nil, err
	}
	defer res.Settle(auth.AttemptCancelled) // unless settled below
	refuse := func(userID, username, reason string, err error) (*auth.TokenPair, error) {
		res.Settle(auth.AttemptFailed)
		p.emit(ctx, EventRefused, userID, username, l.Client, reason)
		return nil, err
	}
	st, err := p.take(ctx, l.Ceremony, kindLogin, "")
	if errors.Is(err, ErrInvalidCeremony) {
		return refuse("", "", "ceremony", err)
	}
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(l.Credential)
	if err != nil {
		return refuse("", "", "malformed", fmt.Errorf("%w: %w", ErrInvalidCredential, err))
	}
	sc, err := p.store.Credential(ctx, parsed.RawID)
	if errors.Is(err, auth.ErrNotFound) {
		return refuse("", "", "unknown_credential", ErrUnknownCredential)
	}
	if err != nil {
		return nil, err
	}
	u, err := p.a.Store().UserByID(ctx, sc.UserID)
	if errors.Is(err, auth.ErrNotFound) { // deleted meanwhile
		return refuse("", "", "unknown_credential", ErrUnknownCredential)
	}
	if err != nil {
		return nil, err
	}
	handle, err := p.store.UserHandle(ctx, sc.UserID, nil)
	if errors.Is(err, auth.ErrNotFound) {
		return refuse(u.ID, u.Username, "unknown_credential", ErrUnknownCredential)
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(parsed.Response.UserHandle, handle) != 1 {
		return refuse(u.ID, u.Username, "user_handle", fmt.Errorf("%w: the user handle is not the credential owner's", ErrInvalidCredential))
	}
	wc := toWebAuthn(sc)
	// The backup flags are re-learned, not fatal (see the package doc):
	// go-webauthn refuses a BE flag that changed since the last use.
	wc.Flags.BackupEligible = parsed.Response.AuthenticatorData.Flags.HasBackupEligible()
	owner := &user{handle: handle, name: u.Username, creds: []webauthn.Credential{wc}}
	_, got, err := p.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return owner, nil }, st.Session, parsed)
	if err != nil {
		return refuse(u.ID, u.Username, "verification", fmt.Errorf("%w: %w", ErrInvalidCredential, err))
	}
	if !got.Flags.UserPresent || !got.Flags.UserVerified {
		return refuse(u.ID, u.Username, "verification", fmt.Errorf("%w: no user presence or verification", ErrInvalidCredential))
	}
	if got.Authenticator.CloneWarning {
		return refuse(u.ID, u.Username, "sign_count", fmt.Errorf("%w: the sign counter went back", ErrInvalidCredential))
	}
	if u.Disabled {
		return refuse(u.ID, u.Username, "disabled", auth.ErrUserDisabled)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	err = p.store.UseCredential(ctx, sc.ID, sc.SignCount, passkeystore.Use{SignCount: got.Authenticator.SignCount,
		BackupEligible: flags.HasBackupEligible(), BackupState: flags.HasBackupState(), At: p.a.Now()})
	switch {
	case errors.Is(err, auth.ErrConflict): // another login with this count won
		return refuse(u.ID, u.Username, "sign_count", fmt.Errorf("%w: the sign counter went back", ErrInvalidCredential))
	case errors.Is(err, auth.ErrNotFound): // removed meanwhile
		return refuse(u.ID, u.Username, "unknown_credential", ErrUnknownCredential)
	case err != nil:
		return nil, err
	}
	pair, err := p.a.SignIn(ctx, auth.Verified{User: u, Methods: passkeyMethods, Client: l.Client, Device: l.Device})
	if err != nil {
		if errors.Is(err, auth.ErrUserDisabled) {
			res.Settle(auth.AttemptFailed)
		}
		return nil, err
	}
	res.Settle(auth.AttemptSucceeded)
	p.emit(ctx, EventUsed, u.ID, u.Username, l.Client, "")
	return pair, nil
}

// toWebAuthn turns a stored credential into go-webauthn's.
func toWebAuthn(c *passkeystore.Credential) webauthn.Credential {
	return webauthn.Credential{
		ID:        c.ID,
		PublicKey: c.PublicKey,
		Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: true,
			BackupEligible: c.BackupEligible, BackupState: c.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}
