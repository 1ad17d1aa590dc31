package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// testClock is a settable clock, safe for concurrent use (the mail worker
// reads it): internal/authtest's Clock, which this package's own tests
// cannot import (authtest imports auth: an import cycle), as are
// auth_test.go's eventLog and plainHasher.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func testKeySet(t testing.TB) (*KeySet, *Key) {
	t.Helper()
	k, err := NewHMACKey("k1", "HS256", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	return ks, k
}

func testVerifier(t testing.TB, ks KeySource, clock *testClock) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifierConfig{Keys: ks, Issuer: "iss", Audience: "aud", Leeway: 10 * time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forge builds a token from a raw header and raw claims, signed with secret
// under HMAC alg (HS256 if alg is not an HMAC one). sign=false leaves the
// signature empty.
func forge(t testing.TB, header, claims string, secret []byte) string {
	t.Helper()
	k, err := NewHMACKey("x", "HS256", secret)
	if err != nil {
		t.Fatal(err)
	}
	in := enc(header) + "." + enc(claims)
	sig, err := k.method.Sign(in, k.sign)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func claimsJSON(now time.Time, edit func(m map[string]any)) string {
	m := map[string]any{
		"iss": "iss", "sub": "user-1", "aud": "aud",
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "jti": "j1", "ver": 0,
	}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

const goodHeader = `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`

func TestVerifyAttacks(t *testing.T) {
	clock := newTestClock()
	ks, key := testKeySet(t)
	v := testVerifier(t, ks, clock)
	now := clock.Now()

	valid, err := sign(key, typeAccess, wireClaims{Iss: "iss", Sub: "user-1", Aud: "aud",
		Exp: now.Add(time.Minute).Unix(), Iat: now.Unix(), Jti: "j1"}, map[string]any{"scope": "read"})
	if err != nil {
		t.Fatal(err)
	}
	refresh, err := sign(key, typeRefresh, wireClaims{Iss: "iss", Sub: "user-1", Aud: "aud",
		Exp: now.Add(time.Hour).Unix(), Iat: now.Unix(), Jti: "secret", Sid: "s1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	good := func(edit func(m map[string]any)) string {
		return forge(t, goodHeader, claimsJSON(now, edit), testSecret)
	}
	withHeader := func(h string) string { return forge(t, h, claimsJSON(now, nil), testSecret) }

	pub, _, _ := ed25519.GenerateKey(nil)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(pubDER) + "\n-----END PUBLIC KEY-----\n"

	tests := []struct {
		name  string
		token string
		want  error // nil: accepted
	}{
		{"valid", valid, nil},
		{"valid forged with the real key", good(nil), nil},
		{"aud as array holding ours", good(func(m map[string]any) { m["aud"] = []string{"other", "aud"} }), nil},
		{"exp within leeway", good(func(m map[string]any) { m["exp"] = now.Add(-5 * time.Second).Unix() }), nil},
		{"fractional exp", good(func(m map[string]any) { m["exp"] = float64(now.Add(time.Minute).Unix()) + 0.5 }), nil},
		{"application/at+jwt typ", withHeader(`{"alg":"HS256","kid":"k1","typ":"application/AT+JWT"}`), nil},

		{"alg none", enc(`{"alg":"none","kid":"k1","typ":"at+jwt"}`) + "." + parts[1] + ".", ErrTokenSignature},
		{"alg none with signature", enc(`{"alg":"none","kid":"k1","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2], ErrTokenSignature},
		{"alg None", enc(`{"alg":"None","kid":"k1","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2], ErrTokenSignature},
		{"alg NONE", enc(`{"alg":"NONE","kid":"k1","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2], ErrTokenSignature},
		{"alg HS512 on an HS256 key", withHeader(`{"alg":"HS512","kid":"k1","typ":"at+jwt"}`), ErrTokenSignature},
		{"alg RS256 on an HS256 key", withHeader(`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`), ErrTokenSignature},
		{"alg missing", withHeader(`{"kid":"k1","typ":"at+jwt"}`), ErrTokenSignature},
		{"HS256 signed with public key PEM bytes", forge(t, goodHeader, claimsJSON(now, nil), []byte(pubPEM)), ErrTokenSignature},
		{"HS256 signed with public key DER bytes", forge(t, goodHeader, claimsJSON(now, nil), append(pubDER, pubDER...)), ErrTokenSignature},
		{"HS256 signed with another secret", forge(t, goodHeader, claimsJSON(now, nil), []byte("another-secret-another-secret-32b")), ErrTokenSignature},
		{"tampered payload", parts[0] + "." + enc(claimsJSON(now, func(m map[string]any) { m["sub"] = "admin" })) + "." + parts[2], ErrTokenSignature},
		{"tampered header", enc(`{"alg":"HS256","kid":"k1","typ":"at+jwt","x":1}`) + "." + parts[1] + "." + parts[2], ErrTokenSignature},
		{"stripped signature", parts[0] + "." + parts[1] + ".", ErrTokenMalformed},
		{"two segments", parts[0] + "." + parts[1], ErrTokenMalformed},
		{"one segment", parts[0], ErrTokenMalformed},
		{"four segments", valid + ".x", ErrTokenMalformed},
		{"JWE-like five segments", valid + ".a.b", ErrTokenMalformed},
		{"empty", "", ErrTokenMalformed},
		{"10000 dots", strings.Repeat(".", 10000), ErrTokenMalformed},
		{"1 MiB token", parts[0] + "." + strings.Repeat("A", 1<<20) + "." + parts[2], ErrTokenMalformed},
		{"padded signature", valid + "=", ErrTokenMalformed},
		{"non-canonical signature bits", parts[0] + "." + parts[1] + "." + flipLastBits(parts[2]), ErrTokenMalformed},
		{"standard base64 alphabet", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+/", ErrTokenMalformed},
		{"CR in signature", parts[0] + "." + parts[1] + "." + parts[2][:6] + "\r" + parts[2][6:], ErrTokenMalformed},
		{"LF in payload", parts[0] + "." + parts[1][:4] + "\n" + parts[1][4:] + "." + parts[2], ErrTokenMalformed},
		{"whitespace in token", parts[0] + ". " + parts[1] + "." + parts[2], ErrTokenMalformed},

		{"expired", good(func(m map[string]any) { m["exp"] = now.Add(-11 * time.Second).Unix() }), ErrTokenExpired},
		{"no exp", good(func(m map[string]any) { delete(m, "exp") }), ErrTokenClaims},
		{"exp as string", good(func(m map[string]any) { m["exp"] = "9999999999" }), ErrTokenMalformed},
		{"exp negative", good(func(m map[string]any) { m["exp"] = -1 }), ErrTokenMalformed},
		{"exp huge", good(func(m map[string]any) { m["exp"] = 1e300 }), ErrTokenMalformed},
		{"nbf in the future", good(func(m map[string]any) { m["nbf"] = now.Add(time.Minute).Unix() }), ErrTokenClaims},
		{"nbf within leeway", good(func(m map[string]any) { m["nbf"] = now.Add(5 * time.Second).Unix() }), nil},
		{"iat in the future", good(func(m map[string]any) { m["iat"] = now.Add(time.Minute).Unix() }), ErrTokenClaims},
		{"no iat", good(func(m map[string]any) { delete(m, "iat") }), ErrTokenClaims},
		{"wrong iss", good(func(m map[string]any) { m["iss"] = "evil" }), ErrTokenClaims},
		{"no iss", good(func(m map[string]any) { delete(m, "iss") }), ErrTokenClaims},
		{"iss case variant", good(func(m map[string]any) { m["iss"] = "ISS" }), ErrTokenClaims},
		{"wrong aud", good(func(m map[string]any) { m["aud"] = "other" }), ErrTokenClaims},
		{"aud array without ours", good(func(m map[string]any) { m["aud"] = []string{"a", "b"} }), ErrTokenClaims},
		{"no aud", good(func(m map[string]any) { delete(m, "aud") }), ErrTokenClaims},
		{"aud as number", good(func(m map[string]any) { m["aud"] = 5 }), ErrTokenMalformed},
		{"no sub", good(func(m map[string]any) { delete(m, "sub") }), ErrTokenClaims},
		{"no jti", good(func(m map[string]any) { delete(m, "jti") }), ErrTokenClaims},

		{"refresh token as access token", refresh, ErrTokenClaims},
		{"typ JWT", withHeader(`{"alg":"HS256","kid":"k1","typ":"JWT"}`), ErrTokenClaims},
		{"no typ", withHeader(`{"alg":"HS256","kid":"k1"}`), ErrTokenClaims},
		{"unknown kid", withHeader(`{"alg":"HS256","kid":"k2","typ":"at+jwt"}`), ErrTokenSignature},
		{"no kid", withHeader(`{"alg":"HS256","typ":"at+jwt"}`), ErrTokenSignature},
		{"kid path traversal", withHeader(`{"alg":"HS256","kid":"../../../../dev/null","typ":"at+jwt"}`), ErrTokenSignature},
		{"kid SQL injection", withHeader(`{"alg":"HS256","kid":"k1' OR '1'='1","typ":"at+jwt"}`), ErrTokenSignature},
		{"kid not a string", withHeader(`{"alg":"HS256","kid":1,"typ":"at+jwt"}`), ErrTokenMalformed},
		{"jku header", withHeader(`{"alg":"HS256","kid":"k1","typ":"at+jwt","jku":"https://evil.example/jwks.json"}`), ErrTokenMalformed},
		{"jwk header", withHeader(`{"alg":"HS256","kid":"k1","typ":"at+jwt","jwk":{"kty":"oct","k":"AAAA"}}`), ErrTokenMalformed},
		{"x5u header", withHeader(`{"alg":"HS256","kid":"k1","typ":"at+jwt","x5u":"https://evil.example/cert"}`), ErrTokenMalformed},
		{"x5c header", withHeader(`{"alg":"HS256","kid":"k1","typ":"at+jwt","x5c":["AAAA"]}`), ErrTokenMalformed},
		{"crit header", withHeader(`{"alg":"HS256","kid":"k1","typ":"at+jwt","crit":["exp"],"exp":1}`), ErrTokenMalformed},
		{"b64 false", withHeader(`{"alg":"HS256","kid":"k1","typ":"at+jwt","b64":false,"crit":["b64"]}`), ErrTokenMalformed},
		{"duplicate alg header", withHeader(`{"alg":"none","kid":"k1","typ":"at+jwt","alg":"HS256"}`), ErrTokenMalformed},
		{"case-variant header", withHeader(`{"alg":"HS256","kid":"k1","typ":"at+jwt","ALG":"none"}`), ErrTokenMalformed},
		{"header not an object", withHeader(`["HS256"]`), ErrTokenMalformed},
		{"header trailing data", withHeader(goodHeader + `{}`), ErrTokenMalformed},
		{"duplicate sub claim", forge(t, goodHeader, `{"iss":"iss","sub":"user-1","aud":"aud","exp":`+itoa64(now.Add(time.Minute).Unix())+`,"iat":`+itoa64(now.Unix())+`,"jti":"j","sub":"admin"}`, testSecret), ErrTokenMalformed},
		{"duplicate exp claim", forge(t, goodHeader, `{"iss":"iss","sub":"u","aud":"aud","exp":1,"iat":`+itoa64(now.Unix())+`,"jti":"j","exp":`+itoa64(now.Add(time.Hour).Unix())+`}`, testSecret), ErrTokenMalformed},
		{"escaped duplicate claim", forge(t, goodHeader, `{"iss":"iss","sub":"u","aud":"aud","exp":`+itoa64(now.Add(time.Minute).Unix())+`,"iat":`+itoa64(now.Unix())+`,"jti":"j","s\u0075b":"admin"}`, testSecret), ErrTokenMalformed},
		{"case-variant claim EXP", good(func(m map[string]any) { m["EXP"] = now.Add(time.Hour).Unix(); delete(m, "exp") }), ErrTokenMalformed},
		{"case-variant claim Sub", good(func(m map[string]any) { m["Sub"] = "admin" }), ErrTokenMalformed},
		{"amr not an array", good(func(m map[string]any) { m["amr"] = "pwd" }), ErrTokenMalformed},
		{"amr of numbers", good(func(m map[string]any) { m["amr"] = []int{1} }), ErrTokenMalformed},
		{"amr with an empty method", good(func(m map[string]any) { m["amr"] = []string{"pwd", ""} }), ErrTokenMalformed},
		{"amr of 9 methods", good(func(m map[string]any) { m["amr"] = strings.Split("a b c d e f g h i", " ") }), ErrTokenMalformed},
		{"amr null", good(func(m map[string]any) { m["amr"] = nil }), ErrTokenMalformed},
		{"case-variant claim AMR", good(func(m map[string]any) { m["AMR"] = []string{"mfa"} }), ErrTokenMalformed},
		{"auth_time not a number", good(func(m map[string]any) { m["auth_time"] = "now" }), ErrTokenMalformed},
		{"auth_time negative", good(func(m map[string]any) { m["auth_time"] = -1 }), ErrTokenMalformed},
		{"amr of 8 methods", good(func(m map[string]any) { m["amr"] = strings.Split("a b c d e f g h", " ") }), nil},
		{"claims not an object", forge(t, goodHeader, `"x"`, testSecret), ErrTokenMalformed},
		{"claims trailing data", forge(t, goodHeader, claimsJSON(now, nil)+"x", testSecret), ErrTokenMalformed},
		{"claims invalid JSON", forge(t, goodHeader, `{"iss":}`, testSecret), ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tc.token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want success", err)
				}
				if c.Subject != "user-1" || c.Issuer != "iss" {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token, want %v", tc.want)
			}
			if c != nil {
				t.Fatal("Verify returned claims with an error")
			}
			if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v (wrapping ErrInvalidToken)", err, tc.want)
			}
		})
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

// flipLastBits changes the unused low bits of the last base64url character,
// giving a non-canonical encoding of the same bytes.
func flipLastBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last^1])
}

func TestVerifyClaimsContent(t *testing.T) {
	clock := newTestClock()
	ks, key := testKeySet(t)
	v := testVerifier(t, ks, clock)
	now := clock.Now()
	tok, err := sign(key, typeAccess, wireClaims{Iss: "iss", Sub: "u", Aud: "aud", Exp: now.Add(time.Minute).Unix(),
		Iat: now.Unix(), Jti: "j", Ver: 7, Amr: []string{"pwd", "otp", "mfa"}, AuthTime: now.Add(-time.Hour).Unix()},
		map[string]any{"scope": "read write", "n": 3})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 7 || !c.ExpiresAt.Equal(now.Add(time.Minute)) || !c.IssuedAt.Equal(now) || c.ID != "j" ||
		!slices.Equal(c.Methods, []string{"pwd", "otp", "mfa"}) || !c.AuthTime.Equal(now.Add(-time.Hour)) {
		t.Fatalf("claims = %+v", c)
	}
	var scope string
	if ok, err := c.Claim("scope", &scope); !ok || err != nil || scope != "read write" {
		t.Fatalf("Claim(scope) = %v %v %q", ok, err, scope)
	}
	if ok, _ := c.Claim("absent", &scope); ok {
		t.Fatal("Claim(absent) reported present")
	}
	// Expiry is exact at the leeway boundary.
	clock.Advance(time.Minute + 10*time.Second - time.Nanosecond)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("just before exp+leeway: %v", err)
	}
	clock.Advance(time.Nanosecond)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("at exp+leeway: %v, want ErrTokenExpired", err)
	}
}

func TestSignRejectsReservedCustomClaims(t *testing.T) {
	_, key := testKeySet(t)
	for _, name := range reservedClaims {
		if _, err := sign(key, typeAccess, wireClaims{}, map[string]any{name: "x"}); err == nil {
			t.Errorf("custom claim %q was accepted", name)
		}
	}
}

func TestNewVerifierConfig(t *testing.T) {
	ks, _ := testKeySet(t)
	tests := []struct {
		name string
		c    VerifierConfig
		want string // substring of the error; "" for success
	}{
		{"ok", VerifierConfig{Keys: ks, Issuer: "i", Audience: "a"}, ""},
		{"no keys", VerifierConfig{Issuer: "i", Audience: "a"}, "Keys"},
		{"no issuer", VerifierConfig{Keys: ks, Audience: "a"}, "Issuer"},
		{"no audience", VerifierConfig{Keys: ks, Issuer: "i"}, "Audience"},
		{"negative leeway", VerifierConfig{Keys: ks, Issuer: "i", Audience: "a", Leeway: -1}, "Leeway"},
		{"huge leeway", VerifierConfig{Keys: ks, Issuer: "i", Audience: "a", Leeway: time.Hour}, "Leeway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.c)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewVerifier = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// TestKnownString: a claim equal to the expected issuer or audience is
// read as that string, and anything else exactly as strictjson reads it,
// escapes included.
func TestKnownString(t *testing.T) {
	for _, tt := range []struct {
		raw, known, want string
		same             bool // the known string itself
	}{
		{`"https://auth.example.com"`, "https://auth.example.com", "https://auth.example.com", true},
		{`"api"`, "api", "api", true},
		{`"ap\u0069"`, "api", "api", false}, // an escape: decoded, not known
		{`"a\\nb"`, `a\nb`, `a\nb`, false},  // bytes a\\nb are not the known a\nb
		{`"a\nb"`, `a\nb`, "a\nb", false},   // a newline, not a backslash and n
		{`"apis"`, "api", "apis", false},
		{`"other"`, "", "other", false},
	} {
		got, err := knownString([]byte(tt.raw), tt.known)
		if err != nil || got != tt.want {
			t.Errorf("knownString(%s, %q) = %q, %v; want %q", tt.raw, tt.known, got, err, tt.want)
		}
		if same := err == nil && tt.known != "" && unsafe.StringData(got) == unsafe.StringData(tt.known); same != tt.same {
			t.Errorf("knownString(%s, %q): the known string itself %v, want %v", tt.raw, tt.known, same, tt.same)
		}
	}
}
