package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkAccessPath measures, in one run and on the same HS256 token:
// golang-jwt's ParseWithClaims alone (parser built once, exp and iat
// required, iss and aud checked), our Verifier, our whole middleware (verify,
// user lookup in the memory store, context) in front of a trivial handler,
// and that trivial handler alone. Compare them as ratios.
func BenchmarkAccessPath(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Hasher = Bcrypt{Cost: 10} })
	f.clock.t = time.Now() // golang-jwt reads the real clock
	f.register(b, "alice", "correct horse battery")
	p := f.login(b, "alice", "correct horse battery")
	ctx := context.Background()

	b.Run("golang-jwt/ParseWithClaims", func(b *testing.B) {
		parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(), jwt.WithIssuer("goauthkit"), jwt.WithAudience("goauthkit"))
		keyfunc := func(*jwt.Token) (any, error) { return testSecret, nil }
		b.ReportAllocs()
		for b.Loop() {
			var c jwt.RegisteredClaims
			if _, err := parser.ParseWithClaims(p.AccessToken, &c, keyfunc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("auth/Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.a.verifier.Verify(ctx, p.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
	trivial := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	serve := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest("GET", "/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+p.AccessToken)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
	}
	b.Run("auth/Middleware", func(b *testing.B) { serve(b, f.a.Middleware(trivial)) })
	b.Run("bare-handler", func(b *testing.B) { serve(b, trivial) })
}

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmarks measure the handlers and not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkLogin measures a whole successful login (limiter, lookup,
// verification, session, token pair) with each hasher at its defaults.
func BenchmarkLogin(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    Hasher
	}{{"argon2id-m19MiB-t2-p1", Argon2id{}}, {"bcrypt-cost12", Bcrypt{}}} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b, func(c *Config) {
				c.Hasher = tc.h
				c.Limiter = NewMemoryLimiter(LimiterConfig{UsernameBurst: 1 << 30, AddressBurst: 1 << 30})
			})
			f.register(b, "alice", "correct horse battery")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.a.Login(context.Background(), Credentials{Username: "alice", Password: "correct horse battery"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
