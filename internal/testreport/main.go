// Command testreport reads the events of go test -json (test2json) on its
// standard input and prints what go test prints without -json (a line per
// package, and the output of every test that failed), then the tests that
// skipped, grouped by the reason they gave. It is the second half of the
// README's test command, which CI runs as it is:
//
//	go test -race -json github.com/goauthkit/auth/... | go run ./internal/testreport
//
// (go test itself lists skips only with -v, among every other test's
// output.) With CI=true, as CI services and .ci/run set it, or with
// -no-skips, it exits 1 when a test skipped: CI provides every service a
// test may need (PostgreSQL, Redis, Debian's Python packages, curl,
// Chromium), so a skip there means a test did not run that should have.
// It exits 1 when a test or a package failed or did not build, and 2 when
// its input cannot be read.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// event is one line of test2json.
type event struct {
	Action     string
	Package    string
	ImportPath string // of build-output and build-fail
	Test       string
	Output     string
	Elapsed    float64
}

type key struct{ pkg, test string }

func main() {
	noSkips := flag.Bool("no-skips", os.Getenv("CI") == "true", "exit 1 if any test skipped (the default when CI=true)")
	flag.Parse()
	os.Exit(report(os.Stdin, os.Stdout, *noSkips))
}

// report reads test2json events from in and writes the report to out,
// returning the exit code.
func report(in io.Reader, out io.Writer, noSkips bool) int {
	output := map[key][]string{}
	// running are the tests that started and have not ended: when their
	// package fails without their ending (a timeout's panic, a crash),
	// what they printed, the panic included, is the failure's cause.
	running := map[key]bool{}
	var skipped []key
	failed := false
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event (go vet's or the linker's words): pass it on.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "run":
			running[k] = true
		case "output":
			output[k] = append(output[k], e.Output)
		case "build-output":
			k = key{"build " + e.ImportPath, ""}
			output[k] = append(output[k], e.Output)
		case "build-fail":
			failed = true
			fmt.Fprint(out, strings.Join(output[key{"build " + e.ImportPath, ""}], ""))
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, k)
			} else {
				fmt.Fprintf(out, "?   \t%s\t[no test files]\n", e.Package)
			}
		case "fail":
			failed = true
			if e.Test == "" {
				printUnended(out, e.Package, running, output)
				// go test's own line for the package, which ends its
				// output, is the one printed below.
				output[k] = slices.DeleteFunc(output[k], func(l string) bool {
					return strings.HasPrefix(l, "FAIL\t"+e.Package+"\t")
				})
			}
			fmt.Fprint(out, strings.Join(output[k], ""))
			if e.Test == "" {
				fmt.Fprintf(out, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
			}
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(out, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			}
		}
		if e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
			delete(running, k)
		}
		if e.Test != "" && (e.Action == "pass" || e.Action == "fail") {
			delete(output, k) // keep only what a skip report needs
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testreport: %v\n", err)
		return 2
	}

	printSkipped(out, skipped, output)
	switch {
	case failed:
		return 1
	case noSkips && len(skipped) > 0:
		fmt.Fprintln(out, "testreport: tests skipped, and none may with CI=true or -no-skips (CI provides what they need)")
		return 1
	}
	return 0
}

// maxUnendedLines bounds what printUnended prints of one test: a timeout's
// panic dumps every goroutine.
const maxUnendedLines = 400

// printUnended prints, for a package that failed, the tests that never
// ended, in one line that says whether the package timed out (the tests a
// timeout's panic names are among them), then the output of each, at
// most maxUnendedLines lines each.
func printUnended(out io.Writer, pkg string, running map[key]bool, output map[key][]string) {
	var keys []key
	for k := range running {
		if k.pkg == pkg {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].test < keys[j].test })
	names := make([]string, len(keys))
	how := "crashed or exited"
	for i, k := range keys {
		names[i] = k.test
		for _, l := range output[k] {
			if after, ok := strings.CutPrefix(l, "panic: test timed out after "); ok {
				how = "timed out after " + strings.TrimSpace(after)
			}
		}
	}
	fmt.Fprintf(out, "--- %s %s; tests running: %s\n", pkg, how, strings.Join(names, ", "))
	for _, k := range keys {
		lines := output[k]
		fmt.Fprintf(out, "--- %s did not end (%d lines of output):\n", k.test, len(lines))
		if len(lines) > maxUnendedLines {
			lines = append(lines[:maxUnendedLines:maxUnendedLines], "[...]\n")
		}
		fmt.Fprint(out, strings.Join(lines, ""))
		delete(running, k)
	}
}

// printSkipped lists the skipped tests grouped by their reason, the
// commonest first (one missing service skips dozens of tests), each
// group's tests by package.
func printSkipped(out io.Writer, skipped []key, output map[key][]string) {
	if len(skipped) == 0 {
		fmt.Fprintln(out, "\nNo test skipped.")
		return
	}
	byReason := map[string][]key{}
	var reasons []string
	for _, k := range skipped {
		r := reason(output[k])
		if byReason[r] == nil {
			reasons = append(reasons, r)
		}
		byReason[r] = append(byReason[r], k)
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := byReason[reasons[i]], byReason[reasons[j]]
		return len(a) > len(b) || len(a) == len(b) && reasons[i] < reasons[j]
	})
	fmt.Fprintf(out, "\n%s skipped, for %s:\n", plural(len(skipped), "test"), plural(len(reasons), "reason"))
	for _, r := range reasons {
		keys := byReason[r]
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			return a.pkg < b.pkg || a.pkg == b.pkg && a.test < b.test
		})
		fmt.Fprintf(out, "- %s (%d):\n", r, len(keys))
		for i := 0; i < len(keys); {
			j := i
			var names []string
			for ; j < len(keys) && keys[j].pkg == keys[i].pkg; j++ {
				names = append(names, keys[j].test)
			}
			fmt.Fprintf(out, "    %s: %s\n", keys[i].pkg, strings.Join(names, ", "))
			i = j
		}
	}
}

// plural is n and the noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// fileLine is the position go test puts before what a test logs.
var fileLine = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// reason is what a skipped test said: its output without the lines go test
// adds itself.
func reason(lines []string) string {
	var said []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		said = append(said, fileLine.ReplaceAllString(t, ""))
	}
	if len(said) == 0 {
		return "(no reason given)"
	}
	return strings.Join(said, " / ")
}
