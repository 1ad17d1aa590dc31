package usertable_test

import (
	"context"
	"testing"

	"github.com/goauthkit/auth"
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
	defer a.Shutdown(ctx)
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
