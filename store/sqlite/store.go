package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/identitystore"
	"github.com/goauthkit/auth/store/mfastore"
	"github.com/goauthkit/auth/store/passkeystore"
)

// Store is an auth.Store kept in one SQLite database file. It is safe for
// concurrent use by many goroutines. Create it with Open and release it with
// Close.
type Store struct {
	w      *sql.DB // one connection: every write and read-modify-write
	r      *sql.DB // query-only pool: plain reads (w itself when exclusive)
	closed atomic.Bool

	ws map[string]*sql.Stmt // prepared on w
	rs map[string]*sql.Stmt // prepared on r

	// users caches UserByID when the Store holds the file exclusively
	// (Config.ExclusiveLock), and is nil otherwise.
	users *userCache
	// afterUserRead, when set (by tests), runs between a UserByID's read
	// of the file and its offer to the cache.
	afterUserRead func()
}

// Config configures Open. The zero value opens the file shared: several
// processes may use it at once, and every lookup reads it.
type Config struct {
	// ExclusiveLock makes the Store the only user of the database file for
	// as long as it is open, and in exchange lets it cache users in memory.
	//
	// The Store then keeps a single connection in SQLite's EXCLUSIVE locking
	// mode (PRAGMA locking_mode): it takes the file's write lock when it opens
	// and holds it until Close. No other connection, in this process or
	// another (a second Store, the sqlite3 shell, a backup tool reading the
	// file), can read or write the file meanwhile: each waits for its busy
	// timeout and then fails with "database is locked". Open itself fails at
	// once, with an error wrapping ErrLocked, while another connection holds
	// the file.
	//
	// Because every change to the file now goes through this Store, it can
	// answer UserByID and UserBySession, which the middleware calls on
	// every authenticated request, from memory, and stay exact: every method
	// that changes a user or a session drops it from the cache once its
	// write has ended, whether it succeeded or not, and a lookup that raced
	// with a write does not put what it read into the cache. A lookup that
	// begins after a write has returned sees that write. Should database/sql
	// replace the connection (it discards one whose statement was
	// interrupted), the cache is off from the moment the old one closes
	// until the new one has taken the lock. At most 10,000 users and 10,000
	// live sessions are cached; others are read from the file. All reads
	// share the one connection with the writes, so a lookup that misses the
	// cache can wait behind a commit.
	//
	// Use it when one process owns the file, as an embedded database usually
	// is. Without it (the default) several processes may open the file at once
	// and every lookup reads the file.
	ExclusiveLock bool

	// SkipMigrations makes Open leave the file's schema as it is, for a
	// service that applies the store's migrations with its own tool
	// (Migrations gives their SQL): Open checks instead that the schema is
	// the version this release needs (PRAGMA user_version), and refuses an
	// older one with an error saying which migrations it lacks. Default
	// false: Open brings the schema up to date.
	SkipMigrations bool
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

// busyTimeoutMillis is how long a connection waits for a lock held by
// another process before it gives up with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// lockingConnector opens the connection of a Store opened
// with Config.ExclusiveLock. database/sql keeps one, but replaces it when the driver
// reports it unusable (after an interrupted statement, for one), and
// between the two the file is unlocked: another process could write it. So
// the cache is turned off before a connection closes (lockedConn.Close), and
// a new connection takes the write lock (in EXCLUSIVE locking mode it then
// keeps it) before the cache is turned on again, empty: whatever is cached
// was read under the lock of the connection that read it.
type lockingConnector struct {
	driver.Connector
	users *userCache
}

func (c lockingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	lc, err := newLockedConn(conn, c.users)
	if err != nil {
		conn.Close()
		return nil, err
	}
	for _, q := range []string{"BEGIN IMMEDIATE", "ROLLBACK"} {
		if _, err := lc.ExecContext(ctx, q, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("taking the exclusive lock: %w", err)
		}
	}
	c.users.reset(false)
	return lc, nil
}

// lockedConn is the driver's connection, with Close turning the user cache
// off first. It forwards every optional interface database/sql uses, so
// that contexts, transactions and validation work as without it.
type lockedConn struct {
	driver.Conn
	users *userCache

	beginTx driver.ConnBeginTx
	prepare driver.ConnPrepareContext
	exec    driver.ExecerContext
	query   driver.QueryerContext
	ping    driver.Pinger
	reset   driver.SessionResetter
	valid   driver.Validator
}

var (
	_ driver.ConnBeginTx        = (*lockedConn)(nil)
	_ driver.ConnPrepareContext = (*lockedConn)(nil)
	_ driver.ExecerContext      = (*lockedConn)(nil)
	_ driver.QueryerContext     = (*lockedConn)(nil)
	_ driver.Pinger             = (*lockedConn)(nil)
	_ driver.SessionResetter    = (*lockedConn)(nil)
	_ driver.Validator          = (*lockedConn)(nil)
)

func newLockedConn(conn driver.Conn, users *userCache) (*lockedConn, error) {
	c := &lockedConn{Conn: conn, users: users}
	var ok [7]bool
	c.beginTx, ok[0] = conn.(driver.ConnBeginTx)
	c.prepare, ok[1] = conn.(driver.ConnPrepareContext)
	c.exec, ok[2] = conn.(driver.ExecerContext)
	c.query, ok[3] = conn.(driver.QueryerContext)
	c.ping, ok[4] = conn.(driver.Pinger)
	c.reset, ok[5] = conn.(driver.SessionResetter)
	c.valid, ok[6] = conn.(driver.Validator)
	for _, o := range ok {
		if !o {
			return nil, fmt.Errorf("sqlite: the driver's connection (%T) lacks an interface the exclusive Store needs", conn)
		}
	}
	return c, nil
}

// Close turns the cache off, then closes the connection (which unlocks
// the file).
func (c *lockedConn) Close() error {
	c.users.reset(true)
	return c.Conn.Close()
}

// Unwrap returns the driver's connection.
func (c *lockedConn) Unwrap() driver.Conn { return c.Conn }

func (c *lockedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.beginTx.BeginTx(ctx, opts)
}

func (c *lockedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prepare.PrepareContext(ctx, query)
}

func (c *lockedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.exec.ExecContext(ctx, query, args)
}

func (c *lockedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.query.QueryContext(ctx, query, args)
}

func (c *lockedConn) Ping(ctx context.Context) error { return c.ping.Ping(ctx) }

func (c *lockedConn) ResetSession(ctx context.Context) error { return c.reset.ResetSession(ctx) }

func (c *lockedConn) IsValid() bool { return c.valid.IsValid() }

// errClosed is the cause of every error a closed Store returns.
var errClosed = errors.New("sqlite: store is closed")

// ErrLocked is wrapped (with auth.ErrStoreUnavailable) by the error of an
// Open that finds the file locked by another connection: a Store opened
// with Config.ExclusiveLock, in this process or another (a server already running
// on the file), or any connection while an exclusive Open asks for the
// lock.
var ErrLocked = errors.New("sqlite: the database file is locked by another connection")

// Open opens the SQLite database file at path, creating it if it does not
// exist, and brings its schema up to date (unless Config.SkipMigrations).
// The file is put in WAL mode.
// c says how (see Config.ExclusiveLock).
//
// path must name a file: an empty path and ":memory:" are refused, as every
// connection would get its own database. Failures to open, create or migrate
// the file wrap auth.ErrStoreUnavailable.
func Open(ctx context.Context, path string, c Config) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: Open: path %q does not name a database file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: sqlite: Open: %w", auth.ErrStoreUnavailable, err)
	}
	// The file holds password hashes: create it readable by its owner only
	// (SQLite would use 0644, and gives the -wal and -shm files the mode of
	// the database file).
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: sqlite: Open: %w", auth.ErrStoreUnavailable, err)
	}
	f.Close()
	// A file: URI, so that no character of the path (?, #, %) is read as
	// part of the query; SQLite decodes the escapes.
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: C:/x becomes /C:/x
	}
	base := "file:" + (&url.URL{Path: p}).EscapedPath()
	pragmas := []string{fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis)}
	if c.ExclusiveLock {
		// No waiting for a lock: once the one connection holds the file,
		// nothing can take it from it, so the timeout would only make an
		// Open that finds the file held (a second server) wait 5 s before
		// saying so.
		pragmas[0] = "busy_timeout(0)"
		// Before journal_mode: a connection that enters WAL mode in
		// EXCLUSIVE locking mode keeps the WAL index in its own memory
		// rather than in the -shm file that other connections share.
		pragmas = append(pragmas, "locking_mode(EXCLUSIVE)")
	}
	pragmas = append(pragmas,
		"journal_mode(WAL)",
		"foreign_keys(1)",
		"synchronous(FULL)",
	)
	q := url.Values{"_pragma": pragmas}
	q.Set("_txlock", "immediate")
	var w *sql.DB
	var users *userCache
	if c.ExclusiveLock {
		users = newUserCache(userCacheSize)
		c, err := sqlite.NewConnector(base + "?" + q.Encode())
		if err != nil {
			return nil, fmt.Errorf("%w: sqlite: Open: %w", auth.ErrStoreUnavailable, err)
		}
		w = sql.OpenDB(lockingConnector{Connector: c, users: users})
	} else if w, err = sql.Open("sqlite", base+"?"+q.Encode()); err != nil {
		return nil, fmt.Errorf("%w: sqlite: Open: %w", auth.ErrStoreUnavailable, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	// The writer's first connection converts the file to WAL, and the
	// migrations create the schema, before any reader connects.
	migrateOrCheck := migrate
	if c.SkipMigrations {
		migrateOrCheck = checkVersion
	}
	if err := migrateOrCheck(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	if c.ExclusiveLock {
		s := &Store{w: w, r: w, users: users}
		if s.ws, err = prepare(ctx, w, writerQueries); err == nil {
			s.rs, err = prepare(ctx, w, readerQueries)
		}
		if err != nil {
			w.Close()
			return nil, wrapOpen(ctx, err)
		}
		return s, nil
	}

	q = url.Values{"_pragma": append(pragmas, "query_only(1)")}
	r, err := sql.Open("sqlite", base+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("%w: sqlite: Open: %w", auth.ErrStoreUnavailable, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{w: w, r: r}
	if s.ws, err = prepare(ctx, w, writerQueries); err == nil {
		s.rs, err = prepare(ctx, r, readerQueries)
	}
	if err != nil {
		r.Close()
		w.Close()
		return nil, wrapOpen(ctx, err)
	}
	return s, nil
}

// Close closes the database. Every later call on s returns an error
// wrapping auth.ErrStoreUnavailable. Closing a closed Store does nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.users != nil {
		s.users.reset(true)
	}
	var errR error
	if s.r != s.w {
		errR = s.r.Close()
	}
	errW := s.w.Close() // the last connection checkpoints the WAL
	if err := errors.Join(errW, errR); err != nil {
		return fmt.Errorf("%w: sqlite: Close: %w", auth.ErrStoreUnavailable, err)
	}
	return nil
}

// Ping checks that the database file answers, for health checks. It
// implements auth.Pinger: a failure wraps auth.ErrStoreUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var v int
	if err := s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return s.fail(ctx, "Ping", err)
	}
	if err := s.w.PingContext(ctx); err != nil {
		return s.fail(ctx, "Ping", err)
	}
	return nil
}

// check is the first step of every method: a closed store or a done
// context fails at once.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("%w: %w", auth.ErrStoreUnavailable, errClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// fail wraps a driver error from operation op: the context's error if ctx
// is done (the driver interrupts a statement whose context ends), otherwise
// auth.ErrStoreUnavailable together with err.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("sqlite: %s: %w", op, cerr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("%w: sqlite: %s: %w", auth.ErrStoreUnavailable, op, errClosed)
	}
	return fmt.Errorf("%w: sqlite: %s: %w", auth.ErrStoreUnavailable, op, err)
}

func wrapOpen(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("sqlite: Open: %w", cerr)
	}
	if sqliteCode(err)&0xff == sqlite3.SQLITE_BUSY {
		return fmt.Errorf("%w: %w (a Store opened with Config.ExclusiveLock, or any connection while this one asks for the lock): %w",
			auth.ErrStoreUnavailable, ErrLocked, err)
	}
	return fmt.Errorf("%w: sqlite: Open: %w", auth.ErrStoreUnavailable, err)
}

// sqliteCode returns the extended result code of a driver error, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
