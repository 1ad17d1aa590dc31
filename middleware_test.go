package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseBearer(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		err     error
	}{
		{"none", nil, "", ErrNoBearer},
		{"bearer", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", nil},
		{"lower case scheme", []string{"bearer abc"}, "abc", nil},
		{"upper case scheme", []string{"BEARER abc"}, "abc", nil},
		{"several spaces", []string{"Bearer   abc"}, "abc", nil},
		{"b64token chars", []string{"Bearer aZ09-._~+/=="}, "aZ09-._~+/==", nil},
		{"basic", []string{"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, "", ErrNoBearer},
		{"scheme prefix", []string{"Bearerabc"}, "", ErrNoBearer},
		{"other scheme starting alike", []string{"BearerToken abc"}, "", ErrNoBearer},
		{"empty", []string{""}, "", ErrNoBearer},
		{"scheme only", []string{"Bearer"}, "", ErrTokenMalformed},
		{"scheme and space", []string{"Bearer "}, "", ErrTokenMalformed},
		{"two tokens", []string{"Bearer abc def"}, "", ErrTokenMalformed},
		{"tab", []string{"Bearer\tabc"}, "", ErrNoBearer},
		{"quote", []string{`Bearer "abc"`}, "", ErrTokenMalformed},
		{"comma", []string{"Bearer abc,def"}, "", ErrTokenMalformed},
		{"only padding", []string{"Bearer ==="}, "", ErrTokenMalformed},
		{"padding inside", []string{"Bearer a=b"}, "", ErrTokenMalformed},
		{"non-ASCII", []string{"Bearer abcé"}, "", ErrTokenMalformed},
		{"two headers", []string{"Bearer abc", "Bearer def"}, "", ErrMultipleAuthorization},
		{"bearer and basic", []string{"Bearer abc", "Basic x"}, "", ErrMultipleAuthorization},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.headers {
				h.Add("Authorization", v)
			}
			got, err := ParseBearer(h)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("ParseBearer = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// failingStore fails every call with ErrStoreUnavailable.
type failingStore struct{ memoryStore }

func (failingStore) UserByID(context.Context, string) (*User, error) {
	return nil, fmt.Errorf("%w: connection refused", ErrStoreUnavailable)
}

func (failingStore) UserBySession(context.Context, string, string) (*User, error) {
	return nil, fmt.Errorf("%w: connection refused", ErrStoreUnavailable)
}

func whoami(w http.ResponseWriter, r *http.Request) {
	u, ok := UserFromContext(r.Context())
	c, okc := ClaimsFromContext(r.Context())
	if !ok || !okc {
		fmt.Fprint(w, "anonymous")
		return
	}
	fmt.Fprintf(w, "%s %s %s", u.Username, c.Subject, r.PathValue("id"))
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice", "correct horse battery")
	p := f.login(t, "alice", "correct horse battery")
	admin, _ := f.a.Register(ctx, NewUser{Username: "root", Password: "correct horse battery", Roles: []string{"admin"}})
	pa := f.login(t, "root", "correct horse battery")
	disabled := f.register(t, "carol", "correct horse battery")
	pd := f.login(t, "carol", "correct horse battery")
	_, _ = f.store.ChangeUser(ctx, disabled.ID, UserChange{Disabled: ptr(true)})
	gone := f.register(t, "dave", "correct horse battery")
	pg := f.login(t, "dave", "correct horse battery")
	_ = f.store.DeleteUser(ctx, gone.ID)
	loggedOut := f.register(t, "erin", "correct horse battery")
	pl := f.login(t, "erin", "correct horse battery")
	_ = f.a.LogoutAll(ctx, Client{}, loggedOut.ID)

	broken := newFixture(t, func(c *Config) { c.Store = failingStore{newMemoryStore()} })

	mux := http.NewServeMux()
	mux.Handle("GET /users/{id}", f.a.Middleware(http.HandlerFunc(whoami)))
	mux.Handle("GET /maybe", f.a.OptionalMiddleware(http.HandlerFunc(whoami)))
	mux.Handle("GET /admin", f.a.Middleware(f.a.RequireRole("admin")(http.HandlerFunc(whoami))))
	mux.Handle("GET /norole", f.a.RequireRole("admin")(http.HandlerFunc(whoami)))
	mux.Handle("GET /broken", broken.a.Middleware(http.HandlerFunc(whoami)))

	bearer := func(tok string) []string { return []string{"Bearer " + tok} }
	const realm = `Bearer realm="goauthkit"`
	tests := []struct {
		name      string
		path      string
		auth      []string
		status    int
		challenge string // exact WWW-Authenticate, or "" for none
		body      string // substring
	}{
		{"valid", "/users/42", bearer(p.AccessToken), 200, "", "alice " + u.ID + " 42"},
		{"no header", "/users/42", nil, 401, realm, `"error":"unauthorized"`},
		{"basic", "/users/42", []string{"Basic YTpi"}, 401, realm, `"error"`},
		{"two headers", "/users/42", []string{"Bearer " + p.AccessToken, "Bearer " + p.AccessToken}, 400, realm + `, error="invalid_request"`, `"error":"invalid_request"`},
		{"garbage", "/users/42", bearer("garbage"), 401, realm + `, error="invalid_token", error_description="the access token is invalid"`, `"error":"invalid_token"`},
		{"malformed header", "/users/42", []string{"Bearer a b"}, 401, realm + `, error="invalid_token", error_description="the access token is invalid"`, `"invalid_token"`},
		{"refresh token", "/users/42", bearer(p.RefreshToken), 401, realm + `, error="invalid_token", error_description="the access token is invalid"`, `"invalid_token"`},
		{"disabled user", "/users/42", bearer(pd.AccessToken), 401, realm + `, error="invalid_token", error_description="the access token is invalid"`, `"invalid_token"`},
		{"deleted user", "/users/42", bearer(pg.AccessToken), 401, realm + `, error="invalid_token", error_description="the access token is invalid"`, `"invalid_token"`},
		{"logged out everywhere", "/users/42", bearer(pl.AccessToken), 401, realm + `, error="invalid_token", error_description="the access token is invalid"`, `"invalid_token"`},
		{"optional anonymous", "/maybe", nil, 200, "", "anonymous"},
		{"optional with user", "/maybe", bearer(p.AccessToken), 200, "", "alice"},
		{"optional with bad token", "/maybe", bearer("garbage"), 401, realm + `, error="invalid_token", error_description="the access token is invalid"`, `"invalid_token"`},
		{"role held", "/admin", bearer(pa.AccessToken), 200, "", "root " + admin.ID},
		{"role missing", "/admin", bearer(p.AccessToken), 403, realm + `, error="insufficient_scope"`, `"error":"insufficient_scope"`},
		{"role without middleware", "/norole", bearer(pa.AccessToken), 401, realm, `"error"`},
		{"store down", "/broken", bearer(p.AccessToken), 503, "", `"error":"temporarily_unavailable"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			for _, v := range tc.auth {
				req.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("body %q does not contain %q", rec.Body, tc.body)
			}
			if tc.status != 200 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type %q", ct)
				}
				var e struct{ Error, Description string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Fatalf("error body %q: %v", rec.Body, err)
				}
				for _, secret := range []string{p.AccessToken, p.RefreshToken, "correct horse", "$argon2id$", "connection refused"} {
					if strings.Contains(rec.Body.String(), secret) {
						t.Fatalf("answer leaks %q", secret)
					}
				}
			}
		})
	}
}

// TestMiddlewareChain shows the middleware in the func(http.Handler)
// http.Handler shape that chi, gorilla and alice compose.
func TestMiddlewareChain(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.a.Register(context.Background(), NewUser{Username: "alice", Password: "correct horse battery", Roles: []string{"user"}}); err != nil {
		t.Fatal(err)
	}
	p := f.login(t, "alice", "correct horse battery")
	chain := []func(http.Handler) http.Handler{f.a.Middleware, f.a.RequireRole("user")}
	var h http.Handler = http.HandlerFunc(whoami)
	for i := len(chain) - 1; i >= 0; i-- {
		h = chain[i](h)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+p.AccessToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "alice ") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// The caller's request is never mutated.
	if _, ok := UserFromContext(req.Context()); ok {
		t.Fatal("middleware mutated the caller's request context")
	}
}

func TestContextGetters(t *testing.T) {
	if u, ok := UserFromContext(context.Background()); ok || u != nil {
		t.Fatal("user in an empty context")
	}
	if c, ok := ClaimsFromContext(context.Background()); ok || c != nil {
		t.Fatal("claims in an empty context")
	}
	// A value planted under a look-alike key is not picked up.
	ctx := context.WithValue(context.Background(), &contextKey{"principal"}, &principal{user: &User{ID: "evil"}})
	if _, ok := UserFromContext(ctx); ok {
		t.Fatal("a foreign key planted a user")
	}
	ctx = withUser(context.Background(), &User{ID: "u"}, &Claims{Subject: "u"})
	if u, ok := UserFromContext(ctx); !ok || u.ID != "u" {
		t.Fatal("withUser")
	}
	if fmt.Sprint(principalKey) == "" {
		t.Fatal("context key has no String")
	}
}

// TestB64TokenChars checks the table behind isB64Token against RFC 6750's
// b64token, written out: every one of the 256 bytes.
func TestB64TokenChars(t *testing.T) {
	const allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	for c := range 256 {
		want := strings.IndexByte(allowed, byte(c)) >= 0
		if got := isB64Token(string([]byte{byte(c)})); got != want {
			t.Errorf("isB64Token(%q) = %v, want %v", byte(c), got, want)
		}
		if got := isB64Token("ab" + string([]byte{byte(c)}) + "cd=="); got != want {
			t.Errorf("isB64Token(ab%qcd==) = %v, want %v", byte(c), got, want)
		}
		// At every position of a token longer than the eight bytes the
		// check takes at once.
		for i := range 21 {
			tok := []byte("abcdefghijklmnopqrst=")
			tok[i] = byte(c)
			wantAt := want || (i >= 19 && c == '=') // a trailing run of '='
			if got := isB64Token(string(tok)); got != wantAt {
				t.Errorf("isB64Token(%q) = %v, want %v", tok, got, wantAt)
			}
		}
	}
}

// TestRequireSecondFactor: a route behind RequireSecondFactor takes only
// tokens of a login made with a second factor, and answers the others as
// RFC 9470 says.
func TestRequireSecondFactor(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	alice := f.register(t, "alice", "correct horse battery")
	h := f.a.Middleware(f.a.RequireSecondFactor(http.HandlerFunc(whoami)))
	signIn := func(methods ...string) string {
		p, err := f.a.SignIn(ctx, Verified{User: alice, Methods: methods})
		if err != nil {
			t.Fatal(err)
		}
		return p.AccessToken
	}
	sessionless, err := f.a.IssueAccessToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		token     string
		want      int
		challenge string
	}{
		{"a password login", f.login(t, "alice", "correct horse battery").AccessToken, 401, `Bearer error="insufficient_user_authentication"`},
		{"a code without mfa", signIn(MethodPassword, MethodOTP), 401, `Bearer error="insufficient_user_authentication"`},
		{"a token made outside a login", sessionless, 401, `Bearer error="insufficient_user_authentication"`},
		{"a password and a code", signIn(MethodPassword, MethodOTP, MethodMFA), 200, ""},
		{"a passkey", signIn(MethodPossession, MethodMFA), 200, ""},
		{"no token", "", 401, `Bearer realm="goauthkit"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want || rec.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("%d, WWW-Authenticate %q: %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
			}
			if tt.want == 401 && tt.token != "" && !strings.Contains(rec.Body.String(), `"error":"insufficient_user_authentication"`) {
				t.Fatalf("body %s", rec.Body)
			}
		})
	}
	// Without Middleware before it, there is no user: 401 as Middleware
	// answers a request without a token.
	rec := httptest.NewRecorder()
	f.a.RequireSecondFactor(http.HandlerFunc(whoami)).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 {
		t.Fatalf("without Middleware: %d", rec.Code)
	}
}
