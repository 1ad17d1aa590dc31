package redislimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
	"github.com/goauthkit/auth/limitertest"
	"github.com/goauthkit/auth/redislimit"
	"github.com/redis/go-redis/v9"
)

// testRedisEnv names the Redis the tests use, as a redis:// URL.
const testRedisEnv = "AUTH_TEST_REDIS_URL"

// newClient returns a client of the test Redis, closed when t ends, or
// skips t (fails it under CI) when none is configured.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	url := testenv.Redis(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", testRedisEnv, err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v", url, err)
	}
	return c
}

// newPrefix is a key prefix of t's own, whose keys are deleted when t
// ends, so that tests and test runs sharing the Redis never meet.
func newPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	prefix := "goauthkit-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		it := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for it.Next(ctx) {
			if err := c.Del(ctx, it.Val()).Err(); err != nil {
				t.Logf("cleaning up %s: %v", it.Val(), err)
			}
		}
		if err := it.Err(); err != nil {
			t.Logf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// newLimiter is a Limiter on c under prefix, with cfg's other fields.
func newLimiter(t testing.TB, c redis.UniversalClient, prefix string, cfg redislimit.Config) *redislimit.Limiter {
	t.Helper()
	cfg.KeyPrefix = prefix
	l, err := redislimit.New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newKey(burst int, interval time.Duration, forgive bool) auth.LimitKey {
	k := auth.LimitKey{Burst: burst, Interval: interval, Forgive: forgive}
	rand.Read(k.ID[:])
	return k
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func settleN(t *testing.T, l auth.Limiter, n int, o auth.Outcome, keys ...auth.LimitKey) {
	t.Helper()
	for i := range n {
		r, err := l.Reserve(ctxFor(t, 30*time.Second), keys...)
		if err != nil {
			t.Fatalf("attempt %d of %d: %v", i+1, n, err)
		}
		r.Settle(o)
	}
}

func wantRefused(t *testing.T, l auth.Limiter, keys ...auth.LimitKey) {
	t.Helper()
	r, err := l.Reserve(ctxFor(t, 30*time.Second), keys...)
	if rl := (*auth.RateLimitError)(nil); !errors.As(err, &rl) || r != nil {
		t.Fatalf("Reserve = %v, %v; want a *auth.RateLimitError", r, err)
	}
}

// TestConformance runs the Limiter conformance suite, each case on a
// limiter of its own client and prefix.
func TestConformance(t *testing.T) {
	newClient(t) // skip early when there is no Redis
	limitertest.Run(t, func(t *testing.T) auth.Limiter {
		c := newClient(t)
		return newLimiter(t, c, newPrefix(t, c), redislimit.Config{})
	})
}

// TestInstancesShareBudgets: two limiters on two clients, as two
// instances of a service would have, draw on the same budgets.
func TestInstancesShareBudgets(t *testing.T) {
	t.Parallel()
	c1, c2 := newClient(t), newClient(t)
	prefix := newPrefix(t, c1)
	l1 := newLimiter(t, c1, prefix, redislimit.Config{})
	l2 := newLimiter(t, c2, prefix, redislimit.Config{})

	t.Run("failures on one refuse on the other", func(t *testing.T) {
		k := newKey(4, time.Hour, true)
		settleN(t, l1, 2, auth.AttemptFailed, k)
		settleN(t, l2, 2, auth.AttemptFailed, k)
		wantRefused(t, l1, k)
		wantRefused(t, l2, k)
	})
	t.Run("a success on one forgives on the other", func(t *testing.T) {
		k := newKey(3, time.Hour, true)
		settleN(t, l1, 2, auth.AttemptFailed, k)
		settleN(t, l2, 1, auth.AttemptSucceeded, k)
		settleN(t, l1, 3, auth.AttemptFailed, k)
		wantRefused(t, l2, k)
	})
	t.Run("an attempt in flight on one holds the other", func(t *testing.T) {
		k := newKey(1, time.Hour, true)
		r, err := l1.Reserve(ctxFor(t, 30*time.Second), k)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			r2, err := l2.Reserve(ctxFor(t, 30*time.Second), k)
			if err == nil {
				r2.Settle(auth.AttemptCancelled)
			}
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Reserve on the second instance did not wait for the first's attempt: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		r.Settle(auth.AttemptSucceeded)
		if err := <-done; err != nil {
			t.Fatalf("the waiter on the second instance: %v", err)
		}
	})
	t.Run("concurrent wrong attempts over both", func(t *testing.T) {
		const burst, n = 5, 30
		k := newKey(burst, time.Hour, true)
		var granted, refused atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		ctx := ctxFor(t, 30*time.Second)
		for i := range n {
			l := l1
			if i%2 == 1 {
				l = l2
			}
			wg.Go(func() {
				<-start
				r, err := l.Reserve(ctx, k)
				if err != nil {
					if rl := (*auth.RateLimitError)(nil); !errors.As(err, &rl) {
						t.Errorf("Reserve: %v", err)
					}
					refused.Add(1)
					return
				}
				granted.Add(1)
				time.Sleep(2 * time.Millisecond)
				r.Settle(auth.AttemptFailed)
			})
		}
		close(start)
		wg.Wait()
		if granted.Load() != burst || refused.Load() != n-burst {
			t.Errorf("%d granted, %d refused of %d over two instances; want %d granted", granted.Load(), refused.Load(), n, burst)
		}
	})
}

// TestLeaseExpires: the attempts in flight of an instance that died
// (reserved, never settled) hold their budget until their lease ends,
// then count as cancelled; their late Settle changes nothing.
func TestLeaseExpires(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	prefix := newPrefix(t, c)
	const lease = 300 * time.Millisecond
	dead := newLimiter(t, newClient(t), prefix, redislimit.Config{Lease: lease})
	l := newLimiter(t, c, prefix, redislimit.Config{})

	k := newKey(2, time.Hour, true)
	settleN(t, l, 1, auth.AttemptFailed, k)
	lost, err := dead.Reserve(ctxFor(t, 30*time.Second), k)
	if err != nil {
		t.Fatal(err)
	}
	// The live instance waits for the lost attempt, then gets through.
	r, err := l.Reserve(ctxFor(t, 30*time.Second), k)
	if err != nil {
		t.Fatalf("Reserve after the lease ended: %v", err)
	}
	// The lost attempt's failure, too late, is not counted.
	lost.Settle(auth.AttemptFailed)
	r.Settle(auth.AttemptCancelled)
	settleN(t, l, 1, auth.AttemptFailed, k)
	wantRefused(t, l, k)

	// An attempt whose lease ended does not hold its budget either with
	// nobody waiting, and its late success forgives nothing.
	k2 := newKey(2, time.Hour, true)
	settleN(t, l, 1, auth.AttemptFailed, k2)
	lost, err = dead.Reserve(ctxFor(t, 30*time.Second), k2)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(lease + 100*time.Millisecond)
	lost.Settle(auth.AttemptSucceeded)
	settleN(t, l, 1, auth.AttemptFailed, k2)
	wantRefused(t, l, k2)
}

// TestRedisDown: Reserve fails closed, promptly, with an error wrapping
// auth.ErrStoreUnavailable when Redis cannot be reached or fails; Settle
// then does not panic.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	newClient(t) // skip with the others when there is no Redis
	t.Run("unreachable", func(t *testing.T) {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
		defer c.Close()
		l := newLimiter(t, c, "goauthkit-test:down:", redislimit.Config{})
		start := time.Now()
		r, err := l.Reserve(context.Background(), newKey(5, time.Minute, true))
		if !errors.Is(err, auth.ErrStoreUnavailable) || r != nil {
			t.Fatalf("Reserve = %v, %v; want an error wrapping auth.ErrStoreUnavailable", r, err)
		}
		t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("Reserve took %v to fail", d)
		}
	})
	t.Run("client closed before Settle", func(t *testing.T) {
		c := newClient(t)
		prefix := newPrefix(t, c)
		c2 := newClient(t)
		l := newLimiter(t, c2, prefix, redislimit.Config{SettleTimeout: time.Second})
		r, err := l.Reserve(context.Background(), newKey(5, time.Minute, true))
		if err != nil {
			t.Fatal(err)
		}
		c2.Close()
		r.Settle(auth.AttemptFailed) // must not panic
		if _, err := l.Reserve(context.Background(), newKey(5, time.Minute, true)); !errors.Is(err, auth.ErrStoreUnavailable) {
			t.Fatalf("Reserve on a closed client = %v; want auth.ErrStoreUnavailable", err)
		}
	})
	t.Run("Redis answers an error", func(t *testing.T) {
		c := newClient(t)
		prefix := newPrefix(t, c)
		l := newLimiter(t, c, prefix, redislimit.Config{})
		k := newKey(5, time.Minute, true)
		// Something else wrote a string where the budget goes.
		if err := c.Set(context.Background(), prefix+hex.EncodeToString(k.ID[:]), "x", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		r, err := l.Reserve(context.Background(), newKey(5, time.Minute, false), k)
		if !errors.Is(err, auth.ErrStoreUnavailable) || r != nil {
			t.Fatalf("Reserve = %v, %v; want an error wrapping auth.ErrStoreUnavailable", r, err)
		}
	})
	t.Run("context ended", func(t *testing.T) {
		c := newClient(t)
		l := newLimiter(t, c, newPrefix(t, c), redislimit.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, err := l.Reserve(ctx, newKey(5, time.Minute, true))
		if !errors.Is(err, auth.ErrBusy) || !errors.Is(err, context.Canceled) || r != nil {
			t.Fatalf("Reserve = %v, %v; want an error wrapping auth.ErrBusy and context.Canceled", r, err)
		}
	})
}

// TestRedisHangs: a Redis that accepts connections and never answers
// holds an attempt until its context's deadline, not the client's read
// timeout (a minute here), and a Settle for its SettleTimeout.
func TestRedisHangs(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }() // reads, never answers
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute, MaxRetries: -1})
	defer c.Close()
	l := newLimiter(t, c, "goauthkit-test:hung:", redislimit.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := l.Reserve(ctx, newKey(5, time.Minute, true))
	if !errors.Is(err, auth.ErrBusy) || !errors.Is(err, context.DeadlineExceeded) || r != nil {
		t.Fatalf("Reserve = %v, %v; want ErrBusy and DeadlineExceeded", r, err)
	}
	// Far below the read timeout: the context's deadline ended it.
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("Reserve returned after %v, past its 300 ms deadline: the client's read timeout ended it", d)
	}
	// The familiar clients and Ping end at the deadline too, with an error
	// wrapping auth.ErrStoreUnavailable and the context's.
	for _, op := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Remember", func(ctx context.Context) error { return l.Remember(ctx, time.Hour, [16]byte{1}) }},
		{"Familiar", func(ctx context.Context) error {
			ok, err := l.Familiar(ctx, [16]byte{1}, [16]byte{2})
			if ok {
				return errors.New("familiar")
			}
			return err
		}},
		{"Ping", l.Ping},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err := op.call(ctx)
		cancel()
		if !errors.Is(err, auth.ErrStoreUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s = %v; want ErrStoreUnavailable and DeadlineExceeded", op.name, err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s returned after %v, past its 300 ms deadline", op.name, d)
		}
	}
}

// TestKeys: the Redis keys are the hex of the IDs under the prefix, each
// has a TTL bounded by what it must remember, and a budget that is full
// with nothing in flight has none.
func TestKeys(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	prefix := newPrefix(t, c)
	l := newLimiter(t, c, prefix, redislimit.Config{Lease: 20 * time.Second})
	ctx := context.Background()

	spent := newKey(3, time.Minute, true)    // three failures: 3 minutes to refill
	partial := newKey(3, time.Minute, false) // one failure, one held
	forgiven := newKey(3, time.Minute, true) // failures, then a success
	settleN(t, l, 3, auth.AttemptFailed, spent)
	settleN(t, l, 1, auth.AttemptFailed, partial)
	held, err := l.Reserve(ctx, partial)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Settle(auth.AttemptCancelled)
	settleN(t, l, 2, auth.AttemptFailed, forgiven)
	settleN(t, l, 1, auth.AttemptSucceeded, forgiven)
	settleN(t, l, 5, auth.AttemptCancelled, newKey(1, time.Minute, false))
	settleN(t, l, 5, auth.AttemptSucceeded, newKey(1, time.Minute, false))

	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{ // key: the longest TTL it may have
		prefix + hex.EncodeToString(spent.ID[:]):               3*time.Minute + time.Second,
		prefix + hex.EncodeToString(partial.ID[:]):             time.Minute + time.Second,
		prefix + hex.EncodeToString(partial.ID[:]) + ":leases": 20*time.Second + time.Second,
	}
	shape := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9a-f]{32}(:leases)?$")
	for _, k := range keys {
		if !shape.MatchString(k) {
			t.Errorf("key %q is not the prefix, the hex of an ID and maybe \":leases\"", k)
		}
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		limit, ok := want[k]
		switch {
		case !ok:
			t.Errorf("key %q (TTL %v) should not exist", k, ttl)
		case ttl <= 0:
			t.Errorf("key %q has no TTL (%v)", k, ttl)
		case ttl > limit:
			t.Errorf("key %q has TTL %v, want at most %v", k, ttl, limit)
		default:
			t.Logf("%s: TTL %v", strings.TrimPrefix(k, prefix), ttl)
		}
		delete(want, k)
	}
	for k := range want {
		t.Errorf("key %q is missing", k)
	}
	// Once the attempt in flight is cancelled, its lease set goes.
	held.Settle(auth.AttemptCancelled)
	if n, err := c.Exists(ctx, prefix+hex.EncodeToString(partial.ID[:])+":leases").Result(); err != nil || n != 0 {
		t.Errorf("the lease set after its last attempt settled: Exists = %d, %v; want 0", n, err)
	}
}

// TestShortIntervalExpires: a budget of a short Interval vanishes from
// Redis once it has refilled.
func TestShortIntervalExpires(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	prefix := newPrefix(t, c)
	l := newLimiter(t, c, prefix, redislimit.Config{})
	k := newKey(2, 100*time.Millisecond, false)
	settleN(t, l, 2, auth.AttemptFailed, k)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := c.Exists(context.Background(), prefix+hex.EncodeToString(k.ID[:])).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refilled budget is still in Redis")
		}
		time.Sleep(50 * time.Millisecond)
	}
	settleN(t, l, 2, auth.AttemptFailed, k) // absent is full
}

// TestScriptFlushed: after SCRIPT FLUSH (a restarted Redis, a failover),
// Reserve and Settle load their scripts again.
func TestScriptFlushed(t *testing.T) {
	c := newClient(t)
	l := newLimiter(t, c, newPrefix(t, c), redislimit.Config{})
	k := newKey(2, time.Hour, false)
	settleN(t, l, 1, auth.AttemptFailed, k)
	if err := c.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	settleN(t, l, 1, auth.AttemptFailed, k)
	r, err := l.Reserve(context.Background(), k)
	if rl := (*auth.RateLimitError)(nil); !errors.As(err, &rl) {
		t.Fatalf("Reserve = %v, %v; want refused: a Settle after the flush was lost", r, err)
	}
}

// commandLog records the commands a client sends, and how many times it
// sent some (a command alone, or a pipeline).
type commandLog struct {
	mu    sync.Mutex
	cmds  []string
	trips int
}

func (h *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, cmd.Name())
		h.trips++
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		for _, c := range cmds {
			h.cmds = append(h.cmds, c.Name())
		}
		h.trips++
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *commandLog) take() []string {
	cmds, _ := h.takeTrips()
	return cmds
}

// takeTrips returns the commands sent since the last take, and in how
// many round trips.
func (h *commandLog) takeTrips() ([]string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmds, trips := h.cmds, h.trips
	h.cmds, h.trips = nil, 0
	return cmds, trips
}

// TestOneRoundTrip: a Reserve that is granted or refused at once is one
// EVALSHA, and so is a Settle. (A measure that meets a SCRIPT FLUSH of
// another test, answered by an EVAL, is taken again.)
func TestOneRoundTrip(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	l := newLimiter(t, c, newPrefix(t, c), redislimit.Config{})
	log := new(commandLog)
	c.AddHook(log)
	ctx := context.Background()
	for try := 0; ; try++ {
		a, u := newKey(20, time.Minute, false), newKey(1, time.Minute, true)
		settleN(t, l, 1, auth.AttemptCancelled, a, u) // loads the scripts if need be
		log.take()
		r, err := l.Reserve(ctx, a, u)
		if err != nil {
			t.Fatal(err)
		}
		granted := log.take()
		r.Settle(auth.AttemptFailed)
		settled := log.take()
		wantRefused(t, l, a, u)
		refused := log.take()
		if flushed := slices.Contains(granted, "eval") || slices.Contains(settled, "eval") || slices.Contains(refused, "eval"); flushed && try < 3 {
			continue
		}
		for _, m := range []struct {
			what string
			cmds []string
		}{{"a granted Reserve", granted}, {"Settle", settled}, {"a refused Reserve", refused}} {
			if !slices.Equal(m.cmds, []string{"evalsha"}) {
				t.Errorf("%s sent %v, want [evalsha]", m.what, m.cmds)
			}
		}
		return
	}
}

func newID() [16]byte {
	var id [16]byte
	rand.Read(id[:])
	return id
}

// TestFamiliarOneRoundTrip: Remember is one pipeline of a SET per id,
// Familiar one EXISTS over all its ids, whatever their number; with no
// ids, or a bad ttl, nothing is sent.
func TestFamiliarOneRoundTrip(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	l := newLimiter(t, c, newPrefix(t, c), redislimit.Config{})
	ctx := context.Background()
	// A first call, so that the connection's handshake is not measured.
	if err := l.Remember(ctx, time.Hour, newID()); err != nil {
		t.Fatal(err)
	}
	log := new(commandLog)
	c.AddHook(log)
	for _, n := range []int{1, 2, 5} {
		ids := make([][16]byte, n)
		for i := range ids {
			ids[i] = newID()
		}
		if err := l.Remember(ctx, time.Hour, ids...); err != nil {
			t.Fatal(err)
		}
		if cmds, trips := log.takeTrips(); trips != 1 || !slices.Equal(cmds, slices.Repeat([]string{"set"}, n)) {
			t.Errorf("Remember of %d ids sent %v in %d round trips, want %d SETs in 1", n, cmds, trips, n)
		}
		if ok, err := l.Familiar(ctx, ids...); !ok || err != nil {
			t.Fatalf("Familiar = %v, %v", ok, err)
		}
		if cmds, trips := log.takeTrips(); trips != 1 || !slices.Equal(cmds, []string{"exists"}) {
			t.Errorf("Familiar of %d ids sent %v in %d round trips, want [exists] in 1", n, cmds, trips)
		}
	}
	if err := l.Remember(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Familiar(ctx); ok || err != nil {
		t.Fatalf("Familiar() = %v, %v", ok, err)
	}
	if err := l.Remember(ctx, 0, newID()); err == nil {
		t.Fatal("Remember with ttl 0 = nil")
	}
	if cmds := log.take(); len(cmds) != 0 {
		t.Errorf("calls with no ids or a bad ttl sent %v, want nothing", cmds)
	}
}

// TestFamiliarKeys: a familiar client is a key "familiar:" and the hex of
// its id under the prefix, never a budget's key, with its ttl (rounded up
// to a millisecond, at most about 71 years) as its expiry, replaced by a
// later Remember.
func TestFamiliarKeys(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	prefix := newPrefix(t, c)
	l := newLimiter(t, c, prefix, redislimit.Config{})
	ctx := context.Background()
	k := newKey(3, time.Hour, true)
	settleN(t, l, 1, auth.AttemptFailed, k)
	const century, maxTTL = 100 * 365 * 24 * time.Hour, (1 << 51) * time.Microsecond // about 71 years
	tests := []struct {
		name     string
		id       [16]byte
		ttls     []time.Duration // remembered with each in turn
		min, max time.Duration   // PTTL bounds
	}{
		{"an hour", newID(), []time.Duration{time.Hour}, time.Hour - 5*time.Second, time.Hour},
		{"a budget's ID", k.ID, []time.Duration{time.Minute}, time.Minute - 5*time.Second, time.Minute},
		{"a nanosecond, rounded up", newID(), []time.Duration{time.Nanosecond}, 0, time.Millisecond},
		{"sub-millisecond, rounded up", newID(), []time.Duration{1500 * time.Microsecond}, 0, 2 * time.Millisecond},
		{"extended", newID(), []time.Duration{time.Minute, time.Hour}, time.Hour - 5*time.Second, time.Hour},
		{"shortened", newID(), []time.Duration{time.Hour, time.Minute}, time.Minute - 5*time.Second, time.Minute},
		{"a century: about 71 years", newID(), []time.Duration{century}, maxTTL - 5*time.Second, maxTTL + time.Millisecond},
		{"forever: about 71 years", newID(), []time.Duration{math.MaxInt64}, maxTTL - 5*time.Second, maxTTL + time.Millisecond},
	}
	want := map[string]bool{prefix + hex.EncodeToString(k.ID[:]): true}
	for _, tt := range tests {
		key := prefix + "familiar:" + hex.EncodeToString(tt.id[:])
		want[key] = tt.min > 0
		t.Run(tt.name, func(t *testing.T) {
			for _, ttl := range tt.ttls {
				if err := l.Remember(ctx, ttl, tt.id); err != nil {
					t.Fatal(err)
				}
			}
			ttl, err := c.PTTL(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if tt.min == 0 && ttl == -2 {
				return // expired already
			}
			if ttl < tt.min || ttl > tt.max {
				t.Errorf("PTTL of %s = %v, want in [%v, %v]", key, ttl, tt.min, tt.max)
			}
		})
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if _, ok := want[key]; !ok {
			t.Errorf("unexpected key %q", key)
		}
		delete(want, key)
	}
	for key, live := range want {
		if live {
			t.Errorf("key %q is missing", key)
		}
	}
	// The budget and the familiar client of one ID are apart.
	settleN(t, l, 2, auth.AttemptFailed, k)
	wantRefused(t, l, k)
	if ok, err := l.Familiar(ctx, k.ID); !ok || err != nil {
		t.Errorf("Familiar of a budget's ID remembered = %v, %v; want true", ok, err)
	}
}

// TestFamiliarShared: what one instance remembers, another finds
// familiar; a limiter under another key prefix does not.
func TestFamiliarShared(t *testing.T) {
	t.Parallel()
	c1, c2 := newClient(t), newClient(t)
	prefix := newPrefix(t, c1)
	limitertest.Shared(t, newLimiter(t, c1, prefix, redislimit.Config{}), newLimiter(t, c2, prefix, redislimit.Config{}),
		newLimiter(t, c2, newPrefix(t, c2), redislimit.Config{}))
}

// TestFamiliarRedisDown: when Redis cannot be reached, or the client is
// closed, Remember, Familiar and Ping fail with an error wrapping
// auth.ErrStoreUnavailable, and Familiar says false; on a live Redis,
// Ping answers nil.
func TestFamiliarRedisDown(t *testing.T) {
	t.Parallel()
	live := newClient(t)
	if err := newLimiter(t, live, newPrefix(t, live), redislimit.Config{}).Ping(context.Background()); err != nil {
		t.Fatalf("Ping of a live Redis: %v", err)
	}
	unreachable := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true,
		MaxRetries: -1, DialerRetries: 1})
	defer unreachable.Close()
	closed := newClient(t)
	closed.Close()
	for _, tc := range []struct {
		name   string
		client *redis.Client
	}{{"unreachable", unreachable}, {"client closed", closed}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, tc.client, "goauthkit-test:down:", redislimit.Config{})
			ctx := context.Background()
			if err := l.Remember(ctx, time.Hour, newID()); !errors.Is(err, auth.ErrStoreUnavailable) {
				t.Errorf("Remember = %v, want an error wrapping auth.ErrStoreUnavailable", err)
			}
			if ok, err := l.Familiar(ctx, newID(), newID()); ok || !errors.Is(err, auth.ErrStoreUnavailable) {
				t.Errorf("Familiar = %v, %v; want false and an error wrapping auth.ErrStoreUnavailable", ok, err)
			}
			if err := l.Ping(ctx); !errors.Is(err, auth.ErrStoreUnavailable) {
				t.Errorf("Ping = %v, want an error wrapping auth.ErrStoreUnavailable", err)
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	deaf := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer deaf.Close()
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, ContextTimeoutEnabled: true})
	defer cluster.Close()
	deafCluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer deafCluster.Close()
	tests := []struct {
		name   string
		client redis.UniversalClient
		cfg    redislimit.Config
		ok     bool
	}{
		{"defaults", c, redislimit.Config{}, true},
		{"nil client", nil, redislimit.Config{}, false},
		{"negative lease", c, redislimit.Config{Lease: -time.Second}, false},
		{"negative poll interval", c, redislimit.Config{PollInterval: -time.Second}, false},
		{"negative settle timeout", c, redislimit.Config{SettleTimeout: -time.Second}, false},
		{"max poll below poll", c, redislimit.Config{PollInterval: time.Second, MaxPollInterval: time.Millisecond}, false},
		{"long poll interval alone", c, redislimit.Config{PollInterval: time.Second}, true},
		{"cluster, default prefix", cluster, redislimit.Config{}, false},
		{"cluster, empty hash tag", cluster, redislimit.Config{KeyPrefix: "{}:limit:"}, false},
		{"cluster, hash tag", cluster, redislimit.Config{KeyPrefix: "{goauthkit:limit}:"}, true},
		{"context deadlines ignored", deaf, redislimit.Config{}, false},
		{"cluster, context deadlines ignored", deafCluster, redislimit.Config{KeyPrefix: "{goauthkit:limit}:"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := redislimit.New(tt.client, tt.cfg)
			if (err == nil) != tt.ok || (l == nil) == tt.ok {
				t.Fatalf("New = %v, %v; want ok = %v", l, err, tt.ok)
			}
		})
	}
}

// BenchmarkReserveSettle is the Redis limiter's cost per login attempt:
// one reservation of an address's and a username's budgets, settled as a
// success.
func BenchmarkReserveSettle(b *testing.B) {
	c := newClient(b)
	l := newLimiter(b, c, newPrefix(b, c), redislimit.Config{})
	ctx := context.Background()
	many := func() auth.LimitKey { return newKey(1<<40, time.Millisecond, true) } // never spent
	addr := many()
	addr.Forgive = false
	b.Run("serial", func(b *testing.B) {
		keys := []auth.LimitKey{addr, many()}
		b.ReportAllocs()
		for b.Loop() {
			r, err := l.Reserve(ctx, keys...)
			if err != nil {
				b.Fatal(err)
			}
			r.Settle(auth.AttemptSucceeded)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			keys := []auth.LimitKey{addr, many()} // one address, a user per goroutine
			for pb.Next() {
				r, err := l.Reserve(ctx, keys...)
				if err != nil {
					b.Error(err)
					return
				}
				r.Settle(auth.AttemptSucceeded)
			}
		})
	})
}

// BenchmarkAttempt is the Redis limiter's work for one password check, v3
// against v2 (limitertest.Bench).
func BenchmarkAttempt(b *testing.B) {
	c := newClient(b)
	limitertest.Bench(b, newLimiter(b, c, newPrefix(b, c), redislimit.Config{}))
}

// Example shows a Limiter shared by every instance of a service, from the
// Redis named by AUTH_TEST_REDIS_URL.
func Example() {
	opt, err := redis.ParseURL(os.Getenv("AUTH_TEST_REDIS_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	opt.ContextTimeoutEnabled = true // attempts end at their deadline (New requires it)
	client := redis.NewClient(opt)
	defer client.Close()
	limiter, err := redislimit.New(client, redislimit.Config{KeyPrefix: "myapp:limit:"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Pass it as auth.Config.Limiter, and the Authenticator reserves and
	// settles its attempts itself. By hand:
	key := auth.LimitKey{Burst: 5, Interval: time.Minute, Forgive: true}
	copy(key.ID[:], "a 16-byte digest")
	r, err := limiter.Reserve(context.Background(), key)
	var rl *auth.RateLimitError
	switch {
	case errors.As(err, &rl):
		fmt.Println("too many attempts; retry after", rl.RetryAfter)
		return
	case err != nil:
		fmt.Println("answer 503:", err)
		return
	}
	defer r.Settle(auth.AttemptCancelled) // covers early returns
	// ... check the password ...
	r.Settle(auth.AttemptSucceeded)
}
