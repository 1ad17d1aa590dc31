// Package adminhttp is the HTTP endpoints of package admin, for the
// administrators of a service (users holding admin.Role): list the
// accounts, create one, disable or enable one, set its roles, end its
// logins, delete it. (Mailing an account a password-reset link is package
// recovery's, at POST /admin/users/{id}/password-reset: see
// recovery/recoveryhttp.) They are
// built on the authhttp.Handlers of the same Authenticator (their timeout,
// client addresses, authentication and error answers); mount Routes beside
// authhttp's.
package adminhttp

import (
	"cmp"
	_ "embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/authhttp"
)

// Handlers are the admin endpoints.
type Handlers struct {
	h *authhttp.Handlers
	x *admin.Admin
}

// New returns the endpoints of x, served with h's settings.
func New(h *authhttp.Handlers, x *admin.Admin) *Handlers {
	return &Handlers{h: h, x: x}
}

// Routes returns every endpoint at the method and path of the HTTP
// contract, each with its OpenAPI description (authhttp.OpenAPI):
//
//	GET    /admin/users               ListUsers
//	POST   /admin/users               CreateUser
//	PATCH  /admin/users/{id}          UpdateUser
//	DELETE /admin/users/{id}          DeleteUser
//	POST   /admin/users/{id}/logout   LogoutUser
//
// The {id} is read with authhttp.Handlers.PathValue: authhttp.Router,
// http.ServeMux and chi set it; on another router, see authhttp's package
// documentation. An id the router did not set is answered as an unknown
// one, 404 not_found.
func (x *Handlers) Routes() []authhttp.Route {
	routes := []authhttp.Route{
		{Method: http.MethodGet, Path: "/admin/users", Handler: x.ListUsers()},
		{Method: http.MethodPost, Path: "/admin/users", Handler: x.CreateUser()},
		{Method: http.MethodPatch, Path: "/admin/users/{id}", Handler: x.UpdateUser()},
		{Method: http.MethodDelete, Path: "/admin/users/{id}", Handler: x.DeleteUser()},
		{Method: http.MethodPost, Path: "/admin/users/{id}/logout", Handler: x.LogoutUser()},
	}
	described, err := authhttp.Describe(openapiSpec, routes)
	if err != nil {
		panic("adminhttp: openapi.json: " + err.Error()) // embedded, and tested
	}
	return described
}

// openapiSpec holds the OpenAPI operations of the routes, keyed by method
// and path. They refer to authhttp's shared components (Error, the
// answers every endpoint may give).
//
//go:embed openapi.json
var openapiSpec []byte

// answer maps the errors of package admin, and the ErrNotFound of the user
// a path names, to their answers, and leaves the rest to authhttp's table.
func answer(err error) error {
	switch {
	case errors.Is(err, admin.ErrInvalidCursor):
		return &authhttp.Problem{Status: http.StatusBadRequest, Code: "invalid_request", Description: "cursor is not one this server gave", Err: err}
	case errors.Is(err, auth.ErrNotFound):
		// The user the path names, not the caller (whose account going
		// would be a revoked token).
		return &authhttp.Problem{Status: http.StatusNotFound, Code: "not_found", Description: "not found", Err: err}
	}
	return err
}

// adminUser is a user as the admin endpoints show it: as authhttp's Me
// does, plus
// disabled and roles.
type adminUser struct {
	ID            string   `json:"id"`
	Username      string   `json:"username"`
	Email         *string  `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	CreatedAt     string   `json:"created_at"`
	Disabled      bool     `json:"disabled"`
	Roles         []string `json:"roles"`
}

func viewAdminUser(u *auth.User) adminUser {
	v := adminUser{ID: u.ID, Username: u.Username, EmailVerified: u.EmailVerified, CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339),
		Disabled: u.Disabled, Roles: u.Roles}
	if u.Email != "" {
		v.Email = &u.Email
	}
	if v.Roles == nil {
		v.Roles = []string{}
	}
	return v
}

var (
	errLimit         = authhttp.BadRequest("limit must be an integer from 1 to 500")
	errQueryRepeated = authhttp.BadRequest("a query parameter is sent more than once")
	errQuerySyntax   = authhttp.BadRequest("the query string is not valid")
	errPatchEmpty    = authhttp.BadRequest("give disabled (a boolean), roles (an array of strings), or both")
	errDisabledType  = authhttp.BadRequest("disabled must be a boolean")
	errRolesType     = authhttp.BadRequest("roles must be an array of strings")
	errUsernameMiss  = authhttp.BadRequest("username is required")
	errUsernameType  = authhttp.BadRequest("username must be a string")
	errEmailType     = authhttp.BadRequest("email must be a string or null")
	errPasswordType  = authhttp.BadRequest("password must be a string or null")
)

// admin makes an endpoint that only users holding admin.Role reach
// (others get 403 insufficient_scope, RFC 6750 §3.1), its errors answered
// by answer.
func (x *Handlers) admin(method string, serve func(http.ResponseWriter, *http.Request, authhttp.Call) error) http.Handler {
	return x.h.WithRole(admin.Role, method, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		return answer(serve(w, r, c))
	})
}

// ListUsers returns GET /admin/users?limit=N&cursor=C for admins: 200
// {"users": [...], "next_cursor": string or null}, at most limit users
// (default 50, at most 500) in a stable order, each as Me shows it plus
// "disabled" and "roles"; pass next_cursor back as cursor for the next
// page. A bad limit or cursor is 400 invalid_request; a user without the
// role admin gets 403 insufficient_scope.
func (x *Handlers) ListUsers() http.Handler {
	return x.admin(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return errQuerySyntax
		}
		for _, vs := range q {
			if len(vs) > 1 {
				return errQueryRepeated
			}
		}
		limit := 0
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > admin.MaxListUsers {
				return errLimit
			}
			limit = n
		}
		users, next, err := x.x.ListUsers(c.Context, q.Get("cursor"), limit)
		if err != nil {
			return err
		}
		out := struct {
			Users      []adminUser `json:"users"`
			NextCursor *string     `json:"next_cursor"`
		}{Users: make([]adminUser, len(users))}
		for i, u := range users {
			out.Users[i] = viewAdminUser(u)
		}
		if next != "" {
			out.NextCursor = &next
		}
		authhttp.WriteJSON(w, http.StatusOK, out)
		return nil
	})
}

// UpdateUser returns PATCH /admin/users/{id} for admins, with a JSON
// body {"disabled": bool, "roles": [...]} (either or both): 200 with the
// user as ListUsers shows it. The change is one atomic update of the
// fields given (admin.Admin.UpdateUser, with the acting admin as
// its actor): a change of other fields made at once is never undone.
// Disabling ends the user's sessions and access tokens at once. An unknown
// id is 404 not_found; a body with neither field, or a bad role, is 400
// invalid_request; a change that would leave no enabled account with the
// role admin is 409 last_admin.
func (x *Handlers) UpdateUser() http.Handler {
	return x.admin(http.MethodPatch, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		disabled, hasDisabled, err := body.Bool("disabled", errDisabledType)
		if err != nil {
			return err
		}
		roles, hasRoles, err := body.Strings("roles", errRolesType)
		if err != nil {
			return err
		}
		if !hasDisabled && !hasRoles {
			return errPatchEmpty
		}
		up := admin.Update{Actor: c.User.ID, Client: c.Client}
		if hasDisabled {
			up.Disabled = &disabled
		}
		if hasRoles {
			up.Roles = &roles
		}
		u, err := x.x.UpdateUser(c.Context, x.userID(r), up)
		if err != nil {
			return err
		}
		authhttp.WriteJSON(w, http.StatusOK, viewAdminUser(u))
		return nil
	})
}

// CreateUser returns POST /admin/users for admins, with a JSON body
// {"username", "email" (optional), "password" (optional), "roles"
// (optional)}: 201 with the user as ListUsers shows it, made by
// admin.Admin.CreateUser with the acting admin as its actor and checked as
// a signup is: 409 user_exists or email_exists for a name or an address
// taken, 422 invalid_username, invalid_password or invalid_email for one
// that breaks the rules, 400 invalid_request for a bad body or role. An
// account made without a password (none, null or empty) signs in only once
// it has one (a reset by a mailed link) or by another way of signing in;
// with an email, package recovery mails it a verification link.
func (x *Handlers) CreateUser() http.Handler {
	return x.admin(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		body, err := authhttp.ReadJSON(w, r)
		if err != nil {
			return err
		}
		username, ok, err := body.String("username", errUsernameType)
		if err != nil || !ok {
			return cmp.Or(err, errUsernameMiss)
		}
		email, _, err := body.String("email", errEmailType)
		if err != nil {
			return err
		}
		password, _, err := body.String("password", errPasswordType)
		if err != nil {
			return err
		}
		roles, _, err := body.Strings("roles", errRolesType)
		if err != nil {
			return err
		}
		u, err := x.x.CreateUser(c.Context, auth.NewUser{Username: username, Password: password, Email: email, Roles: roles, Actor: c.User.ID, Client: c.Client})
		if err != nil {
			return err
		}
		authhttp.WriteJSON(w, http.StatusCreated, viewAdminUser(u))
		return nil
	})
}

// DeleteUser returns DELETE /admin/users/{id} for admins: 204, the
// account deleted as the user's own deletion deletes it
// (admin.Admin.DeleteUser, with the acting admin as its actor): its logins
// and links go, its tokens are refused at once, its username and email are
// free again. An unknown id is 404 not_found, and so is every id when the
// Store cannot delete accounts (not an auth.UserDeleter); the last enabled
// account with the role admin is 409 last_admin (authctl's user delete
// -force can delete it).
func (x *Handlers) DeleteUser() http.Handler {
	return x.admin(http.MethodDelete, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		if err := x.x.DeleteUser(c.Context, x.userID(r), admin.Deletion{Actor: c.User.ID, Client: c.Client}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// LogoutUser returns POST /admin/users/{id}/logout for admins: 204,
// every session and access token of the user ended, as LogoutAll does. An
// unknown id is 404 not_found.
func (x *Handlers) LogoutUser() http.Handler {
	return x.admin(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c authhttp.Call) error {
		if _, err := x.x.UpdateUser(c.Context, x.userID(r), admin.Update{Logout: true, Actor: c.User.ID, Client: c.Client}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// userID is the {id} of r's path, read with authhttp.Handlers.PathValue.
func (x *Handlers) userID(r *http.Request) string { return x.h.PathValue(r, "id") }
