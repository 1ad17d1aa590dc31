package authhttp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/store/memory"
)

// sessionReq sends a request to the session endpoints with the cookie (if
// any) and extra headers, and returns the answer and the session cookie it
// sets, if it sets one.
func (e *htEnv) sessionReq(t *testing.T, path, contentType, body, cookie string, header map[string]string) (htResp, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:1234"
	r.Host = "auth.example.com"
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: SessionCookieName, Value: cookie})
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, r)
	res := htResp{status: w.Code, header: w.Header(), raw: w.Body.String()}
	htCheckAnswer(t, "POST", res.status, res.header, w.Body.Bytes())
	if res.raw != "" {
		_ = json.Unmarshal(w.Body.Bytes(), &res.body)
	}
	var set *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookieName {
			set = c
		}
	}
	return res, set
}

func TestSessionCookie(t *testing.T) {
	e := newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse","email":"alice@example.com"}`, "").wantStatus(t, 201)

	for _, c := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "username=alice&password=correct+horse"},
		{htJSON, `{"username":"alice@example.com","password":"correct horse"}`},
	} {
		r, cookie := e.sessionReq(t, "/session", c.ct, c.body, "", nil)
		r.wantStatus(t, 200)
		if len(r.body) != 3 || r.body["token_type"] != "bearer" || r.body["expires_in"] != float64(900) || r.body["access_token"] == nil {
			t.Fatalf("login answer %s", r.raw)
		}
		if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode ||
			cookie.Path != "/" || cookie.Domain != "" || cookie.MaxAge != 7*24*3600 || cookie.Value == "" || strings.Contains(r.raw, cookie.Value) {
			t.Fatalf("cookie %+v", cookie)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v", r.header)
		}
	}
	r, _ := e.sessionReq(t, "/session", htJSON, `{"username":"alice","password":"wrong horse"}`, "", nil)
	r.wantError(t, 400, "invalid_grant")
	r, _ = e.sessionReq(t, "/session", htJSON, `{"username":"alice"}`, "", nil)
	r.wantError(t, 400, "invalid_request")
	r, _ = e.sessionReq(t, "/session", "text/plain", `username=alice&password=correct+horse`, "", nil)
	r.wantError(t, 400, "invalid_request")

	login, first := e.sessionReq(t, "/session", htJSON, `{"username":"alice","password":"correct horse"}`, "", nil)
	refreshed, second := e.sessionReq(t, "/session/refresh", "", "", first.Value, nil)
	refreshed.wantStatus(t, 200)
	if second == nil || second.Value == first.Value || second.Path != "/" || !second.HttpOnly || len(refreshed.body) != 3 {
		t.Fatalf("refresh: %s, cookie %+v", refreshed.raw, second)
	}
	access := refreshed.body["access_token"].(string)
	e.do("GET", "/users/me", "", "", access).wantStatus(t, 200)

	// The spent cookie coming back is reuse: 401, the cookie cleared, the
	// login revoked.
	reuse, cleared := e.sessionReq(t, "/session/refresh", "", "", first.Value, nil)
	reuse.wantError(t, 401, "invalid_token")
	if cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Fatalf("the cookie was not cleared: %+v", cleared)
	}
	r, _ = e.sessionReq(t, "/session/refresh", "", "", second.Value, nil)
	r.wantError(t, 401, "invalid_token")
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
	e.do("GET", "/users/me", "", "", login.body["access_token"].(string)).wantError(t, 401, "invalid_token")

	r, _ = e.sessionReq(t, "/session/refresh", "", "", "", nil)
	r.wantError(t, 401, "unauthorized")
	r, _ = e.sessionReq(t, "/session/refresh", "", "", "garbage", nil)
	r.wantError(t, 401, "invalid_token")

	// Logout: the login and its access tokens end; the cookie is cleared.
	login, cookie := e.sessionReq(t, "/session", htJSON, `{"username":"alice","password":"correct horse"}`, "", nil)
	out, cleared := e.sessionReq(t, "/session/logout", "", "", cookie.Value, nil)
	out.wantStatus(t, 204)
	if cleared == nil || cleared.MaxAge >= 0 || cleared.Path != "/" {
		t.Fatalf("logout cookie %+v", cleared)
	}
	e.do("GET", "/users/me", "", "", login.body["access_token"].(string)).wantError(t, 401, "invalid_token")
	r, _ = e.sessionReq(t, "/session/refresh", "", "", cookie.Value, nil)
	r.wantError(t, 401, "invalid_token")
	for _, c := range []string{"", "garbage", cookie.Value} {
		r, _ = e.sessionReq(t, "/session/logout", "", "", c, nil)
		r.wantStatus(t, 204)
	}
	// A refresh token's cookie is never a Bearer token, nor the other way.
	_, cookie = e.sessionReq(t, "/session", htJSON, `{"username":"alice","password":"correct horse"}`, "", nil)
	e.do("GET", "/users/me", "", "", cookie.Value).wantError(t, 401, "invalid_token")
}

// TestSessionCrossOrigin: a cookie endpoint answers a request from another
// origin than its own and the trusted ones with 403, whatever the cookie.
func TestSessionCrossOrigin(t *testing.T) {
	e := newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}}, Config{TrustedOrigins: []string{"https://app.example.com"}})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
	_, cookie := e.sessionReq(t, "/session", htJSON, `{"username":"alice","password":"correct horse"}`, "", nil)
	tests := []struct {
		name   string
		header map[string]string
		ok     bool
	}{
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://auth.example.com"}, true},
		{"typed in the address bar", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"not a browser", nil, true},
		{"old browser, own origin", map[string]string{"Origin": "https://auth.example.com"}, true},
		{"trusted origin on the same site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://app.example.com"}, true},
		{"another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, false},
		{"another origin on the same site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://blog.example.com"}, false},
		{"old browser, another origin", map[string]string{"Origin": "https://evil.example"}, false},
		{"another site, no Origin", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"an opaque origin", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "null"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/session", "/session/refresh", "/session/logout"} {
				body, ct := "", ""
				if path == "/session" {
					body, ct = `{"username":"alice","password":"correct horse"}`, htJSON
				}
				r, set := e.sessionReq(t, path, ct, body, cookie.Value, tt.header)
				if !tt.ok {
					r.wantError(t, 403, "forbidden")
					if set != nil {
						t.Fatalf("%s: a refused request set the cookie", path)
					}
					continue
				}
				if r.status >= 400 {
					t.Fatalf("%s: %d %s", path, r.status, r.raw)
				}
				if path == "/session/refresh" {
					cookie = set
				}
				if path == "/session/logout" {
					_, cookie = e.sessionReq(t, "/session", htJSON, `{"username":"alice","password":"correct horse"}`, "", nil)
				}
			}
		})
	}
	// The refused requests changed nothing: the cookie still works.
	r, _ := e.sessionReq(t, "/session/refresh", "", "", cookie.Value, nil)
	r.wantStatus(t, 200)
}

func TestSessionConfig(t *testing.T) {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: htSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{
		{TrustedOrigins: []string{"*"}},
		{TrustedOrigins: []string{"https://App.example.com"}},
		{TrustedOrigins: []string{"https://app.example.com/"}},
		{TrustedOrigins: []string{"app.example.com"}},
		{TrustedOrigins: []string{"ftp://app.example.com"}},
	} {
		if _, err := New(a, c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
	// Mounted under a prefix, the cookies are still the host's (__Host-).
	h, err := New(a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.SessionLogout().ServeHTTP(w, httptest.NewRequest("POST", "/auth/session/logout", nil))
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Path != "/" || c[0].Name != SessionCookieName {
		t.Fatalf("cookies %v", c)
	}
}

// TestSessionCookieTossing: a refresh cookie planted beside the server's
// (v2 signed a victim into an attacker's account with one that came first)
// is refused, with the server's own, and the v2 cookie name is ignored
// (finding 6).
func TestSessionCookieTossing(t *testing.T) {
	e := newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}}, Config{})
	for _, n := range []string{"victim", "mallory"} {
		e.do("POST", "/signup", htJSON, `{"username":"`+n+`","password":"correct horse"}`, "").wantStatus(t, 201)
	}
	_, victim := e.sessionReq(t, "/session", htJSON, `{"username":"victim","password":"correct horse"}`, "", nil)
	_, mallory := e.sessionReq(t, "/session", htJSON, `{"username":"mallory","password":"correct horse"}`, "", nil)
	for _, order := range [][2]string{{mallory.Value, victim.Value}, {victim.Value, mallory.Value}} {
		cookie := map[string]string{"Cookie": SessionCookieName + "=" + order[0] + "; " + SessionCookieName + "=" + order[1]}
		r, cleared := e.sessionReq(t, "/session/refresh", "", "", "", cookie)
		r.wantError(t, 401, "invalid_token")
		if cleared == nil || cleared.MaxAge >= 0 || cleared.Path != "/" {
			t.Fatalf("the server's cookie was not cleared: %+v", cleared)
		}
		// Logging out with two cookies ends neither login.
		r, _ = e.sessionReq(t, "/session/logout", "", "", "", cookie)
		r.wantStatus(t, 204)
	}
	// Both logins are intact: nothing was refreshed, spent or revoked.
	for _, c := range []*http.Cookie{victim, mallory} {
		r, _ := e.sessionReq(t, "/session/refresh", "", "", c.Value, nil)
		r.wantStatus(t, 200)
	}
	// The v2 name is not read.
	_, fresh := e.sessionReq(t, "/session", htJSON, `{"username":"victim","password":"correct horse"}`, "", nil)
	r, _ := e.sessionReq(t, "/session/refresh", "", "", "", map[string]string{"Cookie": "refresh_token=" + fresh.Value})
	r.wantError(t, 401, "unauthorized")
}

// TestDeviceCookie: every browser sign-in sets the device cookie, keeping
// the browser's own when it has a good one.
func TestDeviceCookie(t *testing.T) {
	e := newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
	login := func(cookie string) *http.Cookie {
		t.Helper()
		r := httptest.NewRequest("POST", "/session", strings.NewReader(`{"username":"alice","password":"correct horse"}`))
		r.RemoteAddr, r.Host = "192.0.2.1:1234", "auth.example.com"
		r.Header.Set("Content-Type", htJSON)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == DeviceCookieName {
				return c
			}
		}
		t.Fatal("no device cookie")
		return nil
	}
	first := login("")
	if !first.HttpOnly || !first.Secure || first.SameSite != http.SameSiteStrictMode || first.Path != "/" || first.Domain != "" ||
		first.MaxAge != 30*24*3600 || len(first.Value) < 43 {
		t.Fatalf("device cookie %+v", first)
	}
	if again := login(DeviceCookieName + "=" + first.Value); again.Value != first.Value {
		t.Fatal("the browser's device value was replaced")
	}
	for _, bad := range []string{"short", strings.Repeat("a", 52), first.Value + "; " + DeviceCookieName + "=" + first.Value} {
		if got := login(DeviceCookieName + "=" + bad); got.Value == first.Value || got.Value == bad {
			t.Fatalf("device cookie %q kept", bad)
		}
	}
}

// TestSessionGrace: with a grace period, two tabs refreshing one cookie at
// once both stay signed in, with the same new cookie.
func TestSessionGrace(t *testing.T) {
	e := newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}, Tokens: auth.TokenConfig{RefreshGrace: 10 * time.Second}}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
	_, cookie := e.sessionReq(t, "/session", htJSON, `{"username":"alice","password":"correct horse"}`, "", nil)
	var wg sync.WaitGroup
	got := make([]string, 4)
	for i := range got {
		wg.Go(func() {
			r, set := e.sessionReq(t, "/session/refresh", "", "", cookie.Value, nil)
			if r.status == 200 && set != nil {
				got[i] = set.Value
			}
		})
	}
	wg.Wait()
	for _, v := range got {
		if v == "" || v != got[0] {
			t.Fatalf("concurrent refreshes got %q", got)
		}
	}
	r, _ := e.sessionReq(t, "/session/refresh", "", "", got[0], nil)
	r.wantStatus(t, 200)
}

func TestCORS(t *testing.T) {
	for _, bad := range [][]string{nil, {"*"}, {"https://app.example.com/path"}, {"HTTPS://app.example.com"}} {
		if _, err := CORS(bad); err == nil {
			t.Errorf("CORS(%q) succeeded", bad)
		}
	}
	mw, err := CORS([]string{"https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	h := mw(e.router)
	preflight := func(origin string) http.Header {
		r := httptest.NewRequest("OPTIONS", "/users/me", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "GET")
		r.Header.Set("Access-Control-Request-Headers", "authorization")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 300 && w.Code != 405 {
			t.Fatalf("preflight from %s: %d", origin, w.Code)
		}
		return w.Header()
	}
	if got := preflight("https://app.example.com"); got.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		got.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(strings.ToLower(got.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight from the listed origin: %v", got)
	}
	if got := preflight("https://evil.example"); got.Get("Access-Control-Allow-Origin") != "" || got.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight from another origin: %v", got)
	}
	for origin, want := range map[string]string{"https://app.example.com": "https://app.example.com", "https://evil.example": ""} {
		r := httptest.NewRequest("GET", "/healthz", nil)
		r.Header.Set("Origin", origin)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != want {
			t.Fatalf("GET from %s: %d %v", origin, w.Code, w.Header())
		}
	}
	// Without an Origin, OPTIONS is the router's: 405 as JSON.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("OPTIONS", "/users/me", nil))
	if w.Code != 405 {
		t.Fatalf("OPTIONS without Origin: %d", w.Code)
	}
}
