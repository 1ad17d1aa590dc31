package recovery_test

import (
	"context"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
)

// TestActsOnCoreEvents: a Recovery acts on its Authenticator's events,
// which it subscribes to: a new account's address gets a verification link
// (EventRegistered), a changed password a notice (EventPasswordChanged);
// an account without an address gets nothing, and the events of another
// Authenticator on the same store are not its own.
func TestActsOnCoreEvents(t *testing.T) {
	ctx := context.Background()
	client := auth.Client{Addr: "192.0.2.7"}
	tests := []struct {
		name string
		// act does what the core does; want checks what was mailed.
		act  func(t *testing.T, f *fixture) *auth.User
		want func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User)
	}{
		{"signup with an address", func(t *testing.T, f *fixture) *auth.User {
			u, err := f.a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "Alice@Example.com", Client: client})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			msg := m.next(t)
			if path, _ := link(t, msg); path != "verify-email" || msg.To != "alice@example.com" {
				t.Fatalf("mailed %s to %s", path, msg.To)
			}
			if n := f.events.Count(recovery.EventEmailVerificationRequested, func(e auth.Event) bool {
				return e.UserID == u.ID && e.Username == "alice" && e.Email == "alice@example.com" && e.ClientAddr == client.Addr
			}); n != 1 {
				t.Fatalf("%d email_verification_requested events for the signup, want 1: %+v", n, f.events.All())
			}
			_, token := link(t, msg)
			if got, err := f.r.VerifyEmail(ctx, client, token); err != nil || !got.EmailVerified {
				t.Fatalf("the signup's link: %+v, %v", got, err)
			}
		}},
		{"signup without an address", func(t *testing.T, f *fixture) *auth.User {
			return f.register(t, "bob", "correct horse battery")
		}, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			m.none(t)
			if n := f.events.Count(recovery.EventEmailVerificationRequested); n != 0 {
				t.Fatalf("%d email_verification_requested events", n)
			}
		}},
		{"signup found changed by the worker", func(t *testing.T, f *fixture) *auth.User {
			// As if the account's logins had ended between the signup and
			// the worker: its link is made for the account as it is then.
			u := f.register(t, "carol", "correct horse battery")
			if now, err := f.store.ChangeUser(ctx, u.ID, auth.UserChange{Logout: true, Now: f.clock.Now()}); err != nil || now.TokenVersion == u.TokenVersion {
				t.Fatalf("ChangeUser = %+v, %v: the token version did not change", now, err)
			}
			f.a.Emit(ctx, auth.Event{Type: auth.EventRegistered, UserID: u.ID, Username: u.Username, Email: "carol@example.com"})
			return u
		}, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			_, token := link(t, m.next(t))
			got, err := f.r.VerifyEmail(ctx, client, token)
			if err != nil || got.Email != "carol@example.com" || !got.EmailVerified {
				t.Fatalf("the link: %+v, %v", got, err)
			}
		}},
		{"password changed", func(t *testing.T, f *fixture) *auth.User {
			u, err := f.a.Register(ctx, auth.NewUser{Username: "dave", Password: "correct horse battery", Email: "dave@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a new password here", Client: client}); err != nil {
				t.Fatal(err)
			}
			return u
		}, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			m.next(t) // the signup's
			m.notice(t, "dave@example.com", "Your password was changed")
			m.noNotice(t)
		}},
		{"password changed, no address", func(t *testing.T, f *fixture) *auth.User {
			u := f.register(t, "erin", "correct horse battery")
			if err := f.a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a new password here"}); err != nil {
				t.Fatal(err)
			}
			return u
		}, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			m.noNotice(t)
			m.none(t)
		}},
		{"another Authenticator's events", func(t *testing.T, f *fixture) *auth.User {
			other, err := auth.New(auth.Config{Store: f.store, SecretKey: testSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
			if err != nil {
				t.Fatal(err)
			}
			u, err := other.Register(ctx, auth.NewUser{Username: "frank", Password: "correct horse battery", Email: "frank@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if err := other.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a new password here"}); err != nil {
				t.Fatal(err)
			}
			return u
		}, func(t *testing.T, f *fixture, m *recordingMailer, u *auth.User) {
			m.none(t)
			m.noNotice(t)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, m := newMailFixture(t, nil)
			u := tc.act(t, f)
			tc.want(t, f, m, u)
		})
	}
}
