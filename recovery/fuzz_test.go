package recovery_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/memory"
	"github.com/goauthkit/auth/store/storable"
)

// requireSeeds fails the fuzz test if its committed seed corpus is missing,
// so the corpus can never silently disappear.
func requireSeeds(f *testing.F, min int) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < min {
		f.Fatalf("seed corpus %s: %d files (%v), want at least %d", dir, len(entries), err, min)
	}
}

// FuzzRecoveryInput feeds arbitrary addresses and link tokens to the
// recovery flows, as the endpoints do. They must never panic; an address
// is accepted only if its normalised form is a bare address a store can
// keep (and normalising it again changes nothing); no token is accepted,
// since none was ever mailed.
func FuzzRecoveryInput(f *testing.F) {
	requireSeeds(f, 10)
	a, err := auth.New(auth.Config{
		Store:     memory.New(),
		SecretKey: testSecret,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
	})
	if err != nil {
		f.Fatal(err)
	}
	r, err := recovery.New(a, recovery.Config{
		Mailer:    discardMailer{},
		PublicURL: "https://auth.example.com",
		Limits:    recovery.Limits{Address: auth.Rate{Burst: 1 << 30, Interval: time.Minute}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, email, token string) {
		err := r.RequestPasswordReset(ctx, auth.Client{Addr: "192.0.2.1"}, email)
		switch {
		case err == nil:
			e := auth.NormalizeEmail(email)
			if auth.ValidateEmail(e) != nil || auth.NormalizeEmail(e) != e || len(e) > 254 || !storable.Strings(e) {
				t.Fatalf("accepted %q as %q", email, e)
			}
		case !errors.Is(err, auth.ErrInvalidEmail):
			t.Fatalf("RequestPasswordReset(%q) = %v", email, err)
		}
		if _, err := r.VerifyEmail(ctx, auth.Client{Addr: "192.0.2.1"}, token); !errors.Is(err, recovery.ErrInvalidLink) {
			t.Fatalf("VerifyEmail(%q) = %v, want ErrInvalidLink", token, err)
		}
		if err := r.ResetPassword(ctx, recovery.PasswordReset{Token: token, NewPassword: "a long new password", Client: auth.Client{Addr: "192.0.2.1"}}); !errors.Is(err, recovery.ErrInvalidLink) {
			t.Fatalf("ResetPassword(%q) = %v, want ErrInvalidLink", token, err)
		}
	})
}

// discardMailer sends nothing.
type discardMailer struct{}

func (discardMailer) Send(context.Context, *recovery.Message) error { return nil }
