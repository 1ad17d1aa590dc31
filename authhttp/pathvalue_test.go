package authhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goauthkit/auth/internal/authtest"
)

func TestColonPath(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/token", "/token"},
		{"/", "/"},
		{"/sessions/{id}", "/sessions/:id"},
		{"/admin/users/{id}/logout", "/admin/users/:id/logout"},
		{"/a/{x}/b/{y_2}", "/a/:x/b/:y_2"},
	} {
		if got := (Route{Path: c.path}).ColonPath(); got != c.want {
			t.Errorf("ColonPath(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

// pathKey is the context key under which TestPathValue's router keeps its
// path values.
type pathKey struct{}

// fromContext is a Config.PathValue for a router that keeps its values in
// the request's context, as gorilla/mux and httprouter do.
func fromContext(r *http.Request, name string) string {
	vs, _ := r.Context().Value(pathKey{}).(map[string]string)
	return vs[name]
}

func TestPathValue(t *testing.T) {
	for _, c := range []struct {
		name  string
		hook  func(*http.Request, string) string
		set   string // r.SetPathValue("id", set) unless ""
		inCtx string // the hook's value unless ""
		want  string
	}{
		{name: "no hook, set by the router", set: "s1", want: "s1"},
		{name: "no hook, none set", want: ""},
		{name: "hook", hook: fromContext, inCtx: "s2", want: "s2"},
		{name: "hook before the router's", hook: fromContext, set: "s1", inCtx: "s2", want: "s2"},
		{name: "hook gives none, the router's", hook: fromContext, set: "s1", want: "s1"},
		{name: "neither", hook: fromContext, want: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newHTEnv(t, authtest.PlainHasher{}, Config{PathValue: c.hook})
			e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
			access, _ := e.loginUA(t, "alice", "test")
			r := httptest.NewRequest("DELETE", "/anywhere", nil)
			if c.set != "" {
				r.SetPathValue("id", c.set)
			}
			if c.inCtx != "" {
				r = r.WithContext(context.WithValue(r.Context(), pathKey{}, map[string]string{"id": c.inCtx}))
			}
			if got := e.h.PathValue(r, "id"); got != c.want {
				t.Fatalf("PathValue = %q, want %q", got, c.want)
			}
			// RevokeSession mounted as it is, outside any router: an id
			// it cannot read is an unknown one, never the caller's token
			// refused.
			r.Header.Set("Authorization", "Bearer "+access)
			w := httptest.NewRecorder()
			e.h.RevokeSession().ServeHTTP(w, r)
			if w.Code != http.StatusNotFound || w.Header().Get("WWW-Authenticate") != "" {
				t.Fatalf("DELETE of an unknown id: %d %v %s, want 404 without a challenge", w.Code, w.Header(), w.Body)
			}
		})
	}
}

// TestRevokeSessionPathValueHook revokes a session through a handler
// mounted outside any router, its id read by Config.PathValue.
func TestRevokeSessionPathValueHook(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{PathValue: fromContext})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
	access, sid := e.loginUA(t, "alice", "test")
	r := httptest.NewRequest("DELETE", "/anywhere", nil)
	r = r.WithContext(context.WithValue(r.Context(), pathKey{}, map[string]string{"id": sid}))
	r.Header.Set("Authorization", "Bearer "+access)
	w := httptest.NewRecorder()
	e.h.RevokeSession().ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("DELETE of the caller's session: %d %s, want 204", w.Code, w.Body)
	}
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
}
