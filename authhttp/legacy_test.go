package authhttp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
)

// htLegacyToken mints an access token as the FastAPI tutorials do, for
// sub, under the environment's secret; iat, when not zero, is its iat.
func htLegacyToken(sub string, iat time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"sub":%q,"exp":%d}`, sub, time.Now().Add(15*time.Minute).Unix())
	if !iat.IsZero() {
		claims = fmt.Sprintf(`{"sub":%q,"exp":%d,"iat":%d}`, sub, time.Now().Add(15*time.Minute).Unix(), iat.Unix())
	}
	in := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims))
	m := hmac.New(sha256.New, htSecret)
	m.Write([]byte(in))
	return in + "." + enc(m.Sum(nil))
}

// TestLegacyTokenEndpoints: with auth.Config.Tokens.LegacyUntil, the
// endpoints that take a Bearer token take the tutorials' tokens, which
// belong to no login: GET /sessions marks none current, DELETE
// /sessions/{id} ends a login of the user and not the legacy token, and
// POST /logout/all ends the legacy tokens that say when they were issued
// (those that do not live until their exp).
func TestLegacyTokenEndpoints(t *testing.T) {
	e := newHTEnvConfig(t, auth.Config{
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
		Tokens:    auth.TokenConfig{LegacyUntil: time.Now().Add(time.Hour)},
	}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse","email":"alice@example.com"}`, "").wantStatus(t, 201)
	_, sid := e.loginUA(t, "alice", "curl/8")
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) // a second after the signup
	withIat := htLegacyToken("alice", time.Now())
	noIat := htLegacyToken("alice@example.com", time.Time{})

	if r := e.do("GET", "/users/me", "", "", withIat); r.status != 200 || r.body["username"] != "alice" {
		t.Fatalf("GET /users/me: %d %s", r.status, r.raw)
	}
	r := e.do("GET", "/sessions", "", "", noIat)
	r.wantStatus(t, 200)
	list, _ := r.body["sessions"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != sid || list[0].(map[string]any)["current"] != false {
		t.Fatalf("GET /sessions: %s", r.raw)
	}
	e.do("DELETE", "/sessions/"+sid, "", "", withIat).wantStatus(t, 204)
	e.do("DELETE", "/sessions/"+sid, "", "", withIat).wantError(t, 404, "not_found")
	e.do("GET", "/users/me", "", "", withIat).wantStatus(t, 200)

	e.do("POST", "/logout/all", "", "", withIat).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", withIat).wantError(t, 401, "invalid_token")
	e.do("GET", "/users/me", "", "", noIat).wantStatus(t, 200)
}
