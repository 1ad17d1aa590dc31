package recoveryhttp

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/recovery"
)

// recoverySentinels is every exported error variable of package recovery
// (declared in its doc.go), with the answer answer gives it.
// TestAnswerCoversSentinels fails when doc.go declares one that is not
// here: give it an answer in answer, then here.
var recoverySentinels = map[string]struct {
	err    error
	status int
	code   string
}{
	"ErrInvalidLink":     {recovery.ErrInvalidLink, http.StatusBadRequest, "invalid_grant"},
	"ErrNothingToVerify": {recovery.ErrNothingToVerify, http.StatusConflict, "nothing_to_verify"},
	"ErrNoEmail":         {recovery.ErrNoEmail, http.StatusConflict, "no_email"},
	// A Mailer's error, never returned by the flows: if it ever reached an
	// endpoint, it would be the server's failure.
	"ErrMailRefused": {recovery.ErrMailRefused, http.StatusInternalServerError, "server_error"},
}

// exportedErrVars returns the exported Err variables that the file at path
// declares.
func exportedErrVars(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			for _, id := range spec.(*ast.ValueSpec).Names {
				if strings.HasPrefix(id.Name, "Err") && id.IsExported() {
					names = append(names, id.Name)
				}
			}
		}
	}
	return names
}

// TestAnswerCoversSentinels parses package recovery's doc.go and fails for
// an exported Err variable that is not in recoverySentinels, or whose
// answer (plain and wrapped) is not the one listed there: every error of
// the flows has an answer of its own, never a bare 500 (ErrMailRefused
// alone, which no flow returns, is 500 server_error). It also fails for
// one declared in another file of package recovery, since doc.go is where
// they all are.
func TestAnswerCoversSentinels(t *testing.T) {
	declared := exportedErrVars(t, filepath.Join("..", "doc.go"))
	if len(declared) < len(recoverySentinels)/2 {
		t.Fatalf("../doc.go: only %d exported errors found: %v", len(declared), declared)
	}
	for _, name := range declared {
		s, ok := recoverySentinels[name]
		if !ok {
			t.Errorf("recovery/doc.go declares %s, which this test does not list with its HTTP answer", name)
			continue
		}
		for _, err := range []error{s.err, fmt.Errorf("recoveryhttp test: %w", s.err)} {
			mapped := answer(err)
			status, code, desc := authhttp.ErrorStatus(mapped)
			if status == http.StatusInternalServerError && name != "ErrMailRefused" {
				t.Errorf("%v: answered 500 %s: it needs an answer in answer", err, code)
			}
			if status != s.status || code != s.code {
				t.Errorf("%v: answered %d %s, want %d %s", err, status, code, s.status, s.code)
			}
			if desc == "" || strings.Contains(desc, err.Error()) || strings.Contains(desc, "recovery:") {
				t.Errorf("%v: error_description %q", err, desc)
			}
			if !errors.Is(mapped, s.err) {
				t.Errorf("%v: the answer %v no longer wraps it", err, mapped)
			}
		}
	}
	for name := range recoverySentinels {
		if !slices.Contains(declared, name) {
			t.Errorf("%s is listed here but not declared in recovery/doc.go", name)
		}
	}
	files, err := filepath.Glob(filepath.Join("..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if base := filepath.Base(file); base == "doc.go" || strings.HasSuffix(base, "_test.go") {
			continue
		}
		if names := exportedErrVars(t, file); len(names) > 0 {
			t.Errorf("%s declares %v: package recovery's exported errors belong in doc.go", file, names)
		}
	}
}

// TestAnswerLeavesOthers: answer leaves every error that is not package
// recovery's to authhttp's table, as it is.
func TestAnswerLeavesOthers(t *testing.T) {
	if answer(nil) != nil {
		t.Error("answer(nil) is not nil")
	}
	for _, err := range []error{errors.New("other"), authhttp.ErrInvalidRequest, errTokenMissing} {
		if got := answer(err); got != err {
			t.Errorf("answer(%v) = %v", err, got)
		}
	}
}
