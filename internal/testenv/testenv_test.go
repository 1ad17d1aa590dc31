package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv tells TestHelperProcess, in a subprocess, which helper to call.
const helperEnv = "GOAUTHKIT_TESTENV_HELPER"

// noSuchModule is a Python module that no machine has.
const noSuchModule = "goauthkit_testenv_no_such_module"

// TestHelperProcess does nothing in a test run of its own; run by
// TestSkipOrFail in a subprocess with helperEnv set, it calls the helper
// helperEnv names and prints what the helper returned, if it did return.
func TestHelperProcess(t *testing.T) {
	var got string
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "postgres":
		got = Postgres(t)
	case "redis":
		got = Redis(t)
	case "missing":
		Missing(t, "frobnicator missing: the test runs it")
	case "python json":
		got = Python(t, "json")
	case "python none":
		got = Python(t, "json", noSuchModule, "sys")
	default:
		t.Fatalf("%s=%q: no such helper", helperEnv, os.Getenv(helperEnv))
	}
	fmt.Printf("returned %q\n", got)
}

// TestSkipOrFail runs each helper in a subprocess (TestHelperProcess) in
// an environment, and checks how the test ended and what it said.
func TestSkipOrFail(t *testing.T) {
	const pg, redis = "postgres://u@db.example:5432/x", "redis://cache.example:6379/1"
	tests := []struct {
		name   string
		helper string
		env    []string // besides helperEnv; CI and the services' variables are unset unless here
		end    string   // PASS, SKIP or FAIL
		said   string
	}{
		{"postgres unset", "postgres", nil, "SKIP", postgresMissing},
		{"postgres unset, CI empty", "postgres", []string{"CI="}, "SKIP", postgresMissing},
		{"postgres unset, CI", "postgres", []string{"CI=true"}, "FAIL", ciFailure(postgresMissing)},
		{"postgres unset, CI=1", "postgres", []string{"CI=1", redisEnv + "=" + redis}, "FAIL", ciFailure(postgresMissing)},
		{"postgres set", "postgres", []string{postgresEnv + "=" + pg}, "PASS", fmt.Sprintf("returned %q", pg)},
		{"postgres set, CI", "postgres", []string{"CI=true", postgresEnv + "=" + pg}, "PASS", fmt.Sprintf("returned %q", pg)},
		{"redis unset", "redis", []string{postgresEnv + "=" + pg}, "SKIP", redisMissing},
		{"redis unset, CI", "redis", []string{"CI=true"}, "FAIL", ciFailure(redisMissing)},
		{"redis set", "redis", []string{redisEnv + "=" + redis}, "PASS", fmt.Sprintf("returned %q", redis)},
		{"redis set, CI", "redis", []string{"CI=true", redisEnv + "=" + redis}, "PASS", fmt.Sprintf("returned %q", redis)},
		{"missing", "missing", nil, "SKIP", "frobnicator missing: the test runs it"},
		{"missing, CI", "missing", []string{"CI=true"}, "FAIL", ciFailure("frobnicator missing: the test runs it")},
		{"python module missing", "python none", nil, "SKIP", pythonMissing(noSuchModule)},
		{"python module missing, CI", "python none", []string{"CI=true"}, "FAIL", ciFailure(pythonMissing(noSuchModule))},
	}
	if _, err := os.Stat(debianPython); err == nil {
		// Where there is a python3, a module of its standard library is
		// found; elsewhere Python(t, "json") skips, as the row above.
		tests = append(tests, struct {
			name, helper string
			env          []string
			end, said    string
		}{"python module present", "python json", []string{"CI=true"}, "PASS", fmt.Sprintf("returned %q", debianPython)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
			for _, kv := range os.Environ() {
				name, _, _ := strings.Cut(kv, "=")
				if name != "CI" && name != postgresEnv && name != redisEnv && name != helperEnv && name != "GORACE" {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			// GORACE: without the race detector's second of sleep at exit.
			cmd.Env = append(append(cmd.Env, helperEnv+"="+tt.helper, "GORACE=atexit_sleep_ms=0"), tt.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			if failed := err != nil; failed != (tt.end == "FAIL") {
				t.Errorf("exit %v, want the test to end in %s", err, tt.end)
			}
			if !strings.Contains(string(out), "--- "+tt.end+": TestHelperProcess") {
				t.Errorf("the test did not end in %s", tt.end)
			}
			if !strings.Contains(string(out), tt.said+"\n") {
				t.Errorf("the test did not say %q", tt.said)
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestTexts checks that each text says what is missing and how to provide
// it.
func TestTexts(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string
	}{
		{postgresMissing, []string{"AUTH_TEST_POSTGRES_URL not set", "AUTH_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'"}},
		{redisMissing, []string{"AUTH_TEST_REDIS_URL not set", "AUTH_TEST_REDIS_URL=redis://127.0.0.1:6379/0"}},
		{pythonMissing("passlib"), []string{"python3 module passlib missing (apt-get install python3-passlib)"}},
		{ciFailure("curl missing"), []string{"curl missing (", "CI"}},
	} {
		for _, w := range tt.want {
			if !strings.Contains(tt.text, w) {
				t.Errorf("%q does not say %q", tt.text, w)
			}
		}
		if strings.Contains(tt.text, "\n") {
			t.Errorf("%q is not one line (internal/testreport groups skips by their text)", tt.text)
		}
	}
}
