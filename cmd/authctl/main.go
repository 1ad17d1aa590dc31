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
//
// A change that would leave no enabled user with the role admin (a
// disable, a change of roles, a deletion) is refused unless given -force,
// and then said. user password ends every login of the user, as a reset
// does. Every change is written to standard
// error as the server's audit log writes it, with the actor "authctl (unix
// user NAME)", NAME being who runs it.
//
// -data and -db mean what they mean to the server (and default to
// AUTH_DATA_DIR and AUTH_DATABASE_URL, then ./data and SQLite). A password
// is never taken from a flag, where it would stay in the shell's history
// and the process list: authctl reads it from standard input, without
// echo on a terminal, checks it by the password rules and hashes it with
// the hasher the Authenticator is configured with (argon2id). Against a SQLite file that a running server holds,
// authctl says so and exits 1: use the server's admin API then.
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/audit"
	"github.com/goauthkit/auth/store/postgres"
	"github.com/goauthkit/auth/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Usage: authctl [-data DIR] [-db VALUE] user SUBCOMMAND [ARGS]

Administers the users of the example server's store.

Global flags:
  -data DIR    data directory holding auth.db (AUTH_DATA_DIR; default ./data)
  -db VALUE    sqlite (default), sqlite-shared, or a postgres:// URL
               (AUTH_DATABASE_URL)

Subcommands:
  user create NAME [-role ROLE]... [-email EMAIL]
               create a user; the password is read from standard input
  user disable [-force] NAME
               disable a user, ending every session at once
  user enable NAME      enable a user again
  user roles [-force] NAME ROLES
               set the roles, comma-separated ("" for none)
  user list [-limit N]  list the users
  user logout NAME      end every session and access token of a user
  user delete [-force] NAME
               delete a user, with every session and mailed link
  user password NAME    set a user's password, read from standard input;
               ends every session and access token of the user

A change that would leave no enabled user with the role admin is refused
unless given -force. Every change is also written to standard error as an
audit line, naming authctl and the system user running it.

Run "authctl user SUBCOMMAND -h" for a subcommand's flags.
`

// exit codes
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// errUsage is a mistake in the command line, already explained.
var errUsage = errors.New("usage")

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	a              *auth.Authenticator
	admin          *admin.Admin
	// actor names authctl and who runs it, for the audit log.
	actor string
}

// run runs one command line and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("authctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data", cmp.Or(getenv("AUTH_DATA_DIR"), "./data"), "")
	db := fs.String("db", getenv("AUTH_DATABASE_URL"), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "authctl: %v\n%s", err, usage)
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "user" {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	rest = rest[1:]
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, cmdArgs := rest[0], rest[1:]
	sub, ok := subcommands[cmd]
	if !ok {
		if cmd == "-h" || cmd == "-help" || cmd == "--help" || cmd == "help" {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "authctl: unknown subcommand %q\n%s", "user "+cmd, usage)
		return exitUsage
	}
	// Parse the subcommand's arguments before touching the store, so that
	// -h and mistakes cost nothing.
	parsed, err := sub.parse(cmdArgs, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	store, closeStore, err := openStore(ctx, *dataDir, *db)
	if err != nil {
		fmt.Fprintf(stderr, "authctl: %v\n", err)
		return exitFail
	}
	defer closeStore()
	a, err := auth.New(auth.Config{
		Store: store,
		// authctl issues no token; the Authenticator wants a key anyway.
		SecretKey: []byte(rand.Text() + rand.Text()),
		OnEvent:   audit.Log(slog.New(slog.NewTextHandler(stderr, nil))),
	})
	if err != nil {
		fmt.Fprintf(stderr, "authctl: %v\n", err)
		return exitFail
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, a: a, admin: admin.New(a), actor: "authctl (unix user " + systemUser(getenv) + ")"}
	if err := parsed(ctx, e); err != nil {
		fmt.Fprintf(stderr, "authctl: %s\n", describe(err))
		return exitFail
	}
	return exitOK
}

// subcommand parses its arguments into the action to run.
type subcommand struct {
	synopsis string
	parse    func(args []string, stdout, stderr io.Writer) (func(context.Context, *env) error, error)
}

// parseArgs parses fs's flags wherever they are among args (a name may
// come first, as in "user create alice -role admin"), and returns the
// positional arguments, of which there must be want. -h prints the
// subcommand's usage and returns flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, synopsis string, args []string, want int, stdout, stderr io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(stdout, "Usage: authctl user %s\n", synopsis)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil, err
			}
			fmt.Fprintf(stderr, "authctl: %v\nUsage: authctl user %s\n", err, synopsis)
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != want {
		fmt.Fprintf(stderr, "authctl: want %d argument(s), got %d\nUsage: authctl user %s\n", want, len(pos), synopsis)
		return nil, errUsage
	}
	return pos, nil
}

// rolesFlag collects repeated -role flags (each may hold a comma list).
type rolesFlag []string

func (r *rolesFlag) String() string { return strings.Join(*r, ",") }
func (r *rolesFlag) Set(v string) error {
	*r = append(*r, splitRoles(v)...)
	return nil
}

func splitRoles(v string) []string {
	var out []string
	for r := range strings.SplitSeq(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

var subcommands = map[string]subcommand{
	"create": {"create NAME [-role ROLE]... [-email EMAIL]", func(args []string, stdout, stderr io.Writer) (func(context.Context, *env) error, error) {
		const syn = "create NAME [-role ROLE]... [-email EMAIL]  (the password is read from standard input)"
		fs := flag.NewFlagSet("create", flag.ContinueOnError)
		var roles rolesFlag
		fs.Var(&roles, "role", "a role to give the user (repeatable, or comma-separated)")
		email := fs.String("email", "", "the user's email address")
		pos, err := parseArgs(fs, syn, args, 1, stdout, stderr)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, e *env) error {
			password, err := readPassword(e, pos[0], "create")
			if err != nil {
				return err
			}
			u, err := e.admin.CreateUser(ctx, auth.NewUser{Username: pos[0], Password: password, Email: *email, Roles: roles, Actor: e.actor})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "created user %s (id %s)%s\n", u.Username, u.ID, rolesText(u.Roles))
			return nil
		}, nil
	}},
	"disable": byName("disable", func(ctx context.Context, e *env, u *auth.User, force bool) error {
		u, err := e.admin.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(true), Actor: e.actor, Force: force})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "disabled %s: every session and access token ended%s\n", u.Username, forced(force))
		return nil
	}),
	"enable": byName("enable", func(ctx context.Context, e *env, u *auth.User, _ bool) error {
		if _, err := e.admin.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(false), Actor: e.actor}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "enabled %s\n", u.Username)
		return nil
	}),
	"delete": byName("delete", func(ctx context.Context, e *env, u *auth.User, force bool) error {
		if err := e.admin.DeleteUser(ctx, u.ID, admin.Deletion{Actor: e.actor, Force: force}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted %s: its sessions and links are gone, its username and email free%s\n", u.Username, forced(force))
		return nil
	}),
	"password": byName("password", func(ctx context.Context, e *env, u *auth.User, _ bool) error {
		password, err := readPassword(e, u.Username, "password")
		if err != nil {
			return err
		}
		if err := e.admin.SetPassword(ctx, u.ID, admin.PasswordSet{Password: password, Actor: e.actor}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "set the password of %s: every session and access token ended\n", u.Username)
		return nil
	}),
	"logout": byName("logout", func(ctx context.Context, e *env, u *auth.User, _ bool) error {
		if _, err := e.admin.UpdateUser(ctx, u.ID, admin.Update{Logout: true, Actor: e.actor}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "logged %s out everywhere\n", u.Username)
		return nil
	}),
	"roles": {"roles [-force] NAME ROLE,ROLE,...", func(args []string, stdout, stderr io.Writer) (func(context.Context, *env) error, error) {
		const syn = `roles [-force] NAME ROLE,ROLE,...  (replaces the roles; "" for none)`
		fs := flag.NewFlagSet("roles", flag.ContinueOnError)
		force := fs.Bool("force", false, forceUsage)
		pos, err := parseArgs(fs, syn, args, 2, stdout, stderr)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, e *env) error {
			u, err := lookup(ctx, e, pos[0])
			if err != nil {
				return err
			}
			roles := splitRoles(pos[1])
			if u, err = e.admin.UpdateUser(ctx, u.ID, admin.Update{Roles: &roles, Actor: e.actor, Force: *force}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s now has roles: %s%s\n", u.Username, cmp.Or(strings.Join(u.Roles, ","), "none"), forced(*force))
			return nil
		}, nil
	}},
	"list": {"list [-limit N]", func(args []string, stdout, stderr io.Writer) (func(context.Context, *env) error, error) {
		fs := flag.NewFlagSet("list", flag.ContinueOnError)
		limit := fs.Int("limit", 0, "list at most N users (default all)")
		if _, err := parseArgs(fs, "list [-limit N]", args, 0, stdout, stderr); err != nil {
			return nil, err
		}
		return func(ctx context.Context, e *env) error {
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tEMAIL\tDISABLED\tROLES\tCREATED\tID")
			cursor, n := "", 0
			for {
				page, next, err := e.admin.ListUsers(ctx, cursor, admin.MaxListUsers)
				if err != nil {
					return err
				}
				for _, u := range page {
					if *limit > 0 && n == *limit {
						return tw.Flush()
					}
					n++
					fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", u.Username, cmp.Or(u.Email, "-"), u.Disabled,
						cmp.Or(strings.Join(u.Roles, ","), "-"), u.CreatedAt.UTC().Format(time.RFC3339), u.ID)
				}
				if next == "" {
					return tw.Flush()
				}
				cursor = next
			}
		}, nil
	}},
}

const forceUsage = "make the change even if it leaves no enabled user with the role admin"

// byName is a subcommand that takes a user's name and acts on the user;
// disable and delete also take -force.
func byName(name string, act func(ctx context.Context, e *env, u *auth.User, force bool) error) subcommand {
	takesForce := name == "disable" || name == "delete"
	syn := name + " NAME"
	if takesForce {
		syn = name + " [-force] NAME"
	}
	if name == "password" {
		syn += "  (the password is read from standard input)"
	}
	return subcommand{syn, func(args []string, stdout, stderr io.Writer) (func(context.Context, *env) error, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		force := new(bool)
		if takesForce {
			force = fs.Bool("force", false, forceUsage)
		}
		pos, err := parseArgs(fs, syn, args, 1, stdout, stderr)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, e *env) error {
			u, err := lookup(ctx, e, pos[0])
			if err != nil {
				return err
			}
			return act(ctx, e, u, *force)
		}, nil
	}}
}

func ptr[T any](v T) *T { return &v }

// forced says, after a change made with -force, that no enabled
// administrator may be left.
func forced(force bool) string {
	if !force {
		return ""
	}
	return " (-force: the change was made even if it leaves no enabled user with the role admin)"
}

// systemUser is who runs authctl: $USER, else the user of the process.
func systemUser(getenv func(string) string) string {
	if name := getenv("USER"); name != "" {
		return name
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprint("uid ", os.Getuid())
}

// errNoSuchUser is a name that is no account's.
type errNoSuchUser string

func (e errNoSuchUser) Error() string { return fmt.Sprintf("no user named %q", string(e)) }

// lookup finds a user by username (normalised as at login) or email.
func lookup(ctx context.Context, e *env, name string) (*auth.User, error) {
	u, err := e.a.Store().UserByUsername(ctx, auth.NormalizeUsername(name))
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, auth.ErrNotFound) {
		return nil, err
	}
	u, err = e.a.Store().UserByEmail(ctx, auth.NormalizeEmail(name))
	if errors.Is(err, auth.ErrNotFound) {
		return nil, errNoSuchUser(name)
	}
	return u, err
}

// readPassword reads the password of the user name, for the subcommand
// sub: without echo from a terminal (twice, to catch a typo), else the
// first line of standard input.
func readPassword(e *env, name, sub string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.stderr, "Password for %s: ", name)
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		fmt.Fprint(e.stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the two passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(e.stdin, 8<<10), 8<<10).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("no password on standard input (pipe it in: printf '%%s\\n' \"$PASSWORD\" | authctl user %s NAME)", sub)
	}
	return line, nil
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	return " with roles " + strings.Join(roles, ",")
}

// describe turns the library's errors into a line for the operator.
func describe(err error) string {
	var pe *auth.PasswordError
	switch {
	case errors.As(err, &pe):
		return "the password is refused: " + pe.Description
	case errors.Is(err, auth.ErrUserExists):
		return "that username is taken (or is another account's email)"
	case errors.Is(err, auth.ErrEmailExists):
		return "that email address belongs to another account"
	case errors.Is(err, auth.ErrInvalidUsername):
		return "usernames are 3 to 64 characters of a-z, 0-9, '.', '_', '-', '@', '+'"
	case errors.Is(err, auth.ErrInvalidEmail):
		return "the email is not a valid address"
	case errors.Is(err, auth.ErrLastAdmin):
		return "refused: that would leave no enabled user with the role admin (give -force to do it anyway)"
	case errors.Is(err, auth.ErrInvalidRole):
		return "roles are at most 32 names of 1 to 64 characters of a-z, 0-9, '_', '-', '.', ':'"
	}
	return err.Error()
}

// openStore opens the store the flags select, as the example server does.
func openStore(ctx context.Context, dataDir, db string) (auth.Store, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	switch {
	case db == "memory":
		return nil, nil, errors.New("-db memory is a server's own memory: there is nothing to administer from here")
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		st, err := postgres.Open(ctx, db, postgres.Config{})
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
