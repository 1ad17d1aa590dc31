package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestE2EExactAcrossInstances runs two instances of the server on one
// PostgreSQL database, each answering GET /users/me from its cache, while
// other clients keep both busy: a login ended on one instance (a logout, a
// logout everywhere, a password change, a session revoked) is refused by
// the other at the very next request, trial after trial.
func TestE2EExactAcrossInstances(t *testing.T) {
	db := pgDatabase(t)
	var es [2]*env
	for i := range es {
		es[i] = newEnv(t, envOptions{db: db, sharedLimiter: true})
	}

	// The busy clients: their logins nothing ends.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served, failed atomic.Int64
	for i := range 2 {
		es[0].signup(fmt.Sprint("busy", i), "correct horse battery")
		access, _ := es[i].login(fmt.Sprint("busy", i), "correct horse battery")
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", es[n%2].srv.URL+"/users/me", nil)
				req.Header.Set("Authorization", "Bearer "+access)
				r, err := es[n%2].srv.Client().Do(req)
				if err != nil || r.StatusCode != 200 {
					failed.Add(1)
				} else {
					served.Add(1)
				}
				if r != nil {
					r.Body.Close()
				}
				if n%16 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
		t.Logf("%d requests of the busy clients served", served.Load())
		if failed.Load() > 0 {
			t.Errorf("%d requests of the busy clients failed", failed.Load())
		}
	}()

	passwords := [2]string{"correct horse battery", "correct horse battery staple"}
	es[0].signup("alice", passwords[0])
	current := 0
	endings := []struct {
		name string
		end  func(e *env, access, refresh string)
	}{
		{"logout", func(e *env, _, refresh string) {
			e.do(request{method: "POST", path: "/logout", contentType: ctForm, body: formBody("refresh_token", refresh)}).want(t, 204, "")
		}},
		{"logout everywhere", func(e *env, access, _ string) {
			e.do(request{method: "POST", path: "/logout/all", bearer: access}).want(t, 204, "")
		}},
		{"password changed", func(e *env, access, _ string) {
			e.changePassword(access, passwords[current], passwords[1-current]).want(t, 204, "")
			current = 1 - current
		}},
		{"session revoked", func(e *env, access, _ string) {
			list := e.do(request{method: "GET", path: "/sessions", bearer: access})
			list.want(t, 200, "")
			var id string
			for _, s := range list.body["sessions"].([]any) {
				if s := s.(map[string]any); s["current"] == true {
					id, _ = s["id"].(string)
				}
			}
			e.do(request{method: "DELETE", path: "/sessions/" + id, bearer: access}).want(t, 204, "")
		}},
	}
	trials := 0
	for round := range 5 {
		for _, ending := range endings {
			for dir := range 2 {
				trials++
				ender, other := es[dir], es[1-dir]
				access, refresh := ender.login("alice", passwords[current])
				other.me(access).want(t, 200, "")
				other.me(access).want(t, 200, "") // from its cache
				ending.end(ender, access, refresh)
				if r := other.me(access); r.status != 401 {
					t.Fatalf("round %d, %s on instance %d: the other instance answered %d, want 401", round, ending.name, dir, r.status)
				}
			}
		}
	}
	t.Logf("%d trials", trials)
}
