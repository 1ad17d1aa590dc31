package keyfile

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/goauthkit/auth"
)

// parsePrivate decodes a PKCS #8 PEM private key.
func parsePrivate(t *testing.T, data []byte) (crypto.Signer, error) {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer), nil
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			path := filepath.Join(dir, alg+".pem")
			k, created, err := LoadOrGenerate(alg, path)
			if err != nil || !created {
				t.Fatalf("LoadOrGenerate: %v %v", created, err)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode %v: %v", fi.Mode(), err)
			}
			again, created, err := LoadOrGenerate(alg, path)
			if err != nil || created || again.ID() != k.ID() || !again.CanSign() {
				t.Fatalf("reload: %v %v", created, err)
			}
			if err := Save(path, k); !errors.Is(err, os.ErrExist) {
				t.Fatalf("Save over an existing file = %v", err)
			}
			// With no algorithm given, the key type decides.
			if inferred, err := Load("", "", path); err != nil || inferred.Algorithm() != alg || inferred.ID() != k.ID() {
				t.Fatalf("Load without alg: %v", err)
			}
			if _, err := Load("", alg, filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Load of a missing file = %v, want ErrNotExist", err)
			}
		})
	}
	// Processes starting at once agree on one key.
	path := filepath.Join(dir, "race.pem")
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, _, err := LoadOrGenerate("EdDSA", path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent LoadOrGenerate made different keys: %v", ids)
		}
	}
}

// TestParse checks Parse and auth.Key.PrivateKeyPEM both ways for every
// algorithm.
func TestParse(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			k, err := auth.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			priv, err := k.PrivateKeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse("", alg, priv)
			if err != nil || !again.CanSign() || again.ID() != k.ID() {
				t.Fatalf("Parse(PrivateKeyPEM) = %v, %v", again, err)
			}
			// The public half as PEM loads as a verification-only key.
			signer, _ := parsePrivate(t, priv)
			der, _ := x509.MarshalPKIXPublicKey(signer.Public())
			pub, err := Parse("", alg, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			if err != nil || pub.CanSign() || pub.ID() != k.ID() {
				t.Fatalf("public PEM: %v", err)
			}
			// With no algorithm given, the key type decides.
			if inferred, err := Parse("", "", priv); err != nil || inferred.Algorithm() != alg || inferred.ID() != k.ID() {
				t.Fatalf("ParseKeyPEM without alg: %v", err)
			}
			// Parsing under another algorithm fails.
			for _, other := range []string{"EdDSA", "ES256", "RS256"} {
				if other != alg {
					if _, err := Parse("", other, priv); err == nil {
						t.Errorf("%s key parsed as %s", alg, other)
					}
				}
			}
		})
	}
	hs, _ := auth.GenerateKey("HS256")
	if _, err := hs.PrivateKeyPEM(); err == nil {
		t.Fatal("an HMAC secret was written as PEM")
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := Parse("", "EdDSA", []byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
