package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/goauthkit/auth"
)

// newExampleAuthenticator is what a service does once at start-up. The
// secret would come from the environment (os.Getenv("AUTH_SECRET_KEY")).
func newExampleAuthenticator() *auth.Authenticator {
	a, err := auth.New(auth.Config{
		Store: auth.NewMemoryStore(),
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
		Store:     auth.NewMemoryStore(),
		SecretKey: []byte(os.Getenv("AUTH_SECRET_KEY")), // empty here
	})
	fmt.Println(a == nil, err)

	a, err = auth.New(auth.Config{
		Store:     auth.NewMemoryStore(),
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

	// In a test of the handler: a user in a MemoryStore, a token issued to
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

// printMailer is a Mailer of the kind a service with its own mail provider
// writes: one method, handed a Message with a text and an HTML part.
type printMailer chan *auth.Message

func (m printMailer) Send(ctx context.Context, msg *auth.Message) error {
	m <- msg // a real one would call its provider here, and honour ctx
	return nil
}

func ExampleAuthenticator_RequestPasswordReset() {
	mails := make(printMailer, 2)
	a, err := auth.New(auth.Config{
		Store:     auth.NewMemoryStore(),
		SecretKey: []byte("an example secret of at least 32 bytes, from the environment"),
		Mail:      auth.MailConfig{Mailer: mails, PublicURL: "https://auth.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	ctx := context.Background()
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery staple", Email: "alice@example.com"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println((<-mails).Subject) // signing up with an email mails a verification link

	// The same nil for an address no account has: nothing tells them apart.
	fmt.Println(a.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.7"}, "nobody@example.com"))
	fmt.Println(a.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.7"}, " Alice@Example.com"))

	// The mail is made and sent off the request path.
	msg := <-mails
	fmt.Println(msg.To, "/", msg.Subject)
	var link string
	for _, line := range strings.Split(msg.Text, "\n") {
		if strings.HasPrefix(line, "https://") {
			link = line
		}
	}
	token := strings.TrimPrefix(link, "https://auth.example.com/reset-password?token=")
	fmt.Println(len(token))

	// The link's page posts the token and the new password; the token is
	// spent, every session ends, and the email counts as verified.
	fmt.Println(a.ResetPassword(ctx, auth.PasswordReset{Token: token, NewPassword: "short", Client: auth.Client{Addr: "192.0.2.7"}}))
	fmt.Println(a.ResetPassword(ctx, auth.PasswordReset{Token: token, NewPassword: "a new passphrase for alice", Client: auth.Client{Addr: "192.0.2.7"}}))
	fmt.Println(a.ResetPassword(ctx, auth.PasswordReset{Token: token, NewPassword: "another passphrase for alice", Client: auth.Client{Addr: "192.0.2.7"}}))
	// Output:
	// Confirm your email address
	// <nil>
	// <nil>
	// alice@example.com / Reset your password
	// 43
	// auth: invalid password: the password must be at least 8 characters long
	// <nil>
	// auth: invalid or expired link
}

// ExampleLogEvents writes the audit log as one slog line per event; the
// client address of a call that takes none comes from its context.
func ExampleLogEvents() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "user_id" || a.Key == "session" {
				return slog.Attr{} // they change from run to run
			}
			return a
		},
	}))
	a, err := auth.New(auth.Config{
		Store:     auth.NewMemoryStore(),
		SecretKey: []byte("an example secret of at least 32 bytes, from the environment"),
		OnEvent:   auth.LogEvents(logger),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// Every call carries the client it is made for (authhttp's
	// Handlers.Client makes it from a request): its address is the events'.
	client := auth.Client{Addr: "192.0.2.7", UserAgent: "example/1.0"}
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery staple", Client: client}); err != nil {
		log.Fatal(err)
	}
	pair, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery staple", Client: client})
	if err != nil {
		log.Fatal(err)
	}
	if err := a.Logout(ctx, client, pair.RefreshToken); err != nil {
		log.Fatal(err)
	}
	// Output:
	// level=INFO msg=audit event=registered username=alice client_addr=192.0.2.7
	// level=INFO msg=audit event=login_succeeded username=alice client_addr=192.0.2.7 methods=pwd
	// level=INFO msg=audit event=logout client_addr=192.0.2.7
}
