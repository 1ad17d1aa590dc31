package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHMACKeys(t *testing.T) {
	tests := []struct {
		alg    string
		secret int
		ok     bool
	}{
		{"HS256", 32, true}, {"HS256", 31, false},
		{"HS384", 48, true}, {"HS384", 47, false},
		{"HS512", 64, true}, {"HS512", 63, false},
		{"none", 64, false}, {"RS256", 64, false}, {"hs256", 64, false},
	}
	for _, tc := range tests {
		k, err := NewHMACKey("", tc.alg, []byte(strings.Repeat("s", tc.secret)))
		if (err == nil) != tc.ok {
			t.Errorf("NewHMACKey(%s, %d bytes) = %v", tc.alg, tc.secret, err)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), strings.Repeat("s", 16)) {
				t.Error("error contains the secret")
			}
			continue
		}
		if k.ID() == "" || k.Algorithm() != tc.alg || !k.CanSign() || strings.Contains(k.String(), "ssss") {
			t.Errorf("key %v", k)
		}
	}
	a, _ := NewHMACKey("", "HS256", testSecret)
	b, _ := NewHMACKey("", "HS256", testSecret)
	c, _ := NewHMACKey("", "HS256", append([]byte("x"), testSecret...))
	if a.ID() != b.ID() || a.ID() == c.ID() {
		t.Fatal("derived kids are not stable per secret")
	}
	// The secret is copied: changing the caller's slice changes nothing.
	secret := append([]byte(nil), testSecret...)
	k, _ := NewHMACKey("k", "HS256", secret)
	secret[0] ^= 0xff
	if string(k.sign.([]byte)) != string(testSecret) {
		t.Fatal("key aliases the caller's secret")
	}
}

func TestKeyRotation(t *testing.T) {
	clock := newTestClock()
	old, _ := NewHMACKey("old", "HS256", testSecret)
	next, _ := NewHMACKey("next", "HS512", []byte(strings.Repeat("n", 64)))
	ks, err := NewKeySet(old)
	if err != nil {
		t.Fatal(err)
	}
	v := testVerifier(t, ks, clock)
	issue := func() string {
		tok, err := sign(ks.Active(), typeAccess, wireClaims{Iss: "iss", Sub: "u", Aud: "aud",
			Exp: clock.Now().Add(time.Hour).Unix(), Iat: clock.Now().Unix(), Jti: "j"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ctx := context.Background()
	before := issue()

	if err := ks.Add(next); err != nil {
		t.Fatal(err)
	}
	if err := ks.Add(next); err == nil {
		t.Fatal("duplicate kid accepted")
	}
	if err := ks.SetActive("next"); err != nil {
		t.Fatal(err)
	}
	after := issue()
	if !strings.Contains(after, enc(`{"alg":"HS512","kid":"next"`)[:20]) {
		t.Fatal("new tokens are not signed with the new key")
	}
	for _, tok := range []string{before, after} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("token during rotation: %v", err)
		}
	}
	if err := ks.Remove("next"); err == nil {
		t.Fatal("removed the active key")
	}
	if err := ks.Remove("old"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, before); !errors.Is(err, ErrTokenSignature) {
		t.Fatalf("token of a dropped key = %v", err)
	}
	if _, err := v.Verify(ctx, after); err != nil {
		t.Fatal(err)
	}
	if err := ks.Remove("old"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("second Remove = %v", err)
	}
	if err := ks.SetActive("missing"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("SetActive(missing) = %v", err)
	}
	if got := ks.Keys(); len(got) != 1 || got[0].ID() != "next" {
		t.Fatalf("Keys() = %v", got)
	}
	if _, err := NewKeySet(nil); err == nil {
		t.Fatal("NewKeySet(nil) succeeded")
	}
	if _, err := NewKeySet(old, old); err == nil {
		t.Fatal("NewKeySet with a duplicate kid succeeded")
	}
}
