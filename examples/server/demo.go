package main

import (
	"embed"
	"net/http"
	"strings"

	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/authhttp/docs"
)

// The demo page at GET /: plain HTML, CSS and JavaScript, embedded, no
// build step. It uses the browser-session endpoints (the refresh token in
// an HttpOnly cookie, the access token in the page's memory) and links to
// /docs.

//go:embed demo
var demoFiles embed.FS

// demoCSP allows the page its own script, style and calls, and nothing
// inline or from elsewhere; images may also be data: URLs, for the QR code
// that POST /mfa/totp answers with (a data:image/png;base64 URL).
const demoCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var demoAssets = map[string]struct{ file, ctype string }{
	"/":             {"demo/index.html", "text/html; charset=utf-8"},
	"/demo/app.js":  {"demo/app.js", "text/javascript; charset=utf-8"},
	"/demo/app.css": {"demo/app.css", "text/css; charset=utf-8"},
}

// withPages serves the demo page and its files, and /docs (Swagger UI, from
// authhttp/docs), in front of next, which gets every other request. They are
// pages, not API routes, so they are not in /openapi.json.
func withPages(next http.Handler) http.Handler {
	swagger := docs.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/docs" || strings.HasPrefix(p, "/docs/") {
			swagger.ServeHTTP(w, r)
			return
		}
		a, ok := demoAssets[p]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			authhttp.WriteErrorFor(w, authhttp.ErrMethodNotAllowed)
			return
		}
		b, err := demoFiles.ReadFile(a.file)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", demoCSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
	})
}
