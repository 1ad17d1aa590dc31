package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/goauthkit/auth/internal/httpjson"
)

// ParseBearer extracts the token from the Authorization header values of a
// request (RFC 6750 §2.1): "Bearer" (any case), one or more spaces, and a
// b64token. It returns ErrNoBearer when there is no header or another
// scheme, ErrMultipleAuthorization for several headers, and ErrTokenMalformed
// for a Bearer header whose token is empty or not a b64token. Tokens in the
// query string or the body are never read.
func ParseBearer(h http.Header) (string, error) {
	tok, err := bearerToken(h)
	if err == nil && !isB64Token(tok) {
		return "", fmt.Errorf("%w: not a bearer b64token", ErrTokenMalformed)
	}
	return tok, err
}

// bearerToken is ParseBearer but for the check of the token's characters,
// which the request authentications leave to Verify: its own scan of a
// token is stricter (base64url and two dots, a subset of b64token), and a
// token that its cache holds passed it already. The check is a fifth of
// the time of GET /users/me with a cached token.
func bearerToken(h http.Header) (string, error) {
	values := h["Authorization"] // canonical: as Values would look it up
	switch {
	case len(values) == 0:
		return "", ErrNoBearer
	case len(values) > 1:
		return "", ErrMultipleAuthorization
	}
	v := values[0]
	const scheme = "bearer"
	if len(v) < len(scheme) || !equalFoldASCII(v[:len(scheme)], scheme) {
		return "", ErrNoBearer
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		return "", ErrNoBearer // "Bearerx ...": another scheme
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	tok := rest[i:]
	if tok == "" {
		return "", fmt.Errorf("%w: an empty bearer token", ErrTokenMalformed)
	}
	return tok, nil
}

func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// isB64Token reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
// / "+" / "/" ) *"=" (RFC 6750 §2.1). It runs over every token on every
// request, so it ORs a table's verdicts eight bytes at a time rather than
// branching on each byte (2× faster on a 370-byte token).
func isB64Token(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	s = s[:n]
	var bad uint8
	for len(s) >= 8 {
		bad |= notB64Token[s[0]] | notB64Token[s[1]] | notB64Token[s[2]] | notB64Token[s[3]] |
			notB64Token[s[4]] | notB64Token[s[5]] | notB64Token[s[6]] | notB64Token[s[7]]
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		bad |= notB64Token[s[i]]
	}
	return bad == 0
}

// notB64Token is 1 for the bytes outside the character class of RFC 6750's
// b64token (less the trailing '='): ALPHA, DIGIT and "-" "." "_" "~" "+"
// "/".
var notB64Token = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			t[c] = 1
		}
	}
	return t
}()

// contextKey is an unexported pointer type, so that no other package can
// plant a user in a request's context.
type contextKey struct{ name string }

func (k *contextKey) String() string { return "auth context key " + k.name }

var principalKey = &contextKey{"principal"}

type principal struct {
	user   *User
	claims *Claims
}

// withUser returns a copy of ctx carrying u and c. Only the middleware
// calls it: no other package can put a user in a context.
func withUser(ctx context.Context, u *User, c *Claims) context.Context {
	return context.WithValue(ctx, principalKey, &principal{user: u, claims: c})
}

// UserFromContext returns the user the middleware authenticated, and false
// if the request is anonymous or did not pass through the middleware.
func UserFromContext(ctx context.Context) (*User, bool) {
	p, _ := ctx.Value(principalKey).(*principal)
	if p == nil || p.user == nil {
		return nil, false
	}
	return p.user, true
}

// ClaimsFromContext returns the verified access-token claims of the request,
// and false if there are none.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	p, _ := ctx.Value(principalKey).(*principal)
	if p == nil || p.claims == nil {
		return nil, false
	}
	return p.claims, true
}

// Middleware returns a handler that lets a request through to next only if
// it carries a valid access token of an existing, enabled user, issued under
// the user's current token version; it puts the user and the claims in the
// request's context (see UserFromContext). Otherwise it answers with RFC
// 6750: 401 and a Bearer challenge (with error="invalid_token" when a token
// was sent), 400 for more than one Authorization header, 503 when the store
// is unavailable. It works with http.ServeMux, chi and any router that
// composes http.Handlers.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return a.middleware(next, false)
}

// OptionalMiddleware is Middleware that also lets anonymous requests (no
// Authorization header, or another scheme) through, without a user in the
// context. A Bearer token that is present but not valid is still refused, so
// a client never silently loses its identity.
func (a *Authenticator) OptionalMiddleware(next http.Handler) http.Handler {
	return a.middleware(next, true)
}

func (a *Authenticator) middleware(next http.Handler, optional bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := a.authenticateRequest(r, r.Context(), optional)
		if err != nil {
			a.WriteAuthError(w, err)
			return
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// authenticateRequest authenticates r's Bearer token within ctx and returns
// ctx carrying the user and claims, or, if optional and r has no Bearer
// token, ctx itself; otherwise the error to answer with writeAuthError. It
// leaves attaching the context to r to the caller, so that a caller with a
// context of its own (the handlers' deadline) copies the request once.
// AuthenticateRequest authenticates the Bearer token of r within ctx, as
// Middleware does: the Authorization header is read as ParseBearer reads
// it, and the token is checked by Authenticate, whose check of its
// characters is stricter than ParseBearer's (the b64token check is not
// made twice). Its errors are ParseBearer's and Authenticate's, for
// WriteAuthError. It is for endpoints that authenticate by themselves
// (package authhttp's).
func (a *Authenticator) AuthenticateRequest(ctx context.Context, r *http.Request) (*User, *Claims, error) {
	tok, err := bearerToken(r.Header)
	if err != nil {
		return nil, nil, err
	}
	return a.Authenticate(ctx, tok)
}

func (a *Authenticator) authenticateRequest(r *http.Request, ctx context.Context, optional bool) (context.Context, error) {
	tok, err := bearerToken(r.Header)
	if err == nil {
		var u *User
		var c *Claims
		if u, c, err = a.Authenticate(ctx, tok); err == nil {
			return withUser(ctx, u, c), nil
		}
	}
	if optional && errors.Is(err, ErrNoBearer) {
		return ctx, nil
	}
	return nil, err
}

// Middleware returns a handler that lets a request through to next only if
// it carries an access token that v accepts, and puts the claims in the
// request's context (ClaimsFromContext). It is for a service that verifies
// the tokens of an issuer it does not run, without a user store (typically
// with a jwks.Remote as key source): there is no user, so UserFromContext
// reports false, and logout-all, password changes and disabled users reach
// such a service only when the access token expires. The caller's identity
// is the claims' Subject (the user id); custom claims are read with
// Claims.Claim. Failures are answered as by Authenticator.Middleware.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := bearerToken(r.Header)
		if err == nil {
			var c *Claims
			if c, err = v.Verify(r.Context(), tok); err == nil {
				next.ServeHTTP(w, r.WithContext(withUser(r.Context(), nil, c)))
				return
			}
		}
		writeAuthError(w, v.realm, err)
	})
}

// RequireRole returns middleware that lets a request through only if the
// authenticated user holds role; use it inside Middleware. A user without
// it gets 403 insufficient_scope; a request without a user gets 401.
func (a *Authenticator) RequireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := UserFromContext(r.Context())
			switch {
			case !ok:
				a.WriteAuthError(w, ErrNoBearer)
			case !u.HasRole(role):
				a.WriteAuthError(w, errInsufficientScope)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// RequireSecondFactor returns middleware that lets a request through only
// if its access token's login was made with a second factor (its
// Claims.Methods hold MethodMFA); use it inside Middleware. Another gets
// 401 with WWW-Authenticate: Bearer error="insufficient_user_authentication"
// (RFC 9470), which tells the client to sign in again with one; a request
// without a user gets 401 as Middleware answers it.
func (a *Authenticator) RequireSecondFactor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		switch {
		case !ok:
			a.WriteAuthError(w, ErrNoBearer)
		case !slices.Contains(c.Methods, MethodMFA):
			a.WriteAuthError(w, ErrSecondFactorRequired)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// writeAuthError answers a request that failed authentication, following
// RFC 6750 §3: 401 with a Bearer challenge (error="invalid_token" when a
// token was sent), 400 for several Authorization headers, 403 for a
// missing role, and 503 temporarily_unavailable when the store or the
// request's deadline is at fault.
func writeAuthError(w http.ResponseWriter, realm string, err error) {
	challenge := `Bearer realm="` + realm + `"`
	switch {
	case errors.Is(err, ErrNoBearer):
		w.Header().Set("WWW-Authenticate", challenge)
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", "authentication required")
	case errors.Is(err, ErrMultipleAuthorization):
		w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_request"`)
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "more than one Authorization header")
	case errors.Is(err, ErrSecondFactorRequired), errors.Is(err, ErrRecentLoginRequired):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication"`)
		desc := "this needs a login with a second factor"
		if errors.Is(err, ErrRecentLoginRequired) {
			desc = "this needs a recent login"
		}
		httpjson.Error(w, http.StatusUnauthorized, "insufficient_user_authentication", desc)
	case errors.Is(err, errInsufficientScope):
		w.Header().Set("WWW-Authenticate", challenge+`, error="insufficient_scope"`)
		httpjson.Error(w, http.StatusForbidden, "insufficient_scope", "the user lacks the required role")
	case errors.Is(err, ErrInvalidToken):
		desc := "the access token is invalid"
		if errors.Is(err, ErrTokenExpired) {
			desc = "the access token expired"
		}
		w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_token", error_description="`+desc+`"`)
		httpjson.Error(w, http.StatusUnauthorized, "invalid_token", desc)
	case unavailable(err):
		httpjson.Error(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable")
	default:
		httpjson.Error(w, http.StatusInternalServerError, "server_error", "internal error")
	}
}

// unavailable reports whether err means the service could not answer in
// time: the store failed, the hashing queue or the request's deadline ran
// out, or the client went away.
func unavailable(err error) bool {
	return errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrBusy) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// WriteAuthError answers a request whose authentication failed with err
// (from ParseBearer or Authenticate) as Middleware does: RFC 6750's status
// and Bearer challenge with the Authenticator's realm, and a JSON error
// body. It is for handlers that authenticate by themselves.
func (a *Authenticator) WriteAuthError(w http.ResponseWriter, err error) {
	writeAuthError(w, a.realm, err)
}
