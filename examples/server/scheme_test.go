package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/recovery"
)

// TestE2EPasswordSchemeBcrypt: with AUTH_PASSWORD_SCHEME=bcrypt (a users
// table shared with a FastAPI service), new passwords are hashed with
// bcrypt, which passlib verifies; a password over bcrypt's 72 bytes is 422
// invalid_password, saying why; and a login never moves a stored hash to
// another scheme, be it passlib's bcrypt or an argon2id one.
func TestE2EPasswordSchemeBcrypt(t *testing.T) {
	// The setting picks the library's Bcrypt at its default cost (12)...
	for scheme, want := range map[string]auth.Hasher{"": nil, "argon2id": nil, "bcrypt": auth.Bcrypt{}} {
		s, err := loadSettings([]string{"-db", "memory", "-data", t.TempDir()}, func(k string) string {
			if k == "AUTH_PASSWORD_SCHEME" {
				return scheme
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		var got auth.Hasher
		a, err := newApp(context.Background(), s, discardLogger(), func(c *auth.Config, _ *recovery.Config, _ *mfa.Config) { got = c.Passwords.Hasher })
		if err != nil {
			t.Fatal(err)
		}
		_ = a.close()
		if got != want {
			t.Errorf("AUTH_PASSWORD_SCHEME=%q: the hasher is %#v, want %#v (nil: the library's default, Argon2id)", scheme, got, want)
		}
	}
	// ...which the rest runs at cost 10, its lowest, for time: a bcrypt at
	// cost 12 takes seconds under the race detector.
	e := newEnv(t, envOptions{hasher: auth.Bcrypt{Cost: 10}, vars: map[string]string{"AUTH_PASSWORD_SCHEME": "bcrypt"}})
	ctx := context.Background()
	hashOf := func(name string) string {
		t.Helper()
		u, err := e.app.store.UserByUsername(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}

	e.signup("alice", "alice's long password")
	hash := hashOf("alice")
	if !strings.HasPrefix(hash, "$2a$10$") {
		t.Fatalf("a new password's hash is %.7q…, want bcrypt at cost 10", hash)
	}
	e.login("alice", "alice's long password")
	if hashOf("alice") != hash {
		t.Error("a login rehashed an up-to-date bcrypt hash")
	}

	long := strings.Repeat("p", 73)
	r := e.signupReq("bob", long)
	r.want(t, 422, "invalid_password")
	if !strings.Contains(r.str("error_description"), "72") {
		t.Errorf("the answer to a password over 72 bytes does not say why: %q", r.str("error_description"))
	}

	// Hashes another service made, in the shared table: passlib's bcrypt
	// ($2b$, a lower cost) and an argon2id one.
	for _, tc := range []struct{ name, scheme string }{
		{"carol", "passlib bcrypt"},
		{"dave", "argon2id"},
	} {
		password := tc.name + "'s long password"
		var hash string
		if tc.scheme == "argon2id" {
			h, err := auth.Argon2id{}.Hash(password)
			if err != nil {
				t.Fatal(err)
			}
			hash = h
		} else {
			py := testenv.Python(t, "passlib")
			out, err := exec.Command(py, "-c", `import sys
from passlib.hash import bcrypt
print(bcrypt.using(rounds=4).hash(sys.argv[1]))`, password).CombinedOutput()
			if err != nil {
				t.Fatalf("passlib: %v\n%s", err, out)
			}
			hash = strings.TrimSpace(string(out))
		}
		if err := e.app.store.CreateUser(ctx, &auth.User{ID: tc.name + "-id", Username: tc.name, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
		e.login(tc.name, password)
		// (passlib's bcrypt at a lower cost may become bcrypt at the
		// hasher's: the same scheme, which passlib reads.)
		if got := hashOf(tc.name); scheme(got) != scheme(hash) {
			t.Errorf("%s's %.7q… hash became %.7q… at login", tc.name, hash, got)
		}
	}

	// passlib verifies the hash the server made.
	py := testenv.Python(t, "passlib")
	out, err := exec.Command(py, "-c", `import sys
from passlib.hash import bcrypt
print(bcrypt.verify(sys.argv[1], sys.argv[2]))`, "alice's long password", hash).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "True" {
		t.Fatalf("passlib.hash.bcrypt.verify of the server's hash: %v %s", err, out)
	}
}

// scheme is the scheme of a hash: argon2id, bcrypt (any of $2a$, $2b$,
// $2y$), or what else it starts with.
func scheme(hash string) string {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return "argon2id"
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return "bcrypt"
	}
	return hash[:min(len(hash), 4)]
}
