package adminhttp

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/goauthkit/auth/authhttp"
)

// world is what a scenario starts from: an administrator, root, and a
// user, alice, both logged in.
type world struct {
	*env
	root, alice     string // access tokens
	rootID, aliceID string
}

func newWorld(t *testing.T, c envConfig) *world {
	t.Helper()
	w := &world{env: newEnvConfig(t, c)}
	w.rootID = w.signup(t, "root", "")
	w.aliceID = w.signup(t, "alice", "")
	w.makeAdmin(t, w.rootID)
	w.root, w.alice = w.login(t, "root"), w.login(t, "alice")
	return w
}

// scenario makes a world, prepares it, and makes one request.
type scenario func(t *testing.T) resp

// call makes the request of method, path and body (JSON, if not "") as
// who, one of the world's tokens (or none, for "").
func call(method, path, body, who string) scenario {
	return callIn(envConfig{}, nil, method, path, body, who)
}

// callIn is call in a world of c, prepared by prepare (if not nil).
func callIn(c envConfig, prepare func(t *testing.T, w *world), method, path, body, who string) scenario {
	return func(t *testing.T) resp {
		w := newWorld(t, c)
		if prepare != nil {
			prepare(t, w)
		}
		target := strings.NewReplacer("{root}", w.rootID, "{alice}", w.aliceID).Replace(path)
		ct := ""
		if body != "" {
			ct = jsonType
		}
		bearer := map[string]string{"root": w.root, "alice": w.alice, "": ""}[who]
		return w.do(method, target, ct, body, bearer)
	}
}

// twoAuthorizations makes the request of method and path with root's token
// in two Authorization headers.
func twoAuthorizations(method, path string) scenario {
	return func(t *testing.T) resp {
		w := newWorld(t, envConfig{})
		r, err := http.NewRequest(method, w.srv.URL+strings.ReplaceAll(path, "{alice}", w.aliceID), nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Add("Authorization", "Bearer "+w.root)
		r.Header.Add("Authorization", "Bearer "+w.root)
		return w.send(r)
	}
}

// wrongMethod makes a request of path with a method the route does not
// serve, which must be answered with an Allow header.
func wrongMethod(method, path string) scenario {
	s := call(method, path, "", "root")
	return func(t *testing.T) resp {
		r := s(t)
		if r.header.Get("Allow") == "" {
			t.Errorf("%s %s: %d without Allow", method, path, r.status)
		}
		return r
	}
}

// adminDown makes the request with the store failing the calls of
// package admin.
func adminDown(method, path, body string) scenario {
	return callIn(envConfig{}, func(t *testing.T, w *world) { w.store.adminDown.Store(true) }, method, path, body, "root")
}

// answers is, for every route, each status its handler can answer with,
// and a scenario that gets it. TestOperationsDocumentAnswers plays every
// one of them, and checks that the route's Operation documents exactly
// these statuses.
var answers = map[string]map[int]scenario{
	"GET /admin/users": {
		200: call("GET", "/admin/users?limit=1", "", "root"),
		400: call("GET", "/admin/users?limit=x", "", "root"),
		401: call("GET", "/admin/users", "", ""),
		403: call("GET", "/admin/users", "", "alice"),
		404: callIn(envConfig{noLister: true}, nil, "GET", "/admin/users", "", "root"),
		405: wrongMethod("PUT", "/admin/users"),
		503: adminDown("GET", "/admin/users", ""),
	},
	"POST /admin/users": {
		201: call("POST", "/admin/users", `{"username":"carol"}`, "root"),
		400: call("POST", "/admin/users", `{"email":"carol@example.com"}`, "root"),
		401: call("POST", "/admin/users", `{"username":"carol"}`, ""),
		403: call("POST", "/admin/users", `{"username":"carol"}`, "alice"),
		405: wrongMethod("DELETE", "/admin/users"),
		409: call("POST", "/admin/users", `{"username":"alice"}`, "root"),
		413: call("POST", "/admin/users", `{"username":"`+strings.Repeat("a", authhttp.MaxBodyBytes)+`"}`, "root"),
		422: call("POST", "/admin/users", `{"username":"carol","password":"short"}`, "root"),
		503: adminDown("POST", "/admin/users", `{"username":"carol"}`),
	},
	"PATCH /admin/users/{id}": {
		200: call("PATCH", "/admin/users/{alice}", `{"disabled":true}`, "root"),
		400: call("PATCH", "/admin/users/{alice}", `{}`, "root"),
		401: call("PATCH", "/admin/users/{alice}", `{"disabled":true}`, ""),
		403: call("PATCH", "/admin/users/{alice}", `{"disabled":true}`, "alice"),
		404: call("PATCH", "/admin/users/nobody", `{"disabled":true}`, "root"),
		405: wrongMethod("GET", "/admin/users/{alice}"),
		409: call("PATCH", "/admin/users/{root}", `{"roles":[]}`, "root"),
		413: call("PATCH", "/admin/users/{alice}", `{"roles":["`+strings.Repeat("a", authhttp.MaxBodyBytes)+`"]}`, "root"),
		503: adminDown("PATCH", "/admin/users/{alice}", `{"disabled":true}`),
	},
	"DELETE /admin/users/{id}": {
		204: call("DELETE", "/admin/users/{alice}", "", "root"),
		400: twoAuthorizations("DELETE", "/admin/users/{alice}"),
		401: call("DELETE", "/admin/users/{alice}", "", ""),
		403: call("DELETE", "/admin/users/{alice}", "", "alice"),
		404: call("DELETE", "/admin/users/nobody", "", "root"),
		405: wrongMethod("POST", "/admin/users/{alice}"),
		409: call("DELETE", "/admin/users/{root}", "", "root"),
		503: adminDown("DELETE", "/admin/users/{alice}", ""),
	},
	"POST /admin/users/{id}/logout": {
		204: call("POST", "/admin/users/{alice}/logout", "", "root"),
		400: twoAuthorizations("POST", "/admin/users/{alice}/logout"),
		401: call("POST", "/admin/users/{alice}/logout", "", ""),
		403: call("POST", "/admin/users/{alice}/logout", "", "alice"),
		404: call("POST", "/admin/users/nobody/logout", "", "root"),
		405: wrongMethod("DELETE", "/admin/users/{alice}/logout"),
		503: adminDown("POST", "/admin/users/{alice}/logout", ""),
	},
}

// TestOperationsDocumentAnswers: every route has an Operation, a JSON
// object whose responses are exactly the statuses its handler can answer
// with (answers), and the handler does answer each of them.
func TestOperationsDocumentAnswers(t *testing.T) {
	e := newEnv(t)
	routes := e.x.Routes()
	var got []string
	for _, r := range routes {
		key := r.Method + " " + r.Path
		got = append(got, key)
		if r.Handler == nil {
			t.Errorf("%s has no handler", key)
		}
		if r.Operation == nil {
			t.Errorf("%s has no Operation", key)
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r.Operation, &obj); err != nil || obj == nil {
			t.Errorf("%s: the Operation is not a JSON object: %v", key, err)
			continue
		}
		documented := slices.Sorted(maps.Keys(documentedStatuses(t, r.Operation)))
		want := slices.Sorted(maps.Keys(answers[key]))
		if !slices.Equal(documented, want) {
			t.Errorf("%s documents %v; its handler answers %v", key, documented, want)
		}
	}
	if want := slices.Sorted(maps.Keys(answers)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("Routes() = %v, want %v", got, want)
	}
	// Every description in openapi.json belongs to a route: none is stale.
	var spec struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(openapiSpec, &spec); err != nil {
		t.Fatal(err)
	}
	if ops := slices.Sorted(maps.Keys(spec.Operations)); !slices.Equal(ops, slices.Sorted(slices.Values(got))) {
		t.Errorf("openapi.json describes %v, the routes are %v", ops, got)
	}

	for key, byStatus := range answers {
		for status, s := range byStatus {
			t.Run(strings.ReplaceAll(key, "/", "_")+"_"+http.StatusText(status), func(t *testing.T) {
				if r := s(t); r.status != status {
					t.Fatalf("%s answered %d %s, want %d", key, r.status, r.raw, status)
				}
			})
		}
	}
}

// TestOpenAPIDocument: authhttp.OpenAPI takes this package's routes beside
// authhttp's, and the document has each of them with its Operation as it
// is, a security requirement on each (they all need a token), and no
// reference that points at nothing. (That the document is valid OpenAPI
// 3.1 is checked with a real validator, kin-openapi, by the example
// server's tests, which keep that dependency out of this module.)
func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	routes := e.x.Routes()
	raw, err := authhttp.OpenAPI(append(e.h.Routes(), routes...))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		op, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("the document lacks %s", key)
			continue
		}
		if !jsonEqual(t, op, r.Operation) {
			t.Errorf("%s is documented as\n%s\nnot as its Operation\n%s", key, op, r.Operation)
		}
		var o struct {
			Security []map[string][]string `json:"security"`
		}
		if err := json.Unmarshal(op, &o); err != nil {
			t.Fatal(err)
		}
		if len(o.Security) == 0 {
			t.Errorf("%s: no security requirement, but it needs a token", key)
		}
	}
	if len(doc.Paths["/token"]) == 0 {
		t.Error("authhttp's routes are gone from the document")
	}

	// Every $ref resolves within the document.
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	refs := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					refs++
					if !resolves(tree, ref) {
						t.Errorf("$ref %q points at nothing", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(tree)
	if refs == 0 {
		t.Fatal("no $ref in the document")
	}

	// The same routes twice are refused: the document would not describe
	// what is mounted.
	if _, err := authhttp.OpenAPI(append(e.h.Routes(), append(routes, routes[0])...)); err == nil {
		t.Error("OpenAPI with a route twice succeeded")
	}
}

// resolves reports whether ref, a local JSON pointer "#/a/b", names a
// value of tree.
func resolves(tree any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	v := tree
	for _, name := range strings.Split(path, "/") {
		name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[name]; !ok {
			return false
		}
	}
	return true
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
