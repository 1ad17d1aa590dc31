package main

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth/internal/testenv"
)

// mintTutorialToken has Debian's PyJWT mint an access token exactly as the
// FastAPI tutorials do, under secret, for sub: exp 15 minutes from now
// (or in minutes), with iat if withIat, and with the extra header
// members given as JSON (headers=... of jwt.encode), if any.
const mintTutorialToken = `
import json, sys
from datetime import datetime, timedelta, timezone
import jwt
secret, sub, minutes, with_iat, headers = sys.argv[1:6]
now = datetime.now(timezone.utc)
to_encode = {"sub": sub, "exp": now + timedelta(minutes=int(minutes))}
if with_iat == "1":
    to_encode["iat"] = now
print(jwt.encode(to_encode, secret, algorithm="HS256", headers=json.loads(headers) or None))
`

func pyjwtToken(t *testing.T, py, sub string, minutes int, withIat bool, headers string) string {
	t.Helper()
	iat := "0"
	if withIat {
		iat = "1"
	}
	if headers == "" {
		headers = "{}"
	}
	out, err := exec.Command(py, "-c", mintTutorialToken, testSecret, sub, strconv.Itoa(minutes), iat, headers).CombinedOutput()
	if err != nil {
		t.Fatalf("PyJWT: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestLegacyTokensPyJWT: with AUTH_LEGACY_TOKENS_UNTIL, the server accepts
// the access tokens that PyJWT mints as the FastAPI tutorials do, under
// AUTH_SECRET_KEY, wherever it takes a Bearer token: sub a username or an
// email; one with an iat ends with a logout everywhere, one without lives
// until its exp; with this server's typ it is refused; and after
// AUTH_LEGACY_TOKENS_UNTIL every one is. Without the setting, none is.
func TestLegacyTokensPyJWT(t *testing.T) {
	py := testenv.Python(t, "jwt")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	e := newEnv(t, envOptions{vars: map[string]string{"AUTH_LEGACY_TOKENS_UNTIL": until.Format(time.RFC3339)}})
	e.do(request{method: "POST", path: "/signup", contentType: ctJSON,
		body: `{"username":"alice","password":"correct horse battery","email":"alice@example.com"}`}).want(t, 201, "")
	withIat := pyjwtToken(t, py, "alice", 15, true, "")
	byEmail := pyjwtToken(t, py, "alice@example.com", 15, false, "")
	if h := decodeSegment(t, strings.Split(withIat, ".")[0]); h["alg"] != "HS256" || h["typ"] != "JWT" || len(h) != 2 {
		t.Fatalf("PyJWT's header %v", h)
	}

	for _, tok := range []string{withIat, byEmail} {
		if r := e.me(tok); r.status != 200 || r.str("username") != "alice" {
			t.Fatalf("GET /users/me with PyJWT's token: %d %s", r.status, r.raw)
		}
	}
	r := e.do(request{method: "GET", path: "/sessions", bearer: byEmail})
	r.want(t, 200, "")
	if list, _ := r.body["sessions"].([]any); len(list) != 0 {
		t.Fatalf("GET /sessions: %s", r.raw)
	}
	e.me(pyjwtToken(t, py, "alice", 15, false, `{"typ":"at+jwt"}`)).want(t, 401, "invalid_token")
	e.me(pyjwtToken(t, py, "mallory", 15, false, "")).want(t, 401, "invalid_token")

	// A logout everywhere ends the token that says when it was issued;
	// the one that does not lives until its exp.
	e.clock.Advance(time.Minute)
	e.do(request{method: "POST", path: "/logout/all", bearer: withIat}).want(t, 204, "")
	e.me(withIat).want(t, 401, "invalid_token")
	e.me(byEmail).want(t, 200, "")

	// After AUTH_LEGACY_TOKENS_UNTIL, none is accepted.
	late := pyjwtToken(t, py, "alice", 180, false, "")
	e.me(late).want(t, 200, "")
	e.clock.Advance(time.Until(until) + time.Second)
	e.me(late).want(t, 401, "invalid_token")
	access, _ := e.login("alice", "correct horse battery")
	e.me(access).want(t, 200, "")

	off := newEnv(t, envOptions{})
	off.do(request{method: "POST", path: "/signup", contentType: ctJSON,
		body: `{"username":"alice","password":"correct horse battery"}`}).want(t, 201, "")
	off.me(pyjwtToken(t, py, "alice", 15, false, "")).want(t, 401, "invalid_token")
}

// TestLegacyTokensSetting: AUTH_LEGACY_TOKENS_UNTIL reaches the library
// (checked without Python, on a token made here as PyJWT makes it).
func TestLegacyTokensSetting(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"AUTH_LEGACY_TOKENS_UNTIL": time.Now().Add(time.Hour).Format(time.RFC3339)}})
	e.signup("alice", "correct horse battery")
	tok := e.forge(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"alice","exp":`+strconv.FormatInt(e.clock.Now().Add(time.Minute).Unix(), 10)+`}`)
	e.me(tok).want(t, 200, "")
	if !strings.Contains(e.logs.String(), "AUTH_LEGACY_TOKENS_UNTIL") {
		t.Fatalf("no start-up line says so:\n%s", e.logs.String())
	}
}
