// Package passkeyhttp serves package passkey over HTTP, as the HTTP
// contract's "Passkeys" section says: registration while signed in, the
// login without a username (answered as the token endpoint answers, or,
// at POST /session/passkey, as the browser session's login), the sign-up
// with a passkey, and the list, renaming and removal of one's passkeys.
//
// Options and credentials travel in the JSON forms that browsers'
// PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON and toJSON use. It is built on the
// authhttp.Handlers of the same Authenticator, whose answers New extends
// with package passkey's errors, so mount both sets of routes in one
// router:
//
//	h, _ := authhttp.New(a, authhttp.Config{})
//	p, _ := passkey.New(a, passkey.Config{RPID: "example.com", Origins: []string{"https://example.com"}})
//	router := authhttp.NewRouter()
//	router.Mount(h.Routes())
//	router.Mount(passkeyhttp.New(h, p).Routes())
package passkeyhttp

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/passkey"
)

// Handlers are the endpoints of passkeys.
type Handlers struct {
	h *authhttp.Handlers
	p *passkey.Passkeys
}

// New returns the endpoints of p, served with h's settings, and extends
// h's answers with those of package passkey's errors; h and p must be of
// the same Authenticator. Call it once for h, before the service serves.
func New(h *authhttp.Handlers, p *passkey.Passkeys) *Handlers {
	h.Answer(answer)
	return &Handlers{h: h, p: p}
}

// Routes returns every endpoint at the method and path of the HTTP
// contract, each with its OpenAPI description (authhttp.OpenAPI):
//
//	POST   /passkeys/register/begin    RegisterBegin
//	POST   /passkeys/register/finish   RegisterFinish
//	POST   /passkeys/login/begin       LoginBegin
//	POST   /passkeys/login/finish      LoginFinish
//	POST   /session/passkey            Session
//	POST   /passkeys/signup/begin      SignupBegin
//	POST   /passkeys/signup/finish     SignupFinish
//	GET    /passkeys                   List
//	PATCH  /passkeys/{id}              Rename
//	DELETE /passkeys/{id}              Remove
func (x *Handlers) Routes() []authhttp.Route {
	routes := []authhttp.Route{
		{Method: http.MethodPost, Path: "/passkeys/register/begin", Handler: x.RegisterBegin()},
		{Method: http.MethodPost, Path: "/passkeys/register/finish", Handler: x.RegisterFinish()},
		{Method: http.MethodPost, Path: "/passkeys/login/begin", Handler: x.LoginBegin()},
		{Method: http.MethodPost, Path: "/passkeys/login/finish", Handler: x.LoginFinish()},
		{Method: http.MethodPost, Path: "/session/passkey", Handler: x.Session()},
		{Method: http.MethodPost, Path: "/passkeys/signup/begin", Handler: x.SignupBegin()},
		{Method: http.MethodPost, Path: "/passkeys/signup/finish", Handler: x.SignupFinish()},
		{Method: http.MethodGet, Path: "/passkeys", Handler: x.List()},
		{Method: http.MethodPatch, Path: "/passkeys/{id}", Handler: x.Rename()},
		{Method: http.MethodDelete, Path: "/passkeys/{id}", Handler: x.Remove()},
	}
	described, err := authhttp.Describe(openapiSpec, routes)
	if err != nil {
		panic("passkeyhttp: openapi.json: " + err.Error()) // embedded, and tested
	}
	return described
}

// openapiSpec holds the OpenAPI operations of the routes, keyed by method
// and path.
//
//go:embed openapi.json
var openapiSpec []byte

// The endpoints' refusals of a request.
var (
	errCeremony    = authhttp.BadRequest("ceremony is required, a string")
	errCredential  = authhttp.BadRequest("credential is required, a JSON object (PublicKeyCredential.toJSON())")
	errName        = authhttp.BadRequest("name must be a string")
	errNameMissing = authhttp.BadRequest("name is required")
	errUsername    = authhttp.BadRequest("username is required, a string")
	errEmail       = authhttp.BadRequest("email must be a string")
)

// answer maps package passkey's errors to their answers.
func answer(err error) *authhttp.Problem {
	switch {
	case errors.Is(err, passkey.ErrUnknownCredential):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_grant",
			Description: "the passkey is not known here: it may have been removed",
			Members:     map[string]any{"unknown_credential": true}}
	case errors.Is(err, passkey.ErrInvalidCredential):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the passkey's credential was refused"}
	case errors.Is(err, passkey.ErrInvalidCeremony):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the ceremony is unknown, spent or expired: begin again"}
	case errors.Is(err, passkey.ErrLastCredential):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "last_credential",
			Description: "this passkey is the account's last way to sign in: add a password, another passkey or a provider account first"}
	case errors.Is(err, passkey.ErrInvalidName):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_request", Description: "a name is 1 to 64 characters, without control characters"}
	case errors.Is(err, passkey.ErrTooMany):
		return &authhttp.Problem{Status: http.StatusConflict, Code: "too_many_passkeys", Description: "the account has as many passkeys as it may: remove one first"}
	}
	return nil
}

// notFound is the answer to an id that is not one of the caller's
// passkeys.
func notFound(err error) error {
	return &authhttp.Problem{Status: http.StatusNotFound, Code: "not_found", Description: "not found", Err: err}
}

// begun is a begin endpoint's answer.
type begun struct {
	Ceremony  string `json:"ceremony"`
	PublicKey any    `json:"publicKey"`
}

func writeBegun(w http.ResponseWriter, b *passkey.Begun) {
	authhttp.WriteJSON(w, http.StatusOK, begun{Ceremony: b.Ceremony, PublicKey: b.Options})
}

// finish reads a finish's body: {"ceremony", "credential"} and the
// string members names.
func finish(w http.ResponseWriter, r *http.Request, names ...string) (ceremony string, credential []byte, more map[string]string, err error) {
	body, err := authhttp.ReadJSON(w, r)
	if err != nil {
		return "", nil, nil, err
	}
	ceremony, ok, err := body.String("ceremony", errCeremony)
	if err != nil || !ok || ceremony == "" {
		return "", nil, nil, errCeremony
	}
	credential, ok, err = body.Object("credential", errCredential)
	if err != nil || !ok {
		return "", nil, nil, errCredential
	}
	more = map[string]string{}
	for _, n := range names {
		s, ok, err := body.String(n, errName)
		if err != nil {
			return "", nil, nil, err
		}
		if ok {
			more[n] = s
		}
	}
	return ceremony, credential, more, nil
}

// passkeyBody is a passkey in an answer.
type passkeyBody struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	BackedUp   bool       `json:"backed_up"`
}

func passkeyJSON(p *passkey.Passkey) passkeyBody {
	b := passkeyBody{ID: base64.RawURLEncoding.EncodeToString(p.ID), Name: p.Name, CreatedAt: p.CreatedAt.UTC(), BackedUp: p.BackedUp}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt.UTC()
		b.LastUsedAt = &t
	}
	return b
}

// RegisterBegin returns POST /passkeys/register/begin (Bearer, no body):
// 200 {"ceremony", "publicKey": creation options}, which ask for a
// discoverable credential with user verification and no attestation, and
// exclude the caller's passkeys. An account with as many passkeys as it
// may is 409 too_many_passkeys.
func (x *Handlers) RegisterBegin() http.Handler {
	return x.h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		b, err := x.p.BeginRegistration(c.Context, c.User, c.Client)
		if err != nil {
			return err
		}
		writeBegun(w, b)
		return nil
	})
}

// RegisterFinish returns POST /passkeys/register/finish (Bearer, JSON
// {"ceremony", "credential", "name"?}): 201 the passkey. A credential
// that fails verification, a ceremony of another kind or user, spent or
// expired, and a credential id registered already are 400 invalid_grant;
// a name that is not 1 to 64 characters 400 invalid_request.
func (x *Handlers) RegisterFinish() http.Handler {
	return x.h.Authenticated(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		ceremony, credential, more, err := finish(w, r, "name")
		if err != nil {
			return err
		}
		name, given := more["name"]
		if given && name == "" {
			return passkey.ErrInvalidName
		}
		p, err := x.p.FinishRegistration(c.Context, passkey.Registration{User: c.User, Ceremony: ceremony,
			Credential: credential, Name: name, Client: c.Client})
		if err != nil {
			return err
		}
		authhttp.WriteJSON(w, http.StatusCreated, passkeyJSON(p))
		return nil
	})
}

// LoginBegin returns POST /passkeys/login/begin (no body): 200
// {"ceremony", "publicKey": request options} with allowCredentials []
// and userVerification "required".
func (x *Handlers) LoginBegin() http.Handler {
	return x.h.Public(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		b, err := x.p.BeginLogin(c.Context, c.Client)
		if err != nil {
			return err
		}
		writeBegun(w, b)
		return nil
	})
}

// signIn is LoginFinish's and Session's sign-in.
func (x *Handlers) signIn(w http.ResponseWriter, r *http.Request, c authhttp.Call, device string) (*auth.TokenPair, error) {
	ceremony, credential, _, err := finish(w, r)
	if err != nil {
		return nil, err
	}
	return x.p.FinishLogin(c.Context, passkey.Login{Ceremony: ceremony, Credential: credential, Client: c.Client, Device: device})
}

// LoginFinish returns POST /passkeys/login/finish (JSON {"ceremony",
// "credential"}): 200 the token endpoint's answer. A refused credential
// or ceremony is 400 invalid_grant, with "unknown_credential": true when
// no account has the credential; a client address that failed too often
// 429 too_many_attempts.
func (x *Handlers) LoginFinish() http.Handler { return x.h.SignIn(false, x.signIn) }

// Session returns POST /session/passkey, the browser's passkey login:
// LoginFinish's request, answered as POST /session answers, with the
// session cookie; a request from another origin is 403.
func (x *Handlers) Session() http.Handler { return x.h.SignIn(true, x.signIn) }

// SignupBegin returns POST /passkeys/signup/begin (JSON {"username",
// "email"?}): 200 {"ceremony", "publicKey": creation options}, the
// username and email checked as POST /signup checks them (400, 409, 422,
// 429 alike); nothing is created yet.
func (x *Handlers) SignupBegin() http.Handler {
	return x.h.Public(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		username, ok, err := body.String("username", errUsername)
		if err != nil || !ok || username == "" {
			return errUsername
		}
		email, _, err := body.String("email", errEmail)
		if err != nil {
			return err
		}
		b, err := x.p.BeginSignup(c.Context, passkey.Signup{Username: username, Email: email, Client: c.Client})
		if err != nil {
			return err
		}
		writeBegun(w, b)
		return nil
	})
}

// SignupFinish returns POST /passkeys/signup/finish (JSON {"ceremony",
// "credential"}): 201 {"user", "access_token", "token_type", "expires_in",
// "refresh_token"}, an account whose only way in is the passkey, signed
// in. A refused credential or ceremony is 400 invalid_grant; a name or
// email taken meanwhile 409 user_exists or email_exists.
func (x *Handlers) SignupFinish() http.Handler {
	return x.h.Public(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		ceremony, credential, _, err := finish(w, r)
		if err != nil {
			return err
		}
		u, pair, err := x.p.FinishSignup(c.Context, passkey.SignupFinish{Ceremony: ceremony, Credential: credential, Client: c.Client})
		if err != nil {
			return err
		}
		x.h.WriteTokens(w, http.StatusCreated, u, pair)
		return nil
	})
}

// listBody is List's answer.
type listBody struct {
	UserHandle string        `json:"user_handle"`
	Passkeys   []passkeyBody `json:"passkeys"`
}

// List returns GET /passkeys (Bearer): 200 {"user_handle", "passkeys":
// [...]}, the oldest first; user_handle is the account's WebAuthn user id
// (base64url), for the Signal API.
func (x *Handlers) List() http.Handler {
	return x.h.Authenticated(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		handle, keys, err := x.p.List(c.Context, c.User.ID)
		if err != nil {
			return err
		}
		b := listBody{UserHandle: base64.RawURLEncoding.EncodeToString(handle), Passkeys: make([]passkeyBody, len(keys))}
		for i := range keys {
			b.Passkeys[i] = passkeyJSON(&keys[i])
		}
		authhttp.WriteJSON(w, http.StatusOK, b)
		return nil
	})
}

// id reads the path's passkey id; an id that is not base64url is no
// passkey's.
func (x *Handlers) id(r *http.Request) []byte {
	id, err := base64.RawURLEncoding.DecodeString(x.h.PathValue(r, "id"))
	if err != nil {
		return nil
	}
	return id
}

// Rename returns PATCH /passkeys/{id} (Bearer, JSON {"name"}): 200 the
// passkey. A name that is not 1 to 64 characters is 400 invalid_request;
// an id that is not one of the caller's passkeys 404.
func (x *Handlers) Rename() http.Handler {
	return x.h.Authenticated(http.MethodPatch, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		name, ok, err := body.String("name", errName)
		if err != nil {
			return err
		}
		if !ok {
			return errNameMissing
		}
		p, err := x.p.Rename(c.Context, c.User, x.id(r), name, c.Client)
		if errors.Is(err, auth.ErrNotFound) {
			return notFound(err)
		}
		if err != nil {
			return err
		}
		authhttp.WriteJSON(w, http.StatusOK, passkeyJSON(p))
		return nil
	})
}

// Remove returns DELETE /passkeys/{id} (Bearer): 204. An id that is not
// one of the caller's passkeys is 404; the account's last way to sign in
// (no password, no other passkey, no linked provider account) 409
// last_credential.
func (x *Handlers) Remove() http.Handler {
	return x.h.Authenticated(http.MethodDelete, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		err := x.p.Remove(c.Context, c.User, x.id(r), c.Client)
		if errors.Is(err, auth.ErrNotFound) {
			return notFound(err)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
