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
