// Package testenv is for the tests that need something outside Go: a
// PostgreSQL, a Redis, Debian's Python modules, a program. Each cause of a
// skip has one text here, so that the README's test command (go test -json
// | go run ./internal/testreport) lists the tests it skipped under one
// reason per missing thing, and one rule: without it, a test skips, or
// fails when the environment variable CI is non-empty, since CI (CI
// services, and .ci/run, which sets CI=true) provides everything a test
// needs. It imports only the standard library, so that any test of the
// workspace may import it, the root package's own included.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// The variables naming the test services, and the texts of their absence.
const (
	postgresEnv     = "AUTH_TEST_POSTGRES_URL"
	postgresMissing = postgresEnv + " not set: no PostgreSQL to test against " +
		"(set it to a database, e.g. " + postgresEnv + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable')"
	redisEnv     = "AUTH_TEST_REDIS_URL"
	redisMissing = redisEnv + " not set: no Redis to test against " +
		"(set it to a Redis, e.g. " + redisEnv + "=redis://127.0.0.1:6379/0)"
)

// debianPython is the Python whose modules Debian's packages install.
const debianPython = "/usr/bin/python3"

// Postgres returns AUTH_TEST_POSTGRES_URL, the URL of the test database,
// or, when it is not set, ends t by Missing.
func Postgres(t testing.TB) string {
	t.Helper()
	u := os.Getenv(postgresEnv)
	if u == "" {
		Missing(t, postgresMissing)
	}
	return u
}

// Redis returns AUTH_TEST_REDIS_URL, the URL of the test Redis, or, when it
// is not set, ends t by Missing.
func Redis(t testing.TB) string {
	t.Helper()
	u := os.Getenv(redisEnv)
	if u == "" {
		Missing(t, redisMissing)
	}
	return u
}

// Python returns Debian's python3 (/usr/bin/python3) when it imports every
// one of modules; otherwise it ends t by Missing, naming the first module
// that it cannot import and its Debian package, python3- and its name
// (which brings python3 along).
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	for _, m := range modules {
		if exec.Command(debianPython, "-c", "import "+m).Run() != nil {
			Missing(t, pythonMissing(m))
		}
	}
	return debianPython
}

// pythonMissing is the text of Python's skip for module.
func pythonMissing(module string) string {
	return "python3 module " + module + " missing (apt-get install python3-" + module + ")"
}

// Missing ends t for the lack of what msg describes (as "curl missing:
// ..."): it skips t with msg, or, when the environment variable CI is
// non-empty, fails it with msg and why, since CI provides what every test
// needs. Tests that lack the same thing say the same msg.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if inCI() {
		t.Fatal(ciFailure(msg))
	}
	t.Skip(msg)
}

// inCI reports whether the tests run in CI: CI set and not empty, as CI
// services and .ci/run set it.
func inCI() bool { return os.Getenv("CI") != "" }

// ciFailure is Missing's text under CI.
func ciFailure(msg string) string {
	return msg + " (CI is set, and CI provides it: this fails rather than skips)"
}
