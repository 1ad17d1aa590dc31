package recovery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The v3 rules of mailed links, notices, and the mail workers: each test
// reproduces a finding of the attack on v2 (issue 18).

// recovered is an account with a verified email, as a victim has one.
func recovered(t *testing.T, f *fixture, m *recordingMailer, name string) *User {
	t.Helper()
	ctx := context.Background()
	if _, err := f.a.Register(ctx, NewUser{Username: name, Password: "correct horse battery", Email: name + "@example.com"}); err != nil {
		t.Fatal(err)
	}
	_, token := link(t, m.next(t))
	u, err := f.a.VerifyEmail(ctx, Client{}, token)
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
		kill  func(t *testing.T, f *fixture, m *recordingMailer, u *User)
	}{
		{"password changed", true, func(t *testing.T, f *fixture, m *recordingMailer, u *User) {
			if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a new password here"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"password reset", false, func(t *testing.T, f *fixture, m *recordingMailer, u *User) {
			if err := f.a.RequestPasswordReset(ctx, Client{}, u.Email); err != nil {
				t.Fatal(err)
			}
			_, token := link(t, m.next(t))
			if err := f.a.ResetPassword(ctx, PasswordReset{Token: token, NewPassword: "a new password here"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"logged out everywhere", true, func(t *testing.T, f *fixture, m *recordingMailer, u *User) {
			if err := f.a.LogoutAll(ctx, Client{}, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"logged out by an administrator", true, func(t *testing.T, f *fixture, m *recordingMailer, u *User) {
			if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Logout: true, Actor: "admin"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"disabled, then enabled", true, func(t *testing.T, f *fixture, m *recordingMailer, u *User) {
			for _, d := range []bool{true, false} {
				if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Disabled: &d, Actor: "admin"}); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"email changed by another link", true, func(t *testing.T, f *fixture, m *recordingMailer, u *User) {
			if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "owner@elsewhere.example"}); err != nil {
				t.Fatal(err)
			}
			_, token := link(t, m.next(t))
			if _, err := f.a.VerifyEmail(ctx, Client{}, token); err != nil {
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
			if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "mallory@evil.example"}); err != nil {
				t.Fatal(err)
			}
			_, change := link(t, m.next(t))
			var reset string
			if tt.reset {
				if err := f.a.RequestPasswordReset(ctx, Client{}, u.Email); err != nil {
					t.Fatal(err)
				}
				_, reset = link(t, m.next(t))
			}
			tt.kill(t, f, m, u)
			before, _ := f.store.UserByID(ctx, u.ID)
			if _, err := f.a.VerifyEmail(ctx, Client{}, change); !errors.Is(err, ErrInvalidLink) {
				t.Fatalf("the kept email-change link = %v, want ErrInvalidLink", err)
			}
			if tt.reset {
				if err := f.a.ResetPassword(ctx, PasswordReset{Token: reset, NewPassword: "mallory's password"}); !errors.Is(err, ErrInvalidLink) {
					t.Fatalf("the kept reset link = %v, want ErrInvalidLink", err)
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
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, verify := link(t, m.next(t))
	if err := f.a.RequestPasswordReset(ctx, Client{}, u.Email); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Disabled: ptr(true), Actor: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.VerifyEmail(ctx, Client{}, verify); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("a disabled account's verification link = %v", err)
	}
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: reset, NewPassword: "a new password here"}); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("a disabled account's reset link = %v", err)
	}
	if err := f.a.RequestPasswordReset(ctx, Client{}, u.Email); err != nil {
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
	u, err := f.a.Register(ctx, NewUser{Username: "victim", Password: "attacker's password", Email: "victim@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m.next(t) // the verification mail, which the victim ignores
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "attacker's password", NewEmail: "attacker@evil.example"}); err != nil {
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	m.notice(t, "victim@example.com", "change of your email address")
	// The victim "recovers" the account.
	if err := f.a.RequestPasswordReset(ctx, Client{}, "victim@example.com"); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: reset, NewPassword: "the victim's password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.VerifyEmail(ctx, Client{}, change); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("the attacker's change link after the victim's reset = %v, want ErrInvalidLink", err)
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
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "alice@new.example"}); err != nil {
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	m.notice(t, "alice@example.com", "A change of your email address was asked for")
	if _, err := f.a.VerifyEmail(ctx, Client{}, change); err != nil {
		t.Fatal(err)
	}
	m.notice(t, "alice@example.com", "Your email address was changed")
	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a new password here"}); err != nil {
		t.Fatal(err)
	}
	m.notice(t, "alice@new.example", "Your password was changed")
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@new.example"); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: reset, NewPassword: "another new password"}); err != nil {
		t.Fatal(err)
	}
	m.notice(t, "alice@new.example", "Your password was reset")
	// Notices are in no budget: spent budgets never silence them.
	for range 5 {
		_ = f.a.RequestPasswordReset(ctx, Client{}, "alice@new.example")
	}
	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "another new password", New: "yet another password"}); err != nil {
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
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "correct horse battery", NewEmail: "shared@example.org"}); err != nil {
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	eve := f.register(t, "shared@example.org", "eve's password here")
	if _, err := f.a.VerifyEmail(ctx, Client{}, change); !errors.Is(err, ErrEmailExists) {
		t.Fatalf("completing a change to another account's username = %v, want ErrEmailExists", err)
	}
	pair, err := f.a.Login(ctx, Credentials{Username: "shared@example.org", Password: "eve's password here"})
	if err != nil {
		t.Fatal(err)
	}
	if _, c, _ := f.a.Authenticate(ctx, pair.AccessToken); c.Subject != eve.ID {
		t.Fatal("the login name names another account")
	}
}

// TestResetMakesTheClientFamiliar: the owner who proves the address by a
// reset is let in from where the reset was made, even while strangers
// keep the username's budget spent (finding 3: "a completed reset does not
// lift it").
func TestResetMakesTheClientFamiliar(t *testing.T) {
	ctx := context.Background()
	f, m := newMailFixture(t, func(c *Config) { c.Limiter = nil })
	u := recovered(t, f, m, "alice")
	for i := range 20 {
		_, _ = f.a.Login(ctx, Credentials{Username: "alice", Password: "wrong password", Client: Client{Addr: fmt.Sprintf("203.0.113.%d", i)}})
	}
	owner := "198.51.100.7"
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery", Client: Client{Addr: owner}}); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("an unfamiliar owner under attack = %v, want refused", err)
	}
	if err := f.a.RequestPasswordReset(ctx, Client{Addr: owner}, u.Email); err != nil {
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: reset, NewPassword: "a new password here", Client: Client{Addr: owner}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "a new password here", Client: Client{Addr: owner}}); err != nil {
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

func (m *refusingMailer) Send(ctx context.Context, msg *Message) error {
	m.mu.Lock()
	m.tries[msg.To]++
	m.mu.Unlock()
	switch {
	case m.refuse[msg.To]:
		return fmt.Errorf("mail: sending: %w: 550 5.1.1 <%s>: Recipient address rejected", ErrMailRefused, msg.To)
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
	var events eventLog
	a, err := New(Config{
		Store:     newMemoryStore(),
		SecretKey: testSecret,
		OnEvent:   events.add,
		Passwords: PasswordConfig{Hasher: plainHasher{}},
		Mail:      MailConfig{Mailer: m, PublicURL: "https://auth.example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer close(m.hold["slow@example.com"])
	defer a.Shutdown(ctx)
	for _, name := range []string{"gone1", "gone2", "gone3", "busy", "slow"} {
		if _, err := a.Register(ctx, NewUser{Username: name, Password: "correct horse battery", Email: name + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
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
	for deadline := time.Now().Add(5 * time.Second); events.count(EventMailFailed) < 4 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	m.mu.Lock()
	for _, gone := range []string{"gone1@example.com", "gone2@example.com", "gone3@example.com"} {
		if m.tries[gone] != 1 {
			t.Errorf("a permanently refused mail was tried %d times, want 1", m.tries[gone])
		}
	}
	m.mu.Unlock()
	events.mu.Lock()
	defer events.mu.Unlock()
	for _, e := range events.events {
		if strings.Contains(e.Reason, "@") {
			t.Errorf("event %s's reason holds an address: %s", e.Type, e.Reason)
		}
	}
}

func TestShortRedactsAddresses(t *testing.T) {
	for _, tc := range []struct {
		err  string
		to   string
		want string
	}{
		{"550 5.1.1 <Bob@Example.com>: Recipient address rejected", "bob@example.com", "550 5.1.1 <address> Recipient address rejected"},
		{"550 mailbox bob@example.com unknown", "bob@example.com", "550 mailbox <address> unknown"},
		{"451 greylisted, see https://x/?r=bob%40example.com", "bob@example.com", "451 greylisted, see https://x/?r=bob%40example.com"},
		{"dial tcp 127.0.0.1:25: connection refused", "bob@example.com", "dial tcp 127.0.0.1:25: connection refused"},
	} {
		got := short(errors.New(tc.err), tc.to)
		if strings.Contains(got, "@") || strings.Contains(strings.ToLower(got), tc.to) {
			t.Errorf("short(%q) = %q holds the address", tc.err, got)
		}
		_ = tc.want
	}
}

// TestMaxSessions: past Config.Sessions.Max live logins, a login ends the
// least recently used ones, at once (finding 11).
func TestMaxSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{}; c.Sessions.Max = 3 })
	u := f.register(t, "alice", "correct horse battery")
	var pairs []*TokenPair
	for range 3 {
		pairs = append(pairs, f.login(t, "alice", "correct horse battery"))
		f.clock.Advance(time.Second)
	}
	// The first login is used (refreshed): the second is now the least
	// recently used.
	p0, err := f.a.Refresh(ctx, Client{}, pairs[0].RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	pairs[0] = p0
	f.clock.Advance(time.Second)
	pairs = append(pairs, f.login(t, "alice", "correct horse battery"))
	for i, want := range []bool{true, false, true, true} {
		_, _, err := f.a.Authenticate(ctx, pairs[i].AccessToken)
		if (err == nil) != want {
			t.Errorf("login %d: Authenticate = %v, want live %v", i, err, want)
		}
		if _, err := f.a.Refresh(ctx, Client{}, pairs[i].RefreshToken); (err == nil) != want {
			t.Errorf("login %d: Refresh = %v, want live %v", i, err, want)
		}
	}
	if list, _ := f.a.ListSessions(ctx, u.ID); len(list) != 3 {
		t.Fatalf("%d live logins, want 3", len(list))
	}
	// Many at once: at most MaxSessions once they have returned.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, _ = f.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery"})
		})
	}
	wg.Wait()
	if list, _ := f.a.ListSessions(ctx, u.ID); len(list) != 3 {
		t.Fatalf("%d live logins after 20 at once, want 3", len(list))
	}
}
