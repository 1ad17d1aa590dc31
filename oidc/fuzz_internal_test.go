package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerifySignature: whatever an ID token a provider (or someone in its
// place) sends, the key set verifies only a signature of its own keys with
// the algorithm each allows, and never panics (seeds in
// testdata/fuzz/FuzzVerifySignature: alg none, HS256, a foreign key, bad
// encodings).
func FuzzVerifySignature(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ks := &keySet{url: "http://127.0.0.1:1/never", algs: []string{"ES256", "RS256"}, now: func() time.Time { return now },
		keys:    []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}},
		fetched: now}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		f.Fatal(err)
	}
	jws, err := signer.Sign([]byte(`{"iss":"https://idp.example","sub":"a"}`))
	if err != nil {
		f.Fatal(err)
	}
	good, err := jws.CompactSerialize()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := ks.VerifySignature(context.Background(), good); err != nil {
		f.Fatalf("the right token: %v", err)
	}
	f.Add(good)
	parts := strings.Split(good, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add("eyJhbGciOiJub25lIn0." + parts[1] + ".")
	f.Fuzz(func(t *testing.T, token string) {
		payload, err := ks.VerifySignature(context.Background(), token)
		if err == nil && token != good && !strings.HasPrefix(token, parts[0]+"."+parts[1]+".") {
			t.Fatalf("verified %q: %s", token, payload)
		}
	})
}
