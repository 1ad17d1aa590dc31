package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/memory"
	"github.com/goauthkit/auth/store/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return memory.New() })
}

// TestRequiredStoreConformance runs the suite on a store with the required
// methods alone: its required part only.
func TestRequiredStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return struct{ auth.Store }{memory.New()} })
}

func TestMemoryStoreDropsDeadSessions(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateUser(ctx, &auth.User{ID: "u", Username: "u"}); err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		now := base.Add(time.Duration(i) * time.Second)
		id := fmt.Sprint("s", i)
		if err := s.CreateSession(ctx, &auth.Session{ID: id, UserID: "u", TokenHash: []byte{1}, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			_ = s.RevokeSession(ctx, id)
		}
	}
	if n := s.SessionCount(); n > 2048 {
		t.Fatalf("%d sessions kept, want dead ones dropped", n)
	}
	// The live, newest session still works.
	last := base.Add(4999 * time.Second)
	if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: "s4999", Presented: []byte{1}, Next: []byte{2}, Now: last, ExpiresAt: last.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

// TestMemoryStoreShared runs storetest's cases of two stores over one
// backend on one Store given twice: the memory store has no other way to
// share its data, and the cases still race every compare-and-set through
// both.
func TestMemoryStoreShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (auth.Store, auth.Store) {
		s := memory.New()
		return s, s
	})
}
