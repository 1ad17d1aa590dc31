package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/admin/adminhttp"
	"github.com/goauthkit/auth/audit"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/breached"
	"github.com/goauthkit/auth/keyfile"
	authmail "github.com/goauthkit/auth/mail"
	authmetrics "github.com/goauthkit/auth/metrics"
	"github.com/goauthkit/auth/mfa"
	"github.com/goauthkit/auth/mfa/mfahttp"
	"github.com/goauthkit/auth/oidc"
	"github.com/goauthkit/auth/oidc/oidchttp"
	"github.com/goauthkit/auth/passkey"
	"github.com/goauthkit/auth/passkey/passkeyhttp"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/recovery/recoveryhttp"
	"github.com/goauthkit/auth/redislimit"
	"github.com/goauthkit/auth/store/memory"
	"github.com/goauthkit/auth/store/postgres"
	"github.com/goauthkit/auth/store/sqlite"
)

// app is the assembled server: the store, the authenticator and the HTTP
// handler tree.
type app struct {
	// metrics serves GET /metrics (AUTH_METRICS_ADDR); nil without it.
	metrics http.Handler
	store   auth.Store
	auth    *auth.Authenticator
	router  *authhttp.Router
	handler http.Handler // router wrapped in request logging and Server-Timing
	close   func() error // stops the mail worker and closes the store, once
}

// keyFileName is the file in the data directory holding the generated HS256
// key: 64 hexadecimal characters, whose bytes are the HMAC key (so a Python
// service can use the file's content as its SECRET_KEY).
const keyFileName = "hs256.key"

// openTimeout bounds opening the store at start-up.
const openTimeout = 15 * time.Second

// newApp opens the store, loads or makes the signing key and builds the
// handler tree. tweak, if not nil, edits the auth.Config and the
// recovery.Config before New (tests use it for a faster hasher or another
// limiter), and the mfa.Config. Every error is a
// *settingError naming the setting at fault.
func newApp(ctx context.Context, s settings, logger *slog.Logger, tweak func(*auth.Config, *recovery.Config, *mfa.Config)) (*app, error) {
	store, closeStore, err := openStore(ctx, s, logger)
	if err != nil {
		return nil, err
	}
	mailer, err := newMailer(s, logger)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	publicURL := s.publicURL
	if publicURL == "" {
		publicURL = "http://" + s.addr
	}
	cfg := auth.Config{
		Store:   store,
		OnEvent: audit.Log(logger),
		Tokens:  auth.TokenConfig{AccessTTL: s.accessTTL, RefreshTTL: s.refreshTTL, RefreshGrace: s.refreshGrace},
	}
	if s.passwordScheme == "bcrypt" {
		cfg.Passwords.Hasher = auth.Bcrypt{}
	}
	if s.breached != nil {
		bc := *s.breached
		bc.OnError = func(err error) {
			logger.Warn("the breached-password check failed", "err", err, "fail_open", bc.FailOpen)
		}
		checker, err := breached.New(bc)
		if err != nil {
			_ = closeStore()
			return nil, badSetting("AUTH_BREACHED_PASSWORDS", "%v", err)
		}
		cfg.Passwords.Breached = checker.Breached
		if bc.File != "" {
			logger.Info("refusing new passwords seen in data breaches (AUTH_BREACHED_PASSWORDS)", "file", bc.File)
		} else {
			logger.Info("refusing new passwords seen in data breaches (AUTH_BREACHED_PASSWORDS)",
				"range_api", cmp.Or(bc.BaseURL, breached.DefaultBaseURL), "fail_open", bc.FailOpen)
		}
	}
	recoveryCfg := recovery.Config{Mailer: mailer, PublicURL: publicURL, ResetTTL: s.resetTTL, VerifyTTL: s.verifyTTL}
	switch {
	case s.signingAlg != "HS256":
		if cfg.Keys, err = loadKeyPair(s.dataDir, s.signingAlg, logger); err != nil {
			_ = closeStore()
			return nil, err
		}
	case s.secretKey != nil:
		cfg.SecretKey = s.secretKey
		logger.Info("using the HS256 key from AUTH_SECRET_KEY")
		if !s.legacyUntil.IsZero() {
			cfg.Tokens.LegacyUntil = s.legacyUntil
			logger.Info("accepting the FastAPI tutorials' access tokens too (AUTH_LEGACY_TOKENS_UNTIL)",
				slog.Time("until", s.legacyUntil.UTC()))
		}
	default:
		if cfg.SecretKey, err = loadOrCreateKey(s, logger); err != nil {
			_ = closeStore()
			return nil, err
		}
	}
	limiter, closeLimiter, err := newLimiter(ctx, s, store, logger)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	cfg.Limiter = limiter
	closeAll := closeStore
	closeStore = func() error { return errors.Join(closeLimiter(), closeAll()) }
	var metricsHandler http.Handler
	if s.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		m, err := authmetrics.New(reg)
		if err != nil {
			_ = closeStore()
			return nil, badSetting("AUTH_METRICS_ADDR", "%v", err)
		}
		audit := cfg.OnEvent
		cfg.OnEvent = func(ctx context.Context, e auth.Event) {
			audit(ctx, e)
			m.Observe(ctx, e)
		}
		metricsHandler = metricsOnly(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	mfaCfg := mfa.Config{Issuer: s.totpIssuer, ChallengeTTL: s.mfaTokenTTL}
	if tweak != nil {
		tweak(&cfg, &recoveryCfg, &mfaCfg)
	}
	a, err := auth.New(cfg)
	if err != nil {
		_ = closeStore()
		return nil, configSetting(err)
	}
	rec, err := recovery.New(a, recoveryCfg)
	if err != nil {
		_ = closeStore()
		return nil, configSetting(err)
	}
	// The origins whose pages may use the session cookie: the public one
	// (browsers may reach the server by that name through a proxy) and the
	// CORS ones.
	trusted := append([]string{origin(publicURL)}, s.corsOrigins...)
	h, err := authhttp.New(a, authhttp.Config{TrustedProxies: s.proxies, Logger: logger, TrustedOrigins: trusted})
	if err != nil {
		_ = closeStore()
		if strings.Contains(err.Error(), "TrustedOrigins") {
			return nil, badSetting("AUTH_CORS_ORIGINS", "%v", err)
		}
		return nil, badSetting(s.proxiesSetting, "%v", err)
	}
	encryptionKey, err := loadOrCreateEncryptionKey(s, logger)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	mfaCfg.Key = encryptionKey
	second, err := mfa.New(a, mfaCfg)
	if err != nil {
		_ = closeStore()
		return nil, configSetting(err)
	}
	keys, err := newPasskeys(a, h, s, publicURL, logger)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	providers, err := newProviders(ctx, a, h, s, publicURL)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	router, err := newRouter(h, recoveryhttp.New(h, rec), adminhttp.New(h, admin.New(a)), mfahttp.New(h, second), keys, providers, cfg.Keys)
	if err != nil {
		_ = closeStore()
		return nil, err
	}
	inner := withPages(router)
	if len(s.corsOrigins) > 0 {
		cors, err := authhttp.CORS(s.corsOrigins)
		if err != nil {
			_ = closeStore()
			return nil, badSetting("AUTH_CORS_ORIGINS", "%v", err)
		}
		inner = cors(inner)
		logger.Info("CORS: browser apps at these origins may call the API", "origins", strings.Join(s.corsOrigins, ","))
	}
	if s.loadtestBare {
		logger.Warn("AUTH_LOADTEST_BARE=1: GET /loadtest/bare and /loadtest/runtime are mounted (load-testing aids)")
		inner = withBareRoute(inner)
	}
	return &app{
		metrics: metricsHandler,
		store:   store,
		auth:    a,
		router:  router,
		handler: logRequests(logger, authhttp.ServerTiming(inner)),
		close: sync.OnceValue(func() error {
			// The mail worker uses the store: it stops first, sending what
			// is queued for a bounded time.
			ctx, cancel := context.WithTimeout(context.Background(), mailDrainTimeout)
			defer cancel()
			if err := rec.Shutdown(ctx); err != nil {
				logger.Warn("mail still queued at shutdown was dropped", "error", err)
			}
			return closeStore()
		}),
	}, nil
}

// metricsOnly serves h at GET /metrics and answers everything else as the
// API does (JSON 404 and 405).
func metricsOnly(h http.Handler) http.Handler {
	rt := authhttp.NewRouter()
	rt.Handle(http.MethodGet, "/metrics", h)
	return rt
}

// origin is the scheme://host of an absolute URL, in lower case.
func origin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// mailDrainTimeout bounds how long stopping waits for queued mail.
const mailDrainTimeout = 10 * time.Second

// newMailer returns the Mailer the settings select: SMTP with
// AUTH_SMTP_URL, else an outbox directory DIR/outbox.
func newMailer(s settings, logger *slog.Logger) (recovery.Mailer, error) {
	if s.smtpURL != "" {
		m, err := authmail.NewSMTP(authmail.SMTPConfig{URL: s.smtpURL, From: s.mailFrom})
		if err != nil {
			return nil, badSetting("AUTH_SMTP_URL", "%s", strings.TrimPrefix(err.Error(), "mail: SMTPConfig.URL "))
		}
		logger.Info("mail goes over SMTP", "server", safeURL(s.smtpURL), "from", s.mailFrom)
		return m, nil
	}
	if err := makeDataDir(s); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dataDir, "outbox")
	m, err := authmail.NewOutbox(authmail.OutboxConfig{Dir: dir, From: s.mailFrom})
	if err != nil {
		return nil, startupError("cannot create the mail outbox %s: %v", dir, err)
	}
	logger.Info("no AUTH_SMTP_URL: each mail is written as an .eml file to the outbox (open it in any mail program)", "dir", dir)
	return m, nil
}

// withBareRoute answers GET /loadtest/bare with 204 and no work, and hands
// every other request to next. It is the ceiling cmd/loadtest measures the
// real routes against: the same server, listener, request logging and
// Server-Timing, but no routing, authentication or store. It also answers
// GET /loadtest/runtime with the Go runtime's memory and goroutine figures
// (runtimeFigures), which cmd/loadtest samples during a login flood. Both
// are mounted only with AUTH_LOADTEST_BARE=1 and outside the router, so
// they are not among the API's routes (nor in openapi.json).
func withBareRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/loadtest/bare":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && r.URL.Path == "/loadtest/runtime":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_ = json.NewEncoder(w).Encode(runtimeFigures())
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// runtimeMetrics are the runtime/metrics samples /loadtest/runtime
// reports, by the JSON name it gives each.
var runtimeMetrics = map[string]string{
	"goroutines":      "/sched/goroutines:goroutines",
	"heap_live_bytes": "/gc/heap/live:bytes",                // marked live by the last GC
	"heap_goal_bytes": "/gc/heap/goal:bytes",                // where the next GC is due
	"heap_bytes":      "/memory/classes/heap/objects:bytes", // live and not yet swept
	"stacks_bytes":    "/memory/classes/heap/stacks:bytes",
	"runtime_bytes":   "/memory/classes/total:bytes", // all the Go runtime maps
	"gc_cycles":       "/gc/cycles/total:gc-cycles",
}

// runtimeFigures reads runtimeMetrics now.
func runtimeFigures() map[string]uint64 {
	samples := make([]metrics.Sample, 0, len(runtimeMetrics))
	for _, name := range runtimeMetrics {
		samples = append(samples, metrics.Sample{Name: name})
	}
	metrics.Read(samples)
	byName := make(map[string]uint64, len(samples))
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			byName[s.Name] = s.Value.Uint64()
		}
	}
	out := make(map[string]uint64, len(runtimeMetrics))
	for key, name := range runtimeMetrics {
		out[key] = byName[name]
	}
	return out
}

// newRouter mounts every route the server answers: the library's handlers,
// account recovery's, administration's, the second factor's, the passkeys'
// (unless passkeys is nil: they are off), the other providers' (unless
// providers is nil: none is configured), the JWKS (the public keys of an
// asymmetric key set, or under HS256, keys == nil, a 404) and the OpenAPI
// document of all of them.
func newRouter(h *authhttp.Handlers, rec *recoveryhttp.Handlers, adm *adminhttp.Handlers, second *mfahttp.Handlers, passkeys *passkeyhttp.Handlers, providers *oidchttp.Handlers, keys *auth.KeySet) (*authhttp.Router, error) {
	routes := append(h.Routes(), rec.Routes()...)
	routes = append(routes, adm.Routes()...)
	routes = append(routes, second.Routes()...)
	if passkeys != nil {
		routes = append(routes, passkeys.Routes()...)
	}
	if providers != nil {
		routes = append(routes, providers.Routes()...)
	}
	routes = append(routes, authhttp.JWKSRoute(keys))
	doc, err := authhttp.OpenAPIRoute(routes)
	if err != nil {
		return nil, err
	}
	rt := authhttp.NewRouter()
	rt.Mount(append(routes, doc))
	return rt, nil
}

// loadKeyPair returns the key set of an asymmetric algorithm: the signing
// key DIR/signing-ALG.pem (generated with mode 0600 the first time), and
// for verification only every DIR/retired-*.pem.
//
// Rotation without losing sessions: move signing-ALG.pem to
// retired-<date>.pem and restart (a new key is generated and published
// beside the old one); delete the retired file once the refresh TTL has
// passed, and restart again.
func loadKeyPair(dir, alg string, logger *slog.Logger) (*auth.KeySet, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, badSetting("AUTH_SIGNING_ALG", "cannot create the data directory: %v", err)
	}
	path := filepath.Join(dir, "signing-"+alg+".pem")
	key, created, err := keyfile.LoadOrGenerate(alg, path)
	if err != nil {
		return nil, badSetting("AUTH_SIGNING_ALG", "cannot load or create the %s key %s: %v", alg, path, err)
	}
	if created {
		logger.Info("generated a new signing key; tokens survive restarts while this file is kept", "alg", alg, "kid", key.ID(), "file", path)
	} else {
		logger.Info("loaded the signing key", "alg", alg, "kid", key.ID(), "file", path)
	}
	ks, err := auth.NewKeySet(key)
	if err != nil {
		return nil, badSetting("AUTH_SIGNING_ALG", "%v", err)
	}
	retired, _ := filepath.Glob(filepath.Join(dir, "retired-*.pem"))
	for _, p := range retired {
		old, err := keyfile.Load("", "", p)
		if err == nil {
			err = ks.Add(old)
		}
		if err != nil {
			return nil, badSetting("AUTH_SIGNING_ALG", "retired key %s: %v", p, err)
		}
		logger.Info("loaded a retired key for verification", "alg", old.Algorithm(), "kid", old.ID(), "file", p)
	}
	return ks, nil
}

// limiterPingTimeout bounds the look at the limiter's Redis at start.
const limiterPingTimeout = 3 * time.Second

// newLimiter returns the failed-login limiter the settings select, and
// what closes it: Redis with AUTH_REDIS_URL, else the PostgreSQL store's,
// else nil (the Authenticator's own, in memory). A Redis that does not
// answer at start stops start-up, as an unreachable database does; one
// that stops answering later fails closed (logins and signups answer 503,
// /healthz too, and every other route works) until it answers again.
func newLimiter(ctx context.Context, s settings, store auth.Store, logger *slog.Logger) (auth.Limiter, func() error, error) {
	if s.redisURL != "" {
		opt, _ := redis.ParseURL(s.redisURL) // checked by loadSettings
		// A Redis that hangs must not hold a login past its deadline.
		opt.ContextTimeoutEnabled = true
		client := redis.NewClient(opt)
		l, err := redislimit.New(client, redislimit.Config{KeyPrefix: s.redisPrefix})
		if err != nil {
			_ = client.Close()
			return nil, nil, badSetting("AUTH_REDIS_URL", "%v", err)
		}
		pctx, cancel := context.WithTimeout(ctx, limiterPingTimeout)
		defer cancel()
		if err := client.Ping(pctx).Err(); err != nil {
			_ = client.Close()
			return nil, nil, badSetting("AUTH_REDIS_URL", "the limiter's Redis does not answer: %s", redact(err, s.redisURL))
		}
		logger.Info("limiter", "kind", "redis", "redis", safeURL(s.redisURL), "prefix", s.redisPrefix, "note", "shared by every instance on this Redis")
		return l, client.Close, nil
	}
	if pg, ok := store.(*postgres.Store); ok {
		l, err := pg.Limiter(postgres.LimiterConfig{})
		if err != nil {
			return nil, nil, startupError("the PostgreSQL limiter: %v", err)
		}
		logger.Info("limiter", "kind", "postgres", "note", "shared by every instance on this database")
		return l, func() error { return nil }, nil
	}
	logger.Info("limiter", "kind", "memory", "note", "this process's own: instances behind a load balancer need AUTH_REDIS_URL or PostgreSQL")
	return nil, func() error { return nil }, nil
}

// openStore opens the store the settings select.
//
// The one place the store backends are wired: memory (store/memory),
// SQLite (store/sqlite, the default, DIR/auth.db, held exclusively unless
// sqlite-shared) and PostgreSQL
// (store/postgres).
func openStore(ctx context.Context, s settings, logger *slog.Logger) (auth.Store, func() error, error) {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	switch {
	case s.db == "memory":
		logger.Info("store", "kind", "memory", "note", "everything is lost when the process ends")
		return memory.New(), func() error { return nil }, nil

	case strings.HasPrefix(s.db, "postgres://"), strings.HasPrefix(s.db, "postgresql://"):
		st, err := postgres.Open(ctx, s.db, postgres.Config{Cache: postgres.CacheConfig{Off: s.pgCacheOff}})
		if err == nil {
			err = st.Ping(ctx)
			if err != nil {
				_ = st.Close()
			}
		}
		if err != nil {
			return nil, nil, badSetting(s.dbSetting, "cannot use the PostgreSQL database: %s", redact(err, s.db))
		}
		logger.Info("store", "kind", "postgres", "database", safeURL(s.db), "cache", !s.pgCacheOff)
		return st, st.Close, nil

	default: // "", "sqlite" or "sqlite-shared"
		if err := makeDataDir(s); err != nil {
			return nil, nil, err
		}
		path := filepath.Join(s.dataDir, "auth.db")
		// This process owns the file: held exclusively, users are cached
		// and the per-request lookup reads memory. sqlite-shared leaves the
		// file open to other processes (the sqlite3 shell, a second
		// server) and reads every lookup from it.
		cfg, mode := sqlite.Config{ExclusiveLock: true}, "exclusive"
		if s.db == "sqlite-shared" {
			cfg, mode = sqlite.Config{}, "shared"
		}
		st, err := sqlite.Open(ctx, path, cfg)
		if errors.Is(err, sqlite.ErrLocked) {
			return nil, nil, startupError("another process is using %s: a server already running on this data directory, or the sqlite3 shell; stop it, or give this server another directory with -data", path)
		}
		if err != nil {
			return nil, nil, startupError("cannot open the SQLite database %s: %v", path, err)
		}
		logger.Info("store", "kind", "sqlite", "file", path, "lock", mode)
		return st, st.Close, nil
	}
}

// redact returns err's text with the password of dbURL, if any, masked.
// pgx already redacts it; this makes sure.
func redact(err error, dbURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(dbURL); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
			msg = strings.ReplaceAll(msg, url.QueryEscape(pw), "xxxxx")
		}
	}
	return msg
}

// safeURL is dbURL without its password and query, for the log.
func safeURL(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(unparseable)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// makeDataDir creates the data directory, if missing, with mode 0700. A
// failure names -data or AUTH_DATA_DIR only if one of them was set.
func makeDataDir(s settings) error {
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		if s.dataSet {
			return badSetting(s.dataSetting, "cannot create the data directory: %v", err)
		}
		return startupError("cannot create the data directory %s (choose another with -data or AUTH_DATA_DIR): %v", s.dataDir, err)
	}
	return nil
}

// loadOrCreateKey returns the HS256 key kept in the data directory,
// generating it the first time (see loadOrCreateKeyFile).
func loadOrCreateKey(s settings, logger *slog.Logger) ([]byte, error) {
	key, created, path, err := loadOrCreateKeyFile(s, logger, keyFileName)
	switch {
	case err != nil:
		return nil, err
	case !created:
		logger.Info("loaded the HS256 signing key", "file", path)
	case s.db == "memory":
		logger.Info("generated a new HS256 signing key (with -db memory, users and sessions are lost when the server stops, and their tokens with them)", "file", path)
	default:
		logger.Info("generated a new HS256 signing key; tokens survive restarts while this file is kept", "file", path)
	}
	return key, nil
}

// loadOrCreateEncryptionKey returns the key of second factors
// (AUTH_ENCRYPTION_KEY, else the one kept in the data directory, generated
// the first time).
func loadOrCreateEncryptionKey(s settings, logger *slog.Logger) ([]byte, error) {
	if s.encryptionKey != nil {
		logger.Info("using the key of second factors from AUTH_ENCRYPTION_KEY")
		return s.encryptionKey, nil
	}
	key, created, path, err := loadOrCreateKeyFile(s, logger, encryptionKeyFileName)
	switch {
	case err != nil:
		return nil, err
	case created:
		logger.Info("generated a new key for second factors (TOTP secrets are sealed with it: keep this file, apart from the database's backups)", "file", path)
	}
	return key, nil
}

// encryptionKeyFileName is the file in the data directory holding the
// generated key of second factors.
const encryptionKeyFileName = "encryption.key"

// loadOrCreateKeyFile returns the key kept in the file name of the data
// directory, generating 32 random bytes (as hexadecimal) the first time.
// The file is written whole under a temporary name and then linked into
// place, so a crash never leaves a short key and two servers starting at
// once agree on one key.
func loadOrCreateKeyFile(s settings, logger *slog.Logger, name string) (key []byte, created bool, path string, err error) {
	dir, setting := s.dataDir, s.dataSetting
	path = filepath.Join(dir, name)
	key, err = readKey(path, setting, logger)
	if err == nil {
		return key, false, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, path, err
	}
	if err := makeDataDir(s); err != nil {
		return nil, false, path, err
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	text := hex.EncodeToString(raw[:])
	tmp, err := os.CreateTemp(dir, "."+name+"-*.tmp")
	if err != nil {
		return nil, false, path, badSetting(setting, "cannot write the key file: %v", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		if _, err = tmp.WriteString(text + "\n"); err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Link(tmp.Name(), path)
		}
		if errors.Is(err, fs.ErrExist) { // another process won the race
			return loadOrCreateKeyFile(s, logger, name)
		}
		if err != nil {
			return nil, false, path, badSetting(setting, "cannot write the key file: %v", err)
		}
	} else {
		tmp.Close()
		return nil, false, path, badSetting(setting, "cannot write the key file: %v", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return []byte(text), true, path, nil
}

// readKey reads a key file: its content, without a final line break, is
// the key.
func readKey(path, setting string, logger *slog.Logger) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, badSetting(setting, "cannot read the key file: %v", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		logger.Warn("the key file is readable by other users; chmod 600 it", "file", path, "mode", fmt.Sprintf("%04o", info.Mode().Perm()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badSetting(setting, "cannot read the key file: %v", err)
	}
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	if len(b) < 32 {
		return nil, badSetting(setting, "the key file %s holds %d bytes, fewer than 32: remove it to generate a new key", path, len(b))
	}
	return b, nil
}

// newPasskeys returns the passkey endpoints the settings make: the relying
// party AUTH_PASSKEY_RP_ID, by default the host of the public URL, and as
// origins the public one and those of AUTH_CORS_ORIGINS on the relying
// party's domain. With the default relying party and a public URL whose
// host is an IP address (which cannot be one), passkeys are off (nil), and
// a log line says how to turn them on; so are they with an http public URL
// on another host than localhost (browsers offer passkeys to secure
// contexts only). An AUTH_PASSKEY_RP_ID was checked by loadSettings.
func newPasskeys(a *auth.Authenticator, h *authhttp.Handlers, s settings, publicURL string, logger *slog.Logger) (*passkeyhttp.Handlers, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, badSetting("AUTH_PUBLIC_URL", "%v", err)
	}
	rpID := s.passkeyRPID
	if rpID == "" {
		rpID = strings.ToLower(u.Hostname())
		switch {
		case net.ParseIP(rpID) != nil:
			logger.Info("passkeys are off: their relying party cannot be an IP address; serve the pages from http://localhost:PORT (AUTH_PUBLIC_URL) or set AUTH_PASSKEY_RP_ID", "public_url", publicURL)
			return nil, nil
		case u.Scheme != "https" && rpID != "localhost" && !strings.HasSuffix(rpID, ".localhost"):
			logger.Info("passkeys are off: browsers offer them to pages served over https (or from localhost) only", "public_url", publicURL)
			return nil, nil
		}
	}
	origins := []string{origin(publicURL)}
	for _, o := range s.corsOrigins {
		if cu, err := url.Parse(o); err == nil {
			if host := strings.ToLower(cu.Hostname()); host == rpID || strings.HasSuffix(host, "."+rpID) {
				origins = append(origins, o)
			}
		}
	}
	p, err := passkey.New(a, passkey.Config{RPID: rpID, RPName: s.passkeyRPName, Origins: origins, CeremonyTTL: s.passkeyCeremonyTTL})
	if err != nil {
		return nil, configSetting(err)
	}
	return passkeyhttp.New(h, p), nil
}

// discoveryTimeout bounds the reading of every provider's discovery
// document at start.
const discoveryTimeout = 15 * time.Second

// newProviders returns the endpoints of sign-in through the providers of
// AUTH_OIDC_PROVIDERS, each read through its discovery document now (a
// failure stops start-up, naming the provider's issuer setting), or nil
// when none is configured.
func newProviders(ctx context.Context, a *auth.Authenticator, h *authhttp.Handlers, s settings, publicURL string) (*oidchttp.Handlers, error) {
	if len(s.oidcProviders) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	o, err := oidc.New(ctx, a, oidc.Config{Providers: s.oidcProviders, PublicURL: publicURL})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "oidc: ")
		for _, p := range s.oidcProviders {
			if strings.HasPrefix(msg, "provider "+p.Name+":") {
				return nil, badSetting("AUTH_OIDC_"+strings.ToUpper(p.Name)+"_ISSUER", "%s", msg)
			}
		}
		return nil, badSetting("AUTH_OIDC_PROVIDERS", "%s", msg)
	}
	return oidchttp.New(h, o), nil
}
