package memory_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/memory"
)

// hashSecret is the SHA-256 of a refresh token's secret, as the
// Authenticator gives it to the store.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// BenchmarkMemoryStore measures the in-memory store's user lookup by id and
// refresh rotation, for comparison with store/sqlite and store/postgres
// (which have the same two benchmarks).
func BenchmarkMemoryStore(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now().UTC()
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "x", Roles: []string{"user"}, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	b.Run("UserByID", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.UserByID(ctx, "u1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RotateSession", func(b *testing.B) {
		cur, sid := hashSecret("t0"), rand.Text()
		if err := s.CreateSession(ctx, &auth.Session{ID: sid, UserID: "u1", TokenHash: cur, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			next := hashSecret(strconv.Itoa(i))
			if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: sid, Presented: cur, Next: next, Now: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			cur = next
		}
	})
}
