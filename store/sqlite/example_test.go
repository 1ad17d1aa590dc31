package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/sqlite"
)

// A Store for a process that owns its database file: other connections are
// locked out until Close, and users are cached exactly.
func ExampleConfig_exclusiveLock() {
	dir, _ := os.MkdirTemp("", "auth")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := sqlite.Open(ctx, filepath.Join(dir, "auth.db"), sqlite.Config{ExclusiveLock: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "…"}
	if err := store.CreateUser(ctx, u); err != nil {
		fmt.Println(err)
		return
	}
	got, _ := store.UserByID(ctx, "u1") // read from the file, then cached
	fmt.Println(got.Username, got.TokenVersion)

	_ = store.InvalidateTokens(ctx, "u1", got.CreatedAt) // logout-all: drops the cached copy
	got, _ = store.UserByID(ctx, "u1")
	fmt.Println(got.Username, got.TokenVersion)
	// Output:
	// alice 0
	// alice 1
}

// A Store that other processes may open at the same time (the default).
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "auth")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := sqlite.Open(ctx, filepath.Join(dir, "auth.db"), sqlite.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	fmt.Println(store.Ping(ctx))
	// Output: <nil>
}
