// Package keyfile keeps signing keys in PEM files: loading them, saving
// them with mode 0600, and generating one the first time a service starts,
// so that tokens survive restarts without a secret in the environment.
//
//	key, created, err := keyfile.LoadOrGenerate("EdDSA", "/var/lib/myapp/signing.pem")
//	keys, err := auth.NewKeySet(key)
//	a, err := auth.New(auth.Config{Store: store, Keys: keys})
//
// Keys are PKCS #8 PEM ("PRIVATE KEY"), as auth.Key.PrivateKeyPEM writes
// them; Parse also reads SEC 1 and PKCS #1 private keys and PKIX public
// keys.
package keyfile

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goauthkit/auth"
)

// Load reads a PEM key file (see Parse for kid and alg).
func Load(kid, alg, path string) (*auth.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	return Parse(kid, alg, data)
}

// Save writes a signing key's private half to path as PKCS #8 PEM, with
// mode 0600, atomically (a temporary file linked into place), and refuses
// to overwrite an existing file (the error wraps fs.ErrExist).
func Save(path string, k *auth.Key) error {
	data, err := k.PrivateKeyPEM()
	if err != nil {
		return err
	}
	return writeSecretFile(path, data)
}

// writeSecretFile writes data to a new file at path with mode 0600,
// atomically; it never replaces an existing file.
func writeSecretFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-key-*")
	if err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// A hard link fails if path exists, unlike rename.
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	return nil
}

// LoadOrGenerate returns the key in the PEM file at path, or, if there is
// no such file, generates one for alg (auth.GenerateKey) and saves it there
// with mode 0600. created reports which happened. Two processes starting
// at once agree on one key: the second finds the first's file.
func LoadOrGenerate(alg, path string) (k *auth.Key, created bool, err error) {
	k, err = Load("", alg, path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if k, err = auth.GenerateKey(alg); err != nil {
		return nil, false, err
	}
	if err := Save(path, k); err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			k, err = Load("", alg, path)
			return k, false, err
		}
		return nil, false, err
	}
	return k, true, nil
}

// Parse reads one key for alg from PEM: a "PRIVATE KEY" (PKCS #8),
// "EC PRIVATE KEY" or "RSA PRIVATE KEY" block gives a signing key, a
// "PUBLIC KEY" (PKIX) block a verification-only key. An empty kid is the
// key's thumbprint; an empty alg is the key type's one algorithm (EdDSA for
// Ed25519, ES256 for P-256, RS256 for RSA).
func Parse(kid, alg string, data []byte) (*auth.Key, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("keyfile: no PEM block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("keyfile: more than one PEM block")
	}
	var (
		parsed any
		err    error
	)
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("keyfile: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	signer, isSigner := parsed.(crypto.Signer)
	if alg == "" {
		pub := crypto.PublicKey(parsed)
		if isSigner {
			pub = signer.Public()
		}
		if alg = algorithmOf(pub); alg == "" {
			return nil, fmt.Errorf("keyfile: unsupported key type %T", pub)
		}
	}
	if isSigner {
		return auth.NewSigningKey(kid, alg, signer)
	}
	return auth.NewVerificationKey(kid, alg, parsed)
}

// algorithmOf names the one algorithm this library uses a public key with:
// EdDSA for Ed25519, ES256 for ECDSA P-256, RS256 for RSA; "" for others.
func algorithmOf(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		return "EdDSA"
	case *ecdsa.PublicKey:
		if p.Curve == elliptic.P256() {
			return "ES256"
		}
	case *rsa.PublicKey:
		return "RS256"
	}
	return ""
}
