package authhttp

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/goauthkit/auth"
)

// JWKSMaxAge is how long clients may cache the JWKS that JWKSHandler
// serves. Publish a new key (auth.KeySet.Add) at least this long before making
// it active, so every consumer has it when the first token signed by it
// arrives (consumers that use jwks.Remote also refetch on an unknown kid).
const JWKSMaxAge = 5 * time.Minute

// JWKSPath is where JWKSRoute serves the key set (RFC 8414 §3).
const JWKSPath = "/.well-known/jwks.json"

// JWKSHandler serves the public keys of ks as an RFC 7517 JSON Web Key Set,
// at GET (and HEAD), with Cache-Control allowing JWKSMaxAge of caching. It
// never includes a private or secret member, nor HMAC keys. With a nil ks
// (tokens signed with a shared secret, HS256, which has no public half) it
// answers 404 not_found.
func JWKSHandler(ks *auth.KeySet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteErrorFor(w, ErrMethodNotAllowed)
			return
		}
		if ks == nil {
			WriteErrorFor(w, errNoPublicKeys)
			return
		}
		body := ks.JWKS()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(JWKSMaxAge/time.Second)))
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}

// errNoPublicKeys is JWKSHandler's answer without a key set.
var errNoPublicKeys = errors.New("authhttp: no public keys: tokens are signed with a shared secret (HS256)")

// JWKSRoute is GET /.well-known/jwks.json serving JWKSHandler(ks).
func JWKSRoute(ks *auth.KeySet) Route {
	return route(http.MethodGet, JWKSPath, JWKSHandler(ks))
}
