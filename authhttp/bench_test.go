package authhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
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
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: htSecret, Passwords: auth.PasswordConfig{Hasher: htPlainHasher{}}})
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

// BenchmarkForgot serves POST /password/forgot for an address an account
// has and for one no account has, interleaved in one loop so that both see
// the same machine, and reports the time of each and their ratio: the
// answer must cost the same (the token and the mail are made off the
// request path, by the mail worker). Over the memory store (this module
// has no other: SQLite's is a module of its own).
func BenchmarkForgot(b *testing.B) {
	for _, st := range []struct {
		name string
		open func(b *testing.B) auth.Store
	}{
		{"memory", func(*testing.B) auth.Store { return memory.New() }},
	} {
		b.Run(st.name, func(b *testing.B) {
			var sent atomic.Int64
			a, err := auth.New(auth.Config{
				Store:     st.open(b),
				SecretKey: htSecret,
				Limits:    auth.Limits{RecoveryAddress: auth.Rate{Burst: 1 << 40, Interval: time.Nanosecond}},
				Passwords: auth.PasswordConfig{Hasher: htPlainHasher{}},
				Mail:      auth.MailConfig{Mailer: mailerFunc(func(context.Context, *auth.Message) error { sent.Add(1); return nil }), PublicURL: "https://auth.example.com"},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Shutdown(context.Background()) })
			if _, err := a.Register(context.Background(), auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
				b.Fatal(err)
			}
			h, err := New(a, Config{})
			if err != nil {
				b.Fatal(err)
			}
			forgot := h.ForgotPassword()
			bodies := [2]string{`{"email":"alice@example.com"}`, `{"email":"nobody@example.com"}`}
			var took [2]time.Duration
			var n [2]int
			w := &discardWriter{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := i & 1
				i++
				req := httptest.NewRequest("POST", "/password/forgot", strings.NewReader(bodies[k]))
				req.Header.Set("Content-Type", "application/json")
				w.code, w.h = 0, http.Header{}
				start := time.Now()
				forgot.ServeHTTP(w, req)
				took[k] += time.Since(start)
				n[k]++
				if w.code != http.StatusAccepted {
					b.Fatalf("status %d", w.code)
				}
			}
			if n[0] > 0 && n[1] > 0 {
				known, unknown := float64(took[0])/float64(n[0]), float64(took[1])/float64(n[1])
				b.ReportMetric(known, "ns/known")
				b.ReportMetric(unknown, "ns/unknown")
				b.ReportMetric(unknown/known, "unknown/known")
			}
		})
	}
}

// mailerFunc is an auth.Mailer made of a function.
type mailerFunc func(context.Context, *auth.Message) error

func (f mailerFunc) Send(ctx context.Context, m *auth.Message) error { return f(ctx, m) }
