package passkey_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/passkey"
	"github.com/goauthkit/auth/passkey/passkeytest"
	"github.com/goauthkit/auth/store/memory"
)

const origin = "http://localhost:8080"

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

type env struct {
	a      *auth.Authenticator
	p      *passkey.Passkeys
	store  *memory.Store
	clock  *authtest.Clock
	events *authtest.Events
	key    *passkeytest.Authenticator
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, passkey.Config{})
}

// newEnvWith is newEnv with c, whose RPID and Origins it sets.
func newEnvWith(t testing.TB, c passkey.Config) *env {
	t.Helper()
	e := &env{store: memory.New(), clock: authtest.NewClock(time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)),
		events: &authtest.Events{}, key: passkeytest.New(origin)}
	a, err := auth.New(auth.Config{Store: e.store, SecretKey: testSecret, Now: e.clock.Now, OnEvent: e.events.Add,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	c.RPID, c.Origins = "localhost", []string{origin}
	p, err := passkey.New(a, c)
	if err != nil {
		t.Fatal(err)
	}
	e.a, e.p = a, p
	return e
}

var ctx = context.Background()

func (e *env) user(t testing.TB, name string) *auth.User {
	t.Helper()
	u, err := e.a.Register(ctx, auth.NewUser{Username: name, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// register adds a passkey of e.key to u, and returns it.
func (e *env) register(t testing.TB, u *auth.User) *passkey.Passkey {
	t.Helper()
	b, err := e.p.BeginRegistration(ctx, u, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := e.key.Create(b.Options)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := e.p.FinishRegistration(ctx, passkey.Registration{User: u, Ceremony: b.Ceremony, Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

// login signs in with e.key's newest passkey.
func (e *env) login(t testing.TB) (*auth.TokenPair, error) {
	t.Helper()
	b, err := e.p.BeginLogin(ctx, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := e.key.Get(b.Options)
	if err != nil {
		t.Fatal(err)
	}
	return e.p.FinishLogin(ctx, passkey.Login{Ceremony: b.Ceremony, Credential: cred, Client: auth.Client{Addr: "192.0.2.1"}})
}

func TestRegisterAndLogin(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "alice")
	pk := e.register(t, u)
	if pk.Name != "Passkey 1" || !pk.LastUsedAt.IsZero() || pk.CreatedAt.IsZero() {
		t.Errorf("registered %+v", pk)
	}
	pair, err := e.login(t)
	if err != nil {
		t.Fatal(err)
	}
	got, claims, err := e.a.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || !slices.Equal(claims.Methods, []string{auth.MethodPossession, auth.MethodMFA}) || claims.AuthTime.IsZero() {
		t.Errorf("login of %s with amr %v, auth_time %v", got.Username, claims.Methods, claims.AuthTime)
	}
	_, keys, err := e.p.List(ctx, u.ID)
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt.IsZero() {
		t.Errorf("List after a login: %+v, %v", keys, err)
	}
	if e.events.Count(passkey.EventAdded) != 1 || e.events.Count(passkey.EventUsed) != 1 {
		t.Errorf("events: %v", e.events.All())
	}
}

func TestLoginOptions(t *testing.T) {
	e := newEnv(t)
	b, err := e.p.BeginLogin(ctx, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal(b.Options, &o); err != nil {
		t.Fatal(err)
	}
	challenge, _ := base64.RawURLEncoding.DecodeString(o["challenge"].(string))
	if allow, ok := o["allowCredentials"].([]any); !ok || len(allow) != 0 || o["userVerification"] != "required" ||
		o["rpId"] != "localhost" || len(challenge) < 16 {
		t.Errorf("login options %s", b.Options)
	}
	u := e.user(t, "alice")
	e.register(t, u)
	r, err := e.p.BeginRegistration(ctx, u, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AuthenticatorSelection map[string]any   `json:"authenticatorSelection"`
		Attestation            string           `json:"attestation"`
		ExcludeCredentials     []map[string]any `json:"excludeCredentials"`
	}
	if err := json.Unmarshal(r.Options, &c); err != nil {
		t.Fatal(err)
	}
	if c.AuthenticatorSelection["residentKey"] != "required" || c.AuthenticatorSelection["userVerification"] != "required" ||
		c.Attestation != "none" || len(c.ExcludeCredentials) != 1 {
		t.Errorf("creation options %s", r.Options)
	}
	// The excluded credential is refused by the authenticator, as a
	// browser refuses it.
	if _, err := e.key.Create(r.Options); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Errorf("Create with an excluded credential: %v", err)
	}
}

// TestLoginRefusals: every way a login's credential is refused, each
// with ErrInvalidCredential (or its own error), none signing anyone in.
func TestLoginRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		before func(e *env)
		tamper func(e *env, cred map[string]any)
		want   error
		reason string
	}{
		{name: "bad signature", before: func(e *env) { e.key.BadSignature = true }, want: passkey.ErrInvalidCredential, reason: "verification"},
		{name: "no user verification", before: func(e *env) { e.key.NoUserVerification = true }, want: passkey.ErrInvalidCredential, reason: "verification"},
		{name: "no user presence", before: func(e *env) { e.key.NoUserPresence = true }, want: passkey.ErrInvalidCredential, reason: "verification"},
		{name: "another user's handle", tamper: func(e *env, cred map[string]any) {
			cred["response"].(map[string]any)["userHandle"] = base64.RawURLEncoding.EncodeToString([]byte("someone else"))
		}, want: passkey.ErrInvalidCredential, reason: "user_handle"},
		{name: "no user handle", tamper: func(e *env, cred map[string]any) {
			delete(cred["response"].(map[string]any), "userHandle")
		}, want: passkey.ErrInvalidCredential, reason: "user_handle"},
		{name: "unknown credential", tamper: func(e *env, cred map[string]any) {
			id := base64.RawURLEncoding.EncodeToString([]byte("not a credential of anyone"))
			cred["id"], cred["rawId"] = id, id
		}, want: passkey.ErrUnknownCredential, reason: "unknown_credential"},
		{name: "wrong origin", before: func(e *env) { e.key.Origin = "http://localhost:9999" }, want: passkey.ErrInvalidCredential, reason: "verification"},
		{name: "malformed", tamper: func(e *env, cred map[string]any) { cred["response"] = "x" }, want: passkey.ErrInvalidCredential, reason: "malformed"},
		{name: "disabled user", before: func(e *env) {
			u, _ := e.store.UserByUsername(ctx, "alice")
			disabled := true
			if _, err := e.store.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: &disabled, Now: e.clock.Now()}); err != nil {
				panic(err)
			}
		}, want: auth.ErrUserDisabled, reason: "disabled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.register(t, e.user(t, "alice"))
			if c.before != nil {
				c.before(e)
			}
			b, err := e.p.BeginLogin(ctx, auth.Client{})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := e.key.Get(b.Options)
			if err != nil {
				t.Fatal(err)
			}
			if c.tamper != nil {
				var cred map[string]any
				if err := json.Unmarshal(raw, &cred); err != nil {
					t.Fatal(err)
				}
				c.tamper(e, cred)
				raw, _ = json.Marshal(cred)
			}
			pair, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: b.Ceremony, Credential: raw, Client: auth.Client{Addr: "192.0.2.1"}})
			if !errors.Is(err, c.want) || pair != nil {
				t.Fatalf("FinishLogin: %v, want %v", err, c.want)
			}
			if ev := e.events.Last(passkey.EventRefused); ev.Reason != c.reason || !ev.Warning {
				t.Errorf("refusal event %+v, want reason %q", ev, c.reason)
			}
			if e.events.Count(auth.EventLoginSucceeded) != 0 {
				t.Error("a refused credential signed in")
			}
		})
	}
}

// TestCeremonies: a ceremony is single-use, bound to its kind and user,
// and expires.
func TestCeremonies(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	e.register(t, alice)

	// Replayed: the second finish of one login ceremony.
	b, _ := e.p.BeginLogin(ctx, auth.Client{})
	cred, _ := e.key.Get(b.Options)
	if _, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: b.Ceremony, Credential: cred}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: b.Ceremony, Credential: cred}); !errors.Is(err, passkey.ErrInvalidCeremony) {
		t.Errorf("a replayed ceremony: %v", err)
	}
	// Expired.
	b, _ = e.p.BeginLogin(ctx, auth.Client{})
	cred, _ = e.key.Get(b.Options)
	e.clock.Advance(5 * time.Minute)
	if _, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: b.Ceremony, Credential: cred}); !errors.Is(err, passkey.ErrInvalidCeremony) {
		t.Errorf("an expired ceremony: %v", err)
	}
	// Of another kind: a registration's ceremony for a login, and a
	// login's for a registration.
	r, _ := e.p.BeginRegistration(ctx, bob, auth.Client{})
	if _, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: r.Ceremony, Credential: cred}); !errors.Is(err, passkey.ErrInvalidCeremony) {
		t.Errorf("a registration's ceremony at a login: %v", err)
	}
	b, _ = e.p.BeginLogin(ctx, auth.Client{})
	created, _ := e.key.Create(b.Options)
	if _, err := e.p.FinishRegistration(ctx, passkey.Registration{User: bob, Ceremony: b.Ceremony, Credential: created}); !errors.Is(err, passkey.ErrInvalidCeremony) {
		t.Errorf("a login's ceremony at a registration: %v", err)
	}
	// Of another user.
	r, _ = e.p.BeginRegistration(ctx, bob, auth.Client{})
	created, _ = e.key.Create(r.Options)
	if _, err := e.p.FinishRegistration(ctx, passkey.Registration{User: alice, Ceremony: r.Ceremony, Credential: created}); !errors.Is(err, passkey.ErrInvalidCeremony) {
		t.Errorf("bob's ceremony finished by alice: %v", err)
	}
	// Unknown, and absurd.
	for _, token := range []string{"", "nope", string(make([]byte, 1<<16))} {
		if _, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: token, Credential: cred}); !errors.Is(err, passkey.ErrInvalidCeremony) {
			t.Errorf("ceremony %.10q: %v", token, err)
		}
	}
}

// TestConcurrentFinish: of many finishes of one ceremony at once, one
// signs in.
func TestConcurrentFinish(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.user(t, "alice"))
	b, _ := e.p.BeginLogin(ctx, auth.Client{})
	cred, _ := e.key.Get(b.Options)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Go(func() {
			if _, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: b.Ceremony, Credential: cred}); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !errors.Is(err, passkey.ErrInvalidCeremony) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d finishes of one ceremony signed in", won)
	}
}

// TestSignCount: a counter of 0 at every use is normal; once non-zero, one
// that does not grow is refused.
func TestSignCount(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.user(t, "alice"))
	for i := range 3 {
		if _, err := e.login(t); err != nil {
			t.Fatalf("login %d with a counter of 0: %v", i, err)
		}
	}
	e.key.Counting = true
	for i := range 2 {
		if _, err := e.login(t); err != nil {
			t.Fatalf("login %d with a growing counter: %v", i, err)
		}
	}
	_, keys, _ := e.p.List(ctx, e.mustUser(t, "alice").ID)
	if err := e.key.SetSignCount(base64.RawURLEncoding.EncodeToString(keys[0].ID), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login(t); !errors.Is(err, passkey.ErrInvalidCredential) { // 1 after 2
		t.Errorf("a counter gone back: %v", err)
	}
	if ev := e.events.Last(passkey.EventRefused); ev.Reason != "sign_count" {
		t.Errorf("refusal %+v", ev)
	}
	e.key.Counting = false
	if _, err := e.login(t); !errors.Is(err, passkey.ErrInvalidCredential) { // 0 after 2
		t.Errorf("a counter back to 0: %v", err)
	}
}

func (e *env) mustUser(t testing.TB, name string) *auth.User {
	t.Helper()
	u, err := e.store.UserByUsername(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestBackupFlags: flags that change between ceremonies are recorded, not
// fatal.
func TestBackupFlags(t *testing.T) {
	e := newEnv(t)
	u := e.user(t, "alice")
	if pk := e.register(t, u); pk.BackedUp {
		t.Errorf("registered %+v", pk)
	}
	e.key.BackupEligible, e.key.BackupState = true, true
	if _, err := e.login(t); err != nil {
		t.Fatalf("a login with BE and BS set: %v", err)
	}
	if _, keys, _ := e.p.List(ctx, u.ID); !keys[0].BackedUp {
		t.Errorf("the backup state was not recorded: %+v", keys[0])
	}
	e.key.BackupEligible, e.key.BackupState = false, false
	if _, err := e.login(t); err != nil {
		t.Fatalf("a login with BE and BS cleared: %v", err)
	}
}

// TestRegisteredOnce: a credential id is registered once, to one user.
func TestRegisteredOnce(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	id := []byte("one credential id, for two users")
	e.key.NextID = id
	e.register(t, alice)
	other := passkeytest.New(origin)
	other.NextID = id
	b, _ := e.p.BeginRegistration(ctx, bob, auth.Client{})
	cred, _ := other.Create(b.Options)
	if _, err := e.p.FinishRegistration(ctx, passkey.Registration{User: bob, Ceremony: b.Ceremony, Credential: cred}); !errors.Is(err, passkey.ErrInvalidCredential) {
		t.Errorf("a credential id registered twice: %v", err)
	}
	// Nor by a sign-up.
	s, err := e.p.BeginSignup(ctx, passkey.Signup{Username: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	other.NextID = id
	cred, _ = other.Create(s.Options)
	if _, _, err := e.p.FinishSignup(ctx, passkey.SignupFinish{Ceremony: s.Ceremony, Credential: cred}); !errors.Is(err, passkey.ErrInvalidCredential) {
		t.Errorf("a sign-up with a registered credential id: %v", err)
	}
	if _, err := e.store.UserByUsername(ctx, "carol"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the refused sign-up created its account: %v", err)
	}
}

func TestSignup(t *testing.T) {
	e := newEnv(t)
	e.user(t, "taken")
	if _, err := e.p.BeginSignup(ctx, passkey.Signup{Username: "Taken"}); !errors.Is(err, auth.ErrUserExists) {
		t.Errorf("a taken name: %v", err)
	}
	if _, err := e.p.BeginSignup(ctx, passkey.Signup{Username: "x\x00"}); !errors.Is(err, auth.ErrInvalidUsername) {
		t.Errorf("an invalid name: %v", err)
	}
	b, err := e.p.BeginSignup(ctx, passkey.Signup{Username: "Dora", Email: "dora@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := e.key.Create(b.Options)
	u, pair, err := e.p.FinishSignup(ctx, passkey.SignupFinish{Ceremony: b.Ceremony, Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "dora" || u.Email != "dora@example.com" || u.PasswordHash != "" {
		t.Errorf("signed up %+v", u)
	}
	if _, claims, err := e.a.Authenticate(ctx, pair.AccessToken); err != nil || !slices.Equal(claims.Methods, []string{"pop", "mfa"}) {
		t.Errorf("the sign-up's tokens: %v, %v", claims, err)
	}
	// No password opens it.
	if _, err := e.a.Login(ctx, auth.Credentials{Username: "dora", Password: ""}); err == nil {
		t.Error("an empty password opened an account without one")
	}
	// Its passkey does.
	if _, err := e.login(t); err != nil {
		t.Errorf("the sign-up's passkey: %v", err)
	}
	// Its only passkey cannot be removed; with a second one, either can.
	_, keys, _ := e.p.List(ctx, u.ID)
	if err := e.p.Remove(ctx, u, keys[0].ID, auth.Client{}); !errors.Is(err, passkey.ErrLastCredential) {
		t.Errorf("removing the last way in: %v", err)
	}
	second := passkeytest.New(origin)
	r, _ := e.p.BeginRegistration(ctx, u, auth.Client{})
	c2, _ := second.Create(r.Options)
	if _, err := e.p.FinishRegistration(ctx, passkey.Registration{User: u, Ceremony: r.Ceremony, Credential: c2, Name: "Laptop"}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Remove(ctx, u, keys[0].ID, auth.Client{}); err != nil {
		t.Errorf("removing one of two: %v", err)
	}
}

// TestSignupRace: a name taken between the options and the finish is
// refused, and nothing of the sign-up is kept.
func TestSignupRace(t *testing.T) {
	e := newEnv(t)
	b, err := e.p.BeginSignup(ctx, passkey.Signup{Username: "erin"})
	if err != nil {
		t.Fatal(err)
	}
	e.user(t, "erin")
	cred, _ := e.key.Create(b.Options)
	if _, _, err := e.p.FinishSignup(ctx, passkey.SignupFinish{Ceremony: b.Ceremony, Credential: cred}); !errors.Is(err, auth.ErrUserExists) {
		t.Fatalf("a name taken meanwhile: %v", err)
	}
	b2, _ := e.p.BeginLogin(ctx, auth.Client{})
	got, _ := e.key.Get(b2.Options)
	if _, err := e.p.FinishLogin(ctx, passkey.Login{Ceremony: b2.Ceremony, Credential: got}); !errors.Is(err, passkey.ErrUnknownCredential) {
		t.Errorf("the refused sign-up's passkey: %v", err)
	}
}

func TestRenameAndRemove(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	pk := e.register(t, alice)
	for _, name := range []string{"", " ", string(make([]rune, 65)), "a\x00b", "tab\there", "\xff"} {
		if _, err := e.p.Rename(ctx, alice, pk.ID, name, auth.Client{}); !errors.Is(err, passkey.ErrInvalidName) {
			t.Errorf("Rename(%q): %v", name, err)
		}
	}
	got, err := e.p.Rename(ctx, alice, pk.ID, "Téléphone 🔑", auth.Client{})
	if err != nil || got.Name != "Téléphone 🔑" {
		t.Errorf("Rename: %+v, %v", got, err)
	}
	if _, err := e.p.Rename(ctx, bob, pk.ID, "mine", auth.Client{}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("renaming another's: %v", err)
	}
	if err := e.p.Remove(ctx, bob, pk.ID, auth.Client{}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("removing another's: %v", err)
	}
	// alice has a password: her only passkey is not her last way in.
	if err := e.p.Remove(ctx, alice, pk.ID, auth.Client{}); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := e.p.Remove(ctx, alice, pk.ID, auth.Client{}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
	if _, err := e.login(t); !errors.Is(err, passkey.ErrUnknownCredential) {
		t.Errorf("a removed passkey: %v", err)
	}
}

// TestLoginBudget: failed passkey logins spend the address's budget of
// failed sign-ins, which passwords share.
func TestLoginBudget(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.user(t, "alice"))
	e.key.BadSignature = true
	var err error
	for i := 0; i < 30; i++ {
		if _, err = e.login(t); errors.Is(err, auth.ErrTooManyAttempts) {
			break
		}
	}
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("30 failed passkey logins: %v", err)
	}
	if _, err := e.a.Login(ctx, auth.Credentials{Username: "alice", Password: "correct horse battery", Client: auth.Client{Addr: "192.0.2.1"}}); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("a password login from that address: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []passkey.Config{
		{Origins: []string{origin}},
		{RPID: "127.0.0.1", Origins: []string{"http://127.0.0.1"}},
		{RPID: "Example.com", Origins: []string{"https://example.com"}},
		{RPID: "example.com"},
		{RPID: "example.com", Origins: []string{"https://evil.com"}},
		{RPID: "example.com", Origins: []string{"https://notexample.com"}},
		{RPID: "example.com", Origins: []string{"http://example.com"}},
		{RPID: "example.com", Origins: []string{"https://example.com/path"}},
		{RPID: "example.com", Origins: []string{"https://example.com"}, CeremonyTTL: 2 * time.Hour},
	} {
		if _, err := passkey.New(a, c); err == nil {
			t.Errorf("New(%+v) took it", c)
		}
	}
	if _, err := passkey.New(a, passkey.Config{RPID: "example.com", Origins: []string{"https://example.com", "https://app.example.com:8443"}}); err != nil {
		t.Error(err)
	}
}

// TestCeremonyBudget: ceremonies begun from one address are bounded,
// logins and registrations together, since each is a store record.
func TestCeremonyBudget(t *testing.T) {
	e := newEnvWith(t, passkey.Config{CeremonyAddress: auth.Rate{Burst: 60, Interval: time.Second}})
	u := e.user(t, "alice")
	client := auth.Client{Addr: "192.0.2.50"}
	for i := range 60 {
		var err error
		if i%2 == 0 {
			_, err = e.p.BeginLogin(ctx, client)
		} else {
			_, err = e.p.BeginRegistration(ctx, u, client)
		}
		if err != nil {
			t.Fatalf("ceremony %d: %v", i, err)
		}
	}
	if _, err := e.p.BeginLogin(ctx, client); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("the 61st login ceremony: %v", err)
	}
	if _, err := e.p.BeginRegistration(ctx, u, client); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("the 61st registration ceremony: %v", err)
	}
	if _, err := e.p.BeginLogin(ctx, auth.Client{Addr: "192.0.2.51"}); err != nil {
		t.Errorf("another address: %v", err)
	}
	e.clock.Advance(time.Second)
	if _, err := e.p.BeginLogin(ctx, client); err != nil {
		t.Errorf("a second later: %v", err)
	}
}
