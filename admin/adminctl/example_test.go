package adminctl_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin/adminctl"
	"github.com/goauthkit/auth/store/memory"
)

// A service's own cmd/authctl/main.go: it builds its Authenticator on its
// own store, configured as the service's, and hands it over; then
// "go run ./cmd/authctl user create root --role admin" from the service's
// module, with the password piped in.
func ExampleMain() {
	a, err := auth.New(auth.Config{
		Store:     memory.New(), // the service's own store: its users table, its schema
		SecretKey: []byte(os.Getenv("AUTH_SECRET_KEY")),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	adminctl.Main(a)
}

// Run is Main with the command line and the streams given: here the
// first administrator, then the list of users.
func ExampleRun() {
	ctx := context.Background()
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes!"),
	})
	if err != nil {
		panic(err)
	}
	var out strings.Builder
	code := adminctl.Run(ctx, adminctl.Env{
		Args:   []string{"user", "create", "root", "-role", "admin"},
		Stdin:  strings.NewReader("correct horse battery staple\n"),
		Stdout: &out,
		Getenv: func(string) string { return "ops" },
	}, a)
	fmt.Println(code, strings.HasPrefix(out.String(), "created user root (id "), strings.HasSuffix(out.String(), ") with roles admin\n"))

	code = adminctl.Run(ctx, adminctl.Env{Args: []string{"user", "roles", "root", ""}, Stdout: &out}, a)
	fmt.Println("taking the last admin's role:", code)
	// Output:
	// 0 true true
	// taking the last admin's role: 1
}
