// Package admin is the administration of accounts for an
// auth.Authenticator: what an operator does to them, through the admin
// endpoints (package admin/adminhttp) or the command line (package
// admin/adminctl, which cmd/authctl and a service's own authctl run): list them, create
// them, disable and enable them, set their roles, end their logins, set
// their password, delete them. A service that does not administer accounts
// through the library neither imports nor configures it.
//
// It is a feature on the core's seam (see package auth): it changes
// accounts through the Store's ChangeUser, one atomic change of the fields
// given, which never takes Role from its last enabled holder unless
// forced; it creates them with the core's Register (checked as a signup
// is), sets passwords through the core's HashPassword and deletes them
// with the core's DeleteUser (the store's auth.UserDeleter); it lists them
// through a store capability of its own (UserLister, which store/memory,
// store/sqlite and store/postgres implement); and its events
// (EventUserDisabled, EventUserEnabled, EventRolesChanged, and the core's
// EventLogoutAll, EventRegistered, EventPasswordChanged and
// EventUserDeleted for what it does of theirs) go through the
// Authenticator to the same audit log, naming the actor.
package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/roles"
	"github.com/goauthkit/auth/store/storable"
)

// Administration's constants.
const (
	// Role is the role of administrators: the admin endpoints
	// (admin/adminhttp) require it, and neither UpdateUser nor DeleteUser
	// takes it from its last enabled holder (unless forced), nor does the
	// user's own deletion (auth.Authenticator.DeleteAccount, which keeps
	// the same name: TestDeleteAccountKeepsRole checks they agree).
	Role = "admin"
	// MaxListUsers bounds one page of ListUsers.
	MaxListUsers = 500
)

// Events of administration, each with the auth.Event's Actor (who made
// the change) and Change (what changed). Ending an account's logins is
// auth.EventLogoutAll with them.
const (
	EventUserDisabled auth.EventType = "user_disabled"
	EventUserEnabled  auth.EventType = "user_enabled"
	EventRolesChanged auth.EventType = "roles_changed"
)

// ErrInvalidCursor is returned by ListUsers for a cursor it did not make.
var ErrInvalidCursor = errors.New("admin: invalid cursor")

// UserLister is the store capability of the list of accounts, which an
// auth.Store implements if it can. It follows auth.UserStore's error
// contract.
type UserLister interface {
	// ListUsers returns at most limit users whose ID is greater than after
	// (every user for ""), in increasing order of ID (byte for byte):
	// pages that stay stable while users are added or removed. An after
	// that is not valid UTF-8 or holds a NUL is auth.ErrInvalidInput.
	ListUsers(ctx context.Context, after string, limit int) ([]*auth.User, error)
}

// Admin administers the accounts of one Authenticator. It is safe for
// concurrent use.
type Admin struct {
	a     *auth.Authenticator
	store auth.Store
}

// New returns the administration of a's accounts.
func New(a *auth.Authenticator) *Admin {
	return &Admin{a: a, store: a.Store()}
}

// errNoLister is ListUsers' refusal without a UserLister.
var errNoLister error = missingLister{}

// missingLister is errNoLister's type: its own words, and
// errors.Is(err, auth.ErrMissingCapability).
type missingLister struct{}

func (missingLister) Error() string {
	return "admin: ListUsers needs a Store that implements admin.UserLister (listing users)"
}

func (missingLister) Unwrap() error { return auth.ErrMissingCapability }

// ListUsers returns one page of users, at most limit of them (1 to
// MaxListUsers; 0 means 50), in a stable order (by id), and the cursor of
// the next page: "" when this is the last. Pass "" for the first page. A
// cursor that ListUsers did not return is ErrInvalidCursor.
//
// It needs a Store that is a UserLister, and returns an error matching
// auth.ErrMissingCapability otherwise: a service may administer accounts
// on a store that cannot list them (see examples/usertable), so it is
// checked here rather than by New, which would refuse it everything else.
func (x *Admin) ListUsers(ctx context.Context, cursor string, limit int) ([]*auth.User, string, error) {
	lister, ok := x.store.(UserLister)
	if !ok {
		return nil, "", errNoLister
	}
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > MaxListUsers:
		return nil, "", auth.ErrInvalidInput
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

// Update is an administrator's change to an account (UpdateUser).
// Fields left nil are left as they are.
type Update struct {
	// Disabled, if set, disables the account (ending its logins at once
	// and refusing new ones) or enables it.
	Disabled *bool
	// Roles, if set, replace the account's roles: sorted, duplicates
	// dropped; each 1 to 64 characters of a-z, 0-9, '_', '-', '.' and ':',
	// at most 32 of them (else auth.ErrInvalidRole). Access tokens issued
	// before carry the old roles in their claims only if
	// auth.Config.Tokens.ExtraClaims puts them there; User.HasRole reads the stored ones on every request.
	Roles *[]string
	// Logout ends every login of the account at once, as LogoutAll does.
	Logout bool
	// Actor names who makes the change, for the audit log (auth.Event.Actor):
	// the acting administrator's user id, or a tool and who runs it, such
	// as "authctl (unix user alice)". Required.
	Actor string
	// Force allows a change that leaves no enabled account with Role.
	Force bool
	// Client is where the change comes from, for the events; empty for a
	// tool run on the server.
	Client auth.Client
}

// errNoActor is returned by every change for a request without an Actor.
var errNoActor = errors.New("admin: an Actor is required (who makes the change, for the audit log)")

// UpdateUser makes an administrator's change to the account userID,
// atomically and field by field: changes of other fields made at once (by
// another administrator, a tool, the user) all take effect, none undoing
// another. It returns the user as changed; auth.ErrNotFound;
// auth.ErrInvalidRole; auth.ErrLastAdmin, and changes nothing, when the
// change would leave no enabled account holding Role (unless up.Force); or
// a store error. Each change is an event (EventUserDisabled,
// EventUserEnabled, EventRolesChanged, auth.EventLogoutAll) naming
// up.Actor and what changed.
func (x *Admin) UpdateUser(ctx context.Context, userID string, up Update) (*auth.User, error) {
	if up.Actor == "" {
		return nil, errNoActor
	}
	c := auth.UserChange{Disabled: up.Disabled, Logout: up.Logout, Now: x.a.Now()}
	if up.Roles != nil {
		clean, ok := roles.Clean(*up.Roles)
		if !ok {
			return nil, auth.ErrInvalidRole
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
		c.KeepRole = Role
	}
	u, err := x.store.ChangeUser(ctx, userID, c)
	if err != nil {
		return nil, err
	}
	ev := auth.Event{UserID: u.ID, Username: u.Username, Actor: up.Actor, ClientAddr: up.Client.Addr}
	if up.Disabled != nil {
		ev.Type, ev.Change = EventUserEnabled, "disabled=false"
		if *up.Disabled {
			ev.Type, ev.Change = EventUserDisabled, "disabled=true"
		}
		x.a.Emit(ctx, ev)
	}
	if c.Roles != nil {
		ev.Type, ev.Change = EventRolesChanged, "roles="+strings.Join(*c.Roles, ",")
		x.a.Emit(ctx, ev)
	}
	if up.Logout {
		ev.Type, ev.Change = auth.EventLogoutAll, "logins ended"
		x.a.Emit(ctx, ev)
	}
	return u, nil
}

// CreateUser makes an account for an administrator, checked as a signup
// is (auth.Authenticator.Register: the username, email, password and role
// rules, names taken), without the signup limit of the client address.
// n.Actor is required. An empty n.Password makes an account without a
// password (auth.NewUser.NoPassword): it signs in only once it has one
// (a reset by a mailed link, SetPassword) or by another way of signing in.
// The event is auth.EventRegistered with the actor (and, with an email and
// package recovery, a verification link is mailed to it). It returns the
// user, or Register's errors.
func (x *Admin) CreateUser(ctx context.Context, n auth.NewUser) (*auth.User, error) {
	if n.Actor == "" {
		return nil, errNoActor
	}
	n.NoPassword = n.Password == ""
	return x.a.Register(ctx, n)
}

// Deletion is an administrator's deletion of an account (DeleteUser).
type Deletion struct {
	// Actor names who deletes the account, for the audit log, as
	// Update.Actor does. Required.
	Actor string
	// Force allows deleting the last enabled account with Role.
	Force bool
	// Client is where the deletion comes from, for the event; empty for a
	// tool run on the server.
	Client auth.Client
}

// DeleteUser deletes the account userID for an administrator, as the
// user's own deletion does (auth.Authenticator.DeleteAccount, without the
// password): the account and everything the store keeps of it go at once,
// its tokens are refused from then on, its username and email are free
// again; the event is auth.EventUserDeleted naming d.Actor. It returns an
// error matching auth.ErrMissingCapability if the Store is not an
// auth.UserDeleter; auth.ErrNotFound; auth.ErrLastAdmin, and deletes
// nothing, for the last enabled account with Role (unless d.Force); or a
// store error.
func (x *Admin) DeleteUser(ctx context.Context, userID string, d Deletion) error {
	if d.Actor == "" {
		return errNoActor
	}
	return x.a.DeleteUser(ctx, auth.AccountDeletion{UserID: userID, Actor: d.Actor, Force: d.Force, Client: d.Client})
}

// PasswordSet is an administrator's new password for an account
// (SetPassword).
type PasswordSet struct {
	// Password is the new password, checked against the
	// auth.PasswordPolicy and hashed as given.
	Password string
	// Actor names who sets it, for the audit log, as Update.Actor does.
	// Required.
	Actor string
	// Client is where the change comes from, for the event; empty for a
	// tool run on the server.
	Client auth.Client
}

// SetPassword replaces the password of the account userID, as a reset by
// a mailed link does: the password is checked by the password rules and
// hashed by the Authenticator's Hasher (auth.Authenticator.HashPassword),
// and the same atomic store operation ends every login and access token
// of the account (and every mailed link of it). The event is
// auth.EventPasswordChanged naming ps.Actor (package recovery, if the
// service uses it, mails the account's address a notice). It returns
// auth.ErrNotFound; an error wrapping auth.ErrInvalidPassword for a
// password that breaks the rules; auth.ErrConflict if the password changed
// meanwhile; auth.ErrBusy; or a store error.
func (x *Admin) SetPassword(ctx context.Context, userID string, ps PasswordSet) error {
	if ps.Actor == "" {
		return errNoActor
	}
	u, err := x.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	hash, err := x.a.HashPassword(ctx, ps.Password)
	if err != nil {
		return err
	}
	if err := x.store.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, hash, true, x.a.Now()); err != nil {
		return err
	}
	x.a.Emit(ctx, auth.Event{Type: auth.EventPasswordChanged, UserID: u.ID, Username: u.Username, Email: u.Email,
		Actor: ps.Actor, Change: "password set", ClientAddr: ps.Client.Addr})
	return nil
}
