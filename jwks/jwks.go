// Package jwks verifies tokens with the keys an issuer publishes as a JSON
// Web Key Set (RFC 7517), for a service that accepts an auth issuer's
// tokens without holding its signing key or its user store:
//
//	remote, err := jwks.NewRemote(jwks.Config{URL: "https://auth.example.com/.well-known/jwks.json"})
//	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: remote, Issuer: "goauthkit", Audience: "goauthkit"})
//	mux.Handle("GET /orders", v.Middleware(orders))
//
// Remote is the auth.KeySource that fetches and caches the set; Parse reads
// a set. The issuer's side is auth.KeySet.JWKS and authhttp.JWKSHandler.
package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/strictjson"
)

// JWKS parsing limits.
const (
	maxJWKSBytes = 1 << 20
	maxJWKSKeys  = 100
)

// Parse reads a JSON Web Key Set and returns its usable verification
// keys: EdDSA (OKP Ed25519), ES256 (EC P-256) and RS256 (RSA of 2048 bits
// or more) signature keys with a kid. Keys of other types or uses are
// skipped; symmetric ("oct") keys are never accepted from a key set. A
// malformed set, a malformed key of a supported type, or two keys with one
// kid is an error.
func Parse(data []byte) ([]*auth.Key, error) {
	if len(data) > maxJWKSBytes {
		return nil, errors.New("jwks: larger than 1 MiB")
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := strictjson.Scan(data, strictjson.Token, func(name, value []byte) error {
		if string(name) == "keys" {
			return json.Unmarshal(value, &set.Keys)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New("jwks: no keys array")
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("jwks: more than %d keys", maxJWKSKeys)
	}
	var keys []*auth.Key
	seen := map[string]bool{}
	for i, raw := range set.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("jwks: key %d: %w", i, err)
		}
		if k == nil {
			continue
		}
		if seen[k.ID()] {
			return nil, fmt.Errorf("jwks: duplicate kid %q", k.ID())
		}
		seen[k.ID()] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// parseJWK returns the key of one JWK, nil (and no error) for a key this
// library does not verify with.
func parseJWK(raw []byte) (*auth.Key, error) {
	var j struct{ Kty, Kid, Alg, Use, Crv, X, Y, N, E string }
	var useSet bool
	err := strictjson.Scan(raw, strictjson.Token, func(name, value []byte) error {
		var dst *string
		switch string(name) {
		case "kty":
			dst = &j.Kty
		case "kid":
			dst = &j.Kid
		case "alg":
			dst = &j.Alg
		case "use":
			dst, useSet = &j.Use, true
		case "crv":
			dst = &j.Crv
		case "x":
			dst = &j.X
		case "y":
			dst = &j.Y
		case "n":
			dst = &j.N
		case "e":
			dst = &j.E
		default:
			return nil // key_ops, x5c, private members...: not used
		}
		s, err := strictjson.String(value)
		if err != nil {
			return fmt.Errorf("member %q: %w", name, err)
		}
		*dst = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	if useSet && j.Use != "sig" {
		return nil, nil
	}
	want := map[string]string{"OKP": "EdDSA", "EC": "ES256", "RSA": "RS256"}[j.Kty]
	if want == "" || (j.Kty == "OKP" && j.Crv != "Ed25519") || (j.Kty == "EC" && j.Crv != "P-256") {
		return nil, nil // oct, other curves, encryption keys: never ours
	}
	if j.Alg != "" && j.Alg != want {
		return nil, nil
	}
	if j.Kid == "" {
		return nil, errors.New("no kid")
	}
	dec := func(s string) ([]byte, error) { return base64.RawURLEncoding.Strict().DecodeString(s) }
	switch j.Kty {
	case "OKP":
		x, err := dec(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 x")
		}
		return auth.NewVerificationKey(j.Kid, want, ed25519.PublicKey(x))
	case "EC":
		x, errX := dec(j.X)
		y, errY := dec(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad P-256 coordinates")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("P-256 point not on the curve")
		}
		return auth.NewVerificationKey(j.Kid, want, pub)
	default: // RSA
		n, errN := dec(j.N)
		e, errE := dec(j.E)
		if errN != nil || errE != nil || len(n) == 0 || n[0] == 0 || len(e) == 0 || len(e) > 4 || e[0] == 0 {
			return nil, errors.New("bad RSA modulus or exponent")
		}
		exp := new(big.Int).SetBytes(e).Int64()
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New("bad RSA exponent")
		}
		return auth.NewVerificationKey(j.Kid, want, &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)})
	}
}

// Config configures a Remote.
type Config struct {
	// URL of the issuer's JWKS, such as
	// "https://auth.example.com/.well-known/jwks.json". Required.
	URL string
	// Client makes the requests. Default: a client with a 10-second timeout.
	Client *http.Client
	// RefreshInterval is how old the cached set may grow before the next
	// verification fetches it again. Default 10 minutes.
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches, however
	// many unknown kids arrive, so a flood of made-up kids cannot hammer the
	// issuer. Default 30 seconds.
	MinRefreshInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Remote is an auth.KeySource that verifies with the keys an issuer
// publishes as a JWKS: for a service that accepts this library's tokens
// without holding the signing key or a user store. It fetches the set
// lazily: on first use, when it is older than RefreshInterval, and when a
// token names an unknown kid — at most once per MinRefreshInterval. If a
// fetch fails, it goes on with the keys it has. It starts no goroutine and
// is safe for concurrent use.
type Remote struct {
	c    Config
	keys atomic.Pointer[remoteKeys]
	mu   sync.Mutex    // guards the fields below
	wait chan struct{} // closed when the fetch under way ends; nil if none
	last time.Time     // start of the last fetch attempt
	err  error         // error of the last fetch
}

// remoteKeys is an immutable snapshot of a fetched key set, read without a
// lock on every verification.
type remoteKeys struct {
	byID    map[string]*auth.Key
	fetched time.Time // zero before the first successful fetch
}

// NewRemote returns a Remote for the set at c.URL; it fetches nothing yet.
func NewRemote(c Config) (*Remote, error) {
	if c.URL == "" {
		return nil, errors.New("jwks: Config.URL is required")
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = 10 * time.Minute
	}
	if c.MinRefreshInterval <= 0 {
		c.MinRefreshInterval = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	r := &Remote{c: c}
	r.keys.Store(&remoteKeys{})
	return r, nil
}

// VerificationKey implements auth.KeySource: the key of kid in the cached
// set, fetching the set first if it is older than RefreshInterval or lacks
// kid (at most once per MinRefreshInterval). An error wraps
// auth.ErrUnknownKey.
func (r *Remote) VerificationKey(ctx context.Context, kid string) (*auth.Key, error) {
	snap := r.keys.Load()
	k, ok := snap.byID[kid]
	if ok && r.c.Now().Sub(snap.fetched) < r.c.RefreshInterval {
		return k, nil
	}
	if err := r.refresh(ctx); err != nil && !ok {
		return nil, fmt.Errorf("%w: %q (fetching the JWKS: %w)", auth.ErrUnknownKey, kid, err)
	}
	if k, ok := r.keys.Load().byID[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: %q", auth.ErrUnknownKey, kid)
}

// Refresh fetches the set now, unless a fetch happened less than
// MinRefreshInterval ago.
func (r *Remote) Refresh(ctx context.Context) error { return r.refresh(ctx) }

// refresh fetches the set, sharing a fetch already under way, and skipping
// one that would come less than MinRefreshInterval after the last.
func (r *Remote) refresh(ctx context.Context) error {
	r.mu.Lock()
	if r.wait != nil { // join the fetch under way
		wait := r.wait
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.err
	}
	now := r.c.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.c.MinRefreshInterval {
		err := r.err
		r.mu.Unlock()
		return err
	}
	r.last = now
	wait := make(chan struct{})
	r.wait = wait
	r.mu.Unlock()

	keys, err := r.fetch(ctx)

	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		m := make(map[string]*auth.Key, len(keys))
		for _, k := range keys {
			m[k.ID()] = k
		}
		r.keys.Store(&remoteKeys{byID: m, fetched: r.c.Now()})
	}
	r.err = err
	r.wait = nil
	close(wait)
	return err
}

// fetch GETs the set and parses it.
func (r *Remote) fetch(ctx context.Context) ([]*auth.Key, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.c.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.c.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	return Parse(body)
}
