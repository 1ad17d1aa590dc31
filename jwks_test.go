package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestJWKS checks the key set a KeySet publishes: its public keys only,
// each with kid, alg and use, and nothing private; it parses back.
// (authhttp's TestJWKSHandler serves it.)
func TestJWKS(t *testing.T) {
	ed, es, rs := testAsymKey(t, "EdDSA"), testAsymKey(t, "ES256"), testAsymKey(t, "RS256")
	hs := testAsymKey(t, "HS256")
	ks, _ := NewKeySet(ed, es, rs, hs)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(ks.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 3 {
		t.Fatalf("%d keys, want the 3 asymmetric ones", len(set.Keys))
	}
	wantKty := map[string]string{"EdDSA": "OKP", "ES256": "EC", "RS256": "RSA"}
	for _, k := range set.Keys {
		if k["use"] != "sig" || k["kid"] == "" || wantKty[k["alg"]] != k["kty"] {
			t.Errorf("key %v", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key holds private member %q", private)
			}
		}
	}
	// What we publish parses back to the same keys.
	keys, err := ParseJWKS(ks.JWKS())
	if err != nil || len(keys) != 3 {
		t.Fatalf("ParseJWKS(our JWKS) = %d keys, %v", len(keys), err)
	}
	// An HMAC-only set publishes nothing.
	only, _ := NewKeySet(hs)
	if got := string(only.JWKS()); got != `{"keys":[]}` {
		t.Fatalf("HMAC JWKS = %s", got)
	}
}

// serveJWKS serves the key set of ks, as authhttp.JWKSHandler does.
func serveJWKS(ks *KeySet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ks.JWKS())
	})
}

func TestParseJWKS(t *testing.T) {
	ed := testAsymKey(t, "EdDSA")
	j, _ := ed.publicJWK()
	good, _ := json.Marshal(j)
	withMember := func(name, value string) string {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		if value == "" {
			delete(m, name)
		} else {
			m[name] = value
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	set := func(keys ...string) []byte { return []byte(`{"keys":[` + strings.Join(keys, ",") + `]}`) }
	tests := []struct {
		name string
		data []byte
		keys int
		ok   bool
	}{
		{"one key", set(string(good)), 1, true},
		{"private member ignored", set(withMember("d", "AAAA")), 1, true},
		{"no alg (inferred)", set(withMember("alg", "")), 1, true},
		{"no use", set(withMember("use", "")), 1, true},
		{"encryption key skipped", set(withMember("use", "enc")), 0, true},
		{"alg mismatch skipped", set(withMember("alg", "ES256")), 0, true},
		{"oct key skipped", set(`{"kty":"oct","kid":"h","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`), 0, true},
		{"X25519 skipped", set(withMember("crv", "X25519")), 0, true},
		{"empty set", set(), 0, true},
		{"no kid", set(withMember("kid", "")), 0, false},
		{"bad x", set(withMember("x", "AAAA")), 0, false},
		{"padded x", set(withMember("x", j.X+"=")), 0, false},
		{"duplicate kid", set(string(good), string(good)), 0, false},
		{"EC point off curve", set(`{"kty":"EC","crv":"P-256","kid":"e","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}`), 0, false},
		{"RSA too small", set(`{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}`), 0, false},
		{"RSA even exponent", set(`{"kty":"RSA","kid":"r","n":"` + strings.Repeat("A", 342) + `","e":"Ag"}`), 0, false},
		{"not JSON", []byte("nope"), 0, false},
		{"no keys", []byte(`{}`), 0, false},
		{"keys not an array", []byte(`{"keys":{}}`), 0, false},
		{"duplicate keys member", []byte(`{"keys":[],"keys":[` + string(good) + `]}`), 0, false},
		{"kid not a string", set(strings.Replace(string(good), `"kid":"`+j.Kid+`"`, `"kid":5`, 1)), 0, false},
		{"too large", append([]byte(`{"keys":[],"x":"`), append([]byte(strings.Repeat("a", 1<<20)), '"', '}')...), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseJWKS(tc.data)
			if (err == nil) != tc.ok || len(keys) != tc.keys {
				t.Fatalf("ParseJWKS = %d keys, %v; want %d, ok=%v", len(keys), err, tc.keys, tc.ok)
			}
			for _, k := range keys {
				if k.CanSign() {
					t.Fatal("a JWKS key can sign")
				}
			}
		})
	}
}

// jwksServer serves a key set's JWKS and counts requests.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int32
	down atomic.Bool
}

func newJWKSServer(t *testing.T, ks *KeySet) *jwksServer {
	s := &jwksServer{}
	h := serveJWKS(ks)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRemoteKeySet(t *testing.T) {
	clock := newTestClock()
	issuerKeys, _ := NewKeySet(testAsymKey(t, "EdDSA"))
	srv := newJWKSServer(t, issuerKeys)
	remote, err := NewRemoteKeySet(RemoteKeySetConfig{URL: srv.URL, Now: clock.Now, RefreshInterval: 10 * time.Minute, MinRefreshInterval: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v := testVerifier(t, remote, clock)
	ctx := context.Background()

	tok := signTest(t, issuerKeys.Active(), clock.Now())
	for range 10 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches for 10 verifications, want 1 (cached)", n)
	}

	// A flood of made-up kids costs at most one fetch per MinRefreshInterval.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forged := forge(t, fmt.Sprintf(`{"alg":"EdDSA","kid":"made-up-%d","typ":"at+jwt"}`, i), claimsJSON(clock.Now(), nil), testSecret)
			if _, err := v.Verify(ctx, forged); !errors.Is(err, ErrTokenSignature) {
				t.Errorf("made-up kid = %v", err)
			}
		}()
	}
	wg.Wait()
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches after a made-up kid flood within MinRefreshInterval, want still 1", n)
	}

	// Rotation at the issuer: a new kid is fetched once MinRefreshInterval
	// has passed.
	next := testAsymKey(t, "ES256")
	_ = issuerKeys.Add(next)
	_ = issuerKeys.SetActive(next.ID())
	tok2 := signTest(t, next, clock.Now())
	if _, err := v.Verify(ctx, tok2); err == nil {
		t.Fatal("new kid verified before a refetch was allowed")
	}
	clock.Advance(31 * time.Second)
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Fatalf("new kid after MinRefreshInterval: %v", err)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	// The issuer goes down: known keys keep working, even when stale.
	srv.down.Store(true)
	clock.Advance(11 * time.Minute)
	tok3 := signTest(t, next, clock.Now())
	if _, err := v.Verify(ctx, tok3); err != nil {
		t.Fatalf("known key while the issuer is down: %v", err)
	}
	// It comes back: the stale set is refreshed on schedule, and a dropped
	// key stops verifying.
	srv.down.Store(false)
	_ = issuerKeys.Remove(testAsymKey(t, "EdDSA").ID())
	clock.Advance(time.Minute)
	if _, err := v.Verify(ctx, tok3); err != nil {
		t.Fatal(err)
	}
	tokOld := signTest(t, testAsymKey(t, "EdDSA"), clock.Now())
	if _, err := v.Verify(ctx, tokOld); !errors.Is(err, ErrTokenSignature) {
		t.Fatalf("token of a key the issuer dropped = %v", err)
	}
	if _, err := NewRemoteKeySet(RemoteKeySetConfig{}); err == nil {
		t.Fatal("NewRemoteKeySet without a URL")
	}
}

// TestRemoteVerificationAgainstServer runs an issuing Authenticator behind
// a JWKS endpoint, and a claims-only consumer service that verifies its
// tokens through a RemoteKeySet and Verifier.Middleware.
func TestRemoteVerificationAgainstServer(t *testing.T) {
	ks, _ := NewKeySet(testAsymKey(t, "EdDSA"))
	f := newFixture(t, func(c *Config) { c.SecretKey = nil; c.Keys = ks; c.Now = nil })
	f.register(t, "alice", "correct horse battery")
	p := f.login(t, "alice", "correct horse battery")
	issuer := newJWKSServer(t, ks)

	remote, _ := NewRemoteKeySet(RemoteKeySetConfig{URL: issuer.URL})
	v, err := NewVerifier(VerifierConfig{Keys: remote, Issuer: "goauthkit", Audience: "goauthkit"})
	if err != nil {
		t.Fatal(err)
	}
	consumer := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := ClaimsFromContext(r.Context())
		_, hasUser := UserFromContext(r.Context())
		fmt.Fprintf(w, "%s %v", c.Subject, hasUser)
	}))
	for _, tc := range []struct {
		auth   string
		status int
		body   string
	}{
		{"Bearer " + p.AccessToken, 200, " false"},
		{"Bearer " + p.RefreshToken, 401, "invalid_token"},
		{"", 401, "unauthorized"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		consumer.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%.20q: %d %s", tc.auth, rec.Code, rec.Body)
		}
	}
}

// TestPyJWTInterop has Debian's PyJWT, an implementation none of us wrote,
// verify our token through its PyJWKClient on our JWKS URL, and sign a
// token with a key of ours that our verifier must accept.
func TestPyJWTInterop(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("/usr/bin/python3 is missing; .ci/run installs python3-jwt and python3-cryptography")
	}
	if out, err := exec.Command(python, "-c", "import jwt, cryptography; from jwt import PyJWKClient").CombinedOutput(); err != nil {
		t.Skipf("PyJWT or cryptography missing for %s (apt-get install python3-jwt python3-cryptography): %s", python, out)
	}
	dir := t.TempDir()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			k := testAsymKey(t, alg)
			ks, _ := NewKeySet(k)
			f := newFixture(t, func(c *Config) { c.SecretKey = nil; c.Keys = ks; c.Now = nil })
			f.register(t, "alice", "correct horse battery")
			p := f.login(t, "alice", "correct horse battery")
			srv := newJWKSServer(t, ks)
			keyPath := filepath.Join(dir, alg+".pem")
			pemKey, err := k.PrivateKeyPEM()
			if err == nil {
				err = os.WriteFile(keyPath, pemKey, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(python, filepath.Join("testdata", "pyjwt_interop.py"), srv.URL, p.AccessToken, keyPath, alg, k.ID())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("PyJWT: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 2 || lines[0] != "verified "+p.AccessToken[len(p.AccessToken)-8:] {
				t.Fatalf("PyJWT output:\n%s", out)
			}
			// The token PyJWT signed verifies here.
			u, c, err := f.a.Authenticate(context.Background(), lines[1])
			if err != nil {
				t.Fatalf("our verifier refused PyJWT's token: %v", err)
			}
			if u.Username != "alice" || c.ID != "pyjwt" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// FuzzParseJWKS feeds arbitrary bytes to the JWKS parser: it must never
// panic, and every key it returns is a verification-only key of a supported
// algorithm.
func FuzzParseJWKS(f *testing.F) {
	requireSeeds(f, 5)
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseJWKS(data)
		if err != nil && keys != nil {
			t.Fatal("keys returned with an error")
		}
		for _, k := range keys {
			if k.CanSign() || k.ID() == "" {
				t.Fatalf("bad key %v", k)
			}
			switch k.Algorithm() {
			case "EdDSA", "ES256", "RS256":
			default:
				t.Fatalf("key of algorithm %s", k.Algorithm())
			}
		}
	})
}
