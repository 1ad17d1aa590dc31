package auth

import (
	"context"
	"errors"
	"testing"
)

// requiredOnly is a Store with the required methods alone: the optional
// capabilities of the memory store it wraps are hidden.
type requiredOnly struct{ Store }

// TestMissingCapability: a feature configured, or used, with a Store that
// lacks the optional interface it needs is refused with an error that
// names the interface and matches ErrMissingCapability.
func TestMissingCapability(t *testing.T) {
	ctx := context.Background()
	bare := func() Store { return requiredOnly{newMemoryStore()} }
	newAuth := func(t *testing.T, s Store) *Authenticator {
		t.Helper()
		a, err := New(Config{Store: s, SecretKey: testSecret, Passwords: PasswordConfig{Hasher: plainHasher{}}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name string
		// run configures or uses the feature, and returns its error.
		run  func(t *testing.T, s Store) error
		want string // "" when the store offers what the feature needs
	}{
		{"Authenticator.ListUsers", func(t *testing.T, s Store) error {
			users, next, err := newAuth(t, s).ListUsers(ctx, "", 10)
			if err != nil && (users != nil || next != "") {
				t.Error("ListUsers returned a page with its error")
			}
			return err
		}, "auth: Authenticator.ListUsers needs a Store that implements auth.UserLister (listing users)"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/without", func(t *testing.T) {
			err := tc.run(t, bare())
			if !errors.Is(err, ErrMissingCapability) || err.Error() != tc.want {
				t.Fatalf("with a Store lacking the capability: %v, want %q (ErrMissingCapability)", err, tc.want)
			}
		})
		t.Run(tc.name+"/with", func(t *testing.T) {
			if err := tc.run(t, newMemoryStore()); err != nil {
				t.Fatalf("with a memory store: %v", err)
			}
		})
	}
}

// TestRequiredStoreOnly: the required Store alone runs the core:
// registering, logging in, tokens, refresh, logout, logout-all, password
// changes, sessions and an administrator's changes.
func TestRequiredStoreOnly(t *testing.T) {
	ctx := context.Background()
	a, err := New(Config{Store: requiredOnly{newMemoryStore()}, SecretKey: testSecret, Passwords: PasswordConfig{Hasher: plainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Register(ctx, NewUser{Username: "alice", Password: "correct horse", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	login := func() *TokenPair {
		t.Helper()
		p, err := a.Login(ctx, Credentials{Username: "alice@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		return p
	}
	p := login()
	if _, _, err := a.Authenticate(ctx, p.AccessToken); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p, err = a.Refresh(ctx, Client{}, p.RefreshToken); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if live, err := a.ListSessions(ctx, u.ID); err != nil || len(live) != 1 {
		t.Fatalf("ListSessions = %v, %v", live, err)
	}
	if err := a.Logout(ctx, Client{}, p.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	p = login()
	if err := a.LogoutAll(ctx, Client{}, u.ID); err != nil {
		t.Fatalf("LogoutAll: %v", err)
	}
	if _, _, err := a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Authenticate after LogoutAll = %v", err)
	}
	if err := a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "correct horse", New: "battery staple"}); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if _, err := a.UpdateUser(ctx, u.ID, UserUpdate{Roles: &[]string{"admin"}, Actor: "test"}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
}
