package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rehashOnce is plainHasher, except that the hash of "old password" is
// outdated, so that a login with it rehashes.
type rehashOnce struct{ plainHasher }

func (h rehashOnce) NeedsRehash(encoded string) bool {
	old, _ := h.Hash("an old password")
	return encoded == old
}

// eventTypes returns every EventType constant declared in the package's
// sources, so that a new one cannot be forgotten here.
func eventTypes(t *testing.T) []EventType {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []EventType
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil || len(vs.Values) != 1 {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "EventType" {
				if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, EventType(v))
				}
			}
			return true
		})
	}
	if len(out) < 20 {
		t.Fatalf("found %d event types in the sources", len(out))
	}
	return out
}

// syncBuf is a bytes.Buffer safe for the mail worker's writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestLogEventsEveryType drives every flow until each event type has been
// logged through LogEvents, and checks that no line holds a password, a
// hash, a token or an email address.
func TestLogEventsEveryType(t *testing.T) {
	var buf syncBuf
	sink := LogEvents(slog.New(slog.NewJSONHandler(&buf, nil)))
	f, m := newMailFixture(t, func(c *Config) {
		c.Passwords.Hasher = rehashOnce{}
		c.OnEvent = sink
		c.Limits.LoginUserAddress = Rate{Burst: 2, Interval: time.Hour}
	})
	ctx := context.Background()
	var secrets []string
	keep := func(s ...string) { secrets = append(secrets, s...) }
	passwords := []string{"correct horse battery", "an old password", "a new password here", "a reset password here", "wrong password"}
	keep(passwords...)

	u, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "an old password", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	keep(u.PasswordHash)
	_, verify := link(t, m.next(t)) // registered, email_verification_requested, mail_sent
	keep(verify)
	pair, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "an old password", Client: Client{Addr: "192.0.2.1"}}) // rehashed
	if err != nil {
		t.Fatal(err)
	}
	keep(pair.AccessToken, pair.RefreshToken)
	for range 3 { // failed, failed, throttled
		_, _ = f.a.Login(ctx, Credentials{Username: "alice", Password: "wrong password"})
	}
	f.clock.Advance(2 * time.Hour)
	if _, err := f.a.VerifyEmail(ctx, Client{}, verify); err != nil { // email_verified
		t.Fatal(err)
	}
	next, err := f.a.Refresh(ctx, Client{}, pair.RefreshToken) // refreshed
	if err != nil {
		t.Fatal(err)
	}
	keep(next.AccessToken, next.RefreshToken)
	_, _ = f.a.Refresh(ctx, Client{}, pair.RefreshToken) // reuse
	_, _ = f.a.Refresh(ctx, Client{}, "garbage")         // refresh_failed
	p2, _ := f.a.Login(ctx, Credentials{Username: "alice", Password: "an old password"})
	keep(p2.AccessToken, p2.RefreshToken)
	if err := f.a.Logout(ctx, Client{}, p2.RefreshToken); err != nil { // logout
		t.Fatal(err)
	}
	p3, _ := f.a.Login(ctx, Credentials{Username: "alice", Password: "an old password"})
	keep(p3.AccessToken, p3.RefreshToken)
	_, c3, _ := f.a.Authenticate(ctx, p3.AccessToken)
	if err := f.a.RevokeSession(ctx, Client{}, u.ID, c3.SessionID); err != nil { // session_revoked
		t.Fatal(err)
	}
	if err := f.a.LogoutAll(ctx, Client{}, u.ID); err != nil { // logout_all
		t.Fatal(err)
	}
	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "an old password", New: "a new password here"}); err != nil { // password_changed
		t.Fatal(err)
	}
	if err := f.a.ChangeEmail(ctx, EmailChange{UserID: u.ID, Password: "a new password here", NewEmail: "alice2@example.com"}); err != nil { // email_change_requested
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	keep(change)
	if err := f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com"); err != nil { // password_reset_requested
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	keep(reset)
	if err := f.a.ResetPassword(ctx, PasswordReset{Token: reset, NewPassword: "a reset password here"}); err != nil { // password_reset
		t.Fatal(err)
	}
	for range 2 { // the second and third reset mails since the clock moved
		_ = f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com")
		m.next(t)
	}
	_ = f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com") // the fourth: mail_throttled
	// The worker reserves the mail budget later: wait for its verdict before
	// the clock moves on.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(buf.String(), `"mail_throttled"`); {
		if time.Now().After(deadline) {
			t.Fatal("the fourth mail within the hour was not throttled")
		}
		time.Sleep(time.Millisecond)
	}
	m.mu.Lock()
	m.fail = 1
	m.mu.Unlock()
	f.clock.Advance(2 * time.Hour)
	_ = f.a.RequestPasswordReset(ctx, Client{}, "alice@example.com") // mail_failed, then sent
	m.next(t)
	if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Roles: &[]string{"admin"}, Actor: "authctl (unix user root)"}); err != nil { // roles_changed
		t.Fatal(err)
	}
	if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Disabled: ptr(true), Actor: "authctl (unix user root)", Force: true}); err != nil { // user_disabled
		t.Fatal(err)
	}
	if _, err := f.a.UpdateUser(ctx, u.ID, UserUpdate{Disabled: ptr(false), Actor: "authctl (unix user root)"}); err != nil { // user_enabled
		t.Fatal(err)
	}
	if err := f.a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stored, _ := f.store.UserByID(ctx, u.ID)
	keep(stored.PasswordHash, "alice@example.com", "alice2@example.com")

	seen := map[string]bool{}
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not one JSON line: %q", line)
		}
		if rec["msg"] != "audit" {
			t.Fatalf("message %v", rec["msg"])
		}
		seen[rec["event"].(string)] = true
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("an audit line holds a secret or an address (%.12s…): %s", s, line)
			}
		}
		for _, key := range []string{"password", "token", "hash", "email"} {
			if _, ok := rec[key]; ok {
				t.Errorf("an audit line has a %q attribute: %s", key, line)
			}
		}
	}
	for _, et := range eventTypes(t) {
		if !seen[string(et)] {
			t.Errorf("event %s was never logged", et)
		}
	}
}
