package oidchttp_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	capoidc "github.com/hashicorp/cap/oidc"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/oidc"
	"github.com/goauthkit/auth/oidc/oidchttp"
	"github.com/goauthkit/auth/store/memory"
)

// pkce is a code verifier for cap's test provider (see package oidc's
// tests): the provider takes the verifier whose S256 the attempt sent.
type pkce string

func (v pkce) Verifier() string                { return string(v) }
func (v pkce) Challenge() string               { return s256(string(v)) }
func (v pkce) Method() capoidc.ChallengeMethod { return capoidc.S256 }
func (v pkce) Copy() capoidc.CodeVerifier      { return v }

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// verifierSetter hands the token request's code_verifier to the provider
// when it is the attempt's.
type verifierSetter struct {
	next      http.RoundTripper
	tp        *capoidc.TestProvider
	challenge *string
}

func (v verifierSetter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if s256(form.Get("code_verifier")) == *v.challenge {
			v.tp.SetPKCEVerifier(pkce(form.Get("code_verifier")))
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	return v.next.RoundTrip(r)
}

// TestEndpoints: the redirect with its attempt cookie, the callback that
// signs the browser in, its failure page, the providers' list, the link
// that wants a recent login, the identities and the unlink.
func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	clock := authtest.NewClock(time.Now().UTC().Truncate(time.Second))
	store := memory.New()
	a, err := auth.New(auth.Config{Store: store, SecretKey: []byte("0123456789abcdef0123456789abcdef-test-only"), Now: clock.Now,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	router := authhttp.NewRouter()
	srv := httptest.NewServer(router)
	defer srv.Close()

	tp := capoidc.StartTestProvider(t)
	defer tp.Stop()
	tp.SetClientCreds("client", "secret")
	tp.SetAllowedRedirectURIs([]string{srv.URL + "/login/test/callback"})
	tp.SetExpectedAuthCode("code")
	tp.SetExpectedSubject("sub-1")
	tp.SetNowFunc(clock.Now)
	tp.SetCustomClaims(map[string]any{"preferred_username": "pat"})
	var challenge string
	o, err := oidc.New(ctx, a, oidc.Config{PublicURL: srv.URL,
		HTTPClient: &http.Client{Transport: verifierSetter{next: tp.HTTPClient().Transport, tp: tp, challenge: &challenge}},
		Providers:  []oidc.Provider{{Name: "test", Label: "Test", Issuer: tp.Addr(), ClientID: "client", ClientSecret: "secret", Scopes: []string{"openid"}}}})
	if err != nil {
		t.Fatal(err)
	}
	router.Mount(h.Routes())
	router.Mount(oidchttp.New(h, o).Routes())

	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string, cookies ...*http.Cookie) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// begin runs /login/test and the provider: the callback URL and the
	// attempt cookie.
	begin := func() (string, *http.Cookie) {
		resp := get(srv.URL + "/login/test")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), tp.Addr()) {
			t.Fatalf("GET /login/test: %d %s", resp.StatusCode, loc)
		}
		challenge = loc.Query().Get("code_challenge")
		tp.SetExpectedAuthNonce(loc.Query().Get("nonce"))
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == oidchttp.AttemptCookieName {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/login/" || cookie.MaxAge != 600 {
			t.Fatalf("the attempt cookie: %+v", cookie)
		}
		presp, err := (&http.Client{Transport: tp.HTTPClient().Transport, CheckRedirect: browser.CheckRedirect}).Get(loc.String())
		if err != nil {
			t.Fatal(err)
		}
		presp.Body.Close()
		return presp.Header.Get("Location"), cookie
	}

	callback, cookie := begin()
	resp := get(callback, cookie)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != srv.URL+"/" {
		t.Fatalf("the callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == authhttp.SessionCookieName && c.Value != "" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("the callback set no session cookie: %v", resp.Cookies())
	}
	// The callback again (replayed), and without the cookie: the failure
	// page, 400.
	for _, c := range []struct {
		name   string
		cookie *http.Cookie
	}{{"replayed", cookie}, {"another browser", nil}} {
		u, ck := callback, c.cookie
		if c.cookie == nil {
			u, _ = begin()
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if ck != nil {
			req.AddCookie(ck)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(body), `href="/"`) || len(resp.Cookies()) != 1 {
			t.Errorf("%s: %d %s %s %v", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), body, resp.Cookies())
		}
	}
	if resp := get(srv.URL + "/login/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown provider: %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/login/providers")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Providers []struct{ Name, Label string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Providers) != 1 || list.Providers[0].Name != "test" || list.Providers[0].Label != "Test" {
		t.Errorf("GET /login/providers: %+v", list)
	}

	// The account made by the provider: its identity, its last way in.
	u, err := store.UserByUsername(ctx, "pat")
	if err != nil {
		t.Fatal(err)
	}
	access, err := a.IssueAccessToken(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp = call(http.MethodGet, "/identities")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"provider":"test","subject":"sub-1","email":null`) {
		t.Errorf("GET /identities: %d %s", resp.StatusCode, body)
	}
	if resp := call(http.MethodDelete, "/identities/test"); resp.StatusCode != http.StatusConflict {
		t.Errorf("unlinking the last way in: %d", resp.StatusCode)
	}
	if resp := call(http.MethodDelete, "/identities/other"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unlinking none: %d", resp.StatusCode)
	}
	// A link wants a login less than 5 minutes old: IssueAccessToken's
	// token has none.
	if resp := call(http.MethodPost, "/identities/test/link"); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_user_authentication") {
		t.Errorf("a link without a recent login: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
