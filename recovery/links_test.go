package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
)

// The v3 rules of mailed links, notices, and the mail workers: each test
// reproduces a finding of the attack on v2 (issue 18).

// recovered is an account with a verified email, as a victim has one.
func recovered(t *testing.T, f *fixture, m *recordingMailer, name string) *auth.User {
	t.Helper()
	ctx := context.Background()
	if _, err := f.a.Register(ctx, auth.NewUser{Username: name, Password: "correct horse battery", Email: name + "@example.com"}); err != nil {
		t.Fatal(err)
	}
	_, token := link(t, m.next(t))
	u, err := f.r.VerifyEmail(ctx, auth.Client{}, token)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLinksDieWithCredentials: an email-change link and a reset link that
// someone keeps die when the owner secures the account: a password change
// or reset, logout everywhere, a disabling, an email change (findings 1
// and 2). Nothing of the account changes when they are used after.
func TestLinksDieWithCredentials(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// reset: whether a pending reset link is kept too (a reset kill
		// spends its own).
		reset bool
		kill  func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User)
	}{
		{"password changed", true, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			if err := f.a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a new password here"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"password reset", false, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			if err := f.r.RequestPasswordReset(ctx, auth.Client{}, u.Email); err != nil {
				t.Fatal(err)
			}
			_, token := link(t, m.next(t))
			if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "a new password here"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"logged out everywhere", true, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			if err := f.a.LogoutAll(ctx, auth.Client{}, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"logged out by an administrator", true, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			if _, err := admin.New(f.a).UpdateUser(ctx, u.ID, admin.Update{Logout: true, Actor: "admin"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"disabled, then enabled", true, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			for _, d := range []bool{true, false} {
				if _, err := admin.New(f.a).UpdateUser(ctx, u.ID, admin.Update{Disabled: &d, Actor: "admin"}); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"email changed by another link", true, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "owner@elsewhere.example"}); err != nil {
				t.Fatal(err)
			}
			_, token := link(t, m.next(t))
			if _, err := f.r.VerifyEmail(ctx, auth.Client{}, token); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, m := newMailFixture(t, nil)
			u := recovered(t, f, m, "alice")
			// Whoever had the password asks to move the account to an
			// address of his own, and keeps the link.
			if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "mallory@evil.example"}); err != nil {
				t.Fatal(err)
			}
			_, change := link(t, m.next(t))
			var reset string
			if tt.reset {
				if err := f.r.RequestPasswordReset(ctx, auth.Client{}, u.Email); err != nil {
					t.Fatal(err)
				}
				_, reset = link(t, m.next(t))
			}
			tt.kill(t, f, m, u)
			before, _ := f.store.UserByID(ctx, u.ID)
			if _, err := f.r.VerifyEmail(ctx, auth.Client{}, change); !errors.Is(err, recovery.ErrInvalidLink) {
				t.Fatalf("the kept email-change link = %v, want recovery.ErrInvalidLink", err)
			}
			if tt.reset {
				if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: reset, NewPassword: "mallory's password"}); !errors.Is(err, recovery.ErrInvalidLink) {
					t.Fatalf("the kept reset link = %v, want recovery.ErrInvalidLink", err)
				}
			}
			after, _ := f.store.UserByID(ctx, u.ID)
			if after.Email != before.Email || after.PasswordHash != before.PasswordHash {
				t.Fatalf("a dead link changed the account: %s → %s", before.Email, after.Email)
			}
		})
	}
}

// TestLinksOfDisabledAccounts: a disabled account's links never work, and
// none is made for it (finding 2).
func TestLinksOfDisabledAccounts(t *testing.T) {
	ctx := context.Background()
	f, m := newMailFixture(t, nil)
	u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, verify := link(t, m.next(t))
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, u.Email); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if _, err := admin.New(f.a).UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(true), Actor: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.VerifyEmail(ctx, auth.Client{}, verify); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("a disabled account's verification link = %v", err)
	}
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: reset, NewPassword: "a new password here"}); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("a disabled account's reset link = %v", err)
	}
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, u.Email); err != nil {
		t.Fatal(err)
	}
	m.none(t)
	if err := f.r.RequestEmailVerification(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	m.none(t)
}

// TestPreAccountTakeoverByEmailChange: an attacker registers the victim's
// address, asks to move the account to his own, and waits for the victim
// to recover the account by a reset; his link then does nothing (finding
// 1).
func TestPreAccountTakeoverByEmailChange(t *testing.T) {
	ctx := context.Background()
	f, m := newMailFixture(t, nil)
	u, err := f.a.Register(ctx, auth.NewUser{Username: "victim", Password: "attacker's password", Email: "victim@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t) // the verification mail, which the victim ignores
	if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "attacker's password", NewEmail: "attacker@evil.example"}); err != nil {
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	m.notice(t, "victim@example.com", "change of your email address")
	// The victim "recovers" the account.
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "victim@example.com"); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: reset, NewPassword: "the victim's password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.VerifyEmail(ctx, auth.Client{}, change); !errors.Is(err, recovery.ErrInvalidLink) {
		t.Fatalf("the attacker's change link after the victim's reset = %v, want recovery.ErrInvalidLink", err)
	}
	got, _ := f.store.UserByID(ctx, u.ID)
	if got.Email != "victim@example.com" || !got.EmailVerified {
		t.Fatalf("the account's email is %q (verified %v)", got.Email, got.EmailVerified)
	}
}

// TestNotices: the account's address (the old one, for a change) hears of
// every change that could lock its owner out, in a mail without a link
// (finding 1: "the owner gets no mail at any step").
func TestNotices(t *testing.T) {
	ctx := context.Background()
	f, m := newMailFixture(t, nil)
	u := recovered(t, f, m, "alice")
	if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "alice@new.example"}); err != nil {
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	m.notice(t, "alice@example.com", "A change of your email address was asked for")
	if _, err := f.r.VerifyEmail(ctx, auth.Client{}, change); err != nil {
		t.Fatal(err)
	}
	m.notice(t, "alice@example.com", "Your email address was changed")
	if err := f.a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a new password here"}); err != nil {
		t.Fatal(err)
	}
	m.notice(t, "alice@new.example", "Your password was changed")
	if err := f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@new.example"); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: reset, NewPassword: "another new password"}); err != nil {
		t.Fatal(err)
	}
	m.notice(t, "alice@new.example", "Your password was reset")
	// Notices are in no budget: spent budgets never silence them.
	for range 5 {
		_ = f.r.RequestPasswordReset(ctx, auth.Client{}, "alice@new.example")
	}
	if err := f.a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "another new password", New: "yet another password"}); err != nil {
		t.Fatal(err)
	}
	m.notice(t, "alice@new.example", "Your password was changed")
	// A verification of the same address (no change) sends none.
	m.noNotice(t)
}

// TestEmailChangeToATakenName: an email change whose new address became
// another account's username meanwhile fails at the link, so that a login
// name stays unambiguous (finding 8).
func TestEmailChangeToATakenName(t *testing.T) {
	ctx := context.Background()
	f, m := newMailFixture(t, nil)
	u := recovered(t, f, m, "alice")
	if err := f.r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "shared@example.org"}); err != nil {
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	eve := f.register(t, "shared@example.org", "eve's password here")
	if _, err := f.r.VerifyEmail(ctx, auth.Client{}, change); !errors.Is(err, auth.ErrEmailExists) {
		t.Fatalf("completing a change to another account's username = %v, want auth.ErrEmailExists", err)
	}
	pair, err := f.a.Login(ctx, auth.Credentials{Username: "shared@example.org", Password: "eve's password here"})
	if err != nil {
		t.Fatal(err)
	}
	if _, c, err := f.a.Authenticate(ctx, pair.AccessToken); err != nil || c.Subject != eve.ID {
		t.Fatalf("the login name names another account (%v)", err)
	}
}

// TestResetMakesTheClientFamiliar: the owner who proves the address by a
// reset is let in from where the reset was made, even while strangers
// keep the username's budget spent (finding 3: "a completed reset does not
// lift it").
func TestResetMakesTheClientFamiliar(t *testing.T) {
	ctx := context.Background()
	f, m := newMailFixture(t, nil) // the default limiter
	u := recovered(t, f, m, "alice")
	for i := range 20 {
		_, _ = f.a.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong password", Client: auth.Client{Addr: fmt.Sprintf("203.0.113.%d", i)}})
	}
	owner := "198.51.100.7"
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery", Client: auth.Client{Addr: owner}}); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Fatalf("an unfamiliar owner under attack = %v, want refused", err)
	}
	if err := f.r.RequestPasswordReset(ctx, auth.Client{Addr: owner}, u.Email); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if err := f.r.ResetPassword(ctx, recovery.PasswordReset{Token: reset, NewPassword: "a new password here", Client: auth.Client{Addr: owner}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice", Password: "a new password here", Client: auth.Client{Addr: owner}}); err != nil {
		t.Fatalf("the owner after a reset from that address: %v", err)
	}
}

// refusingMailer refuses mails to some addresses, for good or for a
// while, and holds others until released; it sends the rest at once.
type refusingMailer struct {
	refuse, later map[string]bool
	hold          map[string]chan struct{}
	mu            sync.Mutex
	tries         map[string]int
	sent          chan string
}

func (m *refusingMailer) Send(ctx context.Context, msg *recovery.Message) error {
	m.mu.Lock()
	m.tries[msg.To]++
	m.mu.Unlock()
	switch {
	case m.refuse[msg.To]:
		return fmt.Errorf("mail: sending: %w: 550 5.1.1 <%s>: Recipient address rejected", recovery.ErrMailRefused, msg.To)
	case m.later[msg.To]:
		return fmt.Errorf("mail: sending: 450 4.2.0 <%s>: try again later", msg.To)
	case m.hold[msg.To] != nil:
		select {
		case <-m.hold[msg.To]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.sent <- msg.To
	return nil
}

// TestMailOneRecipientNeverDelaysAnother: recipients the mail server
// refuses, for good or for now, or holds, take no more than their own
// attempts: another's mail goes at once (finding 5), a permanent refusal
// is tried once, and no event holds an address (finding 9).
func TestMailOneRecipientNeverDelaysAnother(t *testing.T) {
	ctx := context.Background()
	m := &refusingMailer{
		refuse: map[string]bool{"gone1@example.com": true, "gone2@example.com": true, "gone3@example.com": true},
		later:  map[string]bool{"busy@example.com": true},
		hold:   map[string]chan struct{}{"slow@example.com": make(chan struct{})},
		tries:  map[string]int{}, sent: make(chan string, 10),
	}
	// Failed mails are tried again after a millisecond (the fixture's).
	f, _ := newMailFixture(t, func(_ *auth.Config, rc *recovery.Config) { rc.Mailer = m })
	defer close(m.hold["slow@example.com"]) // before the fixture's Shutdown
	for _, name := range []string{"gone1", "gone2", "gone3", "busy", "slow"} {
		if _, err := f.a.Register(ctx, auth.NewUser{Username: name, Password: "correct horse battery", Email: name + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	select {
	case to := <-m.sent:
		if to != "alice@example.com" {
			t.Fatalf("sent to %s", to)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a mail waited behind mails the server refuses or holds")
	}
	t.Logf("sent after %v", time.Since(start))
	// The mail refused for a while has every attempt, the retry delays
	// over: a permanent refusal tried again would have been by then.
	waitFor(t, "the busy recipient's mail did not fail every attempt", func() bool {
		return f.events.Count(recovery.EventMailFailed, authtest.About("busy@example.com")) == recovery.MailAttempts
	})
	m.mu.Lock()
	for _, gone := range []string{"gone1@example.com", "gone2@example.com", "gone3@example.com"} {
		if m.tries[gone] != 1 {
			t.Errorf("a permanently refused mail was tried %d times, want 1", m.tries[gone])
		}
		if n := f.events.Count(recovery.EventMailFailed, authtest.About(gone)); n != 1 {
			t.Errorf("%d mail_failed events for a permanently refused mail, want 1", n)
		}
	}
	if m.tries["busy@example.com"] != recovery.MailAttempts {
		t.Errorf("a mail refused for a while was tried %d times, want %d", m.tries["busy@example.com"], recovery.MailAttempts)
	}
	m.mu.Unlock()
	for _, e := range f.events.All() {
		if strings.Contains(e.Reason, "@") {
			t.Errorf("event %s's reason holds an address: %s", e.Type, e.Reason)
		}
	}
}
