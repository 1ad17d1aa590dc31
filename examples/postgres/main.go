// Command postgres is a whole service on the library and PostgreSQL: the
// ready-made endpoints, a handler of its own behind the middleware, the
// failed-login limiter shared by every instance through the database, and a
// graceful shutdown on SIGINT or SIGTERM. DATABASE_URL names the database,
// AUTH_SECRET_KEY is the HS256 key (at least 32 bytes), ADDR the address.
package main

import (
	"cmp"
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/store/postgres"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Config{}) // creates or migrates the tables
	if err != nil {
		return err
	}
	defer store.Close() // last, once the server has stopped
	// The failed-login budgets in the database, shared by every instance.
	limiter, err := store.Limiter(postgres.LimiterConfig{})
	if err != nil {
		return err
	}
	a, err := auth.New(auth.Config{Store: store, Limiter: limiter, SecretKey: []byte(os.Getenv("AUTH_SECRET_KEY"))})
	if err != nil {
		return err
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	for _, route := range h.Routes() { // POST /token, POST /signup, GET /users/me, …
		mux.Handle(route.Method+" "+route.Path, route.Handler)
	}
	mux.Handle("GET /hello", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.UserFromContext(r.Context())
		fmt.Fprintf(w, "hello, %s\n", user.Username)
	})))

	ln, err := net.Listen("tcp", cmp.Or(os.Getenv("ADDR"), "127.0.0.1:8080"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Printf("listening on http://%s", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done(): // SIGINT or SIGTERM
		stop() // a second one stops the process at once
	}
	log.Print("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return srv.Shutdown(ctx) // no new connections; the requests in flight finish
}
