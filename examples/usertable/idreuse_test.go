package usertable_test

import (
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/examples/usertable"
)

// TestDeletedUsersTokenIsNotTheNextUsers: SQLite gives the next row the
// id of a deleted newest one. A token issued to the deleted user must not
// authenticate the next user (auth.User.ID: "never reused").
func TestDeletedUsersTokenIsNotTheNextUsers(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	s := newStore(t, db)
	a, err := auth.New(auth.Config{Store: s, SecretKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "a long old password", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := a.IssueAccessToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	// The service deletes Alice its own way; Mallory registers next.
	if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, alice.ID); err != nil {
		t.Fatal(err)
	}
	mallory, err := a.Register(ctx, auth.NewUser{Username: "mallory", Password: "a long new password", Email: "mallory@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if u, _, err := a.Authenticate(ctx, token); err == nil {
		t.Fatalf("the deleted user's token (id %s) authenticates user %q (id %s)", alice.ID, u.Username, mallory.ID)
	}
}

// TestReusedIDs: whoever makes the row that takes a freed id (the
// adapter, or the service itself), and however the id was freed (a
// DELETE, twice in a row, an INSERT OR REPLACE without
// recursive_triggers), no token of an earlier holder of the id
// authenticates the new one, and the new one's own tokens do.
func TestReusedIDs(t *testing.T) {
	const password = "a long old password"
	type env struct {
		t  *testing.T
		db *sql.DB
		s  *usertable.Store
		a  *auth.Authenticator
	}
	// register makes a user through the library, and a sessionless token.
	register := func(e env, name string) (*auth.User, string) {
		e.t.Helper()
		u, err := e.a.Register(context.Background(), auth.NewUser{Username: name, Password: password, Email: name + "@example.com"})
		if err != nil {
			e.t.Fatal(err)
		}
		return u, issue(e.t, e.a, u)
	}
	// insert makes a user the service's way, at the next id, and a token.
	insert := func(e env, name string) (*auth.User, string) {
		e.t.Helper()
		if _, err := e.db.Exec(`INSERT INTO users (email, password_hash) VALUES (?, 'h')`, name+"@example.com"); err != nil {
			e.t.Fatal(err)
		}
		u, err := e.s.UserByEmail(context.Background(), name+"@example.com")
		if err != nil {
			e.t.Fatal(err)
		}
		return u, issue(e.t, e.a, u)
	}
	del := func(e env, u *auth.User) {
		e.t.Helper()
		if _, err := e.db.Exec(`DELETE FROM users WHERE id = ?`, u.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	// replace puts a new row at u's id with INSERT OR REPLACE, which fires
	// no delete trigger (recursive_triggers is off).
	replace := func(e env, u *auth.User, name string, recursive bool) (*auth.User, string) {
		e.t.Helper()
		ctx := context.Background()
		conn, err := e.db.Conn(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `PRAGMA recursive_triggers = `+strconv.FormatBool(recursive)); err != nil {
			e.t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO users (id, email, password_hash) VALUES (?, ?, 'h')`, u.ID, name+"@example.com"); err != nil {
			e.t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `PRAGMA recursive_triggers = false`); err != nil {
			e.t.Fatal(err)
		}
		n, err := e.s.UserByID(context.Background(), u.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		return n, issue(e.t, e.a, n)
	}
	for _, c := range []struct {
		name string
		// run frees and fills one id, and returns the tokens of the id's
		// earlier holders and the last holder.
		run func(e env) (old []string, last *auth.User)
	}{
		{"deleted, then a user registered", func(e env) ([]string, *auth.User) {
			u, tok := register(e, "alice")
			del(e, u)
			n, _ := register(e, "mallory")
			return []string{tok}, n
		}},
		{"deleted, then a row inserted by the service", func(e env) ([]string, *auth.User) {
			u, tok := register(e, "alice")
			del(e, u)
			n, _ := insert(e, "mallory")
			return []string{tok}, n
		}},
		{"a service row deleted, then another inserted", func(e env) ([]string, *auth.User) {
			u, tok := insert(e, "alice")
			del(e, u)
			n, _ := insert(e, "mallory")
			return []string{tok}, n
		}},
		{"deleted twice at the same id", func(e env) ([]string, *auth.User) {
			u, tok1 := register(e, "alice")
			del(e, u)
			u, tok2 := insert(e, "bob")
			del(e, u)
			n, _ := register(e, "mallory")
			return []string{tok1, tok2}, n
		}},
		{"logged out everywhere, deleted, then a row inserted", func(e env) ([]string, *auth.User) {
			u, tok1 := register(e, "alice")
			if err := e.a.LogoutAll(context.Background(), auth.Client{}, u.ID); err != nil {
				e.t.Fatal(err)
			}
			u, _ = e.s.UserByID(context.Background(), u.ID)
			tok2 := issue(e.t, e.a, u)
			del(e, u)
			n, _ := insert(e, "mallory")
			return []string{tok1, tok2}, n
		}},
		{"replaced by INSERT OR REPLACE", func(e env) ([]string, *auth.User) {
			u, tok := register(e, "alice")
			n, _ := replace(e, u, "mallory", false)
			return []string{tok}, n
		}},
		{"a service row replaced, twice", func(e env) ([]string, *auth.User) {
			u, tok1 := insert(e, "alice")
			// A state row, as the library's first change of the row makes.
			if err := e.a.LogoutAll(context.Background(), auth.Client{}, u.ID); err != nil {
				e.t.Fatal(err)
			}
			u, tok2 := replace(e, u, "bob", false)
			n, _ := replace(e, u, "mallory", false)
			return []string{tok1, tok2}, n
		}},
		{"a never written service row replaced, recursive_triggers on", func(e env) ([]string, *auth.User) {
			u, tok := insert(e, "alice")
			n, _ := replace(e, u, "mallory", true)
			return []string{tok}, n
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t)
			s := newStore(t, db)
			a, err := auth.New(auth.Config{Store: s, SecretKey: make([]byte, 32)})
			if err != nil {
				t.Fatal(err)
			}
			// An older user, so that the freed id is not the first.
			if _, err := db.Exec(`INSERT INTO users (email, password_hash) VALUES ('first@example.com', 'h')`); err != nil {
				t.Fatal(err)
			}
			old, last := c.run(env{t, db, s, a})
			if last.ID != "2" {
				t.Fatalf("the last user has id %s, not the reused 2", last.ID)
			}
			for i, tok := range old {
				if u, _, err := a.Authenticate(ctx, tok); err == nil {
					t.Errorf("the token of earlier holder %d of id 2 authenticates %q (version %d)", i, u.Username, u.TokenVersion)
				}
			}
			if _, err := s.UserByID(ctx, last.ID); err != nil {
				t.Fatal(err)
			}
			// The new holder's tokens work, before and after the library
			// writes its state row (which keeps its version).
			stored, _ := s.UserByID(ctx, last.ID)
			if stored.TokenVersion != last.TokenVersion {
				t.Fatalf("version %d read back, %d returned", stored.TokenVersion, last.TokenVersion)
			}
			tok := issue(t, a, last)
			if err := s.UpdatePasswordHash(ctx, last.ID, last.PasswordHash, last.PasswordHash, false, time.Now()); err != nil {
				t.Fatal(err)
			}
			if u, _, err := a.Authenticate(ctx, tok); err != nil || u.Username != last.Username {
				t.Fatalf("the new holder's own token: %v, %v", u, err)
			}
			for i, tok := range old {
				if _, _, err := a.Authenticate(ctx, tok); err == nil {
					t.Errorf("once the state row is written, the token of earlier holder %d authenticates", i)
				}
			}
		})
	}
}

// TestUpsertKeepsTheUser: a row the service changes in place with an
// upsert stays the same user, tokens and roles included.
func TestUpsertKeepsTheUser(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	newStore(t, db)
	s := newStore(t, db) // New again, on its own tables: it replaces its triggers
	a, err := auth.New(auth.Config{Store: s, SecretKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "a long old password", Email: "alice@example.com", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := issue(t, a, u)
	if _, err := db.Exec(`INSERT INTO users (email, password_hash) VALUES ('alice@example.com', 'h2')
		ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash`); err != nil {
		t.Fatal(err)
	}
	got, _, err := a.Authenticate(ctx, tok)
	if err != nil || got.ID != u.ID || !got.HasRole("admin") || got.PasswordHash != "h2" {
		t.Fatalf("after an upsert: %+v, %v", got, err)
	}
}

func issue(t *testing.T, a *auth.Authenticator, u *auth.User) string {
	t.Helper()
	tok, err := a.IssueAccessToken(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
