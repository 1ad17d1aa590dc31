package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkAccessPath measures, in one run and on the same HS256 token:
// the standard-library floor written by hand (floorVerifyHS256),
// golang-jwt's ParseWithClaims alone (parser built once, exp and iat
// required, iss and aud checked), our Verifier, our whole middleware (verify,
// user lookup in the memory store, context) in front of a trivial handler,
// each with the verified-token cache off and on, and that trivial handler
// alone. Compare them as ratios.
func BenchmarkAccessPath(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Passwords.Hasher = Bcrypt{Cost: 10} })
	f.clock.t = time.Now() // golang-jwt reads the real clock
	f.register(b, "alice", "correct horse battery")
	p := f.login(b, "alice", "correct horse battery")
	ctx := context.Background()

	b.Run("floor/stdlib", func(b *testing.B) {
		wantHeader, _, _ := strings.Cut(p.AccessToken, ".")
		b.ReportAllocs()
		for b.Loop() {
			if err := floorVerifyHS256(p.AccessToken, wantHeader, testSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("golang-jwt/ParseWithClaims", func(b *testing.B) {
		parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(), jwt.WithIssuer("goauthkit"), jwt.WithAudience("goauthkit"))
		keyfunc := func(*jwt.Token) (any, error) { return testSecret, nil }
		b.ReportAllocs()
		for b.Loop() {
			var c jwt.RegisteredClaims
			if _, err := parser.ParseWithClaims(p.AccessToken, &c, keyfunc); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Rows without the verified-token cache do the whole verification on
	// every call; the cache-hit rows present the same token again, as a
	// client does until the token expires.
	cache := f.a.verifier.cache
	useCache := func(on bool) {
		f.a.verifier.cache = nil
		if on {
			f.a.verifier.cache = cache
		}
	}
	defer useCache(true)
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "auth/Verify", true: "auth/Verify/cache-hit"}[on]
		b.Run(name, func(b *testing.B) {
			useCache(on)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.a.verifier.Verify(ctx, p.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	trivial := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	serve := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest("GET", "/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+p.AccessToken)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
	}
	b.Run("auth/Middleware", func(b *testing.B) { useCache(false); serve(b, f.a.Middleware(trivial)) })
	b.Run("auth/Middleware/cache-hit", func(b *testing.B) { useCache(true); serve(b, f.a.Middleware(trivial)) })
	b.Run("bare-handler", func(b *testing.B) { serve(b, trivial) })
}

// BenchmarkLegacy measures the FastAPI tutorials' tokens under
// Config.Tokens.LegacyUntil: the legacy check alone (after this library's
// verification refused the token), and Authenticate of one (our
// verification, which refuses it at its typ, then the legacy check and the
// lookup by username in the memory store); and, beside them, Authenticate
// of one of our tokens with LegacyUntil set, to compare with
// BenchmarkAccessPath's auth/Verify (no cache: nothing changes).
func BenchmarkLegacy(b *testing.B) {
	f, _ := legacyFixture(b, func(c *Config) { c.Tokens.CacheSize = -1 })
	now := f.clock.Now()
	token := mintLegacy(b, "HS256", tutorialHeader, tutorialClaims("alice", now, map[string]any{"iat": now.Unix()}), testSecret)
	ctx := context.Background()
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.a.legacy.verify(token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := f.a.Authenticate(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
	f.register(b, "bob", "correct horse battery")
	p := f.login(b, "bob", "correct horse battery")
	b.Run("Authenticate/ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := f.a.Authenticate(ctx, p.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// floorVerifyHS256 is the irreducible standard-library work of an HS256
// verify, written by hand as the floor BenchmarkAccessPath compares against:
// split the token, compare its header to the one expected byte for byte,
// base64url-decode payload and signature, HMAC-SHA256 (keyed on every call,
// as a plain use of crypto/hmac does), hmac.Equal, decode the claims with
// encoding/json into plain fields, and check exp.
func floorVerifyHS256(token, wantHeader string, secret []byte) error {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || header != wantHeader {
		return errors.New("floor: malformed")
	}
	rawSig, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return err
	}
	rawPayload, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(token[:len(header)+1+len(payload)]))
	if !hmac.Equal(rawSig, mac.Sum(nil)) {
		return errors.New("floor: bad signature")
	}
	var c wireClaims // plain fields with json tags
	if err := json.Unmarshal(rawPayload, &c); err != nil {
		return err
	}
	if time.Now().Unix() >= c.Exp {
		return errors.New("floor: expired")
	}
	return nil
}

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmarks measure the handlers and not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkLogin measures a whole successful login (limiter, lookup,
// verification, session, token pair) with each hasher at its defaults.
func BenchmarkLogin(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    Hasher
	}{{"argon2id-m19MiB-t2-p1", Argon2id{}}, {"bcrypt-cost12", Bcrypt{}}} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b, func(c *Config) {
				c.Passwords.Hasher = tc.h
				c.Limits.LoginUserAddress = Rate{Burst: 1 << 30, Interval: time.Minute}
				c.Limits.LoginUser = Rate{Burst: 1 << 30, Interval: time.Minute}
			})
			f.register(b, "alice", "correct horse battery")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.a.Login(context.Background(), Credentials{Username: "alice", Password: "correct horse battery"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAlgorithms measures signing and verification per algorithm, and
// for the asymmetric ones the bare signature check of the standard library
// on the same token (the floor our Verify cannot go under).
func BenchmarkAlgorithms(b *testing.B) {
	now := time.Now()
	for _, alg := range []string{"HS256", "EdDSA", "ES256", "RS256"} {
		k := testAsymKey(b, alg)
		ks, _ := NewKeySet(k)
		// The floor comparison is of the whole verification: cache off.
		v, _ := NewVerifier(VerifierConfig{Keys: ks, Issuer: "iss", Audience: "aud", TokenCacheSize: -1})
		cached, _ := NewVerifier(VerifierConfig{Keys: ks, Issuer: "iss", Audience: "aud"})
		claims := wireClaims{Iss: "iss", Sub: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Aud: "aud",
			Exp: now.Add(time.Hour).Unix(), Iat: now.Unix(), Jti: "a3f1c2d4e5f60718293a4b5c6d7e8f90"}
		tok, err := sign(k, typeAccess, claims, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg+"/sign", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sign(k, typeAccess, claims, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/verify/cache-hit", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cached.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		dot := strings.LastIndexByte(tok, '.')
		msg := []byte(tok[:dot])
		sig, _ := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		var floor func() bool
		var floorName string
		switch pub := k.verify.(type) {
		case ed25519.PublicKey:
			floorName, floor = "floor-ed25519.Verify", func() bool { return ed25519.Verify(pub, msg, sig) }
		case *ecdsa.PublicKey:
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			floorName, floor = "floor-ecdsa.Verify", func() bool {
				h := sha256.Sum256(msg)
				return ecdsa.Verify(pub, h[:], r, s)
			}
		case *rsa.PublicKey:
			floorName, floor = "floor-rsa.VerifyPKCS1v15", func() bool {
				h := sha256.Sum256(msg)
				return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
			}
		default:
			continue
		}
		b.Run(alg+"/"+floorName, func(b *testing.B) {
			for b.Loop() {
				if !floor() {
					b.Fatal("bad signature")
				}
			}
		})
		// The two above, alternated call by call in one loop, so that the
		// machine's drift between separate benchmarks (±10% here) falls on
		// both alike: the verify/floor metric is the ratio to report.
		b.Run(alg+"/verify-and-floor-interleaved", func(b *testing.B) {
			var tv, tf time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if !floor() {
					b.Fatal("bad signature")
				}
				tv, tf = tv+t1.Sub(t0), tf+time.Since(t1)
			}
			b.ReportMetric(float64(tv)/float64(tf), "verify/floor")
		})
	}
}
