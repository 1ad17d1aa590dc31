package authhttp

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"strings"
)

// The pages that mailed links open. Each is one self-contained HTML
// document (its script and style inline, allowed by their hashes in a
// Content-Security-Policy that allows nothing else) whose button POSTs the
// link's token, read from the address bar, to the endpoint beside it.

//go:embed pages
var pageFiles embed.FS

// page is a page ready to serve: its bytes and its security policy.
type page struct {
	body []byte
	csp  string
}

func mustRead(name string) string {
	b, err := pageFiles.ReadFile("pages/" + name)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return string(b)
}

// cspHash is the CSP source expression allowing an inline element whose
// content is s.
func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// newPage wraps the body of the named file in the common document.
func newPage(title, file string) page {
	css, js := mustRead("page.css"), mustRead("page.js")
	var b strings.Builder
	b.WriteString(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>`)
	b.WriteString(title)
	b.WriteString("</title>\n<style>")
	b.WriteString(css)
	b.WriteString("</style>\n</head>\n<body>\n<main>\n")
	b.WriteString(mustRead(file))
	b.WriteString(`<p id="status" role="status" aria-live="polite"></p>` + "\n</main>\n<script>")
	b.WriteString(js)
	b.WriteString("</script>\n</body>\n</html>\n")
	return page{
		body: []byte(b.String()),
		csp: "default-src 'none'; script-src " + cspHash(js) + "; style-src " + cspHash(css) +
			"; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}
}

var (
	verifyEmailPage   = newPage("Verify your email address", "verify-email.html")
	resetPasswordPage = newPage("Choose a new password", "reset-password.html")
)

// serve writes the page, for no cache to keep (the address holds a token)
// and no other page to frame, and telling no other site where it was.
func (p page) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(p.body)
	}
}

// VerifyEmailPage returns the page a verification link opens, GET
// /verify-email?token=...: a button "Verify email" that POSTs the token to
// VerifyEmail (mounted beside it, at email/verify) and says what came of
// it. Loading the page spends nothing, so a mail scanner that fetches the
// link leaves it working.
func (h *Handlers) VerifyEmailPage() http.Handler {
	return h.pageHandler(verifyEmailPage)
}

// ResetPasswordPage returns the page a reset link opens, GET
// /reset-password?token=...: a field "New password" and a button "Set
// password" that POST the token and the password to ResetPassword (mounted
// beside it, at password/reset). Loading the page spends nothing.
func (h *Handlers) ResetPasswordPage() http.Handler {
	return h.pageHandler(resetPasswordPage)
}

func (h *Handlers) pageHandler(p page) http.Handler {
	return h.endpoint(http.MethodGet, public, func(w http.ResponseWriter, r *http.Request, c call) error {
		p.serve(w, r)
		return nil
	})
}
