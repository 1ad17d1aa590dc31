package authhttp

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goauthkit/auth/internal/authtest"
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
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
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
