package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goauthkit/auth/internal/testenv"
)

// readmeHeading is the README section that shows this program.
const readmeHeading = "### A whole service on PostgreSQL"

// TestREADMEShowsIt: the README shows this program as it is, whole.
func TestREADMEShowsIt(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i := strings.Index(text, "\n"+readmeHeading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no heading %q", readmeHeading)
	}
	text = text[i:]
	start := strings.Index(text, "\n```go\n")
	if start < 0 {
		t.Fatalf("README.md has no go block after %q", readmeHeading)
	}
	text = text[start+len("\n```go\n"):]
	end := strings.Index(text, "\n```\n")
	if end < 0 {
		t.Fatalf("the go block after %q is not closed", readmeHeading)
	}
	shown := text[:end+1]
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if shown != string(src) {
		t.Fatalf("the README's block under %q is not examples/postgres/main.go: copy the file into it", readmeHeading)
	}
}

// TestRun builds the program and runs it on a fresh schema of the database
// AUTH_TEST_POSTGRES_URL names: a user signs up, logs in (after a wrong
// password, which the limiter's table in the database must show), reaches
// /hello and /users/me with the access token; then SIGTERM stops the
// program, which must exit 0 after saying it shuts down.
func TestRun(t *testing.T) {
	dbURL := freshSchema(t)
	if testing.Short() {
		t.Skip("builds the program")
	}
	bin := filepath.Join(t.TempDir(), "postgres-example")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=") // CI's -json is for go test only
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + dbURL,
		"AUTH_SECRET_KEY=example-test-secret-0123456789abcdef-ABCDEF",
		"ADDR=127.0.0.1:0",
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		logs strings.Builder
	)
	logged := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		done <- cmd.Wait()
	}()
	exited := false // done received
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var base string
	select {
	case base = <-addr:
	case err := <-done:
		exited = true
		t.Fatalf("the program exited before listening: %v\n%s", err, logged())
	case <-time.After(60 * time.Second):
		t.Fatalf("the program did not say where it listens:\n%s", logged())
	}

	call := func(method, path, contentType, body, bearer string, want int) string {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
		}
		return string(b)
	}
	const form = "application/x-www-form-urlencoded"
	call("POST", "/signup", "application/json", `{"username":"alice","password":"correct horse battery staple"}`, "", 201)
	call("POST", "/token", form, "username=alice&password=wrong+horse+battery+staple", "", 400)
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	body := call("POST", "/token", form, "username=alice&password=correct+horse+battery+staple", "", 200)
	if err := json.Unmarshal([]byte(body), &tokens); err != nil || tokens.AccessToken == "" {
		t.Fatalf("POST /token: %s", body)
	}
	if got := call("GET", "/hello", "", "", tokens.AccessToken, 200); got != "hello, alice\n" {
		t.Fatalf("GET /hello: %q", got)
	}
	call("GET", "/hello", "", "", "", 401)
	if me := call("GET", "/users/me", "", "", tokens.AccessToken, 200); !strings.Contains(me, `"username":"alice"`) {
		t.Fatalf("GET /users/me: %s", me)
	}

	// The failed login was counted in the database: the shared limiter.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	var budgets int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM auth_limit_budgets").Scan(&budgets)
	conn.Close(ctx)
	if err != nil || budgets == 0 {
		t.Fatalf("the limiter's table holds %d budgets (%v): the limiter is not the database's", budgets, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Fatalf("after SIGTERM: %v, want exit status 0\n%s", err, logged())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM:\n%s", logged())
	}
	if !strings.Contains(logged(), "shutting down") {
		t.Errorf("the program did not say it shuts down:\n%s", logged())
	}
}

// freshSchema returns the URL of AUTH_TEST_POSTGRES_URL with a search_path
// of a new schema, dropped at the end of the test; it skips the test when
// AUTH_TEST_POSTGRES_URL is not set (and fails under CI, which sets it).
func freshSchema(t *testing.T) string {
	t.Helper()
	base := testenv.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at AUTH_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	schema := "example_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
