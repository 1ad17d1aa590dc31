package authhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/store/memory"
)

// Mount the ready-made endpoints in a Router (JSON 404 and 405, no
// redirects) and serve them; here through httptest.
func ExampleNew() {
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
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

// A feature package's endpoints, made as this package makes its own: the
// method checked, the body read strictly, the caller authenticated, and
// every error answered through the one table.
func ExampleHandlers_Authenticated() {
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes!"),
	})
	if err != nil {
		panic(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		panic(err)
	}
	errNickType := authhttp.BadRequest("nickname must be a string")
	errNickMissing := authhttp.BadRequest("nickname is required")
	nickname := h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		nick, ok, err := body.String("nickname", errNickType)
		if err != nil {
			return err
		}
		if !ok {
			return errNickMissing
		}
		fmt.Printf("%s asks to be called %s\n", c.User.Username, nick)
		authhttp.WriteAccepted(w)
		return nil
	})

	ctx := context.Background()
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery staple"}); err != nil {
		panic(err)
	}
	pair, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery staple"})
	if err != nil {
		panic(err)
	}
	for _, body := range []string{`{"nickname":"Al"}`, `{"nickname":7}`, `{}`} {
		r := httptest.NewRequest(http.MethodPost, "/nickname", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		w := httptest.NewRecorder()
		nickname.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	w := httptest.NewRecorder()
	nickname.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/nickname", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// alice asks to be called Al
	// 202 {}
	// 400 {"error":"invalid_request","error_description":"nickname must be a string"}
	// 400 {"error":"invalid_request","error_description":"nickname is required"}
	// 401 Bearer realm="goauthkit"
}
