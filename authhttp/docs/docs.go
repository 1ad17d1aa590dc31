// Package docs serves interactive documentation of the API of package
// authhttp: Swagger UI over its OpenAPI document. It is a package of its
// own so that only a service that serves /docs embeds Swagger UI (about
// 1.5 MB in the binary, BENCHMARKS.md).
package docs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
)

// Swagger UI (the npm package swagger-ui-dist, at the version in
// swaggerui/VERSION; swaggerui/update.sh refreshes it) is embedded, so that
// /docs needs no CDN and works offline, with the page that starts it.
//
//go:embed swaggerui/swagger-ui-bundle.js swaggerui/swagger-ui.css swaggerui/favicon-32x32.png docs.html docs.js
var files embed.FS

// docsFile is one file Handler serves.
type docsFile struct {
	body  []byte
	ctype string
	etag  string
}

// docsCSP allows the page its own scripts, styles and images, and calls to
// its own origin (the OpenAPI document, "Try it out"); nothing inline but
// styles (Swagger UI sets style attributes), nothing from elsewhere.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

var docsFiles = func() map[string]docsFile {
	out := map[string]docsFile{}
	add := func(name string, body []byte, ctype string) {
		sum := sha256.Sum256(body)
		out[name] = docsFile{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	for name, ctype := range map[string]string{
		"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
		"swagger-ui.css":       "text/css; charset=utf-8",
		"favicon-32x32.png":    "image/png",
	} {
		add(name, mustRead("swaggerui/"+name), ctype)
	}
	add("docs.js", mustRead("docs.js"), "text/javascript; charset=utf-8")
	add("", mustRead("docs.html"), "text/html; charset=utf-8")
	return out
}()

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return b
}

// Handler returns interactive documentation of the API: Swagger UI,
// served from files embedded in this package, over the OpenAPI document
// at openapi.json beside it (authhttp.OpenAPIRoute). Its Authorize dialog logs in with
// the OAuth 2.0 password flow against /token, as FastAPI's /docs does, and
// "Try it out" sends the access token.
//
// Mount it at a path ending in /docs and at that path followed by a slash:
// it serves the page at .../docs and its files at .../docs/NAME, with a
// Content-Security-Policy that loads nothing from elsewhere; other paths
// are 404 and other methods than GET and HEAD 405, as JSON.
//
//	mux.Handle("GET /docs", docs.Handler())
//	mux.Handle("GET /docs/", docs.Handler())
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			authhttp.WriteErrorFor(w, authhttp.ErrMethodNotAllowed)
			return
		}
		p := r.URL.Path
		name := ""
		if !strings.HasSuffix(p, "/docs") {
			dir, file := path.Split(p)
			if !strings.HasSuffix(dir, "/docs/") {
				authhttp.WriteErrorFor(w, auth.ErrNotFound)
				return
			}
			name = file
			if name == "" { // .../docs/: the page lives at .../docs
				authhttp.WriteErrorFor(w, auth.ErrNotFound)
				return
			}
		}
		f, ok := docsFiles[name]
		if !ok {
			authhttp.WriteErrorFor(w, auth.ErrNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache") // revalidated: the ETag makes that cheap
		if name == "" {
			h.Set("Content-Security-Policy", docsCSP)
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}
