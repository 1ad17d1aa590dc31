package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/store/memory"
)

// TestCreateUser: an administrator's account is checked as a signup is,
// with or without a password, and its event names the actor.
func TestCreateUser(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.register(t, "taken")
	for _, tc := range []struct {
		name string
		n    auth.NewUser
		want error // nil: created
	}{
		{"with a password", auth.NewUser{Username: "Alice", Password: password, Email: "Alice@Example.com", Roles: []string{"ops", "ops"}, Actor: "root-id"}, nil},
		{"without a password", auth.NewUser{Username: "bob", Roles: []string{admin.Role}, Actor: "root-id"}, nil},
		{"no actor", auth.NewUser{Username: "carol", Password: password}, nil},
		{"a taken name", auth.NewUser{Username: "TAKEN", Actor: "root-id"}, auth.ErrUserExists},
		{"a taken email", auth.NewUser{Username: "dave", Email: "alice@example.com", Actor: "root-id"}, auth.ErrEmailExists},
		{"a bad name", auth.NewUser{Username: "d", Actor: "root-id"}, auth.ErrInvalidUsername},
		{"a bad password", auth.NewUser{Username: "dave", Password: "short", Actor: "root-id"}, auth.ErrInvalidPassword},
		{"a bad email", auth.NewUser{Username: "dave", Email: "dave@localhost", Actor: "root-id"}, auth.ErrInvalidEmail},
		{"a bad role", auth.NewUser{Username: "dave", Roles: []string{"Admin"}, Actor: "root-id"}, auth.ErrInvalidRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.events.Take()
			u, err := f.x.CreateUser(ctx, tc.n)
			switch {
			case tc.n.Actor == "":
				if err == nil || !strings.Contains(err.Error(), "Actor") || u != nil {
					t.Fatalf("without an actor: %v %v", u, err)
				}
				return
			case tc.want != nil:
				if !errors.Is(err, tc.want) || u != nil {
					t.Fatalf("CreateUser = %v %v, want %v", u, err, tc.want)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			stored := f.user(t, u.ID)
			if stored.Username != strings.ToLower(tc.n.Username) || (stored.PasswordHash == "") != (tc.n.Password == "") {
				t.Fatalf("stored %+v", stored)
			}
			evs := f.events.Take()
			if len(evs) != 1 || evs[0].Type != auth.EventRegistered || evs[0].Actor != "root-id" || evs[0].UserID != u.ID {
				t.Fatalf("events %+v", evs)
			}
		})
	}
	// With a password, the account logs in; without, no password works.
	f.login(t, "alice")
	for _, p := range []string{"", password} {
		if _, err := f.a.Login(ctx, auth.Credentials{Username: "bob", Password: p}); err != auth.ErrInvalidCredentials {
			t.Fatalf("a login of an account without a password = %v", err)
		}
	}
}

// TestSetPassword: an administrator's new password is checked by the
// rules, ends every login of the account, and is the one that works.
func TestSetPassword(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice")
	nopass, err := f.x.CreateUser(ctx, auth.NewUser{Username: "bob", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	pair := f.login(t, "alice")
	f.events.Take()
	for _, tc := range []struct {
		name string
		id   string
		ps   admin.PasswordSet
		want error
	}{
		{"no actor", u.ID, admin.PasswordSet{Password: "a new password here"}, nil},
		{"too short", u.ID, admin.PasswordSet{Password: "short", Actor: "test"}, auth.ErrPasswordTooShort},
		{"common", u.ID, admin.PasswordSet{Password: "password1", Actor: "test"}, auth.ErrPasswordCommon},
		{"unknown", "nobody", admin.PasswordSet{Password: "a new password here", Actor: "test"}, auth.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.x.SetPassword(ctx, tc.id, tc.ps)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || tc.want == nil && !strings.Contains(err.Error(), "Actor") {
				t.Fatalf("SetPassword = %v, want %v", err, tc.want)
			}
		})
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatalf("a refused change ended the login: %v", err)
	}
	if evs := f.events.Take(); len(evs) != 0 {
		t.Fatalf("refused changes made events: %+v", evs)
	}
	if err := f.x.SetPassword(ctx, u.ID, admin.PasswordSet{Password: "a new password here", Actor: "authctl (unix user root)", Client: auth.Client{Addr: "192.0.2.3"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("the login after a new password: %v", err)
	}
	if _, err := f.a.Refresh(ctx, auth.Client{}, pair.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the refresh token after a new password: %v", err)
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice", Password: password}); err != auth.ErrInvalidCredentials {
		t.Fatalf("the old password: %v", err)
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice", Password: "a new password here"}); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	evs := f.events.Take()
	if len(evs) < 1 || evs[0].Type != auth.EventPasswordChanged || evs[0].Actor != "authctl (unix user root)" || evs[0].ClientAddr != "192.0.2.3" || evs[0].Change == "" {
		t.Fatalf("events %+v", evs)
	}
	// An account without a password gets one.
	if err := f.x.SetPassword(ctx, nopass.ID, admin.PasswordSet{Password: "bob's first password", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "bob", Password: "bob's first password"}); err != nil {
		t.Fatalf("the first password: %v", err)
	}
}

// TestDeleteUser: an administrator deletes an account and its logins at
// once; never the last enabled administrator unless forced; never without
// an actor or a UserDeleter.
func TestDeleteUser(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	root := f.register(t, "root", admin.Role)
	u := f.register(t, "alice")
	pair := f.login(t, "alice")
	f.events.Take()
	for _, tc := range []struct {
		name string
		id   string
		d    admin.Deletion
		want error
	}{
		{"no actor", u.ID, admin.Deletion{}, nil},
		{"unknown", "nobody", admin.Deletion{Actor: "root-id"}, auth.ErrNotFound},
		{"the last admin", root.ID, admin.Deletion{Actor: "root-id"}, auth.ErrLastAdmin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.x.DeleteUser(ctx, tc.id, tc.d)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || tc.want == nil && !strings.Contains(err.Error(), "Actor") {
				t.Fatalf("DeleteUser = %v, want %v", err, tc.want)
			}
		})
	}
	if got := f.user(t, root.ID); got.Disabled {
		t.Fatal("a refused deletion disabled the last admin")
	}
	if evs := f.events.Take(); len(evs) != 0 {
		t.Fatalf("refused deletions made events: %+v", evs)
	}
	if err := f.x.DeleteUser(ctx, u.ID, admin.Deletion{Actor: "root-id", Client: auth.Client{Addr: "192.0.2.4"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("the deleted account's token: %v", err)
	}
	if _, err := f.a.Store().UserByID(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the deleted account: %v", err)
	}
	evs := f.events.Take()
	if len(evs) != 1 || evs[0].Type != auth.EventUserDeleted || evs[0].Actor != "root-id" || evs[0].UserID != u.ID || evs[0].ClientAddr != "192.0.2.4" {
		t.Fatalf("events %+v", evs)
	}
	f.register(t, "alice") // the name is free
	if err := f.x.DeleteUser(ctx, root.ID, admin.Deletion{Actor: "authctl (unix user root)", Force: true}); err != nil {
		t.Fatalf("the last admin, forced: %v", err)
	}

	t.Run("without a UserDeleter", func(t *testing.T) {
		f := newFixture(t, struct{ auth.Store }{memory.New()})
		u := f.register(t, "alice")
		if err := f.x.DeleteUser(ctx, u.ID, admin.Deletion{Actor: "test"}); !errors.Is(err, auth.ErrMissingCapability) {
			t.Fatalf("DeleteUser = %v, want ErrMissingCapability", err)
		}
		if got := f.user(t, u.ID); got.Disabled {
			t.Fatal("a refused deletion disabled the account")
		}
	})
}

// TestDeleteAccountKeepsRole: the core keeps the last enabled holder of
// Role when a user deletes their own account, which it does by a name of
// its own: the two must agree.
func TestDeleteAccountKeepsRole(t *testing.T) {
	f := newFixture(t, nil)
	root := f.register(t, "root", admin.Role)
	err := f.a.DeleteAccount(context.Background(), auth.AccountDeletion{UserID: root.ID, Password: password})
	if !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("the last holder of admin.Role deleting their account = %v, want auth.ErrLastAdmin", err)
	}
}
