package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/goauthkit/auth/internal/smtptest"
)

// The end-to-end tests of the contract's "Sign in with another provider:
// OpenID Connect (v3)", over HTTP against a real OpenID provider
// (oidc_provider_test.go), on every store: a browser (a cookie jar, each
// redirect followed by hand) goes from GET /login/zitadel to the
// provider, logs in at its login form as a browser would (posting its
// fields), and comes back to the callback.

// providerPassword is every provider account's password at the provider.
const providerPassword = "the provider account's password"

// sessionCookie is the browser session's refresh cookie (see "Browsers").
const sessionCookie = "__Host-refresh_token"

// oidcStores are the stores these tests run on: memory, SQLite and
// PostgreSQL (passkeyStores).
func oidcStores(t *testing.T) map[string]func(*testing.T) string { return passkeyStores(t) }

// oidcEnv is a server whose provider zitadel is p.
type oidcEnv struct {
	*env
	p *testProvider
}

// newOIDCEnv starts a provider and a server on the store db that signs in
// through it (providerEnv).
func newOIDCEnv(t *testing.T, db string, po providerOptions, o envOptions) *oidcEnv {
	t.Helper()
	p := startProvider(t, po)
	return &oidcEnv{env: providerEnv(t, p, db, o), p: p}
}

// user adds an account to the provider: sub is its subject, name its
// login name and preferred_username.
func (e *oidcEnv) user(sub, name, email string, verified bool) {
	e.p.addUser(storage.User{ID: sub, Username: name, Password: providerPassword, Email: email, EmailVerified: verified,
		FirstName: "Test", LastName: name})
}

// catchUp moves the server's clock (a test clock, still unless moved) to
// the real time if it is behind: the provider dates its ID tokens by the
// real clock, and the server refuses one issued later than its now (with
// 30 s of leeway), which a slow run would otherwise reach.
func (e *env) catchUp() {
	if d := time.Since(e.clock.Now()); d > 0 {
		e.clock.Advance(d)
	}
}

// browser is a browser: its cookies, and no redirect followed unless the
// test does.
type browser struct {
	t      *testing.T
	e      *oidcEnv
	jar    *cookiejar.Jar
	client *http.Client
}

func (e *oidcEnv) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, e: e, jar: jar, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is what the browser got: the answer, and its Location resolved
// against the request's URL.
type page struct {
	resp
	location string
}

// send sends r, with the browser's cookies.
func (b *browser) send(r *http.Request) page {
	b.t.Helper()
	res, err := b.client.Do(r)
	if err != nil {
		b.t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	pg := page{resp: resp{status: res.StatusCode, header: res.Header, raw: string(raw)}}
	_ = json.Unmarshal(raw, &pg.body)
	if loc := res.Header.Get("Location"); loc != "" {
		u, err := r.URL.Parse(loc)
		if err != nil {
			b.t.Fatalf("%s %s: Location %q: %v", r.Method, r.URL, loc, err)
		}
		pg.location = u.String()
	}
	if res.StatusCode >= 500 && res.StatusCode != http.StatusBadGateway && res.StatusCode != http.StatusServiceUnavailable {
		b.t.Errorf("%s %s answered %d: %s", r.Method, r.URL, res.StatusCode, raw)
	}
	return pg
}

// get opens u, as a link or an address typed.
func (b *browser) get(u string) page {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(r)
}

// call is a request of the server's page to the server (same origin),
// with a body of type ct and an access token if bearer is not "".
func (b *browser) call(method, path, ct, body, bearer string) page {
	b.t.Helper()
	r, err := http.NewRequest(method, b.e.publicURL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Origin", b.e.publicURL)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return b.send(r)
}

// cookie is the browser's cookie name for the server's URL path, or "".
func (b *browser) cookie(path, name string) string {
	u, _ := url.Parse(b.e.publicURL + path)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// begin opens GET /login/zitadel and returns where it sends the browser:
// the provider's authorization endpoint.
func (b *browser) begin() string {
	b.t.Helper()
	pg := b.get(b.e.publicURL + "/login/zitadel")
	if pg.status != http.StatusFound || !strings.HasPrefix(pg.location, b.e.p.issuer+"/auth?") {
		b.t.Fatalf("GET /login/zitadel: %d to %q, want 302 to the provider's authorization endpoint", pg.status, pg.location)
	}
	if b.cookie("/login/zitadel/callback", attemptCookie) == "" {
		b.t.Fatalf("GET /login/zitadel set no attempt cookie: %v", pg.header.Values("Set-Cookie"))
	}
	return pg.location
}

// attemptCookie binds an attempt to its browser.
const attemptCookie = "oidc_attempt"

var (
	formAction = regexp.MustCompile(`<form method="POST" action="([^"]+)"`)
	formID     = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]+)">`)
)

// atProvider opens the provider's authorization URL authURL, logs in at
// its login form as name (with providerPassword), and returns the URL the
// provider sends the browser back to: the server's callback, not opened.
func (b *browser) atProvider(authURL, name string) string {
	b.t.Helper()
	pg := b.get(authURL)
	if pg.status != http.StatusFound || !strings.HasPrefix(pg.location, b.e.p.issuer+"/login/username?") {
		b.t.Fatalf("the provider's authorization endpoint: %d to %q %s", pg.status, pg.location, pg.raw)
	}
	login := pg.location
	pg = b.get(login)
	action, id := formAction.FindStringSubmatch(pg.raw), formID.FindStringSubmatch(pg.raw)
	if pg.status != http.StatusOK || action == nil || id == nil {
		b.t.Fatalf("the provider's login page: %d %s", pg.status, pg.raw)
	}
	base, _ := url.Parse(login)
	target, err := base.Parse(action[1])
	if err != nil {
		b.t.Fatal(err)
	}
	form := url.Values{"id": {id[1]}, "username": {name}, "password": {providerPassword}}
	r, err := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", ctForm)
	pg = b.send(r)
	if pg.status != http.StatusFound {
		b.t.Fatalf("logging in at the provider as %s: %d %s", name, pg.status, pg.raw)
	}
	pg = b.get(pg.location)
	if pg.status != http.StatusFound || !strings.HasPrefix(pg.location, b.e.publicURL+"/login/zitadel/callback?") {
		b.t.Fatalf("the provider's redirect back: %d to %q %s", pg.status, pg.location, pg.raw)
	}
	return pg.location
}

// callback opens the callback URL u, the clock caught up first, as the
// provider's redirect does: a top-level cross-site GET.
func (b *browser) callback(u string) page {
	b.t.Helper()
	b.e.catchUp()
	r, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	r.Header.Set("Sec-Fetch-Dest", "document")
	return b.send(r)
}

// signIn signs in through the provider as name, and returns the access
// token of the session it started (POST /session/refresh with its
// cookie).
func (b *browser) signIn(name string) string {
	b.t.Helper()
	b.wantSignedIn(b.callback(b.atProvider(b.begin(), name)))
	return b.refresh()
}

// refresh is POST /session/refresh with the browser's cookie: its access
// token.
func (b *browser) refresh() string {
	b.t.Helper()
	pg := b.call(http.MethodPost, "/session/refresh", "", "", "")
	pg.want(b.t, http.StatusOK, "")
	if pg.str("access_token") == "" || pg.str("refresh_token") != "" {
		b.t.Fatalf("POST /session/refresh: %s", pg.raw)
	}
	return pg.str("access_token")
}

// wantSignedIn checks a callback that signed the browser in: 302 to the
// public URL's /, the session cookie set (as POST /session sets it), the
// attempt cookie cleared.
func (b *browser) wantSignedIn(pg page) {
	b.t.Helper()
	if pg.status != http.StatusFound || pg.location != b.e.publicURL+"/" {
		b.t.Fatalf("the callback: %d to %q %s, want 302 to %s/", pg.status, pg.location, pg.raw, b.e.publicURL)
	}
	session := setCookie(pg.header, sessionCookie)
	if session == nil || session.Value == "" || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		b.t.Fatalf("the callback's session cookie: %v", pg.header.Values("Set-Cookie"))
	}
	if setCookie(pg.header, "__Host-device") == nil {
		b.t.Fatalf("the callback set no device cookie: %v", pg.header.Values("Set-Cookie"))
	}
	b.wantAttemptCleared(pg)
}

// wantLinked checks a callback that linked: 302 to the public URL's /,
// and no login changed (no session cookie).
func (b *browser) wantLinked(pg page) {
	b.t.Helper()
	if pg.status != http.StatusFound || pg.location != b.e.publicURL+"/" {
		b.t.Fatalf("the link's callback: %d to %q %s, want 302 to %s/", pg.status, pg.location, pg.raw, b.e.publicURL)
	}
	if setCookie(pg.header, sessionCookie) != nil {
		b.t.Fatalf("a link's callback set the session cookie: %v", pg.header.Values("Set-Cookie"))
	}
	b.wantAttemptCleared(pg)
}

func (b *browser) wantAttemptCleared(pg page) {
	b.t.Helper()
	if c := setCookie(pg.header, attemptCookie); c == nil || c.MaxAge >= 0 || c.Path != "/login/" {
		b.t.Fatalf("the callback did not clear the attempt cookie: %v", pg.header.Values("Set-Cookie"))
	}
}

// wantFailure checks the failure page: status, an HTML page saying the
// sign-in failed with a link back to /, and nobody signed in.
func (b *browser) wantFailure(pg page, status int) {
	b.t.Helper()
	if pg.status != status || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(pg.raw, "Sign-in failed") || !strings.Contains(pg.raw, `href="/"`) {
		b.t.Fatalf("got %d %q %s, want the failure page with %d", pg.status, pg.header.Get("Content-Type"), pg.raw, status)
	}
	if pg.header.Get("Content-Security-Policy") == "" || pg.header.Get("Cache-Control") != "no-store" {
		b.t.Errorf("the failure page's headers: %v", pg.header)
	}
	if setCookie(pg.header, sessionCookie) != nil {
		b.t.Fatalf("a failed callback set the session cookie: %v", pg.header.Values("Set-Cookie"))
	}
	if pg.status != http.StatusMethodNotAllowed {
		b.wantAttemptCleared(pg)
	}
}

// setCookie is the cookie name that header sets, or nil.
func setCookie(header http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// wantClaims checks access: the user userID's, signed in through a provider
// (amr exactly methods), at the server's now.
func (e *oidcEnv) wantClaims(access, userID string, methods ...string) {
	e.t.Helper()
	c := claims(e.t, access)
	var amr []string
	for _, m := range c["amr"].([]any) {
		amr = append(amr, m.(string))
	}
	if userID != "" && c["sub"] != userID || !slices.Equal(amr, methods) || c["auth_time"] != float64(e.clock.Now().Unix()) {
		e.t.Fatalf("claims %v, want sub %s, amr %v, auth_time %d", c, userID, methods, e.clock.Now().Unix())
	}
}

// identities is GET /identities of access: provider → the identity.
func (e *oidcEnv) identities(access string) map[string]map[string]any {
	e.t.Helper()
	r := e.do(request{method: "GET", path: "/identities", bearer: access})
	r.want(e.t, http.StatusOK, "")
	list, ok := r.body["identities"].([]any)
	if !ok || len(r.body) != 1 {
		e.t.Fatalf("GET /identities: %s", r.raw)
	}
	out := map[string]map[string]any{}
	for _, it := range list {
		id, _ := it.(map[string]any)
		if len(id) != 4 {
			e.t.Fatalf("GET /identities: an identity %v", id)
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(id["linked_at"])); err != nil {
			e.t.Fatalf("GET /identities: linked_at %v", id["linked_at"])
		}
		out[fmt.Sprint(id["provider"])] = id
	}
	return out
}

// wantIdentity checks that access's user has exactly one identity, at
// zitadel, of the provider account sub, with email (nil for none).
func (e *oidcEnv) wantIdentity(access, sub string, email any) {
	e.t.Helper()
	ids := e.identities(access)
	id := ids["zitadel"]
	if len(ids) != 1 || id["subject"] != sub || id["email"] != email {
		e.t.Fatalf("GET /identities: %v, want zitadel's %s (email %v)", ids, sub, email)
	}
}

func (e *oidcEnv) unlink(access string) resp {
	return e.do(request{method: "DELETE", path: "/identities/zitadel", bearer: access})
}

// link is POST /identities/zitadel/link from b, with access: the URL.
func (b *browser) link(access string) string {
	b.t.Helper()
	pg := b.call(http.MethodPost, "/identities/zitadel/link", "", "", access)
	pg.want(b.t, http.StatusOK, "")
	if len(pg.body) != 1 || !strings.HasPrefix(pg.str("url"), b.e.p.issuer+"/auth?") {
		b.t.Fatalf("POST /identities/zitadel/link: %s", pg.raw)
	}
	c := setCookie(pg.header, attemptCookie)
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/login/" || c.MaxAge != 600 {
		b.t.Fatalf("POST /identities/zitadel/link: the attempt cookie %v", pg.header.Values("Set-Cookie"))
	}
	return pg.str("url")
}

// mailLink is a link of a mail of the server at its public URL.
var mailLink = regexp.MustCompile(`^http://localhost:[0-9]+/(?:verify-email|reset-password)\?token=([A-Za-z0-9_-]+)$`)

// mailedToken waits for the next mail with a link, checks it went to to,
// and returns the token of its link (nextLink's, for a server whose public
// URL is http://localhost:PORT).
func (e *env) mailedToken(to string) string {
	e.t.Helper()
	m, ok := e.nextMail(10 * time.Second)
	if !ok || len(m.To) != 1 || m.To[0] != to {
		e.t.Fatalf("no mail to %s (%v)", to, m.To)
	}
	text, _, err := smtptest.TextPart(m.Data)
	if err != nil {
		e.t.Fatal(err)
	}
	for line := range strings.Lines(text) {
		if g := mailLink.FindStringSubmatch(strings.TrimSpace(line)); g != nil {
			e.guard.secret(g[1])
			return g[1]
		}
	}
	e.t.Fatalf("no link in the mail's text:\n%s", text)
	return ""
}

// verifiedHere signs up name with the email name@example.com and verifies
// it (verified's, for a server whose public URL is http://localhost:PORT).
func (e *env) verifiedHere(name string) {
	e.t.Helper()
	e.signupReq2(name, name+"'s long password", name+"@example.com").want(e.t, 201, "")
	e.post("/email/verify", `{"token":"`+e.mailedToken(name+"@example.com")+`"}`, "").want(e.t, 204, "")
}

// events are the server's audit lines of event.
func (e *env) events(event string) []string {
	var out []string
	for l := range strings.Lines(e.logs.String()) {
		if strings.Contains(l, "event="+event+" ") {
			out = append(out, l)
		}
	}
	return out
}

// TestE2EOIDCSignIn: the providers' list, the redirect to the provider,
// and a new account signed in through it and again: named by
// preferred_username, its email verified, no password, amr ["fed"], its
// identity listed and kept as its last way in.
func TestE2EOIDCSignIn(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{})
			e.user("carol-sub", "Carol", "carol@example.com", true)

			r := e.do(request{method: "GET", path: "/login/providers"})
			r.want(t, 200, "")
			if strings.TrimSpace(r.raw) != `{"providers":[{"name":"zitadel","label":"Zitadel"}]}` {
				t.Fatalf("GET /login/providers: %s", r.raw)
			}

			// The redirect: the code flow with state, nonce and PKCE (S256),
			// fresh each time, to the redirect URI of the public URL, with
			// the attempt cookie; nothing of the request changes where it
			// goes.
			b := e.browser()
			first := b.begin()
			res := b.get(e.publicURL + "/login/zitadel?redirect_uri=https%3A%2F%2Fevil.example%2F&state=x&nonce=y&issuer=https%3A%2F%2Fevil.example")
			if res.status != http.StatusFound || res.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("GET /login/zitadel: %d %v", res.status, res.header)
			}
			c := setCookie(res.header, attemptCookie)
			if c == nil || c.Value == "" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/login/" || c.MaxAge != 600 {
				t.Fatalf("the attempt cookie: %v", res.header.Values("Set-Cookie"))
			}
			var seen []url.Values
			for _, loc := range []string{first, res.location} {
				u, _ := url.Parse(loc)
				q := u.Query()
				if u.Scheme+"://"+u.Host != e.p.issuer || q.Get("response_type") != "code" || q.Get("client_id") != "goauthkit-e2e" ||
					q.Get("redirect_uri") != e.publicURL+"/login/zitadel/callback" || q.Get("scope") != "openid email profile" ||
					q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
					len(q.Get("state")) < 22 || len(q.Get("nonce")) < 22 || strings.Contains(loc, "evil") {
					t.Fatalf("GET /login/zitadel sent the browser to %s", loc)
				}
				for _, p := range seen {
					for _, k := range []string{"state", "nonce", "code_challenge"} {
						if p.Get(k) == q.Get(k) {
							t.Fatalf("two attempts with one %s", k)
						}
					}
				}
				seen = append(seen, q)
			}
			e.do(request{method: "GET", path: "/login/nope"}).want(t, 404, "not_found")
			doc := e.do(request{method: "GET", path: "/openapi.json"})
			doc.want(t, 200, "")
			paths, _ := doc.body["paths"].(map[string]any)
			for _, p := range []string{"/login/providers", "/login/{provider}", "/login/{provider}/callback", "/identities", "/identities/{provider}", "/identities/{provider}/link"} {
				if paths[p] == nil {
					t.Errorf("/openapi.json has no %s", p)
				}
			}

			// A new account: named by preferred_username, with the
			// provider's verified email, verified, and no password.
			b = e.browser()
			access := b.signIn("Carol")
			me := e.me(access)
			me.want(t, 200, "")
			id := me.str("id")
			if me.str("username") != "carol" || me.str("email") != "carol@example.com" || me.body["email_verified"] != true {
				t.Fatalf("the new account: %s", me.raw)
			}
			e.wantClaims(access, id, "fed")
			e.tokenReq("grant_type", "password", "username", "carol", "password", providerPassword).want(t, 400, "invalid_grant")
			e.wantIdentity(access, "carol-sub", "carol@example.com")

			// The same provider account again, in another browser: the same
			// account, a login of its own.
			e.clock.Advance(time.Minute)
			again := e.browser().signIn("Carol")
			e.wantClaims(again, id, "fed")
			sessions := e.do(request{method: "GET", path: "/sessions", bearer: again})
			sessions.want(t, 200, "")
			if list, _ := sessions.body["sessions"].([]any); len(list) != 2 {
				t.Fatalf("GET /sessions: %s", sessions.raw)
			}
			// A refresh keeps the login's amr and auth_time.
			refreshed := b.refresh()
			if c := claims(t, refreshed); fmt.Sprint(c["amr"]) != "[fed]" || c["auth_time"] != claims(t, access)["auth_time"] {
				t.Fatalf("a refresh's claims: %v", c)
			}

			// Its last way in stays.
			e.unlink(again).want(t, 409, "last_credential")
			e.wantIdentity(again, "carol-sub", "carol@example.com")
			e.do(request{method: "DELETE", path: "/identities/nope", bearer: again}).want(t, 404, "not_found")
			e.do(request{method: "GET", path: "/identities"}).want(t, 401, "")

			if got := e.events("oidc_sign_in"); len(got) != 2 || !strings.Contains(got[0], "reason=created") || !strings.Contains(got[1], "reason=linked") {
				t.Errorf("the sign-in events: %q", got)
			}
		})
	}
}

// TestE2EOIDCUsernames: a new account's name is preferred_username when
// that is a valid, free username, else the email's local part made valid,
// else "user", made unique by a suffix; its email is kept only when the
// provider verified it and no account has it.
func TestE2EOIDCUsernames(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{})
			e.signup("frank", "frank's long password")
			e.signupReq2("taken", "taken's long password", "taken@example.com").want(t, 201, "")
			for _, c := range []struct {
				sub, name, email string
				verified         bool
				want             string
				wantEmail        any
			}{
				{"s1", "Grace", "grace@example.com", true, "grace", "grace@example.com"},
				{"s2", "Zoë Smith", "Zoe.Smith@Example.COM", true, "zoe.smith", "zoe.smith@example.com"},
				{"s3", "frank", "frank@example.org", false, "frank2", nil},
				{"s4", "x", "", true, "user", nil},
				{"s5", "y", "", false, "user2", nil},
				{"s6", "ivan", "ivan@example.com", false, "ivan", nil},
				{"s7", "judy", "taken@example.com", false, "judy", nil},
				{"s8", "GRACE", "grace@example.net", true, "grace2", "grace@example.net"}, // "grace" once normalised
				{"s9", "!!", "k@example.com", true, "user3", "k@example.com"},
			} {
				e.user(c.sub, c.name, c.email, c.verified)
				access := e.browser().signIn(c.name)
				me := e.me(access)
				if me.str("username") != c.want || me.body["email"] != c.wantEmail || me.body["email_verified"] != (c.wantEmail != nil) {
					t.Errorf("%s (%s, %s): the new account %s, want %s with email %v", c.sub, c.name, c.email, me.raw, c.want, c.wantEmail)
				}
			}
		})
	}
}

// TestE2EOIDCUserinfoOnly: the claims are the ID token's, as the contract
// says; a provider that gives them at its UserInfo endpoint only (the
// zitadel example's default, and Zitadel's unless "User Info inside ID
// Token" is on) signs in accounts named "user", without an email, and
// never finds an account by its email.
func TestE2EOIDCUserinfoOnly(t *testing.T) {
	e := newOIDCEnv(t, "memory", providerOptions{userinfoOnly: true}, envOptions{smtp: true})
	e.verifiedHere("olga")
	e.user("s1", "olga", "olga@example.com", true)
	me := e.me(e.browser().signIn("olga"))
	if me.str("username") != "user" || me.body["email"] != nil || me.str("id") == e.id("olga") {
		t.Fatalf("the account: %s", me.raw)
	}
}

// TestE2EOIDCTakeover: an attacker registers the victim's address with a
// password (never proven) and keeps a login, a second factor, a passkey
// and a pending email change; the victim, whom the provider vouches for
// (email verified), signs in through it: the victim lands in that
// account, its email verified, and the attacker keeps no way in.
func TestE2EOIDCTakeover(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{smtp: true})
			const pw = "mallory's long password"
			e.signupReq2("mallory", pw, "victim@example.com").want(t, 201, "")
			e.mailedToken("victim@example.com") // the verification mail, never opened
			first, firstRefresh := e.login("mallory", pw)
			accountID := e.me(first).str("id")
			key := e.authenticator()
			e.addPasskey(key, first, "mallory's")
			r := e.post("/mfa/totp", `{"password":"`+pw+`"}`, first)
			r.want(t, 200, "")
			secret := r.str("secret")
			r = e.post("/mfa/totp/confirm", `{"code":"`+e.totpCode(secret, 0)+`"}`, first)
			r.want(t, 200, "")
			e.clock.Advance(30 * time.Second)
			r = e.mfaLogin(mfaUser{name: "mallory", password: pw, secret: secret})
			r.want(t, 200, "")
			access, refresh := r.str("access_token"), r.str("refresh_token")
			e.post("/email/change", `{"password":"`+pw+`","new_email":"mallory@evil.example"}`, access).wantAccepted(t)
			change := e.mailedToken("mallory@evil.example")

			e.user("victim-sub", "victim", "victim@example.com", true)
			b := e.browser()
			victim := b.signIn("victim") // no second factor asked: the attacker's is gone
			e.wantClaims(victim, accountID, "fed")
			me := e.me(victim)
			if me.str("email") != "victim@example.com" || me.body["email_verified"] != true {
				t.Fatalf("the reclaimed account: %s", me.raw)
			}
			e.wantIdentity(victim, "victim-sub", "victim@example.com")

			// The attacker keeps no way in.
			e.tokenReq("grant_type", "password", "username", "mallory", "password", pw).want(t, 400, "invalid_grant")
			e.tokenReq("grant_type", "password", "username", "victim@example.com", "password", pw).want(t, 400, "invalid_grant")
			for _, login := range [][2]string{{first, firstRefresh}, {access, refresh}} {
				e.refresh(login[1]).want(t, 400, "invalid_grant")
				e.me(login[0]).want(t, 401, "invalid_token")
			}
			e.passkeyLogin(key).wantRefused(t, true)
			e.post("/email/verify", `{"token":"`+change+`"}`, "").want(t, 400, "invalid_grant")
			if r := e.do(request{method: "GET", path: "/mfa", bearer: victim}); r.body["totp"] != false || r.body["recovery_codes_left"] != float64(0) || r.body["passkeys"] != float64(0) {
				t.Fatalf("GET /mfa after the reclaim: %s", r.raw)
			}
			if me := e.me(victim); me.str("email") != "victim@example.com" {
				t.Fatalf("the account after the old email change link: %s", me.raw)
			}
			// The victim's login goes on; the account is the victim's.
			e.wantClaims(b.refresh(), accountID, "fed")
			if got := e.events("oidc_sign_in"); len(got) != 1 || !strings.Contains(got[0], "reason=reclaimed") {
				t.Errorf("the sign-in events: %q", got)
			}
		})
	}
}

// TestE2EOIDCVerifiedEmail: a provider account whose verified email is
// that of an account whose email was proven is linked to it, which keeps
// its password; an unverified email at the provider finds nobody.
func TestE2EOIDCVerifiedEmail(t *testing.T) {
	e := newOIDCEnv(t, "memory", providerOptions{}, envOptions{smtp: true})
	e.verifiedHere("paula")
	e.user("paula-unverified", "paula2", "paula@example.com", false)
	other := e.browser().signIn("paula2")
	if me := e.me(other); me.str("id") == e.id("paula") || me.body["email"] != nil {
		t.Fatalf("an unverified email found an account: %s", me.raw)
	}
	e.user("paula-sub", "paula-at-provider", "Paula@Example.com", true)
	access := e.browser().signIn("paula-at-provider")
	e.wantClaims(access, e.id("paula"), "fed")
	e.wantIdentity(access, "paula-sub", "paula@example.com")
	e.login("paula", "paula's long password")
	// With a password, the identity may go.
	e.unlink(access).want(t, 204, "")
	if ids := e.identities(access); len(ids) != 0 {
		t.Fatalf("GET /identities after the unlink: %v", ids)
	}
	e.unlink(access).want(t, 404, "not_found")

	// A new account's email, verified by the provider, is verified: no
	// link is mailed to prove it.
	e.user("quinn-sub", "quinn", "quinn@example.com", true)
	quinn := e.browser().signIn("quinn")
	e.post("/email/verify/resend", "", quinn).want(t, 409, "nothing_to_verify")
	e.noMail()
}

// TestE2EOIDCSecondFactor: a user with TOTP on who signs in through a
// provider ends on the demo page in its second-factor step
// (/#mfa_token=…, never in a query), and POST /session/mfa with a code
// signs in with amr fed, otp, mfa.
func TestE2EOIDCSecondFactor(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{})
			e.user("tina-sub", "tina", "tina@example.com", true)
			access := e.browser().signIn("tina")
			id := claims(t, access)["sub"].(string)
			// Without a password, a recent login is what enrolment asks.
			r := e.post("/mfa/totp", `{}`, access)
			r.want(t, 200, "")
			secret := r.str("secret")
			e.post("/mfa/totp/confirm", `{"code":"`+e.totpCode(secret, 0)+`"}`, access).want(t, 200, "")
			e.clock.Advance(30 * time.Second)

			b := e.browser()
			pg := b.callback(b.atProvider(b.begin(), "tina"))
			token, ok := strings.CutPrefix(pg.location, e.publicURL+"/#mfa_token=")
			if pg.status != http.StatusFound || !ok || token == "" || strings.Contains(pg.location, "?") {
				t.Fatalf("the callback of a user with TOTP: %d to %q", pg.status, pg.location)
			}
			if setCookie(pg.header, sessionCookie) != nil {
				t.Fatalf("the callback signed in before the second factor: %v", pg.header.Values("Set-Cookie"))
			}
			b.wantAttemptCleared(pg)
			token, err := url.QueryUnescape(token)
			if err != nil {
				t.Fatal(err)
			}
			b.call(http.MethodPost, "/session/mfa", ctForm, formBody("mfa_token", token, "otp", e.totpCode(secret, -10)), "").want(t, 400, "invalid_grant")
			pg = b.call(http.MethodPost, "/session/mfa", ctForm, formBody("mfa_token", token, "otp", e.totpCode(secret, 0)), "")
			pg.want(t, 200, "")
			if setCookie(pg.header, sessionCookie) == nil || pg.str("refresh_token") != "" {
				t.Fatalf("POST /session/mfa: %v %s", pg.header, pg.raw)
			}
			e.wantClaims(pg.str("access_token"), id, "fed", "otp", "mfa")
			e.wantClaims(b.refresh(), id, "fed", "otp", "mfa")
			b.call(http.MethodPost, "/session/mfa", ctForm, formBody("mfa_token", token, "otp", e.totpCode(secret, 1)), "").want(t, 400, "invalid_grant")
		})
	}
}

// TestE2EOIDCLink: POST /identities/zitadel/link from a recent login, the
// provider's flow in the same browser, then sign-in through the provider
// account linked; the refusals (an older login, another browser, a
// provider account that is another user's, a second identity at the
// provider), and the unlink of an account that has a password.
func TestE2EOIDCLink(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{})
			e.user("henry-sub", "henry-p", "", false)
			e.user("carol-sub", "carol", "carol@example.com", true)
			e.user("spare-sub", "spare", "", false)
			henryID := e.signup("henry", "henry's long password")
			access, _ := e.login("henry", "henry's long password")

			// Opened in another browser, the link's URL fails, and links
			// nothing.
			b := e.browser()
			u := b.link(access)
			e.browser().wantFailure(e.browser().callback(e.browser().atProvider(u, "henry-p")), 400)
			if ids := e.identities(access); len(ids) != 0 {
				t.Fatalf("GET /identities: %v", ids)
			}

			// A link begun before the user's logins were ended (here, logout
			// everywhere from another device) is refused.
			begun := b.link(access)
			fresh, _ := e.login("henry", "henry's long password")
			e.post("/logout/all", "", fresh).want(t, 204, "")
			b.wantFailure(b.callback(b.atProvider(begun, "henry-p")), 400)
			access, _ = e.login("henry", "henry's long password")
			if ids := e.identities(access); len(ids) != 0 {
				t.Fatalf("GET /identities: %v", ids)
			}

			// In the same browser, it links, and changes no login.
			b.wantLinked(b.callback(b.atProvider(b.link(access), "henry-p")))
			e.wantIdentity(access, "henry-sub", nil)
			e.me(access).want(t, 200, "")
			signedIn := e.browser().signIn("henry-p")
			e.wantClaims(signedIn, henryID, "fed")
			e.login("henry", "henry's long password")

			// A second identity at the provider: refused, nothing changed.
			b.wantFailure(b.callback(b.atProvider(b.link(access), "spare")), 400)
			e.wantIdentity(access, "henry-sub", nil)

			// A provider account that is another user's: refused.
			carol := e.browser().signIn("carol")
			other := e.signup("other", "other's long password")
			otherAccess, _ := e.login("other", "other's long password")
			pg := b.callback(b.atProvider(b.link(otherAccess), "carol"))
			b.wantFailure(pg, 400)
			if !strings.Contains(pg.raw, "linked to another account") {
				t.Errorf("the failure page: %s", pg.raw)
			}
			if ids := e.identities(otherAccess); len(ids) != 0 {
				t.Fatalf("GET /identities of other: %v", ids)
			}
			e.wantIdentity(carol, "carol-sub", "carol@example.com")
			if c := claims(t, e.browser().signIn("carol")); c["sub"] == other {
				t.Fatal("carol's provider account signed in other")
			}

			// A link needs a login less than 5 minutes old.
			e.clock.Advance(5 * time.Minute)
			pg = b.call(http.MethodPost, "/identities/zitadel/link", "", "", otherAccess)
			pg.want(t, 401, "insufficient_user_authentication")
			if got := pg.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_user_authentication"`) {
				t.Fatalf("WWW-Authenticate %q", got)
			}
			if setCookie(pg.header, attemptCookie) != nil {
				t.Fatalf("a refused link set the attempt cookie: %v", pg.header.Values("Set-Cookie"))
			}
			b.call(http.MethodPost, "/identities/zitadel/link", "", "", "").want(t, 401, "")
			fresh, _ = e.login("other", "other's long password")
			b.call(http.MethodPost, "/identities/nope/link", "", "", fresh).want(t, 404, "not_found")

			// Henry has a password: the identity may go; the provider
			// account then signs in an account of its own.
			e.unlink(access).want(t, 204, "")
			if ids := e.identities(access); len(ids) != 0 {
				t.Fatalf("GET /identities after the unlink: %v", ids)
			}
			if c := claims(t, e.browser().signIn("henry-p")); c["sub"] == henryID {
				t.Fatal("an unlinked provider account signed henry in")
			}
			if got := e.events("oidc_unlinked"); len(got) != 1 {
				t.Errorf("the unlink events: %q", got)
			}
		})
	}
}

// TestE2EOIDCCallbackRefused: the callback's refusals, each the failure
// page (400) signing nobody in: a tampered state, no attempt cookie (another
// browser), another browser's attempt, a replayed callback, an expired
// attempt, the provider's error, a code the provider refuses; and 502 when
// the provider cannot be reached at the code exchange.
func TestE2EOIDCCallbackRefused(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{})
			e.user("sub", "uma", "uma@example.com", true)
			with := func(raw string, kv ...string) string {
				u, _ := url.Parse(raw)
				q := u.Query()
				for i := 0; i < len(kv); i += 2 {
					if kv[i+1] == "" {
						q.Del(kv[i])
					} else {
						q.Set(kv[i], kv[i+1])
					}
				}
				u.RawQuery = q.Encode()
				return u.String()
			}
			state := func(raw string) string { u, _ := url.Parse(raw); return u.Query().Get("state") }

			// A tampered state.
			b := e.browser()
			cb := b.atProvider(b.begin(), "uma")
			b.wantFailure(b.callback(with(cb, "state", flipChar(state(cb)))), 400)
			b.wantFailure(b.callback(cb), 400) // the attempt cookie is gone with the failure

			// No attempt cookie: another browser; the attempt's own browser
			// still finishes it.
			b = e.browser()
			cb = b.atProvider(b.begin(), "uma")
			other := e.browser()
			other.wantFailure(other.callback(cb), 400)
			b.wantSignedIn(b.callback(cb))
			// Another browser, with an attempt of its own.
			b = e.browser()
			cb = b.atProvider(b.begin(), "uma")
			thief := e.browser()
			thief.begin()
			thief.wantFailure(thief.callback(cb), 400)

			// A replayed callback: in the same browser (its cookie cleared),
			// and with the cookie kept.
			b = e.browser()
			cb = b.atProvider(b.begin(), "uma")
			binding := b.cookie("/login/zitadel/callback", attemptCookie)
			b.wantSignedIn(b.callback(cb))
			b.wantFailure(b.callback(cb), 400)
			replay, err := http.NewRequest(http.MethodGet, cb, nil)
			if err != nil {
				t.Fatal(err)
			}
			replay.AddCookie(&http.Cookie{Name: attemptCookie, Value: binding})
			e.catchUp()
			res, err := http.DefaultTransport.RoundTrip(replay)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 400 || setCookie(res.Header, sessionCookie) != nil {
				t.Fatalf("a replayed callback with its cookie: %d %v", res.StatusCode, res.Header)
			}

			// The provider's error (the user declined), for a live attempt.
			b = e.browser()
			auth := b.begin()
			b.wantFailure(b.callback(e.publicURL+"/login/zitadel/callback?error=access_denied&state="+url.QueryEscape(state(auth))), 400)
			// A code the provider refuses at the exchange.
			b = e.browser()
			cb = b.atProvider(b.begin(), "uma")
			b.wantFailure(b.callback(with(cb, "code", "not-the-code")), 400)
			// No code.
			b = e.browser()
			cb = b.atProvider(b.begin(), "uma")
			b.wantFailure(b.callback(with(cb, "code", "")), 400)
			// An attempt older than 10 minutes.
			b = e.browser()
			cb = b.atProvider(b.begin(), "uma")
			e.clock.Advance(10 * time.Minute)
			b.wantFailure(b.callback(cb), 400)
			// The callback of no provider; another method.
			b = e.browser()
			b.wantFailure(b.callback(e.publicURL+"/login/nope/callback?code=x&state=y"), 404)
			post := b.call(http.MethodPost, "/login/zitadel/callback", ctForm, "code=x&state=y", "")
			if post.status != http.StatusMethodNotAllowed {
				t.Fatalf("POST to the callback: %d %s", post.status, post.raw)
			}
			if got := e.events("oidc_sign_in"); len(got) != 2 {
				t.Fatalf("sign-ins: %q", got)
			}
			refused := strings.Join(e.events("oidc_refused"), "")
			for _, reason := range []string{"attempt", "provider_error", "exchange"} {
				if !strings.Contains(refused, "reason="+reason) {
					t.Errorf("no refusal with reason %s in %s", reason, refused)
				}
			}

			// The provider gone after the user logged in there: 502.
			b = e.browser()
			cb = b.atProvider(b.begin(), "uma")
			e.p.stop()
			pg := b.callback(cb)
			b.wantFailure(pg, http.StatusBadGateway)
			if !strings.Contains(pg.raw, "could not be reached") {
				t.Errorf("the 502 page: %s", pg.raw)
			}
		})
	}
}

// TestE2EOIDCDisabled: a disabled account's provider sign-in ends on the
// failure page, whether the account is linked or found by its email (then
// neither linked nor taken back).
func TestE2EOIDCDisabled(t *testing.T) {
	e := newOIDCEnv(t, "memory", providerOptions{}, envOptions{smtp: true})
	e.user("sub", "vera", "vera@example.com", true)
	e.browser().signIn("vera")
	e.signup("root", "root's long password")
	e.admin("root")
	rootAccess, _ := e.login("root", "root's long password")
	e.do(request{method: "PATCH", path: "/admin/users/" + e.id("vera"), contentType: ctJSON, body: `{"disabled":true}`, bearer: rootAccess}).want(t, 200, "")
	b := e.browser()
	pg := b.callback(b.atProvider(b.begin(), "vera"))
	b.wantFailure(pg, 400)
	if !strings.Contains(pg.raw, "disabled") {
		t.Errorf("the failure page: %s", pg.raw)
	}

	e.verifiedHere("zack")                                                            // email proven
	e.signupReq2("zoey", "zoey's long password", "zoey@example.com").want(t, 201, "") // never proven
	e.mailedToken("zoey@example.com")
	for _, name := range []string{"zack", "zoey"} {
		e.do(request{method: "PATCH", path: "/admin/users/" + e.id(name), contentType: ctJSON, body: `{"disabled":true}`, bearer: rootAccess}).want(t, 200, "")
		e.user(name+"-sub", name+"-p", name+"@example.com", true)
		b := e.browser()
		b.wantFailure(b.callback(b.atProvider(b.begin(), name+"-p")), 400)
		e.do(request{method: "PATCH", path: "/admin/users/" + e.id(name), contentType: ctJSON, body: `{"disabled":false}`, bearer: rootAccess}).want(t, 200, "")
		access, _ := e.login(name, name+"'s long password") // its password stays
		if ids := e.identities(access); len(ids) != 0 {
			t.Fatalf("%s: GET /identities: %v", name, ids)
		}
		if me := e.me(access); me.body["email_verified"] != (name == "zack") {
			t.Fatalf("%s: %s", name, me.raw)
		}
	}
}

// TestE2EOIDCBadSettings: a provider whose discovery fails (unreachable,
// not a discovery document, another issuer in it) stops start-up with one
// line naming its AUTH_OIDC_NAME_ISSUER and exit 2; so do an http issuer
// that is not on a loopback host and a bad provider name, before the data
// directory is touched.
func TestE2EOIDCBadSettings(t *testing.T) {
	p := startProvider(t, providerOptions{})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String()
	closed.Close()
	notDiscovery := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>Welcome</title>")
	}))
	t.Cleanup(notDiscovery.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.issuer, "http://"))
	otherIssuer := "http://localhost:" + port // the provider says http://127.0.0.1:PORT

	provider := func(issuer string, more ...string) map[string]string {
		m := map[string]string{"AUTH_OIDC_PROVIDERS": "zitadel", "AUTH_OIDC_ZITADEL_ISSUER": issuer,
			"AUTH_OIDC_ZITADEL_CLIENT_ID": "id", "AUTH_OIDC_ZITADEL_CLIENT_SECRET": "secret"}
		for i := 0; i < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name      string
		env       map[string]string
		setting   string
		also      string
		discovery bool // the data directory is made before discovery
	}{
		{"discovery unreachable", provider(unreachable), "AUTH_OIDC_ZITADEL_ISSUER", unreachable, true},
		{"not a discovery document", provider(notDiscovery.URL), "AUTH_OIDC_ZITADEL_ISSUER", notDiscovery.URL, true},
		{"another issuer", provider(otherIssuer), "AUTH_OIDC_ZITADEL_ISSUER", "issuer", true},
		{"http, not loopback", provider("http://idp.example.com"), "AUTH_OIDC_ZITADEL_ISSUER", "https", false},
		{"not a URL", provider("idp.example.com"), "AUTH_OIDC_ZITADEL_ISSUER", "", false},
		{"no issuer", provider(""), "AUTH_OIDC_ZITADEL_ISSUER", "", false},
		{"no client id", provider(p.issuer, "AUTH_OIDC_ZITADEL_CLIENT_ID", ""), "AUTH_OIDC_ZITADEL_CLIENT_ID", "", false},
		{"scopes without openid", provider(p.issuer, "AUTH_OIDC_ZITADEL_SCOPES", "email profile"), "AUTH_OIDC_ZITADEL_SCOPES", "openid", false},
		{"label too long", provider(p.issuer, "AUTH_OIDC_ZITADEL_LABEL", strings.Repeat("l", 65)), "AUTH_OIDC_ZITADEL_LABEL", "64", false},
		{"upper-case name", provider(p.issuer, "AUTH_OIDC_PROVIDERS", "Zitadel"), "AUTH_OIDC_PROVIDERS", "Zitadel", false},
		{"name with a dash", provider(p.issuer, "AUTH_OIDC_PROVIDERS", "my-idp"), "AUTH_OIDC_PROVIDERS", "my-idp", false},
		{"name too long", provider(p.issuer, "AUTH_OIDC_PROVIDERS", strings.Repeat("a", 33)), "AUTH_OIDC_PROVIDERS", "", false},
		{"name twice", provider(p.issuer, "AUTH_OIDC_PROVIDERS", "zitadel,zitadel"), "AUTH_OIDC_PROVIDERS", "twice", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			dir := filepath.Join(t.TempDir(), "data")
			c.env["AUTH_PUBLIC_URL"] = "http://localhost:8080"
			code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", "memory", "-data", dir},
				func(k string) string { return c.env[k] }, &out)
			var lines []string
			for l := range strings.Lines(out.String()) {
				if !strings.Contains(l, "level=INFO") {
					lines = append(lines, l)
				}
			}
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "bad setting "+c.setting) || !strings.Contains(lines[0], c.also) {
				t.Fatalf("exit %d, output:\n%s\nwant exit 2 and one line naming %s", code, out.String(), c.setting)
			}
			if strings.Contains(lines[0], "Config.") || strings.Contains(lines[0], "client secret") || strings.Contains(lines[0], "secret\"") {
				t.Errorf("the line: %s", lines[0])
			}
			if _, err := os.Stat(dir); err == nil && !c.discovery {
				t.Errorf("the data directory was created before the settings were checked")
			}
		})
	}
}

// TestE2EOIDCProviderFails: a provider that answers the code exchange, or
// the fetch of its keys, with a server error or something that is not
// JSON ends on the failure page with 502, signing nobody in.
func TestE2EOIDCProviderFails(t *testing.T) {
	for _, c := range []struct {
		name, path, ct, body string
		status               int
	}{
		{"token endpoint: server error", "/oauth/token", "application/json", `{"error":"server_error"}`, 500},
		{"token endpoint: unavailable, an HTML page", "/oauth/token", "text/html", "<h1>Down for maintenance</h1>", 503},
		{"token endpoint: not JSON", "/oauth/token", "text/html", "<h1>Welcome</h1>", 200},
		{"keys: server error", "/keys", "application/json", `{"error":"server_error"}`, 500},
		{"keys: not JSON", "/keys", "text/html", "<h1>Welcome</h1>", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newOIDCEnv(t, "memory", providerOptions{}, envOptions{})
			e.user("sub", "wendy", "wendy@example.com", true)
			b := e.browser()
			cb := b.atProvider(b.begin(), "wendy")
			e.p.breakPath(c.path, c.status, c.ct, c.body)
			pg := b.callback(cb)
			b.wantFailure(pg, http.StatusBadGateway)
			if !strings.Contains(pg.raw, "could not be reached") {
				t.Errorf("the 502 page: %s", pg.raw)
			}
			if e.events("oidc_sign_in") != nil {
				t.Fatal("signed in")
			}
		})
	}
}

// TestE2EOIDCLastWayIn: a passkey and a linked provider account are each
// a way in: either may go while the other stays, not the last.
func TestE2EOIDCLastWayIn(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{})
			e.user("xena-sub", "xena", "xena@example.com", true)
			access := e.browser().signIn("xena")
			id := claims(t, access)["sub"].(string)
			key := e.authenticator()
			passkey := e.addPasskey(key, access, "").str("id")
			e.unlink(access).want(t, 204, "")
			r := e.passkeyLogin(key)
			e.wantPasskeyLogin(r, id)
			access = r.str("access_token")
			e.do(request{method: "DELETE", path: "/passkeys/" + passkey, bearer: access}).want(t, 409, "last_credential")

			b := e.browser()
			b.wantLinked(b.callback(b.atProvider(b.link(access), "xena")))
			e.do(request{method: "DELETE", path: "/passkeys/" + passkey, bearer: access}).want(t, 204, "")
			e.unlink(access).want(t, 409, "last_credential")
			e.wantIdentity(access, "xena-sub", "xena@example.com")
			e.wantClaims(e.browser().signIn("xena"), id, "fed")
		})
	}
}

// TestE2EOIDCDeleteAccount: an account without a password deletes itself
// with a recent provider sign-in; its provider account is free again, and
// signs in a new account.
func TestE2EOIDCDeleteAccount(t *testing.T) {
	for name, db := range oidcStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newOIDCEnv(t, db(t), providerOptions{}, envOptions{})
			e.user("yan-sub", "yan", "yan@example.com", true)
			access := e.browser().signIn("yan")
			id := claims(t, access)["sub"].(string)
			del := func() resp {
				return e.do(request{method: "DELETE", path: "/users/me", contentType: ctJSON, body: `{}`, bearer: access})
			}
			e.clock.Advance(5 * time.Minute)
			del().want(t, 401, "insufficient_user_authentication")
			access = e.browser().signIn("yan")
			del().want(t, 204, "")
			e.me(access).want(t, 401, "invalid_token")
			again := e.browser().signIn("yan")
			me := e.me(again)
			if me.str("id") == id || me.str("username") != "yan" || me.str("email") != "yan@example.com" {
				t.Fatalf("the account after the deletion: %s", me.raw)
			}
			e.wantIdentity(again, "yan-sub", "yan@example.com")
		})
	}
}
