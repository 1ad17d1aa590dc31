package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/identitystore"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/passkeystore"
)

// identityCases are the cases of identitystore.Store: linked identities,
// the reclaiming of an account, and attempts.
var identityCases = []storeCase[identityStore]{
	{"LinkIdentity", testLinkIdentity},
	{"IdentityLookupsExact", testIdentityLookups},
	{"IdentitiesOrderAndOwners", testIdentitiesOrder},
	{"IdentitiesReturnCopies", testIdentityCopies},
	{"UnlinkIdentity", testUnlinkIdentity},
	{"CreateUserWithIdentity", testCreateUserWithIdentity},
	{"ReclaimAccount", testReclaimAccount},
	{"ReclaimAccountRefused", testReclaimRefused},
	{"Attempts", testAttempts},
	{"InvalidIdentityInput", testInvalidIdentityInput},
	{"IdentityContextCanceled", testIdentityContextCanceled},
	{"ConcurrentLinkIdentity", testConcurrentLinkIdentity},
	{"ConcurrentCreateUserWithIdentity", testConcurrentCreateWithIdentity},
	{"ConcurrentUnlinkIdentityKeepLast", testConcurrentUnlinkKeepLast},
	{"ConcurrentReclaimAccount", testConcurrentReclaim},
	{"ConcurrentReclaimAndRedeem", testConcurrentReclaimRedeem},
	{"ConcurrentTakeAttempt", testConcurrentTakeAttempt},
}

// identityDeleterCases are the cases of a store that offers both
// identitystore.Store and auth.UserDeleter.
var identityDeleterCases = []storeCase[identityDeleterStore]{
	{"DeleteUserDeletesIdentities", testDeleteUserIdentities},
}

// identityPasskeyCases are the cases of a store that offers both
// identitystore.Store and passkeystore.Store: the last way in is either.
var identityPasskeyCases = []storeCase[identityPasskeyStore]{
	{"LastWayInAcrossCapabilities", testLastWayIn},
	{"ConcurrentLastWayIn", testConcurrentLastWayIn},
}

// issuerOf is the issuer of the provider named provider.
func issuerOf(provider string) string {
	return "https://" + provider + ".example.com"
}

// identity is the identity of userID at provider, its provider account
// subject, linked at at.
func identity(userID, provider, subject string, at time.Time) *identitystore.Identity {
	return &identitystore.Identity{UserID: userID, Provider: provider, Issuer: issuerOf(provider), Subject: subject,
		Email: subject + "@" + provider + ".example.com", LinkedAt: at}
}

// mustLink stores id.
func mustLink(t *testing.T, s identityStore, id *identitystore.Identity) {
	t.Helper()
	if err := s.LinkIdentity(context.Background(), id); err != nil {
		t.Fatalf("LinkIdentity(%s %q of %q): %v", id.Provider, id.Subject, id.UserID, err)
	}
}

func equalIdentity(t *testing.T, got, want *identitystore.Identity) {
	t.Helper()
	if got.UserID != want.UserID || got.Provider != want.Provider || got.Issuer != want.Issuer || got.Subject != want.Subject ||
		got.Email != want.Email || !got.LinkedAt.Equal(want.LinkedAt) {
		t.Fatalf("identity differs:\n got %+v\nwant %+v", got, want)
	}
}

// wantIdentity checks that the identity of want's provider account is
// want.
func wantIdentity(t *testing.T, s identityStore, want *identitystore.Identity) {
	t.Helper()
	got, err := s.Identity(context.Background(), want.Issuer, want.Subject)
	if err != nil {
		t.Fatalf("Identity(%q, %q): %v", want.Issuer, want.Subject, err)
	}
	equalIdentity(t, got, want)
}

// noIdentity checks that the provider account (issuer, subject) is
// nobody's.
func noIdentity(t *testing.T, s identityStore, issuer, subject string) {
	t.Helper()
	got, err := s.Identity(context.Background(), issuer, subject)
	isErr(t, fmt.Sprintf("Identity(%q, %q) (got %+v)", issuer, subject, got), err, auth.ErrNotFound)
}

// wantIdentities checks that the user's identities are want, in order.
func wantIdentities(t *testing.T, s identityStore, userID string, want ...*identitystore.Identity) {
	t.Helper()
	got, err := s.Identities(context.Background(), userID)
	if err != nil {
		t.Fatalf("Identities(%q): %v", userID, err)
	}
	if len(got) != len(want) {
		t.Fatalf("Identities(%q): %d identities, want %d:\n got %+v", userID, len(got), len(want), got)
	}
	for i := range got {
		equalIdentity(t, &got[i], want[i])
	}
}

// attempt is an attempt at provider, to link to userID (or, empty, to sign
// in), made at at for ten minutes, its id the hash of secret.
func attempt(userID, provider, secret string, at time.Time) *identitystore.Attempt {
	return &identitystore.Attempt{ID: hash(secret), Binding: hash("binding " + secret), Provider: provider, UserID: userID,
		Data: []byte(`{"nonce":"` + secret + `"}`), CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute)}
}

// mustCreateAttempt stores a.
func mustCreateAttempt(t *testing.T, s identityStore, a *identitystore.Attempt) {
	t.Helper()
	if err := s.CreateAttempt(context.Background(), a); err != nil {
		t.Fatalf("CreateAttempt(%s of %q): %v", a.Provider, a.UserID, err)
	}
}

func equalAttempt(t *testing.T, got, want *identitystore.Attempt) {
	t.Helper()
	if !bytes.Equal(got.ID, want.ID) || !bytes.Equal(got.Binding, want.Binding) || got.Provider != want.Provider ||
		got.UserID != want.UserID || !bytes.Equal(got.Data, want.Data) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("attempt differs:\n got %+v\nwant %+v", got, want)
	}
}

// wantTakeAttempt takes the attempt with want's id, and checks that it is
// want.
func wantTakeAttempt(t *testing.T, s identityStore, want *identitystore.Attempt) {
	t.Helper()
	got, err := s.TakeAttempt(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("TakeAttempt(%s of %q): %v", want.Provider, want.UserID, err)
	}
	equalAttempt(t, got, want)
}

// noAttempt checks that there is no attempt with this id (taking it, were
// there one).
func noAttempt(t *testing.T, s identityStore, id []byte) {
	t.Helper()
	a, err := s.TakeAttempt(context.Background(), id)
	isErr(t, fmt.Sprintf("TakeAttempt(%x) (got %+v)", id, a), err, auth.ErrNotFound)
}

// wantUser checks that the stored user with want's id is want.
func wantUser(t *testing.T, s auth.Store, want *auth.User) {
	t.Helper()
	got, err := s.UserByID(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("UserByID(%q): %v", want.ID, err)
	}
	equalUser(t, got, want)
	if !got.TokensEndedAt.Equal(want.TokensEndedAt) {
		t.Fatalf("TokensEndedAt = %v, want %v", got.TokensEndedAt, want.TokensEndedAt)
	}
}

// sessionLive checks that the session is a live one of its user.
func sessionLive(t *testing.T, s auth.Store, sess *auth.Session) {
	t.Helper()
	if _, err := s.UserBySession(context.Background(), sess.UserID, sess.ID); err != nil {
		t.Fatalf("UserBySession of a live session: %v", err)
	}
}

// sessionRevoked checks that the session, whose token was secret, is
// revoked.
func sessionRevoked(t *testing.T, s auth.Store, sess *auth.Session, secret string) {
	t.Helper()
	_, err := s.UserBySession(context.Background(), sess.UserID, sess.ID)
	isErr(t, "UserBySession of a revoked session", err, auth.ErrSessionRevoked)
	_, err = s.RotateSession(context.Background(), rotation(sess.ID, secret, secret+" next", base))
	isErr(t, "RotateSession of a revoked session", err, auth.ErrSessionRevoked)
}

// testLinkIdentity: an identity comes back as stored, every field; a
// provider account linked already (to anyone) and a second identity of a
// user at one provider are auth.ErrConflict and change nothing; an
// unknown user is auth.ErrNotFound.
func testLinkIdentity(t *testing.T, s identityStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	wantIdentities(t, s, u.ID)

	g := identity(u.ID, "google", "1234567890", base)
	gh := identity(u.ID, "github", "alice", base.Add(time.Second+7*time.Microsecond))
	gh.Email = ""
	longest := identity(u.ID, strings.Repeat("z9", identitystore.MaxProviderBytes/2), strings.Repeat("s", identitystore.MaxSubjectBytes), base.Add(time.Hour))
	longest.Issuer = "https://" + strings.Repeat("é", (identitystore.MaxIssuerBytes-8)/2)
	longest.Email = strings.Repeat("ü", (identitystore.MaxEmailBytes-12)/2) + "@example.com"
	for _, id := range []*identitystore.Identity{g, gh, longest} {
		mustLink(t, s, id)
		wantIdentity(t, s, id)
	}
	wantIdentities(t, s, u.ID, g, gh, longest)
	wantIdentities(t, s, other.ID)

	// One provider account, one provider's issuer and another subject,
	// one subject at another issuer: the last two are other accounts.
	for _, r := range []struct {
		what string
		id   *identitystore.Identity
		want error
	}{
		{"another user, with a linked provider account", identity(other.ID, "google", g.Subject, base), auth.ErrConflict},
		{"the same user, with its linked provider account at another provider", func() *identitystore.Identity {
			id := identity(u.ID, "other", g.Subject, base)
			id.Issuer = g.Issuer
			return id
		}(), auth.ErrConflict},
		{"the same user, again", identity(u.ID, "google", g.Subject, base), auth.ErrConflict},
		{"a second identity at one provider", identity(u.ID, "google", "another subject", base), auth.ErrConflict},
		{"an unknown user", identity("nobody", "google", "free", base), auth.ErrNotFound},
	} {
		isErr(t, "LinkIdentity of "+r.what, s.LinkIdentity(ctx, r.id), r.want)
		if r.id.Subject != g.Subject {
			noIdentity(t, s, r.id.Issuer, r.id.Subject)
		}
	}
	wantIdentity(t, s, g)
	wantIdentities(t, s, u.ID, g, gh, longest)
	wantIdentities(t, s, other.ID)
	wantIdentities(t, s, "nobody")

	// Another user, at the same provider with another subject, and with
	// the same subject at another issuer.
	og := identity(other.ID, "google", "0987654321", base)
	oi := identity(other.ID, "work", g.Subject, base.Add(time.Minute))
	for _, id := range []*identitystore.Identity{og, oi} {
		mustLink(t, s, id)
		wantIdentity(t, s, id)
	}
	wantIdentity(t, s, g)
	wantIdentities(t, s, other.ID, og, oi)
	wantIdentities(t, s, u.ID, g, gh, longest)
}

// testIdentityLookups: a provider account is found by its issuer and
// subject exactly, byte for byte: not by a prefix, an extension, another
// case, a trailing space or a swap of the two.
func testIdentityLookups(t *testing.T, s identityStore) {
	u := newUser("alice")
	mustCreate(t, s, u)
	id := identity(u.ID, "google", "Sub-é1", base)
	mustLink(t, s, id)
	// Near misses that are other provider accounts, free to link.
	near := []struct{ issuer, subject string }{
		{id.Issuer, "sub-é1"}, {id.Issuer, "SUB-É1"}, {id.Issuer, "Sub-é"}, {id.Issuer, "Sub-é1 "}, {id.Issuer, " Sub-é1"},
		{id.Issuer, "Sub-e\u03011"}, {id.Issuer + "/", id.Subject}, {strings.ToUpper(id.Issuer), id.Subject},
		{id.Subject, id.Issuer}, {id.Issuer[:len(id.Issuer)-1], id.Subject},
	}
	for _, n := range near {
		noIdentity(t, s, n.issuer, n.subject)
	}
	wantIdentity(t, s, id)
	for i, n := range near {
		v := newUser(fmt.Sprint("user", i))
		mustCreate(t, s, v)
		o := identity(v.ID, "google", n.subject, base)
		o.Issuer = n.issuer
		mustLink(t, s, o)
		wantIdentity(t, s, o)
	}
	wantIdentity(t, s, id)
}

// testIdentitiesOrder: a user's identities come oldest first, then by
// provider (byte by byte), to the microsecond; each user's alone.
func testIdentitiesOrder(t *testing.T, s identityStore) {
	u, other, none := newUser("alice"), newUser("bob"), newUser("carol")
	for _, v := range []*auth.User{u, other, none} {
		mustCreate(t, s, v)
	}
	at := func(d time.Duration, provider string) *identitystore.Identity {
		return identity(u.ID, provider, "alice at "+provider, base.Add(d))
	}
	// In the order wanted.
	want := []*identitystore.Identity{
		at(-time.Hour, "zz"),
		at(0, "0"),
		at(0, "09"),
		at(0, "9"),
		at(0, "a"),
		at(0, "a0"),
		at(0, "aa"),
		at(0, "b"),
		at(time.Microsecond, "a1"),
		at(time.Second, "c"),
		at(time.Second+time.Microsecond, "00"),
	}
	var others []*identitystore.Identity
	for i, id := range want {
		others = append(others, identity(other.ID, id.Provider, fmt.Sprint("bob ", i), id.LinkedAt))
	}
	for _, i := range []int{5, 2, 9, 0, 7, 3, 10, 8, 1, 6, 4} {
		mustLink(t, s, want[i])
		mustLink(t, s, others[len(others)-1-i])
	}
	wantIdentities(t, s, u.ID, want...)
	wantIdentities(t, s, other.ID, others...)
	wantIdentities(t, s, none.ID)
	wantIdentities(t, s, "nobody")
}

// testIdentityCopies: the store keeps copies of what it is given and hands
// out copies of what it keeps.
func testIdentityCopies(t *testing.T, s identityStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	id, want := identity(u.ID, "google", "s1", base), identity(u.ID, "google", "s1", base)
	mustLink(t, s, id)
	mutate := func(id *identitystore.Identity) {
		id.Provider, id.Subject, id.Email, id.UserID = "mutated", "mutated", "mutated", "mutated"
		id.LinkedAt = id.LinkedAt.Add(time.Hour)
	}
	mutate(id)
	wantIdentity(t, s, want)
	one, err := s.Identity(ctx, want.Issuer, want.Subject)
	if err != nil {
		t.Fatal(err)
	}
	mutate(one)
	wantIdentity(t, s, want)
	all, err := s.Identities(ctx, u.ID)
	if err != nil || len(all) != 1 {
		t.Fatalf("Identities = %v, %v", all, err)
	}
	mutate(&all[0])
	wantIdentities(t, s, u.ID, want)

	v := newUser("bob")
	vid := identity(v.ID, "github", "bob", base)
	wantV, wantVID := v.Clone(), *vid
	if err := s.CreateUserWithIdentity(ctx, v, vid); err != nil {
		t.Fatal(err)
	}
	mutate(vid)
	v.Roles[0] = "mutated"
	wantIdentities(t, s, v.ID, &wantVID)
	wantUser(t, s, wantV)

	a, wantA := attempt(u.ID, "google", "a1", base), attempt(u.ID, "google", "a1", base)
	mustCreateAttempt(t, s, a)
	a.ID[0] ^= 0xff
	a.Binding[0] ^= 0xff
	a.Data[0] ^= 0xff
	wantTakeAttempt(t, s, wantA)
}

// testUnlinkIdentity: the user's identity at a provider goes, and its
// provider account is free again; none there, another user's, or an
// unknown user is auth.ErrNotFound; with keepLast, the only identity of a
// user without a passkey stays, with auth.ErrConflict.
func testUnlinkIdentity(t *testing.T, s identityStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	a, b, c := identity(u.ID, "a", "alice", base), identity(u.ID, "b", "alice", base.Add(time.Second)), identity(u.ID, "c", "alice", base.Add(2*time.Second))
	o := identity(other.ID, "d", "bob", base)
	for _, id := range []*identitystore.Identity{a, b, c, o} {
		mustLink(t, s, id)
	}
	for _, keepLast := range []bool{false, true} {
		for _, r := range []struct {
			what             string
			userID, provider string
		}{
			{"another user's identity", u.ID, o.Provider},
			{"an identity, by another user", other.ID, a.Provider},
			{"an unknown provider", u.ID, "e"},
			{"an unknown user", "nobody", a.Provider},
		} {
			isErr(t, fmt.Sprintf("UnlinkIdentity(keepLast %v) of %s", keepLast, r.what), s.UnlinkIdentity(ctx, r.userID, r.provider, keepLast), auth.ErrNotFound)
		}
	}
	wantIdentities(t, s, u.ID, a, b, c)
	wantIdentities(t, s, other.ID, o)

	for _, step := range []struct {
		id       *identitystore.Identity
		keepLast bool
		want     error
		left     []*identitystore.Identity
	}{
		{b, true, nil, []*identitystore.Identity{a, c}},
		{b, true, auth.ErrNotFound, []*identitystore.Identity{a, c}},
		{b, false, auth.ErrNotFound, []*identitystore.Identity{a, c}},
		{a, true, nil, []*identitystore.Identity{c}},
		{c, true, auth.ErrConflict, []*identitystore.Identity{c}},
		{a, true, auth.ErrNotFound, []*identitystore.Identity{c}}, // gone: not the last one's conflict
		{c, false, nil, nil},
		{c, false, auth.ErrNotFound, nil},
		{c, true, auth.ErrNotFound, nil},
	} {
		err := s.UnlinkIdentity(ctx, u.ID, step.id.Provider, step.keepLast)
		if step.want == nil && err != nil || step.want != nil && !errors.Is(err, step.want) || errors.Is(err, auth.ErrStoreUnavailable) {
			t.Fatalf("UnlinkIdentity(%s, keepLast %v) = %v, want %v", step.id.Provider, step.keepLast, err, step.want)
		}
		wantIdentities(t, s, u.ID, step.left...)
		if step.want == nil {
			noIdentity(t, s, step.id.Issuer, step.id.Subject)
		}
	}
	isErr(t, "UnlinkIdentity(keepLast) of the user's only identity", s.UnlinkIdentity(ctx, other.ID, o.Provider, true), auth.ErrConflict)
	wantIdentities(t, s, other.ID, o)

	// The provider accounts are free again: to the user, and to another.
	b.LinkedAt = base.Add(time.Hour)
	mustLink(t, s, b)
	a2 := identity(other.ID, a.Provider, a.Subject, base.Add(time.Hour))
	mustLink(t, s, a2)
	wantIdentities(t, s, u.ID, b)
	wantIdentities(t, s, other.ID, o, a2)
	wantIdentity(t, s, a2)
}

// testCreateUserWithIdentity: the user and its identity are created
// together, or neither: a taken login name or id is CreateUser's error, a
// linked provider account auth.ErrConflict.
func testCreateUserWithIdentity(t *testing.T, s identityStore) {
	ctx := context.Background()
	u := newUser("alice")
	u.PasswordHash, u.EmailVerified = "", true
	id := identity(u.ID, "google", "alice", base)
	if err := s.CreateUserWithIdentity(ctx, u, id); err != nil {
		t.Fatalf("CreateUserWithIdentity: %v", err)
	}
	id.UserID = u.ID
	for _, get := range []func() (*auth.User, error){
		func() (*auth.User, error) { return s.UserByID(ctx, u.ID) },
		func() (*auth.User, error) { return s.UserByUsername(ctx, u.Username) },
		func() (*auth.User, error) { return s.UserByEmail(ctx, u.Email) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("the user of CreateUserWithIdentity: %v", err)
		}
		equalUser(t, got, u)
	}
	wantIdentity(t, s, id)
	wantIdentities(t, s, u.ID, id)
	// The user is as any other: a second identity, an attempt, a session.
	id2 := identity(u.ID, "github", "alice", base.Add(time.Second))
	mustLink(t, s, id2)
	mustCreateAttempt(t, s, attempt(u.ID, "work", "a1", base))
	newSession(t, s, u.ID, "s1")

	for i, r := range []struct {
		what   string
		change func(v *auth.User, vid *identitystore.Identity)
		want   error
	}{
		{"a taken username", func(v *auth.User, _ *identitystore.Identity) { v.Username = u.Username }, auth.ErrUserExists},
		{"a username that is another's email", func(v *auth.User, _ *identitystore.Identity) { v.Username = u.Email }, auth.ErrUserExists},
		{"a taken email", func(v *auth.User, _ *identitystore.Identity) { v.Email = u.Email }, auth.ErrEmailExists},
		{"a linked provider account", func(_ *auth.User, vid *identitystore.Identity) { vid.Subject = id2.Subject; vid.Provider = "github" }, auth.ErrConflict},
		{"a linked provider account, at another provider", func(_ *auth.User, vid *identitystore.Identity) {
			vid.Provider, vid.Issuer, vid.Subject = "other", id.Issuer, id.Subject
		}, auth.ErrConflict},
	} {
		name := fmt.Sprint("bob", i)
		v := newUser(name)
		vid := identity(v.ID, "google", name, base)
		r.change(v, vid)
		isErr(t, "CreateUserWithIdentity with "+r.what, s.CreateUserWithIdentity(ctx, v, vid), r.want)
		_, err := s.UserByID(ctx, v.ID)
		isErr(t, "the user of a refused CreateUserWithIdentity ("+r.what+")", err, auth.ErrNotFound)
		wantIdentities(t, s, v.ID)
		if vid.Subject == name {
			noIdentity(t, s, vid.Issuer, vid.Subject)
		}
		// Nothing of it is left to stand in the way.
		fresh := newUser(name)
		fresh.ID = v.ID
		fid := identity(v.ID, "google", name, base)
		if err := s.CreateUserWithIdentity(ctx, fresh, fid); err != nil {
			t.Fatalf("CreateUserWithIdentity after a refused one (%s): %v", r.what, err)
		}
		wantIdentities(t, s, fresh.ID, fid)
	}
	// The first user is as it was.
	wantUser(t, s, u)
	wantIdentities(t, s, u.ID, id, id2)
	wantIdentity(t, s, id)

	// A taken user id is CreateUser's error, or a new id made by the store.
	v := newUser("carol")
	v.ID = u.ID
	vid := identity(u.ID, "other", "carol", base)
	switch err := s.CreateUserWithIdentity(ctx, v, vid); {
	case errors.Is(err, auth.ErrUserExists):
		noIdentity(t, s, vid.Issuer, vid.Subject)
		if _, err := s.UserByUsername(ctx, "carol"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a refused CreateUserWithIdentity left a user: %v", err)
		}
	case err == nil && v.ID != u.ID && vid.UserID == v.ID:
	default:
		t.Fatalf("CreateUserWithIdentity with a taken id = %v, id %q; want ErrUserExists, or an id made by the store", err, v.ID)
	}
	wantIdentities(t, s, u.ID, id, id2)
}

// reclaimWorld is what testReclaimAccount gives a user, so as to check
// that ReclaimAccount removes the user's part and leaves another's: every
// way in that each store capability keeps.
type reclaimWorld struct {
	user     *auth.User
	sessions []*auth.Session
	secrets  []string
	identity *identitystore.Identity
	attempt  *identitystore.Attempt
	// Of the capabilities the store offers: nil when it does not.
	creds     []*passkeystore.Credential
	ceremony  *passkeystore.Ceremony
	totp      *mfastore.TOTP
	codes     [][]byte
	challenge *mfastore.Challenge
	links     []*recovery.LinkToken
}

// newReclaimWorld creates the user name with a session, an identity at
// github, an attempt to link, and what else the store keeps: passkeys and
// a registration ceremony, TOTP with recovery codes and a challenge, and
// mailed links.
func newReclaimWorld(t *testing.T, s identityStore, name string) *reclaimWorld {
	t.Helper()
	ctx := context.Background()
	w := &reclaimWorld{user: newUser(name)}
	mustCreate(t, s, w.user)
	for i := range 2 {
		secret := fmt.Sprint(name, " session ", i)
		w.sessions = append(w.sessions, newSession(t, s, w.user.ID, secret))
		w.secrets = append(w.secrets, secret)
	}
	w.identity = identity(w.user.ID, "github", name, base)
	mustLink(t, s, w.identity)
	w.attempt = attempt(w.user.ID, "gitlab", name+" attempt", base)
	mustCreateAttempt(t, s, w.attempt)
	if p, ok := s.(passkeystore.Store); ok {
		if _, err := p.UserHandle(ctx, w.user.ID, handleOf(w.user.ID)); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			c := credential(w.user.ID, fmt.Sprint("key ", i), base.Add(time.Duration(i)*time.Second))
			if err := p.AddCredential(ctx, c); err != nil {
				t.Fatal(err)
			}
			w.creds = append(w.creds, c)
		}
		w.ceremony = ceremony("registration", w.user.ID, name+" ceremony", base)
		if err := p.CreateCeremony(ctx, w.ceremony); err != nil {
			t.Fatal(err)
		}
	}
	if m, ok := s.(mfastore.Store); ok {
		w.totp = pendingTOTP(w.user.ID, name+" totp", base)
		w.codes = recoveryCodes(name+" code ", 3)
		if err := m.PutPendingTOTP(ctx, w.totp); err != nil {
			t.Fatal(err)
		}
		if err := m.ConfirmTOTP(ctx, w.user.ID, w.totp.ID, 5, w.codes); err != nil {
			t.Fatal(err)
		}
		w.totp.Confirmed, w.totp.LastStep = true, 5
		w.challenge = mfaChallenge(w.user.ID, name+" challenge", base)
		if err := m.CreateChallenge(ctx, w.challenge); err != nil {
			t.Fatal(err)
		}
	}
	if l, ok := s.(recovery.LinkStore); ok {
		for _, purpose := range []recovery.LinkPurpose{recovery.LinkVerifyEmail, recovery.LinkResetPassword} {
			lt := linkToken(w.user.ID, name+" "+string(purpose), purpose, base)
			lt.Email = w.user.Email
			if err := l.CreateLinkToken(ctx, lt); err != nil {
				t.Fatal(err)
			}
			w.links = append(w.links, lt)
		}
	}
	// Read once, so that a store that caches users and sessions has them.
	for _, sess := range w.sessions {
		sessionLive(t, s, sess)
	}
	wantUser(t, s, w.user)
	return w
}

// intact checks that everything of w is still there, as it was (w.user's
// stored fields included); it takes w.attempt, and makes it again.
func (w *reclaimWorld) intact(t *testing.T, s identityStore) {
	t.Helper()
	ctx := context.Background()
	wantUser(t, s, w.user)
	for _, sess := range w.sessions {
		sessionLive(t, s, sess)
	}
	wantIdentities(t, s, w.user.ID, w.identity)
	wantTakeAttempt(t, s, w.attempt)
	mustCreateAttempt(t, s, w.attempt)
	if p, ok := s.(passkeystore.Store); ok {
		if h, err := p.UserHandle(ctx, w.user.ID, nil); err != nil || !bytes.Equal(h, handleOf(w.user.ID)) {
			t.Fatalf("UserHandle(%q) = %x, %v; want its handle", w.user.Username, h, err)
		}
		got, err := p.Credentials(ctx, w.user.ID)
		if err != nil || len(got) != len(w.creds) {
			t.Fatalf("Credentials(%q) = %d, %v; want %d", w.user.Username, len(got), err, len(w.creds))
		}
		c, err := p.TakeCeremony(ctx, w.ceremony.ID)
		if err != nil {
			t.Fatalf("TakeCeremony of %q's registration: %v", w.user.Username, err)
		}
		equalCeremony(t, c, w.ceremony)
		if err := p.CreateCeremony(ctx, w.ceremony); err != nil {
			t.Fatal(err)
		}
	}
	if m, ok := s.(mfastore.Store); ok {
		got, err := m.TOTP(ctx, w.user.ID)
		if err != nil {
			t.Fatalf("TOTP(%q): %v", w.user.Username, err)
		}
		equalTOTP(t, got, w.totp)
		if n, err := m.RecoveryCodesLeft(ctx, w.user.ID); err != nil || n != len(w.codes) {
			t.Fatalf("RecoveryCodesLeft(%q) = %d, %v; want %d", w.user.Username, n, err, len(w.codes))
		}
		c, err := m.Challenge(ctx, w.challenge.ID)
		if err != nil {
			t.Fatalf("Challenge of %q: %v", w.user.Username, err)
		}
		equalChallenge(t, c, w.challenge)
	}
	if l, ok := s.(recovery.LinkStore); ok {
		for _, lt := range w.links {
			if _, err := l.LinkToken(ctx, lt.Hash); err != nil {
				t.Fatalf("LinkToken(%s of %q): %v", lt.Purpose, w.user.Username, err)
			}
		}
	}
}

// testReclaimAccount: ReclaimAccount links the identity, makes the email
// verified, and removes every way in of the account, each checked: the
// password, the sessions (and the token version and TokensEndedAt moved
// as InvalidateTokens moves them), other identities, attempts, and, where
// the store keeps them, passkeys with their handle and registration
// ceremonies, TOTP with its recovery codes and challenges, and mailed
// links. Another user's are left alone, as are sign-in attempts.
func testReclaimAccount(t *testing.T, s identityStore) {
	ctx := context.Background()
	w, other := newReclaimWorld(t, s, "alice"), newReclaimWorld(t, s, "bob")
	signIn := attempt("", "google", "sign-in", base)
	mustCreateAttempt(t, s, signIn)
	if p, ok := s.(passkeystore.Store); ok {
		if err := p.CreateCeremony(ctx, ceremony("login", "", "login", base)); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("storetest: the store does not implement passkeystore.Store: ReclaimAccount's removal of passkeys is not checked")
	}
	if _, ok := s.(mfastore.Store); !ok {
		t.Log("storetest: the store does not implement mfastore.Store: ReclaimAccount's removal of second factors is not checked")
	}
	if _, ok := s.(recovery.LinkStore); !ok {
		t.Log("storetest: the store does not implement recovery.LinkStore: ReclaimAccount's removal of mailed links is not checked")
	}
	u := w.user
	now := base.Add(3*time.Hour + 7*time.Microsecond)
	id := identity(u.ID, "google", "the owner", base.Add(2*time.Hour))
	if err := s.ReclaimAccount(ctx, u.ID, u.Email, id, now); err != nil {
		t.Fatalf("ReclaimAccount: %v", err)
	}

	// The user: no password, the email verified, every token ended.
	want := u.Clone()
	want.PasswordHash, want.EmailVerified = "", true
	want.TokenVersion++
	want.TokensEndedAt, want.UpdatedAt = now, now
	wantUser(t, s, want)
	for i, sess := range w.sessions {
		sessionRevoked(t, s, sess, w.secrets[i])
	}
	if got, err := s.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID || !got.EmailVerified {
		t.Fatalf("UserByEmail after ReclaimAccount = %+v, %v", got, err)
	}
	isErr(t, "UpdatePasswordHash from the old password hash", s.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, "$2b$new", false, now), auth.ErrConflict)
	// The identity: the new one, the only one; the old one's provider
	// account is free.
	wantIdentities(t, s, u.ID, id)
	wantIdentity(t, s, id)
	noIdentity(t, s, w.identity.Issuer, w.identity.Subject)
	noAttempt(t, s, w.attempt.ID)
	if p, ok := s.(passkeyStore); ok {
		noHandle(t, p, u.ID)
		for _, c := range w.creds {
			noCredential(t, p, c.ID)
		}
		wantCredentials(t, p, u.ID)
		noCeremony(t, p, w.ceremony.ID)
		wantTake(t, p, ceremony("login", "", "login", base))
	}
	if m, ok := s.(mfaStore); ok {
		_, err := m.TOTP(ctx, u.ID)
		isErr(t, "TOTP after ReclaimAccount", err, auth.ErrNotFound)
		noCodes(t, m, u.ID)
		isErr(t, "a recovery code after ReclaimAccount", m.UseRecoveryCode(ctx, u.ID, w.codes[0]), auth.ErrNotFound)
		_, err = m.Challenge(ctx, w.challenge.ID)
		isErr(t, "a challenge after ReclaimAccount", err, auth.ErrNotFound)
	}
	if l, ok := s.(recovery.LinkStore); ok {
		for _, lt := range w.links {
			_, err := l.LinkToken(ctx, lt.Hash)
			isErr(t, fmt.Sprintf("a %s link after ReclaimAccount", lt.Purpose), err, auth.ErrNotFound)
		}
	}
	// The sign-in attempt, and everything of another user, stay.
	wantTakeAttempt(t, s, signIn)
	other.intact(t, s)

	// The identity is the account's only way in now.
	isErr(t, "UnlinkIdentity(keepLast) of the reclaimed account's only identity", s.UnlinkIdentity(ctx, u.ID, id.Provider, true), auth.ErrConflict)
	wantIdentities(t, s, u.ID, id)
	// The account is as any other: a first password, a new session.
	if err := s.UpdatePasswordHash(ctx, u.ID, "", "$2b$first", true, now); err != nil {
		t.Fatalf("a first password after ReclaimAccount: %v", err)
	}
	sess := newSession(t, s, u.ID, "after")
	sessionLive(t, s, sess)
	// Reclaimed once: the email is verified now.
	again := identity(u.ID, "other", "someone", now)
	isErr(t, "a second ReclaimAccount", s.ReclaimAccount(ctx, u.ID, u.Email, again, now), auth.ErrConflict)
	noIdentity(t, s, again.Issuer, again.Subject)

	// A user who has nothing to remove: only the identity is added.
	bare := newUser("carol")
	bare.PasswordHash = ""
	mustCreate(t, s, bare)
	bid := identity(bare.ID, "google", "carol", now)
	if err := s.ReclaimAccount(ctx, bare.ID, bare.Email, bid, now); err != nil {
		t.Fatalf("ReclaimAccount of a bare account: %v", err)
	}
	bare.EmailVerified, bare.TokenVersion, bare.TokensEndedAt, bare.UpdatedAt = true, 1, now, now
	wantUser(t, s, bare)
	wantIdentities(t, s, bare.ID, bid)

	// A user with an identity at the provider: it is replaced.
	d := newUser("dave")
	mustCreate(t, s, d)
	old := identity(d.ID, "google", "dave's squatter", base)
	mustLink(t, s, old)
	did := identity(d.ID, "google", "dave", now)
	if err := s.ReclaimAccount(ctx, d.ID, d.Email, did, now); err != nil {
		t.Fatalf("ReclaimAccount of an account with an identity at the provider: %v", err)
	}
	wantIdentities(t, s, d.ID, did)
	noIdentity(t, s, old.Issuer, old.Subject)
	wantUser(t, s, bare) // carol's
}

// testReclaimRefused: ReclaimAccount refuses, changing nothing, when the
// email is not the account's (changed, or another case), when it was
// verified, and when the provider account is linked (to another user, or
// to this one): auth.ErrConflict; an unknown user is auth.ErrNotFound;
// an identity of another user, or no email, auth.ErrInvalidInput.
func testReclaimRefused(t *testing.T, s identityStore) {
	ctx := context.Background()
	w, other := newReclaimWorld(t, s, "alice"), newReclaimWorld(t, s, "bob")
	u := w.user
	now := base.Add(time.Hour)
	for _, r := range []struct {
		what   string
		userID string
		email  string
		id     *identitystore.Identity
		want   error
	}{
		{"another email", u.ID, "alice2@example.com", identity(u.ID, "google", "s1", now), auth.ErrConflict},
		{"the email in another case", u.ID, strings.ToUpper(u.Email), identity(u.ID, "google", "s1", now), auth.ErrConflict},
		{"another user's email", u.ID, other.user.Email, identity(u.ID, "google", "s1", now), auth.ErrConflict},
		{"a provider account linked to another user", u.ID, u.Email, func() *identitystore.Identity {
			id := identity(u.ID, "google", other.identity.Subject, now)
			id.Issuer = other.identity.Issuer
			return id
		}(), auth.ErrConflict},
		{"a provider account linked to the user", u.ID, u.Email, identity(u.ID, "github", w.identity.Subject, now), auth.ErrConflict},
		{"an unknown user", "nobody", u.Email, identity("nobody", "google", "s1", now), auth.ErrNotFound},
		{"an identity of another user", u.ID, u.Email, identity(other.user.ID, "google", "s1", now), auth.ErrInvalidInput},
		{"no email", u.ID, "", identity(u.ID, "google", "s1", now), auth.ErrInvalidInput},
	} {
		isErr(t, "ReclaimAccount with "+r.what, s.ReclaimAccount(ctx, r.userID, r.email, r.id, now), r.want)
		if r.id.Subject == "s1" {
			noIdentity(t, s, r.id.Issuer, r.id.Subject)
		}
		w.intact(t, s)
		other.intact(t, s)
	}

	// A verified email: by the user's creation, or by a link.
	v := newReclaimWorld(t, s, "carol")
	if l, ok := s.(recovery.LinkStore); ok {
		if _, err := l.RedeemLinkToken(ctx, recovery.Redemption{Hash: v.links[0].Hash, Purpose: recovery.LinkVerifyEmail, Now: base}); err != nil {
			t.Fatal(err)
		}
		v.user.EmailVerified, v.user.UpdatedAt, v.links = true, base, nil
	} else {
		v = &reclaimWorld{user: newUser("carol2")}
		v.user.EmailVerified = true
		mustCreate(t, s, v.user)
	}
	id := identity(v.user.ID, "google", "carol", now)
	isErr(t, "ReclaimAccount of an account whose email is verified", s.ReclaimAccount(ctx, v.user.ID, v.user.Email, id, now), auth.ErrConflict)
	noIdentity(t, s, id.Issuer, id.Subject)
	wantUser(t, s, v.user)
	if v.identity != nil {
		v.intact(t, s)
	}
	w.intact(t, s)
}

// testAttempts: an attempt comes back as stored once, expired or not; an
// unknown user's is auth.ErrNotFound, a taken id auth.ErrConflict; the
// expired attempts a new one may take along are only ones that expired
// before it was made.
func testAttempts(t *testing.T, s identityStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	noAttempt(t, s, hash("none"))
	isErr(t, "CreateAttempt for an unknown user", s.CreateAttempt(ctx, attempt("nobody", "google", "n1", base)), auth.ErrNotFound)
	noAttempt(t, s, hash("n1"))

	link := attempt(u.ID, "google", "link", base)
	link.Data = edgeBytes("data", identitystore.MaxAttemptDataBytes)
	signIn := attempt("", "github", "sign-in", base.Add(7*time.Microsecond))
	signIn.Data = nil
	empty := attempt("", strings.Repeat("a1", identitystore.MaxProviderBytes/2), "empty", base.Add(time.Second))
	empty.Data = []byte{}
	empty.ExpiresAt = empty.CreatedAt.Add(time.Hour)
	odd := attempt(u.ID, "0", "odd", base)
	odd.ID, odd.Binding = edgeBytes("odd", 32), edgeBytes("odd binding", 32)
	for _, a := range []*identitystore.Attempt{link, signIn, empty, odd} {
		mustCreateAttempt(t, s, a)
	}
	// A taken id: the first attempt stays as it was.
	dup := attempt("", "other", "dup", base)
	dup.ID = slices.Clone(link.ID)
	isErr(t, "CreateAttempt with a taken id", s.CreateAttempt(ctx, dup), auth.ErrConflict)
	for _, a := range []*identitystore.Attempt{signIn, odd, empty, link} {
		wantTakeAttempt(t, s, a)
		noAttempt(t, s, a.ID)
	}

	// Near misses of an id; the binding is no id.
	mustCreateAttempt(t, s, odd)
	for _, near := range [][]byte{nil, {}, odd.ID[:31], odd.ID[1:], append(slices.Clone(odd.ID), 0), odd.Binding} {
		noAttempt(t, s, near)
	}
	wantTakeAttempt(t, s, odd)

	// An expired attempt is returned, as long as the store keeps it; one
	// that had not expired when a later one was made is kept.
	old := attempt("", "google", "old", base)
	edge := attempt(u.ID, "google", "edge", base)
	edge.ExpiresAt = old.ExpiresAt.Add(time.Minute + time.Microsecond)
	mustCreateAttempt(t, s, old)
	mustCreateAttempt(t, s, edge)
	mustCreateAttempt(t, s, attempt("", "google", "at expiry", old.ExpiresAt))
	wantTakeAttempt(t, s, old)
	mustCreateAttempt(t, s, old)
	mustCreateAttempt(t, s, attempt("", "google", "later", old.ExpiresAt.Add(time.Minute)))
	if a, err := s.TakeAttempt(ctx, old.ID); err == nil {
		equalAttempt(t, a, old)
	} else if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an attempt that expired before a new one: %v", err)
	}
	wantTakeAttempt(t, s, edge)
	// An attempt made expired.
	past := attempt(u.ID, "google", "past", base.Add(time.Hour))
	past.ExpiresAt = past.CreatedAt.Add(-time.Second)
	mustCreateAttempt(t, s, past)
	wantTakeAttempt(t, s, past)
}

// testConcurrentTakeAttempt: of takings of one attempt at once, exactly
// one gets it.
func testConcurrentTakeAttempt(t *testing.T, s identityStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	for round := range 5 {
		userID := ""
		if round%2 == 0 {
			userID = u.ID
		}
		a := attempt(userID, "google", fmt.Sprint("a", round), base)
		mustCreateAttempt(t, s, a)
		got := make([]*identitystore.Attempt, Concurrency)
		errs := atOnce(func(i int) error {
			var err error
			got[i], err = s.TakeAttempt(ctx, a.ID)
			return err
		})
		won := oneWins(t, fmt.Sprintf("round %d: TakeAttempt", round), errs, auth.ErrNotFound)
		equalAttempt(t, got[won], a)
		noAttempt(t, s, a.ID)
	}
}

// testInvalidIdentityInput: values beyond the limits of package
// identitystore, and text a store cannot keep, are auth.ErrInvalidInput
// when they are to be stored, and stored nowhere; as keys to look up, they
// are unknown ones.
func testInvalidIdentityInput(t *testing.T, s identityStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	ok := identity(u.ID, "google", "alice", base)
	mustLink(t, s, ok)
	badText := []string{"nul\x00inside", "\xff\xfe", "ok\x00"}

	type idChange struct {
		what   string
		change func(id *identitystore.Identity)
	}
	idChanges := []idChange{
		{"no provider", func(id *identitystore.Identity) { id.Provider = "" }},
		{"too long a provider", func(id *identitystore.Identity) { id.Provider = strings.Repeat("a", identitystore.MaxProviderBytes+1) }},
		{"an upper-case provider", func(id *identitystore.Identity) { id.Provider = "Google" }},
		{"a provider with a dash", func(id *identitystore.Identity) { id.Provider = "my-idp" }},
		{"a provider with an underscore", func(id *identitystore.Identity) { id.Provider = "my_idp" }},
		{"a provider with a space", func(id *identitystore.Identity) { id.Provider = "my idp" }},
		{"a provider not ASCII", func(id *identitystore.Identity) { id.Provider = "gооgle" }},
		{"no issuer", func(id *identitystore.Identity) { id.Issuer = "" }},
		{"too long an issuer", func(id *identitystore.Identity) {
			id.Issuer = "https://" + strings.Repeat("é", (identitystore.MaxIssuerBytes-8)/2) + "x"
		}},
		{"no subject", func(id *identitystore.Identity) { id.Subject = "" }},
		{"too long a subject", func(id *identitystore.Identity) { id.Subject = strings.Repeat("s", identitystore.MaxSubjectBytes+1) }},
		{"too long an email", func(id *identitystore.Identity) {
			id.Email = strings.Repeat("e", identitystore.MaxEmailBytes-11) + "@example.com"
		}},
	}
	for _, bad := range badText {
		idChanges = append(idChanges,
			idChange{fmt.Sprintf("provider %q", bad), func(id *identitystore.Identity) { id.Provider = bad }},
			idChange{fmt.Sprintf("issuer %q", bad), func(id *identitystore.Identity) { id.Issuer = bad }},
			idChange{fmt.Sprintf("subject %q", bad), func(id *identitystore.Identity) { id.Subject = bad }},
			idChange{fmt.Sprintf("email %q", bad), func(id *identitystore.Identity) { id.Email = bad }},
		)
	}
	for _, r := range idChanges {
		id := identity(u.ID, "github", "refused", base)
		r.change(id)
		isErr(t, "LinkIdentity with "+r.what, s.LinkIdentity(ctx, id), auth.ErrInvalidInput)
		noIdentity(t, s, issuerOf("github"), "refused")
		v := newUser("carol")
		vid := identity(v.ID, "github", "refused", base)
		r.change(vid)
		isErr(t, "CreateUserWithIdentity with "+r.what, s.CreateUserWithIdentity(ctx, v, vid), auth.ErrInvalidInput)
		_, err := s.UserByID(ctx, v.ID)
		isErr(t, "the user of a CreateUserWithIdentity with "+r.what, err, auth.ErrNotFound)
		rid := identity(u.ID, "github", "refused", base)
		r.change(rid)
		isErr(t, "ReclaimAccount with "+r.what, s.ReclaimAccount(ctx, u.ID, u.Email, rid, base), auth.ErrInvalidInput)
	}
	for _, bad := range badText {
		id := identity(bad, "github", "refused", base)
		isErr(t, fmt.Sprintf("LinkIdentity for user %q", bad), s.LinkIdentity(ctx, id), auth.ErrInvalidInput)
		isErr(t, fmt.Sprintf("ReclaimAccount with email %q", bad), s.ReclaimAccount(ctx, u.ID, bad, identity(u.ID, "github", "refused", base), base), auth.ErrInvalidInput)
	}
	noIdentity(t, s, issuerOf("github"), "refused")
	// An identity of another user than the one created.
	v := newUser("carol")
	isErr(t, "CreateUserWithIdentity of another user's identity", s.CreateUserWithIdentity(ctx, v, identity(u.ID, "github", "refused", base)), auth.ErrInvalidInput)
	_, err := s.UserByID(ctx, v.ID)
	isErr(t, "the user of a CreateUserWithIdentity of another user's identity", err, auth.ErrNotFound)
	// A user CreateUser refuses.
	v = newUser("carol")
	v.Username = "nul\x00inside"
	isErr(t, "CreateUserWithIdentity of an unstorable user", s.CreateUserWithIdentity(ctx, v, identity(v.ID, "github", "refused", base)), auth.ErrInvalidInput)
	noIdentity(t, s, issuerOf("github"), "refused")
	// The longest values are kept.
	longest := identity(u.ID, strings.Repeat("a", identitystore.MaxProviderBytes), strings.Repeat("s", identitystore.MaxSubjectBytes), base)
	longest.Issuer = "https://" + strings.Repeat("é", (identitystore.MaxIssuerBytes-8)/2)
	longest.Email = strings.Repeat("e", identitystore.MaxEmailBytes-12) + "@example.com"
	mustLink(t, s, longest)
	wantIdentity(t, s, longest)

	type attemptChange struct {
		what   string
		change func(a *identitystore.Attempt)
	}
	attemptChanges := []attemptChange{
		{"no id", func(a *identitystore.Attempt) { a.ID = nil }},
		{"a short id", func(a *identitystore.Attempt) { a.ID = a.ID[:31] }},
		{"a long id", func(a *identitystore.Attempt) { a.ID = append(a.ID, 0) }},
		{"no binding", func(a *identitystore.Attempt) { a.Binding = nil }},
		{"a short binding", func(a *identitystore.Attempt) { a.Binding = a.Binding[:31] }},
		{"a long binding", func(a *identitystore.Attempt) { a.Binding = append(a.Binding, 0) }},
		{"no provider", func(a *identitystore.Attempt) { a.Provider = "" }},
		{"an upper-case provider", func(a *identitystore.Attempt) { a.Provider = "Google" }},
		{"too long a provider", func(a *identitystore.Attempt) { a.Provider = strings.Repeat("a", identitystore.MaxProviderBytes+1) }},
		{"too long data", func(a *identitystore.Attempt) { a.Data = edgeBytes("data", identitystore.MaxAttemptDataBytes+1) }},
	}
	for _, bad := range badText {
		attemptChanges = append(attemptChanges,
			attemptChange{fmt.Sprintf("provider %q", bad), func(a *identitystore.Attempt) { a.Provider = bad }},
			attemptChange{fmt.Sprintf("user %q", bad), func(a *identitystore.Attempt) { a.UserID = bad }},
		)
	}
	for _, r := range attemptChanges {
		a := attempt(u.ID, "google", "refused", base)
		r.change(a)
		isErr(t, "CreateAttempt with "+r.what, s.CreateAttempt(ctx, a), auth.ErrInvalidInput)
		noAttempt(t, s, hash("refused"))
		if len(a.ID) > 0 {
			noAttempt(t, s, a.ID)
		}
	}

	// As keys.
	for _, bad := range badText {
		what := func(name string) string { return fmt.Sprintf("%s with %q", name, bad) }
		noIdentity(t, s, bad, ok.Subject)
		noIdentity(t, s, ok.Issuer, bad)
		got, err := s.Identities(ctx, bad)
		if err != nil || len(got) != 0 {
			t.Fatalf("%s = %v, %v; want none", what("Identities"), got, err)
		}
		isErr(t, what("UnlinkIdentity(user)"), s.UnlinkIdentity(ctx, bad, ok.Provider, false), auth.ErrNotFound)
		isErr(t, what("UnlinkIdentity(provider)"), s.UnlinkIdentity(ctx, u.ID, bad, false), auth.ErrNotFound)
		isErr(t, what("ReclaimAccount(user)"), s.ReclaimAccount(ctx, bad, u.Email, identity(bad, "github", "refused", base), base),
			auth.ErrInvalidInput)
	}
	for _, key := range []struct{ issuer, subject string }{
		{"", ok.Subject}, {ok.Issuer, ""}, {"", ""},
		{strings.Repeat("i", identitystore.MaxIssuerBytes+1), ok.Subject},
		{ok.Issuer, strings.Repeat("s", identitystore.MaxSubjectBytes+1)},
		{ok.Issuer, strings.Repeat("s", 4*identitystore.MaxSubjectBytes)},
	} {
		noIdentity(t, s, key.issuer, key.subject)
	}
	for _, p := range []string{"", "Google", strings.Repeat("a", 4*identitystore.MaxProviderBytes)} {
		isErr(t, fmt.Sprintf("UnlinkIdentity(%q)", p), s.UnlinkIdentity(ctx, u.ID, p, false), auth.ErrNotFound)
	}
	for _, id := range [][]byte{edgeBytes("long", 33), edgeBytes("longer", 1024), {0}} {
		noAttempt(t, s, id)
	}
	// Nothing changed.
	wantIdentities(t, s, u.ID, longest, ok) // "aa..." before "google"
	wantUser(t, s, u)
}

// testIdentityContextCanceled: with an ended context, every method fails
// with the context's error, and changes nothing.
func testIdentityContextCanceled(t *testing.T, s identityStore) {
	bg := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	id := identity(u.ID, "google", "alice", base)
	mustLink(t, s, id)
	a := attempt(u.ID, "github", "a1", base)
	mustCreateAttempt(t, s, a)

	ctx, cancel := context.WithCancel(bg)
	cancel()
	canceled := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a canceled context = %v, want context.Canceled", what, err)
		}
	}
	_, err := s.Identity(ctx, id.Issuer, id.Subject)
	canceled("Identity", err)
	_, err = s.Identities(ctx, u.ID)
	canceled("Identities", err)
	canceled("LinkIdentity", s.LinkIdentity(ctx, identity(u.ID, "github", "new", base)))
	v := newUser("carol")
	canceled("CreateUserWithIdentity", s.CreateUserWithIdentity(ctx, v, identity(v.ID, "github", "carol", base)))
	canceled("UnlinkIdentity", s.UnlinkIdentity(ctx, u.ID, id.Provider, false))
	canceled("ReclaimAccount", s.ReclaimAccount(ctx, u.ID, u.Email, identity(u.ID, "github", "owner", base), base))
	canceled("CreateAttempt", s.CreateAttempt(ctx, attempt("", "google", "a2", base)))
	_, err = s.TakeAttempt(ctx, a.ID)
	canceled("TakeAttempt", err)

	wantIdentities(t, s, u.ID, id)
	noIdentity(t, s, issuerOf("github"), "new")
	noIdentity(t, s, issuerOf("github"), "owner")
	if _, err := s.UserByID(bg, v.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a canceled CreateUserWithIdentity left a user: %v", err)
	}
	wantUser(t, s, u)
	noAttempt(t, s, hash("a2"))
	wantTakeAttempt(t, s, a)
}

// testConcurrentLinkIdentity: of links at once of one provider account to
// many users, exactly one succeeds; of links at once of many provider
// accounts at one provider to one user, exactly one.
func testConcurrentLinkIdentity(t *testing.T, s identityStore) {
	ctx := context.Background()
	users := make([]*auth.User, Concurrency)
	for i := range users {
		users[i] = newUser(fmt.Sprint("user", i))
		mustCreate(t, s, users[i])
	}
	for round := range 3 {
		subject := fmt.Sprint("contested ", round)
		errs := atOnce(func(i int) error { return s.LinkIdentity(ctx, identity(users[i].ID, "google", subject, base)) })
		won := oneWins(t, fmt.Sprintf("round %d: LinkIdentity of one provider account", round), errs, auth.ErrConflict)
		wantIdentity(t, s, identity(users[won].ID, "google", subject, base))
		for i, u := range users {
			if i != won {
				wantIdentities(t, s, u.ID)
			}
		}
		if err := s.UnlinkIdentity(ctx, users[won].ID, "google", false); err != nil {
			t.Fatal(err)
		}
	}
	u := users[0]
	for round := range 3 {
		provider := fmt.Sprint("p", round)
		errs := atOnce(func(i int) error { return s.LinkIdentity(ctx, identity(u.ID, provider, fmt.Sprint("s", i), base)) })
		won := oneWins(t, fmt.Sprintf("round %d: LinkIdentity of one user at one provider", round), errs, auth.ErrConflict)
		for i := range Concurrency {
			if i != won {
				noIdentity(t, s, issuerOf(provider), fmt.Sprint("s", i))
			}
		}
		wantIdentity(t, s, identity(u.ID, provider, fmt.Sprint("s", won), base))
	}
}

// testConcurrentCreateWithIdentity: of creations at once of users with
// one provider account, exactly one succeeds, and only its user exists.
func testConcurrentCreateWithIdentity(t *testing.T, s identityStore) {
	ctx := context.Background()
	users := make([]*auth.User, Concurrency)
	for i := range users {
		users[i] = newUser(fmt.Sprint("user", i))
	}
	errs := atOnce(func(i int) error {
		return s.CreateUserWithIdentity(ctx, users[i], identity(users[i].ID, "google", "contested", base))
	})
	won := oneWins(t, "CreateUserWithIdentity with one provider account", errs, auth.ErrConflict)
	wantIdentity(t, s, identity(users[won].ID, "google", "contested", base))
	for i, u := range users {
		_, err := s.UserByID(ctx, u.ID)
		if i == won && err != nil {
			t.Fatalf("the user who won: %v", err)
		}
		if i != won {
			isErr(t, fmt.Sprintf("user %d, who lost", i), err, auth.ErrNotFound)
		}
	}
}

// testConcurrentUnlinkKeepLast: the check of the last identity and the
// deletion are one step: of unlinks at once, with keepLast, of every one
// of a user's identities, all but one succeed.
func testConcurrentUnlinkKeepLast(t *testing.T, s identityStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	for round := range 3 {
		ids := make([]*identitystore.Identity, Concurrency)
		for i := range ids {
			ids[i] = identity(u.ID, fmt.Sprint("p", i), fmt.Sprint("alice ", round), base.Add(time.Duration(i)*time.Second))
			mustLink(t, s, ids[i])
		}
		errs := atOnce(func(i int) error { return s.UnlinkIdentity(ctx, u.ID, ids[i].Provider, true) })
		lost := -1
		for i, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, auth.ErrConflict) && !errors.Is(err, auth.ErrStoreUnavailable) && lost < 0:
				lost = i
			default:
				t.Fatalf("round %d: UnlinkIdentity(keepLast) of identity %d among all of them at once: %v (identity %d kept)", round, i, err, lost)
			}
		}
		if lost < 0 {
			t.Fatalf("round %d: UnlinkIdentity(keepLast) of all %d identities at once unlinked every one", round, len(ids))
		}
		wantIdentities(t, s, u.ID, ids[lost])
		if err := s.UnlinkIdentity(ctx, u.ID, ids[lost].Provider, false); err != nil {
			t.Fatal(err)
		}
	}
}

// testConcurrentReclaim: of reclaimings at once of one account, each with
// an identity of its own, exactly one succeeds, and only its identity is
// linked; the others are auth.ErrConflict.
func testConcurrentReclaim(t *testing.T, s identityStore) {
	ctx := context.Background()
	for round := range 3 {
		u := newUser(fmt.Sprint("user", round))
		mustCreate(t, s, u)
		squatter := identity(u.ID, "github", fmt.Sprint("squatter ", round), base)
		mustLink(t, s, squatter)
		sess := newSession(t, s, u.ID, fmt.Sprint("squatter session ", round))
		now := base.Add(time.Duration(round+1) * time.Hour)
		ids := make([]*identitystore.Identity, Concurrency)
		for i := range ids {
			// Half at one provider, half at others.
			provider := "google"
			if i%2 == 1 {
				provider = fmt.Sprint("p", i)
			}
			ids[i] = identity(u.ID, provider, fmt.Sprint("owner ", round, " ", i), now)
		}
		errs := atOnce(func(i int) error { return s.ReclaimAccount(ctx, u.ID, u.Email, ids[i], now) })
		won := oneWins(t, fmt.Sprintf("round %d: ReclaimAccount", round), errs, auth.ErrConflict)
		wantIdentities(t, s, u.ID, ids[won])
		for i, id := range ids {
			if i != won {
				noIdentity(t, s, id.Issuer, id.Subject)
			}
		}
		noIdentity(t, s, squatter.Issuer, squatter.Subject)
		want := u.Clone()
		want.PasswordHash, want.EmailVerified, want.TokenVersion, want.TokensEndedAt, want.UpdatedAt = "", true, 1, now, now
		wantUser(t, s, want)
		sessionRevoked(t, s, sess, fmt.Sprint("squatter session ", round))
	}
}

// testConcurrentReclaimRedeem: of reclaimings of an account and
// redemptions of its mailed link at once (where the store keeps links),
// exactly one succeeds, whichever: a redemption first verifies the email,
// a reclaiming first kills the link; the others lose with an error of the
// contract, never with an unavailable store (a deadlock).
func testConcurrentReclaimRedeem(t *testing.T, s identityStore) {
	l, ok := s.(linkStore)
	if !ok {
		t.Log("storetest: the store does not implement recovery.LinkStore: its part is not run")
		return
	}
	ctx := context.Background()
	for round := range 6 {
		u := newUser(fmt.Sprint("user", round))
		mustCreate(t, s, u)
		purpose := []recovery.LinkPurpose{recovery.LinkResetPassword, recovery.LinkVerifyEmail}[round%2]
		lt := linkToken(u.ID, fmt.Sprint("link ", round), purpose, base)
		lt.Email = u.Email
		if err := l.CreateLinkToken(ctx, lt); err != nil {
			t.Fatal(err)
		}
		now := base.Add(time.Minute)
		errs := atOnce(func(i int) error {
			if i%2 == 0 {
				return s.ReclaimAccount(ctx, u.ID, u.Email, identity(u.ID, "google", fmt.Sprint("owner ", round, " ", i), now), now)
			}
			_, err := l.RedeemLinkToken(ctx, recovery.Redemption{Hash: lt.Hash, Purpose: purpose, Now: now, NewPasswordHash: "$2b$reset"})
			return err
		})
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won < 0:
				won = i
			case err == nil:
				t.Fatalf("round %d: calls %d and %d both succeeded", round, won, i)
			case (errors.Is(err, auth.ErrConflict) || errors.Is(err, auth.ErrNotFound)) && !errors.Is(err, auth.ErrStoreUnavailable):
			default:
				t.Fatalf("round %d: call %d: %v", round, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither a reclaiming nor a redemption succeeded", round)
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || !got.EmailVerified {
			t.Fatalf("round %d: the user after the race: %+v, %v", round, got, err)
		}
		ids, err := s.Identities(ctx, u.ID)
		if err != nil || won%2 == 0 && len(ids) != 1 || won%2 == 1 && len(ids) != 0 {
			t.Fatalf("round %d: call %d won, and the user has identities %v (%v)", round, won, ids, err)
		}
		_, err = l.LinkToken(ctx, lt.Hash)
		isErr(t, "the link after the race", err, auth.ErrNotFound)
	}
}

// testDeleteUserIdentities: deleting a user deletes the user's identities
// and attempts, and no other user's; the provider accounts are free
// again; a new user given the same id (where the store allows it) has
// none of them.
func testDeleteUserIdentities(t *testing.T, s identityDeleterStore) {
	ctx := context.Background()
	u, other, bare := newUser("alice"), newUser("bob"), newUser("carol")
	for _, v := range []*auth.User{u, other, bare} {
		mustCreate(t, s, v)
	}
	g, gh, o := identity(u.ID, "google", "alice", base), identity(u.ID, "github", "alice", base), identity(other.ID, "google", "bob", base)
	for _, id := range []*identitystore.Identity{g, gh, o} {
		mustLink(t, s, id)
	}
	au, ab, ao, signIn := attempt(u.ID, "work", "au", base), attempt(bare.ID, "work", "ab", base), attempt(other.ID, "work", "ao", base), attempt("", "google", "sign-in", base)
	for _, a := range []*identitystore.Attempt{au, ab, ao, signIn} {
		mustCreateAttempt(t, s, a)
	}
	for _, v := range []*auth.User{u, bare} {
		if err := s.DeleteUser(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		wantIdentities(t, s, v.ID)
	}
	for _, id := range []*identitystore.Identity{g, gh} {
		noIdentity(t, s, id.Issuer, id.Subject)
		isErr(t, "UnlinkIdentity of a deleted user's identity", s.UnlinkIdentity(ctx, u.ID, id.Provider, false), auth.ErrNotFound)
	}
	noAttempt(t, s, au.ID)
	noAttempt(t, s, ab.ID)
	wantIdentities(t, s, other.ID, o)
	wantTakeAttempt(t, s, ao)
	wantTakeAttempt(t, s, signIn)

	// The deleted user's provider accounts are free.
	d := newUser("dave")
	mustCreate(t, s, d)
	dg := identity(d.ID, "google", "alice", base)
	mustLink(t, s, dg)
	wantIdentity(t, s, dg)

	// A new user with the deleted one's id, where the store allows it.
	again := newUser("alice")
	again.ID = u.ID
	if err := s.CreateUser(ctx, again); err != nil || again.ID != u.ID {
		t.Logf("storetest: no new user with a deleted user's id (%v): its part is not run", err)
		return
	}
	wantIdentities(t, s, again.ID)
	isErr(t, "UnlinkIdentity of a deleted user's identity, by a new user with its id", s.UnlinkIdentity(ctx, again.ID, gh.Provider, false), auth.ErrNotFound)
	noAttempt(t, s, au.ID)
	wantIdentity(t, s, dg)
}

// testLastWayIn: with keepLast, a user's passkeys and identities are ways
// in alike: a credential may go while the user has an identity, an
// identity while the user has a credential, and the last of both stays
// (auth.ErrConflict, changing nothing), whichever goes first. A handle
// without credentials is no way in.
func testLastWayIn(t *testing.T, s identityPasskeyStore) {
	ctx := context.Background()
	// The passkey first, then the identity.
	u := passkeyUser(t, s, "alice")
	c := credential(u.ID, "key", base)
	mustAdd(t, s, c)
	id := identity(u.ID, "google", "alice", base)
	mustLink(t, s, id)
	if err := s.DeleteCredential(ctx, u.ID, c.ID, true); err != nil {
		t.Fatalf("DeleteCredential(keepLast) of the only credential of a user with an identity: %v", err)
	}
	wantCredentials(t, s, u.ID)
	isErr(t, "UnlinkIdentity(keepLast) of the last way in, after the passkey went", s.UnlinkIdentity(ctx, u.ID, id.Provider, true), auth.ErrConflict)
	wantIdentities(t, s, u.ID, id)
	wantHandle(t, s, u.ID, handleOf(u.ID))

	// The identity first, then the passkey.
	v := passkeyUser(t, s, "bob")
	vc := credential(v.ID, "key", base)
	mustAdd(t, s, vc)
	vid := identity(v.ID, "google", "bob", base)
	mustLink(t, s, vid)
	if err := s.UnlinkIdentity(ctx, v.ID, vid.Provider, true); err != nil {
		t.Fatalf("UnlinkIdentity(keepLast) of the only identity of a user with a passkey: %v", err)
	}
	wantIdentities(t, s, v.ID)
	isErr(t, "DeleteCredential(keepLast) of the last way in, after the identity went", s.DeleteCredential(ctx, v.ID, vc.ID, true), auth.ErrConflict)
	wantCredentials(t, s, v.ID, vc)

	// Two of each: each goes but the last way in.
	w := passkeyUser(t, s, "carol")
	wc := []*passkeystore.Credential{credential(w.ID, "k1", base), credential(w.ID, "k2", base.Add(time.Second))}
	wid := []*identitystore.Identity{identity(w.ID, "a", "carol", base), identity(w.ID, "b", "carol", base.Add(time.Second))}
	for i := range 2 {
		mustAdd(t, s, wc[i])
		mustLink(t, s, wid[i])
	}
	for _, step := range []func() error{
		func() error { return s.DeleteCredential(ctx, w.ID, wc[0].ID, true) },
		func() error { return s.UnlinkIdentity(ctx, w.ID, wid[0].Provider, true) },
		func() error { return s.DeleteCredential(ctx, w.ID, wc[1].ID, true) },
	} {
		if err := step(); err != nil {
			t.Fatalf("a deletion with keepLast while other ways in are left: %v", err)
		}
	}
	isErr(t, "UnlinkIdentity(keepLast) of the last of four ways in", s.UnlinkIdentity(ctx, w.ID, wid[1].Provider, true), auth.ErrConflict)
	wantIdentities(t, s, w.ID, wid[1])
	// Without keepLast, the last goes.
	if err := s.UnlinkIdentity(ctx, w.ID, wid[1].Provider, false); err != nil {
		t.Fatal(err)
	}
	wantIdentities(t, s, w.ID)

	// Another user's ways in do not count.
	x, y := passkeyUser(t, s, "dave"), passkeyUser(t, s, "eve")
	xc, yid := credential(x.ID, "key", base), identity(y.ID, "google", "eve", base)
	mustAdd(t, s, xc)
	mustLink(t, s, yid)
	mustLink(t, s, identity(x.ID, "github", "dave", base))
	mustAdd(t, s, credential(y.ID, "key", base))
	if err := s.UnlinkIdentity(ctx, x.ID, "github", true); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCredential(ctx, y.ID, credential(y.ID, "key", base).ID, true); err != nil {
		t.Fatal(err)
	}
	isErr(t, "DeleteCredential(keepLast) of a user's last way in, another user having an identity", s.DeleteCredential(ctx, x.ID, xc.ID, true), auth.ErrConflict)
	isErr(t, "UnlinkIdentity(keepLast) of a user's last way in, another user having a passkey", s.UnlinkIdentity(ctx, y.ID, yid.Provider, true), auth.ErrConflict)
	wantCredentials(t, s, x.ID, xc)
	wantIdentities(t, s, y.ID, yid)
}

// testConcurrentLastWayIn: of deletions at once, with keepLast, of a
// user's only passkey and only identity, half of each, exactly one
// succeeds; the others are auth.ErrConflict (or auth.ErrNotFound, for the
// one that went).
func testConcurrentLastWayIn(t *testing.T, s identityPasskeyStore) {
	ctx := context.Background()
	u := passkeyUser(t, s, "alice")
	for round := range 10 {
		c := credential(u.ID, fmt.Sprint("key ", round), base)
		id := identity(u.ID, "google", fmt.Sprint("alice ", round), base)
		mustAdd(t, s, c)
		mustLink(t, s, id)
		n := 2
		if round%2 == 1 {
			n = Concurrency
		}
		errs := make([]error, n)
		start := make(chan struct{})
		done := make(chan struct{})
		for i := range n {
			go func() {
				defer func() { done <- struct{}{} }()
				<-start
				if i%2 == 0 {
					errs[i] = s.DeleteCredential(ctx, u.ID, c.ID, true)
				} else {
					errs[i] = s.UnlinkIdentity(ctx, u.ID, id.Provider, true)
				}
			}()
		}
		close(start)
		for range n {
			<-done
		}
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won < 0:
				won = i
			case err == nil:
				t.Fatalf("round %d: the deletions of a user's only passkey and only identity both succeeded (calls %d and %d)", round, won, i)
			case (errors.Is(err, auth.ErrConflict) || errors.Is(err, auth.ErrNotFound)) && !errors.Is(err, auth.ErrStoreUnavailable):
			default:
				t.Fatalf("round %d: call %d: %v", round, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no deletion of a user's only passkey or only identity succeeded", round)
		}
		if won%2 == 0 {
			wantCredentials(t, s, u.ID)
			wantIdentities(t, s, u.ID, id)
			if err := s.UnlinkIdentity(ctx, u.ID, id.Provider, false); err != nil {
				t.Fatal(err)
			}
		} else {
			wantIdentities(t, s, u.ID)
			wantCredentials(t, s, u.ID, c)
			if err := s.DeleteCredential(ctx, u.ID, c.ID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
}
