package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
)

// RunShared runs the cases that need two stores over one backend, as two
// instances of a service (or two processes on one SQLite file) have:
// newPair returns two stores, on two pools or two connections, over one
// fresh, empty database, schema or file. Each compare-and-set of the
// optional capabilities must hold across them: of calls at once through
// both, exactly one wins. Today that is mfastore.Store's, when the stores
// implement it.
func RunShared(t *testing.T, newPair func(t *testing.T) (auth.Store, auth.Store)) {
	t.Helper()
	t.Run("mfastore.Store/CompareAndSetsAcrossStores", func(t *testing.T) {
		a, b := newPair(t)
		ma, okA := a.(mfastore.Store)
		mb, okB := b.(mfastore.Store)
		if !okA || !okB {
			t.Log("storetest: the stores do not implement mfastore.Store: its shared cases are not run")
			return
		}
		sharedMFACompareAndSets(t, a, [2]mfastore.Store{ma, mb})
	})
}

// sharedMFACompareAndSets races, through both stores at once, a
// confirmation, the advance of a step, the use of a recovery code and the
// spending of a challenge: exactly one of each wins, and the others lose
// with the error of the contract.
func sharedMFACompareAndSets(t *testing.T, users auth.Store, stores [2]mfastore.Store) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := users.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].PutPendingTOTP(ctx, &mfastore.TOTP{UserID: u.ID, ID: "e1", Sealed: []byte("sealed"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	code, id := sha256.Sum256([]byte("code")), sha256.Sum256([]byte("challenge"))
	c := &mfastore.Challenge{ID: id[:], UserID: u.ID, Methods: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := stores[0].CreateChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for _, op := range []struct {
		name  string
		call  func(s mfastore.Store) error
		loser error
	}{
		{"ConfirmTOTP", func(s mfastore.Store) error { return s.ConfirmTOTP(ctx, u.ID, "e1", 1, [][]byte{code[:]}) }, auth.ErrNotFound},
		{"AdvanceTOTP", func(s mfastore.Store) error { return s.AdvanceTOTP(ctx, u.ID, "e1", 2) }, auth.ErrConflict},
		{"UseRecoveryCode", func(s mfastore.Store) error { return s.UseRecoveryCode(ctx, u.ID, code[:]) }, auth.ErrNotFound},
		{"SpendChallenge", func(s mfastore.Store) error { return s.SpendChallenge(ctx, c.ID) }, auth.ErrNotFound},
	} {
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = op.call(stores[i%2])
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, op.loser):
				t.Errorf("%s: %v", op.name, err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d of %d calls through two stores won, want 1", op.name, won, n)
		}
	}
}
