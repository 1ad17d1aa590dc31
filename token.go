package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/goauthkit/auth/internal/strictjson"
)

// Token types, sent in the typ header. Access tokens follow RFC 9068; the
// refresh type is private to this library. A token of one type is never
// accepted as the other.
const (
	typeAccess  = "at+jwt"
	typeRefresh = "rt+jwt"
)

// maxTokenBytes is the longest token the verifier reads; longer input is
// refused before any decoding.
const maxTokenBytes = 8 << 10

// reservedClaims are the claim names the library sets itself; custom claims
// may not use them.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "ver", "sid", "amr", "auth_time"}

// Claims are the verified claims of an access token.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub: the user id, never the username
	Audience  []string  // aud
	ExpiresAt time.Time // exp
	NotBefore time.Time // nbf; zero when absent
	IssuedAt  time.Time // iat
	ID        string    // jti
	// Version is the user's token version when the token was issued (the
	// private claim "ver"); see User.TokenVersion.
	Version int64
	// SessionID is the login the token was issued in (sid, as RFC 9068
	// and OpenID Connect name it): the refresh family, whose logout ends
	// the token. Empty for a token made by IssueAccessToken.
	SessionID string
	// Methods are how the login the token belongs to was made (amr, RFC
	// 8176: MethodPassword, MethodOTP and MethodMFA, ...), in the order
	// they were used; a refresh keeps them. Nil for a token made by
	// IssueAccessToken.
	Methods []string
	// AuthTime is when the login the token belongs to was made (auth_time,
	// as OpenID Connect names it), to the second; a refresh keeps it. Zero
	// for a token made by IssueAccessToken.
	AuthTime time.Time
	// Extra holds every other claim as raw JSON, including those added by
	// Config.Tokens.ExtraClaims. Use Claim to decode one.
	Extra map[string]json.RawMessage
	// Legacy marks a FastAPI tutorial's access token, which Authenticate
	// accepted under Config.Tokens.LegacyUntil, not one of this library's.
	// Its Subject is still the user's id (found from the token's sub, a
	// login name); it has no SessionID, Version, ID, Issuer, Audience or
	// AuthTime; its login counts as a password login (Methods is
	// exactly MethodPassword); ExpiresAt, NotBefore and IssuedAt are the
	// token's (IssuedAt zero when it had no iat). None of its other claims
	// are kept (Extra is nil).
	Legacy bool
}

// claimsBox is Claims with room for the usual audience (one) and methods
// (up to four) in the same allocation: Verify and the token cache make one
// allocation for the claims of a token, not three.
type claimsBox struct {
	Claims
	aud [1]string
	amr [4]string
}

// Claim decodes the custom claim name into v. It reports false if the
// claim is absent, and an error if it does not decode into v.
func (c *Claims) Claim(name string, v any) (bool, error) {
	raw, ok := c.Extra[name]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// encodeHeader returns the base64url JOSE header for a key and token type.
func encodeHeader(alg, kid, typ string) string {
	h, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, typ})
	return base64.RawURLEncoding.EncodeToString(h)
}

// wireClaims is the JSON form of the registered claims we issue.
type wireClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat"`
	Jti string `json:"jti"`
	Ver int64  `json:"ver"`
	Sid string `json:"sid,omitempty"`
	// Amr and AuthTime are a login's (access and refresh tokens of a
	// session), absent from IssueAccessToken's.
	Amr      []string `json:"amr,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
}

// sign encodes and signs a token of type typ with key k. A refresh token's
// signature is deterministic (see Key.signature), so that signing the same
// claims again gives the same token.
func sign(k *Key, typ string, c wireClaims, extra map[string]any) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	if len(extra) > 0 {
		for _, name := range reservedClaims {
			if _, ok := extra[name]; ok {
				return "", fmt.Errorf("auth: custom claim %q is reserved", name)
			}
		}
		more, err := json.Marshal(extra)
		if err != nil {
			return "", fmt.Errorf("auth: custom claims: %w", err)
		}
		payload = append(payload[:len(payload)-1], ',')
		payload = append(payload, more[1:]...)
	}
	header := k.accessHeader
	if typ == typeRefresh {
		header = k.refreshHeader
	}
	var b strings.Builder
	b.Grow(len(header) + 1 + base64.RawURLEncoding.EncodedLen(len(payload)) + 1 + 128)
	b.WriteString(header)
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(payload))
	sig, err := k.signature(b.String(), typ == typeRefresh)
	if err != nil {
		return "", fmt.Errorf("auth: signing: %w", err)
	}
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(sig))
	return b.String(), nil
}

// randomID returns n random bytes, base64url-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ crashes
		// the program instead); keep the check for other readers.
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Verifier checks access tokens: signature under the key its kid names,
// with that key's algorithm only; typ; iss; aud; exp, nbf and iat with a
// small leeway; and the form of the token itself. It does not consult a
// user store: use the Authenticator (or its Middleware) for revocation and
// disabled users. A Verifier is safe for concurrent use.
type Verifier struct {
	keys     KeySource
	issuer   string
	audience string
	leeway   time.Duration
	realm    string
	now      func() time.Time
	cache    *tokenCache // nil when disabled
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	Keys     KeySource // required
	Issuer   string    // required: the exact iss expected
	Audience string    // required: a value aud must hold
	// Leeway allows for clock skew when checking exp, nbf and iat.
	// Zero means 30 seconds; it may not exceed 5 minutes.
	Leeway time.Duration
	// Realm is the realm of WWW-Authenticate challenges from
	// Verifier.Middleware. Default: the Issuer.
	Realm string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TokenCacheSize is how many verified access tokens are remembered, so
	// that a token presented again skips the signature check and the
	// parsing (what matters with EdDSA, ES256 and RS256, whose signature
	// checks cost tens of microseconds). A remembered token is still
	// checked against the clock (exp, nbf, iat) and against the key its kid
	// names now (a removed or replaced key is not trusted), so a Verifier
	// decides the same with or without the cache. Zero means 1024; a
	// negative value turns the cache off.
	TokenCacheSize int
}

// NewVerifier returns a Verifier, or an error naming the bad field.
func NewVerifier(c VerifierConfig) (*Verifier, error) {
	switch {
	case c.Keys == nil:
		return nil, errors.New("auth: VerifierConfig.Keys is required")
	case c.Issuer == "":
		return nil, errors.New("auth: VerifierConfig.Issuer is required")
	case c.Audience == "":
		return nil, errors.New("auth: VerifierConfig.Audience is required")
	case c.Leeway < 0 || c.Leeway > 5*time.Minute:
		return nil, errors.New("auth: VerifierConfig.Leeway must be between 0 and 5m")
	case strings.ContainsAny(c.Realm, "\"\\\r\n"):
		return nil, errors.New("auth: VerifierConfig.Realm may not contain quotes, backslashes or line breaks")
	}
	return newVerifier(c), nil
}

// newVerifier makes the Verifier of a valid c, filling its defaults.
func newVerifier(c VerifierConfig) *Verifier {
	if c.Leeway == 0 {
		c.Leeway = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Realm == "" {
		c.Realm = c.Issuer
	}
	if c.TokenCacheSize == 0 {
		c.TokenCacheSize = defaultTokenCacheSize
	}
	return &Verifier{keys: c.Keys, issuer: c.Issuer, audience: c.Audience, leeway: c.Leeway, realm: c.Realm, now: c.Now,
		cache: newTokenCache(c.TokenCacheSize)}
}

// Verify checks an access token and returns its claims. Every failure
// wraps ErrInvalidToken; a token longer than 8 KiB is refused before any
// decoding.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrTokenMalformed, maxTokenBytes)
	}
	if v.cache != nil {
		if e := v.cache.get(token); e != nil {
			if k, err := v.keys.VerificationKey(ctx, e.key.id); err == nil && k == e.key && v.checkClaims(e.claims) == nil {
				return e.claims.clone(), nil
			}
			// The key is gone or replaced, or the time checks fail now:
			// forget the token, and let the full check give the error.
			v.cache.drop(token, e)
		}
	}
	b := new(claimsBox)
	key, err := v.verify(ctx, token, typeAccess, b)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(token, key, &b.Claims)
	}
	return &b.Claims, nil
}

// verifyRefresh checks a refresh token. With ignoreExpiry, an expired but
// otherwise valid token is accepted (for logout).
func (v *Verifier) verifyRefresh(ctx context.Context, token string, ignoreExpiry bool) (*Claims, error) {
	b := new(claimsBox)
	c := &b.Claims
	if _, err := v.verify(ctx, token, typeRefresh, b); err != nil {
		if !ignoreExpiry || !errors.Is(err, ErrTokenExpired) {
			return nil, err
		}
	}
	if c.SessionID == "" {
		return nil, fmt.Errorf("%w: no sid", ErrTokenClaims)
	}
	return c, nil
}

var b64 = base64.RawURLEncoding.Strict()

// errTokenType is verify's refusal of a token whose typ is not the one
// wanted: one of the errors after which Authenticate may try the token as
// a legacy one (see Config.Tokens.LegacyUntil).
var errTokenType = fmt.Errorf("%w: wrong token type", ErrTokenClaims)

// verify checks token fully and returns the key that verified it.
func (v *Verifier) verify(ctx context.Context, token, wantType string, b *claimsBox) (*Key, error) {
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrTokenMalformed, maxTokenBytes)
	}
	// One pass: every byte must be of the base64url alphabet or one of
	// exactly two dots. (encoding/base64 skips \r and \n, which would
	// otherwise let a token be altered and still verify.)
	dot1, dot2 := -1, -1
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.' && dot1 < 0:
			dot1 = i
		case c == '.' && dot2 < 0:
			dot2 = i
		default:
			return nil, fmt.Errorf("%w: not a JWS compact serialisation", ErrTokenMalformed)
		}
	}
	if dot2 < 0 {
		return nil, fmt.Errorf("%w: not a JWS compact serialisation", ErrTokenMalformed)
	}
	rawHeader, err := b64.DecodeString(token[:dot1])
	if err != nil {
		return nil, fmt.Errorf("%w: header encoding", ErrTokenMalformed)
	}
	h, err := parseHeader(rawHeader)
	if err != nil {
		return nil, err
	}
	if !typeMatches(h.typ, wantType) {
		return nil, errTokenType
	}
	if h.kid == "" {
		return nil, fmt.Errorf("%w: no kid", ErrTokenSignature)
	}
	key, err := v.keys.VerificationKey(ctx, h.kid)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return nil, fmt.Errorf("%w: unknown kid", ErrTokenSignature)
		}
		return nil, fmt.Errorf("%w: key source: %w", ErrTokenSignature, err)
	}
	if h.alg != key.alg {
		return nil, fmt.Errorf("%w: alg is not the key's", ErrTokenSignature)
	}
	sig, err := b64.DecodeString(token[dot2+1:])
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: signature encoding", ErrTokenMalformed)
	}
	payload, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return nil, fmt.Errorf("%w: payload encoding", ErrTokenMalformed)
	}
	if err := key.checkSignature(token[:dot2], sig); err != nil {
		return nil, fmt.Errorf("%w: bad signature", ErrTokenSignature)
	}
	// Only now, with the signature verified, is the payload parsed.
	if err := parseClaims(payload, b, v.issuer, v.audience); err != nil {
		return nil, err
	}
	if err := v.checkClaims(&b.Claims); err != nil {
		return nil, err
	}
	return key, nil
}

func (v *Verifier) checkClaims(c *Claims) error {
	now := v.now()
	switch {
	case c.Issuer != v.issuer:
		return fmt.Errorf("%w: iss", ErrTokenClaims)
	case !slices.Contains(c.Audience, v.audience):
		return fmt.Errorf("%w: aud", ErrTokenClaims)
	case c.Subject == "":
		return fmt.Errorf("%w: no sub", ErrTokenClaims)
	case c.ID == "":
		return fmt.Errorf("%w: no jti", ErrTokenClaims)
	case c.IssuedAt.IsZero():
		return fmt.Errorf("%w: no iat", ErrTokenClaims)
	case c.IssuedAt.After(now.Add(v.leeway)):
		return fmt.Errorf("%w: iat in the future", ErrTokenClaims)
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(v.leeway)):
		return fmt.Errorf("%w: not valid yet", ErrTokenClaims)
	case c.ExpiresAt.IsZero():
		return fmt.Errorf("%w: no exp", ErrTokenClaims)
	case !now.Before(c.ExpiresAt.Add(v.leeway)):
		return ErrTokenExpired
	}
	return nil
}

var headerNames = []string{"alg", "kid", "typ", "crit", "jku", "jwk", "x5u", "x5c", "cty"}

// isCaseVariant reports whether name equals one of names up to case only.
func isCaseVariant(name string, names []string) bool {
	for _, n := range names {
		if n != name && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func typeMatches(got, want string) bool {
	got, _ = strings.CutPrefix(strings.ToLower(got), "application/")
	return got == want
}

type header struct {
	alg, kid, typ string
}

// parseHeader reads the JOSE header strictly: a JSON object without
// duplicate (or case-variant) member names; no crit (we implement no
// extension, so any critical one is unknown); and none of the members that
// would point the verifier at a key of the sender's choosing.
func parseHeader(raw []byte) (header, error) {
	var h header
	err := strictjson.Scan(raw, strictjson.Token, func(name, value []byte) error {
		var err error
		switch string(name) {
		case "alg":
			h.alg, err = strictjson.String(value)
			return err
		case "kid":
			h.kid, err = strictjson.String(value)
			return err
		case "typ":
			h.typ, err = strictjson.String(value)
			return err
		case "crit":
			return errors.New("crit extensions are not supported")
		case "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "b64", "zip", "enc":
			return fmt.Errorf("header %q is not accepted", name)
		}
		if isCaseVariant(string(name), headerNames) {
			return fmt.Errorf("header %q is a case variant of a registered one", name)
		}
		return nil
	})
	if err != nil {
		return header{}, fmt.Errorf("%w: header: %v", ErrTokenMalformed, err)
	}
	return h, nil
}

// parseClaims reads the payload strictly into b's Claims, its audience and
// methods in b's room when they fit; unknown claims go to Extra. An iss
// or aud string equal to iss or aud (the expected ones) is that string,
// not a copy.
func parseClaims(raw []byte, b *claimsBox, iss, aud string) error {
	c := &b.Claims
	err := strictjson.Scan(raw, strictjson.Token, func(name, value []byte) error {
		var err error
		switch string(name) {
		case "iss":
			c.Issuer, err = knownString(value, iss)
		case "sub":
			c.Subject, err = strictjson.String(value)
		case "jti":
			c.ID, err = strictjson.String(value)
		case "aud":
			c.Audience, err = parseAudience(value, b.aud[:0:len(b.aud)], aud)
		case "exp":
			c.ExpiresAt, err = parseNumericDate(value)
		case "nbf":
			c.NotBefore, err = parseNumericDate(value)
		case "iat":
			c.IssuedAt, err = parseNumericDate(value)
		case "ver":
			c.Version, err = strictjson.Int(value)
		case "sid":
			c.SessionID, err = strictjson.String(value)
		case "amr":
			c.Methods, err = parseMethods(value, b.amr[:0:len(b.amr)])
		case "auth_time":
			c.AuthTime, err = parseNumericDate(value)
		default:
			if isCaseVariant(string(name), reservedClaims) {
				return fmt.Errorf("claim %q is a case variant of a registered claim", name)
			}
			c.setExtra(string(name), value)
		}
		if err != nil {
			return fmt.Errorf("claim %q: %v", name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: claims: %v", ErrTokenMalformed, err)
	}
	return nil
}

func (c *Claims) setExtra(name string, value []byte) {
	if c.Extra == nil {
		c.Extra = make(map[string]json.RawMessage)
	}
	c.Extra[name] = json.RawMessage(append([]byte(nil), value...))
}

// knownString reads the JSON string raw, which is known when it has no
// escapes and its bytes are known's: known itself is returned, and nothing
// is allocated.
func knownString(raw []byte, known string) (string, error) {
	if n := len(raw); known != "" && n == len(known)+2 && raw[0] == '"' &&
		string(raw[1:n-1]) == known && bytes.IndexByte(raw, '\\') < 0 {
		return known, nil
	}
	return strictjson.String(raw)
}

func parseAudience(raw []byte, room []string, known string) ([]string, error) {
	if len(raw) > 0 && raw[0] == '"' {
		s, err := knownString(raw, known)
		if err != nil {
			return nil, err
		}
		return append(room, s), nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("not a string or an array of strings")
	}
	return list, nil
}

// maxMethods bounds the amr claim: how many methods a login may name.
const maxMethods = 8

// parseMethods reads the amr claim, an array of at most maxMethods
// non-empty strings, appended to room (which it returns). The arrays this
// library writes for a password, and for a password and a code, are read
// without decoding.
func parseMethods(raw []byte, room []string) ([]string, error) {
	switch string(raw) {
	case `["pwd"]`:
		return append(room, MethodPassword), nil
	case `["pwd","otp","mfa"]`:
		return append(room, MethodPassword, MethodOTP, MethodMFA), nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("not an array of strings")
	}
	if len(list) > maxMethods || slices.Contains(list, "") {
		return nil, fmt.Errorf("more than %d methods, or an empty one", maxMethods)
	}
	return append(room, list...), nil
}

// maxNumericDate is the year 9999; later dates are refused.
const maxNumericDate = 253402300799

// parseNumericDate reads a NumericDate (RFC 7519 §2): seconds since the
// epoch, possibly fractional.
func parseNumericDate(raw []byte) (time.Time, error) {
	f, err := strictjson.Number(raw)
	if err != nil {
		return time.Time{}, err
	}
	if math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, errors.New("out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
