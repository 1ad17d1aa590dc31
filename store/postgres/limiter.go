package postgres

import (
	"context"
	"crypto/rand"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/sharedlimit"
)

// limiterMigration keeps the budgets of Limiter. Times and credits are
// microseconds: times by the database server's clock, since the epoch.
//
// A budget row {credit, at} is the credit as of at (an attempt costs its
// key's Interval; credit accrues at one µs per µs up to Burst × Interval);
// full_at is when it is whole again, after which the row means nothing (a
// missing row is a full budget) and anyone may delete it. A lease row is an
// attempt in flight, until ends; after that it counts as cancelled and
// anyone may delete it.
//
// The two functions each run as one statement, so one round trip and one
// transaction. They first take a transaction-scoped advisory lock per key
// (the two-int form, first key 'gklm', second the first four bytes of the
// key's ID), in ascending order so that no two reservations deadlock: the
// calls on a budget run one after the other, each reading what the one
// before committed (READ COMMITTED takes a snapshot per statement).
//
// Each reserve also deletes up to eight budgets and eight leases past
// their time, whoever's they are (rows locked by another call are
// skipped): a reservation adds at most one lease per key and its settle
// at most one budget, so the table cannot grow faster than it is cleared.
const limiterMigration = `
CREATE TABLE {schema}.auth_limit_budgets (
	id      bytea PRIMARY KEY,
	credit  bigint NOT NULL,
	at      bigint NOT NULL,
	full_at bigint NOT NULL
);
CREATE INDEX auth_limit_budgets_full_at_idx ON {schema}.auth_limit_budgets (full_at);
CREATE TABLE {schema}.auth_limit_leases (
	id    bytea NOT NULL,
	token bytea NOT NULL,
	ends  bigint NOT NULL,
	PRIMARY KEY (id, token)
);
CREATE INDEX auth_limit_leases_ends_idx ON {schema}.auth_limit_leases (ends);

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
CREATE FUNCTION {schema}.auth_limit_reserve(ids bytea[], intervals bigint[], caps bigint[], tok bytea, lease bigint,
	OUT code int, OUT retry bigint)
LANGUAGE plpgsql AS $$
DECLARE
	now_us bigint := {schema}.auth_limit_lock(ids);
	c bigint;
	n bigint;
	held boolean := false;
BEGIN
	code := 0;
	retry := 0;
	FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
		SELECT least(caps[i], b.credit + greatest(0, now_us - b.at)) INTO c
			FROM {schema}.auth_limit_budgets b WHERE b.id = ids[i];
		IF NOT FOUND THEN
			c := caps[i];
		END IF;
		IF c < intervals[i] THEN
			retry := greatest(retry, intervals[i] - c);
		ELSIF NOT held THEN
			SELECT count(*) INTO n FROM {schema}.auth_limit_leases l WHERE l.id = ids[i] AND l.ends > now_us;
			-- The credit left once the attempts in flight are paid is less
			-- than one attempt.
			held := n >= c / intervals[i];
		END IF;
	END LOOP;
	IF retry > 0 THEN
		code := 1;
	ELSIF held THEN
		code := 2;
	ELSE
		INSERT INTO {schema}.auth_limit_leases (id, token, ends)
			SELECT i, tok, now_us + lease FROM unnest(ids) AS i
			ON CONFLICT DO NOTHING;
	END IF;
	DELETE FROM {schema}.auth_limit_budgets b USING (
		SELECT id FROM {schema}.auth_limit_budgets WHERE full_at <= now_us
		ORDER BY full_at LIMIT 8 FOR UPDATE SKIP LOCKED) x
	WHERE b.id = x.id;
	DELETE FROM {schema}.auth_limit_leases l USING (
		SELECT id, token FROM {schema}.auth_limit_leases WHERE ends <= now_us
		ORDER BY ends LIMIT 8 FOR UPDATE SKIP LOCKED) x
	WHERE l.id = x.id AND l.token = x.token;
END $$;

-- Settles the token's lease of each key that still holds it unexpired:
-- outcome 'f' (failed) spends the attempt, 's' (succeeded) on a forgiving
-- key makes the budget whole, anything else gives the attempt back.
CREATE FUNCTION {schema}.auth_limit_settle(ids bytea[], intervals bigint[], caps bigint[], forgive boolean[], tok bytea, outcome text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	now_us bigint := {schema}.auth_limit_lock(ids);
	e bigint;
	c bigint;
BEGIN
	FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
		DELETE FROM {schema}.auth_limit_leases l WHERE l.id = ids[i] AND l.token = tok RETURNING l.ends INTO e;
		CONTINUE WHEN NOT FOUND OR e <= now_us;
		IF outcome = 'f' THEN
			SELECT least(caps[i], b.credit + greatest(0, now_us - b.at)) INTO c
				FROM {schema}.auth_limit_budgets b WHERE b.id = ids[i];
			IF NOT FOUND THEN
				c := caps[i];
			END IF;
			c := c - intervals[i];
			INSERT INTO {schema}.auth_limit_budgets AS b (id, credit, at, full_at)
				VALUES (ids[i], c, now_us, now_us + (caps[i] - c))
				ON CONFLICT (id) DO UPDATE SET credit = excluded.credit, at = excluded.at, full_at = excluded.full_at;
		ELSIF outcome = 's' AND forgive[i] THEN
			DELETE FROM {schema}.auth_limit_budgets b WHERE b.id = ids[i];
		END IF;
	END LOOP;
END $$;
`

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
// budgets, with the guarantees of auth.MemoryLimiter: a budget of Burst
// never has more than Burst attempts in flight or failed, whichever
// instances they reach; concurrent right passwords all get through.
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
// limit. Rows whose time has passed are deleted by later reservations, a
// few at a time, so the tables hold roughly the budgets drained in the
// last Burst × Interval and the attempts in flight.
type Limiter struct {
	s          *Store
	reserveSQL string
	settleSQL  string
	timing     sharedlimit.Timing
	lease      int64 // µs
}

var _ auth.Limiter = (*Limiter)(nil)

// Limiter returns a Limiter on the store's database, with the zero fields
// of c set to their defaults. It shares the store's pool and lives as long
// as the store: after Close, Reserve fails with auth.ErrStoreUnavailable.
func (s *Store) Limiter(c LimiterConfig) (*Limiter, error) {
	timing, err := sharedlimit.Timing{Lease: c.Lease, PollInterval: c.PollInterval,
		MaxPollInterval: c.MaxPollInterval, SettleTimeout: c.SettleTimeout}.WithDefaults("postgres")
	if err != nil {
		return nil, err
	}
	r := strings.NewReplacer("{reserve}", ident(s.schema, "auth_limit_reserve"), "{settle}", ident(s.schema, "auth_limit_settle"))
	return &Limiter{
		s:          s,
		reserveSQL: r.Replace(`SELECT code, retry FROM {reserve}($1, $2, $3, $4, $5)`),
		settleSQL:  r.Replace(`SELECT {settle}($1, $2, $3, $4, $5, $6)`),
		timing:     timing,
		lease:      sharedlimit.Micros(timing.Lease),
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
		err := l.s.pool.QueryRow(ctx, l.reserveSQL, r.ids, r.intervals, r.caps, r.token[:], l.lease).Scan(&code, &retry)
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
