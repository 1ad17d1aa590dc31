// Package loginbench is the benchmark of a login but its hash, which the
// packages of this repository run on their store or limiter
// (BenchmarkLoginOverhead): the part of a login the library adds to the
// password hash.
package loginbench

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

// cheapHasher stands for a real hasher in Run, so that
// what it measures is everything a login does but the hash: the limiter,
// the lookups, the session and the tokens.
type cheapHasher struct{}

func (cheapHasher) Hash(p string) (string, error) { return "$cheap$" + p, nil }
func (cheapHasher) Verify(p, encoded string) error {
	if subtle.ConstantTimeCompare([]byte("$cheap$"+p), []byte(encoded)) != 1 {
		return auth.ErrPasswordMismatch
	}
	return nil
}
func (cheapHasher) NeedsRehash(string) bool { return false }

// users is how many accounts Run spreads its logins over, so that each
// has few sessions, as most accounts do.
const users = 1000

// Run runs Login end to end on store and limiter, with a hasher that costs
// nothing, over many accounts: a right password from a client each
// account signed in from before, from a new client each time, and a wrong
// one; and the logins of one account that has 100 live sessions already
// (the most a user keeps), each of which ends the least recently used.
func Run(b *testing.B, store auth.Store, limiter auth.Limiter) {
	ctx := context.Background()
	a, err := auth.New(auth.Config{
		Store:     store,
		Limiter:   limiter,
		Limits:    benchLimits(),
		SecretKey: []byte("benchmark-secret-key-0123456789abcdef"),
		Passwords: auth.PasswordConfig{Hasher: cheapHasher{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	login := func(name, password, addr string) error {
		_, err := a.Login(ctx, auth.Credentials{Username: name, Password: password, Client: auth.Client{Addr: addr}})
		return err
	}
	name := func(i int) string { return fmt.Sprint("user", i%users) }
	for i := range users {
		if _, err := a.Register(ctx, auth.NewUser{Username: name(i), Password: "correct horse battery"}); err != nil {
			b.Fatal(err)
		}
		if err := login(name(i), "correct horse battery", "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := a.Register(ctx, auth.NewUser{Username: "busy", Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	for range 100 {
		if err := login("busy", "correct horse battery", "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
	client := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }
	for _, tc := range []struct {
		name string
		try  func(i int) error
		want error
	}{
		{"right password, a familiar client", func(i int) error { return login(name(i), "correct horse battery", "192.0.2.1") }, nil},
		{"right password, a new client each time", func(i int) error { return login(name(i), "correct horse battery", client(i)) }, nil},
		{"wrong password", func(i int) error { return login(name(i), "wrong password", client(i)) }, auth.ErrInvalidCredentials},
		{"right password, 100 live sessions", func(i int) error { return login("busy", "correct horse battery", "192.0.2.1") }, nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if err := tc.try(i); !errors.Is(err, tc.want) && err != tc.want {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchLimits lets the benchmark's failures go on: budgets it never spends.
func benchLimits() auth.Limits {
	many := auth.Rate{Burst: 1 << 30, Interval: time.Nanosecond}
	return auth.Limits{LoginUserAddress: many, LoginUser: many, LoginAddress: many}
}
