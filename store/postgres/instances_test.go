package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/postgres"
	"github.com/goauthkit/auth/store/storetest"
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

// TestTwoInstancesShared runs storetest's cases of two Stores on two pools
// over one schema, as two instances of a service are: the compare-and-sets
// of the second factors hold across them.
func TestTwoInstancesShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (auth.Store, auth.Store) {
		schema := freshSchema(t)
		var stores [2]*postgres.Store
		for i := range stores {
			s, err := postgres.New(context.Background(), testPool(t), postgres.Config{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		return stores[0], stores[1]
	})
}
