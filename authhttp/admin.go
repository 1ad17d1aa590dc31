package authhttp

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/goauthkit/auth"
)

// AdminRole is the role that the admin endpoints require (auth.AdminRole).
const AdminRole = auth.AdminRole

// adminUser is a user as the admin endpoints show it: as Me does, plus
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
	v := adminUser{ID: u.ID, Username: u.Username, EmailVerified: u.EmailVerified, CreatedAt: rfc3339(u.CreatedAt),
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
	// errNotAdmin refuses a user without AdminRole.
	errNotAdmin      = errors.New("authhttp: the role admin is required")
	errLimit         = badRequest("limit must be an integer from 1 to 500")
	errQueryRepeated = badRequest("a query parameter is sent more than once")
	errQuerySyntax   = badRequest("the query string is not valid")
	errPatchEmpty    = badRequest("give disabled (a boolean), roles (an array of strings), or both")
	errDisabledType  = badRequest("disabled must be a boolean")
	errRolesType     = badRequest("roles must be an array of strings")
)

// admin wraps serve so that only users holding AdminRole reach it; others
// get 403 insufficient_scope (RFC 6750 §3.1).
func (h *Handlers) admin(method string, serve func(http.ResponseWriter, *http.Request, Call) error) http.Handler {
	return h.endpoint(method, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		if !c.User.HasRole(AdminRole) {
			return errNotAdmin
		}
		return serve(w, r, c)
	})
}

// AdminListUsers returns GET /admin/users?limit=N&cursor=C for admins: 200
// {"users": [...], "next_cursor": string or null}, at most limit users
// (default 50, at most 500) in a stable order, each as Me shows it plus
// "disabled" and "roles"; pass next_cursor back as cursor for the next
// page. A bad limit or cursor is 400 invalid_request; a user without the
// role admin gets 403 insufficient_scope.
func (h *Handlers) AdminListUsers() http.Handler {
	return h.admin(http.MethodGet, func(w http.ResponseWriter, r *http.Request, c Call) error {
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
			if err != nil || n < 1 || n > auth.MaxListUsers {
				return errLimit
			}
			limit = n
		}
		users, next, err := h.a.ListUsers(c.Context, q.Get("cursor"), limit)
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
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// AdminUpdateUser returns PATCH /admin/users/{id} for admins, with a JSON
// body {"disabled": bool, "roles": [...]} (either or both): 200 with the
// user as AdminListUsers shows it. The change is one atomic update of the
// fields given (auth.Authenticator.UpdateUser, with the acting admin as
// its actor): a change of other fields made at once is never undone.
// Disabling ends the user's sessions and access tokens at once. An unknown
// id is 404 not_found; a body with neither field, or a bad role, is 400
// invalid_request; a change that would leave no enabled account with the
// role admin is 409 last_admin.
func (h *Handlers) AdminUpdateUser() http.Handler {
	return h.admin(http.MethodPatch, func(w http.ResponseWriter, r *http.Request, c Call) error {
		body, err := readJSON(w, r)
		if err != nil {
			return err
		}
		disabled, hasDisabled, err := body.boolField("disabled", errDisabledType)
		if err != nil {
			return err
		}
		roles, hasRoles, err := body.stringsField("roles", errRolesType)
		if err != nil {
			return err
		}
		if !hasDisabled && !hasRoles {
			return errPatchEmpty
		}
		up := auth.UserUpdate{Actor: c.User.ID, Client: c.Client}
		if hasDisabled {
			up.Disabled = &disabled
		}
		if hasRoles {
			up.Roles = &roles
		}
		u, err := h.a.UpdateUser(c.Context, r.PathValue("id"), up)
		if err != nil {
			return notFoundNotRevoked(err)
		}
		writeJSON(w, http.StatusOK, viewAdminUser(u))
		return nil
	})
}

// AdminLogoutUser returns POST /admin/users/{id}/logout for admins: 204,
// every session and access token of the user ended, as LogoutAll does. An
// unknown id is 404 not_found.
func (h *Handlers) AdminLogoutUser() http.Handler {
	return h.admin(http.MethodPost, func(w http.ResponseWriter, r *http.Request, c Call) error {
		if _, err := h.a.UpdateUser(c.Context, r.PathValue("id"), auth.UserUpdate{Logout: true, Actor: c.User.ID, Client: c.Client}); err != nil {
			return notFoundNotRevoked(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
