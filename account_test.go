package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDeleteAccount: a user's own deletion, confirmed by the password,
// deletes the account and its logins at once and frees its names; a wrong
// password deletes nothing.
func TestDeleteAccount(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{} })
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	f.register(t, "bob", "correct horse battery")
	p := f.login(t, "alice", "correct horse battery")
	other := f.login(t, "bob", "correct horse battery")

	for _, tc := range []struct {
		name     string
		d        AccountDeletion
		want     error
		deletes  bool
		eventsOf string // the account whose event is emitted, "" for none
	}{
		{"wrong password", AccountDeletion{UserID: u.ID, Password: "wrong horse battery"}, ErrInvalidCredentials, false, ""},
		{"no password", AccountDeletion{UserID: u.ID}, ErrInvalidCredentials, false, ""},
		{"too long a password", AccountDeletion{UserID: u.ID, Password: string(make([]byte, 2000))}, ErrInvalidCredentials, false, ""},
		{"unknown user", AccountDeletion{UserID: "nobody", Password: "correct horse battery"}, ErrNotFound, false, ""},
		{"right password", AccountDeletion{UserID: u.ID, Password: "correct horse battery", Client: Client{Addr: "192.0.2.7"}}, nil, true, u.ID},
		{"again", AccountDeletion{UserID: u.ID, Password: "correct horse battery"}, ErrNotFound, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.events.count(EventUserDeleted)
			if err := f.a.DeleteAccount(ctx, tc.d); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("DeleteAccount = %v, want %v", err, tc.want)
			}
			_, _, authErr := f.a.Authenticate(ctx, p.AccessToken)
			_, lookupErr := f.store.UserByUsername(ctx, "alice")
			if tc.deletes {
				if !errors.Is(authErr, ErrTokenRevoked) || !errors.Is(lookupErr, ErrNotFound) {
					t.Fatalf("after the deletion: Authenticate = %v, lookup = %v", authErr, lookupErr)
				}
			} else if authErr != nil || lookupErr != nil {
				t.Fatalf("a refused deletion changed the account: Authenticate = %v, lookup = %v", authErr, lookupErr)
			}
			switch n := f.events.count(EventUserDeleted) - before; {
			case tc.eventsOf == "" && n != 0:
				t.Fatalf("%d user_deleted events", n)
			case tc.eventsOf != "":
				e := f.events.last(EventUserDeleted)
				if n != 1 || e.UserID != tc.eventsOf || e.Username != "alice" || e.Actor != "" || e.ClientAddr != "192.0.2.7" || e.Email != "" {
					t.Fatalf("the event: %d, %+v", n, e)
				}
			}
		})
	}
	// Its refresh token is dead, another user's login lives, and its names
	// are free again.
	if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("the deleted account's refresh token = %v", err)
	}
	if _, _, err := f.a.Authenticate(ctx, other.AccessToken); err != nil {
		t.Fatalf("another user's token after the deletion: %v", err)
	}
	if _, err := f.a.Register(ctx, NewUser{Username: "Alice", Password: "another horse battery", Email: "ALICE@example.com"}); err != nil {
		t.Fatalf("the name and email after the deletion: %v", err)
	}
}

// TestDeleteAccountLastAdmin: the last enabled administrator cannot
// delete their account, and two of the last two deleting themselves at
// once leave one.
func TestDeleteAccountLastAdmin(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{} })
	ctx := context.Background()
	register := func(name string, roles ...string) *User {
		t.Helper()
		u, err := f.a.Register(ctx, NewUser{Username: name, Password: "correct horse battery", Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	root := register("root", adminRole)
	p := f.login(t, "root", "correct horse battery")
	if err := f.a.DeleteAccount(ctx, AccountDeletion{UserID: root.ID, Password: "correct horse battery"}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("the last admin's deletion = %v, want ErrLastAdmin", err)
	}
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); err != nil {
		t.Fatalf("the refused deletion changed the account: %v", err)
	}
	// A disabled admin does not count.
	off := register("off", adminRole)
	if _, err := f.store.ChangeUser(ctx, off.ID, UserChange{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := f.a.DeleteAccount(ctx, AccountDeletion{UserID: root.ID, Password: "correct horse battery"}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("with a disabled admin beside = %v, want ErrLastAdmin", err)
	}
	// An administrator's deletion keeps the last admin too, names its
	// actor, and goes when forced (package admin's -force).
	if err := f.a.DeleteUser(ctx, AccountDeletion{UserID: root.ID, Actor: "test"}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("an administrator's deletion of the last admin = %v, want ErrLastAdmin", err)
	}
	if err := f.a.DeleteUser(ctx, AccountDeletion{UserID: off.ID}); err == nil || errors.Is(err, ErrLastAdmin) {
		t.Fatalf("DeleteUser without an actor = %v", err)
	}
	if err := f.a.DeleteUser(ctx, AccountDeletion{UserID: off.ID, Actor: "test", Force: true}); err != nil {
		t.Fatal(err)
	}
	if e := f.events.last(EventUserDeleted); e.UserID != off.ID || e.Actor != "test" {
		t.Fatalf("the event of an administrator's deletion: %+v", e)
	}

	for trial := range 20 {
		a := register(fmt.Sprintf("first%d", trial))
		b := register(fmt.Sprintf("second%d", trial))
		for _, u := range []*User{a, b} {
			if _, err := f.store.ChangeUser(ctx, u.ID, UserChange{Roles: &[]string{adminRole}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.store.ChangeUser(ctx, root.ID, UserChange{Roles: &[]string{}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, u := range []*User{a, b} {
			wg.Go(func() {
				errs[i] = f.a.DeleteAccount(ctx, AccountDeletion{UserID: u.ID, Password: "correct horse battery"})
			})
		}
		wg.Wait()
		gone := 0
		for _, err := range errs {
			switch {
			case err == nil:
				gone++
			case !errors.Is(err, ErrLastAdmin):
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
		if gone != 1 {
			t.Fatalf("trial %d: %d of the last two admins deleted, want 1 (%v)", trial, gone, errs)
		}
		// The one left hands the role back to root, for the next trial.
		for _, u := range []*User{a, b} {
			if _, err := f.store.ChangeUser(ctx, u.ID, UserChange{Roles: &[]string{}}); err == nil {
				if _, err := f.store.ChangeUser(ctx, root.ID, UserChange{Roles: &[]string{adminRole}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestDeleteAccountRefusals: without a UserDeleter nothing is checked nor
// deleted; an account without a password cannot confirm with one; the
// password is limited as a login's is.
func TestDeleteAccountRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("no UserDeleter", func(t *testing.T) {
		f := newFixture(t, func(c *Config) {
			c.Passwords.Hasher = plainHasher{}
			c.Store = struct{ Store }{c.Store}
		})
		u := f.register(t, "alice", "correct horse battery")
		for _, err := range []error{
			f.a.DeleteAccount(ctx, AccountDeletion{UserID: u.ID, Password: "wrong horse battery"}),
			f.a.DeleteAccount(ctx, AccountDeletion{UserID: u.ID, Password: "correct horse battery"}),
			f.a.DeleteUser(ctx, AccountDeletion{UserID: u.ID, Actor: "test"}),
		} {
			if !errors.Is(err, ErrMissingCapability) || !strings.Contains(err.Error(), "UserDeleter") {
				t.Fatalf("without a UserDeleter: %v", err)
			}
		}
		if n := f.events.count(EventLoginFailed); n != 0 {
			t.Fatalf("%d passwords checked", n)
		}
		if got, err := f.store.UserByID(ctx, u.ID); err != nil || got.Disabled {
			t.Fatalf("the account: %+v %v", got, err)
		}
	})
	t.Run("no password", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{} })
		u, err := f.a.Register(ctx, NewUser{Username: "carol", NoPassword: true})
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.Now()
		refused := []struct {
			name   string
			claims *Claims
		}{
			{"no claims", nil},
			{"no auth_time", &Claims{Subject: u.ID}},
			{"a login 5 minutes old", &Claims{Subject: u.ID, AuthTime: now.Add(-5 * time.Minute)}},
			{"another user's recent login", &Claims{Subject: "someone else", AuthTime: now}},
		}
		for _, tt := range refused {
			for _, password := range []string{"", "correct horse battery"} {
				err := f.a.DeleteAccount(ctx, AccountDeletion{UserID: u.ID, Password: password, Claims: tt.claims})
				if !errors.Is(err, ErrRecentLoginRequired) {
					t.Fatalf("%s, password %q: DeleteAccount of an account without a password = %v, want ErrRecentLoginRequired", tt.name, password, err)
				}
			}
		}
		if _, err := f.store.UserByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		recent := &Claims{Subject: u.ID, AuthTime: now.Add(-5*time.Minute + time.Second)}
		if err := f.a.DeleteAccount(ctx, AccountDeletion{UserID: u.ID, Claims: recent}); err != nil {
			t.Fatalf("DeleteAccount with a login 4m59s old: %v", err)
		}
		if _, err := f.store.UserByID(ctx, u.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after the deletion: %v", err)
		}
	})
	t.Run("limited", func(t *testing.T) {
		f := newFixture(t, func(c *Config) {
			c.Passwords.Hasher = plainHasher{}
			c.Limits.LoginUserAddress = Rate{Burst: 2, Interval: time.Hour}
		})
		u := f.register(t, "dave", "correct horse battery")
		var err error
		for range 3 {
			err = f.a.DeleteAccount(ctx, AccountDeletion{UserID: u.ID, Password: "wrong horse battery", Client: Client{Addr: "192.0.2.1"}})
		}
		var rl *RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("the third wrong password = %v, want a *RateLimitError", err)
		}
	})
}

// TestAccountWithoutPassword: an account made without a password
// (NewUser.NoPassword) has none, and Login refuses every password for it
// with the answer and the cost of a wrong one; so it does for a stored hash
// it cannot read.
func TestAccountWithoutPassword(t *testing.T) {
	h := &countingHasher{Hasher: Argon2id{}}
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = h })
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "carol", NoPassword: true, Email: "carol@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != "" {
		t.Fatalf("an account without a password has the hash %q", u.PasswordHash)
	}
	if _, err := f.a.Register(ctx, NewUser{Username: "dan", NoPassword: true, Password: "correct horse battery"}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("NoPassword with a Password = %v, want ErrInvalidInput", err)
	}
	unreadable := f.register(t, "erin", "correct horse battery")
	if err := f.store.UpdatePasswordHash(ctx, unreadable.ID, unreadable.PasswordHash, "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5", false, f.a.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, username, password string
	}{
		{"no password, empty", "carol", ""},
		{"no password, a password", "carol", "correct horse battery"},
		{"no password, by email", "carol@example.com", "correct horse battery"},
		{"unreadable hash", "erin", "correct horse battery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.mu.Lock()
			h.hashes = nil
			h.mu.Unlock()
			if _, err := f.a.Login(ctx, Credentials{Username: tc.username, Password: tc.password}); err != ErrInvalidCredentials {
				t.Fatalf("Login = %v, want ErrInvalidCredentials", err)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			// The cost of a wrong password: one verification of a hash at
			// the configured cost (the dummy), besides any that fails at
			// once.
			if n := len(h.hashes); n == 0 || h.hashes[n-1] != f.a.dummyHash {
				t.Fatalf("verified %d hashes, the last not the dummy: %.30q", n, h.hashes)
			}
			for _, hash := range h.hashes {
				if hash == "" {
					t.Fatal("an empty hash was handed to the Hasher")
				}
			}
		})
	}
	if err := f.a.CheckPassword(ctx, u, "", Client{}); err != ErrInvalidCredentials {
		t.Fatalf("CheckPassword of an account without a password = %v", err)
	}
	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "", New: "a brand new one"}); err != ErrInvalidCredentials {
		t.Fatalf("ChangePassword of an account without a password = %v", err)
	}
}

// TestRegisterByActor: an account an administrator makes names the actor
// in its event, and does not count in the signup limit of the address.
func TestRegisterByActor(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Passwords.Hasher = plainHasher{}
		c.Limits.SignupAddress = Rate{Burst: 1, Interval: time.Hour}
	})
	ctx := context.Background()
	admin := Client{Addr: "192.0.2.9"}
	for _, name := range []string{"one", "two", "three"} {
		if _, err := f.a.Register(ctx, NewUser{Username: name, NoPassword: true, Roles: []string{"ops"}, Actor: "root-id", Client: admin}); err != nil {
			t.Fatalf("Register(%s) by an actor: %v", name, err)
		}
	}
	if e := f.events.last(EventRegistered); e.Actor != "root-id" || e.ClientAddr != "192.0.2.9" || e.Change != "created, roles=ops" {
		t.Fatalf("the event: %+v", e)
	}
	if _, err := f.a.Register(ctx, NewUser{Username: "four", Password: "correct horse battery", Client: admin}); err != nil {
		t.Fatalf("the address's first signup: %v", err)
	}
	if _, err := f.a.Register(ctx, NewUser{Username: "five", Password: "correct horse battery", Client: admin}); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("the address's second signup = %v, want ErrTooManyAttempts", err)
	}
}
