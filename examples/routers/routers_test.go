package routers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/admin/adminhttp"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/mfa/mfahttp"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/recovery/recoveryhttp"
	"github.com/goauthkit/auth/store/memory"
)

func TestMain(m *testing.M) {
	// gin's debug mode prints every route it is given.
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// mount is one way of serving the routes on a router: the
// authhttp.Config.PathValue it needs, if any, and the router.
type mount struct {
	name      string
	pathValue func(r *http.Request, name string) string
	router    func(routes []authhttp.Route) http.Handler
	// noValues is true of a mount that gives the handlers no path
	// values: every {id} is then an unknown one.
	noValues bool
}

// chiRouter mounts the routes as they are: chi names wildcards as the
// routes do, and sets r.PathValue.
func chiRouter(routes []authhttp.Route) http.Handler {
	r := chi.NewRouter()
	for _, rt := range routes {
		r.Method(rt.Method, rt.Path, rt.Handler)
	}
	return r
}

// ginRouter mounts the routes at their ":id" paths and copies gin's
// parameters onto the request, as authhttp's documentation shows.
func ginRouter(routes []authhttp.Route) http.Handler {
	g := gin.New()
	for _, rt := range routes {
		h := rt.Handler
		g.Handle(rt.Method, rt.ColonPath(), func(c *gin.Context) {
			for _, p := range c.Params {
				c.Request.SetPathValue(p.Key, p.Value)
			}
			h.ServeHTTP(c.Writer, c.Request)
		})
	}
	return g
}

// ginKey is the context key under which ginContextRouter keeps the
// *gin.Context of a request, for ginParam.
type ginKey struct{}

// ginContextRouter mounts the routes at their ":id" paths with the
// *gin.Context in the request's context, where ginParam, a
// Config.PathValue, finds it.
func ginContextRouter(routes []authhttp.Route) http.Handler {
	g := gin.New()
	for _, rt := range routes {
		h := rt.Handler
		g.Handle(rt.Method, rt.ColonPath(), func(c *gin.Context) {
			h.ServeHTTP(c.Writer, c.Request.WithContext(context.WithValue(c.Request.Context(), ginKey{}, c)))
		})
	}
	return g
}

func ginParam(r *http.Request, name string) string {
	if c, ok := r.Context().Value(ginKey{}).(*gin.Context); ok {
		return c.Param(name)
	}
	return ""
}

// ginBare mounts the handlers with gin.WrapH alone: no path values.
func ginBare(routes []authhttp.Route) http.Handler {
	g := gin.New()
	for _, rt := range routes {
		g.Handle(rt.Method, rt.ColonPath(), gin.WrapH(rt.Handler))
	}
	return g
}

// echoRouter mounts the routes at their ":id" paths and copies echo's
// parameters onto the request, as authhttp's documentation shows.
func echoRouter(routes []authhttp.Route) http.Handler {
	e := echo.New()
	for _, rt := range routes {
		h := rt.Handler
		e.Add(rt.Method, rt.ColonPath(), func(c echo.Context) error {
			for i, name := range c.ParamNames() {
				c.Request().SetPathValue(name, c.ParamValues()[i])
			}
			h.ServeHTTP(c.Response(), c.Request())
			return nil
		})
	}
	return e
}

// echoKey is as ginKey, for echo.
type echoKey struct{}

func echoContextRouter(routes []authhttp.Route) http.Handler {
	e := echo.New()
	for _, rt := range routes {
		h := rt.Handler
		e.Add(rt.Method, rt.ColonPath(), func(c echo.Context) error {
			h.ServeHTTP(c.Response(), c.Request().WithContext(context.WithValue(c.Request().Context(), echoKey{}, c)))
			return nil
		})
	}
	return e
}

func echoParam(r *http.Request, name string) string {
	if c, ok := r.Context().Value(echoKey{}).(echo.Context); ok {
		return c.Param(name)
	}
	return ""
}

// echoBare mounts the handlers with echo.WrapHandler alone: no path
// values.
func echoBare(routes []authhttp.Route) http.Handler {
	e := echo.New()
	for _, rt := range routes {
		e.Add(rt.Method, rt.ColonPath(), echo.WrapHandler(rt.Handler))
	}
	return e
}

var mounts = []mount{
	{name: "chi", router: chiRouter},
	{name: "chi, Config.PathValue chi.URLParam", pathValue: chi.URLParam, router: chiRouter},
	{name: "gin, parameters copied", router: ginRouter},
	{name: "gin, Config.PathValue", pathValue: ginParam, router: ginContextRouter},
	{name: "gin.WrapH, no path values", router: ginBare, noValues: true},
	{name: "echo, parameters copied", router: echoRouter},
	{name: "echo, Config.PathValue", pathValue: echoParam, router: echoContextRouter},
	{name: "echo.WrapHandler, no path values", router: echoBare, noValues: true},
	{name: "authhttp.Router", router: func(routes []authhttp.Route) http.Handler {
		rt := authhttp.NewRouter()
		rt.Mount(routes)
		return rt
	}},
}

// discardMailer sends no mail.
type discardMailer struct{}

func (discardMailer) Send(context.Context, *recovery.Message) error { return nil }

const password = "correct horse battery staple"

// service is a service with the endpoints of authhttp, recoveryhttp and
// adminhttp mounted on m's router, and two users: alice, an
// administrator, and bob.
type service struct {
	srv    *httptest.Server
	a      *auth.Authenticator
	ids    map[string]string // user name, or name of a token, to id
	tokens map[string]string // name of a token to access token
	routes []authhttp.Route  // what the router mounts
}

func newService(t *testing.T, m mount) *service {
	t.Helper()
	ctx := context.Background()
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("routers-tests-secret-0123456789abcdef"),
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recovery.New(a, recovery.Config{Mailer: discardMailer{}, PublicURL: "https://auth.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Shutdown(context.Background()) })
	h, err := authhttp.New(a, authhttp.Config{PathValue: m.pathValue})
	if err != nil {
		t.Fatal(err)
	}
	x := admin.New(a)
	routes := h.Routes()
	routes = append(routes, recoveryhttp.New(h, rec).Routes()...)
	routes = append(routes, adminhttp.New(h, x).Routes()...)
	second, err := mfa.New(a, mfa.Config{Key: []byte("routers-tests-mfa-key-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	routes = append(routes, mfahttp.New(h, second).Routes()...)
	s := &service{routes: routes, srv: httptest.NewServer(m.router(routes)), a: a, ids: map[string]string{}, tokens: map[string]string{}}
	t.Cleanup(s.srv.Close)
	for _, name := range []string{"alice", "bob"} {
		u, err := a.Register(ctx, auth.NewUser{Username: name, Password: password, Email: name + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		s.ids[name] = u.ID
	}
	if _, err := x.UpdateUser(ctx, s.ids["alice"], admin.Update{Roles: &[]string{admin.Role}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// Logins over the router, and a second one of alice's.
	for _, c := range []struct{ token, user string }{{"alice", "alice"}, {"alice2", "alice"}, {"bob", "bob"}} {
		res := s.do(t, "POST", "/token", "application/x-www-form-urlencoded",
			url.Values{"username": {c.user}, "password": {password}}.Encode(), "")
		if res.status != http.StatusOK {
			t.Fatalf("login of %s: %d %s", c.user, res.status, res.raw)
		}
		tok, _ := res.body["access_token"].(string)
		_, claims, err := a.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[c.token], s.ids[c.token+" session"] = tok, claims.SessionID
	}
	return s
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (s *service) do(t *testing.T, method, path, contentType, body, bearer string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// TestRouters runs, on every mount, the routes whose path holds an {id}
// and some that do not, in order (each step may rely on the ones before).
// A mount that gives the handlers no path values answers every {id} as an
// unknown one: 404 not_found, never 401 (the bug once seen on gin was a
// 401 "the access token is invalid").
func TestRouters(t *testing.T) {
	const jsonType = "application/json"
	steps := []struct {
		name              string
		method, path, as  string // path: {name} is s.ids[name]; as: the token's name
		contentType, body string
		status            int
		code              string // the OAuth 2.0 error, if any
		noValuesStatus    int    // without path values, if not status
		noValuesCode      string
		usesPathValue     bool
		route             string // the route's method and path, when usesPathValue
	}{
		{name: "me", method: "GET", path: "/users/me", as: "alice", status: 200},
		{name: "list of sessions", method: "GET", path: "/sessions", as: "alice", status: 200},
		{name: "forgotten password", method: "POST", path: "/password/forgot", contentType: jsonType, body: `{"email": "bob@example.com"}`, status: 202},
		{name: "list of users", method: "GET", path: "/admin/users", as: "alice", status: 200},

		{name: "revoke an unknown session", method: "DELETE", path: "/sessions/nope", as: "alice", status: 404, code: "not_found", usesPathValue: true, route: "DELETE /sessions/{id}"},
		{name: "revoke another user's session", method: "DELETE", path: "/sessions/{bob session}", as: "alice", status: 404, code: "not_found", usesPathValue: true, route: "DELETE /sessions/{id}"},
		{name: "revoke without a token", method: "DELETE", path: "/sessions/{alice2 session}", status: 401, usesPathValue: true, route: "DELETE /sessions/{id}"},
		{name: "update an unknown user", method: "PATCH", path: "/admin/users/nope", as: "alice", contentType: jsonType, body: `{"roles": []}`, status: 404, code: "not_found", usesPathValue: true, route: "PATCH /admin/users/{id}"},
		{name: "log an unknown user out", method: "POST", path: "/admin/users/nope/logout", as: "alice", status: 404, code: "not_found", usesPathValue: true, route: "POST /admin/users/{id}/logout"},
		{name: "update as a non-admin", method: "PATCH", path: "/admin/users/{alice}", as: "bob", contentType: jsonType, body: `{"disabled": true}`, status: 403, code: "insufficient_scope", usesPathValue: true, route: "PATCH /admin/users/{id}"},

		{name: "update a user", method: "PATCH", path: "/admin/users/{bob}", as: "alice", contentType: jsonType, body: `{"roles": ["editor"]}`, status: 200,
			noValuesStatus: 404, noValuesCode: "not_found", usesPathValue: true, route: "PATCH /admin/users/{id}"},
		{name: "log a user out", method: "POST", path: "/admin/users/{bob}/logout", as: "alice", status: 204,
			noValuesStatus: 404, noValuesCode: "not_found", usesPathValue: true, route: "POST /admin/users/{id}/logout"},
		{name: "the user's token after", method: "GET", path: "/users/me", as: "bob", status: 401, code: "invalid_token", noValuesStatus: 200},
		{name: "reset an unknown user's second factor", method: "DELETE", path: "/admin/users/nope/mfa", as: "alice", status: 404, code: "not_found",
			usesPathValue: true, route: "DELETE /admin/users/{id}/mfa"},
		{name: "reset a user's second factor", method: "DELETE", path: "/admin/users/{bob}/mfa", as: "alice", status: 204,
			noValuesStatus: 404, noValuesCode: "not_found", usesPathValue: true, route: "DELETE /admin/users/{id}/mfa"},
		{name: "mail a user a reset link", method: "POST", path: "/admin/users/{bob}/password-reset", as: "alice", status: 202,
			noValuesStatus: 404, noValuesCode: "not_found", usesPathValue: true, route: "POST /admin/users/{id}/password-reset"},
		{name: "delete a user", method: "DELETE", path: "/admin/users/{bob}", as: "alice", status: 204,
			noValuesStatus: 404, noValuesCode: "not_found", usesPathValue: true, route: "DELETE /admin/users/{id}"},
		{name: "delete an unknown user", method: "DELETE", path: "/admin/users/nope", as: "alice", status: 404, code: "not_found",
			usesPathValue: true, route: "DELETE /admin/users/{id}"},
		{name: "revoke one's other session", method: "DELETE", path: "/sessions/{alice2 session}", as: "alice", status: 204,
			noValuesStatus: 404, noValuesCode: "not_found", usesPathValue: true, route: "DELETE /sessions/{id}"},
		{name: "its token after", method: "GET", path: "/users/me", as: "alice2", status: 401, code: "invalid_token", noValuesStatus: 200},
		{name: "revoke one's current session", method: "DELETE", path: "/sessions/{alice session}", as: "alice", status: 204,
			noValuesStatus: 404, noValuesCode: "not_found", usesPathValue: true, route: "DELETE /sessions/{id}"},
		{name: "the token after", method: "GET", path: "/users/me", as: "alice", status: 401, code: "invalid_token", noValuesStatus: 200},
	}
	// Every route with a path value is among the steps.
	covered := map[string]bool{}
	for _, c := range steps {
		if c.usesPathValue {
			covered[c.route] = true
		}
	}
	for _, r := range newService(t, mounts[0]).routes {
		if strings.Contains(r.Path, "{") && !covered[r.Method+" "+r.Path] {
			t.Errorf("no step runs %s %s, whose path holds a value", r.Method, r.Path)
		}
	}
	for _, m := range mounts {
		t.Run(m.name, func(t *testing.T) {
			s := newService(t, m)
			ids := make([]string, 0, 2*len(s.ids))
			for k, v := range s.ids {
				ids = append(ids, "{"+k+"}", url.PathEscape(v))
			}
			paths := strings.NewReplacer(ids...)
			for _, c := range steps {
				status, code := c.status, c.code
				if m.noValues && c.noValuesStatus != 0 {
					status, code = c.noValuesStatus, c.noValuesCode
				}
				res := s.do(t, c.method, paths.Replace(c.path), c.contentType, c.body, s.tokens[c.as])
				if res.status != status || code != "" && res.body["error"] != code {
					t.Fatalf("%s: %s %s: %d %s, want %d %s", c.name, c.method, c.path, res.status, res.raw, status, code)
				}
				if res.status == http.StatusNotFound && res.header.Get("WWW-Authenticate") != "" {
					t.Fatalf("%s: a 404 with a challenge: %v", c.name, res.header)
				}
				if c.usesPathValue && res.status == http.StatusUnauthorized && c.as != "" {
					t.Fatalf("%s: the caller's valid token refused: %s", c.name, res.raw)
				}
			}
		})
	}
}
