package main

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The password of issue 20, which the library's own list of common
// passwords lets through.
const breachedPassword = "password123456"

func upperSHA1(password string) string {
	sum := sha1.Sum([]byte(password))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// fakeRangeAPI is a fake of Have I Been Pwned's range API, on loopback,
// that knows breachedPassword (seen 250 times) among padding, and answers
// status instead when it is not 200.
type fakeRangeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	paths  []string
	status int
}

func newFakeRangeAPI(t *testing.T, status int) *fakeRangeAPI {
	t.Helper()
	f := &fakeRangeAPI{status: status}
	h := upperSHA1(breachedPassword)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.paths = append(f.paths, r.URL.Path+" "+r.Header.Get("Add-Padding"))
		status := f.status
		f.mu.Unlock()
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		fmt.Fprint(w, "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n")
		if strings.HasSuffix(r.URL.Path, "/range/"+h[:5]) {
			fmt.Fprint(w, h[5:]+":250\r\n")
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRangeAPI) setStatus(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

var rangeRequest = regexp.MustCompile(`^/range/[0-9A-F]{5} true$`)

// requests returns the paths asked, each with its Add-Padding header,
// after checking that each is one range, with padding.
func (f *fakeRangeAPI) requests(t *testing.T) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.paths {
		if !rangeRequest.MatchString(p) {
			t.Fatalf("the range API was asked %q", p)
		}
	}
	return append([]string(nil), f.paths...)
}

// changePassword is POST /users/me/password.
func (e *env) changePassword(access, current, next string) resp {
	return e.do(request{method: "POST", path: "/users/me/password", contentType: ctJSON, bearer: access,
		body: jsonBody(e.t, map[string]string{"current_password": current, "new_password": next})})
}

// TestBreachedPasswordsSetting: the check is off by default, and each
// value of AUTH_BREACHED_PASSWORDS refuses or lets through a breached
// password at signup and on a change, as it says, against a fake range
// API (AUTH_BREACHED_URL) or a file.
func TestBreachedPasswordsSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pwned-passwords-sha1-ordered-by-hash-v8.txt")
	lines := []string{upperSHA1(breachedPassword) + ":250", upperSHA1("another breached one") + ":3"}
	if lines[0] > lines[1] {
		lines[0], lines[1] = lines[1], lines[0]
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const clean = "correct horse battery staple"
	for _, c := range []struct {
		name      string
		mode      string // AUTH_BREACHED_PASSWORDS
		status    int    // the fake range API's, 0 for no AUTH_BREACHED_URL
		signup    int    // the answer to a signup with breachedPassword
		code      string
		log       string // in the server's log
		asked     bool   // the range API was asked
		cleanDown bool   // a clean password is refused too (503)
	}{
		{"off by default", "", 0, 201, "", "", false, false},
		{"off", "off", 0, 201, "", "", false, false},
		{"api", "api", 200, 422, "invalid_password", "refusing new passwords seen in data breaches", true, false},
		{"api down", "api", 502, 503, "temporarily_unavailable", "the breached-password check failed", true, true},
		{"api-fail-open down", "api-fail-open", 502, 201, "", "fail_open=true", true, false},
		{"api-fail-open up", "api-fail-open", 200, 422, "invalid_password", "fail_open=true", true, false},
		{"a file", file, 0, 422, "invalid_password", "file=" + file, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{"AUTH_BREACHED_PASSWORDS": c.mode}
			api := newFakeRangeAPI(t, c.status)
			if c.status != 0 {
				vars["AUTH_BREACHED_URL"] = api.URL
			}
			e := newEnv(t, envOptions{vars: vars})
			r := e.signupReq("bob", breachedPassword)
			r.want(t, c.signup, c.code)
			if c.code == "invalid_password" && !strings.Contains(r.str("error_description"), "data breach") {
				t.Fatalf("the description does not say why: %s", r.raw)
			}
			if c.cleanDown {
				e.signupReq("alice", clean).want(t, 503, "temporarily_unavailable")
				api.setStatus(http.StatusOK)
			}
			e.signup("alice", clean)
			access, _ := e.login("alice", clean)
			if c.signup == 422 {
				e.changePassword(access, clean, breachedPassword).want(t, 422, "invalid_password")
			}
			e.changePassword(access, clean, "another clean password").want(t, 204, "")
			if got := api.requests(t); (len(got) > 0) != c.asked {
				t.Fatalf("the range API was asked %q", got)
			}
			if !strings.Contains(e.logs.String(), c.log) {
				t.Fatalf("the log lacks %q:\n%s", c.log, e.logs.String())
			}
			if strings.Contains(e.logs.String(), breachedPassword) || strings.Contains(e.logs.String(), upperSHA1(breachedPassword)[:5]) {
				t.Fatalf("the log holds the password or its prefix:\n%s", e.logs.String())
			}
		})
	}
}
