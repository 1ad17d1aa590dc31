package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/storetest"
)

// TestImmediateTransactions checks that the writer's transactions take the
// write lock when they begin: another connection to the file (with no busy
// timeout) cannot write while one is open, even before it has written.
func TestImmediateTransactions(t *testing.T) {
	s := newStore(t)
	other, err := sql.Open("sqlite", "file:"+s.path(t)+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Exec(`UPDATE users SET email = 'x'`)
	if c := sqliteCode(err); c&0xff != 5 { // SQLITE_BUSY and its extended codes
		t.Errorf("write beside an open writer transaction = %v, want SQLITE_BUSY", err)
	}
	tx.Rollback()
	if _, err := other.Exec(`UPDATE users SET email = 'x'`); err != nil {
		t.Errorf("write after the transaction ended: %v", err)
	}
}

// TestTwoStoresOneFile opens the file twice, as two processes would, and
// writes through both at once: the busy timeout and BEGIN IMMEDIATE must
// keep every call from failing with "database is locked".
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, path, Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	const n = 40
	var wg sync.WaitGroup
	errc := make(chan error, 2*n)
	for i := range 2 * n {
		wg.Go(func() {
			s := stores[i%2]
			u := user(fmt.Sprint("u", i))
			if err := s.CreateUser(ctx, u); err != nil {
				errc <- err
				return
			}
			sess := &auth.Session{ID: u.ID, UserID: u.ID, TokenHash: sha("t0"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := s.CreateSession(ctx, sess); err != nil {
				errc <- err
				return
			}
			for j := range 3 {
				// Rotate through the other store: it sees the commit.
				if _, err := stores[(i+j+1)%2].RotateSession(ctx, auth.Rotation{SessionID: sess.ID,
					Presented: sha(fmt.Sprint("t", j)), Next: sha(fmt.Sprint("t", j+1)), Now: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
					errc <- err
					return
				}
			}
			if err := s.InvalidateTokens(ctx, u.ID, t0); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if err := stores[0].CreateUser(ctx, user("u0")); !errors.Is(err, auth.ErrUserExists) {
		t.Errorf("duplicate across stores = %v, want ErrUserExists", err)
	}
}

// TestTwoStoresOneFileShared runs storetest's cases of two Stores on one
// file, as two processes would have: the compare-and-sets of the second
// factors hold across them.
func TestTwoStoresOneFileShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (auth.Store, auth.Store) {
		path := filepath.Join(t.TempDir(), "auth.db")
		var stores [2]*Store
		for i := range stores {
			s, err := Open(context.Background(), path, Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		return stores[0], stores[1]
	})
}
