// Package postgres is an auth.Store on PostgreSQL, for services that run
// more than one instance against one database. It offers every optional
// capability (recovery.LinkStore, admin.UserLister, auth.UserDeleter,
// mfastore.Store, passkeystore.Store, identitystore.Store).
//
// # Use
//
//	s, err := postgres.Open(ctx, "postgres://app@db/app", postgres.Config{})
//	if err != nil { ... }
//	defer s.Close()
//	a, err := auth.New(auth.Config{Store: s, SecretKey: key})
//
// Open makes and owns a pgxpool.Pool (configure it through the URL, e.g.
// pool_max_conns=20). New takes a pool the caller already has; Close then
// leaves that pool open.
//
// # Schema
//
// The store keeps its tables (auth_users, auth_sessions, auth_link_tokens,
// auth_mfa_totp, auth_mfa_recovery_codes, auth_mfa_challenges,
// auth_passkey_user_handles, auth_passkey_credentials,
// auth_passkey_ceremonies, auth_identities, auth_identity_attempts,
// auth_schema_migrations, and auth_limit_budgets and auth_limit_familiar
// for Limiter, with its functions) in one PostgreSQL schema: by default the current
// schema of the connection (the first existing entry of its search_path,
// usually "public"; a search_path URL parameter sets it), or the one named
// in Config.Schema, which is created if missing. Table names are always
// qualified with the schema, so every query is immune to the search_path of
// the pool's other users.
//
// Open and New bring the schema up to date before returning. Migrations are
// numbered, each applied at most once and recorded in
// auth_schema_migrations, all in one transaction that first takes a
// transaction-scoped advisory lock named after the schema: instances that
// start together queue on the lock, and whoever comes second finds the work
// done. A failed migration rolls back completely. An instance that finds
// migrations newer than it knows leaves them alone, so new migrations must
// stay compatible with the code of the previous release.
//
// A service that migrates its database with its own tool (golang-migrate,
// Atlas) takes the SQL of each migration from Migrations, and sets
// Config.SkipMigrations: Open and New then change nothing, and refuse a
// schema that lacks a migration this release needs.
//
// # Atomicity
//
// Most operations are a single SQL statement, so atomic without an
// explicit transaction and one round trip. RotateSession is one
// UPDATE whose WHERE clause and SET expressions read the row it locks: when
// instances race on one refresh token, PostgreSQL serialises them on that
// row lock and re-evaluates each waiting UPDATE against the row the winner
// committed (READ COMMITTED's EvalPlanQual), so exactly one sees the
// presented token as current and every other one sees reuse and revokes the
// family, in the same committed statement that reports it.
// UpdatePasswordHash (with logout) and InvalidateTokens update the user and
// revoke the user's sessions in one statement with data-modifying CTEs.
// The compare-and-sets of the second factors are single statements the
// same way: AdvanceTOTP's UPDATE ... WHERE last_step < step, and the
// DELETE of a recovery code or a challenge, of which one call changes the
// row and every call waiting for it finds the row changed; those of
// the passkeys: UseCredential's UPDATE ... WHERE sign_count = prev, and
// TakeCeremony's DELETE ... RETURNING; and TakeAttempt's DELETE ...
// RETURNING. LinkIdentity is one INSERT whose unique keys link a provider
// account once, and give a user one identity per provider; it shares the
// user's row (FOR SHARE) while it inserts.
//
// Ten are transactions, each for a check that must hold when its write
// commits. CreateUser, and RedeemLinkToken for a verification, first take
// a transaction-scoped advisory lock on each login name they claim (a
// username or an email, per schema), then check it against every username
// and email: two accounts can never come to share a login name, one by its
// username and the other by its email, which no unique index could
// enforce across the two columns. RedeemLinkToken locks the token's and
// the user's rows (SELECT ... FOR UPDATE) and reads whether the link is
// still alive, so that a password change or a logout-all racing it comes
// either before (and kills it) or after. ChangeUser locks the user's row
// and writes only the fields it is given; with a KeepRole it first takes
// that role's advisory lock, so that two changes each taking one of the
// last two administrators run one after the other, and the second is
// refused. ConfirmTOTP and ReplaceRecoveryCodes lock the user's enrolment
// (by confirming it, or SELECT ... FOR NO KEY UPDATE) before they replace
// its recovery codes, all or nothing. CreateUserWithCredential and
// CreateUserWithIdentity are CreateUser's transaction with the user's
// passkey, or identity, inserted in it, all or nothing. DeleteCredential
// and UnlinkIdentity lock the user's row (SELECT ... FOR NO KEY UPDATE)
// before they count the user's ways in (credentials and identities) and
// delete one, so that of two deletions at once of a user's last two ways
// in with keepLast, whichever their kinds, the second counts one and
// refuses. ReclaimAccount locks the user's row the same way, compares the
// email, and then replaces the user's identities and removes every other
// way in, in that one transaction.
//
// Hashes are compared with SQL equality, which is not constant-time. The
// values compared are SHA-256 digests of refresh-token secrets and password
// hashes the library read from the store itself, and a refresh token only
// reaches the store after its signature was verified, so the timing tells an
// attacker nothing usable.
//
// # Caching and exact revocation
//
// Every authenticated request asks the store for its user (UserByID, or
// UserBySession with the token's session). The Store answers from memory
// when it can, and stays exact: once a write that changes a user or ends
// a session (a logout, a logout everywhere, a password change, a
// disabling, a session's revocation, a deletion) has returned on one
// instance, no instance answers from memory what that write changed.
// Set CacheConfig.Off for a Store that reads the database every time.
//
// Three parts make it so.
//
// Notifications. Migration 11 puts triggers on auth_users and
// auth_sessions that, for every row changed or deleted (for a session,
// only when its liveness or owner changes, not at each rotation), send
// the user's id on the schema's channel with pg_notify ("everything" for
// an id too long for a payload, and for a TRUNCATE). They run in the
// changing transaction, whoever runs it (this store, another release of
// it, the service's own SQL, an operator's psql; they are enabled ALWAYS,
// so a replica's apply and a restore without triggers run them too), and
// PostgreSQL delivers
// a transaction's notifications only after it commits, to every session
// listening, in the order of the commits. Each Store with a cache holds
// one connection of its own that LISTENs on the channel and forgets the
// users it hears of, with their sessions.
//
// A barrier and its acknowledgements. A notification alone cannot make
// the write exact: it may still be in flight when the write returns and
// the next request arrives elsewhere. So every write of this store that
// can change what the cache holds, after it commits and before it
// returns, sends a barrier: one statement that increments a one-row clock
// (whose row lock makes barriers commit in the order of their numbers),
// notifies its number, and lists the instances that hold a lease. Each
// listener acts on notifications in the order they arrive; when it
// reaches barrier n it has acted on every change committed before the
// barrier was sent, and acknowledges n on its connection (which also
// renews its lease, and notifies the waiting writers). The write returns
// once every instance listed has acknowledged n, or has given up its
// lease, or has let it run out, which the write learns from the table.
// Settle is the same wait, for changes made without this store.
//
// Leases. An instance that stops hearing must stop answering before any
// writer stops waiting for it. Its lease (CacheConfig.Lease, 3 s by
// default) runs out at a database time set by the statement that renewed
// it, which began after the instance sent it; the instance answers from
// memory only until the time of sending plus nine tenths of the lease, by
// its own clocks (the monotonic one, and the wall clock, which goes on
// through a suspended machine). As long as the two clocks run at about
// the same rate (a tenth of the lease is the margin), the instance has
// stopped answering before the database sees its lease expired, whatever
// their offsets. A renewal every third of the lease keeps a healthy
// instance answering; it renews only on the listening connection, and
// only if that connection has heard every acknowledgement it sent itself,
// so a broken or deaf listener loses its lease. A connection joins only
// after it heard its own probe: behind a pooler in transaction mode,
// where LISTEN does not work, Open fails saying so, and a Store whose
// connection turns deaf later stays uncached, without a lease that
// writers would wait for.
//
// The argument. Take a write that committed and then returned, after its
// barrier n, and a request that starts on instance B after that. If B
// held a lease when the barrier listed the instances, B acknowledged n
// before the write returned, so B had forgotten the user first, and what
// B caches after that it read after the commit. A read that began before
// the commit and ends after B forgot the user is not cached: every
// forgetting increments a generation, and a read is cached only if the
// generation has not moved since it began (concurrent reads of one user
// share one query, and only at one generation). If B held no lease then,
// B had stopped answering from memory by then, and answers again only
// after a renewal, which forgets everything first, or after it joins
// again: it LISTENs, then registers (reading the clock, so that its
// acknowledgement covers every barrier before), and only then empties
// its cache and answers; every later change it hears. A lost or killed
// listening connection, a PostgreSQL restart, a gap of any kind: the
// cache stops answering and is emptied at once, and the database answers
// until the instance has joined again. Correctness never rests on a
// notification arriving; only speed does.
//
// Forged notifications. Any role that can connect to the database can
// send notifications on any channel. Writers therefore learn
// acknowledgements and departures from the table, which such a role
// cannot write; a notification only wakes them to read it. A listener
// acknowledges a barrier only if it is the one after the last it heard
// and the clock has reached it, and rejoins (its cache emptied) on any
// other. A forged user or "everything" notification only empties a
// cache. What remains: a forged barrier numbered like the next one, heard
// between the real one's commit and the listener's acknowledgement, is
// indistinguishable from it; the write that sent the real one may then
// return before that listener heard the changes committed just before it
// (a window of one notification's delivery). Keep roles you do not trust
// off the database.
//
// What it costs. A request whose user (and session) the cache holds sends
// no statement. A miss is the query it always was. Each instance renews
// its lease once a second (by default) on its own connection, and
// acknowledges each barrier there. A write that changes users or
// sessions adds one statement (the barrier) and waits about one round
// trip to each other instance; when an instance vanishes without giving
// up its lease (a crash, a partition), writes wait for its lease to run
// out, or for their context to end (an error wrapping
// auth.ErrStoreUnavailable after the write committed). Memory: at most
// CacheConfig.Size users, each with up to 8 live sessions.
//
// # Failures
//
// A store that cannot reach PostgreSQL, or is closed, returns errors
// wrapping auth.ErrStoreUnavailable and the driver's error (and the
// context's error, when the context ended mid-call); a context that has
// already ended when a call starts is returned as it is, as store/memory
// does. The store holds no connection between calls, and pgxpool discards
// connections that broke and pings those idle for over a second before
// handing them out, so when PostgreSQL comes back the next calls open fresh
// connections: nothing needs restarting.
//
// An error does not always mean that nothing happened. When a context ends
// mid-statement, pgx cancels the statement on the server, but the cancel
// is asynchronous and can arrive after the commit; and a connection can
// break after PostgreSQL committed a write. Callers that retry a write must
// expect ErrUserExists and the like.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/identitystore"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/passkeystore"
)

// ErrClosed is wrapped, together with auth.ErrStoreUnavailable, by every
// call on a closed Store.
var ErrClosed = errors.New("postgres: store closed")

// Store is an auth.Store backed by PostgreSQL. It is safe for concurrent
// use, by any number of goroutines and of processes sharing the database.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	closed  atomic.Bool
	schema  string
	q       queries

	channel string       // the schema's notification channel
	cq      cacheQueries // the caching protocol's statements
	cache   *userCache   // nil with CacheConfig.Off
	inst    *instance    // nil with CacheConfig.Off
}

// Store offers every optional capability of an auth.Store.
var (
	_ auth.Store          = (*Store)(nil)
	_ recovery.LinkStore  = (*Store)(nil)
	_ admin.UserLister    = (*Store)(nil)
	_ auth.UserDeleter    = (*Store)(nil)
	_ mfastore.Store      = (*Store)(nil)
	_ passkeystore.Store  = (*Store)(nil)
	_ identitystore.Store = (*Store)(nil)
	_ auth.Pinger         = (*Store)(nil)
	_ io.Closer           = (*Store)(nil)
)

// Config configures Open and New. The zero value keeps the tables in the
// connection's current schema.
type Config struct {
	// Schema keeps the store's tables in the named PostgreSQL schema,
	// creating it if it does not exist (which needs the CREATE privilege on
	// the database). The name is used as given, case included; it is always
	// quoted, so any name is safe. Empty means the current schema of the
	// connection.
	Schema string

	// SkipMigrations makes Open and New leave the schema as it is, for a
	// service that applies the store's migrations with its own tool
	// (Migrations gives their SQL): they check instead that the schema
	// holds every migration this release needs, and refuse one that is
	// older with an error naming those it lacks. Migrations newer than
	// the release are accepted, as without SkipMigrations. Default false:
	// Open and New bring the schema up to date.
	SkipMigrations bool

	// Cache configures the memory of users and sessions that answers
	// UserByID and UserBySession, the store's reads on every
	// authenticated request (see "Caching and exact revocation").
	Cache CacheConfig
}

// CacheConfig configures a Store's cache. The zero value caches up to
// 10,000 users with a lease of 3 seconds.
type CacheConfig struct {
	// Off turns the cache off: every UserByID and UserBySession reads the
	// database, and the Store opens no connection of its own to listen.
	// Its writes still wait for the instances that do cache (cmd/authctl
	// opens its store this way).
	Off bool

	// Size bounds the users held, each with up to 8 of its live sessions;
	// a full cache drops an arbitrary user for a new one. Zero means
	// 10,000; negative is refused.
	Size int

	// Lease is how long the cache may answer after the database last
	// confirmed that this instance hears every change (which it renews
	// every third of the lease). It is also about the longest that a
	// write which ends tokens waits for an instance that stopped
	// answering without saying so (a crash, a network partition).
	// Zero means 3 seconds; below 100 ms is refused.
	Lease time.Duration
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value connection string, as pgxpool.ParseConfig reads it), brings the
// schema up to date (unless Config.SkipMigrations) and returns a Store that
// owns its connection pool: Close closes it. Unless Config.Cache.Off, it
// also opens the cache's listening connection (one more, outside the
// pool) and waits until that has joined. An empty url is refused: it
// would connect to whatever libpq's defaults and PG* environment variables
// name. An unreachable database is an error wrapping
// auth.ErrStoreUnavailable.
func Open(ctx context.Context, url string, c Config) (*Store, error) {
	if strings.TrimSpace(url) == "" {
		return nil, errors.New("postgres: Open: url is empty; give the URL of the database (postgres://user@host/dbname)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts the password in the message.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	s, err := newStore(ctx, pool, true, c)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store on the caller's pool, after bringing the schema up to
// date (unless Config.SkipMigrations), and, unless Config.Cache.Off, with
// the cache's listening connection joined (opened with the pool's
// connection settings, outside the pool). Close does not close the pool;
// the caller does, after Close.
func New(ctx context.Context, pool *pgxpool.Pool, c Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: New: nil pool")
	}
	return newStore(ctx, pool, false, c)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, own bool, c Config) (*Store, error) {
	if len(c.Schema) > 63 {
		// PostgreSQL would silently truncate it (NAMEDATALEN).
		return nil, fmt.Errorf("postgres: schema name longer than 63 bytes")
	}
	switch {
	case c.Cache.Size < 0:
		return nil, fmt.Errorf("postgres: Config.Cache.Size is negative (%d)", c.Cache.Size)
	case c.Cache.Lease < 0 || (c.Cache.Lease > 0 && c.Cache.Lease < minCacheLease):
		return nil, fmt.Errorf("postgres: Config.Cache.Lease %v is below %v", c.Cache.Lease, minCacheLease)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	migrateOrCheck := migrate
	if c.SkipMigrations {
		migrateOrCheck = checkSchema
	}
	schema, err := migrateOrCheck(ctx, pool, c.Schema)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, ownPool: own, schema: schema, q: buildQueries(schema),
		channel: cacheChannel(schema), cq: buildCacheQueries(schema)}
	if !c.Cache.Off {
		size, lease := cmp.Or(c.Cache.Size, defaultCacheSize), cmp.Or(c.Cache.Lease, defaultCacheLease)
		s.cache = newUserCache(size)
		s.inst = newInstance(pool, schema, &s.cq, s.cache, lease)
		if err := s.inst.start(ctx); err != nil {
			s.inst.close()
			return nil, err
		}
	}
	return s, nil
}

// Schema returns the name of the PostgreSQL schema that holds the store's
// tables.
func (s *Store) Schema() string { return s.schema }

// Close marks the store closed, so that every later call fails with an
// error wrapping auth.ErrStoreUnavailable and ErrClosed, stops its cache's
// listening connection and gives up its lease, and closes the pool if
// Open made it (waiting for calls in flight to return their connections).
// It is safe to call more than once; it always returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.inst != nil {
		s.inst.close()
	}
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// Settle returns once every instance that caches this schema's users (a
// Store without CacheConfig.Off, in any process) has acted on every change
// to auth_users and auth_sessions committed before the call, or has
// stopped answering from memory. The Store's own writes settle before they
// return; a service that changes those tables with its own SQL calls
// Settle after committing, for the same guarantee. Without it, such a
// change reaches the caches as soon as its notification arrives.
func (s *Store) Settle(ctx context.Context) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	return s.settle(ctx)
}

// Ping checks that PostgreSQL answers, for health checks. It implements
// auth.Pinger.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if err := s.pool.Ping(ctx); err != nil {
		return unavailable(ctx, err)
	}
	return nil
}

// ready is called first by every operation: a closed store and an ended
// context fail before touching the pool.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, ErrClosed)
	}
	return ctx.Err()
}

// unavailable wraps a driver error with auth.ErrStoreUnavailable, and with
// the context's error if the context has ended (pgx does not always wrap
// it), so that callers can tell a timeout from a refused connection.
//
// Text PostgreSQL refuses (a NUL, invalid UTF-8) is checked before every
// query; should some reach PostgreSQL still, its refusal is reported as
// auth.ErrInvalidInput, never as unavailability.
func unavailable(ctx context.Context, err error) error {
	if c := sqlState(err); c == codeCharacterNotInRepertoire || c == codeUntranslatableCharacter {
		return fmt.Errorf("%w: %w", auth.ErrInvalidInput, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w: %w", auth.ErrStoreUnavailable, cerr, err)
	}
	return fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, err)
}

// SQLSTATE codes the store maps to auth errors.
const (
	codeUniqueViolation          = "23505"
	codeForeignKeyViolation      = "23503"
	codeCharacterNotInRepertoire = "22021" // a NUL, or invalid UTF-8
	codeUntranslatableCharacter  = "22P05"
)

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// ident quotes a schema-qualified name.
func ident(schema, name string) string {
	return pgx.Identifier{schema, name}.Sanitize()
}
