package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

var asymAlgs = []string{"EdDSA", "ES256", "RS256"}

// generated caches one key per algorithm: RSA generation is slow.
var generated sync.Map

func testAsymKey(t testing.TB, alg string) *Key {
	t.Helper()
	if k, ok := generated.Load(alg); ok {
		return k.(*Key)
	}
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	generated.Store(alg, k)
	return k
}

func signTest(t testing.TB, k *Key, now time.Time) string {
	t.Helper()
	tok, err := sign(k, typeAccess, wireClaims{Iss: "iss", Sub: "u", Aud: "aud",
		Exp: now.Add(time.Minute).Unix(), Iat: now.Unix(), Jti: "j"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAsymmetricSignVerify(t *testing.T) {
	clock := newTestClock()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			k := testAsymKey(t, alg)
			ks, err := NewKeySet(k)
			if err != nil {
				t.Fatal(err)
			}
			v := testVerifier(t, ks, clock)
			tok := signTest(t, k, clock.Now())
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// A verification-only copy (what a consumer holds) verifies too.
			pubKey, err := NewVerificationKey(k.ID(), alg, k.verify)
			if err != nil {
				t.Fatal(err)
			}
			if pubKey.CanSign() {
				t.Fatal("verification key can sign")
			}
			if _, err := NewKeySet(pubKey); err == nil {
				t.Fatal("a verification-only key became the active key")
			}
			other, _ := NewKeySet(testAsymKey(t, "HS256"), pubKey)
			if _, err := testVerifier(t, other, clock).Verify(context.Background(), tok); err != nil {
				t.Fatalf("verification-only key: %v", err)
			}
			// Tampering breaks the signature.
			parts := strings.Split(tok, ".")
			tampered := parts[0] + "." + enc(claimsJSON(clock.Now(), func(m map[string]any) { m["sub"] = "admin" })) + "." + parts[2]
			if _, err := v.Verify(context.Background(), tampered); !errors.Is(err, ErrTokenSignature) {
				t.Fatalf("tampered token: %v", err)
			}
		})
	}
}

// TestAlgorithmConfusion signs HS256 tokens with every public form of an
// asymmetric key (the classic RS256-to-HS256 attack), and tokens whose
// header alg disagrees with their kid's key.
func TestAlgorithmConfusion(t *testing.T) {
	clock := newTestClock()
	now := clock.Now()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			k := testAsymKey(t, alg)
			ks, _ := NewKeySet(k)
			v := testVerifier(t, ks, clock)
			der, err := x509.MarshalPKIXPublicKey(k.verify)
			if err != nil {
				t.Fatal(err)
			}
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			j, _ := k.publicJWK()
			jwkBytes, _ := json.Marshal(j)
			header := `{"alg":"HS256","kid":"` + k.ID() + `","typ":"at+jwt"}`
			for name, secret := range map[string][]byte{"PEM": pemBytes, "DER": der, "JWK": jwkBytes, "JWKS": ks.JWKS()} {
				tok := forge(t, header, claimsJSON(now, nil), secret)
				if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrTokenSignature) {
					t.Errorf("HS256 signed with the %s public key = %v, want ErrTokenSignature", name, err)
				}
			}
			for _, other := range append(asymAlgs, "HS256", "none", "PS256", "ES384") {
				if other == alg {
					continue
				}
				parts := strings.Split(signTest(t, k, now), ".")
				h := enc(`{"alg":"` + other + `","kid":"` + k.ID() + `","typ":"at+jwt"}`)
				if _, err := v.Verify(context.Background(), h+"."+parts[1]+"."+parts[2]); !errors.Is(err, ErrTokenSignature) {
					t.Errorf("header alg %s on a %s key = %v", other, alg, err)
				}
			}
		})
	}
}

func TestAsymmetricKeyRules(t *testing.T) {
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ed := testAsymKey(t, "EdDSA")
	tests := []struct {
		name string
		fn   func() (*Key, error)
	}{
		{"RSA 1024", func() (*Key, error) { return NewSigningKey("", "RS256", rsa1024) }},
		{"RSA 1024 public", func() (*Key, error) { return NewVerificationKey("", "RS256", &rsa1024.PublicKey) }},
		{"P-384 as ES256", func() (*Key, error) { return NewSigningKey("", "ES256", p384) }},
		{"Ed25519 as ES256", func() (*Key, error) { return NewVerificationKey("", "ES256", ed.verify) }},
		{"RSA as EdDSA", func() (*Key, error) { return NewVerificationKey("", "EdDSA", &rsa1024.PublicKey) }},
		{"unknown alg", func() (*Key, error) { return NewVerificationKey("", "PS256", ed.verify) }},
		{"nil private key", func() (*Key, error) { return NewSigningKey("", "EdDSA", nil) }},
		{"unknown generate", func() (*Key, error) { return GenerateKey("none") }},
	}
	for _, tc := range tests {
		if k, err := tc.fn(); err == nil || k != nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	// Thumbprint kids are stable: the same public key gives the same kid.
	again, err := NewVerificationKey("", "EdDSA", ed.verify)
	if err != nil || again.ID() != ed.ID() || len(ed.ID()) != 43 {
		t.Fatalf("thumbprint kid %q vs %q: %v", again.ID(), ed.ID(), err)
	}
}

// TestThumbprintRFC7638 checks the thumbprint against the example of RFC
// 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537} // e "AQAB"
	if got := thumbprint(pub); got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s", got)
	}
}

func TestAsymmetricRotation(t *testing.T) {
	clock := newTestClock()
	old, _ := GenerateKey("EdDSA")
	next := testAsymKey(t, "ES256")
	ks, _ := NewKeySet(old)
	v := testVerifier(t, ks, clock)
	before := signTest(t, ks.Active(), clock.Now())
	if err := ks.Add(next); err != nil {
		t.Fatal(err)
	}
	if err := ks.SetActive(next.ID()); err != nil {
		t.Fatal(err)
	}
	after := signTest(t, ks.Active(), clock.Now())
	for _, tok := range []string{before, after} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	// Both keys are published while the old one's tokens can live.
	var set struct{ Keys []map[string]any }
	_ = json.Unmarshal(ks.JWKS(), &set)
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS during rotation has %d keys", len(set.Keys))
	}
	if err := ks.Remove(old.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), before); !errors.Is(err, ErrTokenSignature) {
		t.Fatalf("token of a dropped key = %v", err)
	}
	if _, err := v.Verify(context.Background(), after); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticatorWithAsymmetricKeys(t *testing.T) {
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			ks, _ := NewKeySet(testAsymKey(t, alg))
			f := newFixture(t, func(c *Config) { c.SecretKey = nil; c.Keys = ks })
			f.register(t, "alice", "correct horse battery")
			p := f.login(t, "alice", "correct horse battery")
			if _, _, err := f.a.Authenticate(context.Background(), p.AccessToken); err != nil {
				t.Fatal(err)
			}
			if _, err := f.a.Refresh(context.Background(), Client{}, p.RefreshToken); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p.AccessToken, enc(`{"alg":"` + alg + `"`)[:10]) {
				t.Fatal("token not signed with the configured algorithm")
			}
		})
	}
}
