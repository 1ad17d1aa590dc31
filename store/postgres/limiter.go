package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/sharedlimit"
)

// limiterMigration keeps the budgets of Limiter. Times and credits are
// microseconds: times by the database server's clock, since the epoch.
//
// A key's row holds its credit as of at (an attempt costs the key's
// Interval; credit accrues at one µs per µs up to Burst × Interval) and
// its attempts in flight: each one's token and the time its lease ends,
// after which it counts as cancelled. A missing row is a full budget with
// nothing in flight, and so is a row past its idle_at (credit whole again,
// every lease ended): anyone may delete it.
//
// A row stays while its key is in use and is updated in place, rather than
// a row inserted and deleted per attempt: the table has no index but its
// primary key, whose value never changes, so the updates are HOT (with
// room left on each page by the fillfactor) and a busy key (one client
// address behind which many users log in) leaves no trail of dead index
// entries for its next attempts to wade through. Measured with a row per
// attempt in flight instead: 0.73 ms per attempt on a fresh key, 1.49 ms
// after some 11,000 attempts on it; with this design 0.50–0.65 ms, no
// trend (BENCHMARKS.md).
//
// The two functions each run as one statement, so one round trip and one
// transaction. They first take a transaction-scoped advisory lock per key
// (the two-int form, first key 'gklm', second the first four bytes of the
// key's ID), in ascending order so that no two reservations deadlock: the
// calls on a budget run one after the other, each reading what the one
// before committed (READ COMMITTED takes a snapshot per statement).
//
// A reserve called with sweep deletes every idle row, skipping rows that
// another call has locked (so that it never waits, and never deadlocks).
// Limiter asks for it once every sweepEvery reservations: the table holds
// the keys used within the last lease or refill time, and a scan of it
// is shared among that many attempts.
const limiterMigration = `
CREATE TABLE {schema}.auth_limit_budgets (
	id      bytea PRIMARY KEY,
	credit  bigint NOT NULL,
	at      bigint NOT NULL,
	tokens  bytea[] NOT NULL,
	ends    bigint[] NOT NULL,
	idle_at bigint NOT NULL
) WITH (fillfactor = 50);

CREATE FUNCTION {schema}.auth_limit_lock(ids bytea[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	k int4;
BEGIN
	FOR k IN SELECT DISTINCT ('x' || encode(substr(i, 1, 4), 'hex'))::bit(32)::int4 FROM unnest(ids) AS i ORDER BY 1 LOOP
		PERFORM pg_advisory_xact_lock(1734831213, k);
	END LOOP;
	-- A budget lost in a crash is a full one: not worth a disk flush per
	-- attempt. (Local: until this transaction commits.)
	PERFORM set_config('synchronous_commit', 'off', true);
	RETURN (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
END $$;

-- code 0: granted, the token leased for every key. 1: a budget is spent
-- by failures, retry is the longest wait for one interval of credit. 2: a
-- budget is held by attempts in flight; nothing taken.
CREATE FUNCTION {schema}.auth_limit_reserve(ids bytea[], intervals bigint[], caps bigint[], tok bytea, lease bigint, sweep boolean,
	OUT code int, OUT retry bigint)
LANGUAGE plpgsql AS $$
DECLARE
	now_us bigint := {schema}.auth_limit_lock(ids);
	n int := coalesce(array_length(ids, 1), 0);
	c bigint[] := '{}';
	b record;
	live int;
	held boolean := false;
BEGIN
	code := 0;
	retry := 0;
	FOR i IN 1 .. n LOOP
		SELECT x.credit, x.at, x.ends INTO b FROM {schema}.auth_limit_budgets x WHERE x.id = ids[i];
		IF NOT FOUND THEN
			c[i] := caps[i];
			live := 0;
		ELSE
			c[i] := least(caps[i], b.credit + greatest(0, now_us - b.at));
			SELECT count(*) INTO live FROM unnest(b.ends) AS e WHERE e > now_us;
		END IF;
		IF c[i] < intervals[i] THEN
			retry := greatest(retry, intervals[i] - c[i]);
		ELSIF live >= c[i] / intervals[i] THEN
			-- The credit left once the attempts in flight are paid is
			-- less than one attempt.
			held := true;
		END IF;
	END LOOP;
	IF retry > 0 THEN
		code := 1;
	ELSIF held THEN
		code := 2;
	ELSE
		FOR i IN 1 .. n LOOP
			INSERT INTO {schema}.auth_limit_budgets AS x (id, credit, at, tokens, ends, idle_at)
			VALUES (ids[i], c[i], now_us, ARRAY[tok], ARRAY[now_us + lease], now_us + greatest(caps[i] - c[i], lease))
			ON CONFLICT (id) DO UPDATE SET
				credit = excluded.credit,
				at = excluded.at,
				tokens = ARRAY(SELECT l.t FROM unnest(x.tokens, x.ends) WITH ORDINALITY AS l(t, e, o) WHERE l.e > now_us ORDER BY l.o) || tok,
				ends = ARRAY(SELECT l.e FROM unnest(x.tokens, x.ends) WITH ORDINALITY AS l(t, e, o) WHERE l.e > now_us ORDER BY l.o) || (now_us + lease),
				idle_at = greatest(excluded.idle_at, x.idle_at);
		END LOOP;
	END IF;
	IF sweep THEN
		DELETE FROM {schema}.auth_limit_budgets x WHERE x.id IN (
			SELECT y.id FROM {schema}.auth_limit_budgets y WHERE y.idle_at <= now_us FOR UPDATE SKIP LOCKED)
		AND x.idle_at <= now_us;
	END IF;
END $$;

-- Settles the token's lease of each key that still holds it unexpired:
-- outcome 'f' (failed) spends the attempt, 's' (succeeded) on a forgiving
-- key makes the budget whole, anything else gives the attempt back.
CREATE FUNCTION {schema}.auth_limit_settle(ids bytea[], intervals bigint[], caps bigint[], forgive boolean[], tok bytea, outcome text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	now_us bigint := {schema}.auth_limit_lock(ids);
	b record;
	k int;
	c bigint;
	at_us bigint;
	rest_t bytea[];
	rest_e bigint[];
BEGIN
	FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
		SELECT x.credit, x.at, x.tokens, x.ends INTO b FROM {schema}.auth_limit_budgets x WHERE x.id = ids[i];
		CONTINUE WHEN NOT FOUND;
		k := array_position(b.tokens, tok);
		CONTINUE WHEN k IS NULL OR b.ends[k] <= now_us;
		c := b.credit;
		at_us := b.at;
		IF outcome = 'f' THEN
			c := least(caps[i], c + greatest(0, now_us - at_us)) - intervals[i];
			at_us := now_us;
		ELSIF outcome = 's' AND forgive[i] THEN
			c := caps[i];
			at_us := now_us;
		END IF;
		-- The other leases that have not ended, in order.
		SELECT coalesce(array_agg(l.t ORDER BY l.o), '{}'), coalesce(array_agg(l.e ORDER BY l.o), '{}') INTO rest_t, rest_e
			FROM unnest(b.tokens, b.ends) WITH ORDINALITY AS l(t, e, o) WHERE l.e > now_us AND l.o <> k;
		UPDATE {schema}.auth_limit_budgets x
		SET credit = c, at = at_us, tokens = rest_t, ends = rest_e,
			idle_at = greatest(at_us + (caps[i] - c), (SELECT coalesce(max(e), 0) FROM unnest(rest_e) AS e))
		WHERE x.id = ids[i];
	END LOOP;
END $$;
`

// familiarMigration keeps the familiar clients of Limiter (Remember): a
// row per id, with until, the time it stops being familiar, in
// microseconds by the database server's clock since the epoch, as the
// budgets keep their times. A row past its until is as good as absent.
//
// auth_limit_remember upserts the ids (sorted, so that two calls on the
// same ids lock their rows in one order and never deadlock; distinct,
// since an upsert may not touch a row twice), with synchronous_commit off
// for its own transaction, as the budgets: a familiarity lost in a crash
// only makes its client unfamiliar. A call made with sweep then deletes
// up to 1000 expired rows, the soonest expired first, skipping rows that
// another call has locked (so that it never waits). Limiter asks for it
// once every sweepEvery Remembers: as each Remember adds at most a row per
// id (two at a login), the sweeps delete rows faster than they expire.
//
// The index on until lets a sweep find the expired rows without reading
// the live ones: the table holds every client familiar to an account
// (30 days of sign-ins by default), far more than the budgets. The price
// is that an upsert that changes until is not a HOT update; it happens
// once per successful sign-in, as a session's row is written.
const familiarMigration = `
CREATE TABLE {schema}.auth_limit_familiar (
	id    bytea PRIMARY KEY,
	until bigint NOT NULL
);
CREATE INDEX auth_limit_familiar_until_idx ON {schema}.auth_limit_familiar (until);

CREATE FUNCTION {schema}.auth_limit_remember(ids bytea[], ttl bigint, sweep boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	now_us bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
BEGIN
	-- Local: until this transaction commits.
	PERFORM set_config('synchronous_commit', 'off', true);
	INSERT INTO {schema}.auth_limit_familiar AS x (id, until)
	SELECT DISTINCT i, now_us + ttl FROM unnest(ids) AS i ORDER BY 1
	ON CONFLICT (id) DO UPDATE SET until = excluded.until;
	IF sweep THEN
		DELETE FROM {schema}.auth_limit_familiar x WHERE x.id IN (
			SELECT y.id FROM {schema}.auth_limit_familiar y WHERE y.until <= now_us
			ORDER BY y.until LIMIT 1000 FOR UPDATE SKIP LOCKED)
		AND x.until <= now_us;
	END IF;
END $$;
`

// sweepEvery is how many reservations a Limiter makes for each one that
// deletes the idle rows, and how many Remembers for each one that deletes
// expired familiar clients.
const sweepEvery = 64

// Defaults of LimiterConfig.
const (
	// DefaultLease is the default LimiterConfig.Lease.
	DefaultLease = sharedlimit.DefaultLease
	// DefaultPollInterval is the default LimiterConfig.PollInterval.
	DefaultPollInterval = sharedlimit.DefaultPollInterval
	// DefaultMaxPollInterval is the default LimiterConfig.MaxPollInterval.
	DefaultMaxPollInterval = sharedlimit.DefaultMaxPollInterval
	// DefaultSettleTimeout is the default LimiterConfig.SettleTimeout.
	DefaultSettleTimeout = sharedlimit.DefaultSettleTimeout
)

// LimiterConfig configures Store.Limiter. Zero fields take the defaults;
// negative ones are refused.
type LimiterConfig struct {
	// Lease is how long an attempt may stay in flight: past it, the attempt
	// counts as cancelled, so that an instance that died cannot hold a
	// budget for longer. It must exceed the longest attempt (a password
	// check, the request's timeout): the failure of an attempt whose lease
	// ended is not counted. Default 30 seconds.
	Lease time.Duration
	// PollInterval is the first wait of a Reserve that finds a budget held
	// by attempts in flight, before it looks again. Each wait doubles, up
	// to MaxPollInterval; each is drawn at random between half of it and
	// all of it, so that waiters spread out. Default 10 ms.
	PollInterval time.Duration
	// MaxPollInterval bounds the waits of PollInterval; it must not be
	// below it. Default 200 ms, or PollInterval if that is longer.
	MaxPollInterval time.Duration
	// SettleTimeout bounds how long Settle waits for PostgreSQL; when it
	// passes, the attempt stays in flight until its lease ends. Default 2
	// seconds.
	SettleTimeout time.Duration
}

// Limiter is an auth.Limiter whose budgets live in the store's database,
// so that every instance of a service on one database draws on the same
// budgets, with the guarantees of auth.Limiter (and of the Authenticator's
// in-memory default): a budget of Burst never has more than Burst attempts
// in flight or failed, whichever instances they reach; concurrent right
// passwords all get through.
//
// Reserve and Settle are one statement each (a PL/pgSQL function that
// migration 4 installs), so one round trip each, and atomic: the calls on
// one budget are serialised by advisory locks, all of a reservation's
// budgets are checked and taken, or none, in one transaction, and the time
// is the database server's, so instances whose clocks disagree still agree
// on when credit comes back. A Reserve that finds a budget held by
// attempts in flight polls, with a short backoff, until they settle or its
// context ends (then it returns an error wrapping auth.ErrBusy).
//
// It fails closed: when PostgreSQL fails, Reserve returns an error
// wrapping auth.ErrStoreUnavailable and never a Reservation. Settle cannot
// fail: when PostgreSQL does not take it, the attempt stays in flight
// until its lease ends, then counts as cancelled; an instance that dies
// with attempts in flight holds them as long.
//
// Budgets are named by their LimitKey.ID (a digest), never by what they
// limit. A key's row is deleted once its budget is whole and its leases
// ended, by the one reservation in sweepEvery (64) that sweeps, so the
// table holds about the keys used within the last lease time (30 s) or
// Burst × Interval.
//
// The familiar clients (Remember, Familiar) are rows of their own table,
// auth_limit_familiar (migration 5), apart from the budgets even where an
// id equals a key's ID: Remember is one statement (a PL/pgSQL function
// that upserts every id with the server's time plus ttl, rounded up to a
// microsecond and at most about 71 years), Familiar one SELECT EXISTS over
// the ids' rows that have not expired by the server's clock. Expired rows
// are deleted by the one Remember in sweepEvery (64) that sweeps. Both
// return an error wrapping auth.ErrStoreUnavailable when PostgreSQL
// fails (Familiar then says false), and a context that has already ended
// as it is, as the Store does.
type Limiter struct {
	s           *Store
	reserveSQL  string
	settleSQL   string
	rememberSQL string
	familiarSQL string
	timing      sharedlimit.Timing
	lease       int64         // µs
	calls       atomic.Uint64 // reservations asked for, for the sweeps
	remembers   atomic.Uint64 // Remembers, for the sweeps of familiar clients
	sweepEvery  uint64
}

var (
	_ auth.Limiter = (*Limiter)(nil)
	_ auth.Pinger  = (*Limiter)(nil)
)

// Limiter returns a Limiter on the store's database, with the zero fields
// of c set to their defaults. It shares the store's pool and lives as long
// as the store: after Close, Reserve fails with auth.ErrStoreUnavailable.
func (s *Store) Limiter(c LimiterConfig) (*Limiter, error) {
	timing, err := sharedlimit.Timing{Lease: c.Lease, PollInterval: c.PollInterval,
		MaxPollInterval: c.MaxPollInterval, SettleTimeout: c.SettleTimeout}.WithDefaults("postgres")
	if err != nil {
		return nil, err
	}
	r := strings.NewReplacer("{reserve}", ident(s.schema, "auth_limit_reserve"), "{settle}", ident(s.schema, "auth_limit_settle"),
		"{remember}", ident(s.schema, "auth_limit_remember"), "{familiar}", ident(s.schema, "auth_limit_familiar"))
	return &Limiter{
		s:           s,
		reserveSQL:  r.Replace(`SELECT code, retry FROM {reserve}($1, $2, $3, $4, $5, $6)`),
		settleSQL:   r.Replace(`SELECT {settle}($1, $2, $3, $4, $5, $6)`),
		rememberSQL: r.Replace(`SELECT {remember}($1, $2, $3)`),
		familiarSQL: r.Replace(`SELECT EXISTS (SELECT FROM {familiar} x WHERE x.id = ANY($1)
	AND x.until > (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)`),
		timing:     timing,
		lease:      sharedlimit.Micros(timing.Lease),
		sweepEvery: sweepEvery,
	}, nil
}

// Reserve implements auth.Limiter. Besides a *auth.RateLimitError and an
// error wrapping auth.ErrBusy, it returns an error wrapping
// auth.ErrStoreUnavailable when PostgreSQL fails.
func (l *Limiter) Reserve(ctx context.Context, keys ...auth.LimitKey) (auth.Reservation, error) {
	if err := sharedlimit.CheckKeys(keys); err != nil {
		return nil, err
	}
	r := &reservation{l: l, keys: append([]auth.LimitKey(nil), keys...)}
	if len(keys) == 0 {
		return r, nil
	}
	rand.Read(r.token[:])
	r.ids = make([][]byte, len(keys))
	r.intervals, r.caps = make([]int64, len(keys)), make([]int64, len(keys))
	for i := range r.keys {
		k := &r.keys[i]
		r.ids[i], r.intervals[i], r.caps[i] = k.ID[:], sharedlimit.Interval(*k), sharedlimit.Capacity(*k)
	}
	err := l.timing.Reserve(ctx, "postgres", func(ctx context.Context) (sharedlimit.Answer, time.Duration, error) {
		if err := l.s.ready(ctx); err != nil {
			return 0, 0, err
		}
		var code int32
		var retry int64
		sweep := l.calls.Add(1)%l.sweepEvery == 0
		err := l.s.pool.QueryRow(ctx, l.reserveSQL, r.ids, r.intervals, r.caps, r.token[:], l.lease, sweep).Scan(&code, &retry)
		if err != nil {
			return 0, 0, unavailable(ctx, err)
		}
		return sharedlimit.Answer(code), time.Duration(retry) * time.Microsecond, nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// reservation is an attempt in flight: its token is leased for every key.
type reservation struct {
	l               *Limiter
	keys            []auth.LimitKey
	ids             [][]byte
	intervals, caps []int64
	token           [16]byte
	settled         atomic.Bool
}

// Settle implements auth.Reservation. When PostgreSQL fails it does
// nothing more: the attempt stays in flight until its lease ends.
func (r *reservation) Settle(o auth.Outcome) {
	if r.settled.Swap(true) || len(r.keys) == 0 {
		return
	}
	outcome := sharedlimit.OutcomeCode(o)
	forgive := make([]bool, len(r.keys))
	for i, k := range r.keys {
		forgive[i] = k.Forgive
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.l.timing.SettleTimeout)
	defer cancel()
	if r.l.s.ready(ctx) != nil {
		return
	}
	_, _ = r.l.s.pool.Exec(ctx, r.l.settleSQL, r.ids, r.intervals, r.caps, forgive, r.token[:], outcome)
}

var errBadTTL = errors.New("postgres: Remember needs a positive ttl")

// byteas is ids as PostgreSQL's bytea[] takes them.
func byteas(ids [][16]byte) [][]byte {
	b := make([][]byte, len(ids))
	for i := range ids {
		b[i] = ids[i][:]
	}
	return b
}

// Remember implements auth.Limiter: one statement, which also deletes
// expired rows once every sweepEvery calls. A ttl that is not positive is
// an error; one past about 71 years is taken as 71 years.
func (l *Limiter) Remember(ctx context.Context, ttl time.Duration, ids ...[16]byte) error {
	if ttl <= 0 {
		return errBadTTL
	}
	if err := l.s.ready(ctx); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	sweep := l.remembers.Add(1)%l.sweepEvery == 0
	if _, err := l.s.pool.Exec(ctx, l.rememberSQL, byteas(ids), sharedlimit.Micros(ttl), sweep); err != nil {
		return unavailable(ctx, err)
	}
	return nil
}

// Familiar implements auth.Limiter: one statement. When PostgreSQL fails
// it returns false and an error wrapping auth.ErrStoreUnavailable.
func (l *Limiter) Familiar(ctx context.Context, ids ...[16]byte) (bool, error) {
	if err := l.s.ready(ctx); err != nil {
		return false, err
	}
	if len(ids) == 0 {
		return false, nil
	}
	var ok bool
	if err := l.s.pool.QueryRow(ctx, l.familiarSQL, byteas(ids)).Scan(&ok); err != nil {
		return false, unavailable(ctx, err)
	}
	return ok, nil
}

// Ping checks that PostgreSQL answers, for health checks: it implements
// auth.Pinger, as Store.Ping, which it is.
func (l *Limiter) Ping(ctx context.Context) error { return l.s.Ping(ctx) }
