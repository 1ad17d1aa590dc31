package authhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/store/memory"
)

// htDownStore is a Store that can be switched off: every call then fails
// with ErrStoreUnavailable.
type htDownStore struct {
	*memory.Store
	down atomic.Bool
}

func (s *htDownStore) err() error {
	if s.down.Load() {
		return errors.Join(auth.ErrStoreUnavailable, errors.New("connection refused"))
	}
	return nil
}

func (s *htDownStore) Ping(ctx context.Context) error { return s.err() }
func (s *htDownStore) CreateUser(ctx context.Context, u *auth.User) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.CreateUser(ctx, u)
}
func (s *htDownStore) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserByID(ctx, id)
}
func (s *htDownStore) UserBySession(ctx context.Context, id, sid string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserBySession(ctx, id, sid)
}
func (s *htDownStore) UserByUsername(ctx context.Context, name string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserByUsername(ctx, name)
}
func (s *htDownStore) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserByEmail(ctx, email)
}
func (s *htDownStore) InvalidateTokens(ctx context.Context, id string, now time.Time) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.InvalidateTokens(ctx, id, now)
}
func (s *htDownStore) CreateSession(ctx context.Context, se *auth.Session) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.CreateSession(ctx, se)
}
func (s *htDownStore) TrimSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.TrimSessions(ctx, userID, keep, now)
}
func (s *htDownStore) RotateSession(ctx context.Context, r auth.Rotation) (*auth.Session, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.RotateSession(ctx, r)
}
func (s *htDownStore) RevokeSession(ctx context.Context, id string) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.RevokeSession(ctx, id)
}

type htEnv struct {
	t      testing.TB
	a      *auth.Authenticator
	h      *Handlers
	store  *htDownStore
	router *Router
}

var htSecret = []byte("handler-tests-secret-0123456789abcdef")

func newHTEnv(t testing.TB, hasher auth.Hasher, opts Config) *htEnv {
	t.Helper()
	return newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: hasher}}, opts)
}

// newHTEnvConfig is newHTEnv with more of the Authenticator's Config: its
// Store and SecretKey are the environment's.
func newHTEnvConfig(t testing.TB, ac auth.Config, opts Config) *htEnv {
	t.Helper()
	store := &htDownStore{Store: memory.New()}
	ac.Store, ac.SecretKey = store, htSecret
	a, err := auth.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	rt := NewRouter()
	rt.Mount(h.Routes())
	return &htEnv{t: t, a: a, h: h, store: store, router: rt}
}

type htResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends one request through the router and checks what every answer
// must be: JSON unless 204, never a 5xx other than 503, never a redirect,
// never a hash or the secret.
// login returns an access token of username.
func (e *htEnv) login(t *testing.T, name, password string) (access, refresh string) {
	t.Helper()
	r := e.do("POST", "/token", "application/x-www-form-urlencoded", "username="+name+"&password="+password, "")
	r.wantStatus(t, 200)
	return r.body["access_token"].(string), r.body["refresh_token"].(string)
}

func (e *htEnv) do(method, target, contentType, body, bearer string) htResp {
	e.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:1234"
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, r)
	res := htResp{status: w.Code, header: w.Header(), raw: w.Body.String()}
	htCheckAnswer(e.t, method, res.status, res.header, w.Body.Bytes())
	if res.raw != "" {
		_ = json.Unmarshal(w.Body.Bytes(), &res.body)
	}
	return res
}

func htCheckAnswer(t testing.TB, method string, status int, h http.Header, body []byte) {
	t.Helper()
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		t.Fatalf("%s answered %d: %s", method, status, body)
	case status >= 300 && status < 400:
		t.Fatalf("%s answered a redirect %d", method, status)
	case status == http.StatusNoContent:
		if len(body) != 0 {
			t.Fatalf("204 with a body %q", body)
		}
	case status == http.StatusOK && strings.HasPrefix(h.Get("Content-Type"), "text/"):
		// A page of a mailed link, or its script or style.
		if !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none';") || h.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("a page without its policies: %v", h)
		}
	default:
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%d with Content-Type %q", status, ct)
		}
		if method != http.MethodHead && !json.Valid(body) {
			t.Fatalf("%d with a body that is not JSON: %q", status, body)
		}
	}
	for _, secret := range []string{authtest.PlainHashPrefix, "$argon2id$", "$2a$", "$2b$", string(htSecret)} {
		if bytes.Contains(body, []byte(secret)) {
			t.Fatalf("answer %d leaks %q: %s", status, secret, body)
		}
	}
}

func (r htResp) wantError(t testing.TB, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

const htForm = "application/x-www-form-urlencoded"
const htJSON = "application/json"

func htFormBody(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestHandlersTokenEndpoint(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"Alice","password":"correct horse"}`, "").wantStatus(t, 201)

	// grant_type omitted means password.
	ok := e.do("POST", "/token", htForm, htFormBody("username", "alice", "password", "correct horse"), "")
	ok.wantStatus(t, 200)
	if ok.header.Get("Cache-Control") != "no-store" || ok.body["token_type"] != "bearer" ||
		ok.body["expires_in"] != float64(900) || ok.body["access_token"] == nil || ok.body["refresh_token"] == nil {
		t.Fatalf("token answer %v %s", ok.header, ok.raw)
	}
	if len(ok.body) != 4 {
		t.Fatalf("token answer has other members: %s", ok.raw)
	}
	e.do("POST", "/token", "application/x-www-form-urlencoded; charset=UTF-8",
		htFormBody("grant_type", "password", "username", "ＡＬＩＣＥ", "password", "correct horse"), "").wantStatus(t, 200)

	unknown := e.do("POST", "/token", htForm, htFormBody("grant_type", "password", "username", "nobody", "password", "correct horse"), "")
	wrong := e.do("POST", "/token", htForm, htFormBody("grant_type", "password", "username", "alice", "password", "wrong horse"), "")
	unknown.wantError(t, 400, "invalid_grant")
	if unknown.raw != wrong.raw || unknown.status != wrong.status {
		t.Fatalf("unknown user %q and wrong password %q differ", unknown.raw, wrong.raw)
	}

	for _, c := range []struct {
		ct, body, code string
	}{
		{htJSON, `{"username":"alice","password":"correct horse"}`, "invalid_request"},
		{"", htFormBody("username", "alice", "password", "x"), "invalid_request"},
		{htForm, htFormBody("username", "alice"), "invalid_request"},
		{htForm, htFormBody("username", "alice", "password", ""), "invalid_request"},
		{htForm, "username=alice&password=a&password=b", "invalid_request"},
		{htForm, "grant_type=password&grant_type=password&username=alice&password=correct+horse", "invalid_request"},
		{htForm, htFormBody("grant_type", "refresh_token"), "invalid_request"},
		{htForm, htFormBody("grant_type", "client_credentials"), "unsupported_grant_type"},
		{htForm, htFormBody("grant_type", "PASSWORD", "username", "alice", "password", "correct horse"), "unsupported_grant_type"},
		{htForm, htFormBody("grant_type", "refresh_token", "refresh_token", "garbage"), "invalid_grant"},
		{htForm, htFormBody("grant_type", "refresh_token", "refresh_token", ok.body["access_token"].(string)), "invalid_grant"},
	} {
		e.do("POST", "/token", c.ct, c.body, "").wantError(t, 400, c.code)
	}
	// The query string is never read.
	e.do("POST", "/token?username=alice&password=correct+horse", htForm, "", "").wantError(t, 400, "invalid_request")

	// Refresh rotates; the spent token coming back revokes the family.
	rt1 := ok.body["refresh_token"].(string)
	r2 := e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", rt1), "")
	r2.wantStatus(t, 200)
	rt2 := r2.body["refresh_token"].(string)
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", rt1), "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", rt2), "").wantError(t, 400, "invalid_grant")

	// Too many failures: 429 with Retry-After.
	var last htResp
	for range 6 {
		last = e.do("POST", "/token", htForm, htFormBody("username", "alice", "password", "guess guess"), "")
	}
	last.wantError(t, 429, "too_many_attempts")
	if last.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func (r htResp) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.raw, status)
	}
}

func TestHandlersSignup(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	created := e.do("POST", "/signup", "application/json; charset=utf-8", `{"username":" Bob ","password":"correct horse","email":"bob@example.com","extra":[1]}`, "")
	created.wantStatus(t, 201)
	if created.body["username"] != "bob" || created.body["email"] != "bob@example.com" || created.body["id"] == "" {
		t.Fatalf("signup answer %s", created.raw)
	}
	if _, err := time.Parse(time.RFC3339, created.body["created_at"].(string)); err != nil {
		t.Fatalf("created_at: %v", err)
	}
	if created.body["email_verified"] != false || len(created.body) != 5 {
		t.Fatalf("signup answer has other members: %s", created.raw)
	}
	noEmail := e.do("POST", "/signup", htJSON, `{"username":"carol","password":"correct horse","email":null}`, "")
	noEmail.wantStatus(t, 201)
	if v, ok := noEmail.body["email"]; !ok || v != nil {
		t.Fatalf("email without one: %s", noEmail.raw)
	}
	for _, c := range []struct {
		ct, body string
		status   int
		code     string
	}{
		{htJSON, `{"username":"BOB","password":"correct horse"}`, 409, "user_exists"},
		{htJSON, `{"username":"ｂｏｂ","password":"correct horse"}`, 409, "user_exists"},
		{htJSON, `{"username":"bо","password":"correct horse"}`, 422, "invalid_username"},
		{htJSON, `{"username":"bоb","password":"correct horse"}`, 422, "invalid_username"}, // Cyrillic о
		{htJSON, `{"username":"dave","password":"short"}`, 422, "invalid_password"},
		{htJSON, `{"username":"dave","password":"Password1"}`, 422, "invalid_password"},
		{htJSON, `{"username":"dave","password":"nul\u0000inside"}`, 422, "invalid_password"},
		{htJSON, `{"username":"dave","password":"` + strings.Repeat("x", 1025) + `"}`, 422, "invalid_password"},
		{htJSON, `{"username":"dave","password":"correct horse","email":"not an email"}`, 422, "invalid_email"},
		{htJSON, `{"username":"dave","password":"correct horse","email":"dave@[127.0.0.1]"}`, 422, "invalid_email"},
		{htJSON, `{"username":"dave","password":"correct horse","email":"\"dave\"@example.com"}`, 422, "invalid_email"},
		{htJSON, `{"username":"dave","password":"correct horse","email":"da\u202eve@example.com"}`, 422, "invalid_email"},
		{htJSON, `{"username":"dave","password":"correct horse","email":"=?utf-8?q?dave?=@example.com"}`, 422, "invalid_email"},
		{htJSON, `{"username":"dave","password":"correct horse","email":"dave%evil.example@example.com"}`, 422, "invalid_email"},
		{htJSON, `{"username":"dave","password":"correct horse","email":5}`, 400, "invalid_request"},
		{htJSON, `{"Username":"dave","Password":"correct horse"}`, 400, "invalid_request"},
		{htJSON, `{"username":"dave","username":"eve","password":"correct horse"}`, 400, "invalid_request"},
		{htJSON, `{"username":"dave","password":"correct horse\ud800"}`, 400, "invalid_request"},
		{htJSON, `{"username":"dave"}`, 400, "invalid_request"},
		{htJSON, `{"username":"dave","password":null}`, 400, "invalid_request"},
		{htJSON, `{"username":1,"password":"correct horse"}`, 400, "invalid_request"},
		{htJSON, `["dave","correct horse"]`, 400, "invalid_request"},
		{htJSON, `not json`, 400, "invalid_request"},
		{htJSON, ``, 400, "invalid_request"},
		{htForm, htFormBody("username", "dave", "password", "correct horse"), 400, "invalid_request"},
		{"text/plain", `{"username":"dave","password":"correct horse"}`, 400, "invalid_request"},
		{htJSON, `{"username":"dave","password":"` + strings.Repeat("x", 100<<10) + `"}`, 413, "request_too_large"},
	} {
		e.do("POST", "/signup", c.ct, c.body, "").wantError(t, c.status, c.code)
	}
}

func TestHandlersAuthenticated(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
	login := func(password string) (access, refresh string) {
		t.Helper()
		r := e.do("POST", "/token", htForm, htFormBody("username", "alice", "password", password), "")
		r.wantStatus(t, 200)
		return r.body["access_token"].(string), r.body["refresh_token"].(string)
	}
	access, refresh := login("correct horse")

	me := e.do("GET", "/users/me", "", "", access)
	me.wantStatus(t, 200)
	if me.body["username"] != "alice" {
		t.Fatalf("/users/me %s", me.raw)
	}
	if e.do("HEAD", "/users/me", "", "", access).status != 200 {
		t.Fatal("HEAD /users/me")
	}
	anon := e.do("GET", "/users/me", "", "", "")
	anon.wantError(t, 401, "unauthorized")
	if got := anon.header.Get("WWW-Authenticate"); got != `Bearer realm="goauthkit"` {
		t.Fatalf("challenge %q", got)
	}
	bad := e.do("GET", "/users/me", "", "", refresh)
	bad.wantError(t, 401, "invalid_token")
	if !strings.Contains(bad.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("challenge %q", bad.header.Get("WWW-Authenticate"))
	}

	// Password change.
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"current_password":"wrong horse","new_password":"battery staple"}`, 400, "invalid_grant"},
		{`{"current_password":"correct horse","new_password":"short"}`, 422, "invalid_password"},
		{`{"current_password":"correct horse"}`, 400, "invalid_request"},
		{`{"current_password":"correct horse","new_password":7}`, 400, "invalid_request"},
	} {
		e.do("POST", "/users/me/password", htJSON, c.body, access).wantError(t, c.status, c.code)
	}
	e.do("POST", "/users/me/password", htJSON, `{"current_password":"correct horse","new_password":"battery staple"}`, "").wantError(t, 401, "unauthorized")
	e.do("POST", "/users/me/password", htJSON, `{"current_password":"correct horse","new_password":"battery staple"}`, access).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", refresh), "").wantError(t, 400, "invalid_grant")
	access, refresh = login("battery staple")

	// Logout: 204 whatever the token; form or JSON.
	e.do("POST", "/logout", htForm, htFormBody("refresh_token", "not-a-token"), "").wantStatus(t, 204)
	e.do("POST", "/logout", htJSON, `{"refresh_token":"not-a-token"}`, "").wantStatus(t, 204)
	e.do("POST", "/logout", htForm, "", "").wantError(t, 400, "invalid_request")
	e.do("POST", "/logout", htJSON, `{}`, "").wantError(t, 400, "invalid_request")
	e.do("POST", "/logout", htJSON, `{"refresh_token":1}`, "").wantError(t, 400, "invalid_request")
	e.do("POST", "/logout", "text/plain", "refresh_token=x", "").wantError(t, 400, "invalid_request")
	e.do("POST", "/logout", htJSON, `{"refresh_token":"`+refresh+`"}`, "").wantStatus(t, 204)
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", refresh), "").wantError(t, 400, "invalid_grant")
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token") // /logout ends the family's access tokens

	// RFC 7009's name for the token; both names must agree.
	access, refresh = login("battery staple")
	e.do("POST", "/logout", htForm, htFormBody("refresh_token", refresh, "token", "another"), "").wantError(t, 400, "invalid_request")
	e.do("POST", "/logout", htJSON, `{"token":1}`, "").wantError(t, 400, "invalid_request")
	e.do("GET", "/users/me", "", "", access).wantStatus(t, 200)
	e.do("POST", "/logout", htForm, htFormBody("token", refresh), "").wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
	access, refresh = login("battery staple")
	e.do("POST", "/logout", htJSON, `{"token":"`+refresh+`","refresh_token":"`+refresh+`"}`, "").wantStatus(t, 204)
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", refresh), "").wantError(t, 400, "invalid_grant")
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")

	// Logout-all ends access tokens at once.
	access, _ = login("battery staple")
	_, refresh2 := login("battery staple")
	e.do("POST", "/logout/all", "", "", access).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", refresh2), "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/logout/all", "", "", "").wantError(t, 401, "unauthorized")

	// Two Authorization headers.
	r := httptest.NewRequest("GET", "/users/me", nil)
	r.Header.Add("Authorization", "Bearer "+access)
	r.Header.Add("Authorization", "Bearer "+access)
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_request") {
		t.Fatalf("two Authorization headers: %d %s", w.Code, w.Body)
	}
}

func TestHandlersStoreDown(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
	tok := e.do("POST", "/token", htForm, htFormBody("username", "alice", "password", "correct horse"), "")
	access, refresh := tok.body["access_token"].(string), tok.body["refresh_token"].(string)
	health := e.do("GET", "/healthz", "", "", "")
	if health.status != 200 || health.body["status"] != "ok" {
		t.Fatalf("healthz %d %s", health.status, health.raw)
	}

	e.store.down.Store(true)
	for _, c := range []struct{ method, path, ct, body, bearer string }{
		{"GET", "/healthz", "", "", ""},
		{"POST", "/signup", htJSON, `{"username":"bob","password":"correct horse"}`, ""},
		{"POST", "/token", htForm, htFormBody("username", "alice", "password", "correct horse"), ""},
		{"POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", refresh), ""},
		{"POST", "/logout", htForm, htFormBody("refresh_token", refresh), ""},
		{"POST", "/logout/all", "", "", access},
		{"GET", "/users/me", "", "", access},
		{"POST", "/users/me/password", htJSON, `{"current_password":"correct horse","new_password":"battery staple"}`, access},
	} {
		e.do(c.method, c.path, c.ct, c.body, c.bearer).wantError(t, 503, "temporarily_unavailable")
	}
	// A store failure at login is not a guess: no 429 afterwards.
	e.store.down.Store(false)
	e.do("POST", "/token", htForm, htFormBody("username", "alice", "password", "correct horse"), "").wantStatus(t, 200)
}

func TestHandlersTimeout(t *testing.T) {
	// One hashing slot, held by a login whose password check blocks: the
	// next request waits Timeout for the slot, then gets 503.
	store := memory.New()
	hasher := &htBlockingHasher{entered: make(chan struct{}, 1), release: make(chan struct{})}
	a, err := auth.New(auth.Config{Store: store, SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: hasher, MaxConcurrentHashes: 1}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(a, Config{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		_, err := a.Login(context.Background(), auth.Credentials{Username: "bob", Password: "correct horse"})
		held <- err
	}()
	<-hasher.entered
	defer func() { close(hasher.release); <-held }()
	r := httptest.NewRequest("POST", "/token", strings.NewReader(htFormBody("username", "alice", "password", "correct horse")))
	r.Header.Set("Content-Type", htForm)
	w := httptest.NewRecorder()
	h.Token().ServeHTTP(w, r)
	if w.Code != 503 || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

// htBlockingHasher is authtest.PlainHasher whose Verify waits for release.
type htBlockingHasher struct {
	authtest.PlainHasher
	entered, release chan struct{}
}

func (h *htBlockingHasher) Verify(p, encoded string) error {
	h.entered <- struct{}{}
	<-h.release
	return h.PlainHasher.Verify(p, encoded)
}

func TestNewOptions(t *testing.T) {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("nil Authenticator accepted")
	}
	if _, err := New(a, Config{TrustedProxies: []netip.Prefix{{}}}); err == nil || !strings.Contains(err.Error(), "TrustedProxies[0]") {
		t.Errorf("invalid prefix: %v", err)
	}
	if _, err := New(a, Config{Timeout: -1}); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("negative timeout: %v", err)
	}
}

func TestHandlersMethods(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	served := map[string][]string{} // the methods of each path
	for _, route := range e.h.Routes() {
		served[route.Path] = append(served[route.Path], route.Method)
	}
	for _, route := range e.h.Routes() {
		other := "DELETE"
		if slices.Contains(served[route.Path], other) {
			other = "PUT"
		}
		w := httptest.NewRecorder()
		// Straight to the handler: it checks its method even when mounted
		// on a bare path.
		route.Handler.ServeHTTP(w, httptest.NewRequest(other, route.Path, nil))
		if w.Code != 405 || w.Header().Get("Allow") == "" || !strings.Contains(w.Body.String(), "method_not_allowed") {
			t.Errorf("%s %s straight: %d %q %s", other, route.Path, w.Code, w.Header().Get("Allow"), w.Body)
		}
		e.do(other, route.Path, "", "", "").wantError(t, 405, "method_not_allowed")
	}
}

func TestClientAddr(t *testing.T) {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := New(a, Config{})
	proxied, _ := New(a, Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
	}})
	for _, c := range []struct {
		h      *Handlers
		remote string
		xff    []string
		want   string
	}{
		{direct, "198.51.100.7:5555", nil, "198.51.100.7"},
		{direct, "198.51.100.7:5555", []string{"203.0.113.9"}, "198.51.100.7"},
		{direct, "10.0.0.1:5555", []string{"203.0.113.9"}, "10.0.0.1"},
		{direct, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{direct, "[2001:db8:1:2:ffff::1]:443", nil, "2001:db8:1:2::/64"},
		{direct, "[::ffff:198.51.100.7]:1", nil, "198.51.100.7"},
		{direct, "[fe80::1%eth0]:1", nil, "fe80::/64"},
		{direct, "@", nil, "@"},
		{direct, "", nil, ""},
		{proxied, "198.51.100.7:5555", []string{"203.0.113.9"}, "198.51.100.7"},
		{proxied, "10.0.0.1:5555", nil, "10.0.0.1"},
		{proxied, "10.0.0.1:5555", []string{"203.0.113.9"}, "203.0.113.9"},
		{proxied, "10.0.0.1:5555", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{proxied, "10.0.0.1:5555", []string{"203.0.113.9, 10.2.2.2"}, "203.0.113.9"},
		{proxied, "10.0.0.1:5555", []string{"1.1.1.1", "203.0.113.9,10.2.2.2"}, "203.0.113.9"},
		{proxied, "10.0.0.1:5555", []string{"1.1.1.1", "10.3.3.3", " 10.2.2.2 "}, "1.1.1.1"},
		{proxied, "10.0.0.1:5555", []string{"203.0.113.9:8080"}, "203.0.113.9"},
		{proxied, "10.0.0.1:5555", []string{"[2001:db8::1]:8080"}, "2001:db8::/64"},
		{proxied, "10.0.0.1:5555", []string{"unknown, 10.2.2.2"}, "10.2.2.2"},
		{proxied, "10.0.0.1:5555", []string{"203.0.113.9, garbage"}, "10.0.0.1"},
		{proxied, "10.0.0.1:5555", []string{"10.9.9.9"}, "10.9.9.9"},
		{proxied, "10.0.0.1:5555", []string{""}, "10.0.0.1"},
		{proxied, "[fd00::1]:5555", []string{"203.0.113.9"}, "203.0.113.9"},
		{proxied, "[::ffff:10.0.0.1]:5555", []string{"203.0.113.9"}, "203.0.113.9"},
	} {
		r := httptest.NewRequest("POST", "/token", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.h.ClientAddr(r); got != c.want {
			t.Errorf("ClientAddr(%q, %q, proxies %v) = %q, want %q", c.remote, c.xff, len(c.h.proxies) > 0, got, c.want)
		}
	}
}

// FuzzClientAddr checks ClientAddr: it never panics, an untrusted peer is
// always the answer whatever X-Forwarded-For says, and the answer is an
// address or a /64 prefix (or the RemoteAddr itself when that is not an IP).
func FuzzClientAddr(f *testing.F) {
	mustHaveSeedCorpus(f, 6)
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		f.Fatal(err)
	}
	h, _ := New(a, Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
	}})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		for line := range strings.SplitSeq(xff, "\n") {
			r.Header.Add("X-Forwarded-For", line)
		}
		got := h.ClientAddr(r)
		peer, ok := parseHop(remote)
		if !ok {
			if got != remote {
				t.Fatalf("RemoteAddr %q is not an IP, got %q", remote, got)
			}
			return
		}
		if !h.trusted(peer) && got != limiterKey(peer) {
			t.Fatalf("untrusted peer %q: got %q", remote, got)
		}
		if _, err := netip.ParseAddr(got); err != nil {
			if p, err := netip.ParsePrefix(got); err != nil || p.Bits() != 64 {
				t.Fatalf("ClientAddr = %q: neither an address nor a /64", got)
			}
		}
	})
}

// FuzzHandlers sends arbitrary requests through every handler: no answer
// may be a 500, a redirect, something other than JSON (but 204), or hold a
// hash or the secret; a valid token and a user exist, so the fuzzer can
// reach the authenticated paths.
func FuzzHandlers(f *testing.F) {
	mustHaveSeedCorpus(f, 10)
	e := newHTEnv(f, authtest.PlainHasher{}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(f, 201)
	tok := e.do("POST", "/token", htForm, htFormBody("username", "alice", "password", "correct horse"), "")
	access := tok.body["access_token"].(string)
	f.Fuzz(func(t *testing.T, method, target, contentType string, body []byte, withToken bool) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		r, err := http.NewRequest(method, "http://example.com"+target, bytes.NewReader(body))
		if err != nil {
			return // not a request a server could receive
		}
		r.RemoteAddr = "192.0.2.1:1234"
		r.RequestURI = target
		r.Header.Set("Content-Type", contentType)
		if withToken {
			r.Header.Set("Authorization", "Bearer "+access)
		}
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, r)
		htCheckAnswer(t, method, w.Code, w.Header(), w.Body.Bytes())
	})
}

// blockingStore's UserByID waits for its context to end, as a hung database
// would.
type blockingStore struct{ *memory.Store }

func (s blockingStore) UserByID(ctx context.Context, id string) (*auth.User, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s blockingStore) UserBySession(ctx context.Context, id, sid string) (*auth.User, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestHandlersTimeoutStore checks that the request deadline reaches a store
// call that waits on it (the deadline's timer is armed only then): GET
// /users/me over a hung store answers 503 after Timeout.
func TestHandlersTimeoutStore(t *testing.T) {
	mem := memory.New()
	a, err := auth.New(auth.Config{Store: blockingStore{mem}, SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(a, Config{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Register(context.Background(), auth.NewUser{Username: "alice", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	p, err := a.Login(context.Background(), auth.Credentials{Username: "alice", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/users/me", nil)
	r.Header.Set("Authorization", "Bearer "+p.AccessToken)
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { defer close(done); h.Me().ServeHTTP(w, r) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("GET /users/me over a hung store did not end at the handlers' Timeout")
	}
	if w.Code != 503 || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

// TestWriteUser: the hand-written encoding of a user is what encoding/json
// writes for the same fields.
func TestWriteUser(t *testing.T) {
	created := time.Date(2026, 12, 1, 20, 14, 19, 123456000, time.FixedZone("X", 3600))
	for _, u := range []*auth.User{
		{ID: "0b5a7c1e-1234-4abc-8def-0123456789ab", Username: "alice", CreatedAt: created},
		{ID: "id", Username: "bob", Email: "bob@example.com", CreatedAt: created},
		{ID: "id", Username: "bob", Email: "bob@example.com", EmailVerified: true, CreatedAt: created},
		{ID: "i\"d<>&", Username: "c\u2028\x00\xff", Email: "é@ex\\ample.com", CreatedAt: time.Unix(0, 0)},
	} {
		want, err := json.Marshal(struct {
			ID        string  `json:"id"`
			Username  string  `json:"username"`
			Email     *string `json:"email"`
			Verified  bool    `json:"email_verified"`
			CreatedAt string  `json:"created_at"`
		}{u.ID, u.Username, map[bool]*string{true: nil, false: &u.Email}[u.Email == ""], u.EmailVerified, u.CreatedAt.UTC().Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		writeUser(w, 200, u)
		if got := w.Body.String(); got != string(want)+"\n" {
			t.Errorf("writeUser = %s, encoding/json writes %s", got, want)
		}
		if w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", w.Header())
		}
	}
}
