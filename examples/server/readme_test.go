package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/testenv"
)

// readmeBlock returns the first fenced code block of language lang after
// the heading in README.md.
func readmeBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	return readmeBlockN(t, heading, lang, 0)
}

// readmeBlockN returns the fenced code block of language lang n blocks
// after the first one after the heading in README.md.
func readmeBlockN(t *testing.T, heading, lang string, n int) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no heading %q", heading)
	}
	text = text[i:]
	for k := 0; ; k++ {
		start := strings.Index(text, "\n```"+lang+"\n")
		if start < 0 {
			t.Fatalf("README.md has no %s block %d after %q", lang, n, heading)
		}
		text = text[start+len("\n```"+lang+"\n"):]
		end := strings.Index(text, "\n```\n")
		if end < 0 {
			t.Fatalf("the %s block after %q is not closed", lang, heading)
		}
		if k == n {
			return text[:end+1]
		}
		text = text[end:]
	}
}

// walkStep is one command of the walk-through and the answer the README
// shows under it ("…" stands for anything).
type walkStep struct {
	command string
	want    []string
}

// walkSteps splits a shell block into commands (a line and its
// backslash-continued lines), each with the comment lines that follow it at
// once: its expected output. Comment lines after a blank line describe the
// next command and are not expected output.
func walkSteps(block string) []walkStep {
	var steps []walkStep
	lines := strings.Split(block, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd := line
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = lines[i]
			cmd += "\n" + line
		}
		st := walkStep{command: cmd}
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "# ") {
			i++
			st.want = append(st.want, strings.TrimPrefix(lines[i], "# "))
		}
		steps = append(steps, st)
	}
	return steps
}

// pattern turns an expected line into a regular expression: "…" matches
// anything, the rest is literal.
func pattern(want string) *regexp.Regexp {
	parts := strings.Split(want, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

const stepMark = "\x1e-- end of step --"

// TestREADMEWalkthrough runs the README's walk-through, as pasted, against a
// fresh example server (its address for localhost:8080), and checks every
// answer the README shows.
func TestREADMEWalkthrough(t *testing.T) {
	e := newEnv(t, envOptions{})
	runWalk(t, e, "### Walk-through with curl", 10)
}

// TestREADMERecovery runs the README's recovery walk-through the same way,
// the server's outbox for data/outbox.
func TestREADMERecovery(t *testing.T) {
	e := newEnv(t, envOptions{})
	runWalk(t, e, "### Account recovery, with the outbox", 6)
}

// TestREADMEAdmin runs the README's administration section: authctl on a
// fresh data directory, then the server on it, then authctl again while
// the server holds the file. Commands run from the repository's root, as
// the README's do, the test's data directory for data/.
func TestREADMEAdmin(t *testing.T) {
	heading := "### Devices, administration and authctl"
	dir := t.TempDir()
	runBlock(t, readmeBlockN(t, heading, "sh", 0), "", dir, 1)
	// authctl hashes with the default argon2id, as the server does.
	e := newEnv(t, envOptions{dataDir: dir, hasher: auth.Argon2id{}})
	runBlock(t, readmeBlockN(t, heading, "sh", 1), strings.TrimPrefix(e.srv.URL, "http://"), dir, 7)
}

// runWalk runs the shell block after heading against e's server and checks
// every answer the README shows (at least min of them).
func runWalk(t *testing.T, e *env, heading string, min int) {
	t.Helper()
	runBlock(t, readmeBlock(t, heading, "sh"), strings.TrimPrefix(e.srv.URL, "http://"), e.dataDir, min)
}

// bashAndCurl returns bash, or skips when bash or curl is missing (under
// CI, fails).
func bashAndCurl(t *testing.T) string {
	t.Helper()
	bash, errBash := exec.LookPath("bash")
	_, errCurl := exec.LookPath("curl")
	if errBash != nil || errCurl != nil {
		testenv.Missing(t, "bash or curl missing: the README walk-through runs them (.ci/run installs curl)")
	}
	return bash
}

// runBlock runs a shell block of the README from the repository's root,
// host (a server's HOST:PORT) for localhost:8080 and dataDir for data/, and
// checks every answer the README shows (at least min of them).
func runBlock(t *testing.T, block, host, dataDir string, min int) {
	t.Helper()
	bash := bashAndCurl(t)
	steps := walkSteps(block)
	checked := 0
	var script strings.Builder
	for _, st := range steps {
		checked += len(st.want)
		script.WriteString(st.command + "\n")
		script.WriteString("echo '" + stepMark + "'\n")
	}
	if len(steps) < min || checked < min {
		t.Fatalf("%d steps with %d answers: the walk-through was not found whole", len(steps), checked)
	}

	text := strings.ReplaceAll(script.String(), "localhost:8080", host)
	text = strings.ReplaceAll(text, "data/outbox/", filepath.Join(dataDir, "outbox")+"/")
	text = strings.ReplaceAll(text, "-data data ", "-data "+dataDir+" ")
	cmd := exec.Command(bash, "-c", text)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	got := strings.Split(string(out), stepMark+"\n")
	if len(got) != len(steps)+1 {
		t.Fatalf("%d step outputs for %d steps:\n%s", len(got)-1, len(steps), out)
	}
	for i, st := range steps {
		lines := strings.Split(strings.TrimSuffix(got[i], "\n"), "\n")
		if got[i] == "" {
			lines = nil
		}
		if len(st.want) == 0 {
			if len(lines) != 0 {
				t.Errorf("step %d (%s) printed what the README does not show:\n%s", i, st.command, got[i])
			}
			continue
		}
		if len(lines) != len(st.want) {
			t.Errorf("step %d (%s):\n got %q\nwant %q", i, st.command, lines, st.want)
			continue
		}
		for j, w := range st.want {
			// The server's address and data directory for the ones the
			// README shows.
			w = strings.ReplaceAll(w, "127.0.0.1:8080", host)
			w = strings.ReplaceAll(w, " data/", " "+dataDir+"/")
			if !pattern(w).MatchString(lines[j]) {
				t.Errorf("step %d (%s):\n got %s\nwant %s", i, st.command, lines[j], w)
			}
		}
	}
}

// TestREADMEPython runs the README's PyJWT snippet on a token of the
// example server, with the server's secret: it must decode, and give the
// user's id.
func TestREADMEPython(t *testing.T) {
	py := testenv.Python(t, "jwt")
	snippet := readmeBlock(t, "### Verifying the tokens from Python", "python")
	e := newEnv(t, envOptions{})
	id := e.signup("alice", "correct horse battery")
	access, _ := e.login("alice", "correct horse battery")
	prog := "token = " + pyString(access) + "\nSECRET_KEY = " + pyString(testSecret) + "\n" + snippet + "print(user_id)\n"
	out, err := exec.Command(py, "-c", prog).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != id {
		t.Fatalf("the README's Python: %v\n%s\nwant the user id %s", err, out, id)
	}
}

// pyString quotes s (ASCII) as a Python string literal.
func pyString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestREADMEFastAPI runs the README's "Side by side on one machine" as
// pasted. Its first shell block starts the server: bash runs it with go
// standing for a function that prints what it was given, and the server
// starts in-process with those arguments and settings. Its Python block is
// saved as fastapi_side.py, its data/auth.db the server's file, and run
// with Debian's python3 where the second shell block says python3; every
// answer that block shows is checked.
func TestREADMEFastAPI(t *testing.T) {
	py := testenv.Python(t, "jwt", "passlib", "bcrypt") // bcrypt: passlib's backend
	bash := bashAndCurl(t)
	const heading = "### Side by side on one machine"

	start := readmeBlockN(t, heading, "sh", 0)
	cmd := exec.Command(bash, "-c", `go() { printf 'arg %s\n' "$@"; env | grep '^AUTH_' | sed 's/^/env /'; }`+"\n"+start)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the start block: %v\n%s", err, out)
	}
	var args []string
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if a, ok := strings.CutPrefix(line, "arg "); ok {
			args = append(args, a)
		} else if kv, ok := strings.CutPrefix(line, "env "); ok {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		} else {
			t.Fatalf("the start block printed %q", line)
		}
	}
	if len(args) != 4 || args[0] != "run" || args[1] != "./examples/server" || args[2] != "-db" {
		t.Fatalf("the start block runs go %q, want go run ./examples/server -db VALUE", args)
	}
	secret := vars["AUTH_SECRET_KEY"]
	delete(vars, "AUTH_SECRET_KEY")
	if secret == "" {
		t.Fatal("the start block sets no AUTH_SECRET_KEY")
	}
	if vars["AUTH_PASSWORD_SCHEME"] != "bcrypt" {
		t.Fatalf("the start block sets AUTH_PASSWORD_SCHEME=%q", vars["AUTH_PASSWORD_SCHEME"])
	}
	until, err := time.Parse(time.RFC3339, vars["AUTH_LEGACY_TOKENS_UNTIL"])
	if d := time.Until(until); err != nil || d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Fatalf("the start block sets AUTH_LEGACY_TOKENS_UNTIL=%q (%v), want a month from now", vars["AUTH_LEGACY_TOKENS_UNTIL"], err)
	}
	// AUTH_PASSWORD_SCHEME=bcrypt's hasher, at the least cost New takes
	// (10) rather than 12, which takes seconds a hash under the race
	// detector; TestE2EPasswordSchemeBcrypt runs the setting's own.
	e := newEnv(t, envOptions{db: args[3], secret: secret, vars: vars, hasher: auth.Bcrypt{Cost: 10}})

	src := readmeBlockN(t, heading, "python", 0)
	if !strings.Contains(src, "SECRET_KEY = "+strconv.Quote(secret)+"\n") {
		t.Fatal("the Python block's SECRET_KEY is not the start block's AUTH_SECRET_KEY")
	}
	const dbFile = `"data/auth.db"`
	if strings.Count(src, dbFile) != 1 {
		t.Fatalf("the Python block names %s %d times, want once", dbFile, strings.Count(src, dbFile))
	}
	src = strings.Replace(src, dbFile, strconv.Quote(filepath.Join(e.dataDir, "auth.db")), 1)
	script := filepath.Join(t.TempDir(), "fastapi_side.py")
	if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	steps := readmeBlockN(t, heading, "sh", 1)
	const call = "python3 fastapi_side.py "
	if strings.Count(steps, call) < 4 {
		t.Fatalf("the shell block runs %q %d times", call, strings.Count(steps, call))
	}
	steps = strings.ReplaceAll(steps, call, py+" "+script+" ")
	runBlock(t, steps, strings.TrimPrefix(e.srv.URL, "http://"), e.dataDir, 5)

	// The Go side's login left johndoe's hash bcrypt.
	u, err := e.app.store.UserByUsername(context.Background(), "johndoe")
	if err != nil || scheme(u.PasswordHash) != "bcrypt" {
		t.Fatalf("johndoe's hash after the logins: %.7q… (%v), want bcrypt", u.PasswordHash, err)
	}
}

// TestREADMELinks: every link of the README to one of its sections names a
// heading (as GitHub makes anchors), and every relative link a file or
// directory of the repository.
func TestREADMELinks(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	var prose strings.Builder
	fenced := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		prose.WriteString(line + "\n")
		if title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			anchors[anchor(title)] = true
		}
	}
	links := regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(prose.String(), -1)
	if len(links) < 20 {
		t.Fatalf("only %d links found", len(links))
	}
	for _, m := range links {
		target := m[1]
		switch {
		case strings.HasPrefix(target, "#"):
			if !anchors[target[1:]] {
				t.Errorf("link to %s: no such heading", target)
			}
		case strings.Contains(target, "://"):
		default:
			if _, err := os.Stat(filepath.Join("../..", target)); err != nil {
				t.Errorf("link to %s: %v", target, err)
			}
		}
	}
}

// anchor is the fragment GitHub gives a heading: lower case, spaces as
// hyphens, and only letters, digits, hyphens and underscores kept.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(title)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-', r == '_', unicode.IsLetter(r), unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
