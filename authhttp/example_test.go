package authhttp_test

import (
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
