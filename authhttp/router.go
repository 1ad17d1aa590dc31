package authhttp

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/goauthkit/auth"
)

// Router serves handlers at literal paths, and at paths with wildcard
// segments such as "/sessions/{id}" (a segment "{name}" matches one
// non-empty path segment, read with r.PathValue(name), as http.ServeMux
// patterns do), and answers everything else the way the rest of this
// package answers: an unknown path is a JSON 404 not_found, a known path
// with a method it does not serve is a JSON 405 method_not_allowed with an
// Allow header, and no request is ever redirected.
//
// http.ServeMux would write text 404 and 405 answers and redirect paths
// that are not clean ("//token", "/a/../token") or lack a trailing slash;
// an authentication API has no use for that, so Router matches the
// request's escaped path exactly instead (a literal path before a pattern).
// A GET route also answers HEAD.
//
// Handle may be called while the Router serves; a Router is safe for
// concurrent use.
type Router struct {
	mu     sync.Mutex                 // serialises Handle
	table  atomic.Pointer[routeTable] // read without a lock
	routes []Route                    // in the order they were added
}

// routeTable is an immutable snapshot: literal paths, then patterns, to
// their handlers by method.
type routeTable struct {
	exact    map[string]*routeEntry
	patterns []*routeEntry // in the order they were added
}

type routeEntry struct {
	path    string
	segs    []string // of a pattern: literal segments, and "{name}" wildcards
	methods map[string]http.Handler
	allow   string // the Allow header of a 405
}

// NewRouter returns an empty Router.
func NewRouter() *Router {
	rt := &Router{}
	rt.table.Store(&routeTable{exact: map[string]*routeEntry{}})
	return rt
}

// Handle serves h for method at path. The path must begin with '/', be
// clean (path.Clean leaves it as it is), and not end with '/' unless it is
// "/"; a segment may be a wildcard "{name}" (letters, digits, '_'). Like
// http.ServeMux.Handle, Handle panics for a bad method or path, a nil
// handler, or a method and path already handled: those are mistakes in the
// program, not in a request.
func (rt *Router) Handle(method, p string, h http.Handler) {
	segs, isPattern, ok := parsePattern(p)
	switch {
	case method == "" || strings.ContainsAny(method, " \t/"):
		panic(fmt.Sprintf("authhttp: Router.Handle: bad method %q", method))
	case !ok:
		panic(fmt.Sprintf("authhttp: Router.Handle: path %q is not a clean path", p))
	case h == nil:
		panic("authhttp: Router.Handle: nil handler")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := rt.table.Load()
	next := &routeTable{exact: maps.Clone(old.exact), patterns: slices.Clone(old.patterns)}
	var prev *routeEntry
	idx := -1
	if isPattern {
		for i, e := range next.patterns {
			if e.path == p {
				prev, idx = e, i
			}
		}
	} else {
		prev = next.exact[p]
	}
	e := &routeEntry{path: p, methods: map[string]http.Handler{}}
	if isPattern {
		e.segs = segs
	}
	if prev != nil {
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
	switch {
	case !isPattern:
		next.exact[p] = e
	case idx >= 0:
		next.patterns[idx] = e
	default:
		next.patterns = append(next.patterns, e)
	}
	rt.table.Store(next)
	rt.routes = append(rt.routes, Route{Method: method, Path: p, Handler: h})
}

// parsePattern checks p and splits a pattern into segments.
func parsePattern(p string) (segs []string, isPattern, ok bool) {
	if p == "" || p[0] != '/' || path.Clean(p) != p || strings.ContainsAny(p, "?#% ") {
		return nil, false, false
	}
	segs = strings.Split(p[1:], "/")
	for _, s := range segs {
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		name, found := strings.CutPrefix(s, "{")
		name, found2 := strings.CutSuffix(name, "}")
		if !found || !found2 || name == "" || strings.IndexFunc(name, func(r rune) bool {
			return !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}) >= 0 {
			return nil, false, false
		}
		isPattern = true
	}
	return segs, isPattern, true
}

// match reports whether the escaped path p matches e's pattern, and sets
// the wildcards' values (unescaped) on r.
func (e *routeEntry) match(p string) (values map[string]string, ok bool) {
	if p == "" || p[0] != '/' {
		return nil, false
	}
	rest := p[1:]
	for i, seg := range e.segs {
		var part string
		if i == len(e.segs)-1 {
			part, rest = rest, ""
			if strings.Contains(part, "/") {
				return nil, false
			}
		} else {
			var found bool
			part, rest, found = strings.Cut(rest, "/")
			if !found {
				return nil, false
			}
		}
		if seg[0] != '{' {
			if part != seg {
				return nil, false
			}
			continue
		}
		v, err := url.PathUnescape(part)
		if err != nil || v == "" || strings.Contains(v, "/") {
			return nil, false
		}
		if values == nil {
			values = map[string]string{}
		}
		values[seg[1:len(seg)-1]] = v
	}
	return values, true
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
	t := rt.table.Load()
	p := r.URL.EscapedPath()
	e := t.exact[p]
	if e == nil {
		for _, pe := range t.patterns {
			if values, ok := pe.match(p); ok {
				e = pe
				for k, v := range values {
					r.SetPathValue(k, v)
				}
				break
			}
		}
	}
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

// ColonPath returns r.Path with each wildcard segment "{name}" written
// ":name", the form of gin, echo and httprouter: "/sessions/{id}" is
// "/sessions/:id". A path without wildcards is returned as it is.
func (r Route) ColonPath() string {
	if !strings.Contains(r.Path, "{") {
		return r.Path
	}
	segs := strings.Split(r.Path, "/")
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, "{"); ok {
			segs[i] = ":" + strings.TrimSuffix(name, "}")
		}
	}
	return strings.Join(segs, "/")
}
