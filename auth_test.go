package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// eventLog records events for assertions: internal/authtest's Events,
// which this package's own tests cannot import (authtest imports auth: an
// import cycle).
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(_ context.Context, e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) count(t EventType) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Type == t {
			n++
		}
	}
	return n
}

// last returns the last event of type t, or the zero Event.
func (l *eventLog) last(t EventType) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.events) - 1; i >= 0; i-- {
		if l.events[i].Type == t {
			return l.events[i]
		}
	}
	return Event{}
}

type fixture struct {
	a      *Authenticator
	store  memoryStore
	clock  *testClock
	events *eventLog
}

func newFixture(t testing.TB, edit func(c *Config)) *fixture {
	t.Helper()
	f := &fixture{store: newMemoryStore(), clock: newTestClock(), events: &eventLog{}}
	c := Config{Store: f.store, SecretKey: testSecret, Now: f.clock.Now, OnEvent: f.events.add,
		Passwords: PasswordConfig{Hasher: cheapHasher{}}}
	if edit != nil {
		edit(&c)
	}
	a, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	return f
}

func (f *fixture) register(t testing.TB, name, password string) *User {
	t.Helper()
	u, err := f.a.Register(context.Background(), NewUser{Username: name, Password: password})
	if err != nil {
		t.Fatalf("Register(%q): %v", name, err)
	}
	return u
}

func (f *fixture) login(t testing.TB, name, password string) *TokenPair {
	t.Helper()
	p, err := f.a.Login(context.Background(), Credentials{Username: name, Password: password, Client: Client{Addr: "192.0.2.1"}})
	if err != nil {
		t.Fatalf("Login(%q): %v", name, err)
	}
	return p
}

func TestNewRejectsUnsafeConfig(t *testing.T) {
	store := newMemoryStore()
	ks, _ := testKeySet(t)
	tests := []struct {
		name  string
		c     Config
		field string // the field the error must name
	}{
		{"no store", Config{SecretKey: testSecret}, "Config.Store"},
		{"no key", Config{Store: store}, "Config.Keys"},
		{"short secret", Config{Store: store, SecretKey: []byte("too-short-secret")}, "Config.SecretKey"},
		{"keys and secret", Config{Store: store, Keys: ks, SecretKey: testSecret}, "Config.SecretKey"},
		{"negative access TTL", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{AccessTTL: -time.Minute}}, "Config.Tokens.AccessTTL"},
		{"day-long access TTL", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{AccessTTL: 48 * time.Hour}}, "Config.Tokens.AccessTTL"},
		{"negative refresh TTL", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{RefreshTTL: -1}}, "Config.Tokens.RefreshTTL"},
		{"refresh shorter than access", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{AccessTTL: time.Hour, RefreshTTL: time.Minute}}, "Config.Tokens.RefreshTTL"},
		{"negative grace", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{RefreshGrace: -1}}, "Config.Tokens.RefreshGrace"},
		{"long grace", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{RefreshGrace: time.Hour}}, "Config.Tokens.RefreshGrace"},
		{"negative leeway", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{Leeway: -1}}, "Config.Tokens.Leeway"},
		{"weak argon2", Config{Store: store, SecretKey: testSecret, Passwords: PasswordConfig{Hasher: Argon2id{MemoryKiB: 1024}}}, "Config.Passwords.Hasher"},
		{"weak bcrypt", Config{Store: store, SecretKey: testSecret, Passwords: PasswordConfig{Hasher: Bcrypt{Cost: 4}}}, "Config.Passwords.Hasher"},
		{"short passwords", Config{Store: store, SecretKey: testSecret, Passwords: PasswordConfig{Policy: PasswordPolicy{MinLength: 4}}}, "Config.Passwords.Policy"},
		{"negative hash slots", Config{Store: store, SecretKey: testSecret, Passwords: PasswordConfig{MaxConcurrentHashes: -1}}, "Config.Passwords.MaxConcurrentHashes"},
		{"quote in realm", Config{Store: store, SecretKey: testSecret, Tokens: TokenConfig{Realm: `a"b`}}, "Config.Tokens.Realm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.c)
			if err == nil || a != nil {
				t.Fatalf("New accepted an unsafe config")
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New = %q, want it to name %s", err, tc.field)
			}
			if strings.Contains(err.Error(), string(testSecret)) {
				t.Fatal("error contains the secret")
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = nil })
	a := f.a
	if a.accessTTL != 15*time.Minute || a.refreshTTL != 7*24*time.Hour || a.grace != 0 {
		t.Errorf("TTLs %v %v %v", a.accessTTL, a.refreshTTL, a.grace)
	}
	if _, ok := a.hasher.(Argon2id); !ok {
		t.Errorf("default hasher %T, want Argon2id", a.hasher)
	}
	if a.issuer != "goauthkit" || a.audience != "goauthkit" || a.verifier.leeway != 30*time.Second {
		t.Errorf("issuer %q audience %q leeway %v", a.issuer, a.audience, a.verifier.leeway)
	}
	if a.hashGate.capacity() < 1 {
		t.Error("no hash slots")
	}
}

func TestRegister(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "  Alice ", "correct horse battery")
	if u.Username != "alice" || u.ID == "" || u.PasswordHash == "" || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("registered %+v", u)
	}
	tests := []struct {
		name string
		n    NewUser
		want error
	}{
		{"same name", NewUser{Username: "alice", Password: "another good one"}, ErrUserExists},
		{"upper case", NewUser{Username: "ALICE", Password: "another good one"}, ErrUserExists},
		{"full-width", NewUser{Username: "ａｌｉｃｅ", Password: "another good one"}, ErrUserExists},
		{"too short name", NewUser{Username: "al", Password: "another good one"}, ErrInvalidUsername},
		{"cyrillic a", NewUser{Username: "аlice", Password: "another good one"}, ErrInvalidUsername},
		{"space inside", NewUser{Username: "al ice", Password: "another good one"}, ErrInvalidUsername},
		{"65 chars", NewUser{Username: strings.Repeat("a", 65), Password: "another good one"}, ErrInvalidUsername},
		{"short password", NewUser{Username: "bob", Password: "short"}, ErrInvalidPassword},
		{"common password", NewUser{Username: "bob", Password: "Password1"}, ErrInvalidPassword},
		{"NUL password", NewUser{Username: "bob", Password: "abc\x00defghij"}, ErrInvalidPassword},
		{"long password", NewUser{Username: "bob", Password: strings.Repeat("x", 1025)}, ErrInvalidPassword},
		{"bad email", NewUser{Username: "bob", Password: "another good one", Email: "not an email"}, ErrInvalidEmail},
		{"email with name", NewUser{Username: "bob", Password: "another good one", Email: "Bob <bob@example.com>"}, ErrInvalidEmail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.a.Register(ctx, tc.n)
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("Register = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := f.store.UserByUsername(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatal("a refused registration left a user behind")
	}
	// 1024 bytes, non-ASCII, and email are fine.
	long := strings.Repeat("é", 512)
	b, err := f.a.Register(ctx, NewUser{Username: "bob", Password: long, Email: "bob@example.com"})
	if err != nil || b.Email != "bob@example.com" {
		t.Fatalf("Register(bob) = %v", err)
	}
	f.login(t, "bob", long)
}

// countingHasher counts Verify calls and the hashes they were given.
type countingHasher struct {
	Hasher
	mu     sync.Mutex
	hashes []string
}

func (h *countingHasher) Verify(password, encoded string) error {
	h.mu.Lock()
	h.hashes = append(h.hashes, encoded)
	h.mu.Unlock()
	return h.Hasher.Verify(password, encoded)
}

func TestLoginNoEnumeration(t *testing.T) {
	h := &countingHasher{Hasher: Argon2id{}}
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = h })
	f.register(t, "alice", "correct horse battery")
	ctx := context.Background()

	_, errWrong := f.a.Login(ctx, Credentials{Username: "alice", Password: "wrong password!"})
	_, errUnknown := f.a.Login(ctx, Credentials{Username: "mallory", Password: "wrong password!"})
	if errWrong != ErrInvalidCredentials || errUnknown != ErrInvalidCredentials {
		t.Fatalf("wrong password: %v; unknown user: %v; want ErrInvalidCredentials for both", errWrong, errUnknown)
	}
	// Both paths pay for one argon2id verification of the same cost: the
	// unknown user against the dummy hash.
	if len(h.hashes) != 2 {
		t.Fatalf("%d verifications, want 2", len(h.hashes))
	}
	if h.hashes[1] != f.a.dummyHash || !strings.HasPrefix(h.hashes[1], "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unknown user verified against %q, want the dummy hash at the configured cost", h.hashes[1])
	}
	if f.events.count(EventLoginFailed) != 2 {
		t.Fatal("failed logins were not reported")
	}
}

func TestLoginDisabled(t *testing.T) {
	f := newFixture(t, nil)
	u := f.register(t, "alice", "correct horse battery")
	if _, err := f.store.ChangeUser(context.Background(), u.ID, UserChange{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	_, err := f.a.Login(context.Background(), Credentials{Username: "alice", Password: "wrong password!"})
	if err != ErrInvalidCredentials {
		t.Fatalf("disabled user, wrong password = %v, want ErrInvalidCredentials", err)
	}
	_, err = f.a.Login(context.Background(), Credentials{Username: "alice", Password: "correct horse battery"})
	if !errors.Is(err, ErrUserDisabled) {
		t.Fatalf("disabled user, right password = %v, want ErrUserDisabled", err)
	}
}

// unvalidated is a Hasher that New does not validate (it has no validate
// method), so that a test can configure the built-in hashers at costs New
// would refuse.
type unvalidated struct{ Hasher }

func TestLoginRehashesOutdatedHashes(t *testing.T) {
	ctx := context.Background()
	// The rehashing logic compares parameters, whatever their size: the
	// lowest costs (bcrypt 4 and 5, argon2id m=64 and 128 KiB) test it as
	// the defaults would, at a hundredth of the cost (bcrypt is ten times
	// slower under the race detector).
	cheapest := fastArgon2id()
	stronger := Argon2id{MemoryKiB: 128, Time: 1}
	tests := []struct {
		name    string
		stored  Hasher
		current Hasher
		prefix  string
		rehash  int // EventPasswordRehashed
	}{
		{"bcrypt to argon2id", Bcrypt{Cost: 4}, unvalidated{cheapest}, "$argon2id$v=19$m=64,t=1,p=1$", 1},
		// Bcrypt never moves a hash to another scheme (AUTH_PASSWORD_SCHEME=bcrypt).
		{"argon2id kept by bcrypt", cheapest, unvalidated{Bcrypt{Cost: 4}}, "$argon2id$v=19$m=64,t=1,p=1$", 0},
		{"bcrypt to a higher cost", Bcrypt{Cost: 4}, unvalidated{Bcrypt{Cost: 5}}, "$2a$05$", 1},
		{"weaker argon2id", cheapest, unvalidated{stronger}, "$argon2id$v=19$m=128,t=1,p=1$", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Passwords.Hasher = tc.current })
			old, err := tc.stored.Hash("correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			u := &User{ID: "u1", Username: "alice", PasswordHash: old}
			if err := f.store.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			f.login(t, "alice", "correct horse battery")
			got, _ := f.store.UserByID(ctx, "u1")
			if !strings.HasPrefix(got.PasswordHash, tc.prefix) {
				t.Fatalf("hash after login %.30q..., want prefix %q", got.PasswordHash, tc.prefix)
			}
			if n := f.events.count(EventPasswordRehashed); n != tc.rehash {
				t.Fatalf("%d rehash events, want %d", n, tc.rehash)
			}
			f.login(t, "alice", "correct horse battery")
			if n := f.events.count(EventPasswordRehashed); n != tc.rehash {
				t.Fatal("rehashed an up-to-date hash")
			}
		})
	}
}

// TestLoginLimiter: failures lock out the username from the address that
// made them, and the address; many addresses together lock out only
// clients unfamiliar to the account (v3: nobody can keep the owner out by
// failing in the owner's name).
func TestLoginLimiter(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limiter = nil // the default, on the fixture's clock
	})
	f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	login := func(name, password, addr, device string) error {
		_, err := f.a.Login(ctx, Credentials{Username: name, Password: password, Device: device, Client: Client{Addr: addr}})
		return err
	}
	for i := range 5 {
		if err := login("Alice", fmt.Sprint("guess ", i), "192.0.2.9", ""); err != ErrInvalidCredentials {
			t.Fatalf("guess %d = %v", i, err)
		}
	}
	// The sixth attempt from that address is refused, even with the right
	// password, and whatever the case of the username.
	err := login("ALICE", "correct horse battery", "192.0.2.9", "")
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("sixth attempt = %v, want a *RateLimitError", err)
	}
	if rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
		t.Fatalf("RetryAfter = %v", rl.RetryAfter)
	}
	// Another address is not kept out by them.
	if err := login("alice", "correct horse battery", "192.0.2.10", ""); err != nil {
		t.Fatalf("the owner from another address: %v", err)
	}
	f.clock.Advance(rl.RetryAfter)
	if err := login("alice", "correct horse battery", "192.0.2.9", ""); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	// Success forgave that address's failures of the username.
	for i := range 5 {
		if err := login("alice", "nope nope nope", "192.0.2.9", ""); err != ErrInvalidCredentials {
			t.Fatalf("failure %d after a success = %v", i, err)
		}
	}
	if err := login("alice", "nope", "192.0.2.9", ""); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("after 5 more failures = %v", err)
	}

	// Failures from many addresses spend the username's budget over all
	// of them (20, less the 5 above from an address then unfamiliar)...
	f.clock.Advance(time.Hour)
	device := "dev-" + strings.Repeat("x", 40)
	if err := login("alice", "correct horse battery", "198.51.100.1", device); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := login("alice", "wrong password", fmt.Sprintf("203.0.113.%d", i), ""); err != ErrInvalidCredentials {
			t.Fatalf("distributed guess %d = %v", i, err)
		}
	}
	// ...which refuses a client unfamiliar to the account,
	if err := login("alice", "correct horse battery", "203.0.113.200", ""); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("an unfamiliar address after 20 distributed failures = %v, want refused", err)
	}
	if err := login("nobody", "correct horse battery", "203.0.113.201", ""); err != ErrInvalidCredentials {
		t.Fatalf("another name = %v", err)
	}
	// but not the addresses the account signed in from,
	for _, addr := range []string{"192.0.2.10", "192.0.2.9", "198.51.100.1"} {
		if err := login("alice", "correct horse battery", addr, ""); err != nil {
			t.Fatalf("a familiar address %s: %v", addr, err)
		}
	}
	// nor a browser holding a device value it signed in with, from anywhere;
	if err := login("alice", "correct horse battery", "203.0.113.202", device); err != nil {
		t.Fatalf("a familiar device from a new address: %v", err)
	}
	// the device value is bound to the account it signed in to.
	f.register(t, "bob", "correct horse battery")
	for i := range 20 {
		_ = login("bob", "wrong password", fmt.Sprintf("203.0.113.%d", 100+i), "")
	}
	if err := login("bob", "correct horse battery", "203.0.113.203", device); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("alice's device value for bob = %v, want refused", err)
	}
	if got := f.events.count(EventLoginThrottled); got != 4 {
		t.Fatalf("%d throttle events, want 4", got)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	f := newFixture(t, nil)
	f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	p1 := f.login(t, "alice", "correct horse battery")
	other := f.login(t, "alice", "correct horse battery")

	p2, err := f.a.Refresh(ctx, Client{}, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p2.RefreshToken == p1.RefreshToken || p2.AccessToken == p1.AccessToken {
		t.Fatal("refresh returned the same tokens")
	}
	p3, err := f.a.Refresh(ctx, Client{}, p2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// p1 is spent: reuse revokes the family, the newest token included.
	_, err = f.a.Refresh(ctx, Client{}, p1.RefreshToken)
	if !errors.Is(err, ErrRefreshReuse) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("reuse = %v", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, p3.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("newest token after reuse = %v", err)
	}
	if f.events.count(EventRefreshReuse) != 1 {
		t.Fatal("reuse was not reported")
	}
	// The other login is another family and lives on.
	if _, err := f.a.Refresh(ctx, Client{}, other.RefreshToken); err != nil {
		t.Fatalf("other family: %v", err)
	}
	// The family's access tokens end with it, at once; the other family's
	// live on.
	for _, tok := range []string{p1.AccessToken, p3.AccessToken} {
		if _, _, err := f.a.Authenticate(ctx, tok); !errors.Is(err, ErrTokenRevoked) || !errors.Is(err, ErrSessionRevoked) {
			t.Fatalf("access token after family revocation = %v, want ErrTokenRevoked", err)
		}
	}
	if _, _, err := f.a.Authenticate(ctx, other.AccessToken); err != nil {
		t.Fatalf("access token of the other family: %v", err)
	}
}

func TestRefreshTypeConfusionAndExpiry(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Tokens.RefreshTTL = time.Hour })
	f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	p := f.login(t, "alice", "correct horse battery")
	if _, err := f.a.Refresh(ctx, Client{}, p.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("access token as refresh token = %v", err)
	}
	if _, _, err := f.a.Authenticate(ctx, p.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("refresh token as access token = %v", err)
	}
	for _, bad := range []string{"", "garbage", p.RefreshToken + "x", strings.Repeat("a.", 5000)} {
		if _, err := f.a.Refresh(ctx, Client{}, bad); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("Refresh(%.20q) = %v", bad, err)
		}
	}
	f.clock.Advance(time.Hour + time.Minute)
	if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired refresh token = %v", err)
	}
}

func TestRefreshGrace(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Tokens.RefreshGrace = 10 * time.Second })
	f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	p1 := f.login(t, "alice", "correct horse battery")
	if _, err := f.a.Refresh(ctx, Client{}, p1.RefreshToken); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Second)
	p3, err := f.a.Refresh(ctx, Client{}, p1.RefreshToken) // the response to the first was lost
	if err != nil {
		t.Fatalf("retry within grace: %v", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, p3.RefreshToken); err != nil {
		t.Fatalf("token from the grace exchange: %v", err)
	}
}

func TestConcurrentRefreshOneWinner(t *testing.T) {
	f := newFixture(t, nil)
	f.register(t, "alice", "correct horse battery")
	p := f.login(t, "alice", "correct horse battery")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.a.Refresh(context.Background(), Client{}, p.RefreshToken); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("loser got %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent refreshes won, want 1", wins.Load())
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Tokens.RefreshTTL = time.Hour })
	f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	p := f.login(t, "alice", "correct horse battery")
	other := f.login(t, "alice", "correct horse battery")
	p2, err := f.a.Refresh(ctx, Client{}, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// Logging out with any token of the family ends the family.
	if err := f.a.Logout(ctx, Client{}, p.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, p2.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("refresh after logout = %v", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, other.RefreshToken); err != nil {
		t.Fatalf("other session after logout: %v", err)
	}
	if err := f.a.Logout(ctx, Client{}, "not a token"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Logout(garbage) = %v", err)
	}
	if err := f.a.Logout(ctx, Client{}, p2.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Logout(access token) = %v", err)
	}
	// An expired refresh token still logs out.
	p3 := f.login(t, "alice", "correct horse battery")
	f.clock.Advance(2 * time.Hour)
	if err := f.a.Logout(ctx, Client{}, p3.RefreshToken); err != nil {
		t.Fatalf("Logout(expired) = %v", err)
	}
}

func TestLogoutAllEndsTokensAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	u := f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	p := f.login(t, "alice", "correct horse battery")
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Same clock instant: a timestamp comparison could not tell these apart.
	if err := f.a.LogoutAll(ctx, Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("access token after logout-all = %v", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("refresh token after logout-all = %v", err)
	}
	q := f.login(t, "alice", "correct horse battery")
	if _, _, err := f.a.Authenticate(ctx, q.AccessToken); err != nil {
		t.Fatalf("new login after logout-all: %v", err)
	}
	if err := f.a.LogoutAll(ctx, Client{}, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LogoutAll(unknown) = %v", err)
	}
}

// A login that read the user before a logout-all, and opened its session
// after, must not yield working tokens.
func TestLoginRacingLogoutAll(t *testing.T) {
	f := newFixture(t, nil)
	u := f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	stale, _ := f.store.UserByID(ctx, u.ID)
	if err := f.a.LogoutAll(ctx, Client{}, u.ID); err != nil {
		t.Fatal(err)
	}
	pair, _, err := f.a.openSession(ctx, stale, Client{}, passwordMethods)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.Authenticate(ctx, pair.AccessToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("stale access token = %v", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, pair.RefreshToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("stale refresh token = %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t, nil)
	u := f.register(t, "alice", "correct horse battery")
	ctx := context.Background()
	p := f.login(t, "alice", "correct horse battery")

	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "wrong current pw", New: "a brand new one"}); err != ErrInvalidCredentials {
		t.Fatalf("wrong current = %v", err)
	}
	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "short"}); !errors.Is(err, ErrPasswordTooShort) {
		t.Fatalf("weak new password = %v", err)
	}
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); err != nil {
		t.Fatalf("failed changes ended the session: %v", err)
	}
	if err := f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "a brand new one"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("access token after password change = %v", err)
	}
	if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("refresh token after password change = %v", err)
	}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery"}); err != ErrInvalidCredentials {
		t.Fatalf("old password = %v", err)
	}
	f.login(t, "alice", "a brand new one")
	if f.events.count(EventPasswordChanged) != 1 {
		t.Fatal("no password_changed event")
	}
}

func TestAuthenticateUserState(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice", "correct horse battery")
	p := f.login(t, "alice", "correct horse battery")
	got, c, err := f.a.Authenticate(ctx, p.AccessToken)
	if err != nil || got.ID != u.ID || c.Subject != u.ID {
		t.Fatalf("Authenticate = %v", err)
	}
	if c.Subject == "alice" {
		t.Fatal("sub is the username")
	}
	_, _ = f.store.ChangeUser(ctx, u.ID, UserChange{Disabled: ptr(true)})
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrUserDisabled) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("disabled user = %v", err)
	}
	_ = f.store.DeleteUser(ctx, u.ID)
	if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("deleted user = %v", err)
	}
}

func TestExtraClaims(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Tokens.ExtraClaims = func(_ context.Context, u *User) (map[string]any, error) {
			return map[string]any{"name": u.Username, "roles": u.Roles}, nil
		}
	})
	ctx := context.Background()
	if _, err := f.a.Register(ctx, NewUser{Username: "alice", Password: "correct horse battery", Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	p := f.login(t, "alice", "correct horse battery")
	_, c, err := f.a.Authenticate(ctx, p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	if ok, err := c.Claim("roles", &roles); !ok || err != nil || len(roles) != 1 || roles[0] != "admin" {
		t.Fatalf("roles claim = %v %v %v", ok, err, roles)
	}

	g := newFixture(t, func(c *Config) {
		c.Tokens.ExtraClaims = func(context.Context, *User) (map[string]any, error) { return map[string]any{"sub": "admin"}, nil }
	})
	g.register(t, "alice", "correct horse battery")
	if _, err := g.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery"}); err == nil {
		t.Fatal("a custom claim overrode sub")
	}
}

// blockingHasher blocks every Verify until released.
type blockingHasher struct {
	Argon2id
	entered chan struct{}
	release chan struct{}
}

func (h *blockingHasher) Verify(password, encoded string) error {
	h.entered <- struct{}{}
	<-h.release
	return h.Argon2id.Verify(password, encoded)
}

func TestHashConcurrencyBound(t *testing.T) {
	h := &blockingHasher{entered: make(chan struct{}, 10), release: make(chan struct{})}
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = h; c.Passwords.MaxConcurrentHashes = 1 })
	f.register(t, "alice", "correct horse battery")

	done := make(chan error, 1)
	go func() {
		_, err := f.a.Login(context.Background(), Credentials{Username: "alice", Password: "correct horse battery"})
		done <- err
	}()
	<-h.entered // the first login holds the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.a.Login(ctx, Credentials{Username: "bob", Password: "whatever it is"})
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second login while the slot is taken = %v, want ErrBusy", err)
	}
	close(h.release)
	if err := <-done; err != nil {
		t.Fatalf("first login: %v", err)
	}
}

// TestEventsCarryNoSecrets runs every flow and checks that no event holds a
// password, a hash or a token.
func TestEventsCarryNoSecrets(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice", "correct horse battery")
	p := f.login(t, "alice", "correct horse battery")
	_, _ = f.a.Login(ctx, Credentials{Username: "alice", Password: "wrong password here"})
	p2, _ := f.a.Refresh(ctx, Client{}, p.RefreshToken)
	_, _ = f.a.Refresh(ctx, Client{}, p.RefreshToken)
	_ = f.a.ChangePassword(ctx, PasswordChange{UserID: u.ID, Current: "correct horse battery", New: "new password here"})
	_ = f.a.LogoutAll(ctx, Client{}, u.ID)
	secrets := []string{"correct horse battery", "wrong password here", "new password here", p.AccessToken, p.RefreshToken, p2.AccessToken, p2.RefreshToken, u.PasswordHash, string(testSecret)}
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	if len(f.events.events) < 6 {
		t.Fatalf("only %d events", len(f.events.events))
	}
	for _, e := range f.events.events {
		s := fmt.Sprintf("%+v", e)
		for _, secret := range secrets {
			if secret != "" && strings.Contains(s, secret) {
				t.Fatalf("event %s contains a secret", e.Type)
			}
		}
	}
}

func TestNormalizeUsername(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Alice", "alice"},
		{"  alice\t", "alice"},
		{"ａｌｉｃｅ", "alice"},
		{"\u3000alice\u3000", "alice"},
		{"ÅSA", "åsa"},
		{"A\u030a", "å"}, // decomposed
		{"ﬁne", "fine"},  // ligature
	}
	for _, tc := range tests {
		if got := NormalizeUsername(tc.in); got != tc.want {
			t.Errorf("NormalizeUsername(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// slowHasher is plainHasher whose Verify takes a while and is counted, so
// that concurrent logins overlap.
type slowHasher struct {
	plainHasher
	verifies atomic.Int64
	inFlight atomic.Int64
	maxSeen  atomic.Int64
}

func (h *slowHasher) Verify(password, encoded string) error {
	h.verifies.Add(1)
	n := h.inFlight.Add(1)
	for m := h.maxSeen.Load(); n > m && !h.maxSeen.CompareAndSwap(m, n); m = h.maxSeen.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	h.inFlight.Add(-1)
	return h.plainHasher.Verify(password, encoded)
}

// TestLoginGuessesNotLogins: concurrent right passwords of one user from
// one address all succeed; concurrent wrong ones never get more password
// checks in flight or failed than the username's budget.
func TestLoginGuessesNotLogins(t *testing.T) {
	tests := []struct {
		name        string
		n           int
		password    string
		wantOK      int
		wantChecks  int // at most
		wantRefused bool
	}{
		{"8 right passwords at once", 8, "correct horse battery", 8, 8, false},
		{"20 right passwords at once", 20, "correct horse battery", 20, 20, false},
		{"30 wrong passwords at once", 30, "wrong password!", 0, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &slowHasher{}
			f := newFixture(t, func(c *Config) { c.Passwords.Hasher = h; c.Passwords.MaxConcurrentHashes = 64; c.Limiter = nil })
			f.register(t, "alice", "correct horse battery")
			h.verifies.Store(0)
			var ok, refused atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range tt.n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := f.a.Login(context.Background(), Credentials{Username: "alice", Password: tt.password, Client: Client{Addr: "192.0.2.1"}})
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrTooManyAttempts):
						refused.Add(1)
					case errors.Is(err, ErrInvalidCredentials):
					default:
						t.Errorf("Login: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if int(ok.Load()) != tt.wantOK || int(h.verifies.Load()) > tt.wantChecks || (refused.Load() > 0) != tt.wantRefused {
				t.Fatalf("%d succeeded, %d refused, %d password checks (at most %d in flight); want %d succeeded, at most %d checks",
					ok.Load(), refused.Load(), h.verifies.Load(), h.maxSeen.Load(), tt.wantOK, tt.wantChecks)
			}
			if h.maxSeen.Load() > 5 {
				t.Fatalf("%d password checks of one username in flight at once, want at most 5", h.maxSeen.Load())
			}
		})
	}
}

// TestLoginInputBounds: over-long and unstorable login input is refused
// before any normalisation, hashing, store or limiter work.
func TestLoginInputBounds(t *testing.T) {
	expanding := strings.Repeat("\uFDFA", 106) // 318 bytes; NFKC makes each 18 characters
	tests := []struct {
		name     string
		username string
		password string
		want     error
		checks   int // password checks expected
	}{
		{"name of 321 bytes", strings.Repeat("a", 321), "correct horse battery", ErrInvalidInput, 0},
		{"name of 60 KB of U+FDFA", strings.Repeat("\uFDFA", 20_000), "correct horse battery", ErrInvalidInput, 0},
		{"name with a NUL", "ali\x00ce", "correct horse battery", ErrInvalidInput, 0},
		{"name not UTF-8", "ali\xffce", "correct horse battery", ErrInvalidInput, 0},
		{"password of 1025 bytes", "alice", strings.Repeat("p", 1025), ErrInvalidCredentials, 0},
		{"name of 318 bytes expanding under NFKC", expanding, "correct horse battery", ErrInvalidCredentials, 1},
		{"name of 320 bytes", strings.Repeat("a", 320), "correct horse battery", ErrInvalidCredentials, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &slowHasher{}
			lim := NewMemoryLimiter(LimiterConfig{})
			f := newFixture(t, func(c *Config) { c.Passwords.Hasher = h; c.Limiter = lim })
			f.register(t, "alice", "correct horse battery")
			h.verifies.Store(0)
			_, err := f.a.Login(context.Background(), Credentials{Username: tt.username, Password: tt.password, Client: Client{Addr: "192.0.2.1"}})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Login = %v, want %v", err, tt.want)
			}
			if got := int(h.verifies.Load()); got != tt.checks {
				t.Fatalf("%d password checks, want %d", got, tt.checks)
			}
			if wantKeys := 3 * tt.checks; lim.Len() != wantKeys { // the address, the name from it, the name
				t.Fatalf("the limiter remembers %d budgets, want %d", lim.Len(), wantKeys)
			}
		})
	}
}

// TestLoginDisabledAccounting: a disabled account answers the same and
// costs the same budget whether or not its password is right.
func TestLoginDisabledAccounting(t *testing.T) {
	for _, password := range []string{"correct horse battery", "wrong password!"} {
		t.Run(password, func(t *testing.T) {
			h := &countingHasher{Hasher: plainHasher{}}
			f := newFixture(t, func(c *Config) { c.Passwords.Hasher = h; c.Limiter = nil })
			u := f.register(t, "alice", "correct horse battery")
			if _, err := f.store.ChangeUser(context.Background(), u.ID, UserChange{Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				_, err := f.a.Login(context.Background(), Credentials{Username: "alice", Password: password})
				if !errors.Is(err, ErrUserDisabled) && !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("attempt %d = %v", i, err)
				}
			}
			if _, err := f.a.Login(context.Background(), Credentials{Username: "alice", Password: password}); !errors.Is(err, ErrTooManyAttempts) {
				t.Fatalf("sixth attempt on a disabled account = %v, want ErrTooManyAttempts", err)
			}
			if f.events.count(EventPasswordRehashed) != 0 {
				t.Fatal("a disabled account's hash was upgraded")
			}
		})
	}
}

// TestRegisterLimit: registrations are limited per client address,
// whatever their outcome.
func TestRegisterLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{}; c.Limiter = nil })
	ctx := context.Background()
	f.register(t, "taken", "correct horse battery")
	for i := range 20 {
		_, err := f.a.Register(ctx, NewUser{Username: "taken", Password: "correct horse battery", Client: Client{Addr: "192.0.2.1"}})
		if !errors.Is(err, ErrUserExists) {
			t.Fatalf("signup %d = %v, want ErrUserExists", i, err)
		}
	}
	_, err := f.a.Register(ctx, NewUser{Username: "fresh", Password: "correct horse battery", Client: Client{Addr: "192.0.2.1"}})
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 6*time.Second {
		t.Fatalf("21st signup from one address = %v, want a *RateLimitError of 6s", err)
	}
	if _, err := f.a.Register(ctx, NewUser{Username: "fresh", Password: "correct horse battery", Client: Client{Addr: "192.0.2.2"}}); err != nil {
		t.Fatalf("signup from another address: %v", err)
	}
	f.clock.Advance(6 * time.Second)
	if _, err := f.a.Register(ctx, NewUser{Username: "fresh2", Password: "correct horse battery", Client: Client{Addr: "192.0.2.1"}}); err != nil {
		t.Fatalf("signup 6 s later: %v", err)
	}
	if _, err := f.a.Register(ctx, NewUser{Username: strings.Repeat("a", 321), Password: "correct horse battery"}); !errors.Is(err, ErrInvalidUsername) {
		t.Fatalf("321-byte username = %v, want ErrInvalidUsername", err)
	}
}

// TestLogoutEndsAccessTokens: /logout, reuse detection and a revoked
// session end the family's access tokens at once, and no other family's.
func TestLogoutEndsAccessTokens(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		end  func(f *fixture, p *TokenPair) error
	}{
		{"Logout", func(f *fixture, p *TokenPair) error { return f.a.Logout(ctx, Client{}, p.RefreshToken) }},
		{"reuse detected", func(f *fixture, p *TokenPair) error {
			if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); err != nil {
				return err
			}
			if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); !errors.Is(err, ErrRefreshReuse) {
				return fmt.Errorf("reuse = %v", err)
			}
			return nil
		}},
		{"session revoked in the store", func(f *fixture, p *TokenPair) error {
			c, err := f.a.verifier.verifyRefresh(ctx, p.RefreshToken, false)
			if err != nil {
				return err
			}
			return f.store.RevokeSession(ctx, c.SessionID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Passwords.Hasher = plainHasher{} })
			f.register(t, "alice", "correct horse battery")
			p, other := f.login(t, "alice", "correct horse battery"), f.login(t, "alice", "correct horse battery")
			c, err := f.a.Verifier().Verify(ctx, p.AccessToken)
			if err != nil || c.SessionID == "" {
				t.Fatalf("access token claims %+v, %v: want a sid", c, err)
			}
			if _, _, err := f.a.Authenticate(ctx, p.AccessToken); err != nil { // cached now
				t.Fatal(err)
			}
			if err := tt.end(f, p); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrTokenRevoked) {
				t.Fatalf("access token after %s = %v, want ErrTokenRevoked", tt.name, err)
			}
			if _, _, err := f.a.Authenticate(ctx, other.AccessToken); err != nil {
				t.Fatalf("the other login's access token: %v", err)
			}
		})
	}
}

// TestRefreshGraceSameHead: within the grace period, a just-rotated token
// gets the very refresh token its first presentation received, under every
// algorithm; concurrent presentations all get it; an older token, or one
// past grace, is reuse and ends the family.
func TestRefreshGraceSameHead(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{"HS256", "EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.Passwords.Hasher = plainHasher{}
				c.Tokens.RefreshGrace = 10 * time.Second
				if alg != "HS256" {
					ks, err := NewKeySet(testAsymKey(t, alg))
					if err != nil {
						t.Fatal(err)
					}
					c.SecretKey, c.Keys = nil, ks
				}
			})
			f.register(t, "alice", "correct horse battery")
			p1 := f.login(t, "alice", "correct horse battery")
			f.clock.Advance(time.Second)
			p2, err := f.a.Refresh(ctx, Client{}, p1.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(5 * time.Second)
			const n = 10
			heads := make([]*TokenPair, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					heads[i], errs[i] = f.a.Refresh(ctx, Client{}, p1.RefreshToken) // the answer to the first was lost
				}()
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("presentation %d within grace: %v", i, errs[i])
				}
				if heads[i].RefreshToken != p2.RefreshToken || !heads[i].RefreshExpiresAt.Equal(p2.RefreshExpiresAt) {
					t.Fatalf("presentation %d got another refresh token than the head", i)
				}
				if heads[i].AccessToken == p2.AccessToken {
					t.Fatalf("presentation %d got the head's access token, want a fresh one", i)
				}
				if _, _, err := f.a.Authenticate(ctx, heads[i].AccessToken); err != nil {
					t.Fatalf("access token of presentation %d: %v", i, err)
				}
			}
			// The head rotates on; then p1 is older than the head's
			// predecessor: reuse, within grace or not.
			p3, err := f.a.Refresh(ctx, Client{}, p2.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.a.Refresh(ctx, Client{}, p1.RefreshToken); !errors.Is(err, ErrRefreshReuse) {
				t.Fatalf("a token older than the head's predecessor = %v, want ErrRefreshReuse", err)
			}
			if _, _, err := f.a.Authenticate(ctx, p3.AccessToken); !errors.Is(err, ErrTokenRevoked) {
				t.Fatalf("the family's access token after reuse = %v, want ErrTokenRevoked", err)
			}

			// Past the grace period, the just-rotated token is reuse.
			q1 := f.login(t, "alice", "correct horse battery")
			if _, err := f.a.Refresh(ctx, Client{}, q1.RefreshToken); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(11 * time.Second)
			if _, err := f.a.Refresh(ctx, Client{}, q1.RefreshToken); !errors.Is(err, ErrRefreshReuse) {
				t.Fatalf("a rotated token past grace = %v, want ErrRefreshReuse", err)
			}
		})
	}
}

// TestNewErrorsReadable: every error of New names its Config field once,
// with one "auth:" prefix.
func TestNewErrorsReadable(t *testing.T) {
	store := newMemoryStore()
	for _, c := range []Config{
		{Store: store, SecretKey: []byte("short")},
		{Store: store, SecretKey: testSecret, Passwords: PasswordConfig{Hasher: Argon2id{MemoryKiB: 1024}}},
		{Store: store, SecretKey: testSecret, Tokens: TokenConfig{Leeway: time.Hour}},
		{Store: store, SecretKey: testSecret, Limits: Limits{LoginUserAddress: Rate{Burst: -1}}},
	} {
		_, err := New(c)
		if err == nil {
			t.Fatalf("New(%+v) succeeded", c)
		}
		if strings.Count(err.Error(), "auth:") != 1 || !strings.Contains(err.Error(), "Config.") {
			t.Errorf("New error %q: want one auth: prefix and the Config field", err)
		}
	}
	_, err := New(Config{Store: store, SecretKey: []byte("short")})
	if !errors.Is(err, ErrWeakKey) || !strings.Contains(err.Error(), "openssl rand -hex 32") {
		t.Errorf("short key error %q: want ErrWeakKey and the openssl hint", err)
	}
}

// cheapHasher is Argon2id at its lowest cost (m=64 KiB, t=1): real
// argon2id hashes, in the defaults' format, for a thousandth of their cost.
// It is newFixture's hasher: most tests' subject is not hashing, and they
// would spend most of their time in it (one hash at the defaults is 19 MiB
// of memory). New refuses Argon2id{MemoryKiB: 64} itself; this type, having
// no validate method, passes. Tests of hashing set a hasher of their own.
type cheapHasher struct{}

func (cheapHasher) Hash(p string) (string, error)  { return fastArgon2id().Hash(p) }
func (cheapHasher) Verify(p, encoded string) error { return fastArgon2id().Verify(p, encoded) }
func (cheapHasher) NeedsRehash(encoded string) bool {
	return fastArgon2id().NeedsRehash(encoded)
}

// plainHasher is a fast, insecure Hasher for tests whose subject is not
// hashing, where the cost of a real hash would only slow them down:
// internal/authtest's PlainHasher (the same hashes), which this package's
// own tests cannot import (authtest imports auth: an import cycle).
type plainHasher struct{}

const plainHashPrefix = "$plain-sha256$"

func (plainHasher) Hash(p string) (string, error) {
	s := sha256.Sum256([]byte(p))
	return plainHashPrefix + hex.EncodeToString(s[:]), nil
}

func (h plainHasher) Verify(p, encoded string) error {
	if want, _ := h.Hash(p); subtle.ConstantTimeCompare([]byte(want), []byte(encoded)) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

func (plainHasher) NeedsRehash(string) bool { return false }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
