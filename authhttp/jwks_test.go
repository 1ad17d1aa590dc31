package authhttp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goauthkit/auth"
)

func TestJWKSHandler(t *testing.T) {
	var keys []*auth.Key
	for _, alg := range []string{"EdDSA", "ES256", "RS256", "HS256"} {
		k, err := auth.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ks, _ := auth.NewKeySet(keys[0], keys[1:]...)
	srv := httptest.NewServer(JWKSHandler(ks))
	defer srv.Close()

	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		decodeErr := json.NewDecoder(resp.Body).Decode(&set)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
			resp.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("%s: %d %v", method, resp.StatusCode, resp.Header)
		}
		if method == "GET" && (decodeErr != nil || len(set.Keys) != 3) {
			t.Fatalf("GET: %d keys (%v), want the 3 asymmetric ones", len(set.Keys), decodeErr)
		}
	}
	// Only GET and HEAD.
	r, _ := http.Post(srv.URL, "application/json", nil)
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST = %d, Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
}
