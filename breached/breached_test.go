package breached_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth/breached"
)

// The password of the issue, which the library's own list of common
// passwords lets through; and one that is in no breach here.
const (
	breachedPassword = "password123456"
	cleanPassword    = "correct horse battery staple"
)

// sha1Hex returns password's SHA-1 in upper-case hexadecimal.
func sha1Hex(password string) string {
	sum := sha1.Sum([]byte(password))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// padding returns n lines of padding as the range API adds them: random
// suffixes with a count of 0.
func padding(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%035X:0\r\n", uint64(i)*0x9E3779B97F4A7C15)
	}
	return b.String()
}

// seenRequest is what the fake range API was sent.
type seenRequest struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
}

// fakeRange is a fake of the range API on loopback: answer, if set,
// answers every request; otherwise ranges maps a prefix to its body.
type fakeRange struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []seenRequest
	ranges map[string]string
	answer http.HandlerFunc
}

func newFakeRange(t *testing.T, ranges map[string]string, answer http.HandlerFunc) *fakeRange {
	t.Helper()
	f := &fakeRange{ranges: ranges, answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		f.mu.Unlock()
		if f.answer != nil {
			f.answer(w, r)
			return
		}
		prefix := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		fmt.Fprint(w, padding(800)+f.ranges[prefix])
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRange) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

// rangePath is a range request's path: 5 upper-case hexadecimal digits.
var rangePath = regexp.MustCompile(`^/range/[0-9A-F]{5}$`)

// checkRequests checks that every request the fake got is a GET of one
// range, asking for padding, with a User-Agent, and holds nothing of the
// password but its hash's first 5 characters.
func checkRequests(t *testing.T, f *fakeRange, passwords ...string) {
	t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the range API")
	}
	for _, r := range reqs {
		if r.method != http.MethodGet || !rangePath.MatchString(r.path) || r.rawQuery != "" || len(r.body) != 0 {
			t.Fatalf("request %s %s?%s with %d bytes of body, want GET /range/XXXXX", r.method, r.path, r.rawQuery, len(r.body))
		}
		if got := r.header.Get("Add-Padding"); got != "true" {
			t.Fatalf("Add-Padding: %q, want true", got)
		}
		if r.header.Get("User-Agent") == "" || strings.HasPrefix(r.header.Get("User-Agent"), "Go-http-client") {
			t.Fatalf("User-Agent: %q", r.header.Get("User-Agent"))
		}
		wire := r.method + " " + r.path + "?" + r.rawQuery + "\n" + fmt.Sprint(r.header) + string(r.body)
		for _, p := range passwords {
			h := sha1Hex(p)
			for _, secret := range []string{p, h, strings.ToLower(h), h[5:], strings.ToLower(h[5:]), h[:6]} {
				if strings.Contains(wire, secret) {
					t.Fatalf("the request holds %q:\n%s", secret, wire)
				}
			}
		}
	}
}

// TestBreached checks the answers of the range API that say breached or
// not.
func TestBreached(t *testing.T) {
	h := sha1Hex(breachedPassword)
	prefix, suffix := h[:5], h[5:]
	if prefix != "98A16" || suffix != "C09B0759E63EF7DF53592724E8EEDDB953A" {
		t.Fatalf("SHA-1 of %q: %s", breachedPassword, h)
	}
	oneOff := suffix[:34] + "B" // the last character, A, changed
	for _, c := range []struct {
		name     string
		rng      string // the range of the prefix, before the padding
		minCount int
		password string
		want     bool
	}{
		{"breached", "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n" + suffix + ":250\r\n", 0, breachedPassword, true},
		{"breached, LF line ends", "0018A45C4D1DEF81644B54AB7F969B88D65:1\n" + suffix + ":250\n", 0, breachedPassword, true},
		{"breached, lower case", strings.ToLower(suffix) + ":3\r\n", 0, breachedPassword, true},
		{"breached, last line without a line end", padding(3) + suffix + ":1", 0, breachedPassword, true},
		{"seen once", suffix + ":1\r\n", 0, breachedPassword, true},
		{"only as padding (count 0)", suffix + ":0\r\n", 0, breachedPassword, false},
		{"a suffix one character off", oneOff + ":52579\r\n", 0, breachedPassword, false},
		{"not in the range", "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n", 0, breachedPassword, false},
		{"another password's range", suffix + ":250\r\n", 0, cleanPassword, false},
		{"below MinCount", suffix + ":9\r\n", 10, breachedPassword, false},
		{"at MinCount", suffix + ":10\r\n", 10, breachedPassword, true},
		{"blank lines", "\r\n\r\n" + suffix + ":2\r\n\r\n", 0, breachedPassword, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeRange(t, map[string]string{prefix: c.rng}, nil)
			var failures []error
			ch, err := breached.New(breached.Config{BaseURL: f.URL, MinCount: c.minCount, OnError: func(err error) { failures = append(failures, err) }})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ch.Breached(context.Background(), c.password)
			if err != nil || got != c.want || len(failures) != 0 {
				t.Fatalf("Breached = %v, %v (failures %v), want %v", got, err, failures, c.want)
			}
			checkRequests(t, f, c.password)
			if r := f.requests(); len(r) != 1 || r[0].path != "/range/"+sha1Hex(c.password)[:5] {
				t.Fatalf("requests %v, want one, of the password's prefix", r)
			}
		})
	}
}

// TestBreachedFailures checks that every failure of the range API is an
// error wrapping ErrUnavailable (fail closed), or "not breached" with
// FailOpen, seen by OnError either way, and that no error tells the
// password, its hash or its prefix.
func TestBreachedFailures(t *testing.T) {
	suffix := sha1Hex(breachedPassword)[5:]
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			fmt.Fprint(w, suffix+":250\r\n") // a range, yet not to be believed
		}
	}
	body := func(s string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, s) }
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, c := range []struct {
		name    string
		answer  http.HandlerFunc
		baseURL string // default: the fake's
	}{
		{"server error", status(http.StatusInternalServerError), ""},
		{"service unavailable", status(http.StatusServiceUnavailable), ""},
		{"not found", status(http.StatusNotFound), ""},
		{"rate limited", status(http.StatusTooManyRequests), ""},
		{"a redirect, not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere"+r.URL.Path, http.StatusMovedPermanently)
		}, ""},
		{"too slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, ""},
		{"slow body", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, padding(10))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, ""},
		{"over 1 MiB", body(suffix + ":250\r\n" + padding(1<<20/38+1)), ""},
		{"an HTML page", body("<html><body>Service Unavailable</body></html>\n"), ""},
		{"empty", body(""), ""},
		{"only blank lines", body("\r\n\r\n"), ""},
		{"a bad count", body(suffix + ":-1\r\n"), ""},
		{"a count too long", body(suffix + ":1234567890123456789\r\n"), ""},
		{"a suffix too short", body(suffix[1:] + ":3\r\n"), ""},
		{"a suffix too long", body(suffix + "0:3\r\n"), ""},
		{"a line without a colon", body(padding(3) + suffix + "\r\n"), ""},
		{"connection refused", nil, closed.URL},
	} {
		for _, failOpen := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/FailOpen=%v", c.name, failOpen), func(t *testing.T) {
				f := newFakeRange(t, nil, c.answer)
				base := c.baseURL
				if base == "" {
					base = f.URL
				}
				var mu sync.Mutex
				var failures []error
				ch, err := breached.New(breached.Config{
					BaseURL: base, Timeout: 200 * time.Millisecond, FailOpen: failOpen,
					OnError: func(err error) { mu.Lock(); failures = append(failures, err); mu.Unlock() },
				})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				got, err := ch.Breached(context.Background(), breachedPassword)
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("Breached took %s, with a timeout of 200ms", d)
				}
				switch {
				case got:
					t.Fatalf("Breached = true, %v: a failure said breached", err)
				case failOpen && err != nil:
					t.Fatalf("fail open: Breached = %v", err)
				case !failOpen && !errors.Is(err, breached.ErrUnavailable):
					t.Fatalf("fail closed: Breached = %v, want ErrUnavailable", err)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(failures) != 1 || !errors.Is(failures[0], breached.ErrUnavailable) || (!failOpen && failures[0] != err) {
					t.Fatalf("OnError saw %v", failures)
				}
				h := sha1Hex(breachedPassword)
				for _, secret := range []string{breachedPassword, h[:5], strings.ToLower(h[:5]), h[5:]} {
					if strings.Contains(failures[0].Error(), secret) {
						t.Fatalf("the error %q holds %q", failures[0], secret)
					}
				}
				t.Log(failures[0])
			})
		}
	}
}

// TestBreachedContext: the caller's context bounds the request too.
func TestBreachedContext(t *testing.T) {
	f := newFakeRange(t, nil, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ch, err := breached.New(breached.Config{BaseURL: f.URL, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := ch.Breached(ctx, breachedPassword); !errors.Is(err, breached.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Breached = %v, want ErrUnavailable and the context's error", err)
	}
}

// TestBaseURLPath: a BaseURL with a path (a mirror under a path) and a
// final slash asks {path}/range/{prefix}.
func TestBaseURLPath(t *testing.T) {
	var path string
	f := newFakeRange(t, nil, func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		fmt.Fprint(w, padding(5))
	})
	ch, err := breached.New(breached.Config{BaseURL: f.URL + "/pwned/", UserAgent: "example-service/1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ch.Breached(context.Background(), cleanPassword); got || err != nil {
		t.Fatalf("Breached = %v, %v", got, err)
	}
	if want := "/pwned/range/" + sha1Hex(cleanPassword)[:5]; path != want {
		t.Fatalf("path %q, want %q", path, want)
	}
	if ua := f.requests()[0].header.Get("User-Agent"); ua != "example-service/1.0" {
		t.Fatalf("User-Agent %q", ua)
	}
}

// TestNewRefuses checks that New names the field of each unusable
// configuration.
func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name  string
		c     breached.Config
		field string
	}{
		{"negative timeout", breached.Config{Timeout: -time.Second}, "Config.Timeout"},
		{"negative MinCount", breached.Config{MinCount: -1}, "Config.MinCount"},
		{"a user agent with a newline", breached.Config{UserAgent: "x\r\nX-Injected: 1"}, "Config.UserAgent"},
		{"no scheme", breached.Config{BaseURL: "api.pwnedpasswords.com"}, "Config.BaseURL"},
		{"ftp", breached.Config{BaseURL: "ftp://api.pwnedpasswords.com"}, "Config.BaseURL"},
		{"a query", breached.Config{BaseURL: "https://api.pwnedpasswords.com/?mode=ntlm"}, "Config.BaseURL"},
		{"a fragment", breached.Config{BaseURL: "https://api.pwnedpasswords.com/#x"}, "Config.BaseURL"},
		{"a user", breached.Config{BaseURL: "https://user:pass@api.pwnedpasswords.com"}, "Config.BaseURL"},
		{"no host", breached.Config{BaseURL: "https:///range"}, "Config.BaseURL"},
		{"unparseable", breached.Config{BaseURL: "https://[::1"}, "Config.BaseURL"},
		{"a missing file", breached.Config{File: filepath.Join(dir, "missing.txt")}, "Config.File"},
		{"a directory", breached.Config{File: dir}, "Config.File"},
		{"an empty file", breached.Config{File: write("empty.txt", "")}, "Config.File"},
		{"an NTLM file", breached.Config{File: write("ntlm.txt", "00000000DD0F4E2B4E7E9A3D3F1E5D8A:3\r\n")}, "Config.File"},
		{"a range file", breached.Config{File: write("range.txt", "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n")}, "Config.File"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch, err := breached.New(c.c)
			if err == nil || ch != nil || !strings.Contains(err.Error(), c.field) || !strings.HasPrefix(err.Error(), "breached: ") {
				t.Fatalf("New = %v, %v; want an error naming %s", ch, err, c.field)
			}
		})
	}
	if _, err := breached.New(breached.Config{}); err != nil {
		t.Fatalf("New with the defaults: %v", err)
	}
}
