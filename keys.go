package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Key is one signing or verification key with its key id (kid) and the one
// algorithm it may be used with. A token is verified only with the key its
// kid names and only under that key's algorithm, which is what makes
// algorithm confusion and "alg: none" impossible. Keys are immutable.
type Key struct {
	id     string
	alg    string
	method jwt.SigningMethod
	sign   any // nil for a verification-only (public) key
	verify any
	// mac is set for HMAC keys: pre-keyed states used instead of method.
	mac *macPool
	// headers caches the encoded JOSE header per token type.
	accessHeader, refreshHeader string
}

// ID returns the key id, sent as the kid header.
func (k *Key) ID() string { return k.id }

// Algorithm returns the JWS alg the key is used with, such as "HS256".
func (k *Key) Algorithm() string { return k.alg }

// CanSign reports whether k holds private or secret material.
func (k *Key) CanSign() bool { return k.sign != nil }

// String returns a description of the key without its material.
func (k *Key) String() string { return fmt.Sprintf("%s key %q", k.alg, k.id) }

// hmacMinBytes is the minimum secret length per algorithm: the hash output
// size, as RFC 7518 §3.2 requires.
var hmacMinBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// NewHMACKey returns a key for HS256, HS384 or HS512. The secret is used as
// given, byte for byte (as PyJWT and python-jose use a string SECRET_KEY), and
// must be at least as long as the hash output (32, 48 or 64 bytes). An empty
// kid is replaced by one derived from the secret, so that the same secret
// gives the same kid across restarts. The secret is copied.
func NewHMACKey(kid, alg string, secret []byte) (*Key, error) {
	minLen, ok := hmacMinBytes[alg]
	if !ok {
		return nil, fmt.Errorf("auth: NewHMACKey: unsupported algorithm %q", alg)
	}
	if len(secret) < minLen {
		return nil, fmt.Errorf("%w: %s needs a secret of at least %d bytes, got %d", ErrWeakKey, alg, minLen, len(secret))
	}
	if kid == "" {
		kid = deriveKID(alg, secret)
	}
	s := append([]byte(nil), secret...)
	return newKey(kid, alg, jwt.GetSigningMethod(alg), s, s)
}

// deriveKID names a secret key by a domain-separated hash of it.
func deriveKID(alg string, secret []byte) string {
	h := sha256.New()
	h.Write([]byte("goauthkit kid v1\x00" + alg + "\x00"))
	h.Write(secret)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

func newKey(kid, alg string, method jwt.SigningMethod, sign, verify any) (*Key, error) {
	if method == nil || method.Alg() != alg {
		return nil, fmt.Errorf("auth: unsupported algorithm %q", alg)
	}
	if kid == "" || len(kid) > 128 {
		return nil, errors.New("auth: a key id must be 1 to 128 bytes")
	}
	k := &Key{id: kid, alg: alg, method: method, sign: sign, verify: verify}
	if secret, ok := sign.([]byte); ok {
		k.mac = newMACPool(alg, secret)
	}
	k.accessHeader = encodeHeader(alg, kid, typeAccess)
	k.refreshHeader = encodeHeader(alg, kid, typeRefresh)
	return k, nil
}

// KeySource gives the verification key for a kid. A KeySet is one; a source
// that fetches a remote JWKS (jwks.Remote) is another. Implementations return an error
// wrapping ErrUnknownKey for a kid they do not hold.
type KeySource interface {
	VerificationKey(ctx context.Context, kid string) (*Key, error)
}

// KeySet holds one active signing key and any number of verification-only
// keys, and supports rotation without a restart: Add a new key, SetActive it,
// and Remove the old one once every token it signed has expired. A KeySet is
// safe for concurrent use; verification never takes a lock.
type KeySet struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[keySnapshot]
}

type keySnapshot struct {
	active *Key
	byID   map[string]*Key
}

// NewKeySet returns a set whose signing key is active and which also
// verifies with others.
func NewKeySet(active *Key, others ...*Key) (*KeySet, error) {
	if active == nil || !active.CanSign() {
		return nil, errors.New("auth: NewKeySet: the active key must be able to sign")
	}
	snap := &keySnapshot{active: active, byID: map[string]*Key{active.id: active}}
	for _, k := range others {
		if _, dup := snap.byID[k.id]; dup {
			return nil, fmt.Errorf("auth: NewKeySet: duplicate kid %q", k.id)
		}
		snap.byID[k.id] = k
	}
	s := &KeySet{}
	s.snap.Store(snap)
	return s, nil
}

// Active returns the key new tokens are signed with.
func (s *KeySet) Active() *Key { return s.snap.Load().active }

// Keys returns every key of the set, the active one first.
func (s *KeySet) Keys() []*Key {
	snap := s.snap.Load()
	out := []*Key{snap.active}
	for _, k := range snap.byID {
		if k != snap.active {
			out = append(out, k)
		}
	}
	return out
}

// VerificationKey implements KeySource.
func (s *KeySet) VerificationKey(_ context.Context, kid string) (*Key, error) {
	if k, ok := s.snap.Load().byID[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// Add adds a key for verification. Its kid must be new to the set.
func (s *KeySet) Add(k *Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load()
	if _, dup := old.byID[k.id]; dup {
		return fmt.Errorf("auth: KeySet.Add: duplicate kid %q", k.id)
	}
	next := old.clone()
	next.byID[k.id] = k
	s.snap.Store(next)
	return nil
}

// SetActive makes the key with this kid, which must be in the set and able
// to sign, the one new tokens are signed with. The previous active key stays
// in the set for verification.
func (s *KeySet) SetActive(kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load()
	k, ok := old.byID[kid]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownKey, kid)
	}
	if !k.CanSign() {
		return fmt.Errorf("auth: KeySet.SetActive: key %q cannot sign", kid)
	}
	next := old.clone()
	next.active = k
	s.snap.Store(next)
	return nil
}

// Remove drops a key: tokens it signed stop verifying at once. The active
// key cannot be removed.
func (s *KeySet) Remove(kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.snap.Load()
	if old.active.id == kid {
		return fmt.Errorf("auth: KeySet.Remove: %q is the active key", kid)
	}
	if _, ok := old.byID[kid]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownKey, kid)
	}
	next := old.clone()
	delete(next.byID, kid)
	s.snap.Store(next)
	return nil
}

func (s *keySnapshot) clone() *keySnapshot {
	c := &keySnapshot{active: s.active, byID: make(map[string]*Key, len(s.byID)+1)}
	for id, k := range s.byID {
		c.byID[id] = k
	}
	return c
}

// signature signs input with k: through the pre-keyed HMAC states for an
// HMAC key, through golang-jwt's signing method otherwise. HMAC, Ed25519
// and RSA PKCS #1 v1.5 signatures are deterministic; ECDSA's are not,
// unless deterministic asks for RFC 6979 signatures, as refresh tokens do
// (a refresh token presented again within the grace period gets the very
// token its first presentation received, signed again).
func (k *Key) signature(input string, deterministic bool) ([]byte, error) {
	if k.mac != nil {
		return k.mac.sum(nil, input), nil
	}
	if priv, ok := k.sign.(*ecdsa.PrivateKey); ok && deterministic {
		return signECDSADeterministic(priv, input)
	}
	return k.method.Sign(input, k.sign)
}

// signECDSADeterministic signs input with ES256 (P-256, SHA-256) as RFC
// 6979 specifies, which crypto/ecdsa does when given no random source, and
// returns the JWS form of the signature: r and s, 32 bytes each (RFC 7518
// §3.4).
func signECDSADeterministic(priv *ecdsa.PrivateKey, input string) ([]byte, error) {
	digest := sha256.Sum256([]byte(input))
	der, err := priv.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var (
		seq  = cryptobyte.String(der)
		body cryptobyte.String
		r, s []byte
	)
	if !seq.ReadASN1(&body, asn1.SEQUENCE) || !seq.Empty() ||
		!body.ReadASN1Bytes(&r, asn1.INTEGER) || !body.ReadASN1Bytes(&s, asn1.INTEGER) || !body.Empty() {
		return nil, errors.New("auth: ECDSA signature: unexpected encoding")
	}
	out := make([]byte, 64)
	for i, v := range [][]byte{r, s} {
		v = bytes.TrimLeft(v, "\x00")
		if len(v) > 32 {
			return nil, errors.New("auth: ECDSA signature: integer too long")
		}
		copy(out[32*(i+1)-len(v):], v)
	}
	return out, nil
}

// checkSignature verifies sig over input with k, under k's algorithm only.
func (k *Key) checkSignature(input string, sig []byte) error {
	if k.mac != nil {
		return k.mac.verify(input, sig)
	}
	return k.method.Verify(input, sig, k.verify)
}
