package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
)

// TestServerBinary builds the real binary, starts it on 127.0.0.1:0 over
// SQLite with the default hasher and a generated key, reads the address
// from its log, signs up, logs in and reads /users/me, then stops it with
// SIGTERM and expects exit code 0; then starts it again on the same data
// directory and checks the token still works (the key was kept).
func TestServerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=") // CI's -json is for go test only
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "data")

	p := startServer(t, bin, data)
	p.post(t, "/signup", "application/json", `{"username":"Alice","password":"correct horse battery"}`, 201)
	tok := p.post(t, "/token", "application/x-www-form-urlencoded", "username=alice&password=correct+horse+battery", 200)
	access, _ := tok["access_token"].(string)
	me := p.get(t, "/users/me", access, 200)
	if me["username"] != "alice" {
		t.Fatalf("/users/me: %v", me)
	}
	log1 := p.stop(t)
	for _, want := range []string{"generated a new HS256 signing key", "listening on http://127.0.0.1:", "msg=request method=POST path=/token status=200", "shutting down", "msg=stopped"} {
		if !strings.Contains(log1, want) {
			t.Errorf("log lacks %q:\n%s", want, log1)
		}
	}
	for _, secret := range []string{"correct horse battery", "correct+horse+battery", access, "$argon2id$"} {
		if strings.Contains(log1, secret) {
			t.Errorf("log holds a secret %.12q", secret)
		}
	}
	key, err := os.Stat(filepath.Join(data, keyFileName))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, key.Mode())
	}

	// Restart: the key and the users were kept.
	p = startServer(t, bin, data)
	if me := p.get(t, "/users/me", access, 200); me["username"] != "alice" {
		t.Fatalf("/users/me after a restart: %v", me)
	}
	log2 := p.stop(t)
	if !strings.Contains(log2, "loaded the HS256 signing key") {
		t.Errorf("second start did not load the key:\n%s", log2)
	}
}

type serverProc struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

func startServer(t *testing.T, bin, data string) *serverProc {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", data)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case p.base = <-addr:
	case <-p.done:
		t.Fatalf("server exited before listening:\n%s", p.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("no listening line after 60s:\n%s", p.logText())
	}
	return p
}

func (p *serverProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends SIGTERM and expects a clean exit; it returns the log.
func (p *serverProc) stop(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit 60s after SIGTERM:\n%s", p.logText())
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logText())
	}
	return p.logText()
}

func (p *serverProc) post(t *testing.T, path, ct, body string, want int) map[string]any {
	t.Helper()
	res, err := http.Post(p.base+path, ct, strings.NewReader(body))
	return p.read(t, res, err, want)
}

func (p *serverProc) get(t *testing.T, path, bearer string, want int) map[string]any {
	t.Helper()
	r, _ := http.NewRequest("GET", p.base+path, nil)
	r.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(r)
	return p.read(t, res, err, want)
}

func (p *serverProc) read(t *testing.T, res *http.Response, err error, want int) map[string]any {
	t.Helper()
	if err != nil {
		t.Fatalf("%v\n%s", err, p.logText())
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", res.Request.Method, res.Request.URL.Path, res.StatusCode, b, want)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// TestBadSettings checks that every bad setting stops start-up with one
// line naming it, exit code 2, and no secret in the output.
func TestBadSettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	shortKey := filepath.Join(dir, "short")
	if err := os.MkdirAll(shortKey, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shortKey, keyFileName), []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	badPEM := filepath.Join(dir, "bad-pem")
	if err := os.MkdirAll(badPEM, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badPEM, "signing-EdDSA.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		args    []string
		env     map[string]string
		setting string
		also    string
	}{
		{"access TTL not a duration", nil, map[string]string{"AUTH_ACCESS_TTL": "15 minutes"}, "AUTH_ACCESS_TTL", ""},
		{"access TTL negative", nil, map[string]string{"AUTH_ACCESS_TTL": "-5m"}, "AUTH_ACCESS_TTL", ""},
		{"access TTL too long", nil, map[string]string{"AUTH_ACCESS_TTL": "48h"}, "AUTH_ACCESS_TTL", "24h"},
		{"refresh TTL not a duration", nil, map[string]string{"AUTH_REFRESH_TTL": "7d"}, "AUTH_REFRESH_TTL", ""},
		{"refresh shorter than access", nil, map[string]string{"AUTH_REFRESH_TTL": "1m"}, "AUTH_REFRESH_TTL", "AUTH_ACCESS_TTL"},
		{"grace not a duration", nil, map[string]string{"AUTH_REFRESH_GRACE": "ten seconds"}, "AUTH_REFRESH_GRACE", ""},
		{"grace negative", nil, map[string]string{"AUTH_REFRESH_GRACE": "-1s"}, "AUTH_REFRESH_GRACE", ""},
		{"grace too long", nil, map[string]string{"AUTH_REFRESH_GRACE": "61s"}, "AUTH_REFRESH_GRACE", "60s"},
		{"short secret", nil, map[string]string{"AUTH_SECRET_KEY": "hunter2-is-short"}, "AUTH_SECRET_KEY", "32 bytes"},
		{"EdDSA with a secret key", nil, map[string]string{"AUTH_SIGNING_ALG": "EdDSA", "AUTH_SECRET_KEY": strings.Repeat("k", 32)}, "AUTH_SIGNING_ALG", "unset AUTH_SECRET_KEY"},
		{"unreadable key file", []string{"-data", badPEM}, map[string]string{"AUTH_SIGNING_ALG": "EdDSA"}, "AUTH_SIGNING_ALG", "signing-EdDSA.pem"},
		{"lower-case alg", nil, map[string]string{"AUTH_SIGNING_ALG": "es256"}, "AUTH_SIGNING_ALG", "unknown"},
		{"unknown password scheme", nil, map[string]string{"AUTH_PASSWORD_SCHEME": "md5"}, "AUTH_PASSWORD_SCHEME", "argon2id or bcrypt"},
		{"legacy tokens without a secret key", nil, map[string]string{"AUTH_LEGACY_TOKENS_UNTIL": "2030-01-01T00:00:00Z"}, "AUTH_LEGACY_TOKENS_UNTIL", "needs AUTH_SECRET_KEY"},
		{"legacy tokens with a key pair", nil, map[string]string{"AUTH_SIGNING_ALG": "EdDSA", "AUTH_LEGACY_TOKENS_UNTIL": "2030-01-01T00:00:00Z"}, "AUTH_LEGACY_TOKENS_UNTIL", "needs AUTH_SECRET_KEY"},
		{"legacy tokens until a date", nil, map[string]string{"AUTH_SECRET_KEY": strings.Repeat("k", 32), "AUTH_LEGACY_TOKENS_UNTIL": "2030-01-01"}, "AUTH_LEGACY_TOKENS_UNTIL", "RFC 3339"},
		{"unknown alg", nil, map[string]string{"AUTH_SIGNING_ALG": "none"}, "AUTH_SIGNING_ALG", "unknown"},
		{"breached passwords from a missing file", nil, map[string]string{"AUTH_BREACHED_PASSWORDS": "/nonexistent/pwned-passwords.txt"}, "AUTH_BREACHED_PASSWORDS", "no such file"},
		{"breached passwords from an empty file", nil, map[string]string{"AUTH_BREACHED_PASSWORDS": file}, "AUTH_BREACHED_PASSWORDS", "HASH:COUNT"},
		{"breached passwords, upper case", nil, map[string]string{"AUTH_BREACHED_PASSWORDS": "API"}, "AUTH_BREACHED_PASSWORDS", "api-fail-open"},
		{"breached URL while off", nil, map[string]string{"AUTH_BREACHED_URL": "http://127.0.0.1:1"}, "AUTH_BREACHED_URL", "needs AUTH_BREACHED_PASSWORDS=api"},
		{"breached URL with a file", nil, map[string]string{"AUTH_BREACHED_PASSWORDS": file, "AUTH_BREACHED_URL": "http://127.0.0.1:1"}, "AUTH_BREACHED_URL", "needs AUTH_BREACHED_PASSWORDS=api"},
		{"breached URL of another scheme", nil, map[string]string{"AUTH_BREACHED_PASSWORDS": "api", "AUTH_BREACHED_URL": "ftp://u:hunter2-secret@mirror.example.com"}, "AUTH_BREACHED_URL", "http or https"},
		{"breached URL with a query", nil, map[string]string{"AUTH_BREACHED_PASSWORDS": "api-fail-open", "AUTH_BREACHED_URL": "https://mirror.example.com/?key=hunter2-secret"}, "AUTH_BREACHED_URL", "query"},
		{"unknown database", []string{"-db", "mysql://root:hunter2-secret@localhost/x"}, nil, "-db", ""},
		{"unknown database, env", nil, map[string]string{"AUTH_DATABASE_URL": "mysql://root:hunter2-secret@localhost/x"}, "AUTH_DATABASE_URL", ""},
		{"unreachable database", nil, map[string]string{"AUTH_DATABASE_URL": "postgres://u:hunter2-secret@127.0.0.1:1/x?connect_timeout=5"}, "AUTH_DATABASE_URL", "PostgreSQL"},
		{"bad address", []string{"-addr", "nonsense"}, nil, "-addr", "listen"},
		{"bad port", nil, map[string]string{"AUTH_ADDR": "127.0.0.1:99999"}, "AUTH_ADDR", "listen"},
		{"data dir is a file", []string{"-data", file}, nil, "-data", ""},
		{"short key file", []string{"-data", shortKey}, nil, "-data", "fewer than 32"},
		{"bad proxy", []string{"-trusted-proxies", "10.0.0.0/8,nonsense"}, nil, "-trusted-proxies", ""},
		{"reset TTL not a duration", nil, map[string]string{"AUTH_RESET_TTL": "1 hour"}, "AUTH_RESET_TTL", ""},
		{"reset TTL too long", nil, map[string]string{"AUTH_RESET_TTL": "25h"}, "AUTH_RESET_TTL", "24h"},
		{"reset TTL zero", nil, map[string]string{"AUTH_RESET_TTL": "0s"}, "AUTH_RESET_TTL", "positive"},
		{"verify TTL too long", nil, map[string]string{"AUTH_VERIFY_TTL": "721h"}, "AUTH_VERIFY_TTL", "720h"},
		{"verify TTL negative", nil, map[string]string{"AUTH_VERIFY_TTL": "-1h"}, "AUTH_VERIFY_TTL", "positive"},
		{"public URL without scheme", nil, map[string]string{"AUTH_PUBLIC_URL": "auth.example.com"}, "AUTH_PUBLIC_URL", "https://"},
		{"public URL with a query", nil, map[string]string{"AUTH_PUBLIC_URL": "https://auth.example.com/?x=1"}, "AUTH_PUBLIC_URL", ""},
		{"public URL ftp", nil, map[string]string{"AUTH_PUBLIC_URL": "ftp://auth.example.com"}, "AUTH_PUBLIC_URL", ""},
		{"SMTP URL of another scheme", nil, map[string]string{"AUTH_SMTP_URL": "http://u:hunter2-secret@mail.example.com"}, "AUTH_SMTP_URL", "smtp://"},
		{"SMTP URL with a bad port", nil, map[string]string{"AUTH_SMTP_URL": "smtps://u:hunter2-secret@mail.example.com:0"}, "AUTH_SMTP_URL", "port"},
		{"SMTP URL unparseable", nil, map[string]string{"AUTH_SMTP_URL": "smtp://u:hunter2-secret@[::1"}, "AUTH_SMTP_URL", ""},
		{"mail from not an address", nil, map[string]string{"AUTH_MAIL_FROM": "the auth server"}, "AUTH_MAIL_FROM", ""},
		{"CORS wildcard", nil, map[string]string{"AUTH_CORS_ORIGINS": "https://app.example.com,*"}, "AUTH_CORS_ORIGINS", "refused"},
		{"CORS origin without scheme", nil, map[string]string{"AUTH_CORS_ORIGINS": "app.example.com"}, "AUTH_CORS_ORIGINS", "origin"},
		{"CORS origin with a path", nil, map[string]string{"AUTH_CORS_ORIGINS": "https://app.example.com/app"}, "AUTH_CORS_ORIGINS", "origin"},
		{"metrics address not HOST:PORT", nil, map[string]string{"AUTH_METRICS_ADDR": "9090"}, "AUTH_METRICS_ADDR", "HOST:PORT"},
		{"metrics on the API's address", nil, map[string]string{"AUTH_METRICS_ADDR": "127.0.0.1:8080"}, "AUTH_METRICS_ADDR", "differ"},
		{"Redis URL of another scheme", nil, map[string]string{"AUTH_REDIS_URL": "http://u:hunter2-secret@127.0.0.1:6379"}, "AUTH_REDIS_URL", "redis://"},
		{"Redis URL with a bad database", nil, map[string]string{"AUTH_REDIS_URL": "redis://u:hunter2-secret@127.0.0.1:6379/db0"}, "AUTH_REDIS_URL", ""},
		{"Redis URL with an unknown option", nil, map[string]string{"AUTH_REDIS_URL": "redis://:hunter2-secret@127.0.0.1:6379/0?colour=blue"}, "AUTH_REDIS_URL", ""},
		{"unreachable Redis", nil, map[string]string{"AUTH_REDIS_URL": "redis://:hunter2-secret@127.0.0.1:1/0"}, "AUTH_REDIS_URL", "does not answer"},
		{"Redis prefix too long", nil, map[string]string{"AUTH_REDIS_PREFIX": strings.Repeat("p", 101)}, "AUTH_REDIS_PREFIX", "100"},
		{"PostgreSQL cache neither on nor off", nil, map[string]string{"AUTH_POSTGRES_CACHE": "yes"}, "AUTH_POSTGRES_CACHE", "on or off"},
		{"unknown flag", []string{"-port", "80"}, nil, "flags", ""},
		{"stray argument", []string{"serve"}, nil, "flags", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			args := c.args
			if !slices.Contains(args, "-data") {
				args = append(args, "-data", t.TempDir())
			}
			code := run(context.Background(), args, func(k string) string { return c.env[k] }, &out)
			var lines []string
			for l := range strings.Lines(out.String()) {
				if !strings.Contains(l, "level=INFO") { // start-up progress lines
					lines = append(lines, l)
				}
			}
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "bad setting") ||
				!strings.Contains(lines[0], c.setting) || !strings.Contains(lines[0], c.also) {
				t.Fatalf("exit %d, output:\n%s\nwant exit 2 and one line naming %s", code, out.String(), c.setting)
			}
			if strings.Contains(out.String(), "hunter2") || strings.Contains(out.String(), "goroutine ") {
				t.Fatalf("output holds a secret or a stack trace:\n%s", out.String())
			}
			if strings.Contains(out.String(), "Config.") || strings.Count(lines[0], "auth:") > 1 {
				t.Fatalf("the message uses the library's names, not the server's:\n%s", out.String())
			}
		})
	}

	t.Run("help", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out); code != 0 || !strings.Contains(out.String(), "AUTH_ACCESS_TTL") {
			t.Fatalf("-h: exit %d\n%s", code, out.String())
		}
	})
}

// TestStartupMessages: what a new user meets when start-up fails for no
// fault of a setting says what happened, in one line, and settings are
// checked before anything is written.
func TestStartupMessages(t *testing.T) {
	secretEnv := func(k string) string {
		if k == "AUTH_SECRET_KEY" {
			return testSecret
		}
		return ""
	}
	oneLine := func(t *testing.T, out string) string {
		t.Helper()
		var lines []string
		for l := range strings.Lines(out) {
			if !strings.Contains(l, "level=INFO") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 {
			t.Fatalf("want one line of error, got:\n%s", out)
		}
		return lines[0]
	}

	t.Run("a second server on the same data directory", func(t *testing.T) {
		dir := t.TempDir()
		s, err := loadSettings([]string{"-data", dir}, secretEnv)
		if err != nil {
			t.Fatal(err)
		}
		first, err := newApp(context.Background(), s, discardLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer first.close()
		var out bytes.Buffer
		code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", dir}, secretEnv, &out)
		line := oneLine(t, out.String())
		if code != 2 || !strings.Contains(line, "another process is using "+filepath.Join(dir, "auth.db")) || strings.Contains(line, "bad setting") {
			t.Fatalf("exit %d: %s", code, line)
		}
	})

	t.Run("the port is taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		dir := filepath.Join(t.TempDir(), "data")
		var out bytes.Buffer
		code := run(context.Background(), []string{"-addr", ln.Addr().String(), "-data", dir}, secretEnv, &out)
		line := oneLine(t, out.String())
		if code != 2 || !strings.Contains(line, "in use") || strings.Contains(line, "bad setting") {
			t.Fatalf("exit %d: %s", code, line)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatal("the data directory was created although the server could not listen")
		}
	})

	t.Run("settings are checked before the disk is touched", func(t *testing.T) {
		for _, v := range []map[string]string{
			{"AUTH_REFRESH_GRACE": "2m"},
			{"AUTH_ACCESS_TTL": "25h"},
			{"AUTH_REFRESH_TTL": "1m"},
			{"AUTH_SIGNING_ALG": "EdDSA", "AUTH_SECRET_KEY": testSecret},
		} {
			dir := filepath.Join(t.TempDir(), "data")
			var out bytes.Buffer
			if code := run(context.Background(), []string{"-data", dir}, func(k string) string { return v[k] }, &out); code != 2 {
				t.Fatalf("%v: exit %d", v, code)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Fatalf("%v: the data directory was created before the settings were checked", v)
			}
		}
	})

	t.Run("-db memory says what a restart loses", func(t *testing.T) {
		s, err := loadSettings([]string{"-db", "memory", "-data", t.TempDir()}, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		logs := &syncBuffer{}
		a, err := newApp(context.Background(), s, slog.New(slog.NewTextHandler(logs, nil)), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.close()
		if l := logs.String(); strings.Contains(l, "survive restarts") || !strings.Contains(l, "lost when the server stops") {
			t.Fatalf("log:\n%s", l)
		}
	})
}

// TestRunShutdown runs the server in-process over the memory store until
// its context ends, and checks a clean exit.
func TestRunShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", "memory", "-data", t.TempDir()},
			func(k string) string {
				if k == "AUTH_SECRET_KEY" {
					return testSecret
				}
				return ""
			}, out)
	}()
	deadline := time.Now().Add(30 * time.Second)
	var base string
	for base == "" && time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("not listening:\n%s", out.String())
	}
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if strings.Contains(out.String(), testSecret) {
		t.Fatal("the log holds the secret key")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOpenAPI checks that the OpenAPI document the server serves describes
// exactly the routes it mounts (authhttp's TestOpenAPIValid validates the
// document itself).
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory"})
	r := e.do(request{method: "GET", path: "/openapi.json"})
	r.want(t, 200, "")
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	mounted := map[string]bool{}
	for _, r := range e.app.router.Routes() {
		mounted[r.Method+" "+r.Path] = true
		if !documented[r.Method+" "+r.Path] {
			t.Errorf("%s %s is mounted but not in /openapi.json", r.Method, r.Path)
		}
	}
	for route := range documented {
		if !mounted[route] {
			t.Errorf("%s is in /openapi.json but not mounted", route)
		}
	}
	if len(mounted) < 9 {
		t.Errorf("only %d routes mounted", len(mounted))
	}
}

// TestPostgresStore opens the PostgreSQL store the way the server does,
// when AUTH_TEST_POSTGRES_URL names a database (CI sets it).
func TestPostgresStore(t *testing.T) {
	url := testenv.Postgres(t)
	s := settings{db: url, dbSetting: "AUTH_DATABASE_URL"}
	logger := discardLogger()
	var err error
	// Other packages' tests may restart the cluster (AUTH_TEST_PG_RESTART):
	// try a few times.
	for attempt := range 5 {
		var st auth.Store
		var closeStore func() error
		st, closeStore, err = openStore(context.Background(), s, logger)
		if err == nil {
			err = st.(auth.Pinger).Ping(context.Background())
			_ = closeStore()
			if err == nil {
				return
			}
		}
		var se *settingError
		if err != nil && !errors.As(err, &se) && attempt == 0 {
			t.Fatalf("openStore error is not a setting error: %v", err)
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatal(err)
}

// TestSQLiteModes checks what -db sqlite and -db sqlite-shared promise:
// the default holds DIR/auth.db so that no other connection can use it
// while the server runs; sqlite-shared leaves it open to others, who see
// the server's writes.
func TestSQLiteModes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		db        string
		othersUse bool
	}{
		{"", false},
		{"sqlite", false},
		{"sqlite-shared", true},
	} {
		t.Run("db="+tc.db, func(t *testing.T) {
			dir := t.TempDir()
			s := settings{db: tc.db, dbSetting: "-db", dataDir: dir, dataSetting: "-data"}
			st, closeStore, err := openStore(ctx, s, discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore()
			u := &auth.User{ID: "u1", Username: "alice", PasswordHash: "x", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "auth.db")+"?_pragma=busy_timeout(0)")
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			var n int
			err = other.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
			if tc.othersUse && (err != nil || n != 1) {
				t.Errorf("another connection read %d users, %v; want 1", n, err)
			}
			if !tc.othersUse && err == nil {
				t.Error("another connection read the file while the server held it")
			}
		})
	}
}

// TestLoadtestRoutes checks the load-testing aids withBareRoute mounts: the
// bare 204, and the runtime figures cmd/loadtest samples during a flood.
func TestLoadtestRoutes(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := withBareRoute(next)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/loadtest/bare", 204},
		{"GET", "/loadtest/runtime", 200},
		{"POST", "/loadtest/runtime", http.StatusTeapot},
		{"GET", "/loadtest/other", http.StatusTeapot},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, w.Code, tc.want)
		}
		if tc.want != 200 {
			continue
		}
		var got map[string]uint64
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v: %s", tc.path, err, w.Body)
		}
		for key := range runtimeMetrics {
			if _, ok := got[key]; !ok {
				t.Errorf("%s lacks %q", tc.path, key)
			}
		}
		if got["goroutines"] == 0 || got["heap_goal_bytes"] == 0 || got["runtime_bytes"] < got["heap_bytes"] {
			t.Errorf("implausible figures: %v", got)
		}
	}
}
