package authhttp

import (
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/goauthkit/auth"
)

// Router serves handlers at literal paths and answers everything else the
// way the rest of this package answers: an unknown path is a JSON 404
// not_found, a known path with a method it does not serve is a JSON 405
// method_not_allowed with an Allow header, and no request is ever
// redirected.
//
// http.ServeMux would write text 404 and 405 answers and redirect paths
// that are not clean ("//token", "/a/../token") or lack a trailing slash;
// an authentication API has no use for patterns, so Router matches the
// request's escaped path exactly instead. A GET route also answers HEAD.
//
// Handle may be called while the Router serves; a Router is safe for
// concurrent use.
type Router struct {
	mu     sync.Mutex                 // serialises Handle
	table  atomic.Pointer[routeTable] // read without a lock
	routes []Route                    // in the order they were added
}

// routeTable is an immutable snapshot: path, then method, to handler.
type routeTable map[string]*routeEntry

type routeEntry struct {
	methods map[string]http.Handler
	allow   string // the Allow header of a 405
}

// NewRouter returns an empty Router.
func NewRouter() *Router {
	rt := &Router{}
	rt.table.Store(&routeTable{})
	return rt
}

// Handle serves h for method at path. The path is literal: it must begin
// with '/', be clean (path.Clean leaves it as it is), and not end with '/'
// unless it is "/". Like http.ServeMux.Handle, Handle panics for a bad
// method or path, a nil handler, or a method and path already handled:
// those are mistakes in the program, not in a request.
func (rt *Router) Handle(method, p string, h http.Handler) {
	switch {
	case method == "" || strings.ContainsAny(method, " \t/"):
		panic(fmt.Sprintf("authhttp: Router.Handle: bad method %q", method))
	case p == "" || p[0] != '/' || path.Clean(p) != p || strings.ContainsAny(p, "?#%{} "):
		panic(fmt.Sprintf("authhttp: Router.Handle: path %q is not a clean literal path", p))
	case h == nil:
		panic("authhttp: Router.Handle: nil handler")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := *rt.table.Load()
	next := maps.Clone(old)
	e := &routeEntry{methods: map[string]http.Handler{}}
	if prev := old[p]; prev != nil {
		if prev.methods[method] != nil {
			panic(fmt.Sprintf("authhttp: Router.Handle: %s %s is already handled", method, p))
		}
		e.methods = maps.Clone(prev.methods)
	}
	e.methods[method] = h
	allowed := slices.Sorted(maps.Keys(e.methods))
	if e.methods[http.MethodGet] != nil && e.methods[http.MethodHead] == nil {
		allowed = append(allowed, http.MethodHead)
		slices.Sort(allowed)
	}
	e.allow = strings.Join(allowed, ", ")
	next[p] = e
	rt.table.Store(&next)
	rt.routes = append(rt.routes, Route{Method: method, Path: p, Handler: h})
}

// mount handles one route, keeping its OpenAPI description.
func (rt *Router) mount(r Route) {
	rt.Handle(r.Method, r.Path, r.Handler)
	rt.mu.Lock()
	rt.routes[len(rt.routes)-1].op = r.op
	rt.mu.Unlock()
}

// Mount handles every route of routes (such as Handlers.Routes).
func (rt *Router) Mount(routes []Route) {
	for _, r := range routes {
		rt.mount(r)
	}
}

// Routes returns the routes handled so far, in the order they were added.
func (rt *Router) Routes() []Route {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.routes)
}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := (*rt.table.Load())[r.URL.EscapedPath()]
	if e == nil {
		WriteErrorFor(w, auth.ErrNotFound)
		return
	}
	h := e.methods[r.Method]
	if h == nil && r.Method == http.MethodHead {
		h = e.methods[http.MethodGet]
	}
	if h == nil {
		w.Header().Set("Allow", e.allow)
		WriteErrorFor(w, ErrMethodNotAllowed)
		return
	}
	h.ServeHTTP(w, r)
}
