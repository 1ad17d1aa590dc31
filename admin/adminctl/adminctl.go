// Package adminctl is the command line of authctl: it administers the
// users of an auth.Authenticator's store (the first administrator, and
// emergency changes) through package admin, for any store. cmd/authctl
// runs it on the example server's stores; a service with its own module
// and its own store (its own users table, its own PostgreSQL schema...)
// runs it on its own Authenticator.
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
// does. user mfa-reset is for a user who lost the authenticator app and
// the recovery codes: it does what package mfa's MFA.Reset does (the
// user's TOTP enrolment and recovery codes are deleted, then every login
// of the user is ended, even if there was nothing to delete, and the
// event is "mfa_reset"), through the store's mfastore.Store, so that
// neither this package nor a service's authctl needs module mfa; a store
// without that capability is refused in one line. Every change is written
// to standard error as an audit line (as package audit writes it), with
// the actor "authctl (unix user NAME)", NAME being who runs it; it also
// reaches the Authenticator's own Config.OnEvent. A password is never
// taken from a flag, where it would stay in the shell's history and the
// process list: it is read from standard input (Env.ReadPassword on a
// terminal), checked by the password rules and hashed by the
// Authenticator's hasher. Exit codes: 0 done, 1 refused or failed, 2 a
// mistake in the command line (found before the store is touched).
//
// # A service's own authctl
//
// A service adds a cmd/authctl/main.go to its own module that builds its
// Authenticator on its own store, as the service does, and calls Main:
//
//	package main
//
//	func main() {
//		st, err := mystore.Open(context.Background(), os.Getenv("DATABASE_URL"))
//		if err != nil {
//			log.Fatal(err)
//		}
//		a, err := auth.New(auth.Config{Store: st, SecretKey: []byte(os.Getenv("AUTH_SECRET_KEY"))})
//		if err != nil {
//			log.Fatal(err)
//		}
//		adminctl.Main(a)
//	}
//
// and then, from the service's module:
//
//	printf '%s\n' "$PASSWORD" | go run ./cmd/authctl user create root --role admin
//	go run ./cmd/authctl user list
//
// The Authenticator should be configured as the service's (the same
// password rules and hasher), and its store must implement
// admin.UserLister for user list. Main reads a password from standard
// input when it is piped in, and refuses a terminal, where it would show
// as typed; to read it from a terminal without echo, call Run with an
// Env.ReadPassword (golang.org/x/term's ReadPassword, as cmd/authctl
// does). To open the store only once the command line is known to be
// right, call RunWith.
package adminctl

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/audit"
	"github.com/goauthkit/auth/store/mfastore"
)

// Env is what one run of the command line reads and writes.
type Env struct {
	// Args is the command line after the program's name and its own
	// flags: "user", "create", "root", "-role", "admin".
	Args []string
	// Stdin holds the password of user create and user password (its
	// first line); nil is an empty input.
	Stdin io.Reader
	// Stdout and Stderr take the results, and the errors and audit
	// lines; nil discards them.
	Stdout, Stderr io.Writer
	// Getenv reads $USER, who runs the command, for the audit lines;
	// nil is os.Getenv.
	Getenv func(string) string
	// ReadPassword, if set, writes prompt to the terminal and reads a
	// password from it without echo (golang.org/x/term's ReadPassword);
	// it is asked twice, to catch a typo. Set it only when standard input
	// is a terminal: without it, the first line of Stdin is the password.
	ReadPassword func(prompt string) (string, error)
	// Name is the program's name in messages and in the audit lines'
	// actor; "" is "authctl".
	Name string
	// Preamble is the head of the usage text: the usage line, and the
	// program's own flags if it has any. "" is "Usage: NAME user
	// SUBCOMMAND [ARGS]".
	Preamble string
}

// Exit codes of Run.
const (
	ExitOK    = 0 // done
	ExitFail  = 1 // refused, or failed
	ExitUsage = 2 // a mistake in the command line
)

// errUsage is a mistake in the command line, already explained.
var errUsage = errors.New("usage")

// Main runs the command line of the process (os.Args) on a, with the
// standard streams and environment, until SIGINT or SIGTERM, and exits
// with Run's code. It is a service's whole cmd/authctl once a is built.
func Main(a *auth.Authenticator) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, a)
	stop()
	os.Exit(code)
}

// Run runs the command line env.Args on a and returns the exit code
// (ExitOK, ExitFail or ExitUsage).
func Run(ctx context.Context, env Env, a *auth.Authenticator) int {
	return RunWith(ctx, env, func(context.Context) (*auth.Authenticator, error) { return a, nil })
}

// RunWith is Run on the Authenticator open returns, called only once the
// command line is parsed: -h and a mistake in it never open a store. An
// error from open is printed as one line, and RunWith returns ExitFail.
func RunWith(ctx context.Context, env Env, open func(context.Context) (*auth.Authenticator, error)) int {
	env = env.defaults()
	args := env.Args
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(env.Stdout, env.Usage())
		return ExitOK
	}
	if len(args) < 2 || args[0] != "user" {
		fmt.Fprint(env.Stderr, env.Usage())
		return ExitUsage
	}
	cmd, cmdArgs := args[1], args[2:]
	sub, ok := subcommands[cmd]
	if !ok {
		if isHelp(cmd) {
			fmt.Fprint(env.Stdout, env.Usage())
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "%s: unknown subcommand %q\n%s", env.Name, "user "+cmd, env.Usage())
		return ExitUsage
	}
	// Parse the subcommand's arguments before touching the store, so that
	// -h and mistakes cost nothing.
	parsed, err := sub.parse(&env, cmdArgs)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	a, err := open(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", env.Name, err)
		return ExitFail
	}
	// The audit lines of this run's own events (told apart by ctx) go to
	// Stderr, whatever the Authenticator's Config.OnEvent does with them.
	tag := new(runTag)
	ctx = context.WithValue(ctx, runKey{}, tag)
	logEvent := audit.Log(slog.New(slog.NewTextHandler(env.Stderr, nil)))
	a.Subscribe(func(ctx context.Context, e auth.Event) {
		if t, _ := ctx.Value(runKey{}).(*runTag); t == tag {
			logEvent(ctx, e)
		}
	})
	r := &runner{env: env, a: a, admin: admin.New(a), actor: env.Name + " (unix user " + systemUser(env.Getenv) + ")"}
	if err := parsed(ctx, r); err != nil {
		fmt.Fprintf(env.Stderr, "%s: %s\n", env.Name, describe(err))
		return ExitFail
	}
	return ExitOK
}

// runKey is the context key of a run's tag; runTag, never empty, so that
// each new one is a distinct pointer.
type (
	runKey struct{}
	runTag struct{ _ byte }
)

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" || s == "help" }

func (env Env) defaults() Env {
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	env.Name = cmp.Or(env.Name, "authctl")
	return env
}

// Usage is the usage text Run prints for -h and for a mistake: the
// Preamble, then the subcommands.
func (env Env) Usage() string {
	name := cmp.Or(env.Name, "authctl")
	pre := cmp.Or(env.Preamble, "Usage: "+name+" user SUBCOMMAND [ARGS]\n\nAdministers the users of the service's store.\n")
	return pre + `
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
  user mfa-reset NAME   take a user's second factor away (authenticator app
               and recovery codes); ends every session and access token

A change that would leave no enabled user with the role admin is refused
unless given -force. Every change is also written to standard error as an
audit line, naming ` + name + ` and the system user running it.

Run "` + name + ` user SUBCOMMAND -h" for a subcommand's flags.
`
}

// runner is one run's state once the Authenticator is open.
type runner struct {
	env   Env
	a     *auth.Authenticator
	admin *admin.Admin
	// actor names the program and who runs it, for the audit log.
	actor string
}

// action is a parsed subcommand, to run.
type action = func(context.Context, *runner) error

// subcommand parses its arguments into the action to run.
type subcommand struct {
	synopsis string
	parse    func(env *Env, args []string) (action, error)
}

// parseArgs parses fs's flags wherever they are among args (a name may
// come first, as in "user create alice -role admin"), and returns the
// positional arguments, of which there must be want. -h prints the
// subcommand's usage and returns flag.ErrHelp.
func parseArgs(env *Env, fs *flag.FlagSet, synopsis string, args []string, want int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(env.Stdout, "Usage: %s user %s\n", env.Name, synopsis)
				fs.SetOutput(env.Stdout)
				fs.PrintDefaults()
				return nil, err
			}
			fmt.Fprintf(env.Stderr, "%s: %v\nUsage: %s user %s\n", env.Name, err, env.Name, synopsis)
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
		fmt.Fprintf(env.Stderr, "%s: want %d argument(s), got %d\nUsage: %s user %s\n", env.Name, want, len(pos), env.Name, synopsis)
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
	"create": {"create NAME [-role ROLE]... [-email EMAIL]", func(env *Env, args []string) (action, error) {
		const syn = "create NAME [-role ROLE]... [-email EMAIL]  (the password is read from standard input)"
		fs := flag.NewFlagSet("create", flag.ContinueOnError)
		var roles rolesFlag
		fs.Var(&roles, "role", "a role to give the user (repeatable, or comma-separated)")
		email := fs.String("email", "", "the user's email address")
		pos, err := parseArgs(env, fs, syn, args, 1)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, r *runner) error {
			password, err := r.readPassword(pos[0], "create")
			if err != nil {
				return err
			}
			u, err := r.admin.CreateUser(ctx, auth.NewUser{Username: pos[0], Password: password, Email: *email, Roles: roles, Actor: r.actor})
			if err != nil {
				return err
			}
			fmt.Fprintf(r.env.Stdout, "created user %s (id %s)%s\n", u.Username, u.ID, rolesText(u.Roles))
			return nil
		}, nil
	}},
	"disable": byName("disable", func(ctx context.Context, r *runner, u *auth.User, force bool) error {
		u, err := r.admin.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(true), Actor: r.actor, Force: force})
		if err != nil {
			return err
		}
		fmt.Fprintf(r.env.Stdout, "disabled %s: every session and access token ended%s\n", u.Username, forced(force))
		return nil
	}),
	"enable": byName("enable", func(ctx context.Context, r *runner, u *auth.User, _ bool) error {
		if _, err := r.admin.UpdateUser(ctx, u.ID, admin.Update{Disabled: ptr(false), Actor: r.actor}); err != nil {
			return err
		}
		fmt.Fprintf(r.env.Stdout, "enabled %s\n", u.Username)
		return nil
	}),
	"delete": byName("delete", func(ctx context.Context, r *runner, u *auth.User, force bool) error {
		if err := r.admin.DeleteUser(ctx, u.ID, admin.Deletion{Actor: r.actor, Force: force}); err != nil {
			return err
		}
		fmt.Fprintf(r.env.Stdout, "deleted %s: its sessions and links are gone, its username and email free%s\n", u.Username, forced(force))
		return nil
	}),
	"password": byName("password", func(ctx context.Context, r *runner, u *auth.User, _ bool) error {
		password, err := r.readPassword(u.Username, "password")
		if err != nil {
			return err
		}
		if err := r.admin.SetPassword(ctx, u.ID, admin.PasswordSet{Password: password, Actor: r.actor}); err != nil {
			return err
		}
		fmt.Fprintf(r.env.Stdout, "set the password of %s: every session and access token ended\n", u.Username)
		return nil
	}),
	"mfa-reset": byName("mfa-reset", func(ctx context.Context, r *runner, u *auth.User, _ bool) error {
		had, err := r.resetMFA(ctx, u)
		if err != nil {
			return err
		}
		if had {
			fmt.Fprintf(r.env.Stdout, "reset the second factor of %s: authenticator app and recovery codes deleted, every session and access token ended\n", u.Username)
		} else {
			fmt.Fprintf(r.env.Stdout, "%s had no second factor; every session and access token ended all the same\n", u.Username)
		}
		return nil
	}),
	"logout": byName("logout", func(ctx context.Context, r *runner, u *auth.User, _ bool) error {
		if _, err := r.admin.UpdateUser(ctx, u.ID, admin.Update{Logout: true, Actor: r.actor}); err != nil {
			return err
		}
		fmt.Fprintf(r.env.Stdout, "logged %s out everywhere\n", u.Username)
		return nil
	}),
	"roles": {"roles [-force] NAME ROLE,ROLE,...", func(env *Env, args []string) (action, error) {
		const syn = `roles [-force] NAME ROLE,ROLE,...  (replaces the roles; "" for none)`
		fs := flag.NewFlagSet("roles", flag.ContinueOnError)
		force := fs.Bool("force", false, forceUsage)
		pos, err := parseArgs(env, fs, syn, args, 2)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, r *runner) error {
			u, err := r.lookup(ctx, pos[0])
			if err != nil {
				return err
			}
			roles := splitRoles(pos[1])
			if u, err = r.admin.UpdateUser(ctx, u.ID, admin.Update{Roles: &roles, Actor: r.actor, Force: *force}); err != nil {
				return err
			}
			fmt.Fprintf(r.env.Stdout, "%s now has roles: %s%s\n", u.Username, cmp.Or(strings.Join(u.Roles, ","), "none"), forced(*force))
			return nil
		}, nil
	}},
	"list": {"list [-limit N]", func(env *Env, args []string) (action, error) {
		fs := flag.NewFlagSet("list", flag.ContinueOnError)
		limit := fs.Int("limit", 0, "list at most N users (default all)")
		if _, err := parseArgs(env, fs, "list [-limit N]", args, 0); err != nil {
			return nil, err
		}
		return func(ctx context.Context, r *runner) error {
			tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tEMAIL\tDISABLED\tROLES\tCREATED\tID")
			cursor, n := "", 0
			for {
				page, next, err := r.admin.ListUsers(ctx, cursor, admin.MaxListUsers)
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
func byName(name string, act func(ctx context.Context, r *runner, u *auth.User, force bool) error) subcommand {
	takesForce := name == "disable" || name == "delete"
	syn := name + " NAME"
	if takesForce {
		syn = name + " [-force] NAME"
	}
	if name == "password" {
		syn += "  (the password is read from standard input)"
	}
	return subcommand{syn, func(env *Env, args []string) (action, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		force := new(bool)
		if takesForce {
			force = fs.Bool("force", false, forceUsage)
		}
		pos, err := parseArgs(env, fs, syn, args, 1)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, r *runner) error {
			u, err := r.lookup(ctx, pos[0])
			if err != nil {
				return err
			}
			return act(ctx, r, u, *force)
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

// systemUser is who runs the command: $USER, else the user of the process.
func systemUser(getenv func(string) string) string {
	if name := getenv("USER"); name != "" {
		return name
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprint("uid ", os.Getuid())
}

// eventMFAReset is the event of user mfa-reset: mfa.EventReset's value.
// Module mfa is not imported here (it would bring pquerna/otp into the
// module graph of every service that runs adminctl); cmd/authctl's tests,
// in a module that imports both, check that the two agree.
const eventMFAReset auth.EventType = "mfa_reset"

// errNoMFAStore refuses user mfa-reset on a store that keeps no second
// factors.
var errNoMFAStore = errors.New("the store keeps no second factors (it does not implement mfastore.Store): there is nothing to reset")

// resetMFA takes u's second factor away as mfa.MFA.Reset does: the
// enrolment and the recovery codes are deleted, then every login of the
// user is ended (also when there was nothing to delete, as Reset does:
// the operator asked for it), and the event names the actor. It reports whether u had an enrolment, pending or confirmed.
func (r *runner) resetMFA(ctx context.Context, u *auth.User) (had bool, err error) {
	st, ok := r.a.Store().(mfastore.Store)
	if !ok {
		return false, errNoMFAStore
	}
	had = true
	if err := st.DeleteTOTP(ctx, u.ID); errors.Is(err, auth.ErrNotFound) {
		had = false
	} else if err != nil {
		return false, err
	}
	if err := r.a.LogoutAll(ctx, auth.Client{}, u.ID); err != nil {
		return false, err
	}
	r.a.Emit(ctx, auth.Event{Type: eventMFAReset, UserID: u.ID, Username: u.Username, Actor: r.actor})
	return had, nil
}

// errNoSuchUser is a name that is no account's.
type errNoSuchUser string

func (e errNoSuchUser) Error() string { return fmt.Sprintf("no user named %q", string(e)) }

// lookup finds a user by username (normalised as at login) or email.
func (r *runner) lookup(ctx context.Context, name string) (*auth.User, error) {
	u, err := r.a.Store().UserByUsername(ctx, auth.NormalizeUsername(name))
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, auth.ErrNotFound) {
		return nil, err
	}
	u, err = r.a.Store().UserByEmail(ctx, auth.NormalizeEmail(name))
	if errors.Is(err, auth.ErrNotFound) {
		return nil, errNoSuchUser(name)
	}
	return u, err
}

// readPassword reads the password of the user name, for the subcommand
// sub: with Env.ReadPassword if set (twice, to catch a typo), else the
// first line of standard input.
func (r *runner) readPassword(name, sub string) (string, error) {
	if read := r.env.ReadPassword; read != nil {
		p1, err := read("Password for " + name + ": ")
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		p2, err := read("Again: ")
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if p1 != p2 {
			return "", errors.New("the two passwords differ")
		}
		return p1, nil
	}
	if isTerminal(r.env.Stdin) {
		// It would show as it is typed, for anyone behind the screen and
		// in the terminal's scrollback: refused.
		return "", fmt.Errorf("standard input is a terminal, where the password would show as typed: pipe it in (printf '%%s\\n' \"$PASSWORD\" | %s user %s %s), or give Env.ReadPassword (golang.org/x/term's ReadPassword)", r.env.Name, sub, name)
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r.env.Stdin, 8<<10), 8<<10).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("no password on standard input (pipe it in: printf '%%s\\n' \"$PASSWORD\" | %s user %s NAME)", r.env.Name, sub)
	}
	return line, nil
}

// isTerminal says whether in may be a terminal (a character device; the
// standard library cannot tell a terminal from /dev/null).
func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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
