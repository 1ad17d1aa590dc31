package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	capoidc "github.com/hashicorp/cap/oidc"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/oidc"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/memory"
)

const (
	public   = "https://app.example"
	clientID = "the-client"
	secret   = "the-client-secret"
	code     = "the-code"
)

var (
	ctx        = context.Background()
	testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")
)

// recorder sees every request to the provider: the test checks the PKCE
// verifier the token request carries, and can rewrite the token answer
// (a provider that misbehaves).
type recorder struct {
	next http.RoundTripper

	mu       sync.Mutex
	verifier string
	auth     string                             // the token request's Authorization
	rewrite  func(body []byte) []byte           // of the token answer
	fail     func(*http.Request) *http.Response // instead of the provider
	onToken  func(verifier string)              // before the token request goes
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	fail, rewrite := r.fail, r.rewrite
	r.mu.Unlock()
	if fail != nil {
		if resp := fail(req); resp != nil {
			return resp, nil
		}
	}
	isToken := req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/token")
	if isToken {
		body, _ := io.ReadAll(req.Body)
		form, _ := url.ParseQuery(string(body))
		r.mu.Lock()
		r.verifier, r.auth = form.Get("code_verifier"), req.Header.Get("Authorization")
		onToken := r.onToken
		r.mu.Unlock()
		if onToken != nil {
			onToken(form.Get("code_verifier"))
		}
		req.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil || !isToken || rewrite == nil {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body = rewrite(body)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

type env struct {
	a      *auth.Authenticator
	o      *oidc.OIDC
	store  *memory.Store
	clock  *authtest.Clock
	events *authtest.Events
	tp     *capoidc.TestProvider
	rec    *recorder
	client *http.Client // the browser's: no redirects followed
	nonce  string       // the last attempt's
	// challenge is the last attempt's PKCE code_challenge: the provider
	// takes only the verifier whose S256 it is.
	challenge string
}

// pkce is a code verifier for cap's test provider, which compares the
// token request's code_verifier with its own.
type pkce string

func (v pkce) Verifier() string                { return string(v) }
func (v pkce) Challenge() string               { return s256(string(v)) }
func (v pkce) Method() capoidc.ChallengeMethod { return capoidc.S256 }
func (v pkce) Copy() capoidc.CodeVerifier      { return v }

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{store: memory.New(), clock: authtest.NewClock(time.Now().UTC().Truncate(time.Second)), events: &authtest.Events{}}
	a, err := auth.New(auth.Config{Store: e.store, SecretKey: testSecret, Now: e.clock.Now, OnEvent: e.events.Add,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	e.tp = capoidc.StartTestProvider(t)
	t.Cleanup(e.tp.Stop)
	e.tp.SetClientCreds(clientID, secret)
	e.tp.SetAllowedRedirectURIs([]string{public + "/login/test/callback"})
	e.tp.SetExpectedAuthCode(code)
	e.tp.SetExpectedSubject("sub-alice")
	e.tp.SetNowFunc(e.clock.Now)
	base := e.tp.HTTPClient()
	e.rec = &recorder{next: base.Transport}
	e.rec.onToken = func(verifier string) {
		if s256(verifier) == e.challenge {
			e.tp.SetPKCEVerifier(pkce(verifier))
		} else {
			e.tp.SetPKCEVerifier(pkce("not the attempt's verifier"))
		}
	}
	e.client = &http.Client{Transport: base.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	e.o, err = oidc.New(ctx, a, oidc.Config{PublicURL: public, HTTPClient: &http.Client{Transport: e.rec},
		// One scope: cap's test provider takes the scope parameter's value
		// as one scope name, and knows "openid" but not "openid email".
		Providers: []oidc.Provider{{Name: "test", Label: "Test provider", Issuer: e.tp.Addr(), ClientID: clientID, ClientSecret: secret,
			Scopes: []string{"openid"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// claims sets the claims the provider adds to its ID tokens.
func (e *env) claims(c map[string]any) { e.tp.SetCustomClaims(c) }

// begin begins a sign-in (link: a link for that user) and runs the
// browser to the provider and back: the callback's parameters.
func (e *env) begin(t *testing.T, link *auth.User) (cb oidc.Callback, authorize url.Values) {
	t.Helper()
	b, err := e.o.Begin(ctx, "test", link, auth.Client{Addr: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	authorize = u.Query()
	e.nonce, e.challenge = authorize.Get("nonce"), authorize.Get("code_challenge")
	e.tp.SetExpectedAuthNonce(e.nonce)
	resp, err := e.client.Get(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("the provider's authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	return oidc.Callback{Provider: "test", State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"),
		Binding: b.Binding, Client: auth.Client{Addr: "192.0.2.1"}}, authorize
}

// signIn runs a whole sign-in.
func (e *env) signIn(t *testing.T) (*oidc.Result, error) {
	t.Helper()
	cb, _ := e.begin(t, nil)
	return e.o.Finish(ctx, cb)
}

func (e *env) wantFed(t *testing.T, r *oidc.Result, err error) *auth.User {
	t.Helper()
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	_, claims, err := e.a.Authenticate(ctx, r.Pair.AccessToken)
	if err != nil || !slices.Equal(claims.Methods, []string{auth.MethodFederated}) || claims.Subject != r.User.ID {
		t.Fatalf("the sign-in's token: %+v, %v", claims, err)
	}
	return r.User
}

// TestSignIn: the code flow with state, nonce and PKCE S256, and a new
// account for a provider account nobody has.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	e.claims(map[string]any{"email": "Alice@Example.com", "email_verified": true, "preferred_username": "Alice"})
	cb, authorize := e.begin(t, nil)
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if len(authorize.Get(p)) < 43 {
			t.Errorf("%s %q: want at least 256 bits", p, authorize.Get(p))
		}
	}
	if authorize.Get("code_challenge_method") != "S256" || authorize.Get("response_type") != "code" ||
		authorize.Get("redirect_uri") != public+"/login/test/callback" || authorize.Get("client_id") != clientID ||
		!strings.Contains(authorize.Get("scope"), "openid") {
		t.Errorf("the authorization request: %v", authorize)
	}
	r, err := e.o.Finish(ctx, cb)
	u := e.wantFed(t, r, err)
	if u.Username != "alice" || u.Email != "alice@example.com" || !u.EmailVerified || u.PasswordHash != "" {
		t.Errorf("the new account: %+v", u)
	}
	// PKCE: the token request carried the verifier of the challenge;
	// client_secret_basic.
	sum := sha256.Sum256([]byte(e.rec.verifier))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != authorize.Get("code_challenge") {
		t.Errorf("the code_verifier %q is not the challenge's", e.rec.verifier)
	}
	if !strings.HasPrefix(e.rec.auth, "Basic ") {
		t.Errorf("client authentication %q, want client_secret_basic", e.rec.auth)
	}
	ids, _ := e.o.Identities(ctx, u.ID)
	if len(ids) != 1 || ids[0].Provider != "test" || ids[0].Subject != "sub-alice" || ids[0].Issuer != e.tp.Addr() {
		t.Errorf("identities %+v", ids)
	}
	// The same provider account again: the same account.
	r, err = e.signIn(t)
	if again := e.wantFed(t, r, err); again.ID != u.ID {
		t.Errorf("a second sign-in made another account")
	}
	if e.events.Count(oidc.EventSignIn) != 2 {
		t.Errorf("events %v", e.events.All())
	}
}

// TestRefusals: every check of a callback and of its ID token, each
// refused with its error, and nobody signed in.
func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, e *env)
		edit  func(cb *oidc.Callback)
		want  error
	}{
		{name: "wrong nonce", setup: func(t *testing.T, e *env) {
			e.claims(map[string]any{"nonce": "not the attempt's"})
			e.tp.SetExpectedAuthNonce("")
		}, want: oidc.ErrInvalidIDToken},
		{name: "wrong audience", setup: func(t *testing.T, e *env) { e.claims(map[string]any{"aud": "another-client"}) }, want: oidc.ErrInvalidIDToken},
		{name: "several audiences, azp another", setup: func(t *testing.T, e *env) {
			e.claims(map[string]any{"aud": []string{clientID, "other"}, "azp": "other"})
		}, want: oidc.ErrInvalidIDToken},
		{name: "wrong issuer", setup: func(t *testing.T, e *env) { e.claims(map[string]any{"iss": "https://evil.example"}) }, want: oidc.ErrInvalidIDToken},
		{name: "expired", setup: func(t *testing.T, e *env) {
			e.claims(map[string]any{"exp": float64(e.clock.Now().Add(-31 * time.Second).Unix())})
		}, want: oidc.ErrInvalidIDToken},
		{name: "no exp", setup: func(t *testing.T, e *env) { e.claims(map[string]any{"exp": nil}) }, want: oidc.ErrInvalidIDToken},
		{name: "issued ahead", setup: func(t *testing.T, e *env) {
			e.claims(map[string]any{"iat": float64(e.clock.Now().Add(time.Minute).Unix())})
		}, want: oidc.ErrInvalidIDToken},
		{name: "no sub", setup: func(t *testing.T, e *env) { e.claims(map[string]any{"sub": ""}) }, want: oidc.ErrInvalidIDToken},
		{name: "a key not in the provider's set", setup: func(t *testing.T, e *env) {
			_, _, alg, kid := e.tp.SigningKeys()
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			// Sign with another key under the same key id: the cached set
			// (fetched at the first sign-in) does not verify it.
			r, err := e.signIn(t)
			e.wantFed(t, r, err)
			e.tp.SetSigningKeys(other, other.Public(), alg, kid)
		}, want: oidc.ErrInvalidIDToken},
		{name: "alg none", setup: func(t *testing.T, e *env) { e.rec.rewrite = replaceIDToken(unsignedToken(e)) }, want: oidc.ErrInvalidIDToken},
		{name: "alg HS256 under the client secret", setup: func(t *testing.T, e *env) {
			e.rec.rewrite = replaceIDToken(hmacToken(e))
		}, want: oidc.ErrInvalidIDToken},
		{name: "no id_token", setup: func(t *testing.T, e *env) { e.tp.SetOmitIDTokens(true) }, want: oidc.ErrInvalidIDToken},
		{name: "the code refused", edit: func(cb *oidc.Callback) { cb.Code = "another code" }, want: oidc.ErrProviderRefused},
		{name: "an error from the provider", edit: func(cb *oidc.Callback) { cb.Error, cb.Code = "access_denied", "" }, want: oidc.ErrProviderRefused},
		{name: "another browser", edit: func(cb *oidc.Callback) { cb.Binding = "not this browser's cookie" }, want: oidc.ErrInvalidAttempt},
		{name: "no cookie", edit: func(cb *oidc.Callback) { cb.Binding = "" }, want: oidc.ErrInvalidAttempt},
		{name: "another state", edit: func(cb *oidc.Callback) { cb.State = "forged" }, want: oidc.ErrInvalidAttempt},
		{name: "another provider's path", edit: func(cb *oidc.Callback) { cb.Provider = "nope" }, want: oidc.ErrUnknownProvider},
		{name: "the token endpoint down", setup: func(t *testing.T, e *env) {
			e.rec.fail = func(r *http.Request) *http.Response {
				if strings.HasSuffix(r.URL.Path, "/token") {
					return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("down")), Header: http.Header{}, Request: r}
				}
				return nil
			}
		}, want: oidc.ErrProviderUnavailable},
		{name: "the token endpoint answers HTML", setup: func(t *testing.T, e *env) {
			e.rec.fail = func(r *http.Request) *http.Response {
				if strings.HasSuffix(r.URL.Path, "/token") {
					return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("<html>hello</html>")),
						Header: http.Header{"Content-Type": {"text/html"}}, Request: r}
				}
				return nil
			}
		}, want: oidc.ErrProviderUnavailable},
		{name: "the keys unreachable", setup: func(t *testing.T, e *env) { e.tp.SetDisableJWKs(true) }, want: oidc.ErrProviderUnavailable},
		{name: "the keys not a key set", setup: func(t *testing.T, e *env) { e.tp.SetInvalidJWKS(true) }, want: oidc.ErrProviderUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.setup != nil {
				c.setup(t, e)
			}
			before := e.events.Count(auth.EventLoginSucceeded)
			cb, _ := e.begin(t, nil)
			if c.name == "wrong nonce" {
				e.tp.SetExpectedAuthNonce("")
			}
			if c.edit != nil {
				c.edit(&cb)
			}
			r, err := e.o.Finish(ctx, cb)
			if !errors.Is(err, c.want) || r != nil {
				t.Fatalf("Finish: %v, want %v", err, c.want)
			}
			if e.events.Count(auth.EventLoginSucceeded) != before {
				t.Error("a refused callback signed someone in")
			}
		})
	}
}

// TestAttemptOnce: an attempt's state is spent by its callback, whatever
// the outcome, and expires.
func TestAttemptOnce(t *testing.T) {
	e := newEnv(t)
	cb, _ := e.begin(t, nil)
	r, err := e.o.Finish(ctx, cb)
	e.wantFed(t, r, err)
	if _, err := e.o.Finish(ctx, cb); !errors.Is(err, oidc.ErrInvalidAttempt) {
		t.Errorf("the callback again: %v", err)
	}
	cb, _ = e.begin(t, nil)
	e.clock.Advance(10 * time.Minute)
	if _, err := e.o.Finish(ctx, cb); !errors.Is(err, oidc.ErrInvalidAttempt) {
		t.Errorf("an expired attempt: %v", err)
	}
}

// TestKeyRotation: a key id the cached set lacks makes it fetch the set
// again, at most once a minute.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	r, err := e.signIn(t)
	e.wantFed(t, r, err)
	_, _, alg, _ := e.tp.SigningKeys()
	next, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.tp.SetSigningKeys(next, next.Public(), alg, "rotated")
	if _, err := e.signIn(t); !errors.Is(err, oidc.ErrInvalidIDToken) {
		t.Fatalf("a new key id within a minute of the last fetch: %v", err)
	}
	e.clock.Advance(time.Minute)
	r, err = e.signIn(t)
	e.wantFed(t, r, err)
}

// replaceIDToken rewrites a token answer's id_token.
func replaceIDToken(token func() string) func([]byte) []byte {
	return func(body []byte) []byte {
		s := string(body)
		i := strings.Index(s, `"id_token":"`)
		if i < 0 {
			return body
		}
		j := strings.Index(s[i+12:], `"`)
		return []byte(s[:i+12] + token() + s[i+12+j:])
	}
}

// goodClaims are the claims of a right ID token for the last attempt.
func goodClaims(e *env) map[string]any {
	now := e.clock.Now()
	return map[string]any{"iss": e.tp.Addr(), "sub": "sub-alice", "aud": clientID, "nonce": e.nonce,
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}
}

// unsignedToken is a token of the right claims with alg none.
func unsignedToken(e *env) func() string {
	return func() string {
		return segment(map[string]any{"alg": "none", "typ": "JWT"}) + "." + segment(goodClaims(e)) + "."
	}
}

// hmacToken is a token of the right claims signed with HS256 under the
// client secret, which a confused verifier would take for the provider's.
func hmacToken(e *env) func() string {
	return func() string {
		_, _, _, kid := e.tp.SigningKeys()
		signing := segment(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + segment(goodClaims(e))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(signing))
		return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
}

func segment(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestWhoGetsSignedIn: by the provider account's issuer and subject, never
// by an email alone; a verified email finds an account whose email was
// proven (linked), or takes back one whose email was not (reclaimed).
func TestWhoGetsSignedIn(t *testing.T) {
	register := func(t *testing.T, e *env, name, email string, verified bool) *auth.User {
		t.Helper()
		u, err := e.a.Register(ctx, auth.NewUser{Username: name, Email: email, Password: "the attacker's password"})
		if err != nil {
			t.Fatal(err)
		}
		if verified {
			verifyEmail(t, e, u)
		}
		return u
	}
	t.Run("a verified local email: linked, its password kept", func(t *testing.T) {
		e := newEnv(t)
		local := register(t, e, "alice", "alice@example.com", true)
		e.claims(map[string]any{"email": "alice@example.com", "email_verified": true})
		r, err := e.signIn(t)
		if u := e.wantFed(t, r, err); u.ID != local.ID || u.PasswordHash == "" {
			t.Fatalf("signed in %+v, want alice with her password", u)
		}
	})
	t.Run("an unverified local email: reclaimed", func(t *testing.T) {
		e := newEnv(t)
		squatter := register(t, e, "mallory", "victim@example.com", false)
		pair, err := e.a.Login(ctx, auth.Credentials{Username: "mallory", Password: "the attacker's password"})
		if err != nil {
			t.Fatal(err)
		}
		e.claims(map[string]any{"email": "victim@example.com", "email_verified": true})
		r, err := e.signIn(t)
		u := e.wantFed(t, r, err)
		if u.ID != squatter.ID || u.PasswordHash != "" || !u.EmailVerified {
			t.Fatalf("reclaimed %+v", u)
		}
		if _, err := e.a.Login(ctx, auth.Credentials{Username: "mallory", Password: "the attacker's password"}); err == nil {
			t.Error("the squatter's password still opens the account")
		}
		if _, _, err := e.a.Authenticate(ctx, pair.AccessToken); err == nil {
			t.Error("the squatter's access token still works")
		}
		if _, err := e.a.Refresh(ctx, auth.Client{}, pair.RefreshToken); err == nil {
			t.Error("the squatter's refresh token still works")
		}
	})
	t.Run("an email the provider did not verify: a new account, without it", func(t *testing.T) {
		for _, verified := range []any{false, "true", nil, 1} {
			e := newEnv(t)
			local := register(t, e, "alice", "alice@example.com", true)
			e.claims(map[string]any{"email": "alice@example.com", "email_verified": verified})
			r, err := e.signIn(t)
			if u := e.wantFed(t, r, err); u.ID == local.ID || u.Email != "" || u.Username != "alice2" {
				t.Fatalf("email_verified %#v: signed in %+v", verified, u)
			}
		}
	})
	t.Run("names", func(t *testing.T) {
		for _, c := range []struct {
			claims map[string]any
			want   string
		}{
			{map[string]any{"preferred_username": "Bob.Smith"}, "bob.smith"},
			{map[string]any{"preferred_username": "бob", "email": "Bob+x@Example.com", "email_verified": true}, "bobx"},
			{map[string]any{"preferred_username": "ab"}, "user"},
			{map[string]any{}, "user"},
		} {
			e := newEnv(t)
			e.claims(c.claims)
			r, err := e.signIn(t)
			if u := e.wantFed(t, r, err); u.Username != c.want {
				t.Errorf("claims %v: username %q, want %q", c.claims, u.Username, c.want)
			}
		}
	})
	t.Run("taken names: the next rule, then a suffix", func(t *testing.T) {
		e := newEnv(t)
		register(t, e, "carol", "", false)
		register(t, e, "user", "", false)
		e.claims(map[string]any{"preferred_username": "carol"})
		r, err := e.signIn(t)
		if u := e.wantFed(t, r, err); u.Username != "user2" {
			t.Errorf("username %q, want user2 (carol taken, no email)", u.Username)
		}
		e.tp.SetExpectedSubject("sub-carol-2")
		e.claims(map[string]any{"preferred_username": "carol", "email": "Carol.Two@example.com", "email_verified": true})
		r, err = e.signIn(t)
		if u := e.wantFed(t, r, err); u.Username != "carol.two" || u.Email != "carol.two@example.com" || !u.EmailVerified {
			t.Errorf("new account %+v, want carol.two with the verified email", u)
		}
	})
	t.Run("a disabled account found by its email: left alone", func(t *testing.T) {
		e := newEnv(t)
		squatter := register(t, e, "mallory", "victim@example.com", false)
		disabled := true
		if _, err := e.store.ChangeUser(ctx, squatter.ID, auth.UserChange{Disabled: &disabled, Now: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		e.claims(map[string]any{"email": "victim@example.com", "email_verified": true})
		if _, err := e.signIn(t); !errors.Is(err, auth.ErrUserDisabled) {
			t.Fatalf("sign-in: %v", err)
		}
		if ids, _ := e.o.Identities(ctx, squatter.ID); len(ids) != 0 {
			t.Errorf("the disabled account was linked: %+v", ids)
		}
		if u, _ := e.store.UserByID(ctx, squatter.ID); u.PasswordHash == "" || u.EmailVerified {
			t.Errorf("the disabled account was taken back: %+v", u)
		}
	})
	t.Run("a disabled account", func(t *testing.T) {
		e := newEnv(t)
		r, err := e.signIn(t)
		u := e.wantFed(t, r, err)
		disabled := true
		if _, err := e.store.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: &disabled, Now: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.signIn(t); !errors.Is(err, auth.ErrUserDisabled) {
			t.Errorf("a disabled account's sign-in: %v", err)
		}
	})
}

// TestLink: a link attempt links the provider account to its user, and
// refuses one linked elsewhere or a second one at the provider; unlinking
// keeps the last way in.
func TestLink(t *testing.T) {
	e := newEnv(t)
	alice, err := e.a.Register(ctx, auth.NewUser{Username: "alice", Password: "alice's password"})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := e.begin(t, alice)
	r, err := e.o.Finish(ctx, cb)
	if err != nil || !r.Linked || r.Pair != nil || r.User.ID != alice.ID {
		t.Fatalf("link: %+v, %v", r, err)
	}
	r, err = e.signIn(t)
	if u := e.wantFed(t, r, err); u.ID != alice.ID {
		t.Errorf("the linked account signed in %s", u.Username)
	}
	// Linked already: for alice again, and for bob.
	cb, _ = e.begin(t, alice)
	if _, err := e.o.Finish(ctx, cb); !errors.Is(err, oidc.ErrAlreadyLinked) {
		t.Errorf("a second link at the provider: %v", err)
	}
	bob, _ := e.a.Register(ctx, auth.NewUser{Username: "bob", Password: "bob's password"})
	cb, _ = e.begin(t, bob)
	if _, err := e.o.Finish(ctx, cb); !errors.Is(err, oidc.ErrLinkedElsewhere) {
		t.Errorf("a link of alice's provider account for bob: %v", err)
	}
	// A link begun before the user's logins were ended (a password
	// change, a reclaim of the account) is refused.
	carol, _ := e.a.Register(ctx, auth.NewUser{Username: "carol", Password: "carol's password"})
	e.tp.SetExpectedSubject("sub-carol")
	cb, _ = e.begin(t, carol)
	if err := e.store.InvalidateTokens(ctx, carol.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.o.Finish(ctx, cb); !errors.Is(err, oidc.ErrInvalidAttempt) {
		t.Errorf("a link across an ending of the user's logins: %v", err)
	}
	e.tp.SetExpectedSubject("sub-alice")
	// alice has a password: unlinking is fine.
	if err := e.o.Unlink(ctx, alice, "test", auth.Client{}); err != nil {
		t.Errorf("Unlink: %v", err)
	}
	if err := e.o.Unlink(ctx, alice, "test", auth.Client{}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Unlink again: %v", err)
	}
	// An account made by a provider sign-in has no other way in.
	e.tp.SetExpectedSubject("sub-dora")
	r, err = e.signIn(t)
	dora := e.wantFed(t, r, err)
	if err := e.o.Unlink(ctx, dora, "test", auth.Client{}); !errors.Is(err, oidc.ErrLastCredential) {
		t.Errorf("unlinking the last way in: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	e := newEnv(t)
	for _, c := range []oidc.Config{
		{PublicURL: "not a url", Providers: []oidc.Provider{{Name: "x", Issuer: e.tp.Addr(), ClientID: "c"}}},
		{PublicURL: public, Providers: []oidc.Provider{{Name: "Upper", Issuer: e.tp.Addr(), ClientID: "c"}}},
		{PublicURL: public, Providers: []oidc.Provider{{Name: "x", Issuer: "http://idp.example", ClientID: "c"}}},
		{PublicURL: public, Providers: []oidc.Provider{{Name: "x", Issuer: e.tp.Addr()}}},
		{PublicURL: public, Providers: []oidc.Provider{{Name: "x", Issuer: e.tp.Addr() + "/other", ClientID: "c"}}},
		{PublicURL: public, Providers: []oidc.Provider{{Name: "x", Issuer: e.tp.Addr(), ClientID: "c"}, {Name: "x", Issuer: e.tp.Addr(), ClientID: "c"}}},
	} {
		if _, err := oidc.New(ctx, e.a, oidc.Config{PublicURL: c.PublicURL, Providers: c.Providers, HTTPClient: e.tp.HTTPClient()}); err == nil {
			t.Errorf("New(%+v) took it", c)
		}
	}
}

// verifyEmail proves u's email as a mailed link's redemption does.
func verifyEmail(t *testing.T, e *env, u *auth.User) {
	t.Helper()
	hash := sha256.Sum256([]byte("a link token of " + u.ID))
	now := e.clock.Now()
	if err := e.store.CreateLinkToken(ctx, &recovery.LinkToken{Hash: hash[:], UserID: u.ID, Purpose: recovery.LinkVerifyEmail,
		Email: u.Email, UserVersion: u.TokenVersion, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RedeemLinkToken(ctx, recovery.Redemption{Hash: hash[:], Purpose: recovery.LinkVerifyEmail, Now: now}); err != nil {
		t.Fatal(err)
	}
}

// TestAttemptBudget: attempts begun from one address are bounded, since
// each is a store record and anyone may begin one.
func TestAttemptBudget(t *testing.T) {
	e := newEnv(t)
	o, err := oidc.New(ctx, e.a, oidc.Config{PublicURL: public, HTTPClient: e.tp.HTTPClient(), AttemptAddress: auth.Rate{Burst: 3, Interval: time.Minute},
		Providers: []oidc.Provider{{Name: "test", Issuer: e.tp.Addr(), ClientID: clientID, ClientSecret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	client := auth.Client{Addr: "192.0.2.77"}
	for range 3 {
		if _, err := o.Begin(ctx, "test", nil, client); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.Begin(ctx, "test", nil, client); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("a fourth attempt: %v", err)
	}
	if _, err := o.Begin(ctx, "test", nil, auth.Client{Addr: "192.0.2.78"}); err != nil {
		t.Errorf("another address: %v", err)
	}
}
