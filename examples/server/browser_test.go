package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/internal/testenv"
)

// TestBrowser drives the example server from headless Chromium with
// Playwright (browsertest/run.mjs, playwright-core from npm): the demo page
// by the contract's labels (its second factor too, with codes the script
// computes for the server's clock), the browser-session cookie, the recovery pages,
// /docs, a CORS origin on the same site, and attacker pages on another
// origin of the same site and on another site that try to use the victim's
// cookie. It needs AUTH_TEST_CHROMIUM (the browser's path), node, and
// `npm ci` run in browsertest; .ci/run provides all three.
func TestBrowser(t *testing.T) {
	chromium, node := browserTools(t)

	// The pages of other origins, each a static page the script loads:
	// the app of AUTH_CORS_ORIGINS, on the same site as the server (another
	// port of 127.0.0.1), and attackers on the same site and on another
	// site (localhost).
	app := pageServer(t, "127.0.0.1:0", "app")
	evilSameSite := pageServer(t, "127.0.0.1:0", "evil")
	evilCrossSite := pageServer(t, "localhost:0", "evil")

	e := newEnv(t, envOptions{vars: map[string]string{"AUTH_CORS_ORIGINS": app}})
	// A second server, on a host name (Chromium takes every *.localhost for
	// loopback), with an attacker's page on a sibling host.
	sibling := newEnv(t, envOptions{publicHost: "auth.test.localhost"})
	siblingEvil := pageServer(t, "evil.test.localhost:0", "evil")
	clock := clockServer(t, e.clock)
	shots := os.Getenv("AUTH_TEST_SCREENSHOTS") // a directory to keep them in; default a temporary one
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "run.mjs")
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(),
		"BASE="+e.srv.URL,
		"APP="+app,
		"EVIL_SAME_SITE="+evilSameSite,
		"EVIL_CROSS_SITE="+evilCrossSite,
		"SIBLING="+sibling.publicURL,
		"SIBLING_EVIL="+siblingEvil,
		"OUTBOX="+filepath.Join(e.dataDir, "outbox"),
		"CLOCK="+clock,
		"CHROMIUM="+chromium,
		"SCREENSHOTS="+shots,
	)
	out, err := cmd.CombinedOutput()
	for line := range strings.Lines(string(out)) {
		t.Log(strings.TrimRight(line, "\n"))
	}
	if err != nil {
		t.Fatalf("the browser tests failed: %v", err)
	}
	if !strings.Contains(string(out), "# all passed") {
		t.Fatal("the browser tests did not report")
	}
	// What the attackers sent reached the server and was refused there.
	logs := e.logs.String()
	for _, path := range []string{"/session/refresh", "/session/logout"} {
		if !strings.Contains(logs, "path="+path+" status=403") {
			t.Errorf("no refused %s in the server's log", path)
		}
	}
}

// clockServer lets the script read and move the test clock of the server
// at BASE (a test's hook, not the server's): GET / answers its time in Unix
// seconds, POST /?advance=DURATION (a time.ParseDuration) moves it
// forward first. The script computes TOTP codes itself, for that time.
func clockServer(t *testing.T, clock *authtest.Clock) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			d, err := time.ParseDuration(r.URL.Query().Get("advance"))
			if err != nil || d < 0 {
				http.Error(w, "advance=DURATION", http.StatusBadRequest)
				return
			}
			clock.Advance(d)
		}
		fmt.Fprint(w, clock.Now().Unix())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// pageServer serves browsertest/pages/NAME.html at / on addr (a loopback
// address), and returns its origin as the browser will see it: with the
// host name addr asks for ("localhost", "evil.test.localhost": Chromium
// takes them for loopback), so that it is another site than 127.0.0.1.
func pageServer(t *testing.T, addr, name string) string {
	t.Helper()
	page, err := os.ReadFile(filepath.Join("browsertest", "pages", name+".html"))
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(addr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host != "127.0.0.1" {
		return fmt.Sprintf("http://%s:%s", host, port)
	}
	return fmt.Sprintf("http://127.0.0.1:%s", port)
}

// TestPages: the server's pages and their files, as plain HTTP: each with
// its type and policy (the guard checks them), the HTML ones allowing no
// inline script; HEAD works, other methods are 405 and unknown files 404.
func TestPages(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory"})
	for _, path := range []string{"/", "/demo/app.js", "/demo/app.css", "/docs", "/docs/docs.js", "/docs/swagger-ui.css",
		"/docs/swagger-ui-bundle.js", "/docs/favicon-32x32.png", "/verify-email", "/reset-password", "/assets/link-page.js", "/assets/link-page.css"} {
		r := e.do(request{method: "GET", path: path})
		r.want(t, 200, "")
		if csp := r.header.Get("Content-Security-Policy"); strings.HasPrefix(r.header.Get("Content-Type"), "text/html") &&
			(!strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "default-src 'none'")) {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h := e.do(request{method: "HEAD", path: path}); h.status != 200 || h.raw != "" {
			t.Errorf("HEAD %s: %d %q", path, h.status, h.raw)
		}
	}
	home := e.do(request{method: "GET", path: "/"})
	for _, want := range []string{`<label for="username">Username</label>`, `<label for="email">Email</label>`, `<label for="password">Password</label>`,
		`>Sign up</button>`, `>Log in</button>`, `>Log out</button>`, `>Log out everywhere</button>`, `>Forgot password?</a>`,
		`<label for="mfa-otp-code">Authentication code</label>`, `>Verify</button>`, `>Use a recovery code</button>`,
		`<label for="mfa-recovery-code">Recovery code</label>`, `>Set up two-factor authentication</button>`,
		`<label for="mfa-password">Current password</label>`, `alt="QR code"`, `<label for="mfa-setup-code">Authentication code</label>`,
		`>Confirm</button>`} {
		if !strings.Contains(home.raw, want) {
			t.Errorf("the demo page lacks %s", want)
		}
	}
	// Its images may be data: URLs (the QR code of POST /mfa/totp), and
	// nothing else is loosened.
	if csp := home.header.Get("Content-Security-Policy"); !strings.Contains(csp, "; img-src 'self' data:; ") ||
		strings.Count(csp, "data:") != 1 || strings.Contains(csp, "unsafe") {
		t.Errorf("the demo page's CSP: %q", csp)
	}
	if strings.Contains(home.raw, "<script>") || strings.Contains(home.raw, "<style") {
		t.Error("the demo page has inline script or style")
	}
	e.do(request{method: "POST", path: "/"}).want(t, 405, "method_not_allowed")
	e.do(request{method: "POST", path: "/docs"}).want(t, 405, "method_not_allowed")
	e.do(request{method: "GET", path: "/demo/nope.js"}).want(t, 404, "not_found")
	e.do(request{method: "GET", path: "/docs/nope.js"}).want(t, 404, "not_found")
	e.do(request{method: "GET", path: "/index.html"}).want(t, 404, "not_found")
}

// TestE2ESessionWiring: the server's settings reach the session endpoints
// and CORS: AUTH_CORS_ORIGINS may preflight and use the cookie, the public
// URL's origin may use the cookie, other origins get 403 and no CORS
// headers.
func TestE2ESessionWiring(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory", vars: map[string]string{
		"AUTH_CORS_ORIGINS": "https://app.example.test, http://127.0.0.1:5173",
		"AUTH_PUBLIC_URL":   "https://auth.example.test",
	}})
	e.signup("alice", "correct horse battery")
	login := e.do(request{method: "POST", path: "/session", contentType: ctForm, body: formBody("username", "alice", "password", "correct horse battery")})
	login.want(t, 200, "")
	var cookie string
	for _, c := range (&http.Response{Header: login.header}).Cookies() {
		if c.Name == "__Host-refresh_token" {
			cookie = c.Value
		}
	}
	if cookie == "" || login.str("refresh_token") != "" || login.str("access_token") == "" {
		t.Fatalf("login: %s %v", login.raw, login.header)
	}
	withCookie := func(origin, site string) resp {
		h := http.Header{"Cookie": {"__Host-refresh_token=" + cookie}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		if site != "" {
			h.Set("Sec-Fetch-Site", site)
		}
		r := e.do(request{method: "POST", path: "/session/refresh", header: h})
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == "__Host-refresh_token" && c.Value != "" {
				cookie = c.Value
			}
		}
		return r
	}
	withCookie("https://evil.example", "cross-site").want(t, 403, "forbidden")
	withCookie("https://blog.example.test", "same-site").want(t, 403, "forbidden")
	withCookie("https://app.example.test", "same-site").want(t, 200, "")
	withCookie("https://auth.example.test", "cross-site").want(t, 200, "") // the public origin, behind a proxy
	withCookie("", "same-origin").want(t, 200, "")

	for origin, allowed := range map[string]bool{"https://app.example.test": true, "http://127.0.0.1:5173": true, "https://evil.example": false} {
		r := e.do(request{method: "OPTIONS", path: "/users/me", header: http.Header{
			"Origin": {origin}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"authorization"},
		}})
		got := r.header.Get("Access-Control-Allow-Origin")
		if allowed && (got != origin || r.header.Get("Access-Control-Allow-Credentials") != "true") || !allowed && got != "" {
			t.Errorf("preflight from %s: %d %v", origin, r.status, r.header)
		}
	}
}

// browserTools returns the paths of Chromium (AUTH_TEST_CHROMIUM) and node,
// for a browser test, which it skips (fails, in CI) when they, or
// playwright-core installed by `npm ci` in browsertest, are missing.
func browserTools(t *testing.T) (chromium, node string) {
	t.Helper()
	chromium = os.Getenv("AUTH_TEST_CHROMIUM")
	node, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join("browsertest", "node_modules", "playwright-core", "package.json"))
	if chromium == "" || nodeErr != nil || modErr != nil {
		testenv.Missing(t, "browser tests need AUTH_TEST_CHROMIUM=/usr/bin/chromium (apt install chromium), node, and `npm ci` in examples/server/browsertest")
	}
	return chromium, node
}
