package admin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanUserAgent(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"},
		{"  padded\t", "padded"},
		{"nul\x00and\nnewline\x7f", "nul and newline"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{"ｆｕｌｌ-width é", "ｆｕｌｌ-width é"},
	} {
		if got := cleanUserAgent(c.in); got != c.want {
			t.Errorf("cleanUserAgent(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("é", 10_000) // 2 bytes each
	got := cleanUserAgent(long)
	if len(got) > maxUserAgentBytes || len(got) < maxUserAgentBytes-1 || !utf8.ValidString(got) {
		t.Errorf("a long user agent: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

func TestAdminMethods(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{} })
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	for _, roles := range [][]string{{"Admin"}, {""}, {"a b"}, {strings.Repeat("r", 65)}, make([]string, 33)} {
		if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Roles: &roles, Actor: "test"}); !errors.Is(err, ErrInvalidRole) {
			t.Errorf("roles %q: %v", roles, err)
		}
	}
	if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Roles: &[]string{"a"}}); err == nil {
		t.Error("an update without an actor was made")
	}
	got, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Roles: &[]string{"b", "a:x", "b"}, Actor: "test"})
	if err != nil || strings.Join(got.Roles, ",") != "a:x,b" || !got.HasRole("b") {
		t.Fatalf("roles: %v %v", got, err)
	}
	if _, err := f.a.UpdateUser(ctx, "nobody", UserUpdate{Roles: &[]string{}, Actor: "test"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("roles of nobody: %v", err)
	}
	pair, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Disabled: ptr(true), Actor: "test"}); err != nil || !got.Disabled {
		t.Fatalf("disable: %v %v", got, err)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); err == nil {
		t.Fatal("a disabled user's token still works")
	}
	if _, err := f.a.Refresh(ctx, Client{}, pair.RefreshToken); err == nil {
		t.Fatal("a disabled user's refresh token still works")
	}
	if list, err := f.a.ListSessions(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("sessions of a disabled user: %v %v", list, err)
	}
	if got, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Disabled: ptr(false), Actor: "test"}); err != nil || got.Disabled {
		t.Fatalf("enable: %v %v", got, err)
	}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery"}); err != nil {
		t.Fatalf("login after enabling: %v", err)
	}
	for _, c := range []struct {
		cursor string
		limit  int
		want   error
	}{{"", -1, ErrInvalidInput}, {"", MaxListUsers + 1, ErrInvalidInput}, {"***", 10, ErrInvalidCursor}, {"AA", 10, ErrInvalidCursor}} {
		if _, _, err := f.a.ListUsers(ctx, c.cursor, c.limit); !errors.Is(err, c.want) {
			t.Errorf("ListUsers(%q, %d) = %v, want %v", c.cursor, c.limit, err, c.want)
		}
	}
	if _, err := f.a.ListSessions(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListSessions of nobody: %v", err)
	}
	if err := f.a.RevokeSession(ctx, Client{}, u.ID, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeSession of nothing: %v", err)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
