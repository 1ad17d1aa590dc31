package authhttp

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// openapiSpec holds the description of every route this package makes:
// the document's info and components, and one OpenAPI 3.1 Operation
// Object per route, under "METHOD PATH".
//
//go:embed openapi.json
var openapiSpec []byte

var spec = sync.OnceValues(func() (*specFile, error) {
	var f specFile
	if err := json.Unmarshal(openapiSpec, &f); err != nil {
		return nil, fmt.Errorf("authhttp: openapi.json: %w", err)
	}
	return &f, nil
})

type specFile struct {
	Info       json.RawMessage            `json:"info"`
	Components json.RawMessage            `json:"components"`
	Operations map[string]json.RawMessage `json:"operations"`
}

// OpenAPIPath is where OpenAPIRoute serves the document.
const OpenAPIPath = "/openapi.json"

// OpenAPI returns the OpenAPI 3.1 document (JSON) that describes exactly
// routes: each is one of this package's (Handlers.Routes, JWKSRoute,
// Describe returns routes with their Operation set from spec, a JSON
// document {"operations": {"METHOD /path": Operation Object, ...}}, the
// form of this package's own description: how a feature package describes
// the routes it makes, from an openapi.json it embeds (whose operations
// may refer to this package's components, such as
// "#/components/schemas/Error"). A route that spec does not describe, or
// a spec that is not such a document, is an error.
func Describe(spec []byte, routes []Route) ([]Route, error) {
	var f struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(spec, &f); err != nil {
		return nil, fmt.Errorf("authhttp: Describe: %w", err)
	}
	out := make([]Route, len(routes))
	for i, r := range routes {
		op, ok := f.Operations[r.Method+" "+r.Path]
		if !ok || !isJSONObject(op) {
			return nil, fmt.Errorf("authhttp: Describe: no operation for %s %s", r.Method, r.Path)
		}
		r.Operation = op
		out[i] = r
	}
	return out, nil
}

// OpenAPIRoute) or carries its own Operation, and the document has an
// operation for each and for nothing else, with the token endpoint as an
// OAuth 2.0 password-flow security scheme (tokenUrl /token), so that
// Swagger UI's Authorize dialog logs in as FastAPI's /docs does. A route
// with no description (made elsewhere, without an Operation, or an
// Operation that is not a JSON object), or two routes at one method and
// path, is an error: the document would not describe what is mounted.
func OpenAPI(routes []Route) ([]byte, error) {
	f, err := spec()
	if err != nil {
		return nil, err
	}
	paths := map[string]map[string]json.RawMessage{}
	for _, r := range routes {
		op, ok := f.Operations[r.op]
		if r.op != "" && r.op != r.Method+" "+r.Path {
			ok = false // one of this package's routes, moved elsewhere
		}
		if r.op == "" && r.Operation != nil {
			op, ok = r.Operation, isJSONObject(r.Operation)
		}
		if !ok {
			return nil, fmt.Errorf("authhttp: OpenAPI: %s %s is not a route of this package, and has no description (Route.Operation)", r.Method, r.Path)
		}
		methods := paths[r.Path]
		if methods == nil {
			methods = map[string]json.RawMessage{}
			paths[r.Path] = methods
		}
		m := strings.ToLower(r.Method)
		if _, dup := methods[m]; dup {
			return nil, fmt.Errorf("authhttp: OpenAPI: %s %s appears twice", r.Method, r.Path)
		}
		methods[m] = op
	}
	return json.Marshal(struct {
		OpenAPI    string                                `json:"openapi"`
		Info       json.RawMessage                       `json:"info"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components json.RawMessage                       `json:"components"`
	}{"3.1.0", f.Info, paths, f.Components})
}

// OpenAPIRoute is GET /openapi.json serving OpenAPI(routes) with the route
// itself added. It fails as OpenAPI does, at once rather than on the first
// request.
func OpenAPIRoute(routes []Route) (Route, error) {
	self := route(http.MethodGet, OpenAPIPath, nil)
	doc, err := OpenAPI(append(routes[:len(routes):len(routes)], self))
	if err != nil {
		return Route{}, err
	}
	self.Handler = staticJSON(doc)
	return self, nil
}

// staticJSON serves body, a JSON document, at GET and HEAD.
func staticJSON(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteErrorFor(w, ErrMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}

// operations lists the keys of every operation the package describes, for
// tests.
func operations() []string {
	f, err := spec()
	if err != nil {
		return nil
	}
	keys := make([]string, 0, len(f.Operations))
	for k := range f.Operations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isJSONObject reports whether raw is one valid JSON object.
func isJSONObject(raw json.RawMessage) bool {
	var obj map[string]json.RawMessage
	return json.Unmarshal(raw, &obj) == nil && obj != nil
}
