package recovery_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/memory"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// waitFor waits until cond holds, for at most 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recordingMailer keeps the mails it is given (the mail package's own
// tests send them over a real SMTP server; these test the flows), mails
// with a link and notices apart. It fails the first fail sends.
type recordingMailer struct {
	mu      sync.Mutex
	mails   []*recovery.Message
	fail    int
	sent    chan *recovery.Message // mails with a link
	notices chan *recovery.Message // mails without
}

func newRecordingMailer() *recordingMailer {
	return &recordingMailer{sent: make(chan *recovery.Message, 100), notices: make(chan *recovery.Message, 100)}
}

func (m *recordingMailer) Send(ctx context.Context, msg *recovery.Message) error {
	m.mu.Lock()
	if m.fail > 0 {
		m.fail--
		m.mu.Unlock()
		return errors.New("451 try again later")
	}
	m.mails = append(m.mails, msg)
	m.mu.Unlock()
	c := m.notices
	if strings.Contains(msg.Text, "?token=") {
		c = m.sent
	}
	select {
	case c <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setFail makes the next n sends fail.
func (m *recordingMailer) setFail(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = n
}

// next waits for the next mail sent with a link.
func (m *recordingMailer) next(t *testing.T) *recovery.Message {
	t.Helper()
	return wait(t, m.sent, "no mail was sent")
}

// notice waits for the next notice sent, and checks it goes to to and
// has a title holding title.
func (m *recordingMailer) notice(t *testing.T, to, title string) *recovery.Message {
	t.Helper()
	msg := wait(t, m.notices, "no notice was sent")
	if msg.To != to || !strings.Contains(msg.Subject, title) || strings.Contains(msg.Text, "http") {
		t.Fatalf("notice to %s, %q, want to %s, %q, and no link:\n%s", msg.To, msg.Subject, to, title, msg.Text)
	}
	return msg
}

func wait(t *testing.T, c chan *recovery.Message, fail string) *recovery.Message {
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
func link(t *testing.T, m *recovery.Message) (string, string) {
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

// fixture is an Authenticator on a memory store, with a test clock, a cheap
// hasher and an event log, and its Recovery.
type fixture struct {
	a      *auth.Authenticator
	r      *recovery.Recovery
	store  *memory.Store
	clock  *authtest.Clock
	events *authtest.Events
}

// newMailFixture returns a fixture whose Recovery mails links to
// https://auth.example.com through a recordingMailer, and tries a failed
// mail again after a millisecond; edit, if set, changes the
// configurations first. The Recovery is shut down when the test ends.
func newMailFixture(t *testing.T, edit func(c *auth.Config, rc *recovery.Config)) (*fixture, *recordingMailer) {
	t.Helper()
	m := newRecordingMailer()
	f := &fixture{store: memory.New(), clock: authtest.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)), events: &authtest.Events{}}
	c := auth.Config{Store: f.store, SecretKey: testSecret, Now: f.clock.Now, OnEvent: f.events.Add,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}}
	rc := recovery.Config{Mailer: m, PublicURL: "https://auth.example.com"}
	if edit != nil {
		edit(&c, &rc)
	}
	a, err := auth.New(c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := recovery.New(a, rc)
	if err != nil {
		t.Fatal(err)
	}
	recovery.SetMailRetryDelays(r, [recovery.MailAttempts - 1]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	f.a, f.r = a, r
	return f, m
}

func (f *fixture) register(t *testing.T, name, password string) *auth.User {
	t.Helper()
	u, err := f.a.Register(context.Background(), auth.NewUser{Username: name, Password: password})
	if err != nil {
		t.Fatalf("Register(%q): %v", name, err)
	}
	return u
}

func (f *fixture) login(t *testing.T, name, password string) *auth.TokenPair {
	t.Helper()
	p, err := f.a.Login(context.Background(), auth.Credentials{Username: name, Password: password, Client: auth.Client{Addr: "192.0.2.1"}})
	if err != nil {
		t.Fatalf("Login(%q): %v", name, err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func TestEmailVerification(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: " Alice@Example.COM "})
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
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "new password here"}); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("a verification token as a reset = %v, want ErrInvalidLink", err)
	}
	if _, err := f.a.Refresh(ctx, auth.Client{}, token); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a link token as a refresh token = %v", err)
	}
	if _, _, err := f.a.Authenticate(ctx, token); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a link token as an access token = %v", err)
	}
	// The store keeps only its hash, made for the account as it is.
	if _, err := f.store.LinkToken(ctx, []byte(token)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatal("the store keeps the token itself")
	}
	sum := sha256.Sum256([]byte(token))
	kept, err := f.store.LinkToken(ctx, sum[:])
	if err != nil || kept.UserID != u.ID || kept.Purpose != recovery.LinkVerifyEmail || kept.Email != "alice@example.com" || kept.UserVersion != u.TokenVersion {
		t.Fatalf("the store's link = %+v, %v", kept, err)
	}
	got, err := f.r.VerifyEmail(ctx, auth.Client{Addr: "192.0.2.1"}, token)
	if err != nil || !got.EmailVerified {
		t.Fatalf("VerifyEmail = %+v, %v", got, err)
	}
	if _, err := f.r.VerifyEmail(ctx, auth.Client{Addr: "192.0.2.1"}, token); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("a spent token = %v, want ErrInvalidLink", err)
	}
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, u.ID); !errors.Is(err, recovery.ErrNothingToVerify) {
		t.Fatalf("resend for a verified email = %v, want ErrNothingToVerify", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43), token + "x", strings.Repeat("é", 22)} {
		if _, err := f.r.VerifyEmail(ctx, auth.Client{}, bad); !errors.Is(err, recovery.ErrInvalidLink) {
			t.Errorf("VerifyEmail(%q) = %v, want ErrInvalidLink", bad, err)
		}
	}
	// Login by email, any case.
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "ALICE@example.com", Password: "correct horse battery"}); err != nil {
		t.Fatalf("login by email: %v", err)
	}

	// No email: nothing to verify.
	b := f.register(t, "bob", "correct horse battery")
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, b.ID); !errors.Is(err, recovery.ErrNothingToVerify) {
		t.Fatalf("resend without an email = %v, want ErrNothingToVerify", err)
	}
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, "no such user"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("resend for an unknown user = %v, want ErrNotFound", err)
	}
}

// TestVerificationExpiryAndStaleness: a link expires, and a newer link of
// the same purpose makes the older one stale.
func TestVerificationExpiryAndStaleness(t *testing.T) {
	f, m := newMailFixture(t, func(_ *auth.Config, rc *recovery.Config) { rc.VerifyTTL = time.Hour })
	ctx := context.Background()
	u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, first := link(t, m.next(t))
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	_, second := link(t, m.next(t))
	if _, err := f.r.VerifyEmail(ctx, auth.Client{}, first); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("the older link after a newer one = %v, want ErrInvalidLink", err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.r.VerifyEmail(ctx, auth.Client{}, second); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("an expired link = %v, want ErrInvalidLink", err)
	}
}

func TestPasswordReset(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t) // the verification
	p := f.login(t, "alice", "correct horse battery")

	// Unknown and known addresses get the same answer; only the known one
	// gets a mail.
	if err := f.r.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.1"}, "nobody@example.com"); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	if err := f.r.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.1"}, "ALICE@example.com "); err != nil {
		t.Fatal(err)
	}
	msg := m.next(t)
	path, token := link(t, msg)
	if path != "reset-password" || msg.To != "alice@example.com" || !strings.Contains(msg.Text, "1 hour") {
		t.Fatalf("reset mail to %s, link %s:\n%s", msg.To, path, msg.Text)
	}
	if _, err := f.r.VerifyEmail(ctx, auth.Client{}, token); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("a reset token as a verification = %v, want ErrInvalidLink", err)
	}
	// A new password that breaks the rules does not spend the token.
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "short"}); !errors.Is(err, auth.ErrInvalidPassword) {
		t.Fatalf("a short new password = %v, want ErrInvalidPassword", err)
	}
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "a brand new password"}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "another new password"}); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("a spent reset token = %v, want ErrInvalidLink", err)
	}
	// Every session and access token ended; the email counts as verified.
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("an access token after the reset = %v", err)
	}
	if _, err := f.a.Refresh(ctx, auth.Client{}, p.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a refresh token after the reset = %v", err)
	}
	got, _ := f.store.UserByID(ctx, u.ID)
	if !got.EmailVerified {
		t.Fatal("the email is not verified after the reset")
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice@example.com", Password: "a brand new password"}); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}

	// A reset link dies when the password changes by any means.
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	_, token = link(t, m.next(t))
	if err := f.a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "a brand new password", New: "yet another password"}); err != nil {
		t.Fatal(err)
	}
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "the attacker's password"}); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("a reset link after a password change = %v, want ErrInvalidLink", err)
	}

	// It expires. (An hour on: three mails an hour to one account.)
	f.clock.Advance(time.Hour)
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	_, token = link(t, m.next(t))
	f.clock.Advance(time.Hour)
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "a late new password"}); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("an expired reset link = %v, want ErrInvalidLink", err)
	}

	// A disabled account gets no mail, and the same answer.
	got, _ = f.store.UserByID(ctx, u.ID)
	if _, err := f.store.ChangeUser(ctx, got.ID, auth.UserChange{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "not an address"); !errors.Is(err, auth.ErrInvalidEmail) {
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
	u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t) // asked: one of three
	for range 3 {
		if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		m.next(t)
	}
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
		t.Fatalf("the fourth request's answer changed: %v", err)
	}
	m.none(t)
	// A stranger's requests did not spend the user's own budget: the
	// fifth mail to the address goes.
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	m.next(t)
	// The sixth does not: five an hour to one address, one per 12
	// minutes once they are spent.
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	f.clock.Advance(11 * time.Minute)
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	f.clock.Advance(time.Minute)
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	m.next(t)
	f.clock.Advance(20 * time.Minute)
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	m.next(t)

	// Five accounts asking for mails to one address: five mails.
	f.clock.Advance(2 * time.Hour)
	var ids []string
	for i := range 5 {
		v, err := f.a.Register(ctx, auth.NewUser{Username: fmt.Sprint("user", i), Password: "correct horse battery", Email: fmt.Sprintf("user%d@example.com", i)})
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
			if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: id, Password: "correct horse battery", NewEmail: "target@example.org"}); err != nil {
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
		if err := f.r.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.9"}, fmt.Sprintf("n%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	err = f.r.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.9"}, "n@example.com")
	if rl := (*auth.RateLimitError)(nil); !errors.As(err, &rl) || rl.RetryAfter != 6*time.Second {
		t.Fatalf("the 21st request from one address = %v, want a *RateLimitError of 6s", err)
	}
	if _, err := f.r.VerifyEmail(ctx, auth.Client{Addr: "192.0.2.9"}, strings.Repeat("A", 43)); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Fatalf("VerifyEmail from a spent address = %v", err)
	}
}

// TestLimitsConfigured: recovery.Limits replace the defaults, each budget
// on its own.
func TestLimitsConfigured(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		limits recovery.Limits
		// mails is how many of four reset requests for one account, each
		// from another address, are mailed; addr how many requests one
		// address may make.
		mails, addr int
	}{
		{"defaults", recovery.Limits{}, 3, 20},
		{"Address", recovery.Limits{Address: auth.Rate{Burst: 2, Interval: time.Hour}}, 3, 2},
		{"MailForgot", recovery.Limits{MailForgot: auth.Rate{Burst: 1, Interval: time.Hour}}, 1, 20},
		{"MailRecipient", recovery.Limits{MailRecipient: auth.Rate{Burst: 2, Interval: time.Hour}}, 1, 20}, // the signup's mail was one
		{"MailAsked does not bound resets", recovery.Limits{MailAsked: auth.Rate{Burst: 1, Interval: time.Hour}}, 3, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, m := newMailFixture(t, func(_ *auth.Config, rc *recovery.Config) { rc.Limits = tc.limits })
			if _, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
				t.Fatal(err)
			}
			m.next(t)
			for i := range 4 {
				if err := f.r.RequestPasswordReset(ctx, auth.Client{Addr: fmt.Sprint("192.0.2.", i)}, "alice@example.com"); err != nil {
					t.Fatal(err)
				}
				if i < tc.mails {
					m.next(t)
				}
			}
			m.none(t)
			waitFor(t, "the last request was not throttled", func() bool { return f.events.Count(recovery.EventMailThrottled) == 4-tc.mails })
			for i := range tc.addr {
				if err := f.r.RequestPasswordReset(ctx, auth.Client{Addr: "198.51.100.1"}, fmt.Sprintf("n%d@example.com", i)); err != nil {
					t.Fatalf("request %d from one address: %v", i+1, err)
				}
			}
			if err := f.r.RequestPasswordReset(ctx, auth.Client{Addr: "198.51.100.1"}, "n@example.com"); !errors.Is(err, auth.ErrTooManyAttempts) {
				t.Fatalf("request %d from one address = %v, want ErrTooManyAttempts", tc.addr+1, err)
			}
		})
	}
}

func TestChangeEmail(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t)
	f.register(t, "bob", "correct horse battery")
	if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "wrong password", NewEmail: "alice@new.example.com"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password = %v", err)
	}
	if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "BOB"}); !errors.Is(err, auth.ErrInvalidEmail) {
		t.Fatalf("not an address = %v", err)
	}
	if _, err := f.a.Register(ctx, auth.NewUser{Username: "carol", Password: "correct horse battery", Email: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	m.next(t)
	if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "Carol@Example.com"}); !errors.Is(err, auth.ErrEmailExists) {
		t.Fatalf("another account's email = %v, want ErrEmailExists", err)
	}
	if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "alice@new.example.com"}); err != nil {
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
	got, err := f.r.VerifyEmail(ctx, auth.Client{}, token)
	if err != nil || got.Email != "alice@new.example.com" || !got.EmailVerified {
		t.Fatalf("after the link: %+v, %v", got, err)
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice@example.com", Password: "correct horse battery"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("login with the old email = %v", err)
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice@new.example.com", Password: "correct horse battery"}); err != nil {
		t.Fatalf("login with the new email: %v", err)
	}
}

// TestLoginNamesUnambiguous: a username is never another account's email,
// nor an email another's username.
func TestLoginNamesUnambiguous(t *testing.T) {
	f, _ := newMailFixture(t, nil)
	ctx := context.Background()
	if _, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    auth.NewUser
		want error
	}{
		{auth.NewUser{Username: "alice2", Email: "ALICE@example.com"}, auth.ErrEmailExists},
		{auth.NewUser{Username: "alice@example.com"}, auth.ErrUserExists},
		{auth.NewUser{Username: "bob", Email: "alice"}, auth.ErrInvalidEmail},
		{auth.NewUser{Username: "bob@example.org"}, nil},
		{auth.NewUser{Username: "carol", Email: "bob@example.org"}, auth.ErrEmailExists},
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
	m.setFail(2)
	if _, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	_, token := link(t, m.next(t))
	// The sent event follows the delivery the fake sender saw: wait for it.
	waitFor(t, "no mail_sent event", func() bool { return f.events.Count(recovery.EventMailSent) >= 1 })
	if f.events.Count(recovery.EventMailFailed) != 2 || f.events.Count(recovery.EventMailSent) != 1 {
		t.Fatalf("%d failures and %d sends, want 2 and 1", f.events.Count(recovery.EventMailFailed), f.events.Count(recovery.EventMailSent))
	}
	m.setFail(10)
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("fewer than %d failures", 2+recovery.MailAttempts), func() bool {
		return f.events.Count(recovery.EventMailFailed) >= 2+recovery.MailAttempts
	})
	if err := f.r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.events.Count(recovery.EventMailFailed); n != 2+recovery.MailAttempts {
		t.Fatalf("%d failures, want %d: every attempt, and no more", n, 2+recovery.MailAttempts)
	}
	for _, e := range f.events.All() {
		if strings.Contains(fmt.Sprintf("%+v", e), token) {
			t.Errorf("event %s holds the link's token", e.Type)
		}
	}
	// After Shutdown, a flow's mail is dropped, the answer unchanged.
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := f.events.Count(recovery.EventMailThrottled); n != 1 {
		t.Fatalf("%d mail_throttled events after Shutdown, want 1 (the mail dropped)", n)
	}
}

// TestMailShutdownStopsRetries: a stopping service gives each queued mail
// its attempt but does not wait out the retry delays.
func TestMailShutdownStopsRetries(t *testing.T) {
	f, m := newMailFixture(t, nil)
	recovery.SetMailRetryDelays(f.r, recovery.MailRetryDelays) // 1 s, 10 s, 60 s
	m.setFail(100)
	ctx := context.Background()
	for _, name := range []string{"alice", "bob"} {
		if _, err := f.a.Register(ctx, auth.NewUser{Username: name, Password: "correct horse battery", Email: name + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "no mail failed", func() bool { return f.events.Count(recovery.EventMailFailed) > 0 })
	done := make(chan error, 1)
	go func() { done <- f.r.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown waited for the retry delays")
	}
	// Each mail: one attempt failed, then one event for the retries given up.
	for _, to := range []string{"alice@example.com", "bob@example.com"} {
		if n := f.events.Count(recovery.EventMailFailed, authtest.About(to)); n != 2 {
			t.Errorf("%d mail_failed events for %s, want 2", n, to)
		}
	}
	if n := f.events.Count(recovery.EventMailFailed); n != 4 {
		t.Fatalf("%d mail_failed events, want 4", n)
	}
}

// TestMailTemplates: a service's own templates replace the library's.
func TestMailTemplates(t *testing.T) {
	f, m := newMailFixture(t, func(_ *auth.Config, rc *recovery.Config) {
		rc.VerifyMail.Subject = mustText("Welcome, {{.Username}}")
		rc.VerifyMail.Text = mustText("Confirm: {{.Link}} ({{.Expires}})\n")
	})
	if _, err := f.a.Register(context.Background(), auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	msg := m.next(t)
	if msg.Subject != "Welcome, alice" || !strings.HasPrefix(msg.Text, "Confirm: https://auth.example.com/verify-email?token=") ||
		!strings.HasSuffix(msg.Text, "(48 hours)\n") || msg.HTML != "" {
		t.Fatalf("subject %q, text %q, HTML %q", msg.Subject, msg.Text, msg.HTML)
	}
}

func mustText(s string) *texttemplate.Template {
	return texttemplate.Must(texttemplate.New("t").Parse(s))
}

// TestSendPasswordReset: an administrator's reset link goes to the
// account's address in its budget of mails asked for, which the resets
// anyone can ask for by address do not spend; an account without an
// address, or an unknown one, is refused; a disabled one is mailed
// nothing.
func TestSendPasswordReset(t *testing.T) {
	f, m := newMailFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Email: "alice@example.com", NoPassword: true, Actor: "root-id"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t) // the verification link: asked, one of three
	nomail := f.register(t, "bob", "correct horse battery")
	for _, tc := range []struct {
		name string
		id   string
		want error
	}{
		{"no email", nomail.ID, recovery.ErrNoEmail},
		{"unknown", "nobody", auth.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.r.SendPasswordReset(ctx, recovery.ResetMail{UserID: tc.id, Actor: "root-id"}); !errors.Is(err, tc.want) {
				t.Fatalf("SendPasswordReset = %v, want %v", err, tc.want)
			}
		})
	}
	m.none(t)
	for range 3 { // forgot: a budget of their own
		if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		m.next(t)
	}
	for range 2 {
		if err := f.r.SendPasswordReset(ctx, recovery.ResetMail{UserID: u.ID, Actor: "root-id", Client: auth.Client{Addr: "192.0.2.5"}}); err != nil {
			t.Fatal(err)
		}
	}
	// The fifth mail to the address: the recipient's budget is spent then.
	_, token := link(t, m.next(t))
	m.none(t)
	if n := f.events.Count(recovery.EventPasswordResetRequested, func(e auth.Event) bool { return e.Actor == "root-id" && e.ClientAddr == "192.0.2.5" }); n != 2 {
		t.Fatalf("%d events naming the actor", n)
	}
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "alice's first password"}); err != nil {
		t.Fatal(err)
	}
	f.login(t, "alice", "alice's first password")

	// A new hour: the account's budget of mails asked for holds 3.
	f.clock.Advance(2 * time.Hour)
	for range 3 {
		if err := f.r.SendPasswordReset(ctx, recovery.ResetMail{UserID: u.ID, Actor: "root-id"}); err != nil {
			t.Fatal(err)
		}
		m.next(t)
	}
	if err := f.r.SendPasswordReset(ctx, recovery.ResetMail{UserID: u.ID, Actor: "root-id"}); err != nil {
		t.Fatal(err)
	}
	m.none(t)

	// A disabled account.
	f.clock.Advance(2 * time.Hour)
	if _, err := f.store.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := f.r.SendPasswordReset(ctx, recovery.ResetMail{UserID: u.ID, Actor: "root-id"}); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	if n := f.events.Count(recovery.EventPasswordResetRequested, func(e auth.Event) bool { return e.Reason == "disabled" }); n != 1 {
		t.Fatalf("%d events of a disabled account", n)
	}
}
