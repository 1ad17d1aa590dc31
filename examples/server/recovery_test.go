package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/smtptest"
)

// The account-recovery rows of the contract, end to end: the server sends
// its mail to a real SMTP server, and the links are read from the mails as
// a user would; link expiry is driven by the test clock.

const testPublicURL = "https://auth.example.test"

var mailLinkRE = regexp.MustCompile(`^` + regexp.QuoteMeta(testPublicURL) + `(/verify-email|/reset-password)\?token=([A-Za-z0-9_-]+)$`)

// nextMail waits for the next mail with a link (a mailed token), keeping
// the notices it meets for nextNotice.
func (e *env) nextMail(timeout time.Duration) (smtptest.Mail, bool) {
	for deadline := time.Now().Add(timeout); ; {
		m, ok := e.mail.Next(time.Until(deadline))
		if !ok || strings.Contains(string(m.Data), "?token=") {
			return m, ok
		}
		e.notices = append(e.notices, m)
	}
}

// nextNotice returns the next notice (a mail without a link), checks it
// went to to and its subject holds subject, and no link is in it.
func (e *env) nextNotice(to, subject string) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(e.notices) == 0; {
		m, ok := e.mail.Next(time.Until(deadline))
		if !ok {
			e.t.Fatalf("no notice to %s", to)
		}
		e.notices = append(e.notices, m)
	}
	m := e.notices[0]
	e.notices = e.notices[1:]
	text, h, err := smtptest.TextPart(m.Data)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(m.To) != 1 || m.To[0] != to || !strings.Contains(h.Get("Subject"), subject) || strings.Contains(string(m.Data), "http") {
		e.t.Fatalf("notice to %v, %q, want to %s, %q, without a link:\n%s", m.To, h.Get("Subject"), to, subject, text)
	}
}

// nextLink waits for the next mail with a link, checks it went to to, and
// returns the path and token of the link in its text part (a line of its
// own). The token joins what no answer may contain.
func (e *env) nextLink(to string) (path, token string) {
	e.t.Helper()
	m, ok := e.nextMail(10 * time.Second)
	if !ok {
		e.t.Fatalf("no mail to %s", to)
	}
	if len(m.To) != 1 || m.To[0] != to || m.From != "auth@localhost" {
		e.t.Fatalf("mail from %s to %v, want to %s", m.From, m.To, to)
	}
	text, h, err := smtptest.TextPart(m.Data)
	if err != nil {
		e.t.Fatal(err)
	}
	if h.Get("To") != "<"+to+">" && h.Get("To") != to {
		e.t.Fatalf("To: %q", h.Get("To"))
	}
	for line := range strings.Lines(text) {
		if g := mailLinkRE.FindStringSubmatch(strings.TrimSpace(line)); g != nil {
			if len(g[2]) < 22 { // 128 bits
				e.t.Fatalf("a %d-character token", len(g[2]))
			}
			e.guard.secret(g[2])
			return g[1], g[2]
		}
	}
	e.t.Fatalf("no link of %s in the mail's text:\n%s", testPublicURL, text)
	return "", ""
}

// noMail checks that no mail with a link goes out for a while.
func (e *env) noMail() {
	e.t.Helper()
	if m, ok := e.nextMail(200 * time.Millisecond); ok {
		e.t.Fatalf("a mail went to %v", m.To)
	}
}

func (e *env) post(path, body, bearer string) resp {
	e.t.Helper()
	return e.do(request{method: "POST", path: path, contentType: ctJSON, body: body, bearer: bearer})
}

func (r resp) wantAccepted(t *testing.T) {
	t.Helper()
	if r.status != 202 || strings.TrimSpace(r.raw) != "{}" {
		t.Fatalf("got %d %q, want 202 {}", r.status, r.raw)
	}
}

func mailEnv(t *testing.T) *env {
	return newEnv(t, envOptions{smtp: true, vars: map[string]string{"AUTH_PUBLIC_URL": testPublicURL + "/"}})
}

func TestE2ERecovery(t *testing.T) {
	e := mailEnv(t)

	t.Run("signup mails a verification link; POST spends it, GET does not", func(t *testing.T) {
		e.t = t
		e.do(request{method: "POST", path: "/signup", contentType: ctJSON,
			body: `{"username":"alice","password":"correct horse battery","email":"  Alice@Example.COM "}`}).want(t, 201, "")
		path, token := e.nextLink("alice@example.com")
		if path != "/verify-email" {
			t.Fatalf("a %s link", path)
		}
		// Login by email, in any case.
		access, _ := e.login("ALICE@example.com", "correct horse battery")
		me := e.me(access)
		if me.str("email") != "alice@example.com" || me.body["email_verified"] != false {
			t.Fatalf("before: %s", me.raw)
		}
		for range 2 { // a mail scanner, then the user
			page := e.do(request{method: "GET", path: "/verify-email?token=" + token})
			if page.status != 200 || !strings.Contains(page.raw, ">Verify email</button>") {
				t.Fatalf("page: %d %s", page.status, page.raw)
			}
		}
		e.post("/password/reset", `{"token":"`+token+`","new_password":"another long password"}`, "").want(t, 400, "invalid_grant")
		e.post("/email/verify", `{"token":"`+token+`"}`, "").want(t, 204, "")
		if me := e.me(access); me.body["email_verified"] != true {
			t.Fatalf("after: %s", me.raw)
		}
		e.post("/email/verify", `{"token":"`+token+`"}`, "").want(t, 400, "invalid_grant")
		// Never an access or a refresh token.
		e.me(token).want(t, 401, "invalid_token")
		e.refresh(token).want(t, 400, "invalid_grant")
	})

	t.Run("unknown, expired and stale verification links", func(t *testing.T) {
		e.t = t
		e.post("/email/verify", `{"token":"`+strings.Repeat("x", 43)+`"}`, "").want(t, 400, "invalid_grant")
		e.post("/email/verify", `{"token":"not a token"}`, "").want(t, 400, "invalid_grant")
		e.post("/email/verify", `{}`, "").want(t, 400, "invalid_request")

		e.signupReq2("bob", "bob's long password", "bob@example.com").want(t, 201, "")
		_, first := e.nextLink("bob@example.com")
		bob, _ := e.login("bob", "bob's long password")
		e.post("/email/verify/resend", "", bob).wantAccepted(t)
		_, second := e.nextLink("bob@example.com")
		e.post("/email/verify", `{"token":"`+first+`"}`, "").want(t, 400, "invalid_grant") // stale
		e.clock.Advance(48*time.Hour + time.Second)
		e.post("/email/verify", `{"token":"`+second+`"}`, "").want(t, 400, "invalid_grant") // expired
		bob, _ = e.login("bob", "bob's long password")
		e.post("/email/verify/resend", "", bob).wantAccepted(t)
		_, third := e.nextLink("bob@example.com")
		e.clock.Advance(47 * time.Hour)
		e.post("/email/verify", `{"token":"`+third+`"}`, "").want(t, 204, "")
		bob, _ = e.login("bob", "bob's long password")
		e.post("/email/verify/resend", "", bob).want(t, 409, "nothing_to_verify")
	})

	t.Run("resend without an email", func(t *testing.T) {
		e.t = t
		e.signupReq2("carol", "carol's long password", "").want(t, 201, "")
		carol, _ := e.login("carol", "carol's long password")
		e.post("/email/verify/resend", "", carol).want(t, 409, "nothing_to_verify")
		e.post("/email/verify/resend", "", "").want(t, 401, "")
		e.noMail()
	})

	t.Run("one account per email, and no name is ambiguous", func(t *testing.T) {
		e.t = t
		e.signupReq2("dave", "dave's long password", "ALICE@example.com").want(t, 409, "email_exists")
		e.signupReq2("alice@example.com", "dave's long password", "").want(t, 409, "user_exists")
		e.signupReq2("dave@example.net", "dave's long password", "").want(t, 201, "")
		e.signupReq2("erin", "erin's long password", "Dave@Example.net").want(t, 409, "email_exists")
		e.noMail()
	})

	t.Run("email change", func(t *testing.T) {
		e.t = t
		carol, _ := e.login("carol", "carol's long password")
		for _, c := range []struct {
			body   string
			status int
			code   string
		}{
			{`{"password":"not carol's password","new_email":"carol@example.com"}`, 400, "invalid_grant"},
			{`{"password":"carol's long password","new_email":"alice@example.com"}`, 409, "email_exists"},
			{`{"password":"carol's long password","new_email":"dave@example.net"}`, 409, "email_exists"},
			{`{"password":"carol's long password","new_email":"no address"}`, 422, "invalid_email"},
			{`{"password":"carol's long password"}`, 400, "invalid_request"},
		} {
			e.post("/email/change", c.body, carol).want(t, c.status, c.code)
		}
		e.noMail()
		e.post("/email/change", `{"password":"carol's long password","new_email":"Carol@Example.com"}`, carol).wantAccepted(t)
		_, token := e.nextLink("carol@example.com")
		if me := e.me(carol); me.body["email"] != nil {
			t.Fatalf("changed before the link was used: %s", me.raw)
		}
		e.post("/email/verify", `{"token":"`+token+`"}`, "").want(t, 204, "")
		if me := e.me(carol); me.str("email") != "carol@example.com" || me.body["email_verified"] != true {
			t.Fatalf("after the link: %s", me.raw)
		}
		e.login("carol@example.com", "carol's long password")
	})

	t.Run("forgot: one answer for every address", func(t *testing.T) {
		e.t = t
		known := e.post("/password/forgot", `{"email":"ALICE@example.com"}`, "")
		known.wantAccepted(t)
		path, _ := e.nextLink("alice@example.com")
		if path != "/reset-password" {
			t.Fatalf("a %s link", path)
		}
		for _, email := range []string{"nobody@example.com", "no address", ""} {
			r := e.post("/password/forgot", jsonBody(t, map[string]string{"email": email}), "")
			r.wantAccepted(t)
			if !sameHeaders(r.header, known.header) {
				t.Fatalf("headers differ: %v and %v", r.header, known.header)
			}
		}
		e.noMail()
		e.post("/password/forgot", `{"mail":"alice@example.com"}`, "").want(t, 400, "invalid_request")
	})

	t.Run("reset", func(t *testing.T) {
		e.t = t
		e.clock.Advance(time.Hour) // a fresh mail budget for alice
		access, refresh := e.login("alice", "correct horse battery")
		e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
		_, stale := e.nextLink("alice@example.com")
		e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
		_, token := e.nextLink("alice@example.com")
		page := e.do(request{method: "GET", path: "/reset-password?token=" + token})
		if !strings.Contains(page.raw, ">New password</label>") || !strings.Contains(page.raw, ">Set password</button>") {
			t.Fatalf("page: %s", page.raw)
		}
		e.post("/password/reset", `{"token":"`+stale+`","new_password":"a new long password"}`, "").want(t, 400, "invalid_grant")
		e.post("/email/verify", `{"token":"`+token+`"}`, "").want(t, 400, "invalid_grant")
		e.post("/password/reset", `{"token":"`+token+`","new_password":"short"}`, "").want(t, 422, "invalid_password")
		e.post("/password/reset", `{"token":"`+token+`","new_password":"password123"}`, "").want(t, 422, "invalid_password")
		e.guard.secret("a new long password")
		e.post("/password/reset", `{"token":"`+token+`","new_password":"a new long password"}`, "").want(t, 204, "")
		e.post("/password/reset", `{"token":"`+token+`","new_password":"a third long password"}`, "").want(t, 400, "invalid_grant")
		e.me(access).want(t, 401, "invalid_token")
		e.refresh(refresh).want(t, 400, "invalid_grant")
		e.tokenReq("username", "alice", "password", "correct horse battery").want(t, 400, "invalid_grant")
		e.login("alice", "a new long password")
	})

	t.Run("a reset verifies the email", func(t *testing.T) {
		e.t = t
		e.signupReq2("frank", "frank's long password", "frank@example.com").want(t, 201, "")
		e.nextLink("frank@example.com") // the verification link, unused
		e.post("/password/forgot", `{"email":"frank@example.com"}`, "").wantAccepted(t)
		_, token := e.nextLink("frank@example.com")
		e.post("/password/reset", `{"token":"`+token+`","new_password":"frank's new password"}`, "").want(t, 204, "")
		access, _ := e.login("frank", "frank's new password")
		if me := e.me(access); me.body["email_verified"] != true {
			t.Fatalf("%s", me.raw)
		}
	})

	t.Run("reset links expire, and die with a password change", func(t *testing.T) {
		e.t = t
		e.clock.Advance(2 * time.Hour) // a fresh mail budget for alice
		e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
		_, token := e.nextLink("alice@example.com")
		e.clock.Advance(time.Hour + time.Second)
		e.post("/password/reset", `{"token":"`+token+`","new_password":"a third long password"}`, "").want(t, 400, "invalid_grant")

		e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
		_, token = e.nextLink("alice@example.com")
		access, _ := e.login("alice", "a new long password")
		e.post("/users/me/password", `{"current_password":"a new long password","new_password":"a fourth long password"}`, access).want(t, 204, "")
		e.post("/password/reset", `{"token":"`+token+`","new_password":"a fifth long password"}`, "").want(t, 400, "invalid_grant")
	})

	t.Run("three mails per account per hour", func(t *testing.T) {
		e.t = t
		e.clock.Advance(2 * time.Hour)
		for range 3 {
			e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
			e.nextLink("alice@example.com")
		}
		e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
		e.noMail()
		e.clock.Advance(20 * time.Minute)
		e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
		e.nextLink("alice@example.com")
	})

	t.Run("a disabled account gets no reset mail", func(t *testing.T) {
		e.t = t
		u, err := e.app.store.UserByUsername(context.Background(), "frank")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.store.ChangeUser(context.Background(), u.ID, auth.UserChange{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		e.post("/password/forgot", `{"email":"frank@example.com"}`, "").wantAccepted(t)
		e.noMail()
	})

	t.Run("two uses of one link at once: one wins", func(t *testing.T) {
		e.t = t
		e.signupReq2("grace", "grace's long password", "grace@example.com").want(t, 201, "")
		e.nextLink("grace@example.com")
		e.post("/password/forgot", `{"email":"grace@example.com"}`, "").wantAccepted(t)
		_, token := e.nextLink("grace@example.com")
		var wg sync.WaitGroup
		statuses := make(chan int, 8)
		for i := range 8 {
			wg.Go(func() {
				pw := "grace's password no " + string(rune('a'+i))
				statuses <- e.post("/password/reset", `{"token":"`+token+`","new_password":"`+pw+`"}`, "").status
			})
		}
		wg.Wait()
		close(statuses)
		won := 0
		for s := range statuses {
			switch s {
			case 204:
				won++
			case 400:
			default:
				t.Fatalf("a concurrent reset answered %d", s)
			}
		}
		if won != 1 {
			t.Fatalf("%d resets won, want 1", won)
		}
	})

	t.Run("no mail, token or address in the log", func(t *testing.T) {
		e.t = t
		logs := e.logs.String()
		for _, m := range e.mail.Mails() {
			if !strings.Contains(string(m.Data), "?token=") {
				continue // a notice
			}
			_, token := linkOf(t, m)
			if strings.Contains(logs, token) {
				t.Fatal("a link token is in the log")
			}
		}
		if strings.Contains(logs, "alice@example.com") || strings.Contains(logs, "Reset your password") {
			for l := range strings.Lines(logs) {
				if strings.Contains(l, "alice@example.com") {
					t.Log(l)
				}
			}
			t.Fatal("an address or a mail is in the log")
		}
		if !strings.Contains(logs, "event=mail_sent") || !strings.Contains(logs, "event=password_reset") {
			t.Fatalf("the audit lines are missing:\n%s", logs)
		}
	})
}

func linkOf(t *testing.T, m smtptest.Mail) (string, string) {
	t.Helper()
	text, _, err := smtptest.TextPart(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(text) {
		if g := mailLinkRE.FindStringSubmatch(strings.TrimSpace(line)); g != nil {
			return g[1], g[2]
		}
	}
	t.Fatalf("no link in:\n%s", text)
	return "", ""
}

// signupReq2 signs up with an email ("" for none).
func (e *env) signupReq2(username, password, email string) resp {
	e.t.Helper()
	e.guard.secret(password)
	body := map[string]any{"username": username, "password": password}
	if email != "" {
		body["email"] = email
	}
	return e.do(request{method: "POST", path: "/signup", contentType: ctJSON, body: jsonBody(e.t, body)})
}

// TestE2ERecoveryAddressLimit: the recovery endpoints share one budget
// per client address: 20, then 429 with Retry-After.
func TestE2ERecoveryAddressLimit(t *testing.T) {
	e := newEnv(t, envOptions{addressLimits: true, smtp: true})
	for range 20 {
		e.post("/password/forgot", `{"email":"nobody@example.com"}`, "").wantAccepted(t)
	}
	r := e.post("/password/forgot", `{"email":"nobody@example.com"}`, "")
	r.want(t, 429, "too_many_attempts")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	e.post("/email/verify", `{"token":"`+strings.Repeat("x", 43)+`"}`, "").want(t, 429, "too_many_attempts")
	e.post("/password/reset", `{"token":"`+strings.Repeat("x", 43)+`","new_password":"a long password"}`, "").want(t, 429, "too_many_attempts")
	e.clock.Advance(6 * time.Second)
	e.post("/password/forgot", `{"email":"nobody@example.com"}`, "").wantAccepted(t)
}

// TestE2EOutbox: without AUTH_SMTP_URL each mail is an .eml file in
// DIR/outbox, mode 0600, and the start says so.
func TestE2EOutbox(t *testing.T) {
	e := newEnv(t, envOptions{})
	if !strings.Contains(e.logs.String(), "outbox") {
		t.Fatalf("no log line names the outbox:\n%s", e.logs.String())
	}
	e.signupReq2("alice", "correct horse battery", "alice@example.com").want(t, 201, "")
	dir := filepath.Join(e.dataDir, "outbox")
	var files []os.DirEntry
	for deadline := time.Now().Add(10 * time.Second); len(files) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		entries, _ := os.ReadDir(dir)
		for _, f := range entries {
			if strings.HasSuffix(f.Name(), ".eml") && !strings.HasPrefix(f.Name(), ".") {
				files = append(files, f)
			}
		}
	}
	if len(files) != 1 {
		t.Fatalf("%d mails in %s, want 1", len(files), dir)
	}
	info, _ := files[0].Info()
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", info.Mode())
	}
	raw, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := smtptest.TextPart(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The public URL is the server's own address (newEnv's default; run's
	// is the bound address).
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(e.srv.URL) + `/verify-email\?token=([A-Za-z0-9_-]{43})$`)
	g := re.FindStringSubmatch(strings.ReplaceAll(text, "\r\n", "\n"))
	if g == nil {
		t.Fatalf("no link in:\n%s", text)
	}
	e.post("/email/verify", `{"token":"`+g[1]+`"}`, "").want(t, 204, "")
}

// TestE2EMailServerDown: mail that cannot be sent never fails the request,
// is retried, and is logged without its token.
func TestE2EMailServerDown(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"AUTH_SMTP_URL": "smtp://127.0.0.1:1"}})
	start := time.Now()
	e.signupReq2("alice", "correct horse battery", "alice@example.com").want(t, 201, "")
	e.post("/password/forgot", `{"email":"alice@example.com"}`, "").wantAccepted(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the requests took %v: they waited for the mail", d)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(e.logs.String(), "event=mail_failed"); {
		if time.Now().After(deadline) {
			t.Fatalf("no mail_failed line:\n%s", e.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(e.logs.String(), "token=") {
		t.Fatalf("a token is in the log:\n%s", e.logs.String())
	}
	// Stopping does not wait for the retries beyond its bound.
	done := make(chan error, 1)
	go func() { done <- e.app.close() }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, auth.ErrStoreUnavailable) {
			t.Logf("close: %v", err)
		}
	case <-time.After(mailDrainTimeout + 5*time.Second):
		t.Fatal("close waited for the mail retries")
	}
}
