package mfa_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/mfa"
)

// BenchmarkLogin: a login with a second factor, from the password to the
// tokens (the challenge, then a code), against a password-only login, on
// the memory store with a hasher that costs nothing, so that what is
// measured is the second factor's own work: the challenge stored, the
// secret opened, three codes computed, the step's compare-and-set, the
// challenge spent.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	b.Run("password only", func(b *testing.B) {
		e := newEnv(b, mfa.Config{})
		e.register(b, "bob")
		b.ReportAllocs()
		for b.Loop() {
			if _, ch, err := e.login("bob"); err != nil || ch != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("password and TOTP", func(b *testing.B) {
		e := newEnv(b, mfa.Config{})
		en := e.enrol(b, "alice")
		b.ReportAllocs()
		for b.Loop() {
			e.clock.Advance(30 * time.Second) // a new code each round
			_, ch, err := e.login("alice")
			if err != nil || ch == nil {
				b.Fatal(err)
			}
			if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(b, en.secret, 0)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("password, challenge only", func(b *testing.B) {
		e := newEnv(b, mfa.Config{})
		e.enrol(b, "alice")
		b.ReportAllocs()
		for b.Loop() {
			_, err := e.a.Login(ctx, auth.Credentials{Username: "alice", Password: password, Client: auth.Client{Addr: "192.0.2.9"}})
			if !errors.Is(err, mfa.ErrRequired) {
				b.Fatal(err)
			}
		}
	})
}
