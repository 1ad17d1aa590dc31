package docs

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goauthkit/auth/authhttp"
)

func TestHandler(t *testing.T) {
	h := Handler()
	get := func(method, path string, header map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, c := range []struct {
		path, ctype, has string
	}{
		{"/docs", "text/html; charset=utf-8", `<script src="docs/swagger-ui-bundle.js">`},
		{"/api/docs", "text/html; charset=utf-8", `<script src="docs/docs.js">`},
		{"/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle"},
		{"/docs/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"},
		{"/docs/docs.js", "text/javascript; charset=utf-8", `"openapi.json"`},
		{"/docs/favicon-32x32.png", "image/png", "PNG"},
	} {
		w := get("GET", c.path, nil)
		if w.Code != 200 || w.Header().Get("Content-Type") != c.ctype || !strings.Contains(w.Body.String(), c.has) ||
			w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d %q, has %q: %v", c.path, w.Code, w.Header().Get("Content-Type"), c.has, strings.Contains(w.Body.String(), c.has))
		}
		if c.ctype == "text/html; charset=utf-8" {
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "script-src 'self' 'unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("GET %s: CSP %q", c.path, csp)
			}
			if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), "http") {
				t.Errorf("GET %s: inline script or an outside URL:\n%s", c.path, w.Body)
			}
		}
		etag := w.Header().Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", c.path)
		} else if w := get("GET", c.path, map[string]string{"If-None-Match": etag}); w.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d", c.path, w.Code)
		}
	}
	for _, path := range []string{"/docs/", "/docs/nope.js", "/docs/../openapi.json", "/other/swagger-ui.css", "/docs/x/swagger-ui.css", "/"} {
		w := get("GET", path, nil)
		var body authhttp.ErrorBody
		if w.Code != 404 || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error != "not_found" {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	if w := get("POST", "/docs", nil); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /docs: %d %v", w.Code, w.Header())
	}
	if w := get("HEAD", "/docs/swagger-ui.css", nil); w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
	}
}
