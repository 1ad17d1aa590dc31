package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// asymmetric are the ID-token algorithms this package accepts at all:
// never none, never HMAC (whose key would be the client secret).
var asymmetric = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// signingAlgs returns those of listed (a discovery document's
// id_token_signing_alg_values_supported) that are asymmetric; RS256 when
// none is listed, as OpenID Connect Discovery says.
func signingAlgs(listed []string) []string {
	if len(listed) == 0 {
		return []string{string(jose.RS256)}
	}
	var out []string
	for _, a := range listed {
		for _, ok := range asymmetric {
			if a == string(ok) {
				out = append(out, a)
			}
		}
	}
	return out
}

// refetchEvery bounds the JWKS fetches a key id that is not in the cached
// set causes.
const refetchEvery = time.Minute

// maxJWKSBytes bounds a provider's JWKS document.
const maxJWKSBytes = 1 << 20

// keySet is a provider's JWKS (go-oidc's KeySet): fetched when first
// needed, and again when a token names a key id it does not hold, at most
// once a minute. A key verifies only with the algorithm it allows: its
// alg, or, for a key without one, an algorithm of its key type that the
// provider's discovery lists.
type keySet struct {
	url    string
	client *http.Client
	algs   []string
	now    func() time.Time

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time // zero: never
}

// errUnavailable marks a failure to get the keys: the provider's fault,
// not the token's.
type errUnavailable struct{ err error }

func (e *errUnavailable) Error() string {
	return "oidc: fetching the provider's keys: " + e.err.Error()
}
func (e *errUnavailable) Unwrap() error { return ErrProviderUnavailable }

// keysFailed is the context key of the slot where VerifySignature puts a
// failure to get the keys: go-oidc's Verify does not wrap its KeySet's
// error, and the caller must tell a provider that cannot be reached (502)
// from a token that is wrong (400).
type keysFailed struct{}

// withKeysFailed returns ctx with a slot for a failure to get the keys.
func withKeysFailed(ctx context.Context, slot *error) context.Context {
	return context.WithValue(ctx, keysFailed{}, slot)
}

// VerifySignature verifies raw's signature by a key of the set, and
// returns its payload.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, asymmetric)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed ID token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: an ID token has exactly one signature")
	}
	h := jws.Signatures[0].Header
	fail := func(err error) ([]byte, error) {
		if slot, ok := ctx.Value(keysFailed{}).(*error); ok {
			*slot = err
		}
		return nil, err
	}
	keys, fresh, err := k.candidates(ctx, h.KeyID, false)
	if err != nil {
		return fail(err)
	}
	if payload, ok := k.verify(jws, keys, h.Algorithm); ok {
		return payload, nil
	}
	if !fresh && h.KeyID == "" {
		// A token without a key id that no cached key verifies: the
		// provider may have rotated its keys.
		if keys, fresh, err = k.candidates(ctx, "", true); err != nil {
			return fail(err)
		}
		if payload, ok := k.verify(jws, keys, h.Algorithm); fresh && ok {
			return payload, nil
		}
	}
	return nil, errors.New("oidc: no key of the provider verifies the ID token with its algorithm")
}

// verify verifies jws with the first of keys that allows alg and
// verifies it.
func (k *keySet) verify(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, alg string) ([]byte, bool) {
	for i := range keys {
		if !k.allows(&keys[i], alg) {
			continue
		}
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// candidates returns the keys that may have signed a token naming kid
// (every key for a token without one), fetching the set when it was never
// fetched, or, when no key has kid (or with again), when the last fetch is
// a minute old; fresh reports a fetch now.
func (k *keySet) candidates(ctx context.Context, kid string, again bool) (keys []jose.JSONWebKey, fresh bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	match := func() []jose.JSONWebKey {
		if kid == "" {
			return k.keys
		}
		var out []jose.JSONWebKey
		for _, key := range k.keys {
			if key.KeyID == kid {
				out = append(out, key)
			}
		}
		return out
	}
	if !k.fetched.IsZero() {
		if m := match(); (len(m) > 0 && !again) || k.now().Sub(k.fetched) < refetchEvery {
			return m, false, nil
		}
	}
	fetched, err := k.fetch(ctx)
	if err != nil {
		return nil, false, err
	}
	k.keys, k.fetched = fetched, k.now()
	return match(), true, nil
}

// fetch reads the provider's JWKS.
func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, &errUnavailable{err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, &errUnavailable{err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	switch {
	case err != nil:
		return nil, &errUnavailable{err}
	case resp.StatusCode != http.StatusOK:
		return nil, &errUnavailable{fmt.Errorf("%s answered %s", k.url, resp.Status)}
	case len(body) > maxJWKSBytes:
		return nil, &errUnavailable{fmt.Errorf("%s answered more than %d bytes", k.url, maxJWKSBytes)}
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "" && ct != "application/json" && ct != "application/jwk-set+json" {
		return nil, &errUnavailable{fmt.Errorf("%s answered %s, not JSON", k.url, ct)}
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, &errUnavailable{fmt.Errorf("%s: not a JWKS: %w", k.url, err)}
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			continue // a key of a kind go-jose does not know: not one to verify with
		}
		if key.IsPublic() && (key.Use == "" || key.Use == "sig") {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// allows reports whether key may verify a signature of algorithm alg.
func (k *keySet) allows(key *jose.JSONWebKey, alg string) bool {
	if key.Algorithm != "" {
		return key.Algorithm == alg
	}
	if !contains(k.algs, alg) {
		return false
	}
	switch pub := key.Key.(type) {
	case *rsa.PublicKey:
		return alg[:2] == "RS" || alg[:2] == "PS"
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return alg == "ES256"
		case elliptic.P384():
			return alg == "ES384"
		case elliptic.P521():
			return alg == "ES512"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
