package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/memory"
)

// newExampleAuthenticator is what a service does once at start-up. The
// secret would come from the environment (os.Getenv("AUTH_SECRET_KEY")).
func newExampleAuthenticator() *auth.Authenticator {
	a, err := auth.New(auth.Config{
		Store: memory.New(),
		// sqlite.Open or postgres.Open in production
		SecretKey: []byte("an example secret of at least 32 bytes, from the environment"),
		Tokens:    auth.TokenConfig{Issuer: "https://auth.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	return a
}

func ExampleNew() {
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte(os.Getenv("AUTH_SECRET_KEY")), // empty here
	})
	fmt.Println(a == nil, err)

	a, err = auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: []byte("an example secret of at least 32 bytes, from the environment"),
	})
	fmt.Println(err, a.AccessTTL())
	// Output:
	// true auth: Config.SecretKey must be at least 32 bytes of random data, got 0 (make one with: openssl rand -hex 32)
	// <nil> 15m0s
}

func ExampleAuthenticator_Login() {
	a := newExampleAuthenticator()
	ctx := context.Background()
	if _, err := a.Register(ctx, auth.NewUser{Username: "Alice", Password: "correct horse battery staple"}); err != nil {
		log.Fatal(err)
	}

	// Usernames are normalised: "ALICE" is Alice's account.
	pair, err := a.Login(ctx, auth.Credentials{Username: "ALICE", Password: "correct horse battery staple", Client: auth.Client{Addr: "192.0.2.7"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pair.AccessToken != "", pair.RefreshToken != "")

	// A wrong password and an unknown user are the same error.
	_, err1 := a.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong"})
	_, err2 := a.Login(ctx, auth.Credentials{Username: "bob", Password: "wrong"})
	fmt.Println(errors.Is(err1, auth.ErrInvalidCredentials), err1 == err2)

	// Refresh spends the refresh token; presenting it again is theft.
	if _, err := a.Refresh(ctx, auth.Client{}, pair.RefreshToken); err != nil {
		log.Fatal(err)
	}
	_, err = a.Refresh(ctx, auth.Client{}, pair.RefreshToken)
	fmt.Println(errors.Is(err, auth.ErrRefreshReuse))
	// Output:
	// true true
	// true true
	// true
}

func ExampleAuthenticator_Middleware() {
	a := newExampleAuthenticator()
	ctx := context.Background()
	_, _ = a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery staple"})
	pair, _ := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery staple"})

	mux := http.NewServeMux()
	mux.Handle("GET /users/me", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", u.Username)
	})))

	get := func(authorization string) {
		req := httptest.NewRequest("GET", "/users/me", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			body, _ := io.ReadAll(rec.Body)
			fmt.Println(rec.Code, string(body))
			return
		}
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	get("Bearer " + pair.AccessToken)
	get("")
	get("Bearer not-a-token")
	// Output:
	// 200 hello alice
	// 401 Bearer realm="https://auth.example.com"
	// 401 Bearer realm="https://auth.example.com", error="invalid_token", error_description="the access token is invalid"
}

func ExampleUserFromContext() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		u, ok := auth.UserFromContext(r.Context())
		if !ok {
			http.Error(w, "anonymous", http.StatusUnauthorized) // only behind OptionalMiddleware
			return
		}
		claims, _ := auth.ClaimsFromContext(r.Context())
		fmt.Println(u.Username, u.ID == claims.Subject, u.HasRole("admin"))
	}

	// In a test of the handler: a user in a memory.Store, a token issued to
	// it, and the real middleware in front (nothing else can put a user in
	// a context).
	a := newExampleAuthenticator()
	ctx := context.Background()
	u, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery staple", Roles: []string{"admin"}})
	if err != nil {
		log.Fatal(err)
	}
	token, err := a.IssueAccessToken(ctx, u)
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	a.Middleware(http.HandlerFunc(handler)).ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// alice true true
}
