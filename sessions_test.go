package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
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
