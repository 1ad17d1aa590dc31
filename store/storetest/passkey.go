package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/passkeystore"
)

// passkeyCases are the cases of passkeystore.Store: user handles,
// credentials and ceremonies.
var passkeyCases = []storeCase[passkeyStore]{
	{"UserHandle", testUserHandle},
	{"AddCredential", testAddCredential},
	{"CredentialIDsExact", testCredentialIDs},
	{"CredentialsOrderAndOwners", testCredentialsOrder},
	{"PasskeysReturnCopies", testPasskeyCopies},
	{"UseCredential", testUseCredential},
	{"RenameCredential", testRenameCredential},
	{"DeleteCredential", testDeleteCredential},
	{"CreateUserWithCredential", testCreateUserWithCredential},
	{"Ceremonies", testCeremonies},
	{"InvalidPasskeyInput", testInvalidPasskeyInput},
	{"PasskeyContextCanceled", testPasskeyContextCanceled},
	{"ConcurrentUserHandle", testConcurrentUserHandle},
	{"ConcurrentUseCredential", testConcurrentUseCredential},
	{"ConcurrentDeleteCredentialKeepLast", testConcurrentDeleteKeepLast},
	{"ConcurrentCreateUserWithCredential", testConcurrentCreateWithCredential},
	{"ConcurrentTakeCeremony", testConcurrentTakeCeremony},
}

// passkeyDeleterCases are the cases of a store that offers both
// passkeystore.Store and auth.UserDeleter.
var passkeyDeleterCases = []storeCase[passkeyDeleterStore]{
	{"DeleteUserDeletesPasskeys", testDeleteUserPasskeys},
}

// handleOf is the user handle the cases give the user with this id: 32
// random-looking bytes.
func handleOf(userID string) []byte {
	return hash("handle " + userID)
}

// credID is the credential id named name: 32 bytes.
func credID(name string) []byte {
	return hash("credential " + name)
}

// passkeyUser creates a user named name, with its handle (handleOf).
func passkeyUser(t *testing.T, s passkeyStore, name string) *auth.User {
	t.Helper()
	u := newUser(name)
	mustCreate(t, s, u)
	mustHandle(t, s, u.ID)
	return u
}

// mustHandle gives the user, who has none, its handle (handleOf).
func mustHandle(t *testing.T, s passkeyStore, userID string) {
	t.Helper()
	h, err := s.UserHandle(context.Background(), userID, handleOf(userID))
	if err != nil || !bytes.Equal(h, handleOf(userID)) {
		t.Fatalf("UserHandle(%q, new) = %x, %v; want %x", userID, h, err, handleOf(userID))
	}
}

// wantHandle checks that the user's handle is want.
func wantHandle(t *testing.T, s passkeyStore, userID string, want []byte) {
	t.Helper()
	got, err := s.UserHandle(context.Background(), userID, nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("UserHandle(%q, nil) = %x, %v; want %x", userID, got, err, want)
	}
}

// noHandle checks that the user has no handle (or does not exist).
func noHandle(t *testing.T, s passkeyStore, userID string) {
	t.Helper()
	h, err := s.UserHandle(context.Background(), userID, nil)
	isErr(t, fmt.Sprintf("UserHandle(%q, nil) (got %x)", userID, h), err, auth.ErrNotFound)
}

// credential is a passkey of userID named name, made at at, with every
// field set.
func credential(userID, name string, at time.Time) *passkeystore.Credential {
	return &passkeystore.Credential{
		ID:             credID(userID + " " + name),
		UserID:         userID,
		Name:           name,
		PublicKey:      bytes.Repeat(hash("public key "+name), 3), // 96 bytes, as an EC2 COSE_Key is about
		SignCount:      7,
		BackupEligible: true,
		AAGUID:         hash("aaguid " + name)[:16],
		Transports:     []string{"internal", "hybrid"},
		CreatedAt:      at,
	}
}

// mustAdd stores c.
func mustAdd(t *testing.T, s passkeyStore, c *passkeystore.Credential) {
	t.Helper()
	if err := s.AddCredential(context.Background(), c); err != nil {
		t.Fatalf("AddCredential(%q of %q): %v", c.Name, c.UserID, err)
	}
}

func equalCredential(t *testing.T, got, want *passkeystore.Credential) {
	t.Helper()
	if !bytes.Equal(got.ID, want.ID) || got.UserID != want.UserID || got.Name != want.Name || !bytes.Equal(got.PublicKey, want.PublicKey) ||
		got.SignCount != want.SignCount || got.BackupEligible != want.BackupEligible || got.BackupState != want.BackupState ||
		!bytes.Equal(got.AAGUID, want.AAGUID) || !slices.Equal(got.Transports, want.Transports) || !got.CreatedAt.Equal(want.CreatedAt) ||
		got.LastUsedAt.IsZero() != want.LastUsedAt.IsZero() || !want.LastUsedAt.IsZero() && !got.LastUsedAt.Equal(want.LastUsedAt) {
		t.Fatalf("credential differs:\n got %+v\nwant %+v", got, want)
	}
}

// wantCredential checks that the credential with want's id is want.
func wantCredential(t *testing.T, s passkeyStore, want *passkeystore.Credential) {
	t.Helper()
	got, err := s.Credential(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("Credential(%x): %v", want.ID, err)
	}
	equalCredential(t, got, want)
}

// noCredential checks that there is no credential with this id.
func noCredential(t *testing.T, s passkeyStore, id []byte) {
	t.Helper()
	c, err := s.Credential(context.Background(), id)
	isErr(t, fmt.Sprintf("Credential(%x) (got %+v)", id, c), err, auth.ErrNotFound)
}

// wantCredentials checks that the user's credentials are want, in order.
func wantCredentials(t *testing.T, s passkeyStore, userID string, want ...*passkeystore.Credential) {
	t.Helper()
	got, err := s.Credentials(context.Background(), userID)
	if err != nil {
		t.Fatalf("Credentials(%q): %v", userID, err)
	}
	if len(got) != len(want) {
		t.Fatalf("Credentials(%q): %d credentials, want %d:\n got %+v", userID, len(got), len(want), got)
	}
	for i := range got {
		equalCredential(t, &got[i], want[i])
	}
}

// ceremony is a ceremony of kind for userID (maybe empty), made at at,
// for five minutes, its id the hash of secret.
func ceremony(kind, userID, secret string, at time.Time) *passkeystore.Ceremony {
	return &passkeystore.Ceremony{ID: hash(secret), Kind: kind, UserID: userID, Data: []byte(`{"challenge":"` + secret + `"}`),
		CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
}

// mustCreateCeremony stores c.
func mustCreateCeremony(t *testing.T, s passkeyStore, c *passkeystore.Ceremony) {
	t.Helper()
	if err := s.CreateCeremony(context.Background(), c); err != nil {
		t.Fatalf("CreateCeremony(%s of %q): %v", c.Kind, c.UserID, err)
	}
}

func equalCeremony(t *testing.T, got, want *passkeystore.Ceremony) {
	t.Helper()
	if !bytes.Equal(got.ID, want.ID) || got.Kind != want.Kind || got.UserID != want.UserID || !bytes.Equal(got.Data, want.Data) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("ceremony differs:\n got %+v\nwant %+v", got, want)
	}
}

// wantTake takes the ceremony with want's id, and checks that it is want.
func wantTake(t *testing.T, s passkeyStore, want *passkeystore.Ceremony) {
	t.Helper()
	got, err := s.TakeCeremony(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("TakeCeremony(%s of %q): %v", want.Kind, want.UserID, err)
	}
	equalCeremony(t, got, want)
}

// noCeremony checks that there is no ceremony with this id (taking it,
// were there one).
func noCeremony(t *testing.T, s passkeyStore, id []byte) {
	t.Helper()
	c, err := s.TakeCeremony(context.Background(), id)
	isErr(t, fmt.Sprintf("TakeCeremony(%x) (got %+v)", id, c), err, auth.ErrNotFound)
}

// edgeBytes returns n bytes made from seed, the first and last of them 0
// (binary ids must not be taken for text, nor cut at a NUL).
func edgeBytes(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	for i := 0; len(out) < n; i++ {
		out = append(out, hash(fmt.Sprint(seed, i))...)
	}
	out = out[:n]
	out[0], out[n-1] = 0, 0
	if n > 2 {
		out[n/2] = 0
	}
	return out
}

// testUserHandle: a user has no handle until one is given; the first
// stays, whatever is given after; an unknown user has none and gets none;
// another user's handle is refused.
func testUserHandle(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u, other, third, fourth := newUser("alice"), newUser("bob"), newUser("carol"), newUser("dave")
	for _, v := range []*auth.User{u, other, third, fourth} {
		mustCreate(t, s, v)
	}
	noHandle(t, s, u.ID)
	noHandle(t, s, "nobody")
	_, err := s.UserHandle(ctx, "nobody", handleOf("nobody"))
	isErr(t, "UserHandle of an unknown user, with a handle", err, auth.ErrNotFound)
	noHandle(t, s, "nobody")

	first := edgeBytes("first", passkeystore.MaxHandleBytes)
	for i, given := range [][]byte{first, nil, handleOf(u.ID), {1}} {
		got, err := s.UserHandle(ctx, u.ID, given)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("call %d: UserHandle(%x) = %x, %v; want the first handle, %x", i, given, got, err, first)
		}
	}
	noHandle(t, s, other.ID)

	// Another user's handle is refused, and stores nothing.
	_, err = s.UserHandle(ctx, other.ID, first)
	isErr(t, "UserHandle with another user's handle", err, auth.ErrConflict)
	noHandle(t, s, other.ID)
	one := []byte{0}
	got, err := s.UserHandle(ctx, other.ID, one)
	if err != nil || !bytes.Equal(got, one) {
		t.Fatalf("UserHandle(a one-byte handle) = %x, %v", got, err)
	}
	wantHandle(t, s, other.ID, one)
	wantHandle(t, s, u.ID, first)

	// Handles are compared exactly: a prefix of another's is another.
	for i, near := range [][]byte{first[:63], first[1:]} {
		v := []*auth.User{third, fourth}[i]
		got, err := s.UserHandle(ctx, v.ID, near)
		if err != nil || !bytes.Equal(got, near) {
			t.Fatalf("UserHandle(%x), a near miss of another user's handle = %x, %v", near, got, err)
		}
		wantHandle(t, s, v.ID, near)
	}
	wantHandle(t, s, u.ID, first)
}

// testConcurrentUserHandle: of calls at once for a user without a handle,
// each with a handle of its own, all return the same, which is one of
// them, and stays.
func testConcurrentUserHandle(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	for round := range 3 {
		u := newUser(fmt.Sprint("user", round))
		mustCreate(t, s, u)
		given := func(i int) []byte { return hash(fmt.Sprint("handle ", round, " ", i)) }
		got := make([][]byte, Concurrency)
		errs := atOnce(func(i int) error {
			var err error
			got[i], err = s.UserHandle(ctx, u.ID, given(i))
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: UserHandle at once: %v", round, err)
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Fatalf("round %d: calls at once returned different handles: %x and %x", round, got[0], got[i])
			}
		}
		found := false
		for i := range Concurrency {
			found = found || bytes.Equal(got[0], given(i))
		}
		if !found {
			t.Fatalf("round %d: the handle %x is none of those given", round, got[0])
		}
		wantHandle(t, s, u.ID, got[0])
	}
}

// testAddCredential: a credential comes back as stored, every field; a
// taken id, the user's or another's, is auth.ErrConflict and changes
// nothing; an unknown user, or one without a handle, is auth.ErrNotFound.
func testAddCredential(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u, other := passkeyUser(t, s, "alice"), passkeyUser(t, s, "bob")
	noHandleUser := newUser("carol")
	mustCreate(t, s, noHandleUser)
	wantCredentials(t, s, u.ID)

	at := base
	next := func() time.Time { at = at.Add(time.Second + 7*time.Microsecond); return at }
	var added []*passkeystore.Credential
	for _, c := range []struct {
		what   string
		change func(c *passkeystore.Credential)
	}{
		{"every field", func(c *passkeystore.Credential) {
			c.SignCount, c.BackupEligible, c.BackupState = 42, true, true
			c.Transports = []string{"usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable", strings.Repeat("x", 32)}
			c.AAGUID[0], c.AAGUID[15] = 0, 0
			c.LastUsedAt = c.CreatedAt.Add(time.Hour + 3*time.Microsecond)
		}},
		{"the greatest sign count", func(c *passkeystore.Credential) { c.SignCount = math.MaxUint32 }},
		{"a sign count past int32", func(c *passkeystore.Credential) { c.SignCount = 1 << 31 }},
		{"no AAGUID, no transports, no flags, never used", func(c *passkeystore.Credential) {
			c.AAGUID, c.Transports, c.SignCount, c.BackupEligible, c.BackupState = nil, nil, 0, false, false
		}},
		{"empty AAGUID and transports", func(c *passkeystore.Credential) { c.AAGUID, c.Transports = []byte{}, []string{} }},
		{"an AAGUID of zeros", func(c *passkeystore.Credential) { c.AAGUID = make([]byte, 16) }},
		{"a backed-up passkey not eligible", func(c *passkeystore.Credential) { c.BackupEligible, c.BackupState = false, true }},
		{"a one-byte id of zero", func(c *passkeystore.Credential) { c.ID = []byte{0} }},
		{"the longest id", func(c *passkeystore.Credential) { c.ID = edgeBytes("long id", passkeystore.MaxCredentialIDBytes) }},
		{"the longest public key", func(c *passkeystore.Credential) { c.PublicKey = edgeBytes("key", passkeystore.MaxPublicKeyBytes) }},
		{"the longest name, not ASCII", func(c *passkeystore.Credential) { c.Name = strings.Repeat("é", 31) + strings.Repeat("☃", 32) + "x" }},
		{"a one-letter name", func(c *passkeystore.Credential) { c.Name = "a" }},
	} {
		cr := credential(u.ID, c.what, next())
		c.change(cr)
		if err := s.AddCredential(ctx, cr); err != nil {
			t.Fatalf("AddCredential(%s): %v", c.what, err)
		}
		wantCredential(t, s, cr)
		added = append(added, cr)
	}
	wantCredentials(t, s, u.ID, added...)
	wantCredentials(t, s, other.ID)

	// A taken id: the user's, or another's.
	for _, owner := range []*auth.User{u, other} {
		dup := credential(owner.ID, "dup", next())
		dup.ID = slices.Clone(added[0].ID)
		dup.SignCount = 99
		isErr(t, "AddCredential with the id of a credential of "+owner.Username, s.AddCredential(ctx, dup), auth.ErrConflict)
	}
	wantCredential(t, s, added[0])
	wantCredentials(t, s, u.ID, added...)
	wantCredentials(t, s, other.ID)

	// No such user, or no handle.
	for _, userID := range []string{"nobody", noHandleUser.ID} {
		c := credential(userID, "orphan", next())
		isErr(t, fmt.Sprintf("AddCredential for %q", userID), s.AddCredential(ctx, c), auth.ErrNotFound)
		noCredential(t, s, c.ID)
		wantCredentials(t, s, userID)
	}
	noHandle(t, s, noHandleUser.ID)
}

// testCredentialIDs: a credential is found by its id exactly, zero bytes
// included, and by nothing near it: not by a prefix, an extension, a
// suffix.
func testCredentialIDs(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u, other := passkeyUser(t, s, "alice"), passkeyUser(t, s, "bob")
	long := edgeBytes("long", passkeystore.MaxCredentialIDBytes)
	ids := [][]byte{{0}, {0, 0}, {0xff}, credID("a")[:16], long, long[:passkeystore.MaxCredentialIDBytes-1]}
	ids[3][0] = 0
	var added []*passkeystore.Credential
	for i, id := range ids {
		owner := u
		if i%2 == 1 {
			owner = other
		}
		c := credential(owner.ID, fmt.Sprint("c", i), base.Add(time.Duration(i)*time.Second))
		c.ID = slices.Clone(id)
		mustAdd(t, s, c)
		added = append(added, c)
	}
	for _, c := range added {
		wantCredential(t, s, c)
	}
	for _, near := range [][]byte{nil, {}, {0, 0, 0}, {0xff, 0}, {0xfe}, ids[3][:15], append(slices.Clone(ids[3]), 0), ids[3][1:],
		long[1:], long[:passkeystore.MaxCredentialIDBytes-2], append(slices.Clone(long), 0)} {
		noCredential(t, s, near)
		what := fmt.Sprintf("%x, a near miss", near)
		isErr(t, "UseCredential("+what+")", s.UseCredential(ctx, near, 7, passkeystore.Use{SignCount: 8, At: base}), auth.ErrNotFound)
		_, err := s.RenameCredential(ctx, u.ID, near, "renamed")
		isErr(t, "RenameCredential("+what+")", err, auth.ErrNotFound)
		isErr(t, "DeleteCredential("+what+")", s.DeleteCredential(ctx, u.ID, near, false), auth.ErrNotFound)
	}
	for _, c := range added {
		wantCredential(t, s, c)
	}
	wantCredentials(t, s, u.ID, added[0], added[2], added[4])
	wantCredentials(t, s, other.ID, added[1], added[3], added[5])
}

// testCredentialsOrder: a user's credentials come oldest first, then by
// id (byte by byte, unsigned), to the microsecond; each user's alone.
func testCredentialsOrder(t *testing.T, s passkeyStore) {
	u, other, none := passkeyUser(t, s, "alice"), passkeyUser(t, s, "bob"), passkeyUser(t, s, "carol")
	at := func(d time.Duration, id ...byte) *passkeystore.Credential {
		c := credential(u.ID, fmt.Sprintf("at %v id %x", d, id), base.Add(d))
		c.ID = id
		return c
	}
	// In the order wanted.
	want := []*passkeystore.Credential{
		at(-time.Hour, 0xff),
		at(0, 0x00),
		at(0, 0x00, 0x00),
		at(0, 0x01),
		at(0, 0x01, 0xff),
		at(0, 0x7f),
		at(0, 0x80),
		at(time.Microsecond, 0x00, 0x01),
		at(time.Second, 0x02),
		at(time.Second+time.Microsecond, 0x01, 0x00),
	}
	// Another user's, made in between.
	var others []*passkeystore.Credential
	for i, c := range want {
		o := credential(other.ID, fmt.Sprint("other ", i), c.CreatedAt)
		o.ID = append([]byte{'o'}, c.ID...)
		others = append(others, o)
	}
	for _, i := range []int{5, 2, 9, 0, 7, 3, 8, 1, 6, 4} {
		mustAdd(t, s, want[i])
		mustAdd(t, s, others[len(others)-1-i])
	}
	wantCredentials(t, s, u.ID, want...)
	wantCredentials(t, s, other.ID, others...)
	wantCredentials(t, s, none.ID)
	wantCredentials(t, s, "nobody")
}

// testPasskeyCopies: the store keeps copies of what it is given and hands
// out copies of what it keeps.
func testPasskeyCopies(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	h := handleOf(u.ID)
	kept := slices.Clone(h)
	got, err := s.UserHandle(ctx, u.ID, h)
	if err != nil {
		t.Fatal(err)
	}
	h[0] ^= 0xff
	got[1] ^= 0xff
	wantHandle(t, s, u.ID, kept)
	got, _ = s.UserHandle(ctx, u.ID, nil)
	got[2] ^= 0xff
	wantHandle(t, s, u.ID, kept)

	c := credential(u.ID, "key", base)
	want := credential(u.ID, "key", base)
	mustAdd(t, s, c)
	mutate := func(c *passkeystore.Credential) {
		c.ID[0] ^= 0xff
		c.PublicKey[0] ^= 0xff
		c.AAGUID[0] ^= 0xff
		c.Transports[0] = "mutated"
		c.SignCount++
		c.Name = "mutated"
	}
	mutate(c)
	wantCredential(t, s, want)
	one, err := s.Credential(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	mutate(one)
	wantCredential(t, s, want)
	all, err := s.Credentials(ctx, u.ID)
	if err != nil || len(all) != 1 {
		t.Fatalf("Credentials = %v, %v", all, err)
	}
	mutate(&all[0])
	wantCredential(t, s, want)
	renamed, err := s.RenameCredential(ctx, u.ID, want.ID, "renamed")
	if err != nil {
		t.Fatal(err)
	}
	want.Name = "renamed"
	mutate(renamed)
	wantCredential(t, s, want)

	cer := ceremony("registration", u.ID, "c1", base)
	wantCer := ceremony("registration", u.ID, "c1", base)
	mustCreateCeremony(t, s, cer)
	cer.ID[0] ^= 0xff
	cer.Data[0] ^= 0xff
	wantTake(t, s, wantCer)

	v := newUser("bob")
	vc := credential(v.ID, "bob's", base)
	vh, wantV, wantVC := handleOf(v.ID), v.Clone(), *vc
	wantVC.ID, wantVC.PublicKey, wantVC.AAGUID, wantVC.Transports = slices.Clone(vc.ID), slices.Clone(vc.PublicKey), slices.Clone(vc.AAGUID), slices.Clone(vc.Transports)
	if err := s.CreateUserWithCredential(ctx, v, vh, vc); err != nil {
		t.Fatal(err)
	}
	vh[0] ^= 0xff
	mutate(vc)
	v.Roles[0] = "mutated"
	wantHandle(t, s, v.ID, handleOf(v.ID))
	wantCredential(t, s, &wantVC)
	gotV, err := s.UserByID(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalUser(t, gotV, wantV)
}

// testUseCredential: a use is recorded when the sign count is still the
// one given, whatever the new count (a counter may stay 0), and refused
// with auth.ErrConflict, changing nothing, when it is not; it changes
// nothing but the count, the flags and the time of last use.
func testUseCredential(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u, other := passkeyUser(t, s, "alice"), passkeyUser(t, s, "bob")
	c := credential(u.ID, "key", base)
	c.SignCount, c.BackupEligible, c.BackupState = 10, true, false
	mustAdd(t, s, c)
	kept := credential(other.ID, "kept", base)
	kept.SignCount = 10
	mustAdd(t, s, kept)
	at := func(h int) time.Time { return base.Add(time.Duration(h)*time.Hour + 7*time.Microsecond) }
	for i, step := range []struct {
		prev uint32
		use  passkeystore.Use
		want error
	}{
		{9, passkeystore.Use{SignCount: 11, At: at(1)}, auth.ErrConflict},
		{11, passkeystore.Use{SignCount: 12, At: at(1)}, auth.ErrConflict},
		{0, passkeystore.Use{SignCount: 11, At: at(1)}, auth.ErrConflict},
		{10, passkeystore.Use{SignCount: 11, BackupEligible: true, BackupState: true, At: at(1)}, nil},
		{10, passkeystore.Use{SignCount: 12, At: at(2)}, auth.ErrConflict},
		{11, passkeystore.Use{SignCount: 1 << 31, BackupEligible: true, At: at(2)}, nil},
		{1 << 31, passkeystore.Use{SignCount: math.MaxUint32 - 1, At: at(3)}, nil},
		{math.MaxUint32 - 1, passkeystore.Use{SignCount: math.MaxUint32, BackupState: true, At: at(4)}, nil},
		{math.MaxUint32 - 1, passkeystore.Use{SignCount: math.MaxUint32, At: at(5)}, auth.ErrConflict},
		{0, passkeystore.Use{SignCount: 1, At: at(5)}, auth.ErrConflict},
		// The store records what it is given: the counter's rules are
		// package passkey's.
		{math.MaxUint32, passkeystore.Use{SignCount: 0, BackupEligible: true, At: at(5)}, nil},
		// An authenticator without a counter: 0, every time.
		{0, passkeystore.Use{SignCount: 0, BackupEligible: true, BackupState: true, At: at(6)}, nil},
		{0, passkeystore.Use{SignCount: 0, BackupEligible: true, At: at(7)}, nil},
		{0, passkeystore.Use{SignCount: 5, BackupEligible: true, At: at(8)}, nil},
		{5, passkeystore.Use{SignCount: 3, At: at(9)}, nil},
	} {
		err := s.UseCredential(ctx, c.ID, step.prev, step.use)
		if step.want == nil && err != nil || step.want != nil && !errors.Is(err, step.want) || errors.Is(err, auth.ErrStoreUnavailable) {
			t.Fatalf("step %d: UseCredential(prev %d, %+v) at count %d = %v, want %v", i, step.prev, step.use, c.SignCount, err, step.want)
		}
		if err == nil {
			c.SignCount, c.BackupEligible, c.BackupState, c.LastUsedAt = step.use.SignCount, step.use.BackupEligible, step.use.BackupState, step.use.At
		}
		wantCredential(t, s, c)
	}
	wantCredential(t, s, kept)
	isErr(t, "UseCredential of an unknown credential", s.UseCredential(ctx, credID("none"), 0, passkeystore.Use{SignCount: 1, At: at(10)}), auth.ErrNotFound)
	wantCredentials(t, s, u.ID, c)
}

// testConcurrentUseCredential: of uses at once with the count stored as
// prev, exactly one is recorded, the others are auth.ErrConflict.
func testConcurrentUseCredential(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u := passkeyUser(t, s, "alice")
	c := credential(u.ID, "key", base)
	c.SignCount = math.MaxUint32 - 5*Concurrency - 10
	mustAdd(t, s, c)
	for round := range 5 {
		prev := c.SignCount
		use := func(i int) passkeystore.Use {
			return passkeystore.Use{SignCount: prev + 1 + uint32(i), BackupEligible: true, BackupState: i%2 == 0,
				At: base.Add(time.Duration(round)*time.Hour + time.Duration(i)*time.Second)}
		}
		errs := atOnce(func(i int) error { return s.UseCredential(ctx, c.ID, prev, use(i)) })
		won := oneWins(t, fmt.Sprintf("round %d: UseCredential", round), errs, auth.ErrConflict)
		w := use(won)
		c.SignCount, c.BackupEligible, c.BackupState, c.LastUsedAt = w.SignCount, w.BackupEligible, w.BackupState, w.At
		wantCredential(t, s, c)
	}
}

// testRenameCredential: the user's credential takes the name, and comes
// back with it; another user's, or none, is auth.ErrNotFound; a name out
// of bounds is auth.ErrInvalidInput; neither changes anything.
func testRenameCredential(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u, other := passkeyUser(t, s, "alice"), passkeyUser(t, s, "bob")
	c, o := credential(u.ID, "key", base), credential(other.ID, "other", base)
	c.LastUsedAt = base.Add(time.Minute)
	mustAdd(t, s, c)
	mustAdd(t, s, o)
	for _, name := range []string{"Phone", "a", strings.Repeat("名", 64), "Key ☃ \u00e9", "Phone"} {
		got, err := s.RenameCredential(ctx, u.ID, c.ID, name)
		if err != nil {
			t.Fatalf("RenameCredential(%q): %v", name, err)
		}
		c.Name = name
		equalCredential(t, got, c)
		wantCredential(t, s, c)
	}
	for _, r := range []struct {
		what   string
		userID string
		id     []byte
	}{
		{"another user's credential", u.ID, o.ID},
		{"a credential, by another user", other.ID, c.ID},
		{"an unknown credential", u.ID, credID("none")},
		{"an unknown user", "nobody", c.ID},
	} {
		got, err := s.RenameCredential(ctx, r.userID, r.id, "stolen")
		isErr(t, fmt.Sprintf("RenameCredential of %s (got %+v)", r.what, got), err, auth.ErrNotFound)
	}
	for _, bad := range []string{"", strings.Repeat("a", 65), strings.Repeat("名", 65), "nul\x00inside", "\xff\xfe", "ok\x00"} {
		got, err := s.RenameCredential(ctx, u.ID, c.ID, bad)
		isErr(t, fmt.Sprintf("RenameCredential(%q) (got %+v)", bad, got), err, auth.ErrInvalidInput)
	}
	wantCredential(t, s, c)
	wantCredential(t, s, o)
}

// testDeleteCredential: the user's credential goes, and its id is free
// again; another user's, or none, is auth.ErrNotFound; with keepLast, the
// user's only credential stays, with auth.ErrConflict.
func testDeleteCredential(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u, other := passkeyUser(t, s, "alice"), passkeyUser(t, s, "bob")
	c1, c2, c3 := credential(u.ID, "c1", base), credential(u.ID, "c2", base.Add(time.Second)), credential(u.ID, "c3", base.Add(2*time.Second))
	o := credential(other.ID, "o", base)
	for _, c := range []*passkeystore.Credential{c1, c2, c3, o} {
		mustAdd(t, s, c)
	}
	for _, keepLast := range []bool{false, true} {
		for _, r := range []struct {
			what   string
			userID string
			id     []byte
		}{
			{"another user's credential", u.ID, o.ID},
			{"a credential, by another user", other.ID, c1.ID},
			{"an unknown credential", u.ID, credID("none")},
			{"an unknown user", "nobody", c1.ID},
		} {
			isErr(t, fmt.Sprintf("DeleteCredential(keepLast %v) of %s", keepLast, r.what), s.DeleteCredential(ctx, r.userID, r.id, keepLast), auth.ErrNotFound)
		}
	}
	wantCredentials(t, s, u.ID, c1, c2, c3)
	wantCredentials(t, s, other.ID, o)

	for _, step := range []struct {
		c        *passkeystore.Credential
		keepLast bool
		want     error
		left     []*passkeystore.Credential
	}{
		{c2, true, nil, []*passkeystore.Credential{c1, c3}},
		{c2, true, auth.ErrNotFound, []*passkeystore.Credential{c1, c3}},
		{c2, false, auth.ErrNotFound, []*passkeystore.Credential{c1, c3}},
		{c1, true, nil, []*passkeystore.Credential{c3}},
		{c3, true, auth.ErrConflict, []*passkeystore.Credential{c3}},
		{c1, true, auth.ErrNotFound, []*passkeystore.Credential{c3}}, // gone: not the last one's conflict
		{c3, false, nil, nil},
		{c3, false, auth.ErrNotFound, nil},
		{c3, true, auth.ErrNotFound, nil},
	} {
		err := s.DeleteCredential(ctx, u.ID, step.c.ID, step.keepLast)
		if step.want == nil && err != nil || step.want != nil && !errors.Is(err, step.want) || errors.Is(err, auth.ErrStoreUnavailable) {
			t.Fatalf("DeleteCredential(%s, keepLast %v) = %v, want %v", step.c.Name, step.keepLast, err, step.want)
		}
		wantCredentials(t, s, u.ID, step.left...)
		if step.want == nil {
			noCredential(t, s, step.c.ID)
		}
	}
	// The user's only credential gone, another user's one left alone.
	isErr(t, "DeleteCredential(keepLast) of another user's only credential", s.DeleteCredential(ctx, u.ID, o.ID, true), auth.ErrNotFound)
	isErr(t, "DeleteCredential(keepLast) of the user's only credential", s.DeleteCredential(ctx, other.ID, o.ID, true), auth.ErrConflict)
	wantCredentials(t, s, other.ID, o)
	// The handle stays; the ids are free again.
	wantHandle(t, s, u.ID, handleOf(u.ID))
	c1.LastUsedAt = base.Add(time.Hour)
	mustAdd(t, s, c1)
	wantCredentials(t, s, u.ID, c1)
}

// testConcurrentDeleteKeepLast: the check of the last credential and the
// deletion are one step: of deletions at once, with keepLast, of every
// one of a user's credentials, all but one succeed; of deletions at once
// of a user's two, one.
func testConcurrentDeleteKeepLast(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u := passkeyUser(t, s, "alice")
	creds := make([]*passkeystore.Credential, Concurrency)
	for i := range creds {
		creds[i] = credential(u.ID, fmt.Sprint("c", i), base.Add(time.Duration(i)*time.Second))
		mustAdd(t, s, creds[i])
	}
	errs := atOnce(func(i int) error { return s.DeleteCredential(ctx, u.ID, creds[i].ID, true) })
	lost := -1
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, auth.ErrConflict) && !errors.Is(err, auth.ErrStoreUnavailable) && lost < 0:
			lost = i
		default:
			t.Fatalf("DeleteCredential(keepLast) of credential %d among all of them at once: %v (credential %d kept)", i, err, lost)
		}
	}
	if lost < 0 {
		t.Fatalf("DeleteCredential(keepLast) of all %d credentials at once deleted every one", len(creds))
	}
	wantCredentials(t, s, u.ID, creds[lost])
	if err := s.DeleteCredential(ctx, u.ID, creds[lost].ID, false); err != nil {
		t.Fatal(err)
	}

	for round := range 10 {
		pair := []*passkeystore.Credential{
			credential(u.ID, fmt.Sprint("a", round), base.Add(time.Duration(round)*time.Hour)),
			credential(u.ID, fmt.Sprint("b", round), base.Add(time.Duration(round)*time.Hour)),
		}
		mustAdd(t, s, pair[0])
		mustAdd(t, s, pair[1])
		// Half delete the one, half the other.
		errs := atOnce(func(i int) error { return s.DeleteCredential(ctx, u.ID, pair[i%2].ID, true) })
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won < 0:
				won = i
			case err == nil:
				t.Fatalf("round %d: two deletions of a user's two credentials succeeded (calls %d and %d)", round, won, i)
			case (errors.Is(err, auth.ErrConflict) || errors.Is(err, auth.ErrNotFound)) && !errors.Is(err, auth.ErrStoreUnavailable):
			default:
				t.Fatalf("round %d: DeleteCredential(keepLast): %v", round, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no deletion of a user's two credentials succeeded", round)
		}
		wantCredentials(t, s, u.ID, pair[1-won%2])
		if err := s.DeleteCredential(ctx, u.ID, pair[1-won%2].ID, false); err != nil {
			t.Fatal(err)
		}
	}
}

// testCreateUserWithCredential: the user, its handle and its credential
// are created together, or none of them: a taken login name or id is
// CreateUser's error, a taken credential id or handle auth.ErrConflict.
func testCreateUserWithCredential(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u := newUser("alice")
	c := credential(u.ID, "first", base)
	if err := s.CreateUserWithCredential(ctx, u, handleOf(u.ID), c); err != nil {
		t.Fatalf("CreateUserWithCredential: %v", err)
	}
	for _, get := range []func() (*auth.User, error){
		func() (*auth.User, error) { return s.UserByID(ctx, u.ID) },
		func() (*auth.User, error) { return s.UserByUsername(ctx, u.Username) },
		func() (*auth.User, error) { return s.UserByEmail(ctx, u.Email) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("the user of CreateUserWithCredential: %v", err)
		}
		equalUser(t, got, u)
	}
	wantHandle(t, s, u.ID, handleOf(u.ID))
	wantCredential(t, s, c)
	wantCredentials(t, s, u.ID, c)
	// The user is as any other: a second credential, a ceremony.
	c2 := credential(u.ID, "second", base.Add(time.Second))
	mustAdd(t, s, c2)
	mustCreateCeremony(t, s, ceremony("registration", u.ID, "r1", base))

	for i, r := range []struct {
		what   string
		change func(v *auth.User, h *[]byte, vc *passkeystore.Credential)
		want   error
	}{
		{"a taken username", func(v *auth.User, _ *[]byte, _ *passkeystore.Credential) { v.Username = u.Username }, auth.ErrUserExists},
		{"a username that is another's email", func(v *auth.User, _ *[]byte, _ *passkeystore.Credential) { v.Username = u.Email }, auth.ErrUserExists},
		{"a taken email", func(v *auth.User, _ *[]byte, _ *passkeystore.Credential) { v.Email = u.Email }, auth.ErrEmailExists},
		{"a taken credential id", func(_ *auth.User, _ *[]byte, vc *passkeystore.Credential) { vc.ID = slices.Clone(c2.ID) }, auth.ErrConflict},
		{"a taken handle", func(_ *auth.User, h *[]byte, _ *passkeystore.Credential) { *h = handleOf(u.ID) }, auth.ErrConflict},
	} {
		name := fmt.Sprint("bob", i)
		v := newUser(name)
		h, vc := handleOf(v.ID), credential(v.ID, "bob's", base)
		r.change(v, &h, vc)
		isErr(t, "CreateUserWithCredential with "+r.what, s.CreateUserWithCredential(ctx, v, h, vc), r.want)
		_, err := s.UserByID(ctx, v.ID)
		isErr(t, "the user of a refused CreateUserWithCredential ("+r.what+")", err, auth.ErrNotFound)
		noHandle(t, s, v.ID)
		if !bytes.Equal(vc.ID, c2.ID) {
			noCredential(t, s, vc.ID)
		}
		// Nothing of it is left to stand in the way: the user's id, the
		// handle and the credential id it was given are free.
		fresh := newUser(name)
		fresh.ID = v.ID
		fc := credential(v.ID, "bob's", base)
		if err := s.CreateUserWithCredential(ctx, fresh, handleOf(v.ID), fc); err != nil {
			t.Fatalf("CreateUserWithCredential after a refused one (%s): %v", r.what, err)
		}
		wantCredentials(t, s, fresh.ID, fc)
		wantHandle(t, s, fresh.ID, handleOf(v.ID))
	}
	// The first user is as it was.
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalUser(t, got, u)
	wantHandle(t, s, u.ID, handleOf(u.ID))
	wantCredentials(t, s, u.ID, c, c2)

	// A taken user id is CreateUser's error, or a new id made by the store.
	v := newUser("carol")
	v.ID = u.ID
	vc := credential(u.ID, "carol's", base)
	switch err := s.CreateUserWithCredential(ctx, v, handleOf("carol"), vc); {
	case errors.Is(err, auth.ErrUserExists):
		noCredential(t, s, vc.ID)
		if _, err := s.UserByUsername(ctx, "carol"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a refused CreateUserWithCredential left a user: %v", err)
		}
	case err == nil && v.ID != u.ID:
	default:
		t.Fatalf("CreateUserWithCredential with a taken id = %v, id %q; want ErrUserExists, or an id made by the store", err, v.ID)
	}
	wantCredentials(t, s, u.ID, c, c2)
	wantHandle(t, s, u.ID, handleOf(u.ID))
}

// testConcurrentCreateWithCredential: of creations at once of users with
// one credential id, exactly one succeeds, and only its user exists; of
// creations at once of one username, exactly one, and only its
// credential exists.
func testConcurrentCreateWithCredential(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	users := make([]*auth.User, Concurrency)
	creds := make([]*passkeystore.Credential, Concurrency)
	for i := range users {
		users[i] = newUser(fmt.Sprint("user", i))
		creds[i] = credential(users[i].ID, "key", base)
		creds[i].ID = credID("contested")
	}
	errs := atOnce(func(i int) error { return s.CreateUserWithCredential(ctx, users[i], handleOf(users[i].ID), creds[i]) })
	won := oneWins(t, "CreateUserWithCredential with one credential id", errs, auth.ErrConflict)
	wantCredential(t, s, creds[won])
	for i, u := range users {
		_, err := s.UserByID(ctx, u.ID)
		if i == won && err != nil {
			t.Fatalf("the user who won: %v", err)
		}
		if i != won {
			isErr(t, fmt.Sprintf("user %d, who lost", i), err, auth.ErrNotFound)
			noHandle(t, s, u.ID)
		}
	}

	for i := range users {
		users[i] = newUser("contested")
		creds[i] = credential(users[i].ID, "key", base)
	}
	errs = atOnce(func(i int) error { return s.CreateUserWithCredential(ctx, users[i], handleOf(users[i].ID), creds[i]) })
	won = oneWins(t, "CreateUserWithCredential with one username", errs, auth.ErrUserExists)
	for i, c := range creds {
		if i == won {
			wantCredentials(t, s, users[i].ID, c)
		} else {
			noCredential(t, s, c.ID)
			noHandle(t, s, users[i].ID)
		}
	}
}

// testCeremonies: a ceremony comes back as stored once, expired or not;
// an unknown user's is auth.ErrNotFound; the expired ceremonies a new one
// may take along are only ones that expired before it was made.
func testCeremonies(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	noCeremony(t, s, hash("none"))
	isErr(t, "CreateCeremony for an unknown user", s.CreateCeremony(ctx, ceremony("registration", "nobody", "n1", base)), auth.ErrNotFound)
	noCeremony(t, s, hash("n1"))

	reg := ceremony("registration", u.ID, "reg", base)
	reg.Data = edgeBytes("data", passkeystore.MaxCeremonyDataBytes)
	login := ceremony("login", "", "login", base.Add(7*time.Microsecond))
	login.Data = nil
	signup := ceremony("signup", "", "signup", base.Add(time.Second))
	signup.Data = []byte{}
	signup.ExpiresAt = signup.CreatedAt.Add(time.Hour)
	odd := ceremony("sixteen-bytes-é", u.ID, "odd", base)
	odd.ID = edgeBytes("odd", 32)
	for _, c := range []*passkeystore.Ceremony{reg, login, signup, odd} {
		mustCreateCeremony(t, s, c)
	}
	for _, c := range []*passkeystore.Ceremony{login, odd, signup, reg} {
		wantTake(t, s, c)
		noCeremony(t, s, c.ID)
	}

	// Near misses of an id.
	mustCreateCeremony(t, s, odd)
	for _, near := range [][]byte{nil, {}, odd.ID[:31], odd.ID[1:], append(slices.Clone(odd.ID), 0)} {
		noCeremony(t, s, near)
	}
	wantTake(t, s, odd)

	// An expired ceremony is returned, as long as the store keeps it; one
	// that had not expired when a later one was made is kept.
	old := ceremony("login", "", "old", base)
	edge := ceremony("registration", u.ID, "edge", base)
	edge.ExpiresAt = old.ExpiresAt.Add(time.Minute + time.Microsecond)
	mustCreateCeremony(t, s, old)
	mustCreateCeremony(t, s, edge)
	mustCreateCeremony(t, s, ceremony("login", "", "at expiry", old.ExpiresAt))
	wantTake(t, s, old)
	mustCreateCeremony(t, s, old)
	mustCreateCeremony(t, s, ceremony("login", "", "later", old.ExpiresAt.Add(time.Minute)))
	if c, err := s.TakeCeremony(ctx, old.ID); err == nil {
		equalCeremony(t, c, old)
	} else if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a ceremony that expired before a new one: %v", err)
	}
	wantTake(t, s, edge)
}

// testConcurrentTakeCeremony: of takings of one ceremony at once, exactly
// one gets it.
func testConcurrentTakeCeremony(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	for round := range 5 {
		userID := ""
		if round%2 == 0 {
			userID = u.ID
		}
		c := ceremony("login", userID, fmt.Sprint("c", round), base)
		mustCreateCeremony(t, s, c)
		got := make([]*passkeystore.Ceremony, Concurrency)
		errs := atOnce(func(i int) error {
			var err error
			got[i], err = s.TakeCeremony(ctx, c.ID)
			return err
		})
		won := oneWins(t, fmt.Sprintf("round %d: TakeCeremony", round), errs, auth.ErrNotFound)
		equalCeremony(t, got[won], c)
		noCeremony(t, s, c.ID)
	}
}

// testInvalidPasskeyInput: values beyond the limits of package
// passkeystore, and text a store cannot keep, are auth.ErrInvalidInput
// when they are to be stored, and stored nowhere; as keys to look up, they
// are unknown ones.
func testInvalidPasskeyInput(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	u := passkeyUser(t, s, "alice")
	free := newUser("bob")
	mustCreate(t, s, free)
	ok := credential(u.ID, "ok", base)
	mustAdd(t, s, ok)
	badText := []string{"nul\x00inside", "\xff\xfe", "ok\x00"}

	type credChange struct {
		what   string
		change func(c *passkeystore.Credential)
	}
	credChanges := []credChange{
		{"no id", func(c *passkeystore.Credential) { c.ID = nil }},
		{"an empty id", func(c *passkeystore.Credential) { c.ID = []byte{} }},
		{"too long an id", func(c *passkeystore.Credential) { c.ID = edgeBytes("id", passkeystore.MaxCredentialIDBytes+1) }},
		{"no name", func(c *passkeystore.Credential) { c.Name = "" }},
		{"too long a name", func(c *passkeystore.Credential) { c.Name = strings.Repeat("é", 65) }},
		{"too long a public key", func(c *passkeystore.Credential) { c.PublicKey = edgeBytes("key", passkeystore.MaxPublicKeyBytes+1) }},
		{"a short AAGUID", func(c *passkeystore.Credential) { c.AAGUID = make([]byte, 15) }},
		{"a long AAGUID", func(c *passkeystore.Credential) { c.AAGUID = make([]byte, 17) }},
		{"too many transports", func(c *passkeystore.Credential) { c.Transports = slices.Repeat([]string{"usb"}, 9) }},
		{"too long a transport", func(c *passkeystore.Credential) { c.Transports = []string{"usb", strings.Repeat("x", 33)} }},
	}
	for _, bad := range badText {
		credChanges = append(credChanges,
			credChange{fmt.Sprintf("name %q", bad), func(c *passkeystore.Credential) { c.Name = bad }},
			credChange{fmt.Sprintf("transport %q", bad), func(c *passkeystore.Credential) { c.Transports = []string{"usb", bad} }},
		)
	}
	for _, r := range credChanges {
		c := credential(u.ID, "refused", base)
		r.change(c)
		isErr(t, "AddCredential with "+r.what, s.AddCredential(ctx, c), auth.ErrInvalidInput)
		if len(c.ID) > 0 {
			noCredential(t, s, c.ID)
		}
		v := newUser("carol")
		vc := credential(v.ID, "refused", base)
		r.change(vc)
		isErr(t, "CreateUserWithCredential with "+r.what, s.CreateUserWithCredential(ctx, v, handleOf(v.ID), vc), auth.ErrInvalidInput)
		_, err := s.UserByID(ctx, v.ID)
		isErr(t, "the user of a CreateUserWithCredential with "+r.what, err, auth.ErrNotFound)
	}
	for _, bad := range badText {
		c := credential(bad, "refused", base)
		isErr(t, fmt.Sprintf("AddCredential for user %q", bad), s.AddCredential(ctx, c), auth.ErrInvalidInput)
		noCredential(t, s, c.ID)
	}
	for _, h := range [][]byte{{}, edgeBytes("handle", passkeystore.MaxHandleBytes+1)} {
		got, err := s.UserHandle(ctx, free.ID, h)
		isErr(t, fmt.Sprintf("UserHandle(%d bytes) (got %x)", len(h), got), err, auth.ErrInvalidInput)
		noHandle(t, s, free.ID)
		v := newUser("carol")
		vc := credential(v.ID, "refused", base)
		isErr(t, fmt.Sprintf("CreateUserWithCredential with a handle of %d bytes", len(h)), s.CreateUserWithCredential(ctx, v, h, vc), auth.ErrInvalidInput)
		noCredential(t, s, vc.ID)
		_, err = s.UserByID(ctx, v.ID)
		isErr(t, "the user of a CreateUserWithCredential with a bad handle", err, auth.ErrNotFound)
	}
	// A credential of another user than the one created.
	v := newUser("carol")
	vc := credential(free.ID, "someone else's", base)
	isErr(t, "CreateUserWithCredential of a credential of another user", s.CreateUserWithCredential(ctx, v, handleOf(v.ID), vc), auth.ErrInvalidInput)
	_, err := s.UserByID(ctx, v.ID)
	isErr(t, "the user of a CreateUserWithCredential of another user's credential", err, auth.ErrNotFound)
	noCredential(t, s, vc.ID)
	// A user CreateUser refuses.
	v = newUser("carol")
	v.Username = "nul\x00inside"
	vc = credential(v.ID, "refused", base)
	isErr(t, "CreateUserWithCredential of an unstorable user", s.CreateUserWithCredential(ctx, v, handleOf(v.ID), vc), auth.ErrInvalidInput)
	noCredential(t, s, vc.ID)

	type cerChange struct {
		what   string
		change func(c *passkeystore.Ceremony)
	}
	cerChanges := []cerChange{
		{"no id", func(c *passkeystore.Ceremony) { c.ID = nil }},
		{"a short id", func(c *passkeystore.Ceremony) { c.ID = c.ID[:31] }},
		{"a long id", func(c *passkeystore.Ceremony) { c.ID = append(c.ID, 0) }},
		{"too long a kind", func(c *passkeystore.Ceremony) { c.Kind = strings.Repeat("k", 17) }},
		{"too long data", func(c *passkeystore.Ceremony) { c.Data = edgeBytes("data", passkeystore.MaxCeremonyDataBytes+1) }},
	}
	for _, bad := range badText {
		cerChanges = append(cerChanges,
			cerChange{fmt.Sprintf("kind %q", bad), func(c *passkeystore.Ceremony) { c.Kind = bad }},
			cerChange{fmt.Sprintf("user %q", bad), func(c *passkeystore.Ceremony) { c.UserID = bad }},
		)
	}
	for _, r := range cerChanges {
		c := ceremony("registration", u.ID, "refused", base)
		r.change(c)
		isErr(t, "CreateCeremony with "+r.what, s.CreateCeremony(ctx, c), auth.ErrInvalidInput)
		noCeremony(t, s, hash("refused"))
		if len(c.ID) > 0 {
			noCeremony(t, s, c.ID)
		}
	}

	// As keys.
	for _, bad := range badText {
		what := func(name string) string { return fmt.Sprintf("%s with %q", name, bad) }
		noHandle(t, s, bad)
		_, err := s.UserHandle(ctx, bad, handleOf("bad"))
		isErr(t, what("UserHandle(handle)"), err, auth.ErrNotFound)
		got, err := s.Credentials(ctx, bad)
		if err != nil || len(got) != 0 {
			t.Fatalf("%s = %v, %v; want none", what("Credentials"), got, err)
		}
		_, err = s.RenameCredential(ctx, bad, ok.ID, "renamed")
		isErr(t, what("RenameCredential"), err, auth.ErrNotFound)
		isErr(t, what("DeleteCredential"), s.DeleteCredential(ctx, bad, ok.ID, false), auth.ErrNotFound)
	}
	for _, id := range [][]byte{edgeBytes("long", passkeystore.MaxCredentialIDBytes+1), edgeBytes("longer", 4*passkeystore.MaxCredentialIDBytes)} {
		noCredential(t, s, id)
		isErr(t, "UseCredential of too long an id", s.UseCredential(ctx, id, 0, passkeystore.Use{SignCount: 1, At: base}), auth.ErrNotFound)
		_, err := s.RenameCredential(ctx, u.ID, id, "renamed")
		isErr(t, "RenameCredential of too long an id", err, auth.ErrNotFound)
		isErr(t, "DeleteCredential of too long an id", s.DeleteCredential(ctx, u.ID, id, false), auth.ErrNotFound)
		noCeremony(t, s, id)
	}
	// Nothing changed.
	wantCredentials(t, s, u.ID, ok)
	wantHandle(t, s, u.ID, handleOf(u.ID))
	noHandle(t, s, free.ID)
	wantCredentials(t, s, free.ID)
}

// testPasskeyContextCanceled: with an ended context, every method fails
// with the context's error, and changes nothing.
func testPasskeyContextCanceled(t *testing.T, s passkeyStore) {
	bg := context.Background()
	u := passkeyUser(t, s, "alice")
	free := newUser("bob")
	mustCreate(t, s, free)
	c := credential(u.ID, "key", base)
	mustAdd(t, s, c)
	cer := ceremony("registration", u.ID, "c1", base)
	mustCreateCeremony(t, s, cer)

	ctx, cancel := context.WithCancel(bg)
	cancel()
	canceled := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a canceled context = %v, want context.Canceled", what, err)
		}
	}
	_, err := s.UserHandle(ctx, free.ID, handleOf(free.ID))
	canceled("UserHandle", err)
	_, err = s.UserHandle(ctx, u.ID, nil)
	canceled("UserHandle(nil)", err)
	canceled("AddCredential", s.AddCredential(ctx, credential(u.ID, "new", base)))
	v := newUser("carol")
	canceled("CreateUserWithCredential", s.CreateUserWithCredential(ctx, v, handleOf(v.ID), credential(v.ID, "new", base)))
	_, err = s.Credential(ctx, c.ID)
	canceled("Credential", err)
	_, err = s.Credentials(ctx, u.ID)
	canceled("Credentials", err)
	canceled("UseCredential", s.UseCredential(ctx, c.ID, c.SignCount, passkeystore.Use{SignCount: c.SignCount + 1, At: base}))
	_, err = s.RenameCredential(ctx, u.ID, c.ID, "renamed")
	canceled("RenameCredential", err)
	canceled("DeleteCredential", s.DeleteCredential(ctx, u.ID, c.ID, false))
	canceled("CreateCeremony", s.CreateCeremony(ctx, ceremony("login", "", "c2", base)))
	_, err = s.TakeCeremony(ctx, cer.ID)
	canceled("TakeCeremony", err)

	noHandle(t, s, free.ID)
	wantCredentials(t, s, u.ID, c)
	noCredential(t, s, credential(u.ID, "new", base).ID)
	if _, err := s.UserByID(bg, v.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a canceled CreateUserWithCredential left a user: %v", err)
	}
	noCeremony(t, s, hash("c2"))
	wantTake(t, s, cer)
}

// testDeleteUserPasskeys: deleting a user deletes the user's handle,
// credentials and ceremonies, and no other user's; the handle and the
// credential ids are free again; a new user given the same id (where the
// store allows it) has none of them.
func testDeleteUserPasskeys(t *testing.T, s passkeyDeleterStore) {
	ctx := context.Background()
	u, other := passkeyUser(t, s, "alice"), passkeyUser(t, s, "bob")
	handleOnly := passkeyUser(t, s, "carol")
	c1, c2, o := credential(u.ID, "c1", base), credential(u.ID, "c2", base), credential(other.ID, "o", base)
	for _, c := range []*passkeystore.Credential{c1, c2, o} {
		mustAdd(t, s, c)
	}
	cu, co, login := ceremony("registration", u.ID, "cu", base), ceremony("registration", other.ID, "co", base), ceremony("login", "", "login", base)
	for _, c := range []*passkeystore.Ceremony{cu, co, login} {
		mustCreateCeremony(t, s, c)
	}
	for _, v := range []*auth.User{u, handleOnly} {
		if err := s.DeleteUser(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		noHandle(t, s, v.ID)
		wantCredentials(t, s, v.ID)
	}
	for _, c := range []*passkeystore.Credential{c1, c2} {
		noCredential(t, s, c.ID)
		isErr(t, "UseCredential of a deleted user's credential", s.UseCredential(ctx, c.ID, c.SignCount, passkeystore.Use{SignCount: 100, At: base}), auth.ErrNotFound)
	}
	noCeremony(t, s, cu.ID)
	wantCredentials(t, s, other.ID, o)
	wantHandle(t, s, other.ID, handleOf(other.ID))
	wantTake(t, s, co)
	wantTake(t, s, login)

	// The deleted user's handle and credential ids are free.
	d := newUser("dave")
	mustCreate(t, s, d)
	if got, err := s.UserHandle(ctx, d.ID, handleOf(u.ID)); err != nil || !bytes.Equal(got, handleOf(u.ID)) {
		t.Fatalf("UserHandle with a deleted user's handle = %x, %v", got, err)
	}
	dc := credential(d.ID, "d", base)
	dc.ID = slices.Clone(c1.ID)
	mustAdd(t, s, dc)
	wantCredential(t, s, dc)

	// A new user with the deleted one's id, where the store allows it.
	again := newUser("alice")
	again.ID = u.ID
	if err := s.CreateUser(ctx, again); err != nil || again.ID != u.ID {
		t.Logf("storetest: no new user with a deleted user's id (%v): its part is not run", err)
		return
	}
	noHandle(t, s, again.ID)
	wantCredentials(t, s, again.ID)
	isErr(t, "AddCredential for a new user with a deleted user's id, without a handle", s.AddCredential(ctx, credential(again.ID, "c3", base)), auth.ErrNotFound)
	isErr(t, "DeleteCredential of a deleted user's credential, by a new user with its id", s.DeleteCredential(ctx, again.ID, c2.ID, false), auth.ErrNotFound)
	noCeremony(t, s, cu.ID)
}
