package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommandIsCIs checks that the test command the README gives, in
// Getting started and in Running the tests, is the one .ci/run runs.
func TestREADMECommandIsCIs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "go test -race -json github.com/goauthkit/auth/... | go run ./internal/testreport"
	if n := strings.Count(string(readme), "\n    "+cmd+"\n"); n != 2 {
		t.Errorf("README.md gives %q %d times, want 2 (Getting started, Running the tests)", cmd, n)
	}
	// In .ci/run: the command, after GOFLAGS only, ends its line.
	run := regexp.MustCompile(`(?m)^(GOFLAGS=\S+ )?` + regexp.QuoteMeta(cmd) + `$`)
	if !run.Match(ci) {
		t.Errorf(".ci/run does not run %q", cmd)
	}
	if other := regexp.MustCompile(`(?m)^(GOFLAGS=\S+ )?go test `).FindAll(ci, -1); len(other) != 1 {
		t.Errorf(".ci/run runs go test %d times, want once: %q", len(other), other)
	}
}

func TestReport(t *testing.T) {
	ev := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
	pass := `{"Action":"pass","Package":"p"}`
	tests := []struct {
		name     string
		in       string
		noSkips  bool
		wantCode int
		want     []string
	}{
		{"all pass", ev(`{"Action":"run","Package":"p","Test":"TestA"}`, `{"Action":"pass","Package":"p","Test":"TestA"}`, pass), true, 0,
			[]string{"ok  \tp", "No test skipped."}},
		{"a skip, allowed", ev(
			`{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}`,
			`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: AUTH_TEST_POSTGRES_URL not set\n"}`,
			`{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}`,
			`{"Action":"skip","Package":"p","Test":"TestB"}`, pass), false, 0,
			[]string{"1 test skipped, for 1 reason:\n- AUTH_TEST_POSTGRES_URL not set (1):\n    p: TestB\n"}},
		{"skips grouped by reason, the commonest first", ev(
			`{"Action":"output","Package":"q","Test":"TestR","Output":"    r_test.go:1: no Redis\n"}`,
			`{"Action":"skip","Package":"q","Test":"TestR"}`,
			`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: no PostgreSQL\n"}`,
			`{"Action":"skip","Package":"p","Test":"TestB"}`,
			`{"Action":"output","Package":"q","Test":"TestP","Output":"    p_test.go:12: no PostgreSQL\n"}`,
			`{"Action":"skip","Package":"q","Test":"TestP"}`,
			`{"Action":"output","Package":"p","Test":"TestA/sub","Output":"    a_test.go:3: no PostgreSQL\n"}`,
			`{"Action":"skip","Package":"p","Test":"TestA/sub"}`, pass), false, 0,
			[]string{"4 tests skipped, for 2 reasons:\n- no PostgreSQL (3):\n    p: TestA/sub, TestB\n    q: TestP\n- no Redis (1):\n    q: TestR\n"}},
		{"a skip, refused", ev(`{"Action":"skip","Package":"p","Test":"TestB"}`, pass), true, 1,
			[]string{"- (no reason given) (1):\n    p: TestB\n", "-no-skips"}},
		{"a failure shows its output", ev(
			`{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: boom\n"}`,
			`{"Action":"fail","Package":"p","Test":"TestC"}`,
			`{"Action":"fail","Package":"p","Elapsed":1.5}`), false, 1,
			[]string{"c_test.go:3: boom", "FAIL\tp\t1.500s"}},
		{"a timeout shows the test that did not end", ev(
			`{"Action":"run","Package":"p","Test":"TestDone"}`,
			`{"Action":"pass","Package":"p","Test":"TestDone"}`,
			`{"Action":"run","Package":"p","Test":"TestSlow"}`,
			`{"Action":"output","Package":"p","Test":"TestSlow","Output":"=== RUN   TestSlow\n"}`,
			`{"Action":"output","Package":"p","Test":"TestSlow","Output":"panic: test timed out after 10m0s\n"}`,
			`{"Action":"output","Package":"p","Test":"TestSlow","Output":"\t\tTestSlow (10m0s)\n"}`,
			`{"Action":"output","Package":"p","Output":"FAIL\tp\t600.1s\n"}`,
			`{"Action":"fail","Package":"p","Elapsed":600.1}`), false, 1,
			[]string{"--- p timed out after 10m0s; tests running: TestSlow\n", "--- TestSlow did not end", "panic: test timed out after 10m0s", "FAIL\tp\t600.100s"}},
		// As go test -json (Go 1.26) reports a timeout among parallel
		// tests: no event ends them, and the panic is the output of the
		// last one started.
		{"a timeout among parallel tests names them all", ev(
			`{"Action":"run","Package":"p","Test":"TestQuick"}`,
			`{"Action":"pass","Package":"p","Test":"TestQuick"}`,
			`{"Action":"run","Package":"p","Test":"TestParA"}`,
			`{"Action":"pause","Package":"p","Test":"TestParA"}`,
			`{"Action":"run","Package":"p","Test":"TestParB"}`,
			`{"Action":"pause","Package":"p","Test":"TestParB"}`,
			`{"Action":"cont","Package":"p","Test":"TestParA"}`,
			`{"Action":"cont","Package":"p","Test":"TestParB"}`,
			`{"Action":"run","Package":"p","Test":"TestParB/sub"}`,
			`{"Action":"output","Package":"p","Test":"TestParB/sub","Output":"=== RUN   TestParB/sub\n"}`,
			`{"Action":"output","Package":"p","Test":"TestParB/sub","Output":"panic: test timed out after 2s\n"}`,
			`{"Action":"output","Package":"p","Test":"TestParB/sub","Output":"\trunning tests:\n"}`,
			`{"Action":"output","Package":"p","Test":"TestParB/sub","Output":"\t\tTestParA (2s)\n"}`,
			`{"Action":"output","Package":"p","Output":"FAIL\tp\t2.007s\n"}`,
			`{"Action":"fail","Package":"p","Elapsed":2.007}`), false, 1,
			[]string{"--- p timed out after 2s; tests running: TestParA, TestParB, TestParB/sub\n",
				"--- TestParB/sub did not end", "\t\tTestParA (2s)\n", "FAIL\tp\t2.007s\n"}},
		{"a crash names the tests running", ev(
			`{"Action":"run","Package":"p","Test":"TestCrash"}`,
			`{"Action":"output","Package":"p","Test":"TestCrash","Output":"panic: runtime error: index out of range [3] with length 3\n"}`,
			`{"Action":"fail","Package":"p","Elapsed":0.1}`), false, 1,
			[]string{"--- p crashed or exited; tests running: TestCrash\n", "index out of range"}},
		{"a build failure", ev(
			`{"ImportPath":"p [p.test]","Action":"build-output","Output":"p/x.go:1: syntax error\n"}`,
			`{"ImportPath":"p [p.test]","Action":"build-fail"}`), false, 1,
			[]string{"syntax error"}},
		{"no package result", ev(`{"Action":"skip","Package":"q"}`), true, 0, []string{"?   \tq\t[no test files]"}},
		{"not test2json", "go: downloading x\n", false, 0, []string{"go: downloading x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := report(strings.NewReader(tt.in), &out, tt.noSkips)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if n := strings.Count(out.String(), "FAIL\tp\t"); n > 1 {
				t.Errorf("the package's FAIL line is printed %d times:\n%s", n, out.String())
			}
		})
	}
}
