package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSignIn: the seam refuses what it cannot make a login of, and makes
// one of a verified user whatever the method, with the same session, token
// pair and event as a password login, the methods recorded.
func TestSignIn(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice := f.register(t, "alice", "correct horse battery")
	disabled := f.register(t, "mallory", "correct horse battery")
	if _, err := f.store.ChangeUser(ctx, disabled.ID, UserChange{Disabled: ptr(true), Logout: true, Now: f.a.Now()}); err != nil {
		t.Fatal(err)
	}
	// disabled is the copy Register returned, from before the account was
	// disabled: SignIn reads the account again.
	client := Client{Addr: "192.0.2.44", UserAgent: "seam-test/1"}
	for _, tt := range []struct {
		name    string
		v       Verified
		wantErr error
	}{
		{"no user", Verified{Methods: []string{"hwk"}}, errNoMethod},
		{"no method", Verified{User: alice}, errNoMethod},
		{"an empty method", Verified{User: alice, Methods: []string{"pwd", ""}}, errNoMethod},
		{"a disabled user, from an old copy", Verified{User: disabled, Methods: []string{"hwk"}}, ErrUserDisabled},
		{"a user that does not exist", Verified{User: &User{ID: "nobody"}, Methods: []string{"hwk"}}, ErrNotFound},
		{"a passkey", Verified{User: alice, Methods: []string{"hwk", "user"}, Client: client}, nil},
		{"a password and a code", Verified{User: alice, Methods: []string{MethodPassword, "otp"}, Client: client}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.events.count(EventLoginSucceeded)
			f.clock.Advance(time.Second) // each session newer than the last
			pair, err := f.a.SignIn(ctx, tt.v)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SignIn = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if pair != nil || f.events.count(EventLoginSucceeded) != before {
					t.Fatalf("a refused sign-in gave %v and an event", pair)
				}
				return
			}
			u, c, err := f.a.Authenticate(ctx, pair.AccessToken)
			if err != nil || u.ID != alice.ID {
				t.Fatalf("the access token: %v, %v", u, err)
			}
			e := f.events.last(EventLoginSucceeded)
			if !slices.Equal(e.Methods, tt.v.Methods) || e.ClientAddr != client.Addr || e.SessionID != c.SessionID || e.UserID != alice.ID {
				t.Fatalf("event %+v, want methods %v from %s in session %s", e, tt.v.Methods, client.Addr, c.SessionID)
			}
			sessions, err := f.a.ListSessions(ctx, alice.ID)
			if err != nil || len(sessions) == 0 || sessions[0].ID != c.SessionID || sessions[0].UserAgent != client.UserAgent {
				t.Fatalf("ListSessions = %v, %v; want the new session first, with the client's user agent", sessions, err)
			}
			if _, err := f.a.Refresh(ctx, client, pair.RefreshToken); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
		})
	}
	// A password login ends at the seam too: its event says so.
	f.login(t, "alice", "correct horse battery")
	if e := f.events.last(EventLoginSucceeded); !slices.Equal(e.Methods, []string{MethodPassword}) {
		t.Fatalf("a password login's event: methods %v, want [pwd]", e.Methods)
	}
}
