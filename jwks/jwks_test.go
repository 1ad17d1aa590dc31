package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/jwks"
)

// generated holds one key per algorithm, shared by the tests (RSA keys are
// slow to make).
var generated sync.Map

func testKey(t testing.TB, alg string) *auth.Key {
	t.Helper()
	if k, ok := generated.Load(alg); ok {
		return k.(*auth.Key)
	}
	k, err := auth.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := generated.LoadOrStore(alg, k)
	return stored.(*auth.Key)
}

func keySet(t testing.TB, active *auth.Key, others ...*auth.Key) *auth.KeySet {
	t.Helper()
	ks, err := auth.NewKeySet(active, others...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// noStore is a Store that holds nothing: the issuers here only sign
// access tokens (Authenticator.IssueAccessToken), which reads no store, so
// a call to any of its methods would be a test bug and panics.
type noStore struct{ auth.Store }

// issuer signs access tokens with the active key of ks, as a real issuer
// does, dated by clock (time.Now if nil), for the issuer and audience
// "goauthkit".
type issuer struct{ a *auth.Authenticator }

func newIssuer(t testing.TB, ks *auth.KeySet, clock *authtest.Clock) issuer {
	t.Helper()
	c := auth.Config{Store: noStore{}, Keys: ks}
	if clock != nil {
		c.Now = clock.Now
	}
	a, err := auth.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return issuer{a}
}

func (i issuer) token(t testing.TB) string {
	t.Helper()
	tok, err := i.a.IssueAccessToken(context.Background(), &auth.User{ID: "user-1", Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned builds a token of a raw header and raw claims with a signature
// of junk: enough for tokens whose kid no key set holds.
func unsigned(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + enc(make([]byte, 64))
}

// serveJWKS serves the key set of ks, as authhttp.JWKSHandler does.
func serveJWKS(ks *auth.KeySet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ks.JWKS())
	})
}

// jwksServer serves a key set's JWKS and counts requests.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int32
	down atomic.Bool
}

func newJWKSServer(t testing.TB, ks *auth.KeySet) *jwksServer {
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

// TestParseKeySetJWKS checks that what a KeySet publishes parses back to
// its asymmetric keys, verification-only, under the same kids and
// algorithms; HMAC keys are never published.
func TestParseKeySetJWKS(t *testing.T) {
	hs, err := auth.NewHMACKey("h", "HS256", []byte("0123456789abcdef0123456789abcdef-test-only"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	var asym []*auth.Key
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		k := testKey(t, alg)
		asym = append(asym, k)
		want[k.ID()] = alg
	}
	ks := keySet(t, asym[0], append(asym[1:], hs)...)
	keys, err := jwks.Parse(ks.JWKS())
	if err != nil || len(keys) != 3 {
		t.Fatalf("Parse(our JWKS) = %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		if want[k.ID()] != k.Algorithm() || k.CanSign() {
			t.Errorf("key %s %s, can sign %v", k.ID(), k.Algorithm(), k.CanSign())
		}
	}
}

func TestParse(t *testing.T) {
	ed := testKey(t, "EdDSA")
	var published struct{ Keys []map[string]string }
	if err := json.Unmarshal(keySet(t, ed).JWKS(), &published); err != nil || len(published.Keys) != 1 {
		t.Fatalf("JWKS of one key: %v", err)
	}
	j := published.Keys[0]
	good, _ := json.Marshal(j)
	withMember := func(name, value string) string {
		m := map[string]string{}
		for k, v := range j {
			m[k] = v
		}
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
		{"padded x", set(withMember("x", j["x"]+"=")), 0, false},
		{"duplicate kid", set(string(good), string(good)), 0, false},
		{"EC point off curve", set(`{"kty":"EC","crv":"P-256","kid":"e","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}`), 0, false},
		{"RSA too small", set(`{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}`), 0, false},
		{"RSA even exponent", set(`{"kty":"RSA","kid":"r","n":"` + strings.Repeat("A", 342) + `","e":"Ag"}`), 0, false},
		{"not JSON", []byte("nope"), 0, false},
		{"no keys", []byte(`{}`), 0, false},
		{"keys not an array", []byte(`{"keys":{}}`), 0, false},
		{"duplicate keys member", []byte(`{"keys":[],"keys":[` + string(good) + `]}`), 0, false},
		{"kid not a string", set(strings.Replace(string(good), `"kid":"`+j["kid"]+`"`, `"kid":5`, 1)), 0, false},
		{"too large", append([]byte(`{"keys":[],"x":"`), append([]byte(strings.Repeat("a", 1<<20)), '"', '}')...), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := jwks.Parse(tc.data)
			if (err == nil) != tc.ok || len(keys) != tc.keys {
				t.Fatalf("Parse = %d keys, %v; want %d, ok=%v", len(keys), err, tc.keys, tc.ok)
			}
			for _, k := range keys {
				if k.CanSign() {
					t.Fatal("a JWKS key can sign")
				}
			}
		})
	}
}

func TestRemote(t *testing.T) {
	clock := authtest.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	first := testKey(t, "EdDSA")
	issuerKeys := keySet(t, first)
	iss := newIssuer(t, issuerKeys, clock)
	srv := newJWKSServer(t, issuerKeys)
	remote, err := jwks.NewRemote(jwks.Config{URL: srv.URL, Now: clock.Now, RefreshInterval: 10 * time.Minute, MinRefreshInterval: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: remote, Issuer: "goauthkit", Audience: "goauthkit", Now: clock.Now, TokenCacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	tok := iss.token(t)
	for range 10 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches for 10 verifications, want 1 (cached)", n)
	}

	// A flood of made-up kids costs at most one fetch per MinRefreshInterval.
	claims := fmt.Sprintf(`{"iss":"goauthkit","sub":"user-1","aud":"goauthkit","exp":%d,"iat":%d,"jti":"j1","ver":0}`,
		clock.Now().Add(time.Minute).Unix(), clock.Now().Unix())
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forged := unsigned(fmt.Sprintf(`{"alg":"EdDSA","kid":"made-up-%d","typ":"at+jwt"}`, i), claims)
			if _, err := v.Verify(ctx, forged); !errors.Is(err, auth.ErrTokenSignature) {
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
	next := testKey(t, "ES256")
	_ = issuerKeys.Add(next)
	_ = issuerKeys.SetActive(next.ID())
	tok2 := iss.token(t)
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
	tok3 := iss.token(t)
	if _, err := v.Verify(ctx, tok3); err != nil {
		t.Fatalf("known key while the issuer is down: %v", err)
	}
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3 (the stale set refetched, in vain)", n)
	}
	// It comes back: the stale set is refreshed on schedule, and a dropped
	// key stops verifying.
	srv.down.Store(false)
	_ = issuerKeys.Remove(first.ID())
	clock.Advance(time.Minute)
	if _, err := v.Verify(ctx, tok3); err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 4 {
		t.Fatalf("%d fetches, want 4", n)
	}
	tokOld := newIssuer(t, keySet(t, first), clock).token(t)
	if _, err := v.Verify(ctx, tokOld); !errors.Is(err, auth.ErrTokenSignature) {
		t.Fatalf("token of a key the issuer dropped = %v", err)
	}
	if _, err := remote.VerificationKey(ctx, first.ID()); !errors.Is(err, auth.ErrUnknownKey) {
		t.Fatalf("VerificationKey of a dropped key = %v, want ErrUnknownKey", err)
	}
	if _, err := jwks.NewRemote(jwks.Config{}); err == nil {
		t.Fatal("NewRemote without a URL")
	}
}

// TestRemoteVerificationAgainstServer runs an issuer behind a JWKS
// endpoint, and a claims-only consumer service that verifies its tokens
// through a Remote and Verifier.Middleware.
func TestRemoteVerificationAgainstServer(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := auth.NewSigningKey("", "EdDSA", priv)
	if err != nil {
		t.Fatal(err)
	}
	ks := keySet(t, key)
	access := newIssuer(t, ks, nil).token(t)
	// A refresh token of the same issuer and key: typ rt+jwt, which a
	// Verifier must refuse (made here, as this issuer has no store to keep
	// refresh sessions in).
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now()
	in := enc([]byte(`{"alg":"EdDSA","kid":"`+key.ID()+`","typ":"rt+jwt"}`)) + "." +
		enc(fmt.Appendf(nil, `{"iss":"goauthkit","sub":"user-1","aud":"goauthkit","exp":%d,"iat":%d,"jti":"j1","ver":0,"sid":"s1"}`, now.Add(time.Hour).Unix(), now.Unix()))
	refresh := in + "." + enc(ed25519.Sign(priv, []byte(in)))
	issuerSrv := newJWKSServer(t, ks)

	remote, err := jwks.NewRemote(jwks.Config{URL: issuerSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: remote, Issuer: "goauthkit", Audience: "goauthkit"})
	if err != nil {
		t.Fatal(err)
	}
	consumer := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFromContext(r.Context())
		_, hasUser := auth.UserFromContext(r.Context())
		fmt.Fprintf(w, "%s %v", c.Subject, hasUser)
	}))
	for _, tc := range []struct {
		auth   string
		status int
		body   string
	}{
		{"Bearer " + access, 200, "user-1 false"},
		{"Bearer " + refresh, 401, "invalid_token"},
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

// requireSeeds fails the fuzz test if its committed seed corpus is missing,
// so the corpus can never silently disappear.
func requireSeeds(f *testing.F, min int) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < min {
		f.Fatalf("seed corpus %s: %d files (%v), want at least %d", dir, len(entries), err, min)
	}
}

// FuzzParseJWKS feeds arbitrary bytes to the JWKS parser: it must never
// panic, and every key it returns is a verification-only key of a supported
// algorithm.
func FuzzParseJWKS(f *testing.F) {
	requireSeeds(f, 5)
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := jwks.Parse(data)
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

// BenchmarkVerifyRemote verifies through a Remote whose cache is warm:
// what a consumer service pays per request.
func BenchmarkVerifyRemote(b *testing.B) {
	ks := keySet(b, testKey(b, "EdDSA"))
	srv := httptest.NewServer(serveJWKS(ks))
	defer srv.Close()
	remote, _ := jwks.NewRemote(jwks.Config{URL: srv.URL})
	v, _ := auth.NewVerifier(auth.VerifierConfig{Keys: remote, Issuer: "goauthkit", Audience: "goauthkit", TokenCacheSize: -1})
	tok := newIssuer(b, ks, nil).token(b)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
