package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The OpenID provider the tests of sign-in through other providers sign in
// at: zitadel/oidc's example provider (its packages exampleop and storage,
// a real OpenID Connect implementation with discovery, a JWKS, the code
// flow with PKCE and a login form), in-process on a loopback port. Its
// issuer is http://127.0.0.1:PORT, an http issuer that the server allows
// on a loopback host only.

// testProvider is one running provider.
type testProvider struct {
	t      *testing.T
	issuer string
	srv    *httptest.Server

	mu      sync.Mutex
	users   map[string]*storage.User // by id
	clients map[string]*storage.Client
	secrets map[string]string // client id → secret
	// idTokenClaims: the ID tokens of the clients hold the user's claims
	// (email, email_verified, preferred_username), as Google's, Microsoft
	// Entra's and Keycloak's do; without it they hold none and the claims
	// are the UserInfo endpoint's only (the example's default, and
	// Zitadel's unless its "User Info inside ID Token" is set).
	idTokenClaims bool
	stopped       bool
	// broken are the paths that answer as broken says instead of the
	// provider.
	broken map[string]brokenAnswer
}

// brokenAnswer is the answer of a broken path.
type brokenAnswer struct {
	status      int
	contentType string
	body        string
}

// providerOptions adjust a testProvider.
type providerOptions struct {
	// userinfoOnly leaves the user's claims out of the ID token (see
	// testProvider.idTokenClaims).
	userinfoOnly bool
}

// startProvider starts a provider on 127.0.0.1:0, stopped at the test's
// end, with no user and no client yet.
func startProvider(t *testing.T, o providerOptions) *testProvider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{t: t, issuer: "http://" + ln.Addr().String(), users: map[string]*storage.User{},
		clients: map[string]*storage.Client{}, secrets: map[string]string{}, idTokenClaims: !o.userinfoOnly}
	// The example's storage, with this provider's users and no client of
	// its own: providerStorage answers for the clients.
	st := storage.NewStorageWithClients(providerUsers{p}, map[string]*storage.Client{})
	// No logger: SetupServer would make it the process's default.
	router := exampleop.SetupServer(p.issuer, providerStorage{st, p}, nil, false)
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		b, ok := p.broken[r.URL.Path]
		p.mu.Unlock()
		if !ok {
			router.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", b.contentType)
		w.WriteHeader(b.status)
		_, _ = io.WriteString(w, b.body)
	}))
	p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Start()
	t.Cleanup(p.stop)
	return p
}

// stop stops the provider: from then on it cannot be reached.
func (p *testProvider) stop() {
	p.mu.Lock()
	stopped := p.stopped
	p.stopped = true
	p.mu.Unlock()
	if !stopped {
		p.srv.Close()
	}
}

// breakPath makes the provider answer status, a body of type ct, at path
// from now on (its token endpoint is /oauth/token, its keys /keys).
func (p *testProvider) breakPath(path string, status int, ct, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken == nil {
		p.broken = map[string]brokenAnswer{}
	}
	p.broken[path] = brokenAnswer{status, ct, body}
}

// addUser adds an account to the provider: its ID is the subject of its
// ID tokens, its Username the login name of the provider's form and the
// preferred_username claim. Both are unique: the example's storage looks a
// login name up among its users in no set order.
func (p *testProvider) addUser(u storage.User) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range p.users {
		if v.ID == u.ID || v.Username == u.Username {
			p.t.Fatalf("the provider has a user %s or %s already", u.ID, u.Username)
		}
	}
	p.users[u.ID] = &u
}

// register registers a web client (client_secret_basic, the code flow)
// whose redirect URI is redirectURI.
func (p *testProvider) register(clientID, secret, redirectURI string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[clientID] = storage.WebClient(clientID, secret, redirectURI)
	p.secrets[clientID] = secret
}

// providerUsers is the storage.UserStore of a testProvider.
type providerUsers struct{ p *testProvider }

func (s providerUsers) GetUserByID(id string) *storage.User {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.p.users[id]
}

func (s providerUsers) GetUserByUsername(name string) *storage.User {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	for _, u := range s.p.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (providerUsers) ExampleClientID() string { return storage.ServiceUserID }

// providerStorage is the example's storage, but for its clients: those
// registered with testProvider.register.
type providerStorage struct {
	*storage.Storage
	p *testProvider
}

func (s providerStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	c, ok := s.p.clients[id]
	if !ok {
		return nil, errors.New("client not found")
	}
	return providerClient{Client: c, idTokenClaims: s.p.idTokenClaims}, nil
}

func (s providerStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if want, ok := s.p.secrets[id]; !ok || want != secret {
		return errors.New("invalid client")
	}
	return nil
}

// providerClient is a registered client, whose ID tokens hold the user's
// claims when idTokenClaims.
type providerClient struct {
	*storage.Client
	idTokenClaims bool
}

func (c providerClient) IDTokenUserinfoClaimsAssertion() bool { return c.idTokenClaims }

// providerEnv is a server whose only provider is p, named zitadel
// (AUTH_OIDC_PROVIDERS=zitadel, labelled "Zitadel"), on the store db (""
// for SQLite, "memory"), with the public URL http://localhost:PORT; the
// client is registered at p with the server's redirect URI.
func providerEnv(t *testing.T, p *testProvider, db string, o envOptions) *env {
	t.Helper()
	const clientID, secret = "goauthkit-e2e", "the client secret of goauthkit-e2e"
	vars := map[string]string{
		"AUTH_OIDC_PROVIDERS":             "zitadel",
		"AUTH_OIDC_ZITADEL_ISSUER":        p.issuer,
		"AUTH_OIDC_ZITADEL_CLIENT_ID":     clientID,
		"AUTH_OIDC_ZITADEL_CLIENT_SECRET": secret,
		"AUTH_OIDC_ZITADEL_LABEL":         "Zitadel",
	}
	for k, v := range o.vars {
		vars[k] = v
	}
	o.vars, o.db = vars, db
	if o.publicHost == "" {
		o.publicHost = "localhost"
	}
	e := newEnv(t, o)
	p.register(clientID, secret, e.publicURL+"/login/zitadel/callback")
	e.guard.secret(secret)
	return e
}
