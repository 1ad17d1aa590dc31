package authhttp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/store/memory"
)

// allRoutes is every route of this package, as a service mounts them.
func allRoutes(t *testing.T) []Route {
	t.Helper()
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(a, Config{})
	if err != nil {
		t.Fatal(err)
	}
	routes := append(h.Routes(), JWKSRoute(nil))
	doc, err := OpenAPIRoute(routes)
	if err != nil {
		t.Fatal(err)
	}
	return append(routes, doc)
}

// TestOpenAPIOperations checks what the contract asks of the document: an
// operation per route and none else, every description in openapi.json
// belonging to a route, the password flow at /token, and a security
// requirement on every operation that needs a token. (That the document is
// valid OpenAPI 3.1 is checked with a real validator, kin-openapi, by the
// example server's tests, which keep that dependency out of this module.)
func TestOpenAPIOperations(t *testing.T) {
	routes := allRoutes(t)
	raw, err := OpenAPI(routes)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type  string `json:"type"`
				Flows struct {
					Password *struct {
						TokenURL string `json:"tokenUrl"`
					} `json:"password"`
				} `json:"flows"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	var got []string
	for path, item := range doc.Paths {
		for method := range item {
			got = append(got, strings.ToUpper(method)+" "+path)
		}
	}
	var want []string
	for _, r := range routes {
		want = append(want, r.Method+" "+r.Path)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("documented %v, routes %v", got, want)
	}
	// Every description in openapi.json belongs to a route: none is stale.
	if ops := operations(); !slices.Equal(ops, want) {
		t.Fatalf("openapi.json describes %v, the package's routes are %v", ops, want)
	}
	scheme, ok := doc.Components.SecuritySchemes["oauth2"]
	if !ok || scheme.Type != "oauth2" || scheme.Flows.Password == nil || scheme.Flows.Password.TokenURL != "/token" {
		t.Fatalf("no OAuth 2.0 password flow with tokenUrl /token: %+v", scheme)
	}
	for _, authed := range []string{"/users/me", "/logout/all", "/users/me/password"} {
		if len(doc.Paths[authed]) == 0 {
			t.Fatalf("%s is not documented", authed)
		}
		for method, op := range doc.Paths[authed] {
			if len(op.Security) == 0 {
				t.Errorf("%s %s requires a token but names no security scheme", method, authed)
			}
		}
	}
}

// TestOpenAPIRefusesOthers: a route this package did not make has no
// description, so a document with it is refused rather than incomplete.
func TestOpenAPIRefusesOthers(t *testing.T) {
	routes := allRoutes(t)
	foreign := Route{Method: "GET", Path: "/orders", Handler: http.NotFoundHandler()}
	if _, err := OpenAPI(append(routes, foreign)); err == nil || !strings.Contains(err.Error(), "/orders") {
		t.Fatalf("OpenAPI with a foreign route = %v, want an error naming it", err)
	}
	if _, err := OpenAPI(append(routes, routes[0])); err == nil {
		t.Fatal("OpenAPI with a route twice succeeded")
	}
	renamed := routes[0]
	renamed.Path = "/elsewhere"
	if _, err := OpenAPI([]Route{renamed}); err == nil {
		t.Fatal("OpenAPI of a route moved to another path succeeded")
	}
}

// TestOpenAPIOwnOperation: a route made elsewhere is documented by the
// Operation it carries, which must be one JSON object.
func TestOpenAPIOwnOperation(t *testing.T) {
	routes := allRoutes(t)
	for _, tt := range []struct {
		name      string
		operation string
		ok        bool
	}{
		{"an operation", `{"summary":"List orders","responses":{"200":{"description":"the orders"}}}`, true},
		{"an empty object", `{}`, true},
		{"none", ``, false},
		{"null", `null`, false},
		{"an array", `[{"summary":"x"}]`, false},
		{"not JSON", `{"summary":`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			orders := Route{Method: "GET", Path: "/orders", Handler: http.NotFoundHandler()}
			if tt.operation != "" {
				orders.Operation = json.RawMessage(tt.operation)
			}
			raw, err := OpenAPI(append(routes, orders))
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "/orders") {
					t.Fatalf("OpenAPI = %v, want an error naming /orders", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Paths map[string]map[string]json.RawMessage `json:"paths"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if got := string(doc.Paths["/orders"]["get"]); got != tt.operation {
				t.Fatalf("GET /orders is documented as %s, want %s", got, tt.operation)
			}
			if len(doc.Paths["/token"]) == 0 {
				t.Fatal("the package's own routes are gone from the document")
			}
		})
	}
	// A route of this package keeps the package's description even if it
	// carries an Operation.
	own := routes[0]
	own.Operation = json.RawMessage(`{"summary":"mine"}`)
	raw, err := OpenAPI([]Route{own})
	if err != nil || strings.Contains(string(raw), `"mine"`) {
		t.Fatalf("OpenAPI of a package route with an Operation: %v, %s", err, raw)
	}
}

// TestOpenAPIRoute serves the document.
func TestOpenAPIRoute(t *testing.T) {
	routes := allRoutes(t)
	self := routes[len(routes)-1]
	if self.Method != "GET" || self.Path != OpenAPIPath {
		t.Fatalf("OpenAPIRoute is %s %s", self.Method, self.Path)
	}
	w := httptest.NewRecorder()
	self.Handler.ServeHTTP(w, httptest.NewRequest("GET", OpenAPIPath, nil))
	var doc map[string]any
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || json.Unmarshal(w.Body.Bytes(), &doc) != nil {
		t.Fatalf("GET %s: %d %v", OpenAPIPath, w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	self.Handler.ServeHTTP(w, httptest.NewRequest("POST", OpenAPIPath, nil))
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST %s: %d", OpenAPIPath, w.Code)
	}
}

// TestDescribe: a feature's routes take their operations from its spec,
// and a route it does not describe, or a spec that is not one, is refused.
func TestDescribe(t *testing.T) {
	spec := []byte(`{"operations": {"GET /a": {"summary": "A"}, "POST /b": {"summary": "B"}}}`)
	routes := []Route{{Method: "GET", Path: "/a"}, {Method: "POST", Path: "/b"}}
	got, err := Describe(spec, routes)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Operation) != `{"summary": "A"}` || string(got[1].Operation) != `{"summary": "B"}` || routes[0].Operation != nil {
		t.Fatalf("Describe = %s, %s (and the input's %s)", got[0].Operation, got[1].Operation, routes[0].Operation)
	}
	for name, tc := range map[string]struct {
		spec   string
		routes []Route
	}{
		"undescribed route": {`{"operations": {"GET /a": {}}}`, []Route{{Method: "GET", Path: "/c"}}},
		"method differs":    {`{"operations": {"GET /a": {}}}`, []Route{{Method: "POST", Path: "/a"}}},
		"not an object":     {`{"operations": {"GET /a": []}}`, []Route{{Method: "GET", Path: "/a"}}},
		"not JSON":          {`{"operations":`, []Route{{Method: "GET", Path: "/a"}}},
	} {
		if _, err := Describe([]byte(tc.spec), tc.routes); err == nil {
			t.Errorf("%s: Describe accepted it", name)
		}
	}
}

// TestOpenAPITwoAuthorizationHeaders: every route that takes a Bearer
// token answers a request with two Authorization headers 400
// invalid_request (RFC 6750 §2), and documents that answer.
func TestOpenAPITwoAuthorizationHeaders(t *testing.T) {
	routes := allRoutes(t)
	for _, r := range routes {
		var op struct {
			Security  []map[string][]string      `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
		raw := r.Operation
		if raw == nil {
			f, err := spec()
			if err != nil {
				t.Fatal(err)
			}
			raw = f.Operations[r.Method+" "+r.Path]
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s %s: %v", r.Method, r.Path, err)
		}
		if len(op.Security) == 0 {
			continue
		}
		path := strings.ReplaceAll(r.Path, "{id}", "x")
		req := httptest.NewRequest(r.Method, path, nil)
		req.Header.Add("Authorization", "Bearer a")
		req.Header.Add("Authorization", "Bearer b")
		req.SetPathValue("id", "x")
		rec := httptest.NewRecorder()
		r.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s %s with two Authorization headers: %d, want 400", r.Method, r.Path, rec.Code)
		}
		if _, ok := op.Responses["400"]; !ok {
			t.Errorf("%s %s answers 400 to two Authorization headers, and does not document it", r.Method, r.Path)
		}
	}
}
