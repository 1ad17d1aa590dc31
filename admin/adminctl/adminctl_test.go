package adminctl_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin/adminctl"
	"github.com/goauthkit/auth/store/memory"
	"github.com/goauthkit/auth/store/mfastore"
)

type result struct {
	code           int
	stdout, stderr string
}

func (r result) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "correct horse") || strings.Contains(r.stdout+r.stderr, "$argon2id$") {
		t.Fatalf("a password or a hash in the output: %q %q", r.stdout, r.stderr)
	}
}

func newAuth(t *testing.T) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("a test secret of at least 32 bytes!!")})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func run(a *auth.Authenticator, env adminctl.Env) result {
	var out, errOut strings.Builder
	env.Stdout, env.Stderr = &out, &errOut
	if env.Getenv == nil {
		env.Getenv = func(k string) string {
			if k == "USER" {
				return "tester"
			}
			return ""
		}
	}
	code := adminctl.Run(context.Background(), env, a)
	return result{code, out.String(), errOut.String()}
}

// TestRun drives every subcommand on a memory store, as a service's own
// authctl would on its store.
func TestRun(t *testing.T) {
	a := newAuth(t)
	ctl := func(stdin string, args ...string) result {
		return run(a, adminctl.Env{Args: args, Stdin: strings.NewReader(stdin)})
	}

	ctl("correct horse battery\n", "user", "create", "Root", "--role", "admin").want(t, 0, "created user root (id ", "event=registered")
	ctl("correct horse battery", "user", "create", "alice", "-email", "Alice@Example.com", "-role", "ops,audit").want(t, 0, "with roles audit,ops", "")
	ctl("correct horse battery\n", "user", "create", "root").want(t, 1, "", "taken")
	ctl("short\n", "user", "create", "bob").want(t, 1, "", "the password is refused")
	ctl("", "user", "create", "bob").want(t, 1, "", "no password on standard input")
	ctl("correct horse battery\n", "user", "create", "b").want(t, 1, "", "usernames are")
	ctl("correct horse battery\n", "user", "create", "carol", "-role", "Bad Role").want(t, 1, "", "roles are")

	list := ctl("", "user", "list")
	list.want(t, 0, "USERNAME", "")
	for _, want := range []string{"root", "admin", "alice", "alice@example.com", "audit,ops"} {
		if !strings.Contains(list.stdout, want) {
			t.Fatalf("list lacks %q:\n%s", want, list.stdout)
		}
	}
	if strings.Contains(list.stdout, "carol") {
		t.Fatal("a user whose roles were refused was listed")
	}
	if lines := strings.Split(strings.TrimSpace(ctl("", "user", "list", "-limit", "1").stdout), "\n"); len(lines) != 2 {
		t.Fatalf("list -limit 1: %q", lines)
	}

	dis := ctl("", "user", "disable", "ALICE")
	dis.want(t, 0, "disabled alice", "event=user_disabled")
	for _, want := range []string{`actor="authctl (unix user tester)"`, `change="disabled=true"`, "username=alice"} {
		if !strings.Contains(dis.stderr, want) {
			t.Fatalf("the audit line lacks %q: %s", want, dis.stderr)
		}
	}
	ctl("", "user", "enable", "alice@example.com").want(t, 0, "enabled alice", "event=user_enabled")
	ctl("", "user", "disable", "root").want(t, 1, "", "no enabled user with the role admin")
	ctl("", "user", "roles", "root", "ops").want(t, 1, "", "give -force")
	ctl("", "user", "roles", "alice", "admin").want(t, 0, "alice now has roles: admin", `change="roles=admin"`)
	ctl("", "user", "disable", "root").want(t, 0, "disabled root", "")
	ctl("", "user", "roles", "-force", "alice", "").want(t, 0, "-force: the change was made", `change="roles="`)
	ctl("", "user", "enable", "root").want(t, 0, "enabled root", "")
	ctl("", "user", "roles", "alice", "").want(t, 0, "roles: none", "")
	ctl("", "user", "logout", "alice").want(t, 0, "logged alice out everywhere", "event=logout_all")
	ctl("", "user", "disable", "nobody").want(t, 1, "", `no user named "nobody"`)

	ctl("short\n", "user", "password", "alice").want(t, 1, "", "the password is refused")
	ctl("", "user", "password", "alice").want(t, 1, "", "authctl user password NAME")
	pw := ctl("a new password for alice\n", "user", "password", "Alice")
	pw.want(t, 0, "set the password of alice: every session and access token ended", `change="password set"`)
	if strings.Contains(pw.stdout+pw.stderr, "a new password for alice") {
		t.Fatal("the password is in the output")
	}
	alice, err := a.Store().UserByUsername(context.Background(), "alice")
	if err != nil || alice.Disabled || len(alice.Roles) != 0 {
		t.Fatalf("alice: %+v %v", alice, err)
	}
	if err := (auth.Argon2id{}).Verify("a new password for alice", alice.PasswordHash); err != nil {
		t.Fatalf("alice's new password: %v", err)
	}

	ctl("", "user", "delete", "root").want(t, 1, "", "no enabled user with the role admin")
	ctl("correct horse battery\n", "user", "create", "bob", "-email", "bob@example.com").want(t, 0, "created user bob", "")
	ctl("", "user", "delete", "bob@example.com").want(t, 0, "deleted bob: its sessions and links are gone", "event=user_deleted")
	ctl("", "user", "delete", "-force", "root").want(t, 0, "deleted root: its sessions and links are gone, its username and email free (-force", "")
	if _, err := a.Store().UserByUsername(context.Background(), "root"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("root after delete: %v", err)
	}
}

// TestUsage: -h everywhere exits 0 on standard output, mistakes exit 2
// before the Authenticator is asked for.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"user", "-h"}, {"user", "create", "-h"}, {"user", "disable", "-h"}, {"user", "enable", "-h"},
		{"user", "roles", "-h"}, {"user", "list", "-h"}, {"user", "logout", "-h"}, {"user", "delete", "-h"}, {"user", "password", "-h"},
		{"user", "mfa-reset", "-h"}} {
		r := runWith(t, args)
		if r.code != adminctl.ExitOK || !strings.Contains(r.stdout, "Usage: myctl") {
			t.Errorf("%q: exit %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{}, {"users"}, {"user"}, {"user", "frob"}, {"user", "create"}, {"user", "roles", "alice"},
		{"user", "disable", "a", "b"}, {"user", "list", "-limit", "x"}, {"user", "create", "x", "-password", "pw"},
		{"user", "delete"}, {"user", "password", "alice", "pw"}, {"user", "password", "-force", "alice"},
		{"user", "mfa-reset"}, {"user", "mfa-reset", "alice", "bob"}, {"user", "mfa-reset", "-force", "alice"}} {
		r := runWith(t, args)
		if r.code != adminctl.ExitUsage || !strings.Contains(r.stderr, "Usage: myctl") {
			t.Errorf("%q: exit %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	// The preamble is the program's.
	var out strings.Builder
	adminctl.Run(context.Background(), adminctl.Env{Args: []string{"-h"}, Stdout: &out, Preamble: "Usage: svcctl [-config FILE] user ...\n"}, nil)
	if !strings.HasPrefix(out.String(), "Usage: svcctl [-config FILE] user ...\n") || !strings.Contains(out.String(), "user password NAME") ||
		!strings.Contains(out.String(), "user mfa-reset NAME") {
		t.Fatalf("usage with a preamble: %q", out.String())
	}
}

// runWith runs args through RunWith with an open that fails the test.
func runWith(t *testing.T, args []string) result {
	t.Helper()
	var out, errOut strings.Builder
	code := adminctl.RunWith(context.Background(), adminctl.Env{Args: args, Stdout: &out, Stderr: &errOut, Name: "myctl"},
		func(context.Context) (*auth.Authenticator, error) {
			t.Errorf("%q: the store was opened", args)
			return nil, errors.New("no")
		})
	return result{code, out.String(), errOut.String()}
}

// TestOpenFails: an error from open is one line and exit 1.
func TestOpenFails(t *testing.T) {
	var errOut strings.Builder
	code := adminctl.RunWith(context.Background(), adminctl.Env{Args: []string{"user", "list"}, Stderr: &errOut},
		func(context.Context) (*auth.Authenticator, error) { return nil, errors.New("cannot open the store") })
	if code != adminctl.ExitFail || errOut.String() != "authctl: cannot open the store\n" {
		t.Fatalf("exit %d %q", code, errOut.String())
	}
}

// TestReadPassword: Env.ReadPassword is asked twice, with prompts, and two
// different answers change nothing.
func TestReadPassword(t *testing.T) {
	a := newAuth(t)
	var prompts []string
	answers := []string{"correct horse battery", "correct horse battery", "correct horse battery", "a typo"}
	read := func(prompt string) (string, error) {
		prompts = append(prompts, prompt)
		p := answers[0]
		answers = answers[1:]
		return p, nil
	}
	run(a, adminctl.Env{Args: []string{"user", "create", "root"}, ReadPassword: read}).want(t, 0, "created user root", "")
	if len(prompts) != 2 || prompts[0] != "Password for root: " || prompts[1] != "Again: " {
		t.Fatalf("prompts %q", prompts)
	}
	run(a, adminctl.Env{Args: []string{"user", "create", "alice"}, ReadPassword: read}).want(t, 1, "", "the two passwords differ")
	if _, err := a.Store().UserByUsername(context.Background(), "alice"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("alice: %v", err)
	}
	failing := func(string) (string, error) { return "", errors.New("not a terminal") }
	run(a, adminctl.Env{Args: []string{"user", "password", "root"}, ReadPassword: failing}).want(t, 1, "", "reading the password: not a terminal")
}

// TestAuditLinesAreTheRunsOwn: each run writes the audit lines of its own
// changes, not those of another run on the same Authenticator (nor of the
// service's own traffic), and the Authenticator's OnEvent sees them too.
func TestAuditLinesAreTheRunsOwn(t *testing.T) {
	var mu sync.Mutex
	var seen []auth.EventType
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("a test secret of at least 32 bytes!!"),
		OnEvent: func(_ context.Context, e auth.Event) { mu.Lock(); seen = append(seen, e.Type); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	first := run(a, adminctl.Env{Args: []string{"user", "create", "alice"}, Stdin: strings.NewReader("correct horse battery\n")})
	first.want(t, 0, "created user alice", "event=registered")
	if _, err := a.Register(context.Background(), auth.NewUser{Username: "bob", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	second := run(a, adminctl.Env{Args: []string{"user", "disable", "alice"}})
	second.want(t, 0, "disabled alice", "event=user_disabled")
	if strings.Count(first.stderr, "\n") != 1 || strings.Count(second.stderr, "\n") != 1 || strings.Contains(second.stderr, "registered") {
		t.Fatalf("audit lines: %q then %q", first.stderr, second.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("OnEvent saw %v", seen)
	}
}

// TestServiceModule builds a service's own authctl as the package doc
// says, in a module of its own that requires only the root module (out of
// the workspace), and runs it with go run: the package needs no store
// driver, and the 10-line main is enough.
func TestServiceModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/service\n\ngo 1.25.0\n\n"+
		"require github.com/goauthkit/auth v0.0.0-00010101000000-000000000000\n\n"+
		"replace github.com/goauthkit/auth => "+root+"\n")
	write("cmd/authctl/main.go", `package main

import (
	"log"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin/adminctl"
	"github.com/goauthkit/auth/store/memory"
)

func main() {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: []byte("the service's secret, of 32 bytes or more")})
	if err != nil {
		log.Fatal(err)
	}
	adminctl.Main(a)
}
`)
	goRun := func(stdin string, args ...string) (string, string, error) {
		cmd := exec.Command(gocmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "USER=svc")
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	if _, stderr, err := goRun("", "mod", "tidy"); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, stderr)
	}
	deps, stderr, err := goRun("", "list", "-deps", "./cmd/authctl")
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	for _, bad := range []string{"store/sqlite", "store/postgres", "jackc/pgx", "golang.org/x/term", "modernc.org", "pquerna/otp", "goauthkit/auth/mfa"} {
		if strings.Contains(deps, bad) {
			t.Errorf("a service's authctl compiles %s", bad)
		}
	}
	stdout, stderr, err := goRun("correct horse battery\n", "run", "./cmd/authctl", "user", "create", "root", "--role", "admin")
	if err != nil || !strings.Contains(stdout, "created user root (id ") || !strings.Contains(stderr, `actor="authctl (unix user svc)"`) {
		t.Fatalf("go run ./cmd/authctl user create: %v\n%s\n%s", err, stdout, stderr)
	}
	if _, stderr, err := goRun("", "run", "./cmd/authctl", "user", "frob"); err == nil || !strings.Contains(stderr, "exit status 2") {
		t.Fatalf("a mistake: %v\n%s", err, stderr)
	}
}

// TestTerminalRefused: without Env.ReadPassword, a password is never read
// from a terminal (a character device: /dev/null is one too), where it
// would show as typed; nothing is created.
func TestTerminalRefused(t *testing.T) {
	tty, err := os.Open(os.DevNull)
	if err != nil {
		t.Skipf("no %s: %v", os.DevNull, err)
	}
	defer tty.Close()
	a := newAuth(t)
	run(a, adminctl.Env{Args: []string{"user", "create", "root"}, Stdin: tty}).want(t, 1, "", "standard input is a terminal")
	if _, err := a.Store().UserByUsername(context.Background(), "root"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("root: %v", err)
	}
}

// confirmTOTP gives the user a confirmed authenticator app and recovery
// codes, as package mfa would keep them (the store holds nothing it can
// read: a sealed secret, hashes).
func confirmTOTP(t *testing.T, st mfastore.Store, userID string) {
	t.Helper()
	ctx := context.Background()
	if err := st.PutPendingTOTP(ctx, &mfastore.TOTP{UserID: userID, ID: "enrolment-" + userID, Sealed: []byte("sealed"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	codes := make([][]byte, 10)
	for i := range codes {
		codes[i] = bytes.Repeat([]byte{byte(i + 1)}, 32)
	}
	if err := st.ConfirmTOTP(ctx, userID, "enrolment-"+userID, 1, codes); err != nil {
		t.Fatal(err)
	}
}

// noMFAStore is a store without mfastore.Store: only auth.Store's methods.
type noMFAStore struct{ auth.Store }

// TestMFAReset: user mfa-reset takes a user's second factor away and ends
// every login of the user, as mfa.MFA.Reset does, with the event
// "mfa_reset" naming authctl and who runs it; on a store without the
// capability it refuses in one line and changes nothing.
func TestMFAReset(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		store  func() auth.Store
		totp   bool // alice has an authenticator app on
		args   []string
		code   int
		stdout string
		stderr string
		ended  bool // alice's logins are ended
	}{
		{name: "with an app", store: func() auth.Store { return memory.New() }, totp: true, args: []string{"Alice"},
			code: 0, stdout: "reset the second factor of alice: authenticator app and recovery codes deleted, every session and access token ended",
			stderr: "event=mfa_reset", ended: true},
		{name: "by email", store: func() auth.Store { return memory.New() }, totp: true, args: []string{"alice@example.com"},
			code: 0, stdout: "reset the second factor of alice", stderr: `actor="authctl (unix user tester)"`, ended: true},
		{name: "without an app", store: func() auth.Store { return memory.New() }, args: []string{"alice"},
			code: 0, stdout: "alice had no second factor; every session and access token ended all the same", stderr: "event=mfa_reset", ended: true},
		{name: "unknown user", store: func() auth.Store { return memory.New() }, totp: true, args: []string{"nobody"},
			code: 1, stderr: `no user named "nobody"`},
		{name: "store without second factors", store: func() auth.Store { return noMFAStore{memory.New()} }, args: []string{"alice"},
			code: 1, stderr: "authctl: the store keeps no second factors (it does not implement mfastore.Store): there is nothing to reset\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var events []auth.Event
			st := c.store()
			a, err := auth.New(auth.Config{Store: st, SecretKey: []byte("a test secret of at least 32 bytes!!"),
				OnEvent: func(_ context.Context, e auth.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			alice, err := a.Register(ctx, auth.NewUser{Username: "alice", Email: "alice@example.com", Password: "correct horse battery"})
			if err != nil {
				t.Fatal(err)
			}
			login, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery"})
			if err != nil {
				t.Fatal(err)
			}
			mst, _ := st.(mfastore.Store)
			if c.totp {
				confirmTOTP(t, mst, alice.ID)
			}
			mu.Lock()
			events = nil
			mu.Unlock()

			r := run(a, adminctl.Env{Args: append([]string{"user", "mfa-reset"}, c.args...)})
			r.want(t, c.code, c.stdout, c.stderr)
			mu.Lock()
			emitted := events
			mu.Unlock()

			_, _, authErr := a.Authenticate(ctx, login.AccessToken)
			_, refreshErr := a.Refresh(ctx, auth.Client{}, login.RefreshToken)
			if ended := authErr != nil && refreshErr != nil; ended != c.ended || c.ended && !errors.Is(authErr, auth.ErrInvalidToken) {
				t.Fatalf("alice's login after the reset: access %v, refresh %v; want ended %v", authErr, refreshErr, c.ended)
			}
			if c.code != adminctl.ExitOK {
				if len(emitted) != 0 {
					t.Fatalf("a refused reset emitted %+v", emitted)
				}
				if strings.Count(r.stderr, "\n") != 1 {
					t.Fatalf("more than one line: %q", r.stderr)
				}
				if mst != nil && c.totp {
					if tt, err := mst.TOTP(ctx, alice.ID); err != nil || !tt.Confirmed {
						t.Fatalf("alice's app after a refused reset: %+v %v", tt, err)
					}
				}
				return
			}
			if _, err := mst.TOTP(ctx, alice.ID); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("alice's enrolment after the reset: %v", err)
			}
			if n, err := mst.RecoveryCodesLeft(ctx, alice.ID); err != nil || n != 0 {
				t.Fatalf("alice's recovery codes after the reset: %d %v", n, err)
			}
			var types []auth.EventType
			for _, e := range emitted {
				types = append(types, e.Type)
			}
			if len(types) != 2 || types[0] != auth.EventLogoutAll || types[1] != "mfa_reset" {
				t.Fatalf("events %v, want logout_all then mfa_reset", types)
			}
			if e := emitted[1]; e.UserID != alice.ID || e.Username != "alice" || e.Actor != "authctl (unix user tester)" {
				t.Fatalf("the reset's event: %+v", e)
			}
			if !strings.Contains(r.stderr, "event=logout_all") || !strings.Contains(r.stderr, "username=alice") {
				t.Fatalf("audit lines: %s", r.stderr)
			}
		})
	}
}
