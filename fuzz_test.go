package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// requireSeeds fails the fuzz test if its committed seed corpus is missing,
// so the corpus can never silently disappear.
func requireSeeds(f *testing.F, min int) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < min {
		f.Fatalf("seed corpus %s: %d files (%v), want at least %d", dir, len(entries), err, min)
	}
}

// FuzzVerify feeds arbitrary strings to the access-token verifier. It must
// never panic, and it may accept only tokens that are canonical (each
// segment the unique base64url encoding of its bytes) and really signed
// with the test key.
func FuzzVerify(f *testing.F) {
	requireSeeds(f, 10)
	ks, key := testKeySet(f)
	clock := &testClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	v := testVerifier(f, ks, clock)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d segments", len(parts))
		}
		for _, p := range parts {
			b, err := base64.RawURLEncoding.Strict().DecodeString(p)
			if err != nil || base64.RawURLEncoding.EncodeToString(b) != p {
				t.Fatalf("accepted a non-canonical segment %q", p)
			}
		}
		sig, _ := key.method.Sign(parts[0]+"."+parts[1], key.sign)
		if base64.RawURLEncoding.EncodeToString(sig) != parts[2] {
			t.Fatal("accepted a token not signed with the key")
		}
		if c.Issuer != "iss" || c.Subject == "" || c.ExpiresAt.IsZero() {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

// FuzzParseBearer feeds arbitrary Authorization headers (one, or the same
// twice) to ParseBearer. It must never panic; a returned token is always a
// non-empty b64token.
func FuzzParseBearer(f *testing.F) {
	requireSeeds(f, 5)
	f.Fuzz(func(t *testing.T, value string, twice bool) {
		h := http.Header{}
		h.Add("Authorization", value)
		if twice {
			h.Add("Authorization", value)
		}
		tok, err := ParseBearer(h)
		if err != nil {
			if tok != "" {
				t.Fatal("token returned with an error")
			}
			return
		}
		if twice {
			t.Fatal("accepted two Authorization headers")
		}
		if tok == "" || !isB64Token(tok) || !strings.HasSuffix(value, tok) {
			t.Fatalf("ParseBearer(%q) = %q", value, tok)
		}
	})
}

// FuzzLoginName feeds arbitrary login names, NFKC-expanding ones among the
// seeds, to Login. It must never panic nor reach the store or the limiter
// with a name over 320 bytes or text a store cannot keep; every other name
// costs one password check and at most two remembered budgets, whatever
// its length after normalisation.
func FuzzLoginName(f *testing.F) {
	requireSeeds(f, 10)
	h := &countingHasher{Hasher: plainHasher{}}
	lim := NewMemoryLimiter(LimiterConfig{})
	store := newMemoryStore()
	a, err := New(Config{
		Store:     store,
		SecretKey: testSecret,
		Limiter:   lim,
		Limits:    Limits{LoginUserAddress: Rate{Burst: 1 << 30, Interval: time.Minute}, LoginUser: Rate{Burst: 1 << 30, Interval: time.Minute}, LoginAddress: Rate{Burst: 1 << 30, Interval: time.Minute}},
		Passwords: PasswordConfig{Hasher: h},
	})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := a.Register(context.Background(), NewUser{Username: "alice", Password: "correct horse battery"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		before := len(h.hashes)
		_, err := a.Login(context.Background(), Credentials{Username: name, Password: "wrong password!", Client: Client{Addr: "192.0.2.1"}})
		checks := len(h.hashes) - before
		switch {
		case len(name) > 320 || !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0:
			if !errors.Is(err, ErrInvalidInput) || checks != 0 {
				t.Fatalf("Login(%d bytes) = %v after %d checks, want ErrInvalidInput before any", len(name), err, checks)
			}
		case errors.Is(err, ErrInvalidCredentials):
			if checks != 1 {
				t.Fatalf("%d password checks, want 1", checks)
			}
		default:
			t.Fatalf("Login(%q) = %v", name, err)
		}
		if len(name) <= 320 {
			if n := NormalizeUsername(name); len(n) > 18*len(name)+3 {
				t.Fatalf("%d bytes normalised to %d", len(name), len(n))
			}
		}
		if lim.Len() > 100_000 {
			t.Fatalf("the limiter holds %d budgets", lim.Len())
		}
	})
}
