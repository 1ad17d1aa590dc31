package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/goauthkit/auth"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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
	// (WithExclusiveLock), and is nil otherwise.
	users *userCache
	// afterUserRead, when set (by tests), runs between a UserByID's read
	// of the file and its offer to the cache.
	afterUserRead func()
}

// An Option changes how Open opens the database.
type Option func(*options)

type options struct {
	exclusive bool
}

// WithExclusiveLock makes the Store the only user of the database file for
// as long as it is open, and in exchange lets it cache users in memory.
//
// The Store then keeps a single connection in SQLite's EXCLUSIVE locking
// mode (PRAGMA locking_mode): it takes the file's write lock when it opens
// and holds it until Close. No other connection, in this process or
// another (a second Store, the sqlite3 shell, a backup tool reading the
// file), can read or write the file meanwhile: each waits for the busy
// timeout (5 s) and then fails with "database is locked". Open itself
// fails that way while another connection holds the file.
//
// Because every change to the file now goes through this Store, it can
// answer UserByID, which the middleware calls on every authenticated
// request, from memory, and stay exact: every method that changes a user
// (UpdateUser, UpdatePasswordHash, InvalidateTokens, DeleteUser,
// CreateUser) drops that user from the cache once its write has ended,
// whether it succeeded or not, and a lookup that raced with a write does
// not put what it read into the cache. A UserByID that begins after a write
// has returned sees that write. At most 10,000 users are cached; others
// are read from the file. All reads share the one connection with the
// writes, so a lookup that misses the cache can wait behind a commit.
//
// Use it when one process owns the file, as an embedded database usually
// is. Without it (the default) several processes may open the file at once
// and every lookup reads the file.
func WithExclusiveLock() Option {
	return func(o *options) { o.exclusive = true }
}

var (
	_ auth.Store  = (*Store)(nil)
	_ auth.Pinger = (*Store)(nil)
	_ auth.Closer = (*Store)(nil)
)

// busyTimeoutMillis is how long a connection waits for a lock held by
// another process before it gives up with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// errClosed is the cause of every error a closed Store returns.
var errClosed = errors.New("sqlite: store is closed")

// Open opens the SQLite database file at path, creating it if it does not
// exist, and brings its schema up to date. The file is put in WAL mode.
// Options change how (see WithExclusiveLock).
//
// path must name a file: an empty path and ":memory:" are refused, as every
// connection would get its own database. Failures to open, create or migrate
// the file wrap auth.ErrStoreUnavailable.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
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
	if o.exclusive {
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
	w, err := sql.Open("sqlite", base+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("%w: sqlite: Open: %w", auth.ErrStoreUnavailable, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	// The writer's first connection converts the file to WAL, and the
	// migrations create the schema, before any reader connects. Their
	// transaction takes the write lock, which in EXCLUSIVE locking mode the
	// connection then keeps.
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	if o.exclusive {
		s := &Store{w: w, r: w, users: newUserCache(userCacheSize)}
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
		s.users.clear()
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
