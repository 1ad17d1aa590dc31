package authhttp

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

// htMailer hands over the mails with a link that the Authenticator sends
// (the mail package's tests send them over a real SMTP server; these test
// the endpoints), and drops its notices (the root package's tests read
// those).
type htMailer chan *auth.Message

func (m htMailer) Send(ctx context.Context, msg *auth.Message) error {
	if !strings.Contains(msg.Text, "?token=") {
		return nil
	}
	select {
	case m <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var htLinkRE = regexp.MustCompile(`^https://auth\.example\.com(/verify-email|/reset-password)\?token=([A-Za-z0-9_-]{43})$`)

// link waits for the next mail, checks it went to to, and returns the path
// and token of its link.
func (m htMailer) link(t *testing.T, to string) (path, token string) {
	t.Helper()
	select {
	case msg := <-m:
		if msg.To != to {
			t.Fatalf("mail to %q, want %q", msg.To, to)
		}
		for line := range strings.Lines(msg.Text) {
			if g := htLinkRE.FindStringSubmatch(strings.TrimSpace(line)); g != nil {
				return g[1], g[2]
			}
		}
		t.Fatalf("no link on a line of its own in:\n%s", msg.Text)
	case <-time.After(10 * time.Second):
		t.Fatal("no mail was sent")
	}
	return "", ""
}

// none checks that no mail goes out for a while.
func (m htMailer) none(t *testing.T) {
	t.Helper()
	select {
	case msg := <-m:
		t.Fatalf("a mail went to %s: %s", msg.To, msg.Subject)
	case <-time.After(100 * time.Millisecond):
	}
}

func newMailEnv(t *testing.T) (*htEnv, htMailer) {
	t.Helper()
	m := make(htMailer, 16)
	e := newHTEnvConfig(t, auth.Config{Passwords: auth.PasswordConfig{Hasher: htPlainHasher{}}, Mail: auth.MailConfig{Mailer: m, PublicURL: "https://auth.example.com/"}}, Config{})
	t.Cleanup(func() { _ = e.a.Shutdown(context.Background()) })
	return e, m
}

// login returns an access token of username.
func (e *htEnv) login(t *testing.T, name, password string) (access, refresh string) {
	t.Helper()
	r := e.do("POST", "/token", "application/x-www-form-urlencoded", "username="+name+"&password="+password, "")
	r.wantStatus(t, 200)
	return r.body["access_token"].(string), r.body["refresh_token"].(string)
}

func (r htResp) wantAccepted(t *testing.T) {
	t.Helper()
	if r.status != 202 || r.raw != "{}\n" {
		t.Fatalf("got %d %q, want 202 {}", r.status, r.raw)
	}
}

func TestVerifyEmailEndpoints(t *testing.T) {
	e, m := newMailEnv(t)
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse","email":" Alice@Example.COM "}`, "").wantStatus(t, 201)
	path, token := m.link(t, "alice@example.com")
	if path != "/verify-email" {
		t.Fatalf("signup mailed a %s link", path)
	}
	access, _ := e.login(t, "ALICE@example.com", "correct+horse")
	me := e.do("GET", "/users/me", "", "", access)
	if me.body["email"] != "alice@example.com" || me.body["email_verified"] != false {
		t.Fatalf("before verifying: %s", me.raw)
	}

	// Opening the link (twice: a mail scanner, then the user) spends
	// nothing.
	for range 2 {
		page := e.do("GET", "/verify-email?token="+token, "", "", "")
		if page.status != 200 || !strings.Contains(page.raw, ">Verify email</button>") {
			t.Fatalf("the page: %d %s", page.status, page.raw)
		}
	}
	e.do("POST", "/password/reset", htJSON, `{"token":"`+token+`","new_password":"another horse"}`, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/email/verify", htJSON, `{"token":"`+token+`"}`, "").wantStatus(t, 204)
	if me := e.do("GET", "/users/me", "", "", access); me.body["email_verified"] != true {
		t.Fatalf("after verifying: %s", me.raw)
	}
	e.do("POST", "/email/verify", htJSON, `{"token":"`+token+`"}`, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/email/verify/resend", "", "", access).wantError(t, 409, "nothing_to_verify")
	m.none(t)

	for _, c := range []struct{ ct, body string }{
		{htJSON, `{}`},
		{htJSON, `{"token":null}`},
		{htJSON, `{"token":1}`},
		{htJSON, `{"token":"a","token":"b"}`},
		{"application/x-www-form-urlencoded", `token=` + token},
		{htJSON, `[]`},
	} {
		e.do("POST", "/email/verify", c.ct, c.body, "").wantError(t, 400, "invalid_request")
	}
	for _, bad := range []string{"", "x", token + "A", strings.Repeat("A", 43), token[:42] + "=", strings.Repeat("a", 100000)} {
		r := e.do("POST", "/email/verify", htJSON, `{"token":"`+bad+`"}`, "")
		if r.status != 400 && r.status != 413 {
			t.Fatalf("token %.20q: %d %s", bad, r.status, r.raw)
		}
	}
}

func TestResendAndChangeEmail(t *testing.T) {
	e, m := newMailEnv(t)
	e.do("POST", "/signup", htJSON, `{"username":"bob","password":"correct horse"}`, "").wantStatus(t, 201)
	e.do("POST", "/signup", htJSON, `{"username":"carol","password":"correct horse","email":"carol@example.com"}`, "").wantStatus(t, 201)
	m.link(t, "carol@example.com")
	e.do("POST", "/signup", htJSON, `{"username":"dan@example.org","password":"correct horse"}`, "").wantStatus(t, 201)
	e.do("POST", "/signup", htJSON, `{"username":"Carol@Example.com","password":"correct horse"}`, "").wantError(t, 409, "user_exists")
	e.do("POST", "/signup", htJSON, `{"username":"erin","password":"correct horse","email":"DAN@example.org"}`, "").wantError(t, 409, "email_exists")
	e.do("POST", "/signup", htJSON, `{"username":"erin","password":"correct horse","email":"carol@example.COM"}`, "").wantError(t, 409, "email_exists")
	bob, _ := e.login(t, "bob", "correct+horse")

	e.do("POST", "/email/verify/resend", "", "", bob).wantError(t, 409, "nothing_to_verify")
	e.do("POST", "/email/verify/resend", "", "", "").wantStatus(t, 401)
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"password":"wrong horse","new_email":"bob@example.com"}`, 400, "invalid_grant"},
		{`{"password":"correct horse","new_email":"CAROL@example.com"}`, 409, "email_exists"},
		{`{"password":"correct horse","new_email":"dan@example.org"}`, 409, "email_exists"},
		{`{"password":"correct horse","new_email":"not an address"}`, 422, "invalid_email"},
		{`{"password":"correct horse","new_email":"bob@localhost"}`, 422, "invalid_email"},
		{`{"password":"correct horse"}`, 400, "invalid_request"},
		{`{"new_email":"bob@example.com"}`, 400, "invalid_request"},
		{`{"password":"correct horse","new_email":7}`, 400, "invalid_request"},
	} {
		e.do("POST", "/email/change", htJSON, c.body, bob).wantError(t, c.status, c.code)
	}
	e.do("POST", "/email/change", htJSON, `{"password":"correct horse","new_email":"bob@example.com"}`, "").wantStatus(t, 401)
	m.none(t)

	e.do("POST", "/email/change", htJSON, `{"password":"correct horse","new_email":"Bob@Example.com"}`, bob).wantAccepted(t)
	_, token := m.link(t, "bob@example.com")
	if me := e.do("GET", "/users/me", "", "", bob); me.body["email"] != nil {
		t.Fatalf("the email changed before its link was used: %s", me.raw)
	}
	e.do("POST", "/email/verify", htJSON, `{"token":"`+token+`"}`, "").wantStatus(t, 204)
	if me := e.do("GET", "/users/me", "", "", bob); me.body["email"] != "bob@example.com" || me.body["email_verified"] != true {
		t.Fatalf("after the change: %s", me.raw)
	}

	// Carol's link is stale once she asks for a new one.
	carol, _ := e.login(t, "carol", "correct+horse")
	e.do("POST", "/email/verify/resend", "", "", carol).wantAccepted(t)
	_, first := m.link(t, "carol@example.com")
	e.do("POST", "/email/verify/resend", "", "", carol).wantAccepted(t)
	_, second := m.link(t, "carol@example.com")
	e.do("POST", "/email/verify", htJSON, `{"token":"`+first+`"}`, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/email/verify", htJSON, `{"token":"`+second+`"}`, "").wantStatus(t, 204)
	// Three mails within the hour (signup, two resends): a fourth is
	// answered alike, and not sent.
	e.do("POST", "/email/change", htJSON, `{"password":"correct horse","new_email":"carol2@example.com"}`, carol).wantAccepted(t)
	m.none(t)
}

func TestForgotAndResetPassword(t *testing.T) {
	e, m := newMailEnv(t)
	e.do("POST", "/signup", htJSON, `{"username":"dave","password":"correct horse","email":"dave@example.com"}`, "").wantStatus(t, 201)
	_, verify := m.link(t, "dave@example.com")
	access, refresh := e.login(t, "dave", "correct+horse")

	// The same answer for an account's email, an unknown one, and what is
	// no address at all.
	for _, email := range []string{"nobody@example.com", "not an address", "", strings.Repeat("x", 5000)} {
		e.do("POST", "/password/forgot", htJSON, `{"email":"`+email+`"}`, "").wantAccepted(t)
	}
	m.none(t)
	e.do("POST", "/password/forgot", htJSON, `{"email":" DAVE@example.com"}`, "").wantAccepted(t)
	path, token := m.link(t, "dave@example.com")
	if path != "/reset-password" {
		t.Fatalf("forgot mailed a %s link", path)
	}
	for _, c := range []struct{ ct, body string }{
		{htJSON, `{}`},
		{htJSON, `{"email":null}`},
		{htJSON, `{"email":["dave@example.com"]}`},
		{"text/plain", `{"email":"dave@example.com"}`},
	} {
		e.do("POST", "/password/forgot", c.ct, c.body, "").wantError(t, 400, "invalid_request")
	}

	page := e.do("GET", "/reset-password?token="+token, "", "", "")
	if !strings.Contains(page.raw, `<label for="new_password">New password</label>`) || !strings.Contains(page.raw, ">Set password</button>") {
		t.Fatalf("the page: %s", page.raw)
	}
	e.do("POST", "/email/verify", htJSON, `{"token":"`+token+`"}`, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/password/reset", htJSON, `{"token":"`+verify+`","new_password":"another horse"}`, "").wantError(t, 400, "invalid_grant")
	r := e.do("POST", "/password/reset", htJSON, `{"token":"`+token+`","new_password":"short"}`, "")
	r.wantError(t, 422, "invalid_password")
	if !strings.Contains(r.body["error_description"].(string), "8") {
		t.Fatalf("the rule is not named: %s", r.raw)
	}
	for _, body := range []string{`{"token":"` + token + `"}`, `{"new_password":"another horse"}`, `{"token":1,"new_password":"another horse"}`} {
		e.do("POST", "/password/reset", htJSON, body, "").wantError(t, 400, "invalid_request")
	}
	// The refused attempts spent nothing.
	e.do("POST", "/password/reset", htJSON, `{"token":"`+token+`","new_password":"another horse"}`, "").wantStatus(t, 204)
	e.do("POST", "/password/reset", htJSON, `{"token":"`+token+`","new_password":"a third horse"}`, "").wantError(t, 400, "invalid_grant")

	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
	e.do("POST", "/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token="+refresh, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/token", "application/x-www-form-urlencoded", "username=dave&password=correct+horse", "").wantError(t, 400, "invalid_grant")
	access, _ = e.login(t, "dave@example.com", "another+horse")
	if me := e.do("GET", "/users/me", "", "", access); me.body["email_verified"] != true {
		t.Fatalf("a reset did not verify the email: %s", me.raw)
	}

	// A reset link dies when the password changes by other means.
	e.do("POST", "/password/forgot", htJSON, `{"email":"dave@example.com"}`, "").wantAccepted(t)
	_, token = m.link(t, "dave@example.com")
	e.do("POST", "/users/me/password", htJSON, `{"current_password":"another horse","new_password":"a fourth horse"}`, access).wantStatus(t, 204)
	e.do("POST", "/password/reset", htJSON, `{"token":"`+token+`","new_password":"a fifth horse"}`, "").wantError(t, 400, "invalid_grant")
}

func TestRecoveryAddressLimit(t *testing.T) {
	e, _ := newMailEnv(t)
	e.do("POST", "/signup", htJSON, `{"username":"erin","password":"correct horse","email":"erin@example.com"}`, "").wantStatus(t, 201)
	access, _ := e.login(t, "erin", "correct+horse")
	var last htResp
	for range 21 {
		last = e.do("POST", "/password/forgot", htJSON, `{"email":"nobody@example.com"}`, "")
	}
	last.wantError(t, 429, "too_many_attempts")
	if last.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// One budget for the recovery endpoints of an address.
	e.do("POST", "/email/verify", htJSON, `{"token":"`+strings.Repeat("A", 43)+`"}`, "").wantError(t, 429, "too_many_attempts")
	e.do("POST", "/password/reset", htJSON, `{"token":"`+strings.Repeat("A", 43)+`","new_password":"another horse"}`, "").wantError(t, 429, "too_many_attempts")
	// v3: the mails a signed-in user asks for too, so that /email/change
	// cannot probe which addresses are taken (finding 7).
	e.do("POST", "/email/change", htJSON, `{"password":"correct horse","new_email":"probe@example.com"}`, access).wantError(t, 429, "too_many_attempts")
	e.do("POST", "/email/verify/resend", "", "", access).wantError(t, 429, "too_many_attempts")
}

func TestRecoveryWithoutMailer(t *testing.T) {
	e := newHTEnv(t, htPlainHasher{}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"erin","password":"correct horse","email":"erin@example.com"}`, "").wantStatus(t, 201)
	access, _ := e.login(t, "erin", "correct+horse")
	e.do("POST", "/password/forgot", htJSON, `{"email":"erin@example.com"}`, "").wantError(t, 404, "not_found")
	e.do("POST", "/email/verify/resend", "", "", access).wantError(t, 404, "not_found")
	e.do("POST", "/email/change", htJSON, `{"password":"correct horse","new_email":"erin2@example.com"}`, access).wantError(t, 404, "not_found")
}

func TestRecoveryStoreDown(t *testing.T) {
	e, m := newMailEnv(t)
	e.store.down.Store(true)
	// The account is looked up off the request path, so that the answer
	// tells nothing: a store that is down is the same 202, and no mail.
	e.do("POST", "/password/forgot", htJSON, `{"email":"someone@example.com"}`, "").wantAccepted(t)
	e.do("POST", "/email/verify", htJSON, `{"token":"`+strings.Repeat("A", 43)+`"}`, "").wantError(t, 503, "temporarily_unavailable")
	m.none(t)
}

var inlineHandler = regexp.MustCompile(`\son[a-z]+=`)

// TestPages: the pages of the links carry their policies, which allow no
// inline script or style, and load their script and style from beside them.
func TestPages(t *testing.T) {
	e, _ := newMailEnv(t)
	for _, path := range []string{"/verify-email", "/reset-password"} {
		r := e.do("GET", path+"?token="+strings.Repeat("A", 43), "", "", "")
		r.wantStatus(t, 200)
		for k, v := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": pageCSP} {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s %q", path, k, got)
			}
		}
		if strings.Contains(pageCSP, "unsafe-inline") || strings.Contains(pageCSP, "sha256-") || !strings.Contains(pageCSP, "script-src 'self';") {
			t.Errorf("the policy allows inline code: %s", pageCSP)
		}
		if strings.Contains(r.raw, "<script>") || strings.Contains(r.raw, "<style") || strings.Contains(r.raw, " style=") || inlineHandler.MatchString(r.raw) {
			t.Errorf("%s has inline script or style:\n%s", path, r.raw)
		}
		for _, ref := range []string{`<script src="assets/link-page.js"`, `<link rel="stylesheet" href="assets/link-page.css">`} {
			if !strings.Contains(r.raw, ref) {
				t.Errorf("%s lacks %s", path, ref)
			}
		}
		if strings.Contains(r.raw, strings.Repeat("A", 43)) {
			t.Errorf("%s: the page echoes the token", path)
		}
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, httptest.NewRequest("HEAD", path, nil))
		if w.Code != 200 || w.Body.Len() != 0 {
			t.Errorf("HEAD %s: %d, %d bytes", path, w.Code, w.Body.Len())
		}
	}
	for path, ctype := range map[string]string{"/assets/link-page.js": "text/javascript; charset=utf-8", "/assets/link-page.css": "text/css; charset=utf-8"} {
		r := e.do("GET", path, "", "", "")
		if r.status != 200 || r.header.Get("Content-Type") != ctype || len(r.raw) < 100 {
			t.Errorf("%s: %d %q, %d bytes", path, r.status, r.header.Get("Content-Type"), len(r.raw))
		}
	}
}
