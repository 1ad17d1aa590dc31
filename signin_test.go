package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSignIn: the seam refuses what it cannot make a login of, and makes
// one of a verified user whatever the method, with the same session, token
// pair and event as a password login, the methods recorded.
func TestSignIn(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice := f.register(t, "alice", "correct horse battery")
	disabled := f.register(t, "mallory", "correct horse battery")
	if _, err := f.store.ChangeUser(ctx, disabled.ID, UserChange{Disabled: ptr(true), Logout: true, Now: f.a.Now()}); err != nil {
		t.Fatal(err)
	}
	// disabled is the copy Register returned, from before the account was
	// disabled: SignIn reads the account again.
	client := Client{Addr: "192.0.2.44", UserAgent: "seam-test/1"}
	for _, tt := range []struct {
		name    string
		v       Verified
		wantErr error
	}{
		{"no user", Verified{Methods: []string{"hwk"}}, errNoMethod},
		{"no method", Verified{User: alice}, errNoMethod},
		{"an empty method", Verified{User: alice, Methods: []string{"pwd", ""}}, errNoMethod},
		{"a disabled user, from an old copy", Verified{User: disabled, Methods: []string{"hwk"}}, ErrUserDisabled},
		{"a user that does not exist", Verified{User: &User{ID: "nobody"}, Methods: []string{"hwk"}}, ErrNotFound},
		{"a passkey", Verified{User: alice, Methods: []string{"hwk", "user"}, Client: client}, nil},
		{"a password and a code", Verified{User: alice, Methods: []string{MethodPassword, "otp"}, Client: client}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.events.count(EventLoginSucceeded)
			f.clock.Advance(time.Second) // each session newer than the last
			pair, err := f.a.SignIn(ctx, tt.v)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SignIn = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if pair != nil || f.events.count(EventLoginSucceeded) != before {
					t.Fatalf("a refused sign-in gave %v and an event", pair)
				}
				return
			}
			u, c, err := f.a.Authenticate(ctx, pair.AccessToken)
			if err != nil || u.ID != alice.ID {
				t.Fatalf("the access token: %v, %v", u, err)
			}
			if !slices.Equal(c.Methods, tt.v.Methods) || !c.AuthTime.Equal(f.clock.Now().Truncate(time.Second)) {
				t.Fatalf("the access token's amr %v and auth_time %v, want %v and %v", c.Methods, c.AuthTime, tt.v.Methods, f.clock.Now())
			}
			e := f.events.last(EventLoginSucceeded)
			if !slices.Equal(e.Methods, tt.v.Methods) || e.ClientAddr != client.Addr || e.SessionID != c.SessionID || e.UserID != alice.ID {
				t.Fatalf("event %+v, want methods %v from %s in session %s", e, tt.v.Methods, client.Addr, c.SessionID)
			}
			sessions, err := f.a.ListSessions(ctx, alice.ID)
			if err != nil || len(sessions) == 0 || sessions[0].ID != c.SessionID || sessions[0].UserAgent != client.UserAgent {
				t.Fatalf("ListSessions = %v, %v; want the new session first, with the client's user agent", sessions, err)
			}
			if _, err := f.a.Refresh(ctx, client, pair.RefreshToken); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
		})
	}
	// A password login ends at the seam too: its event says so.
	f.login(t, "alice", "correct horse battery")
	if e := f.events.last(EventLoginSucceeded); !slices.Equal(e.Methods, []string{MethodPassword}) {
		t.Fatalf("a password login's event: methods %v, want [pwd]", e.Methods)
	}
}

// TestLoginStrengthInTokens: every token of a login carries how it was made
// (amr) and when (auth_time), through refreshes, the grace period's
// repeated token and the rotation of the key; a refresh token of before
// (without them) was a password login's, made when its session opened.
func TestLoginStrengthInTokens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *Config) { c.Tokens.RefreshGrace = 30 * time.Second })
	alice := f.register(t, "alice", "correct horse battery")
	methods := []string{MethodPassword, MethodOTP, MethodMFA}
	signedIn := f.clock.Now().Truncate(time.Second)
	pair, err := f.a.SignIn(ctx, Verified{User: alice, Methods: methods})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, p *TokenPair, wantMethods []string, wantAt time.Time) {
		t.Helper()
		_, c, err := f.a.Authenticate(ctx, p.AccessToken)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(c.Methods, wantMethods) || !c.AuthTime.Equal(wantAt) {
			t.Fatalf("%s: amr %v, auth_time %v; want %v, %v", what, c.Methods, c.AuthTime, wantMethods, wantAt)
		}
		if _, ok := c.Extra["amr"]; ok {
			t.Fatalf("%s: amr is also in Extra", what)
		}
	}
	check("the login", pair, methods, signedIn)
	f.clock.Advance(10 * time.Minute)
	first := pair.RefreshToken
	pair, err = f.a.Refresh(ctx, Client{}, first)
	if err != nil {
		t.Fatal(err)
	}
	check("a refresh", pair, methods, signedIn)
	again, err := f.a.Refresh(ctx, Client{}, first) // within the grace period
	if err != nil {
		t.Fatal(err)
	}
	if again.RefreshToken != pair.RefreshToken {
		t.Fatal("the grace period's answer is not the head of the family")
	}
	check("the grace period's answer", again, methods, signedIn)
	f.clock.Advance(time.Hour)
	pair, err = f.a.Refresh(ctx, Client{}, pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	check("a refresh an hour later", pair, methods, signedIn)

	// A refresh token of a session opened before tokens carried their
	// login's: as the library signed them, without amr and auth_time.
	opened := f.clock.Now()
	old, sid, err := f.a.openSession(ctx, alice, Client{}, passwordMethods)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := f.a.verifier.verifyRefresh(ctx, old.RefreshToken, false)
	if err != nil {
		t.Fatal(err)
	}
	legacyRefresh, err := sign(f.a.keys.Active(), typeRefresh, wireClaims{
		Iss: rc.Issuer, Sub: rc.Subject, Aud: rc.Audience[0], Exp: rc.ExpiresAt.Unix(), Iat: rc.IssuedAt.Unix(),
		Jti: rc.ID, Ver: rc.Version, Sid: sid,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	pair, err = f.a.Refresh(ctx, Client{}, legacyRefresh)
	if err != nil {
		t.Fatal(err)
	}
	check("a refresh of a token without amr", pair, []string{MethodPassword}, opened.Truncate(time.Second))

	// A token made outside a login has neither.
	tok, err := f.a.IssueAccessToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, c, err := f.a.Authenticate(ctx, tok); err != nil || c.Methods != nil || !c.AuthTime.IsZero() {
		t.Fatalf("IssueAccessToken's token: %+v, %v", c, err)
	}
}

// TestIntercept: a feature's interceptor sees every sign-in, the password's
// too, after the account is found enabled; its error comes back instead of
// tokens, with nothing of a login done (no session, no familiar client, no
// event); a Verified it lets through signs in.
func TestIntercept(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	alice := f.register(t, "alice", "correct horse battery")
	bob := f.register(t, "bob", "correct horse battery")
	errChallenge := errors.New("a second factor, please")
	var seen []Verified
	f.a.Intercept(func(_ context.Context, v Verified) error {
		seen = append(seen, v)
		if v.User.ID == alice.ID && !slices.Contains(v.Methods, MethodMFA) {
			return errChallenge
		}
		return nil
	})
	client := Client{Addr: "192.0.2.77"}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery", Client: client}); !errors.Is(err, errChallenge) {
		t.Fatalf("Login = %v, want the interceptor's error", err)
	}
	if len(seen) != 1 || seen[0].User.ID != alice.ID || !slices.Equal(seen[0].Methods, []string{MethodPassword}) || seen[0].Client != client {
		t.Fatalf("the interceptor saw %+v", seen)
	}
	if ss, err := f.a.ListSessions(ctx, alice.ID); err != nil || len(ss) != 0 {
		t.Fatalf("sessions after an intercepted login: %v, %v", ss, err)
	}
	if f.events.count(EventLoginSucceeded) != 0 {
		t.Fatal("an intercepted login has a success event")
	}
	if ok, err := f.a.limiter.Familiar(ctx, f.a.clientIDs(alice.ID, client.Addr, "")...); err != nil || ok {
		t.Fatalf("an intercepted login made its client familiar: %v, %v", ok, err)
	}
	// A wrong password never reaches it.
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "wrong horse battery", Client: client}); !errors.Is(err, ErrInvalidCredentials) || len(seen) != 1 {
		t.Fatalf("a wrong password: %v, the interceptor called %d times", err, len(seen))
	}
	// Another user, and the completed login, go through.
	f.login(t, "bob", "correct horse battery")
	pair, err := f.a.SignIn(ctx, Verified{User: alice, Methods: []string{MethodPassword, MethodOTP, MethodMFA}, Client: client})
	if err != nil {
		t.Fatalf("SignIn with a second factor: %v", err)
	}
	if _, c, err := f.a.Authenticate(ctx, pair.AccessToken); err != nil || !slices.Contains(c.Methods, MethodMFA) {
		t.Fatalf("the completed login's token: %+v, %v", c, err)
	}
	if len(seen) != 3 || seen[1].User.ID != bob.ID {
		t.Fatalf("the interceptor saw %d sign-ins", len(seen))
	}
}

// TestEndOtherLogins: every login of the user but the one kept ends, its
// refresh and access tokens at once; other users' logins go on.
func TestEndOtherLogins(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.register(t, "alice", "correct horse battery")
	f.register(t, "bob", "correct horse battery")
	kept := f.login(t, "alice", "correct horse battery")
	others := []*TokenPair{f.login(t, "alice", "correct horse battery"), f.login(t, "alice", "correct horse battery")}
	bobs := f.login(t, "bob", "correct horse battery")
	u, c, err := f.a.Authenticate(ctx, kept.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.a.EndOtherLogins(ctx, u.ID, c.SessionID); err != nil {
		t.Fatal(err)
	}
	for i, p := range others {
		if _, _, err := f.a.Authenticate(ctx, p.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("other login %d: its access token: %v", i, err)
		}
		if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("other login %d: its refresh token: %v", i, err)
		}
	}
	for what, p := range map[string]*TokenPair{"the kept login": kept, "another user's": bobs} {
		if _, _, err := f.a.Authenticate(ctx, p.AccessToken); err != nil {
			t.Errorf("%s: its access token: %v", what, err)
		}
		if _, err := f.a.Refresh(ctx, Client{}, p.RefreshToken); err != nil {
			t.Errorf("%s: its refresh token: %v", what, err)
		}
	}
}

// TestCheckNewUser: the checks of Register without the creation, drawing
// on the signup budget; Register with Create stores through it and does
// not draw again.
func TestCheckNewUser(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Limits.SignupAddress = Rate{Burst: 3, Interval: time.Hour} })
	ctx := context.Background()
	f.register(t, "taken", "correct horse battery")
	client := Client{Addr: "192.0.2.7"}
	for _, tt := range []struct {
		name string
		n    NewUser
		want error
	}{
		{"taken", NewUser{Username: "Taken", NoPassword: true}, ErrUserExists},
		{"invalid", NewUser{Username: "a\x00b", NoPassword: true}, ErrInvalidUsername},
		{"bad email", NewUser{Username: "bob", Email: "not an address", NoPassword: true}, ErrInvalidEmail},
		{"free", NewUser{Username: "bob", NoPassword: true}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.a.CheckNewUser(ctx, tt.n); !errors.Is(err, tt.want) {
				t.Errorf("CheckNewUser: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := f.store.UserByUsername(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CheckNewUser created the account: %v", err)
	}
	// The budget: every check from an address counts.
	for i := range 3 {
		if err := f.a.CheckNewUser(ctx, NewUser{Username: "bob", NoPassword: true, Client: client}); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if err := f.a.CheckNewUser(ctx, NewUser{Username: "bob", NoPassword: true, Client: client}); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("a fourth check from the address: %v", err)
	}
	// Register with Create: no draw on the spent budget, and the account
	// stored by Create.
	var created *User
	u, err := f.a.Register(ctx, NewUser{Username: "bob", NoPassword: true, Client: client,
		Create: func(ctx context.Context, u *User) error { created = u; return f.store.CreateUser(ctx, u) }})
	if err != nil || created == nil || u.ID != created.ID || u.PasswordHash != "" {
		t.Fatalf("Register with Create: %+v, %v", u, err)
	}
	// Create's error is Register's.
	boom := errors.New("boom")
	if _, err := f.a.Register(ctx, NewUser{Username: "carol", NoPassword: true,
		Create: func(context.Context, *User) error { return boom }}); !errors.Is(err, boom) {
		t.Errorf("Register with a failing Create: %v", err)
	}
}

// TestLimitSignIn: another way of signing in draws on the address's
// budget of failed sign-ins, which passwords share.
func TestLimitSignIn(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Limits.LoginAddress = Rate{Burst: 2, Interval: time.Hour} })
	ctx := context.Background()
	f.register(t, "alice", "correct horse battery")
	client := Client{Addr: "192.0.2.8"}
	for i := range 2 {
		res, err := f.a.LimitSignIn(ctx, client)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		res.Settle(AttemptFailed)
	}
	if _, err := f.a.LimitSignIn(ctx, client); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("a third failure's reservation: %v", err)
	}
	if _, err := f.a.Login(ctx, Credentials{Username: "alice", Password: "correct horse battery", Client: client}); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("a password from that address: %v", err)
	}
	// Successes give their attempt back; no address, nothing counted.
	other := Client{Addr: "192.0.2.9"}
	for range 5 {
		res, err := f.a.LimitSignIn(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		res.Settle(AttemptSucceeded)
	}
	for range 5 {
		res, err := f.a.LimitSignIn(ctx, Client{})
		if err != nil {
			t.Fatal(err)
		}
		res.Settle(AttemptFailed)
	}
}

// TestRegisterEmailVerified: an email another provider vouched for is
// stored proven, and the event asks no verification mail.
func TestRegisterEmailVerified(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u, err := f.a.Register(ctx, NewUser{Username: "dora", Email: "Dora@Example.com", EmailVerified: true, NoPassword: true})
	if err != nil {
		t.Fatal(err)
	}
	if !u.EmailVerified || u.Email != "dora@example.com" {
		t.Errorf("registered %+v", u)
	}
	if stored, _ := f.store.UserByID(ctx, u.ID); !stored.EmailVerified {
		t.Error("the store did not keep the email as verified")
	}
	if e := f.events.last(EventRegistered); e.Email != "" {
		t.Errorf("EventRegistered carries %q: a verification mail would go", e.Email)
	}
	// Without an email, nothing is verified.
	if u, _ := f.a.Register(ctx, NewUser{Username: "erin", EmailVerified: true, NoPassword: true}); u.EmailVerified {
		t.Error("an account without an email has a verified one")
	}
}
