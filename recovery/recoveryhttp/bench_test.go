package recoveryhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
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

// mailerFunc is a recovery.Mailer made of a function.
type mailerFunc func(context.Context, *recovery.Message) error

func (f mailerFunc) Send(ctx context.Context, m *recovery.Message) error { return f(ctx, m) }

// BenchmarkForgot serves POST /password/forgot for an address an account
// has and for one no account has, interleaved in one loop so that both see
// the same machine, and reports the time of each and their ratio: the
// answer must cost the same (the account is looked up, and the token and
// the mail made, off the request path, by the mail workers). Over the
// memory store (this module has no other: SQLite's is a module of its
// own).
func BenchmarkForgot(b *testing.B) {
	for _, st := range []struct {
		name string
		open func(b *testing.B) auth.Store
	}{
		{"memory", func(*testing.B) auth.Store { return memory.New() }},
	} {
		b.Run(st.name, func(b *testing.B) {
			a, err := auth.New(auth.Config{
				Store:     st.open(b),
				SecretKey: testSecret,
				Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
			})
			if err != nil {
				b.Fatal(err)
			}
			rec, err := recovery.New(a, recovery.Config{
				Mailer:    mailerFunc(func(context.Context, *recovery.Message) error { return nil }),
				PublicURL: "https://auth.example.com",
				Limits:    recovery.Limits{Address: auth.Rate{Burst: 1 << 40, Interval: time.Nanosecond}},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = rec.Shutdown(context.Background()) })
			if _, err := a.Register(context.Background(), auth.NewUser{Username: "alice", Password: "correct horse battery", Email: "alice@example.com"}); err != nil {
				b.Fatal(err)
			}
			h, err := authhttp.New(a, authhttp.Config{})
			if err != nil {
				b.Fatal(err)
			}
			forgot := New(h, rec).ForgotPassword()
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
