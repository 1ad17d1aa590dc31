package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/identitystore"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/passkeystore"
)

// RunShared runs the cases that need two stores over one backend, as two
// instances of a service (or two processes on one SQLite file) have:
// newPair returns two stores, on two pools or two connections, over one
// fresh, empty database, schema or file. Each compare-and-set of the
// optional capabilities must hold across them: of calls at once through
// both, exactly one wins. Today those are mfastore.Store's,
// passkeystore.Store's and identitystore.Store's (with the last way in
// across the last two), when the stores implement them.
func RunShared(t *testing.T, newPair func(t *testing.T) (auth.Store, auth.Store)) {
	t.Helper()
	sharedCase(t, "mfastore.Store", newPair, sharedMFACompareAndSets)
	sharedCase(t, "passkeystore.Store", newPair, sharedPasskeyCompareAndSets)
	sharedCase(t, "identitystore.Store", newPair, sharedIdentityCompareAndSets)
}

// sharedCase runs one capability's shared cases, named for the
// capability S, on a new pair of stores, if both implement it.
func sharedCase[S any](t *testing.T, name string, newPair func(t *testing.T) (auth.Store, auth.Store), run func(*testing.T, auth.Store, [2]S)) {
	t.Helper()
	t.Run(name+"/CompareAndSetsAcrossStores", func(t *testing.T) {
		a, b := newPair(t)
		sa, okA := a.(S)
		sb, okB := b.(S)
		if !okA || !okB {
			t.Logf("storetest: the stores do not implement %s: its shared cases are not run", name)
			return
		}
		run(t, a, [2]S{sa, sb})
	})
}

// throughBoth runs call(store, i) n times at once, through each of stores
// in turn, and returns the errors.
func throughBoth[S any](n int, stores [2]S, call func(s S, i int) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = call(stores[i%2], i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// sharedPasskeyCompareAndSets races, through both stores at once, the
// first handle of a user (all get the same), the use of a credential, the
// taking of a ceremony and the deletion of a user's two credentials with
// keepLast: exactly one of each of the last three wins, and the others
// lose with an error of the contract.
func sharedPasskeyCompareAndSets(t *testing.T, users auth.Store, stores [2]passkeystore.Store) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := users.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	const n = 20
	handles := make([][]byte, n)
	errs := throughBoth(n, stores, func(s passkeystore.Store, i int) error {
		var err error
		handles[i], err = s.UserHandle(ctx, u.ID, []byte(fmt.Sprint("handle ", i)))
		return err
	})
	for i, err := range errs {
		if err != nil || !bytes.Equal(handles[i], handles[0]) {
			t.Fatalf("UserHandle through two stores: %x, %v; and %x", handles[i], err, handles[0])
		}
	}

	newCred := func(name string) *passkeystore.Credential {
		id := sha256.Sum256([]byte(name))
		return &passkeystore.Credential{ID: id[:], UserID: u.ID, Name: name, PublicKey: []byte("key"), CreatedAt: now}
	}
	key := newCred("key")
	if err := stores[1].AddCredential(ctx, key); err != nil {
		t.Fatal(err)
	}
	var cer *passkeystore.Ceremony
	var pair [2]*passkeystore.Credential
	for _, op := range []struct {
		name    string
		prepare func()
		call    func(s passkeystore.Store, i int) error
		losers  []error
	}{
		{"UseCredential", func() {}, func(s passkeystore.Store, i int) error {
			return s.UseCredential(ctx, key.ID, 0, passkeystore.Use{SignCount: uint32(1 + i), At: now})
		}, []error{auth.ErrConflict}},
		{"TakeCeremony", func() {
			id := sha256.Sum256([]byte("ceremony"))
			cer = &passkeystore.Ceremony{ID: id[:], Kind: "login", Data: []byte("data"), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := stores[0].CreateCeremony(ctx, cer); err != nil {
				t.Fatal(err)
			}
		}, func(s passkeystore.Store, _ int) error {
			_, err := s.TakeCeremony(ctx, cer.ID)
			return err
		}, []error{auth.ErrNotFound}},
		{"DeleteCredential(keepLast)", func() {
			for i := range pair {
				pair[i] = newCred(fmt.Sprint("pair ", i))
				if err := stores[i].AddCredential(ctx, pair[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := stores[0].DeleteCredential(ctx, u.ID, key.ID, false); err != nil {
				t.Fatal(err)
			}
		}, func(s passkeystore.Store, i int) error {
			return s.DeleteCredential(ctx, u.ID, pair[i/2%2].ID, true)
		}, []error{auth.ErrConflict, auth.ErrNotFound}},
	} {
		op.prepare()
		errs := throughBoth(n, stores, op.call)
		won := 0
		for _, err := range errs {
			lost := false
			for _, l := range op.losers {
				lost = lost || errors.Is(err, l)
			}
			switch {
			case err == nil:
				won++
			case !lost || errors.Is(err, auth.ErrStoreUnavailable):
				t.Errorf("%s: %v", op.name, err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d of %d calls through two stores won, want 1", op.name, won, n)
		}
	}
	left, err := stores[1].Credentials(ctx, u.ID)
	if err != nil || len(left) != 1 {
		t.Fatalf("after deletions at once of a user's two credentials through two stores, %d left (%v), want 1", len(left), err)
	}
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

// sharedIdentityCompareAndSets races, through both stores at once, the
// linking of one provider account to many users, the taking of an
// attempt, the reclaiming of an account with many identities and, when
// the stores keep passkeys too, the deletion with keepLast of a user's
// only passkey and only identity: exactly one of each wins, and the
// others lose with an error of the contract.
func sharedIdentityCompareAndSets(t *testing.T, users auth.Store, stores [2]identitystore.Store) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	const n = 20
	var us [n]*auth.User
	for i := range us {
		us[i] = &auth.User{ID: fmt.Sprint("u", i), Username: fmt.Sprint("user", i), Email: fmt.Sprint("user", i, "@example.com"),
			PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		if err := users.CreateUser(ctx, us[i]); err != nil {
			t.Fatal(err)
		}
	}
	newID := func(userID, provider, subject string) *identitystore.Identity {
		return &identitystore.Identity{UserID: userID, Provider: provider, Issuer: "https://" + provider + ".example.com",
			Subject: subject, LinkedAt: now}
	}
	u := us[0]
	var a *identitystore.Attempt
	var passkeys [2]passkeystore.Store
	var key *passkeystore.Credential
	pa, okA := stores[0].(passkeystore.Store)
	pb, okB := stores[1].(passkeystore.Store)
	if okA && okB {
		passkeys = [2]passkeystore.Store{pa, pb}
	} else {
		t.Log("storetest: the stores do not implement passkeystore.Store: the last way in across the two is not raced")
	}
	for _, op := range []struct {
		name    string
		prepare func() bool
		call    func(s identitystore.Store, i int) error
		losers  []error
		check   func()
	}{
		{"LinkIdentity of one provider account", func() bool { return true }, func(s identitystore.Store, i int) error {
			return s.LinkIdentity(ctx, newID(us[i].ID, "google", "contested"))
		}, []error{auth.ErrConflict}, func() {
			if id, err := stores[1].Identity(ctx, "https://google.example.com", "contested"); err != nil {
				t.Errorf("the provider account linked at once through two stores: %v", err)
			} else if err := stores[0].UnlinkIdentity(ctx, id.UserID, "google", false); err != nil {
				t.Error(err)
			}
		}},
		{"LinkIdentity of one user at one provider", func() bool { return true }, func(s identitystore.Store, i int) error {
			return s.LinkIdentity(ctx, newID(u.ID, "github", fmt.Sprint("s", i)))
		}, []error{auth.ErrConflict}, func() {
			if ids, err := stores[0].Identities(ctx, u.ID); err != nil || len(ids) != 1 {
				t.Errorf("identities of a user at one provider linked at once through two stores: %v, %v", ids, err)
			}
		}},
		{"TakeAttempt", func() bool {
			id := sha256.Sum256([]byte("attempt"))
			binding := sha256.Sum256([]byte("binding"))
			a = &identitystore.Attempt{ID: id[:], Binding: binding[:], Provider: "google", UserID: u.ID, Data: []byte("data"),
				CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := stores[0].CreateAttempt(ctx, a); err != nil {
				t.Fatal(err)
			}
			return true
		}, func(s identitystore.Store, _ int) error {
			_, err := s.TakeAttempt(ctx, a.ID)
			return err
		}, []error{auth.ErrNotFound}, func() {}},
		{"DeleteCredential(keepLast) and UnlinkIdentity(keepLast)", func() bool {
			if passkeys[0] == nil {
				return false
			}
			v := us[1]
			if _, err := passkeys[0].UserHandle(ctx, v.ID, []byte("handle")); err != nil {
				t.Fatal(err)
			}
			cid := sha256.Sum256([]byte("key"))
			key = &passkeystore.Credential{ID: cid[:], UserID: v.ID, Name: "key", PublicKey: []byte("key"), CreatedAt: now}
			if err := passkeys[1].AddCredential(ctx, key); err != nil {
				t.Fatal(err)
			}
			if err := stores[0].LinkIdentity(ctx, newID(v.ID, "work", "v")); err != nil {
				t.Fatal(err)
			}
			return true
		}, func(s identitystore.Store, i int) error {
			if i/2%2 == 0 {
				return passkeys[i%2].DeleteCredential(ctx, us[1].ID, key.ID, true)
			}
			return s.UnlinkIdentity(ctx, us[1].ID, "work", true)
		}, []error{auth.ErrConflict, auth.ErrNotFound}, func() {
			ids, err := stores[1].Identities(ctx, us[1].ID)
			if err != nil {
				t.Fatal(err)
			}
			creds, err := passkeys[0].Credentials(ctx, us[1].ID)
			if err != nil || len(ids)+len(creds) != 1 {
				t.Errorf("after deletions at once through two stores of a user's only passkey and only identity, %d identities and %d passkeys left (%v), want one of them",
					len(ids), len(creds), err)
			}
		}},
		{"ReclaimAccount", func() bool { return true }, func(s identitystore.Store, i int) error {
			return s.ReclaimAccount(ctx, us[2].ID, us[2].Email, newID(us[2].ID, fmt.Sprint("p", i%3), fmt.Sprint("owner ", i)), now)
		}, []error{auth.ErrConflict}, func() {
			got, err := users.UserByID(ctx, us[2].ID)
			if err != nil || !got.EmailVerified || got.PasswordHash != "" || got.TokenVersion != 1 {
				t.Errorf("the account reclaimed at once through two stores: %+v, %v", got, err)
			}
			if ids, err := stores[1].Identities(ctx, us[2].ID); err != nil || len(ids) != 1 {
				t.Errorf("identities of the account reclaimed at once through two stores: %v, %v", ids, err)
			}
		}},
	} {
		if !op.prepare() {
			continue
		}
		errs := throughBoth(n, stores, op.call)
		won := 0
		for _, err := range errs {
			lost := false
			for _, l := range op.losers {
				lost = lost || errors.Is(err, l)
			}
			switch {
			case err == nil:
				won++
			case !lost || errors.Is(err, auth.ErrStoreUnavailable):
				t.Errorf("%s: %v", op.name, err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d of %d calls through two stores won, want 1", op.name, won, n)
		}
		op.check()
	}
}
