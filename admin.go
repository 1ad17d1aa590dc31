package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
)

// Administration: what an operator does to accounts, through the admin
// endpoints or cmd/authctl.

// MaxListUsers bounds one page of ListUsers.
const MaxListUsers = 500

// Role rules: at most maxRoles per user, each 1 to 64 characters of a-z,
// 0-9, '_', '-', '.' and ':'.
const (
	maxRoles     = 32
	maxRoleBytes = 64
)

// ErrInvalidRole is returned by SetRoles for a role name that breaks the
// rules (1 to 64 characters of a-z, 0-9, '_', '-', '.', ':'), or for more
// than 32 roles.
var ErrInvalidRole = errors.New("auth: invalid role")

// ErrInvalidCursor is returned by ListUsers for a cursor it did not make.
var ErrInvalidCursor = errors.New("auth: invalid cursor")

// ListUsers returns one page of users, at most limit of them (1 to
// MaxListUsers; 0 means 50), in a stable order (by id), and the cursor of
// the next page: "" when this is the last. Pass "" for the first page. A
// cursor that ListUsers did not return is ErrInvalidCursor.
func (a *Authenticator) ListUsers(ctx context.Context, cursor string, limit int) ([]*User, string, error) {
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > MaxListUsers:
		return nil, "", ErrInvalidInput
	}
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || len(b) > 256 || !storable(string(b)) {
			return nil, "", ErrInvalidCursor
		}
		after = string(b)
	}
	users, err := a.store.ListUsers(ctx, after, limit+1)
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

// SetDisabled disables or enables the account. Disabling ends its sessions
// and access tokens at once (as LogoutAll does) and refuses its logins;
// enabling lets it log in again. It returns the user as stored, or
// ErrNotFound.
func (a *Authenticator) SetDisabled(ctx context.Context, userID string, disabled bool) (*User, error) {
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Disabled != disabled {
		u.Disabled = disabled
		u.UpdatedAt = a.timestamp()
		if err := a.store.UpdateUser(ctx, u); err != nil {
			return nil, err
		}
	}
	if disabled {
		// Always, so that a retried call also ends what a first one that
		// failed half-way left.
		if err := a.store.InvalidateTokens(ctx, userID, a.timestamp()); err != nil {
			return nil, err
		}
		a.emit(ctx, Event{Type: EventUserDisabled, UserID: u.ID, Username: u.Username})
	} else {
		a.emit(ctx, Event{Type: EventUserEnabled, UserID: u.ID, Username: u.Username})
	}
	return a.store.UserByID(ctx, userID)
}

// SetRoles replaces the account's roles (sorted, duplicates dropped). Each
// role is 1 to 64 characters of a-z, 0-9, '_', '-', '.' and ':', at most 32
// of them; otherwise ErrInvalidRole. Access tokens issued before carry the
// old roles in their claims only if Config.ExtraClaims puts them there;
// User.HasRole reads the stored ones on every request. It returns the user
// as stored, or ErrNotFound.
func (a *Authenticator) SetRoles(ctx context.Context, userID string, roles []string) (*User, error) {
	clean, err := cleanRoles(roles)
	if err != nil {
		return nil, err
	}
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	u.Roles = clean
	u.UpdatedAt = a.timestamp()
	if err := a.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	a.emit(ctx, Event{Type: EventRolesChanged, UserID: u.ID, Username: u.Username})
	return a.store.UserByID(ctx, userID)
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
