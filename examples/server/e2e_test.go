package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
)

// TestE2E walks the HTTP contract (README.md, "HTTP API"), table by table,
// against the real handler tree over the SQLite store in a temporary
// directory. Every answer passes the guard: no 500, no redirect, JSON but
// for 204, no password, hash or secret.
func TestE2E(t *testing.T) {
	e := newEnv(t, envOptions{})

	t.Run("signup", func(t *testing.T) {
		e.t = t
		r := e.do(request{method: "POST", path: "/signup", contentType: ctJSON,
			body: `{"username":"Alice","password":"correct horse battery","email":"alice@example.com"}`})
		e.guard.secret("correct horse battery")
		r.want(t, 201, "")
		if r.str("id") == "" || r.str("username") != "alice" || r.str("email") != "alice@example.com" || r.body["email_verified"] != false || len(r.body) != 5 {
			t.Fatalf("signup answer %s", r.raw)
		}
		if _, err := time.Parse(time.RFC3339, r.str("created_at")); err != nil {
			t.Fatalf("created_at %q: %v", r.str("created_at"), err)
		}
		noEmail := e.signupReq("bob", "bob's long password")
		noEmail.want(t, 201, "")
		if v, ok := noEmail.body["email"]; !ok || v != nil {
			t.Fatalf("email should be null: %s", noEmail.raw)
		}
		// Unknown members are ignored; "charset=utf-8" is fine.
		e.do(request{method: "POST", path: "/signup", contentType: "application/json; charset=utf-8",
			body: `{"username":"carol","password":"carol's long password","role":"admin","admin":true}`}).want(t, 201, "")
		// Code points, not bytes: 8 characters of 2 bytes each are enough.
		e.signupReq("dave", "éééééééé").want(t, 201, "")

		for _, c := range []struct {
			name, ct, body string
			status         int
			code           string
		}{
			{"taken", ctJSON, `{"username":"alice","password":"another long password"}`, 409, "user_exists"},
			{"taken, other case", ctJSON, `{"username":"ALICE","password":"another long password"}`, 409, "user_exists"},
			{"taken, full-width", ctJSON, `{"username":"ａｌｉｃｅ","password":"another long password"}`, 409, "user_exists"},
			{"taken, spaces", ctJSON, `{"username":"  alice ","password":"another long password"}`, 409, "user_exists"},
			{"name too short", ctJSON, `{"username":"al","password":"another long password"}`, 422, "invalid_username"},
			{"name too long", ctJSON, `{"username":"` + strings.Repeat("a", 65) + `","password":"another long password"}`, 422, "invalid_username"},
			{"name of 64 characters", ctJSON, `{"username":"` + strings.Repeat("a", 64) + `","password":"another long password"}`, 201, ""},
			{"Cyrillic look-alike", ctJSON, `{"username":"аlice","password":"another long password"}`, 422, "invalid_username"},
			{"space inside", ctJSON, `{"username":"al ice","password":"another long password"}`, 422, "invalid_username"},
			{"empty name", ctJSON, `{"username":"","password":"another long password"}`, 422, "invalid_username"},
			{"password 7 characters", ctJSON, `{"username":"erin","password":"ééééééé"}`, 422, "invalid_password"},
			{"password 1025 bytes", ctJSON, `{"username":"erin","password":"` + strings.Repeat("x", 1025) + `"}`, 422, "invalid_password"},
			{"password with NUL", ctJSON, `{"username":"erin","password":"long password\u0000x"}`, 422, "invalid_password"},
			{"blocklisted", ctJSON, `{"username":"erin","password":"password"}`, 422, "invalid_password"},
			{"blocklisted, other case", ctJSON, `{"username":"erin","password":"PassWord1"}`, 422, "invalid_password"},
			{"blocklisted 12345678", ctJSON, `{"username":"erin","password":"12345678"}`, 422, "invalid_password"},
			{"blocklisted 123456789", ctJSON, `{"username":"erin","password":"123456789"}`, 422, "invalid_password"},
			{"blocklisted qwerty123", ctJSON, `{"username":"erin","password":"QWERTY123"}`, 422, "invalid_password"},
			{"blocklisted iloveyou", ctJSON, `{"username":"erin","password":"iloveyou"}`, 422, "invalid_password"},
			{"not JSON", ctJSON, `username=erin`, 400, "invalid_request"},
			{"empty body", ctJSON, ``, 400, "invalid_request"},
			{"array", ctJSON, `["erin","long password"]`, 400, "invalid_request"},
			{"missing password", ctJSON, `{"username":"erin"}`, 400, "invalid_request"},
			{"missing username", ctJSON, `{"password":"another long password"}`, 400, "invalid_request"},
			{"null password", ctJSON, `{"username":"erin","password":null}`, 400, "invalid_request"},
			{"number password", ctJSON, `{"username":"erin","password":12345678}`, 400, "invalid_request"},
			{"form body", ctForm, formBody("username", "erin", "password", "another long password"), 400, "invalid_request"},
			{"no content type", "", `{"username":"erin","password":"another long password"}`, 400, "invalid_request"},
			{"text/plain", "text/plain", `{"username":"erin","password":"another long password"}`, 400, "invalid_request"},
			{"names are case-sensitive", ctJSON, `{"Username":"erin","Password":"another long password"}`, 400, "invalid_request"},
			{"duplicate member", ctJSON, `{"username":"erin","username":"frank","password":"another long password"}`, 400, "invalid_request"},
			{"duplicate password", ctJSON, `{"username":"erin","password":"another long password","password":"x"}`, 400, "invalid_request"},
			{"lone surrogate", ctJSON, `{"username":"erin","password":"another long password\ud800"}`, 400, "invalid_request"},
			{"lone low surrogate", ctJSON, `{"username":"erin\udc00","password":"another long password"}`, 400, "invalid_request"},
			{"invalid email", ctJSON, `{"username":"erin","password":"another long password","email":"not an address"}`, 422, "invalid_email"},
			{"trailing data", ctJSON, `{"username":"erin","password":"another long password"}{}`, 400, "invalid_request"},
		} {
			if r := e.do(request{method: "POST", path: "/signup", contentType: c.ct, body: c.body}); r.status != c.status || c.code != "" && r.str("error") != c.code {
				t.Errorf("%s: got %d %s; want %d %s", c.name, r.status, r.raw, c.status, c.code)
			}
		}
	})

	t.Run("token/password grant", func(t *testing.T) {
		e.t = t
		// grant_type may be omitted; any form of the name logs in.
		for _, name := range []string{"alice", "Alice", "ＡＬＩＣＥ", " alice "} {
			r := e.tokenReq("username", name, "password", "correct horse battery")
			r.want(t, 200, "")
			if r.header.Get("Cache-Control") != "no-store" || r.str("token_type") != "bearer" ||
				r.body["expires_in"] != float64(900) || r.str("access_token") == "" || r.str("refresh_token") == "" || len(r.body) != 4 {
				t.Fatalf("token answer %v %s", r.header, r.raw)
			}
		}
		e.tokenReq("grant_type", "password", "username", "alice", "password", "correct horse battery").want(t, 200, "")

		// Unknown user and wrong password: identical answers.
		unknown := e.tokenReq("grant_type", "password", "username", "nobody", "password", "correct horse battery")
		wrong := e.tokenReq("grant_type", "password", "username", "bob", "password", "not bob's password")
		unknown.want(t, 400, "invalid_grant")
		if unknown.raw != wrong.raw || unknown.status != wrong.status || !sameHeaders(unknown.header, wrong.header) {
			t.Fatalf("unknown user %d %v %q and wrong password %d %v %q differ", unknown.status, unknown.header, unknown.raw, wrong.status, wrong.header, wrong.raw)
		}

		// A disabled user.
		u, err := e.app.store.UserByUsername(context.Background(), "carol")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.store.ChangeUser(context.Background(), u.ID, auth.UserChange{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		e.tokenReq("username", "carol", "password", "carol's long password").want(t, 400, "invalid_grant")

		for _, c := range []struct {
			name, ct, body string
			code           string
		}{
			{"JSON body", ctJSON, `{"username":"alice","password":"correct horse battery"}`, "invalid_request"},
			{"no content type", "", formBody("username", "alice", "password", "correct horse battery"), "invalid_request"},
			{"multipart", "multipart/form-data; boundary=x", "--x--", "invalid_request"},
			{"missing password", ctForm, formBody("username", "alice"), "invalid_request"},
			{"missing username", ctForm, formBody("password", "correct horse battery"), "invalid_request"},
			{"empty password", ctForm, formBody("username", "alice", "password", ""), "invalid_request"},
			{"empty username", ctForm, formBody("username", "", "password", "correct horse battery"), "invalid_request"},
			{"repeated password", ctForm, "username=alice&password=correct+horse+battery&password=x", "invalid_request"},
			{"repeated grant_type", ctForm, "grant_type=password&grant_type=password&username=alice&password=correct+horse+battery", "invalid_request"},
			{"bad escape", ctForm, "username=alice&password=%zz", "invalid_request"},
			{"empty body", ctForm, "", "invalid_request"},
			{"other grant", ctForm, formBody("grant_type", "client_credentials", "username", "alice", "password", "correct horse battery"), "unsupported_grant_type"},
			{"authorization_code", ctForm, formBody("grant_type", "authorization_code", "code", "x"), "unsupported_grant_type"},
			{"grant types are case-sensitive", ctForm, formBody("grant_type", "Password", "username", "alice", "password", "correct horse battery"), "unsupported_grant_type"},
		} {
			if r := e.do(request{method: "POST", path: "/token", contentType: c.ct, body: c.body}); r.status != 400 || r.str("error") != c.code {
				t.Errorf("%s: got %d %s; want 400 %s", c.name, r.status, r.raw, c.code)
			}
		}
		// The query string is never read.
		e.do(request{method: "POST", path: "/token?username=alice&password=correct+horse+battery", contentType: ctForm}).want(t, 400, "invalid_request")
	})

	t.Run("token/claims", func(t *testing.T) {
		e.t = t
		access, refresh := e.login("alice", "correct horse battery")
		parts := strings.Split(access, ".")
		if len(parts) != 3 {
			t.Fatalf("access token %q", access)
		}
		h, c := decodeSegment(t, parts[0]), decodeSegment(t, parts[1])
		if h["typ"] != "at+jwt" || h["alg"] != "HS256" || h["kid"] == nil {
			t.Fatalf("header %v", h)
		}
		me := e.me(access)
		me.want(t, 200, "")
		if c["sub"] != me.str("id") || c["sub"] == "alice" || c["iss"] == nil || c["aud"] == nil || c["jti"] == nil {
			t.Fatalf("claims %v", c)
		}
		exp, _ := c["exp"].(float64)
		iat, _ := c["iat"].(float64)
		if exp-iat != 900 {
			t.Fatalf("exp - iat = %v", exp-iat)
		}
		// Refresh and access tokens are not interchangeable.
		e.me(refresh).want(t, 401, "invalid_token")
		e.refresh(access).want(t, 400, "invalid_grant")
	})

	t.Run("token/refresh rotation and reuse", func(t *testing.T) {
		e.t = t
		_, rt1 := e.login("bob", "bob's long password")
		_, other := e.login("bob", "bob's long password") // another family
		r2 := e.refresh(rt1)
		r2.want(t, 200, "")
		if r2.header.Get("Cache-Control") != "no-store" || r2.str("refresh_token") == rt1 || len(r2.body) != 4 {
			t.Fatalf("refresh answer %v %s", r2.header, r2.raw)
		}
		rt2 := r2.str("refresh_token")
		e.me(r2.str("access_token")).want(t, 200, "")
		r3 := e.refresh(rt2)
		r3.want(t, 200, "")
		rt3 := r3.str("refresh_token")
		// rt1 is spent: reuse. The whole family goes, the newest included.
		e.refresh(rt1).want(t, 400, "invalid_grant")
		e.refresh(rt3).want(t, 400, "invalid_grant")
		e.refresh(rt2).want(t, 400, "invalid_grant")
		// Other families live on.
		e.refresh(other).want(t, 200, "")
	})

	t.Run("token/refresh failures", func(t *testing.T) {
		e.t = t
		_, rt := e.login("bob", "bob's long password")
		parts := strings.Split(rt, ".")
		for name, tok := range map[string]string{
			"malformed":            "not-a-token",
			"three dots":           "a.b.c",
			"bad signature":        parts[0] + "." + parts[1] + "." + flipChar(parts[2]),
			"non-canonical base64": parts[0] + "." + parts[1] + "." + parts[2] + "A",
			"alg none":             e.forgeNone(parts[1]),
		} {
			if r := e.refresh(tok); r.status != 400 || r.str("error") != "invalid_grant" {
				t.Errorf("%s: %d %s", name, r.status, r.raw)
			}
		}
		e.refresh(rt).want(t, 200, "") // none of that spent it
		_, rt = e.login("bob", "bob's long password")
		e.do(request{method: "POST", path: "/logout", contentType: ctForm, body: formBody("refresh_token", rt)}).want(t, 204, "")
		e.refresh(rt).want(t, 400, "invalid_grant") // revoked
	})

	t.Run("token/rate limit", func(t *testing.T) {
		e.t = t
		e.signup("gina", "gina's long password")
		for i := range 5 {
			e.tokenReq("username", "gina", "password", "wrong password "+strconv.Itoa(i)).want(t, 400, "invalid_grant")
		}
		for _, password := range []string{"wrong password again", "gina's long password"} {
			r := e.tokenReq("username", "GINA", "password", password)
			r.want(t, 429, "too_many_attempts")
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
		}
		// Other users are not locked out by gina's guesser.
		e.login("bob", "bob's long password")
	})

	t.Run("logout", func(t *testing.T) {
		e.t = t
		access, rt1 := e.login("bob", "bob's long password")
		otherAccess, otherRefresh := e.login("bob", "bob's long password")
		r := e.refresh(rt1)
		r.want(t, 200, "")
		rt2 := r.str("refresh_token")
		// Logging out with the spent rt1 still ends the family (rt2).
		e.do(request{method: "POST", path: "/logout", contentType: ctJSON, body: `{"refresh_token":"` + rt1 + `"}`}).want(t, 204, "")
		e.refresh(rt2).want(t, 400, "invalid_grant")
		// v2: and every access token of the family, at once; another
		// login of the same user lives on.
		e.me(access).want(t, 401, "invalid_token")
		e.me(r.str("access_token")).want(t, 401, "invalid_token")
		e.me(otherAccess).want(t, 200, "")
		// RFC 7009's name for the token.
		e.do(request{method: "POST", path: "/logout", contentType: ctForm, body: formBody("token", otherRefresh)}).want(t, 204, "")
		e.me(otherAccess).want(t, 401, "invalid_token")
		e.refresh(otherRefresh).want(t, 400, "invalid_grant")

		for _, c := range []struct {
			name, ct, body string
			status         int
		}{
			{"garbage, form", ctForm, formBody("refresh_token", "garbage"), 204},
			{"garbage, JSON", ctJSON, `{"refresh_token":"garbage"}`, 204},
			{"already revoked", ctForm, formBody("refresh_token", rt2), 204},
			{"an access token", ctForm, formBody("refresh_token", access), 204},
			{"missing, form", ctForm, "", 400},
			{"empty, form", ctForm, formBody("refresh_token", ""), 400},
			{"missing, JSON", ctJSON, `{}`, 400},
			{"null, JSON", ctJSON, `{"refresh_token":null}`, 400},
			{"number, JSON", ctJSON, `{"refresh_token":1}`, 400},
			{"repeated, form", ctForm, "refresh_token=a&refresh_token=b", 400},
			{"duplicate, JSON", ctJSON, `{"refresh_token":"a","refresh_token":"b"}`, 400},
			{"not JSON", ctJSON, `refresh_token=a`, 400},
			{"wrong content type", "text/plain", `refresh_token=a`, 400},
		} {
			r := e.do(request{method: "POST", path: "/logout", contentType: c.ct, body: c.body})
			if r.status != c.status || c.status == 400 && r.str("error") != "invalid_request" {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.raw, c.status)
			}
		}
	})

	t.Run("logout all", func(t *testing.T) {
		e.t = t
		a1, r1 := e.login("bob", "bob's long password")
		a2, r2 := e.login("bob", "bob's long password")
		e.do(request{method: "POST", path: "/logout/all", bearer: a1}).want(t, 204, "")
		for _, a := range []string{a1, a2} {
			r := e.me(a)
			r.want(t, 401, "invalid_token")
			if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("challenge %q", r.header.Get("WWW-Authenticate"))
			}
		}
		for _, rt := range []string{r1, r2} {
			e.refresh(rt).want(t, 400, "invalid_grant")
		}
		e.do(request{method: "POST", path: "/logout/all", bearer: a1}).want(t, 401, "invalid_token")
		e.do(request{method: "POST", path: "/logout/all"}).want(t, 401, "")
		a3, _ := e.login("bob", "bob's long password")
		e.me(a3).want(t, 200, "")
	})

	t.Run("users/me", func(t *testing.T) {
		e.t = t
		access, refresh := e.login("alice", "correct horse battery")
		me := e.me(access)
		me.want(t, 200, "")
		if me.str("username") != "alice" || me.str("email") != "alice@example.com" || me.str("id") == "" || me.body["email_verified"] != false || len(me.body) != 5 {
			t.Fatalf("/users/me %s", me.raw)
		}
		if r := e.do(request{method: "HEAD", path: "/users/me", bearer: access}); r.status != 200 {
			t.Fatalf("HEAD /users/me: %d", r.status)
		}

		// No credentials, or another scheme: a bare challenge.
		for name, h := range map[string]http.Header{
			"no header":          nil,
			"Basic":              {"Authorization": {"Basic YWxpY2U6cGFzc3dvcmQ="}},
			"token only":         {"Authorization": {access}},
			"query access_token": nil,
		} {
			path := "/users/me"
			if name == "query access_token" {
				path += "?access_token=" + access
			}
			r := e.do(request{method: "GET", path: path, header: h})
			if r.status != 401 || r.header.Get("WWW-Authenticate") != `Bearer realm="goauthkit"` {
				t.Errorf("%s: %d %q %s", name, r.status, r.header.Get("WWW-Authenticate"), r.raw)
			}
		}
		// Two Authorization headers.
		e.do(request{method: "GET", path: "/users/me", header: http.Header{"Authorization": {"Bearer " + access, "Bearer " + access}}}).want(t, 400, "invalid_request")

		// Every kind of bad token: 401 invalid_token with the challenge.
		id := me.str("id")
		u, err := e.app.store.UserByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		ver := u.TokenVersion
		kid := e.app.auth.Keys().Active().ID()
		now := e.clock.Now().Unix()
		hdr := func(extra string) string { return `{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"` + extra + `}` }
		claims := func(extra string) string {
			return fmt.Sprintf(`{"iss":"goauthkit","sub":%q,"aud":"goauthkit","iat":%d,"exp":%d,"jti":"j1","ver":%d%s}`, id, now, now+600, ver, extra)
		}
		// The forged baseline must pass, or the rows below prove nothing.
		e.me(e.forge(hdr(""), claims(""))).want(t, 200, "")
		e.me(e.forge(hdr(""), strings.Replace(claims(""), `"aud":"goauthkit"`, `"aud":["other","goauthkit"]`, 1))).want(t, 200, "")
		parts := strings.Split(access, ".")
		bad := map[string]string{
			"malformed":            "abc",
			"bad signature":        parts[0] + "." + parts[1] + "." + flipChar(parts[2]),
			"non-canonical base64": parts[0] + "." + parts[1] + "." + parts[2] + "A",
			"padded base64":        parts[0] + "." + parts[1] + "=." + parts[2],
			"expired":              e.forge(hdr(""), fmt.Sprintf(`{"iss":"goauthkit","sub":%q,"aud":"goauthkit","iat":%d,"exp":%d,"jti":"j","ver":%d}`, id, now-3600, now-600, ver)),
			"no exp":               e.forge(hdr(""), fmt.Sprintf(`{"iss":"goauthkit","sub":%q,"aud":"goauthkit","iat":%d,"jti":"j","ver":%d}`, id, now, ver)),
			"nbf in the future":    e.forge(hdr(""), claims(fmt.Sprintf(`,"nbf":%d`, now+300))),
			"iat in the future":    e.forge(hdr(""), strings.Replace(claims(""), fmt.Sprintf(`"iat":%d`, now), fmt.Sprintf(`"iat":%d`, now+300), 1)),
			"wrong iss":            e.forge(hdr(""), strings.Replace(claims(""), `"iss":"goauthkit"`, `"iss":"evil"`, 1)),
			"no iss":               e.forge(hdr(""), strings.Replace(claims(""), `"iss":"goauthkit",`, ``, 1)),
			"wrong aud":            e.forge(hdr(""), strings.Replace(claims(""), `"aud":"goauthkit"`, `"aud":"other"`, 1)),
			"no aud":               e.forge(hdr(""), strings.Replace(claims(""), `"aud":"goauthkit",`, ``, 1)),
			"typ JWT":              e.forge(strings.Replace(hdr(""), "at+jwt", "JWT", 1), claims("")),
			"no typ":               e.forge(`{"alg":"HS256","kid":"`+kid+`"}`, claims("")),
			"unknown crit":         e.forge(hdr(`,"crit":["exp2"],"exp2":1`), claims("")),
			"alg HS512":            e.forge(strings.Replace(hdr(""), "HS256", "HS512", 1), claims("")),
			"alg none":             e.forgeNone(e.b64(claims(""))),
			"duplicate claim":      e.forge(hdr(""), strings.Replace(claims(""), `"sub":`, `"sub":"someone","sub":`, 1)),
			"case-variant claim":   e.forge(hdr(""), claims(`,"SUB":"someone"`)),
			"refresh token":        refresh,
			"wrong version":        e.forge(hdr(""), strings.Replace(claims(""), fmt.Sprintf(`"ver":%d`, ver), fmt.Sprintf(`"ver":%d`, ver+1), 1)),
			"unknown user":         e.forge(hdr(""), strings.Replace(claims(""), id, "no-such-user", 1)),
		}
		for name, tok := range bad {
			r := e.me(tok)
			if r.status != 401 || r.str("error") != "invalid_token" || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%s: %d %q %s", name, r.status, r.header.Get("WWW-Authenticate"), r.raw)
			}
		}

		// A disabled user, then a deleted one.
		if _, err := e.app.store.ChangeUser(context.Background(), u.ID, auth.UserChange{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		e.me(access).want(t, 401, "invalid_token")
		if _, err := e.app.store.ChangeUser(context.Background(), u.ID, auth.UserChange{Disabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		e.me(access).want(t, 200, "")
		dAccess, _ := e.login("dave", "éééééééé")
		dave, _ := e.app.store.UserByUsername(context.Background(), "dave")
		if err := e.app.store.(auth.UserDeleter).DeleteUser(context.Background(), dave.ID); err != nil { // both of its stores offer it
			t.Fatal(err)
		}
		e.me(dAccess).want(t, 401, "invalid_token")
	})

	t.Run("password change", func(t *testing.T) {
		e.t = t
		e.signup("hank", "hank's first password")
		access, refresh := e.login("hank", "hank's first password")
		change := func(bearer, body string) resp {
			return e.do(request{method: "POST", path: "/users/me/password", contentType: ctJSON, bearer: bearer, body: body})
		}
		e.guard.secret("hank's second password")
		change(access, `{"current_password":"not hank's password","new_password":"hank's second password"}`).want(t, 400, "invalid_grant")
		change(access, `{"current_password":"hank's first password","new_password":"short"}`).want(t, 422, "invalid_password")
		change(access, `{"current_password":"hank's first password","new_password":"Password1"}`).want(t, 422, "invalid_password")
		change(access, `{"current_password":"hank's first password"}`).want(t, 400, "invalid_request")
		change(access, `{"current_password":"hank's first password","new_password":1}`).want(t, 400, "invalid_request")
		change(access, `{"current_password":"hank's first password","new_password":"hank's second password","new_password":"x"}`).want(t, 400, "invalid_request")
		change("", `{"current_password":"hank's first password","new_password":"hank's second password"}`).want(t, 401, "")
		r := e.do(request{method: "POST", path: "/users/me/password", contentType: ctForm, bearer: access,
			body: formBody("current_password", "hank's first password", "new_password", "hank's second password")})
		r.want(t, 400, "invalid_request")

		change(access, `{"current_password":"hank's first password","new_password":"hank's second password"}`).want(t, 204, "")
		e.me(access).want(t, 401, "invalid_token")
		e.refresh(refresh).want(t, 400, "invalid_grant")
		e.tokenReq("username", "hank", "password", "hank's first password").want(t, 400, "invalid_grant")
		a2, _ := e.login("hank", "hank's second password")
		e.me(a2).want(t, 200, "")
	})

	t.Run("bodies over 64 KiB", func(t *testing.T) {
		e.t = t
		access, _ := e.login("bob", "bob's long password")
		big := strings.Repeat("x", 100<<10)
		for _, q := range []request{
			{method: "POST", path: "/signup", contentType: ctJSON, body: `{"username":"ivan","password":"` + big + `"}`},
			{method: "POST", path: "/token", contentType: ctForm, body: formBody("username", "bob", "password", big)},
			{method: "POST", path: "/logout", contentType: ctForm, body: formBody("refresh_token", big)},
			{method: "POST", path: "/logout", contentType: ctJSON, body: `{"refresh_token":"` + big + `"}`},
			{method: "POST", path: "/users/me/password", contentType: ctJSON, bearer: access, body: `{"current_password":"` + big + `","new_password":"x"}`},
		} {
			if r := e.do(q); r.status != 413 || r.str("error") != "request_too_large" {
				t.Errorf("%s %s with 100 KiB: %d %s", q.method, q.path, r.status, r.raw)
			}
		}
		// Exactly 64 KiB is read (and then refused for what it says).
		prefix := `{"username":"ivan","password":"`
		body := prefix + strings.Repeat("x", 64<<10-len(prefix)-2) + `"}`
		e.do(request{method: "POST", path: "/signup", contentType: ctJSON, body: body}).want(t, 422, "invalid_password")
	})

	t.Run("paths and methods", func(t *testing.T) {
		e.t = t
		for _, c := range []struct {
			method, path string
			status       int
			allow        string
		}{
			{"GET", "/nope", 404, ""},
			{"GET", "/users", 404, ""},
			{"GET", "/users/me/", 404, ""},
			{"POST", "/token/", 404, ""},
			{"POST", "/Token", 404, ""},
			{"GET", "/.well-known/jwks.json", 404, ""},
			{"GET", "/token", 405, "POST"},
			{"PUT", "/signup", 405, "POST"},
			{"GET", "/logout", 405, "POST"},
			{"GET", "/logout/all", 405, "POST"},
			{"PUT", "/users/me", 405, "DELETE, GET, HEAD"},
			{"GET", "/users/me/password", 405, "POST"},
			{"POST", "/healthz", 405, "GET, HEAD"},
			{"POST", "/openapi.json", 405, "GET, HEAD"},
			{"OPTIONS", "/token", 405, "POST"},
		} {
			r := e.do(request{method: c.method, path: c.path})
			if r.status != c.status || r.header.Get("Allow") != c.allow {
				t.Errorf("%s %s: %d Allow %q %s", c.method, c.path, r.status, r.header.Get("Allow"), r.raw)
			}
		}
		// Paths a client library would clean, sent raw: never redirected.
		for _, target := range []string{"//token", "/./healthz", "/users/../healthz", "/healthz/", "/healthz/.", "/%68ealthz"} {
			if status := rawRequest(t, e.srv.Listener.Addr().String(), "GET", target); status != 404 {
				t.Errorf("GET %s: %d, want 404", target, status)
			}
		}
		health := e.do(request{method: "GET", path: "/healthz"})
		health.want(t, 200, "")
		if health.str("status") != "ok" {
			t.Fatalf("healthz %s", health.raw)
		}
		doc := e.do(request{method: "GET", path: "/openapi.json"})
		doc.want(t, 200, "")
		if v, _ := doc.body["openapi"].(string); !strings.HasPrefix(v, "3.1") {
			t.Fatalf("openapi %q", v)
		}
	})

	t.Run("50 concurrent signups of one name", func(t *testing.T) {
		e.t = t
		statuses := concurrently(50, func(i int) int {
			// Every form of one name.
			name := []string{"judy", "JUDY", "Judy", "ｊｕｄｙ", " judy"}[i%5]
			return e.signupReq(name, "judy's long password "+strconv.Itoa(i)).status
		})
		if statuses[201] != 1 || statuses[409] != 49 {
			t.Fatalf("statuses %v, want one 201 and 49 409", statuses)
		}
	})

	t.Run("10 concurrent refreshes of one token", func(t *testing.T) {
		e.t = t
		_, rt := e.login("bob", "bob's long password")
		var mu sync.Mutex
		var winner string
		statuses := concurrently(10, func(int) int {
			r := e.refresh(rt)
			if r.status == 200 {
				mu.Lock()
				winner = r.str("refresh_token")
				mu.Unlock()
			} else if r.str("error") != "invalid_grant" {
				return -1
			}
			return r.status
		})
		if statuses[200] != 1 || statuses[400] != 9 {
			t.Fatalf("statuses %v, want one 200 and nine 400 invalid_grant", statuses)
		}
		// The losers were reuse: the family, the winner's token with it, is revoked.
		e.refresh(winner).want(t, 400, "invalid_grant")
	})

	t.Run("python verifies our tokens", func(t *testing.T) {
		e.t = t
		py := testenv.Python(t, "jwt")
		access, _ := e.login("bob", "bob's long password")
		cmd := exec.Command(py, "-c", `import jwt, sys
claims = jwt.decode(sys.argv[1], sys.argv[2], algorithms=["HS256"], audience="goauthkit", issuer="goauthkit",
    options={"verify_iat": False})
print(claims["sub"])`, access, testSecret)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("PyJWT: %v\n%s", err, out)
		}
		if strings.TrimSpace(string(out)) == "" {
			t.Fatal("PyJWT returned no sub")
		}
	})

	t.Run("store down", func(t *testing.T) {
		e.t = t
		access, rt := e.login("bob", "bob's long password")
		if err := e.app.close(); err != nil {
			t.Fatal(err)
		}
		for _, q := range []request{
			{method: "GET", path: "/healthz"},
			{method: "POST", path: "/signup", contentType: ctJSON, body: `{"username":"kate","password":"kate's long password"}`},
			{method: "POST", path: "/token", contentType: ctForm, body: formBody("username", "bob", "password", "bob's long password")},
			{method: "POST", path: "/token", contentType: ctForm, body: formBody("grant_type", "refresh_token", "refresh_token", rt)},
			{method: "POST", path: "/logout", contentType: ctForm, body: formBody("refresh_token", rt)},
			{method: "POST", path: "/logout/all", bearer: access},
			{method: "GET", path: "/users/me", bearer: access},
		} {
			if r := e.do(q); r.status != 503 || r.str("error") != "temporarily_unavailable" {
				t.Errorf("%s %s with the store closed: %d %s", q.method, q.path, r.status, r.raw)
			}
		}
	})

	if e.guard.answers < 200 {
		t.Errorf("only %d answers checked", e.guard.answers)
	}
}

// TestE2EExpiry moves the clock: access tokens end after the access TTL
// (and the leeway), refresh tokens after the refresh TTL.
func TestE2EExpiry(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.signup("alice", "correct horse battery")
	access, refresh := e.login("alice", "correct horse battery")
	e.clock.Advance(15*time.Minute + 31*time.Second)
	r := e.me(access)
	r.want(t, 401, "invalid_token")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("challenge %q", r.header.Get("WWW-Authenticate"))
	}
	r = e.refresh(refresh) // still within the refresh TTL
	r.want(t, 200, "")
	e.me(r.str("access_token")).want(t, 200, "")
	e.clock.Advance(168*time.Hour + time.Second)
	e.refresh(r.str("refresh_token")).want(t, 400, "invalid_grant")
	// Logout of an expired token is still 204.
	e.do(request{method: "POST", path: "/logout", contentType: ctForm, body: formBody("refresh_token", r.str("refresh_token"))}).want(t, 204, "")
}

// TestE2EAddressLimit checks the per-address limit and that
// X-Forwarded-For is ignored unless the operator trusts the proxy.
func TestE2EAddressLimit(t *testing.T) {
	spoofed := func(e *env, i int) resp {
		return e.do(request{method: "POST", path: "/token", contentType: ctForm,
			body:   formBody("username", "user"+strconv.Itoa(i), "password", "some long password"),
			header: http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i)}}})
	}
	t.Run("untrusted", func(t *testing.T) {
		e := newEnv(t, envOptions{addressLimits: true})
		for i := range 20 {
			spoofed(e, i).want(t, 400, "invalid_grant")
		}
		r := spoofed(e, 20)
		r.want(t, 429, "too_many_attempts")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEnv(t, envOptions{addressLimits: true, proxies: "127.0.0.1, ::1"})
		for i := range 30 {
			spoofed(e, i).want(t, 400, "invalid_grant")
		}
	})
}

// TestE2EDefaultHasher runs signup, login and /users/me with the default
// argon2id hasher, and checks that passwords longer than bcrypt's 72 bytes
// are neither refused nor truncated.
func TestE2EDefaultHasher(t *testing.T) {
	e := newEnv(t, envOptions{hasher: auth.Argon2id{}})
	long := strings.Repeat("a", 72) + "-first"
	e.signup("alice", long)
	e.tokenReq("username", "alice", "password", strings.Repeat("a", 72)+"-other").want(t, 400, "invalid_grant")
	access, _ := e.login("alice", long)
	e.me(access).want(t, 200, "")
}

// concurrently runs f(0..n-1) at once and counts the results.
func concurrently(n int, f func(i int) int) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s := f(i)
			mu.Lock()
			counts[s]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return counts
}

// sameHeaders compares answers' headers but for the date and timing.
func sameHeaders(a, b http.Header) bool {
	strip := func(h http.Header) string {
		c := h.Clone()
		c.Del("Date")
		c.Del("Server-Timing")
		return fmt.Sprint(c)
	}
	return strip(a) == strip(b)
}

func flipChar(s string) string {
	c := byte('A')
	if s[len(s)/2] == 'A' {
		c = 'B'
	}
	return s[:len(s)/2] + string(c) + s[len(s)/2+1:]
}

func (e *env) b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forgeNone makes an unsigned "alg: none" token of a payload segment.
func (e *env) forgeNone(payloadSeg string) string {
	return e.b64(`{"alg":"none","typ":"at+jwt"}`) + "." + payloadSeg + "."
}

// rawRequest sends a request line as given, which no client library would
// clean, and returns the status.
func rawRequest(t *testing.T, addr, method, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, method+" "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 && res.StatusCode < 400 {
		t.Errorf("%s %s redirected to %q", method, target, res.Header.Get("Location"))
	}
	return res.StatusCode
}
