package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// fakeBreached is a Config.Passwords.Breached that knows one breached
// password, fails on another, and records what it was asked.
type fakeBreached struct {
	mu    sync.Mutex
	asked []string
}

const (
	breachedPassword = "password123456"
	failingPassword  = "the checker fails on this one"
)

var errCheckerDown = errors.New("range API: connection refused")

func (f *fakeBreached) check(_ context.Context, password string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, password)
	switch password {
	case breachedPassword:
		return true, nil
	case failingPassword:
		return false, errCheckerDown
	}
	return false, nil
}

func (f *fakeBreached) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

// wantBreachedErr checks err against what the hook's answer for password
// must give: nil for a clean one, a *PasswordError wrapping
// ErrPasswordBreached for the breached one, ErrStoreUnavailable wrapping
// the hook's error for the failing one.
func wantBreachedErr(t *testing.T, what, password string, err error) {
	t.Helper()
	switch password {
	case breachedPassword:
		var pe *PasswordError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPasswordBreached) || !errors.Is(err, ErrInvalidPassword) ||
			pe.Description != "the password has appeared in a data breach: choose another" {
			t.Fatalf("%s with a breached password = %v, want a *PasswordError wrapping ErrPasswordBreached", what, err)
		}
	case failingPassword:
		if !errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, errCheckerDown) || errors.Is(err, ErrInvalidPassword) {
			t.Fatalf("%s with a failing checker = %v, want ErrStoreUnavailable wrapping its error", what, err)
		}
	default:
		if err != nil {
			t.Fatalf("%s with a clean password = %v", what, err)
		}
	}
}

// TestBreachedHook: Config.Passwords.Breached is asked about every new
// password that meets the policy, at Register, ChangePassword and
// HashPassword, and its answer refuses the password (or fails the call);
// it is never asked at login, nor about a password the policy refuses.
func TestBreachedHook(t *testing.T) {
	ctx := context.Background()
	for _, password := range []string{breachedPassword, failingPassword, "correct horse battery staple"} {
		t.Run(password, func(t *testing.T) {
			hook := &fakeBreached{}
			f := newFixture(t, func(c *Config) { c.Passwords.Breached = hook.check })
			alice := f.register(t, "alice", "alice's first password")

			_, err := f.a.Register(ctx, NewUser{Username: "bob", Password: password})
			wantBreachedErr(t, "Register", password, err)
			if _, lookup := f.store.UserByUsername(ctx, "bob"); (err == nil) != (lookup == nil) {
				t.Fatalf("Register = %v, yet the lookup of bob = %v", err, lookup)
			}

			err = f.a.ChangePassword(ctx, PasswordChange{UserID: alice.ID, Current: "alice's first password", New: password})
			wantBreachedErr(t, "ChangePassword", password, err)
			if err != nil { // refused: the old password still works
				f.login(t, "alice", "alice's first password")
			} else {
				f.login(t, "alice", password)
			}

			hash, err := f.a.HashPassword(ctx, password)
			wantBreachedErr(t, "HashPassword", password, err)
			if (err == nil) != (hash != "") {
				t.Fatalf("HashPassword = %q, %v", hash, err)
			}

			want := []string{"alice's first password", password, password, password}
			if got := hook.calls(); !slices.Equal(got, want) {
				t.Fatalf("the hook was asked about %q, want %q", got, want)
			}
		})
	}
}

// TestBreachedHookNotAsked: the hook is not asked about a password the
// policy refuses, for an account without a password, nor for a
// registration refused for its name; nor ever at login.
func TestBreachedHookNotAsked(t *testing.T) {
	ctx := context.Background()
	hook := &fakeBreached{}
	f := newFixture(t, func(c *Config) { c.Passwords.Breached = hook.check })
	alice := f.register(t, "alice", "alice's first password")
	f.login(t, "alice", "alice's first password")
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: breachedPassword}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("Login with a wrong password = %v", err)
	}

	for _, c := range []struct {
		name string
		call func() error
		want error
	}{
		{"Register, too short", func() error {
			_, err := f.a.Register(ctx, NewUser{Username: "bob", Password: "short"})
			return err
		}, ErrPasswordTooShort},
		{"Register, common", func() error {
			_, err := f.a.Register(ctx, NewUser{Username: "bob", Password: "password123"})
			return err
		}, ErrPasswordCommon},
		{"Register, username taken", func() error {
			_, err := f.a.Register(ctx, NewUser{Username: "alice", Password: breachedPassword})
			return err
		}, ErrUserExists},
		{"Register, no password", func() error {
			_, err := f.a.Register(ctx, NewUser{Username: "carol", NoPassword: true})
			return err
		}, nil},
		{"ChangePassword, too short", func() error {
			return f.a.ChangePassword(ctx, PasswordChange{UserID: alice.ID, Current: "alice's first password", New: "short"})
		}, ErrPasswordTooShort},
		{"HashPassword, too long", func() error {
			_, err := f.a.HashPassword(ctx, string(make([]byte, 1025)))
			return err
		}, ErrPasswordTooLong},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("= %v, want %v", err, c.want)
			}
		})
	}
	if got := hook.calls(); !slices.Equal(got, []string{"alice's first password"}) {
		t.Fatalf("the hook was asked about %q, want only alice's registration", got)
	}
}
