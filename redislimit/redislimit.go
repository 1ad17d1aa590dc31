// Package redislimit is an auth.Limiter whose budgets live in Redis, so
// that every instance of a service sharing one Redis draws on the same
// budgets, with the guarantees of auth.Limiter (and of the Authenticator's
// in-memory default): a budget of Burst never has more than Burst attempts
// in flight or failed, concurrent right passwords all get through,
// parallel wrong ones gain nothing.
//
// # Data layout
//
// Each LimitKey has two Redis keys, named by the hex of its ID (never by
// what it limits, such as a username) under Config.KeyPrefix:
//
//   - PREFIX<hex>, a hash {c, t}: the budget's credit c, in microseconds
//     (an attempt costs Interval, and credit accrues at one second per
//     second up to Burst × Interval), as of the Redis server's time t. It is
//     absent when the budget is full, and expires when it will be full
//     again: a budget never outlives its last failure by more than
//     Burst × Interval.
//   - PREFIX<hex>:leases, a sorted set of the attempts in flight: member a
//     reservation's random token, score the server time its lease ends
//     (Config.Lease after it was granted). It expires with its last lease.
//
// So every key has a TTL, and a budget that has refilled and has nothing
// in flight takes no room at all.
//
// Each familiar client (Remember) is one more key, PREFIX familiar:<hex>,
// holding "1" with the client's ttl as its expiry (rounded up to a whole
// millisecond, at most about 71 years): "familiar:" is not hex, so these
// keys never meet a budget's. Remember sets them in one pipeline (one
// round trip: a SET with PX, or EX for whole seconds, for each id, which
// replaces an earlier expiry); Familiar is one EXISTS over the keys of its
// ids. Redis forgets them when they expire.
//
// # Why it is atomic
//
// Reserve runs one Lua script over the keys of all its LimitKeys (EVALSHA,
// falling back to EVAL when the server does not know the script: one
// round trip in the common case). Redis runs a script alone, so the script
// reads every budget and either takes an attempt from all of them, adding
// its token to every lease set, or from none: no other instance can slip
// in between the check and the taking. The script is idempotent for the
// reservation's random token, so a client's retry after a lost reply
// takes nothing more. Settle is another script, which removes the token
// from every lease set and applies the outcome (a failure spends the
// attempt, a success on a Forgive key deletes the budget, as absent is
// full). Both scripts read the clock of the Redis server (TIME), never the
// instances' clocks, so instances whose clocks disagree still share one
// notion of when credit comes back and when a lease ends.
//
// # Attempts in flight, and lost instances
//
// An attempt in flight counts against its budgets until it is settled or
// its lease ends. An instance that dies with attempts in flight cannot
// settle them; their leases end after Config.Lease, and the attempts then
// count as cancelled (a late Settle of them changes nothing). A Reserve
// that finds a budget held by attempts in flight polls, with a short
// backoff (Config.PollInterval up to Config.MaxPollInterval), until they
// settle or its context ends.
//
// # Failures
//
// Reserve fails closed: when Redis cannot be reached or answers an error,
// it returns an error wrapping auth.ErrStoreUnavailable, never a
// Reservation, so the caller answers 503 rather than letting an attempt
// through unlimited. When ctx ends first it returns an error wrapping
// auth.ErrBusy and ctx.Err(). Settle cannot return an error: when it fails,
// the attempt stays in flight until its lease ends, and then counts as
// cancelled. Remember, Familiar and Ping return errors wrapping
// auth.ErrStoreUnavailable when Redis fails (Familiar then answers false),
// and the context's error as it is when ctx has ended before they start.
//
// # Redis Cluster
//
// A script can only touch keys of one hash slot, so with a ClusterClient
// (or a Ring) the key prefix must hold a hash tag, such as
// "{goauthkit:limit}:", which puts every budget on one shard; New refuses
// a prefix without one. The same hash tag puts the familiar clients' keys
// on that shard too, so that Familiar's EXISTS over several keys is
// allowed.
//
// # Deadlines
//
// The client must be made with ContextTimeoutEnabled: true (in its
// Options, ClusterOptions or RingOptions), which New checks. Without it,
// go-redis ignores the context's deadline and waits out its own
// ReadTimeout (5 seconds by default) on a Redis that accepts connections
// but does not answer: every login would hang that long instead of ending
// at its request's deadline with ErrBusy (measured: 5.0 s against 0.30 s
// for a 300 ms deadline). A client of another type is taken as it is.
//
// # Eviction
//
// Give the limiter a Redis whose maxmemory-policy never evicts its keys
// (noeviction: as every key here has a TTL, the volatile-* policies may
// evict them too). An evicted budget is a full one, so eviction under
// memory pressure would forgive failures.
package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/sharedlimit"
	"github.com/redis/go-redis/v9"
)

// Defaults of Config.
const (
	// DefaultKeyPrefix is the default Config.KeyPrefix.
	DefaultKeyPrefix = "goauthkit:limit:"
	// DefaultLease is the default Config.Lease.
	DefaultLease = sharedlimit.DefaultLease
	// DefaultPollInterval is the default Config.PollInterval.
	DefaultPollInterval = sharedlimit.DefaultPollInterval
	// DefaultMaxPollInterval is the default Config.MaxPollInterval.
	DefaultMaxPollInterval = sharedlimit.DefaultMaxPollInterval
	// DefaultSettleTimeout is the default Config.SettleTimeout.
	DefaultSettleTimeout = sharedlimit.DefaultSettleTimeout
)

// Config configures a Limiter. Zero fields take the defaults; negative
// ones are refused by New.
type Config struct {
	// KeyPrefix is put before the hex of every LimitKey's ID to make the
	// Redis keys. Limiters that share budgets must use the same prefix;
	// give each application (or test) its own. With a Redis Cluster or a
	// Ring it must hold a hash tag, such as "{goauthkit:limit}:". Default
	// "goauthkit:limit:".
	KeyPrefix string
	// Lease is how long an attempt may stay in flight: past it, the attempt
	// counts as cancelled, so that an instance that died cannot hold a
	// budget for longer. It must exceed the longest attempt (a password
	// check, the request's timeout): the failure of an attempt whose lease
	// ended is not counted. It is rounded up to a whole microsecond.
	// Default 30 seconds.
	Lease time.Duration
	// PollInterval is the first wait of a Reserve that finds a budget held
	// by attempts in flight, before it looks again. Each wait doubles, up
	// to MaxPollInterval; each is drawn at random between half of it and
	// all of it, so that waiters spread out. Default 10 ms.
	PollInterval time.Duration
	// MaxPollInterval bounds the waits of PollInterval. It must not be
	// below PollInterval. Default 200 ms, or PollInterval if that is
	// longer.
	MaxPollInterval time.Duration
	// SettleTimeout bounds how long Settle waits for Redis (the client's
	// own timeouts apply as well); when it passes, the attempt stays in
	// flight until its lease ends. Default 2 seconds.
	SettleTimeout time.Duration
}

// Limiter is an auth.Limiter on Redis; see the package documentation.
// It is safe for concurrent use, and holds no goroutine or connection of
// its own: closing the client is the caller's business.
type Limiter struct {
	client redis.UniversalClient
	prefix string
	timing sharedlimit.Timing
	lease  int64 // µs
}

var (
	_ auth.Limiter = (*Limiter)(nil)
	_ auth.Pinger  = (*Limiter)(nil)
)

// New returns a Limiter that keeps its budgets in the Redis of client,
// with the zero fields of c set to their defaults. It does not contact
// Redis.
func New(client redis.UniversalClient, c Config) (*Limiter, error) {
	if client == nil {
		return nil, errors.New("redislimit: nil client")
	}
	timing, err := sharedlimit.Timing{Lease: c.Lease, PollInterval: c.PollInterval,
		MaxPollInterval: c.MaxPollInterval, SettleTimeout: c.SettleTimeout}.WithDefaults("redislimit")
	if err != nil {
		return nil, err
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if !contextTimeouts(client) {
		return nil, errors.New("redislimit: the client needs ContextTimeoutEnabled: true in its options, or a Redis that does not answer holds every attempt for the client's ReadTimeout, past its context's deadline")
	}
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		if !hasHashTag(c.KeyPrefix) {
			return nil, fmt.Errorf("redislimit: with a sharded client, Config.KeyPrefix (%q) needs a hash tag, such as \"{goauthkit:limit}:\"", c.KeyPrefix)
		}
	}
	return &Limiter{client: client, prefix: c.KeyPrefix, timing: timing, lease: sharedlimit.Micros(timing.Lease)}, nil
}

// contextTimeouts reports whether client honours its contexts'
// deadlines, for the client types whose options tell.
func contextTimeouts(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// hasHashTag reports whether every key under prefix has the same hash
// slot: prefix holds a '{' and, after it, a '}' that does not follow it at
// once.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	return i >= 0 && strings.IndexByte(prefix[i+1:], '}') > 0
}

// Reply codes of reserveScript: sharedlimit's Answers.
const (
	replyGranted = int64(sharedlimit.Granted)
	replySpent   = int64(sharedlimit.Spent)
	replyHeld    = int64(sharedlimit.Held)
)

// Reserve implements auth.Limiter. Besides a *auth.RateLimitError and an
// error wrapping auth.ErrBusy, it returns an error wrapping
// auth.ErrStoreUnavailable when Redis fails.
func (l *Limiter) Reserve(ctx context.Context, keys ...auth.LimitKey) (auth.Reservation, error) {
	if err := sharedlimit.CheckKeys(keys); err != nil {
		return nil, err
	}
	r := &reservation{l: l, keys: append([]auth.LimitKey(nil), keys...), token: rand.Text()}
	if len(keys) == 0 {
		return r, nil
	}
	r.rkeys = make([]string, 0, 2*len(keys))
	args := make([]any, 0, 2+2*len(keys))
	args = append(args, r.token, l.lease)
	for _, k := range keys {
		h := l.prefix + hex.EncodeToString(k.ID[:])
		r.rkeys = append(r.rkeys, h, h+":leases")
		args = append(args, sharedlimit.Interval(k), sharedlimit.Capacity(k))
	}
	err := l.timing.Reserve(ctx, "redislimit", func(ctx context.Context) (sharedlimit.Answer, time.Duration, error) {
		reply, err := reserveScript.Run(ctx, l.client, r.rkeys, args...).Int64Slice()
		if err == nil && len(reply) != 2 {
			err = fmt.Errorf("unexpected reply %v", reply)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%w: redislimit: %w", auth.ErrStoreUnavailable, err)
		}
		return sharedlimit.Answer(reply[0]), time.Duration(reply[1]) * time.Microsecond, nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// reservation is an attempt in flight: its token is leased in the lease
// set of every key.
type reservation struct {
	l       *Limiter
	keys    []auth.LimitKey
	rkeys   []string // budget and lease set of each key
	token   string
	settled atomic.Bool
}

// Settle implements auth.Reservation. When Redis fails it does nothing
// more: the attempt stays in flight until its lease ends.
func (r *reservation) Settle(o auth.Outcome) {
	if r.settled.Swap(true) || len(r.keys) == 0 {
		return
	}
	args := make([]any, 0, 2+3*len(r.keys))
	outcome := sharedlimit.OutcomeCode(o)
	args = append(args, r.token, outcome)
	for _, k := range r.keys {
		forgive := 0
		if k.Forgive {
			forgive = 1
		}
		args = append(args, sharedlimit.Interval(k), sharedlimit.Capacity(k), forgive)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.l.timing.SettleTimeout)
	defer cancel()
	_ = settleScript.Run(ctx, r.l.client, r.rkeys, args...).Err()
}

// familiarInfix comes between the prefix and the hex of a familiar
// client's id: not hex, so that no such key is ever a budget's.
const familiarInfix = "familiar:"

var errBadTTL = errors.New("redislimit: Remember needs a positive ttl")

// familiarKey is the Redis key of a familiar client's id.
func (l *Limiter) familiarKey(id [16]byte) string {
	b := make([]byte, 0, len(l.prefix)+len(familiarInfix)+2*len(id))
	b = append(b, l.prefix...)
	b = append(b, familiarInfix...)
	return string(hex.AppendEncode(b, id[:]))
}

// storeError wraps err, an error of Redis or of the client, with
// auth.ErrStoreUnavailable, and with ctx's error when ctx has ended and
// err does not say so already. A deadline that has passed counts as ended
// even before ctx says so: the client's read deadline, set to it, may
// fire first.
func storeError(ctx context.Context, op string, err error) error {
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: redislimit: %s: %w: %w", auth.ErrStoreUnavailable, op, cerr, err)
	}
	return fmt.Errorf("%w: redislimit: %s: %w", auth.ErrStoreUnavailable, op, err)
}

// Remember implements auth.Limiter: one pipelined SET per id with the ttl
// as its expiry, one round trip. A ttl that is not positive is an error; one past about 71
// years is taken as 71 years.
func (l *Limiter) Remember(ctx context.Context, ttl time.Duration, ids ...[16]byte) error {
	if ttl <= 0 {
		return errBadTTL
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	// Whole milliseconds, rounded up: PX 0 is refused, and a client must
	// not be forgotten before its time.
	px := time.Duration((sharedlimit.Micros(ttl)+999)/1000) * time.Millisecond
	_, err := l.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Set(ctx, l.familiarKey(id), "1", px)
		}
		return nil
	})
	if err != nil {
		return storeError(ctx, "remember", err)
	}
	return nil
}

// Familiar implements auth.Limiter: one EXISTS over the keys of ids.
// When Redis fails it returns false and an error wrapping
// auth.ErrStoreUnavailable.
func (l *Limiter) Familiar(ctx context.Context, ids ...[16]byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if len(ids) == 0 {
		return false, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = l.familiarKey(id)
	}
	// EXISTS counts each key named, repeated ones as often: any is enough.
	n, err := l.client.Exists(ctx, keys...).Result()
	if err != nil {
		return false, storeError(ctx, "familiar", err)
	}
	return n > 0, nil
}

// Ping checks that Redis answers, for health checks: it implements
// auth.Pinger, and returns an error wrapping auth.ErrStoreUnavailable when
// Redis does not answer.
func (l *Limiter) Ping(ctx context.Context) error {
	if err := l.client.Ping(ctx).Err(); err != nil {
		return storeError(ctx, "ping", err)
	}
	return nil
}
