package mfa_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/store/memory"
	"github.com/goauthkit/auth/store/mfastore"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")
	testKey    = []byte("mfa-tests-key-0123456789abcdef-0123456789")
)

const password = "correct horse battery"

type env struct {
	a      *auth.Authenticator
	m      *mfa.MFA
	store  *memory.Store
	clock  *authtest.Clock
	events *authtest.Events
}

func newEnv(t testing.TB, c mfa.Config) *env {
	t.Helper()
	e := &env{store: memory.New(), clock: authtest.NewClock(time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)), events: &authtest.Events{}}
	a, err := auth.New(auth.Config{Store: e.store, SecretKey: testSecret, Now: e.clock.Now, OnEvent: e.events.Add,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Key == nil {
		c.Key = testKey
	}
	m, err := mfa.New(a, c)
	if err != nil {
		t.Fatal(err)
	}
	e.a, e.m = a, m
	return e
}

func (e *env) register(t testing.TB, name string) *auth.User {
	t.Helper()
	u, err := e.a.Register(context.Background(), auth.NewUser{Username: name, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// login logs name in with the password: tokens, or a challenge.
func (e *env) login(name string) (*auth.TokenPair, *mfa.Challenge, error) {
	p, err := e.a.Login(context.Background(), auth.Credentials{Username: name, Password: password, Client: auth.Client{Addr: "192.0.2.9"}})
	var ch *mfa.Challenge
	if errors.As(err, &ch) {
		return nil, ch, nil
	}
	return p, nil, err
}

func (e *env) claims(t testing.TB, access string) *auth.Claims {
	t.Helper()
	_, c, err := e.a.Authenticate(context.Background(), access)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// code is what the authenticator app of secret shows now, plus steps.
func (e *env) code(t testing.TB, secret []byte, steps int64) string {
	t.Helper()
	c, err := mfa.CodeAt(secret, e.clock.Now().Unix()/30+steps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolled is a user with an authenticator app on: its secret, its
// recovery codes, and the login that confirmed it.
type enrolled struct {
	user   *auth.User
	secret []byte
	codes  []string
	login  *auth.TokenPair
}

func (e *env) enrol(t testing.TB, name string) enrolled {
	t.Helper()
	ctx := context.Background()
	u := e.register(t, name)
	p, _, err := e.login(name)
	if err != nil {
		t.Fatal(err)
	}
	c := e.claims(t, p.AccessToken)
	en, err := e.m.Enrol(ctx, mfa.Owner{User: u, Password: password, Claims: c})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := e.m.Confirm(ctx, mfa.Owner{User: u, Claims: c}, e.code(t, secret, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second) // the confirmation's step is spent
	return enrolled{user: u, secret: secret, codes: codes, login: p}
}

// TestEnrolment: the secret, its URI and QR code as the HTTP contract
// says; confirmation by a code only; recovery codes of the contract's form;
// the other logins ended, the confirming one kept; the confirming code
// never logs in.
func TestEnrolment(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, mfa.Config{Issuer: "Acme & Co"})
	u := e.register(t, "jane@example.io")
	first, _, err := e.login("jane@example.io")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.login("jane@example.io")
	if err != nil {
		t.Fatal(err)
	}
	c := e.claims(t, first.AccessToken)
	owner := mfa.Owner{User: u, Password: password, Claims: c}

	if _, err := e.m.Enrol(ctx, mfa.Owner{User: u, Password: "wrong horse battery", Claims: c}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Enrol with a wrong password: %v", err)
	}
	if _, err := e.m.Confirm(ctx, owner, "123456"); !errors.Is(err, mfa.ErrNothingToConfirm) {
		t.Fatalf("Confirm without an enrolment: %v", err)
	}
	stale, err := e.m.Enrol(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.m.Enrol(ctx, owner) // replaces the first
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(en.Secret) || en.Secret == stale.Secret {
		t.Fatalf("secret %q (the replaced one %q)", en.Secret, stale.Secret)
	}
	wantURI := "otpauth://totp/Acme%20%26%20Co:jane%40example.io?secret=" + en.Secret + "&issuer=Acme%20%26%20Co&algorithm=SHA1&digits=6&period=30"
	if en.URI != wantURI {
		t.Fatalf("URI\n%s\nwant\n%s", en.URI, wantURI)
	}
	if parsed, err := url.Parse(en.URI); err != nil || parsed.Query().Get("issuer") != "Acme & Co" || parsed.Query().Get("secret") != en.Secret {
		t.Fatalf("the URI does not parse back: %v, %v", parsed, err)
	}
	if !strings.HasPrefix(en.QRCode, "data:image/png;base64,iVBORw0KGgo") {
		t.Fatalf("QR code %.40q", en.QRCode)
	}
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	oldSecret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(stale.Secret)

	// At rest: sealed, never the secret.
	stored, err := e.store.TOTP(ctx, u.ID)
	if err != nil || stored.Confirmed || bytes.Contains(stored.Sealed, secret) || bytes.Contains(stored.Sealed, []byte(en.Secret)) {
		t.Fatalf("stored %+v, %v", stored, err)
	}

	for _, wrong := range []string{e.code(t, oldSecret, 0), e.code(t, secret, 2), e.code(t, secret, -2), "12345", "1234567", "abcdef", ""} {
		if _, err := e.m.Confirm(ctx, owner, wrong); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("Confirm(%q) = %v, want ErrInvalidCode", wrong, err)
		}
	}
	confirming := e.code(t, secret, 1) // the next step: a clock a little ahead
	codes, err := e.m.Confirm(ctx, owner, confirming)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
		t.Fatalf("recovery codes %q", codes)
	}
	for _, rc := range codes {
		if !regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`).MatchString(rc) {
			t.Fatalf("recovery code %q", rc)
		}
	}
	if _, err := e.m.Confirm(ctx, owner, confirming); !errors.Is(err, mfa.ErrNothingToConfirm) {
		t.Fatalf("Confirm again: %v", err)
	}
	if _, err := e.m.Enrol(ctx, owner); !errors.Is(err, mfa.ErrEnabled) {
		t.Fatalf("Enrol once on: %v", err)
	}
	if s, err := e.m.Status(ctx, u.ID); err != nil || !s.TOTP || s.RecoveryCodesLeft != 10 {
		t.Fatalf("Status %+v, %v", s, err)
	}
	// The other login ended, the confirming one goes on.
	if _, _, err := e.a.Authenticate(ctx, other.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the other login's access token: %v", err)
	}
	if _, err := e.a.Refresh(ctx, auth.Client{}, other.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the other login's refresh token: %v", err)
	}
	if _, err := e.a.Refresh(ctx, auth.Client{}, first.RefreshToken); err != nil {
		t.Fatalf("the confirming login: %v", err)
	}
	// The confirming code, and the codes of the steps before it, never log
	// in; the code of the step after does.
	for _, steps := range []int64{-1, 0, 1} {
		_, ch, err := e.login("jane@example.io")
		if err != nil || ch == nil {
			t.Fatalf("login: %v, %v", ch, err)
		}
		if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(t, secret, steps)}); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("the code of step %+d, at or before the confirming one: %v", steps, err)
		}
	}
	e.clock.Advance(2 * 30 * time.Second)
	_, ch, _ := e.login("jane@example.io")
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(t, secret, 0)}); err != nil {
		t.Fatalf("the next step's code: %v", err)
	}
	if e.events.Count(mfa.EventTOTPEnabled) != 1 || e.events.Count(mfa.EventRecoveryCodesGenerated) != 1 {
		t.Fatal("the enrolment's events")
	}
}

// TestLoginWithSecondFactor: a password yields a challenge, not tokens; a
// code completes it once, with the login's strength in its tokens; a
// recovery code does too, once; a code is never accepted twice.
func TestLoginWithSecondFactor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, mfa.Config{})
	en := e.enrol(t, "alice")
	e.register(t, "bob")

	if p, ch, err := e.login("bob"); err != nil || ch != nil || p == nil {
		t.Fatalf("a user without a second factor: %v %v %v", p, ch, err)
	}
	if _, err := e.a.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong horse battery"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("a wrong password: %v (a challenge would tell the password was right)", err)
	}
	p, ch, err := e.login("alice")
	if err != nil || ch == nil || p != nil {
		t.Fatalf("alice's password: %v %v %v", p, ch, err)
	}
	if !errors.Is(&mfa.Challenge{}, mfa.ErrRequired) || !slices.Equal(ch.Methods, []string{"otp", "recovery_code"}) ||
		len(ch.Token) != 43 || !ch.ExpiresAt.Equal(e.clock.Now().Add(5*time.Minute)) {
		t.Fatalf("challenge %+v", ch)
	}
	code := e.code(t, en.secret, 0)
	pair, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: code})
	if err != nil {
		t.Fatal(err)
	}
	c := e.claims(t, pair.AccessToken)
	if !slices.Equal(c.Methods, []string{auth.MethodPassword, auth.MethodOTP, auth.MethodMFA}) || !c.AuthTime.Equal(e.clock.Now()) {
		t.Fatalf("amr %v auth_time %v", c.Methods, c.AuthTime)
	}
	refreshed, err := e.a.Refresh(ctx, auth.Client{}, pair.RefreshToken)
	if err != nil || !slices.Contains(e.claims(t, refreshed.AccessToken).Methods, auth.MethodMFA) {
		t.Fatalf("a refresh keeps the second factor: %v", err)
	}
	// The challenge is spent; the code is used, through another challenge
	// too.
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(t, en.secret, 1)}); !errors.Is(err, mfa.ErrInvalidChallenge) {
		t.Fatalf("a spent challenge: %v", err)
	}
	_, ch2, _ := e.login("alice")
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch2.Token, OTP: code}); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("a used code: %v", err)
	}
	// A recovery code, typed loosely, once.
	rc := strings.ToUpper(strings.ReplaceAll(en.codes[3], "-", " "))
	pair, err = e.m.Complete(ctx, mfa.Completion{Token: ch2.Token, RecoveryCode: rc})
	if err != nil {
		t.Fatalf("a recovery code: %v", err)
	}
	if !slices.Contains(e.claims(t, pair.AccessToken).Methods, auth.MethodMFA) || e.events.Count(mfa.EventRecoveryCodeUsed) != 1 {
		t.Fatal("the recovery code's login")
	}
	_, ch3, _ := e.login("alice")
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch3.Token, RecoveryCode: en.codes[3]}); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("a used recovery code: %v", err)
	}
	if s, _ := e.m.Status(ctx, en.user.ID); s.RecoveryCodesLeft != 9 {
		t.Fatalf("%d recovery codes left", s.RecoveryCodesLeft)
	}
	// Another user's code is not alice's.
	other := e.enrol(t, "carol")
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch3.Token, RecoveryCode: other.codes[0]}); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("carol's recovery code for alice: %v", err)
	}
	// A challenge expires.
	e.clock.Advance(5 * time.Minute)
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch3.Token, OTP: e.code(t, en.secret, 0)}); !errors.Is(err, mfa.ErrInvalidChallenge) {
		t.Fatalf("an expired challenge: %v", err)
	}
	for _, tok := range []string{"", "x", strings.Repeat("A", 65), ch.Token + "x"} {
		if _, err := e.m.Complete(ctx, mfa.Completion{Token: tok, OTP: "123456"}); !errors.Is(err, mfa.ErrInvalidChallenge) {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
}

// TestCodeBudgets: 5 wrong codes kill a challenge, even for a right code
// after; 5 wrong codes for a user, over any challenges, refuse every code
// for the user (a right one too) until the budget refills, and are
// answered before the challenge's state.
func TestCodeBudgets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, mfa.Config{})
	en := e.enrol(t, "alice")
	wrong := func(token string) error {
		return func() error {
			_, err := e.m.Complete(ctx, mfa.Completion{Token: token, OTP: "000000"})
			return err
		}()
	}
	_, ch, _ := e.login("alice")
	for i := range 4 {
		if err := wrong(ch.Token); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	e.clock.Advance(time.Minute) // the user's budget gives one back
	if err := wrong(ch.Token); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("wrong code 5: %v", err)
	}
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(t, en.secret, 0)}); !errors.Is(err, mfa.ErrInvalidChallenge) {
		t.Fatalf("a right code for a dead challenge: %v", err)
	}

	// The user's budget: spent over several challenges.
	e.clock.Advance(10 * time.Minute)
	for i := range 5 {
		_, ch, _ := e.login("alice")
		if err := wrong(ch.Token); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	_, ch, _ = e.login("alice")
	_, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(t, en.secret, 0)})
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("a right code past the user's budget: %v", err)
	}
	e.clock.Advance(rl.RetryAfter)
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(t, en.secret, 0)}); err != nil {
		t.Fatalf("a right code once the budget refilled: %v", err)
	}
	if n := e.events.Count(mfa.EventFailed); n < 10 {
		t.Fatalf("%d failure events", n)
	}
}

// TestChallengeDies: a challenge does not outlive the user's tokens (a
// password reset or change, a logout everywhere), nor a disabled account;
// after a reset the second factor is still asked for.
func TestChallengeDies(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		end  func(e *env, u *auth.User) error
	}{
		{"logout everywhere", func(e *env, u *auth.User) error { return e.a.LogoutAll(ctx, auth.Client{}, u.ID) }},
		{"password change", func(e *env, u *auth.User) error {
			return e.a.ChangePassword(ctx, auth.PasswordChange{UserID: u.ID, Current: password, New: "another horse battery"})
		}},
		{"password reset", func(e *env, u *auth.User) error {
			return e.store.UpdatePasswordHash(ctx, u.ID, u.PasswordHash, authtest.PlainHashPrefix+strings.Repeat("0", 64), true, e.clock.Now())
		}},
		{"disabled", func(e *env, u *auth.User) error {
			disabled := true
			_, err := e.store.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: &disabled, Now: e.clock.Now()})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mfa.Config{})
			en := e.enrol(t, "alice")
			_, ch, _ := e.login("alice")
			u, _ := e.store.UserByID(ctx, en.user.ID)
			if err := tt.end(e, u); err != nil {
				t.Fatal(err)
			}
			if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, OTP: e.code(t, en.secret, 0)}); !errors.Is(err, mfa.ErrInvalidChallenge) {
				t.Fatalf("Complete after: %v", err)
			}
			if tt.name == "password change" {
				p, err := e.a.Login(ctx, auth.Credentials{Username: "alice", Password: "another horse battery"})
				var again *mfa.Challenge
				if !errors.As(err, &again) || p != nil {
					t.Fatalf("the new password alone: %v, %v", p, err)
				}
			}
		})
	}
}

// TestConcurrentCompletion: of requests at once with one right code,
// exactly one signs in: through one challenge, and through several.
func TestConcurrentCompletion(t *testing.T) {
	ctx := context.Background()
	for _, shared := range []bool{true, false} {
		e := newEnv(t, mfa.Config{CodeUser: auth.Rate{Burst: 64, Interval: time.Minute}})
		en := e.enrol(t, "alice")
		const n = 16
		tokens := make([]string, n)
		for i := range tokens {
			if i == 0 || !shared {
				_, ch, _ := e.login("alice")
				tokens[i] = ch.Token
			} else {
				tokens[i] = tokens[0]
			}
		}
		code := e.code(t, en.secret, 0)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = e.m.Complete(ctx, mfa.Completion{Token: tokens[i], OTP: code})
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, mfa.ErrInvalidCode) && !errors.Is(err, mfa.ErrInvalidChallenge):
				t.Fatalf("one challenge %v: %v", shared, err)
			}
		}
		if wins != 1 {
			t.Fatalf("one challenge %v: %d of %d requests with one code signed in", shared, wins, n)
		}
	}
}

// TestManagement: new recovery codes end the old ones; turning the app off
// ends the second factor; an administrator's reset ends it and every
// login.
func TestManagement(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, mfa.Config{})
	en := e.enrol(t, "alice")
	c := e.claims(t, en.login.AccessToken)
	owner := mfa.Owner{User: en.user, Password: password, Claims: c}

	if _, err := e.m.RegenerateRecoveryCodes(ctx, mfa.Owner{User: en.user, Password: "wrong horse battery", Claims: c}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("with a wrong password: %v", err)
	}
	fresh, err := e.m.RegenerateRecoveryCodes(ctx, owner)
	if err != nil || len(fresh) != 10 {
		t.Fatalf("RegenerateRecoveryCodes: %v, %v", fresh, err)
	}
	_, ch, _ := e.login("alice")
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, RecoveryCode: en.codes[0]}); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("an old recovery code: %v", err)
	}
	if _, err := e.m.Complete(ctx, mfa.Completion{Token: ch.Token, RecoveryCode: fresh[0]}); err != nil {
		t.Fatalf("a new recovery code: %v", err)
	}

	if err := e.m.Disable(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Disable(ctx, owner); !errors.Is(err, mfa.ErrNotEnabled) {
		t.Fatalf("Disable again: %v", err)
	}
	if _, err := e.m.RegenerateRecoveryCodes(ctx, owner); !errors.Is(err, mfa.ErrNotEnabled) {
		t.Fatalf("RegenerateRecoveryCodes without an app: %v", err)
	}
	if p, ch, err := e.login("alice"); err != nil || ch != nil || p == nil {
		t.Fatalf("the password alone once the app is off: %v %v %v", p, ch, err)
	}

	b := e.enrol(t, "bob")
	if err := e.m.Reset(ctx, "nobody", "admin-1", auth.Client{}); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Reset of an unknown user: %v", err)
	}
	if err := e.m.Reset(ctx, b.user.ID, "admin-1", auth.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.a.Authenticate(ctx, b.login.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("bob's login after a reset: %v", err)
	}
	if s, _ := e.m.Status(ctx, b.user.ID); s.TOTP || s.RecoveryCodesLeft != 0 {
		t.Fatalf("bob's status after a reset: %+v", s)
	}
	if e.events.Count(mfa.EventReset) != 1 || e.events.Count(mfa.EventTOTPDisabled) != 1 {
		t.Fatal("the management's events")
	}
}

// TestNew: New refuses a Store without the capability and a Config out of
// bounds.
func TestNew(t *testing.T) {
	onlyStore := struct{ auth.Store }{memory.New()}
	a, err := auth.New(auth.Config{Store: onlyStore, SecretKey: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mfa.New(a, mfa.Config{Key: testKey}); !errors.Is(err, auth.ErrMissingCapability) || !strings.Contains(err.Error(), "mfastore.Store") {
		t.Fatalf("a Store without mfastore.Store: %v", err)
	}
	var _ mfastore.Store = memory.New()
	full, err := auth.New(auth.Config{Store: memory.New(), SecretKey: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		c     mfa.Config
		field string
	}{
		{mfa.Config{}, "Key"},
		{mfa.Config{Key: testKey[:31]}, "Key"},
		{mfa.Config{Key: testKey, ChallengeTTL: 2 * time.Hour}, "ChallengeTTL"},
		{mfa.Config{Key: testKey, ChallengeTTL: -time.Second}, "ChallengeTTL"},
		{mfa.Config{Key: testKey, CodeTries: -1}, "CodeTries"},
		{mfa.Config{Key: testKey, CodeUser: auth.Rate{Burst: -1}}, "CodeUser"},
		{mfa.Config{Key: testKey, Issuer: strings.Repeat("x", 65)}, "Issuer"},
	} {
		if _, err := mfa.New(full, tt.c); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.c, err, tt.field)
		}
	}
}

// appCode is what an authenticator app holding secret (base32) shows at
// now.
func appCode(secret string, now time.Time) string {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		panic(err)
	}
	code, err := mfa.CodeAt(raw, now.Unix()/30)
	if err != nil {
		panic(err)
	}
	return code
}
