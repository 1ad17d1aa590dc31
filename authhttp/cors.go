package authhttp

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/rs/cors"
)

// CORS returns middleware that lets pages served from origins call the
// handlers it wraps from the browser (Cross-Origin Resource Sharing, with
// github.com/rs/cors): preflights from those origins are answered, and
// answers to them carry Access-Control-Allow-Origin with that one origin and
// Access-Control-Allow-Credentials, so that such a page may send the
// session cookie and an Authorization header. Requests from other origins
// get no Access-Control-* header, so the browser keeps the answer from
// their scripts. Each origin is scheme://host[:port] in lower case; "*" is
// refused, since a wildcard with credentials would let any site act as the
// user.
//
// CORS only lets a page read answers; it is not what refuses cross-site
// requests that use the cookie: the session endpoints do that themselves
// (see Config.TrustedOrigins, which should list the same origins). Wrap
// the whole router, outside anything that answers OPTIONS.
func CORS(origins []string) (func(http.Handler) http.Handler, error) {
	if len(origins) == 0 {
		return nil, errors.New("authhttp: CORS: no origins")
	}
	for i, o := range origins {
		if err := checkOrigin(o); err != nil {
			return nil, fmt.Errorf("authhttp: CORS: origin %d (%q): %w", i, o, err)
		}
	}
	c := cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders:   []string{"Authorization", "Content-Type"},
		ExposedHeaders:   []string{"Retry-After", "WWW-Authenticate"},
		AllowCredentials: true,
		MaxAge:           600,
	})
	return c.Handler, nil
}
