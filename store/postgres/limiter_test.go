package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	mathrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/limitertest"
	"github.com/goauthkit/auth/store/postgres"
)

// limiterOn returns a Limiter on its own pool and Store over schema, as
// one instance of a service would have.
func limiterOn(t testing.TB, schema string, c postgres.LimiterConfig) (*postgres.Limiter, *postgres.Store) {
	t.Helper()
	s, err := postgres.New(context.Background(), testPool(t), postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l, err := s.Limiter(c)
	if err != nil {
		t.Fatal(err)
	}
	return l, s
}

func newLimitKey(burst int, interval time.Duration, forgive bool) auth.LimitKey {
	k := auth.LimitKey{Burst: burst, Interval: interval, Forgive: forgive}
	rand.Read(k.ID[:])
	return k
}

// TestLimiterConformance runs the limiter suite with every case on a
// limiter of its own instance (its own pool and Store) over one schema.
func TestLimiterConformance(t *testing.T) {
	schema := freshSchema(t)
	limitertest.Run(t, func(t *testing.T) auth.Limiter {
		l, _ := limiterOn(t, schema, postgres.LimiterConfig{})
		return l
	})
}

// TestLimiterInstancesShareBudgets: two instances draw on one budget:
// failures on both add up, and concurrent wrong passwords spread over both
// are let through no more than the budget allows, while concurrent right
// ones all get through.
func TestLimiterInstancesShareBudgets(t *testing.T) {
	schema := freshSchema(t)
	var ls [2]auth.Limiter
	for i := range ls {
		ls[i], _ = limiterOn(t, schema, postgres.LimiterConfig{})
	}
	ctx := context.Background()

	t.Run("failures add up", func(t *testing.T) {
		k := newLimitKey(5, time.Hour, true)
		for i := range 5 {
			r, err := ls[i%2].Reserve(ctx, k)
			if err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
			r.Settle(auth.AttemptFailed)
		}
		for i := range ls {
			if _, err := ls[i].Reserve(ctx, k); !errors.Is(err, auth.ErrTooManyAttempts) {
				t.Fatalf("instance %d after 5 failures: %v, want refused", i, err)
			}
		}
	})

	run := func(n int, o auth.Outcome, keys ...auth.LimitKey) (granted, refused, most int64) {
		var g, rf, in, top atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				r, err := ls[i%2].Reserve(cctx, keys...)
				if err != nil {
					if !errors.Is(err, auth.ErrTooManyAttempts) {
						t.Errorf("Reserve: %v", err)
					}
					rf.Add(1)
					return
				}
				g.Add(1)
				cur := in.Add(1)
				for m := top.Load(); cur > m && !top.CompareAndSwap(m, cur); m = top.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				in.Add(-1)
				r.Settle(o)
			})
		}
		close(start)
		wg.Wait()
		return g.Load(), rf.Load(), top.Load()
	}
	t.Run("30 concurrent wrong passwords", func(t *testing.T) {
		k := newLimitKey(5, time.Hour, true)
		granted, refused, most := run(30, auth.AttemptFailed, k)
		if granted != 5 || refused != 25 || most > 5 {
			t.Fatalf("%d granted, %d refused, %d at once; want 5, 25, at most 5", granted, refused, most)
		}
	})
	t.Run("concurrent right passwords", func(t *testing.T) {
		addr, user := newLimitKey(20, time.Hour, false), newLimitKey(5, time.Hour, true)
		granted, refused, most := run(12, auth.AttemptSucceeded, addr, user)
		if granted != 12 || refused != 0 || most > 5 {
			t.Fatalf("%d granted, %d refused, %d at once; want 12, 0, at most 5", granted, refused, most)
		}
	})
}

// statementCounter counts the statements sent on a pool's connections,
// but not on the cache's listening connection, which copies the pool's
// settings (and so its tracer).
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if conn.Config().RuntimeParams["application_name"] != "goauthkit cache listener" {
		c.n.Add(1)
	}
	return ctx
}

// countedPool opens a pool on the test database whose statements count
// counts, closed at cleanup.
func countedPool(t testing.TB, count *statementCounter) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = count
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestLimiterOneStatement: a reservation and its settlement are one
// statement each, whatever the number of keys.
func TestLimiterOneStatement(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var count statementCounter
	cfg.ConnConfig.Tracer = &count
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := postgres.New(context.Background(), pool, postgres.Config{Schema: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.Limiter(postgres.LimiterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3} {
		keys := make([]auth.LimitKey, n)
		for i := range keys {
			keys[i] = newLimitKey(5, time.Minute, true)
		}
		for _, o := range []auth.Outcome{auth.AttemptFailed, auth.AttemptSucceeded, auth.AttemptCancelled} {
			before := count.n.Load()
			r, err := l.Reserve(context.Background(), keys...)
			if err != nil {
				t.Fatal(err)
			}
			reserved := count.n.Load()
			r.Settle(o)
			if got := [2]int64{reserved - before, count.n.Load() - reserved}; got != [2]int64{1, 1} {
				t.Errorf("%d keys, outcome %d: %d statements to reserve, %d to settle; want 1 and 1", n, o, got[0], got[1])
			}
		}
	}
}

// TestLimiterCleansUp: the rows of budgets that have refilled and whose
// leases ended are deleted by the sweeping reservations, so the table does
// not grow; an ended lease no longer holds its budget, and its late
// settlement spends nothing.
func TestLimiterCleansUp(t *testing.T) {
	schema := freshSchema(t)
	l, s := limiterOn(t, schema, postgres.LimiterConfig{Lease: 1500 * time.Millisecond})
	postgres.SetSweepEvery(l, 1)
	ctx := context.Background()
	pool := testPool(t)
	rows := func() (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{s.Schema(), "auth_limit_budgets"}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// 40 budgets with a failure each, refilled after 3 s; 10 attempts
	// never settled, as by an instance that died. (The times leave the
	// set-up seconds to run on a loaded machine: with budgets refilled
	// after 200 ms, a sweep took some before they were counted.)
	for range 40 {
		r, err := l.Reserve(ctx, newLimitKey(1, 3*time.Second, false))
		if err != nil {
			t.Fatal(err)
		}
		r.Settle(auth.AttemptFailed)
	}
	lost := newLimitKey(1, time.Hour, false)
	lostRes, err := l.Reserve(ctx, lost)
	if err != nil {
		t.Fatal(err)
	}
	late := newLimitKey(1, time.Hour, false)
	lateRes, err := l.Reserve(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		if _, err := l.Reserve(ctx, newLimitKey(1, time.Hour, false)); err != nil { // never settled
			t.Fatal(err)
		}
	}
	if n := rows(); n != 50 {
		t.Fatalf("%d rows, want 50", n)
	}
	// The lost lease holds its budget until it ends.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = l.Reserve(cctx, lost)
	cancel()
	if !errors.Is(err, auth.ErrBusy) {
		t.Fatalf("Reserve of a budget held by a live lease = %v, want ErrBusy", err)
	}
	time.Sleep(3200 * time.Millisecond)
	// A failure settled after its lease ended spends nothing.
	lateRes.Settle(auth.AttemptFailed)
	if r, err := l.Reserve(ctx, late); err != nil {
		t.Fatalf("Reserve after a failure settled past its lease: %v", err)
	} else {
		r.Settle(auth.AttemptCancelled)
	}
	// The lost lease's budget is free too, and its late failure, after
	// another reservation, spends nothing either.
	r, err := l.Reserve(ctx, lost)
	if err != nil {
		t.Fatalf("Reserve after the lease ended: %v", err)
	}
	lostRes.Settle(auth.AttemptFailed)
	r.Settle(auth.AttemptCancelled)
	if r, err := l.Reserve(ctx, lost); err != nil {
		t.Fatalf("Reserve after a late settlement: %v", err)
	} else {
		r.Settle(auth.AttemptCancelled)
	}
	// The next sweeping reservation deletes every idle row: all but its own.
	r, err = l.Reserve(ctx, newLimitKey(5, time.Hour, false))
	if err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 1 {
		t.Fatalf("%d rows left, want the one in flight", n)
	}
	r.Settle(auth.AttemptCancelled)
}

// TestLimiterRowsStay: a key's row is updated in place while the key is
// used, not inserted and deleted per attempt, and leases that ended are
// pruned from it.
func TestLimiterRowsStay(t *testing.T) {
	schema := freshSchema(t)
	l, s := limiterOn(t, schema, postgres.LimiterConfig{Lease: 200 * time.Millisecond})
	ctx := context.Background()
	pool := testPool(t)
	k := newLimitKey(1000, time.Millisecond, false)
	for range 100 {
		r, err := l.Reserve(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		r.Settle(auth.AttemptSucceeded)
	}
	var n, leases int
	table := pgx.Identifier{s.Schema(), "auth_limit_budgets"}.Sanitize()
	if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(cardinality(tokens)), 0) FROM `+table).Scan(&n, &leases); err != nil {
		t.Fatal(err)
	}
	if n != 1 || leases != 0 {
		t.Fatalf("%d rows holding %d leases after 100 attempts on one key, want 1 and 0", n, leases)
	}
	// Three attempts that will never settle, then their leases end: the
	// next reservation prunes them.
	for range 3 {
		if _, err := l.Reserve(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	r, err := l.Reserve(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(cardinality(tokens)), 0) FROM `+table).Scan(&n, &leases); err != nil {
		t.Fatal(err)
	}
	if n != 1 || leases != 1 {
		t.Fatalf("%d rows holding %d leases, want 1 and 1 (the ended ones pruned)", n, leases)
	}
	r.Settle(auth.AttemptCancelled)
}

// TestLimiterFailsClosed: with the store closed (TestOutage stops the
// database itself), Reserve returns an error wrapping auth.ErrStoreUnavailable and
// no Reservation; with the context ended, one wrapping auth.ErrBusy.
func TestLimiterFailsClosed(t *testing.T) {
	testURL(t)
	ctx := context.Background()
	k := newLimitKey(5, time.Minute, true)

	l, s := limiterOn(t, freshSchema(t), postgres.LimiterConfig{})
	if r, err := l.Reserve(ctx, k); err != nil {
		t.Fatal(err)
	} else {
		r.Settle(auth.AttemptFailed)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if r, err := l.Reserve(cctx, k); !errors.Is(err, auth.ErrBusy) || !errors.Is(err, context.Canceled) || r != nil {
		t.Fatalf("Reserve with an ended context = %v, %v; want ErrBusy", r, err)
	}
	held, err := l.Reserve(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	held.Settle(auth.AttemptFailed) // must not panic nor hang
	if r, err := l.Reserve(ctx, k); !errors.Is(err, auth.ErrStoreUnavailable) || r != nil {
		t.Fatalf("Reserve on a closed store = %v, %v; want ErrStoreUnavailable", r, err)
	}
}

func newID() [16]byte {
	var id [16]byte
	rand.Read(id[:])
	return id
}

// countingLimiter is a Limiter on a pool of its own whose statements
// count counts, over a fresh schema.
func countingLimiter(t *testing.T, count *statementCounter) (*postgres.Limiter, *postgres.Store) {
	t.Helper()
	s, err := postgres.New(context.Background(), countedPool(t, count), postgres.Config{Schema: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l, err := s.Limiter(postgres.LimiterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return l, s
}

// TestLimiterFamiliarOneStatement: Remember and Familiar are one
// statement each, whatever the number of ids, sweeping or not; with no
// ids, or a bad ttl, none.
func TestLimiterFamiliarOneStatement(t *testing.T) {
	var count statementCounter
	l, _ := countingLimiter(t, &count)
	ctx := context.Background()
	for _, sweepEvery := range []uint64{64, 1} {
		postgres.SetSweepEvery(l, sweepEvery)
		for _, n := range []int{1, 2, 3} {
			ids := make([][16]byte, n)
			for i := range ids {
				ids[i] = newID()
			}
			before := count.n.Load()
			if err := l.Remember(ctx, time.Hour, ids...); err != nil {
				t.Fatal(err)
			}
			remembered := count.n.Load()
			if ok, err := l.Familiar(ctx, ids...); !ok || err != nil {
				t.Fatalf("Familiar = %v, %v", ok, err)
			}
			if got := [2]int64{remembered - before, count.n.Load() - remembered}; got != [2]int64{1, 1} {
				t.Errorf("%d ids, sweeping every %d: %d statements to remember, %d to ask; want 1 and 1", n, sweepEvery, got[0], got[1])
			}
		}
	}
	before := count.n.Load()
	if err := l.Remember(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Familiar(ctx); ok || err != nil {
		t.Fatalf("Familiar() = %v, %v", ok, err)
	}
	if err := l.Remember(ctx, -time.Second, newID()); err == nil {
		t.Fatal("Remember with a negative ttl = nil")
	}
	if n := count.n.Load() - before; n != 0 {
		t.Errorf("calls with no ids or a bad ttl sent %d statements, want 0", n)
	}
}

// TestLimiterFamiliarRows: a familiar client is a row of
// auth_limit_familiar, its id as it is and until the server's time plus
// the ttl in microseconds (rounded up, at most 2^51 µs), replaced by a
// later Remember; one row however often an id is remembered, in one call
// or several; none shared with the budgets.
func TestLimiterFamiliarRows(t *testing.T) {
	l, s := limiterOn(t, freshSchema(t), postgres.LimiterConfig{})
	ctx := context.Background()
	pool := testPool(t)
	table := pgx.Identifier{s.Schema(), "auth_limit_familiar"}.Sanitize()
	k := newLimitKey(2, time.Hour, true)
	settleN := func(n int, o auth.Outcome) {
		t.Helper()
		for range n {
			r, err := l.Reserve(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			r.Settle(o)
		}
	}
	settleN(1, auth.AttemptFailed)
	tests := []struct {
		name string
		id   [16]byte
		ttls []time.Duration // remembered with each in turn
		want int64           // until - the server's time, µs, within a few seconds below
	}{
		{"an hour", newID(), []time.Duration{time.Hour}, 3_600_000_000},
		{"a budget's ID", k.ID, []time.Duration{time.Minute}, 60_000_000},
		{"a nanosecond", newID(), []time.Duration{time.Nanosecond}, 1},
		{"extended", newID(), []time.Duration{time.Minute, time.Hour}, 3_600_000_000},
		{"shortened", newID(), []time.Duration{time.Hour, time.Minute}, 60_000_000},
		{"forever: 2^51 µs", newID(), []time.Duration{math.MaxInt64}, 1 << 51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ttl := range tt.ttls {
				if err := l.Remember(ctx, ttl, tt.id, tt.id); err != nil {
					t.Fatal(err)
				}
			}
			var left int64
			if err := pool.QueryRow(ctx, `SELECT until - (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM `+table+
				` WHERE id = $1`, tt.id[:]).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left > tt.want || left < tt.want-5_000_000 {
				t.Errorf("until is %d µs from now, want %d (or a little less)", left, tt.want)
			}
		})
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(tests) {
		t.Errorf("%d rows, want %d", n, len(tests))
	}
	// The budget of the remembered ID is still its own: one attempt left.
	settleN(1, auth.AttemptFailed)
	if r, err := l.Reserve(ctx, k); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Fatalf("Reserve = %v, %v; want refused", r, err)
	}
}

// TestLimiterFamiliarSwept: expired familiar clients are deleted by the
// one Remember in sweepEvery that sweeps, at most 1000 of them, the
// soonest expired first; live ones stay.
func TestLimiterFamiliarSwept(t *testing.T) {
	l, s := limiterOn(t, freshSchema(t), postgres.LimiterConfig{})
	ctx := context.Background()
	pool := testPool(t)
	table := pgx.Identifier{s.Schema(), "auth_limit_familiar"}.Sanitize()
	rows := func() (live, expired int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE until > now_us), count(*) FILTER (WHERE until <= now_us)
			FROM `+table+`, (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us) c`).Scan(&live, &expired); err != nil {
			t.Fatal(err)
		}
		return live, expired
	}
	remember := func(ttl time.Duration, ids ...[16]byte) {
		t.Helper()
		if err := l.Remember(ctx, ttl, ids...); err != nil {
			t.Fatal(err)
		}
	}
	many := func(n int) [][16]byte {
		ids := make([][16]byte, n)
		for i := range ids {
			ids[i] = newID()
		}
		return ids
	}

	// Calls 1 to 4 of sweepEvery = 64: no sweep. 1,200 clients expire
	// first, 30 a little later, 5 stay.
	first, later, lasting := many(1200), many(30), many(5)
	remember(time.Millisecond, first...)
	remember(20*time.Millisecond, later...)
	remember(time.Hour, lasting...)
	time.Sleep(50 * time.Millisecond)
	remember(time.Hour, lasting[0])
	if live, expired := rows(); live != 5 || expired != 1230 {
		t.Fatalf("before any sweep: %d live rows, %d expired; want 5 and 1230", live, expired)
	}
	// Calls 5 to 63: still none.
	for range 59 {
		remember(time.Hour, lasting[1])
	}
	if live, expired := rows(); live != 5 || expired != 1230 {
		t.Fatalf("after 63 Remembers: %d live rows, %d expired; want 5 and 1230", live, expired)
	}
	// Call 64 sweeps 1000 rows, those of first.
	remember(time.Hour, lasting[2])
	if live, expired := rows(); live != 5 || expired != 230 {
		t.Fatalf("after the first sweep: %d live rows, %d expired; want 5 and 230", live, expired)
	}
	var laterLeft int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE id = ANY($1)`, byteas(later)).Scan(&laterLeft); err != nil {
		t.Fatal(err)
	}
	if laterLeft != 30 {
		t.Errorf("the first sweep deleted %d of the rows that expired last, want none (the soonest expired go first)", 30-laterLeft)
	}
	// Every call sweeps from now on: the rest go.
	postgres.SetSweepEvery(l, 1)
	remember(time.Hour, lasting[3])
	if live, expired := rows(); live != 5 || expired != 0 {
		t.Fatalf("after the second sweep: %d live rows, %d expired; want 5 and 0", live, expired)
	}
	for i, id := range lasting {
		if ok, err := l.Familiar(ctx, id); !ok || err != nil {
			t.Errorf("lasting id %d: Familiar = %v, %v; want true", i, ok, err)
		}
	}
}

// TestLimiterFamiliarNoDeadlock: Remembers of the same ids in different
// orders, some expiring at once, each sweeping, from many goroutines and
// two instances, neither deadlock nor fail.
func TestLimiterFamiliarNoDeadlock(t *testing.T) {
	schema := freshSchema(t)
	var ls [2]*postgres.Limiter
	for i := range ls {
		ls[i], _ = limiterOn(t, schema, postgres.LimiterConfig{})
		postgres.SetSweepEvery(ls[i], 1)
	}
	shared := [][16]byte{newID(), newID(), newID(), newID(), newID(), newID()}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 16 {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ids := slices.Clone(shared)
			for i := range 25 {
				mathrand.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
				ttl := time.Hour
				if (g+i)%2 == 0 {
					ttl = time.Microsecond // expired by the next sweep
				}
				if err := ls[g%2].Remember(ctx, ttl, ids...); err != nil {
					t.Errorf("Remember: %v", err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
}

func byteas(ids [][16]byte) [][]byte {
	b := make([][]byte, len(ids))
	for i := range ids {
		b[i] = ids[i][:]
	}
	return b
}

// TestLimiterFamiliarShared: what one instance remembers, another finds
// familiar; a store in another schema does not.
func TestLimiterFamiliarShared(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	l1, _ := limiterOn(t, schema, postgres.LimiterConfig{})
	l2, _ := limiterOn(t, schema, postgres.LimiterConfig{})
	other, _ := limiterOn(t, freshSchema(t), postgres.LimiterConfig{})
	limitertest.Shared(t, l1, l2, other)
}

// TestLimiterFamiliarFailsClosed: on a closed store, Remember, Familiar
// and Ping fail with an error wrapping auth.ErrStoreUnavailable and
// postgres.ErrClosed (Familiar saying false); when PostgreSQL fails
// mid-call, with one wrapping auth.ErrStoreUnavailable; with an ended
// context, with the context's error.
func TestLimiterFamiliarFailsClosed(t *testing.T) {
	ctx := context.Background()
	l, s := limiterOn(t, freshSchema(t), postgres.LimiterConfig{})
	id := newID()
	if err := l.Remember(ctx, time.Hour, id); err != nil {
		t.Fatal(err)
	}
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// A statement the server cancels: PostgreSQL failing mid-call.
	pool := testPool(t)
	table := pgx.Identifier{s.Schema(), "auth_limit_familiar"}.Sanitize()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE `+table+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Remember", func(ctx context.Context) error { return l.Remember(ctx, time.Hour, newID()) }},
		{"Familiar", func(ctx context.Context) error {
			ok, err := l.Familiar(ctx, id)
			if ok {
				return errors.New("familiar")
			}
			return err
		}},
	} {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := op.call(cctx)
		cancel()
		if !errors.Is(err, auth.ErrStoreUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a locked table past its deadline = %v; want ErrStoreUnavailable and DeadlineExceeded", op.name, err)
		}
	}
	tx.Rollback(ctx)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Remember(cctx, time.Hour, newID()); !errors.Is(err, context.Canceled) {
		t.Errorf("Remember with an ended context = %v, want context.Canceled", err)
	}
	if ok, err := l.Familiar(cctx, id); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Familiar with an ended context = %v, %v; want context.Canceled", ok, err)
	}

	s.Close()
	if err := l.Remember(ctx, time.Hour, id); !errors.Is(err, auth.ErrStoreUnavailable) || !errors.Is(err, postgres.ErrClosed) {
		t.Errorf("Remember on a closed store = %v, want ErrStoreUnavailable and ErrClosed", err)
	}
	if ok, err := l.Familiar(ctx, id); ok || !errors.Is(err, auth.ErrStoreUnavailable) || !errors.Is(err, postgres.ErrClosed) {
		t.Errorf("Familiar on a closed store = %v, %v; want false, ErrStoreUnavailable and ErrClosed", ok, err)
	}
	if err := l.Ping(ctx); !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("Ping on a closed store = %v, want ErrStoreUnavailable", err)
	}
}

func TestLimiterConfig(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name string
		c    postgres.LimiterConfig
		ok   bool
	}{
		{"zero", postgres.LimiterConfig{}, true},
		{"long poll", postgres.LimiterConfig{PollInterval: time.Second}, true},
		{"negative lease", postgres.LimiterConfig{Lease: -1}, false},
		{"negative poll", postgres.LimiterConfig{PollInterval: -1}, false},
		{"max below poll", postgres.LimiterConfig{PollInterval: time.Second, MaxPollInterval: time.Millisecond}, false},
		{"negative settle", postgres.LimiterConfig{SettleTimeout: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Limiter(tt.c); (err == nil) != tt.ok {
				t.Fatalf("Limiter(%+v) = %v, want ok %v", tt.c, err, tt.ok)
			}
		})
	}
	l, _ := s.Limiter(postgres.LimiterConfig{})
	for _, k := range []auth.LimitKey{{Burst: 0, Interval: time.Second}, {Burst: 1}} {
		if r, err := l.Reserve(context.Background(), k); err == nil || r != nil {
			t.Errorf("Reserve(%+v) = %v, %v; want an error", k, r, err)
		}
	}
}

// BenchmarkLimiter is the PostgreSQL limiter's cost per login attempt:
// one reservation of an address's and a username's budgets, settled as a
// success.
func BenchmarkLimiter(b *testing.B) {
	schema := freshSchema(b)
	l, _ := limiterOn(b, schema, postgres.LimiterConfig{})
	ctx := context.Background()
	addr := newLimitKey(1<<30, time.Millisecond, false)
	b.Run("serial", func(b *testing.B) {
		keys := []auth.LimitKey{addr, newLimitKey(5, time.Minute, true)}
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
			keys := []auth.LimitKey{addr, newLimitKey(5, time.Minute, true)} // one address, a user per goroutine
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

// BenchmarkAttempt is the PostgreSQL limiter's work for one password
// check, v3 against v2 (limitertest.Bench).
func BenchmarkAttempt(b *testing.B) {
	l, _ := limiterOn(b, freshSchema(b), postgres.LimiterConfig{})
	limitertest.Bench(b, l)
}
