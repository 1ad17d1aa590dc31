package auth

import (
	"context"
	"errors"
	"testing"
)

// requiredOnly is a Store with the required methods alone: the optional
// capabilities of the memory store it wraps are hidden.
type requiredOnly struct{ Store }

// TestRequiredStoreOnly: the required Store alone runs the core:
// registering, logging in, tokens, refresh, logout, logout-all, password
// changes, sessions, and the changes package admin makes (ChangeUser).
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
	if _, err := a.Store().ChangeUser(ctx, u.ID, UserChange{Roles: &[]string{"admin"}, Disabled: ptr(true), Logout: true, Now: a.Now()}); err != nil {
		t.Fatalf("ChangeUser: %v", err)
	}
}
