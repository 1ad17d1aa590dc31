package breached_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/breached"
	"github.com/goauthkit/auth/store/memory"
)

// Refuse breached passwords at signup (and on every change and reset).
// A real service leaves BaseURL to its default, Have I Been Pwned's
// range API; here a fake one answers, which holds one suffix under the
// prefix of password123456's SHA-1 (98A16C09B...), among the padding.
func ExampleNew() {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("asked:", r.Method, r.URL.Path, "Add-Padding:", r.Header.Get("Add-Padding"))
		fmt.Fprint(w, "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\nC09B0759E63EF7DF53592724E8EEDDB953A:250\r\n")
	}))
	defer fake.Close()

	checker, err := breached.New(breached.Config{BaseURL: fake.URL})
	if err != nil {
		panic(err)
	}
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes!"),
		Passwords: auth.PasswordConfig{Breached: checker.Breached},
	})
	if err != nil {
		panic(err)
	}
	_, err = a.Register(context.Background(), auth.NewUser{Username: "alice", Password: "password123456"})
	fmt.Println(errors.Is(err, auth.ErrPasswordBreached), err)
	// Output:
	// asked: GET /range/98A16 Add-Padding: true
	// true auth: invalid password: the password has appeared in a data breach: choose another
}
