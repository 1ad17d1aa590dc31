package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted, for signing and for
// verification alike.
const minRSABits = 2048

// NewSigningKey returns a key that signs (and verifies) with alg: "EdDSA"
// with an ed25519.PrivateKey, "ES256" with an *ecdsa.PrivateKey on P-256,
// "RS256" with an *rsa.PrivateKey of at least 2048 bits. An empty kid is
// replaced by the RFC 7638 thumbprint of the public key.
func NewSigningKey(kid, alg string, priv crypto.Signer) (*Key, error) {
	if priv == nil {
		return nil, errors.New("auth: NewSigningKey: no private key")
	}
	pub, err := checkAsymmetric(alg, priv.Public())
	if err != nil {
		return nil, err
	}
	switch p := priv.(type) {
	case ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey:
	case *ed25519.PrivateKey:
		priv = *p
	default:
		return nil, fmt.Errorf("auth: NewSigningKey: unsupported private key type %T", priv)
	}
	if kid == "" {
		kid = thumbprint(pub)
	}
	return newKey(kid, alg, jwt.GetSigningMethod(alg), priv, pub)
}

// NewVerificationKey returns a key that only verifies: the public half of
// an EdDSA, ES256 or RS256 key, as another service holds it.
func NewVerificationKey(kid, alg string, pub crypto.PublicKey) (*Key, error) {
	pub, err := checkAsymmetric(alg, pub)
	if err != nil {
		return nil, err
	}
	if kid == "" {
		kid = thumbprint(pub)
	}
	return newKey(kid, alg, jwt.GetSigningMethod(alg), nil, pub)
}

// checkAsymmetric checks that pub suits alg, and returns it in the form
// golang-jwt's methods take.
func checkAsymmetric(alg string, pub crypto.PublicKey) (crypto.PublicKey, error) {
	bad := func(why string) (crypto.PublicKey, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrWeakKey, alg, why)
	}
	switch alg {
	case "EdDSA":
		p, ok := pub.(ed25519.PublicKey)
		if !ok || len(p) != ed25519.PublicKeySize {
			return bad("needs an Ed25519 key")
		}
		return p, nil
	case "ES256":
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok || p.Curve != elliptic.P256() {
			return bad("needs an ECDSA key on P-256")
		}
		return p, nil
	case "RS256":
		p, ok := pub.(*rsa.PublicKey)
		if !ok {
			return bad("needs an RSA key")
		}
		if p.N.BitLen() < minRSABits {
			return bad(fmt.Sprintf("RSA keys must have at least %d bits", minRSABits))
		}
		return p, nil
	}
	return nil, fmt.Errorf("auth: unsupported asymmetric algorithm %q", alg)
}

// GenerateKey makes a new random signing key for alg (EdDSA, ES256,
// RS256 with 3072 bits, or HS256/HS384/HS512), named by its thumbprint (or,
// for HMAC, by a hash of the secret).
func GenerateKey(alg string) (*Key, error) {
	switch alg {
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return NewSigningKey("", alg, priv)
	case "ES256":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return NewSigningKey("", alg, priv)
	case "RS256":
		priv, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			return nil, err
		}
		return NewSigningKey("", alg, priv)
	case "HS256", "HS384", "HS512":
		secret := make([]byte, hmacMinBytes[alg])
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		return NewHMACKey("", alg, secret)
	}
	return nil, fmt.Errorf("auth: GenerateKey: unsupported algorithm %q", alg)
}

// ParseKeyPEM reads one key for alg from PEM: a "PRIVATE KEY" (PKCS #8),
// "EC PRIVATE KEY" or "RSA PRIVATE KEY" block gives a signing key, a
// "PUBLIC KEY" (PKIX) block a verification-only key. An empty kid is the
// key's thumbprint; an empty alg is the key type's one algorithm (EdDSA for
// Ed25519, ES256 for P-256, RS256 for RSA).
func ParseKeyPEM(kid, alg string, data []byte) (*Key, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("auth: ParseKeyPEM: no PEM block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("auth: ParseKeyPEM: more than one PEM block")
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
		return nil, fmt.Errorf("auth: ParseKeyPEM: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: ParseKeyPEM: %w", err)
	}
	signer, isSigner := parsed.(crypto.Signer)
	if alg == "" {
		pub := crypto.PublicKey(parsed)
		if isSigner {
			pub = signer.Public()
		}
		if alg = algorithmOf(pub); alg == "" {
			return nil, fmt.Errorf("auth: ParseKeyPEM: unsupported key type %T", pub)
		}
	}
	if isSigner {
		return NewSigningKey(kid, alg, signer)
	}
	return NewVerificationKey(kid, alg, parsed)
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

// LoadKeyFile reads a PEM key file (see ParseKeyPEM).
func LoadKeyFile(kid, alg, path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: LoadKeyFile: %w", err)
	}
	return ParseKeyPEM(kid, alg, data)
}

// MarshalPrivateKeyPEM encodes a signing key's private half as PKCS #8 PEM.
// HMAC keys are not PEM material and are refused.
func MarshalPrivateKeyPEM(k *Key) ([]byte, error) {
	if !k.CanSign() {
		return nil, errors.New("auth: MarshalPrivateKeyPEM: the key has no private half")
	}
	if _, ok := k.sign.([]byte); ok {
		return nil, errors.New("auth: MarshalPrivateKeyPEM: HMAC secrets are not PEM keys")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.sign)
	if err != nil {
		return nil, fmt.Errorf("auth: MarshalPrivateKeyPEM: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// SaveKeyFile writes a signing key's private half to path as PKCS #8 PEM,
// with mode 0600, atomically (a temporary file renamed into place), and
// refuses to overwrite an existing file.
func SaveKeyFile(path string, k *Key) error {
	data, err := MarshalPrivateKeyPEM(k)
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
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// A hard link fails if path exists, unlike rename.
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	return nil
}

// LoadOrGenerateKeyFile returns the key in the PEM file at path, or, if
// there is no such file, generates one for alg and saves it there (mode
// 0600). created reports which happened.
func LoadOrGenerateKeyFile(alg, path string) (k *Key, created bool, err error) {
	k, err = LoadKeyFile("", alg, path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if k, err = GenerateKey(alg); err != nil {
		return nil, false, err
	}
	if err := SaveKeyFile(path, k); err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			k, err = LoadKeyFile("", alg, path)
			return k, false, err
		}
		return nil, false, err
	}
	return k, true, nil
}

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of a
// public key.
func thumbprint(pub crypto.PublicKey) string {
	var members string
	switch p := pub.(type) {
	case ed25519.PublicKey:
		members = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64u(p))
	case *ecdsa.PublicKey:
		x, y := ecPoint(p)
		members = fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, b64u(x), b64u(y))
	case *rsa.PublicKey:
		members = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64u(big.NewInt(int64(p.E)).Bytes()), b64u(p.N.Bytes()))
	}
	sum := sha256.Sum256([]byte(members))
	return b64u(sum[:])
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ecPoint returns the coordinates of a P-256 public key, 32 bytes each
// (RFC 7518 §6.2.1.2), from its uncompressed encoding 04 || x || y.
func ecPoint(p *ecdsa.PublicKey) (x, y []byte) {
	b, err := p.Bytes()
	if err != nil || len(b) != 65 {
		return nil, nil // not a valid P-256 key: checkAsymmetric refuses those
	}
	return b[1:33], b[33:]
}

// jwk is the JSON form of a public key (RFC 7517, RFC 7518 §6, RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// publicJWK returns the public JWK of an asymmetric key, and false for an
// HMAC key (whose secret must never be published).
func (k *Key) publicJWK() (jwk, bool) {
	j := jwk{Kid: k.id, Alg: k.alg, Use: "sig"}
	switch p := k.verify.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64u(p)
	case *ecdsa.PublicKey:
		x, y := ecPoint(p)
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64u(x), b64u(y)
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64u(p.N.Bytes()), b64u(big.NewInt(int64(p.E)).Bytes())
	default:
		return jwk{}, false
	}
	return j, true
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of the set's public keys:
// every asymmetric key, the active one and those kept for verification.
// HMAC keys are never included.
func (s *KeySet) JWKS() []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range s.Keys() {
		if j, ok := k.publicJWK(); ok {
			set.Keys = append(set.Keys, j)
		}
	}
	out, _ := json.Marshal(set)
	return out
}
