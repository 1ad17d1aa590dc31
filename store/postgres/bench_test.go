package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/postgres"
)

// cacheModes are the store's two ways of answering UserByID and
// UserBySession: from its cache (the default), and from the database.
var cacheModes = []struct {
	name string
	c    postgres.Config
}{
	{"cached", postgres.Config{}},
	{"uncached", postgres.Config{Cache: postgres.CacheConfig{Off: true}}},
}

func BenchmarkUserByID(b *testing.B) {
	for _, m := range cacheModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			s := newStoreWith(b, m.c)
			now := time.Now()
			u := &auth.User{ID: "u1", Username: "alice", Email: "alice@example.com", PasswordHash: "h", Roles: []string{"user"}, CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.UserByID(ctx, "u1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUserBySession is the lookup behind every access token issued in
// a session: the user and the session's state, in one query, or from the
// cache.
func BenchmarkUserBySession(b *testing.B) {
	for _, m := range cacheModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			s := newStoreWith(b, m.c)
			now := time.Now()
			u := &auth.User{ID: "u1", Username: "alice", Email: "alice@example.com", PasswordHash: "h", Roles: []string{"user"}, CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			sess := &auth.Session{ID: "s1", UserID: "u1", TokenHash: make([]byte, 32), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateSession(ctx, sess); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.UserBySession(ctx, "u1", "s1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInvalidateTokens is a write that ends tokens: the statement,
// and the barrier its Store then waits on, with no other instance, with
// one more caching instance on the schema, and with no cache anywhere.
func BenchmarkInvalidateTokens(b *testing.B) {
	for _, m := range []struct {
		name   string
		c      postgres.Config
		others int
	}{
		{"cached alone", postgres.Config{}, 0},
		{"cached with another instance", postgres.Config{}, 1},
		{"uncached", postgres.Config{Cache: postgres.CacheConfig{Off: true}}, 0},
	} {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			m.c.Schema = freshSchema(b)
			s, err := postgres.Open(ctx, testURL(b), m.c)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			for range m.others {
				o, err := postgres.Open(ctx, testURL(b), postgres.Config{Schema: m.c.Schema})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { o.Close() })
			}
			now := time.Now()
			u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.InvalidateTokens(ctx, "u1", now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRotateSession rotates one session over and over, each time
// presenting the current token (the Authenticator's Refresh, store part).
func BenchmarkRotateSession(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	now := time.Now()
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	tokenHash := func(i uint64) []byte {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, i))
		return h[:]
	}
	sess := &auth.Session{ID: "s1", UserID: "u1", TokenHash: tokenHash(0), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	var i uint64
	cur := tokenHash(0)
	b.ReportAllocs()
	for b.Loop() {
		i++
		next := tokenHash(i)
		_, err := s.RotateSession(ctx, auth.Rotation{
			SessionID: "s1", Presented: cur, Next: next,
			ExpiresAt: now.Add(time.Hour), Now: now,
		})
		if err != nil {
			b.Fatal(err)
		}
		cur = next
	}
}
