// Package oidchttp serves package oidc over HTTP, as the HTTP contract's
// "Sign in with another provider: OpenID Connect" says: the providers'
// list, the redirect to a provider and its callback (which signs the
// browser in with the session cookie, or ends on a failure page), the
// link of a provider account to a signed-in user, and the list and unlink
// of one's identities.
//
// It is built on the authhttp.Handlers of the same Authenticator, so
// mount both sets of routes in one router:
//
//	h, _ := authhttp.New(a, authhttp.Config{})
//	o, _ := oidc.New(ctx, a, oidc.Config{PublicURL: "https://example.com", Providers: providers})
//	router := authhttp.NewRouter()
//	router.Mount(h.Routes())
//	router.Mount(oidchttp.New(h, o).Routes())
package oidchttp

import (
	"context"
	_ "embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/oidc"
)

// AttemptCookieName is the cookie that binds a sign-in attempt to the
// browser that began it: HttpOnly, Secure, SameSite=Lax (the provider's
// redirect back is a cross-site top-level GET), scoped to /login/.
const AttemptCookieName = "oidc_attempt"

// recentLogin is how recent a login must be to link a provider account.
const recentLogin = 5 * time.Minute

// Handlers are the endpoints of sign-in through providers.
type Handlers struct {
	h *authhttp.Handlers
	o *oidc.OIDC
}

// New returns the endpoints of o, served with h's settings, and extends
// h's answers with those of package oidc's errors; h and o must be of the
// same Authenticator. Call it once for h, before the service serves.
func New(h *authhttp.Handlers, o *oidc.OIDC) *Handlers {
	h.Answer(answer)
	return &Handlers{h: h, o: o}
}

// Routes returns every endpoint at the method and path of the HTTP
// contract, each with its OpenAPI description (authhttp.OpenAPI):
//
//	GET    /login/providers           ProviderList
//	GET    /login/{provider}          Redirect
//	GET    /login/{provider}/callback Callback
//	POST   /identities/{provider}/link Link
//	GET    /identities                Identities
//	DELETE /identities/{provider}     Unlink
func (x *Handlers) Routes() []authhttp.Route {
	routes := []authhttp.Route{
		{Method: http.MethodGet, Path: "/login/providers", Handler: x.ProviderList()},
		{Method: http.MethodGet, Path: "/login/{provider}", Handler: x.Redirect()},
		{Method: http.MethodGet, Path: "/login/{provider}/callback", Handler: x.Callback()},
		{Method: http.MethodPost, Path: "/identities/{provider}/link", Handler: x.Link()},
		{Method: http.MethodGet, Path: "/identities", Handler: x.Identities()},
		{Method: http.MethodDelete, Path: "/identities/{provider}", Handler: x.Unlink()},
	}
	described, err := authhttp.Describe(openapiSpec, routes)
	if err != nil {
		panic("oidchttp: openapi.json: " + err.Error()) // embedded, and tested
	}
	return described
}

// openapiSpec holds the OpenAPI operations of the routes.
//
//go:embed openapi.json
var openapiSpec []byte

// answer maps package oidc's errors at the JSON endpoints.
func answer(err error) *authhttp.Problem {
	switch {
	case errors.Is(err, oidc.ErrUnknownProvider):
		return &authhttp.Problem{Status: http.StatusNotFound, Code: "not_found", Description: "no such provider"}
	case errors.Is(err, oidc.ErrLastCredential):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "last_credential",
			Description: "this provider account is the account's last way to sign in: add a password or a passkey first"}
	}
	return nil
}

type providerJSON struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// ProviderList returns GET /login/providers: 200 {"providers": [{"name",
// "label"}]}.
func (x *Handlers) ProviderList() http.Handler {
	list := struct {
		Providers []providerJSON `json:"providers"`
	}{Providers: []providerJSON{}}
	for _, p := range x.o.Providers() {
		list.Providers = append(list.Providers, providerJSON{Name: p.Name, Label: p.Label})
	}
	return x.h.Public(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		authhttp.WriteJSON(w, http.StatusOK, list)
		return nil
	})
}

// setAttempt sets the attempt cookie of b.
func setAttempt(w http.ResponseWriter, b *oidc.Begun, now time.Time) {
	http.SetCookie(w, &http.Cookie{Name: AttemptCookieName, Value: b.Binding, Path: "/login/",
		MaxAge: int(b.ExpiresAt.Sub(now) / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// clearAttempt tells the browser to drop the attempt cookie.
func clearAttempt(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: AttemptCookieName, Value: "", Path: "/login/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// Redirect returns GET /login/{provider}: 302 to the provider's
// authorization endpoint, with the attempt cookie set. No parameter of
// the request can send the browser anywhere else. An unknown provider is
// 404.
func (x *Handlers) Redirect() http.Handler {
	return x.h.Public(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		b, err := x.o.Begin(c.Context, x.h.PathValue(r, "provider"), nil, x.h.Client(r))
		if err != nil {
			return err
		}
		setAttempt(w, b, x.h.Authenticator().Now())
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, b.URL, http.StatusFound)
		return nil
	})
}

// Callback returns GET /login/{provider}/callback: it finishes the
// attempt (see package oidc), signs the browser in as POST /session does
// (the session cookie) and answers 302 to the public URL; for a link, 302
// there without changing any login. A user with a second factor ends on
// the page in its second-factor step: 302 to the public URL with the
// mfa_token in the fragment (never in a query). Any failure ends on an
// HTML page saying so, with a link back (400; 502 when the provider could
// not be reached). The attempt cookie is cleared.
func (x *Handlers) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			failure(w, http.StatusMethodNotAllowed, "This address only takes GET.")
			return
		}
		clearAttempt(w)
		q := r.URL.Query()
		var binding string
		if cs := r.CookiesNamed(AttemptCookieName); len(cs) == 1 {
			binding = cs[0].Value
		}
		device := x.h.Device(r)
		ctx, cancel := contextFor(r)
		defer cancel()
		res, err := x.o.Finish(ctx, oidc.Callback{Provider: x.h.PathValue(r, "provider"), State: q.Get("state"), Code: q.Get("code"),
			Error: q.Get("error"), Binding: binding, Client: x.h.Client(r), Device: device})
		if err != nil {
			if p := x.h.ProblemFor(err); p != nil && p.Code == "mfa_required" {
				token, _ := p.Members["mfa_token"].(string)
				http.Redirect(w, r, x.o.PublicURL()+"/#mfa_token="+url.QueryEscape(token), http.StatusFound)
				return
			}
			status, msg := http.StatusBadRequest, "The sign-in failed."
			switch {
			case errors.Is(err, oidc.ErrProviderUnavailable):
				status, msg = http.StatusBadGateway, "The sign-in failed: the provider could not be reached."
			case errors.Is(err, oidc.ErrUnknownProvider):
				status, msg = http.StatusNotFound, "The sign-in failed: there is no such provider."
			case errors.Is(err, oidc.ErrLinkedElsewhere):
				msg = "The link failed: that account is linked to another account here."
			case errors.Is(err, oidc.ErrAlreadyLinked):
				msg = "The link failed: your account has an account of that provider linked already."
			case errors.Is(err, auth.ErrUserDisabled):
				msg = "The sign-in failed: the account is disabled."
			case errors.Is(err, auth.ErrStoreUnavailable), errors.Is(err, auth.ErrBusy):
				status, msg = http.StatusServiceUnavailable, "The sign-in failed: the service is busy. Try again."
			}
			failure(w, status, msg)
			return
		}
		if res.Pair != nil {
			x.h.StartSession(w, res.Pair, device)
		}
		http.Redirect(w, r, x.o.PublicURL()+"/", http.StatusFound)
	})
}

// contextFor bounds a callback's work: the provider's calls are bounded
// by oidc.Config.Timeout each, the whole by callbackTimeout.
func contextFor(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), callbackTimeout)
}

// callbackTimeout bounds a callback: the code exchange and a fetch of the
// keys, each bounded by oidc.Config.Timeout, and the store's calls.
const callbackTimeout = 30 * time.Second

// failurePage is the callback's failure page.
var failurePage = template.Must(template.New("failure").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed</title></head>
<body><main><h1>Sign-in failed</h1><p>{{.}}</p><p><a href="/">Back to the sign-in page</a></p></main></body></html>
`))

// failure answers the failure page with status and msg.
func failure(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = failurePage.Execute(w, msg)
}

// Link returns POST /identities/{provider}/link (Bearer of a login less
// than 5 minutes old): 200 {"url"}, with the attempt cookie set: opened in
// this browser, the URL runs the provider's flow and links its account to
// the caller. An older login is 401 insufficient_user_authentication; an
// unknown provider 404.
func (x *Handlers) Link() http.Handler {
	return x.h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		now := x.h.Authenticator().Now()
		if c.Claims.AuthTime.IsZero() || now.Sub(c.Claims.AuthTime) >= recentLogin {
			return auth.ErrRecentLoginRequired
		}
		b, err := x.o.Begin(c.Context, x.h.PathValue(r, "provider"), c.User, c.Client)
		if err != nil {
			return err
		}
		setAttempt(w, b, now)
		authhttp.WriteJSON(w, http.StatusOK, struct {
			URL string `json:"url"`
		}{b.URL})
		return nil
	})
}

type identityJSON struct {
	Provider string    `json:"provider"`
	Subject  string    `json:"subject"`
	Email    *string   `json:"email"`
	LinkedAt time.Time `json:"linked_at"`
}

// Identities returns GET /identities (Bearer): 200 {"identities":
// [{"provider", "subject", "email", "linked_at"}]}, the oldest first.
func (x *Handlers) Identities() http.Handler {
	return x.h.Authenticated(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		ids, err := x.o.Identities(c.Context, c.User.ID)
		if err != nil {
			return err
		}
		out := struct {
			Identities []identityJSON `json:"identities"`
		}{Identities: make([]identityJSON, len(ids))}
		for i, id := range ids {
			out.Identities[i] = identityJSON{Provider: id.Provider, Subject: id.Subject, LinkedAt: id.LinkedAt.UTC()}
			if id.Email != "" {
				email := id.Email
				out.Identities[i].Email = &email
			}
		}
		authhttp.WriteJSON(w, http.StatusOK, out)
		return nil
	})
}

// Unlink returns DELETE /identities/{provider} (Bearer): 204. None at
// that provider is 404; the account's last way to sign in 409
// last_credential.
func (x *Handlers) Unlink() http.Handler {
	return x.h.Authenticated(http.MethodDelete, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		err := x.o.Unlink(c.Context, c.User, x.h.PathValue(r, "provider"), c.Client)
		if errors.Is(err, auth.ErrNotFound) {
			return &authhttp.Problem{Status: http.StatusNotFound, Code: "not_found", Description: "not found", Err: err}
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
