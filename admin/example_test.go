package admin_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/store/memory"
)

// Make a user an administrator, as a tool run on the server does (no
// administrator exists yet to do it through the endpoints), then list the
// accounts a page at a time.
func Example() {
	ctx := context.Background()
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes!"),
	})
	if err != nil {
		panic(err)
	}
	x := admin.New(a)
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, err := a.Register(ctx, auth.NewUser{Username: name, Password: "correct horse battery staple"}); err != nil {
			panic(err)
		}
	}
	alice, err := a.Store().UserByUsername(ctx, "alice")
	if err != nil {
		panic(err)
	}
	u, err := x.UpdateUser(ctx, alice.ID, admin.Update{Roles: &[]string{admin.Role}, Actor: "setup script"})
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Username, "is an administrator:", u.HasRole(admin.Role))

	// The last administrator stays one, unless the change is forced.
	disabled := true
	_, err = x.UpdateUser(ctx, alice.ID, admin.Update{Disabled: &disabled, Actor: "setup script"})
	fmt.Println("disabling her:", errors.Is(err, auth.ErrLastAdmin))

	n, cursor := 0, ""
	for {
		users, next, err := x.ListUsers(ctx, cursor, 2)
		if err != nil {
			panic(err)
		}
		n += len(users)
		if next == "" {
			break
		}
		cursor = next
	}
	fmt.Println("accounts:", n)
	// Output:
	// alice is an administrator: true
	// disabling her: true
	// accounts: 3
}

// Create an account for a new colleague without a password (it signs in
// once a mailed reset link, or SetPassword, gives it one), then delete it;
// the last administrator is never deleted unless the deletion is forced.
func ExampleAdmin_DeleteUser() {
	ctx := context.Background()
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes!"),
	})
	if err != nil {
		panic(err)
	}
	x := admin.New(a)
	root, err := x.CreateUser(ctx, auth.NewUser{Username: "root", Password: "correct horse battery staple", Roles: []string{admin.Role}, Actor: "setup script"})
	if err != nil {
		panic(err)
	}
	dave, err := x.CreateUser(ctx, auth.NewUser{Username: "dave", Email: "dave@example.com", Actor: root.ID})
	if err != nil {
		panic(err)
	}
	_, err = a.Login(ctx, auth.Credentials{Username: "dave", Password: ""})
	fmt.Println("dave signs in without a password:", err == nil)

	fmt.Println("deleting dave:", x.DeleteUser(ctx, dave.ID, admin.Deletion{Actor: root.ID}))
	err = x.DeleteUser(ctx, root.ID, admin.Deletion{Actor: "setup script"})
	fmt.Println("deleting the last administrator:", errors.Is(err, auth.ErrLastAdmin))
	// Output:
	// dave signs in without a password: false
	// deleting dave: <nil>
	// deleting the last administrator: true
}
