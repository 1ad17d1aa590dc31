package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/passkey/passkeytest"
)

// The end-to-end tests of the contract's "Passkeys (v3)", over HTTP, with
// passkeytest as the browser's authenticator, on the memory store and
// every store the server offers. The server serves its pages from
// http://localhost:PORT (an IP address cannot be a relying party).

// passkeyStores are the stores the passkey tests run on: memory, and
// stores(t)'s.
func passkeyStores(t *testing.T) map[string]func(*testing.T) string {
	m := stores(t)
	m["memory"] = func(*testing.T) string { return "memory" }
	return m
}

// passkeyEnv is a server on the store db whose public URL is
// http://localhost:PORT, so that its passkeys are on.
func passkeyEnv(t *testing.T, db string, o envOptions) *env {
	t.Helper()
	o.db = db
	if o.publicHost == "" && o.vars["AUTH_PUBLIC_URL"] == "" {
		o.publicHost = "localhost"
	}
	return newEnv(t, o)
}

// authenticator is a software authenticator on the server's pages.
func (e *env) authenticator() *passkeytest.Authenticator { return passkeytest.New(e.publicURL) }

// options is the publicKey member of a begin's answer, as JSON.
func (r resp) options(t *testing.T) []byte {
	t.Helper()
	if r.status != 200 || r.str("ceremony") == "" {
		t.Fatalf("a begin's answer: %d %s", r.status, r.raw)
	}
	b, err := json.Marshal(r.body["publicKey"])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publicKey is the publicKey member of a begin's answer.
func (r resp) publicKey() map[string]any { m, _ := r.body["publicKey"].(map[string]any); return m }

// finishJSON is a finish's body: the ceremony, the credential and more
// members (`,"name":"x"`).
func finishJSON(ceremony string, credential []byte, more string) string {
	c, _ := json.Marshal(ceremony)
	return `{"ceremony":` + string(c) + `,"credential":` + string(credential) + more + `}`
}

func (e *env) registerBegin(access string) resp {
	e.t.Helper()
	return e.do(request{method: "POST", path: "/passkeys/register/begin", bearer: access})
}

func (e *env) registerFinish(access, body string) resp {
	e.t.Helper()
	return e.post("/passkeys/register/finish", body, access)
}

// create answers a begin's options with a new credential of key.
func create(t *testing.T, key *passkeytest.Authenticator, begun resp) []byte {
	t.Helper()
	cred, err := key.Create(begun.options(t))
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// get answers a login begin's options with an assertion of key.
func get(t *testing.T, key *passkeytest.Authenticator, begun resp) []byte {
	t.Helper()
	cred, err := key.Get(begun.options(t))
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// addPasskey registers a passkey of key for the holder of access, named
// name ("" for the server's default), and returns the answer (201).
func (e *env) addPasskey(key *passkeytest.Authenticator, access, name string) resp {
	e.t.Helper()
	b := e.registerBegin(access)
	more := ""
	if name != "" {
		more = `,"name":` + jsonBody(e.t, name)
	}
	r := e.registerFinish(access, finishJSON(b.str("ceremony"), create(e.t, key, b), more))
	r.want(e.t, 201, "")
	return r
}

func (e *env) loginBegin() resp {
	e.t.Helper()
	r := e.do(request{method: "POST", path: "/passkeys/login/begin"})
	r.want(e.t, 200, "")
	return r
}

func (e *env) loginFinish(body string) resp {
	e.t.Helper()
	return e.post("/passkeys/login/finish", body, "")
}

// passkeyLogin signs in with key's newest passkey at
// /passkeys/login/finish, and returns the answer.
func (e *env) passkeyLogin(key *passkeytest.Authenticator) resp {
	e.t.Helper()
	b := e.loginBegin()
	return e.loginFinish(finishJSON(b.str("ceremony"), get(e.t, key, b), ""))
}

// passkeySignup signs up name (and email, if not "") with a passkey of
// key, and returns the finish's answer.
func (e *env) passkeySignup(key *passkeytest.Authenticator, name, email string) resp {
	e.t.Helper()
	body := map[string]string{"username": name}
	if email != "" {
		body["email"] = email
	}
	b := e.post("/passkeys/signup/begin", jsonBody(e.t, body), "")
	return e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(e.t, key, b), ""), "")
}

func (e *env) passkeys(access string) resp {
	e.t.Helper()
	r := e.do(request{method: "GET", path: "/passkeys", bearer: access})
	r.want(e.t, 200, "")
	return r
}

// list is GET /passkeys's passkeys.
func (r resp) list() []map[string]any {
	var out []map[string]any
	items, _ := r.body["passkeys"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

// claims are the claims of an access token.
func claims(t *testing.T, access string) map[string]any {
	t.Helper()
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", access)
	}
	return decodeSegment(t, parts[1])
}

// wantPasskeyLogin checks a passkey login's token answer: the token
// endpoint's, its access token the user's (sub), with amr ["pop", "mfa"]
// and auth_time the server's now.
func (e *env) wantPasskeyLogin(r resp, userID string) {
	e.t.Helper()
	r.want(e.t, 200, "")
	if r.header.Get("Cache-Control") != "no-store" || r.str("token_type") != "bearer" || r.str("refresh_token") == "" ||
		r.body["expires_in"] != float64(900) || len(r.body) != 4 {
		e.t.Fatalf("a passkey login's answer: %v %s", r.header, r.raw)
	}
	e.wantPasskeyClaims(r.str("access_token"), userID)
}

func (e *env) wantPasskeyClaims(access, userID string) {
	e.t.Helper()
	c := claims(e.t, access)
	if c["sub"] != userID || fmt.Sprint(c["amr"]) != "[pop mfa]" || c["auth_time"] != float64(e.clock.Now().Unix()) {
		e.t.Fatalf("a passkey login's claims: %v (want sub %s, auth_time %d)", c, userID, e.clock.Now().Unix())
	}
}

// wantRefused checks a refusal: 400 invalid_grant, without
// unknown_credential (unless unknown).
func (r resp) wantRefused(t *testing.T, unknown bool) {
	t.Helper()
	r.want(t, 400, "invalid_grant")
	if v, ok := r.body["unknown_credential"]; unknown && v != true || !unknown && ok {
		t.Fatalf("unknown_credential: %s", r.raw)
	}
}

// doctor returns the credential cred (toJSON's) changed by f, which gets
// it and its client data decoded.
func doctor(t *testing.T, cred []byte, f func(cred, clientData map[string]any)) []byte {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(cred, &c); err != nil {
		t.Fatal(err)
	}
	response := c["response"].(map[string]any)
	raw, err := base64.RawURLEncoding.DecodeString(response["clientDataJSON"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var cd map[string]any
	if err := json.Unmarshal(raw, &cd); err != nil {
		t.Fatal(err)
	}
	f(c, cd)
	raw, _ = json.Marshal(cd)
	response["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(raw)
	out, _ := json.Marshal(c)
	return out
}

// withOption returns the begin's answer with its option name set to
// value (a relying party that the server did not ask for).
func withOption(t *testing.T, begun resp, name string, value any) resp {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(begun.options(t), &o); err != nil {
		t.Fatal(err)
	}
	o[name] = value
	out := begun
	out.body = map[string]any{"ceremony": begun.str("ceremony"), "publicKey": o}
	return out
}

// asLogin returns a begin's answer as the request options of a login on
// its challenge: the browser's answer to them signs that challenge.
func asLogin(t *testing.T, begun resp) resp {
	t.Helper()
	rp, _ := begun.publicKey()["rp"].(map[string]any)
	out := begun
	out.body = map[string]any{"ceremony": begun.str("ceremony"), "publicKey": map[string]any{"challenge": begun.publicKey()["challenge"], "rpId": rp["id"]}}
	return out
}

// TestE2EPasskeyRegister: POST /passkeys/register/begin's options and
// /finish's answer; a name is 1–64 characters (default the server's), and
// every credential that fails verification is 400 invalid_grant, adding
// nothing.
func TestE2EPasskeyRegister(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			e.signup("bob", "bob's long password")
			bob, _ := e.login("bob", "bob's long password")
			key := e.authenticator()

			e.registerBegin("").want(t, 401, "unauthorized")
			e.do(request{method: "GET", path: "/passkeys/register/begin", bearer: alice}).want(t, 405, "method_not_allowed")
			b := e.registerBegin(alice)
			b.want(t, 200, "")
			o := b.publicKey()
			sel, _ := o["authenticatorSelection"].(map[string]any)
			rp, _ := o["rp"].(map[string]any)
			user, _ := o["user"].(map[string]any)
			challenge, err := base64.RawURLEncoding.DecodeString(fmt.Sprint(o["challenge"]))
			if sel["residentKey"] != "required" || sel["userVerification"] != "required" || o["attestation"] != "none" ||
				rp["id"] != "localhost" || rp["name"] != "goauthkit" || user["name"] != "alice" || err != nil || len(challenge) < 16 {
				t.Fatalf("creation options %s", b.raw)
			}
			if ex, ok := o["excludeCredentials"].([]any); !ok || len(ex) != 0 {
				t.Fatalf("excludeCredentials of a user without passkeys: %s", b.raw)
			}
			if !slices.ContainsFunc(o["pubKeyCredParams"].([]any), func(p any) bool { return p.(map[string]any)["alg"] == float64(-7) }) {
				t.Fatalf("no ES256 in %v", o["pubKeyCredParams"])
			}
			if b2 := e.registerBegin(alice); b2.str("ceremony") == b.str("ceremony") || b2.publicKey()["challenge"] == o["challenge"] {
				t.Fatal("two begins with one ceremony or challenge")
			}

			// Added: 201 with its fields, the default name, never used yet.
			cred := create(t, key, b)
			r := e.registerFinish(alice, finishJSON(b.str("ceremony"), cred, ""))
			r.want(t, 201, "")
			var c map[string]any
			_ = json.Unmarshal(cred, &c)
			first := r.str("id")
			created, err := time.Parse(time.RFC3339, r.str("created_at"))
			if first != c["id"] || r.str("name") == "" || err != nil || created.Unix() != e.clock.Now().Unix() ||
				r.body["backed_up"] != false || len(r.body) != 5 || !strings.Contains(r.raw, `"last_used_at":null`) {
				t.Fatalf("registered %s", r.raw)
			}
			// The handle of the options is the account's.
			if list := e.passkeys(alice); list.str("user_handle") != user["id"] {
				t.Fatalf("user_handle %q, the options' user.id %v", list.str("user_handle"), user["id"])
			}

			// The next options exclude it (the browser then refuses to
			// make another on the same authenticator).
			b = e.registerBegin(alice)
			ex, _ := b.publicKey()["excludeCredentials"].([]any)
			if len(ex) != 1 || ex[0].(map[string]any)["id"] != first || ex[0].(map[string]any)["type"] != "public-key" {
				t.Fatalf("excludeCredentials: %v", b.publicKey()["excludeCredentials"])
			}
			if _, err := key.Create(b.options(t)); !errors.Is(err, passkeytest.ErrExcluded) {
				t.Fatalf("the authenticator made an excluded credential: %v", err)
			}

			// Names: 1–64 characters, else 400 invalid_request.
			synced := e.authenticator()
			synced.BackupEligible, synced.BackupState = true, true
			for _, tt := range []struct {
				name   string
				status int
			}{
				{`""`, 400}, {`"` + strings.Repeat("n", 65) + `"`, 400}, {`"` + strings.Repeat("ü", 65) + `"`, 400},
				{`"a\u0000b"`, 400}, {`"line\nbreak"`, 400}, {`7`, 400}, {`["Phone"]`, 400},
				{`"` + strings.Repeat("ü", 64) + `"`, 201}, {`"P"`, 201},
			} {
				b := e.registerBegin(alice)
				r := e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, e.authenticator(), b), `,"name":`+tt.name))
				if tt.status == 400 {
					r.want(t, 400, "invalid_request")
					continue
				}
				r.want(t, 201, "")
				if want := strings.Trim(tt.name, `"`); r.str("name") != want {
					t.Fatalf("named %q, want %q", r.str("name"), want)
				}
			}
			r = e.addPasskey(synced, alice, "Laptop")
			if r.str("name") != "Laptop" || r.body["backed_up"] != true {
				t.Fatalf("a synced passkey: %s", r.raw)
			}
			listed := e.passkeys(alice).list()
			have := len(listed)
			if have != 4 {
				t.Fatalf("%d passkeys, want 4", have)
			}
			// The options exclude every one of them.
			var excluded, ids []string
			for _, x := range e.registerBegin(alice).publicKey()["excludeCredentials"].([]any) {
				excluded = append(excluded, fmt.Sprint(x.(map[string]any)["id"]))
			}
			for _, p := range listed {
				ids = append(ids, p["id"].(string))
			}
			slices.Sort(excluded)
			slices.Sort(ids)
			if !slices.Equal(excluded, ids) {
				t.Fatalf("excludeCredentials %v, the passkeys %v", excluded, ids)
			}

			// Bob's, for the refusals of an id registered already.
			bobKey := e.authenticator()
			bobs := e.addPasskey(bobKey, bob, "").str("id")
			bobID, _ := base64.RawURLEncoding.DecodeString(bobs)

			// Every refusal is 400 invalid_grant, and adds nothing.
			for _, tt := range []struct {
				name   string
				finish func() resp
			}{
				{"another ceremony's challenge", func() resp {
					b1, b2 := e.registerBegin(alice), e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(b1.str("ceremony"), create(t, e.authenticator(), b2), ""))
				}},
				{"another origin", func() resp {
					k := e.authenticator()
					k.Origin = "http://evil.localhost" + e.publicURL[strings.LastIndex(e.publicURL, ":"):]
					b := e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, k, b), ""))
				}},
				{"an https origin on the host", func() resp {
					k := e.authenticator()
					k.Origin = strings.Replace(e.publicURL, "http://", "https://", 1)
					b := e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, k, b), ""))
				}},
				{"another relying party", func() resp {
					b := e.registerBegin(alice)
					bad := withOption(t, b, "rp", map[string]any{"id": "example.com", "name": "x"})
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, e.authenticator(), bad), ""))
				}},
				{"a client data type of a login", func() resp {
					b := e.registerBegin(alice)
					cred := doctor(t, create(t, e.authenticator(), b), func(_, cd map[string]any) { cd["type"] = "webauthn.get" })
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), cred, ""))
				}},
				{"a credential type not public-key", func() resp {
					b := e.registerBegin(alice)
					cred := doctor(t, create(t, e.authenticator(), b), func(c, _ map[string]any) { c["type"] = "password" })
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), cred, ""))
				}},
				{"no user presence", func() resp {
					k := e.authenticator()
					k.NoUserPresence = true
					b := e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, k, b), ""))
				}},
				{"no user verification", func() resp {
					k := e.authenticator()
					k.NoUserVerification = true
					b := e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, k, b), ""))
				}},
				{"a login's ceremony", func() resp {
					l := e.loginBegin()
					b := withOption(t, e.registerBegin(alice), "challenge", l.publicKey()["challenge"])
					return e.registerFinish(alice, finishJSON(l.str("ceremony"), create(t, e.authenticator(), b), ""))
				}},
				{"a sign-up's ceremony", func() resp {
					s := e.post("/passkeys/signup/begin", `{"username":"someone"}`, "")
					return e.registerFinish(alice, finishJSON(s.str("ceremony"), create(t, e.authenticator(), s), ""))
				}},
				{"another user's ceremony", func() resp {
					b := e.registerBegin(bob)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, e.authenticator(), b), ""))
				}},
				{"a spent ceremony", func() resp {
					b := e.registerBegin(alice)
					k := e.authenticator()
					k.NoUserVerification = true
					e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, k, b), "")).wantRefused(t, false)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, e.authenticator(), b), ""))
				}},
				{"an unknown ceremony", func() resp {
					b := e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(flipChar(b.str("ceremony")), create(t, e.authenticator(), b), ""))
				}},
				{"an expired ceremony", func() resp {
					b := e.registerBegin(alice)
					e.clock.Advance(5 * time.Minute)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, e.authenticator(), b), ""))
				}},
				{"an id registered to another user", func() resp {
					k := e.authenticator()
					k.NextID = bobID
					b := e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, k, b), ""))
				}},
				{"an id registered to the user", func() resp {
					k := e.authenticator()
					k.NextID, _ = base64.RawURLEncoding.DecodeString(first)
					b := e.registerBegin(alice)
					return e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, k, b), ""))
				}},
			} {
				tt.finish().wantRefused(t, false)
				if n := len(e.passkeys(alice).list()); n != have {
					t.Fatalf("%s: %d passkeys after a refusal, want %d", tt.name, n, have)
				}
			}
			if n := len(e.passkeys(bob).list()); n != 1 {
				t.Fatalf("bob has %d passkeys, want 1", n)
			}
			// Bob's passkey stays his: it signs bob in.
			e.wantPasskeyLogin(e.passkeyLogin(bobKey), e.id("bob"))
			// A ceremony lives up to its last second.
			b = e.registerBegin(alice)
			e.clock.Advance(5*time.Minute - time.Second)
			e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, e.authenticator(), b), "")).want(t, 201, "")
		})
	}
}

// TestE2EPasskeyLogin: POST /passkeys/login/begin's options; /finish
// answers as /token, with amr ["pop", "mfa"] and auth_time; each refusal
// is 400 invalid_grant, with "unknown_credential": true only for an
// unknown credential.
func TestE2EPasskeyLogin(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			aliceID := e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			e.signup("bob", "bob's long password")
			bob, _ := e.login("bob", "bob's long password")
			e.signup("root", "root's long password")
			e.admin("root")
			root, _ := e.login("root", "root's long password")
			key := e.authenticator()
			e.addPasskey(key, alice, "")
			bobKey := e.authenticator()
			e.addPasskey(bobKey, bob, "")
			bobHandle := e.passkeys(bob).str("user_handle")

			b := e.loginBegin()
			o := b.publicKey()
			challenge, err := base64.RawURLEncoding.DecodeString(fmt.Sprint(o["challenge"]))
			if allow, ok := o["allowCredentials"].([]any); !ok || len(allow) != 0 || o["userVerification"] != "required" ||
				o["rpId"] != "localhost" || err != nil || len(challenge) < 16 {
				t.Fatalf("request options %s", b.raw)
			}
			if b2 := e.loginBegin(); b2.str("ceremony") == b.str("ceremony") || b2.publicKey()["challenge"] == o["challenge"] {
				t.Fatal("two begins with one ceremony or challenge")
			}
			e.do(request{method: "GET", path: "/passkeys/login/begin"}).want(t, 405, "method_not_allowed")

			if e.passkeys(alice).list()[0]["last_used_at"] != nil {
				t.Fatal("last_used_at before any use")
			}
			e.clock.Advance(time.Minute)
			r := e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), ""))
			e.wantPasskeyLogin(r, aliceID)
			me := e.me(r.str("access_token"))
			me.want(t, 200, "")
			if me.str("username") != "alice" {
				t.Fatalf("/users/me: %s", me.raw)
			}
			if used := e.passkeys(alice).list()[0]; used["last_used_at"] != e.clock.Now().Format(time.RFC3339) && used["last_used_at"] != e.clock.Now().Format(time.RFC3339Nano) {
				t.Fatalf("last_used_at %v, want %s", used["last_used_at"], e.clock.Now().Format(time.RFC3339))
			}
			// A refresh keeps the login's amr and auth_time.
			authTime := e.clock.Now().Unix()
			e.clock.Advance(time.Minute)
			refreshed := e.refresh(r.str("refresh_token"))
			refreshed.want(t, 200, "")
			if c := claims(t, refreshed.str("access_token")); fmt.Sprint(c["amr"]) != "[pop mfa]" || c["auth_time"] != float64(authTime) {
				t.Fatalf("a refresh's claims %v", c)
			}
			// A sign counter that stays 0 (a synced passkey) is no replay;
			// backup flags that change are learnt.
			e.wantPasskeyLogin(e.passkeyLogin(key), aliceID)
			key.BackupEligible, key.BackupState = true, true
			e.wantPasskeyLogin(e.passkeyLogin(key), aliceID)
			if e.passkeys(alice).list()[0]["backed_up"] != true {
				t.Fatal("the backup state was not recorded")
			}
			key.BackupEligible, key.BackupState = false, false
			e.wantPasskeyLogin(e.passkeyLogin(key), aliceID)
			if e.passkeys(alice).list()[0]["backed_up"] != false {
				t.Fatal("the backup state was not recorded")
			}

			// A stranger's passkey: made for this relying party, never
			// registered.
			stranger := e.authenticator()
			create(t, stranger, e.registerBegin(bob))

			for _, tt := range []struct {
				name    string
				unknown bool
				finish  func() resp
			}{
				{"a bad signature", false, func() resp {
					key.BadSignature = true
					defer func() { key.BadSignature = false }()
					return e.passkeyLogin(key)
				}},
				{"another ceremony's challenge", false, func() resp {
					b1, b2 := e.loginBegin(), e.loginBegin()
					return e.loginFinish(finishJSON(b1.str("ceremony"), get(t, key, b2), ""))
				}},
				{"another origin", false, func() resp {
					key.Origin = "http://evil.localhost"
					defer func() { key.Origin = e.publicURL }()
					return e.passkeyLogin(key)
				}},
				{"no user presence", false, func() resp {
					key.NoUserPresence = true
					defer func() { key.NoUserPresence = false }()
					return e.passkeyLogin(key)
				}},
				{"no user verification", false, func() resp {
					key.NoUserVerification = true
					defer func() { key.NoUserVerification = false }()
					return e.passkeyLogin(key)
				}},
				{"a client data type of a registration", false, func() resp {
					b := e.loginBegin()
					cred := doctor(t, get(t, key, b), func(_, cd map[string]any) { cd["type"] = "webauthn.create" })
					return e.loginFinish(finishJSON(b.str("ceremony"), cred, ""))
				}},
				{"another user's handle", false, func() resp {
					b := e.loginBegin()
					cred := doctor(t, get(t, key, b), func(c, _ map[string]any) { c["response"].(map[string]any)["userHandle"] = bobHandle })
					return e.loginFinish(finishJSON(b.str("ceremony"), cred, ""))
				}},
				{"no handle", false, func() resp {
					b := e.loginBegin()
					cred := doctor(t, get(t, key, b), func(c, _ map[string]any) { delete(c["response"].(map[string]any), "userHandle") })
					return e.loginFinish(finishJSON(b.str("ceremony"), cred, ""))
				}},
				{"a registration's ceremony", false, func() resp {
					reg := e.registerBegin(alice)
					return e.loginFinish(finishJSON(reg.str("ceremony"), get(t, key, asLogin(t, reg)), ""))
				}},
				{"a sign-up's ceremony", false, func() resp {
					s := e.post("/passkeys/signup/begin", `{"username":"someone"}`, "")
					return e.loginFinish(finishJSON(s.str("ceremony"), get(t, key, asLogin(t, s)), ""))
				}},
				{"a spent ceremony", false, func() resp {
					b := e.loginBegin()
					e.wantPasskeyLogin(e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), "")), aliceID)
					return e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), ""))
				}},
				{"a ceremony spent by a refusal", false, func() resp {
					b := e.loginBegin()
					key.BadSignature = true
					e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), "")).wantRefused(t, false)
					key.BadSignature = false
					return e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), ""))
				}},
				{"an unknown ceremony", false, func() resp {
					b := e.loginBegin()
					return e.loginFinish(finishJSON(flipChar(b.str("ceremony")), get(t, key, b), ""))
				}},
				{"an expired ceremony", false, func() resp {
					b := e.loginBegin()
					e.clock.Advance(5 * time.Minute)
					return e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), ""))
				}},
				{"an unknown credential", true, func() resp { return e.passkeyLogin(stranger) }},
				{"a disabled user", false, func() resp {
					disable := func(v bool) {
						e.do(request{method: "PATCH", path: "/admin/users/" + aliceID, contentType: ctJSON,
							body: fmt.Sprintf(`{"disabled":%t}`, v), bearer: root}).want(t, 200, "")
					}
					disable(true)
					defer disable(false)
					return e.passkeyLogin(key)
				}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					e.t = t
					tt.finish().wantRefused(t, tt.unknown)
				})
			}
			e.t = t
			// The refusals left the passkey working.
			e.wantPasskeyLogin(e.passkeyLogin(key), aliceID)
			// A ceremony lives up to its last second.
			b = e.loginBegin()
			e.clock.Advance(5*time.Minute - time.Second)
			e.wantPasskeyLogin(e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), "")), aliceID)
		})
	}
}

// TestE2EPasskeySignCount: a sign counter that is not greater than the
// stored one, once that is not 0, is refused (a cloned authenticator);
// one that goes up signs in.
func TestE2EPasskeySignCount(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			aliceID := e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			key := e.authenticator()
			key.Counting = true
			id := e.addPasskey(key, alice, "").str("id")     // stored count 1
			e.wantPasskeyLogin(e.passkeyLogin(key), aliceID) // 2
			e.wantPasskeyLogin(e.passkeyLogin(key), aliceID) // 3
			// Not greater than 3: refused, whatever is stored.
			key.Counting = false // answers the count set
			for _, next := range []uint32{3, 2, 0} {
				if err := key.SetSignCount(id, next); err != nil {
					t.Fatal(err)
				}
				e.passkeyLogin(key).wantRefused(t, false)
			}
			key.Counting = true
			if err := key.SetSignCount(id, 3); err != nil {
				t.Fatal(err)
			}
			e.wantPasskeyLogin(e.passkeyLogin(key), aliceID) // 4
		})
	}
}

// TestE2EPasskeyLoginBudget: failed passkey logins draw on the client
// address's budget of failed logins, which password logins share: past
// it, 429 with Retry-After, for that address only.
func TestE2EPasskeyLoginBudget(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{addressLimits: true, proxies: "127.0.0.1, ::1"})
			aliceID := e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			key := e.authenticator()
			e.addPasskey(key, alice, "")
			attacker, other := from("203.0.113.9"), from("198.51.100.7")
			try := func(h http.Header, bad bool) resp {
				b := e.loginBegin()
				key.BadSignature = bad
				defer func() { key.BadSignature = false }()
				return e.do(request{method: "POST", path: "/passkeys/login/finish", contentType: ctJSON, header: h,
					body: finishJSON(b.str("ceremony"), get(t, key, b), "")})
			}
			for i := range 20 {
				if i%2 == 0 {
					try(attacker, true).wantRefused(t, false)
				} else {
					e.do(request{method: "POST", path: "/passkeys/login/finish", contentType: ctJSON, header: attacker,
						body: finishJSON("no such ceremony", get(t, key, e.loginBegin()), "")}).wantRefused(t, false)
				}
			}
			r := try(attacker, true)
			r.want(t, 429, "too_many_attempts")
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			// One budget with passwords.
			r = e.do(request{method: "POST", path: "/token", contentType: ctForm, header: attacker,
				body: formBody("username", "nobody", "password", "some long password")})
			r.want(t, 429, "too_many_attempts")
			// Another address is not concerned.
			e.wantPasskeyLogin(try(other, false), aliceID)
			// The budget refills: one more per 6 s.
			e.clock.Advance(6 * time.Second)
			e.wantPasskeyLogin(try(attacker, false), aliceID)
		})
	}
}

// TestE2EPasskeySession: POST /session/passkey answers as POST /session,
// with its cookie, from the server's own origin only; the cookie then
// refreshes at /session/refresh.
func TestE2EPasskeySession(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			aliceID := e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			key := e.authenticator()
			e.addPasskey(key, alice, "")
			session := func(h http.Header, k *passkeytest.Authenticator) resp {
				b := e.loginBegin()
				return e.do(request{method: "POST", path: "/session/passkey", contentType: ctJSON, header: h,
					body: finishJSON(b.str("ceremony"), get(t, k, b), "")})
			}
			for _, h := range []http.Header{
				{"Sec-Fetch-Site": {"cross-site"}},
				{"Sec-Fetch-Site": {"same-site"}, "Origin": {"http://evil.localhost"}},
				{"Origin": {"https://evil.example"}},
			} {
				r := session(h, key)
				r.want(t, 403, "forbidden")
				if len(r.header.Values("Set-Cookie")) != 0 {
					t.Fatalf("a refused session sets cookies: %v", r.header)
				}
			}
			for _, h := range []http.Header{{"Sec-Fetch-Site": {"same-origin"}}, {"Origin": {e.publicURL}}} {
				r := session(h, key)
				r.want(t, 200, "")
				if r.header.Get("Cache-Control") != "no-store" || r.str("refresh_token") != "" || r.str("token_type") != "bearer" || len(r.body) != 3 {
					t.Fatalf("POST /session/passkey: %v %s", r.header, r.raw)
				}
				e.wantPasskeyClaims(r.str("access_token"), aliceID)
				var cookie *http.Cookie
				for _, c := range (&http.Response{Header: r.header}).Cookies() {
					if c.Name == "__Host-refresh_token" {
						cookie = c
					}
				}
				if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
					t.Fatalf("the session cookie: %v", r.header.Values("Set-Cookie"))
				}
				if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "__Host-device=") {
					t.Fatalf("no device cookie: %v", r.header.Values("Set-Cookie"))
				}
				refreshed := e.do(request{method: "POST", path: "/session/refresh", header: http.Header{
					"Cookie": {"__Host-refresh_token=" + cookie.Value}, "Sec-Fetch-Site": {"same-origin"}}})
				refreshed.want(t, 200, "")
				if c := claims(t, refreshed.str("access_token")); fmt.Sprint(c["amr"]) != "[pop mfa]" || c["sub"] != aliceID {
					t.Fatalf("refreshed: %v", c)
				}
			}
			// Its refusals are the login's.
			stranger := e.authenticator()
			create(t, stranger, e.registerBegin(alice))
			session(http.Header{"Sec-Fetch-Site": {"same-origin"}}, stranger).wantRefused(t, true)
			key.BadSignature = true
			session(http.Header{"Sec-Fetch-Site": {"same-origin"}}, key).wantRefused(t, false)
		})
	}
}

// TestE2EPasskeySignup: POST /passkeys/signup/begin checks the name and
// email as /signup does and creates nothing; /finish creates an account
// with the passkey and no password, signed in; a name or email taken
// meanwhile is 409.
func TestE2EPasskeySignup(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			e.signupReq2("alice", "alice's long password", "alice@example.com").want(t, 201, "")
			alice, _ := e.login("alice", "alice's long password")
			aliceKey := e.authenticator()
			alices := e.addPasskey(aliceKey, alice, "").str("id")
			e.signup("bob@example.org", "bob's long password")

			// Checked as /signup checks them: the same answers.
			for _, tt := range []struct {
				body, contentType string
				status            int
				code              string
			}{
				{`{"username":"alice"}`, ctJSON, 409, "user_exists"},
				{`{"username":"ＡＬＩＣＥ"}`, ctJSON, 409, "user_exists"},
				{`{"username":"alice@example.com"}`, ctJSON, 409, "user_exists"},
				{`{"username":"newbie","email":"Alice@Example.com"}`, ctJSON, 409, "email_exists"},
				{`{"username":"newbie","email":"bob@example.org"}`, ctJSON, 409, "email_exists"}, // bob's username
				{`{"username":"ab"}`, ctJSON, 422, "invalid_username"},
				{`{"username":"аlice"}`, ctJSON, 422, "invalid_username"}, // a Cyrillic а
				{`{"username":"` + strings.Repeat("a", 65) + `"}`, ctJSON, 422, "invalid_username"},
				{`{"username":"newbie","email":"not an email"}`, ctJSON, 422, "invalid_email"},
				{`{"username":"newbie","email":"newbie@[127.0.0.1]"}`, ctJSON, 422, "invalid_email"},
				{`{}`, ctJSON, 400, "invalid_request"},
				{`{"username":5}`, ctJSON, 400, "invalid_request"},
				{`{"username":"newbie","email":5}`, ctJSON, 400, "invalid_request"},
				{`{"username":"newbie","username":"other"}`, ctJSON, 400, "invalid_request"},
				{`username=newbie`, ctForm, 400, "invalid_request"},
				{`not json`, ctJSON, 400, "invalid_request"},
			} {
				r := e.do(request{method: "POST", path: "/passkeys/signup/begin", contentType: tt.contentType, body: tt.body})
				r.want(t, tt.status, tt.code)
				// /signup, with a password beside.
				body := tt.body
				if strings.HasPrefix(body, "{") && len(body) > 2 {
					body = `{"password":"a long password here",` + body[1:]
				} else if body == "{}" {
					body = `{"password":"a long password here"}`
				}
				if s := e.do(request{method: "POST", path: "/signup", contentType: tt.contentType, body: body}); s.status != r.status || s.str("error") != r.str("error") {
					t.Errorf("%s: /passkeys/signup/begin %d %s, /signup %d %s", tt.body, r.status, r.str("error"), s.status, s.str("error"))
				}
			}

			// Begun: the options of a registration, and nothing created.
			b := e.post("/passkeys/signup/begin", `{"username":"Carol","email":"Carol@Example.com"}`, "")
			b.want(t, 200, "")
			o := b.publicKey()
			sel, _ := o["authenticatorSelection"].(map[string]any)
			user, _ := o["user"].(map[string]any)
			if sel["residentKey"] != "required" || sel["userVerification"] != "required" || o["attestation"] != "none" || user["name"] != "carol" {
				t.Fatalf("sign-up options %s", b.raw)
			}
			if ex, ok := o["excludeCredentials"].([]any); !ok || len(ex) != 0 {
				t.Fatalf("excludeCredentials: %s", b.raw)
			}
			if _, err := e.app.store.UserByUsername(context.Background(), "carol"); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("a begun sign-up created carol: %v", err)
			}
			// A second begin of the same name is no conflict either.
			b2 := e.post("/passkeys/signup/begin", `{"username":"carol"}`, "")
			b2.want(t, 200, "")

			carolKey := e.authenticator()
			e.clock.Advance(time.Minute)
			r := e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(t, carolKey, b), ""), "")
			r.want(t, 201, "")
			u, _ := r.body["user"].(map[string]any)
			carolID, _ := u["id"].(string)
			if r.header.Get("Cache-Control") != "no-store" || u["username"] != "carol" || u["email"] != "carol@example.com" ||
				u["email_verified"] != false || u["created_at"] != e.clock.Now().Format(time.RFC3339) || carolID == "" ||
				r.str("token_type") != "bearer" || r.str("refresh_token") == "" || r.body["expires_in"] != float64(900) || len(r.body) != 5 {
				t.Fatalf("sign-up: %v %s", r.header, r.raw)
			}
			e.wantPasskeyClaims(r.str("access_token"), carolID)
			carol := r.str("access_token")
			me := e.me(carol)
			me.want(t, 200, "")
			if me.str("id") != carolID || jsonBody(t, me.body) != jsonBody(t, u) {
				t.Fatalf("/users/me %s, the sign-up's user %v", me.raw, u)
			}
			if h := e.passkeys(carol).str("user_handle"); h != user["id"] {
				t.Fatalf("user_handle %s, the sign-up options' user.id %v", h, user["id"])
			}
			list := e.passkeys(carol).list()
			if len(list) != 1 || list[0]["name"] == "" || list[0]["last_used_at"] != nil {
				t.Fatalf("carol's passkeys: %v", list)
			}
			// No password opens it.
			for _, pw := range []string{"a long password here", "carol's long password", " "} {
				e.tokenReq("grant_type", "password", "username", "carol", "password", pw).want(t, 400, "invalid_grant")
			}
			e.do(request{method: "POST", path: "/session", contentType: ctForm, header: http.Header{"Sec-Fetch-Site": {"same-origin"}},
				body: formBody("username", "carol@example.com", "password", "a long password here")}).want(t, 400, "invalid_grant")
			// Its passkey does.
			e.clock.Advance(time.Minute)
			e.wantPasskeyLogin(e.passkeyLogin(carolKey), carolID)
			// The second ceremony of the name: taken now.
			e.post("/passkeys/signup/finish", finishJSON(b2.str("ceremony"), create(t, e.authenticator(), b2), ""), "").want(t, 409, "user_exists")

			// Taken meanwhile, the name or the email: 409, and the passkey is
			// nobody's.
			for _, tt := range []struct {
				begin, signup, code string
			}{
				{`{"username":"dave"}`, `{"username":"dave","password":"dave's long password"}`, "user_exists"},
				{`{"username":"erin","email":"erin@example.com"}`, `{"username":"erin2","password":"erin's long password","email":"erin@example.com"}`, "email_exists"},
			} {
				b := e.post("/passkeys/signup/begin", tt.begin, "")
				b.want(t, 200, "")
				e.post("/signup", tt.signup, "").want(t, 201, "")
				k := e.authenticator()
				e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(t, k, b), ""), "").want(t, 409, tt.code)
				e.passkeyLogin(k).wantRefused(t, true)
			}

			// Refusals: 400 invalid_grant, and no account.
			aliceID, _ := base64.RawURLEncoding.DecodeString(alices)
			for _, tt := range []struct {
				name   string
				other  bool // finishes another ceremony than b
				finish func(b resp) resp
			}{
				{"an id registered already", false, func(b resp) resp {
					k := e.authenticator()
					k.NextID = aliceID
					return e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(t, k, b), ""), "")
				}},
				{"a login's ceremony", true, func(b resp) resp {
					l := e.loginBegin()
					b = withOption(t, b, "challenge", l.publicKey()["challenge"])
					return e.post("/passkeys/signup/finish", finishJSON(l.str("ceremony"), create(t, e.authenticator(), b), ""), "")
				}},
				{"a registration's ceremony", true, func(resp) resp {
					reg := e.registerBegin(alice)
					return e.post("/passkeys/signup/finish", finishJSON(reg.str("ceremony"), create(t, e.authenticator(), reg), ""), "")
				}},
				{"an expired ceremony", false, func(b resp) resp {
					e.clock.Advance(5 * time.Minute)
					return e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(t, e.authenticator(), b), ""), "")
				}},
				{"no user verification", false, func(b resp) resp {
					k := e.authenticator()
					k.NoUserVerification = true
					return e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(t, k, b), ""), "")
				}},
				{"another origin", false, func(b resp) resp {
					k := e.authenticator()
					k.Origin = "https://evil.example"
					return e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(t, k, b), ""), "")
				}},
			} {
				b := e.post("/passkeys/signup/begin", `{"username":"frank"}`, "")
				tt.finish(b).wantRefused(t, false)
				if _, err := e.app.store.UserByUsername(context.Background(), "frank"); !errors.Is(err, auth.ErrNotFound) {
					t.Fatalf("%s: frank exists: %v", tt.name, err)
				}
				if tt.other {
					continue
				}
				// The ceremony is spent.
				e.post("/passkeys/signup/finish", finishJSON(b.str("ceremony"), create(t, e.authenticator(), b), ""), "").wantRefused(t, false)
			}
			// Without an email: null.
			r = e.passkeySignup(e.authenticator(), "frank", "")
			r.want(t, 201, "")
			if u, _ := r.body["user"].(map[string]any); u["email"] != nil || !strings.Contains(r.raw, `"email":null`) {
				t.Fatalf("sign-up without an email: %s", r.raw)
			}
		})
	}
}

// TestE2EPasskeySignupLimit: sign-ups with a passkey draw on the client
// address's sign-up budget, as /signup does, counted whether or not they
// succeed: 429 with Retry-After past it.
func TestE2EPasskeySignupLimit(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{addressLimits: true})
			for i := range 20 {
				body := fmt.Sprintf(`{"username":"user%d"}`, i)
				if i%2 == 1 {
					body = `{"username":"x"}` // 422, counted too
				}
				r := e.post("/passkeys/signup/begin", body, "")
				if r.status != 200 && r.status != 422 {
					t.Fatalf("attempt %d: %d %s", i, r.status, r.raw)
				}
			}
			r := e.post("/passkeys/signup/begin", `{"username":"one-more"}`, "")
			r.want(t, 429, "too_many_attempts")
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			e.signupReq("one-more", "a long password here").want(t, 429, "too_many_attempts")
			e.clock.Advance(6 * time.Second)
			e.post("/passkeys/signup/begin", `{"username":"one-more"}`, "").want(t, 200, "")
		})
	}
}

// TestE2EPasskeyManage: GET /passkeys (the handle, the oldest first),
// PATCH and DELETE /passkeys/{id}: 404 for another's or an unknown id,
// 400 for a bad name, 409 last_credential for a passwordless account's
// last passkey only.
func TestE2EPasskeyManage(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			e.do(request{method: "GET", path: "/passkeys"}).want(t, 401, "unauthorized")
			empty := e.passkeys(alice)
			handle, err := base64.RawURLEncoding.Strict().DecodeString(empty.str("user_handle"))
			if err != nil || len(handle) < 16 || len(empty.list()) != 0 || !strings.Contains(empty.raw, `"passkeys":[]`) {
				t.Fatalf("GET /passkeys without passkeys: %s", empty.raw)
			}
			if again := e.passkeys(alice); again.str("user_handle") != empty.str("user_handle") {
				t.Fatal("the user handle changed")
			}
			keys := []*passkeytest.Authenticator{e.authenticator(), e.authenticator(), e.authenticator()}
			var ids []string
			for i, k := range keys {
				ids = append(ids, e.addPasskey(k, alice, fmt.Sprint("key ", i)).str("id"))
				e.clock.Advance(time.Second)
			}
			e.wantPasskeyLogin(e.passkeyLogin(keys[1]), e.id("alice"))
			list := e.passkeys(alice)
			if list.str("user_handle") != empty.str("user_handle") {
				t.Fatal("the user handle changed")
			}
			got := list.list()
			if len(got) != 3 {
				t.Fatalf("GET /passkeys: %s", list.raw)
			}
			for i, p := range got {
				if p["id"] != ids[i] || p["name"] != fmt.Sprint("key ", i) || len(p) != 5 || p["backed_up"] != false ||
					(p["last_used_at"] != nil) != (i == 1) {
					t.Fatalf("passkey %d: %v", i, p)
				}
			}

			e.signup("bob", "bob's long password")
			bob, _ := e.login("bob", "bob's long password")
			bobs := e.addPasskey(e.authenticator(), bob, "").str("id")
			patch := func(id, body, access string) resp {
				return e.do(request{method: "PATCH", path: "/passkeys/" + id, contentType: ctJSON, body: body, bearer: access})
			}
			del := func(id, access string) resp {
				return e.do(request{method: "DELETE", path: "/passkeys/" + id, bearer: access})
			}

			// Renaming.
			r := patch(ids[0], `{"name":"My phone"}`, alice)
			r.want(t, 200, "")
			if r.str("id") != ids[0] || r.str("name") != "My phone" || r.str("created_at") != got[0]["created_at"] || len(r.body) != 5 {
				t.Fatalf("renamed: %s", r.raw)
			}
			if e.passkeys(alice).list()[0]["name"] != "My phone" {
				t.Fatal("the new name is not listed")
			}
			for _, bad := range []string{`{}`, `{"name":""}`, `{"name":null}`, `{"name":3}`,
				`{"name":"` + strings.Repeat("x", 65) + `"}`, `{"name":"tab\there"}`, `not json`, `{"name":"a","name":"b"}`} {
				patch(ids[0], bad, alice).want(t, 400, "invalid_request")
			}
			for _, id := range []string{bobs, flipChar(ids[0]), "AAAA", "not~base64", strings.Repeat("A", 4096)} {
				if r := patch(id, `{"name":"mine"}`, alice); r.status != 404 || r.str("error") == "" {
					t.Fatalf("PATCH %.20s: %d %s", id, r.status, r.raw)
				}
				if r := del(id, alice); r.status != 404 || r.str("error") == "" {
					t.Fatalf("DELETE %.20s: %d %s", id, r.status, r.raw)
				}
			}
			patch(ids[0], `{"name":"x"}`, "").want(t, 401, "unauthorized")
			for _, q := range []request{{method: "GET", path: "/passkeys/" + ids[0]}, {method: "PUT", path: "/passkeys/" + ids[0]},
				{method: "POST", path: "/passkeys"}, {method: "DELETE", path: "/passkeys"}, {method: "GET", path: "/passkeys/signup/finish"}} {
				q.bearer = alice
				if r := e.do(q); r.status != 405 || r.str("error") != "method_not_allowed" || r.header.Get("Allow") == "" {
					t.Errorf("%s %s: %d %v %s", q.method, q.path, r.status, r.header, r.raw)
				}
			}
			del(ids[0], "").want(t, 401, "unauthorized")
			if p := e.passkeys(bob).list(); len(p) != 1 || p[0]["name"] == "mine" {
				t.Fatalf("bob's passkeys: %v", p)
			}

			// Removing: a password-holder may remove every passkey.
			del(ids[1], alice).want(t, 204, "")
			del(ids[1], alice).want(t, 404, "")
			e.passkeyLogin(keys[1]).wantRefused(t, true)
			del(ids[0], alice).want(t, 204, "")
			del(ids[2], alice).want(t, 204, "")
			if n := len(e.passkeys(alice).list()); n != 0 {
				t.Fatalf("%d passkeys left", n)
			}

			// A passwordless account keeps its last passkey.
			carolKey := e.authenticator()
			r = e.passkeySignup(carolKey, "carol", "")
			r.want(t, 201, "")
			carol := r.str("access_token")
			only := e.passkeys(carol).list()[0]["id"].(string)
			r = del(only, carol)
			r.want(t, 409, "last_credential")
			second := e.addPasskey(e.authenticator(), carol, "").str("id")
			del(only, carol).want(t, 204, "")
			del(second, carol).want(t, 409, "last_credential")
			e.passkeyLogin(carolKey).wantRefused(t, true)
			if n := len(e.passkeys(carol).list()); n != 1 {
				t.Fatalf("carol has %d passkeys", n)
			}
		})
	}
}

// TestE2EPasskeyWithTOTP: a passkey login of a user with TOTP on gets its
// tokens at once (a passkey is a second factor), at /token's and the
// browser's; GET /mfa counts the user's passkeys.
func TestE2EPasskeyWithTOTP(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			u := e.enrolTOTP("alice")
			key := e.authenticator()
			e.addPasskey(key, u.access, "")
			e.addPasskey(e.authenticator(), u.access, "")
			status := e.do(request{method: "GET", path: "/mfa", bearer: u.access})
			if status.raw != `{"totp":true,"recovery_codes_left":10,"passkeys":2}`+"\n" {
				t.Fatalf("GET /mfa: %s", status.raw)
			}
			// The password alone asks for the code.
			e.tokenReq("grant_type", "password", "username", "alice", "password", u.password).want(t, 403, "mfa_required")
			r := e.passkeyLogin(key)
			e.wantPasskeyLogin(r, e.id("alice"))
			if _, ok := r.body["mfa_token"]; ok {
				t.Fatalf("a passkey login with a challenge: %s", r.raw)
			}
			b := e.loginBegin()
			r = e.do(request{method: "POST", path: "/session/passkey", contentType: ctJSON, header: http.Header{"Sec-Fetch-Site": {"same-origin"}},
				body: finishJSON(b.str("ceremony"), get(t, key, b), "")})
			r.want(t, 200, "")
			e.wantPasskeyClaims(r.str("access_token"), e.id("alice"))
			// A passkey login is a second factor for management.
			r = e.post("/mfa/recovery-codes", `{"password":"`+u.password+`"}`, e.passkeyLogin(key).str("access_token"))
			r.want(t, 200, "")
			other := e.signup("bob", "bob's long password")
			bob, _ := e.login("bob", "bob's long password")
			if s := e.do(request{method: "GET", path: "/mfa", bearer: bob}); s.raw != `{"totp":false,"recovery_codes_left":0,"passkeys":0}`+"\n" {
				t.Fatalf("GET /mfa of %s: %s", other, s.raw)
			}
		})
	}
}

// TestE2EPasskeyDeleteMe: a passkey-only account deletes itself with a
// recent login; its passkeys go with it.
func TestE2EPasskeyDeleteMe(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			key := e.authenticator()
			r := e.passkeySignup(key, "carol", "carol@example.com")
			r.want(t, 201, "")
			stale := r.str("access_token")
			carolID := r.body["user"].(map[string]any)["id"].(string)
			e.clock.Advance(5*time.Minute + time.Second)
			del := func(access string) resp {
				return e.do(request{method: "DELETE", path: "/users/me", bearer: access})
			}
			del(stale).want(t, 401, "insufficient_user_authentication")
			r = e.passkeyLogin(key)
			e.wantPasskeyLogin(r, carolID)
			del(r.str("access_token")).want(t, 204, "")
			e.me(r.str("access_token")).want(t, 401, "invalid_token")
			e.passkeyLogin(key).wantRefused(t, true)
			// The name and the email are free again.
			e.passkeySignup(e.authenticator(), "carol", "carol@example.com").want(t, 201, "")
		})
	}
}

// TestE2EPasskeyConcurrentFinish: one finish sent twice at once succeeds
// once; of two logins at once with one sign count, one succeeds; of two
// registrations at once of one credential id, or two sign-ups of one
// name, one succeeds.
func TestE2EPasskeyConcurrentFinish(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			e.signup("bob", "bob's long password")
			bob, _ := e.login("bob", "bob's long password")
			key := e.authenticator()
			e.addPasskey(key, alice, "")
			counting := e.authenticator()
			counting.Counting = true
			countingID := e.addPasskey(counting, alice, "").str("id")
			stored := uint32(1)
			// once counts a pair of answers: one success (status ok), one
			// refusal (status refused, error code).
			once := func(what string, ok, refused int, code string, f func(i int) resp) {
				t.Helper()
				got := concurrently(2, func(i int) int {
					r := f(i)
					if r.status == refused && r.str("error") != code {
						return -r.status
					}
					return r.status
				})
				if got[ok] != 1 || got[refused] != 1 {
					t.Fatalf("%s: %v, want one %d and one %d %s", what, got, ok, refused, code)
				}
			}
			for trial := range 8 {
				b := e.loginBegin()
				body := finishJSON(b.str("ceremony"), get(t, key, b), "")
				once(fmt.Sprint("one login finish, trial ", trial), 200, 400, "invalid_grant", func(int) resp { return e.loginFinish(body) })

				var bodies [2]string
				for i := range bodies {
					if err := counting.SetSignCount(countingID, stored); err != nil {
						t.Fatal(err)
					}
					b := e.loginBegin()
					bodies[i] = finishJSON(b.str("ceremony"), get(t, counting, b), "") // count stored+1
				}
				once(fmt.Sprint("two logins with one count, trial ", trial), 200, 400, "invalid_grant", func(i int) resp { return e.loginFinish(bodies[i]) })
				stored++

				s := e.post("/passkeys/signup/begin", fmt.Sprintf(`{"username":"user%d"}`, trial), "")
				body = finishJSON(s.str("ceremony"), create(t, e.authenticator(), s), "")
				once(fmt.Sprint("one sign-up finish, trial ", trial), 201, 400, "invalid_grant", func(int) resp { return e.post("/passkeys/signup/finish", body, "") })

				for i := range bodies {
					s := e.post("/passkeys/signup/begin", fmt.Sprintf(`{"username":"racer%d"}`, trial), "")
					bodies[i] = finishJSON(s.str("ceremony"), create(t, e.authenticator(), s), "")
				}
				once(fmt.Sprint("two sign-ups of one name, trial ", trial), 201, 409, "user_exists", func(i int) resp { return e.post("/passkeys/signup/finish", bodies[i], "") })

				id := make([]byte, 32)
				copy(id, fmt.Sprintf("one credential id, trial %d", trial))
				access := [2]string{alice, bob}
				for i := range bodies {
					k := e.authenticator()
					k.NextID = id
					b := e.registerBegin(access[i])
					bodies[i] = finishJSON(b.str("ceremony"), create(t, k, b), "")
				}
				once(fmt.Sprint("two registrations of one id, trial ", trial), 201, 400, "invalid_grant", func(i int) resp { return e.registerFinish(access[i], bodies[i]) })
			}
			// A passwordless account removing its last two passkeys at once
			// keeps one.
			r := e.passkeySignup(e.authenticator(), "carol", "")
			r.want(t, 201, "")
			carol := r.str("access_token")
			for trial := range 3 {
				e.addPasskey(e.authenticator(), carol, "")
				list := e.passkeys(carol).list()
				if len(list) != 2 {
					t.Fatalf("trial %d: %d passkeys", trial, len(list))
				}
				once(fmt.Sprint("removing the last two, trial ", trial), 204, 409, "last_credential", func(i int) resp {
					return e.do(request{method: "DELETE", path: "/passkeys/" + list[i]["id"].(string), bearer: carol})
				})
			}
		})
	}
}

// TestE2EPasskeyBodies: bodies that are not JSON, lack a member or hold a
// member of another type are 400 invalid_request at every finish; huge
// and odd ones a clear 4xx, never a 5xx (the guard checks every answer).
func TestE2EPasskeyBodies(t *testing.T) {
	e := passkeyEnv(t, "memory", envOptions{})
	e.signup("alice", "alice's long password")
	alice, _ := e.login("alice", "alice's long password")
	key := e.authenticator()
	e.addPasskey(key, alice, "")
	b := e.loginBegin()
	cred := string(get(t, key, b))
	same := http.Header{"Sec-Fetch-Site": {"same-origin"}}
	endpoints := []struct {
		path   string
		bearer string
		header http.Header
	}{
		{"/passkeys/register/finish", alice, nil},
		{"/passkeys/login/finish", "", nil},
		{"/session/passkey", "", same},
		{"/passkeys/signup/finish", "", nil},
	}
	for _, ep := range endpoints {
		for _, tt := range []struct {
			body, contentType string
		}{
			{`not json`, ctJSON},
			{``, ctJSON},
			{`[]`, ctJSON},
			{`"x"`, ctJSON},
			{`{}`, ctJSON},
			{`{"ceremony":"x"}`, ctJSON},
			{`{"credential":` + cred + `}`, ctJSON},
			{`{"ceremony":"","credential":` + cred + `}`, ctJSON},
			{`{"ceremony":null,"credential":` + cred + `}`, ctJSON},
			{`{"ceremony":7,"credential":` + cred + `}`, ctJSON},
			{`{"ceremony":["x"],"credential":` + cred + `}`, ctJSON},
			{`{"ceremony":"x","credential":null}`, ctJSON},
			{`{"ceremony":"x","credential":` + jsonBody(t, cred) + `}`, ctJSON}, // the credential as a string
			{`{"ceremony":"x","credential":[` + cred + `]}`, ctJSON},
			{`{"ceremony":"x","credential":true}`, ctJSON},
			{`{"ceremony":"x","ceremony":"y","credential":` + cred + `}`, ctJSON},
			{`{"ceremony":"x","credential":` + cred + `} trailing`, ctJSON},
			{`{"ceremony":"\ud800","credential":` + cred + `}`, ctJSON},
			{formBody("ceremony", "x", "credential", cred), ctForm},
			{`{"ceremony":"x","credential":` + cred + `}`, "text/plain"},
		} {
			r := e.do(request{method: "POST", path: ep.path, contentType: tt.contentType, body: tt.body, bearer: ep.bearer, header: ep.header})
			if r.status != 400 || r.str("error") != "invalid_request" {
				t.Errorf("%s %.60q: %d %s", ep.path, tt.body, r.status, r.raw)
			}
		}
		// A ceremony of 10 KB: no ceremony; a credential of 1 MB: too large;
		// a credential object that is none: refused.
		for _, tt := range []struct {
			body   string
			status int
			code   string
		}{
			{`{"ceremony":"` + strings.Repeat("c", 10<<10) + `","credential":` + cred + `}`, 400, "invalid_grant"},
			{`{"ceremony":"x","credential":{"id":"` + strings.Repeat("A", 1<<20) + `"}}`, 413, "request_too_large"},
			{`{"ceremony":"x","credential":{"id":"` + strings.Repeat("A", 60<<10) + `","type":"public-key"}}`, 400, "invalid_grant"},
			{`{"ceremony":"x","credential":{}}`, 400, "invalid_grant"},
			{`{"ceremony":"x","credential":{"id":7,"response":"no"}}`, 400, "invalid_grant"},
		} {
			r := e.do(request{method: "POST", path: ep.path, contentType: ctJSON, body: tt.body, bearer: ep.bearer, header: ep.header})
			if r.status != tt.status || r.str("error") != tt.code {
				t.Errorf("%s %.60q: %d %.200s, want %d %s", ep.path, tt.body, r.status, r.raw, tt.status, tt.code)
			}
			if _, ok := r.body["unknown_credential"]; ok {
				t.Errorf("%s %.60q: %s", ep.path, tt.body, r.raw)
			}
		}
	}
	// Junk in a real ceremony: refused, and the ceremony spent.
	b = e.loginBegin()
	e.loginFinish(`{"ceremony":"`+b.str("ceremony")+`","credential":{"id":"x"}}`).wantRefused(t, false)
	e.loginFinish(finishJSON(b.str("ceremony"), get(t, key, b), "")).wantRefused(t, false)
	// The sign-up's begin, too.
	for _, body := range []string{`{"username":"` + strings.Repeat("a", 1<<20) + `"}`} {
		e.post("/passkeys/signup/begin", body, "").want(t, 413, "request_too_large")
	}
	e.post("/passkeys/signup/begin", `{"username":"`+strings.Repeat("a", 10<<10)+`"}`, "").want(t, 422, "invalid_username")
	// The login still works.
	e.wantPasskeyLogin(e.passkeyLogin(key), e.id("alice"))
}

// TestE2EPasskeySettings: AUTH_PASSKEY_RP_NAME and
// AUTH_PASSKEY_CEREMONY_TTL reach the ceremonies; AUTH_PASSKEY_RP_ID
// replaces the public URL's host as the relying party; the origins are
// the public URL's and those of AUTH_CORS_ORIGINS on the relying party's
// domain, never a request's Origin.
func TestE2EPasskeySettings(t *testing.T) {
	e := passkeyEnv(t, "memory", envOptions{publicHost: "auth.app.localhost", vars: map[string]string{
		"AUTH_PASSKEY_RP_ID": "app.localhost", "AUTH_PASSKEY_RP_NAME": "Acme Co", "AUTH_PASSKEY_CEREMONY_TTL": "1m",
		"AUTH_CORS_ORIGINS": "http://web.app.localhost:5173, http://other.localhost:5173",
	}})
	e.signup("alice", "alice's long password")
	alice, _ := e.login("alice", "alice's long password")
	b := e.registerBegin(alice)
	rp, _ := b.publicKey()["rp"].(map[string]any)
	if rp["id"] != "app.localhost" || rp["name"] != "Acme Co" {
		t.Fatalf("rp %v", rp)
	}
	key := e.authenticator()
	e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, key, b), "")).want(t, 201, "")
	if l := e.loginBegin(); l.publicKey()["rpId"] != "app.localhost" {
		t.Fatalf("login options %s", l.raw)
	}
	aliceID := e.id("alice")
	e.wantPasskeyLogin(e.passkeyLogin(key), aliceID)
	// The ceremony lives a minute.
	l := e.loginBegin()
	e.clock.Advance(time.Minute)
	e.loginFinish(finishJSON(l.str("ceremony"), get(t, key, l), "")).wantRefused(t, false)
	l = e.loginBegin()
	e.clock.Advance(time.Minute - time.Second)
	e.wantPasskeyLogin(e.loginFinish(finishJSON(l.str("ceremony"), get(t, key, l), "")), aliceID)
	// Origins.
	for origin, ok := range map[string]bool{
		"http://web.app.localhost:5173":  true,
		"http://other.localhost:5173":    false, // a CORS origin off the relying party's domain
		"http://evil.app.localhost:5173": false, // on the domain, not listed
		"http://app.localhost:5173":      false,
	} {
		key.Origin = origin
		l := e.loginBegin()
		r := e.do(request{method: "POST", path: "/passkeys/login/finish", contentType: ctJSON, header: http.Header{"Origin": {origin}},
			body: finishJSON(l.str("ceremony"), get(t, key, l), "")})
		if ok {
			e.wantPasskeyLogin(r, aliceID)
		} else {
			r.wantRefused(t, false)
		}
	}
}

// TestE2EPasskeysOff: a server whose public URL's host is an IP address
// has no passkeys: their paths are 404, and the log says why.
func TestE2EPasskeysOff(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory"})
	if !strings.HasPrefix(e.publicURL, "http://127.0.0.1:") {
		t.Fatalf("public URL %s", e.publicURL)
	}
	e.signup("alice", "alice's long password")
	alice, _ := e.login("alice", "alice's long password")
	e.do(request{method: "POST", path: "/passkeys/login/begin"}).want(t, 404, "not_found")
	e.do(request{method: "POST", path: "/passkeys/register/begin", bearer: alice}).want(t, 404, "not_found")
	e.post("/passkeys/signup/begin", `{"username":"carol"}`, "").want(t, 404, "not_found")
	e.do(request{method: "GET", path: "/passkeys", bearer: alice}).want(t, 404, "not_found")
	e.do(request{method: "POST", path: "/session/passkey", header: http.Header{"Sec-Fetch-Site": {"same-origin"}}}).want(t, 404, "not_found")
	if s := e.do(request{method: "GET", path: "/mfa", bearer: alice}); s.raw != `{"totp":false,"recovery_codes_left":0,"passkeys":0}`+"\n" {
		t.Fatalf("GET /mfa: %s", s.raw)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "passkeys are off") || !strings.Contains(logs, "AUTH_PASSKEY_RP_ID") {
		t.Fatalf("no log line says why passkeys are off:\n%s", logs)
	}
}

// TestE2EPasskeyEvents: passkeys added, renamed, removed, used and refused
// are audit events (log lines), naming the user when known and never a
// ceremony or a challenge.
func TestE2EPasskeyEvents(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			aliceID := e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			key := e.authenticator()
			b := e.registerBegin(alice)
			id := e.registerFinish(alice, finishJSON(b.str("ceremony"), create(t, key, b), "")).str("id")
			e.do(request{method: "PATCH", path: "/passkeys/" + id, contentType: ctJSON, body: `{"name":"Phone"}`, bearer: alice}).want(t, 200, "")
			l := e.loginBegin()
			e.wantPasskeyLogin(e.loginFinish(finishJSON(l.str("ceremony"), get(t, key, l), "")), aliceID)
			key.BadSignature = true
			e.passkeyLogin(key).wantRefused(t, false)
			key.BadSignature = false
			stranger := e.authenticator()
			create(t, stranger, e.registerBegin(alice))
			e.passkeyLogin(stranger).wantRefused(t, true)
			e.do(request{method: "DELETE", path: "/passkeys/" + id, bearer: alice}).want(t, 204, "")
			logs := e.logs.String()
			who := " user_id=" + aliceID + " username=alice client_addr=127.0.0.1"
			for _, want := range []string{
				"level=INFO msg=audit event=passkey_added" + who,
				"level=INFO msg=audit event=passkey_renamed" + who,
				"level=INFO msg=audit event=passkey_used" + who,
				"level=WARN msg=audit event=passkey_refused" + who + " reason=verification",
				"level=WARN msg=audit event=passkey_refused client_addr=127.0.0.1 reason=unknown_credential",
				"level=INFO msg=audit event=passkey_removed" + who,
			} {
				if !strings.Contains(logs, want+"\n") {
					t.Errorf("no log line %q", want)
				}
			}
			for _, secret := range []string{b.str("ceremony"), fmt.Sprint(b.publicKey()["challenge"]), l.str("ceremony"), fmt.Sprint(l.publicKey()["challenge"])} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds a ceremony or challenge %q", secret)
				}
			}
		})
	}
}

// TestE2EPasskeyAccountRecovery: an account made with a passkey has no
// password until a reset gives it one; then its password opens it, its
// passkey still does, and its last passkey may go. An administrator's
// deletion takes an account's passkeys along.
func TestE2EPasskeyAccountRecovery(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			// Mailed links start with testPublicURL, an https origin: the
			// relying party is its host.
			e := passkeyEnv(t, db(t), envOptions{smtp: true, vars: map[string]string{"AUTH_PUBLIC_URL": testPublicURL}})
			key := e.authenticator()
			r := e.passkeySignup(key, "carol", "carol@example.com")
			r.want(t, 201, "")
			carol := r.str("access_token")
			carolID := r.body["user"].(map[string]any)["id"].(string)
			e.tokenReq("grant_type", "password", "username", "carol", "password", "carol's new password").want(t, 400, "invalid_grant")
			e.post("/password/forgot", `{"email":"carol@example.com"}`, "").wantAccepted(t)
			var token string
			for token == "" {
				path, tok := e.nextLink("carol@example.com")
				if path == "/reset-password" {
					token = tok
				}
			}
			e.post("/password/reset", `{"token":"`+token+`","new_password":"carol's new password"}`, "").want(t, 204, "")
			e.me(carol).want(t, 401, "invalid_token")
			access, _ := e.login("carol", "carol's new password")
			if c := claims(t, access); fmt.Sprint(c["amr"]) != "[pwd]" {
				t.Fatalf("a password login's amr %v", c["amr"])
			}
			e.clock.Advance(time.Second)
			e.wantPasskeyLogin(e.passkeyLogin(key), carolID)
			only := e.passkeys(access).list()[0]["id"].(string)
			e.do(request{method: "DELETE", path: "/passkeys/" + only, bearer: access}).want(t, 204, "")
			e.passkeyLogin(key).wantRefused(t, true)

			// An administrator deletes a passkey-only account.
			e.signup("root", "root's long password")
			e.admin("root")
			root, _ := e.login("root", "root's long password")
			daveKey := e.authenticator()
			r = e.passkeySignup(daveKey, "dave", "")
			r.want(t, 201, "")
			dave := r.body["user"].(map[string]any)["id"].(string)
			e.do(request{method: "DELETE", path: "/admin/users/" + dave, bearer: root}).want(t, 204, "")
			e.passkeyLogin(daveKey).wantRefused(t, true)
			e.me(r.str("access_token")).want(t, 401, "invalid_token")
		})
	}
}

// TestE2EPasskeyOpenAPI: with passkeys on, /openapi.json documents their
// routes, and stays valid OpenAPI 3.1; with passkeys off, it does not
// document routes the server does not mount.
func TestE2EPasskeyOpenAPI(t *testing.T) {
	paths := map[string][]string{
		"/passkeys/register/begin": {"POST"}, "/passkeys/register/finish": {"POST"}, "/passkeys/login/begin": {"POST"},
		"/passkeys/login/finish": {"POST"}, "/session/passkey": {"POST"}, "/passkeys/signup/begin": {"POST"},
		"/passkeys/signup/finish": {"POST"}, "/passkeys": {"GET"}, "/passkeys/{id}": {"PATCH", "DELETE"},
	}
	for _, on := range []bool{true, false} {
		var e *env
		if on {
			e = passkeyEnv(t, "memory", envOptions{})
		} else {
			e = newEnv(t, envOptions{db: "memory"})
		}
		r := e.do(request{method: "GET", path: "/openapi.json"})
		r.want(t, 200, "")
		doc, err := openapi3.NewLoader().LoadFromData([]byte(r.raw))
		if err != nil {
			t.Fatalf("kin-openapi cannot load the document: %v", err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("passkeys on %t: the document is not valid OpenAPI: %v", on, err)
		}
		for path, methods := range paths {
			item := doc.Paths.Value(path)
			if !on {
				if item != nil {
					t.Errorf("passkeys off, yet %s is documented", path)
				}
				continue
			}
			if item == nil {
				t.Errorf("%s is not documented", path)
				continue
			}
			for _, m := range methods {
				if item.GetOperation(m) == nil {
					t.Errorf("%s %s is not documented", m, path)
				}
			}
		}
	}
}

// TestE2EPasskeyOnlySecondFactor: an account without a password manages
// its second factor with a recent passkey login (auth_time less than 5
// minutes ago) instead of a password, and its passkey logins never ask
// for the code.
func TestE2EPasskeyOnlySecondFactor(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{})
			key := e.authenticator()
			r := e.passkeySignup(key, "carol", "")
			r.want(t, 201, "")
			carolID := r.body["user"].(map[string]any)["id"].(string)
			fresh := r.str("access_token")
			e.clock.Advance(5*time.Minute + time.Second)
			e.post("/mfa/totp", `{}`, fresh).want(t, 401, "insufficient_user_authentication")
			r = e.passkeyLogin(key)
			e.wantPasskeyLogin(r, carolID)
			fresh = r.str("access_token")
			r = e.post("/mfa/totp", `{}`, fresh)
			r.want(t, 200, "")
			secret := r.str("secret")
			e.guard.secret(secret)
			e.post("/mfa/totp/confirm", `{"code":"`+e.totpCode(secret, 0)+`"}`, fresh).want(t, 200, "")
			if s := e.do(request{method: "GET", path: "/mfa", bearer: fresh}); s.raw != `{"totp":true,"recovery_codes_left":10,"passkeys":1}`+"\n" {
				t.Fatalf("GET /mfa: %s", s.raw)
			}
			e.clock.Advance(time.Minute)
			r = e.passkeyLogin(key)
			e.wantPasskeyLogin(r, carolID)
			e.post("/mfa/recovery-codes", `{}`, r.str("access_token")).want(t, 200, "")
			e.clock.Advance(5*time.Minute + time.Second)
			e.post("/mfa/recovery-codes", `{}`, r.str("access_token")).want(t, 401, "insufficient_user_authentication")
		})
	}
}

// TestE2EPasskeyBadSettings: a bad passkey setting stops start-up with one
// line naming it, in the server's words, before the data directory is
// touched (as TestBadSettings and TestStartupMessages check the others).
func TestE2EPasskeyBadSettings(t *testing.T) {
	local := "http://localhost:8080"
	for _, c := range []struct {
		name    string
		env     map[string]string
		setting string
		also    string
	}{
		{"relying party an IP address", map[string]string{"AUTH_PASSKEY_RP_ID": "127.0.0.1"}, "AUTH_PASSKEY_RP_ID", "IP address"},
		{"relying party in upper case", map[string]string{"AUTH_PASSKEY_RP_ID": "Example.com", "AUTH_PUBLIC_URL": "https://example.com"}, "AUTH_PASSKEY_RP_ID", ""},
		{"relying party not the public URL's", map[string]string{"AUTH_PASSKEY_RP_ID": "example.com", "AUTH_PUBLIC_URL": "https://auth.example.org"}, "AUTH_PASSKEY_RP_ID", "auth.example.org"},
		{"ceremony TTL not a duration", map[string]string{"AUTH_PASSKEY_CEREMONY_TTL": "5 minutes", "AUTH_PUBLIC_URL": local}, "AUTH_PASSKEY_CEREMONY_TTL", ""},
		{"ceremony TTL too long", map[string]string{"AUTH_PASSKEY_CEREMONY_TTL": "2h", "AUTH_PUBLIC_URL": local}, "AUTH_PASSKEY_CEREMONY_TTL", "1h"},
		{"ceremony TTL negative", map[string]string{"AUTH_PASSKEY_CEREMONY_TTL": "-1m", "AUTH_PUBLIC_URL": local}, "AUTH_PASSKEY_CEREMONY_TTL", ""},
		{"relying party name too long", map[string]string{"AUTH_PASSKEY_RP_NAME": strings.Repeat("n", 65), "AUTH_PUBLIC_URL": local}, "AUTH_PASSKEY_RP_NAME", "64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			dir := filepath.Join(t.TempDir(), "data")
			code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", "memory", "-data", dir},
				func(k string) string { return c.env[k] }, &out)
			var lines []string
			for l := range strings.Lines(out.String()) {
				if !strings.Contains(l, "level=INFO") {
					lines = append(lines, l)
				}
			}
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "bad setting "+c.setting) || !strings.Contains(lines[0], c.also) {
				t.Fatalf("exit %d, output:\n%s\nwant exit 2 and one line naming %s", code, out.String(), c.setting)
			}
			if strings.Contains(lines[0], "Config.") {
				t.Errorf("the message uses the library's names, not the server's: %s", lines[0])
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the data directory was created before the settings were checked")
			}
		})
	}
}

// TestE2EPasskeyHTTPPublicHost: a public URL of http on a host name other
// than localhost (a server on a LAN, or behind a proxy that the operator
// has not yet given TLS) is a setting the contract allows, and was one
// before passkeys: the server starts, and serves password logins.
// (Browsers offer WebAuthn only to secure contexts, so passkeys cannot
// work there; off, with a log line, is what the IP address case does.)
func TestE2EPasskeyHTTPPublicHost(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory", vars: map[string]string{"AUTH_PUBLIC_URL": "http://auth.example.test:8080"}})
	e.signup("alice", "alice's long password")
	e.login("alice", "alice's long password")
}

// TestE2EPasskeyFamiliar: a passkey sign-in is a successful sign-in: its
// client address becomes familiar to the account, so that once others
// have spent the account's budget of failures over all addresses, the
// owner's password still works from there (and from nowhere new).
func TestE2EPasskeyFamiliar(t *testing.T) {
	for name, db := range passkeyStores(t) {
		t.Run(name, func(t *testing.T) {
			e := passkeyEnv(t, db(t), envOptions{addressLimits: true, proxies: "127.0.0.1, ::1"})
			aliceID := e.signup("alice", "alice's long password")
			alice, _ := e.login("alice", "alice's long password")
			key := e.authenticator()
			e.addPasskey(key, alice, "")
			home := from("198.51.100.7")
			b := e.loginBegin()
			e.wantPasskeyLogin(e.do(request{method: "POST", path: "/passkeys/login/finish", contentType: ctJSON, header: home,
				body: finishJSON(b.str("ceremony"), get(t, key, b), "")}), aliceID)
			password := func(h http.Header, pw string) resp {
				return e.do(request{method: "POST", path: "/token", contentType: ctForm, header: h,
					body: formBody("username", "alice", "password", pw)})
			}
			for i := range 20 {
				password(from(fmt.Sprintf("203.0.113.%d", i+1)), "a wrong password").want(t, 400, "invalid_grant")
			}
			password(from("192.0.2.200"), "alice's long password").want(t, 429, "too_many_attempts")
			password(home, "alice's long password").want(t, 200, "")
		})
	}
}

// TestE2EPasskeyTwoInstances: two instances of the server on one
// PostgreSQL database, behind one public URL: a ceremony begun on one is
// finished on the other (registration, login, sign-up), and a ceremony
// finished on one is spent on both.
func TestE2EPasskeyTwoInstances(t *testing.T) {
	db := pgDatabase(t)
	const public = "http://localhost:8443" // the balancer's, the same for both
	vars := map[string]string{"AUTH_PUBLIC_URL": public}
	a := newEnv(t, envOptions{db: db, vars: vars})
	b := newEnv(t, envOptions{db: db, vars: vars})
	key := passkeytest.New(public)

	// A sign-up begun on a, finished on b.
	begun := a.post("/passkeys/signup/begin", `{"username":"dora"}`, "")
	r := b.post("/passkeys/signup/finish", finishJSON(begun.str("ceremony"), create(t, key, begun), ""), "")
	r.want(t, 201, "")
	user, _ := r.body["user"].(map[string]any)
	access := r.str("access_token")

	// A registration begun on b, finished on a.
	second := passkeytest.New(public)
	begun = b.registerBegin(access)
	a.registerFinish(access, finishJSON(begun.str("ceremony"), create(t, second, begun), "")).want(t, 201, "")
	if n := len(a.passkeys(access).list()); n != 2 {
		t.Fatalf("%d passkeys after a registration across instances, want 2", n)
	}

	// A login begun on a, finished on b; the same finish again, on a, is
	// refused: the ceremony is spent for both.
	begun = a.loginBegin()
	finish := finishJSON(begun.str("ceremony"), get(t, key, begun), "")
	b.wantPasskeyLogin(b.loginFinish(finish), user["id"].(string))
	a.loginFinish(finish).wantRefused(t, false)
}
