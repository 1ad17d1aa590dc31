// Package oidc signs users in through other OpenID Connect providers
// (Google, Microsoft Entra, Okta, Keycloak, Zitadel, GitLab, …), each found
// by discovery from its issuer and configured as a value, not as code. It
// is a module of its own, built on github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2, so that a service without it neither downloads nor
// compiles them; package oidchttp serves it over HTTP.
//
// # The flow
//
// Begin starts an attempt: the authorization code flow with a fresh
// state, nonce and PKCE (S256) verifier, kept in the store
// (identitystore.Attempt, any instance finishes what another began) and
// bound to the browser by a cookie value the caller sets (only its hash is
// stored); the browser goes to the provider's authorization endpoint, and
// nowhere else. Callback takes the attempt (single use, bound to its
// provider and browser, expiring after Config.AttemptTTL), exchanges the
// code with the verifier (client_secret_basic, or client_secret_post when
// the provider's discovery lists only that), and checks the ID token: its
// signature by a key of the provider's JWKS with an algorithm that key
// allows (never none, never HMAC; a key id it has not seen makes it fetch
// the JWKS again, at most once a minute), iss equal to the discovered
// issuer, aud holding the client id (and azp equal to it when there are
// several), exp present and not past and iat not ahead (with
// Config.Leeway), nonce equal to the attempt's, and sub present. Every
// call to a provider waits at most Config.Timeout; one that fails, times
// out, or answers a server error or something that is not JSON is
// ErrProviderUnavailable.
//
// # Who gets signed in
//
// By the provider's issuer and subject, never by an email alone:
//
//   - the account linked to that provider account (identitystore.Identity);
//   - else, when the provider says the email is verified (the JSON value
//     true, nothing else) and an account has that email: if its email was
//     proven, the provider account is linked to it and it is signed in; if
//     not, someone may have registered the address without owning it, so
//     the account is taken back (identitystore.Store.ReclaimAccount): the
//     provider account linked, every way in added before the email was
//     proven removed (password, passkeys, second factors, other
//     identities, mailed links) and every login ended;
//   - else a new account without a password, named from
//     preferred_username, the email's local part, or "user", made unique.
//
// The login's amr is ["fed"]; package mfa's Intercept still asks a user
// with a second factor for a code.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
)

// Provider is an OpenID Connect provider the service signs users in
// through.
type Provider struct {
	// Name is the service's name for it: 1 to 32 lower-case letters and
	// digits, in its URLs (/login/NAME) and in the identities it links.
	Name string
	// Label is what a sign-in button says. Default Name.
	Label string
	// Issuer is the provider's issuer URL, whose discovery document
	// (Issuer + "/.well-known/openid-configuration") New reads: https,
	// but on a loopback host (localhost, 127.0.0.0/8, [::1]).
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes are asked for. Default openid, email and profile (for
	// GitHub: read:user and user:email).
	Scopes []string
	// GitHub marks GitHub, which speaks OAuth 2.0 but not OpenID Connect:
	// Issuer is https://github.com (or a GitHub Enterprise Server's base
	// URL), read without discovery; the account is the API's user (its
	// numeric id the subject, its login the preferred username) and its
	// email the primary one the API says is verified.
	GitHub bool
}

// Config configures sign-in through providers.
type Config struct {
	Providers []Provider
	// PublicURL is the service's origin, such as "https://example.com":
	// the redirect URI registered at each provider is
	// PublicURL + "/login/" + Name + "/callback".
	PublicURL string
	// HTTPClient makes the calls to providers; default a client of its own
	// with Timeout. (Tests give one that trusts their provider.)
	HTTPClient *http.Client
	// Timeout bounds every call to a provider. Default 10 seconds.
	Timeout time.Duration
	// AttemptTTL is how long an attempt waits for its callback. Default 10
	// minutes; at most an hour.
	AttemptTTL time.Duration
	// Leeway is the clock skew allowed for an ID token's exp and iat.
	// Default 30 seconds; at most 5 minutes.
	Leeway time.Duration
	// AttemptAddress bounds the attempts begun from one client address,
	// each stored until its callback or its expiry: every one counts, in
	// the Authenticator's Limiter. Default 300, then one per 200ms.
	AttemptAddress auth.Rate
}

// OIDC is sign-in through the providers of a Config. It is safe for
// concurrent use.
type OIDC struct {
	a         *auth.Authenticator
	store     identitystore.Store
	providers map[string]*provider
	order     []*provider
	client    *http.Client
	public    string
	ttl       time.Duration
	leeway    time.Duration
	perAddr   auth.Rate
}

// provider is a Provider, discovered.
type provider struct {
	Provider
	issuer   string
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
	keys     *keySet
	api      string // GitHub's API base URL; "" for OpenID Connect
	// tenants is the issuer template of a multi-tenant provider
	// (".../{tenantid}/v2.0"), "" for others.
	tenants string
}

// tenantTemplate reports whether discovered is the multi-tenant issuer
// template of configured: the same URL but for one path segment, the
// tenant, which is "{tenantid}" in discovered and common, organizations
// or consumers in configured.
func tenantTemplate(configured, discovered string) bool {
	c, d := strings.Split(configured, "/"), strings.Split(discovered, "/")
	if len(c) != len(d) {
		return false
	}
	diff := 0
	for i := range c {
		if c[i] == d[i] {
			continue
		}
		diff++
		if d[i] != "{tenantid}" || (c[i] != "common" && c[i] != "organizations" && c[i] != "consumers") {
			return false
		}
	}
	return diff == 1
}

// Errors of sign-in through providers, for errors.Is. Package oidchttp
// answers each as the HTTP contract says.
var (
	// ErrUnknownProvider: no provider has the name.
	ErrUnknownProvider = errors.New("oidc: no such provider")
	// ErrInvalidAttempt: the callback's state is not an attempt of this
	// browser (unknown, spent, expired, of another provider, or begun in
	// another browser).
	ErrInvalidAttempt = errors.New("oidc: the sign-in attempt is unknown, spent, expired or another browser's")
	// ErrProviderRefused: the provider answered with an error (the user
	// declined, say), or refused the code.
	ErrProviderRefused = errors.New("oidc: the provider refused the sign-in")
	// ErrInvalidIDToken: the ID token failed a check.
	ErrInvalidIDToken = errors.New("oidc: the provider's ID token was refused")
	// ErrProviderUnavailable: the provider could not be reached, timed
	// out, or answered a server error or something that is not JSON.
	ErrProviderUnavailable = errors.New("oidc: the provider cannot be reached")
	// ErrLinkedElsewhere: a link of a provider account that is another
	// user's.
	ErrLinkedElsewhere = errors.New("oidc: the provider account is linked to another account")
	// ErrAlreadyLinked: a link for a user who has an identity at the
	// provider already.
	ErrAlreadyLinked = errors.New("oidc: the account has an identity at this provider already")
	// ErrLastCredential: an unlink of the user's last way to sign in.
	ErrLastCredential = errors.New("oidc: it is the account's last way to sign in")
)

// Events of sign-in through providers, emitted through the Authenticator
// (auth.Authenticator.Emit). None carries a token, a code or an email.
const (
	// EventSignIn: a provider account signed its user in (Reason "linked",
	// "reclaimed" or "created" says how the account was found).
	EventSignIn auth.EventType = "oidc_sign_in"
	// EventLinked: a provider account was linked to a user.
	EventLinked auth.EventType = "oidc_linked"
	// EventUnlinked: a user unlinked a provider account.
	EventUnlinked auth.EventType = "oidc_unlinked"
	// EventRefused: a callback was refused; Reason says why ("attempt",
	// "provider_error", "exchange", "id_token", "unavailable",
	// "linked_elsewhere", "already_linked", "disabled").
	EventRefused auth.EventType = "oidc_refused"
)

// errNoStore is New's refusal of a Store without the capability.
type errNoStore struct{}

func (errNoStore) Error() string {
	return "oidc: New: the Authenticator's Store does not implement identitystore.Store"
}
func (errNoStore) Unwrap() error { return auth.ErrMissingCapability }

// New returns sign-in through c's providers for a, having read each
// provider's discovery document (within ctx): an error names the provider
// whose discovery failed (unreachable, not a discovery document, an issuer
// in it other than the configured one) or whose configuration is wrong.
// It refuses a Store that does not implement identitystore.Store (an error
// matching auth.ErrMissingCapability).
func New(ctx context.Context, a *auth.Authenticator, c Config) (*OIDC, error) {
	if a == nil {
		return nil, errors.New("oidc: New: nil Authenticator")
	}
	store, ok := a.Store().(identitystore.Store)
	if !ok {
		return nil, errNoStore{}
	}
	pub, err := url.Parse(c.PublicURL)
	if err != nil || (pub.Scheme != "https" && pub.Scheme != "http") || pub.Host == "" || (pub.Path != "" && pub.Path != "/") {
		return nil, errors.New("oidc: Config.PublicURL must be an origin such as https://example.com")
	}
	switch {
	case c.Timeout < 0 || c.Timeout > time.Minute:
		return nil, errors.New("oidc: Config.Timeout must be between 0 (10s) and 1m")
	case c.AttemptTTL < 0 || c.AttemptTTL > time.Hour:
		return nil, errors.New("oidc: Config.AttemptTTL must be between 0 (10 minutes) and 1h")
	case c.Leeway < 0 || c.Leeway > 5*time.Minute:
		return nil, errors.New("oidc: Config.Leeway must be between 0 (30s) and 5m")
	case c.AttemptAddress.Burst < 0 || c.AttemptAddress.Interval < 0:
		return nil, errors.New("oidc: Config.AttemptAddress must not be negative")
	}
	o := &OIDC{a: a, store: store, providers: map[string]*provider{}, ttl: c.AttemptTTL, leeway: c.Leeway, perAddr: c.AttemptAddress}
	if o.perAddr.Burst == 0 {
		o.perAddr.Burst = 300
	}
	if o.perAddr.Interval == 0 {
		o.perAddr.Interval = 200 * time.Millisecond
	}
	if o.ttl == 0 {
		o.ttl = 10 * time.Minute
	}
	if o.leeway == 0 {
		o.leeway = 30 * time.Second
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	o.client = c.HTTPClient
	if o.client == nil {
		o.client = &http.Client{Timeout: timeout}
	} else if o.client.Timeout == 0 || o.client.Timeout > timeout {
		cl := *o.client
		cl.Timeout = timeout
		o.client = &cl
	}
	origin := pub.Scheme + "://" + pub.Host
	o.public = origin
	for _, p := range c.Providers {
		if _, dup := o.providers[p.Name]; dup {
			return nil, fmt.Errorf("oidc: provider %q is configured twice", p.Name)
		}
		d, err := o.discover(ctx, p, origin)
		if err != nil {
			return nil, err
		}
		o.providers[p.Name] = d
		o.order = append(o.order, d)
	}
	return o, nil
}

// checkProvider checks p's configuration.
func checkProvider(p Provider) error {
	if p.Name == "" || len(p.Name) > identitystore.MaxProviderBytes || strings.Trim(p.Name, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return fmt.Errorf("oidc: provider name %q must be 1 to 32 lower-case letters and digits", p.Name)
	}
	u, err := url.Parse(p.Issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(p.Issuer) > identitystore.MaxIssuerBytes {
		return fmt.Errorf("oidc: provider %s: the issuer %q is not a URL", p.Name, p.Issuer)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		return fmt.Errorf("oidc: provider %s: the issuer must be https (http only on a loopback host)", p.Name)
	}
	if p.ClientID == "" {
		return fmt.Errorf("oidc: provider %s: the client id is required", p.Name)
	}
	if len(p.Label) > 64 {
		return fmt.Errorf("oidc: provider %s: the label is at most 64 bytes", p.Name)
	}
	return nil
}

// loopback reports whether host is localhost, in 127.0.0.0/8 or ::1.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// discoveryExtra is what New reads of a discovery document beyond
// go-oidc's.
type discoveryExtra struct {
	AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	Algorithms  []string `json:"id_token_signing_alg_values_supported"`
	JWKSURL     string   `json:"jwks_uri"`
}

// discover reads p's discovery document.
func (o *OIDC) discover(ctx context.Context, p Provider, origin string) (*provider, error) {
	if err := checkProvider(p); err != nil {
		return nil, err
	}
	if p.Label == "" {
		p.Label = p.Name
	}
	if p.GitHub {
		return o.github(p, origin), nil
	}
	if len(p.Scopes) == 0 {
		p.Scopes = []string{gooidc.ScopeOpenID, "email", "profile"}
	}
	gp, err := gooidc.NewProvider(gooidc.ClientContext(ctx, o.client), p.Issuer)
	var mismatch *gooidc.IssuerMismatchError
	template := ""
	if errors.As(err, &mismatch) && tenantTemplate(p.Issuer, mismatch.Discovered) {
		// Microsoft Entra's multi-tenant endpoints (common, organizations,
		// consumers): discovery names the issuer of every tenant at once,
		// https://login.microsoftonline.com/{tenantid}/v2.0, and each ID
		// token's iss is its tenant's (checkClaims).
		template = mismatch.Discovered
		gp, err = gooidc.NewProvider(gooidc.InsecureIssuerURLContext(gooidc.ClientContext(ctx, o.client), template), p.Issuer)
	}
	if err != nil {
		return nil, fmt.Errorf("oidc: provider %s: discovery at %s failed: %w", p.Name, p.Issuer, err)
	}
	var extra discoveryExtra
	if err := gp.Claims(&extra); err != nil {
		return nil, fmt.Errorf("oidc: provider %s: discovery: %w", p.Name, err)
	}
	if extra.JWKSURL == "" {
		return nil, fmt.Errorf("oidc: provider %s: discovery names no jwks_uri", p.Name)
	}
	algs := signingAlgs(extra.Algorithms)
	if len(algs) == 0 {
		return nil, fmt.Errorf("oidc: provider %s: discovery lists no signing algorithm this package accepts (asymmetric only)", p.Name)
	}
	endpoint := gp.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	if len(extra.AuthMethods) > 0 && !contains(extra.AuthMethods, "client_secret_basic") && contains(extra.AuthMethods, "client_secret_post") {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	d := &provider{Provider: p, issuer: p.Issuer,
		oauth: oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: endpoint,
			RedirectURL: origin + "/login/" + p.Name + "/callback", Scopes: p.Scopes},
		keys: &keySet{url: extra.JWKSURL, client: o.client, algs: algs, now: o.a.Now},
	}
	d.tenants = template
	d.verifier = gooidc.NewVerifier(p.Issuer, d.keys, &gooidc.Config{ClientID: p.ClientID, SupportedSigningAlgs: algs,
		SkipExpiryCheck: true, Now: o.a.Now, // exp and iat: checkClaims, with the leeway
		SkipIssuerCheck: template != ""}) // the tenant's: checkClaims
	return d, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ProviderInfo is a provider as a sign-in page shows it.
type ProviderInfo struct {
	Name, Label string
}

// PublicURL returns Config.PublicURL, without a final slash: where a
// callback sends the browser.
func (o *OIDC) PublicURL() string { return o.public }

// Providers returns the providers, in their Config order.
func (o *OIDC) Providers() []ProviderInfo {
	out := make([]ProviderInfo, len(o.order))
	for i, p := range o.order {
		out[i] = ProviderInfo{Name: p.Name, Label: p.Label}
	}
	return out
}

// randomString returns n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest is the store's key of a state or a binding.
func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// emit sends an event.
func (o *OIDC) emit(ctx context.Context, t auth.EventType, u *auth.User, c auth.Client, reason string) {
	e := auth.Event{Type: t, ClientAddr: c.Addr, Reason: reason}
	if u != nil {
		e.UserID, e.Username = u.ID, u.Username
	}
	if t == EventRefused {
		e.Warning = true
	}
	o.a.Emit(ctx, e)
}
