package authhttp

import (
	"errors"
	"net/http"
	"time"

	"github.com/goauthkit/auth"
)

// sessionView is one login as GET /sessions shows it.
type sessionView struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	UserAgent  string `json:"user_agent"`
	ClientAddr string `json:"client_addr,omitempty"`
	Current    bool   `json:"current"`
}

// Sessions returns the endpoint that lists the user's logins, GET with a
// Bearer access token: 200 {"sessions": [{"id", "created_at",
// "last_used_at", "user_agent", "current"}]}, newest first, where
// last_used_at is the last refresh (or the login) and current marks the
// login the access token belongs to. With auth.Config.Sessions.RecordAddress,
// each also has its "client_addr".
func (h *Handlers) Sessions() http.Handler {
	return h.endpoint(http.MethodGet, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		list, err := h.a.ListSessions(c.Context, c.User.ID)
		if err != nil {
			return err
		}
		out := make([]sessionView, len(list))
		for i, s := range list {
			out[i] = sessionView{
				ID: s.ID, CreatedAt: rfc3339(s.CreatedAt), LastUsedAt: rfc3339(s.RotatedAt),
				UserAgent: s.UserAgent, ClientAddr: s.ClientAddr, Current: s.ID == c.Claims.SessionID,
			}
		}
		writeJSON(w, http.StatusOK, map[string][]sessionView{"sessions": out})
		return nil
	})
}

// RevokeSession returns the endpoint that ends one of the user's logins,
// DELETE /sessions/{id} with a Bearer access token: 204, that login's
// refresh tokens revoked and its access tokens refused at once (the
// current login's too, if id is it). An id that is not a live login of the
// user (another user's, an unknown one) is 404 not_found. It reads the id
// with PathValue(r, "id"), which Router and http.ServeMux (the pattern
// "DELETE /sessions/{id}") set, and Config.PathValue reads on other
// routers.
func (h *Handlers) RevokeSession() http.Handler {
	return h.endpoint(http.MethodDelete, authenticated, func(w http.ResponseWriter, r *http.Request, c Call) error {
		id := h.PathValue(r, "id")
		if id == "" {
			return errPathNotFound
		}
		if err := h.a.RevokeSession(c.Context, c.Client, c.User.ID, id); err != nil {
			return notFoundNotRevoked(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// notFoundNotRevoked keeps an ErrNotFound (of a session or a user named in
// the path) from being taken by endpoint for the caller's own token having
// been revoked.
func notFoundNotRevoked(err error) error {
	if errors.Is(err, auth.ErrNotFound) {
		return errPathNotFound
	}
	return err
}

// errPathNotFound is an ErrNotFound of what a request's path names, told
// apart from the caller's own account being gone.
var errPathNotFound = errors.New("authhttp: not found")

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
