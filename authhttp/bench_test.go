package authhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/store/memory"
)

// discardWriter is an http.ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkHandlersMe serves the library's GET /users/me (Handlers.Me: the
// request deadline, the authentication, the JSON answer) with the token and the
// user in memory, next to a handler that only answers 204: what the load
// test's /users/me costs over its bare handler, without the network. Each
// request gets a fresh header map, as net/http gives it.
func BenchmarkHandlersMe(b *testing.B) {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	p, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(a, Config{})
	if err != nil {
		b.Fatal(err)
	}
	serve := func(b *testing.B, h http.Handler, want int) {
		req := httptest.NewRequest("GET", "/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+p.AccessToken)
		w := &discardWriter{}
		b.ReportAllocs()
		for b.Loop() {
			w.code, w.h = 0, http.Header{}
			h.ServeHTTP(w, req)
			if w.code != want {
				b.Fatalf("status %d", w.code)
			}
		}
	}
	b.Run("Me", func(b *testing.B) { serve(b, h.Me(), http.StatusOK) })
	b.Run("bare", func(b *testing.B) {
		serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }), http.StatusNoContent)
	})
}
