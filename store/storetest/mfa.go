package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/store/mfastore"
)

// mfaCases are the cases of mfastore.Store: TOTP enrolments, recovery
// codes and login challenges.
var mfaCases = []storeCase[mfaStore]{
	{"TOTPPending", testTOTPPending},
	{"ConfirmTOTP", testConfirmTOTP},
	{"AdvanceTOTP", testAdvanceTOTP},
	{"DeleteTOTP", testDeleteTOTP},
	{"RecoveryCodes", testRecoveryCodes},
	{"RecoveryCodesPerUser", testRecoveryCodesPerUser},
	{"Challenges", testChallenges},
	{"MFABytesExact", testMFABytes},
	{"MFAReturnsCopies", testMFACopies},
	{"UnstorableMFAText", testUnstorableMFAText},
	{"ConcurrentAdvanceTOTP", testConcurrentAdvance},
	{"ConcurrentConfirmTOTP", testConcurrentConfirm},
	{"ConcurrentUseRecoveryCode", testConcurrentUseCode},
	{"ConcurrentSpendChallenge", testConcurrentSpend},
}

// mfaDeleterCases are the cases of a store that offers both
// mfastore.Store and auth.UserDeleter.
var mfaDeleterCases = []storeCase[mfaDeleterStore]{
	{"DeleteUserDeletesMFA", testDeleteUserMFA},
}

// pendingTOTP is a pending enrolment id of userID, begun at at.
func pendingTOTP(userID, id string, at time.Time) *mfastore.TOTP {
	return &mfastore.TOTP{UserID: userID, ID: id, Sealed: hash("sealed " + userID + " " + id), CreatedAt: at}
}

// enrol gives the user a confirmed enrolment id, with step as its last
// step and codes as its recovery codes, and returns it as stored.
func enrol(t *testing.T, s mfaStore, userID, id string, step int64, codes [][]byte) *mfastore.TOTP {
	t.Helper()
	ctx := context.Background()
	tp := pendingTOTP(userID, id, base)
	if err := s.PutPendingTOTP(ctx, tp); err != nil {
		t.Fatalf("PutPendingTOTP(%s): %v", id, err)
	}
	if err := s.ConfirmTOTP(ctx, userID, id, step, codes); err != nil {
		t.Fatalf("ConfirmTOTP(%s): %v", id, err)
	}
	tp.Confirmed, tp.LastStep = true, step
	return tp
}

// recoveryCodes returns n code hashes named after prefix.
func recoveryCodes(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = hash(fmt.Sprint(prefix, i))
	}
	return out
}

// mfaChallenge is a challenge of userID, made at at, for five minutes.
func mfaChallenge(userID, secret string, at time.Time) *mfastore.Challenge {
	return &mfastore.Challenge{ID: hash(secret), UserID: userID, Methods: []string{"pwd"}, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
}

func equalTOTP(t *testing.T, got, want *mfastore.TOTP) {
	t.Helper()
	if got.UserID != want.UserID || got.ID != want.ID || !bytes.Equal(got.Sealed, want.Sealed) || got.Confirmed != want.Confirmed ||
		got.LastStep != want.LastStep || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("TOTP differs:\n got %+v\nwant %+v", got, want)
	}
}

// wantTOTP checks that the user's enrolment is want.
func wantTOTP(t *testing.T, s mfaStore, want *mfastore.TOTP) {
	t.Helper()
	got, err := s.TOTP(context.Background(), want.UserID)
	if err != nil {
		t.Fatalf("TOTP: %v", err)
	}
	equalTOTP(t, got, want)
}

func equalChallenge(t *testing.T, got, want *mfastore.Challenge) {
	t.Helper()
	if !bytes.Equal(got.ID, want.ID) || got.UserID != want.UserID || !slices.Equal(got.Methods, want.Methods) ||
		got.UserVersion != want.UserVersion || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("challenge differs:\n got %+v\nwant %+v", got, want)
	}
}

// wantCodesLeft checks that the user has n recovery codes.
func wantCodesLeft(t *testing.T, s mfaStore, userID string, n int) {
	t.Helper()
	got, err := s.RecoveryCodesLeft(context.Background(), userID)
	if err != nil || got != n {
		t.Fatalf("RecoveryCodesLeft = %d, %v; want %d", got, err, n)
	}
}

// noCodes checks that a user who may not exist has no recovery codes: 0,
// or auth.ErrNotFound (the contract leaves an unknown user's count open).
func noCodes(t *testing.T, s mfaStore, userID string) {
	t.Helper()
	n, err := s.RecoveryCodesLeft(context.Background(), userID)
	if n != 0 || err != nil && !errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrStoreUnavailable) {
		t.Fatalf("RecoveryCodesLeft(%q) = %d, %v; want 0 (or ErrNotFound)", userID, n, err)
	}
}

// isErr checks that err matches want, and is not an unavailable store.
func isErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
	if want != auth.ErrStoreUnavailable && errors.Is(err, auth.ErrStoreUnavailable) {
		t.Fatalf("%s reports an unavailable store: %v", what, err)
	}
}

// testTOTPPending: a pending enrolment is stored as given and replaced by
// a newer one; an unknown user has none and can get none.
func testTOTPPending(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	_, err := s.TOTP(ctx, u.ID)
	isErr(t, "TOTP before any enrolment", err, auth.ErrNotFound)
	isErr(t, "PutPendingTOTP for an unknown user", s.PutPendingTOTP(ctx, pendingTOTP("nobody", "e0", base)), auth.ErrNotFound)
	_, err = s.TOTP(ctx, "nobody")
	isErr(t, "TOTP of an unknown user", err, auth.ErrNotFound)

	first := pendingTOTP(u.ID, "e1", base)
	if err := s.PutPendingTOTP(ctx, first); err != nil {
		t.Fatal(err)
	}
	wantTOTP(t, s, first)
	// A newer pending enrolment replaces it, id, secret and time.
	second := pendingTOTP(u.ID, "e2", base.Add(time.Minute+7*time.Microsecond))
	if err := s.PutPendingTOTP(ctx, second); err != nil {
		t.Fatalf("PutPendingTOTP over a pending one: %v", err)
	}
	wantTOTP(t, s, second)
	isErr(t, "ConfirmTOTP of the replaced enrolment", s.ConfirmTOTP(ctx, u.ID, "e1", 5, recoveryCodes("a", 2)), auth.ErrNotFound)
	wantTOTP(t, s, second)
	wantCodesLeft(t, s, u.ID, 0)
	_, err = s.TOTP(ctx, other.ID)
	isErr(t, "another user's TOTP", err, auth.ErrNotFound)

	// Once confirmed, a pending enrolment is refused, and changes nothing.
	if err := s.ConfirmTOTP(ctx, u.ID, "e2", 77, recoveryCodes("a", 3)); err != nil {
		t.Fatal(err)
	}
	second.Confirmed, second.LastStep = true, 77
	for _, id := range []string{"e3", "e2"} {
		isErr(t, "PutPendingTOTP("+id+") over a confirmed enrolment", s.PutPendingTOTP(ctx, pendingTOTP(u.ID, id, base.Add(time.Hour))), auth.ErrConflict)
		wantTOTP(t, s, second)
		wantCodesLeft(t, s, u.ID, 3)
	}
}

// testConfirmTOTP: a confirmation turns the pending enrolment of its id on,
// with its last step and recovery codes; of any other id, or when there is
// none pending, it is auth.ErrNotFound and changes nothing.
func testConfirmTOTP(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	tp := pendingTOTP(u.ID, "e1", base)
	if err := s.PutPendingTOTP(ctx, tp); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, userID, id string }{
		{"a wrong id", u.ID, "e2"},
		{"an unknown user", "nobody", "e1"},
		{"a user without an enrolment", other.ID, "e1"},
	} {
		isErr(t, "ConfirmTOTP of "+c.what, s.ConfirmTOTP(ctx, c.userID, c.id, 9, recoveryCodes("x", 2)), auth.ErrNotFound)
	}
	wantTOTP(t, s, tp)
	wantCodesLeft(t, s, u.ID, 0)
	wantCodesLeft(t, s, other.ID, 0)

	codes := recoveryCodes("a", 10)
	if err := s.ConfirmTOTP(ctx, u.ID, "e1", 1234, codes); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	tp.Confirmed, tp.LastStep = true, 1234
	wantTOTP(t, s, tp)
	wantCodesLeft(t, s, u.ID, 10)
	// Confirmed already: not pending any more.
	isErr(t, "a second ConfirmTOTP", s.ConfirmTOTP(ctx, u.ID, "e1", 5000, recoveryCodes("b", 2)), auth.ErrNotFound)
	wantTOTP(t, s, tp)
	wantCodesLeft(t, s, u.ID, 10)
	if err := s.UseRecoveryCode(ctx, u.ID, codes[9]); err != nil {
		t.Fatalf("a code of the confirmation: %v", err)
	}
	isErr(t, "a code of the refused confirmation", s.UseRecoveryCode(ctx, u.ID, hash("b0")), auth.ErrNotFound)
	// Its last step is the one given: a code of that step is used.
	isErr(t, "AdvanceTOTP to the confirmation's step", s.AdvanceTOTP(ctx, u.ID, "e1", 1234), auth.ErrConflict)

	// Without recovery codes.
	enrol(t, s, other.ID, "o1", 0, nil)
	wantCodesLeft(t, s, other.ID, 0)
	wantCodesLeft(t, s, u.ID, 9)
}

// testAdvanceTOTP: the last step of a confirmed enrolment only ever goes
// up; a pending enrolment, a wrong id or an unknown user is ErrNotFound.
func testAdvanceTOTP(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u, pending, none := newUser("alice"), newUser("bob"), newUser("carol")
	for _, v := range []*auth.User{u, pending, none} {
		mustCreate(t, s, v)
	}
	tp := enrol(t, s, u.ID, "e1", 100, nil)
	for _, c := range []struct {
		step int64
		want error
	}{
		{100, auth.ErrConflict},
		{99, auth.ErrConflict},
		{0, auth.ErrConflict},
		{-1, auth.ErrConflict},
		{101, nil},
		{101, auth.ErrConflict},
		{100, auth.ErrConflict},
		{200, nil},
		{150, auth.ErrConflict},
		{1 << 40, nil},
	} {
		err := s.AdvanceTOTP(ctx, u.ID, "e1", c.step)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) || errors.Is(err, auth.ErrStoreUnavailable) {
			t.Fatalf("AdvanceTOTP(%d) from %d = %v, want %v", c.step, tp.LastStep, err, c.want)
		}
		if c.want == nil {
			tp.LastStep = c.step
		}
		wantTOTP(t, s, tp)
	}

	pt := pendingTOTP(pending.ID, "p1", base)
	if err := s.PutPendingTOTP(ctx, pt); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, userID, id string }{
		{"a wrong id", u.ID, "e2"},
		{"an unknown user", "nobody", "e1"},
		{"a pending enrolment", pending.ID, "p1"},
		{"a user without an enrolment", none.ID, "e1"},
	} {
		isErr(t, "AdvanceTOTP of "+c.what, s.AdvanceTOTP(ctx, c.userID, c.id, 1<<41), auth.ErrNotFound)
	}
	wantTOTP(t, s, tp)
	wantTOTP(t, s, pt)
}

// testDeleteTOTP: DeleteTOTP deletes the enrolment, pending or confirmed,
// and the recovery codes, of that user only; without one it is
// ErrNotFound.
func testDeleteTOTP(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	isErr(t, "DeleteTOTP of an unknown user", s.DeleteTOTP(ctx, "nobody"), auth.ErrNotFound)
	isErr(t, "DeleteTOTP without an enrolment", s.DeleteTOTP(ctx, u.ID), auth.ErrNotFound)

	codes := recoveryCodes("a", 5)
	enrol(t, s, u.ID, "e1", 10, codes)
	kept := enrol(t, s, other.ID, "o1", 20, recoveryCodes("b", 4))
	if err := s.DeleteTOTP(ctx, u.ID); err != nil {
		t.Fatalf("DeleteTOTP: %v", err)
	}
	_, err := s.TOTP(ctx, u.ID)
	isErr(t, "TOTP after DeleteTOTP", err, auth.ErrNotFound)
	wantCodesLeft(t, s, u.ID, 0)
	isErr(t, "a recovery code after DeleteTOTP", s.UseRecoveryCode(ctx, u.ID, codes[0]), auth.ErrNotFound)
	isErr(t, "AdvanceTOTP after DeleteTOTP", s.AdvanceTOTP(ctx, u.ID, "e1", 11), auth.ErrNotFound)
	isErr(t, "ReplaceRecoveryCodes after DeleteTOTP", s.ReplaceRecoveryCodes(ctx, u.ID, "e1", codes), auth.ErrNotFound)
	isErr(t, "a second DeleteTOTP", s.DeleteTOTP(ctx, u.ID), auth.ErrNotFound)
	wantTOTP(t, s, kept)
	wantCodesLeft(t, s, other.ID, 4)

	// A pending enrolment is deleted too.
	if err := s.PutPendingTOTP(ctx, pendingTOTP(u.ID, "e2", base)); err != nil {
		t.Fatalf("PutPendingTOTP after DeleteTOTP: %v", err)
	}
	if err := s.DeleteTOTP(ctx, u.ID); err != nil {
		t.Fatalf("DeleteTOTP of a pending enrolment: %v", err)
	}
	_, err = s.TOTP(ctx, u.ID)
	isErr(t, "TOTP after DeleteTOTP of a pending enrolment", err, auth.ErrNotFound)

	// A new enrolment starts afresh: none of the old codes comes back.
	fresh := enrol(t, s, u.ID, "e3", 1, recoveryCodes("c", 2))
	wantTOTP(t, s, fresh)
	wantCodesLeft(t, s, u.ID, 2)
	isErr(t, "an old recovery code after a new enrolment", s.UseRecoveryCode(ctx, u.ID, codes[1]), auth.ErrNotFound)
}

// testRecoveryCodes: codes are replaced only under the user's confirmed
// enrolment of the id given, counted, and each used once.
func testRecoveryCodes(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	wantCodesLeft(t, s, u.ID, 0)
	noCodes(t, s, "nobody")
	a, b := recoveryCodes("a", 10), recoveryCodes("b", 3)
	isErr(t, "ReplaceRecoveryCodes without an enrolment", s.ReplaceRecoveryCodes(ctx, u.ID, "e1", b), auth.ErrNotFound)
	isErr(t, "ReplaceRecoveryCodes of an unknown user", s.ReplaceRecoveryCodes(ctx, "nobody", "e1", b), auth.ErrNotFound)
	if err := s.PutPendingTOTP(ctx, pendingTOTP(u.ID, "e1", base)); err != nil {
		t.Fatal(err)
	}
	isErr(t, "ReplaceRecoveryCodes of a pending enrolment", s.ReplaceRecoveryCodes(ctx, u.ID, "e1", b), auth.ErrNotFound)
	wantCodesLeft(t, s, u.ID, 0)
	if err := s.ConfirmTOTP(ctx, u.ID, "e1", 1, a); err != nil {
		t.Fatal(err)
	}
	wantCodesLeft(t, s, u.ID, 10)
	isErr(t, "ReplaceRecoveryCodes of a wrong id", s.ReplaceRecoveryCodes(ctx, u.ID, "e2", b), auth.ErrNotFound)
	wantCodesLeft(t, s, u.ID, 10)
	isErr(t, "a code never issued", s.UseRecoveryCode(ctx, u.ID, hash("never")), auth.ErrNotFound)
	isErr(t, "a code of a refused replacement", s.UseRecoveryCode(ctx, u.ID, b[0]), auth.ErrNotFound)
	isErr(t, "UseRecoveryCode of an unknown user", s.UseRecoveryCode(ctx, "nobody", a[0]), auth.ErrNotFound)

	if err := s.UseRecoveryCode(ctx, u.ID, a[0]); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	wantCodesLeft(t, s, u.ID, 9)
	isErr(t, "a used code", s.UseRecoveryCode(ctx, u.ID, a[0]), auth.ErrNotFound)
	wantCodesLeft(t, s, u.ID, 9)

	if err := s.ReplaceRecoveryCodes(ctx, u.ID, "e1", b); err != nil {
		t.Fatalf("ReplaceRecoveryCodes: %v", err)
	}
	wantCodesLeft(t, s, u.ID, 3)
	for _, old := range a[1:] {
		isErr(t, "a replaced code", s.UseRecoveryCode(ctx, u.ID, old), auth.ErrNotFound)
	}
	for i, c := range b {
		if err := s.UseRecoveryCode(ctx, u.ID, c); err != nil {
			t.Fatalf("new code %d: %v", i, err)
		}
		wantCodesLeft(t, s, u.ID, len(b)-i-1)
	}
	// Replaced by none.
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, "e1", a); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, "e1", nil); err != nil {
		t.Fatalf("ReplaceRecoveryCodes with none: %v", err)
	}
	wantCodesLeft(t, s, u.ID, 0)
	// The enrolment is untouched by its codes.
	wantTOTP(t, s, &mfastore.TOTP{UserID: u.ID, ID: "e1", Sealed: pendingTOTP(u.ID, "e1", base).Sealed, Confirmed: true, LastStep: 1, CreatedAt: base})
}

// testRecoveryCodesPerUser: a user's codes are the user's: another user
// cannot use them, even holding a code of the same value.
func testRecoveryCodesPerUser(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	a := recoveryCodes("a", 3)
	enrol(t, s, u.ID, "e1", 1, a)
	enrol(t, s, other.ID, "o1", 1, [][]byte{a[0], hash("b0")})
	isErr(t, "another user's code", s.UseRecoveryCode(ctx, other.ID, a[1]), auth.ErrNotFound)
	wantCodesLeft(t, s, u.ID, 3)
	// Both hold a[0]: each uses their own.
	if err := s.UseRecoveryCode(ctx, other.ID, a[0]); err != nil {
		t.Fatalf("a code both users hold, by one: %v", err)
	}
	wantCodesLeft(t, s, u.ID, 3)
	wantCodesLeft(t, s, other.ID, 1)
	if err := s.UseRecoveryCode(ctx, u.ID, a[0]); err != nil {
		t.Fatalf("a code both users hold, by the other: %v", err)
	}
	isErr(t, "a code used by its user, again", s.UseRecoveryCode(ctx, other.ID, a[0]), auth.ErrNotFound)
	// Replacing or deleting one user's codes leaves the other's.
	if err := s.ReplaceRecoveryCodes(ctx, other.ID, "o1", [][]byte{a[1], a[2]}); err != nil {
		t.Fatal(err)
	}
	wantCodesLeft(t, s, u.ID, 2)
	if err := s.DeleteTOTP(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	wantCodesLeft(t, s, u.ID, 2)
	for _, c := range a[1:] {
		if err := s.UseRecoveryCode(ctx, u.ID, c); err != nil {
			t.Fatalf("a code after another user's codes went: %v", err)
		}
	}
}

// testChallenges: a challenge is stored as given, found by its id, spent
// once; an unknown id or user is ErrNotFound; the expired challenges a new
// one may take along are only ones that expired before it was made.
func testChallenges(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u, other := newUser("alice"), newUser("bob")
	mustCreate(t, s, u)
	mustCreate(t, s, other)
	_, err := s.Challenge(ctx, hash("none"))
	isErr(t, "Challenge(unknown)", err, auth.ErrNotFound)
	isErr(t, "SpendChallenge(unknown)", s.SpendChallenge(ctx, hash("none")), auth.ErrNotFound)
	isErr(t, "CreateChallenge for an unknown user", s.CreateChallenge(ctx, mfaChallenge("nobody", "n1", base)), auth.ErrNotFound)
	_, err = s.Challenge(ctx, hash("n1"))
	isErr(t, "the challenge of a refused CreateChallenge", err, auth.ErrNotFound)

	c1 := mfaChallenge(u.ID, "c1", base)
	c1.UserVersion = 3
	c2 := mfaChallenge(u.ID, "c2", base.Add(time.Second+7*time.Microsecond))
	c2.Methods = []string{"pwd", "hwk", "é"}
	c2.ExpiresAt = c2.CreatedAt.Add(time.Hour)
	c3 := mfaChallenge(other.ID, "c3", base)
	c3.UserVersion = 1 << 40
	for _, c := range []*mfastore.Challenge{c1, c2, c3} {
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatalf("CreateChallenge: %v", err)
		}
	}
	for _, c := range []*mfastore.Challenge{c1, c2, c3} {
		got, err := s.Challenge(ctx, c.ID)
		if err != nil {
			t.Fatalf("Challenge: %v", err)
		}
		equalChallenge(t, got, c)
	}

	if err := s.SpendChallenge(ctx, c1.ID); err != nil {
		t.Fatalf("SpendChallenge: %v", err)
	}
	_, err = s.Challenge(ctx, c1.ID)
	isErr(t, "a spent challenge", err, auth.ErrNotFound)
	isErr(t, "a second SpendChallenge", s.SpendChallenge(ctx, c1.ID), auth.ErrNotFound)
	for _, c := range []*mfastore.Challenge{c2, c3} {
		got, err := s.Challenge(ctx, c.ID)
		if err != nil {
			t.Fatalf("a challenge after another was spent: %v", err)
		}
		equalChallenge(t, got, c)
	}

	// A challenge is returned expired, as long as the store keeps it; one
	// that had not expired when a later one was made is kept.
	now := c3.ExpiresAt.Add(time.Minute)
	edge := mfaChallenge(other.ID, "edge", base)
	edge.ExpiresAt = now.Add(time.Microsecond)
	if err := s.CreateChallenge(ctx, edge); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Challenge(ctx, c3.ID); err != nil {
		t.Fatalf("an expired challenge: %v", err)
	} else {
		equalChallenge(t, got, c3)
	}
	if err := s.CreateChallenge(ctx, mfaChallenge(u.ID, "c4", now)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Challenge(ctx, c3.ID); err != nil && !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a challenge that expired before a new one: %v", err)
	}
	for _, c := range []*mfastore.Challenge{c2, edge} {
		got, err := s.Challenge(ctx, c.ID)
		if err != nil {
			t.Fatalf("a challenge that had not expired when a new one was made (expires %v, the new one made %v): %v",
				c.ExpiresAt, now, err)
		}
		equalChallenge(t, got, c)
	}
}

// testMFABytes: the store's bytes (sealed secrets, code hashes, challenge
// ids) come back exactly, zero bytes included, and match only exactly.
func testMFABytes(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	sealed := make([]byte, 256)
	for i := range sealed {
		sealed[i] = byte(i * 7) // 0 first
	}
	sealed[255] = 0
	tp := &mfastore.TOTP{UserID: u.ID, ID: "énrolment-1 ☃", Sealed: sealed, CreatedAt: base}
	if err := s.PutPendingTOTP(ctx, tp); err != nil {
		t.Fatal(err)
	}
	wantTOTP(t, s, tp)

	edges := hash("edges")
	edges[0], edges[31] = 0, 0
	zeros := make([]byte, 32)
	if err := s.ConfirmTOTP(ctx, u.ID, tp.ID, 1, [][]byte{edges, zeros}); err != nil {
		t.Fatal(err)
	}
	wantCodesLeft(t, s, u.ID, 2)
	for _, near := range [][]byte{edges[:31], edges[1:], append(slices.Clone(edges), 0), zeros[:31], append(slices.Clone(zeros), 0), {}} {
		isErr(t, fmt.Sprintf("UseRecoveryCode(%x), a near miss", near), s.UseRecoveryCode(ctx, u.ID, near), auth.ErrNotFound)
	}
	wantCodesLeft(t, s, u.ID, 2)
	for _, c := range [][]byte{edges, zeros} {
		if err := s.UseRecoveryCode(ctx, u.ID, c); err != nil {
			t.Fatalf("UseRecoveryCode(%x): %v", c, err)
		}
	}

	id := hash("challenge")
	id[0], id[31] = 0, 0
	c := mfaChallenge(u.ID, "", base)
	c.ID = id
	if err := s.CreateChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, near := range [][]byte{id[:31], id[1:], append(slices.Clone(id), 0)} {
		_, err := s.Challenge(ctx, near)
		isErr(t, fmt.Sprintf("Challenge(%x), a near miss", near), err, auth.ErrNotFound)
		isErr(t, fmt.Sprintf("SpendChallenge(%x), a near miss", near), s.SpendChallenge(ctx, near), auth.ErrNotFound)
	}
	got, err := s.Challenge(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	equalChallenge(t, got, c)
	if err := s.SpendChallenge(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// testMFACopies: the store keeps copies of what it is given and hands out
// copies of what it keeps.
func testMFACopies(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	tp := pendingTOTP(u.ID, "e1", base)
	want := *tp
	want.Sealed = slices.Clone(tp.Sealed)
	if err := s.PutPendingTOTP(ctx, tp); err != nil {
		t.Fatal(err)
	}
	tp.Sealed[0] ^= 0xff
	got, err := s.TOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Sealed[1] ^= 0xff
	got.LastStep = 99
	wantTOTP(t, s, &want)

	codes := recoveryCodes("a", 2)
	kept := slices.Clone(codes[0])
	if err := s.ConfirmTOTP(ctx, u.ID, "e1", 1, codes); err != nil {
		t.Fatal(err)
	}
	codes[0][0] ^= 0xff
	if err := s.UseRecoveryCode(ctx, u.ID, kept); err != nil {
		t.Fatalf("a code changed by the caller after ConfirmTOTP: %v", err)
	}
	codes = recoveryCodes("b", 1)
	kept = slices.Clone(codes[0])
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, "e1", codes); err != nil {
		t.Fatal(err)
	}
	codes[0][0] ^= 0xff
	if err := s.UseRecoveryCode(ctx, u.ID, kept); err != nil {
		t.Fatalf("a code changed by the caller after ReplaceRecoveryCodes: %v", err)
	}

	c := mfaChallenge(u.ID, "c1", base)
	c.Methods = []string{"pwd", "otp"}
	wantC := *c
	wantC.ID, wantC.Methods = slices.Clone(c.ID), slices.Clone(c.Methods)
	if err := s.CreateChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.ID[0] ^= 0xff
	c.Methods[0] = "mutated-after-create"
	gotC, err := s.Challenge(ctx, wantC.ID)
	if err != nil {
		t.Fatalf("a challenge whose id the caller changed after CreateChallenge: %v", err)
	}
	gotC.Methods[0] = "mutated-after-get"
	gotC.ID[1] ^= 0xff
	again, err := s.Challenge(ctx, wantC.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalChallenge(t, again, &wantC)
}

// testUnstorableMFAText: text a store cannot keep (see auth.UserStore) is
// an unknown key when it names something, auth.ErrInvalidInput when it is
// to be stored, and never an unavailable store.
func testUnstorableMFAText(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	tp := enrol(t, s, u.ID, "e1", 10, recoveryCodes("a", 2))
	for _, bad := range []string{"nul\x00inside", "\xff\xfe", "ok\x00"} {
		what := func(name string) string { return fmt.Sprintf("%s with %q", name, bad) }
		_, err := s.TOTP(ctx, bad)
		isErr(t, what("TOTP"), err, auth.ErrNotFound)
		isErr(t, what("ConfirmTOTP(user)"), s.ConfirmTOTP(ctx, bad, "e1", 11, nil), auth.ErrNotFound)
		isErr(t, what("ConfirmTOTP(id)"), s.ConfirmTOTP(ctx, u.ID, bad, 11, nil), auth.ErrNotFound)
		isErr(t, what("AdvanceTOTP(user)"), s.AdvanceTOTP(ctx, bad, "e1", 11), auth.ErrNotFound)
		isErr(t, what("AdvanceTOTP(id)"), s.AdvanceTOTP(ctx, u.ID, bad, 11), auth.ErrNotFound)
		isErr(t, what("DeleteTOTP"), s.DeleteTOTP(ctx, bad), auth.ErrNotFound)
		isErr(t, what("ReplaceRecoveryCodes(user)"), s.ReplaceRecoveryCodes(ctx, bad, "e1", nil), auth.ErrNotFound)
		isErr(t, what("ReplaceRecoveryCodes(id)"), s.ReplaceRecoveryCodes(ctx, u.ID, bad, nil), auth.ErrNotFound)
		isErr(t, what("UseRecoveryCode"), s.UseRecoveryCode(ctx, bad, hash("a0")), auth.ErrNotFound)
		noCodes(t, s, bad)

		p := pendingTOTP(bad, "p1", base)
		isErr(t, what("PutPendingTOTP(UserID)"), s.PutPendingTOTP(ctx, p), auth.ErrInvalidInput)
		p = pendingTOTP(u.ID, bad, base)
		isErr(t, what("PutPendingTOTP(ID)"), s.PutPendingTOTP(ctx, p), auth.ErrInvalidInput)

		c := mfaChallenge(bad, "c-user", base)
		isErr(t, what("CreateChallenge(UserID)"), s.CreateChallenge(ctx, c), auth.ErrInvalidInput)
		c = mfaChallenge(u.ID, "c-methods", base)
		c.Methods = []string{"pwd", bad}
		isErr(t, what("CreateChallenge(Methods)"), s.CreateChallenge(ctx, c), auth.ErrInvalidInput)
	}
	// Nothing was changed or created by the refused calls.
	wantTOTP(t, s, tp)
	wantCodesLeft(t, s, u.ID, 2)
	for _, secret := range []string{"c-user", "c-methods"} {
		_, err := s.Challenge(ctx, hash(secret))
		isErr(t, "the challenge of a refused CreateChallenge", err, auth.ErrNotFound)
	}
}

// atOnce runs call(i) for every i below Concurrency, all released at
// once, and returns their errors.
func atOnce(call func(i int) error) []error {
	errs := make([]error, Concurrency)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range Concurrency {
		wg.Go(func() {
			<-start
			errs[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWins checks that exactly one of errs is nil and every other one
// loser, and returns the index of the one.
func oneWins(t *testing.T, what string, errs []error, loser error) int {
	t.Helper()
	won, n := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			won, n = i, n+1
		case errors.Is(err, loser) && !errors.Is(err, auth.ErrStoreUnavailable):
		default:
			t.Errorf("%s: unexpected error %v", what, err)
		}
	}
	if n != 1 {
		t.Fatalf("%s: %d of %d calls at once succeeded, want exactly 1", what, n, len(errs))
	}
	return won
}

// testConcurrentAdvance: of calls at once with one step, exactly one
// advances; of calls at once with different steps, the greatest always
// does, and is the last step after them.
func testConcurrentAdvance(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	tp := enrol(t, s, u.ID, "e1", 10, nil)
	for round := range 5 {
		step := int64(100 * (round + 1))
		errs := atOnce(func(int) error { return s.AdvanceTOTP(ctx, u.ID, "e1", step) })
		oneWins(t, fmt.Sprintf("round %d: AdvanceTOTP(%d)", round, step), errs, auth.ErrConflict)
		tp.LastStep = step
		wantTOTP(t, s, tp)
	}
	from := tp.LastStep
	errs := atOnce(func(i int) error { return s.AdvanceTOTP(ctx, u.ID, "e1", from+1+int64(i)) })
	for i, err := range errs {
		if err != nil && !errors.Is(err, auth.ErrConflict) || errors.Is(err, auth.ErrStoreUnavailable) {
			t.Errorf("AdvanceTOTP(%d) among others: unexpected error %v", from+1+int64(i), err)
		}
	}
	if err := errs[len(errs)-1]; err != nil {
		t.Fatalf("the greatest step of calls at once: %v", err)
	}
	tp.LastStep = from + int64(len(errs))
	wantTOTP(t, s, tp)
}

// testConcurrentConfirm: of confirmations at once, exactly one succeeds,
// and the enrolment has its last step and its codes, all of them and no
// other's.
func testConcurrentConfirm(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	codesOf := func(round, i int) [][]byte { return recoveryCodes(fmt.Sprint(round, "-", i, "-"), 1+i%5) }
	for round := range 5 {
		tp := pendingTOTP(u.ID, fmt.Sprint("e", round), base)
		if err := s.PutPendingTOTP(ctx, tp); err != nil {
			t.Fatal(err)
		}
		errs := atOnce(func(i int) error { return s.ConfirmTOTP(ctx, u.ID, tp.ID, int64(1000+i), codesOf(round, i)) })
		won := oneWins(t, fmt.Sprintf("round %d: ConfirmTOTP", round), errs, auth.ErrNotFound)
		tp.Confirmed, tp.LastStep = true, int64(1000+won)
		wantTOTP(t, s, tp)
		codes := codesOf(round, won)
		wantCodesLeft(t, s, u.ID, len(codes))
		loser := (won + 1) % Concurrency
		isErr(t, "a code of a confirmation that lost", s.UseRecoveryCode(ctx, u.ID, codesOf(round, loser)[0]), auth.ErrNotFound)
		for _, c := range codes {
			if err := s.UseRecoveryCode(ctx, u.ID, c); err != nil {
				t.Fatalf("round %d: a code of the confirmation that won: %v", round, err)
			}
		}
		if err := s.DeleteTOTP(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// testConcurrentUseCode: of uses of one code at once, exactly one
// succeeds.
func testConcurrentUseCode(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	codes := recoveryCodes("a", 5)
	enrol(t, s, u.ID, "e1", 1, codes)
	for i, c := range codes {
		errs := atOnce(func(int) error { return s.UseRecoveryCode(ctx, u.ID, c) })
		oneWins(t, fmt.Sprintf("code %d: UseRecoveryCode", i), errs, auth.ErrNotFound)
		wantCodesLeft(t, s, u.ID, len(codes)-i-1)
	}
}

// testConcurrentSpend: of spendings of one challenge at once, exactly one
// succeeds.
func testConcurrentSpend(t *testing.T, s mfaStore) {
	ctx := context.Background()
	u := newUser("alice")
	mustCreate(t, s, u)
	for round := range 5 {
		c := mfaChallenge(u.ID, fmt.Sprint("c", round), base)
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		errs := atOnce(func(int) error { return s.SpendChallenge(ctx, c.ID) })
		oneWins(t, fmt.Sprintf("round %d: SpendChallenge", round), errs, auth.ErrNotFound)
		_, err := s.Challenge(ctx, c.ID)
		isErr(t, "a spent challenge", err, auth.ErrNotFound)
	}
}

// testDeleteUserMFA: deleting a user deletes the user's enrolment,
// recovery codes and challenges, and no other user's; a new user given
// the same id (where the store allows it) has none of them.
func testDeleteUserMFA(t *testing.T, s mfaDeleterStore) {
	ctx := context.Background()
	u, pending, other := newUser("alice"), newUser("bob"), newUser("carol")
	for _, v := range []*auth.User{u, pending, other} {
		mustCreate(t, s, v)
	}
	codes := recoveryCodes("a", 3)
	enrol(t, s, u.ID, "e1", 10, codes)
	if err := s.PutPendingTOTP(ctx, pendingTOTP(pending.ID, "p1", base)); err != nil {
		t.Fatal(err)
	}
	kept := enrol(t, s, other.ID, "o1", 20, recoveryCodes("c", 2))
	cu, cp, co := mfaChallenge(u.ID, "cu", base), mfaChallenge(pending.ID, "cp", base), mfaChallenge(other.ID, "co", base)
	for _, c := range []*mfastore.Challenge{cu, cp, co} {
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []*auth.User{u, pending} {
		if err := s.DeleteUser(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.TOTP(ctx, v.ID)
		isErr(t, "TOTP of a deleted user", err, auth.ErrNotFound)
		noCodes(t, s, v.ID)
	}
	isErr(t, "a recovery code of a deleted user", s.UseRecoveryCode(ctx, u.ID, codes[0]), auth.ErrNotFound)
	isErr(t, "AdvanceTOTP of a deleted user", s.AdvanceTOTP(ctx, u.ID, "e1", 11), auth.ErrNotFound)
	for _, c := range []*mfastore.Challenge{cu, cp} {
		_, err := s.Challenge(ctx, c.ID)
		isErr(t, "a deleted user's challenge", err, auth.ErrNotFound)
		isErr(t, "SpendChallenge of a deleted user's challenge", s.SpendChallenge(ctx, c.ID), auth.ErrNotFound)
	}
	wantTOTP(t, s, kept)
	wantCodesLeft(t, s, other.ID, 2)
	if got, err := s.Challenge(ctx, co.ID); err != nil {
		t.Fatalf("another user's challenge after a delete: %v", err)
	} else {
		equalChallenge(t, got, co)
	}

	// A new user with the deleted one's id, where the store allows it.
	again := newUser("alice")
	again.ID = u.ID
	if err := s.CreateUser(ctx, again); err != nil || again.ID != u.ID {
		t.Logf("storetest: no new user with a deleted user's id (%v): its part is not run", err)
		return
	}
	_, err := s.TOTP(ctx, again.ID)
	isErr(t, "TOTP of a new user with a deleted user's id", err, auth.ErrNotFound)
	wantCodesLeft(t, s, again.ID, 0)
	isErr(t, "a deleted user's code, by a new user with its id", s.UseRecoveryCode(ctx, again.ID, codes[1]), auth.ErrNotFound)
	isErr(t, "AdvanceTOTP of a new user with a deleted user's id", s.AdvanceTOTP(ctx, again.ID, "e1", 11), auth.ErrNotFound)
	isErr(t, "ReplaceRecoveryCodes of a new user with a deleted user's id", s.ReplaceRecoveryCodes(ctx, again.ID, "e1", codes), auth.ErrNotFound)
	isErr(t, "ConfirmTOTP of a new user with a deleted user's id", s.ConfirmTOTP(ctx, again.ID, "e1", 11, codes), auth.ErrNotFound)
	_, err = s.Challenge(ctx, cu.ID)
	isErr(t, "a deleted user's challenge, after a new user took its id", err, auth.ErrNotFound)
}
