package recovery

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	texttemplate "text/template"
	"time"
)

// recordingMailer keeps the mails it is given (the mail package's own
// tests send them over a real SMTP server; these test the flows), mails
// with a link and notices apart. It fails the first fail sends.
type recordingMailer struct {
	mu      sync.Mutex
	mails   []*Message
	fail    int
	sent    chan *Message // mails with a link
	notices chan *Message // mails without
}

func newRecordingMailer() *recordingMailer {
	return &recordingMailer{sent: make(chan *Message, 100), notices: make(chan *Message, 100)}
}

func (m *recordingMailer) Send(ctx context.Context, msg *Message) error {
	m.mu.Lock()
	if m.fail > 0 {
		m.fail--
		m.mu.Unlock()
		return errors.New("451 try again later")
	}
	m.mails = append(m.mails, msg)
	m.mu.Unlock()
	if strings.Contains(msg.Text, "?token=") {
		m.sent <- msg
	} else {
		m.notices <- msg
	}
	return nil
}

// next waits for the next mail sent with a link.
func (m *recordingMailer) next(t *testing.T) *Message {
	t.Helper()
	return wait(t, m.sent, "no mail was sent")
}

// notice waits for the next notice sent, and checks it goes to to and
// has a title holding title.
func (m *recordingMailer) notice(t *testing.T, to, title string) *Message {
	t.Helper()
	msg := wait(t, m.notices, "no notice was sent")
	if msg.To != to || !strings.Contains(msg.Subject, title) || strings.Contains(msg.Text, "http") {
		t.Fatalf("notice to %s, %q, want to %s, %q, and no link:\n%s", msg.To, msg.Subject, to, title, msg.Text)
	}
	return msg
}

func wait(t *testing.T, c chan *Message, fail string) *Message {
	t.Helper()
	select {
	case msg := <-c:
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal(fail)
		return nil
	}
}

// none checks that no mail with a link is sent for a while.
func (m *recordingMailer) none(t *testing.T) {
	t.Helper()
	select {
	case msg := <-m.sent:
		t.Fatalf("a mail was sent to %s: %s", msg.To, msg.Subject)
	case <-time.After(150 * time.Millisecond):
	}
}

// noNotice checks that no notice is sent for a while.
func (m *recordingMailer) noNotice(t *testing.T) {
	t.Helper()
	select {
	case msg := <-m.notices:
		t.Fatalf("a notice was sent to %s: %s", msg.To, msg.Subject)
	case <-time.After(150 * time.Millisecond):
	}
}

var linkRE = regexp.MustCompile(`https://auth\.example\.com/(verify-email|reset-password)\?token=([A-Za-z0-9_-]+)(\s|$)`)

// link returns the path and token of the link in a mail's text part.
func link(t *testing.T, m *Message) (string, string) {
	t.Helper()
	g := linkRE.FindStringSubmatch(m.Text)
	if g == nil || len(g[2]) != 43 {
		t.Fatalf("no link of a 43-character token in the text:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, g[0][:len(g[0])-len(g[3])]) {
		t.Fatalf("the HTML part lacks the link:\n%s", m.HTML)
	}
	return g[1], g[2]
}

func newMailFixture(t *testing.T, edit func(*Config)) (*fixture, *recordingMailer) {
	t.Helper()
	m := newRecordingMailer()
	f := newFixture(t, func(c *Config) {
		c.Passwords.Hasher = plainHasher{}
		c.Mail.Mailer = m
		c.Mail.PublicURL = "https://auth.example.com"
		if edit != nil {
			edit(c)
		}
	})
	f.a.mails.delays = [mailAttempts - 1]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	t.Cleanup(func() { _ = f.a.Shutdown(context.Background()) })
	return f, m
}

func TestEmailVerification(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: " Alice@Example.COM "})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "alice@example.com" || u.EmailVerified {
		t.Fatalf("registered %q verified %v", u.Email, u.EmailVerified)
	}
	msg := m.next(t)
	if msg.To != "alice@example.com" || !strings.Contains(msg.Text, "48 hours") {
		t.Fatalf("mail to %s:\n%s", msg.To, msg.Text)
	}
	path, token := link(t, msg)
	if path != "verify-email" {
		t.Fatalf("link to %s", path)
	}
	// A verification token never resets a password, nor is it a token.
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: token, NewPassword: "new password here"}); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("a verification token as a reset = %v, want ErrInvalidLink", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, token); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a link token as a refresh token = %v", err)
	}
	if _, _, err := f.a.Authenticate(ctx, token); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a link token as an access token = %v", err)
	}
	// The store keeps only its hash.
	if _, err := f.store.LinkToken(ctx, []byte(token)); !errors.Is(err, ErrNotFound) {
		t.Fatal("the store keeps the token itself")
	}
	got, err := f.a.VerifyEmail(ctx, Client{Addr: "192.0.2.1"}, token)
	if err != nil || !got.EmailVerified {
		t.Fatalf("VerifyEmail = %+v, %v", got, err)
	}
	if _, err := f.a.VerifyEmail(ctx, Client{Addr: "192.0.2.1"}, token); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("a spent token = %v, want ErrInvalidLink", err)
	}
	if err := f.a.RequestEmailVerification(ctx, Client{}, u.ID); !errors.Is(err, ErrNothingToVerify) {
		t.Fatalf("resend for a verified email = %v, want ErrNothingToVerify", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43), token + "x", strings.Repeat("é", 22)} {
		if _, err := f.a.VerifyEmail(ctx, Client{}, bad); !errors.Is(err, ErrInvalidLink) {
			t.Errorf("VerifyEmail(%q) = %v, want ErrInvalidLink", bad, err)
		}
	}
	// Login by email, any case.
	if _, err := f.a.Login(ctx, Credentials{Username: "ALICE@example.com", Password: "correct horse battery"}); err != nil {
		t.Fatalf("login by email: %v", err)
	}

	// No email: nothing to verify.
	b := f.register(t, "bob", "correct horse battery")
	if err := f.a.RequestEmailVerification(ctx, Client{}, b.ID); !errors.Is(err, ErrNothingToVerify) {
		t.Fatalf("resend without an email = %v, want ErrNothingToVerify", err)
	}
}

// TestVerificationExpiryAndStaleness: a link expires, and a newer link of
// the same purpose makes the older one stale.
func TestVerificationExpiryAndStaleness(t *testing.T) {
	f, m := newMailFixture(t, func(c *Config) { c.Mail.VerifyTTL = time.Hour })
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, first := link(t, m.next(t))
	if err := f.a.RequestEmailVerification(ctx, Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	_, second := link(t, m.next(t))
	if _, err := f.a.VerifyEmail(ctx, Client{}, first); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("the older link after a newer one = %v, want ErrInvalidLink", err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.a.VerifyEmail(ctx, Client{}, second); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("an expired link = %v, want ErrInvalidLink", err)
	}
}

func TestPasswordReset(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t) // the verification
	p := f.login(t, "alice", "correct horse battery")

	// Unknown and known addresses get the same answer; only the known one
	// gets a mail.
	if err := f.a.RequestPasswordReset(ctx, Client{Addr: "192.0.2.1"}, "nobody@example.com"); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	if err := f.a.RequestPasswordReset(ctx, Client{Addr: "192.0.2.1"}, "ALICE@example.com "); err != nil {
		t.Fatal(err)
	}
	msg := m.next(t)
	path, token := link(t, msg)
	if path != "reset-password" || msg.To != "alice@example.com" || !strings.Contains(msg.Text, "1 hour") {
		t.Fatalf("reset mail to %s, link %s:\n%s", msg.To, path, msg.Text)
	}
	if _, err := f.a.VerifyEmail(ctx, Client{}, token); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("a reset token as a verification = %v, want ErrInvalidLink", err)
	}
	// A new password that breaks the rules does not spend the token.
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: token, NewPassword: "short"}); !errors.Is(err, ErrInvalidPassword) {
		t.Fatalf("a short new password = %v, want ErrInvalidPassword", err)
	}
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: token, NewPassword: "a brand new password"}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: token, NewPassword: "another new password"}); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("a spent reset token = %v, want ErrInvalidLink", err)
	}
	// Every session and access token ended; the email counts as verified.
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("an access token after the reset = %v", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a refresh token after the reset = %v", err)
	}
	got, _ := f.store.UserByID(ctx, u.ID)
	if !got.EmailVerified {
		t.Fatal("the email is not verified after the reset")
	}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice@example.com", Password: "a brand new password"}); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}

	// A reset link dies when the password changes by any means.
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	_, token = link(t, m.next(t))
	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "a brand new password", New: "yet another password"}); err != nil {
		t.Fatal(err)
	}
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: token, NewPassword: "the attacker's password"}); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("a reset link after a password change = %v, want ErrInvalidLink", err)
	}

	// It expires. (An hour on: three mails an hour to one account.)
	f.clock.Advance(time.Hour)
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	_, token = link(t, m.next(t))
	f.clock.Advance(time.Hour)
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: token, NewPassword: "a late new password"}); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("an expired reset link = %v, want ErrInvalidLink", err)
	}

	// A disabled account gets no mail, and the same answer.
	got, _ = f.store.UserByID(ctx, u.ID)
	if _, err := f.store.ChangeUser(ctx, got.ID, UserChange{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	if err := f.a.RequestPasswordReset(ctx, Client{}, "not an address"); !errors.Is(err, ErrInvalidEmail) {
		t.Fatalf("RequestPasswordReset(not an address) = %v", err)
	}
}

// TestMailLimits: at most three mails an hour to one account of each
// kind (those the user asks for, and reset mails anyone can cause, apart:
// v3), at most five an hour to one address whatever the accounts, and
// requests limited per client address.
func TestMailLimits(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t) // asked: one of three
	for range 3 {
		if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		m.next(t)
	}
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
		t.Fatalf("the fourth request's answer changed: %v", err)
	}
	m.none(t)
	// A stranger's requests did not spend the user's own budget: the
	// fifth mail to the address goes.
	if err := f.a.RequestEmailVerification(ctx, Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	m.next(t)
	// The sixth does not: five an hour to one address.
	if err := f.a.RequestEmailVerification(ctx, Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	f.clock.Advance(20 * time.Minute)
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	m.next(t)

	// Five accounts asking for mails to one address: five mails.
	f.clock.Advance(2 * time.Hour)
	var ids []string
	for i := range 5 {
		v, err := f.a.Register(ctx, NewUser{Username: fmt.Sprint("user", i), Password: "correct horse battery", Email: fmt.Sprintf("user%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	for range ids {
		m.next(t)
	}
	for _, id := range ids {
		for range 3 {
			if err := f.a.ChangeEmail(ctx, EmailChange{UserID: id, Password: "correct horse battery", NewEmail: "target@example.org"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	to := 0
	for range 5 {
		if msg := m.next(t); msg.To == "target@example.org" {
			to++
		}
	}
	m.none(t)
	if to != 5 {
		t.Fatalf("%d mails to one address from five accounts, want 5", to)
	}

	for i := range 20 {
		if err := f.a.RequestPasswordReset(ctx, Client{Addr: "192.0.2.9"}, fmt.Sprintf("n%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	err = f.a.RequestPasswordReset(ctx, Client{Addr: "192.0.2.9"}, "n@example.com")
	if rl := (*RateLimitError)(nil); !errors.As(err, &rl) || rl.RetryAfter != 6*time.Second {
		t.Fatalf("the 21st request from one address = %v, want a *RateLimitError of 6s", err)
	}
	if _, err := f.a.VerifyEmail(ctx, Client{Addr: "192.0.2.9"}, strings.Repeat("A", 43)); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("VerifyEmail from a spent address = %v", err)
	}
}

func TestChangeEmail(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t)
	f.register(t, "bob", "correct horse battery")
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "wrong password", NewEmail: "alice@new.example.com"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password = %v", err)
	}
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "BOB"}); !errors.Is(err, ErrInvalidEmail) {
		t.Fatalf("not an address = %v", err)
	}
	if _, err := f.a.Register(ctx, NewUser{Username: "carol", Password: "correct horse battery", Email: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	m.next(t)
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "Carol@Example.com"}); !errors.Is(err, ErrEmailExists) {
		t.Fatalf("another account's email = %v, want ErrEmailExists", err)
	}
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "alice@new.example.com"}); err != nil {
		t.Fatal(err)
	}
	msg := m.next(t)
	if msg.To != "alice@new.example.com" {
		t.Fatalf("mailed to %s", msg.To)
	}
	// Until the link is used, the email is the old one.
	if got, _ := f.store.UserByID(ctx, u.ID); got.Email != "alice@example.com" {
		t.Fatalf("the email changed to %q before the link was used", got.Email)
	}
	_, token := link(t, msg)
	got, err := f.a.VerifyEmail(ctx, Client{}, token)
	if err != nil || got.Email != "alice@new.example.com" || !got.EmailVerified {
		t.Fatalf("after the link: %+v, %v", got, err)
	}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice@example.com", Password: "correct horse battery"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("login with the old email = %v", err)
	}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice@new.example.com", Password: "correct horse battery"}); err != nil {
		t.Fatalf("login with the new email: %v", err)
	}
}

// TestLoginNamesUnambiguous: a username is never another account's email,
// nor an email another's username.
func TestLoginNamesUnambiguous(t *testing.T) {
	f, _ := newMailFixture(t, nil)
	ctx := context.Background()
	if _, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    NewUser
		want error
	}{
		{NewUser{Username: "alice2", Email: "ALICE@example.com"}, ErrEmailExists},
		{NewUser{Username: "alice@example.com"}, ErrUserExists},
		{NewUser{Username: "bob", Email: "alice"}, ErrInvalidEmail},
		{NewUser{Username: "bob@example.org"}, nil},
		{NewUser{Username: "carol", Email: "bob@example.org"}, ErrEmailExists},
	} {
		c.n.Password = "correct horse battery"
		if _, err := f.a.Register(ctx, c.n); !errors.Is(err, c.want) && (c.want != nil || err != nil) {
			t.Errorf("Register(%q, %q) = %v, want %v", c.n.Username, c.n.Email, err, c.want)
		}
	}
}

// TestMailRetries: a mail that fails is tried again, a bounded number of
// times, each failure an event that holds no token.
func TestMailRetries(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	m.fail = 2
	if _, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	_, token := link(t, m.next(t))
	// The sent event follows the delivery the fake sender saw: wait for it.
	for deadline := time.Now().Add(10 * time.Second); f.events.count(EventMailSent) < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if f.events.count(EventMailFailed) != 2 || f.events.count(EventMailSent) != 1 {
		t.Fatalf("%d failures and %d sends, want 2 and 1", f.events.count(EventMailFailed), f.events.count(EventMailSent))
	}
	m.fail = 10
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); f.events.count(EventMailFailed) < 2+mailAttempts; {
		if time.Now().After(deadline) {
			t.Fatalf("%d failures after 10 s, want %d", f.events.count(EventMailFailed), 2+mailAttempts)
		}
		time.Sleep(time.Millisecond)
	}
	if err := f.a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.events.count(EventMailFailed); n != 2+mailAttempts {
		t.Fatalf("%d failures, want %d: every attempt, and no more", n, 2+mailAttempts)
	}
	f.events.mu.Lock()
	for _, e := range f.events.events {
		if strings.Contains(fmt.Sprintf("%+v", e), token) {
			t.Errorf("event %s holds the link's token", e.Type)
		}
	}
	f.events.mu.Unlock()
	// After Shutdown, a flow's mail is dropped, the answer unchanged.
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
}

// TestMailShutdownStopsRetries: a stopping service gives each queued mail
// its attempt but does not wait out the retry delays.
func TestMailShutdownStopsRetries(t *testing.T) {
	f, m := newMailFixture(t, nil)
	f.a.mails.delays = mailRetryDelays // 1 s, 10 s, 60 s
	m.fail = 100
	ctx := context.Background()
	for _, name := range []string{"alice", "bob"} {
		if _, err := f.a.Register(ctx, NewUser{Username: name, Password: "correct horse battery", Email: name + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	for f.events.count(EventMailFailed) == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- f.a.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown waited for the retry delays")
	}
	// Each mail: one attempt failed, then one event for the retries given up.
	if n := f.events.count(EventMailFailed); n != 4 {
		t.Fatalf("%d mail_failed events, want 4", n)
	}
}

func TestMailDisabled(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{} })
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"),
		f.a.RequestEmailVerification(ctx, Client{}, u.ID),
		f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "a@example.com"}),
	} {
		if !errors.Is(err, ErrMailDisabled) {
			t.Errorf("without a Mailer: %v, want ErrMailDisabled", err)
		}
	}
	for _, url := range []string{"", "auth.example.com", "ftp://x", "https://x/?a=b", "https://u:p@x"} {
		if _, err := New(Config{Store: newMemoryStore(), SecretKey: testSecret, Mail: MailConfig{Mailer: newRecordingMailer(), PublicURL: url}}); err == nil {
			t.Errorf("New with PublicURL %q succeeded", url)
		}
	}
}

// TestMailTemplates: a service's own templates replace the library's.
func TestMailTemplates(t *testing.T) {
	f, m := newMailFixture(t, func(c *Config) {
		c.Mail.VerifyMail.Subject = mustText("Welcome, {{.Username}}")
		c.Mail.VerifyMail.Text = mustText("Confirm: {{.Link}} ({{.Expires}})\n")
	})
	if _, err := f.a.Register(context.Background(), NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	msg := m.next(t)
	if msg.Subject != "Welcome, alice" || !strings.HasPrefix(msg.Text, "Confirm: https://auth.example.com/verify-email?token=") ||
		!strings.HasSuffix(msg.Text, "(48 hours)\n") || msg.HTML != "" {
		t.Fatalf("subject %q, text %q, HTML %q", msg.Subject, msg.Text, msg.HTML)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 48 * time.Hour: "48 hours", 90 * time.Minute: "90 minutes", time.Minute: "1 minute", 15 * time.Minute: "15 minutes",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func mustText(s string) *texttemplate.Template {
	return texttemplate.Must(texttemplate.New("t").Parse(s))
}
