package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// cachedFixture is a fixture with a cache of the given size (0: default),
// a registered user and one access token, already presented once (so that
// the cache holds it when the size allows).
func cachedFixture(t *testing.T, size int) (*fixture, *User, string) {
	t.Helper()
	f := newFixture(t, func(c *Config) { c.Tokens.CacheSize = size })
	u := f.register(t, "alice", "correct horse battery")
	tok := f.login(t, "alice", "correct horse battery").AccessToken
	if _, _, err := f.a.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return f, u, tok
}

// TestTokenCacheExact checks that a Verifier and an Authenticator decide
// exactly the same with the verified-token cache as without it: for each
// change that must end a token's validity, a token that is in the cache is
// refused with the same error as with the cache off.
func TestTokenCacheExact(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(t *testing.T, f *fixture, u *User)
		want   error
	}{
		{"expired", func(t *testing.T, f *fixture, u *User) {
			f.clock.Advance(f.a.AccessTTL() + 31*time.Second) // past exp and the leeway
		}, ErrTokenExpired},
		{"clock set back before iat", func(t *testing.T, f *fixture, u *User) {
			f.clock.Advance(-time.Minute)
		}, ErrTokenClaims},
		{"logout everywhere", func(t *testing.T, f *fixture, u *User) {
			if err := f.a.LogoutAll(ctx, Client{}, u.ID); err != nil {
				t.Fatal(err)
			}
		}, ErrTokenRevoked},
		{"user disabled", func(t *testing.T, f *fixture, u *User) {
			if _, err := f.store.ChangeUser(ctx, u.ID, UserChange{Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
		}, ErrUserDisabled},
		{"user deleted", func(t *testing.T, f *fixture, u *User) {
			if err := f.store.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}, ErrTokenRevoked},
		{"signing key removed", func(t *testing.T, f *fixture, u *User) {
			old := f.a.Keys().Active()
			next, _ := NewHMACKey("next", "HS256", []byte("another secret of at least 32 bytes!!"))
			mustDo(t, f.a.Keys().Add(next), f.a.Keys().SetActive("next"), f.a.Keys().Remove(old.ID()))
		}, ErrTokenSignature},
		{"key replaced under the same kid", func(t *testing.T, f *fixture, u *User) {
			old := f.a.Keys().Active()
			tmp, _ := NewHMACKey("tmp", "HS256", []byte("a temporary secret of 32 bytes or more"))
			same, _ := NewHMACKey(old.ID(), "HS256", []byte("a different secret under the old kid!!"))
			mustDo(t, f.a.Keys().Add(tmp), f.a.Keys().SetActive("tmp"), f.a.Keys().Remove(old.ID()), f.a.Keys().Add(same))
		}, ErrTokenSignature},
	}
	for _, tc := range tests {
		for _, size := range []int{0, -1} {
			t.Run(fmt.Sprintf("%s/cache=%d", tc.name, size), func(t *testing.T) {
				f, u, tok := cachedFixture(t, size)
				if size == 0 && f.a.verifier.cache.get(tok) == nil {
					t.Fatal("the token is not in the cache")
				}
				tc.change(t, f, u)
				_, _, err := f.a.Authenticate(ctx, tok)
				if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Authenticate = %v, want %v", err, tc.want)
				}
				if tc.want != ErrTokenRevoked && tc.want != ErrUserDisabled {
					if _, err := f.a.Verifier().Verify(ctx, tok); !errors.Is(err, tc.want) {
						t.Fatalf("Verify = %v, want %v", err, tc.want)
					}
					if f.a.verifier.cache != nil && f.a.verifier.cache.get(tok) != nil {
						t.Error("a token that no longer verifies is still in the cache")
					}
				}
			})
		}
	}
}

func mustDo(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestTokenCacheHit checks that a hit returns the same claims, as a copy
// the caller may change without affecting later calls, and that only
// access tokens enter the cache.
func TestTokenCacheHit(t *testing.T) {
	ctx := context.Background()
	f, _, tok := cachedFixture(t, 0)
	v := f.a.Verifier()
	c1, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	c1.Audience[0] = "changed"
	c1.Subject = "changed"
	c2, err := v.Verify(ctx, tok)
	if err != nil || c2.Audience[0] != "goauthkit" || c2.Subject == "changed" {
		t.Fatalf("second Verify = %+v, %v: a caller's change reached the cache", c2, err)
	}
	if v.cache.len() != 1 {
		t.Fatalf("cache holds %d tokens, want 1", v.cache.len())
	}
	// Refresh and other token types never enter the access-token cache.
	p := f.login(t, "alice", "correct horse battery")
	if _, err := v.Verify(ctx, p.RefreshToken); !errors.Is(err, ErrTokenClaims) {
		t.Fatalf("refresh token as access token = %v", err)
	}
	if v.cache.get(p.RefreshToken) != nil {
		t.Fatal("a refresh token entered the cache")
	}
}

// TestTokenCacheBounded checks that the cache never holds more than its
// size, whatever the number of distinct valid tokens.
func TestTokenCacheBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *Config) { c.Tokens.CacheSize = 8 })
	u := f.register(t, "alice", "correct horse battery")
	for i := range 50 {
		tok, _, err := f.a.issueAccess(ctx, u, "", f.clock.Now(), login{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.a.Authenticate(ctx, tok); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if n := f.a.verifier.cache.len(); n > 8 {
			t.Fatalf("cache holds %d tokens, more than its size 8", n)
		}
	}
	if f.a.verifier.cache.len() != 8 {
		t.Errorf("cache holds %d tokens, want 8", f.a.verifier.cache.len())
	}
}

// TestTokenCacheConcurrent verifies a set of tokens from many goroutines
// while keys rotate (run it with -race).
func TestTokenCacheConcurrent(t *testing.T) {
	ks, _ := NewKeySet(mustHMAC(t, "k0"))
	v, _ := NewVerifier(VerifierConfig{Keys: ks, Issuer: "iss", Audience: "aud", TokenCacheSize: 4})
	now := time.Now()
	var toks []string
	for i := range 10 {
		tok, err := sign(ks.Active(), typeAccess, wireClaims{Iss: "iss", Sub: fmt.Sprint(i), Aud: "aud",
			Exp: now.Add(time.Hour).Unix(), Iat: now.Unix(), Jti: fmt.Sprint(i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			k := mustHMAC(t, fmt.Sprintf("extra%d", i))
			_ = ks.Add(k)
			_ = ks.Remove(k.ID())
		}
	}()
	errc := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 500 {
				tok := toks[(g+i)%len(toks)]
				c, err := v.Verify(context.Background(), tok)
				if err == nil && c.Subject != fmt.Sprint((g+i)%len(toks)) {
					err = fmt.Errorf("token %d verified as subject %q", (g+i)%len(toks), c.Subject)
				}
				if err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

func mustHMAC(t *testing.T, kid string) *Key {
	t.Helper()
	k, err := NewHMACKey(kid, "HS256", []byte("0123456789abcdef0123456789abcdef-"+kid))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (tc *tokenCache) len() int {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	return len(tc.m)
}
