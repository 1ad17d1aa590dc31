package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goauthkit/auth/store/storable"
)

// A service moving from the FastAPI tutorials keeps, for a while, the
// access tokens its Python code minted:
//
//	jwt.encode({"sub": username, "exp": now + timedelta(minutes=15)}, SECRET_KEY, algorithm="HS256")
//
// Config.Tokens.LegacyUntil accepts them, until then, in Authenticate. The
// two kinds are never confused: a token is tried as a legacy one only once
// this library's verification has refused it before trusting anything in
// it (the token is malformed, its typ is not ours, or its signature or
// kid is not one of ours), never for an expired or revoked token of ours;
// and a legacy token has no typ or typ "JWT", never ours (at+jwt, rt+jwt),
// and no iss equal to ours.

// legacyVerifier checks the access tokens of the FastAPI tutorials (see
// Config.Tokens.LegacyUntil): HS256 under the Config.SecretKey, pinned;
// the same strict parsing as this library's tokens (parseHeader,
// parseClaims); exp required and checked with the leeway, as are nbf and
// iat when present; sub required. It is immutable and safe for concurrent
// use.
type legacyVerifier struct {
	key    *Key      // HS256, made from Config.SecretKey
	until  time.Time // Config.Tokens.LegacyUntil: from then on, none
	issuer string    // ours: a token that has it is not a legacy one
	leeway time.Duration
	now    func() time.Time
}

// legacyClaims are what Authenticate reads of a legacy token.
type legacyClaims struct {
	sub      string    // a login name: a username or an email
	exp, nbf time.Time // nbf zero when absent
	iat      time.Time // zero when absent
}

// errNotLegacy is verify's answer for a token that is not shaped as a
// legacy one at all (or comes after LegacyUntil): Authenticate then
// returns the error of its own verification.
var errNotLegacy = errors.New("auth: not a legacy token")

// verify checks token as a legacy one. It returns errNotLegacy when the
// token is not shaped as one (not a JWS, a typ other than JWT) or
// LegacyUntil has passed; any other refusal wraps ErrInvalidToken.
func (l *legacyVerifier) verify(token string) (legacyClaims, error) {
	now := l.now()
	if !now.Before(l.until) || len(token) > maxTokenBytes {
		return legacyClaims{}, errNotLegacy
	}
	dot1, dot2 := -1, -1
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.' && dot1 < 0:
			dot1 = i
		case c == '.' && dot2 < 0:
			dot2 = i
		default:
			return legacyClaims{}, errNotLegacy
		}
	}
	if dot2 < 0 {
		return legacyClaims{}, errNotLegacy
	}
	rawHeader, err := b64.DecodeString(token[:dot1])
	if err != nil {
		return legacyClaims{}, errNotLegacy
	}
	h, err := parseHeader(rawHeader)
	if err != nil || (h.typ != "" && !typeMatches(h.typ, "jwt")) {
		return legacyClaims{}, errNotLegacy
	}
	// From here on the token says it is a plain JWT: its refusals are its
	// own.
	if h.alg != "HS256" {
		return legacyClaims{}, fmt.Errorf("%w: legacy token: alg is not HS256", ErrTokenSignature)
	}
	sig, err := b64.DecodeString(token[dot2+1:])
	if err != nil || len(sig) == 0 {
		return legacyClaims{}, fmt.Errorf("%w: legacy token: signature encoding", ErrTokenMalformed)
	}
	payload, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return legacyClaims{}, fmt.Errorf("%w: legacy token: payload encoding", ErrTokenMalformed)
	}
	if err := l.key.checkSignature(token[:dot2], sig); err != nil { // constant time
		return legacyClaims{}, fmt.Errorf("%w: legacy token: bad signature", ErrTokenSignature)
	}
	// Only now, with the signature verified, is the payload parsed.
	var b claimsBox
	c := &b.Claims
	if err := parseClaims(payload, &b, "", ""); err != nil {
		return legacyClaims{}, err
	}
	switch {
	case c.Issuer != "" && c.Issuer == l.issuer:
		return legacyClaims{}, fmt.Errorf("%w: legacy token: iss is this library's", ErrTokenClaims)
	case c.Subject == "":
		return legacyClaims{}, fmt.Errorf("%w: legacy token: no sub", ErrTokenClaims)
	case c.ExpiresAt.IsZero():
		return legacyClaims{}, fmt.Errorf("%w: legacy token: no exp", ErrTokenClaims)
	case !now.Before(c.ExpiresAt.Add(l.leeway)):
		return legacyClaims{}, fmt.Errorf("%w: legacy token", ErrTokenExpired)
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(l.leeway)):
		return legacyClaims{}, fmt.Errorf("%w: legacy token: not valid yet", ErrTokenClaims)
	case !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(l.leeway)):
		return legacyClaims{}, fmt.Errorf("%w: legacy token: iat in the future", ErrTokenClaims)
	}
	return legacyClaims{sub: c.Subject, exp: c.ExpiresAt, nbf: c.NotBefore, iat: c.IssuedAt}, nil
}

// maybeLegacy reports whether err, from Verify, refused a token before
// trusting anything in it, so that it may be a legacy token: malformed, a
// typ other than ours, a signature or kid not ours. An expired token of
// ours, or one whose claims are wrong, is never tried again.
func maybeLegacy(err error) bool {
	return err == errTokenType || errors.Is(err, ErrTokenMalformed) || errors.Is(err, ErrTokenSignature)
}

// authenticateLegacy is Authenticate for a token that this library's
// verification refused with ours (see maybeLegacy): it is accepted if it
// is a legacy token whose sub names an enabled account, issued (when it
// says when) after the account was created and after the account's tokens
// were last ended. Otherwise the error is the legacy check's, or ours
// when the token is not shaped as a legacy one.
func (a *Authenticator) authenticateLegacy(ctx context.Context, token string, ours error) (*User, *Claims, error) {
	lc, err := a.legacy.verify(token)
	if errors.Is(err, errNotLegacy) {
		return nil, nil, ours
	}
	if err != nil {
		return nil, nil, err
	}
	a.hashGate.serve() // after the signature: a forged token holds nothing back
	u, err := a.legacyUser(ctx, lc.sub)
	switch {
	case err != nil:
		return nil, nil, err
	case u == nil:
		return nil, nil, fmt.Errorf("%w: legacy token: no account has its sub as a login name", ErrTokenRevoked)
	case u.Disabled:
		return nil, nil, both(ErrTokenRevoked, ErrUserDisabled)
	case issuedBefore(lc.iat, u.CreatedAt):
		return nil, nil, fmt.Errorf("%w: legacy token: issued before the account was created", ErrTokenRevoked)
	case issuedBefore(lc.iat, u.TokensEndedAt):
		return nil, nil, fmt.Errorf("%w: legacy token: issued before the account's tokens were ended", ErrTokenRevoked)
	}
	c := &Claims{
		Subject: u.ID, ExpiresAt: lc.exp, NotBefore: lc.nbf, IssuedAt: lc.iat, Legacy: true,
		Methods: []string{MethodPassword},
	}
	return u, c, nil
}

// legacyUser finds the account a legacy token's sub names, as Login finds
// the account of a login name: the one with that username (normalised),
// else the one with that email; nil if none.
func (a *Authenticator) legacyUser(ctx context.Context, sub string) (*User, error) {
	if len(sub) > maxLoginNameBytes || !storable.Strings(sub) {
		return nil, nil
	}
	name := NormalizeUsername(sub)
	u, err := a.store.UserByUsername(ctx, name)
	if errors.Is(err, ErrNotFound) {
		u, err = a.store.UserByEmail(ctx, NormalizeEmail(name))
	}
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return u, err
}

// issuedBefore reports whether a token issued at iat may have been issued
// before t; false when either is unknown (zero). A NumericDate is most
// often whole seconds (PyJWT's and python-jose's are), so a token of the
// second of t, which may be before or after it, counts as before: iat is
// compared with t rounded up to the second.
func issuedBefore(iat, t time.Time) bool {
	if iat.IsZero() || t.IsZero() {
		return false
	}
	up := t.Truncate(time.Second)
	if up.Before(t) {
		up = up.Add(time.Second)
	}
	return iat.Before(up)
}
