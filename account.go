package auth

import (
	"context"
	"errors"
)

// Deleting accounts: a user's own (DeleteAccount), and an
// administrator's (DeleteUser, which package admin calls). Both need a
// Store that is a UserDeleter.

// adminRole is the role of administrators (package admin's Role). The
// library never lets its last enabled holder go unless an administrator
// forces it: an administrator's change (package admin) and the deletion of
// an account are refused with ErrLastAdmin.
const adminRole = "admin"

// AccountDeletion is what DeleteAccount (a user's own deletion) and
// DeleteUser (an administrator's) need, its fields named so that they
// cannot be swapped unnoticed.
type AccountDeletion struct {
	UserID string
	// Password is the user's current password, as typed, which confirms
	// DeleteAccount; DeleteUser does not read it.
	Password string
	// Actor names who deletes the account for DeleteUser, for the event
	// (Event.Actor): an administrator's user id, or a tool and who runs
	// it. Required by DeleteUser.
	Actor string
	// Force lets DeleteUser delete the last enabled administrator;
	// DeleteAccount never does.
	Force bool
	// Client is who asks: the password is limited as a login's is, by its
	// address too; and the event's address.
	Client Client
	// Claims are those of the access token of the caller of
	// DeleteAccount: a recent login confirms the deletion of an account
	// without a password (see ConfirmOwner). DeleteUser does not read
	// them.
	Claims *Claims
}

// DeleteAccount deletes a user's own account, once the user's password
// confirms it (limited as a login's password is, see CheckPassword), or for
// an account without a password a recent login (see ConfirmOwner): the
// account and everything the store keeps of it (its logins, and what a
// capability keeps, such as recovery.LinkStore's links) go at once; its
// tokens are refused from then on (Authenticate looks the user up), and
// its username and email are free again. It emits EventUserDeleted.
//
// It returns an error matching ErrMissingCapability if the Store is not a
// UserDeleter (before the password is checked); ErrInvalidCredentials for
// a wrong password; a *RateLimitError when the account's passwords are
// being guessed; ErrRecentLoginRequired for an account without a password
// whose login (d.Claims.AuthTime) is not recent; ErrLastAdmin, and deletes
// nothing, when the account is the last enabled administrator;
// ErrNotFound; ErrBusy; or a store error.
func (a *Authenticator) DeleteAccount(ctx context.Context, d AccountDeletion) error {
	deleter, ok := a.store.(UserDeleter)
	if !ok {
		return errNoDeleter
	}
	u, err := a.store.UserByID(ctx, d.UserID)
	if err != nil {
		return err
	}
	if err := a.ConfirmOwner(ctx, u, d.Password, d.Claims, d.Client); err != nil {
		return err
	}
	return a.deleteUser(ctx, deleter, u.ID, adminRole, "", d.Client)
}

// DeleteUser deletes the account d.UserID as DeleteAccount does, without
// asking for its password: what a feature that has authorised the
// deletion otherwise does (package admin, for an administrator), naming
// d.Actor in the event. It returns an error matching ErrMissingCapability
// if the Store is not a UserDeleter, ErrNotFound, ErrLastAdmin (and
// deletes nothing) for the last enabled administrator unless d.Force, or
// a store error.
func (a *Authenticator) DeleteUser(ctx context.Context, d AccountDeletion) error {
	deleter, ok := a.store.(UserDeleter)
	if !ok {
		return errNoDeleter
	}
	if d.Actor == "" {
		return errNoDeletionActor
	}
	keep := adminRole
	if d.Force {
		keep = ""
	}
	return a.deleteUser(ctx, deleter, d.UserID, keep, d.Actor, d.Client)
}

// errNoDeletionActor is DeleteUser's refusal of a deletion that names no
// actor.
var errNoDeletionActor = errors.New("auth: AccountDeletion.Actor is required by DeleteUser")

// deleteUser deletes the account userID in two steps.
//
// First one atomic ChangeUser disables the account and ends its logins,
// with keepRole: the store serialises it with every other change that
// keeps a role, and refuses it (ErrLastAdmin) for the role's last enabled
// holder, so that two of the last administrators deleting themselves at
// once cannot both go. Then the store deletes the account, which no one can
// use any more.
//
// If the process dies, or the store fails, between the two steps, the
// account is left disabled with its logins ended: nobody can use it or
// sign in to it, its links are dead (they die with its token version), but
// its name and email stay taken until it is deleted again (by an
// administrator: DELETE /admin/users/{id}, authctl user delete), which
// finishes the deletion, or enabled again.
func (a *Authenticator) deleteUser(ctx context.Context, deleter UserDeleter, userID, keepRole, actor string, c Client) error {
	disabled := true
	u, err := a.store.ChangeUser(ctx, userID, UserChange{Disabled: &disabled, Logout: true, KeepRole: keepRole, Now: a.timestamp()})
	if err != nil {
		return err
	}
	if err := deleter.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	a.emit(ctx, Event{Type: EventUserDeleted, UserID: u.ID, Username: u.Username, Actor: actor, ClientAddr: c.Addr})
	return nil
}

// errNoDeleter is the refusal of DeleteAccount and DeleteUser without a
// UserDeleter.
var errNoDeleter error = missingDeleter{}

// missingDeleter is errNoDeleter's type: its own words, and
// errors.Is(err, ErrMissingCapability).
type missingDeleter struct{}

func (missingDeleter) Error() string {
	return "auth: deleting accounts needs a Store that implements auth.UserDeleter"
}

func (missingDeleter) Unwrap() error { return ErrMissingCapability }
