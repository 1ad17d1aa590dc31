package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/postgres"
)

// Two Authenticators, as two instances of a service would be: two Stores on
// two pools over one schema, one signing key.
func TestTwoInstances(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	key := []byte("0123456789abcdef0123456789abcdef-two-instances")
	var as [2]*auth.Authenticator
	for i := range as {
		s, err := postgres.New(ctx, testPool(t), postgres.Config{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		as[i], err = auth.New(auth.Config{Store: s, SecretKey: key, Passwords: auth.PasswordConfig{Hasher: auth.Bcrypt{Cost: 10}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	a1, a2 := as[0], as[1]

	const password = "a long and uncommon test passphrase"
	u, err := a1.Register(ctx, auth.NewUser{Username: "Alice", Password: password})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := a2.Register(ctx, auth.NewUser{Username: "alice", Password: password}); !errors.Is(err, auth.ErrUserExists) {
		t.Fatalf("Register of a taken name on the other instance = %v, want ErrUserExists", err)
	}
	login := func(a *auth.Authenticator) *auth.TokenPair {
		t.Helper()
		p, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: password})
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		return p
	}

	p1 := login(a1)
	p2, err := a2.Refresh(ctx, auth.Client{}, p1.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh on the other instance: %v", err)
	}
	if _, _, err := a1.Authenticate(ctx, p2.AccessToken); err != nil {
		t.Fatalf("Authenticate of the refreshed access token: %v", err)
	}
	// p1's refresh token is spent: presenting it to the first instance is
	// reuse, and kills the family, p2's refresh token included.
	if _, err := a1.Refresh(ctx, auth.Client{}, p1.RefreshToken); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("spent token on the first instance = %v, want ErrRefreshReuse", err)
	}
	if _, err := a2.Refresh(ctx, auth.Client{}, p2.RefreshToken); err == nil || !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("newest token after reuse = %v, want an ErrInvalidToken", err)
	}
	if _, err := a1.Refresh(ctx, auth.Client{}, p2.RefreshToken); err == nil {
		t.Fatal("newest token after reuse refreshed on the first instance")
	}

	// Logout-all on one instance ends access tokens checked by the other.
	p3 := login(a2)
	if _, _, err := a2.Authenticate(ctx, p3.AccessToken); err != nil {
		t.Fatalf("Authenticate before LogoutAll: %v", err)
	}
	if err := a1.LogoutAll(ctx, auth.Client{}, u.ID); err != nil {
		t.Fatalf("LogoutAll: %v", err)
	}
	if _, _, err := a2.Authenticate(ctx, p3.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Authenticate on the other instance after LogoutAll = %v, want ErrInvalidToken", err)
	}
	if _, err := a2.Refresh(ctx, auth.Client{}, p3.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Refresh after LogoutAll = %v, want ErrInvalidToken", err)
	}
	// A new login works on either.
	p4 := login(a1)
	if _, _, err := a2.Authenticate(ctx, p4.AccessToken); err != nil {
		t.Fatalf("Authenticate after a new login: %v", err)
	}
}

// TestTwoInstancesMFA: the compare-and-sets of the second factors hold
// across two Stores on two pools over one schema: of calls at once
// through both, exactly one confirms, advances a step, uses a code, spends
// a challenge.
func TestTwoInstancesMFA(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	var stores [2]*postgres.Store
	for i := range stores {
		s, err := postgres.New(ctx, testPool(t), postgres.Config{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := stores[0].CreateUser(ctx, u); err != nil {
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
		call  func(s *postgres.Store) error
		loser error
	}{
		{"ConfirmTOTP", func(s *postgres.Store) error { return s.ConfirmTOTP(ctx, u.ID, "e1", 1, [][]byte{code[:]}) }, auth.ErrNotFound},
		{"AdvanceTOTP", func(s *postgres.Store) error { return s.AdvanceTOTP(ctx, u.ID, "e1", 2) }, auth.ErrConflict},
		{"UseRecoveryCode", func(s *postgres.Store) error { return s.UseRecoveryCode(ctx, u.ID, code[:]) }, auth.ErrNotFound},
		{"SpendChallenge", func(s *postgres.Store) error { return s.SpendChallenge(ctx, c.ID) }, auth.ErrNotFound},
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
			t.Errorf("%s: %d of %d calls through two instances won, want 1", op.name, won, n)
		}
	}
}
