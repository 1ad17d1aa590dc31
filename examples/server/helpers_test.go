package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/internal/smtptest"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/recovery"
)

// env is one running server (the real handler tree over a real store in a
// temporary directory) and a client that checks every answer it gets.
type env struct {
	t      *testing.T
	app    *app
	srv    *httptest.Server
	client *http.Client
	clock  *authtest.Clock
	secret []byte
	guard  *guard
	// logs is what the server logged.
	logs *syncBuffer
	// mail is the SMTP server of envOptions.smtp; dataDir the server's.
	mail    *smtptest.Server
	dataDir string
	// notices are the notice mails (no link) read while waiting for a
	// mail with a link, for nextNotice.
	notices []smtptest.Mail
	// publicURL is the server's AUTH_PUBLIC_URL.
	publicURL string
}

// envOptions adjusts an env.
type envOptions struct {
	// hasher is the server's; default authtest.PlainHasher, since these
	// tests exercise HTTP behaviour, not hashing: under the race detector
	// one argon2id or bcrypt hash takes seconds, and they hash hundreds of
	// times. TestE2EDefaultHasher and TestServerBinary run the default
	// argon2id.
	hasher auth.Hasher
	// addressLimits keeps the per-address limits at their defaults; without
	// it they are raised out of the way.
	addressLimits bool
	db            string // default "" (SQLite in a temporary directory)
	proxies       string
	// signingAlg, if set, is AUTH_SIGNING_ALG, and AUTH_SECRET_KEY is unset.
	signingAlg string
	// secret is AUTH_SECRET_KEY when signingAlg is not set; default
	// testSecret.
	secret string
	// dataDir is the data directory; default a new temporary one.
	dataDir string
	// vars are more environment variables for the server (AUTH_...).
	vars map[string]string
	// smtp starts a real SMTP server (a local relay) for the server's
	// mail, as env.mail; without it mail goes to DIR/outbox.
	smtp bool
	// limiter, if set, is the server's limiter; default the
	// Authenticator's own, in memory, on the test clock (Config.Limiter
	// nil).
	limiter auth.Limiter
	// sharedLimiter keeps the limiter the server picks itself (Redis with
	// AUTH_REDIS_URL, else PostgreSQL's with a PostgreSQL store), on real
	// time, rather than limiter.
	sharedLimiter bool
	// mailServer, if set, is an SMTP server already started (with a
	// Config of the test's), used as smtp's would be.
	mailServer *smtptest.Server
	// publicHost, if set, is the host name of the server's public URL,
	// with the port it listens on (a browser test reaches it by that
	// name).
	publicHost string
}

const testSecret = "e2e-test-secret-key-0123456789abcdef-ABCDEF"

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	args := []string{"-data", o.dataDir}
	if o.db != "" {
		args = append(args, "-db", o.db)
	}
	if o.proxies != "" {
		args = append(args, "-trusted-proxies", o.proxies)
	}
	secret := cmp.Or(o.secret, testSecret)
	o.vars = maps.Clone(o.vars)
	if o.vars == nil {
		o.vars = map[string]string{}
	}
	mail := o.mailServer
	if mail != nil {
		o.vars["AUTH_SMTP_URL"] = "smtp://" + mail.Addr
	}
	if o.smtp {
		mail = smtptest.Start(t, smtptest.Config{})
		o.vars["AUTH_SMTP_URL"] = "smtp://" + mail.Addr
	}
	// Listen first, so that the public URL (which mailed links start with,
	// and whose origin may use the cookie) is the server's own by default.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.publicHost != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		o.vars["AUTH_PUBLIC_URL"] = "http://" + net.JoinHostPort(o.publicHost, port)
	}
	if o.vars["AUTH_PUBLIC_URL"] == "" {
		o.vars["AUTH_PUBLIC_URL"] = "http://" + ln.Addr().String()
	}
	s, err := loadSettings(args, func(name string) string {
		switch {
		case o.signingAlg != "" && name == "AUTH_SIGNING_ALG":
			return o.signingAlg
		case o.signingAlg == "" && name == "AUTH_SECRET_KEY":
			return secret
		}
		return o.vars[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := authtest.NewClock(time.Now().UTC().Truncate(time.Second))
	if o.hasher == nil {
		o.hasher = authtest.PlainHasher{}
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	a, err := newApp(context.Background(), s, logger, func(c *auth.Config, rc *recovery.Config, _ *mfa.Config) {
		c.Passwords.Hasher = o.hasher
		c.Now = clock.Now
		if !o.sharedLimiter {
			c.Limiter = o.limiter
		}
		if !o.addressLimits {
			// The per-address limits would trip over the many failures and
			// signups these tests make from 127.0.0.1; TestE2EAddressLimit
			// and TestE2ESignupLimit check them.
			many := auth.Rate{Burst: 100_000, Interval: time.Second}
			c.Limits.LoginAddress, c.Limits.SignupAddress, rc.Limits.Address = many, many, many
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.close() })
	g := &guard{t: t, secrets: []string{secret, authtest.PlainHashPrefix, "$argon2id$", "$2a$", "$2b$", "$2y$"}}
	srv := httptest.NewUnstartedServer(a.handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	client := &http.Client{
		Transport: g.wrap(srv.Client().Transport),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, and a failure
		},
	}
	return &env{t: t, app: a, srv: srv, client: client, clock: clock, secret: []byte(secret), guard: g, logs: logs, mail: mail, dataDir: o.dataDir, publicURL: o.vars["AUTH_PUBLIC_URL"]}
}

// guard checks every answer the client receives: never a 500 (nor any 5xx
// but 503), never a redirect, JSON unless 204, and never a password, a hash
// or the secret key.
type guard struct {
	t       *testing.T
	mu      sync.Mutex
	secrets []string
	answers int
}

// secret adds s to what no answer may contain.
func (g *guard) secret(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.secrets = append(g.secrets, s)
}

func (g *guard) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		res, err := rt.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		g.check(r, res, body)
		return res, nil
	})
}

func (g *guard) check(r *http.Request, res *http.Response, body []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answers++
	where := r.Method + " " + r.URL.Path
	switch s := res.StatusCode; {
	case s >= 500 && s != http.StatusServiceUnavailable:
		g.t.Errorf("%s answered %d: %s", where, s, body)
	case s >= 300 && s < 400:
		g.t.Errorf("%s answered a redirect %d to %q", where, s, res.Header.Get("Location"))
	case s == http.StatusNoContent:
		if len(body) != 0 {
			g.t.Errorf("%s: 204 with a body", where)
		}
	case (s == http.StatusOK || s == http.StatusNotModified) && isPage(r.URL.Path):
		ct := res.Header.Get("Content-Type")
		if s == http.StatusOK && !strings.HasPrefix(ct, "text/") && !strings.HasPrefix(ct, "image/") || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			g.t.Errorf("%s: a page's file with Content-Type %q", where, ct)
		}
		if strings.HasPrefix(ct, "text/html") && res.Header.Get("Content-Security-Policy") == "" {
			g.t.Errorf("%s: a page without a Content-Security-Policy", where)
		}
	default:
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			g.t.Errorf("%s: %d with Content-Type %q", where, s, ct)
		}
		if r.Method != http.MethodHead && !json.Valid(body) {
			g.t.Errorf("%s: %d body is not JSON: %q", where, s, body)
		}
	}
	if !strings.HasPrefix(res.Header.Get("Server-Timing"), "app;dur=") {
		g.t.Errorf("%s: no Server-Timing header", where)
	}
	for _, s := range g.secrets {
		if bytes.Contains(body, []byte(s)) {
			g.t.Errorf("%s: the answer holds a secret (%.6s...): %s", where, s, body)
		}
	}
}

// isPage reports whether path is one of the pages (or their files) that
// answer with HTML, scripts, styles and images rather than JSON.
func isPage(path string) bool {
	switch path {
	case "/", "/demo/app.js", "/demo/app.css", "/docs", "/verify-email", "/reset-password", "/assets/link-page.js", "/assets/link-page.css":
		return true
	}
	return strings.HasPrefix(path, "/docs/")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// resp is an answer: status, headers, the raw body and its JSON object.
type resp struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r resp) str(name string) string { s, _ := r.body[name].(string); return s }

// request is what a test sends.
type request struct {
	method, path string
	contentType  string
	body         string
	bearer       string
	header       http.Header
}

func (e *env) do(q request) resp {
	e.t.Helper()
	r, err := http.NewRequest(q.method, e.srv.URL+q.path, strings.NewReader(q.body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range q.header {
		r.Header[k] = v
	}
	if q.contentType != "" {
		r.Header.Set("Content-Type", q.contentType)
	}
	if q.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	res, err := e.client.Do(r)
	if err != nil {
		e.t.Fatalf("%s %s: %v", q.method, q.path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

func formBody(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) signupReq(username, password string) resp {
	if len(password) >= 10 {
		// Shorter ones ("password") occur in error codes; they are refused
		// anyway.
		e.guard.secret(password)
	}
	return e.do(request{method: "POST", path: "/signup", contentType: ctJSON,
		body: jsonBody(e.t, map[string]string{"username": username, "password": password})})
}

// signup creates an account and returns its id.
func (e *env) signup(username, password string) string {
	e.t.Helper()
	r := e.signupReq(username, password)
	r.want(e.t, 201, "")
	return r.str("id")
}

func (e *env) tokenReq(kv ...string) resp {
	return e.do(request{method: "POST", path: "/token", contentType: ctForm, body: formBody(kv...)})
}

// login returns a fresh access and refresh token.
func (e *env) login(username, password string) (access, refresh string) {
	e.t.Helper()
	r := e.tokenReq("grant_type", "password", "username", username, "password", password)
	r.want(e.t, 200, "")
	return r.str("access_token"), r.str("refresh_token")
}

func (e *env) refresh(token string) resp {
	return e.tokenReq("grant_type", "refresh_token", "refresh_token", token)
}

func (e *env) me(access string) resp {
	return e.do(request{method: "GET", path: "/users/me", bearer: access})
}

// want checks the status and, if code is not empty, the error code.
func (r resp) want(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status || code != "" && r.str("error") != code {
		t.Fatalf("got %d %s; want %d %s", r.status, r.raw, status, code)
	}
	if code != "" && r.str("error_description") == "" {
		t.Errorf("error %s without a description", code)
	}
}

// forge signs claims with the test secret under header, base64url-encoding
// both as given.
func (e *env) forge(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(claims))
	m := hmac.New(sha256.New, e.secret)
	m.Write([]byte(signing))
	return signing + "." + enc(m.Sum(nil))
}

// decodeSegment decodes one segment of a JWT into a map.
func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
