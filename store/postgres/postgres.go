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
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

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
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value connection string, as pgxpool.ParseConfig reads it), brings the
// schema up to date (unless Config.SkipMigrations) and returns a Store that
// owns its connection pool: Close closes it. An empty url is refused: it
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
// date (unless Config.SkipMigrations). Close does not close the pool; the
// caller does, after Close.
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
	return &Store{pool: pool, ownPool: own, schema: schema, q: buildQueries(schema)}, nil
}

// Schema returns the name of the PostgreSQL schema that holds the store's
// tables.
func (s *Store) Schema() string { return s.schema }

// Close marks the store closed, so that every later call fails with an
// error wrapping auth.ErrStoreUnavailable and ErrClosed, and closes the
// pool if Open made it (waiting for calls in flight to return their
// connections). It is safe to call more than once; it always returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.ownPool {
		s.pool.Close()
	}
	return nil
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
