package authhttp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRouter(t *testing.T) {
	rt := NewRouter()
	ok := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"route": name})
		})
	}
	rt.Handle("POST", "/token", ok("token"))
	rt.Handle("GET", "/users/me", ok("me"))
	rt.Handle("DELETE", "/users/me", ok("delete-me"))
	rt.Handle("GET", "/", ok("root"))

	for _, c := range []struct {
		method, target string
		status         int
		want           string // route name, error code, or Allow header
	}{
		{"POST", "/token", 200, "token"},
		{"POST", "/token?x=1", 200, "token"},
		{"GET", "/users/me", 200, "me"},
		{"HEAD", "/users/me", 200, ""},
		{"DELETE", "/users/me", 200, "delete-me"},
		{"GET", "/", 200, "root"},
		{"GET", "/token", 405, "POST"},
		{"OPTIONS", "/token", 405, "POST"},
		{"PUT", "/users/me", 405, "DELETE, GET, HEAD"},
		{"POST", "/", 405, "GET, HEAD"},
		{"GET", "/nope", 404, "not_found"},
		{"POST", "/token/", 404, "not_found"},
		{"POST", "//token", 404, "not_found"},
		{"POST", "/./token", 404, "not_found"},
		{"POST", "/users/../token", 404, "not_found"},
		{"POST", "/TOKEN", 404, "not_found"},
		{"POST", "/%74oken", 404, "not_found"},
		{"GET", "/users%2Fme", 404, "not_found"},
		{"GET", "/users/me/", 404, "not_found"},
		{"GET", "*", 404, "not_found"},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		htCheckAnswer(t, c.method, w.Code, w.Header(), w.Body.Bytes())
		body := w.Body.String()
		switch {
		case w.Code != c.status:
			t.Errorf("%s %s = %d %s, want %d", c.method, c.target, w.Code, body, c.status)
		case c.status == 405 && w.Header().Get("Allow") != c.want:
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.target, w.Header().Get("Allow"), c.want)
		case c.status == 405 && !strings.Contains(body, `"method_not_allowed"`):
			t.Errorf("%s %s: %s", c.method, c.target, body)
		case c.status != 405 && c.want != "" && !strings.Contains(body, `"`+c.want+`"`):
			t.Errorf("%s %s = %s, want %s", c.method, c.target, body, c.want)
		}
	}
	if got := len(rt.Routes()); got != 4 {
		t.Errorf("Routes() has %d routes, want 4", got)
	}
}

func TestRouterHandlePanics(t *testing.T) {
	for _, c := range []struct{ method, path string }{
		{"", "/x"},
		{"GET", ""},
		{"GET", "x"},
		{"GET", "/x/"},
		{"GET", "//x"},
		{"GET", "/a/../x"},
		{"GET", "/users/{}"},
		{"GET", "/users/{i-d}"},
		{"GET", "/users/x{id}"},
		{"GET", "/users/{id"},
		{"GET", "/x?y"},
		{"GET /x", "/x"},
		{"POST", "/dup"},
	} {
		func() {
			rt := NewRouter()
			rt.Handle("POST", "/dup", http.NotFoundHandler())
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q, %q) did not panic", c.method, c.path)
				}
			}()
			rt.Handle(c.method, c.path, http.NotFoundHandler())
		}()
	}
}

// TestRouterNoRedirectOverTheWire sends raw request lines, which a client
// library would clean, to a real server.
func TestRouterNoRedirectOverTheWire(t *testing.T) {
	rt := NewRouter()
	rt.Handle("GET", "/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ok"})
	}))
	srv := httptest.NewServer(rt)
	defer srv.Close()
	for _, target := range []string{"//healthz", "/healthz/", "/a/../healthz", "/./healthz", "/healthz/."} {
		status := rawGet(t, srv.Listener.Addr().String(), target)
		if status != 404 {
			t.Errorf("GET %s = %d, want 404", target, status)
		}
	}
}

// TestRouterPatterns: a wildcard segment matches one non-empty segment,
// unescaped, and a literal path wins over a pattern.
func TestRouterPatterns(t *testing.T) {
	rt := NewRouter()
	echo := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(name + ":" + r.PathValue("id")))
		})
	}
	rt.Handle("DELETE", "/sessions/{id}", echo("delete"))
	rt.Handle("GET", "/sessions", echo("list"))
	rt.Handle("PATCH", "/admin/users/{id}", echo("patch"))
	rt.Handle("POST", "/admin/users/{id}/logout", echo("logout"))
	rt.Handle("POST", "/admin/users/me/logout", echo("literal"))
	for _, c := range []struct {
		method, target string
		status         int
		body           string
	}{
		{"DELETE", "/sessions/abc", 200, "delete:abc"},
		{"DELETE", "/sessions/a%2Fb", 404, ""}, // no value holds a slash, escaped or not
		{"DELETE", "/sessions/a%20b", 200, "delete:a b"},
		{"DELETE", "/sessions/", 404, ""},
		{"DELETE", "/sessions/a/b", 404, ""},
		{"DELETE", "/sessions//a", 404, ""},
		{"GET", "/sessions/abc", 405, ""},
		{"GET", "/sessions", 200, "list:"},
		{"PATCH", "/admin/users/u1", 200, "patch:u1"},
		{"POST", "/admin/users/u1/logout", 200, "logout:u1"},
		{"POST", "/admin/users/me/logout", 200, "literal:"},
		{"POST", "/admin/users/u1/logout/x", 404, ""},
		{"POST", "/admin/users//logout", 404, ""},
		{"GET", "/admin/users/u1/logout", 405, ""},
	} {
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, httptest.NewRequest(c.method, c.target, nil))
		if w.Code != c.status || c.status == 200 && w.Body.String() != c.body {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.target, w.Code, w.Body, c.status, c.body)
		}
		if w.Code == 405 && w.Header().Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.target)
		}
	}
}
