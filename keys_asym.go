package auth

import (
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

// PrivateKeyPEM encodes the private half of an asymmetric signing key as
// PKCS #8 PEM, as package keyfile saves it. A verification-only key, and an
// HMAC secret (not PEM material), are refused.
func (k *Key) PrivateKeyPEM() ([]byte, error) {
	if !k.CanSign() {
		return nil, errors.New("auth: Key.PrivateKeyPEM: the key has no private half")
	}
	if _, ok := k.sign.([]byte); ok {
		return nil, errors.New("auth: Key.PrivateKeyPEM: HMAC secrets are not PEM keys")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.sign)
	if err != nil {
		return nil, fmt.Errorf("auth: Key.PrivateKeyPEM: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
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
