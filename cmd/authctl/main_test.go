package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
	"github.com/goauthkit/auth/store/sqlite"
)

// buildAuthctl builds the command once per test.
func buildAuthctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "authctl")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=") // CI's -json is for go test only
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no AUTH_* from the environment
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errOut.String()}
}

func (r result) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "correct horse") || strings.Contains(r.stdout+r.stderr, "$argon2id$") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("a password, a hash or a stack trace in the output: %q %q", r.stdout, r.stderr)
	}
}

// TestAuthctl drives the binary on a fresh SQLite data directory, as an
// operator would.
func TestAuthctl(t *testing.T) {
	bin := buildAuthctl(t)
	data := filepath.Join(t.TempDir(), "data")
	ctl := func(stdin string, args ...string) result {
		return runBin(t, bin, stdin, append([]string{"-data", data}, args...)...)
	}

	ctl("correct horse battery\n", "user", "create", "Root", "--role", "admin").want(t, 0, "created user root (id ", "")
	if info, err := os.Stat(data); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("data directory: %v %v", info, err)
	}
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
		t.Fatal("a user whose roles were refused was... listed")
	}
	// One of the two, whichever comes first in id order (ids are random).
	one := ctl("", "user", "list", "-limit", "1")
	one.want(t, 0, "USERNAME", "")
	if lines := strings.Split(strings.TrimSpace(one.stdout), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[1], "root ") && !strings.HasPrefix(lines[1], "alice ") {
		t.Fatalf("list -limit 1:\n%s\nwant the header and one of root and alice", one.stdout)
	}

	// Each change is an audit line on standard error, naming authctl and
	// who runs it, and what changed (v3), and no address.
	dis := ctl("", "user", "disable", "ALICE")
	dis.want(t, 0, "disabled alice", `event=user_disabled`)
	for _, want := range []string{`actor="authctl (unix user `, `change="disabled=true"`, "username=alice"} {
		if !strings.Contains(dis.stderr, want) {
			t.Fatalf("the audit line lacks %q: %s", want, dis.stderr)
		}
	}
	ctl("", "user", "enable", "alice@example.com").want(t, 0, "enabled alice", "event=user_enabled")
	// The last enabled administrator stays, unless forced (v3).
	ctl("", "user", "disable", "root").want(t, 1, "", "no enabled user with the role admin")
	ctl("", "user", "roles", "root", "ops").want(t, 1, "", "no enabled user with the role admin")
	ctl("", "user", "roles", "alice", "admin").want(t, 0, "alice now has roles: admin", `change="roles=admin"`)
	ctl("", "user", "disable", "root").want(t, 0, "disabled root", "")
	ctl("", "user", "roles", "alice", "").want(t, 1, "", "give -force")
	ctl("", "user", "roles", "-force", "alice", "").want(t, 0, "-force: the change was made", `change="roles="`)
	ctl("", "user", "enable", "root").want(t, 0, "enabled root", "")
	ctl("", "user", "roles", "alice", "editor").want(t, 0, "alice now has roles: editor", "")
	ctl("", "user", "roles", "alice", "").want(t, 0, "roles: none", "")
	ctl("", "user", "logout", "alice").want(t, 0, "logged alice out everywhere", "")
	ctl("", "user", "disable", "nobody").want(t, 1, "", `no user named "nobody"`)
	if r := ctl("correct horse battery\n", "user", "create", "admin2"); !strings.Contains(r.stderr, `actor="authctl (unix user `) || !strings.Contains(r.stderr, "event=registered") {
		t.Fatalf("the audit line of a creation does not name authctl: %q", r.stderr)
	}

	// A new password (v3): checked by the rules, ending every login.
	ctl("short\n", "user", "password", "alice").want(t, 1, "", "the password is refused")
	ctl("", "user", "password", "alice").want(t, 1, "", "authctl user password NAME")
	ctl("a new password for alice\n", "user", "password", "nobody").want(t, 1, "", `no user named "nobody"`)
	pw := ctl("a new password for alice\n", "user", "password", "Alice")
	pw.want(t, 0, "set the password of alice: every session and access token ended", "event=password_changed")
	for _, want := range []string{`actor="authctl (unix user `, `change="password set"`} {
		if !strings.Contains(pw.stderr, want) {
			t.Fatalf("the audit line lacks %q: %s", want, pw.stderr)
		}
	}
	if strings.Contains(pw.stdout+pw.stderr, "a new password for alice") {
		t.Fatal("the password is in the output")
	}

	// Deletion (v3): never the last enabled admin unless forced.
	ctl("", "user", "delete", "root").want(t, 1, "", "no enabled user with the role admin")
	ctl("", "user", "delete", "nobody").want(t, 1, "", `no user named "nobody"`)
	ctl("correct horse battery\n", "user", "create", "bob", "-email", "bob@example.com").want(t, 0, "created user bob", "")
	del := ctl("", "user", "delete", "bob@example.com")
	del.want(t, 0, "deleted bob: its sessions and links are gone, its username and email free", "event=user_deleted")
	if strings.Contains(del.stdout, "-force") || !strings.Contains(del.stderr, `actor="authctl (unix user `) {
		t.Fatalf("delete: %q %q", del.stdout, del.stderr)
	}
	ctl("correct horse battery\n", "user", "create", "bob", "-email", "bob@example.com").want(t, 0, "created user bob", "")

	// What the commands did is what the store holds.
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "auth.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := st.UserByUsername(context.Background(), "root")
	if err != nil || !root.HasRole("admin") || root.Disabled {
		t.Fatalf("root: %+v %v", root, err)
	}
	alice, err := st.UserByUsername(context.Background(), "alice")
	if err != nil || alice.Disabled || len(alice.Roles) != 0 || alice.TokenVersion < 3 || !strings.HasPrefix(alice.PasswordHash, "$argon2id$") {
		t.Fatalf("alice: %+v %v", alice, err)
	}
	if err := (auth.Argon2id{}).Verify("a new password for alice", alice.PasswordHash); err != nil {
		t.Fatalf("alice's new password: %v", err)
	}
	st.Close()
	// The last admin, forced.
	ctl("", "user", "delete", "-force", "root").want(t, 0, "deleted root: its sessions and links are gone, its username and email free (-force: the change was made", "")

	// Usage: -h everywhere, mistakes exit 2 before the store is touched.
	if strings.Contains(ctl("", "user", "logout", "alice").stderr, "@") {
		t.Fatal("an audit line holds an address")
	}
	for _, args := range [][]string{{"-h"}, {"user", "-h"}, {"user", "create", "-h"}, {"user", "disable", "-h"}, {"user", "enable", "-h"},
		{"user", "roles", "-h"}, {"user", "list", "-h"}, {"user", "logout", "-h"}, {"user", "delete", "-h"}, {"user", "password", "-h"}} {
		r := runBin(t, bin, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage") {
			t.Errorf("%q: exit %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{}, {"users"}, {"user"}, {"user", "frob"}, {"user", "create"}, {"user", "roles", "alice"},
		{"user", "disable", "a", "b"}, {"user", "list", "-limit", "x"}, {"-nope", "user", "list"}, {"user", "create", "x", "-password", "pw"},
		{"user", "delete"}, {"user", "password", "alice", "pw"}, {"user", "password", "-force", "alice"}} {
		r := runBin(t, bin, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "Usage") {
			t.Errorf("%q: exit %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestAuthctlLockedFile: against a SQLite file a running server holds,
// authctl says so in one line and exits non-zero, changing nothing.
func TestAuthctlLockedFile(t *testing.T) {
	bin := buildAuthctl(t)
	data := t.TempDir()
	held, err := sqlite.Open(context.Background(), filepath.Join(data, "auth.db"), sqlite.Config{ExclusiveLock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r := runBin(t, bin, "correct horse battery\n", "-data", data, "user", "create", "root")
	r.want(t, 1, "", "a running server holds")
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("more than one line: %q", r.stderr)
	}
	if _, err := held.UserByUsername(context.Background(), "root"); err != auth.ErrNotFound {
		t.Fatalf("the user was created anyway: %v", err)
	}
}

// TestAuthctlPostgres: the same commands on PostgreSQL (in a schema of
// the test's own), when AUTH_TEST_POSTGRES_URL names a database.
func TestAuthctlPostgres(t *testing.T) {
	base := testenv.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "authctl_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		conn.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	bin := buildAuthctl(t)
	ctl := func(stdin string, args ...string) result {
		return runBin(t, bin, stdin, append([]string{"-db", u.String()}, args...)...)
	}
	ctl("correct horse battery\n", "user", "create", "root", "-role", "admin").want(t, 0, "created user root", "")
	ctl("", "user", "disable", "root").want(t, 1, "", "no enabled user with the role admin")
	ctl("", "user", "disable", "-force", "root").want(t, 0, "disabled root", "event=user_disabled")
	ctl("", "user", "list").want(t, 0, "root", "")
	ctl("correct horse battery\n", "user", "create", "alice", "-role", "admin").want(t, 0, "created user alice", "")
	ctl("a new password for alice\n", "user", "password", "alice").want(t, 0, "set the password of alice", "event=password_changed")
	ctl("", "user", "delete", "alice").want(t, 1, "", "no enabled user with the role admin")
	ctl("", "user", "delete", "-force", "alice").want(t, 0, "deleted alice", "event=user_deleted")
	ctl("", "-db", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", "user", "list").want(t, 1, "", "cannot use the PostgreSQL database")
}
