package auth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tutorials' header, as PyJWT and python-jose write it.
const tutorialHeader = `{"alg":"HS256","typ":"JWT"}`

// mintLegacy signs header.claims under alg (HS256, HS384: an HMAC with
// secret; RS256: with an RSA key of the tests; none: no signature).
func mintLegacy(t testing.TB, alg, header, claims string, secret []byte) string {
	t.Helper()
	in := enc(header) + "." + enc(claims)
	var sig []byte
	switch alg {
	case "HS256", "HS384":
		fn := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384}[alg]
		m := hmac.New(fn, secret)
		m.Write([]byte(in))
		sig = m.Sum(nil)
	case "RS256":
		priv := testAsymKey(t, "RS256").sign.(*rsa.PrivateKey)
		d := sha256.Sum256([]byte(in))
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:]); err != nil {
			t.Fatal(err)
		}
	case "none":
	default:
		t.Fatalf("mintLegacy: alg %q", alg)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// tutorialClaims is the tutorials' payload for sub, expiring in 15
// minutes from now, edited by edit (a nil value drops the claim).
func tutorialClaims(sub string, now time.Time, edit map[string]any) string {
	m := map[string]any{"sub": sub, "exp": now.Add(15 * time.Minute).Unix()}
	for k, v := range edit {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// legacyFixture is a fixture that accepts legacy tokens for a day, with
// alice (username alice, email alice@example.com) registered at its
// clock's start, and the clock then a minute later.
func legacyFixture(t testing.TB, edit func(c *Config)) (*fixture, *User) {
	t.Helper()
	f := newFixture(t, func(c *Config) {
		c.Passwords.Hasher = plainHasher{}
		c.Tokens.LegacyUntil = c.Now().Add(24 * time.Hour)
		if edit != nil {
			edit(c)
		}
	})
	u, err := f.a.Register(context.Background(), NewUser{Username: "alice", Email: "alice@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	return f, u
}

// TestLegacyTokens checks every rule of Config.Tokens.LegacyUntil, a case
// each: what is accepted, what is refused and why.
func TestLegacyTokens(t *testing.T) {
	ctx := context.Background()
	type setup func(t *testing.T, f *fixture, u *User)
	logoutAll := func(t *testing.T, f *fixture, u *User) {
		if err := f.a.LogoutAll(ctx, Client{}, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	changePassword := func(t *testing.T, f *fixture, u *User) {
		if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a brand new one"}); err != nil {
			t.Fatal(err)
		}
	}
	// As package admin disables an account (with Logout), then enables it
	// again: the account is usable, its old tokens are not.
	disableAndEnable := func(t *testing.T, f *fixture, u *User) {
		if _, err := f.store.ChangeUser(ctx, u.ID, UserChange{Disabled: ptr(true), Logout: true, Now: f.a.timestamp()}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.ChangeUser(ctx, u.ID, UserChange{Disabled: ptr(false), Now: f.a.timestamp()}); err != nil {
			t.Fatal(err)
		}
	}
	disable := func(t *testing.T, f *fixture, u *User) {
		if _, err := f.store.ChangeUser(ctx, u.ID, UserChange{Disabled: ptr(true), Now: f.a.timestamp()}); err != nil {
			t.Fatal(err)
		}
	}
	// then runs s, and moves the clock on by a minute.
	then := func(s setup) setup {
		return func(t *testing.T, f *fixture, u *User) {
			s(t, f, u)
			f.clock.Advance(time.Minute)
		}
	}
	wrongKey := []byte("another-secret-0123456789abcdef-0123456789")

	// now is the fixture's clock when the token is minted: its start, when
	// alice was registered, plus a minute, plus a minute after a setup.
	tests := []struct {
		name   string
		setup  setup
		alg    string // default HS256
		header string // default tutorialHeader
		// claims are the token's payload, given the time it is minted.
		claims func(now time.Time, u *User) string
		secret []byte        // default testSecret
		later  time.Duration // the clock moves on by this after minting
		want   error         // nil: accepted
	}{
		{name: "the tutorials' token", claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "sub as typed (case, spaces, full width)", claims: func(now time.Time, u *User) string { return tutorialClaims(" ＡLICE ", now, nil) }},
		{name: "sub an email", claims: func(now time.Time, u *User) string { return tutorialClaims("Alice@Example.com", now, nil) }},
		{name: "no typ", header: `{"alg":"HS256"}`, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "typ application/jwt, and a kid", header: `{"alg":"HS256","typ":"application/jwt","kid":"k"}`, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "iat after the account's creation", claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Unix()})
		}},
		{name: "iat in the second the account was created", claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Add(-time.Minute).Unix()})
		}},
		{name: "another iss, an aud, a jti, scopes", claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iss": "fastapi", "aud": "x", "jti": "j", "scopes": []string{"me"}})
		}},
		{name: "exp just past, within the leeway", later: 15*time.Minute + 20*time.Second, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "a fractional exp", claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"exp": float64(now.Unix()) + 60.5})
		}},

		{name: "no exp", want: ErrTokenClaims, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, map[string]any{"exp": nil}) }},
		{name: "expired", want: ErrTokenExpired, later: 16 * time.Minute, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "iat before the account was created", want: ErrTokenRevoked, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Add(-time.Minute - time.Second).Unix()})
		}},
		{name: "iat before a logout everywhere", setup: logoutAll, want: ErrTokenRevoked, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Add(-time.Second).Unix()})
		}},
		{name: "iat in the second of a logout everywhere", setup: logoutAll, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Unix()})
		}},
		{name: "iat after a logout everywhere", setup: then(logoutAll), claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Unix()})
		}},
		{name: "no iat, after a logout everywhere: until exp", setup: logoutAll, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, nil)
		}},
		{name: "iat before a password change", setup: then(changePassword), want: ErrTokenRevoked, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Add(-2 * time.Minute).Unix()})
		}},
		{name: "iat after a password change", setup: then(changePassword), claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Unix()})
		}},
		{name: "iat before a disabling, enabled again", setup: then(disableAndEnable), want: ErrTokenRevoked, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Add(-2 * time.Minute).Unix()})
		}},
		{name: "a disabled user", setup: disable, want: ErrUserDisabled, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "typ at+jwt", header: `{"alg":"HS256","typ":"at+jwt"}`, want: ErrTokenSignature, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "typ rt+jwt", header: `{"alg":"HS256","typ":"rt+jwt"}`, want: ErrTokenClaims, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "our iss", want: ErrTokenClaims, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iss": "goauthkit"})
		}},
		{name: "alg none", alg: "none", header: `{"alg":"none","typ":"JWT"}`, want: ErrTokenSignature, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "alg HS384", alg: "HS384", header: `{"alg":"HS384","typ":"JWT"}`, want: ErrTokenSignature, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "alg RS256", alg: "RS256", header: `{"alg":"RS256","typ":"JWT"}`, want: ErrTokenSignature, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "alg hs256", header: `{"alg":"hs256","typ":"JWT"}`, want: ErrTokenSignature, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "the wrong key", secret: wrongKey, want: ErrTokenSignature, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "after LegacyUntil", later: 24 * time.Hour, want: ErrInvalidToken, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"exp": now.Add(48 * time.Hour).Unix()})
		}},
		{name: "an unknown sub", want: ErrTokenRevoked, claims: func(now time.Time, u *User) string { return tutorialClaims("mallory", now, nil) }},
		{name: "the user's id as sub", want: ErrTokenRevoked, claims: func(now time.Time, u *User) string { return tutorialClaims(u.ID, now, nil) }},
		{name: "no sub", want: ErrTokenClaims, claims: func(now time.Time, u *User) string { return tutorialClaims("", now, nil) }},
		{name: "sub a number", want: ErrTokenMalformed, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, map[string]any{"sub": 42}) }},
		{name: "a sub longer than any login name", want: ErrTokenRevoked, claims: func(now time.Time, u *User) string { return tutorialClaims(strings.Repeat("a", 321), now, nil) }},
		{name: "iat in the future", want: ErrTokenClaims, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"iat": now.Add(time.Hour).Unix()})
		}},
		{name: "nbf in the future", want: ErrTokenClaims, claims: func(now time.Time, u *User) string {
			return tutorialClaims("alice", now, map[string]any{"nbf": now.Add(time.Hour).Unix()})
		}},
		{name: "sub twice", want: ErrTokenMalformed, claims: func(now time.Time, u *User) string {
			return fmt.Sprintf(`{"sub":"mallory","sub":"alice","exp":%d}`, now.Add(time.Minute).Unix())
		}},
		{name: "a case variant of exp", want: ErrTokenMalformed, claims: func(now time.Time, u *User) string {
			return fmt.Sprintf(`{"sub":"alice","exp":%d,"EXP":1}`, now.Add(time.Minute).Unix())
		}},
		{name: "crit in the header", header: `{"alg":"HS256","typ":"JWT","crit":["x"]}`, want: ErrTokenMalformed, claims: func(now time.Time, u *User) string { return tutorialClaims("alice", now, nil) }},
		{name: "not JSON", want: ErrTokenMalformed, claims: func(time.Time, *User) string { return `{"sub":"alice",` }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, u := legacyFixture(t, nil)
			if tc.setup != nil {
				tc.setup(t, f, u)
			}
			alg, header, secret := "HS256", tutorialHeader, testSecret
			if tc.alg != "" {
				alg = tc.alg
			}
			if tc.header != "" {
				header = tc.header
			}
			if tc.secret != nil {
				secret = tc.secret
			}
			token := mintLegacy(t, alg, header, tc.claims(f.clock.Now(), u), secret)
			f.clock.Advance(tc.later)
			got, c, err := f.a.Authenticate(ctx, token)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || got != nil || c != nil {
					t.Fatalf("Authenticate = %v, %v, %v; want %v", got, c, err, tc.want)
				}
				if strings.Contains(err.Error(), "alice") {
					t.Fatalf("the error tells the sub: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got.ID != u.ID || c.Subject != u.ID || !c.Legacy || c.SessionID != "" || c.Version != 0 || c.ID != "" ||
				c.Issuer != "" || c.Audience != nil || c.ExpiresAt.IsZero() || c.Extra != nil ||
				!slices.Equal(c.Methods, []string{MethodPassword}) || !c.AuthTime.IsZero() {
				t.Fatalf("accepted as %+v with claims %+v", got, c)
			}
		})
	}
}

// TestLegacyClaimsTimes: a legacy token's Claims hold its exp, nbf and
// iat; IssuedAt is zero for a token without iat.
func TestLegacyClaimsTimes(t *testing.T) {
	f, _ := legacyFixture(t, nil)
	now := f.clock.Now()
	_, c, err := f.a.Authenticate(context.Background(), mintLegacy(t, "HS256", tutorialHeader, tutorialClaims("alice", now, nil), testSecret))
	if err != nil || !c.ExpiresAt.Equal(now.Add(15*time.Minute)) || !c.IssuedAt.IsZero() || !c.NotBefore.IsZero() {
		t.Fatalf("claims %+v, %v", c, err)
	}
	_, c, err = f.a.Authenticate(context.Background(), mintLegacy(t, "HS256", tutorialHeader,
		tutorialClaims("alice", now, map[string]any{"iat": now.Unix(), "nbf": now.Unix()}), testSecret))
	if err != nil || !c.IssuedAt.Equal(now) || !c.NotBefore.Equal(now) {
		t.Fatalf("claims %+v, %v", c, err)
	}
}

// TestLegacyOff: without LegacyUntil, the tutorials' token is refused, with
// the error this library's verification gives it.
func TestLegacyOff(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{} })
	f.register(t, "alice", "correct horse battery")
	_, _, err := f.a.Authenticate(context.Background(), mintLegacy(t, "HS256", tutorialHeader, tutorialClaims("alice", f.clock.Now(), nil), testSecret))
	if err != errTokenType {
		t.Fatalf("Authenticate = %v, want %v", err, errTokenType)
	}
}

// TestLegacyNeedsSecretKey: New refuses LegacyUntil with Keys, naming the
// field.
func TestLegacyNeedsSecretKey(t *testing.T) {
	ks, _ := testKeySet(t)
	_, err := New(Config{Store: newMemoryStore(), Keys: ks, Tokens: TokenConfig{LegacyUntil: time.Now().Add(time.Hour)}})
	if err == nil || !strings.Contains(err.Error(), "Config.Tokens.LegacyUntil") || !strings.Contains(err.Error(), "Config.SecretKey") {
		t.Fatalf("New = %v", err)
	}
}

// TestLegacyOursFirst: with LegacyUntil set, this library's tokens are
// verified first and decided exactly as without it: accepted with the same
// user and claims; refused (expired, revoked, a refresh token, forged)
// with the same error, and never tried as legacy tokens.
func TestLegacyOursFirst(t *testing.T) {
	ctx := context.Background()
	f, _ := legacyFixture(t, nil)
	plain, err := New(Config{Store: f.store, SecretKey: testSecret, Now: f.clock.Now, Passwords: PasswordConfig{Hasher: plainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	if f.a.legacy == nil || plain.legacy != nil {
		t.Fatal("LegacyUntil did not set the legacy verifier, or its zero did")
	}
	bob := f.register(t, "bob", "correct horse battery")
	p := f.login(t, "bob", "correct horse battery")
	same := func(what, token string) {
		t.Helper()
		u1, c1, err1 := f.a.Authenticate(ctx, token)
		u2, c2, err2 := plain.Authenticate(ctx, token)
		if !reflect.DeepEqual(u1, u2) || !reflect.DeepEqual(c1, c2) || fmt.Sprint(err1) != fmt.Sprint(err2) || (c1 != nil && c1.Legacy) {
			t.Fatalf("%s: with LegacyUntil %+v %+v %v; without %+v %+v %v", what, u1, c1, err1, u2, c2, err2)
		}
	}
	same("an access token", p.AccessToken)
	same("an access token again (cached)", p.AccessToken)
	same("a refresh token", p.RefreshToken)
	same("a forged access token", p.AccessToken[:len(p.AccessToken)-4]+"AAAA")
	same("garbage", "not.a.token")
	other, err := plain.IssueAccessToken(ctx, &User{ID: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	same("a deleted user's", other)
	f.clock.Advance(16 * time.Minute)
	same("an expired access token", p.AccessToken)
	p = f.login(t, "bob", "correct horse battery")
	if err := f.a.LogoutAll(ctx, Client{}, bob.ID); err != nil {
		t.Fatal(err)
	}
	same("a revoked access token", p.AccessToken)
}

// TestMaybeLegacy: only a refusal before anything in the token is trusted
// sends it to the legacy check; an expired token of ours, or one with a
// wrong claim, never goes there.
func TestMaybeLegacy(t *testing.T) {
	clock := newTestClock()
	ks, _ := testKeySet(t)
	v := testVerifier(t, ks, clock)
	now := clock.Now()
	for _, tc := range []struct {
		name  string
		token string
		want  bool
	}{
		{"the tutorials' token", mintLegacy(t, "HS256", tutorialHeader, tutorialClaims("alice", now, nil), testSecret), true},
		{"garbage", "garbage", true},
		{"another key", forge(t, goodHeader, claimsJSON(now, nil), []byte("another-secret-0123456789abcdef-0123456789")), true},
		{"an unknown kid", forge(t, `{"alg":"HS256","kid":"k2","typ":"at+jwt"}`, claimsJSON(now, nil), testSecret), true},
		{"ours, expired", forge(t, goodHeader, claimsJSON(now.Add(-time.Hour), nil), testSecret), false},
		{"ours, another iss", forge(t, goodHeader, claimsJSON(now, func(m map[string]any) { m["iss"] = "x" }), testSecret), false},
		{"ours, no jti", forge(t, goodHeader, claimsJSON(now, func(m map[string]any) { delete(m, "jti") }), testSecret), false},
	} {
		_, err := v.Verify(context.Background(), tc.token)
		if err == nil || maybeLegacy(err) != tc.want {
			t.Errorf("%s: Verify = %v, maybeLegacy %v, want %v", tc.name, err, err != nil && maybeLegacy(err), tc.want)
		}
	}
}

// TestIssuedBefore: a whole-second iat in the second of the time compared
// may be before it, unless the time is a whole second.
func TestIssuedBefore(t *testing.T) {
	sec := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		iat, t time.Time
		want   bool
	}{
		{sec, time.Time{}, false},
		{time.Time{}, sec, false},
		{sec, sec, false},
		{sec.Add(-time.Second), sec, true},
		{sec, sec.Add(time.Microsecond), true},
		{sec.Add(time.Second), sec.Add(time.Microsecond), false},
		{sec.Add(500 * time.Millisecond), sec.Add(time.Microsecond), true}, // a fractional iat: counted from the next second
		{time.Unix(0, 0), sec, true},
	} {
		if got := issuedBefore(tc.iat, tc.t); got != tc.want {
			t.Errorf("issuedBefore(%v, %v) = %v, want %v", tc.iat, tc.t, got, tc.want)
		}
	}
}

// TestLegacyThroughMiddleware: the middleware takes a legacy token as
// Authenticate does, and hands the handler the user and claims marked
// Legacy.
func TestLegacyThroughMiddleware(t *testing.T) {
	f, u := legacyFixture(t, nil)
	token := mintLegacy(t, "HS256", tutorialHeader, tutorialClaims("alice", f.clock.Now(), nil), testSecret)
	h := f.a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := UserFromContext(r.Context())
		c, _ := ClaimsFromContext(r.Context())
		if got.ID != u.ID || !c.Legacy || c.SessionID != "" {
			t.Errorf("handler got %+v, %+v", got, c)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	f.clock.Advance(16 * time.Minute)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), "expired") {
		t.Fatalf("expired: status %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

// FuzzVerifyLegacy feeds arbitrary strings to the legacy check. It must
// never panic, and it may accept only canonical tokens really signed with
// HS256 under the test secret, of no typ or typ JWT, with a sub, an exp
// not past and no iss of ours.
func FuzzVerifyLegacy(f *testing.F) {
	requireSeeds(f, 10)
	k, err := NewHMACKey("", "HS256", testSecret)
	if err != nil {
		f.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	l := &legacyVerifier{key: k, until: clock.t.Add(time.Hour), issuer: "goauthkit", leeway: 30 * time.Second, now: clock.Now}
	f.Fuzz(func(t *testing.T, token string) {
		lc, err := l.verify(token)
		if err != nil {
			if !errors.Is(err, errNotLegacy) && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("an error of neither kind: %v", err)
			}
			if lc != (legacyClaims{}) {
				t.Fatal("claims returned with an error")
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d segments", len(parts))
		}
		for _, p := range parts {
			b, err := base64.RawURLEncoding.Strict().DecodeString(p)
			if err != nil || base64.RawURLEncoding.EncodeToString(b) != p {
				t.Fatalf("accepted a non-canonical segment %q", p)
			}
		}
		m := hmac.New(sha256.New, testSecret)
		m.Write([]byte(parts[0] + "." + parts[1]))
		if base64.RawURLEncoding.EncodeToString(m.Sum(nil)) != parts[2] {
			t.Fatal("accepted a token not signed with the key")
		}
		var h struct{ Alg, Typ string }
		var c struct{ Iss string }
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		err = json.Unmarshal(hb, &h)
		typ := strings.ToLower(h.Typ)
		if err != nil || h.Alg != "HS256" || (typ != "" && typ != "jwt" && typ != "application/jwt") {
			t.Fatalf("accepted a header %s", hb)
		}
		if json.Unmarshal(cb, &c) != nil || c.Iss == "goauthkit" {
			t.Fatalf("accepted claims %s", cb)
		}
		if lc.sub == "" || lc.exp.IsZero() || !clock.t.Before(lc.exp.Add(30*time.Second)) {
			t.Fatalf("accepted %+v", lc)
		}
	})
}
