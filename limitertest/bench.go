package limitertest

import (
	"context"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

// Bench measures l's work for one password check, as the Authenticator
// asks for it (see auth.Limits), in sub-benchmarks:
//
//   - "v2": the reservation of the address's and the username's budgets,
//     settled: what a check cost before the v3 rules (for comparison);
//   - "familiar success": the address's and the username-from-the-address
//     budgets, Familiar of the client's two ids (address and device), the
//     settlement as a success and Remember of the two ids: the owner;
//   - "unfamiliar failure": the same two budgets, Familiar, then the
//     username's budget over all addresses, both settled as failures: a
//     guesser;
//   - "Remember" and "Familiar": those calls alone, with two ids (one of
//     them remembered, for Familiar).
//
// Every attempt uses the same address key (one client address, as a
// guesser's) and the budgets are never spent.
func Bench(b *testing.B, l auth.Limiter) {
	ctx := context.Background()
	many := func() auth.LimitKey { return newKey(1<<30, time.Nanosecond, true) }
	addr := many()
	addr.Forgive = false
	ids := [][16]byte{newID(), newID()}
	const ttl = 30 * 24 * time.Hour
	if err := l.Remember(ctx, ttl, ids[0]); err != nil {
		b.Fatal(err)
	}
	reserve := func(b *testing.B, keys ...auth.LimitKey) auth.Reservation {
		r, err := l.Reserve(ctx, keys...)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	b.Run("v2", func(b *testing.B) {
		user := many()
		b.ReportAllocs()
		for b.Loop() {
			reserve(b, addr, user).Settle(auth.AttemptSucceeded)
		}
	})
	b.Run("familiar success", func(b *testing.B) {
		pair := many()
		b.ReportAllocs()
		for b.Loop() {
			r := reserve(b, addr, pair)
			if ok, err := l.Familiar(ctx, ids...); err != nil || !ok {
				b.Fatal(ok, err)
			}
			r.Settle(auth.AttemptSucceeded)
			if err := l.Remember(ctx, ttl, ids...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unfamiliar failure", func(b *testing.B) {
		pair, user := many(), many()
		stranger := [][16]byte{newID(), newID()}
		b.ReportAllocs()
		for b.Loop() {
			r := reserve(b, addr, pair)
			if ok, err := l.Familiar(ctx, stranger...); err != nil || ok {
				b.Fatal(ok, err)
			}
			r2 := reserve(b, user)
			r.Settle(auth.AttemptFailed)
			r2.Settle(auth.AttemptFailed)
		}
	})
	b.Run("Remember", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := l.Remember(ctx, ttl, ids...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Familiar", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := l.Familiar(ctx, ids...); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
