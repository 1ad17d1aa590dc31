// Package storetest is the conformance suite for auth.Store implementations.
// Every store, the in-memory one included, runs it with one call:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) auth.Store { return newStore(t) })
//	}
//
// The factory must return an empty store, isolated from every other store
// it returns (a fresh database, schema or file).
//
// The suite has a part for the required auth.Store, which every store
// runs, and a part for each optional capability (recovery.LinkStore,
// admin.UserLister, auth.UserDeleter, mfastore.Store, passkeystore.Store,
// identitystore.Store),
// which only the stores that implement it run: the cases of a capability a store does not offer are not
// registered at all (a skipped test would read as a failure in CI), and
// the suite logs which capabilities those are.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/identitystore"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/passkeystore"
)

// Concurrency is how many goroutines the concurrency cases run.
const Concurrency = 50

// Run runs the suite against stores made by newStore: the cases of the
// required auth.Store, then those of each optional capability that the
// stores implement (as the first store newStore makes tells).
func Run(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Helper()
	probe := newStore(t)
	runCases(t, newStore, required)
	offers := func(capability string, ok bool, cases func()) {
		if ok {
			cases()
		} else {
			t.Logf("storetest: the store does not implement %s: its cases are not run", capability)
		}
	}
	_, links := probe.(recovery.LinkStore)
	_, lister := probe.(admin.UserLister)
	_, deleter := probe.(auth.UserDeleter)
	_, mfa := probe.(mfastore.Store)
	_, passkey := probe.(passkeystore.Store)
	_, identity := probe.(identitystore.Store)
	offers("recovery.LinkStore", links, func() { runCases(t, newStore, linkCases) })
	offers("admin.UserLister", lister, func() { runCases(t, newStore, listerCases) })
	offers("auth.UserDeleter", deleter, func() { runCases(t, newStore, deleterCases) })
	offers("mfastore.Store", mfa, func() { runCases(t, newStore, mfaCases) })
	offers("passkeystore.Store", passkey, func() { runCases(t, newStore, passkeyCases) })
	offers("identitystore.Store", identity, func() { runCases(t, newStore, identityCases) })
	if links && deleter {
		runCases(t, newStore, linkDeleterCases)
	}
	if mfa && deleter {
		runCases(t, newStore, mfaDeleterCases)
	}
	if passkey && deleter {
		runCases(t, newStore, passkeyDeleterCases)
	}
	if identity && deleter {
		runCases(t, newStore, identityDeleterCases)
	}
	if identity && passkey {
		runCases(t, newStore, identityPasskeyCases)
	}
}

// The stores that offer a capability, as the cases of that capability
// take them.
type (
	linkStore interface {
		auth.Store
		recovery.LinkStore
	}
	listerStore interface {
		auth.Store
		admin.UserLister
	}
	deleterStore interface {
		auth.Store
		auth.UserDeleter
	}
	linkDeleterStore interface {
		linkStore
		auth.UserDeleter
	}
	mfaStore interface {
		auth.Store
		mfastore.Store
	}
	mfaDeleterStore interface {
		mfaStore
		auth.UserDeleter
	}
	passkeyStore interface {
		auth.Store
		passkeystore.Store
	}
	passkeyDeleterStore interface {
		passkeyStore
		auth.UserDeleter
	}
	identityStore interface {
		auth.Store
		identitystore.Store
	}
	identityDeleterStore interface {
		identityStore
		auth.UserDeleter
	}
	identityPasskeyStore interface {
		identityStore
		passkeystore.Store
	}
)

// storeCase is one case of the suite, run on a fresh store that offers S.
type storeCase[S auth.Store] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runCases runs each of cases as a subtest, on a store of its own.
func runCases[S auth.Store](t *testing.T, newStore func(t *testing.T) auth.Store, cases []storeCase[S]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t).(S))
		})
	}
}

// required are the cases of auth.Store: users and sessions.
var required = []storeCase[auth.Store]{
	{"CreateAndGet", testCreateAndGet},
	{"DuplicateUsername", testDuplicateUsername},
	{"DuplicateID", testDuplicateID},
	{"NotFound", testNotFound},
	{"ReturnedUsersAreCopies", testCopies},
	{"ChangeUser", testChangeUser},
	{"ConcurrentChangesOfOneUser", testConcurrentChanges},
	{"KeepRole", testKeepRole},
	{"ConcurrentKeepRole", testConcurrentKeepRole},
	{"LoginNamesAreOneSpace", testLoginNames},
	{"ConcurrentCreateCrossNames", testConcurrentCrossNames},
	{"UpdatePasswordHash", testUpdatePasswordHash},
	{"UpdatePasswordHashLogout", testUpdatePasswordHashLogout},
	{"UserWithoutPassword", testUserWithoutPassword},
	{"InvalidateTokens", testInvalidateTokens},
	{"TokensEndedAt", testTokensEndedAt},
	{"SessionRotate", testSessionRotate},
	{"SessionReuseRevokesFamily", testSessionReuse},
	{"SessionGrace", testSessionGrace},
	{"UserBySession", testUserBySession},
	{"UnstorableText", testUnstorableText},
	{"SessionExpired", testSessionExpired},
	{"SessionRevoke", testSessionRevoke},
	{"SessionForUnknownUser", testSessionUnknownUser},
	{"SessionsAreIndependent", testSessionsIndependent},
	{"ContextCanceled", testContextCanceled},
	{"ConcurrentCreateOneUsername", testConcurrentCreate},
	{"ConcurrentRotateOneToken", testConcurrentRotate},
	{"ConcurrentGraceOneToken", testConcurrentGrace},
	{"Emails", testEmails},
	{"ConcurrentMixedLoad", testConcurrentMixed},
	{"SessionsByUser", testSessionsByUser},
	{"TrimSessions", testTrimSessions},
	{"ConcurrentTrimSessions", testConcurrentTrim},
}

// linkCases are the cases of recovery.LinkStore: the tokens of mailed links.
var linkCases = []storeCase[linkStore]{
	{"LinkNotFound", testLinkNotFound},
	{"UnstorableLinkText", testUnstorableLinkText},
	{"LinkTokens", testLinkTokens},
	{"EmailChangeByLink", testEmailChange},
	{"RedeemVerifyEmail", testRedeemVerifyEmail},
	{"RedeemResetPassword", testRedeemReset},
	{"DeadLinkTokens", testDeadLinks},
	{"ConcurrentRedeemOneToken", testConcurrentRedeem},
}

// listerCases are the cases of admin.UserLister.
var listerCases = []storeCase[listerStore]{
	{"ListUsers", testListUsers},
	{"ConcurrentListUsers", testConcurrentListUsers},
}

// deleterCases are the cases of auth.UserDeleter.
var deleterCases = []storeCase[deleterStore]{
	{"DeleteUser", testDeleteUser},
}

// linkDeleterCases are the cases of a store that offers both
// recovery.LinkStore and auth.UserDeleter.
var linkDeleterCases = []storeCase[linkDeleterStore]{
	{"DeleteUserDeletesLinkTokens", testDeleteLinks},
}

// base is a fixed, microsecond-precise instant; stores must keep times to
// the microsecond.
var base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func newID() string {
	return rand.Text()
}

func newUser(name string) *auth.User {
	return &auth.User{
		ID:           newID(),
		Username:     name,
		Email:        name + "@example.com",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + name,
		Roles:        []string{"user"},
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

// mustCreate creates u; a store that makes its own ids sets u.ID.
func mustCreate(t *testing.T, s auth.Store, u *auth.User) {
	t.Helper()
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", u.Username, err)
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newSession(t *testing.T, s auth.Store, userID, secret string) *auth.Session {
	t.Helper()
	sess := &auth.Session{
		ID: newID(), UserID: userID, TokenHash: hash(secret), UserVersion: 0,
		CreatedAt: base, ExpiresAt: base.Add(time.Hour),
	}
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

func rotation(id, presented, next string, now time.Time) auth.Rotation {
	return auth.Rotation{SessionID: id, Presented: hash(presented), Next: hash(next), ExpiresAt: now.Add(time.Hour), Now: now}
}

func equalUser(t *testing.T, got, want *auth.User) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.Email != want.Email || got.EmailVerified != want.EmailVerified ||
		got.PasswordHash != want.PasswordHash || got.Disabled != want.Disabled ||
		got.TokenVersion != want.TokenVersion || !slices.Equal(got.Roles, want.Roles) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("user differs:\n got %+v\nwant %+v", redact(got), redact(want))
	}
}

func redact(u *auth.User) auth.User {
	c := *u
	c.PasswordHash = fmt.Sprintf("<%d bytes>", len(u.PasswordHash))
	return c
}

func testCreateAndGet(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	byID, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	equalUser(t, byID, u)
	byName, err := s.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatalf("UserByUsername: %v", err)
	}
	equalUser(t, byName, u)

	// No email, no roles.
	bare := newUser("bob")
	bare.Email, bare.Roles = "", nil
	mustCreate(t, s, bare)
	got, err := s.UserByID(ctx, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "" || len(got.Roles) != 0 {
		t.Fatalf("bare user came back as %+v", redact(got))
	}
}

func testDuplicateUsername(t *testing.T, s auth.Store) {
	mustCreate(t, s, newUser("alice"))
	err := s.CreateUser(context.Background(), newUser("alice"))
	if !errors.Is(err, auth.ErrUserExists) {
		t.Fatalf("second CreateUser(alice) = %v, want ErrUserExists", err)
	}
	// Usernames reach the store normalised; it compares them exactly.
	mustCreate(t, s, newUser("alice2"))
}

// testDuplicateID: a user given a taken id is refused, or, by a store that
// makes its own ids (see auth.UserStore.CreateUser), given another.
func testDuplicateID(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	v := newUser("bob")
	v.ID = u.ID
	switch err := s.CreateUser(ctx, v); {
	case errors.Is(err, auth.ErrUserExists):
		if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("failed create left a user behind: %v", err)
		}
	case err == nil && v.ID != u.ID:
		if got, err := s.UserByID(ctx, u.ID); err != nil || got.Username != "alice" {
			t.Fatalf("the first user after a create given its id: %v, %v", got, err)
		}
	default:
		t.Fatalf("CreateUser with a taken id = %v, id %q; want ErrUserExists, or an id made by the store", err, v.ID)
	}
}

func testNotFound(t *testing.T, s auth.Store) {
	ctx := context.Background()
	if _, err := s.UserByID(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByUsername(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.ChangeUser(ctx, "nobody", auth.UserChange{Disabled: ptr(true), Now: base}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ChangeUser(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.UpdatePasswordHash(ctx, "nobody", "a", "b", false, base); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UpdatePasswordHash(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.InvalidateTokens(ctx, "nobody", base); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("InvalidateTokens(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.RotateSession(ctx, rotation("nosession", "a", "b", base)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RotateSession(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.RevokeSession(ctx, "nosession"); err != nil {
		t.Errorf("RevokeSession(unknown) = %v, want nil", err)
	}
	if _, err := s.UserBySession(ctx, "nobody", "nosession"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserBySession(unknown user) = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByEmail(unknown) = %v, want ErrNotFound", err)
	}
}

func testLinkNotFound(t *testing.T, s linkStore) {
	ctx := context.Background()
	if _, err := s.LinkToken(ctx, hash("none")); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("LinkToken(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.CreateLinkToken(ctx, linkToken("nobody", "x", recovery.LinkVerifyEmail, base)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("CreateLinkToken(unknown user) = %v, want ErrNotFound", err)
	}
}

func testCopies(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	u.Roles[0] = "mutated-after-create"
	got, _ := s.UserByID(ctx, u.ID)
	got.Roles[0] = "mutated-after-get"
	got.Email = "x"
	again, _ := s.UserByID(ctx, u.ID)
	if again.Roles[0] != "user" || again.Email != "alice@example.com" {
		t.Fatalf("store shares memory with callers: %+v", redact(again))
	}
}

func ptr[T any](v T) *T { return &v }

// testChangeUser: ChangeUser sets the fields it is given and only those,
// and with Logout ends the user's sessions.
func testChangeUser(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	bob := newUser("bob")
	mustCreate(t, s, bob)
	sess := newSession(t, s, u.ID, "r1")

	at := base.Add(time.Minute)
	got, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(true), Now: at})
	if err != nil {
		t.Fatalf("ChangeUser(Disabled): %v", err)
	}
	want := u.Clone()
	want.Disabled, want.UpdatedAt = true, at
	equalUser(t, got, want)
	stored, _ := s.UserByID(ctx, u.ID)
	equalUser(t, stored, want)
	if _, err := s.UserBySession(ctx, u.ID, sess.ID); err != nil {
		t.Fatalf("a change without Logout ended a session: %v", err)
	}

	at = at.Add(time.Minute)
	got, err = s.ChangeUser(ctx, u.ID, auth.UserChange{Roles: &[]string{"admin", "user"}, Now: at})
	if err != nil {
		t.Fatalf("ChangeUser(Roles): %v", err)
	}
	want.Roles, want.UpdatedAt = []string{"admin", "user"}, at
	equalUser(t, got, want)
	got, err = s.ChangeUser(ctx, u.ID, auth.UserChange{Roles: &[]string{}, Disabled: ptr(false), Now: at})
	if err != nil || len(got.Roles) != 0 || got.Disabled {
		t.Fatalf("ChangeUser(no roles, enabled) = %+v, %v", got, err)
	}

	got, err = s.ChangeUser(ctx, u.ID, auth.UserChange{Logout: true, Now: at})
	if err != nil || got.TokenVersion != 1 {
		t.Fatalf("ChangeUser(Logout) = %+v, %v; want token version 1", got, err)
	}
	if _, err := s.UserBySession(ctx, u.ID, sess.ID); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("a session after ChangeUser(Logout) = %v, want ErrSessionRevoked", err)
	}
	if other, _ := s.UserByID(ctx, bob.ID); other.Disabled || other.TokenVersion != 0 {
		t.Fatal("ChangeUser changed another user")
	}
}

// testConcurrentChanges: a change of one field and a change of another,
// made at once, both take effect (neither writes back what it read of the
// other's field).
func testConcurrentChanges(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	for i := range 20 {
		disabled := i%2 == 0
		roles := []string{fmt.Sprint("r", i)}
		var wg sync.WaitGroup
		var err1, err2 error
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			_, err1 = s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: &disabled, Now: base})
		})
		wg.Go(func() {
			<-start
			_, err2 = s.ChangeUser(ctx, u.ID, auth.UserChange{Roles: &roles, Now: base})
		})
		close(start)
		wg.Wait()
		if err1 != nil || err2 != nil {
			t.Fatalf("trial %d: %v, %v", i, err1, err2)
		}
		got, _ := s.UserByID(ctx, u.ID)
		if got.Disabled != disabled || !slices.Equal(got.Roles, roles) {
			t.Fatalf("trial %d: after a change of Disabled to %v and of Roles to %v at once: %v, %v (one undid the other)",
				i, disabled, roles, got.Disabled, got.Roles)
		}
	}
}

// testKeepRole: a change with KeepRole never takes the role's last enabled
// holder away, and changes nothing when it refuses.
func testKeepRole(t *testing.T, s auth.Store) {
	ctx := context.Background()
	admin := func(name string) *auth.User {
		u := newUser(name)
		u.Roles = []string{"admin", "user"}
		mustCreate(t, s, u)
		return u
	}
	a, b := admin("alice"), admin("bob")
	carol := newUser("carol")
	mustCreate(t, s, carol)
	keep := func(c auth.UserChange) auth.UserChange { c.KeepRole, c.Now = "admin", base; return c }

	// Neither a plain user's change nor a change that keeps the role is refused.
	if _, err := s.ChangeUser(ctx, carol.ID, keep(auth.UserChange{Disabled: ptr(true)})); err != nil {
		t.Fatalf("disabling a non-admin: %v", err)
	}
	if _, err := s.ChangeUser(ctx, a.ID, keep(auth.UserChange{Roles: &[]string{"admin"}})); err != nil {
		t.Fatalf("an admin's roles, keeping admin: %v", err)
	}
	// Two admins: one may go.
	if _, err := s.ChangeUser(ctx, b.ID, keep(auth.UserChange{Disabled: ptr(true)})); err != nil {
		t.Fatalf("disabling one of two admins: %v", err)
	}
	// The last one may not, by either field, even with a disabled admin left.
	for _, c := range []auth.UserChange{{Disabled: ptr(true)}, {Roles: &[]string{"user"}}, {Roles: &[]string{}}, {Disabled: ptr(true), Logout: true}} {
		if _, err := s.ChangeUser(ctx, a.ID, keep(c)); !errors.Is(err, auth.ErrLastAdmin) {
			t.Fatalf("taking the last enabled admin (%+v) = %v, want ErrLastAdmin", c, err)
		}
	}
	got, _ := s.UserByID(ctx, a.ID)
	if got.Disabled || !got.HasRole("admin") || got.TokenVersion != 0 {
		t.Fatalf("a refused change changed the user: %+v", redact(got))
	}
	// Without KeepRole it is the caller's call.
	if _, err := s.ChangeUser(ctx, a.ID, auth.UserChange{Roles: &[]string{}, Now: base}); err != nil {
		t.Fatalf("a change without KeepRole: %v", err)
	}
	// With no admin left, nothing is refused for it.
	if _, err := s.ChangeUser(ctx, carol.ID, keep(auth.UserChange{Disabled: ptr(false)})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeUser(ctx, b.ID, keep(auth.UserChange{Roles: &[]string{"user"}})); err != nil {
		t.Fatalf("a disabled admin's roles, no enabled admin left: %v", err)
	}
}

// testConcurrentKeepRole: two admins taken away at once, each by its own
// change: exactly one is refused.
func testConcurrentKeepRole(t *testing.T, s auth.Store) {
	ctx := context.Background()
	for i := range 20 {
		var users [2]*auth.User
		for j := range users {
			users[j] = newUser(fmt.Sprintf("admin%d-%d", i, j))
			users[j].Roles = []string{"admin"}
			mustCreate(t, s, users[j])
		}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j, u := range users {
			c := auth.UserChange{Disabled: ptr(true), KeepRole: "admin", Now: base}
			if j == 1 {
				c = auth.UserChange{Roles: &[]string{}, KeepRole: "admin", Now: base}
			}
			wg.Go(func() {
				<-start
				_, errs[j] = s.ChangeUser(ctx, u.ID, c)
			})
		}
		close(start)
		wg.Wait()
		refused := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, auth.ErrLastAdmin):
				refused++
			case err != nil:
				t.Fatalf("trial %d: %v", i, err)
			}
		}
		if refused != 1 {
			t.Fatalf("trial %d: the last two admins taken away at once: %d refused, want 1", i, refused)
		}
		// Leave no admin for the next trial.
		for _, u := range users {
			if _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(true), Now: base}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// testLoginNames: a login name is a username or an email, and names one
// account only: a username may not be another's email, nor an email
// another's username.
func testLoginNames(t *testing.T, s auth.Store) {
	ctx := context.Background()
	a := newUser("alice")
	mustCreate(t, s, a)
	u := newUser("alice@example.com") // the username is alice's email
	u.Email = ""
	if err := s.CreateUser(ctx, u); !errors.Is(err, auth.ErrUserExists) {
		t.Fatalf("a username that is another's email = %v, want ErrUserExists", err)
	}
	u = newUser("bob")
	u.Email = "alice" // the email is alice's username
	if err := s.CreateUser(ctx, u); !errors.Is(err, auth.ErrEmailExists) {
		t.Fatalf("an email that is another's username = %v, want ErrEmailExists", err)
	}
	for _, name := range []string{"alice@example.com", "bob"} {
		if _, err := s.UserByUsername(ctx, name); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a refused CreateUser left %s: %v", name, err)
		}
	}
	// One's own email may equal one's own username.
	self := newUser("carol@example.com")
	self.Email = "carol@example.com"
	mustCreate(t, s, self)
}

// testConcurrentCrossNames: a user whose username is X and a user whose
// email is X, created at once: at most one is.
func testConcurrentCrossNames(t *testing.T, s auth.Store) {
	ctx := context.Background()
	for i := range 20 {
		name := fmt.Sprintf("x%d@example.com", i)
		byName := newUser(name)
		byName.Email = ""
		byEmail := newUser(fmt.Sprint("y", i))
		byEmail.Email = name
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j, u := range []*auth.User{byName, byEmail} {
			wg.Go(func() {
				<-start
				errs[j] = s.CreateUser(ctx, u)
			})
		}
		close(start)
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			t.Fatalf("trial %d: a username and another account's email, both %s, created at once", i, name)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, auth.ErrUserExists) && !errors.Is(err, auth.ErrEmailExists) {
				t.Fatalf("trial %d: %v", i, err)
			}
		}
	}
}

func testUpdatePasswordHash(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")

	if err := s.UpdatePasswordHash(ctx, u.ID, "not-the-current-hash", "new", false, base); !errors.Is(err, auth.ErrConflict) {
		t.Fatalf("UpdatePasswordHash with a stale old hash = %v, want ErrConflict", err)
	}
	later := base.Add(time.Second)
	if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$2b$new", false, later); err != nil {
		t.Fatalf("UpdatePasswordHash: %v", err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if got.PasswordHash != "$2b$new" || got.TokenVersion != 0 || !got.UpdatedAt.Equal(later) {
		t.Fatalf("after rehash: hash %q version %d updated %v", got.PasswordHash, got.TokenVersion, got.UpdatedAt)
	}
	// A rehash without logout keeps sessions alive.
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r2", later)); err != nil {
		t.Fatalf("session did not survive a rehash: %v", err)
	}
}

// testUserWithoutPassword: an account without a password (an empty
// PasswordHash, auth.NewUser.NoPassword) is kept as any other, and gets
// one by a compare-and-swap from the empty hash.
func testUserWithoutPassword(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	u.PasswordHash = ""
	mustCreate(t, s, u)
	got, err := s.UserByUsername(ctx, "alice")
	if err != nil || got.PasswordHash != "" {
		t.Fatalf("an account without a password: %+v %v", got, err)
	}
	if err := s.UpdatePasswordHash(ctx, u.ID, "$2b$other", "$2b$new", true, base); !errors.Is(err, auth.ErrConflict) {
		t.Fatalf("UpdatePasswordHash from another hash = %v, want ErrConflict", err)
	}
	if err := s.UpdatePasswordHash(ctx, u.ID, "", "$2b$new", true, base); err != nil {
		t.Fatalf("UpdatePasswordHash from no password: %v", err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.PasswordHash != "$2b$new" || got.TokenVersion != 1 {
		t.Fatalf("after the first password: %+v %v", got, err)
	}
}

func testUpdatePasswordHashLogout(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	other := newUser("bob")
	mustCreate(t, s, other)
	sess := newSession(t, s, u.ID, "r1")
	otherSess := newSession(t, s, other.ID, "o1")

	if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "new", true, base); err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if got.TokenVersion != 1 || got.PasswordHash != "new" {
		t.Fatalf("version %d hash %q, want 1 and new", got.TokenVersion, got.PasswordHash)
	}
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r2", base)); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("session after password change = %v, want ErrSessionRevoked", err)
	}
	if _, err := s.RotateSession(ctx, rotation(otherSess.ID, "o1", "o2", base)); err != nil {
		t.Fatalf("another user's session was revoked: %v", err)
	}
}

func testInvalidateTokens(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	a := newSession(t, s, u.ID, "a1")
	b := newSession(t, s, u.ID, "b1")
	for i := 1; i <= 3; i++ {
		if err := s.InvalidateTokens(ctx, u.ID, base); err != nil {
			t.Fatal(err)
		}
		got, _ := s.UserByID(ctx, u.ID)
		if got.TokenVersion != int64(i) {
			t.Fatalf("TokenVersion = %d after %d invalidations", got.TokenVersion, i)
		}
	}
	for _, sess := range []*auth.Session{a, b} {
		secret := map[string]string{a.ID: "a1", b.ID: "b1"}[sess.ID]
		if _, err := s.RotateSession(ctx, rotation(sess.ID, secret, "x", base)); !errors.Is(err, auth.ErrSessionRevoked) {
			t.Fatalf("session after InvalidateTokens = %v, want ErrSessionRevoked", err)
		}
	}
	// A session opened afterwards works.
	c := newSession(t, s, u.ID, "c1")
	if _, err := s.RotateSession(ctx, rotation(c.ID, "c1", "c2", base)); err != nil {
		t.Fatalf("new session after InvalidateTokens: %v", err)
	}
}

// testTokensEndedAt: User.TokensEndedAt is zero for a new user (CreateUser
// ignores it), and every ending of the user's tokens sets it to the time
// it was given, to the microsecond: InvalidateTokens, UpdatePasswordHash
// with logout, ChangeUser with Logout (alone, or disabling, as package
// admin disables). A rehash, and a change without Logout, leave it; an
// ending given an earlier time leaves it too (it never moves back); and it
// is the user's own.
func testTokensEndedAt(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	u.TokensEndedAt = base.Add(time.Hour)
	mustCreate(t, s, u)
	bob := newUser("bob")
	mustCreate(t, s, bob)
	ended := func(when string, want time.Time) {
		t.Helper()
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.TokensEndedAt.Equal(want) {
			t.Fatalf("TokensEndedAt %s = %v, want %v", when, got.TokensEndedAt, want)
		}
		if byName, err := s.UserByUsername(ctx, u.Username); err != nil || !byName.TokensEndedAt.Equal(want) {
			t.Fatalf("TokensEndedAt %s, by username = %v (%v), want %v", when, byName, err, want)
		}
	}
	ended("after CreateUser", time.Time{})

	t1 := base.Add(time.Minute)
	if err := s.InvalidateTokens(ctx, u.ID, t1); err != nil {
		t.Fatal(err)
	}
	ended("after InvalidateTokens", t1)

	t2 := t1.Add(time.Minute + 7*time.Microsecond)
	if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$2b$rehashed", false, t2); err != nil {
		t.Fatal(err)
	}
	ended("after a rehash", t1)
	if err := s.UpdatePasswordHash(ctx, u.ID, "$2b$rehashed", "$2b$changed", true, t2); err != nil {
		t.Fatal(err)
	}
	ended("after a password change", t2)

	t3 := t2.Add(time.Minute)
	if _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Roles: &[]string{"ops"}, Disabled: ptr(true), Now: t3}); err != nil {
		t.Fatal(err)
	}
	ended("after a change without Logout", t2)
	got, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(false), Logout: true, Now: t3})
	if err != nil || !got.TokensEndedAt.Equal(t3) {
		t.Fatalf("ChangeUser(Logout) = %+v, %v; want TokensEndedAt %v", got, err, t3)
	}
	ended("after ChangeUser(Logout)", t3)
	t4 := t3.Add(time.Minute)
	if _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(true), Logout: true, Now: t4}); err != nil {
		t.Fatal(err)
	}
	ended("after a disabling with Logout", t4)

	if err := s.InvalidateTokens(ctx, u.ID, t1); err != nil {
		t.Fatal(err)
	}
	ended("after an ending given an earlier time", t4)
	if got, _ := s.UserByID(ctx, u.ID); got.TokenVersion != 5 {
		t.Fatalf("TokenVersion = %d after 5 endings", got.TokenVersion)
	}
	if other, _ := s.UserByID(ctx, bob.ID); !other.TokensEndedAt.IsZero() {
		t.Fatalf("another user's TokensEndedAt = %v", other.TokensEndedAt)
	}
}

// testDeleteUser: a deleted user is gone, with its sessions; its names are
// free again; an unknown or unstorable id is ErrNotFound.
func testDeleteUser(t *testing.T, s deleterStore) {
	ctx := context.Background()
	for _, id := range []string{"nobody", "nul\x00inside", "\xff\xfe"} {
		if err := s.DeleteUser(ctx, id); !errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrStoreUnavailable) {
			t.Errorf("DeleteUser(%q) = %v, want ErrNotFound", id, err)
		}
	}
	u := newUser("alice")
	mustCreate(t, s, u)
	other := newUser("bob")
	mustCreate(t, s, other)
	sess := newSession(t, s, u.ID, "r1")
	live := newSession(t, s, u.ID, "l1")
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserBySession(ctx, u.ID, live.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserBySession of a deleted user = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByEmail(ctx, u.Email); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByEmail after delete = %v", err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByID after delete = %v", err)
	}
	if _, err := s.UserByUsername(ctx, "alice"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByUsername after delete = %v", err)
	}
	_, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r2", base))
	if !errors.Is(err, auth.ErrNotFound) && !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("session of a deleted user rotated: %v", err)
	}
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a second DeleteUser = %v, want ErrNotFound", err)
	}
	if got, err := s.UserByID(ctx, other.ID); err != nil || got.Username != "bob" {
		t.Fatalf("another user after a delete: %v, %v", got, err)
	}
	// The name and the email are free again.
	again := newUser("alice")
	mustCreate(t, s, again)
	if again.ID == u.ID {
		t.Fatalf("the deleted user's id %q was made again", u.ID)
	}
}

func testSessionRotate(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	now := base
	for i := 1; i <= 5; i++ {
		now = now.Add(time.Minute)
		got, err := s.RotateSession(ctx, rotation(sess.ID, fmt.Sprint("r", i), fmt.Sprint("r", i+1), now))
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		if got.ID != sess.ID || got.UserID != u.ID || got.UserVersion != 0 ||
			!bytes.Equal(got.TokenHash, hash(fmt.Sprint("r", i+1))) ||
			!got.ExpiresAt.Equal(now.Add(time.Hour)) || !got.CreatedAt.Equal(base) || !got.RotatedAt.Equal(now) {
			t.Fatalf("rotation %d returned %+v", i, got)
		}
	}
}

func testSessionReuse(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r2", base)); err != nil {
		t.Fatal(err)
	}
	// r1 is spent: presenting it again is reuse, and revokes the family.
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r3", base)); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("reuse = %v, want ErrRefreshReuse", err)
	}
	// Even the newest token (r2) is dead now.
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r2", "r4", base)); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("newest token after reuse = %v, want ErrSessionRevoked", err)
	}
	// A token that never belonged to the family is reuse too (the signature
	// vouched for it, so it was spent).
	other := newSession(t, s, u.ID, "o1")
	if _, err := s.RotateSession(ctx, rotation(other.ID, "never-issued", "o2", base)); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("unknown token = %v, want ErrRefreshReuse", err)
	}
}

func testSessionGrace(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	rotated := base.Add(time.Second)
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r2", rotated)); err != nil {
		t.Fatal(err)
	}
	// Within the grace period the previous token, presented with the
	// successor that is current, gets the session back unchanged: the
	// head's hash, rotation time and expiry.
	for i, at := range []time.Duration{5 * time.Second, 10 * time.Second} {
		r := rotation(sess.ID, "r1", "r2", rotated.Add(at))
		r.Grace = 10 * time.Second
		got, err := s.RotateSession(ctx, r)
		if err != nil {
			t.Fatalf("previous token within grace (%d) = %v", i, err)
		}
		if !bytes.Equal(got.TokenHash, hash("r2")) || !got.RotatedAt.Equal(rotated) ||
			!got.ExpiresAt.Equal(rotated.Add(time.Hour)) || got.UserID != u.ID || !got.CreatedAt.Equal(base) {
			t.Fatalf("graced rotation changed or misreported the session: %+v", got)
		}
	}
	// The head still rotates as usual.
	now := rotated.Add(11 * time.Second)
	if got, err := s.RotateSession(ctx, rotation(sess.ID, "r2", "r3", now)); err != nil || !got.RotatedAt.Equal(now) {
		t.Fatalf("head after graced presentations: %+v, %v", got, err)
	}
	// After the grace period, the previous token is reuse.
	r := rotation(sess.ID, "r2", "r3", now.Add(time.Minute))
	r.Grace = 10 * time.Second
	if _, err := s.RotateSession(ctx, r); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("previous token after grace = %v, want ErrRefreshReuse", err)
	}

	// An older token than the previous one is reuse, within grace or not.
	sess2 := newSession(t, s, u.ID, "a1")
	for i, next := range []string{"a2", "a3"} {
		cur := []string{"a1", "a2"}[i]
		if _, err := s.RotateSession(ctx, rotation(sess2.ID, cur, next, base)); err != nil {
			t.Fatal(err)
		}
	}
	r = rotation(sess2.ID, "a1", "a2", base)
	r.Grace = time.Minute
	if _, err := s.RotateSession(ctx, r); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("token older than the previous one = %v, want ErrRefreshReuse", err)
	}

	// The previous token with another successor than the current one is
	// reuse (the family would fork).
	sess3 := newSession(t, s, u.ID, "b1")
	if _, err := s.RotateSession(ctx, rotation(sess3.ID, "b1", "b2", base)); err != nil {
		t.Fatal(err)
	}
	r = rotation(sess3.ID, "b1", "elsewhere", base)
	r.Grace = time.Minute
	if _, err := s.RotateSession(ctx, r); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("previous token with a fork = %v, want ErrRefreshReuse", err)
	}

	// Without grace, the previous token is reuse at once.
	sess4 := newSession(t, s, u.ID, "c1")
	if _, err := s.RotateSession(ctx, rotation(sess4.ID, "c1", "c2", base)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateSession(ctx, rotation(sess4.ID, "c1", "c2", base)); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("previous token without grace = %v, want ErrRefreshReuse", err)
	}
}

// testUserBySession checks the access-token lookup: the user while the
// session is live, ErrSessionRevoked once it is revoked by any means.
func testUserBySession(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	other := newUser("bob")
	mustCreate(t, s, other)
	live := func(t *testing.T, sess *auth.Session) {
		t.Helper()
		got, err := s.UserBySession(ctx, u.ID, sess.ID)
		if err != nil {
			t.Fatalf("UserBySession(live) = %v", err)
		}
		equalUser(t, got, u)
	}
	dead := func(t *testing.T, userID, sessionID, why string) {
		t.Helper()
		if _, err := s.UserBySession(ctx, userID, sessionID); !errors.Is(err, auth.ErrSessionRevoked) {
			t.Fatalf("UserBySession after %s = %v, want ErrSessionRevoked", why, err)
		}
	}

	a := newSession(t, s, u.ID, "a1")
	live(t, a)
	live(t, a) // twice: a cache must not change the answer
	if _, err := s.RotateSession(ctx, rotation(a.ID, "a1", "a2", base)); err != nil {
		t.Fatal(err)
	}
	live(t, a) // rotation keeps the session
	dead(t, u.ID, "nosession", "an unknown session")
	dead(t, other.ID, a.ID, "another user's session")
	if err := s.RevokeSession(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	dead(t, u.ID, a.ID, "RevokeSession")

	b := newSession(t, s, u.ID, "b1")
	live(t, b)
	if _, err := s.RotateSession(ctx, rotation(b.ID, "stolen", "b2", base)); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatal(err)
	}
	dead(t, u.ID, b.ID, "reuse detected")

	c, d := newSession(t, s, u.ID, "c1"), newSession(t, s, u.ID, "d1")
	keep := newSession(t, s, other.ID, "k1")
	live(t, c)
	live(t, d)
	if err := s.InvalidateTokens(ctx, u.ID, base); err != nil {
		t.Fatal(err)
	}
	u.TokenVersion++
	dead(t, u.ID, c.ID, "InvalidateTokens")
	dead(t, u.ID, d.ID, "InvalidateTokens")
	if _, err := s.UserBySession(ctx, other.ID, keep.ID); err != nil {
		t.Fatalf("another user's session after InvalidateTokens: %v", err)
	}

	e := newSession(t, s, u.ID, "e1")
	live(t, e)
	if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$2b$rehash", false, base); err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = "$2b$rehash"
	live(t, e) // a rehash without logout keeps sessions
	if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$2b$changed", true, base); err != nil {
		t.Fatal(err)
	}
	dead(t, u.ID, e.ID, "a password change")

	// A disabled user comes back disabled (the caller refuses it).
	f := newSession(t, s, other.ID, "f1")
	if _, err := s.ChangeUser(ctx, other.ID, auth.UserChange{Disabled: ptr(true), Now: base}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserBySession(ctx, other.ID, f.ID); err != nil || !got.Disabled {
		t.Fatalf("UserBySession of a disabled user = %+v, %v; want it, disabled", got, err)
	}
}

// testUnstorableText gives every text argument and field of every method
// text that PostgreSQL refuses (a NUL, invalid UTF-8): keys answer as
// unknown, values to store are ErrInvalidInput, and nothing is ever
// reported as an unavailable store.
func testUnstorableText(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	for _, bad := range []string{"nul\x00inside", "\xff\xfe", "ok\x00"} {
		is := func(t *testing.T, what string, err, want error) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Errorf("%s with %q = %v, want %v", what, bad, err, want)
			}
			if errors.Is(err, auth.ErrStoreUnavailable) {
				t.Errorf("%s with %q reports an unavailable store: %v", what, bad, err)
			}
		}
		_, err := s.UserByID(ctx, bad)
		is(t, "UserByID", err, auth.ErrNotFound)
		_, err = s.UserByUsername(ctx, bad)
		is(t, "UserByUsername", err, auth.ErrNotFound)
		_, err = s.UserBySession(ctx, bad, sess.ID)
		is(t, "UserBySession(user)", err, auth.ErrNotFound)
		_, err = s.UserBySession(ctx, u.ID, bad)
		is(t, "UserBySession(session)", err, auth.ErrSessionRevoked)
		is(t, "InvalidateTokens", s.InvalidateTokens(ctx, bad, base), auth.ErrNotFound)
		is(t, "UpdatePasswordHash(id)", s.UpdatePasswordHash(ctx, bad, u.PasswordHash, "new", false, base), auth.ErrNotFound)
		is(t, "UpdatePasswordHash(old)", s.UpdatePasswordHash(ctx, u.ID, bad, "new", false, base), auth.ErrInvalidInput)
		is(t, "UpdatePasswordHash(new)", s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, bad, false, base), auth.ErrInvalidInput)
		_, err = s.RotateSession(ctx, rotation(bad, "r1", "r2", base))
		is(t, "RotateSession", err, auth.ErrNotFound)
		_, err = s.UserByEmail(ctx, bad)
		is(t, "UserByEmail", err, auth.ErrNotFound)
		if err := s.RevokeSession(ctx, bad); err != nil {
			t.Errorf("RevokeSession with %q = %v, want nil", bad, err)
		}

		fields := []struct {
			name string
			set  func(*auth.User)
		}{
			{"ID", func(v *auth.User) { v.ID = bad }},
			{"Username", func(v *auth.User) { v.Username = bad }},
			{"Email", func(v *auth.User) { v.Email = bad }},
			{"PasswordHash", func(v *auth.User) { v.PasswordHash = bad }},
			{"Roles", func(v *auth.User) { v.Roles = []string{"user", bad} }},
		}
		for _, f := range fields {
			v := newUser("bob")
			f.set(v)
			is(t, "CreateUser("+f.name+")", s.CreateUser(ctx, v), auth.ErrInvalidInput)
		}
		_, err = s.ChangeUser(ctx, u.ID, auth.UserChange{Roles: &[]string{"user", bad}, Now: base})
		is(t, "ChangeUser(Roles)", err, auth.ErrInvalidInput)
		for _, f := range []struct {
			name string
			set  func(*auth.Session)
		}{
			{"ID", func(v *auth.Session) { v.ID = bad }},
			{"UserID", func(v *auth.Session) { v.UserID = bad }},
		} {
			v := &auth.Session{ID: newID(), UserID: u.ID, TokenHash: hash("x"), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
			f.set(v)
			is(t, "CreateSession("+f.name+")", s.CreateSession(ctx, v), auth.ErrInvalidInput)
		}
	}
	// Nothing was changed or created by the refused calls.
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalUser(t, got, u)
	if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a refused CreateUser left a user: %v", err)
	}
	if _, err := s.UserBySession(ctx, u.ID, sess.ID); err != nil {
		t.Fatalf("the session was changed: %v", err)
	}
}

// testUnstorableLinkText: link tokens with text PostgreSQL refuses are
// ErrInvalidInput, never an unavailable store.
func testUnstorableLinkText(t *testing.T, s linkStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	for _, bad := range []string{"nul\x00inside", "\xff\xfe", "ok\x00"} {
		is := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, auth.ErrInvalidInput) || errors.Is(err, auth.ErrStoreUnavailable) {
				t.Errorf("%s with %q = %v, want ErrInvalidInput", what, bad, err)
			}
		}
		lt := linkToken(u.ID, "t", recovery.LinkVerifyEmail, base)
		lt.Email = bad
		is("CreateLinkToken(Email)", s.CreateLinkToken(ctx, lt))
		lt = linkToken(bad, "t", recovery.LinkVerifyEmail, base)
		is("CreateLinkToken(UserID)", s.CreateLinkToken(ctx, lt))
		_, err := s.RedeemLinkToken(ctx, recovery.Redemption{Hash: hash("t"), Purpose: recovery.LinkResetPassword, Now: base, NewPasswordHash: bad})
		is("RedeemLinkToken(NewPasswordHash)", err)
	}
	if _, err := s.LinkToken(ctx, hash("t")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a refused CreateLinkToken left a token: %v", err)
	}
}

func testSessionExpired(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	_, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r2", sess.ExpiresAt))
	if !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("rotation at expiry = %v, want ErrSessionRevoked", err)
	}
}

func testSessionRevoke(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	keep := newSession(t, s, u.ID, "k1")
	if err := s.RevokeSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, sess.ID); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r1", "r2", base)); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("revoked session = %v, want ErrSessionRevoked", err)
	}
	if _, err := s.RotateSession(ctx, rotation(keep.ID, "k1", "k2", base)); err != nil {
		t.Fatalf("other session was revoked too: %v", err)
	}
}

func testSessionUnknownUser(t *testing.T, s auth.Store) {
	err := s.CreateSession(context.Background(), &auth.Session{
		ID: newID(), UserID: "nobody", TokenHash: hash("x"), CreatedAt: base, ExpiresAt: base.Add(time.Hour),
	})
	if err == nil {
		t.Fatal("CreateSession for an unknown user succeeded")
	}
	if errors.Is(err, auth.ErrStoreUnavailable) {
		t.Fatalf("CreateSession for an unknown user = %v, want a non-availability error", err)
	}
}

func testSessionsIndependent(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	a := newSession(t, s, u.ID, "same-secret")
	b := newSession(t, s, u.ID, "other")
	// Reuse in one family leaves the other alone.
	if _, err := s.RotateSession(ctx, rotation(a.ID, "same-secret", "a2", base)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateSession(ctx, rotation(a.ID, "same-secret", "a3", base)); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatal(err)
	}
	if _, err := s.RotateSession(ctx, rotation(b.ID, "other", "b2", base)); err != nil {
		t.Fatalf("independent session: %v", err)
	}
}

func testContextCanceled(t *testing.T, s auth.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateUser(ctx, newUser("alice")); err == nil {
		t.Fatal("CreateUser with a canceled context succeeded")
	}
	if _, err := s.UserByUsername(context.Background(), "alice"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a canceled CreateUser left a user: %v", err)
	}
	if _, err := s.UserByID(ctx, "x"); err == nil || errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByID with a canceled context = %v, want a context error", err)
	}
}

func testConcurrentCreate(t *testing.T, s auth.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, Concurrency)
	start := make(chan struct{})
	for i := range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.CreateUser(ctx, newUser("contested"))
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, auth.ErrUserExists):
		default:
			t.Errorf("concurrent CreateUser: unexpected error %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent creates of one username won, want exactly 1", won, Concurrency)
	}
}

func testConcurrentRotate(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	var wg sync.WaitGroup
	errs := make([]error, Concurrency)
	start := make(chan struct{})
	for i := range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.RotateSession(ctx, rotation(sess.ID, "r1", fmt.Sprint("next", i), base))
		}()
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("rotations %d and %d both won", won, i)
			}
			won = i
		case errors.Is(err, auth.ErrRefreshReuse), errors.Is(err, auth.ErrSessionRevoked):
		default:
			t.Errorf("concurrent RotateSession: unexpected error %v", err)
		}
	}
	if won < 0 {
		t.Fatal("no concurrent rotation won")
	}
	// The losers were reuse, so the family is revoked, winner's token too.
	if _, err := s.RotateSession(ctx, rotation(sess.ID, fmt.Sprint("next", won), "after", base)); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("winner's token after concurrent reuse = %v, want ErrSessionRevoked", err)
	}
}

// testConcurrentGrace presents one just-rotated token many times at once
// within the grace period: every presentation gets the same head back, and
// the family stays live.
func testConcurrentGrace(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "r1")
	var wg sync.WaitGroup
	got := make([]*auth.Session, Concurrency)
	errs := make([]error, Concurrency)
	start := make(chan struct{})
	for i := range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := rotation(sess.ID, "r1", "r2", base)
			r.Grace = time.Minute
			got[i], errs[i] = s.RotateSession(ctx, r)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("presentation %d within grace: %v", i, err)
		}
		if !bytes.Equal(got[i].TokenHash, hash("r2")) || !got[i].RotatedAt.Equal(base) || !got[i].ExpiresAt.Equal(base.Add(time.Hour)) {
			t.Fatalf("presentation %d got another head: %+v", i, got[i])
		}
	}
	if _, err := s.UserBySession(ctx, u.ID, sess.ID); err != nil {
		t.Fatalf("family after concurrent graced presentations: %v", err)
	}
	if _, err := s.RotateSession(ctx, rotation(sess.ID, "r2", "r3", base.Add(time.Second))); err != nil {
		t.Fatalf("the head after concurrent graced presentations: %v", err)
	}
}

// testConcurrentMixed runs reads and writes on many users at once; with
// -race it finds unsynchronised state, and it catches stores that fail
// under write contention (SQLite's "database is locked").
func testConcurrentMixed(t *testing.T, s auth.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, Concurrency)
	for i := range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := newUser(fmt.Sprint("user", i))
			if err := s.CreateUser(ctx, u); err != nil {
				errc <- fmt.Errorf("create: %w", err)
				return
			}
			sess := &auth.Session{ID: newID(), UserID: u.ID, TokenHash: hash("t0"), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
			if err := s.CreateSession(ctx, sess); err != nil {
				errc <- fmt.Errorf("session: %w", err)
				return
			}
			for j := range 5 {
				if _, err := s.UserByID(ctx, u.ID); err != nil {
					errc <- fmt.Errorf("get: %w", err)
					return
				}
				if _, err := s.RotateSession(ctx, rotation(sess.ID, fmt.Sprint("t", j), fmt.Sprint("t", j+1), base)); err != nil {
					errc <- fmt.Errorf("rotate: %w", err)
					return
				}
			}
			if err := s.InvalidateTokens(ctx, u.ID, base); err != nil {
				errc <- fmt.Errorf("invalidate: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// linkToken is a token of purpose for userID, made at at, for an hour.
func linkToken(userID, secret string, purpose recovery.LinkPurpose, at time.Time) *recovery.LinkToken {
	return &recovery.LinkToken{Hash: hash(secret), UserID: userID, Purpose: purpose, Email: "new@example.com",
		CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
}

func redeem(s linkStore, secret string, purpose recovery.LinkPurpose, at time.Time) (*auth.User, error) {
	return s.RedeemLinkToken(context.Background(), recovery.Redemption{Hash: hash(secret), Purpose: purpose, Now: at})
}

// testEmails: emails are unique among non-empty ones, looked up exactly,
// and EmailVerified is kept.
func testEmails(t *testing.T, s auth.Store) {
	ctx := context.Background()
	a := newUser("alice")
	a.EmailVerified = true
	mustCreate(t, s, a)
	got, err := s.UserByEmail(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	equalUser(t, got, a)
	if _, err := s.UserByEmail(ctx, "ALICE@example.com"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByEmail compares byte for byte (emails reach the store normalised): %v", err)
	}
	if _, err := s.UserByEmail(ctx, ""); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("UserByEmail(\"\") = %v, want ErrNotFound", err)
	}
	dup := newUser("bob")
	dup.Email = a.Email
	if err := s.CreateUser(ctx, dup); !errors.Is(err, auth.ErrEmailExists) {
		t.Fatalf("CreateUser with a taken email = %v, want ErrEmailExists", err)
	}
	// Empty emails are not unique.
	for _, name := range []string{"carol", "dave"} {
		u := newUser(name)
		u.Email = ""
		mustCreate(t, s, u)
	}
}

// testEmailChange: an email changed by a verification link resolves, and
// the old one is free again.
func testEmailChange(t *testing.T, s linkStore) {
	ctx := context.Background()
	b := newUser("bob")
	mustCreate(t, s, b)
	lt := linkToken(b.ID, "b1", recovery.LinkVerifyEmail, base)
	lt.Email = "bob2@example.com"
	if err := s.CreateLinkToken(ctx, lt); err != nil {
		t.Fatal(err)
	}
	if _, err := redeem(s, "b1", recovery.LinkVerifyEmail, base); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByEmail(ctx, "bob2@example.com"); err != nil || !got.EmailVerified || got.ID != b.ID {
		t.Fatalf("after the change: %+v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "bob@example.com"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the old email still resolves: %v", err)
	}
	mustCreate(t, s, func() *auth.User { u := newUser("eve"); u.Email = "bob@example.com"; return u }())
}

// testLinkTokens: tokens are stored by hash, and a new one of a purpose
// replaces the user's others of that purpose, not of another.
func testLinkTokens(t *testing.T, s linkStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	other := newUser("bob")
	mustCreate(t, s, other)
	v1 := linkToken(u.ID, "v1", recovery.LinkVerifyEmail, base)
	r1 := linkToken(u.ID, "r1", recovery.LinkResetPassword, base)
	r1.UserVersion = 7
	o1 := linkToken(other.ID, "o1", recovery.LinkVerifyEmail, base)
	for _, lt := range []*recovery.LinkToken{v1, r1, o1} {
		if err := s.CreateLinkToken(ctx, lt); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LinkToken(ctx, hash("r1"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Hash, hash("r1")) || got.UserID != u.ID || got.Purpose != recovery.LinkResetPassword ||
		got.Email != r1.Email || got.UserVersion != 7 || !got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(r1.ExpiresAt) {
		t.Fatalf("LinkToken = %+v, want %+v", got, r1)
	}
	// A newer link of a purpose makes the older one stale.
	v2 := linkToken(u.ID, "v2", recovery.LinkVerifyEmail, base.Add(time.Minute))
	if err := s.CreateLinkToken(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkToken(ctx, hash("v1")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the older verification token survived a newer one: %v", err)
	}
	for _, kept := range []string{"v2", "r1", "o1"} {
		if _, err := s.LinkToken(ctx, hash(kept)); err != nil {
			t.Fatalf("token %s was deleted by another's creation: %v", kept, err)
		}
	}
}

// testDeleteLinks: deleting a user deletes its link tokens, and no
// other's.
func testDeleteLinks(t *testing.T, s linkDeleterStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	for _, lt := range []*recovery.LinkToken{
		linkToken(u.ID, "v1", recovery.LinkVerifyEmail, base),
		linkToken(u.ID, "r1", recovery.LinkResetPassword, base),
		linkToken(other.ID, "o1", recovery.LinkVerifyEmail, base),
	} {
		if err := s.CreateLinkToken(ctx, lt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"v1", "r1"} {
		if _, err := s.LinkToken(ctx, hash(gone)); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a deleted user's token %s survived: %v", gone, err)
		}
	}
	if _, err := s.LinkToken(ctx, hash("o1")); err != nil {
		t.Fatalf("another user's token went with a delete: %v", err)
	}
}

// testRedeemVerifyEmail: a verification token sets the account's email,
// verified, once; never when expired, of another purpose, or when the
// address belongs to another account.
func testRedeemVerifyEmail(t *testing.T, s linkStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	lt := linkToken(u.ID, "v1", recovery.LinkVerifyEmail, base)
	lt.Email = "alice.new@example.com"
	if err := s.CreateLinkToken(ctx, lt); err != nil {
		t.Fatal(err)
	}
	if _, err := redeem(s, "v1", recovery.LinkResetPassword, base); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a verification token redeemed as a reset = %v, want ErrNotFound", err)
	}
	if _, err := redeem(s, "v1", recovery.LinkVerifyEmail, lt.ExpiresAt); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an expired token = %v, want ErrNotFound", err)
	}
	at := base.Add(time.Minute)
	got, err := redeem(s, "v1", recovery.LinkVerifyEmail, at)
	if err != nil {
		t.Fatalf("redemption: %v", err)
	}
	if got.ID != u.ID || got.Email != "alice.new@example.com" || !got.EmailVerified || !got.UpdatedAt.Equal(at) ||
		!got.TokensEndedAt.IsZero() {
		t.Fatalf("redeemed user %+v", redact(got))
	}
	if stored, _ := s.UserByEmail(ctx, "alice.new@example.com"); stored == nil || stored.ID != u.ID {
		t.Fatal("the new email does not resolve")
	}
	if _, err := redeem(s, "v1", recovery.LinkVerifyEmail, at); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a spent token = %v, want ErrNotFound", err)
	}
	// An address another account has: refused, nothing spent or changed.
	other := newUser("bob")
	mustCreate(t, s, other)
	lt = linkToken(u.ID, "v2", recovery.LinkVerifyEmail, at)
	lt.Email = other.Email
	if err := s.CreateLinkToken(ctx, lt); err != nil {
		t.Fatal(err)
	}
	if _, err := redeem(s, "v2", recovery.LinkVerifyEmail, at); !errors.Is(err, auth.ErrEmailExists) {
		t.Fatalf("verifying another account's address = %v, want ErrEmailExists", err)
	}
	if _, err := s.LinkToken(ctx, hash("v2")); err != nil {
		t.Fatalf("the refused redemption spent the token: %v", err)
	}
	if stored, _ := s.UserByID(ctx, u.ID); stored.Email != "alice.new@example.com" {
		t.Fatalf("the refused redemption changed the email to %q", stored.Email)
	}
	// An address that is another account's username: refused alike.
	carol := newUser("carol@example.org")
	carol.Email = ""
	mustCreate(t, s, carol)
	lt = linkToken(u.ID, "v3", recovery.LinkVerifyEmail, at)
	lt.Email = carol.Username
	if err := s.CreateLinkToken(ctx, lt); err != nil {
		t.Fatal(err)
	}
	if _, err := redeem(s, "v3", recovery.LinkVerifyEmail, at); !errors.Is(err, auth.ErrEmailExists) {
		t.Fatalf("verifying another account's username as an address = %v, want ErrEmailExists", err)
	}
	if stored, _ := s.UserByID(ctx, u.ID); stored.Email != "alice.new@example.com" {
		t.Fatalf("the refused redemption changed the email to %q", stored.Email)
	}
	// A completed change kills every other link of the account.
	r := linkToken(u.ID, "r1", recovery.LinkResetPassword, at)
	r.Email = "alice.new@example.com"
	v := linkToken(u.ID, "v4", recovery.LinkVerifyEmail, at)
	v.Email = "alice.third@example.com"
	for _, lt := range []*recovery.LinkToken{r, v} {
		if err := s.CreateLinkToken(ctx, lt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := redeem(s, "v4", recovery.LinkVerifyEmail, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkToken(ctx, hash("r1")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a reset link survived an email change: %v", err)
	}
}

// testRedeemReset: a reset token replaces the password, ends every
// session, verifies the email, and spends every link token of the user.
func testRedeemReset(t *testing.T, s linkStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sess := newSession(t, s, u.ID, "s1")
	for _, secret := range []string{"r1", "r2"} {
		lt := linkToken(u.ID, secret, recovery.LinkResetPassword, base)
		lt.Email = u.Email
		if err := s.CreateLinkToken(ctx, lt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.LinkToken(ctx, hash("r1")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the older reset token survived a newer one: %v", err)
	}
	if err := s.CreateLinkToken(ctx, linkToken(u.ID, "v1", recovery.LinkVerifyEmail, base)); err != nil {
		t.Fatal(err)
	}
	if _, err := redeem(s, "r2", recovery.LinkVerifyEmail, base); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a reset token redeemed as a verification = %v, want ErrNotFound", err)
	}
	// A rehash (no logout) does not kill the link: the password is the same.
	if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$2b$rehashed", false, base); err != nil {
		t.Fatal(err)
	}
	r := recovery.Redemption{Hash: hash("r2"), Purpose: recovery.LinkResetPassword, Now: base.Add(time.Minute), NewPasswordHash: "$2b$new"}
	got, err := s.RedeemLinkToken(ctx, r)
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if got.PasswordHash != "$2b$new" || got.TokenVersion != 1 || !got.EmailVerified || !got.UpdatedAt.Equal(r.Now) ||
		!got.TokensEndedAt.Equal(r.Now) {
		t.Fatalf("after reset: %+v", redact(got))
	}
	if stored, _ := s.UserByID(ctx, u.ID); !stored.TokensEndedAt.Equal(r.Now) {
		t.Fatalf("TokensEndedAt after the reset = %v, want %v", stored.TokensEndedAt, r.Now)
	}
	if _, err := s.UserBySession(ctx, u.ID, sess.ID); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Fatalf("a session after the reset = %v, want ErrSessionRevoked", err)
	}
	if _, err := s.RedeemLinkToken(ctx, r); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a spent reset token = %v, want ErrNotFound", err)
	}
	if _, err := s.LinkToken(ctx, hash("v1")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a verification link survived a password reset: %v", err)
	}
}

// testDeadLinks: a link dies with the credentials it was sent for: once the
// user's token version moves on (a password change, a logout-all, a
// disabling with Logout), once the user is disabled, and (a reset link)
// once the user's email is not the one it was mailed to. A dead link is
// never redeemed, and is spent by the attempt.
func testDeadLinks(t *testing.T, s linkStore) {
	ctx := context.Background()
	kill := []struct {
		name string
		do   func(t *testing.T, u *auth.User)
	}{
		{"password change", func(t *testing.T, u *auth.User) {
			if err := s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$2b$changed", true, base); err != nil {
				t.Fatal(err)
			}
		}},
		{"logout-all", func(t *testing.T, u *auth.User) {
			if err := s.InvalidateTokens(ctx, u.ID, base); err != nil {
				t.Fatal(err)
			}
		}},
		{"disabled", func(t *testing.T, u *auth.User) {
			if _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(true), Now: base}); err != nil {
				t.Fatal(err)
			}
		}},
		{"disabled and enabled", func(t *testing.T, u *auth.User) {
			if _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(true), Logout: true, Now: base}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(false), Now: base}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, k := range kill {
		for _, purpose := range []recovery.LinkPurpose{recovery.LinkVerifyEmail, recovery.LinkResetPassword} {
			t.Run(k.name+"/"+string(purpose), func(t *testing.T) {
				u := newUser(fmt.Sprintf("user%d-%s", i, purpose))
				mustCreate(t, s, u)
				secret := fmt.Sprint("dead", i, purpose)
				lt := linkToken(u.ID, secret, purpose, base)
				lt.Email = u.Email
				if err := s.CreateLinkToken(ctx, lt); err != nil {
					t.Fatal(err)
				}
				k.do(t, u)
				before, _ := s.UserByID(ctx, u.ID)
				r := recovery.Redemption{Hash: hash(secret), Purpose: purpose, Now: base, NewPasswordHash: "$2b$attacker"}
				if _, err := s.RedeemLinkToken(ctx, r); !errors.Is(err, auth.ErrNotFound) {
					t.Fatalf("a link after a %s = %v, want ErrNotFound", k.name, err)
				}
				after, _ := s.UserByID(ctx, u.ID)
				equalUser(t, after, before)
				if _, err := s.LinkToken(ctx, hash(secret)); !errors.Is(err, auth.ErrNotFound) {
					t.Fatalf("a dead link stayed: %v", err)
				}
			})
		}
	}
	// A reset link mailed to an address the account no longer has.
	u := newUser("moved")
	mustCreate(t, s, u)
	r := linkToken(u.ID, "moved-r", recovery.LinkResetPassword, base)
	r.Email = "old@example.com"
	if err := s.CreateLinkToken(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemLinkToken(ctx, recovery.Redemption{Hash: hash("moved-r"), Purpose: recovery.LinkResetPassword, Now: base, NewPasswordHash: "$2b$x"}); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a reset link for another address than the account's = %v, want ErrNotFound", err)
	}
	// A link made under the current version works.
	got, _ := s.UserByID(ctx, u.ID)
	if err := s.InvalidateTokens(ctx, u.ID, base); err != nil {
		t.Fatal(err)
	}
	v := linkToken(u.ID, "moved-v", recovery.LinkVerifyEmail, base)
	v.UserVersion = got.TokenVersion + 1
	if err := s.CreateLinkToken(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := redeem(s, "moved-v", recovery.LinkVerifyEmail, base); err != nil {
		t.Fatalf("a link made under the user's current version: %v", err)
	}
}

// testConcurrentRedeem: of concurrent redemptions of one token, exactly one
// wins, for each purpose.
func testConcurrentRedeem(t *testing.T, s linkStore) {
	ctx := context.Background()
	for _, purpose := range []recovery.LinkPurpose{recovery.LinkVerifyEmail, recovery.LinkResetPassword} {
		u := newUser("user-" + string(purpose))
		mustCreate(t, s, u)
		lt := linkToken(u.ID, "c-"+string(purpose), purpose, base)
		lt.Email = u.Email
		if err := s.CreateLinkToken(ctx, lt); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, Concurrency)
		start := make(chan struct{})
		for i := range Concurrency {
			wg.Go(func() {
				<-start
				_, errs[i] = s.RedeemLinkToken(ctx, recovery.Redemption{Hash: lt.Hash, Purpose: purpose, Now: base,
					NewPasswordHash: fmt.Sprint("$2b$new", i)})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, auth.ErrNotFound):
			default:
				t.Errorf("%s: concurrent RedeemLinkToken: unexpected error %v", purpose, err)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d of %d concurrent redemptions of one token won, want exactly 1", purpose, won, Concurrency)
		}
	}
}

// testTrimSessions: TrimSessions keeps the most recently used live
// sessions of the user and revokes the rest; other users', and sessions
// already dead, are not counted.
func testTrimSessions(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	other := newUser("bob")
	mustCreate(t, s, other)
	for i := range 5 {
		sess := &auth.Session{ID: fmt.Sprint("s", i), UserID: u.ID, TokenHash: hash(fmt.Sprint("t", i)),
			CreatedAt: base.Add(time.Duration(i) * time.Minute), ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	o := newSession(t, s, other.ID, "o1")
	// The oldest login is the most recently used.
	if _, err := s.RotateSession(ctx, rotation("s0", "t0", "t0b", base.Add(10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	// One is revoked already; it does not count.
	if err := s.RevokeSession(ctx, "s4"); err != nil {
		t.Fatal(err)
	}
	now := base.Add(11 * time.Minute)
	got, err := s.TrimSessions(ctx, u.ID, 2, now)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"s1", "s2"}) {
		t.Fatalf("TrimSessions(keep 2) revoked %v, want s1 and s2 (s0 was used last, s3 opened last, s4 revoked)", got)
	}
	live, _ := s.SessionsByUser(ctx, u.ID, now)
	if len(live) != 2 || live[0].ID != "s3" || live[1].ID != "s0" {
		t.Fatalf("live after: %v", live)
	}
	if got, err := s.TrimSessions(ctx, u.ID, 2, now); err != nil || len(got) != 0 {
		t.Fatalf("a second trim: %v, %v", got, err)
	}
	if _, err := s.UserBySession(ctx, other.ID, o.ID); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
	// Sessions of an older token version are dead, and not counted.
	if err := s.InvalidateTokens(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	fresh := &auth.Session{ID: "s5", UserID: u.ID, TokenHash: hash("t5"), UserVersion: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TrimSessions(ctx, u.ID, 1, now); err != nil || len(got) != 0 {
		t.Fatalf("trim to 1 with one live session: %v, %v", got, err)
	}
	if got, err := s.TrimSessions(ctx, "nobody", 1, now); err != nil || len(got) != 0 {
		t.Fatalf("trim of an unknown user: %v, %v", got, err)
	}
}

// testConcurrentTrim: logins made at once, each opening a session and
// trimming: once they have all returned, at most keep are live.
func testConcurrentTrim(t *testing.T, s auth.Store) {
	ctx := context.Background()
	const keep = 3
	for round := range 5 {
		u := newUser(fmt.Sprint("alice", round))
		mustCreate(t, s, u)
		var wg sync.WaitGroup
		errs := make(chan error, Concurrency)
		for i := range Concurrency {
			wg.Go(func() {
				at := base.Add(time.Duration(i) * time.Millisecond)
				sess := &auth.Session{ID: newID(), UserID: u.ID, TokenHash: hash(fmt.Sprint("c", i)), CreatedAt: at, ExpiresAt: base.Add(time.Hour)}
				if err := s.CreateSession(ctx, sess); err != nil {
					errs <- err
					return
				}
				if _, err := s.TrimSessions(ctx, u.ID, keep, base); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if live, _ := s.SessionsByUser(ctx, u.ID, base); len(live) != keep {
			t.Fatalf("round %d: %d live sessions after %d logins at once, each trimming to %d", round, len(live), Concurrency, keep)
		}
	}
}

// testSessionsByUser: a user's live sessions, newest first, with what the
// login recorded; never another user's, a revoked or an expired one, nor
// the token hashes.
func testSessionsByUser(t *testing.T, s auth.Store) {
	ctx := context.Background()
	alice, bob := newUser("alice"), newUser("bob")
	mustCreate(t, s, alice)
	mustCreate(t, s, bob)
	if got, err := s.SessionsByUser(ctx, alice.ID, base); err != nil || len(got) != 0 {
		t.Fatalf("no sessions yet: %v, %v", got, err)
	}
	open := func(u *auth.User, at time.Time, ua string, ttl time.Duration) *auth.Session {
		t.Helper()
		sess := &auth.Session{
			ID: newID(), UserID: u.ID, TokenHash: hash(newID()), UserVersion: 3,
			CreatedAt: at, ExpiresAt: at.Add(ttl), UserAgent: ua, ClientAddr: "192.0.2.7",
		}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		return sess
	}
	old := open(alice, base, "Firefox/140.0 (X11; Linux x86_64)", 2*time.Hour)
	mid := open(alice, base.Add(time.Minute), "Mozilla/5.0 (iPhone) Safari/605.1 é", 2*time.Hour)
	newest := open(alice, base.Add(2*time.Minute), "", 2*time.Hour)
	expiring := open(alice, base.Add(3*time.Minute), "curl/8.5", time.Minute)
	revoked := open(alice, base.Add(4*time.Minute), "revoked", 2*time.Hour)
	open(bob, base.Add(5*time.Minute), "bob's", 2*time.Hour)
	if err := s.RevokeSession(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// The oldest one is refreshed: its RotatedAt moves.
	if _, err := s.RotateSession(ctx, auth.Rotation{SessionID: old.ID, Presented: old.TokenHash, Next: hash("next"), ExpiresAt: base.Add(3 * time.Hour), Now: base.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	now := base.Add(4*time.Minute + 30*time.Second) // expiring has expired
	got, err := s.SessionsByUser(ctx, alice.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []*auth.Session{newest, mid, old}
	if len(got) != len(want) {
		t.Fatalf("got %d sessions, want 3 (newest, mid, old; not the expired %s nor the revoked %s)", len(got), expiring.ID, revoked.ID)
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID || g.UserID != alice.ID || g.UserVersion != 3 || !g.CreatedAt.Equal(w.CreatedAt) ||
			g.UserAgent != w.UserAgent || g.ClientAddr != "192.0.2.7" || len(g.TokenHash) != 0 {
			t.Errorf("session %d = %+v, want %+v (no token hash)", i, g, w)
		}
	}
	if !got[2].RotatedAt.Equal(base.Add(10*time.Minute)) || !got[2].ExpiresAt.Equal(base.Add(3*time.Hour)) {
		t.Errorf("the refreshed session: rotated %v, expires %v", got[2].RotatedAt, got[2].ExpiresAt)
	}
	if !got[0].RotatedAt.Equal(newest.CreatedAt) {
		t.Errorf("a session never refreshed: RotatedAt %v, want its CreatedAt", got[0].RotatedAt)
	}
	if got, err := s.SessionsByUser(ctx, "no such user", now); err != nil || len(got) != 0 {
		t.Errorf("unknown user: %v, %v", got, err)
	}
	if got, err := s.SessionsByUser(ctx, "bad\x00id", now); err != nil || len(got) != 0 {
		t.Errorf("unstorable id: %v, %v", got, err)
	}
	// Text a store cannot keep is refused, not stored mangled.
	bad := &auth.Session{ID: newID(), UserID: alice.ID, TokenHash: hash("x"), CreatedAt: base, ExpiresAt: base.Add(time.Hour), UserAgent: "a\x00b"}
	if err := s.CreateSession(ctx, bad); !errors.Is(err, auth.ErrInvalidInput) {
		t.Errorf("a user agent with NUL: %v, want ErrInvalidInput", err)
	}
}

// testListUsers: pages in increasing order of ID, every user exactly once.
func testListUsers(t *testing.T, s listerStore) {
	ctx := context.Background()
	if got, err := s.ListUsers(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	var ids []string
	for i := range 7 {
		u := newUser(fmt.Sprintf("user%d", i))
		u.ID = fmt.Sprintf("%c-%d", "zAa-_0Z"[i], i) // byte order differs from a locale's
		mustCreate(t, s, u)
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	var seen []string
	after := ""
	for page := 0; ; page++ {
		got, err := s.ListUsers(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 3 || page > 5 {
			t.Fatalf("page %d: %d users", page, len(got))
		}
		for _, u := range got {
			seen = append(seen, u.ID)
			if u.PasswordHash == "" || u.Username == "" {
				t.Fatalf("a listed user lacks fields: %+v", u)
			}
		}
		if len(got) < 3 {
			break
		}
		after = got[len(got)-1].ID
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("listed %q, want %q (every user once, in byte order of ID)", seen, ids)
	}
	if got, err := s.ListUsers(ctx, ids[len(ids)-1], 3); err != nil || len(got) != 0 {
		t.Fatalf("after the last: %v, %v", got, err)
	}
	if _, err := s.ListUsers(ctx, "a\x00", 3); !errors.Is(err, auth.ErrInvalidInput) {
		t.Fatalf("an unstorable cursor: %v", err)
	}
}

// testConcurrentListUsers: listing while users are created concurrently
// never fails, and sees every user created before it started.
func testConcurrentListUsers(t *testing.T, s listerStore) {
	ctx := context.Background()
	for i := range 20 {
		mustCreate(t, s, newUser(fmt.Sprintf("before%02d", i)))
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			if err := s.CreateUser(ctx, newUser(fmt.Sprintf("during%02d", i))); err != nil {
				t.Error(err)
			}
		}
	})
	before := 0
	after := ""
	for {
		got, err := s.ListUsers(ctx, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range got {
			if strings.HasPrefix(u.Username, "before") {
				before++
			}
		}
		if len(got) < 4 {
			break
		}
		after = got[len(got)-1].ID
	}
	wg.Wait()
	if before != 20 {
		t.Fatalf("listed %d of the 20 users created before", before)
	}
}
