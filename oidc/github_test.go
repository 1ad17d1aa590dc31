package oidc_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/oidc"
)

// fakeGitHub is GitHub's OAuth 2.0 endpoints and the two API calls this
// package makes, as GitHub Enterprise Server serves them (the API under
// /api/v3): no library simulates GitHub, so the test does, from GitHub's
// documentation.
type fakeGitHub struct {
	srv *httptest.Server

	mu        sync.Mutex
	challenge string // of the last authorization request
	user      string // the /user answer
	emails    string // the /user/emails answer
	status    int    // of the API's answers (0: 200)
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{user: `{"id": 583231, "login": "Octocat"}`,
		emails: `[{"email":"old@example.com","primary":false,"verified":true},{"email":"octocat@example.com","primary":true,"verified":true}]`}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		f.challenge = q.Get("code_challenge")
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=gh-code&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		challenge := f.challenge
		f.mu.Unlock()
		if r.FormValue("client_id") != clientID || r.FormValue("client_secret") != secret || r.FormValue("code") != "gh-code" ||
			s256(r.FormValue("code_verifier")) != challenge {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"gho_token","token_type":"bearer","scope":"read:user,user:email"}`))
	})
	api := func(body func() string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gho_token" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			f.mu.Lock()
			status := f.status
			f.mu.Unlock()
			if status == 0 {
				status = 200
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			w.Write([]byte(body()))
		}
	}
	mux.HandleFunc("GET /api/v3/user", api(func() string { f.mu.Lock(); defer f.mu.Unlock(); return f.user }))
	mux.HandleFunc("GET /api/v3/user/emails", api(func() string { f.mu.Lock(); defer f.mu.Unlock(); return f.emails }))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// TestGitHub: GitHub's flow (OAuth 2.0 with PKCE, the API's user and its
// verified primary email), and its refusals.
func TestGitHub(t *testing.T) {
	e := newEnv(t)
	gh := newFakeGitHub(t)
	o, err := oidc.New(ctx, e.a, oidc.Config{PublicURL: public,
		Providers: []oidc.Provider{{Name: "github", Label: "GitHub", Issuer: gh.srv.URL, ClientID: clientID, ClientSecret: secret, GitHub: true}}})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() (*oidc.Result, error) {
		t.Helper()
		b, err := o.Begin(ctx, "github", nil, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Get(b.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if !strings.HasPrefix(loc.String(), public+"/login/github/callback") {
			t.Fatalf("GitHub's redirect: %s", loc)
		}
		return o.Finish(ctx, oidc.Callback{Provider: "github", State: loc.Query().Get("state"), Code: loc.Query().Get("code"), Binding: b.Binding})
	}
	r, err := signIn()
	u := e.wantFed(t, r, err)
	if u.Username != "octocat" || u.Email != "octocat@example.com" || !u.EmailVerified {
		t.Errorf("the account of GitHub's user: %+v", u)
	}
	ids, _ := o.Identities(ctx, u.ID)
	if len(ids) != 1 || ids[0].Issuer != gh.srv.URL || ids[0].Subject != "583231" {
		t.Errorf("identities %+v", ids)
	}
	// The same GitHub user, whatever its login and email now.
	gh.mu.Lock()
	gh.user = `{"id": 583231, "login": "renamed"}`
	gh.emails = `[{"email":"octocat@example.com","primary":true,"verified":false}]`
	gh.mu.Unlock()
	r, err = signIn()
	if again := e.wantFed(t, r, err); again.ID != u.ID {
		t.Error("a renamed GitHub user got another account")
	}
	for _, c := range []struct {
		name   string
		user   string
		emails string
		status int
		want   error
	}{
		{"no id", `{"login": "x"}`, `[]`, 0, oidc.ErrInvalidIDToken},
		{"the API down", `{"id": 1}`, `[]`, 502, oidc.ErrProviderUnavailable},
		{"not JSON", `<html>`, `[]`, 0, oidc.ErrProviderUnavailable},
	} {
		gh.mu.Lock()
		gh.user, gh.emails, gh.status = c.user, c.emails, c.status
		gh.mu.Unlock()
		if _, err := signIn(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// An unverified primary email is not kept.
	gh.mu.Lock()
	gh.user, gh.emails, gh.status = `{"id": 7, "login": "newbie"}`, `[{"email":"newbie@example.com","primary":true,"verified":false}]`, 0
	gh.mu.Unlock()
	r, err = signIn()
	if u := e.wantFed(t, r, err); u.Email != "" || u.Username != "newbie" {
		t.Errorf("an unverified email kept: %+v", u)
	}
}
