package authhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/internal/authtest"
)

// wantAnswer is the answer an error must get: outside the token endpoint,
// and at it (grantStatus 0: the same).
type wantAnswer struct {
	status      int
	code        string
	grantStatus int
	grantCode   string
}

// Answers shared by several errors.
var (
	wantInvalidToken = wantAnswer{401, "invalid_token", 400, "invalid_grant"}
	wantCredentials  = wantAnswer{status: 400, code: "invalid_grant"}
	wantUnavailable  = wantAnswer{status: 503, code: "temporarily_unavailable"}
	wantInvalidPass  = wantAnswer{status: 422, code: "invalid_password"}
	wantServerError  = wantAnswer{status: 500, code: "server_error"}
)

// rootSentinels is every exported error variable of package auth (its
// errors.go), with its answer. TestErrorTableCoversSentinels fails when
// errors.go declares one that is not here: give it an answer in
// errorTable, then here.
var rootSentinels = map[string]struct {
	err  error
	want wantAnswer
}{
	"ErrInvalidCredentials":    {auth.ErrInvalidCredentials, wantCredentials},
	"ErrUserDisabled":          {auth.ErrUserDisabled, wantCredentials},
	"ErrInvalidUsername":       {auth.ErrInvalidUsername, wantAnswer{status: 422, code: "invalid_username"}},
	"ErrInvalidPassword":       {auth.ErrInvalidPassword, wantInvalidPass},
	"ErrTooManyAttempts":       {auth.ErrTooManyAttempts, wantAnswer{status: 429, code: "too_many_attempts"}},
	"ErrInvalidToken":          {auth.ErrInvalidToken, wantInvalidToken},
	"ErrTokenExpired":          {auth.ErrTokenExpired, wantInvalidToken},
	"ErrTokenMalformed":        {auth.ErrTokenMalformed, wantInvalidToken},
	"ErrTokenSignature":        {auth.ErrTokenSignature, wantInvalidToken},
	"ErrTokenClaims":           {auth.ErrTokenClaims, wantInvalidToken},
	"ErrTokenRevoked":          {auth.ErrTokenRevoked, wantInvalidToken},
	"ErrBusy":                  {auth.ErrBusy, wantUnavailable},
	"ErrNotFound":              {auth.ErrNotFound, wantAnswer{status: 404, code: "not_found"}},
	"ErrUserExists":            {auth.ErrUserExists, wantAnswer{status: 409, code: "user_exists"}},
	"ErrEmailExists":           {auth.ErrEmailExists, wantAnswer{status: 409, code: "email_exists"}},
	"ErrConflict":              {auth.ErrConflict, wantAnswer{status: 409, code: "conflict"}},
	"ErrStoreUnavailable":      {auth.ErrStoreUnavailable, wantUnavailable},
	"ErrSessionRevoked":        {auth.ErrSessionRevoked, wantInvalidToken},
	"ErrRefreshReuse":          {auth.ErrRefreshReuse, wantInvalidToken},
	"ErrInvalidInput":          {auth.ErrInvalidInput, wantAnswer{status: 400, code: "invalid_request"}},
	"ErrPasswordMismatch":      {auth.ErrPasswordMismatch, wantServerError},
	"ErrUnsupportedHash":       {auth.ErrUnsupportedHash, wantServerError},
	"ErrPasswordTooShort":      {auth.ErrPasswordTooShort, wantInvalidPass},
	"ErrPasswordTooLong":       {auth.ErrPasswordTooLong, wantInvalidPass},
	"ErrPasswordNUL":           {auth.ErrPasswordNUL, wantInvalidPass},
	"ErrPasswordEncoding":      {auth.ErrPasswordEncoding, wantInvalidPass},
	"ErrPasswordCommon":        {auth.ErrPasswordCommon, wantInvalidPass},
	"ErrPasswordBreached":      {auth.ErrPasswordBreached, wantInvalidPass},
	"ErrUnknownKey":            {auth.ErrUnknownKey, wantServerError},
	"ErrWeakKey":               {auth.ErrWeakKey, wantServerError},
	"ErrNoBearer":              {auth.ErrNoBearer, wantAnswer{status: 401, code: "unauthorized"}},
	"ErrMultipleAuthorization": {auth.ErrMultipleAuthorization, wantAnswer{status: 400, code: "invalid_request"}},
	"ErrMissingCapability":     {auth.ErrMissingCapability, wantAnswer{status: 404, code: "not_found"}},
	"ErrInvalidEmail":          {auth.ErrInvalidEmail, wantAnswer{status: 422, code: "invalid_email"}},
	"ErrLastAdmin":             {auth.ErrLastAdmin, wantAnswer{status: 409, code: "last_admin"}},
	"ErrRecentLoginRequired":   {auth.ErrRecentLoginRequired, wantAnswer{status: 401, code: "insufficient_user_authentication"}},
	"ErrSecondFactorRequired":  {auth.ErrSecondFactorRequired, wantAnswer{status: 401, code: "insufficient_user_authentication"}},
	"ErrInvalidRole":           {auth.ErrInvalidRole, wantAnswer{status: 400, code: "invalid_request"}},
}

// ownSentinels is every exported error variable of this package (its
// errors.go), with its answer.
var ownSentinels = map[string]struct {
	err  error
	want wantAnswer
}{
	"ErrInvalidRequest":       {ErrInvalidRequest, wantAnswer{status: 400, code: "invalid_request"}},
	"ErrRequestTooLarge":      {ErrRequestTooLarge, wantAnswer{status: 413, code: "request_too_large"}},
	"ErrUnsupportedGrantType": {ErrUnsupportedGrantType, wantAnswer{status: 400, code: "unsupported_grant_type"}},
	"ErrMethodNotAllowed":     {ErrMethodNotAllowed, wantAnswer{status: 405, code: "method_not_allowed"}},
	"ErrWrongPassword":        {ErrWrongPassword, wantAnswer{status: 400, code: "invalid_grant"}},
}

// errorCase is an error and the answer it must get; description, if set,
// is the exact error_description outside the token endpoint.
type errorCase struct {
	name        string
	err         error
	want        wantAnswer
	description string
}

// errorCases returns every sentinel, the error types, the endpoints' own
// errors and the context's, each as it is and wrapped with %w.
func errorCases() []errorCase {
	var cases []errorCase
	for _, m := range []map[string]struct {
		err  error
		want wantAnswer
	}{rootSentinels, ownSentinels} {
		for name, s := range m {
			cases = append(cases, errorCase{name: name, err: s.err, want: s.want})
		}
	}
	cases = append(cases,
		errorCase{"*auth.PasswordError", &auth.PasswordError{Rule: auth.ErrPasswordTooShort, Description: "the password must be at least 8 characters long"},
			wantInvalidPass, "the password must be at least 8 characters long"},
		errorCase{"*auth.RateLimitError", &auth.RateLimitError{RetryAfter: 1500 * time.Millisecond},
			wantAnswer{status: 429, code: "too_many_attempts"}, "too many attempts; retry later"},
		errorCase{"*RequestError", &RequestError{Reason: "username is required"},
			wantAnswer{status: 400, code: "invalid_request"}, "username is required"},
		errorCase{"context.DeadlineExceeded", context.DeadlineExceeded, wantUnavailable, ""},
		errorCase{"context.Canceled", context.Canceled, wantUnavailable, ""},
		errorCase{"ErrBusy and the context's", fmt.Errorf("%w: %w", auth.ErrBusy, context.DeadlineExceeded), wantUnavailable, ""},
		errorCase{"revoked session", fmt.Errorf("%w: %w", auth.ErrTokenRevoked, auth.ErrSessionRevoked), wantInvalidToken, ""},
		errorCase{"ErrInvalidCredentials", auth.ErrInvalidCredentials, wantCredentials, "invalid username or password"},
		errorCase{"ErrInvalidRole", auth.ErrInvalidRole, wantAnswer{status: 400, code: "invalid_request"},
			"roles are at most 32 names of 1 to 64 characters of a-z, 0-9, '_', '-', '.', ':'"},
		errorCase{"ErrInvalidPassword", auth.ErrInvalidPassword, wantInvalidPass, "the password does not meet the password rules"},
		errorCase{"ErrPasswordBreached", auth.ErrPasswordBreached, wantInvalidPass, "the password has appeared in a data breach: choose another"},
		errorCase{"breached *auth.PasswordError", &auth.PasswordError{Rule: auth.ErrPasswordBreached, Description: "the password has appeared in a data breach: choose another"},
			wantInvalidPass, "the password has appeared in a data breach: choose another"},
		errorCase{"breached-password check failing", fmt.Errorf("%w: breached-password check: %w", auth.ErrStoreUnavailable, errors.New("dial tcp: connection refused")),
			wantUnavailable, "the service is temporarily unavailable"},
		// The endpoints' own answers, over the errors they wrap.
		errorCase{"roleError", &roleError{role: "admin"}, wantAnswer{status: 403, code: "insufficient_scope"}, "this needs the role admin"},
		errorCase{"errCurrentPassword", fmt.Errorf("%w: %w", errCurrentPassword, auth.ErrInvalidCredentials), wantCredentials, "the current password is wrong"},
		errorCase{"ErrWrongPassword", fmt.Errorf("%w: %w", ErrWrongPassword, auth.ErrInvalidCredentials), wantCredentials, "the password is wrong"},
		errorCase{"errNoSessionCookie", errNoSessionCookie, wantAnswer{status: 401, code: "unauthorized"}, "no session cookie: log in"},
		errorCase{"errTwoCookies", errTwoCookies, wantAnswer{status: 401, code: "invalid_token"}, "more than one session cookie: log in again"},
		errorCase{"errBadSession", fmt.Errorf("%w: %w", errBadSession, auth.ErrTokenExpired), wantAnswer{status: 401, code: "invalid_token"}, "the session has ended: log in again"},
		errorCase{"errCrossOrigin", errCrossOrigin, wantAnswer{status: 403, code: "forbidden"}, "cross-origin request refused"},
		errorCase{"errPathNotFound", errPathNotFound, wantAnswer{status: 404, code: "not_found"}, "not found"},
		errorCase{"errNoPublicKeys", errNoPublicKeys, wantAnswer{status: 404, code: "not_found"}, "no public keys: tokens are signed with a shared secret (HS256)"},
	)
	n := len(cases)
	for _, c := range cases[:n] {
		c.name = "wrapped " + c.name
		c.err = fmt.Errorf("authhttp test: %w", c.err)
		cases = append(cases, c)
	}
	return cases
}

// answerOf writes err's answer at an endpoint of kind, and decodes it.
func answerOf(t *testing.T, kind endpointKind, err error) (*httptest.ResponseRecorder, ErrorBody) {
	t.Helper()
	w := httptest.NewRecorder()
	if status := writeErrorAnswer(w, kind, err); status != w.Code {
		t.Errorf("%v: writeErrorAnswer returned %d, wrote %d", err, status, w.Code)
	}
	var body ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%d with a body that is not JSON: %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("%v: Content-Type %q, Cache-Control %q", err, ct, w.Header().Get("Cache-Control"))
	}
	return w, body
}

// TestErrorTable checks the answer of every error this library returns,
// plain and wrapped: outside the token endpoint, at it, and ErrorStatus's.
func TestErrorTable(t *testing.T) {
	for _, c := range errorCases() {
		if _, _, found := lookupError(c.err); !found {
			t.Errorf("%s: no entry of errorTable matches it", c.name)
			continue
		}
		w, body := answerOf(t, public, c.err)
		if w.Code != c.want.status || body.Error != c.want.code {
			t.Errorf("%s: answered %d %s, want %d %s", c.name, w.Code, body.Error, c.want.status, c.want.code)
		}
		if status, code, desc := ErrorStatus(c.err); status != w.Code || code != body.Error || desc != body.Description {
			t.Errorf("%s: ErrorStatus = %d %s %q, but the answer is %d %s %q", c.name, status, code, desc, w.Code, body.Error, body.Description)
		}
		switch {
		case body.Description == "":
			t.Errorf("%s: no error_description", c.name)
		case c.description != "" && body.Description != c.description:
			t.Errorf("%s: error_description %q, want %q", c.name, body.Description, c.description)
		case strings.Contains(w.Body.String(), c.err.Error()) || strings.Contains(w.Body.String(), "authhttp test"):
			t.Errorf("%s: the answer %s holds the error's own text", c.name, w.Body)
		}
		wantStatus, wantCode := c.want.grantStatus, c.want.grantCode
		if wantStatus == 0 {
			wantStatus, wantCode = c.want.status, c.want.code
		}
		if w, body := answerOf(t, grant, c.err); w.Code != wantStatus || body.Error != wantCode {
			t.Errorf("%s: the token endpoint answered %d %s, want %d %s", c.name, w.Code, body.Error, wantStatus, wantCode)
		}
	}
}

// TestErrorTableGrant checks the token endpoint's answers that differ from
// the others' (RFC 6749 §5.2): one body for every refresh token refused,
// one for every failed password login.
func TestErrorTableGrant(t *testing.T) {
	for _, err := range []error{auth.ErrInvalidToken, auth.ErrTokenExpired, fmt.Errorf("%w: %w", auth.ErrInvalidToken, auth.ErrRefreshReuse)} {
		if w, body := answerOf(t, grant, err); w.Code != 400 || body.Error != "invalid_grant" || body.Description != "the refresh token is invalid, expired or revoked" {
			t.Errorf("%v: token endpoint answered %d %+v", err, w.Code, body)
		}
	}
	for _, err := range []error{auth.ErrInvalidCredentials, auth.ErrUserDisabled} {
		if w, body := answerOf(t, grant, err); w.Code != 400 || body.Error != "invalid_grant" || body.Description != "invalid username or password" {
			t.Errorf("%v: token endpoint answered %d %+v", err, w.Code, body)
		}
	}
}

// TestErrorTableUnknown checks that an error the table does not know is a
// 500 that tells nothing, and that a store failure's cause never reaches
// the client either.
func TestErrorTableUnknown(t *testing.T) {
	secret := "pq: password authentication failed for user \"svc\" at 10.0.0.7"
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{errors.New(secret), 500, "server_error"},
		{fmt.Errorf("%w: users: %w", auth.ErrStoreUnavailable, errors.New(secret)), 503, "temporarily_unavailable"},
		{errors.Join(errors.New(secret), auth.ErrStoreUnavailable), 503, "temporarily_unavailable"},
	} {
		for _, kind := range []endpointKind{public, grant} {
			w, body := answerOf(t, kind, c.err)
			if w.Code != c.status || body.Error != c.code {
				t.Errorf("%v: answered %d %s, want %d %s", c.err, w.Code, body.Error, c.status, c.code)
			}
			if strings.Contains(w.Body.String(), "10.0.0.7") || strings.Contains(w.Body.String(), "pq:") {
				t.Errorf("%v: the answer leaks the error: %s", c.err, w.Body)
			}
		}
	}
	if _, _, found := lookupError(errors.New(secret)); found {
		t.Error("an unknown error matched an entry")
	}
}

// TestErrorTableHeaders checks the headers that errors carry.
func TestErrorTableHeaders(t *testing.T) {
	for _, c := range []struct {
		retryAfter time.Duration
		want       string
	}{{1500 * time.Millisecond, "2"}, {6 * time.Second, "6"}, {0, "1"}} {
		err := fmt.Errorf("login: %w", &auth.RateLimitError{RetryAfter: c.retryAfter})
		for _, kind := range []endpointKind{public, grant} {
			if w, _ := answerOf(t, kind, err); w.Header().Get("Retry-After") != c.want {
				t.Errorf("RetryAfter %v: Retry-After %q, want %q", c.retryAfter, w.Header().Get("Retry-After"), c.want)
			}
		}
	}
	if w, _ := answerOf(t, public, auth.ErrTooManyAttempts); w.Header().Get("Retry-After") != "" {
		t.Errorf("a bare ErrTooManyAttempts has Retry-After %q", w.Header().Get("Retry-After"))
	}
	w, _ := answerOf(t, public, &roleError{role: "admin"})
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope", scope="admin"` {
		t.Errorf("roleError: WWW-Authenticate %q", got)
	}
	w, _ = answerOf(t, public, fmt.Errorf("deletion: %w", auth.ErrRecentLoginRequired))
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer error="insufficient_user_authentication"` || w.Code != 401 {
		t.Errorf("ErrRecentLoginRequired: %d, WWW-Authenticate %q", w.Code, got)
	}
	if w, _ := answerOf(t, public, auth.ErrNotFound); len(w.Header().Values("WWW-Authenticate")) != 0 {
		t.Error("ErrNotFound outside an authenticated endpoint has a challenge")
	}
}

// TestErrorTableAgreesWithMiddleware checks that the table answers the
// authentication failures as the Authenticator's Middleware does (which
// adds its challenge): the endpoints that take a Bearer token leave those
// to it.
func TestErrorTableAgreesWithMiddleware(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	for _, err := range []error{
		auth.ErrNoBearer, auth.ErrMultipleAuthorization, auth.ErrInvalidToken, auth.ErrTokenRevoked,
		auth.ErrTokenMalformed, auth.ErrStoreUnavailable, auth.ErrBusy, context.DeadlineExceeded, errors.New("something else"),
	} {
		mw := httptest.NewRecorder()
		e.a.WriteAuthError(mw, err)
		var want ErrorBody
		if err := json.Unmarshal(mw.Body.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		if w, got := answerOf(t, public, err); w.Code != mw.Code || got != want {
			t.Errorf("%v: the table answers %d %+v, the Middleware %d %+v", err, w.Code, got, mw.Code, want)
		}
	}
}

// TestAuthenticatedEndpointErrors checks how an endpoint that takes a
// Bearer token answers errors after the token was accepted: the caller's
// own account gone (ErrNotFound, ErrInvalidToken) is the Middleware's 401
// with its challenge; what the path names, not found, is a 404.
func TestAuthenticatedEndpointErrors(t *testing.T) {
	e := newHTEnv(t, authtest.PlainHasher{}, Config{})
	e.do("POST", "/signup", htJSON, `{"username":"alice","password":"correct horse battery"}`, "").wantStatus(t, 201)
	tok := e.do("POST", "/token", htForm, htFormBody("username", "alice", "password", "correct horse battery"), "")
	access, _ := tok.body["access_token"].(string)
	for _, c := range []struct {
		err       error
		status    int
		code      string
		challenge bool
	}{
		{auth.ErrNotFound, 401, "invalid_token", true},
		{fmt.Errorf("%w: user deleted", auth.ErrTokenRevoked), 401, "invalid_token", true},
		{errPathNotFound, 404, "not_found", false},
		{auth.ErrInvalidRole, 400, "invalid_request", false},
		{&roleError{role: "admin"}, 403, "insufficient_scope", true},
		{fmt.Errorf("%w: x", auth.ErrStoreUnavailable), 503, "temporarily_unavailable", false},
	} {
		h := e.h.endpoint(http.MethodGet, authenticated, func(http.ResponseWriter, *http.Request, Call) error { return c.err })
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "Bearer "+access)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body ErrorBody
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != c.status || body.Error != c.code {
			t.Errorf("%v: answered %d %+v, want %d %s", c.err, w.Code, body, c.status, c.code)
		}
		if got := w.Header().Get("WWW-Authenticate"); (got != "") != c.challenge {
			t.Errorf("%v: WWW-Authenticate %q", c.err, got)
		}
	}
}

// exportedErrVars returns the exported variables named Err... that the Go
// file at path declares at package level.
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

// TestErrorTableCoversSentinels parses the errors.go of package auth and
// of this package and fails for an exported Err variable that has no
// answer in errorTable or is missing from rootSentinels or ownSentinels:
// an error added later without an HTTP answer fails here. It also fails
// for one declared in another file, since errors.go is where they all are.
func TestErrorTableCoversSentinels(t *testing.T) {
	for _, pkg := range []struct {
		dir    string
		tested map[string]struct {
			err  error
			want wantAnswer
		}
	}{{"..", rootSentinels}, {".", ownSentinels}} {
		declared := exportedErrVars(t, filepath.Join(pkg.dir, "errors.go"))
		if len(declared) < len(pkg.tested)/2 {
			t.Fatalf("%s/errors.go: only %d exported errors found: %v", pkg.dir, len(declared), declared)
		}
		for _, name := range declared {
			s, ok := pkg.tested[name]
			if !ok {
				t.Errorf("%s/errors.go declares %s, which this test does not list with its HTTP answer", pkg.dir, name)
				continue
			}
			if _, _, found := lookupError(s.err); !found {
				t.Errorf("%s: no entry of errorTable answers it", name)
			}
		}
		for name := range pkg.tested {
			if !slices.Contains(declared, name) {
				t.Errorf("%s is listed here but not declared in %s/errors.go", name, pkg.dir)
			}
		}
		files, err := filepath.Glob(filepath.Join(pkg.dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if base := filepath.Base(file); base == "errors.go" || strings.HasSuffix(base, "_test.go") {
				continue
			}
			if names := exportedErrVars(t, file); len(names) > 0 {
				t.Errorf("%s declares %v: exported errors belong in errors.go", file, names)
			}
		}
	}
}

// TestProblem: a feature's *Problem is answered as it says, before any
// entry of the table, wrapped or not, and errors.Is sees its Err.
func TestProblem(t *testing.T) {
	errFeature := errors.New("feature: the thing is wrong")
	p := &Problem{Status: http.StatusConflict, Code: "thing_wrong", Description: "the thing is wrong", Err: errFeature}
	for name, err := range map[string]error{
		"bare":    p,
		"wrapped": fmt.Errorf("handler: %w", p),
		// The Problem wins over the auth error it carries.
		"over the table": &Problem{Status: http.StatusConflict, Code: "thing_wrong", Description: "the thing is wrong", Err: auth.ErrInvalidCredentials},
	} {
		status, code, desc := ErrorStatus(err)
		if status != http.StatusConflict || code != "thing_wrong" || desc != "the thing is wrong" {
			t.Errorf("%s: ErrorStatus = %d %s %q", name, status, code, desc)
		}
		rec := httptest.NewRecorder()
		WriteErrorFor(rec, err)
		if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"error":"thing_wrong"`) {
			t.Errorf("%s: WriteErrorFor wrote %d %s", name, rec.Code, rec.Body)
		}
	}
	if !errors.Is(p, errFeature) || p.Error() != errFeature.Error() {
		t.Errorf("Problem does not unwrap to its Err: %v", p)
	}
}
