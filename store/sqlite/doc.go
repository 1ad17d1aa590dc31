// Package sqlite is the embedded default [auth.Store]: users and refresh
// sessions in one SQLite database file, through the pure-Go driver
// modernc.org/sqlite (no cgo), with every optional capability
// ([recovery.LinkStore], [admin.UserLister], [auth.UserDeleter],
// [mfastore.Store], [passkeystore.Store], [identitystore.Store]).
//
// # Design
//
// [Open] opens the file through two database/sql handles:
//
//   - a writer with exactly one connection. Every statement that changes
//     the database, and every read-modify-write transaction (RotateSession,
//     UpdatePasswordHash, InvalidateTokens), runs on it, so writes within
//     the process are serialised by the connection pool (callers queue for
//     the connection, and stop waiting when their context ends) instead of
//     by SQLite's locks. Its transactions begin with BEGIN IMMEDIATE, so a
//     transaction takes the write lock before it reads and can never fail
//     with SQLITE_BUSY half-way when it tries to upgrade a read lock (which
//     matters when another process writes the same file).
//   - a reader pool of several connections for plain reads (UserByID,
//     UserByUsername). The connections are query-only.
//
// Every statement is prepared once by Open and kept per connection, so the
// hot paths parse no SQL.
//
// Every connection of both handles is configured through _pragma DSN
// parameters, so a connection the pool opens later gets the same settings:
// journal_mode=WAL (readers never block the writer and the writer never
// blocks readers), busy_timeout=5000 (5 s of waiting, rather than an
// immediate "database is locked", should another process hold the lock),
// foreign_keys=ON (sessions, link tokens, second factors, passkeys and
// linked identities die with their user through ON DELETE CASCADE) and synchronous=FULL (a commit, such as a
// logout-all, survives a power loss).
//
// # Exclusive mode
//
// Opened with [Config.ExclusiveLock], the Store is the file's only user: one
// connection in SQLite's EXCLUSIVE locking mode serves every read and
// write, takes the write lock at Open and keeps it until Close, and keeps
// the WAL index in its own memory rather than in the shared -shm file. No
// other connection, in this process or another, can read or write the file
// meanwhile, and Open fails at once (ErrLocked; no busy timeout) while
// another connection holds it. Because nothing else can change the file,
// UserByID and UserBySession (the lookups behind every authenticated
// request) are answered from an in-memory cache that every write of a user
// or a session invalidates when it ends: 0.7 µs and 2 allocations instead
// of 18 µs and 54 (BENCHMARKS.md).
//
// The schema is versioned with PRAGMA user_version; Open applies the
// missing migrations in one immediate transaction, so reopening a file, or
// opening it from two processes at once, is harmless. Open refuses a file
// whose schema is newer than this package. A service that migrates its
// database with its own tool (golang-migrate, Atlas) takes the SQL of each
// migration from Migrations and sets Config.SkipMigrations: Open then
// changes nothing, and refuses a file whose schema is older.
//
// Times are stored as INTEGER Unix microseconds and returned as time.Time
// in UTC: microsecond precision survives the round trip and the ordering of
// the integers is the ordering of the instants. Roles are stored as a JSON
// array. Token hashes are BLOBs and are compared in constant time in Go,
// never with SQL equality.
//
// # Errors
//
// Errors follow the auth.UserStore and auth.SessionStore contracts. A
// failure of the driver or the file (including any call on a closed Store)
// wraps both auth.ErrStoreUnavailable and the driver's error; a call whose
// context ends returns an error wrapping the context's error.
package sqlite
