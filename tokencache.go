package auth

import (
	"maps"
	"sync"
)

// defaultTokenCacheSize is VerifierConfig.TokenCacheSize's default.
const defaultTokenCacheSize = 1024

// tokenCache remembers access tokens that verified, so that a token
// presented again (a client sends the same one on every request until it
// expires) skips the signature check and the parsing.
//
// A hit is exact, not a shortcut on trust: what Verify decides is a function
// of the token's bytes (the map key), the key its kid names, the Verifier's
// fixed issuer, audience and leeway, and the clock. So a hit checks that
// the key source still gives the very same *Key for the kid (keys are
// immutable; a removed key, or a new key under the same kid, is a miss) and
// runs the time checks again (exp, nbf, iat). Anything else is a miss and
// goes through the full verification, which gives the exact error. Only
// tokens that verified are stored, so tokens an attacker makes up never
// take room. Revocation (logout-all, disabled or deleted users) is not the
// Verifier's business: Authenticate still looks the user up on every call.
type tokenCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]*cachedToken
}

type cachedToken struct {
	key    *Key
	claims *Claims // private: callers get a copy
}

func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	return &tokenCache{max: size, m: make(map[string]*cachedToken, min(size, 1024))}
}

func (tc *tokenCache) get(token string) *cachedToken {
	tc.mu.RLock()
	e := tc.m[token]
	tc.mu.RUnlock()
	return e
}

// put stores a verified token, evicting an arbitrary entry when full.
func (tc *tokenCache) put(token string, key *Key, c *Claims) {
	e := &cachedToken{key: key, claims: c.clone()}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if _, ok := tc.m[token]; !ok && len(tc.m) >= tc.max {
		for k := range tc.m { // map iteration starts at a random entry
			delete(tc.m, k)
			break
		}
	}
	tc.m[token] = e
}

// drop forgets token if it is still stored as e.
func (tc *tokenCache) drop(token string, e *cachedToken) {
	tc.mu.Lock()
	if tc.m[token] == e {
		delete(tc.m, token)
	}
	tc.mu.Unlock()
}

// clone returns a copy of c that shares nothing mutable with it: the
// audience, the methods and the map of extra claims are copied (the raw
// JSON values are never modified by this package). The usual audience and
// methods are copied within the claims' own allocation (a claimsBox): this
// runs on every request a cached token serves.
func (c *Claims) clone() *Claims {
	b := &claimsBox{Claims: *c}
	if c.Audience != nil {
		b.Audience = append(b.aud[:0:len(b.aud)], c.Audience...)
	}
	if c.Methods != nil {
		b.Methods = append(b.amr[:0:len(b.amr)], c.Methods...)
	}
	b.Extra = maps.Clone(c.Extra)
	return &b.Claims
}
