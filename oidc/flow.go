package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
)

// attemptData is what an attempt keeps (identitystore.Attempt.Data).
type attemptData struct {
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	// UserVersion is, for a link, the user's TokenVersion when it began:
	// a link whose user's logins were ended since (a password change, a
	// reclaim of the account) is refused.
	UserVersion int64 `json:"uv,omitempty"`
}

// Begun is an attempt begun: the provider's authorization URL to send the
// browser to, and the value of the cookie that binds the attempt to that
// browser (HttpOnly, Secure, SameSite=Lax, scoped to the callback's path,
// until ExpiresAt), which the callback must bring back.
type Begun struct {
	URL       string
	Binding   string
	ExpiresAt time.Time
}

// Begin begins a sign-in through the provider name for c; with link, a
// link of the provider's account to link (a user signed in, whose login
// the caller checked is recent) instead. It returns ErrUnknownProvider,
// or a *auth.RateLimitError when c's address has begun too many attempts
// (Config.AttemptAddress).
func (o *OIDC) Begin(ctx context.Context, name string, link *auth.User, c auth.Client) (*Begun, error) {
	p, ok := o.providers[name]
	if !ok {
		return nil, ErrUnknownProvider
	}
	if c.Addr != "" {
		res, err := o.a.Limiter().Reserve(ctx, o.perAddr.Key("oidc-attempt-address", c.Addr))
		if err != nil {
			return nil, err
		}
		res.Settle(auth.AttemptFailed) // every one counts
	}
	state, binding := randomString(32), randomString(32)
	d := attemptData{Nonce: randomString(32), Verifier: oauth2.GenerateVerifier()}
	if link != nil {
		d.UserVersion = link.TokenVersion
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	now := o.a.Now()
	a := &identitystore.Attempt{ID: digest(state), Binding: digest(binding), Provider: name, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(o.ttl)}
	if link != nil {
		a.UserID = link.ID
	}
	if err := o.store.CreateAttempt(ctx, a); err != nil {
		return nil, err
	}
	u := p.oauth.AuthCodeURL(state, gooidc.Nonce(d.Nonce), oauth2.S256ChallengeOption(d.Verifier))
	return &Begun{URL: u, Binding: binding, ExpiresAt: a.ExpiresAt}, nil
}

// Callback is what the provider's redirect brings back.
type Callback struct {
	// Provider is the name in the callback's path.
	Provider string
	// State, Code and Error are the query's state, code and error.
	State, Code, Error string
	// Binding is the value of the browser's attempt cookie.
	Binding string
	Client  auth.Client
	// Device is the browser's device value, if it has one.
	Device string
}

// Result is what a callback did.
type Result struct {
	// User is who signed in, or whose account the provider account was
	// linked to.
	User *auth.User
	// Pair is the sign-in's tokens; nil for a link.
	Pair *auth.TokenPair
	// Linked reports a link (of an attempt begun with a user).
	Linked bool
}

// maxParam bounds a callback's state, code and error.
const maxParam = 2048

// Finish checks a callback (see the package doc) and signs its user in,
// or links the provider's account for a link. The error is
// ErrUnknownProvider, ErrInvalidAttempt, ErrProviderRefused,
// ErrInvalidIDToken, ErrProviderUnavailable, ErrLinkedElsewhere or
// ErrAlreadyLinked (links), auth.ErrUserDisabled, or whatever
// auth.Authenticator.SignIn returns (package mfa's *mfa.Challenge for a
// user with a second factor).
func (o *OIDC) Finish(ctx context.Context, cb Callback) (*Result, error) {
	p, ok := o.providers[cb.Provider]
	if !ok {
		return nil, ErrUnknownProvider
	}
	refuse := func(u *auth.User, reason string, err error) (*Result, error) {
		o.emit(ctx, EventRefused, u, cb.Client, reason)
		return nil, err
	}
	if cb.State == "" || cb.Binding == "" || len(cb.State) > maxParam || len(cb.Binding) > maxParam || len(cb.Code) > maxParam || len(cb.Error) > maxParam {
		return refuse(nil, "attempt", ErrInvalidAttempt)
	}
	a, err := o.store.TakeAttempt(ctx, digest(cb.State))
	if errors.Is(err, auth.ErrNotFound) {
		return refuse(nil, "attempt", ErrInvalidAttempt)
	}
	if err != nil {
		return nil, err
	}
	if a.Provider != cb.Provider || subtle.ConstantTimeCompare(a.Binding, digest(cb.Binding)) != 1 || !o.a.Now().Before(a.ExpiresAt) {
		return refuse(nil, "attempt", ErrInvalidAttempt)
	}
	var d attemptData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, fmt.Errorf("oidc: decoding an attempt: %w", err)
	}
	if cb.Error != "" || cb.Code == "" {
		return refuse(nil, "provider_error", ErrProviderRefused)
	}
	id, err := o.exchange(ctx, p, cb.Code, &d)
	if err != nil {
		reason := "id_token"
		switch {
		case errors.Is(err, ErrProviderUnavailable):
			reason = "unavailable"
		case errors.Is(err, ErrProviderRefused):
			reason = "exchange"
		}
		return refuse(nil, reason, err)
	}
	if a.UserID != "" {
		return o.link(ctx, p, a.UserID, d.UserVersion, id, cb.Client)
	}
	return o.signIn(ctx, p, id, cb)
}

// identity is what an ID token says of the provider's account.
type identity struct {
	Issuer, Subject string
	Email           string
	EmailVerified   bool
	Username        string // preferred_username
}

// idClaims are the claims Finish reads beyond go-oidc's.
type idClaims struct {
	Subject           string          `json:"sub"`
	Audience          json.RawMessage `json:"aud"`
	AuthorizedParty   string          `json:"azp"`
	Expiry            *json.Number    `json:"exp"`
	IssuedAt          *json.Number    `json:"iat"`
	Email             string          `json:"email"`
	EmailVerified     json.RawMessage `json:"email_verified"`
	PreferredUsername string          `json:"preferred_username"`
	TenantID          string          `json:"tid"`
}

// exchange trades the code for tokens, with the attempt's PKCE verifier,
// and checks the ID token.
func (o *OIDC) exchange(ctx context.Context, p *provider, code string, d *attemptData) (*identity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(d.Verifier))
	if err == nil && p.api != "" {
		return o.githubIdentity(ctx, p, tok)
	}
	if err != nil {
		var re *oauth2.RetrieveError
		var ne net.Error
		var ue *url.Error
		switch {
		case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 && re.ErrorCode != "":
			return nil, fmt.Errorf("%w: %s", ErrProviderRefused, re.ErrorCode)
		case errors.As(err, &ne), errors.As(err, &ue), errors.As(err, &re), errors.Is(err, context.DeadlineExceeded):
			return nil, fmt.Errorf("%w: the code exchange: %w", ErrProviderUnavailable, err)
		}
		// Anything else: an answer that is not a token response (not JSON,
		// no access token).
		return nil, fmt.Errorf("%w: the code exchange: %w", ErrProviderUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token", ErrInvalidIDToken)
	}
	var keysErr error
	t, err := p.verifier.Verify(withKeysFailed(ctx, &keysErr), raw)
	if err != nil {
		if keysErr != nil {
			return nil, keysErr // the keys could not be fetched: ErrProviderUnavailable
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	var c idClaims
	if err := t.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: its claims: %w", ErrInvalidIDToken, err)
	}
	if err := o.checkClaims(p, t, &c, d.Nonce); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	return &identity{Issuer: t.Issuer, Subject: t.Subject, Email: c.Email,
		EmailVerified: string(c.EmailVerified) == "true", Username: c.PreferredUsername}, nil
}

// checkClaims makes the checks of an ID token that go-oidc leaves to its
// caller: exp present and not past, iat not ahead (with the leeway), azp
// when there are several audiences, the nonce, and sub.
func (o *OIDC) checkClaims(p *provider, t *gooidc.IDToken, c *idClaims, nonce string) error {
	now := o.a.Now()
	if p.tenants != "" {
		// A multi-tenant provider: the token's issuer is its tenant's.
		if !tenantID(c.TenantID) || t.Issuer != strings.Replace(p.tenants, "{tenantid}", c.TenantID, 1) {
			return errors.New("the issuer is not the token's tenant's")
		}
	}
	if c.Expiry == nil {
		return errors.New("no exp")
	}
	if !t.Expiry.Add(o.leeway).After(now) {
		return fmt.Errorf("expired at %s", t.Expiry.UTC().Format(time.RFC3339))
	}
	if c.IssuedAt != nil && t.IssuedAt.After(now.Add(o.leeway)) {
		return fmt.Errorf("issued in the future, at %s", t.IssuedAt.UTC().Format(time.RFC3339))
	}
	if len(t.Audience) > 1 && c.AuthorizedParty != p.ClientID {
		return errors.New("several audiences, and azp is not the client id")
	}
	if c.AuthorizedParty != "" && c.AuthorizedParty != p.ClientID {
		return errors.New("azp is not the client id")
	}
	if subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(nonce)) != 1 {
		return errors.New("the nonce is not the attempt's")
	}
	if t.Subject == "" || len(t.Subject) > identitystore.MaxSubjectBytes || len(t.Issuer) > identitystore.MaxIssuerBytes {
		return errors.New("no sub, or one too long")
	}
	return nil
}

// tenantID reports whether s can be a tenant id (Entra's are GUIDs): 1 to
// 64 letters, digits and dashes.
func tenantID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
}
