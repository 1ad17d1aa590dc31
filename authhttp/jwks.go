package authhttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/goauthkit/auth"
)

// JWKSMaxAge is how long clients may cache the JWKS that JWKSHandler
// serves. Publish a new key (auth.KeySet.Add) at least this long before making
// it active, so every consumer has it when the first token signed by it
// arrives (consumers that use RemoteKeySet also refetch on an unknown kid).
const JWKSMaxAge = 5 * time.Minute

// JWKSHandler serves the public keys of ks as an RFC 7517 JSON Web Key Set,
// at GET (and HEAD), with Cache-Control allowing JWKSMaxAge of caching. It
// never includes a private or secret member, nor HMAC keys.
func JWKSHandler(ks *auth.KeySet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
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
