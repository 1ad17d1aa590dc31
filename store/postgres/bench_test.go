package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

func BenchmarkUserByID(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
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
}

// BenchmarkUserBySession is the lookup behind every access token issued in
// a session: the user and the session's state, in one query.
func BenchmarkUserBySession(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
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
