package passkeyhttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/passkey"
	"github.com/goauthkit/auth/passkey/passkeytest"
	"github.com/goauthkit/auth/store/memory"
)

// origin is the page's origin the authenticator reports: the relying
// party is localhost, whatever address the test server listens on.
const origin = "http://localhost:8080"

// TestAnswer: each error of package passkey has the HTTP contract's
// answer, wrapped or not; "unknown_credential" is a member of the unknown
// credential's answer only; the core's errors are left to authhttp's
// table.
func TestAnswer(t *testing.T) {
	for _, tt := range []struct {
		err     error
		status  int
		code    string
		unknown bool
	}{
		{passkey.ErrUnknownCredential, http.StatusBadRequest, "invalid_grant", true},
		{passkey.ErrInvalidCredential, http.StatusBadRequest, "invalid_grant", false},
		{passkey.ErrInvalidCeremony, http.StatusBadRequest, "invalid_grant", false},
		{passkey.ErrLastCredential, http.StatusConflict, "last_credential", false},
		{passkey.ErrInvalidName, http.StatusBadRequest, "invalid_request", false},
		{passkey.ErrTooMany, http.StatusConflict, "too_many_passkeys", false},
		{auth.ErrInvalidCredentials, 0, "", false},
		{auth.ErrUserDisabled, 0, "", false},
		{auth.ErrNotFound, 0, "", false},
		{&auth.RateLimitError{}, 0, "", false},
	} {
		for _, err := range []error{tt.err, fmt.Errorf("wrapped: %w", tt.err)} {
			p := answer(err)
			switch {
			case tt.status == 0 && p != nil:
				t.Errorf("%v: answered %+v, want the table's", err, p)
			case tt.status != 0 && (p == nil || p.Status != tt.status || p.Code != tt.code || p.Description == ""):
				t.Errorf("%v: %+v, want %d %s", err, p, tt.status, tt.code)
			case p != nil && (p.Members["unknown_credential"] == true) != tt.unknown:
				t.Errorf("%v: members %v", err, p.Members)
			}
		}
	}
}

// newRouter mounts the core's routes and the passkeys' on a memory store.
func newRouter(t *testing.T) (*auth.Authenticator, []authhttp.Route, http.Handler) {
	t.Helper()
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("passkeyhttp-tests-secret-0123456789abcdef"),
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := passkey.New(a, passkey.Config{RPID: "localhost", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	routes := New(h, p).Routes()
	router := authhttp.NewRouter()
	router.Mount(h.Routes())
	router.Mount(routes)
	return a, routes, router
}

// TestRoutes: every route is described (Routes panics otherwise) at the
// contract's method and path, and the whole document builds with the
// core's.
func TestRoutes(t *testing.T) {
	_, routes, _ := newRouter(t)
	want := []string{"POST /passkeys/register/begin", "POST /passkeys/register/finish", "POST /passkeys/login/begin",
		"POST /passkeys/login/finish", "POST /session/passkey", "POST /passkeys/signup/begin", "POST /passkeys/signup/finish",
		"GET /passkeys", "PATCH /passkeys/{id}", "DELETE /passkeys/{id}"}
	if len(routes) != len(want) {
		t.Fatalf("%d routes, want %d", len(routes), len(want))
	}
	for i, r := range routes {
		if r.Method+" "+r.Path != want[i] || len(r.Operation) == 0 || r.Handler == nil {
			t.Errorf("route %d: %s %s (%d bytes of operation)", i, r.Method, r.Path, len(r.Operation))
		}
	}
	h, err := authhttp.New(mustAuth(t), authhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authhttp.OpenAPI(append(h.Routes(), routes...)); err != nil {
		t.Fatalf("OpenAPI: %v", err)
	}
	var doc struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(openapiSpec, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Operations) != len(want) {
		t.Errorf("openapi.json describes %d operations, the package mounts %d", len(doc.Operations), len(want))
	}
}

func mustAuth(t *testing.T) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("passkeyhttp-tests-secret-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r reply) str(name string) string { s, _ := r.body[name].(string); return s }

func (r reply) want(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s; want %d %q", r.status, r.raw, status, code)
	}
	if r.status != http.StatusNoContent && r.header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
	if code != "" && r.str("error_description") == "" {
		t.Errorf("%s without a description", code)
	}
	if _, ok := r.body["unknown_credential"]; ok && code != "invalid_grant" {
		t.Errorf("unknown_credential in %s", r.raw)
	}
}

// options is the publicKey member of a begin's answer, as JSON.
func (r reply) options(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(r.body["publicKey"])
	if err != nil || r.str("ceremony") == "" {
		t.Fatalf("a begin's answer %s", r.raw)
	}
	return b
}

type client struct {
	t   *testing.T
	srv *httptest.Server
}

func (c client) do(method, path, body, bearer string, header http.Header) reply {
	c.t.Helper()
	r, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range header {
		r.Header[k] = v
	}
	res, err := c.srv.Client().Do(r)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := reply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func finishBody(ceremony string, credential []byte, more string) string {
	return `{"ceremony":` + quote(ceremony) + `,"credential":` + string(credential) + more + `}`
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestEndpoints: each endpoint over HTTP, as the contract answers it,
// with a software authenticator: registration, login (token endpoint and
// browser session), sign-up, list, rename and removal, and the requests
// the endpoints refuse before package passkey sees them.
func TestEndpoints(t *testing.T) {
	a, _, router := newRouter(t)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	c := client{t: t, srv: srv}
	ctx := context.Background()
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "alice's long password"}); err != nil {
		t.Fatal(err)
	}
	pair, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "alice's long password"})
	if err != nil {
		t.Fatal(err)
	}
	alice := pair.AccessToken
	key := passkeytest.New(origin)

	// Registration.
	c.do("POST", "/passkeys/register/begin", "", "", nil).want(t, 401, "unauthorized")
	c.do("GET", "/passkeys/register/begin", "", alice, nil).want(t, 405, "method_not_allowed")
	begun := c.do("POST", "/passkeys/register/begin", "", alice, nil)
	begun.want(t, 200, "")
	cred, err := key.Create(begun.options(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`not json`, `{}`, `[]`,
		`{"credential":` + string(cred) + `}`,
		`{"ceremony":"","credential":` + string(cred) + `}`,
		`{"ceremony":7,"credential":` + string(cred) + `}`,
		`{"ceremony":"x"}`,
		`{"ceremony":"x","credential":"` + base64.RawURLEncoding.EncodeToString(cred) + `"}`,
		`{"ceremony":"x","credential":[1]}`,
		finishBody(begun.str("ceremony"), cred, `,"name":7`),
		finishBody(begun.str("ceremony"), cred, `,"name":""`),
		finishBody(begun.str("ceremony"), cred, `,"name":"`+strings.Repeat("n", 65)+`"`),
		`{"ceremony":"x","ceremony":"y","credential":` + string(cred) + `}`,
	} {
		c.do("POST", "/passkeys/register/finish", bad, alice, nil).want(t, 400, "invalid_request")
	}
	r := c.do("POST", "/passkeys/register/finish", finishBody(begun.str("ceremony"), cred, `,"name":"Phone"`), alice, nil)
	r.want(t, 201, "")
	var created passkeyBody
	if err := json.Unmarshal([]byte(r.raw), &created); err != nil || created.Name != "Phone" || created.ID == "" ||
		created.CreatedAt.IsZero() || created.LastUsedAt != nil || !strings.Contains(r.raw, `"last_used_at":null`) {
		t.Fatalf("registered %s", r.raw)
	}
	c.do("POST", "/passkeys/register/finish", finishBody(begun.str("ceremony"), cred, ""), alice, nil).want(t, 400, "invalid_grant")

	// Login, at the token endpoint's and the browser's.
	login := func(path string, header http.Header) reply {
		t.Helper()
		b := c.do("POST", "/passkeys/login/begin", "", "", nil)
		b.want(t, 200, "")
		cred, err := key.Get(b.options(t))
		if err != nil {
			t.Fatal(err)
		}
		return c.do("POST", path, finishBody(b.str("ceremony"), cred, ""), "", header)
	}
	r = login("/passkeys/login/finish", nil)
	r.want(t, 200, "")
	if r.header.Get("Cache-Control") != "no-store" || r.str("token_type") != "bearer" || r.str("refresh_token") == "" {
		t.Fatalf("login: %v %s", r.header, r.raw)
	}
	_, claims, err := a.Authenticate(ctx, r.str("access_token"))
	if err != nil || strings.Join(claims.Methods, ",") != "pop,mfa" {
		t.Fatalf("the login's claims: %+v, %v", claims, err)
	}
	r = login("/session/passkey", http.Header{"Sec-Fetch-Site": {"same-origin"}})
	r.want(t, 200, "")
	if r.str("refresh_token") != "" || !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), authhttp.SessionCookieName+"=") {
		t.Fatalf("POST /session/passkey: %v %s", r.header, r.raw)
	}
	login("/session/passkey", http.Header{"Sec-Fetch-Site": {"cross-site"}}).want(t, 403, "forbidden")
	key.BadSignature = true
	r = login("/passkeys/login/finish", nil)
	r.want(t, 400, "invalid_grant")
	if _, ok := r.body["unknown_credential"]; ok {
		t.Fatalf("a bad signature: %s", r.raw)
	}
	key.BadSignature = false
	stranger := passkeytest.New(origin)
	if _, err := stranger.Create(begun.options(t)); err != nil { // never finished
		t.Fatal(err)
	}
	b := c.do("POST", "/passkeys/login/begin", "", "", nil)
	unknown, err := stranger.Get(b.options(t))
	if err != nil {
		t.Fatal(err)
	}
	r = c.do("POST", "/passkeys/login/finish", finishBody(b.str("ceremony"), unknown, ""), "", nil)
	r.want(t, 400, "invalid_grant")
	if r.body["unknown_credential"] != true {
		t.Fatalf("an unknown credential: %s", r.raw)
	}
	c.do("POST", "/passkeys/login/finish", `{"ceremony":"x"}`, "", nil).want(t, 400, "invalid_request")

	// Sign-up.
	c.do("POST", "/passkeys/signup/begin", `{}`, "", nil).want(t, 400, "invalid_request")
	c.do("POST", "/passkeys/signup/begin", `{"username":5}`, "", nil).want(t, 400, "invalid_request")
	c.do("POST", "/passkeys/signup/begin", `{"username":"carol","email":5}`, "", nil).want(t, 400, "invalid_request")
	c.do("POST", "/passkeys/signup/begin", `{"username":"Alice"}`, "", nil).want(t, 409, "user_exists")
	c.do("POST", "/passkeys/signup/begin", `{"username":"x"}`, "", nil).want(t, 422, "invalid_username")
	c.do("POST", "/passkeys/signup/begin", `{"username":"carol","email":"nope"}`, "", nil).want(t, 422, "invalid_email")
	b = c.do("POST", "/passkeys/signup/begin", `{"username":"carol","email":"carol@example.com"}`, "", nil)
	b.want(t, 200, "")
	carolKey := passkeytest.New(origin)
	cred, err = carolKey.Create(b.options(t))
	if err != nil {
		t.Fatal(err)
	}
	r = c.do("POST", "/passkeys/signup/finish", finishBody(b.str("ceremony"), cred, ""), "", nil)
	r.want(t, 201, "")
	user, _ := r.body["user"].(map[string]any)
	if r.header.Get("Cache-Control") != "no-store" || user["username"] != "carol" || user["email"] != "carol@example.com" ||
		r.str("access_token") == "" || r.str("refresh_token") == "" || r.str("token_type") != "bearer" {
		t.Fatalf("sign-up: %v %s", r.header, r.raw)
	}
	carol := r.str("access_token")
	if _, err := a.Login(ctx, auth.Credentials{Username: "carol", Password: "any password at all"}); err == nil {
		t.Fatal("a passkey account logged in without a password")
	}

	// List, rename, remove.
	c.do("GET", "/passkeys", "", "", nil).want(t, 401, "unauthorized")
	r = c.do("GET", "/passkeys", "", carol, nil)
	r.want(t, 200, "")
	keys, _ := r.body["passkeys"].([]any)
	handle, err := base64.RawURLEncoding.Strict().DecodeString(r.str("user_handle"))
	if len(keys) != 1 || err != nil || len(handle) < 16 {
		t.Fatalf("GET /passkeys: %s", r.raw)
	}
	carolID := keys[0].(map[string]any)["id"].(string)
	for _, id := range []string{created.ID, "AAAA", "not base64!", strings.Repeat("A", 2000)} {
		c.do("PATCH", "/passkeys/"+id, `{"name":"mine"}`, carol, nil).want(t, 404, "not_found")
		c.do("DELETE", "/passkeys/"+id, "", carol, nil).want(t, 404, "not_found")
	}
	for _, bad := range []string{`{}`, `{"name":null}`, `{"name":1}`, `{"name":""}`, `{"name":"a\u0000b"}`, `{"name":"` + strings.Repeat("é", 65) + `"}`, `x`} {
		c.do("PATCH", "/passkeys/"+carolID, bad, carol, nil).want(t, 400, "invalid_request")
	}
	r = c.do("PATCH", "/passkeys/"+carolID, `{"name":"`+strings.Repeat("é", 64)+`"}`, carol, nil)
	r.want(t, 200, "")
	if r.str("name") != strings.Repeat("é", 64) || r.str("id") != carolID {
		t.Fatalf("renamed: %s", r.raw)
	}
	c.do("DELETE", "/passkeys/"+carolID, "", carol, nil).want(t, 409, "last_credential")
	c.do("DELETE", "/passkeys/"+created.ID, "", alice, nil).want(t, 204, "")
	c.do("DELETE", "/passkeys/"+created.ID, "", alice, nil).want(t, 404, "not_found")
}

// TestTooMany: a user with as many passkeys as the Config allows is
// answered 409 too_many_passkeys.
func TestTooMany(t *testing.T) {
	a := mustAuth(t)
	p, err := passkey.New(a, passkey.Config{RPID: "localhost", Origins: []string{origin}, MaxPerUser: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	router := authhttp.NewRouter()
	router.Mount(h.Routes())
	router.Mount(New(h, p).Routes())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	c := client{t: t, srv: srv}
	b := c.do("POST", "/passkeys/signup/begin", `{"username":"dave"}`, "", nil)
	b.want(t, 200, "")
	cred, err := passkeytest.New(origin).Create(b.options(t))
	if err != nil {
		t.Fatal(err)
	}
	r := c.do("POST", "/passkeys/signup/finish", finishBody(b.str("ceremony"), cred, ""), "", nil)
	r.want(t, 201, "")
	c.do("POST", "/passkeys/register/begin", "", r.str("access_token"), nil).want(t, 409, "too_many_passkeys")
}
