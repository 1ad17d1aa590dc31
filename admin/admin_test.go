package admin_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/store/memory"
)

var testSecret = []byte("admin-tests-secret-0123456789abcdef")

const password = "correct horse battery"

// fixture is an Authenticator on a store (store/memory's unless the test
// gives another), on a clock of the test's, and its administration.
type fixture struct {
	a      *auth.Authenticator
	x      *admin.Admin
	clock  *authtest.Clock
	events *authtest.Events
}

func newFixture(t testing.TB, store auth.Store) *fixture {
	t.Helper()
	if store == nil {
		store = memory.New()
	}
	f := &fixture{clock: authtest.NewClock(time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)), events: &authtest.Events{}}
	a, err := auth.New(auth.Config{
		Store: store, SecretKey: testSecret,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
		OnEvent:   f.events.Add,
		Now:       f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.a, f.x = a, admin.New(a)
	return f
}

// register makes the account name, with roles.
func (f *fixture) register(t testing.TB, name string, roles ...string) *auth.User {
	t.Helper()
	u, err := f.a.Register(context.Background(), auth.NewUser{Username: name, Password: password, Roles: roles})
	if err != nil {
		t.Fatalf("Register(%q): %v", name, err)
	}
	return u
}

func (f *fixture) login(t testing.TB, name string) *auth.TokenPair {
	t.Helper()
	p, err := f.a.Login(context.Background(), auth.Credentials{Username: name, Password: password})
	if err != nil {
		t.Fatalf("Login(%q): %v", name, err)
	}
	return p
}

// user reads the account id from the store.
func (f *fixture) user(t testing.TB, id string) *auth.User {
	t.Helper()
	u, err := f.a.Store().UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// TestUpdateUserRoles: roles that break the rules are refused with
// auth.ErrInvalidRole and change nothing; others are stored sorted,
// without duplicates, with an event that names the actor, the change and
// the client.
func TestUpdateUserRoles(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice")
	f.events.Take()
	for _, roles := range [][]string{{"Admin"}, {""}, {"a b"}, {strings.Repeat("r", 65)}, make([]string, 33), {"ok", "é"}, {"a/b"}} {
		if _, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Roles: &roles, Actor: "test"}); !errors.Is(err, auth.ErrInvalidRole) {
			t.Errorf("roles %q: %v", roles, err)
		}
	}
	if got := f.user(t, u.ID); len(got.Roles) != 0 {
		t.Fatalf("refused roles were stored: %q", got.Roles)
	}
	if evs := f.events.Take(); len(evs) != 0 {
		t.Fatalf("refused changes made events: %+v", evs)
	}

	f.clock.Advance(time.Hour)
	got, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Roles: &[]string{"b", "a:x", "b"}, Actor: "test", Client: auth.Client{Addr: "192.0.2.7"}})
	if err != nil || strings.Join(got.Roles, ",") != "a:x,b" || !got.HasRole("b") || !got.HasRole("a:x") {
		t.Fatalf("roles: %v %v", got, err)
	}
	if !got.UpdatedAt.Equal(f.clock.Now()) {
		t.Errorf("UpdatedAt %v, want the clock's %v", got.UpdatedAt, f.clock.Now())
	}
	if stored := f.user(t, u.ID); strings.Join(stored.Roles, ",") != "a:x,b" {
		t.Errorf("stored roles %q", stored.Roles)
	}
	evs := f.events.Take()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	if e := evs[0]; e.Type != admin.EventRolesChanged || e.UserID != u.ID || e.Username != "alice" || e.Actor != "test" ||
		e.Change != "roles=a:x,b" || e.ClientAddr != "192.0.2.7" || !e.Time.Equal(f.clock.Now()) {
		t.Errorf("event %+v", e)
	}

	// The largest allowed: 32 roles of 64 characters.
	many := make([]string, 32)
	for i := range many {
		many[i] = fmt.Sprintf("%02d", i) + strings.Repeat("r", 62)
	}
	if got, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Roles: &many, Actor: "test"}); err != nil || len(got.Roles) != 32 {
		t.Fatalf("32 roles of 64 characters: %v %v", got, err)
	}
	// None: an empty list, never nil in the event's words.
	if got, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Roles: &[]string{}, Actor: "test"}); err != nil || len(got.Roles) != 0 {
		t.Fatalf("no roles: %v %v", got, err)
	}
	if evs := f.events.Take(); len(evs) != 2 || evs[1].Change != "roles=" {
		t.Errorf("events %+v", evs)
	}
}

// TestUpdateUserNeedsActor: a change that names no actor is refused and
// changes nothing.
func TestUpdateUserNeedsActor(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice")
	pair := f.login(t, "alice")
	f.events.Take()
	for _, up := range []admin.Update{
		{Roles: &[]string{"a"}},
		{Disabled: ptr(true)},
		{Logout: true},
		{Roles: &[]string{"a"}, Client: auth.Client{Addr: "192.0.2.7"}},
	} {
		if got, err := f.x.UpdateUser(ctx, u.ID, up); err == nil || got != nil {
			t.Errorf("an update without an actor was made: %v %v", got, err)
		} else if !strings.Contains(err.Error(), "Actor") {
			t.Errorf("the error does not say what is missing: %v", err)
		}
	}
	if got := f.user(t, u.ID); got.Disabled || len(got.Roles) != 0 {
		t.Fatalf("changed: %+v", got)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatalf("the user's token ended: %v", err)
	}
	if evs := f.events.Take(); len(evs) != 0 {
		t.Fatalf("events %+v", evs)
	}
}

// TestUpdateUserUnknown: every change of an account that does not exist
// is auth.ErrNotFound, without an event.
func TestUpdateUserUnknown(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.register(t, "alice", admin.Role)
	f.events.Take()
	for _, up := range []admin.Update{
		{Roles: &[]string{}, Actor: "test"},
		{Disabled: ptr(true), Actor: "test"},
		{Disabled: ptr(false), Actor: "test"},
		{Logout: true, Actor: "test"},
		{Roles: &[]string{}, Actor: "test", Force: true},
	} {
		if got, err := f.x.UpdateUser(ctx, "nobody", up); !errors.Is(err, auth.ErrNotFound) || got != nil {
			t.Errorf("%+v of nobody: %v %v", up, got, err)
		}
	}
	if evs := f.events.Take(); len(evs) != 0 {
		t.Fatalf("events %+v", evs)
	}
}

// TestDisableEndsLogins: disabling an account ends its access and refresh
// tokens and its sessions at once and refuses logins; enabling it lets it
// log in again (its old tokens stay ended).
func TestDisableEndsLogins(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice")
	bob := f.register(t, "bob")
	pair := f.login(t, "alice")
	bobPair := f.login(t, "bob")
	f.events.Take()

	got, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(true), Actor: "root", Client: auth.Client{Addr: "192.0.2.7"}})
	if err != nil || !got.Disabled {
		t.Fatalf("disable: %v %v", got, err)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); err == nil {
		t.Fatal("a disabled user's token still works")
	}
	if _, err := f.a.Refresh(ctx, auth.Client{}, pair.RefreshToken); err == nil {
		t.Fatal("a disabled user's refresh token still works")
	}
	if list, err := f.a.ListSessions(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("sessions of a disabled user: %v %v", list, err)
	}
	if _, err := f.a.Login(ctx, auth.Credentials{Username: "alice", Password: password}); !errors.Is(err, auth.ErrUserDisabled) {
		t.Fatalf("a disabled user logs in: %v", err)
	}
	// Another account is left alone.
	if _, _, err := f.a.Authenticate(ctx, bobPair.AccessToken); err != nil {
		t.Fatalf("another user's token: %v", err)
	}
	if list, err := f.a.ListSessions(ctx, bob.ID); err != nil || len(list) != 1 {
		t.Fatalf("another user's sessions: %v %v", list, err)
	}
	evs := f.events.Take()
	i := slices.IndexFunc(evs, func(e auth.Event) bool { return e.Type == admin.EventUserDisabled })
	if i < 0 {
		t.Fatalf("no %s event: %+v", admin.EventUserDisabled, evs)
	}
	if e := evs[i]; e.UserID != u.ID || e.Actor != "root" || e.Change != "disabled=true" || e.ClientAddr != "192.0.2.7" {
		t.Errorf("event %+v", e)
	}

	got, err = f.x.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(false), Actor: "root"})
	if err != nil || got.Disabled {
		t.Fatalf("enable: %v %v", got, err)
	}
	if evs := f.events.Take(); len(evs) != 1 || evs[0].Type != admin.EventUserEnabled || evs[0].Change != "disabled=false" || evs[0].Actor != "root" {
		t.Errorf("events %+v", evs)
	}
	again := f.login(t, "alice")
	if _, _, err := f.a.Authenticate(ctx, again.AccessToken); err != nil {
		t.Fatalf("a token after enabling: %v", err)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); err == nil {
		t.Fatal("a token of before the account was disabled works again")
	}
	if _, err := f.a.Refresh(ctx, auth.Client{}, pair.RefreshToken); err == nil {
		t.Fatal("a refresh token of before the account was disabled works again")
	}

	// The core's calls on sessions for what does not exist.
	if _, err := f.a.ListSessions(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ListSessions of nobody: %v", err)
	}
	if err := f.a.RevokeSession(ctx, auth.Client{}, u.ID, "nope"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeSession of nothing: %v", err)
	}
}

// TestUpdateUserLogout: Logout ends every login of the account, which
// stays enabled, with an auth.EventLogoutAll naming the actor.
func TestUpdateUserLogout(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice", admin.Role)
	one, two := f.login(t, "alice"), f.login(t, "alice")
	f.events.Take()
	got, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Logout: true, Actor: "root", Client: auth.Client{Addr: "192.0.2.7"}})
	if err != nil || got.Disabled || !got.HasRole(admin.Role) {
		t.Fatalf("logout: %v %v", got, err)
	}
	evs := f.events.Take()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	if e := evs[0]; e.Type != auth.EventLogoutAll || e.UserID != u.ID || e.Actor != "root" || e.Change != "logins ended" || e.ClientAddr != "192.0.2.7" {
		t.Errorf("event %+v", e)
	}
	for _, p := range []*auth.TokenPair{one, two} {
		if _, _, err := f.a.Authenticate(ctx, p.AccessToken); err == nil {
			t.Error("an access token outlived the logout")
		}
		if _, err := f.a.Refresh(ctx, auth.Client{}, p.RefreshToken); err == nil {
			t.Error("a refresh token outlived the logout")
		}
	}
	if list, err := f.a.ListSessions(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("sessions after the logout: %v %v", list, err)
	}
	f.login(t, "alice")
	f.events.Take()

	// Each field given is an event of its own, in one change.
	if _, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(false), Roles: &[]string{"admin", "ops"}, Logout: true, Actor: "root"}); err != nil {
		t.Fatal(err)
	}
	var types []auth.EventType
	for _, e := range f.events.Take() {
		types = append(types, e.Type)
	}
	if want := []auth.EventType{admin.EventUserEnabled, admin.EventRolesChanged, auth.EventLogoutAll}; !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
}

// TestLastAdmin: no change takes admin.Role from its last enabled holder
// (a demotion, a disabling, or both), and such a change is refused with
// auth.ErrLastAdmin and changes nothing, unless forced; a disabled
// administrator does not count.
func TestLastAdmin(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	root := f.register(t, "root", admin.Role)
	other := f.register(t, "other", admin.Role, "ops")
	user := f.register(t, "user")
	pair := f.login(t, "root")

	// Two administrators: one may go.
	if _, err := f.x.UpdateUser(ctx, other.ID, admin.Update{Disabled: ptr(true), Actor: "test"}); err != nil {
		t.Fatalf("disabling one of two admins: %v", err)
	}
	f.events.Take()
	// other is disabled: root is the last enabled one.
	for _, up := range []admin.Update{
		{Roles: &[]string{}, Actor: "test"},
		{Roles: &[]string{"ops"}, Actor: "test"},
		{Disabled: ptr(true), Actor: "test"},
		{Disabled: ptr(true), Roles: &[]string{admin.Role}, Actor: "test"},
		{Disabled: ptr(true), Logout: true, Actor: "test"},
	} {
		if got, err := f.x.UpdateUser(ctx, root.ID, up); !errors.Is(err, auth.ErrLastAdmin) || got != nil {
			t.Errorf("%+v of the last admin: %v %v", up, got, err)
		}
	}
	if got := f.user(t, root.ID); got.Disabled || !got.HasRole(admin.Role) {
		t.Fatalf("the last admin was changed: %+v", got)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatalf("a refused change ended the last admin's logins: %v", err)
	}
	if evs := f.events.Take(); len(evs) != 0 {
		t.Fatalf("refused changes made events: %+v", evs)
	}
	// What keeps the role is allowed: other roles, a logout, enabling.
	if got, err := f.x.UpdateUser(ctx, root.ID, admin.Update{Roles: &[]string{admin.Role, "ops"}, Actor: "test"}); err != nil || !got.HasRole("ops") {
		t.Fatalf("adding a role to the last admin: %v %v", got, err)
	}
	if _, err := f.x.UpdateUser(ctx, root.ID, admin.Update{Logout: true, Disabled: ptr(false), Actor: "test"}); err != nil {
		t.Fatalf("logging the last admin out: %v", err)
	}
	// A user who is no admin is changed freely.
	if _, err := f.x.UpdateUser(ctx, user.ID, admin.Update{Disabled: ptr(true), Roles: &[]string{}, Actor: "test"}); err != nil {
		t.Fatalf("a user: %v", err)
	}
	// A disabled admin's change is never the last admin's.
	if _, err := f.x.UpdateUser(ctx, other.ID, admin.Update{Roles: &[]string{}, Actor: "test"}); err != nil {
		t.Fatalf("demoting a disabled admin: %v", err)
	}
	if _, err := f.x.UpdateUser(ctx, other.ID, admin.Update{Roles: &[]string{admin.Role}, Disabled: ptr(false), Actor: "test"}); err != nil {
		t.Fatalf("making another admin: %v", err)
	}
	// With other enabled and an admin again, root may go.
	if got, err := f.x.UpdateUser(ctx, root.ID, admin.Update{Roles: &[]string{}, Actor: "test"}); err != nil || got.HasRole(admin.Role) {
		t.Fatalf("demoting one of two admins: %v %v", got, err)
	}
	// And other is now the last, unless forced.
	if _, err := f.x.UpdateUser(ctx, other.ID, admin.Update{Disabled: ptr(true), Actor: "test"}); !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("disabling the last admin: %v", err)
	}
	f.events.Take()
	got, err := f.x.UpdateUser(ctx, other.ID, admin.Update{Disabled: ptr(true), Roles: &[]string{}, Actor: "authctl (unix user alice)", Force: true})
	if err != nil || !got.Disabled || got.HasRole(admin.Role) {
		t.Fatalf("forced: %v %v", got, err)
	}
	if evs := f.events.Take(); len(evs) != 2 || evs[0].Actor != "authctl (unix user alice)" {
		t.Errorf("events of a forced change: %+v", evs)
	}
	// No admin left: making one needs no force.
	if _, err := f.x.UpdateUser(ctx, user.ID, admin.Update{Roles: &[]string{admin.Role}, Actor: "test"}); err != nil {
		t.Fatalf("making an admin where there is none: %v", err)
	}
}

// TestListUsers: pages of every user once, in increasing order of id,
// that a cursor continues even when the user it ends with is gone; the
// limits and cursors it refuses.
func TestListUsers(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	var ids []string
	for i := range 7 {
		ids = append(ids, f.register(t, fmt.Sprintf("user%d", i)).ID)
	}
	slices.Sort(ids)

	for _, c := range []struct {
		cursor string
		limit  int
		want   error
	}{
		{"", -1, auth.ErrInvalidInput},
		{"", admin.MaxListUsers + 1, auth.ErrInvalidInput},
		{"***", 10, admin.ErrInvalidCursor},
		{"AA", 10, admin.ErrInvalidCursor},   // a NUL
		{"_w", 10, admin.ErrInvalidCursor},   // not UTF-8
		{"QQ==", 10, admin.ErrInvalidCursor}, // padded
		{"QQ", -1, auth.ErrInvalidInput},
		{base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("a", 257))), 10, admin.ErrInvalidCursor},
	} {
		users, next, err := f.x.ListUsers(ctx, c.cursor, c.limit)
		if !errors.Is(err, c.want) || users != nil || next != "" {
			t.Errorf("ListUsers(%q, %d) = %v %q %v, want %v", c.cursor, c.limit, users, next, err, c.want)
		}
	}

	// The longest cursor: after every id.
	if users, next, err := f.x.ListUsers(ctx, base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("z", 256))), 10); err != nil || len(users) != 0 || next != "" {
		t.Errorf("a cursor of 256 bytes: %v %q %v", users, next, err)
	}

	// Pages of 3: 3, 3, 1, each user once, in order.
	var listed []string
	cursor := ""
	for page := 0; ; page++ {
		users, next, err := f.x.ListUsers(ctx, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{3, 3, 1}; page >= len(want) || len(users) != want[page] {
			t.Fatalf("page %d has %d users", page, len(users))
		}
		for _, u := range users {
			listed = append(listed, u.ID)
			if u.PasswordHash == "" || u.Username == "" {
				t.Errorf("a user as listed: %+v", u)
			}
		}
		if next == "" {
			if page != 2 {
				t.Fatalf("the last page is %d", page)
			}
			break
		}
		cursor = next
	}
	if !slices.Equal(listed, ids) {
		t.Fatalf("listed %v, want %v", listed, ids)
	}

	// A page that ends exactly at the last user is the last.
	for _, limit := range []int{0, 7, admin.MaxListUsers} {
		if users, next, err := f.x.ListUsers(ctx, "", limit); err != nil || len(users) != 7 || next != "" {
			t.Errorf("limit %d: %d users, next %q, %v", limit, len(users), next, err)
		}
	}
	if users, next, err := f.x.ListUsers(ctx, "", 6); err != nil || len(users) != 6 || next == "" {
		t.Fatalf("limit 6: %d users, next %q, %v", len(users), next, err)
	} else if rest, after, err := f.x.ListUsers(ctx, next, 6); err != nil || len(rest) != 1 || rest[0].ID != ids[6] || after != "" {
		t.Fatalf("after limit 6: %v %q %v", rest, after, err)
	}

	// The cursor names where a page ended, not a position: the user it
	// ended with may go, and users may come, and the next page goes on.
	first, next, err := f.x.ListUsers(ctx, "", 2)
	if err != nil || len(first) != 2 {
		t.Fatal(first, err)
	}
	if err := f.a.Store().(auth.UserDeleter).DeleteUser(ctx, first[1].ID); err != nil {
		t.Fatal(err)
	}
	late := f.register(t, "latecomer")
	rest, _, err := f.x.ListUsers(ctx, next, admin.MaxListUsers)
	if err != nil {
		t.Fatal(err)
	}
	var others []string // the page but the latecomer, whose random id may sort anywhere
	for _, u := range rest {
		if u.ID <= first[1].ID {
			t.Errorf("the page after the cursor has %s, not after %s", u.ID, first[1].ID)
		}
		if u.ID != late.ID {
			others = append(others, u.ID)
		}
	}
	if !slices.Equal(others, ids[2:]) {
		t.Errorf("the page after the cursor, but the latecomer: %v, want %v", others, ids[2:])
	}
	if late.ID > first[1].ID && len(others) == len(rest) {
		t.Errorf("the latecomer %s, after the cursor, is not on the page", late.ID)
	}

	// No users: an empty page, the last.
	empty := newFixture(t, nil)
	if users, next, err := empty.x.ListUsers(ctx, "", 0); err != nil || len(users) != 0 || next != "" {
		t.Errorf("no users: %v %q %v", users, next, err)
	}
}

// TestMissingCapability: ListUsers with a Store that lacks
// admin.UserLister is refused with an error that names the interface and
// matches auth.ErrMissingCapability, without a page; the rest of the
// administration works on such a store.
func TestMissingCapability(t *testing.T) {
	ctx := context.Background()
	const want = "admin: ListUsers needs a Store that implements admin.UserLister (listing users)"
	t.Run("without", func(t *testing.T) {
		f := newFixture(t, struct{ auth.Store }{memory.New()})
		f.register(t, "alice")
		for _, c := range []struct {
			cursor string
			limit  int
		}{{"", 10}, {"", 0}, {"***", -1}} {
			users, next, err := f.x.ListUsers(ctx, c.cursor, c.limit)
			if !errors.Is(err, auth.ErrMissingCapability) || err.Error() != want {
				t.Fatalf("with a Store lacking the capability: %v, want %q (ErrMissingCapability)", err, want)
			}
			if users != nil || next != "" {
				t.Error("ListUsers returned a page with its error")
			}
		}
	})
	t.Run("with", func(t *testing.T) {
		f := newFixture(t, memory.New())
		f.register(t, "alice")
		if users, next, err := f.x.ListUsers(ctx, "", 10); err != nil || len(users) != 1 || next != "" {
			t.Fatalf("with a memory store: %v %q %v", users, next, err)
		}
	})
	t.Run("UpdateUser", func(t *testing.T) {
		f := newFixture(t, struct{ auth.Store }{memory.New()})
		root := f.register(t, "root", admin.Role)
		u := f.register(t, "alice")
		pair := f.login(t, "alice")
		got, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Roles: &[]string{"ops"}, Disabled: ptr(true), Actor: "test"})
		if err != nil || !got.Disabled || !got.HasRole("ops") {
			t.Fatalf("UpdateUser: %v %v", got, err)
		}
		if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); err == nil {
			t.Fatal("a disabled user's token still works")
		}
		if _, err := f.x.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(false), Logout: true, Actor: "test"}); err != nil {
			t.Fatalf("enable and logout: %v", err)
		}
		if _, err := f.x.UpdateUser(ctx, root.ID, admin.Update{Roles: &[]string{}, Actor: "test"}); !errors.Is(err, auth.ErrLastAdmin) {
			t.Fatalf("the last admin: %v", err)
		}
	})
}

// TestUpdateUserEndsTokensAt: an administrator's disabling and logout
// record when they ended the account's tokens (auth.User.TokensEndedAt),
// which ends the tokens that carry no version (auth.Config.Tokens.LegacyUntil);
// enabling and a change of roles do not.
func TestUpdateUserEndsTokensAt(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice")
	for _, step := range []struct {
		name  string
		up    admin.Update
		ended bool
	}{
		{"disable", admin.Update{Disabled: ptr(true)}, true},
		{"enable", admin.Update{Disabled: ptr(false)}, false},
		{"roles", admin.Update{Roles: &[]string{"ops"}}, false},
		{"logout", admin.Update{Logout: true}, true},
	} {
		f.clock.Advance(time.Minute)
		before := f.user(t, u.ID).TokensEndedAt
		step.up.Actor = "root"
		if _, err := f.x.UpdateUser(ctx, u.ID, step.up); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		want := before
		if step.ended {
			want = f.clock.Now()
		}
		if got := f.user(t, u.ID).TokensEndedAt; !got.Equal(want) {
			t.Errorf("%s: TokensEndedAt %v, want %v", step.name, got, want)
		}
	}
}
