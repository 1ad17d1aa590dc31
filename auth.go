// Package auth is an authentication library for Go services: password
// hashing (argon2id by default, bcrypt too, recognising both and upgrading
// old hashes on login), access and refresh tokens (issue, verify, rotate
// with reuse detection, revoke), a pluggable store of users and refresh
// sessions, a limiter of password guessing, and net/http middleware that
// puts the current user in the request context.
//
// It does what the FastAPI JWT tutorials (python-jose + passlib +
// OAuth2PasswordBearer + get_current_user) leave as "in production you
// should...": algorithms pinned per key, every claim checked, refresh
// rotation with reuse detection, logout that ends access tokens at once, a
// limiter of guesses (not of logins), no user enumeration by status, body
// or timing, and bounded work for any input. A service moving from them
// can accept their access tokens for a while (Config.Tokens.LegacyUntil).
//
// Start with New, a Config and a Store (store/memory for tests and demos;
// store/sqlite and store/postgres for real deployments; examples/usertable
// adapts a users table the service already has, see Store), then wrap
// handlers in Authenticator.Middleware and read the user with
// UserFromContext. The ready-made HTTP endpoints (token, signup, logout,
// ...) are package authhttp; key files are package keyfile; account
// recovery by mail is package recovery; the audit log is package audit;
// package breached refuses passwords seen in data breaches
// (PasswordConfig.Breached).
//
// Every call made for a client takes it, as a Client (its address and user
// agent), in its request (Credentials, NewUser, PasswordChange, ...) or
// right after the context: the per-address limits, the sessions a login
// opens and the events all read it there, and nowhere else.
//
// # The sign-in seam: adding a way of signing in
//
// Every way of signing in ends in one place, Authenticator.SignIn, which
// turns a verified user into a login: it refuses a disabled account, opens
// a refresh session, issues the token pair and records how the user was
// verified (Verified.Methods, RFC 8176's amr values, in
// EventLoginSucceeded). Login is the password's way: the limiter, the
// lookup by username or email, the hash (rehashed when outdated), then
// SignIn with MethodPassword. A contributor adding a way of signing in (a
// passkey, another provider) writes it as a package of its own, outside
// this one, that
//
//   - verifies the user by its own means and limits, then calls SignIn with
//     the methods it used, and never opens a session otherwise;
//   - keeps what it stores behind an interface of its own, which a Store
//     implements if it can (as recovery.LinkStore), and checks when it is
//     configured that the Store does (ErrMissingCapability names what is
//     missing);
//   - uses the core through SignIn and the feature API (Authenticator.Store,
//     Limiter, Now, CheckPassword, HashPassword, RememberClient, EmailFree,
//     Emit, Subscribe, DeleteUser), never through its internals;
//   - has its own Config and its own HTTP routes, built with authhttp's
//     helpers (Handlers.Public, Authenticated, ReadJSON, Problem), so that a
//     service that does not use it neither compiles nor configures it.
//
// Package recovery is such a feature, and the model of one: it signs no
// one in, but it keeps its links behind recovery.LinkStore, draws on the
// core's limiter, checks and hashes passwords through the core, and acts
// on the core's events (a verification mail on EventRegistered, a notice
// on EventPasswordChanged), with its endpoints in recovery/recoveryhttp.
//
// A second factor interposes at SignIn (Authenticator.Intercept): a user
// who has one gets a challenge there instead of tokens, and the factor's
// package (mfa, a module of its own) completes the login with SignIn once
// the challenge is met. Every token of a login says how it was made and
// when (Claims.Methods and Claims.AuthTime: amr and auth_time), through
// its refreshes; RequireSecondFactor guards the routes that need one.
//
// # Dependencies, and what is done by hand
//
// golang-jwt/jwt/v5 signs and verifies the asymmetric algorithms (EdDSA,
// ES256, RS256) and nothing else. Tokens are parsed here, with a strict
// JSON reader that refuses duplicate and case-variant claim names and
// unpaired surrogates, which encoding/json (and so golang-jwt's parser)
// would accept; against golang-jwt's ParseWithClaims, verifying an HS256
// token takes 0.25× the time and 12 allocations instead of 57
// (BENCHMARKS.md). HS256 tokens are signed and verified with HMAC states
// keyed once per key and pooled, where golang-jwt keys a new HMAC on every
// token: verify ×0.59–0.80 of the time, 19 → 12 allocations. Refresh
// tokens under ES256 are signed deterministically (RFC 6979, by
// crypto/ecdsa) so that the same session signs the same token again.
//
// Argon2id hashes are made and verified with golang.org/x/crypto/argon2,
// and written and read here in the PHC string form
// ($argon2id$v=19$m=...,t=...,p=...$salt$key) that argon2-cffi, passlib
// and pwdlib share. (github.com/alexedwards/argon2id, a wrapper of the same
// package, made them until the repository was split into modules: it was a
// module more in the graph of every service for one call.) Verification is
// done here because a stored hash chooses the cost of its own
// verification: a wrapper's compare would allocate whatever memory a
// tampered hash asks for, while HashLimits refuses more than 256 MiB
// before any work; the hash string is parsed strictly (canonical base64,
// no signs or leading zeros); and bcrypt, passlib and pwdlib hashes are
// recognised by the same call.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goauthkit/auth/internal/roles"
	"github.com/goauthkit/auth/store/storable"
)

// Config configures an Authenticator, by concern: the store and the keys,
// then one group each for tokens, passwords, the limiter and sessions,
// then the audit sink and the clock. Zero fields take the documented
// defaults; New rejects unsafe values with an error naming the field.
type Config struct {
	// Store keeps users and refresh sessions. Required.
	Store Store

	// Keys signs and verifies tokens. Set Keys or SecretKey.
	Keys *KeySet
	// SecretKey, when Keys is nil, makes an HS256 key set from these bytes,
	// used as given (as PyJWT and python-jose use a string SECRET_KEY). At
	// least 32 bytes of random data.
	SecretKey []byte

	// Tokens are the claims and the lifetimes of the tokens.
	Tokens TokenConfig
	// Passwords are how passwords are hashed and what they must be.
	Passwords PasswordConfig

	// Limiter keeps the budgets of Limits. Default (nil): budgets in the
	// memory of this process, on the clock Now, in bounded memory whatever
	// the input: at most 100,000 budgets (about 10 MB) and 100,000 familiar
	// clients (about 3.5 MB); when full, a new one is never refused, and
	// the budgets least drained by failures, the familiar clients nearest
	// expiry, make room. Instances of one service need a shared one, such
	// as store/postgres's Store.Limiter or redislimit's.
	Limiter Limiter
	// Limits are the budgets of password checks and registrations.
	Limits Limits

	// Sessions bounds and describes each user's logins.
	Sessions SessionConfig

	// OnEvent, if set, is called synchronously for security-relevant events
	// (for an audit log). It must not block. Events never carry a password,
	// a hash or a token.
	OnEvent func(ctx context.Context, e Event)

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// TokenConfig is Config.Tokens: the claims and the lifetimes of tokens.
type TokenConfig struct {
	// Issuer is the iss of every token, checked on verification.
	// Default "goauthkit".
	Issuer string
	// Audience is the aud of access tokens, checked on verification.
	// Default: the Issuer.
	Audience string
	// AccessTTL is the lifetime of access tokens. Default 15 minutes;
	// negative values and values above 24 hours are refused.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of each refresh token (every rotation
	// gives a fresh one). Default 7 days; it may not be shorter than
	// AccessTTL.
	RefreshTTL time.Duration
	// RefreshGrace, when positive, lets a refresh token that was just
	// rotated be presented again within this time without counting as
	// reuse: it gets the family's current refresh token back (the very one
	// its first presentation received) with a fresh access token, so that
	// two browser tabs refreshing at once, or a client retrying after a
	// lost answer, neither fork nor revoke the family. An older token, or
	// one presented past the grace period, is reuse. Default 0 (off); at
	// most 1 minute.
	RefreshGrace time.Duration
	// Leeway allows for clock skew when checking exp, nbf and iat.
	// Default 30 seconds; at most 5 minutes.
	Leeway time.Duration
	// CacheSize is how many verified access tokens are remembered (see
	// VerifierConfig.TokenCacheSize). Default 1024; negative turns the
	// cache off. Revocation stays exact either way: Authenticate looks the
	// user up in the store on every call.
	CacheSize int
	// ExtraClaims, if set, returns custom claims to add to each access token
	// issued to u. It may not set the registered claims (iss, sub, aud, exp,
	// nbf, iat, jti) nor ver and sid.
	ExtraClaims func(ctx context.Context, u *User) (map[string]any, error)
	// Realm is the realm of WWW-Authenticate challenges. Default: the Issuer.
	Realm string
	// LegacyUntil, when set, also accepts until then, wherever
	// Authenticate takes an access token (Middleware, authhttp's
	// endpoints), the access tokens of a service moving from the FastAPI
	// tutorials, as those mint them: HS256 under SecretKey (so it needs
	// SecretKey, and New refuses it with Keys), exp required, sub a login
	// name looked up as Login does (username, then email), nothing else
	// required. Such a token is refused for a disabled user and, when it
	// has an iat, when issued before the account was created or before
	// the user's tokens were last ended (User.TokensEndedAt: logout-all, a
	// password change or reset, an administrator's logout or disabling);
	// one without iat lives until its exp. A token with this library's typ
	// or Issuer is never taken for one. Its Claims are marked
	// Claims.Legacy. Default zero: none accepted. A Verifier alone (no
	// store) never accepts them.
	LegacyUntil time.Time
}

// PasswordConfig is Config.Passwords: how passwords are hashed, what they
// and usernames must be, and how many hashes are computed at once.
type PasswordConfig struct {
	// Hasher hashes new passwords. Default Argon2id{} (OWASP parameters).
	// Whatever it is, stored argon2id and bcrypt hashes both verify, and
	// ones that are outdated are rehashed on login: Argon2id moves bcrypt
	// hashes to argon2id; Bcrypt never changes a hash's scheme (for a
	// users table shared with a passlib service).
	Hasher Hasher
	// Policy is checked on every new password.
	Policy PasswordPolicy
	// UsernameRule checks a normalised username at registration. Default
	// ValidateUsername.
	UsernameRule func(normalized string) error
	// MaxConcurrentHashes bounds how many password hashes are computed at
	// once, so a login flood cannot exhaust memory or CPU. Default
	// GOMAXPROCS. While the Authenticator is also serving (an Authenticate,
	// middleware or Refresh call within the last 100 ms), one slot is kept
	// back, so that a login flood leaves a P for authenticated requests:
	// Go preempts a running hash only every 10 ms or so, and a hash takes
	// tens of milliseconds.
	MaxConcurrentHashes int
	// Breached, if set, is asked about every new password that meets the
	// Policy, before it is hashed: at Register, at ChangePassword and in
	// HashPassword (so package recovery's reset and package admin's
	// passwords too), never at login. true refuses the password with a
	// *PasswordError wrapping ErrPasswordBreached; an error refuses it too,
	// wrapped in ErrStoreUnavailable (503 temporarily_unavailable): a
	// checker that should let passwords through when it fails (fail open)
	// answers (false, nil) itself. Package breached's Checker.Breached
	// asks the Pwned Passwords range API (k-anonymity: neither the password
	// nor its hash leaves the process) or a local copy of its data. Default
	// nil: no check.
	Breached func(ctx context.Context, password string) (bool, error)
}

// SessionConfig is Config.Sessions: each user's logins.
type SessionConfig struct {
	// Max bounds the live logins (sessions) of one user: a login past it
	// ends the least recently used ones (their refresh and access tokens,
	// at once). Default 100.
	Max int
	// RecordAddress keeps the client address of each login in its session
	// (Session.ClientAddr), for users and operators to see where a device
	// logged in from. Default off: an address is personal data.
	RecordAddress bool
}

// Authenticator registers users, logs them in, issues, refreshes and revokes
// their tokens, and guards handlers. It is safe for concurrent use.
type Authenticator struct {
	store        Store
	keys         *KeySet
	verifier     *Verifier
	hasher       Hasher
	policy       PasswordPolicy
	breached     func(context.Context, string) (bool, error)
	usernameRule func(string) error
	limiter      Limiter
	limits       Limits
	hashGate     *hashGate
	dummyHash    string
	// familiarKey keys the digests of familiar clients (familiarID).
	familiarKey []byte
	issuer      string
	audience    string
	accessTTL   time.Duration
	refreshTTL  time.Duration
	grace       time.Duration
	extraClaims func(context.Context, *User) (map[string]any, error)
	onEvent     func(context.Context, Event)
	// listeners are the features' (Subscribe), called after onEvent.
	listeners atomic.Pointer[[]func(context.Context, Event)]
	// interceptors are the features' (Intercept), called by signIn.
	interceptors atomic.Pointer[[]func(context.Context, Verified) error]
	// recordAddress is Config.Sessions.RecordAddress.
	recordAddress bool
	maxSessions   int
	realm         string
	now           func() time.Time
	// legacy checks the FastAPI tutorials' tokens; nil unless
	// Config.Tokens.LegacyUntil is set.
	legacy *legacyVerifier
}

// New returns an Authenticator for c, or an error naming the first field
// that is missing or unsafe. It computes one password hash (the dummy used
// to make unknown-user logins cost the same as real ones).
func New(c Config) (*Authenticator, error) {
	if c.Store == nil {
		return nil, errors.New("auth: Config.Store is required")
	}
	keys := c.Keys
	switch {
	case keys != nil && c.SecretKey != nil:
		return nil, errors.New("auth: Config.SecretKey and Config.Keys are exclusive")
	case keys != nil:
	case c.SecretKey == nil:
		return nil, errors.New("auth: Config.Keys or Config.SecretKey is required")
	case len(c.SecretKey) < hmacMinBytes["HS256"]:
		return nil, &explained{ErrWeakKey, fmt.Sprintf(
			"auth: Config.SecretKey must be at least 32 bytes of random data, got %d (make one with: openssl rand -hex 32)", len(c.SecretKey))}
	default:
		k, err := NewHMACKey("", "HS256", c.SecretKey)
		if err != nil { // cannot happen: the length was checked
			return nil, err
		}
		keys, _ = NewKeySet(k)
	}
	if c.Tokens.Issuer == "" {
		c.Tokens.Issuer = "goauthkit"
	}
	if c.Tokens.Audience == "" {
		c.Tokens.Audience = c.Tokens.Issuer
	}
	if c.Tokens.Realm == "" {
		c.Tokens.Realm = c.Tokens.Issuer
	}
	if strings.ContainsAny(c.Tokens.Realm, "\"\\\r\n") {
		return nil, errors.New("auth: Config.Tokens.Realm may not contain quotes, backslashes or line breaks")
	}
	switch {
	case c.Tokens.AccessTTL < 0 || c.Tokens.AccessTTL > 24*time.Hour:
		return nil, errors.New("auth: Config.Tokens.AccessTTL must be positive and at most 24h")
	case c.Tokens.AccessTTL == 0:
		c.Tokens.AccessTTL = 15 * time.Minute
	}
	switch {
	case c.Tokens.RefreshTTL < 0:
		return nil, errors.New("auth: Config.Tokens.RefreshTTL must be positive")
	case c.Tokens.RefreshTTL == 0:
		c.Tokens.RefreshTTL = 7 * 24 * time.Hour
	}
	if c.Tokens.RefreshTTL < c.Tokens.AccessTTL {
		return nil, errors.New("auth: Config.Tokens.RefreshTTL must not be shorter than Config.Tokens.AccessTTL")
	}
	if c.Tokens.RefreshGrace < 0 || c.Tokens.RefreshGrace > time.Minute {
		return nil, errors.New("auth: Config.Tokens.RefreshGrace must be between 0 and 1m")
	}
	if c.Tokens.Leeway < 0 || c.Tokens.Leeway > 5*time.Minute {
		return nil, errors.New("auth: Config.Tokens.Leeway must be between 0 and 5m")
	}
	if !c.Tokens.LegacyUntil.IsZero() && c.SecretKey == nil {
		return nil, errors.New("auth: Config.Tokens.LegacyUntil needs Config.SecretKey (the legacy tokens are HS256 under the service's secret), not Config.Keys")
	}
	if c.Passwords.MaxConcurrentHashes < 0 {
		return nil, errors.New("auth: Config.Passwords.MaxConcurrentHashes must not be negative")
	}
	if c.Passwords.MaxConcurrentHashes == 0 {
		c.Passwords.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	switch {
	case c.Sessions.Max < 0:
		return nil, errors.New("auth: Config.Sessions.Max must not be negative")
	case c.Sessions.Max == 0:
		c.Sessions.Max = 100
	}
	if c.Passwords.Policy.MinLength < 0 || c.Passwords.Policy.MaxBytes < 0 ||
		(c.Passwords.Policy.MinLength > 0 && c.Passwords.Policy.MinLength < 8) {
		return nil, errors.New("auth: Config.Passwords.Policy.MinLength must be at least 8")
	}
	// The caller's slice may change later; the policy may not.
	c.Passwords.Policy.Blocklist = slices.Clone(c.Passwords.Policy.Blocklist)
	c.Limits = c.Limits.withDefaults()
	if err := c.Limits.validate(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if c.Passwords.Hasher == nil {
		c.Passwords.Hasher = Argon2id{}
	}
	if v, ok := c.Passwords.Hasher.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return nil, fmt.Errorf("auth: Config.Passwords.Hasher: %w", err)
		}
	}
	if c.Passwords.UsernameRule == nil {
		c.Passwords.UsernameRule = ValidateUsername
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Limiter == nil {
		c.Limiter = newMemoryLimiter(memoryLimiterConfig{now: c.Now})
	}
	// Every field NewVerifier checks was checked above, in Config's terms.
	verifier := newVerifier(VerifierConfig{Keys: keys, Issuer: c.Tokens.Issuer, Audience: c.Tokens.Audience, Leeway: c.Tokens.Leeway, Realm: c.Tokens.Realm, Now: c.Now, TokenCacheSize: c.Tokens.CacheSize})
	familiarKey, err := familiarSecret(keys.Active())
	if err != nil {
		return nil, fmt.Errorf("auth: the signing key: %w", err)
	}
	// A dummy hash, of a random password nobody knows, for unknown users.
	dummy, err := c.Passwords.Hasher.Hash(rand.Text())
	if err != nil {
		return nil, fmt.Errorf("auth: Config.Passwords.Hasher: %w", err)
	}
	a := &Authenticator{
		store: c.Store, keys: keys, verifier: verifier, hasher: c.Passwords.Hasher,
		policy: c.Passwords.Policy.withDefaults(), breached: c.Passwords.Breached, usernameRule: c.Passwords.UsernameRule,
		limiter: c.Limiter, limits: c.Limits, hashGate: newHashGate(c.Passwords.MaxConcurrentHashes),
		dummyHash: dummy, familiarKey: familiarKey, issuer: c.Tokens.Issuer, audience: c.Tokens.Audience,
		accessTTL: c.Tokens.AccessTTL, refreshTTL: c.Tokens.RefreshTTL, grace: c.Tokens.RefreshGrace,
		extraClaims: c.Tokens.ExtraClaims, onEvent: c.OnEvent, realm: c.Tokens.Realm, now: c.Now,
		recordAddress: c.Sessions.RecordAddress, maxSessions: c.Sessions.Max,
	}
	if !c.Tokens.LegacyUntil.IsZero() {
		a.legacy = &legacyVerifier{key: keys.Active(), until: c.Tokens.LegacyUntil, issuer: c.Tokens.Issuer,
			leeway: verifier.leeway, now: c.Now}
	}
	return a, nil
}

// explained is err told in other words: its text is msg, and errors.Is
// still finds err.
type explained struct {
	err error
	msg string
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// Verifier returns the access-token verifier the Authenticator uses. It
// checks tokens without the store: no revocation, no user.
func (a *Authenticator) Verifier() *Verifier { return a.verifier }

// Keys returns the key set tokens are signed with.
func (a *Authenticator) Keys() *KeySet { return a.keys }

// limiterPingTimeout bounds Ping's wait for the limiter: a shared limiter
// that stops answering fails health checks within it.
const limiterPingTimeout = 2 * time.Second

// Ping checks that what logins need answers: the store and the Limiter,
// each if it is a Pinger (a store that is not is taken to be up, as is
// the in-memory limiter). It returns an error wrapping ErrStoreUnavailable
// when one does not answer, the limiter within 2 seconds.
func (a *Authenticator) Ping(ctx context.Context) error {
	if p, ok := a.store.(Pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return storeDown("store", err)
		}
	}
	if p, ok := a.limiter.(Pinger); ok {
		lctx, cancel := context.WithTimeout(ctx, limiterPingTimeout)
		defer cancel()
		if err := p.Ping(lctx); err != nil {
			return storeDown("limiter", err)
		}
	}
	return nil
}

// storeDown wraps err, from what, in ErrStoreUnavailable if it is not
// already.
func storeDown(what string, err error) error {
	if errors.Is(err, ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, what, err)
}

// AccessTTL returns the lifetime of access tokens.
func (a *Authenticator) AccessTTL() time.Duration { return a.accessTTL }

// RefreshTTL returns the lifetime of refresh tokens (how long a login
// lasts unused).
func (a *Authenticator) RefreshTTL() time.Duration { return a.refreshTTL }

// NewUser is what Register needs to create an account.
type NewUser struct {
	Username string // normalised by Register
	Password string // checked against the PasswordPolicy, hashed as given
	Email    string // optional; normalised by Register (NormalizeEmail)
	// Roles are the account's roles: sorted, duplicates dropped; each 1
	// to 64 characters of a-z, 0-9, '_', '-', '.' and ':', at most 32 of
	// them (else ErrInvalidRole).
	Roles []string
	// Client is who asks, for the per-address limit on registrations
	// (Limits.SignupAddress) and the event.
	Client Client
	// NoPassword makes an account without a password (Password must then
	// be empty): it signs in only once it has one (a reset by a mailed
	// link, an administrator's) or by another way of signing in; until
	// then Login refuses every password for it, as it refuses a wrong one.
	NoPassword bool
	// Actor, for an account an administrator makes (package admin), names
	// who makes it, for the event (Event.Actor). Such an account does not
	// count in Limits.SignupAddress, which bounds signups.
	Actor string
	// EmailVerified stores Email as proven already: another provider
	// vouched for it (package oidc). EventRegistered then carries no
	// email, so that no verification link is mailed.
	EmailVerified bool
	// Create, if set, stores the account in place of Store.CreateUser,
	// with its errors: a feature that makes the account together with
	// records of its own (package passkey: its first passkey) stores both
	// in one transaction. Register with Create does not draw on
	// Limits.SignupAddress: the feature checked the account with
	// CheckNewUser first, which did.
	Create func(ctx context.Context, u *User) error
}

// maxLoginNameBytes is the longest login name (username or email) accepted
// as received, before normalisation: longer ones are refused from their
// length alone, so that no one can make the library normalise, hash or
// remember megabytes. An email address has at most 254 bytes, and a valid
// username at most 64 characters of at most 4 bytes.
const maxLoginNameBytes = 320

// CheckNewUser makes the checks Register makes of n, with the same
// errors, and creates nothing: a feature that signs a user up in two steps
// (package passkey: the options, then the credential) checks the name and
// email at the first, then registers at the second with NewUser.Create. It
// draws on Limits.SignupAddress as Register does: every call counts.
func (a *Authenticator) CheckNewUser(ctx context.Context, n NewUser) error {
	_, _, _, err := a.checkNewUser(ctx, n, true)
	return err
}

// checkNewUser checks n as Register does, drawing on the address's
// signup budget if limit, and returns its normalised name, email and
// roles.
func (a *Authenticator) checkNewUser(ctx context.Context, n NewUser, limit bool) (name, email string, cleanRoles []string, err error) {
	if len(n.Username) > maxLoginNameBytes {
		return "", "", nil, ErrInvalidUsername
	}
	if n.NoPassword && n.Password != "" {
		return "", "", nil, errPasswordAndNone
	}
	if limit && n.Client.Addr != "" && n.Actor == "" {
		res, err := a.limiter.Reserve(ctx, a.limits.SignupAddress.key(false, kindSignupAddress, n.Client.Addr))
		if err != nil {
			return "", "", nil, err
		}
		res.Settle(AttemptFailed) // counted whatever happens next
	}
	if !storable.Strings(n.Username) {
		return "", "", nil, ErrInvalidUsername
	}
	name = NormalizeUsername(n.Username)
	if err := a.usernameRule(name); err != nil {
		return "", "", nil, err
	}
	if !n.NoPassword {
		if err := a.policy.Check(n.Password); err != nil {
			return "", "", nil, err
		}
	}
	email = NormalizeEmail(n.Email)
	if email != "" && !validEmail(email) {
		return "", "", nil, ErrInvalidEmail
	}
	cleanRoles, ok := roles.Clean(n.Roles)
	if !ok {
		return "", "", nil, ErrInvalidRole
	}
	// Fail fast for a taken name or email, before paying for a hash; the
	// store's unique constraints still decide races. A username may not be
	// another account's email, nor an email another's username, so that a
	// login name is never ambiguous.
	for _, lookup := range []func(context.Context, string) (*User, error){a.store.UserByUsername, a.store.UserByEmail} {
		if _, err := lookup(ctx, name); err == nil {
			return "", "", nil, ErrUserExists
		} else if !errors.Is(err, ErrNotFound) {
			return "", "", nil, err
		}
	}
	if email != "" {
		if err := a.emailTaken(ctx, email, ""); err != nil {
			return "", "", nil, err
		}
	}
	return name, email, cleanRoles, nil
}

// Register creates an account (EventRegistered, with its email: package
// recovery, if the service uses it, mails a verification link), with a
// password or, with NewUser.NoPassword, without. It returns ErrInvalidUsername,
// ErrInvalidPassword (wrapped by the reason), ErrInvalidEmail,
// ErrUserExists (the username is an account's username or email),
// ErrEmailExists (the email is an account's email or username),
// ErrInvalidRole (see NewUser.Roles), a *RateLimitError when the client address has registered too often (every
// attempt counts, whatever its outcome; not for an account an Actor
// makes), an error wrapping ErrInvalidInput for NoPassword with a
// Password, or a store error.
func (a *Authenticator) Register(ctx context.Context, n NewUser) (*User, error) {
	name, email, cleanRoles, err := a.checkNewUser(ctx, n, n.Create == nil)
	if err != nil {
		return nil, err
	}
	hash := "" // NoPassword: no password matches it (see verifyHash)
	if !n.NoPassword {
		// Last before the hash: an outside service is asked only about a
		// registration that would otherwise succeed.
		if err := a.checkBreached(ctx, n.Password); err != nil {
			return nil, err
		}
		if hash, err = a.hash(ctx, n.Password); err != nil {
			return nil, err
		}
	}
	now := a.timestamp()
	u := &User{
		ID: newUUID(), Username: name, Email: email, EmailVerified: email != "" && n.EmailVerified, PasswordHash: hash,
		Roles: cleanRoles, CreatedAt: now, UpdatedAt: now,
	}
	create := a.store.CreateUser
	if n.Create != nil {
		create = n.Create
	}
	if err := create(ctx, u); err != nil {
		return nil, err
	}
	e := Event{Type: EventRegistered, UserID: u.ID, Username: u.Username, Email: email, ClientAddr: n.Client.Addr, Actor: n.Actor}
	if u.EmailVerified {
		e.Email = "" // proven: no verification link
	}
	if n.Actor != "" {
		e.Change = "created, roles=" + strings.Join(u.Roles, ",")
	}
	a.emit(ctx, e)
	return u.Clone(), nil
}

// errPasswordAndNone is Register's refusal of NewUser.NoPassword with a
// Password.
var errPasswordAndNone = fmt.Errorf("%w: NewUser.NoPassword with a Password", ErrInvalidInput)

// Credentials are what Login checks.
type Credentials struct {
	// Username is the account's username or its email (a username is
	// looked up first); normalised by Login.
	Username string
	Password string // as typed
	// Client is who logs in: its address for the per-address limits, its
	// user agent kept in the session the login opens (see ListSessions).
	Client Client
	// Device is the browser's device value, if it has one: a random value
	// of 22 to 64 characters of A-Z a-z 0-9 - _ that the service keeps in
	// a cookie (authhttp's DeviceCookieName) and sets after each browser
	// sign-in, whether or not the browser had one. A successful login
	// makes it familiar to the account (see Limits.LoginUser); other
	// values are ignored.
	Device string
}

// TokenPair is what Login and Refresh return.
type TokenPair struct {
	AccessToken      string
	RefreshToken     string
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
}

// Login checks credentials and opens a refresh session.
//
// It returns ErrInvalidCredentials for an unknown user and a wrong password
// alike, with the same cost (an unknown user is verified against a dummy
// hash), and for a password longer than the policy allows (at once: no
// such password was ever set); ErrUserDisabled for a disabled account
// whose password is right; a *RateLimitError (ErrTooManyAttempts) when a
// budget of Config.Limits that the attempt draws on is spent by failures
// (see Limits.LoginUser for which);
// ErrBusy if ctx ends while waiting for earlier attempts of the same name or
// for a hashing slot; an error wrapping ErrInvalidInput for a username over
// 320 bytes as received, or one that is not valid UTF-8 or holds a NUL; or a
// store error. An outdated stored hash is replaced on success.
//
// A disabled account is accounted for as a failure, right password or not,
// so that the limiter cannot tell whether a guess for it was right.
func (a *Authenticator) Login(ctx context.Context, c Credentials) (*TokenPair, error) {
	if len(c.Username) > maxLoginNameBytes {
		return nil, fmt.Errorf("%w: a login name is at most %d bytes", ErrInvalidInput, maxLoginNameBytes)
	}
	if len(c.Password) > a.policy.MaxBytes {
		return nil, ErrInvalidCredentials
	}
	if !storable.Strings(c.Username) {
		return nil, fmt.Errorf("%w: the login name is not valid UTF-8 or holds a NUL", ErrInvalidInput)
	}
	g := guess{name: NormalizeUsername(c.Username), addr: c.Client.Addr, device: c.Device}
	res, err := a.limitGuess(ctx, g)
	if err != nil {
		a.throttled(ctx, g, err)
		return nil, err
	}
	defer res.Settle(AttemptCancelled) // unless settled below
	u, err := a.lookupLogin(ctx, g.name)
	if err != nil {
		return nil, err
	}
	more, err := a.limitAccount(ctx, g, u)
	if err != nil {
		a.throttled(ctx, g, err)
		return nil, err
	}
	defer more.Settle(AttemptCancelled)
	res = reservations{res, more}
	ok, wait, err := a.checkPassword(ctx, u, c.Password, c.Client)
	if err != nil {
		return nil, err
	}
	if !ok || u.Disabled {
		res.Settle(AttemptFailed)
		e := Event{Type: EventLoginFailed, Username: g.name, ClientAddr: c.Client.Addr, HashWait: wait}
		if u != nil {
			e.UserID, e.Username = u.ID, u.Username
			if u.Disabled {
				e.Reason = "disabled"
			}
		}
		a.emit(ctx, e)
		if ok {
			return nil, ErrUserDisabled
		}
		return nil, ErrInvalidCredentials
	}
	res.Settle(AttemptSucceeded)
	return a.signIn(ctx, Verified{User: u, Methods: passwordMethods, Client: c.Client, Device: c.Device}, wait)
}

// checkPassword verifies password against u's hash (a dummy hash when u is
// nil, so an unknown user costs the same; see verifyHash for an account
// without a password) under the concurrency bound, and
// reports whether it matched a real user, and how long it waited for a
// hashing slot. An enabled user's outdated hash
// is replaced, best effort, while the slot is held. The error is ErrBusy
// when ctx ends while waiting for a slot.
func (a *Authenticator) checkPassword(ctx context.Context, u *User, password string, c Client) (ok bool, wait time.Duration, err error) {
	stored := a.dummyHash
	if u != nil {
		stored = u.PasswordHash
	}
	start := time.Now()
	release, err := a.hashGate.acquire(ctx)
	wait = time.Since(start)
	if err != nil {
		return false, wait, err
	}
	defer release()
	if u == nil {
		_ = a.hasher.Verify(password, stored)
		return false, wait, nil
	}
	if !a.verifyHash(password, stored) {
		return false, wait, nil
	}
	if !u.Disabled && a.hasher.NeedsRehash(stored) {
		// Best effort: a failure here must not fail the login. The update
		// is conditional on the old hash, so it cannot undo a password
		// change that raced this login. (Not for a disabled account: the
		// extra work would tell that its password was right.)
		if h, err := a.hasher.Hash(password); err == nil {
			if a.store.UpdatePasswordHash(ctx, u.ID, stored, h, false, a.timestamp()) == nil {
				a.emit(ctx, Event{Type: EventPasswordRehashed, UserID: u.ID, Username: u.Username, ClientAddr: c.Addr})
			}
		}
	}
	return true, wait, nil
}

// lookupLogin finds the account a login name names: the one with that
// username, else the one with that email; nil if none. Both are looked up
// whichever matches, so that the cost tells nothing.
func (a *Authenticator) lookupLogin(ctx context.Context, name string) (*User, error) {
	byName, err := a.store.UserByUsername(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	byEmail, err := a.store.UserByEmail(ctx, NormalizeEmail(name))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if byName != nil {
		return byName, nil
	}
	return byEmail, nil
}

// throttled emits EventLoginThrottled if err is the limiter's refusal of
// g.
func (a *Authenticator) throttled(ctx context.Context, g guess, err error) {
	if errors.Is(err, ErrTooManyAttempts) {
		a.emit(ctx, Event{Type: EventLoginThrottled, Username: g.name, ClientAddr: g.addr})
	}
}

// Refresh exchanges a refresh token for a new pair and spends it. A spent
// token presented again is reuse: the whole session (every token descending
// from the same login, access tokens included) is revoked and an error
// wrapping both ErrInvalidToken and ErrRefreshReuse is returned. Within
// Config.Tokens.RefreshGrace of its rotation, the token rotated just before the
// current one is not reuse: it gets the current refresh token back, with a
// fresh access token. Every other failure wraps ErrInvalidToken, except
// store errors. c is who presents the token, for the events.
func (a *Authenticator) Refresh(ctx context.Context, c Client, refreshToken string) (*TokenPair, error) {
	pair, rc, err := a.refresh(ctx, c, refreshToken)
	switch {
	case err == nil:
		a.emit(ctx, Event{Type: EventRefreshed, UserID: rc.Subject, SessionID: rc.SessionID, ClientAddr: c.Addr})
	case errors.Is(err, ErrRefreshReuse): // its own event
	case errors.Is(err, ErrInvalidToken):
		e := Event{Type: EventRefreshFailed, Reason: "invalid", ClientAddr: c.Addr}
		if rc != nil {
			e.UserID, e.SessionID, e.Reason = rc.Subject, rc.SessionID, "revoked"
		}
		a.emit(ctx, e)
	}
	return pair, err
}

func (a *Authenticator) refresh(ctx context.Context, c Client, refreshToken string) (*TokenPair, *Claims, error) {
	rc, err := a.verifier.verifyRefresh(ctx, refreshToken, false)
	if err != nil {
		return nil, nil, err
	}
	a.hashGate.serve() // after the signature: a forged token holds nothing back
	now := a.timestamp()
	next := successorSecret(rc.SessionID, rc.ID)
	s, err := a.store.RotateSession(ctx, Rotation{
		SessionID: rc.SessionID,
		Presented: hashSecret(rc.ID),
		Next:      hashSecret(next),
		ExpiresAt: now.Add(a.refreshTTL),
		Now:       now,
		Grace:     a.grace,
	})
	switch {
	case errors.Is(err, ErrRefreshReuse):
		a.emit(ctx, Event{Type: EventRefreshReuse, UserID: rc.Subject, SessionID: rc.SessionID, ClientAddr: c.Addr})
		return nil, rc, both(ErrInvalidToken, ErrRefreshReuse)
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrSessionRevoked):
		return nil, rc, both(ErrTokenRevoked, ErrSessionRevoked)
	case err != nil:
		return nil, rc, err
	}
	if s.UserID != rc.Subject {
		_ = a.store.RevokeSession(ctx, s.ID)
		return nil, rc, fmt.Errorf("%w: session of another user", ErrTokenClaims)
	}
	u, err := a.store.UserByID(ctx, s.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, rc, fmt.Errorf("%w: user deleted", ErrTokenRevoked)
	case err != nil:
		return nil, rc, err
	case u.Disabled || u.TokenVersion != s.UserVersion:
		// Logout-all or a password change raced the login that opened
		// this session; or the user was disabled. Either way it is dead.
		if err := a.store.RevokeSession(ctx, s.ID); err != nil {
			return nil, rc, err
		}
		return nil, rc, fmt.Errorf("%w: user disabled or logged out everywhere", ErrTokenRevoked)
	}
	pair, err := a.issuePair(ctx, u, s, next, now, loginOf(rc, s))
	return pair, rc, err
}

// successorSecret is the secret of the refresh token that replaces the one
// whose secret is cur, in session sid: keyed by cur, so that it can be
// derived again from the same token (which is how a token presented again
// within the grace period gets the same successor), and by no one holding
// only what the store keeps (SHA-256 hashes of secrets).
func successorSecret(sid, cur string) string {
	m := hmac.New(sha256.New, []byte(cur))
	m.Write([]byte("goauthkit refresh successor v1\x00"))
	m.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Logout revokes the refresh session of refreshToken: every refresh token
// of the family, and at once every access token issued in it. An expired
// token still logs out. It returns an error wrapping ErrInvalidToken for a
// token that is not one of ours; callers answering over HTTP should ignore
// it (RFC 7009 §2.2). c is who logs out, for the event.
func (a *Authenticator) Logout(ctx context.Context, c Client, refreshToken string) error {
	rc, err := a.verifier.verifyRefresh(ctx, refreshToken, true)
	if err != nil {
		return err
	}
	if err := a.store.RevokeSession(ctx, rc.SessionID); err != nil {
		return err
	}
	a.emit(ctx, Event{Type: EventLogout, UserID: rc.Subject, SessionID: rc.SessionID, ClientAddr: c.Addr})
	return nil
}

// LogoutAll revokes every refresh session of the user and ends every access
// token issued to the user until now, at once. c is who asks, for the
// event.
func (a *Authenticator) LogoutAll(ctx context.Context, c Client, userID string) error {
	if err := a.store.InvalidateTokens(ctx, userID, a.timestamp()); err != nil {
		return err
	}
	a.emit(ctx, Event{Type: EventLogoutAll, UserID: userID, ClientAddr: c.Addr})
	return nil
}

// PasswordChange is what ChangePassword needs: a user's current password
// and the new one, named so that they cannot be swapped unnoticed.
type PasswordChange struct {
	UserID  string
	Current string // as typed, checked against the stored hash
	New     string // checked against the PasswordPolicy, hashed as given
	// Client is who asks: the current password is limited as a login's
	// is, by its address too.
	Client Client
}

// ChangePassword replaces the user's password after checking the current
// one, then ends every session and access token of the user, in one store
// operation (which also kills every mailed link of the account), and emits
// EventPasswordChanged (package recovery, if the service uses it, mails
// the account's address a notice). The current password is limited as a
// login's is, from pc.Client's address. It returns ErrInvalidCredentials
// for a wrong current password, an error wrapping ErrInvalidPassword for a
// new one that fails the policy or Config.Passwords.Breached, a
// *RateLimitError when current passwords are being guessed, ErrConflict if
// another change won a race, or a store error.
func (a *Authenticator) ChangePassword(ctx context.Context, pc PasswordChange) error {
	u, err := a.store.UserByID(ctx, pc.UserID)
	if err != nil {
		return err
	}
	if err := a.policy.Check(pc.New); err != nil {
		return err
	}
	// Before the current password, whose hashing slot is then held to the
	// end: never while waiting for an outside service.
	if err := a.checkBreached(ctx, pc.New); err != nil {
		return err
	}
	release, err := a.checkCurrentPassword(ctx, u, pc.Current, pc.Client)
	if err != nil {
		return err
	}
	defer release() // the new hash, under the same slot
	hash, err := a.hasher.Hash(pc.New)
	if err != nil {
		return err
	}
	if err := a.store.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, hash, true, a.timestamp()); err != nil {
		return err
	}
	a.emit(ctx, Event{Type: EventPasswordChanged, UserID: u.ID, Username: u.Username, Email: u.Email, ClientAddr: pc.Client.Addr})
	return nil
}

// Authenticate checks an access token against the key set and the store:
// the user must exist and not be disabled, the token must have been issued
// under the user's current token version, and its session (sid) must not
// be revoked. Every rejection wraps ErrInvalidToken; a store failure is
// returned as it is. With Config.Tokens.LegacyUntil, a token this check
// refuses before trusting anything in it is tried as a legacy token (see
// there and Claims.Legacy).
func (a *Authenticator) Authenticate(ctx context.Context, accessToken string) (*User, *Claims, error) {
	c, err := a.verifier.Verify(ctx, accessToken)
	if err != nil {
		if a.legacy != nil && maybeLegacy(err) {
			return a.authenticateLegacy(ctx, accessToken, err)
		}
		return nil, nil, err
	}
	a.hashGate.serve() // after the signature: a forged token holds nothing back
	var u *User
	if c.SessionID != "" {
		u, err = a.store.UserBySession(ctx, c.Subject, c.SessionID)
	} else {
		u, err = a.store.UserByID(ctx, c.Subject)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil, fmt.Errorf("%w: user deleted", ErrTokenRevoked)
	case errors.Is(err, ErrSessionRevoked):
		return nil, nil, both(ErrTokenRevoked, ErrSessionRevoked)
	case err != nil:
		return nil, nil, err
	case u.Disabled:
		return nil, nil, both(ErrTokenRevoked, ErrUserDisabled)
	case u.TokenVersion != c.Version:
		return nil, nil, fmt.Errorf("%w: logged out everywhere", ErrTokenRevoked)
	}
	return u, c, nil
}

// login is how a session's login was made, which every token of the
// session carries (amr and auth_time) and a refresh keeps.
type login struct {
	methods []string
	at      time.Time
}

// loginOf returns the login a refresh token rc carries. A refresh token
// issued before tokens carried their login's was a password login's made
// when its session was opened.
func loginOf(rc *Claims, s *Session) login {
	if len(rc.Methods) == 0 || rc.AuthTime.IsZero() {
		return login{passwordMethods, s.CreatedAt}
	}
	return login{rc.Methods, rc.AuthTime}
}

// openSession opens a refresh family for u, for a login made with
// methods, and issues its first pair.
func (a *Authenticator) openSession(ctx context.Context, u *User, c Client, methods []string) (*TokenPair, string, error) {
	now := a.timestamp()
	secret := randomID(32)
	s := &Session{
		ID: randomID(16), UserID: u.ID, TokenHash: hashSecret(secret), UserVersion: u.TokenVersion,
		CreatedAt: now, RotatedAt: now, ExpiresAt: now.Add(a.refreshTTL),
		UserAgent: cleanUserAgent(c.UserAgent),
	}
	if a.recordAddress {
		s.ClientAddr = cleanUserAgent(c.Addr)
	}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return nil, "", err
	}
	if err := a.capSessions(ctx, u, c); err != nil {
		return nil, "", err
	}
	pair, err := a.issuePair(ctx, u, s, secret, now, login{methods, now})
	return pair, s.ID, err
}

// issuePair signs a fresh access token for u in session s, and the refresh
// token that s holds the hash of (its secret is secret), both carrying l.
// The refresh token's claims all come from s and l, so that the same
// session signs the same refresh token again.
func (a *Authenticator) issuePair(ctx context.Context, u *User, s *Session, secret string, now time.Time, l login) (*TokenPair, error) {
	access, accessExp, err := a.issueAccess(ctx, u, s.ID, now, l)
	if err != nil {
		return nil, err
	}
	refresh, err := sign(a.keys.Active(), typeRefresh, wireClaims{
		Iss: a.issuer, Sub: s.UserID, Aud: a.audience, Exp: s.ExpiresAt.Unix(), Iat: s.RotatedAt.Unix(),
		Jti: secret, Ver: s.UserVersion, Sid: s.ID, Amr: l.methods, AuthTime: l.at.Unix(),
	}, nil)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: access, RefreshToken: refresh, AccessExpiresAt: accessExp, RefreshExpiresAt: s.ExpiresAt}, nil
}

// IssueAccessToken signs an access token for u, valid for the configured
// AccessTTL, without a refresh token or a session (so only LogoutAll, a
// password change or disabling u end it early), and without a login's
// amr and auth_time. Most callers want Login.
func (a *Authenticator) IssueAccessToken(ctx context.Context, u *User) (string, error) {
	t, _, err := a.issueAccess(ctx, u, "", a.timestamp(), login{})
	return t, err
}

func (a *Authenticator) issueAccess(ctx context.Context, u *User, sid string, now time.Time, l login) (string, time.Time, error) {
	var extra map[string]any
	if a.extraClaims != nil {
		var err error
		if extra, err = a.extraClaims(ctx, u); err != nil {
			return "", time.Time{}, fmt.Errorf("auth: ExtraClaims: %w", err)
		}
	}
	exp := now.Add(a.accessTTL)
	c := wireClaims{
		Iss: a.issuer, Sub: u.ID, Aud: a.audience, Exp: exp.Unix(), Iat: now.Unix(),
		Jti: randomID(16), Ver: u.TokenVersion, Sid: sid, Amr: l.methods,
	}
	if !l.at.IsZero() {
		c.AuthTime = l.at.Unix()
	}
	t, err := sign(a.keys.Active(), typeAccess, c, extra)
	return t, exp, err
}

// hash computes a new password hash under the concurrency bound.
func (a *Authenticator) hash(ctx context.Context, password string) (string, error) {
	release, err := a.hashGate.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h, err := a.hasher.Hash(password)
	if errors.Is(err, ErrInvalidPassword) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("auth: hashing: %w", err)
	}
	return h, nil
}

// timestamp is the clock, in UTC at microsecond precision (what every
// store keeps).
func (a *Authenticator) timestamp() time.Time {
	return a.now().UTC().Truncate(time.Microsecond)
}

func (a *Authenticator) emit(ctx context.Context, e Event) {
	ls := a.listeners.Load()
	if a.onEvent == nil && ls == nil {
		return
	}
	e.Time = a.timestamp()
	if a.onEvent != nil {
		a.onEvent(ctx, e)
	}
	if ls != nil {
		for _, f := range *ls {
			f(ctx, e)
		}
	}
}

// hashSecret is the SHA-256 of a refresh token's secret: what the store
// keeps. The secret has 256 bits of entropy, so a fast hash suffices.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// EventType names an Event.
type EventType string

// Event types.
const (
	EventRegistered       EventType = "registered"
	EventLoginSucceeded   EventType = "login_succeeded"
	EventLoginFailed      EventType = "login_failed"
	EventLoginThrottled   EventType = "login_throttled"
	EventPasswordRehashed EventType = "password_rehashed"
	EventRefreshReuse     EventType = "refresh_reuse_detected"
	EventRefreshed        EventType = "refreshed"
	// EventRefreshFailed: a refresh token refused (Reason "invalid" for
	// one that does not verify, "revoked" for one whose login has ended);
	// reuse is EventRefreshReuse.
	EventRefreshFailed   EventType = "refresh_failed"
	EventLogout          EventType = "logout"
	EventLogoutAll       EventType = "logout_all"
	EventPasswordChanged EventType = "password_changed"

	// EventSessionRevoked: one login ended by RevokeSession, or by a login
	// past Config.Sessions.Max (Reason "too many logins").
	EventSessionRevoked EventType = "session_revoked"
	// EventUserDeleted: an account deleted, by its user (DeleteAccount),
	// or by an administrator (DeleteUser, with the Actor).
	EventUserDeleted EventType = "user_deleted"
	// (Package admin's changes are its own events, with Actor and Change;
	// an administrator's ending of every login is EventLogoutAll with
	// them.)
)

// Event is a security-relevant occurrence, for audit logs. It never holds a
// password, a hash, a secret or a token.
type Event struct {
	Type   EventType
	Time   time.Time
	UserID string // empty when unknown (a login for a name that does not exist)
	// Username is the account's username when UserID is set; otherwise the
	// login name attempted, normalised, which may be an email address or
	// anything a user typed.
	Username string
	// ClientAddr is the address of the Client the call was made for
	// (Credentials.Client, ...), empty when unknown.
	ClientAddr string
	SessionID  string // the refresh family, where one is concerned
	Reason     string // a short word for failures, such as "disabled"
	// Email is the address a mail or a link concerns, where one does.
	Email string
	// Methods is, for EventLoginSucceeded, how the user was verified
	// (Verified.Methods: MethodPassword, ...).
	Methods []string
	// HashWait is, for EventLoginSucceeded and EventLoginFailed, how long
	// the login waited for a hashing slot (Config.Passwords.MaxConcurrentHashes).
	HashWait time.Duration
	// Actor, for an administrator's change (UpdateUser), names who made
	// it: the acting administrator's user id, or a tool and who ran it.
	Actor string
	// Change, for an administrator's change, says what changed, as
	// "disabled=true" or "roles=admin,ops".
	Change string
	// Warning marks a feature's event that points at an attack or a
	// broken dependency (package recovery's mail that failed): audit.Log
	// logs it as a warning, as it does EventLoginThrottled and
	// EventRefreshReuse.
	Warning bool
}
