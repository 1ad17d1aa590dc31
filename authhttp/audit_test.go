package authhttp

import (
	"context"
	"sync"
	"testing"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
)

// TestEventsHoldClientAddr: every event of a request's change reports the
// client's address, also for the library calls that take none (refresh,
// logout, logout everywhere, password change). (admin/adminhttp's test
// checks its own.)
func TestEventsHoldClientAddr(t *testing.T) {
	var mu sync.Mutex
	var events []auth.Event
	e := newHTEnvConfig(t, auth.Config{
		OnEvent: func(_ context.Context, ev auth.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		},
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
	}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse"}`, "").wantStatus(t, 201)
	_, refresh := e.login(t, "alice", "correct horse")

	mu.Lock()
	events = nil // the setup's
	mu.Unlock()
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", refresh), "").wantStatus(t, 200)
	e.do("POST", "/token", htForm, htFormBody("grant_type", "refresh_token", "refresh_token", refresh), "").wantError(t, 400, "invalid_grant") // reuse
	_, refresh = e.login(t, "alice", "correct horse")
	e.do("POST", "/logout", htForm, htFormBody("token", refresh), "").wantStatus(t, 204)
	access, _ := e.login(t, "alice", "correct horse")
	e.do("POST", "/users/me/password", htJSON, `{"current_password":"correct horse","new_password":"another horse"}`, access).wantStatus(t, 204)
	access, _ = e.login(t, "alice", "another horse")
	e.do("POST", "/logout/all", "", "", access).wantStatus(t, 204)

	mu.Lock()
	defer mu.Unlock()
	seen := map[auth.EventType]bool{}
	for _, ev := range events {
		seen[ev.Type] = true
		if ev.ClientAddr != "192.0.2.1" {
			t.Errorf("event %s has client address %q, want 192.0.2.1", ev.Type, ev.ClientAddr)
		}
	}
	for _, et := range []auth.EventType{auth.EventRefreshed, auth.EventRefreshReuse, auth.EventLogout, auth.EventPasswordChanged,
		auth.EventLogoutAll, auth.EventLoginSucceeded} {
		if !seen[et] {
			t.Errorf("no %s event", et)
		}
	}
}
