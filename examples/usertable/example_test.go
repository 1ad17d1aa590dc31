package usertable_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/examples/usertable"
)

// A service that already has users, with bcrypt hashes, moves their
// sign-in to the library: Alice logs in with her email and the password
// she always had, her access token verifies, her hash is upgraded to
// argon2id, and the service's own is_active still has the last word.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "usertable")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The service's database, as it was: its users table, and Alice.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?"+usertable.DSNParams)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, usertable.UsersTable); err != nil {
		log.Fatal(err)
	}
	legacy, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.DefaultCost)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (email, password_hash) VALUES (?, ?)`, "alice@example.com", legacy); err != nil {
		log.Fatal(err)
	}

	// The adapter, and an Authenticator on it. (A real service reads its
	// secret from its configuration.)
	store, err := usertable.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	a, err := auth.New(auth.Config{Store: store, SecretKey: secret})
	if err != nil {
		log.Fatal(err)
	}

	// Alice logs in with her email, as typed.
	pair, err := a.Login(ctx, auth.Credentials{Username: "Alice@Example.com", Password: "correct horse battery"})
	if err != nil {
		log.Fatal(err)
	}
	user, _, err := a.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in: user", user.ID, user.Email)

	// The login replaced her bcrypt hash, in the service's column.
	var hash string
	if err := db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, 1).Scan(&hash); err != nil {
		log.Fatal(err)
	}
	fmt.Println("hash upgraded:", hash[:len("$argon2id$")])

	// The service deactivates her its own way: her token ends at once.
	if _, err := db.ExecContext(ctx, `UPDATE users SET is_active = 0 WHERE id = ?`, 1); err != nil {
		log.Fatal(err)
	}
	_, _, err = a.Authenticate(ctx, pair.AccessToken)
	fmt.Println("after is_active = 0:", errors.Is(err, auth.ErrInvalidToken))

	// A new account made through the library is a row of the same table.
	bob, err := a.Register(ctx, auth.NewUser{Username: "bob", Password: "a long new password", Email: "bob@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	var email string
	if err := db.QueryRowContext(ctx, `SELECT email FROM users WHERE id = ?`, bob.ID).Scan(&email); err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered: user", bob.ID, bob.Username, email)

	// Output:
	// signed in: user 1 alice@example.com
	// hash upgraded: $argon2id$
	// after is_active = 0: true
	// registered: user 2 bob bob@example.com
}
