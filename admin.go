package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/goauthkit/auth/internal/storable"
)

// Administration: what an operator does to accounts, through the admin
// endpoints or cmd/authctl.

// Administration's constants.
const (
	// AdminRole is the role of administrators: the admin endpoints of
	// authhttp require it, and UpdateUser never takes it from its last
	// enabled holder (unless forced).
	AdminRole = "admin"
	// MaxListUsers bounds one page of ListUsers.
	MaxListUsers = 500
)

// Role rules: at most maxRoles per user, each 1 to 64 characters of a-z,
// 0-9, '_', '-', '.' and ':'.
const (
	maxRoles     = 32
	maxRoleBytes = 64
)

// ListUsers returns one page of users, at most limit of them (1 to
// MaxListUsers; 0 means 50), in a stable order (by id), and the cursor of
// the next page: "" when this is the last. Pass "" for the first page. A
// cursor that ListUsers did not return is ErrInvalidCursor.
//
// It needs a Store that is a UserLister, and returns an error matching
// ErrMissingCapability otherwise: the list of accounts is not configured
// anywhere (authhttp serves it with every other route), so it is checked
// here rather than by New, which would refuse the stores that lack it
// everything else.
func (a *Authenticator) ListUsers(ctx context.Context, cursor string, limit int) ([]*User, string, error) {
	lister, ok := a.store.(UserLister)
	if !ok {
		return nil, "", missingCapability("Authenticator.ListUsers", "UserLister", "listing users")
	}
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > MaxListUsers:
		return nil, "", ErrInvalidInput
	}
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || len(b) > 256 || !storable.Strings(string(b)) {
			return nil, "", ErrInvalidCursor
		}
		after = string(b)
	}
	users, err := lister.ListUsers(ctx, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(users[limit-1].ID))
	}
	return users, next, nil
}

// UserUpdate is an administrator's change to an account (UpdateUser).
// Fields left nil are left as they are.
type UserUpdate struct {
	// Disabled, if set, disables the account (ending its logins at once
	// and refusing new ones) or enables it.
	Disabled *bool
	// Roles, if set, replace the account's roles: sorted, duplicates
	// dropped; each 1 to 64 characters of a-z, 0-9, '_', '-', '.' and ':',
	// at most 32 of them (else ErrInvalidRole). Access tokens issued before
	// carry the old roles in their claims only if Config.Tokens.ExtraClaims puts
	// them there; User.HasRole reads the stored ones on every request.
	Roles *[]string
	// Logout ends every login of the account at once, as LogoutAll does.
	Logout bool
	// Actor names who makes the change, for the audit log (Event.Actor):
	// the acting administrator's user id, or a tool and who runs it, such
	// as "authctl (unix user alice)". Required.
	Actor string
	// Force allows a change that leaves no enabled account with AdminRole.
	Force bool
	// Client is where the change comes from, for the events; empty for a
	// tool run on the server.
	Client Client
}

// errNoActor is returned by UpdateUser for a UserUpdate without an Actor.
var errNoActor = errors.New("auth: UserUpdate.Actor is required")

// UpdateUser makes an administrator's change to the account userID,
// atomically and field by field: changes of other fields made at once (by
// another administrator, a tool, the user) all take effect, none undoing
// another. It returns the user as changed; ErrNotFound; ErrInvalidRole;
// ErrLastAdmin, and changes nothing, when the change would leave no enabled
// account holding AdminRole (unless up.Force); or a store error. Each
// change is an event (EventUserDisabled, EventUserEnabled,
// EventRolesChanged, EventLogoutAll) naming up.Actor and what changed.
func (a *Authenticator) UpdateUser(ctx context.Context, userID string, up UserUpdate) (*User, error) {
	if up.Actor == "" {
		return nil, errNoActor
	}
	c := UserChange{Disabled: up.Disabled, Logout: up.Logout, Now: a.timestamp()}
	if up.Roles != nil {
		clean, err := cleanRoles(*up.Roles)
		if err != nil {
			return nil, err
		}
		if clean == nil {
			clean = []string{}
		}
		c.Roles = &clean
	}
	if c.Disabled != nil && *c.Disabled {
		c.Logout = true // disabling ends every login, in the same operation
	}
	if !up.Force {
		c.KeepRole = AdminRole
	}
	u, err := a.store.ChangeUser(ctx, userID, c)
	if err != nil {
		return nil, err
	}
	ev := Event{UserID: u.ID, Username: u.Username, Actor: up.Actor, ClientAddr: up.Client.Addr}
	if up.Disabled != nil {
		ev.Type, ev.Change = EventUserEnabled, "disabled=false"
		if *up.Disabled {
			ev.Type, ev.Change = EventUserDisabled, "disabled=true"
		}
		a.emit(ctx, ev)
	}
	if c.Roles != nil {
		ev.Type, ev.Change = EventRolesChanged, "roles="+strings.Join(*c.Roles, ",")
		a.emit(ctx, ev)
	}
	if up.Logout {
		ev.Type, ev.Change = EventLogoutAll, "logins ended"
		a.emit(ctx, ev)
	}
	return u, nil
}

// cleanRoles checks roles and returns them sorted, without duplicates.
func cleanRoles(roles []string) ([]string, error) {
	if len(roles) > maxRoles {
		return nil, ErrInvalidRole
	}
	for _, r := range roles {
		if !validRole(r) {
			return nil, ErrInvalidRole
		}
	}
	if len(roles) == 0 {
		return nil, nil
	}
	clean := slices.Clone(roles)
	slices.Sort(clean)
	return slices.Compact(clean), nil
}

func validRole(r string) bool {
	if len(r) == 0 || len(r) > maxRoleBytes {
		return false
	}
	for i := 0; i < len(r); i++ {
		switch c := r[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
