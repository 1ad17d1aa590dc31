package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/audit"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/memory"
)

// rehashOnce is authtest.PlainHasher, except that the hash of "an old
// password" is outdated, so that a login with it rehashes.
type rehashOnce struct{ authtest.PlainHasher }

func (h rehashOnce) NeedsRehash(encoded string) bool {
	old, _ := h.Hash("an old password")
	return encoded == old
}

// recordingMailer hands the mails with a link to the test, drops the
// notices, and fails the first fail sends.
type recordingMailer struct {
	mu   sync.Mutex
	fail int
	sent chan *recovery.Message
}

func newRecordingMailer() *recordingMailer {
	return &recordingMailer{sent: make(chan *recovery.Message, 100)}
}

func (m *recordingMailer) Send(ctx context.Context, msg *recovery.Message) error {
	m.mu.Lock()
	if m.fail > 0 {
		m.fail--
		m.mu.Unlock()
		return errors.New("451 try again later")
	}
	m.mu.Unlock()
	if !strings.Contains(msg.Text, "?token=") {
		return nil
	}
	select {
	case m.sent <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next waits for the next mail sent with a link.
func (m *recordingMailer) next(t *testing.T) *recovery.Message {
	t.Helper()
	select {
	case msg := <-m.sent:
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no mail was sent")
		return nil
	}
}

var linkRE = regexp.MustCompile(`https://auth\.example\.com/(verify-email|reset-password)\?token=([A-Za-z0-9_-]{43})(\s|$)`)

// link returns the path and token of the link in a mail's text part.
func link(t *testing.T, m *recovery.Message) (string, string) {
	t.Helper()
	g := linkRE.FindStringSubmatch(m.Text)
	if g == nil {
		t.Fatalf("no link of a 43-character token in the text:\n%s", m.Text)
	}
	return g[1], g[2]
}

func ptr[T any](v T) *T { return &v }

// eventTypes returns every EventType constant declared in the sources of
// package auth and of the feature packages recovery and admin (whose
// events reach the same sink), so that a new one cannot be forgotten here.
func eventTypes(t *testing.T) []auth.EventType {
	t.Helper()
	var files []string
	for _, dir := range []string{"..", filepath.Join("..", "recovery"), filepath.Join("..", "admin")} {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(names) == 0 {
			t.Fatalf("the sources in %s: %v", dir, err)
		}
		files = append(files, names...)
	}
	var out []auth.EventType
	perDir := map[string]int{}
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
			// EventType in package auth, auth.EventType elsewhere.
			typ := vs.Type
			if sel, ok := typ.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "auth" {
					return true
				}
				typ = sel.Sel
			}
			if id, ok := typ.(*ast.Ident); ok && id.Name == "EventType" {
				if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, auth.EventType(v))
					perDir[filepath.Dir(name)]++
				}
			}
			return true
		})
	}
	if len(out) < 20 || perDir[".."] < 12 || perDir[filepath.Join("..", "recovery")] < 8 {
		t.Fatalf("found %d event types in the sources (%v)", len(out), perDir)
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
// logged through audit.Log, from the core and from recovery, and checks that no line holds a password, a
// hash, a token or an email address.
func TestLogEventsEveryType(t *testing.T) {
	var buf syncBuf
	store, clock, m := memory.New(), authtest.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)), newRecordingMailer()
	a, err := auth.New(auth.Config{
		Store:     store,
		SecretKey: []byte("0123456789abcdef0123456789abcdef-test-only"),
		Now:       clock.Now,
		OnEvent:   audit.Log(slog.New(slog.NewJSONHandler(&buf, nil))),
		Passwords: auth.PasswordConfig{Hasher: rehashOnce{}},
		Limits:    auth.Limits{LoginUserAddress: auth.Rate{Burst: 2, Interval: time.Hour}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := recovery.New(a, recovery.Config{Mailer: m, PublicURL: "https://auth.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var secrets []string
	keep := func(s ...string) { secrets = append(secrets, s...) }
	passwords := []string{"correct horse battery", "an old password", "a new password here", "a reset password here", "wrong password"}
	keep(passwords...)

	u, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "an old password", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	keep(u.PasswordHash)
	_, verify := link(t, m.next(t)) // registered, email_verification_requested, mail_sent
	keep(verify)
	pair, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "an old password", Client: auth.Client{Addr: "192.0.2.1"}}) // rehashed
	if err != nil {
		t.Fatal(err)
	}
	keep(pair.AccessToken, pair.RefreshToken)
	for range 3 { // failed, failed, throttled
		_, _ = a.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong password"})
	}
	clock.Advance(2 * time.Hour)
	if _, err := r.VerifyEmail(ctx, auth.Client{}, verify); err != nil { // email_verified
		t.Fatal(err)
	}
	next, err := a.Refresh(ctx, auth.Client{}, pair.RefreshToken) // refreshed
	if err != nil {
		t.Fatal(err)
	}
	keep(next.AccessToken, next.RefreshToken)
	_, _ = a.Refresh(ctx, auth.Client{}, pair.RefreshToken) // reuse
	_, _ = a.Refresh(ctx, auth.Client{}, "garbage")         // refresh_failed
	p2, _ := a.Login(ctx, auth.Credentials{Username: "alice", Password: "an old password"})
	keep(p2.AccessToken, p2.RefreshToken)
	if err := a.Logout(ctx, auth.Client{}, p2.RefreshToken); err != nil { // logout
		t.Fatal(err)
	}
	p3, _ := a.Login(ctx, auth.Credentials{Username: "alice", Password: "an old password"})
	keep(p3.AccessToken, p3.RefreshToken)
	_, c3, _ := a.Authenticate(ctx, p3.AccessToken)
	if err := a.RevokeSession(ctx, auth.Client{}, u.ID, c3.SessionID); err != nil { // session_revoked
		t.Fatal(err)
	}
	if err := a.LogoutAll(ctx, auth.Client{}, u.ID); err != nil { // logout_all
		t.Fatal(err)
	}
	if err := a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: "an old password", New: "a new password here"}); err != nil { // password_changed
		t.Fatal(err)
	}
	if err := r.ChangeEmail(ctx, recovery.EmailChange{UserID: u.ID, Password: "a new password here", NewEmail: "alice2@example.com"}); err != nil { // email_change_requested
		t.Fatal(err)
	}
	_, change := link(t, m.next(t))
	keep(change)
	if err := r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com"); err != nil { // password_reset_requested
		t.Fatal(err)
	}
	_, reset := link(t, m.next(t))
	keep(reset)
	if err := r.ResetPassword(ctx, recovery.PasswordReset{Token: reset, NewPassword: "a reset password here"}); err != nil { // password_reset
		t.Fatal(err)
	}
	for range 2 { // the second and third reset mails since the clock moved
		_ = r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com")
		m.next(t)
	}
	_ = r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com") // the fourth: mail_throttled
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
	clock.Advance(2 * time.Hour)
	_ = r.RequestPasswordReset(ctx, auth.Client{}, "alice@example.com") // mail_failed, then sent
	m.next(t)
	if _, err := admin.New(a).UpdateUser(ctx, u.ID, admin.Update{Roles: &[]string{"admin"}, Actor: "authctl (unix user root)"}); err != nil { // roles_changed
		t.Fatal(err)
	}
	if _, err := admin.New(a).UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(true), Actor: "authctl (unix user root)", Force: true}); err != nil { // user_disabled
		t.Fatal(err)
	}
	if _, err := admin.New(a).UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(false), Actor: "authctl (unix user root)"}); err != nil { // user_enabled
		t.Fatal(err)
	}
	bob, err := a.Register(ctx, auth.NewUser{Username: "bob", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	keep(bob.PasswordHash)
	if err := admin.New(a).DeleteUser(ctx, bob.ID, admin.Deletion{Actor: "authctl (unix user root)"}); err != nil { // user_deleted
		t.Fatal(err)
	}
	if err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stored, _ := store.UserByID(ctx, u.ID)
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
