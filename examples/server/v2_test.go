package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/internal/testenv"
)

// The end-to-end tests of the contract's v2 rules on limits and logout,
// over every store the server offers: SQLite (the default), and PostgreSQL
// when AUTH_TEST_POSTGRES_URL names a database (CI sets it).

// stores returns the -db values to run a test over.
func stores(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": pgDatabase,
	}
}

// pgDatabase returns the URL of a fresh schema in the test database, or
// skips when there is none (fails, in CI).
func pgDatabase(t *testing.T) string {
	t.Helper()
	base := testenv.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at AUTH_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	schema := "e2e_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// countingHasher is authtest.PlainHasher counting its password checks, and how many
// run at once.
type countingHasher struct {
	authtest.PlainHasher
	checks, inFlight, maxInFlight atomic.Int64
}

func (h *countingHasher) Verify(p, encoded string) error {
	h.checks.Add(1)
	n := h.inFlight.Add(1)
	for m := h.maxInFlight.Load(); n > m && !h.maxInFlight.CompareAndSwap(m, n); m = h.maxInFlight.Load() {
	}
	time.Sleep(3 * time.Millisecond) // long enough for attempts to overlap
	h.inFlight.Add(-1)
	return h.PlainHasher.Verify(p, encoded)
}

// TestE2EGuessesNotLogins: concurrent right passwords of one user from one
// address all succeed, at the default limits; concurrent wrong ones get at
// most the username's budget of password checks, and the right password is
// refused afterwards.
func TestE2EGuessesNotLogins(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := &countingHasher{}
			e := newEnv(t, envOptions{db: db(t), hasher: h, addressLimits: true})
			e.signup("alice", "correct horse battery")
			for _, n := range []int{8, 20} {
				got := concurrently(n, func(int) int {
					return e.tokenReq("username", "alice", "password", "correct horse battery").status
				})
				if got[200] != n {
					t.Fatalf("%d concurrent right logins: %v, want %d× 200", n, got, n)
				}
			}
			e.signup("bob", "correct horse battery")
			h.checks.Store(0)
			h.maxInFlight.Store(0)
			got := concurrently(30, func(i int) int {
				return e.tokenReq("username", "bob", "password", fmt.Sprint("guess ", i)).status
			})
			if got[400] > 5 || got[400]+got[429] != 30 || h.checks.Load() > 5 || h.maxInFlight.Load() > 5 {
				t.Fatalf("30 concurrent wrong logins: %v, %d password checks (%d at once); want at most 5", got, h.checks.Load(), h.maxInFlight.Load())
			}
			e.tokenReq("username", "bob", "password", "correct horse battery").want(t, 429, "too_many_attempts")
		})
	}
}

// countingLimiter lets every attempt through and counts the calls that
// reach it, for a test that some input costs the limiter nothing.
type countingLimiter struct{ calls atomic.Int64 }

func (l *countingLimiter) Reserve(context.Context, ...auth.LimitKey) (auth.Reservation, error) {
	l.calls.Add(1)
	return noReservation{}, nil
}

func (l *countingLimiter) Remember(context.Context, time.Duration, ...[16]byte) error {
	l.calls.Add(1)
	return nil
}

func (l *countingLimiter) Familiar(context.Context, ...[16]byte) (bool, error) {
	l.calls.Add(1)
	return false, nil
}

type noReservation struct{}

func (noReservation) Settle(auth.Outcome) {}

// TestE2EInputBounds: over-long and unstorable input is refused before any
// work, with a 4xx on every store, and costs the limiter nothing.
func TestE2EInputBounds(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := &countingHasher{}
			lim := &countingLimiter{}
			e := newEnv(t, envOptions{db: db(t), hasher: h, limiter: lim})
			e.signup("alice", "correct horse battery")
			h.checks.Store(0)
			before := lim.calls.Load()
			if before == 0 {
				t.Fatal("signing up did not reach the limiter")
			}
			fdfa := strings.Repeat("\uFDFA", 107) // 321 bytes, 1926 characters under NFKC
			for _, c := range []struct {
				name, username, password string
				status                   int
				code                     string
			}{
				{"login name over 320 bytes", strings.Repeat("a", 321), "correct horse battery", 400, "invalid_request"},
				{"NFKC-expanding name over 320 bytes", fdfa, "correct horse battery", 400, "invalid_request"},
				{"name of 20 KB", strings.Repeat("\uFDFA", 7000), "correct horse battery", 400, "invalid_request"},
				{"NUL in the name", "ali\x00ce", "correct horse battery", 400, "invalid_request"},
				{"password over 1024 bytes", "alice", strings.Repeat("p", 1025), 400, "invalid_grant"},
			} {
				e.tokenReq("username", c.username, "password", c.password).want(t, c.status, c.code)
			}
			if n := h.checks.Load(); n != 0 {
				t.Fatalf("%d password checks for refused input, want 0", n)
			}
			if n := lim.calls.Load(); n != before {
				t.Fatalf("%d limiter calls for refused input, want none", n-before)
			}
			// A body over 64 KiB is refused whole.
			e.tokenReq("username", strings.Repeat("\uFDFA", 20_000), "password", "x").want(t, 413, "request_too_large")

			for _, c := range []struct {
				name, body string
				status     int
				code       string
			}{
				{"NUL in the username", `{"username":"ali\u0000ce","password":"correct horse battery"}`, 422, "invalid_username"},
				{"username over 320 bytes", `{"username":"` + strings.Repeat("\uFDFA", 107) + `","password":"correct horse battery"}`, 422, "invalid_username"},
				{"NUL in the email", `{"username":"carol","password":"correct horse battery","email":"c\u0000@example.com"}`, 422, "invalid_email"},
				{"NUL in the password", `{"username":"carol","password":"correct\u0000horse battery"}`, 422, "invalid_password"},
				{"password over 1024 bytes", `{"username":"carol","password":"` + strings.Repeat("p", 1025) + `"}`, 422, "invalid_password"},
			} {
				r := e.do(request{method: "POST", path: "/signup", contentType: ctJSON, body: c.body})
				r.want(t, c.status, c.code)
			}
			// Nothing was created.
			e.tokenReq("username", "carol", "password", "correct horse battery").want(t, 400, "invalid_grant")
		})
	}
}

// TestE2EPasswordMessages: the password rules and a wrong current
// password are told as such.
func TestE2EPasswordMessages(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory"})
	r := e.signupReq("alice", "short")
	r.want(t, 422, "invalid_password")
	if d := r.str("error_description"); !strings.Contains(d, "at least 8 characters") {
		t.Errorf("short password: %q, want the limit", d)
	}
	r = e.do(request{method: "POST", path: "/signup", contentType: ctJSON, body: `{"username":"alice","password":"` + strings.Repeat("p", 1025) + `"}`})
	if d := r.str("error_description"); !strings.Contains(d, "at most 1024 bytes") {
		t.Errorf("long password: %q, want the limit", d)
	}
	e.signup("alice", "correct horse battery")
	access, _ := e.login("alice", "correct horse battery")
	r = e.do(request{method: "POST", path: "/users/me/password", contentType: ctJSON, bearer: access,
		body: `{"current_password":"not the password","new_password":"battery staple horse"}`})
	r.want(t, 400, "invalid_grant")
	if d := r.str("error_description"); !strings.Contains(d, "current password is wrong") {
		t.Errorf("wrong current password: %q", d)
	}
}

// TestE2ESignupLimit: signups from one address are limited (20, then one
// per 6 s), whether or not they succeed.
func TestE2ESignupLimit(t *testing.T) {
	e := newEnv(t, envOptions{addressLimits: true})
	e.signup("taken", "correct horse battery")
	for range 19 {
		e.signupReq("taken", "correct horse battery").want(t, 409, "user_exists")
	}
	r := e.signupReq("fresh", "correct horse battery")
	r.want(t, 429, "too_many_attempts")
	if r.header.Get("Retry-After") != "6" {
		t.Fatalf("Retry-After %q, want 6", r.header.Get("Retry-After"))
	}
	e.clock.Advance(6 * time.Second)
	e.signup("fresh", "correct horse battery")
	e.signupReq("fresh2", "correct horse battery").want(t, 429, "too_many_attempts")
}

// TestE2EDisabledAccounting: a disabled account answers a right and a
// wrong password alike, and both spend its budget.
func TestE2EDisabledAccounting(t *testing.T) {
	for _, password := range []string{"correct horse battery", "wrong password"} {
		t.Run(password, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			id := e.signup("alice", "correct horse battery")
			ctx := context.Background()
			u, err := e.app.store.UserByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.app.store.ChangeUser(ctx, u.ID, auth.UserChange{Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			var bodies []string
			for range 5 {
				r := e.tokenReq("username", "alice", "password", password)
				r.want(t, 400, "invalid_grant")
				bodies = append(bodies, r.raw)
			}
			wrong := newEnv(t, envOptions{})
			wrong.signup("alice", "correct horse battery")
			if want := wrong.tokenReq("username", "alice", "password", "wrong password").raw; bodies[0] != want {
				t.Fatalf("disabled account answered %s, a wrong password %s", bodies[0], want)
			}
			e.tokenReq("username", "alice", "password", password).want(t, 429, "too_many_attempts")
		})
	}
}

// TestE2EReuseEndsAccessTokens: a spent refresh token coming back ends the
// family's refresh and access tokens at once.
func TestE2EReuseEndsAccessTokens(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{db: db(t)})
			e.signup("alice", "correct horse battery")
			a1, r1 := e.login("alice", "correct horse battery")
			other, _ := e.login("alice", "correct horse battery")
			r := e.refresh(r1)
			r.want(t, 200, "")
			a2 := r.str("access_token")
			e.me(a2).want(t, 200, "")
			e.refresh(r1).want(t, 400, "invalid_grant") // the thief, or a lost answer without grace
			for _, a := range []string{a1, a2} {
				e.me(a).want(t, 401, "invalid_token")
			}
			e.refresh(r.str("refresh_token")).want(t, 400, "invalid_grant")
			e.me(other).want(t, 200, "")
		})
	}
}

// TestE2EGrace: with AUTH_REFRESH_GRACE, a just-rotated refresh token
// presented again gets the very token its first presentation received,
// however many times at once; an older one, or one past grace, is reuse.
func TestE2EGrace(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{db: db(t), vars: map[string]string{"AUTH_REFRESH_GRACE": "10s"}})
			e.signup("alice", "correct horse battery")
			_, r1 := e.login("alice", "correct horse battery")
			first := e.refresh(r1)
			first.want(t, 200, "")
			head := first.str("refresh_token")
			e.clock.Advance(5 * time.Second)
			var mu sync.Mutex
			tokens := map[string]int{}
			got := concurrently(10, func(int) int {
				r := e.refresh(r1)
				mu.Lock()
				tokens[r.str("refresh_token")]++
				mu.Unlock()
				if r.status == 200 && e.me(r.str("access_token")).status != 200 {
					return 0
				}
				return r.status
			})
			if got[200] != 10 || len(tokens) != 1 || tokens[head] != 10 {
				t.Fatalf("10 presentations within grace: %v, %d distinct refresh tokens; want 10× 200, all the head", got, len(tokens))
			}
			// The head rotates; r1 is then older than the head's
			// predecessor: reuse, and the family ends.
			next := e.refresh(head)
			next.want(t, 200, "")
			e.refresh(r1).want(t, 400, "invalid_grant")
			e.me(next.str("access_token")).want(t, 401, "invalid_token")

			// Past the grace period, the just-rotated token is reuse.
			_, q1 := e.login("alice", "correct horse battery")
			q := e.refresh(q1)
			q.want(t, 200, "")
			e.clock.Advance(11 * time.Second)
			e.refresh(q1).want(t, 400, "invalid_grant")
			e.me(q.str("access_token")).want(t, 401, "invalid_token")
		})
	}
}

// TestE2EStoreFailureLogged: a 503 from a failing store is logged with its
// cause.
func TestE2EStoreFailureLogged(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.signup("alice", "correct horse battery")
	if err := e.app.close(); err != nil {
		t.Fatal(err)
	}
	e.tokenReq("username", "alice", "password", "correct horse battery").want(t, 503, "temporarily_unavailable")
	logs := e.logs.String()
	if !strings.Contains(logs, "request failed") || !strings.Contains(logs, "store is closed") {
		t.Fatalf("the 503 was not logged with its cause:\n%s", logs)
	}
	if strings.Contains(logs, "correct horse battery") {
		t.Fatal("the log holds the password")
	}
}
