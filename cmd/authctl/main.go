// Command authctl administers the users of a goauthkit store from the
// command line: the first administrator, and emergency changes, on the
// same data directory or database as the example server.
//
//	authctl [-data DIR] [-db sqlite|sqlite-shared|postgres://...] user SUBCOMMAND ...
//
//	user create NAME [-role ROLE]... [-email EMAIL]   the password is read from standard input
//	user disable [-force] NAME                        ends every session of the user at once
//	user enable NAME
//	user roles [-force] NAME ROLE,ROLE,...            replaces the roles ("" for none)
//	user list [-limit N]
//	user logout NAME                                  every session and access token ended
//	user delete [-force] NAME                         the account, its sessions and links
//	user password NAME                                the password is read from standard input
//	user mfa-reset NAME                               the second factor taken away, every session ended
//
// A change that would leave no enabled user with the role admin (a
// disable, a change of roles, a deletion) is refused unless given -force,
// and then said. user password ends every login of the user, as a reset
// does. user mfa-reset deletes the user's authenticator app (TOTP) and
// recovery codes, for a user who lost them, and ends every login of the
// user, as the server's DELETE /admin/users/{id}/mfa does. Every change is
// written to standard error as the server's audit log writes it, with the
// actor "authctl (unix user NAME)", NAME being who runs it.
//
// -data and -db mean what they mean to the server (and default to
// AUTH_DATA_DIR and AUTH_DATABASE_URL, then ./data and SQLite). A password
// is never taken from a flag, where it would stay in the shell's history
// and the process list: authctl reads it from standard input, without
// echo on a terminal, checks it by the password rules and hashes it with
// the hasher the Authenticator is configured with (argon2id). Against a SQLite file that a running server holds,
// authctl says so and exits 1: use the server's admin API then.
//
// The command line itself is package admin/adminctl's; authctl only opens
// the example server's store. A service with its own store runs the same
// commands from a cmd/authctl of its own module (see package adminctl).
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin/adminctl"
	"github.com/goauthkit/auth/store/postgres"
	"github.com/goauthkit/auth/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

const preamble = `Usage: authctl [-data DIR] [-db VALUE] user SUBCOMMAND [ARGS]

Administers the users of the example server's store.

Global flags:
  -data DIR    data directory holding auth.db (AUTH_DATA_DIR; default ./data)
  -db VALUE    sqlite (default), sqlite-shared, or a postgres:// URL
               (AUTH_DATABASE_URL)
`

// run runs one command line and returns the exit code: its own flags
// here, the rest in package adminctl, on the store the flags select.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := adminctl.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv, Preamble: preamble}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		env.ReadPassword = func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			p, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(p), err
		}
	}
	fs := flag.NewFlagSet("authctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data", cmp.Or(getenv("AUTH_DATA_DIR"), "./data"), "")
	db := fs.String("db", getenv("AUTH_DATABASE_URL"), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, env.Usage())
			return adminctl.ExitOK
		}
		fmt.Fprintf(stderr, "authctl: %v\n%s", err, env.Usage())
		return adminctl.ExitUsage
	}
	env.Args = fs.Args()
	closeStore := func() {}
	defer func() { closeStore() }()
	return adminctl.RunWith(ctx, env, func(ctx context.Context) (*auth.Authenticator, error) {
		store, closeFn, err := openStore(ctx, *dataDir, *db)
		if err != nil {
			return nil, err
		}
		closeStore = closeFn
		return auth.New(auth.Config{
			Store: store,
			// authctl issues no token; the Authenticator wants a key anyway.
			SecretKey: []byte(rand.Text() + rand.Text()),
		})
	})
}

// openStore opens the store the flags select, as the example server does.
func openStore(ctx context.Context, dataDir, db string) (auth.Store, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	switch {
	case db == "memory":
		return nil, nil, errors.New("-db memory is a server's own memory: there is nothing to administer from here")
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		// A command that runs once has nothing to cache; its writes still
		// wait for the servers' caches.
		st, err := postgres.Open(ctx, db, postgres.Config{Cache: postgres.CacheConfig{Off: true}})
		if err != nil {
			return nil, nil, fmt.Errorf("cannot use the PostgreSQL database: %v", err)
		}
		return st, func() { _ = st.Close() }, nil
	case db == "", db == "sqlite", db == "sqlite-shared":
		// A fresh data directory is made, as the server makes it: the
		// first administrator can come before the first start.
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("cannot create the data directory %s: %v", dataDir, err)
		}
		path := filepath.Join(dataDir, "auth.db")
		// Exclusive: the file is ours for the few milliseconds of the
		// command, and a server holding it is told apart at once.
		st, err := sqlite.Open(ctx, path, sqlite.Config{ExclusiveLock: true})
		if errors.Is(err, sqlite.ErrLocked) {
			return nil, nil, fmt.Errorf("a running server holds %s: use its admin API (/admin/users), or stop it and run this again", path)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("cannot open %s: %v", path, err)
		}
		return st, func() { _ = st.Close() }, nil
	}
	return nil, nil, errors.New("-db: want sqlite, sqlite-shared or a postgres:// URL")
}
