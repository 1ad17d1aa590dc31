package recoveryhttp

import (
	"embed"
	"net/http"

	"github.com/goauthkit/auth/authhttp"
)

// The pages that mailed links open. Each is a small HTML document whose
// script and style are files of their own (LinkPageScript,
// LinkPageStyle), under a Content-Security-Policy that allows nothing
// inline and nothing from elsewhere; the button POSTs the link's token,
// read from the address bar, to the endpoint beside the page.

//go:embed pages
var pageFiles embed.FS

func mustRead(name string) string {
	b, err := pageFiles.ReadFile("pages/" + name)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return string(b)
}

// pageCSP is the policy of the link pages.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// newPage wraps the body of the named file in the common document.
func newPage(title, file string) []byte {
	return []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>` + title + `</title>
<link rel="stylesheet" href="assets/link-page.css">
<script src="assets/link-page.js" defer></script>
</head>
<body>
<main>
` + mustRead(file) + `<p id="status" role="status" aria-live="polite"></p>
</main>
</body>
</html>
`)
}

var (
	verifyEmailPage   = newPage("Verify your email address", "verify-email.html")
	resetPasswordPage = newPage("Choose a new password", "reset-password.html")
	linkPageJS        = []byte(mustRead("page.js"))
	linkPageCSS       = []byte(mustRead("page.css"))
)

// servePage writes a page, for no cache to keep (the address holds a
// token) and no other page to frame, and telling no other site where it
// was.
func servePage(w http.ResponseWriter, r *http.Request, ctype string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// VerifyEmailPage returns the page a verification link opens, GET
// /verify-email?token=...: a button "Verify email" that POSTs the token to
// VerifyEmail (mounted beside it, at email/verify) and says what came of
// it. Loading the page spends nothing, so a mail scanner that fetches the
// link leaves it working.
func (x *Handlers) VerifyEmailPage() http.Handler {
	return x.pageHandler("text/html; charset=utf-8", verifyEmailPage)
}

// ResetPasswordPage returns the page a reset link opens, GET
// /reset-password?token=...: a field "New password" and a button "Set
// password" that POST the token and the password to ResetPassword (mounted
// beside it, at password/reset). Loading the page spends nothing.
func (x *Handlers) ResetPasswordPage() http.Handler {
	return x.pageHandler("text/html; charset=utf-8", resetPasswordPage)
}

// LinkPageScript returns the script of the link pages, GET
// /assets/link-page.js.
func (x *Handlers) LinkPageScript() http.Handler {
	return x.pageHandler("text/javascript; charset=utf-8", linkPageJS)
}

// LinkPageStyle returns the style sheet of the link pages, GET
// /assets/link-page.css.
func (x *Handlers) LinkPageStyle() http.Handler {
	return x.pageHandler("text/css; charset=utf-8", linkPageCSS)
}

func (x *Handlers) pageHandler(ctype string, body []byte) http.Handler {
	return x.h.Public(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		servePage(w, r, ctype, body)
		return nil
	})
}
