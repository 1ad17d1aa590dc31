package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goauthkit/auth/internal/testenv"
)

// redisURL returns AUTH_TEST_REDIS_URL, or skips (fails, in CI) without it.
func redisURL(t *testing.T) string {
	t.Helper()
	return testenv.Redis(t)
}

// redisPrefix is a key prefix of the test's own, whose keys are deleted at
// cleanup: the budgets' IDs are digests of usernames, the same in every run.
func redisPrefix(t *testing.T, url string) string {
	t.Helper()
	prefix := "goauthkit-e2e:" + strings.ToLower(rand.Text()[:10]) + ":"
	t.Cleanup(func() {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// TestE2ESharedLimiter runs two instances of the server on one PostgreSQL
// database, with the limiter in PostgreSQL, then in Redis: failures split
// over both instances add up, 30 concurrent wrong passwords spread over
// both get at most the username's budget of password checks, concurrent
// right ones all get through, and a session revoked on one instance is
// refused on the other at once.
func TestE2ESharedLimiter(t *testing.T) {
	tests := []struct {
		name string
		vars func(t *testing.T) map[string]string
		log  string // the start-up line naming the limiter
	}{
		{"postgres", func(*testing.T) map[string]string { return nil }, "kind=postgres"},
		{"redis", func(t *testing.T) map[string]string {
			u := redisURL(t)
			return map[string]string{"AUTH_REDIS_URL": u, "AUTH_REDIS_PREFIX": redisPrefix(t, u)}
		}, "kind=redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := pgDatabase(t)
			vars := tt.vars(t)
			h := &countingHasher{}
			var es [2]*env
			for i := range es {
				es[i] = newEnv(t, envOptions{db: db, hasher: h, vars: vars, sharedLimiter: true})
				if !strings.Contains(es[i].logs.String(), "msg=limiter "+tt.log) {
					t.Fatalf("instance %d did not log its limiter (%s):\n%s", i, tt.log, es[i].logs.String())
				}
			}
			a, b := es[0], es[1]
			a.signup("alice", "correct horse battery")
			b.signup("bob", "correct horse battery")

			// Failures on both instances add up: 3 on a, 2 on b spend the
			// budget of 5, and both refuse the right password then.
			for i := range 5 {
				es[i%2].tokenReq("username", "alice", "password", fmt.Sprint("guess ", i)).want(t, 400, "invalid_grant")
			}
			for i, e := range es {
				r := e.tokenReq("username", "alice", "password", "correct horse battery")
				r.want(t, 429, "too_many_attempts")
				if r.header.Get("Retry-After") == "" {
					t.Errorf("instance %d: 429 without Retry-After", i)
				}
			}

			// Concurrent right passwords, over both: all get through.
			got := concurrently(12, func(i int) int {
				return es[i%2].tokenReq("username", "bob", "password", "correct horse battery").status
			})
			if got[200] != 12 {
				t.Fatalf("12 concurrent right logins over two instances: %v, want 12× 200", got)
			}

			// 30 concurrent wrong passwords, over both: at most 5 checked.
			b.signup("carol", "correct horse battery")
			h.checks.Store(0)
			h.maxInFlight.Store(0)
			got = concurrently(30, func(i int) int {
				return es[i%2].tokenReq("username", "carol", "password", fmt.Sprint("guess ", i)).status
			})
			if got[400] > 5 || got[400]+got[429] != 30 || h.checks.Load() > 5 || h.maxInFlight.Load() > 5 {
				t.Fatalf("30 concurrent wrong logins over two instances: %v, %d password checks (%d at once); want at most 5",
					got, h.checks.Load(), h.maxInFlight.Load())
			}
			a.tokenReq("username", "carol", "password", "correct horse battery").want(t, 429, "too_many_attempts")

			// A session revoked on one instance is refused on the other at
			// once, its refresh token too.
			access, refresh := a.login("bob", "correct horse battery")
			a.me(access).want(t, 200, "")
			list := b.do(request{method: "GET", path: "/sessions", bearer: access})
			list.want(t, 200, "")
			var id string
			for _, s := range list.body["sessions"].([]any) {
				if s := s.(map[string]any); s["current"] == true {
					id, _ = s["id"].(string)
				}
			}
			if id == "" {
				t.Fatalf("no current session in %s", list.raw)
			}
			b.do(request{method: "DELETE", path: "/sessions/" + id, bearer: access}).want(t, 204, "")
			a.me(access).want(t, 401, "invalid_token")
			a.refresh(refresh).want(t, 400, "invalid_grant")
		})
	}
}

// TestE2ELimiterDown: a Redis that stops answering after start-up fails
// closed: logins and signups answer 503 with a log line, never unlimited,
// and /healthz answers 503 within 5 s (v3: it answered 200, finding 14);
// once Redis answers again, all is well. (One that does not answer at
// start-up stops it: TestBadSettings.)
func TestE2ELimiterDown(t *testing.T) {
	proxy := newCutProxy(t, redisURL(t))
	db := ""
	if os.Getenv("AUTH_TEST_POSTGRES_URL") != "" {
		db = pgDatabase(t)
	}
	e := newEnv(t, envOptions{db: db, sharedLimiter: true, vars: map[string]string{"AUTH_REDIS_URL": proxy.url, "AUTH_REDIS_PREFIX": redisPrefix(t, redisURL(t))}})
	e.signup("alice", "correct horse battery")
	e.do(request{method: "GET", path: "/healthz"}).want(t, 200, "")

	proxy.cut(true)
	start := time.Now()
	e.do(request{method: "GET", path: "/healthz"}).want(t, 503, "temporarily_unavailable")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("/healthz took %v to see the limiter down", d)
	}
	before := len(e.logs.String())
	e.tokenReq("username", "alice", "password", "correct horse battery").want(t, 503, "temporarily_unavailable")
	e.signupReq("bob", "correct horse battery").want(t, 503, "temporarily_unavailable")
	if logged := e.logs.String()[before:]; !strings.Contains(logged, "store unavailable") {
		t.Fatalf("the 503 was not logged:\n%s", logged)
	}

	proxy.cut(false)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r := e.do(request{method: "GET", path: "/healthz"}); r.status == 200 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("/healthz after Redis came back: %d", r.status)
		}
	}
	e.tokenReq("username", "alice", "password", "correct horse battery").want(t, 200, "")
}

// cutProxy forwards TCP connections to a Redis, until cut: then it closes
// every connection and refuses new ones, as a Redis that went away.
type cutProxy struct {
	url   string
	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	opt, err := redis.ParseURL(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &cutProxy{url: fmt.Sprintf("redis://%s/%d", ln.Addr(), opt.DB), conns: map[net.Conn]struct{}{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", opt.Addr)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { p.cut(true) })
	return p
}

// cut takes the proxy down (closing every connection) or up again.
func (p *cutProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
