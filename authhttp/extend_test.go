package authhttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
)

// errTestChallenge is the challenge of the test feature of
// TestFeatureExtendsTheCore: what a second factor's Intercept returns.
type errTestChallenge struct{ token string }

func (e *errTestChallenge) Error() string { return "a code is required" }

// TestFeatureExtendsTheCore: a feature that interposes at sign-in answers
// its challenge at the core's login endpoints (Answer, with Members),
// completes the login with a grant type of its own at the token endpoint
// (Grant) and with a browser endpoint of its own (BrowserSignIn), whose
// tokens carry the methods it added.
func TestFeatureExtendsTheCore(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	ctx := context.Background()
	if _, err := e.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	const code = "246810"
	e.a.Intercept(func(_ context.Context, v auth.Verified) error {
		if !slices.Contains(v.Methods, auth.MethodMFA) {
			return &errTestChallenge{token: "challenge-" + v.User.ID}
		}
		return nil
	})
	complete := func(c Call, token, got, device string) (*auth.TokenPair, error) {
		id, ok := strings.CutPrefix(token, "challenge-")
		if !ok || got != code {
			return nil, errors.New("wrong code")
		}
		u, err := e.a.Store().UserByID(c.Context, id)
		if err != nil {
			return nil, err
		}
		return e.a.SignIn(c.Context, auth.Verified{User: u, Methods: []string{auth.MethodPassword, auth.MethodOTP, auth.MethodMFA},
			Client: c.Client, Device: device})
	}
	e.h.Answer(func(err error) *Problem {
		var ch *errTestChallenge
		switch {
		case errors.As(err, &ch):
			return &Problem{Status: http.StatusForbidden, Code: "mfa_required", Description: "a second factor is required",
				Members: map[string]any{"mfa_token": ch.token, "error": "overridden?"}}
		case err.Error() == "wrong code":
			return &Problem{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the code is wrong"}
		}
		return nil
	})
	e.h.Grant("test_otp", func(c Call, p map[string]string) (*auth.TokenPair, error) {
		return complete(c, p["mfa_token"], p["otp"], "")
	})
	e.router.Handle("POST", "/session/test", e.h.BrowserSignIn([]string{"mfa_token", "otp"},
		func(c Call, f map[string]string, device string) (*auth.TokenPair, error) {
			return complete(c, f["mfa_token"], f["otp"], device)
		}))

	r := e.do("POST", "/token", htForm, "username=alice&password=correct+horse+battery", "")
	r.wantError(t, 403, "mfa_required")
	token, _ := r.body["mfa_token"].(string)
	if !strings.HasPrefix(token, "challenge-") || r.body["error_description"] != "a second factor is required" {
		t.Fatalf("the challenge's answer: %s", r.raw)
	}
	// The core's errors are still the table's.
	e.do("POST", "/token", htForm, "username=alice&password=wrong+horse+battery", "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/token", htForm, "grant_type=test_otp&mfa_token="+token+"&otp=000000", "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/token", htForm, "grant_type=other&mfa_token="+token, "").wantError(t, 400, "unsupported_grant_type")
	r = e.do("POST", "/token", htForm, "grant_type=test_otp&mfa_token="+token+"&otp="+code, "")
	r.wantStatus(t, 200)
	_, claims, err := e.a.Authenticate(ctx, r.body["access_token"].(string))
	if err != nil || !slices.Contains(claims.Methods, auth.MethodMFA) {
		t.Fatalf("the grant's token: %+v, %v", claims, err)
	}

	// In a browser: /session answers the challenge, the feature's
	// endpoint sets the cookies.
	browser := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, req)
		return w
	}
	if w := browser("/session", `{"username":"alice","password":"correct horse battery"}`); w.Code != 403 ||
		!strings.Contains(w.Body.String(), `"mfa_token":"challenge-`) || len(w.Result().Cookies()) != 0 {
		t.Fatalf("POST /session: %d %s %v", w.Code, w.Body, w.Result().Cookies())
	}
	w := browser("/session/test", `{"mfa_token":"`+token+`","otp":"`+code+`"}`)
	if w.Code != 200 || strings.Contains(w.Body.String(), "refresh_token") {
		t.Fatalf("POST /session/test: %d %s", w.Code, w.Body)
	}
	var names []string
	for _, c := range w.Result().Cookies() {
		names = append(names, c.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{DeviceCookieName, SessionCookieName}) {
		t.Fatalf("cookies %v", names)
	}
	req := httptest.NewRequest("POST", "/session/test", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	cross := httptest.NewRecorder()
	e.router.ServeHTTP(cross, req)
	if cross.Code != 403 {
		t.Fatalf("a cross-site request: %d", cross.Code)
	}
}

// TestGrantRefusesTheCoresGrants: a feature cannot take over the password
// or the refresh grant.
func TestGrantRefusesTheCoresGrants(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	for _, name := range []string{"", "password", "refresh_token"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Grant(%q) did not panic", name)
				}
			}()
			e.h.Grant(name, nil)
		}()
	}
}

// TestSignInEndpoint: a feature's own sign-in endpoint reads its request
// (a JSON object member, JSONBody.Object) and is answered as the token
// endpoint, or in a browser as SessionLogin; WriteTokens adds the user.
func TestSignInEndpoint(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	ctx := context.Background()
	alice, err := e.a.Register(ctx, auth.NewUser{Username: "alice", Email: "alice@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	errCred := BadRequest("credential must be an object")
	signIn := func(w http.ResponseWriter, r *http.Request, c Call, device string) (*auth.TokenPair, error) {
		body, err := ReadJSON(w, r)
		if err != nil {
			return nil, err
		}
		raw, ok, err := body.Object("credential", errCred)
		if err != nil {
			return nil, err
		}
		if !ok || string(raw) != `{"id": "x", "n": [1, {"y": null}]}` {
			return nil, auth.ErrInvalidCredentials
		}
		return e.a.SignIn(c.Context, auth.Verified{User: alice, Methods: []string{auth.MethodPossession, auth.MethodMFA}, Client: c.Client, Device: device})
	}
	e.router.Handle("POST", "/test/finish", e.h.SignIn(false, signIn))
	e.router.Handle("POST", "/session/test", e.h.SignIn(true, signIn))
	e.router.Handle("POST", "/test/signup", e.h.Public("POST", func(w http.ResponseWriter, r *http.Request, c Call) error {
		pair, err := e.a.SignIn(c.Context, auth.Verified{User: alice, Methods: []string{auth.MethodPossession}, Client: c.Client})
		if err != nil {
			return err
		}
		e.h.WriteTokens(w, http.StatusCreated, alice, pair)
		return nil
	}))
	if e.h.Authenticator() != e.a {
		t.Error("Authenticator() is not the Handlers' own")
	}
	good := `{"credential": {"id": "x", "n": [1, {"y": null}]}}`
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"an object", good, 200, ""},
		{"a string", `{"credential": "x"}`, 400, "invalid_request"},
		{"an array", `{"credential": [1]}`, 400, "invalid_request"},
		{"absent", `{}`, 400, "invalid_grant"},
		{"null", `{"credential": null}`, 400, "invalid_grant"},
		{"not JSON", `credential=x`, 400, "invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/test/finish", htJSON, tt.body, "")
			if tt.status != 200 {
				r.wantError(t, tt.status, tt.code)
				return
			}
			r.wantStatus(t, 200)
			if r.header.Get("Cache-Control") != "no-store" || r.body["token_type"] != "bearer" || r.body["refresh_token"] == nil {
				t.Errorf("the token answer: %v %s", r.header, r.raw)
			}
		})
	}
	// In a browser: the cookies, and no refresh token in the body.
	req := httptest.NewRequest("POST", "/session/test", strings.NewReader(good))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	if w.Code != 200 || strings.Contains(w.Body.String(), "refresh_token") || len(w.Result().Cookies()) != 2 {
		t.Fatalf("POST /session/test: %d %s %v", w.Code, w.Body, w.Result().Cookies())
	}
	req = httptest.NewRequest("POST", "/session/test", strings.NewReader(good))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	w = httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	if w.Code != 403 {
		t.Fatalf("a cross-site browser sign-in: %d", w.Code)
	}
	r := e.do("POST", "/test/signup", htJSON, `{}`, "")
	r.wantStatus(t, 201)
	user, _ := r.body["user"].(map[string]any)
	if user["id"] != alice.ID || user["username"] != "alice" || user["email"] != "alice@example.com" || r.body["access_token"] == nil ||
		r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("WriteTokens with a user: %s", r.raw)
	}
}
