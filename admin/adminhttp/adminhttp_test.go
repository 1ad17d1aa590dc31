package adminhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/store/memory"
)

var testSecret = []byte("adminhttp-tests-secret-0123456789abcdef")

// downStore is store/memory's Store (an admin.UserLister) that can be
// switched off: with down, the reads of the users that authentication
// makes fail too, with adminDown only the calls of package admin
// (ChangeUser, ListUsers, and those of creating and deleting an account),
// after the caller is authenticated; both with auth.ErrStoreUnavailable.
type downStore struct {
	*memory.Store
	down, adminDown atomic.Bool
}

var _ admin.UserLister = (*downStore)(nil)

func (s *downStore) err(adminCall bool) error {
	if s.down.Load() || adminCall && s.adminDown.Load() {
		return errors.Join(auth.ErrStoreUnavailable, errors.New("connection refused"))
	}
	return nil
}

func (s *downStore) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if err := s.err(false); err != nil {
		return nil, err
	}
	return s.Store.UserByID(ctx, id)
}

func (s *downStore) UserBySession(ctx context.Context, id, sid string) (*auth.User, error) {
	if err := s.err(false); err != nil {
		return nil, err
	}
	return s.Store.UserBySession(ctx, id, sid)
}

func (s *downStore) ChangeUser(ctx context.Context, id string, c auth.UserChange) (*auth.User, error) {
	if err := s.err(true); err != nil {
		return nil, err
	}
	return s.Store.ChangeUser(ctx, id, c)
}

func (s *downStore) UserByUsername(ctx context.Context, name string) (*auth.User, error) {
	if err := s.err(true); err != nil {
		return nil, err
	}
	return s.Store.UserByUsername(ctx, name)
}

func (s *downStore) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if err := s.err(true); err != nil {
		return nil, err
	}
	return s.Store.UserByEmail(ctx, email)
}

func (s *downStore) CreateUser(ctx context.Context, u *auth.User) error {
	if err := s.err(true); err != nil {
		return err
	}
	return s.Store.CreateUser(ctx, u)
}

func (s *downStore) DeleteUser(ctx context.Context, id string) error {
	if err := s.err(true); err != nil {
		return err
	}
	return s.Store.DeleteUser(ctx, id)
}

func (s *downStore) ListUsers(ctx context.Context, after string, limit int) ([]*auth.User, error) {
	if err := s.err(true); err != nil {
		return nil, err
	}
	return s.Store.ListUsers(ctx, after, limit)
}

// env is a service as a real one mounts the admin endpoints: an
// Authenticator on a memory store that a test may switch off (or on one
// that cannot list users), its authhttp.Handlers, and this package's routes
// beside them in one authhttp.Router, behind an httptest server.
type env struct {
	t      testing.TB
	a      *auth.Authenticator
	h      *authhttp.Handlers
	x      *Handlers
	store  *downStore // nil with noLister
	events *authtest.Events
	srv    *httptest.Server
	client *http.Client
	// documented is, for each route of this package, the statuses its
	// Operation documents: every answer do sees must be one of them.
	documented map[string]map[int]bool
}

// envConfig is what a test changes of env's defaults.
type envConfig struct {
	// noLister puts the Authenticator on a memory store that is not an
	// admin.UserLister (instead of a downStore).
	noLister bool
	// trustLoopback makes the server's clients (on the loopback) trusted
	// proxies, whose X-Forwarded-For names the client.
	trustLoopback bool
}

func newEnv(t testing.TB) *env { return newEnvConfig(t, envConfig{}) }

func newEnvConfig(t testing.TB, c envConfig) *env {
	t.Helper()
	e := &env{t: t, events: &authtest.Events{}}
	var store auth.Store = struct{ auth.Store }{memory.New()}
	if !c.noLister {
		e.store = &downStore{Store: memory.New()}
		store = e.store
	}
	a, err := auth.New(auth.Config{
		Store: store, SecretKey: testSecret,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
		OnEvent:   e.events.Add,
	})
	if err != nil {
		t.Fatal(err)
	}
	var hc authhttp.Config
	if c.trustLoopback {
		hc.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	h, err := authhttp.New(a, hc)
	if err != nil {
		t.Fatal(err)
	}
	e.a, e.h, e.x = a, h, New(h, admin.New(a))
	rt := authhttp.NewRouter()
	rt.Mount(h.Routes())
	routes := e.x.Routes()
	rt.Mount(routes)
	e.documented = make(map[string]map[int]bool)
	for _, r := range routes {
		e.documented[r.Method+" "+r.Path] = documentedStatuses(t, r.Operation)
	}
	e.srv = httptest.NewServer(rt)
	t.Cleanup(e.srv.Close)
	e.client = e.srv.Client()
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e
}

// documentedStatuses returns the statuses of an Operation's responses.
func documentedStatuses(t testing.TB, op json.RawMessage) map[int]bool {
	t.Helper()
	var o struct {
		Responses map[string]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(op, &o); err != nil {
		t.Fatalf("an Operation that is not a JSON object: %v: %s", err, op)
	}
	statuses := make(map[int]bool)
	for code := range o.Responses {
		var status int
		if _, err := fmt.Sscanf(code, "%d", &status); err != nil || fmt.Sprint(status) != code {
			t.Fatalf("a response that is not a status: %q", code)
		}
		statuses[status] = true
	}
	return statuses
}

// routeOf returns the route of this package that serves method and path,
// or "".
func routeOf(method, path string) string {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if path == "/admin/users" {
		return method + " /admin/users"
	}
	rest, ok := strings.CutPrefix(path, "/admin/users/")
	if !ok || rest == "" {
		return ""
	}
	switch id, tail, _ := strings.Cut(rest, "/"); {
	case id != "" && tail == "":
		return method + " /admin/users/{id}"
	case id != "" && tail == "logout":
		return method + " /admin/users/{id}/logout"
	}
	return ""
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

const jsonType = "application/json"

// do sends one request to the service and checks what every answer must
// be (see check).
func (e *env) do(method, target, contentType, body, bearer string) resp {
	e.t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+target, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.send(r)
}

// send is do with a request of the test's own.
func (e *env) send(r *http.Request) resp {
	e.t.Helper()
	w, err := e.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer w.Body.Close()
	raw, err := io.ReadAll(w.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	res := resp{status: w.StatusCode, header: w.Header, raw: string(raw)}
	e.check(r, res)
	if res.raw != "" {
		_ = json.Unmarshal(raw, &res.body)
	}
	return res
}

// check fails the test for an answer that no endpoint may give: a 5xx other
// than 503, a redirect, a 204 with a body, anything else that is not JSON,
// an answer that holds a hash or the secret, or one that the route's
// Operation does not document.
func (e *env) check(r *http.Request, res resp) {
	e.t.Helper()
	method, status, h, body := r.Method, res.status, res.header, []byte(res.raw)
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		e.t.Fatalf("%s %s answered %d: %s", method, r.URL.Path, status, body)
	case status >= 300 && status < 400:
		e.t.Fatalf("%s %s answered a redirect %d", method, r.URL.Path, status)
	case status == http.StatusNoContent:
		if len(body) != 0 {
			e.t.Fatalf("204 with a body %q", body)
		}
	default:
		if ct := h.Get("Content-Type"); ct != jsonType {
			e.t.Fatalf("%d with Content-Type %q", status, ct)
		}
		if method != http.MethodHead && !json.Valid(body) {
			e.t.Fatalf("%d with a body that is not JSON: %q", status, body)
		}
	}
	for _, secret := range []string{authtest.PlainHashPrefix, "password_hash", string(testSecret)} {
		if bytes.Contains(body, []byte(secret)) {
			e.t.Fatalf("answer %d leaks %q: %s", status, secret, body)
		}
	}
	if doc, ok := e.documented[routeOf(method, r.URL.EscapedPath())]; ok && !doc[status] {
		e.t.Errorf("%s %s answered %d, which its Operation does not document", method, r.URL.Path, status)
	}
}

func (r resp) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.raw, status)
	}
}

func (r resp) wantError(t testing.TB, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

// signup makes the account name (with email, if not "") and returns its id.
func (e *env) signup(t testing.TB, name, email string) string {
	t.Helper()
	body, err := json.Marshal(map[string]string{"username": name, "password": "correct horse", "email": email})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/signup", jsonType, string(body), "")
	r.wantStatus(t, 201)
	return r.body["id"].(string)
}

// login returns an access token of name.
func (e *env) login(t testing.TB, name string) string {
	t.Helper()
	r := e.do("POST", "/token", "application/x-www-form-urlencoded", "username="+name+"&password=correct+horse", "")
	r.wantStatus(t, 200)
	return r.body["access_token"].(string)
}

// makeAdmin gives the account id admin.Role, as a tool on the server does.
func (e *env) makeAdmin(t testing.TB, id string) {
	t.Helper()
	if _, err := admin.New(e.a).UpdateUser(context.Background(), id, admin.Update{Roles: &[]string{admin.Role}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
}

// wantUser fails unless v is a user as the admin endpoints show one:
// exactly its members, of their types, and no more.
func wantUser(t testing.TB, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("a user that is not an object: %v", v)
	}
	want := []string{"created_at", "disabled", "email", "email_verified", "id", "roles", "username"}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Fatalf("a user with the members %v, want %v", got, want)
	}
	_, idOK := m["id"].(string)
	_, nameOK := m["username"].(string)
	_, verifiedOK := m["email_verified"].(bool)
	_, disabledOK := m["disabled"].(bool)
	roles, rolesOK := m["roles"].([]any)
	if !idOK || !nameOK || !verifiedOK || !disabledOK || !rolesOK {
		t.Fatalf("a user with members of the wrong type: %v", m)
	}
	for _, r := range roles {
		if _, ok := r.(string); !ok {
			t.Fatalf("a role that is not a string: %v", m)
		}
	}
	if email := m["email"]; email != nil {
		if _, ok := email.(string); !ok {
			t.Fatalf("an email that is neither null nor a string: %v", m)
		}
	}
	created, _ := m["created_at"].(string)
	if ts, err := time.Parse(time.RFC3339, created); err != nil || ts.Location() != time.UTC || time.Since(ts) > time.Hour {
		t.Fatalf("created_at %q: %v", created, err)
	}
	return m
}

func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t)
	ids := map[string]string{}
	for i := range 7 {
		n := fmt.Sprintf("user%d", i)
		ids[n] = e.signup(t, n, "")
	}
	e.makeAdmin(t, ids["user0"])
	root := e.login(t, "user0")
	user := e.login(t, "user1")

	for _, c := range []struct{ method, path, body string }{
		{"GET", "/admin/users", ""},
		{"PATCH", "/admin/users/" + ids["user2"], `{"disabled":true}`},
		{"POST", "/admin/users/" + ids["user2"] + "/logout", ""},
	} {
		ct := ""
		if c.body != "" {
			ct = jsonType
		}
		r := e.do(c.method, c.path, ct, c.body, user)
		r.wantError(t, 403, "insufficient_scope")
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope", scope="admin"` {
			t.Errorf("%s %s: WWW-Authenticate %q", c.method, c.path, got)
		}
		r = e.do(c.method, c.path, ct, c.body, "")
		r.wantError(t, 401, "unauthorized")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s without a token: WWW-Authenticate %q", c.method, c.path, r.header.Get("WWW-Authenticate"))
		}
		e.do(c.method, c.path, ct, c.body, "not-a-token").wantError(t, 401, "invalid_token")
		// More than one Authorization header, even an admin's, is refused.
		req, err := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Add("Authorization", "Bearer "+root)
		req.Header.Add("Authorization", "Bearer "+root)
		e.send(req).wantError(t, 400, "invalid_request")
	}
	// The non-admin's refused changes made none.
	if u, err := e.a.Store().UserByID(context.Background(), ids["user2"]); err != nil || u.Disabled {
		t.Fatalf("user2 after refused changes: %v %v", u, err)
	}

	// Paging: every user once, stable.
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		target := "/admin/users?limit=3"
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		r := e.do("GET", target, "", "", root)
		r.wantStatus(t, 200)
		if got := slices.Sorted(maps.Keys(r.body)); !slices.Equal(got, []string{"next_cursor", "users"}) {
			t.Fatalf("a page with the members %v", got)
		}
		users := r.body["users"].([]any)
		if want := []int{3, 3, 1}; page >= len(want) || len(users) != want[page] {
			t.Fatalf("page %d: %s", page, r.raw)
		}
		for _, u := range users {
			m := wantUser(t, u)
			name := m["username"].(string)
			if seen[name] || m["id"] != ids[name] {
				t.Fatalf("user %v listed again, or with another id", m)
			}
			seen[name] = true
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			if v, ok := r.body["next_cursor"]; !ok || v != nil || page != 2 {
				t.Fatalf("last page %d: %s", page, r.raw)
			}
			break
		}
		cursor = next
	}
	if len(seen) != 7 {
		t.Fatalf("listed %v", seen)
	}
	if r := e.do("GET", "/admin/users", "", "", root); len(r.body["users"].([]any)) != 7 || r.body["next_cursor"] != nil {
		t.Fatalf("the default limit: %s", r.raw)
	}
	if r := e.do("HEAD", "/admin/users", "", "", root); r.status != 200 || r.raw != "" {
		t.Fatalf("HEAD: %d %q", r.status, r.raw)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "limit=-1", "limit=1.5", "limit=1&limit=2", "limit=3&limit=3",
		"cursor=a&cursor=a", "cursor=!!", "cursor=" + strings.Repeat("A", 1000), "cursor=AA", "limit=%zz", "cursor=%"} {
		e.do("GET", "/admin/users?"+q, "", "", root).wantError(t, 400, "invalid_request")
	}
	e.do("GET", "/admin/users?limit=500&other=1", "", "", root).wantStatus(t, 200)

	// Disable: the user's tokens end at once, and logins are refused.
	r := e.do("PATCH", "/admin/users/"+ids["user1"], jsonType, `{"disabled":true}`, root)
	r.wantStatus(t, 200)
	if m := wantUser(t, r.body); m["disabled"] != true || m["username"] != "user1" || m["id"] != ids["user1"] {
		t.Fatalf("patch %s", r.raw)
	}
	e.do("GET", "/users/me", "", "", user).wantError(t, 401, "invalid_token")
	e.do("POST", "/token", "application/x-www-form-urlencoded", "username=user1&password=correct+horse", "").wantError(t, 400, "invalid_grant")
	r = e.do("PATCH", "/admin/users/"+ids["user1"], jsonType, `{"disabled":false,"roles":["editor","audit:read","editor"]}`, root)
	r.wantStatus(t, 200)
	if m := wantUser(t, r.body); m["disabled"] != false || fmt.Sprint(m["roles"]) != "[audit:read editor]" {
		t.Fatalf("patch %s", r.raw)
	}
	e.login(t, "user1")
	for _, body := range []string{`{}`, `{"disabled":null}`, `{"disabled":"yes"}`, `{"roles":"admin"}`, `{"roles":[1]}`, `{"roles":["Admin"]}`, `{"roles":[""]}`,
		`{"roles":["` + strings.Repeat("a", 65) + `"]}`, `{"disabled":true,"disabled":false}`, `[]`, `{"disabled":true} {}`, ``} {
		e.do("PATCH", "/admin/users/"+ids["user1"], jsonType, body, root).wantError(t, 400, "invalid_request")
	}
	e.do("PATCH", "/admin/users/"+ids["user1"], "text/plain", `{"disabled":true}`, root).wantError(t, 400, "invalid_request")
	if u, err := e.a.Store().UserByID(context.Background(), ids["user1"]); err != nil || u.Disabled || strings.Join(u.Roles, ",") != "audit:read,editor" {
		t.Fatalf("user1 after refused changes: %v %v", u, err)
	}
	// An unknown id is the path's 404, not the caller's token revoked.
	for _, id := range []string{"nobody", "%E2%82%AC", "a%20b"} {
		e.do("PATCH", "/admin/users/"+id, jsonType, `{"disabled":true}`, root).wantError(t, 404, "not_found")
		e.do("POST", "/admin/users/"+id+"/logout", "", "", root).wantError(t, 404, "not_found")
	}
	e.do("GET", "/admin/users", "", "", root).wantStatus(t, 200)

	// Logout: every session of that user, at once.
	other := e.login(t, "user3")
	e.do("POST", "/admin/users/"+ids["user3"]+"/logout", "", "", root).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", other).wantError(t, 401, "invalid_token")
	e.do("GET", "/users/me", "", "", root).wantStatus(t, 200)
	e.login(t, "user3")

	// The last enabled admin can be neither demoted nor disabled (v3).
	for _, body := range []string{`{"roles":[]}`, `{"disabled":true}`, `{"disabled":true,"roles":["admin"]}`, `{"roles":["editor"]}`} {
		e.do("PATCH", "/admin/users/"+ids["user0"], jsonType, body, root).wantError(t, 409, "last_admin")
	}
	e.do("GET", "/admin/users", "", "", root).wantStatus(t, 200)
	// But logged out: the admin's own token ends too.
	e.do("POST", "/admin/users/"+ids["user0"]+"/logout", "", "", root).wantStatus(t, 204)
	e.do("GET", "/admin/users", "", "", root).wantError(t, 401, "invalid_token")
	root = e.login(t, "user0")

	// With another admin, an admin who loses the role loses the endpoints
	// at once.
	e.do("PATCH", "/admin/users/"+ids["user4"], jsonType, `{"roles":["admin"]}`, root).wantStatus(t, 200)
	e.do("PATCH", "/admin/users/"+ids["user0"], jsonType, `{"roles":[]}`, root).wantStatus(t, 200)
	e.do("GET", "/admin/users", "", "", root).wantError(t, 403, "insufficient_scope")
}

// TestAdminUserShape: a user as the admin endpoints show it, with an
// email and without.
func TestAdminUserShape(t *testing.T) {
	e := newEnv(t)
	rootID := e.signup(t, "root", "")
	aliceID := e.signup(t, "alice", " Alice@Example.COM ")
	e.makeAdmin(t, rootID)
	root := e.login(t, "root")
	r := e.do("GET", "/admin/users", "", "", root)
	r.wantStatus(t, 200)
	byName := map[string]map[string]any{}
	for _, u := range r.body["users"].([]any) {
		m := wantUser(t, u)
		byName[m["username"].(string)] = m
	}
	if m := byName["root"]; m["id"] != rootID || m["email"] != nil || m["email_verified"] != false || m["disabled"] != false || fmt.Sprint(m["roles"]) != "[admin]" {
		t.Errorf("root: %v", m)
	}
	if m := byName["alice"]; m["id"] != aliceID || m["email"] != "alice@example.com" || m["email_verified"] != false || fmt.Sprint(m["roles"]) != "[]" {
		t.Errorf("alice: %v", m)
	}
	r = e.do("PATCH", "/admin/users/"+aliceID, jsonType, `{"roles":[]}`, root)
	r.wantStatus(t, 200)
	if m := wantUser(t, r.body); m["email"] != "alice@example.com" || !strings.Contains(r.raw, `"roles":[]`) {
		t.Errorf("alice: %s", r.raw)
	}
}

// TestAdminWithoutUserLister: with a store that cannot list users (not an
// admin.UserLister), the list answers 404 not_found, and the other admin
// endpoints work.
func TestAdminWithoutUserLister(t *testing.T) {
	e := newEnvConfig(t, envConfig{noLister: true})
	ids := map[string]string{}
	for _, n := range []string{"root", "carol"} {
		ids[n] = e.signup(t, n, "")
	}
	e.makeAdmin(t, ids["root"])
	root := e.login(t, "root")
	e.do("GET", "/admin/users", "", "", root).wantError(t, 404, "not_found")
	e.do("PATCH", "/admin/users/"+ids["carol"], jsonType, `{"disabled":true}`, root).wantStatus(t, 200)
	e.do("POST", "/admin/users/"+ids["carol"]+"/logout", "", "", root).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", root).wantStatus(t, 200)
	// Nor can it delete accounts (not an auth.UserDeleter): as a service
	// that does not offer it.
	e.do("DELETE", "/admin/users/"+ids["carol"], "", "", root).wantError(t, 404, "not_found")
	e.do("POST", "/admin/users", jsonType, `{"username":"dave"}`, root).wantStatus(t, 201)
}

// TestAdminCreateAndDelete: an administrator creates accounts, with a
// password or without (which then no password opens), checked as a signup
// is; and deletes them: their tokens end at once and their names are free
// again; never the last enabled administrator.
func TestAdminCreateAndDelete(t *testing.T) {
	e := newEnv(t)
	rootID := e.signup(t, "root", "")
	e.makeAdmin(t, rootID)
	root := e.login(t, "root")

	r := e.do("POST", "/admin/users", jsonType, `{"username":" Carol ","email":"Carol@Example.com","password":"correct horse","roles":["ops","ops"]}`, root)
	r.wantStatus(t, 201)
	carol := wantUser(t, r.body)
	if carol["username"] != "carol" || carol["email"] != "carol@example.com" || carol["disabled"] != false || fmt.Sprint(carol["roles"]) != "[ops]" {
		t.Fatalf("created %s", r.raw)
	}
	carolToken := e.login(t, "carol")
	r = e.do("POST", "/admin/users", jsonType, `{"username":"dave","password":null,"email":null}`, root)
	r.wantStatus(t, 201)
	dave := wantUser(t, r.body)
	e.do("POST", "/token", "application/x-www-form-urlencoded", "username=dave&password=correct+horse", "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/admin/users", jsonType, `{"username":"erin","password":""}`, root).wantStatus(t, 201)
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"username":"CAROL"}`, 409, "user_exists"},
		{`{"username":"carol@example.com"}`, 409, "user_exists"},
		{`{"username":"frank","email":"carol@example.com"}`, 409, "email_exists"},
		{`{"username":"fr"}`, 422, "invalid_username"},
		{`{"username":"frank","password":"password1"}`, 422, "invalid_password"},
		{`{"username":"frank","email":"frank@localhost"}`, 422, "invalid_email"},
		{`{"username":"frank","roles":["Admin"]}`, 400, "invalid_request"},
		{`{"username":"frank","roles":"ops"}`, 400, "invalid_request"},
		{`{"username":"frank","password":7}`, 400, "invalid_request"},
		{`{"username":"frank","email":7}`, 400, "invalid_request"},
		{`{"username":7}`, 400, "invalid_request"},
		{`{}`, 400, "invalid_request"},
		{`{"username":"frank","username":"frank"}`, 400, "invalid_request"},
	} {
		e.do("POST", "/admin/users", jsonType, c.body, root).wantError(t, c.status, c.code)
	}
	e.do("POST", "/admin/users", jsonType, `{"username":"frank"}`, carolToken).wantError(t, 403, "insufficient_scope")
	if _, err := e.a.Store().UserByUsername(context.Background(), "frank"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a refused creation made frank: %v", err)
	}

	// Deletion: at once, and the name is free again.
	e.do("DELETE", "/admin/users/"+carol["id"].(string), "", "", carolToken).wantError(t, 403, "insufficient_scope")
	e.do("DELETE", "/admin/users/"+carol["id"].(string), "", "", root).wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", carolToken).wantError(t, 401, "invalid_token")
	e.do("DELETE", "/admin/users/"+carol["id"].(string), "", "", root).wantError(t, 404, "not_found")
	e.do("POST", "/admin/users", jsonType, `{"username":"carol","email":"carol@example.com"}`, root).wantStatus(t, 201)
	e.do("DELETE", "/admin/users/"+dave["id"].(string), "", "", root).wantStatus(t, 204)
	// Never the last enabled administrator, the caller included; with
	// another, an administrator may delete their own account.
	e.do("DELETE", "/admin/users/"+rootID, "", "", root).wantError(t, 409, "last_admin")
	e.do("GET", "/admin/users", "", "", root).wantStatus(t, 200)
	r = e.do("POST", "/admin/users", jsonType, `{"username":"second","password":"correct horse","roles":["admin"]}`, root)
	r.wantStatus(t, 201)
	second := e.login(t, "second")
	e.do("DELETE", "/admin/users/"+rootID, "", "", root).wantStatus(t, 204)
	e.do("GET", "/admin/users", "", "", root).wantError(t, 401, "invalid_token")
	e.do("DELETE", "/admin/users/"+r.body["id"].(string), "", "", second).wantError(t, 409, "last_admin")
}

// TestStoreDown: a store that fails, when the caller is authenticated or
// after, is 503 temporarily_unavailable on every endpoint.
func TestStoreDown(t *testing.T) {
	for _, all := range []bool{false, true} {
		e := newEnv(t)
		rootID := e.signup(t, "root", "")
		aliceID := e.signup(t, "alice", "")
		e.makeAdmin(t, rootID)
		root := e.login(t, "root")
		if all {
			e.store.down.Store(true)
		} else {
			e.store.adminDown.Store(true)
		}
		e.do("GET", "/admin/users", "", "", root).wantError(t, 503, "temporarily_unavailable")
		e.do("PATCH", "/admin/users/"+aliceID, jsonType, `{"disabled":true}`, root).wantError(t, 503, "temporarily_unavailable")
		e.do("POST", "/admin/users/"+aliceID+"/logout", "", "", root).wantError(t, 503, "temporarily_unavailable")
		e.store.down.Store(false)
		e.store.adminDown.Store(false)
		e.do("GET", "/admin/users", "", "", root).wantStatus(t, 200)
	}
}

// TestEventsHoldClientAddr: every event of an administrator's change made
// through the endpoints names the request's client (here, as a trusted
// proxy tells it) and the acting administrator.
func TestEventsHoldClientAddr(t *testing.T) {
	e := newEnvConfig(t, envConfig{trustLoopback: true})
	rootID := e.signup(t, "root", "")
	aliceID := e.signup(t, "alice", "")
	e.makeAdmin(t, rootID)
	root := e.login(t, "root")
	e.login(t, "alice")
	e.events.Take() // the setup's, the direct UpdateUser among them

	send := func(method, path, body string) resp {
		t.Helper()
		r, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			r.Header.Set("Content-Type", jsonType)
		}
		r.Header.Set("Authorization", "Bearer "+root)
		r.Header.Set("X-Forwarded-For", "192.0.2.1")
		return e.send(r)
	}
	send("PATCH", "/admin/users/"+aliceID, `{"roles":["editor"]}`).wantStatus(t, 200)
	send("PATCH", "/admin/users/"+aliceID, `{"disabled":true}`).wantStatus(t, 200)
	send("PATCH", "/admin/users/"+aliceID, `{"disabled":false}`).wantStatus(t, 200)
	send("POST", "/admin/users/"+aliceID+"/logout", "").wantStatus(t, 204)
	bob := send("POST", "/admin/users", `{"username":"bob"}`)
	bob.wantStatus(t, 201)
	send("DELETE", "/admin/users/"+bob.body["id"].(string), "").wantStatus(t, 204)

	seen := map[auth.EventType]bool{}
	for _, ev := range e.events.Take() {
		seen[ev.Type] = true
		if ev.ClientAddr != "192.0.2.1" {
			t.Errorf("event %s has client address %q, want 192.0.2.1", ev.Type, ev.ClientAddr)
		}
		if ev.Username == "bob" {
			if ev.Actor != rootID || (ev.Type != auth.EventRegistered && ev.Type != auth.EventUserDeleted) {
				t.Errorf("event %+v: want the actor %s creating or deleting bob", ev, rootID)
			}
			continue
		}
		if ev.Actor != rootID || ev.UserID != aliceID || ev.Username != "alice" || ev.Change == "" {
			t.Errorf("event %+v: want the actor %s on alice's account, and the change", ev, rootID)
		}
	}
	for _, et := range []auth.EventType{admin.EventRolesChanged, admin.EventUserDisabled, admin.EventUserEnabled, auth.EventLogoutAll,
		auth.EventRegistered, auth.EventUserDeleted} {
		if !seen[et] {
			t.Errorf("no %s event", et)
		}
	}
}
