package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goauthkit/auth/internal/testenv"
)

// TestJWKS checks the key set a KeySet publishes: its public keys only,
// each with kid, alg and use, and nothing private. (authhttp's
// TestJWKSHandler serves it; package jwks reads it back.)
func TestJWKS(t *testing.T) {
	ed, es, rs := testAsymKey(t, "EdDSA"), testAsymKey(t, "ES256"), testAsymKey(t, "RS256")
	hs := testAsymKey(t, "HS256")
	ks, _ := NewKeySet(ed, es, rs, hs)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(ks.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 3 {
		t.Fatalf("%d keys, want the 3 asymmetric ones", len(set.Keys))
	}
	wantKty := map[string]string{"EdDSA": "OKP", "ES256": "EC", "RS256": "RSA"}
	for _, k := range set.Keys {
		if k["use"] != "sig" || k["kid"] == "" || wantKty[k["alg"]] != k["kty"] {
			t.Errorf("key %v", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key holds private member %q", private)
			}
		}
	}
	// That it parses back to the same keys is jwks.TestParseKeySetJWKS.
	// An HMAC-only set publishes nothing.
	only, _ := NewKeySet(hs)
	if got := string(only.JWKS()); got != `{"keys":[]}` {
		t.Fatalf("HMAC JWKS = %s", got)
	}
}

// serveJWKS serves the key set of ks, as authhttp.JWKSHandler does.
func serveJWKS(ks *KeySet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ks.JWKS())
	})
}

// TestPyJWTInterop has Debian's PyJWT, an implementation none of us wrote,
// verify our token through its PyJWKClient on our JWKS URL, and sign a
// token with a key of ours that our verifier must accept.
func TestPyJWTInterop(t *testing.T) {
	python := testenv.Python(t, "jwt", "cryptography")
	if exec.Command(python, "-c", "from jwt import PyJWKClient").Run() != nil {
		testenv.Missing(t, "python3 module jwt lacks PyJWKClient (PyJWT 2.0 or later: apt-get install python3-jwt)")
	}
	dir := t.TempDir()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			k := testAsymKey(t, alg)
			ks, _ := NewKeySet(k)
			f := newFixture(t, func(c *Config) { c.SecretKey = nil; c.Keys = ks; c.Now = nil })
			f.register(t, "alice", "correct horse battery")
			p := f.login(t, "alice", "correct horse battery")
			srv := httptest.NewServer(serveJWKS(ks))
			t.Cleanup(srv.Close)
			keyPath := filepath.Join(dir, alg+".pem")
			pemKey, err := k.PrivateKeyPEM()
			if err == nil {
				err = os.WriteFile(keyPath, pemKey, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(python, filepath.Join("testdata", "pyjwt_interop.py"), srv.URL, p.AccessToken, keyPath, alg, k.ID())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("PyJWT: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 2 || lines[0] != "verified "+p.AccessToken[len(p.AccessToken)-8:] {
				t.Fatalf("PyJWT output:\n%s", out)
			}
			// The token PyJWT signed verifies here.
			u, c, err := f.a.Authenticate(context.Background(), lines[1])
			if err != nil {
				t.Fatalf("our verifier refused PyJWT's token: %v", err)
			}
			if u.Username != "alice" || c.ID != "pyjwt" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}
