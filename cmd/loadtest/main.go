// Command loadtest measures the example server (examples/server) under load,
// on this machine, in one run of about a minute and a half (defaults):
//
//   - GET /users/me with a valid access token, on the memory and the SQLite
//     store, against GET /loadtest/bare in the same server as the ceiling;
//   - POST /token password-grant logins against the hashing bound: cores ÷
//     the CPU time of one argon2id hash at the server's parameters;
//   - GET /users/me latency while 200 (and 50) concurrent logins flood the
//     server, with the server's peak RSS.
//
// It builds the server from this checkout (or takes -server-bin), runs it
// as a child process on 127.0.0.1:0 with a temporary data directory and
// AUTH_LOADTEST_BARE=1, and stops it with SIGTERM. Everything goes over
// loopback. The report is Markdown on stdout, ready for BENCHMARKS.md;
// progress goes to stderr.
//
//	go run ./cmd/loadtest [-duration 5s] [-warmup 1s] [-conns 32] ...
//
// The load generator shares the machine's CPUs with the server: its CPU use
// is reported next to each figure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, progName(), os.Args[1:], os.Stdout, os.Stderr))
}

// progName is how this program was started, for the report: go run's
// temporary binary is shown as "go run ./cmd/loadtest".
func progName() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ./cmd/loadtest"
	}
	return os.Args[0]
}

// options are the command-line settings.
type options struct {
	serverBin    string
	duration     time.Duration
	warmup       time.Duration
	conns        int
	loginConns   int
	probeConns   int
	rounds       int
	floods       []int
	floodRuns    int
	floodDB      string
	stores       bool
	postgres     string // a PostgreSQL database for a third store phase; "" for none
	hashIters    int
	hashParallel time.Duration
}

// The SLO-style goals of the issue.
const (
	goalMeRatio    = 0.8                   // /users/me ÷ bare handler
	goalLoginRatio = 0.9                   // logins/s ÷ hashing bound
	goalFloodP99   = 10 * time.Millisecond // /users/me p99 during a login flood
	// Peak RSS must not grow with the attackers: from the smallest to the
	// largest flood, by less than the memory of one hash.
	goalRSSGrowthKiB = argonMemoryKiB
)

// password is every test user's password.
const password = "loadtest: correct horse battery staple"

func parseOptions(args []string, stderr io.Writer) (options, *flag.FlagSet, error) {
	var o options
	var floods string
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.serverBin, "server-bin", "", "example server binary (default: go build ./examples/server into a temporary directory)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured window of each workload")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warm-up before each window, excluded from the figures")
	fs.IntVar(&o.conns, "conns", 32, "keep-alive connections for GET /users/me and the bare handler")
	fs.IntVar(&o.loginConns, "login-conns", 0, "connections for the POST /token workload (0: 2 × GOMAXPROCS)")
	fs.IntVar(&o.rounds, "rounds", 10, "GET /users/me and the bare handler alternate in this many rounds, sharing -duration (the ratio's verdict is on the median of the rounds)")
	fs.IntVar(&o.probeConns, "probe-conns", 4, "connections measuring GET /users/me during a login flood")
	fs.StringVar(&floods, "floods", "200,50", "comma-separated numbers of concurrent flood logins (\"\": no floods)")
	fs.IntVar(&o.floodRuns, "flood-runs", 2, "runs of each flood, each on a fresh server (peak RSS is the highest)")
	fs.BoolVar(&o.stores, "stores", true, "measure GET /users/me, the bare handler and logins on each store (-stores=false: floods only)")
	fs.StringVar(&o.floodDB, "flood-db", "sqlite", "store of the flood servers: sqlite or memory")
	fs.StringVar(&o.postgres, "postgres", "", "URL of a PostgreSQL database: measure on it too, in a schema made for the run and dropped after (default: memory and SQLite only)")
	fs.IntVar(&o.hashIters, "hash-iters", 20, "sequential argon2id hashes timed for the hashing bound (the median counts)")
	fs.DurationVar(&o.hashParallel, "hash-parallel", time.Second, "how long GOMAXPROCS goroutines hash at once, for context (0: skip)")
	if err := fs.Parse(args); err != nil {
		return o, fs, err
	}
	if fs.NArg() > 0 {
		return o, fs, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.loginConns == 0 {
		o.loginConns = 2 * runtime.GOMAXPROCS(0)
	}
	for f := range strings.SplitSeq(floods, ",") {
		if strings.TrimSpace(floods) == "" {
			break // -floods "": no flood phase
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return o, fs, fmt.Errorf("-floods: %q is not a positive number", f)
		}
		o.floods = append(o.floods, n)
	}
	switch {
	case o.duration <= 0 || o.warmup < 0:
		return o, fs, errors.New("-duration must be positive and -warmup not negative")
	case o.conns <= 0 || o.loginConns <= 0 || o.probeConns <= 0:
		return o, fs, errors.New("-conns, -login-conns and -probe-conns must be positive")
	case o.rounds <= 0 || o.floodRuns <= 0:
		return o, fs, errors.New("-rounds and -flood-runs must be positive")
	case o.floodDB != "sqlite" && o.floodDB != "memory":
		return o, fs, errors.New("-flood-db: want sqlite or memory")
	case o.hashIters <= 0:
		return o, fs, errors.New("-hash-iters must be positive")
	}
	return o, fs, nil
}

// run runs the whole load test and returns the exit code: 0 when every
// workload ran (whether the goals were met or not), 1 when something
// failed, 2 for bad flags.
func run(ctx context.Context, prog string, args []string, stdout, stderr io.Writer) int {
	o, fs, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 2
	}
	progress := func(format string, a ...any) {
		fmt.Fprintf(stderr, "loadtest: "+format+"\n", a...)
	}
	rep := &report{
		command:  commandLine(prog, args),
		settings: flagSettings(fs),
		opts:     o,
		machine:  readMachine(),
	}

	tmp, err := os.MkdirTemp("", "loadtest-*")
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	bin := o.serverBin
	if bin == "" {
		progress("building ./examples/server")
		if bin, err = buildServer(ctx, tmp); err != nil {
			fmt.Fprintf(stderr, "loadtest: %v\n", err)
			return 1
		}
	}

	progress("timing argon2id (m=%d KiB, t=%d, p=%d): %d hashes, then %d at once for %s",
		argonMemoryKiB, argonTime, argonThreads, o.hashIters, runtime.GOMAXPROCS(0), o.hashParallel)
	rep.hash = measureHash(o.hashIters, o.hashParallel)

	err = func() error {
		dbs := [][2]string{{"memory", "memory"}, {"sqlite", "sqlite"}}
		if o.postgres != "" && o.stores {
			url, drop, err := freshSchema(ctx, o.postgres)
			if err != nil {
				return fmt.Errorf("-postgres: %w", err)
			}
			defer drop()
			dbs = append(dbs, [2]string{"postgres", url})
		}
		for _, db := range dbs {
			if !o.stores {
				break
			}
			st, err := storePhase(ctx, bin, filepath.Join(tmp, db[0]), db[0], db[1], o, progress)
			if err != nil {
				return fmt.Errorf("%s store: %w", db[0], err)
			}
			rep.stores = append(rep.stores, st)
		}
		for run := 1; run <= o.floodRuns; run++ {
			for _, n := range o.floods {
				dir := filepath.Join(tmp, fmt.Sprintf("flood-%d-%d", n, run))
				fl, err := floodPhase(ctx, bin, dir, n, run, o, progress)
				if err != nil {
					return fmt.Errorf("flood of %d: %w", n, err)
				}
				rep.floods = append(rep.floods, fl)
			}
		}
		return nil
	}()
	rep.machine.loadEnd = loadAvg()
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 1
	}
	rep.write(stdout)
	if len(rep.problems()) > 0 {
		return 1
	}
	return 0
}

// storeResult is what one server with one store measured.
type storeResult struct {
	db           string
	me, bare     *result
	login        *result
	loginHash    hashCost // the hash timed again just before the logins
	serverExit   int
	serverStopEr error
}

// storePhase starts a server with the store named db (the server's -db
// value dbArg) and measures GET /users/me, the bare handler and logins on
// it.
func storePhase(ctx context.Context, bin, dataDir, db, dbArg string, o options, progress func(string, ...any)) (_ *storeResult, err error) {
	progress("%s store: starting the server", db)
	srv, err := startServer(ctx, serverOptions{bin: bin, dataDir: dataDir, db: dbArg, bare: true})
	if err != nil {
		return nil, err
	}
	st := &storeResult{db: db}
	defer func() {
		st.serverExit, st.serverStopEr = srv.stop()
	}()

	if err := checkStatus(getBare(ctx, srv.base), 204); err != nil {
		return nil, fmt.Errorf("the bare handler (is AUTH_LOADTEST_BARE supported by this server?): %w", err)
	}
	c := newClient()
	defer closeClient(c)
	token, err := probeUser(ctx, c, srv.base)
	if err != nil {
		return nil, err
	}
	if err := checkStatus(getMe(ctx, srv.base, token), 200); err != nil {
		return nil, err
	}
	// Logins: at most 4 concurrent per username, under the limiter's
	// per-username burst of 5 (an attempt holds one until it succeeds).
	users := userNames("login", (o.loginConns+3)/4)
	if err := signupAll(ctx, srv.base, users, password); err != nil {
		return nil, err
	}

	progress("%s store: GET /users/me and GET /loadtest/bare, %d connections, %d alternate rounds, %s each in all",
		db, o.conns, o.rounds, o.duration)
	rs := runRounds(ctx, srv, []workload{
		{name: "GET /users/me", conns: o.conns, want: 200,
			newReq: func(ctx context.Context, _ int) *http.Request { return getMe(ctx, srv.base, token) }},
		{name: "GET /loadtest/bare", conns: o.conns, want: 204,
			newReq: func(ctx context.Context, _ int) *http.Request { return getBare(ctx, srv.base) }},
	}, o.rounds, o.warmup, o.duration)
	st.me, st.bare = rs[0], rs[1]
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	// The machine's speed drifts over minutes (other virtual machines on
	// the host): time the hash again now, next to the logins it bounds.
	progress("%s store: timing argon2id again (%d hashes)", db, o.hashIters)
	st.loginHash = measureHash(o.hashIters, 0)
	progress("%s store: POST /token, %d connections", db, o.loginConns)
	st.login = workload{name: "POST /token", conns: o.loginConns, want: 200,
		newReq: func(ctx context.Context, i int) *http.Request {
			return postToken(ctx, srv.base, users[i%len(users)], password, "")
		},
	}.run(ctx, newWindow(o.warmup, o.duration), srv)
	return st, ctx.Err()
}

// freshSchema makes a schema of its own for this run in the PostgreSQL
// database at base, and returns base's URL set to use it, and a function
// that drops it.
func freshSchema(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("loadtest_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	drop := func() {
		if c, err := pgx.Connect(context.Background(), base); err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// floodResult is what one login flood measured.
type floodResult struct {
	n, run      int
	users       int
	baseline    *result // GET /users/me before the flood, same server
	probe       *result // GET /users/me during the flood
	logins      *result // the flood's logins
	rssBefore   int64   // KiB, just before the flood
	peakReset   bool    // whether VmHWM was reset before the flood
	hwm         int64   // KiB, VmHWM after the flood
	maxRSS      int64   // KiB, the highest VmRSS sampled during the flood
	samples     int
	rtBefore    runtimeFigures // the server's Go runtime just before the flood
	rtMax       runtimeFigures // the highest of each figure sampled during it
	rtSamples   int
	serverExit  int
	serverStopE error
}

// floodPhase starts a fresh server, measures GET /users/me alone (which
// also lets the garbage of the sign-ups go), then while n goroutines log in
// at once, sampling the server's RSS.
//
// The flood's logins succeed: failed ones would soon be answered 429 by
// the limiter, at no hashing cost. Successful ones are throttled too, but
// only while in flight (an attempt holds one unit of the username's burst
// of 5 and of the address's burst of 20 until it succeeds): so each user
// serves at most 4 flood goroutines, and the server trusts 127.0.0.1 as a
// proxy so that each goroutine comes from its own X-Forwarded-For address
// (198.18.0.0/15, the benchmarking range), as n attackers would.
func floodPhase(ctx context.Context, bin, dataDir string, n, run int, o options, progress func(string, ...any)) (_ *floodResult, err error) {
	progress("flood of %d, run %d: starting a fresh server (%s store)", n, run, o.floodDB)
	srv, err := startServer(ctx, serverOptions{bin: bin, dataDir: dataDir, db: o.floodDB, bare: true,
		args: []string{"-trusted-proxies", "127.0.0.1"}})
	if err != nil {
		return nil, err
	}
	fl := &floodResult{n: n, run: run}
	defer func() {
		fl.serverExit, fl.serverStopE = srv.stop()
	}()

	c := newClient()
	defer closeClient(c)
	token, err := probeUser(ctx, c, srv.base)
	if err != nil {
		return nil, err
	}
	users := userNames("flood", (n+3)/4)
	fl.users = len(users)
	progress("flood of %d: signing up %d users", n, len(users))
	if err := signupAll(ctx, srv.base, users, password); err != nil {
		return nil, err
	}
	probe := workload{name: "GET /users/me", conns: o.probeConns, want: 200,
		newReq: func(ctx context.Context, _ int) *http.Request { return getMe(ctx, srv.base, token) },
	}
	progress("flood of %d: GET /users/me alone, %d connections", n, o.probeConns)
	fl.baseline = probe.run(ctx, newWindow(o.warmup, o.duration), srv)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	runtime.Gosched()
	if fl.rtBefore, err = readRuntime(ctx, c, srv.base); err != nil {
		return nil, err
	}
	fl.peakReset = srv.resetPeak()
	if fl.rssBefore, _, err = srv.memory(); err != nil {
		return nil, err
	}
	flood := workload{name: "POST /token (flood)", conns: n, want: 200,
		newReq: func(ctx context.Context, i int) *http.Request {
			xff := fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
			return postToken(ctx, srv.base, users[i%len(users)], password, xff)
		},
	}
	progress("flood of %d: GET /users/me during %d concurrent logins", n, n)
	win := newWindow(o.warmup, o.duration)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); fl.probe = probe.run(ctx, win, srv) }()
	go func() { defer wg.Done(); fl.logins = flood.run(ctx, win, srv) }()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		rc := newClient()
		defer closeClient(rc)
		for i := 0; time.Now().Before(win.to) && ctx.Err() == nil; i++ {
			if rss, _, err := srv.memory(); err == nil {
				fl.maxRSS = max(fl.maxRSS, rss)
				fl.samples++
			}
			if i%5 == 0 { // the Go runtime's figures every 100 ms
				if rt, err := readRuntime(ctx, rc, srv.base); err == nil {
					fl.rtMax = fl.rtMax.max(rt)
					fl.rtSamples++
				}
			}
			<-tick.C
		}
	}()
	wg.Wait()
	if _, fl.hwm, err = srv.memory(); err != nil {
		return nil, err
	}
	return fl, ctx.Err()
}

func userNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return names
}

// commandLine is the command as it was given, shell-quoted where needed.
func commandLine(prog string, args []string) string {
	parts := []string{prog}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\|&;<>()*?`") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// flagSettings lists every flag with its effective value.
func flagSettings(fs *flag.FlagSet) string {
	var parts []string
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		if v == "" {
			v = `""`
		}
		parts = append(parts, "-"+f.Name+"="+v)
	})
	return strings.Join(parts, " ")
}
