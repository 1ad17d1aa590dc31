package passkey_test

import (
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/passkey"
	"github.com/goauthkit/auth/passkey/passkeytest"
	"github.com/goauthkit/auth/store/memory"
)

// BenchmarkLogin compares the server's work for a login: a passkey's
// (BeginLogin, then FinishLogin: the ceremony stored and taken, the
// assertion parsed and verified, the counter's compare-and-set, the
// session opened) and a password's with the default hasher (argon2id at
// its default parameters), both on the in-memory store. The
// authenticator's signature, the browser's work, is outside the timer.
func BenchmarkLogin(b *testing.B) {
	newAuth := func(b *testing.B, hasher auth.Hasher) *auth.Authenticator {
		a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: testSecret,
			Passwords: auth.PasswordConfig{Hasher: hasher}, Limits: auth.Limits{LoginUserAddress: auth.Rate{Burst: 1 << 30, Interval: 1}}})
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	b.Run("passkey", func(b *testing.B) {
		a := newAuth(b, nil)
		p, err := passkey.New(a, passkey.Config{RPID: "localhost", Origins: []string{origin}})
		if err != nil {
			b.Fatal(err)
		}
		key := passkeytest.New(origin)
		s, err := p.BeginSignup(ctx, passkey.Signup{Username: "alice"})
		if err != nil {
			b.Fatal(err)
		}
		cred, _ := key.Create(s.Options)
		if _, _, err := p.FinishSignup(ctx, passkey.SignupFinish{Ceremony: s.Ceremony, Credential: cred}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			begun, err := p.BeginLogin(ctx, auth.Client{})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			assertion, err := key.Get(begun.Options)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := p.FinishLogin(ctx, passkey.Login{Ceremony: begun.Ceremony, Credential: assertion, Client: auth.Client{Addr: "192.0.2.1"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("password-argon2id", func(b *testing.B) {
		a := newAuth(b, nil)
		if _, err := a.Register(ctx, auth.NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery", Client: auth.Client{Addr: "192.0.2.1"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
