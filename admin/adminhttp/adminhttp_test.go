package adminhttp

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/store/memory"
)

// maxUserAgentBytes is the bound package auth puts on the user agent a
// session keeps (Client.UserAgent; 256 bytes), which it does not export.
const maxUserAgentBytes = 256

// loginUA logs name in with a User-Agent and returns the access token and
// the session id.
func (e *htEnv) loginUA(t *testing.T, name, ua string) (string, string) {
	t.Helper()
	r := httptest.NewRequest("POST", "/token", strings.NewReader("username="+name+"&password=correct+horse"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("User-Agent", ua)
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("login %s: %d %s", name, w.Code, w.Body)
	}
	access := strings.Split(strings.Split(w.Body.String(), `"access_token":"`)[1], `"`)[0]
	_, claims, err := e.a.Authenticate(context.Background(), access)
	if err != nil {
		t.Fatal(err)
	}
	return access, claims.SessionID
}

func TestSessionsEndpoints(t *testing.T) {
	e := newHTEnv(t, htPlainHasher{}, Config{})
	for _, n := range []string{"alice", "bob"} {
		e.do("POST", "/signup", htJSON, `{"username":"`+n+`","password":"correct horse"}`, "").wantStatus(t, 201)
	}
	laptop, laptopSID := e.loginUA(t, "alice", "Firefox/140 (Linux)")
	phone, phoneSID := e.loginUA(t, "alice", "Safari \x01 on iPhone "+strings.Repeat("x", 1000))
	bob, bobSID := e.loginUA(t, "bob", "curl/8")

	r := e.do("GET", "/sessions", "", "", laptop)
	r.wantStatus(t, 200)
	list, _ := r.body["sessions"].([]any)
	if len(list) != 2 {
		t.Fatalf("sessions %s", r.raw)
	}
	newest, oldest := list[0].(map[string]any), list[1].(map[string]any)
	if newest["id"] != phoneSID || oldest["id"] != laptopSID || newest["current"] != false || oldest["current"] != true ||
		oldest["user_agent"] != "Firefox/140 (Linux)" || newest["created_at"] == nil || newest["last_used_at"] == nil {
		t.Fatalf("sessions %s", r.raw)
	}
	if ua := newest["user_agent"].(string); len(ua) > maxUserAgentBytes || strings.ContainsRune(ua, 1) || !strings.HasPrefix(ua, "Safari   on iPhone") {
		t.Fatalf("a raw user agent was kept: %q", ua)
	}
	if _, ok := newest["client_addr"]; ok {
		t.Fatal("an address was recorded without RecordSessionAddress")
	}

	e.do("DELETE", "/sessions/"+bobSID, "", "", laptop).wantError(t, 404, "not_found") // bob's
	e.do("DELETE", "/sessions/nope", "", "", laptop).wantError(t, 404, "not_found")
	e.do("DELETE", "/sessions/"+phoneSID, "", "", "").wantStatus(t, 401)
	e.do("DELETE", "/sessions/"+phoneSID, "", "", laptop).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", phone).wantError(t, 401, "invalid_token") // at once
	e.do("DELETE", "/sessions/"+phoneSID, "", "", laptop).wantError(t, 404, "not_found")
	e.do("GET", "/users/me", "", "", laptop).wantStatus(t, 200)
	e.do("GET", "/users/me", "", "", bob).wantStatus(t, 200)
	// Revoking the current login ends this very token.
	e.do("DELETE", "/sessions/"+laptopSID, "", "", laptop).wantStatus(t, 204)
	e.do("GET", "/sessions", "", "", laptop).wantError(t, 401, "invalid_token")
	if r := e.do("GET", "/sessions", "", "", bob); len(r.body["sessions"].([]any)) != 1 {
		t.Fatalf("bob's sessions: %s", r.raw)
	}
}

func TestAdminEndpoints(t *testing.T) {
	e := newHTEnv(t, htPlainHasher{}, Config{})
	ctx := context.Background()
	ids := map[string]string{}
	for i := range 7 {
		n := fmt.Sprintf("user%d", i)
		r := e.do("POST", "/signup", htJSON, `{"username":"`+n+`","password":"correct horse"}`, "")
		ids[n] = r.body["id"].(string)
	}
	if _, err := e.a.UpdateUser(ctx, ids["user0"], admin.Update{Roles: &[]string{"admin"}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	admin, _ := e.loginUA(t, "user0", "")
	user, _ := e.loginUA(t, "user1", "")

	for _, c := range []struct{ method, path, body string }{
		{"GET", "/admin/users", ""},
		{"PATCH", "/admin/users/" + ids["user2"], `{"disabled":true}`},
		{"POST", "/admin/users/" + ids["user2"] + "/logout", ""},
	} {
		ct := ""
		if c.body != "" {
			ct = htJSON
		}
		r := e.do(c.method, c.path, ct, c.body, user)
		r.wantError(t, 403, "insufficient_scope")
		if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("%s %s: %v", c.method, c.path, r.header)
		}
		e.do(c.method, c.path, ct, c.body, "").wantStatus(t, 401)
	}

	// Paging: every user once, stable.
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		target := "/admin/users?limit=3"
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		r := e.do("GET", target, "", "", admin)
		r.wantStatus(t, 200)
		users := r.body["users"].([]any)
		for _, u := range users {
			m := u.(map[string]any)
			if _, ok := m["disabled"]; !ok || m["roles"] == nil || m["email_verified"] == nil || m["password_hash"] != nil {
				t.Fatalf("user %v", m)
			}
			seen[m["username"].(string)] = true
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			if _, ok := r.body["next_cursor"]; !ok || page != 2 {
				t.Fatalf("last page %d: %s", page, r.raw)
			}
			break
		}
		cursor = next
	}
	if len(seen) != 7 {
		t.Fatalf("listed %v", seen)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "limit=1&limit=2", "cursor=!!", "cursor=" + strings.Repeat("A", 1000)} {
		e.do("GET", "/admin/users?"+q, "", "", admin).wantError(t, 400, "invalid_request")
	}

	// Disable: the user's tokens end at once, and logins are refused.
	r := e.do("PATCH", "/admin/users/"+ids["user1"], htJSON, `{"disabled":true}`, admin)
	r.wantStatus(t, 200)
	if r.body["disabled"] != true || r.body["username"] != "user1" {
		t.Fatalf("patch %s", r.raw)
	}
	e.do("GET", "/users/me", "", "", user).wantError(t, 401, "invalid_token")
	e.do("POST", "/token", "application/x-www-form-urlencoded", "username=user1&password=correct+horse", "").wantError(t, 400, "invalid_grant")
	r = e.do("PATCH", "/admin/users/"+ids["user1"], htJSON, `{"disabled":false,"roles":["editor","audit:read","editor"]}`, admin)
	r.wantStatus(t, 200)
	if r.body["disabled"] != false || fmt.Sprint(r.body["roles"]) != "[audit:read editor]" {
		t.Fatalf("patch %s", r.raw)
	}
	e.loginUA(t, "user1", "")
	for _, body := range []string{`{}`, `{"disabled":"yes"}`, `{"roles":"admin"}`, `{"roles":[1]}`, `{"roles":["Admin"]}`, `{"roles":[""]}`,
		`{"roles":["` + strings.Repeat("a", 65) + `"]}`, `{"disabled":true,"disabled":false}`} {
		e.do("PATCH", "/admin/users/"+ids["user1"], htJSON, body, admin).wantError(t, 400, "invalid_request")
	}
	e.do("PATCH", "/admin/users/nobody", htJSON, `{"disabled":true}`, admin).wantError(t, 404, "not_found")
	e.do("POST", "/admin/users/nobody/logout", "", "", admin).wantError(t, 404, "not_found")

	// Logout: every session of that user, at once.
	other, _ := e.loginUA(t, "user3", "")
	e.do("POST", "/admin/users/"+ids["user3"]+"/logout", "", "", admin).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", other).wantError(t, 401, "invalid_token")
	e.do("GET", "/users/me", "", "", admin).wantStatus(t, 200)

	// The last enabled admin can be neither demoted nor disabled (v3).
	for _, body := range []string{`{"roles":[]}`, `{"disabled":true}`, `{"disabled":true,"roles":["admin"]}`} {
		e.do("PATCH", "/admin/users/"+ids["user0"], htJSON, body, admin).wantError(t, 409, "last_admin")
	}
	e.do("GET", "/admin/users", "", "", admin).wantStatus(t, 200)

	// With another admin, an admin who loses the role loses the endpoints
	// at once.
	e.do("PATCH", "/admin/users/"+ids["user4"], htJSON, `{"roles":["admin"]}`, admin).wantStatus(t, 200)
	e.do("PATCH", "/admin/users/"+ids["user0"], htJSON, `{"roles":[]}`, admin).wantStatus(t, 200)
	e.do("GET", "/admin/users", "", "", admin).wantError(t, 403, "insufficient_scope")
}

// TestAdminWithoutUserLister: with a store that cannot list users (not an
// admin.UserLister), the list answers 404 not_found, and the other admin
// endpoints work.
func TestAdminWithoutUserLister(t *testing.T) {
	a, err := auth.New(auth.Config{Store: struct{ auth.Store }{memory.New()}, SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: htPlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	rt := NewRouter()
	rt.Mount(h.Routes())
	e := &htEnv{t: t, a: a, h: h, router: rt}
	ids := map[string]string{}
	for _, n := range []string{"root", "carol"} {
		ids[n] = e.do("POST", "/signup", htJSON, `{"username":"`+n+`","password":"correct horse"}`, "").body["id"].(string)
	}
	if _, err := a.UpdateUser(context.Background(), ids["root"], admin.Update{Roles: &[]string{"admin"}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	admin, _ := e.loginUA(t, "root", "")
	e.do("GET", "/admin/users", "", "", admin).wantError(t, 404, "not_found")
	e.do("PATCH", "/admin/users/"+ids["carol"], htJSON, `{"disabled":true}`, admin).wantStatus(t, 200)
	e.do("POST", "/admin/users/"+ids["carol"]+"/logout", "", "", admin).wantStatus(t, 204)
}
