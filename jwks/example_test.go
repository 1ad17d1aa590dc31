package jwks_test

import (
	"fmt"
	"net/http"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/jwks"
)

// A consumer service: no secret and no store. It verifies the issuer's
// access tokens with the keys of its JWKS, fetched on first use, cached,
// refreshed every 10 minutes and on an unknown kid (at most every 30
// seconds).
func ExampleNewRemote() {
	remote, err := jwks.NewRemote(jwks.Config{URL: "https://auth.example.com/.well-known/jwks.json"})
	if err != nil {
		panic(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: remote, Issuer: "goauthkit", Audience: "goauthkit"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := auth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "orders of user %s\n", claims.Subject)
	})))
}

// Parse reads a key set, here the RSA key of RFC 7638 §3.1; keys of other
// types, or for encryption, are skipped.
func ExampleParse() {
	keys, err := jwks.Parse([]byte(`{"keys":[
		{"kty":"RSA","kid":"2011-04-29","alg":"RS256","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
		{"kty":"EC","crv":"P-256","kid":"enc-1","use":"enc","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
	]}`))
	if err != nil {
		panic(err)
	}
	for _, k := range keys {
		fmt.Println(k.ID(), k.Algorithm(), k.CanSign())
	}
	// Output:
	// 2011-04-29 RS256 false
}
