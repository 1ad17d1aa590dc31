package authhttp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/goauthkit/auth"
)

// Browser sessions. A page keeps its access token in memory (a variable,
// not storage a script injected into the page could read later) and its
// refresh token in a cookie that no script can read at all:
//
//   - HttpOnly: JavaScript never sees the refresh token, so an XSS that
//     runs once cannot carry a week-long login away;
//   - Secure: it never travels over plain HTTP (browsers make an exception
//     for http://localhost and loopback addresses, for development);
//   - SameSite=Strict: the browser never attaches it to a request another
//     site starts, links and top-level navigations included;
//   - the __Host- prefix (hence Path=/ and no Domain): browsers accept a
//     cookie of that name only from this very host, over a secure
//     connection, so a page on a sibling host (another.example.com beside
//     api.example.com) cannot plant one to sign the browser into the
//     attacker's account ("cookie tossing", which a cookie scoped to a path
//     allowed: a planted cookie with a longer path came first). A request
//     carrying more than one is refused, and the server's own cleared.
//
// Each browser sign-in also sets a device cookie (DeviceCookieName, same
// attributes, 30 days): a random value that makes this browser familiar to
// the account it signed in to (auth.Credentials.Device), so that strangers
// failing in the account's name never keep it out.
//
// Every request to these endpoints is also checked with the standard
// library's http.CrossOriginProtection (Sec-Fetch-Site, then Origin, against
// the request's own origin and Config.TrustedOrigins): a cross-origin POST
// is refused with 403 before any cookie is read, so another site cannot log
// a browser in, refresh its session or log it out.

// SessionCookieName is the name of the refresh-token cookie.
const SessionCookieName = "__Host-refresh_token"

// DeviceCookieName is the name of the device cookie.
const DeviceCookieName = "__Host-device"

// deviceCookieMaxAge is how long a browser keeps its device cookie, as
// long as a client stays familiar by default (auth.Limits.FamiliarFor).
const deviceCookieMaxAge = 30 * 24 * time.Hour

// sessionResponse is the body of a browser login or refresh: the token
// response without the refresh token, which is in the cookie.
type sessionResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// The session endpoints' refusals (answered through errorTable).
var (
	errNoSessionCookie = errors.New("authhttp: no session cookie")
	errTwoCookies      = errors.New("authhttp: more than one session cookie")
	errBadSession      = errors.New("authhttp: the session has ended")
	errCrossOrigin     = errors.New("authhttp: cross-origin request refused")
)

// newCrossOrigin makes the cross-origin check of the session endpoints,
// trusting origins besides each request's own.
func newCrossOrigin(origins []string) (*http.CrossOriginProtection, error) {
	p := http.NewCrossOriginProtection()
	for i, o := range origins {
		if err := checkOrigin(o); err != nil {
			return nil, fmt.Errorf("authhttp: Config.TrustedOrigins[%d]: %w", i, err)
		}
		if err := p.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("authhttp: Config.TrustedOrigins[%d]: %w", i, err)
		}
	}
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteErrorFor(w, errCrossOrigin)
	}))
	return p, nil
}

// checkOrigin reports whether o is an origin as browsers send it:
// scheme://host[:port], http or https, nothing after.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
		strings.ToLower(o) != o {
		return errors.New("want an origin such as https://app.example.com (scheme and host in lower case, no path)")
	}
	return nil
}

// setCookie sets a cookie of this package: HttpOnly, Secure,
// SameSite=Strict, Path=/ (as the __Host- prefix requires), for maxAge (a
// negative maxAge clears it).
func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	age := int(maxAge / time.Second)
	if maxAge < 0 {
		age = -1
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: age,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// setSessionCookie sets the refresh-token cookie, for as long as the token
// lives.
func (h *Handlers) setSessionCookie(w http.ResponseWriter, token string) {
	setCookie(w, SessionCookieName, token, h.a.RefreshTTL())
}

// clearSessionCookie tells the browser to drop the cookie.
func (h *Handlers) clearSessionCookie(w http.ResponseWriter) {
	setCookie(w, SessionCookieName, "", -1)
}

// sessionToken returns the refresh token of r's cookie: "" if none, and
// errTwoCookies if r carries more than one (one was planted, or the browser
// is confused: neither can be trusted to name the login).
func sessionToken(r *http.Request) (string, error) {
	cs := r.CookiesNamed(SessionCookieName)
	switch len(cs) {
	case 0:
		return "", nil
	case 1:
		return cs[0].Value, nil
	}
	return "", errTwoCookies
}

// deviceValue returns the device value of r's cookie, if r has exactly one
// that can be one, else a new random one.
func deviceValue(r *http.Request) string {
	if cs := r.CookiesNamed(DeviceCookieName); len(cs) == 1 && validDevice(cs[0].Value) {
		return cs[0].Value
	}
	return rand.Text() + rand.Text() // 52 characters of base32: 260 bits
}

// validDevice reports whether s is a device value this package makes: 52
// characters of A-Z and 2-7.
func validDevice(s string) bool {
	if len(s) != 52 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// writeSession answers a browser login or refresh: the cookie, and the
// access token in the body.
func (h *Handlers) writeSession(w http.ResponseWriter, pair *auth.TokenPair) {
	h.setSessionCookie(w, pair.RefreshToken)
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, sessionResponse{
		AccessToken: pair.AccessToken,
		TokenType:   "bearer",
		ExpiresIn:   int64(h.a.AccessTTL() / time.Second),
	})
}

// browser wraps a session endpoint in the cross-origin check.
func (h *Handlers) browser(next http.Handler) http.Handler {
	return h.crossOrigin.Handler(next)
}

// SessionLogin returns the browser login endpoint, POST with a form or
// JSON body {"username", "password"} (the username may be the account's
// email): 200 with {"access_token", "token_type": "bearer", "expires_in"}
// and the refresh token in the session cookie (see SessionCookieName), and
// the device cookie (DeviceCookieName) set, kept if the browser had one. Its
// failures are the token endpoint's: 400 invalid_grant for a wrong name or
// password, 429 too_many_attempts. A request from another origin than its
// own and Config.TrustedOrigins is 403 forbidden.
func (h *Handlers) SessionLogin() http.Handler {
	return h.browser(h.endpoint(http.MethodPost, grant, func(w http.ResponseWriter, r *http.Request, c Call) error {
		fields, err := readFields(w, r, "username", "password")
		if err != nil {
			return err
		}
		if fields["username"] == "" || fields["password"] == "" {
			return badRequest("username and password are required")
		}
		device := deviceValue(r)
		pair, err := h.a.Login(c.Context, auth.Credentials{Username: fields["username"], Password: fields["password"],
			Client: c.Client, Device: device})
		if err != nil {
			return err
		}
		setCookie(w, DeviceCookieName, device, deviceCookieMaxAge)
		h.writeSession(w, pair)
		return nil
	}))
}

// SessionRefresh returns the browser refresh endpoint, POST with the
// session cookie (any body is ignored): 200 as SessionLogin, the cookie
// rotated like any refresh token (a spent one coming back revokes its
// login; Config.Tokens.RefreshGrace lets two tabs refreshing at once both stay
// signed in). No cookie is 401 unauthorized; a cookie whose token is not
// accepted, or more than one cookie of the name, is 401 invalid_token, and
// the cookie is cleared. A request from another origin is 403 forbidden.
func (h *Handlers) SessionRefresh() http.Handler {
	return h.browser(h.endpoint(http.MethodPost, public, func(w http.ResponseWriter, r *http.Request, c Call) error {
		token, err := sessionToken(r)
		if err != nil {
			h.clearSessionCookie(w)
			return err
		}
		if token == "" {
			return errNoSessionCookie
		}
		pair, err := h.a.Refresh(c.Context, c.Client, token)
		if errors.Is(err, auth.ErrInvalidToken) {
			h.clearSessionCookie(w)
			return fmt.Errorf("%w: %w", errBadSession, err)
		}
		if err != nil {
			return err
		}
		h.writeSession(w, pair)
		return nil
	}))
}

// SessionLogout returns the browser logout endpoint, POST with the session
// cookie: the cookie's login is revoked (its refresh tokens and, at once,
// its access tokens), the cookie cleared, and the answer 204, with or
// without a valid cookie. A store failure is 503 and the cookie is kept,
// since the login may still be live. A request from another origin is 403
// forbidden.
func (h *Handlers) SessionLogout() http.Handler {
	return h.browser(h.endpoint(http.MethodPost, public, func(w http.ResponseWriter, r *http.Request, c Call) error {
		// With two cookies, neither can be trusted to name the login: the
		// server's own is cleared, and the login stays (it may be
		// another's).
		if token, err := sessionToken(r); err == nil && token != "" {
			if err := h.a.Logout(c.Context, c.Client, token); err != nil && !errors.Is(err, auth.ErrInvalidToken) {
				return err
			}
		}
		h.clearSessionCookie(w)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
}

// readFields reads the named string fields of a form or JSON body; absent
// ones are "".
func readFields(w http.ResponseWriter, r *http.Request, names ...string) (map[string]string, error) {
	mt, err := requestMediaType(r, mediaForm, mediaJSON)
	if err != nil {
		return nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if mt == mediaForm {
		return parseForm(body)
	}
	obj, err := parseJSONObject(body)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		s, _, err := obj.stringField(n, badRequest(n+" must be a string"))
		if err != nil {
			return nil, err
		}
		out[n] = s
	}
	return out, nil
}
