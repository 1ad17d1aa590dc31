package authhttp

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
)

// Swagger UI (the npm package swagger-ui-dist, at the version in
// swaggerui/VERSION; swaggerui/update.sh refreshes it) is embedded, so that
// /docs needs no CDN and works offline.
//
//go:embed swaggerui/swagger-ui-bundle.js swaggerui/swagger-ui.css swaggerui/favicon-32x32.png
var swaggerFiles embed.FS

// docsFile is one file DocsHandler serves.
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
	files := map[string]docsFile{}
	add := func(name string, body []byte, ctype string) {
		sum := sha256.Sum256(body)
		files[name] = docsFile{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	for name, ctype := range map[string]string{
		"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
		"swagger-ui.css":       "text/css; charset=utf-8",
		"favicon-32x32.png":    "image/png",
	} {
		b, err := swaggerFiles.ReadFile("swaggerui/" + name)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		add(name, b, ctype)
	}
	add("docs.js", []byte(mustRead("docs.js")), "text/javascript; charset=utf-8")
	add("", []byte(mustRead("docs.html")), "text/html; charset=utf-8")
	return files
}()

// DocsHandler returns interactive documentation of the API: Swagger UI,
// served from files embedded in this package, over the OpenAPI document
// at openapi.json beside it (OpenAPIRoute). Its Authorize dialog logs in with
// the OAuth 2.0 password flow against /token, as FastAPI's /docs does, and
// "Try it out" sends the access token.
//
// Mount it at a path ending in /docs and at that path followed by a slash:
// it serves the page at .../docs and its files at .../docs/NAME, with a
// Content-Security-Policy that loads nothing from elsewhere; other paths
// are 404 and other methods than GET and HEAD 405, as JSON.
//
//	mux.Handle("GET /docs", authhttp.DocsHandler())
//	mux.Handle("GET /docs/", authhttp.DocsHandler())
func DocsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteErrorFor(w, ErrMethodNotAllowed)
			return
		}
		p := r.URL.Path
		name := ""
		if !strings.HasSuffix(p, "/docs") {
			dir, file := path.Split(p)
			if !strings.HasSuffix(dir, "/docs/") {
				WriteErrorFor(w, auth.ErrNotFound)
				return
			}
			name = file
			if name == "" { // .../docs/: the page lives at .../docs
				WriteErrorFor(w, auth.ErrNotFound)
				return
			}
		}
		f, ok := docsFiles[name]
		if !ok {
			WriteErrorFor(w, auth.ErrNotFound)
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
