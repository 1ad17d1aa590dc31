package auth_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestModuleGraph makes, as a service would, a fresh module that imports
// the library, runs go mod tidy in it, and checks what that brings: its
// `go 1.25.0` line left as it is, no toolchain line, and exactly the modules
// listed here in `go list -m all`, so that a new one in the graph of every
// service is a decision taken here, not a side effect. Drivers and other
// heavy dependencies live in modules of their own (store/sqlite,
// store/postgres, redislimit, metrics, mail), which a service requires only
// if it imports them.
//
// golang.org/x/tools, x/mod and x/sync are in the graph only because
// golang.org/x/text's go.mod names them; nothing of theirs is compiled.
// x/text is what NormalizeUsername (NFKC) and NormalizeEmail (IDNA, through
// golang.org/x/net/idna) need.
func TestModuleGraph(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	core := []string{
		"github.com/golang-jwt/jwt/v5",
		"github.com/rs/cors",
		"golang.org/x/crypto",
		"golang.org/x/mod",
		"golang.org/x/net",
		"golang.org/x/sync",
		"golang.org/x/sys",
		"golang.org/x/term",
		"golang.org/x/text",
		"golang.org/x/tools",
	}
	for _, c := range []struct {
		name    string
		imports []string
		want    []string
	}{
		{"root", []string{"github.com/goauthkit/auth"}, core},
		{"root and authhttp", []string{"github.com/goauthkit/auth", "github.com/goauthkit/auth/authhttp", "github.com/goauthkit/auth/authhttp/docs"}, core},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			const goLine = "go 1.25.0"
			gomod := "module example.com/service\n\n" + goLine + "\n\n" +
				"require github.com/goauthkit/auth v0.0.0-00010101000000-000000000000\n\n" +
				"replace github.com/goauthkit/auth => " + root + "\n"
			src := "package main\n\nimport (\n"
			for _, p := range c.imports {
				src += "\t_ " + `"` + p + `"` + "\n"
			}
			src += ")\n\nfunc main() {}\n"
			write(t, filepath.Join(dir, "go.mod"), gomod)
			write(t, filepath.Join(dir, "main.go"), src)
			run := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(gocmd, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
				out, err := cmd.Output()
				if err != nil {
					var stderr []byte
					if ee, ok := err.(*exec.ExitError); ok {
						stderr = ee.Stderr
					}
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
				}
				return string(out)
			}
			run("mod", "tidy")
			tidied, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(strings.Split(string(tidied), "\n"), goLine) || strings.Contains(string(tidied), "\ntoolchain ") {
				t.Errorf("go mod tidy changed the service's go line:\n%s", tidied)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(run("list", "-m", "-f", "{{.Path}}", "all")), "\n") {
				if line != "example.com/service" && line != "github.com/goauthkit/auth" {
					got = append(got, line)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("go list -m all: %d modules besides the service and the library\n%s\nwant %d\n%s",
					len(got), strings.Join(got, "\n"), len(c.want), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestGoLines: every module of the repository says go 1.25.0, the oldest
// Go this library supports (README: support policy), but those that need
// Go 1.26: package passkey's and package oidc's, since go-webauthn v0.18.2
// and x/oauth2 v0.38.0 require it, the examples' that import them, and the
// workspace.
func TestGoLines(t *testing.T) {
	go126 := map[string]bool{"go.work": true, filepath.Join("passkey", "go.mod"): true, filepath.Join("oidc", "go.mod"): true, filepath.Join("examples", "go.mod"): true}
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" && d.Name() != "go.work" {
			return nil
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := strings.Split(string(data), "\n")
		want := "go 1.25.0"
		if go126[path] {
			want = "go 1.26.0"
		}
		if !slices.Contains(lines, want) || slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "toolchain ") }) {
			t.Errorf("%s: want a %s line and no toolchain line", path, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("found %d go.mod or go.work files", n)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
