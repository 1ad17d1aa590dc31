package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin/adminctl"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/store/memory"
	"github.com/goauthkit/auth/store/sqlite"
)

// The tests of user mfa-reset that need module mfa, which package adminctl
// (root module) must not import: here, in a module that imports both.

var (
	testSecretKey = []byte("authctl tests: a secret key of 32 bytes or more")
	testMFAKey    = []byte("authctl tests: the second factor's key, 32+ bytes")
)

// totpCode is RFC 6238's code (SHA-1, 6 digits, 30-second steps) of the
// base32 secret at t: what an authenticator app shows, computed apart
// from package mfa.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha1.New, key)
	_ = binary.Write(mac, binary.BigEndian, uint64(at.Unix()/30))
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff%1_000_000)
}

// TestMFAResetIsMFAs: adminctl's user mfa-reset, which cannot import
// module mfa, emits what mfa.MFA.Reset emits: the same event type
// (mfa.EventReset), after the same logout_all, naming its actor; and
// leaves the user as Reset does.
func TestMFAResetIsMFAs(t *testing.T) {
	ctx := context.Background()
	log := &authtest.Events{}
	st := memory.New()
	a, err := auth.New(auth.Config{Store: st, SecretKey: testSecretKey, OnEvent: log.Add})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mfa.New(a, mfa.Config{Key: testMFAKey})
	if err != nil {
		t.Fatal(err)
	}
	enrolled := func(name string) {
		u, err := a.Register(ctx, auth.NewUser{Username: name, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		enrol(t, a, m, u, "correct horse battery")
		log.Take()
	}
	enrolled("bob")
	bob, _ := st.UserByUsername(ctx, "bob")
	if err := m.Reset(ctx, bob.ID, "admin-1", auth.Client{}); err != nil {
		t.Fatal(err)
	}
	byMFA := log.Take()
	enrolled("alice")
	var stdout, stderr strings.Builder
	code := adminctl.Run(ctx, adminctl.Env{Args: []string{"user", "mfa-reset", "alice"}, Stdout: &stdout, Stderr: &stderr,
		Getenv: func(string) string { return "ops" }}, a)
	if code != adminctl.ExitOK {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	byCtl := log.Take()
	if len(byMFA) != 2 || len(byCtl) != 2 {
		t.Fatalf("mfa.Reset emitted %+v, authctl %+v", byMFA, byCtl)
	}
	for i := range byMFA {
		if byCtl[i].Type != byMFA[i].Type {
			t.Fatalf("event %d: authctl's %q, mfa.Reset's %q", i, byCtl[i].Type, byMFA[i].Type)
		}
	}
	e := byCtl[1]
	if e.Type != mfa.EventReset || e.Username != "alice" || e.UserID == "" || e.Actor != "authctl (unix user ops)" {
		t.Fatalf("authctl's event %+v, want %s naming alice and authctl", e, mfa.EventReset)
	}
	alice, _ := st.UserByUsername(ctx, "alice")
	for _, u := range []*auth.User{alice, bob} {
		if s, err := m.Status(ctx, u.ID); err != nil || s.TOTP || s.RecoveryCodesLeft != 0 {
			t.Fatalf("%s after a reset: %+v %v", u.Username, s, err)
		}
	}
}

// enrolment is what a user with an authenticator app on holds.
type enrolment struct {
	secret  string // base32
	codes   []string
	confirm *auth.TokenPair // the login that confirmed it, which goes on
}

// enrol turns u's authenticator app on through package mfa, as the
// server's /mfa/totp and /mfa/totp/confirm do.
func enrol(t *testing.T, a *auth.Authenticator, m *mfa.MFA, u *auth.User, password string) enrolment {
	t.Helper()
	ctx := context.Background()
	p, err := a.Login(ctx, auth.Credentials{Username: u.Username, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	_, claims, err := a.Authenticate(ctx, p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	en, err := m.Enrol(ctx, mfa.Owner{User: u, Password: password, Claims: claims})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := m.Confirm(ctx, mfa.Owner{User: u, Claims: claims}, totpCode(t, en.Secret, a.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return enrolment{secret: en.Secret, codes: codes, confirm: p}
}

// TestAuthctlMFAReset: on a SQLite data directory where alice has an
// authenticator app on (enrolled through package mfa), authctl user
// mfa-reset alice deletes it and her recovery codes, ends her logins (the
// one that confirmed it, one made with a code, a login waiting for its
// code), writes the audit line naming authctl and who runs it; afterwards
// her password alone signs her in.
func TestAuthctlMFAReset(t *testing.T) {
	bin := buildAuthctl(t)
	data := filepath.Join(t.TempDir(), "data")
	ctl := func(args ...string) result {
		return runBin(t, bin, "", append([]string{"-data", data}, args...)...)
	}
	const password = "correct horse battery"
	runBin(t, bin, password+"\n", "-data", data, "user", "create", "alice").want(t, 0, "created user alice", "")
	runBin(t, bin, password+"\n", "-data", data, "user", "create", "bob").want(t, 0, "created user bob", "")

	ctx := context.Background()
	open := func() (*sqlite.Store, *auth.Authenticator, *mfa.MFA) {
		t.Helper()
		st, err := sqlite.Open(ctx, filepath.Join(data, "auth.db"), sqlite.Config{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := auth.New(auth.Config{Store: st, SecretKey: testSecretKey})
		if err != nil {
			t.Fatal(err)
		}
		m, err := mfa.New(a, mfa.Config{Key: testMFAKey})
		if err != nil {
			t.Fatal(err)
		}
		return st, a, m
	}
	st, a, m := open()
	alice, err := st.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	en := enrol(t, a, m, alice, password)
	_, err = a.Login(ctx, auth.Credentials{Username: "alice", Password: password})
	var ch *mfa.Challenge
	if !errors.As(err, &ch) {
		t.Fatalf("alice's password alone, her app on: %v", err)
	}
	// The next step's code: the confirming step is spent.
	withCode, err := m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: totpCode(t, en.secret, a.Now().Add(30*time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Login(ctx, auth.Credentials{Username: "alice", Password: password})
	var pending *mfa.Challenge
	if !errors.As(err, &pending) {
		t.Fatalf("alice's password alone: %v", err)
	}
	bobLogin, err := a.Login(ctx, auth.Credentials{Username: "bob", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // authctl wants the file to itself

	r := ctl("user", "mfa-reset", "Alice")
	r.want(t, 0, "reset the second factor of alice: authenticator app and recovery codes deleted, every session and access token ended",
		"event="+string(mfa.EventReset))
	for _, want := range []string{`actor="authctl (unix user `, "username=alice", "event=" + string(auth.EventLogoutAll)} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("the audit lines lack %q: %s", want, r.stderr)
		}
	}
	for _, secret := range append([]string{en.secret}, en.codes...) {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatal("a secret or a recovery code in the output")
		}
	}

	st, a, m = open()
	defer st.Close()
	if _, err := st.TOTP(ctx, alice.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("alice's enrolment after the reset: %v", err)
	}
	if n, err := st.RecoveryCodesLeft(ctx, alice.ID); err != nil || n != 0 {
		t.Fatalf("alice's recovery codes after the reset: %d %v", n, err)
	}
	for name, p := range map[string]*auth.TokenPair{"the confirming login": en.confirm, "the login with a code": withCode} {
		if _, _, err := a.Authenticate(ctx, p.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s's access token after the reset: %v", name, err)
		}
		if _, err := a.Refresh(ctx, auth.Client{}, p.RefreshToken); err == nil {
			t.Errorf("%s's refresh token after the reset: accepted", name)
		}
	}
	if _, err := m.Complete(ctx, mfa.Completion{Token: pending.Token, RecoveryCode: en.codes[0]}); !errors.Is(err, mfa.ErrInvalidChallenge) {
		t.Errorf("a login waiting for its code, after the reset: %v", err)
	}
	if _, _, err := a.Authenticate(ctx, bobLogin.AccessToken); err != nil {
		t.Errorf("bob's login, after alice's reset: %v", err)
	}
	if _, err := a.Login(ctx, auth.Credentials{Username: "alice", Password: password}); err != nil {
		t.Fatalf("alice's password alone after the reset: %v", err)
	}
	st.Close()

	// Again: nothing to delete, her logins ended all the same.
	ctl("user", "mfa-reset", "alice").want(t, 0, "alice had no second factor; every session and access token ended all the same", "event=mfa_reset")
	ctl("user", "mfa-reset", "nobody").want(t, 1, "", `no user named "nobody"`)
	ctl("user", "mfa-reset", "-h").want(t, 0, "Usage: authctl user mfa-reset NAME", "")
	ctl("user", "mfa-reset").want(t, 2, "", "Usage")
}
