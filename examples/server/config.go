package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goauthkit/auth/breached"
	authmail "github.com/goauthkit/auth/mail"
	"github.com/goauthkit/auth/oidc"
	"github.com/goauthkit/auth/redislimit"
	"github.com/redis/go-redis/v9"
)

// settings is the server's configuration, from flags and environment
// variables (a flag wins over its variable).
type settings struct {
	addr    string
	dataDir string
	db      string // "", "memory", "sqlite", "sqlite-shared" or a postgres:// URL
	// pgCacheOff is AUTH_POSTGRES_CACHE=off: the PostgreSQL store reads
	// every lookup from the database.
	pgCacheOff bool
	// The names of the settings dataDir, db and proxies came from (a flag
	// or an environment variable), for messages; dataSet says whether the
	// data directory was set at all.
	addrSetting, dataSetting, dbSetting, proxiesSetting string
	dataSet                                             bool

	secretKey  []byte // nil: generate or load one in dataDir
	signingAlg string
	// passwordScheme is AUTH_PASSWORD_SCHEME: "argon2id" or "bcrypt".
	passwordScheme string
	accessTTL      time.Duration
	refreshTTL     time.Duration
	refreshGrace   time.Duration
	proxies        []netip.Prefix
	// legacyUntil is AUTH_LEGACY_TOKENS_UNTIL: until then the FastAPI
	// tutorials' access tokens are accepted too; zero for never.
	legacyUntil time.Time
	// breached is AUTH_BREACHED_PASSWORDS with AUTH_BREACHED_URL: where
	// new passwords are looked up among those seen in data breaches; nil
	// for nowhere.
	breached *breached.Config

	// publicURL is AUTH_PUBLIC_URL, without a final slash; "" until run
	// sets the default, http:// and the bound address.
	publicURL string
	smtpURL   string // "": write mails to DIR/outbox
	mailFrom  string
	resetTTL  time.Duration
	verifyTTL time.Duration
	// corsOrigins are AUTH_CORS_ORIGINS: the browser apps served elsewhere
	// that may call the API.
	corsOrigins []string
	// metricsAddr is AUTH_METRICS_ADDR: where GET /metrics is served, apart
	// from the API; "" for no metrics.
	metricsAddr string
	// redisURL is AUTH_REDIS_URL: the Redis that keeps the limiter's
	// budgets, shared by every instance; "" for none. redisPrefix is
	// AUTH_REDIS_PREFIX, put before its keys.
	redisURL, redisPrefix string

	// encryptionKey is AUTH_ENCRYPTION_KEY: the key of second factors; nil
	// to generate or load one in dataDir. mfaTokenTTL is
	// AUTH_MFA_TOKEN_TTL, totpIssuer AUTH_TOTP_ISSUER.
	encryptionKey []byte
	mfaTokenTTL   time.Duration
	totpIssuer    string

	// passkeyRPID is AUTH_PASSKEY_RP_ID, "" for the host of publicURL;
	// passkeyRPName AUTH_PASSKEY_RP_NAME; passkeyCeremonyTTL
	// AUTH_PASSKEY_CEREMONY_TTL.
	passkeyRPID        string
	passkeyRPName      string
	passkeyCeremonyTTL time.Duration

	// oidcProviders are AUTH_OIDC_PROVIDERS, each with its
	// AUTH_OIDC_NAME_* settings: the providers one signs in through.
	oidcProviders []oidc.Provider

	// loadtestBare mounts GET /loadtest/bare (AUTH_LOADTEST_BARE=1), a
	// route doing no work: the ceiling cmd/loadtest compares with.
	loadtestBare bool
}

// settingError is a bad setting: it names the setting, never its value
// when that could be a secret.
type settingError struct {
	setting string
	problem string
}

// Error returns one line: a driver's message spanning lines is joined.
func (e *settingError) Error() string {
	return "bad setting " + e.setting + ": " + strings.Join(strings.Fields(e.problem), " ")
}

func badSetting(setting, format string, args ...any) error {
	return &settingError{setting: setting, problem: fmt.Sprintf(format, args...)}
}

// startupError is a failure to start that no setting is to blame for (a
// port in use, a database file another server holds): it says what
// happened, in one line.
type startError struct{ problem string }

func (e *startError) Error() string { return strings.Join(strings.Fields(e.problem), " ") }

func startupError(format string, args ...any) error {
	return &startError{problem: fmt.Sprintf(format, args...)}
}

const usageText = `Usage: server [flags]

The goauthkit example authentication server (see README.md).

Flags (each also read from the environment variable named after it):
  -addr HOST:PORT          listen address (AUTH_ADDR; default 127.0.0.1:8080)
  -data DIR                data directory (AUTH_DATA_DIR; default ./data)
  -db VALUE                store: sqlite (default: DIR/auth.db, locked by
                           this process, users cached), sqlite-shared (the
                           same file, open to other processes, not cached),
                           memory, or a postgres:// URL (AUTH_DATABASE_URL)
  -trusted-proxies LIST    comma-separated IPs or CIDR prefixes of reverse
                           proxies whose X-Forwarded-For is believed
                           (AUTH_TRUSTED_PROXIES; default none)

Environment only:
  AUTH_SECRET_KEY          HS256 key, at least 32 bytes, used as given
                           (default: generated once and kept in DIR/hs256.key)
  AUTH_SIGNING_ALG         HS256 (default), or EdDSA, ES256, RS256: a key
                           pair generated once and kept in
                           DIR/signing-ALG.pem, its public half served at
                           /.well-known/jwks.json with retired keys
                           (DIR/retired-*.pem) still verifying
  AUTH_PASSWORD_SCHEME     argon2id (default: new passwords, and bcrypt
                           hashes at login, become argon2id) or bcrypt
                           (new passwords hashed with bcrypt, at most 72
                           bytes, and no stored hash ever changes scheme:
                           for a users table shared with passlib)
  AUTH_BREACHED_PASSWORDS  refuse new passwords seen in data breaches: off
                           (default); api: look them up in Have I Been
                           Pwned's range API, which gets the first 5 of
                           the 40 characters of their SHA-1 (while it
                           fails, new passwords are refused with 503);
                           api-fail-open: the same, but while it fails
                           they are accepted; or the path of its SHA-1
                           file ordered by hash, searched here (no network)
  AUTH_BREACHED_URL        the range API's base URL, for a mirror (default
                           https://api.pwnedpasswords.com)
  AUTH_ACCESS_TTL          access-token lifetime, a Go duration (default 15m,
                           at most 24h)
  AUTH_REFRESH_TTL         refresh-token lifetime (default 168h, at least
                           the access-token lifetime)
  AUTH_REFRESH_GRACE       how long a just-rotated refresh token may be
                           presented again and get the same new one back,
                           for clients that lost an answer (default 0s: off;
                           at most 60s)
  AUTH_LEGACY_TOKENS_UNTIL an RFC 3339 time, such as 2026-07-01T00:00:00Z:
                           until then also accept the access tokens a
                           FastAPI tutorial service mints under the same
                           AUTH_SECRET_KEY (which it needs), whose sub is a
                           username or email (default: never)
  AUTH_PUBLIC_URL          the origin browsers load the server from, which
                           mailed links start with (default http:// and
                           the bound address)
  AUTH_SMTP_URL            where mail goes: smtp://HOST:PORT (a local relay:
                           no TLS, no login), smtp://USER:PASS@HOST:587
                           (STARTTLS required) or smtps://USER:PASS@HOST:465
                           (implicit TLS); default: each mail is written as
                           an .eml file to DIR/outbox/
  AUTH_MAIL_FROM           the sender of mails (default auth@localhost)
  AUTH_METRICS_ADDR        serve Prometheus metrics at GET /metrics on this
                           separate address, such as 127.0.0.1:9090
                           (default off; never on the public address)
  AUTH_REDIS_URL           redis://HOST:PORT/DB: keep the failed-login
                           limiter in Redis, shared by every instance
                           (default: in PostgreSQL with a PostgreSQL store,
                           else in this process). Unreachable, logins
                           answer 503: never unlimited
  AUTH_POSTGRES_CACHE      on (default): the PostgreSQL store answers
                           lookups from memory, exact across instances
                           (one more connection each, which must reach
                           PostgreSQL directly: LISTEN does not work
                           through a pooler in transaction mode); off:
                           every lookup reads the database
  AUTH_REDIS_PREFIX        the prefix of the limiter's Redis keys (default
                           goauthkit:limit:); instances sharing budgets use
                           the same
  AUTH_CORS_ORIGINS        comma-separated origins of browser apps served
                           elsewhere that may call the API, such as
                           https://app.example.com (default none)
  AUTH_RESET_TTL           password-reset link lifetime (default 1h, at most
                           24h)
  AUTH_VERIFY_TTL          email-verification link lifetime (default 48h, at
                           most 720h)
  AUTH_ENCRYPTION_KEY      the key that seals second factors' secrets, at
                           least 32 bytes (default: generated once and kept
                           in DIR/encryption.key; keep it apart from the
                           database's backups)
  AUTH_MFA_TOKEN_TTL       how long a login waits for its second factor
                           (the mfa_token's lifetime; default 5m, at most 1h)
  AUTH_TOTP_ISSUER         the name authenticator apps show (default
                           goauthkit)
  AUTH_PASSKEY_RP_ID       the relying party of passkeys: the domain they are
                           bound to (default the host of AUTH_PUBLIC_URL;
                           passkeys are off when that is an IP address, which
                           cannot be one, or an http URL on another host than
                           localhost: serve the pages from
                           http://localhost:PORT or over https)
  AUTH_PASSKEY_RP_NAME     the name authenticators show (default goauthkit)
  AUTH_PASSKEY_CEREMONY_TTL how long a passkey ceremony lives (default 5m, at
                           most 1h)
  AUTH_OIDC_PROVIDERS      comma-separated names (lower-case letters and
                           digits) of OpenID Connect providers to sign in
                           through, each with AUTH_OIDC_NAME_ISSUER (its
                           issuer URL, https but on a loopback host, read
                           through discovery at start), AUTH_OIDC_NAME_CLIENT_ID,
                           AUTH_OIDC_NAME_CLIENT_SECRET, and optionally
                           AUTH_OIDC_NAME_SCOPES (default "openid email
                           profile") and AUTH_OIDC_NAME_LABEL (the button's
                           text; default the name), NAME upper-cased. GitHub,
                           which is OAuth 2.0 only, is the issuer
                           https://github.com. The
                           redirect URI to register at the provider is
                           AUTH_PUBLIC_URL/login/NAME/callback
  AUTH_LOADTEST_BARE       load-testing aid: 1 mounts GET /loadtest/bare,
                           answering 204 with no work, as the ceiling
                           cmd/loadtest measures, and GET /loadtest/runtime,
                           the Go runtime's memory and goroutine counts
                           (default off; not API routes, not in
                           /openapi.json)
`

// loadSettings reads the flags in args and the environment through getenv.
// It returns flag.ErrHelp for -h, or a *settingError.
func loadSettings(args []string, getenv func(string) string) (settings, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var s settings
	var proxies string
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.addr, "addr", env("AUTH_ADDR", "127.0.0.1:8080"), "")
	fs.StringVar(&s.dataDir, "data", env("AUTH_DATA_DIR", "./data"), "")
	fs.StringVar(&s.db, "db", env("AUTH_DATABASE_URL", ""), "")
	fs.StringVar(&proxies, "trusted-proxies", env("AUTH_TRUSTED_PROXIES", ""), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return s, err
		}
		return s, badSetting("(flags)", "%v", err)
	}
	if fs.NArg() > 0 {
		return s, badSetting("(flags)", "unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	name := func(flagName, envName string) string {
		if set[flagName] {
			return "-" + flagName
		}
		return envName
	}

	s.addrSetting = name("addr", "AUTH_ADDR")
	if s.addr == "" {
		return s, badSetting(s.addrSetting, "empty address")
	}
	s.dataSetting = name("data", "AUTH_DATA_DIR")
	s.dataSet = set["data"] || getenv("AUTH_DATA_DIR") != ""
	if s.dataDir == "" {
		return s, badSetting(s.dataSetting, "empty directory")
	}
	s.dbSetting = name("db", "AUTH_DATABASE_URL")
	switch {
	case s.db == "", s.db == "sqlite", s.db == "sqlite-shared", s.db == "memory":
	case strings.HasPrefix(s.db, "postgres://"), strings.HasPrefix(s.db, "postgresql://"):
	default:
		// The value is not repeated: it could hold a password.
		return s, badSetting(s.dbSetting, "want sqlite, sqlite-shared, memory or a postgres:// URL")
	}
	switch getenv("AUTH_POSTGRES_CACHE") {
	case "", "on":
	case "off":
		s.pgCacheOff = true
	default:
		return s, badSetting("AUTH_POSTGRES_CACHE", "want on or off")
	}

	if k := getenv("AUTH_SECRET_KEY"); k != "" {
		if len(k) < 32 {
			return s, badSetting("AUTH_SECRET_KEY", "must be at least 32 bytes, got %d (try: openssl rand -hex 32)", len(k))
		}
		s.secretKey = []byte(k)
	}

	s.signingAlg = env("AUTH_SIGNING_ALG", "HS256")
	switch s.signingAlg {
	case "HS256":
	case "EdDSA", "ES256", "RS256":
		if s.secretKey != nil {
			return s, badSetting("AUTH_SIGNING_ALG", "%s uses a key pair kept in the data directory: unset AUTH_SECRET_KEY, which selects HS256", s.signingAlg)
		}
	default:
		return s, badSetting("AUTH_SIGNING_ALG", "unknown algorithm %q (want HS256, EdDSA, ES256 or RS256)", s.signingAlg)
	}
	if v := getenv("AUTH_LEGACY_TOKENS_UNTIL"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return s, badSetting("AUTH_LEGACY_TOKENS_UNTIL", "%q is not an RFC 3339 time such as 2026-07-01T00:00:00Z", v)
		}
		if s.secretKey == nil {
			return s, badSetting("AUTH_LEGACY_TOKENS_UNTIL", "needs AUTH_SECRET_KEY: the tokens it accepts are HS256 under the secret the FastAPI service shares")
		}
		s.legacyUntil = t
	}

	s.passwordScheme = env("AUTH_PASSWORD_SCHEME", "argon2id")
	if s.passwordScheme != "argon2id" && s.passwordScheme != "bcrypt" {
		return s, badSetting("AUTH_PASSWORD_SCHEME", "unknown scheme %q (want argon2id or bcrypt)", s.passwordScheme)
	}

	var err error
	if s.accessTTL, err = duration(getenv, "AUTH_ACCESS_TTL", 15*time.Minute, false); err != nil {
		return s, err
	}
	if s.accessTTL > 24*time.Hour {
		return s, badSetting("AUTH_ACCESS_TTL", "must be at most 24h, got %s", s.accessTTL)
	}
	if s.refreshTTL, err = duration(getenv, "AUTH_REFRESH_TTL", 168*time.Hour, false); err != nil {
		return s, err
	}
	if s.refreshTTL < s.accessTTL {
		return s, badSetting("AUTH_REFRESH_TTL", "must not be shorter than AUTH_ACCESS_TTL (%s), got %s", s.accessTTL, s.refreshTTL)
	}
	if s.refreshGrace, err = duration(getenv, "AUTH_REFRESH_GRACE", 0, true); err != nil {
		return s, err
	}
	if s.refreshGrace > time.Minute {
		return s, badSetting("AUTH_REFRESH_GRACE", "must be at most 60s, got %s", s.refreshGrace)
	}

	if s.resetTTL, err = duration(getenv, "AUTH_RESET_TTL", time.Hour, false); err != nil {
		return s, err
	}
	if s.resetTTL > 24*time.Hour {
		return s, badSetting("AUTH_RESET_TTL", "must be at most 24h, got %s", s.resetTTL)
	}
	if k := getenv("AUTH_ENCRYPTION_KEY"); k != "" {
		if len(k) < 32 {
			return s, badSetting("AUTH_ENCRYPTION_KEY", "must be at least 32 bytes, got %d (try: openssl rand -hex 32)", len(k))
		}
		s.encryptionKey = []byte(k)
	}
	if s.mfaTokenTTL, err = duration(getenv, "AUTH_MFA_TOKEN_TTL", 5*time.Minute, false); err != nil {
		return s, err
	}
	if s.mfaTokenTTL > time.Hour {
		return s, badSetting("AUTH_MFA_TOKEN_TTL", "must be at most 1h, got %s", s.mfaTokenTTL)
	}
	s.totpIssuer = env("AUTH_TOTP_ISSUER", "goauthkit")
	if len(s.totpIssuer) > 64 {
		return s, badSetting("AUTH_TOTP_ISSUER", "must be at most 64 bytes")
	}
	s.passkeyRPID = getenv("AUTH_PASSKEY_RP_ID")
	s.passkeyRPName = env("AUTH_PASSKEY_RP_NAME", "goauthkit")
	if len(s.passkeyRPName) > 64 || !utf8.ValidString(s.passkeyRPName) {
		return s, badSetting("AUTH_PASSKEY_RP_NAME", "must be at most 64 bytes of UTF-8")
	}
	if s.passkeyCeremonyTTL, err = duration(getenv, "AUTH_PASSKEY_CEREMONY_TTL", 5*time.Minute, false); err != nil {
		return s, err
	}
	if s.passkeyCeremonyTTL > time.Hour {
		return s, badSetting("AUTH_PASSKEY_CEREMONY_TTL", "must be at most 1h, got %s", s.passkeyCeremonyTTL)
	}
	if s.verifyTTL, err = duration(getenv, "AUTH_VERIFY_TTL", 48*time.Hour, false); err != nil {
		return s, err
	}
	if s.verifyTTL > 720*time.Hour {
		return s, badSetting("AUTH_VERIFY_TTL", "must be at most 720h, got %s", s.verifyTTL)
	}
	if v := getenv("AUTH_PUBLIC_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return s, badSetting("AUTH_PUBLIC_URL", "want the origin browsers use, such as https://auth.example.com (http or https, no user, query or fragment)")
		}
		s.publicURL = strings.TrimSuffix(v, "/")
	}
	s.mailFrom = env("AUTH_MAIL_FROM", "auth@localhost")
	if _, err := mail.ParseAddress(s.mailFrom); err != nil {
		return s, badSetting("AUTH_MAIL_FROM", "%q is not an address such as auth@example.com or \"Example <auth@example.com>\"", s.mailFrom)
	}
	if s.smtpURL = getenv("AUTH_SMTP_URL"); s.smtpURL != "" {
		// Checked now, connected to only when a mail is sent. The value is
		// not repeated: it could hold a password.
		if _, err := authmail.NewSMTP(authmail.SMTPConfig{URL: s.smtpURL, From: s.mailFrom}); err != nil {
			return s, badSetting("AUTH_SMTP_URL", "%s", strings.TrimPrefix(err.Error(), "mail: SMTPConfig.URL "))
		}
	}

	if v := getenv("AUTH_CORS_ORIGINS"); v != "" {
		for item := range strings.SplitSeq(v, ",") {
			o := strings.TrimSpace(item)
			if o == "*" {
				return s, badSetting("AUTH_CORS_ORIGINS", "\"*\" is refused: name each origin (a wildcard with credentials would let any site act as the user)")
			}
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				return s, badSetting("AUTH_CORS_ORIGINS", "%q is not an origin such as https://app.example.com", o)
			}
			s.corsOrigins = append(s.corsOrigins, strings.ToLower(u.Scheme+"://"+u.Host))
		}
	}

	if v := getenv("AUTH_METRICS_ADDR"); v != "" {
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			return s, badSetting("AUTH_METRICS_ADDR", "%q is not HOST:PORT, such as 127.0.0.1:9090", v)
		}
		if v == s.addr {
			return s, badSetting("AUTH_METRICS_ADDR", "must differ from the API's address %s: metrics are not for the public", s.addr)
		}
		s.metricsAddr = v
	}

	if s.redisURL = getenv("AUTH_REDIS_URL"); s.redisURL != "" {
		// Checked now, connected to at start. The value is not repeated:
		// it could hold a password.
		if !strings.HasPrefix(s.redisURL, "redis://") && !strings.HasPrefix(s.redisURL, "rediss://") {
			return s, badSetting("AUTH_REDIS_URL", "want redis://HOST:PORT/DB (or rediss:// for TLS)")
		}
		if _, err := redis.ParseURL(s.redisURL); err != nil {
			return s, badSetting("AUTH_REDIS_URL", "%s", redact(err, s.redisURL))
		}
	}
	s.redisPrefix = redislimit.DefaultKeyPrefix
	if v := getenv("AUTH_REDIS_PREFIX"); v != "" {
		if len(v) > 100 {
			return s, badSetting("AUTH_REDIS_PREFIX", "at most 100 bytes")
		}
		s.redisPrefix = v
	}

	switch v := getenv("AUTH_LOADTEST_BARE"); v {
	case "", "0":
	case "1":
		s.loadtestBare = true
	default:
		return s, badSetting("AUTH_LOADTEST_BARE", "want 1 or 0, got %q", v)
	}

	if s.breached, err = breachedSettings(getenv); err != nil {
		return s, err
	}

	s.proxiesSetting = name("trusted-proxies", "AUTH_TRUSTED_PROXIES")
	if proxies != "" {
		setting := s.proxiesSetting
		for item := range strings.SplitSeq(proxies, ",") {
			item = strings.TrimSpace(item)
			p, err := netip.ParsePrefix(item)
			if err != nil {
				a, aerr := netip.ParseAddr(item)
				if aerr != nil {
					return s, badSetting(setting, "%q is neither an IP address nor a CIDR prefix", item)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			s.proxies = append(s.proxies, p)
		}
	}
	if err := checkPasskeySettings(s); err != nil {
		return s, err
	}
	if s.oidcProviders, err = oidcSettings(getenv); err != nil {
		return s, err
	}
	return s, nil
}

// breachedSettings reads AUTH_BREACHED_PASSWORDS and AUTH_BREACHED_URL
// into a breached.Config that breached.New takes (without OnError): nil
// when the check is off.
func breachedSettings(getenv func(string) string) (*breached.Config, error) {
	mode, base := getenv("AUTH_BREACHED_PASSWORDS"), getenv("AUTH_BREACHED_URL")
	var c breached.Config
	switch mode {
	case "api", "api-fail-open":
		c = breached.Config{BaseURL: base, FailOpen: mode == "api-fail-open"}
	case "", "off":
		if base != "" {
			return nil, badSetting("AUTH_BREACHED_URL", "needs AUTH_BREACHED_PASSWORDS=api or api-fail-open")
		}
		return nil, nil
	default:
		if base != "" {
			return nil, badSetting("AUTH_BREACHED_URL", "needs AUTH_BREACHED_PASSWORDS=api or api-fail-open, not a file")
		}
		c = breached.Config{File: mode}
	}
	if _, err := breached.New(c); err != nil {
		if c.File != "" {
			return nil, badSetting("AUTH_BREACHED_PASSWORDS", "want off, api, api-fail-open or the path of Have I Been Pwned's SHA-1 file ordered by hash: %s",
				strings.TrimPrefix(err.Error(), "breached: Config.File: "))
		}
		return nil, badSetting("AUTH_BREACHED_URL", "want the base URL of a range API such as %s (http or https, no user, query or fragment)", breached.DefaultBaseURL)
	}
	return &c, nil
}

// duration reads the Go duration in the variable name: def when unset; a
// *settingError when it does not parse or is negative, or zero unless
// zeroOK.
func duration(getenv func(string) string, name string, def time.Duration, zeroOK bool) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, badSetting(name, "%q is not a Go duration such as 15m or 168h", v)
	case d < 0 || (d == 0 && !zeroOK):
		return 0, badSetting(name, "must be positive, got %s", v)
	}
	return d, nil
}

// configSetting names the setting behind an error of auth.New, which names
// Config fields.
func configSetting(err error) error {
	msg := err.Error()
	for _, m := range []struct{ field, setting string }{
		{"Config.Tokens.RefreshTTL", "AUTH_REFRESH_TTL"},
		{"Config.Tokens.RefreshGrace", "AUTH_REFRESH_GRACE"},
		{"Config.Tokens.AccessTTL", "AUTH_ACCESS_TTL"},
		{"Config.Tokens.LegacyUntil", "AUTH_LEGACY_TOKENS_UNTIL"},
		{"Config.SecretKey", "AUTH_SECRET_KEY"},
		{"Config.PublicURL", "AUTH_PUBLIC_URL"},
		{"Config.ResetTTL", "AUTH_RESET_TTL"},
		{"Config.VerifyTTL", "AUTH_VERIFY_TTL"},
		{"Config.ChallengeTTL", "AUTH_MFA_TOKEN_TTL"},
		{"Config.Issuer", "AUTH_TOTP_ISSUER"},
		{"Config.Key", "AUTH_ENCRYPTION_KEY"},
		{"Config.RPID", "AUTH_PASSKEY_RP_ID"},
		{"Config.RPName", "AUTH_PASSKEY_RP_NAME"},
		{"Config.CeremonyTTL", "AUTH_PASSKEY_CEREMONY_TTL"},
		{"Config.Origins", "AUTH_PASSKEY_RP_ID"},
	} {
		if i := strings.Index(msg, m.field); i >= 0 && !strings.Contains(msg[:i], "Config.") {
			for _, prefix := range []string{"auth: ", "recovery: ", "mfa: ", "passkey: "} {
				msg = strings.TrimPrefix(msg, prefix)
			}
			return badSetting(m.setting, "%s", msg)
		}
	}
	return err
}

// checkPasskeySettings checks an AUTH_PASSKEY_RP_ID against the host the
// pages are served from (AUTH_PUBLIC_URL's, else -addr's), before
// anything is written: a host name, the public host or a domain it is
// under, and pages on https or localhost (browsers offer passkeys to
// secure contexts only). Without it, the relying party is the public
// host when passkeys can work there, and they are off otherwise (see
// newPasskeys).
func checkPasskeySettings(s settings) error {
	rp := s.passkeyRPID
	if rp == "" {
		return nil
	}
	if net.ParseIP(strings.Trim(rp, "[]")) != nil {
		return badSetting("AUTH_PASSKEY_RP_ID", "%q is an IP address: a relying party is a host name (browsers refuse an IP address)", rp)
	}
	if strings.ToLower(rp) != rp || strings.Trim(rp, ".") != rp || strings.ContainsAny(rp, "/:@ ") || len(rp) > 253 {
		return badSetting("AUTH_PASSKEY_RP_ID", "%q is not a lower-case host name such as example.com", rp)
	}
	scheme, host := "http", s.addr
	if s.publicURL != "" {
		u, _ := url.Parse(s.publicURL) // checked above
		scheme, host = u.Scheme, u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if host != rp && !strings.HasSuffix(host, "."+rp) {
		return badSetting("AUTH_PASSKEY_RP_ID", "%q is neither the host the pages are served from (%s, AUTH_PUBLIC_URL) nor a domain it is under", rp, host)
	}
	if scheme != "https" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return badSetting("AUTH_PASSKEY_RP_ID", "passkeys need pages served over https (or from localhost): AUTH_PUBLIC_URL is %s", s.publicURL)
	}
	return nil
}

// oidcSettings reads AUTH_OIDC_PROVIDERS and each provider's settings.
func oidcSettings(getenv func(string) string) ([]oidc.Provider, error) {
	list := strings.TrimSpace(getenv("AUTH_OIDC_PROVIDERS"))
	if list == "" {
		return nil, nil
	}
	var out []oidc.Provider
	seen := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" || len(name) > 32 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return nil, badSetting("AUTH_OIDC_PROVIDERS", "%q is not a provider name: 1 to 32 lower-case letters and digits", name)
		}
		if seen[name] {
			return nil, badSetting("AUTH_OIDC_PROVIDERS", "%q is named twice", name)
		}
		seen[name] = true
		prefix := "AUTH_OIDC_" + strings.ToUpper(name) + "_"
		p := oidc.Provider{Name: name, Issuer: getenv(prefix + "ISSUER"), ClientID: getenv(prefix + "CLIENT_ID"),
			ClientSecret: getenv(prefix + "CLIENT_SECRET"), Label: getenv(prefix + "LABEL")}
		u, err := url.Parse(p.Issuer)
		switch {
		case p.Issuer == "":
			return nil, badSetting(prefix+"ISSUER", "is required for the provider %s", name)
		case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
			return nil, badSetting(prefix+"ISSUER", "is not a URL such as https://accounts.google.com")
		case u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())):
			return nil, badSetting(prefix+"ISSUER", "must be https (http only on a loopback host: localhost, 127.0.0.0/8, [::1])")
		case p.ClientID == "":
			return nil, badSetting(prefix+"CLIENT_ID", "is required for the provider %s", name)
		case len(p.Label) > 64:
			return nil, badSetting(prefix+"LABEL", "must be at most 64 bytes")
		}
		// GitHub speaks OAuth 2.0, not OpenID Connect: its API says who.
		p.GitHub = strings.TrimSuffix(p.Issuer, "/") == "https://github.com"
		if scopes := strings.Fields(getenv(prefix + "SCOPES")); len(scopes) > 0 {
			if !p.GitHub && !slices.Contains(scopes, "openid") {
				return nil, badSetting(prefix+"SCOPES", "must hold openid")
			}
			p.Scopes = scopes
		}
		out = append(out, p)
	}
	return out, nil
}

// loopbackHost reports whether host is localhost, in 127.0.0.0/8 or ::1.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
