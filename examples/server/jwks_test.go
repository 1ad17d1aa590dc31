package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/jwks"
)

// TestE2EAsymmetricKeys runs the server with each asymmetric algorithm: its
// JWKS publishes the public key (and nothing private), a consumer service
// verifies the server's tokens through a jwks.Remote on that JWKS, the key
// survives a restart, and a retired key keeps verifying its tokens.
func TestE2EAsymmetricKeys(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			e := newEnv(t, envOptions{signingAlg: alg, dataDir: dir})
			e.signup("alice", "correct horse battery")
			access, _ := e.login("alice", "correct horse battery")
			e.me(access).want(t, 200, "")

			published := e.do(request{method: "GET", path: "/.well-known/jwks.json"})
			published.want(t, 200, "")
			keys, _ := published.body["keys"].([]any)
			if len(keys) != 1 {
				t.Fatalf("JWKS has %d keys", len(keys))
			}
			k := keys[0].(map[string]any)
			if k["alg"] != alg || k["use"] != "sig" || k["kid"] == "" {
				t.Fatalf("JWKS key %v", k)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if _, ok := k[private]; ok {
					t.Fatalf("JWKS holds the private member %q", private)
				}
			}
			if fi, err := os.Stat(filepath.Join(dir, "signing-"+alg+".pem")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file: %v %v", fi, err)
			}

			// A consumer service with no store and no secret.
			remote, err := jwks.NewRemote(jwks.Config{URL: e.srv.URL + "/.well-known/jwks.json", Client: e.srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			v, err := auth.NewVerifier(auth.VerifierConfig{Keys: remote, Issuer: "goauthkit", Audience: "goauthkit"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), access)
			if err != nil {
				t.Fatalf("remote verification: %v", err)
			}
			if c.Subject == "" || c.Subject == "alice" {
				t.Fatalf("sub %q", c.Subject)
			}
			if _, err := v.Verify(context.Background(), e.forge(`{"alg":"HS256","kid":"`+k["kid"].(string)+`","typ":"at+jwt"}`, `{}`)); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("HS256 token under the public key's kid = %v", err)
			}

			// Restart on the same directory: same key, the token still works.
			_ = e.app.close()
			e2 := newEnv(t, envOptions{signingAlg: alg, dataDir: dir})
			e2.me(access).want(t, 200, "")

			// Rotate: retire the key, restart; old tokens still verify and
			// both keys are published.
			_ = e2.app.close()
			if err := os.Rename(filepath.Join(dir, "signing-"+alg+".pem"), filepath.Join(dir, "retired-1.pem")); err != nil {
				t.Fatal(err)
			}
			e3 := newEnv(t, envOptions{signingAlg: alg, dataDir: dir})
			e3.me(access).want(t, 200, "")
			published = e3.do(request{method: "GET", path: "/.well-known/jwks.json"})
			var set struct{ Keys []map[string]any }
			raw, _ := json.Marshal(published.body)
			_ = json.Unmarshal(raw, &set)
			if len(set.Keys) != 2 {
				t.Fatalf("JWKS after rotation has %d keys, want 2", len(set.Keys))
			}
			newAccess, _ := e3.login("alice", "correct horse battery")
			e3.me(newAccess).want(t, 200, "")
		})
	}
	// HS256: no public keys.
	e := newEnv(t, envOptions{})
	e.do(request{method: "GET", path: "/.well-known/jwks.json"}).want(t, http.StatusNotFound, "not_found")
}
