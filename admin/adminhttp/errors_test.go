package adminhttp

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

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/admin"
	"github.com/goauthkit/auth/authhttp"
)

type wantAnswer struct {
	status int
	code   string
}

// adminSentinels is every exported error variable of package admin
// (declared in its admin.go), with the answer answer gives it.
// TestAnswerCoversSentinels fails when admin.go declares one that is not
// here: give it an answer in answer, then here.
var adminSentinels = map[string]struct {
	err  error
	want wantAnswer
}{
	"ErrInvalidCursor": {admin.ErrInvalidCursor, wantAnswer{http.StatusBadRequest, "invalid_request"}},
}

// coreErrors are the errors of package auth that package admin returns
// (Admin.UpdateUser's and ListUsers' docs), with their answers: answer
// leaves all but ErrNotFound (of the user the path names) to authhttp's
// table.
var coreErrors = map[string]struct {
	err  error
	want wantAnswer
}{
	"ErrNotFound":          {auth.ErrNotFound, wantAnswer{http.StatusNotFound, "not_found"}},
	"ErrInvalidRole":       {auth.ErrInvalidRole, wantAnswer{http.StatusBadRequest, "invalid_request"}},
	"ErrLastAdmin":         {auth.ErrLastAdmin, wantAnswer{http.StatusConflict, "last_admin"}},
	"ErrInvalidInput":      {auth.ErrInvalidInput, wantAnswer{http.StatusBadRequest, "invalid_request"}},
	"ErrMissingCapability": {auth.ErrMissingCapability, wantAnswer{http.StatusNotFound, "not_found"}},
	"ErrStoreUnavailable":  {auth.ErrStoreUnavailable, wantAnswer{http.StatusServiceUnavailable, "temporarily_unavailable"}},
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

// checkAnswer fails unless answer gives err, plain and wrapped, want: a
// fixed description that is not the error's text, and an error that still
// wraps err.
func checkAnswer(t *testing.T, err error, want wantAnswer) {
	t.Helper()
	for _, err := range []error{err, fmt.Errorf("adminhttp test: %w", err)} {
		mapped := answer(err)
		status, code, desc := authhttp.ErrorStatus(mapped)
		if status == http.StatusInternalServerError {
			t.Errorf("%v: answered 500 %s: it needs an answer in answer", err, code)
		}
		if status != want.status || code != want.code {
			t.Errorf("%v: answered %d %s, want %d %s", err, status, code, want.status, want.code)
		}
		if desc == "" || strings.Contains(desc, err.Error()) || strings.Contains(desc, "admin:") || strings.Contains(desc, "auth:") {
			t.Errorf("%v: error_description %q", err, desc)
		}
		if !errors.Is(mapped, err) {
			t.Errorf("%v: the answer %v no longer wraps it", err, mapped)
		}
	}
}

// TestAnswerCoversSentinels parses package admin's admin.go and fails for
// an exported Err variable that is not in adminSentinels, or whose answer
// (plain and wrapped) is not the one listed there: every error of package
// admin has an answer of its own, never a bare 500. It also fails for one
// declared in another file of package admin, since admin.go is where they
// all are.
func TestAnswerCoversSentinels(t *testing.T) {
	declared := exportedErrVars(t, filepath.Join("..", "admin.go"))
	if len(declared) == 0 {
		t.Fatal("../admin.go: no exported errors found")
	}
	for _, name := range declared {
		s, ok := adminSentinels[name]
		if !ok {
			t.Errorf("admin/admin.go declares %s, which this test does not list with its HTTP answer", name)
			continue
		}
		checkAnswer(t, s.err, s.want)
	}
	for name := range adminSentinels {
		if !slices.Contains(declared, name) {
			t.Errorf("%s is listed here but not declared in admin/admin.go", name)
		}
	}
	files, err := filepath.Glob(filepath.Join("..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if base := filepath.Base(file); base == "admin.go" || strings.HasSuffix(base, "_test.go") {
			continue
		}
		if names := exportedErrVars(t, file); len(names) > 0 {
			t.Errorf("%s declares %v: package admin's exported errors belong in admin.go", file, names)
		}
	}
}

// TestAnswerCoreErrors: the errors of package auth that package admin
// returns each have their answer, never a 500; and the refusal of a store
// without admin.UserLister is a 404, as a service that does not offer the
// list.
func TestAnswerCoreErrors(t *testing.T) {
	for name, c := range coreErrors {
		t.Run(name, func(t *testing.T) { checkAnswer(t, c.err, c.want) })
	}
	e := newEnvConfig(t, envConfig{noLister: true})
	_, _, err := admin.New(e.a).ListUsers(t.Context(), "", 0)
	if !errors.Is(err, auth.ErrMissingCapability) {
		t.Fatalf("ListUsers without a UserLister: %v", err)
	}
	checkAnswer(t, err, wantAnswer{http.StatusNotFound, "not_found"})
}

// TestAnswerLeavesOthers: answer leaves every error that is not package
// admin's (or the ErrNotFound of the path's user) to authhttp's table, as
// it is.
func TestAnswerLeavesOthers(t *testing.T) {
	if answer(nil) != nil {
		t.Error("answer(nil) is not nil")
	}
	for _, err := range []error{errors.New("other"), authhttp.ErrInvalidRequest, errLimit, errPatchEmpty, auth.ErrLastAdmin,
		auth.ErrInvalidRole, auth.ErrMissingCapability, auth.ErrStoreUnavailable} {
		if got := answer(err); got != err {
			t.Errorf("answer(%v) = %v", err, got)
		}
	}
}
