package oidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/oidc"
)

// fakeTenants is a multi-tenant provider as Microsoft Entra's common
// endpoint is: its discovery names the issuer template
// BASE/{tenantid}/v2.0, and each ID token's iss is its tenant's, with the
// tenant in the tid claim. (cap's test provider has one fixed issuer, so
// the test serves this one itself, signing with go-jose.)
type fakeTenants struct {
	srv *httptest.Server
	key *ecdsa.PrivateKey

	mu     sync.Mutex
	nonce  string
	claims map[string]any // of the next ID token, over the right ones
}

func newFakeTenants(t *testing.T, e *env) *fakeTenants {
	f := &fakeTenants{}
	f.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /common/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := f.srv.URL
		writeJSON(w, map[string]any{"issuer": base + "/{tenantid}/v2.0", "authorization_endpoint": base + "/authorize",
			"token_endpoint": base + "/token", "jwks_uri": base + "/keys", "id_token_signing_alg_values_supported": []string{"ES256"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		f.nonce = q.Get("nonce")
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=c&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		now := e.clock.Now()
		claims := map[string]any{"iss": f.srv.URL + "/tenant-a/v2.0", "tid": "tenant-a", "sub": "sub-of-a", "aud": clientID,
			"nonce": f.nonce, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		for k, v := range f.claims {
			claims[k] = v
		}
		f.mu.Unlock()
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: f.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		payload, _ := json.Marshal(claims)
		jws, _ := signer.Sign(payload)
		token, _ := jws.CompactSerialize()
		writeJSON(w, map[string]any{"access_token": "at", "token_type": "Bearer", "id_token": token})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// TestTenantIssuer: a multi-tenant provider's discovery names an issuer
// template; a token is accepted only when its iss is its own tenant's.
func TestTenantIssuer(t *testing.T) {
	e := newEnv(t)
	f := newFakeTenants(t, e)
	o, err := oidc.New(ctx, e.a, oidc.Config{PublicURL: public,
		Providers: []oidc.Provider{{Name: "entra", Issuer: f.srv.URL + "/common/v2.0", ClientID: clientID, ClientSecret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() (*oidc.Result, error) {
		t.Helper()
		b, err := o.Begin(ctx, "entra", nil, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Get(b.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return o.Finish(ctx, oidc.Callback{Provider: "entra", State: loc.Query().Get("state"), Code: loc.Query().Get("code"), Binding: b.Binding})
	}
	r, err := signIn()
	u := e.wantFed(t, r, err)
	ids, _ := o.Identities(ctx, u.ID)
	if len(ids) != 1 || ids[0].Issuer != f.srv.URL+"/tenant-a/v2.0" {
		t.Errorf("identities %+v: want the tenant's issuer", ids)
	}
	for _, c := range []struct {
		name   string
		claims map[string]any
	}{
		{"another tenant's issuer", map[string]any{"iss": f.srv.URL + "/tenant-b/v2.0"}},
		{"no tid", map[string]any{"tid": ""}},
		{"the template itself", map[string]any{"iss": f.srv.URL + "/{tenantid}/v2.0", "tid": "{tenantid}"}},
		{"a tid with a path", map[string]any{"iss": f.srv.URL + "/a/b/v2.0", "tid": "a/b"}},
	} {
		f.mu.Lock()
		f.claims = c.claims
		f.mu.Unlock()
		if _, err := signIn(); !errors.Is(err, oidc.ErrInvalidIDToken) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Only the tenant segment may differ, and only from common,
	// organizations or consumers.
	for _, issuer := range []string{f.srv.URL + "/mytenant/v2.0", f.srv.URL + "/common/v2.0/extra"} {
		if _, err := oidc.New(ctx, e.a, oidc.Config{PublicURL: public, Providers: []oidc.Provider{{Name: "x", Issuer: issuer, ClientID: "c"}}}); err == nil ||
			!strings.Contains(err.Error(), "provider x") {
			t.Errorf("issuer %s: %v", issuer, err)
		}
	}
}
