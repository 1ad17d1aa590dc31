package authhttp_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
)

// Mount the ready-made endpoints in a Router (JSON 404 and 405, no
// redirects) and serve them; here through httptest.
func ExampleNew() {
	a, err := auth.New(auth.Config{
		Store:     auth.NewMemoryStore(),
		SecretKey: []byte("an example secret of at least 32 bytes!"),
	})
	if err != nil {
		panic(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		panic(err)
	}
	rt := authhttp.NewRouter()
	rt.Mount(h.Routes())
	srv := httptest.NewServer(authhttp.ServerTiming(rt))
	defer srv.Close()

	res, _ := http.Post(srv.URL+"/signup", "application/json",
		strings.NewReader(`{"username": "Alice", "password": "correct horse battery staple"}`))
	res.Body.Close()
	fmt.Println("signup:", res.StatusCode)

	res, _ = http.PostForm(srv.URL+"/token", url.Values{
		"username": {"alice"}, "password": {"correct horse battery staple"},
	})
	res.Body.Close()
	fmt.Println("token:", res.StatusCode, res.Header.Get("Cache-Control"))

	res, _ = http.Get(srv.URL + "/nowhere")
	res.Body.Close()
	fmt.Println("unknown path:", res.StatusCode, res.Header.Get("Content-Type"))
	// Output:
	// signup: 201
	// token: 200 no-store
	// unknown path: 404 application/json
}

// Answer the library's errors in a handler of your own as the endpoints
// answer them: through the one table of answers, never with the error's
// own text.
func ExampleWriteErrorFor() {
	for _, err := range []error{
		fmt.Errorf("orders: %w", auth.ErrNotFound),
		&auth.PasswordError{Rule: auth.ErrPasswordTooShort, Description: "the password must be at least 8 characters long"},
		fmt.Errorf("%w: orders: %w", auth.ErrStoreUnavailable, errors.New("dial tcp 10.0.0.7:5432: connection refused")),
		errors.New("something no table knows"),
	} {
		w := httptest.NewRecorder()
		authhttp.WriteErrorFor(w, err)
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 404 {"error":"not_found","error_description":"not found"}
	// 422 {"error":"invalid_password","error_description":"the password must be at least 8 characters long"}
	// 503 {"error":"temporarily_unavailable","error_description":"the service is temporarily unavailable"}
	// 500 {"error":"server_error","error_description":"internal error"}
}
